"""Limits and what the console says: --max-requests and --max-seconds both apply (whichever comes
first, then --grace-seconds), a run in which nothing completed exits 1 in one line (also with
--slo), --quiet prints the final table and errors only, and the progress line's send rate stops
moving when sending stops."""
import json
import os
import subprocess
import tempfile
import time

from lltest import ASAN_SLACK, Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-limits-")
DATA = ["--data", "prompt_tokens=8,output_tokens=1000"]

# Streams of 1000 tokens at 100 ms: 100 s each, far past every limit below.
with Sim("--ttft-ms", 10, "--itl-ms", 100) as sim:
    # The request limit is reached at once; the time limit (3 s) and the grace (2 s) still apply.
    out = os.path.join(tmp, "both")
    t = time.monotonic()
    try:  # before the fix this ran on for the stream's 100 s
        run(["run", "--target", sim.url, "--schedule", "synchronous", "--max-requests", 1, "--max-seconds", 3,
             "--grace-seconds", 2, "--no-progress", "--out", out, *DATA], timeout=20)
    except subprocess.TimeoutExpired:
        pass
    took = time.monotonic() - t
    ok(took < 5 + 2 * ASAN_SLACK, "--max-requests 1 --max-seconds 3 --grace-seconds 2 ends after 5 s", took)
    ok(took > 4.5, "and not before the time limit and the grace", took)
    if ok(os.path.exists(os.path.join(out, "report.json")), "reports written"):
        rq = json.load(open(os.path.join(out, "report.json")))["benchmarks"][0]["requests"]
        ok(rq["started"] == 1 and rq["incomplete"] == 1, "the one request is cut as incomplete", rq)

    # The time limit first, with a request limit never reached.
    t = time.monotonic()
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", 2, "--max-requests", 1000,
             "--max-seconds", 1, "--grace-seconds", 1, "--no-progress", *DATA], timeout=60)
    took = time.monotonic() - t
    ok(took < 2 + 2 * ASAN_SLACK, "--max-seconds 1 ends a run whose --max-requests is far off", took)

    # Nothing completed: exit 1 and one line saying so, with or without a gate.
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", 2, "--max-seconds", 1,
             "--grace-seconds", 0.5, "--no-progress", "--no-calibrate", *DATA], timeout=60)
    ok(r.returncode == 1 and r.stderr.count("\n") == 2 and "no request completed (2 started: incomplete=2)" in r.stderr,
       "no request completed: exit 1, one line that says so and why", f"rc={r.returncode} {r.stderr!r}")
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", 2, "--max-seconds", 1,
             "--grace-seconds", 0.5, "--quiet", "--slo", "ttft_p95<=10s", *DATA], timeout=60)
    ok(r.returncode == 1 and r.stderr.count("\n") == 1 and "no request completed" in r.stderr,
       "with --slo too: exit 1 wins over the gate's 3 (a gate never passes on nothing)",
       f"rc={r.returncode} {r.stderr!r}")

with Sim("--error-rate", 1, "--ttft-ms", 1, "--itl-ms", 1) as sim:
    r = run(["run", "--target", sim.url, "--schedule", "synchronous", "--max-requests", 3, "--max-seconds", 0,
             "--quiet", "--data", "prompt_tokens=4,output_tokens=2"], timeout=60)
    ok(r.returncode == 1 and r.stderr == "llmload run: no request completed (3 started: http_5xx=3)\n",
       "every request failed: exit 1, the line names the errors", f"rc={r.returncode} {r.stderr!r}")
    ok("benchmark" in r.stdout and "errors in synchronous: http_5xx=3" in r.stdout,
       "--quiet still prints the table and its errors", r.stdout[-300:])

with Sim("--ttft-ms", 5, "--itl-ms", 5) as sim:
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", 2, "--max-seconds", 1,
             "--quiet", "--data", "prompt_tokens=4,output_tokens=4"], timeout=60)
    ok(r.returncode == 0 and r.stderr == "", "--quiet: nothing on stderr", r.stderr[-300:])
    ok("benchmark" in r.stdout and "concurrent@2" in r.stdout, "--quiet: the final table on stdout", r.stdout)

# Progress: 10 req/s for 1 s, streams of ~6 s; plain lines every 5 s off a terminal. The line during
# the grace and the final one keep the send rate of the sending second (10/s), not sent / elapsed.
with Sim("--ttft-ms", 10, "--itl-ms", 100) as sim:
    for workers in (1, 2):  # one loop prints its own line; with --workers the coordinator does
        r = run(["run", "--target", sim.url, "--workers", workers, "--schedule", "constant", "--rate", 10,
                 "--max-seconds", 1, "--grace-seconds", 30, "--progress",
                 "--data", "prompt_tokens=4,output_tokens=60"], timeout=90)
        lines = [ln for ln in r.stderr.splitlines() if ln.startswith("[constant@10]")]
        rates = []
        for ln in lines:
            try:
                rates.append(float(ln.split("sent", 1)[1].split("/s")[0]))
            except (IndexError, ValueError):
                pass
        ok(r.returncode == 0 and len(rates) >= 2, f"--workers {workers}: progress lines during the grace and at the end",
           r.stderr[-400:])
        ok(rates and all(abs(x - 10) <= 1.5 for x in rates),
           f"--workers {workers}: the send rate stops moving when sending stops (10/s, not sent / elapsed)", rates)
done()
