"""Messages that say what happened: limits named in one line with the right exit code, as data
triples (argv -> exit code, a phrase of the stderr line), then retry_after_paused_s bounded by the
run and a 2 GB --data file refused at once: a .json by its size, a .jsonl (which streams) at its
first line over 16 MiB."""
import json
import os
import resource
import subprocess
import tempfile
import time

from fakeserver import FakeServer
from lltest import ASAN_SLACK, BIN, MULT, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-messages-")
URL = "http://127.0.0.1:9"  # nothing listens: every case must fail before a request
LONG = "X-Long: " + "v" * 5000
CASES = [
    (["--schedule", "constant", "--rate", "1e12"], 2, "above the limit of 1000000"),
    (["--schedule", "concurrent", "--rate", "2000000"], 2, "above the limit of 1000000"),
    (["--schedule", "constant", "--rate", "10,1e9"], 2, '"1e9" is above the limit'),
    (["--header", LONG], 2, "5008 bytes long, over the limit of 4095 bytes"),
    (["--max-seconds", "0.0005"], 2, "under the 1 ms minimum (0 means no time limit)"),
    (["--max-seconds", "0.5ms"], 2, "under the 1 ms minimum"),
]
for argv, code, phrase in CASES:
    r = run(["run", "--target", URL, *argv])
    shown = " ".join(a if len(a) < 40 else a[:20] + "..." for a in argv)
    ok(r.returncode == code and r.stderr.count("\n") == 1 and phrase in r.stderr,
       f"{shown}: exit {code}, one line saying {phrase!r}", f"rc={r.returncode} err={r.stderr[:300]!r}")
    if "--header" in argv:
        ok("v" * 100 not in r.stderr, f"{shown}: the header's value (maybe a secret) is not echoed")

with FakeServer() as fs:
    # 0 still means "no time limit" (with a request limit), and 1 ms is allowed.
    r = run(["run", "--target", fs.url, "--max-seconds", "0", "--max-requests", "2", "--quiet"])
    ok(r.returncode == 0, "--max-seconds 0 with --max-requests: runs", f"rc={r.returncode} err={r.stderr!r}")
    r = run(["run", "--target", fs.url, "--max-seconds", "1ms", "--quiet"])
    ok(r.returncode == 0, "--max-seconds 1ms: accepted", f"rc={r.returncode} err={r.stderr!r}")

# A 429 asking for an hour (capped at 60 s) in a 1 s run: the pause reported is within the run.
with FakeServer(behaviours=("retry_after_hour",)) as fs:
    out = os.path.join(tmp, "retry")
    for workers in ("1", "2"):
        t = time.monotonic()
        r = run(["run", "--target", fs.url, "--schedule", "concurrent", "--rate", "2", "--max-seconds", "1",
                 "--respect-retry-after", "--workers", workers, "--out", out, "--quiet"])
        took = time.monotonic() - t
        if ok(r.returncode == 1 and "no request completed" in r.stderr,
              f"--workers {workers}: a 1 s run against a 429 'Retry-After: 3600' ends (exit 1: nothing completed)",
              f"rc={r.returncode} err={r.stderr!r}"):
            cl = json.load(open(os.path.join(out, "report.json")))["benchmarks"][0]["client"]
            ok(cl["retry_after_pauses"] >= 1 and 0.5 <= cl["retry_after_paused_s"] <= min(took, 1.5 * MULT),
               f"--workers {workers}: retry_after_paused_s within the run's time ({took:.2f} s)", cl)

# A 2 GB .json dataset (sparse: costs no disk) is refused by its size, at once and without reading it
# (.json and .csv are read whole). A .jsonl streams, so its size is no limit, but one line may not
# pass 16 MiB: the same sparse file (all NULs, one line) is refused after 16 MiB of reading.
for ext, want in ((".json", "2147483648 bytes (2.0 GiB), over the 1 GiB limit"), (".jsonl", ":1: a line over 16 MiB")):
    big = os.path.join(tmp, "big" + ext)
    with open(big, "wb") as f:
        f.truncate(2 << 30)
    t = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    r = run(["run", "--target", URL, "--data", big])
    took = time.monotonic() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ok(r.returncode == 2 and r.stderr.count("\n") == 1 and want in r.stderr,
       f"2 GB --data {ext}: exit 2, one line saying why", f"rc={r.returncode} err={r.stderr!r}")
    # The .jsonl case reads 16 MiB first: the sanitizer build is slower at it.
    ok(took < 2 * MULT * (ASAN_SLACK if ext == ".jsonl" else 1) and peak < 200 * 1024,
       f"2 GB --data {ext}: refused without reading it all (time, peak memory)",
       f"took={took:.2f}s peak={peak} KiB (before {before})")
    os.unlink(big)
done()
