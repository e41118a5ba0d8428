"""llmload compare: a slower candidate is a regression (exit 3), the same or a faster one is not."""
import json
import os
import tempfile

from lltest import Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-compare-")


def bench(ttft_ms, name):
    out = os.path.join(tmp, name)
    with Sim("--ttft-ms", ttft_ms, "--itl-ms", 5) as sim:
        r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", "1,2", "--max-seconds", 1.5,
                 "--data", "prompt_tokens=8,output_tokens=8", "--out", out, "--no-progress", "--quiet"])
    ok(r.returncode == 0, f"{name} run", r.stderr[-300:])
    return os.path.join(out, "report.json")


fast = bench(40, "fast")
slow = bench(80, "slow")

r = run(["compare", fast, slow])
ok(r.returncode == 3, "slower TTFT: exit 3", f"rc={r.returncode} {r.stdout[-400:]}")
rows = [ln for ln in r.stdout.splitlines() if "REGRESSED" in ln]
ok(any("ttft_p50" in ln and "concurrent@1" in ln for ln in rows), "the TTFT rows say REGRESSED", r.stdout[:600])
ok(not any("itl_p50" in ln for ln in rows), "ITL did not change, so it is not flagged", rows)
ok("regressions beyond 10% tolerance" in r.stdout, "summary line", r.stdout[-200:])

# Only the metric the two runs were built to differ in: ITL tails of two 1.5 s runs on a busy
# machine (ASan) can differ by more than 10% by chance, which is not what this checks.
r = run(["compare", slow, fast, "--metric", "ttft_p50,ttft_p95"])
ok(r.returncode == 0 and "no regression" in r.stdout, "a faster candidate passes", r.stdout[-200:])
r = run(["compare", slow, slow])
ok(r.returncode == 0, "a report against itself passes", r.returncode)

r = run(["compare", fast, slow, "--metric", "itl_p50,request_throughput", "--tolerance", "50%", "--format", "json"])
if ok(r.returncode in (0, 3), "json format", r.stderr):
    res = json.loads(r.stdout)
    ok({c["metric"] for c in res["comparisons"]} == {"itl_p50", "request_throughput"} and res["tolerance"] == 0.5,
       "--metric selects metrics, --tolerance 50% is 0.5", res["tolerance"])
r = run(["compare", fast, slow, "--format", "md"])
ok(r.stdout.startswith("| benchmark | metric |") and "**regressed**" in r.stdout, "markdown for a pull request",
   r.stdout[:200])

for args, code, needle in ((["--tolerance", "lots"], 2, "--tolerance"), (["--metric", "speed"], 2, "speed"),
                           (["--format", "pdf"], 2, "pdf")):
    r = run(["compare", fast, slow, *args])
    ok(r.returncode == code and needle in r.stderr and r.stderr.count("\n") == 1, f"bad {args[0]}: exit {code}",
       f"rc={r.returncode} {r.stderr!r}")
r = run(["compare", fast, os.path.join(tmp, "nope.json")])
ok(r.returncode == 1 and "nope.json" in r.stderr, "missing file: exit 1", r.stderr)
r = run(["compare", fast])
ok(r.returncode == 2, "one file: usage error", r.stderr)
done()
