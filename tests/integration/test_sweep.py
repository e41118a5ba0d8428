"""Sweep against a simulator with 8 sequences: rates increase, TTFT climbs past capacity, the
console names the knee, and `llmload report` re-renders summary.csv byte for byte."""
import json
import os
import tempfile

from lltest import Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-sweep-")
out = os.path.join(tmp, "sweep")
with Sim("--max-num-seqs", 8, "--ttft-ms", 20, "--itl-ms", 5, "--seed", 3) as sim:
    r = run(["run", "--target", sim.url, "--schedule", "sweep", "--rate", 5, "--max-seconds", 3,
             "--max-concurrency", 64, "--data", "prompt_tokens=32,output_tokens=16", "--out", out,
             "--slo", "ttft_p95<=200ms",
             "--no-progress"], timeout=180)
ok(r.returncode == 0, "sweep exits 0", r.stderr[-800:])
rep = json.load(open(os.path.join(out, "report.json"))) if r.returncode == 0 else {"benchmarks": []}
b = rep["benchmarks"]
ok([x["schedule"] for x in b] == ["synchronous", "throughput", "constant", "constant", "constant"],
   "sweep = synchronous, throughput, then 3 constant points", [x["name"] for x in b])
if len(b) == 5:
    sync, thr, mids = b[0], b[1], b[2:]
    rates = [x["target_rate"] for x in mids]
    ok(rates == sorted(rates) and sync["metrics"]["request_throughput"] < rates[0] < thr["metrics"]["request_throughput"],
       "middle rates increase between the two anchors", rates)
    ach = [sync["achieved_rate"]] + [x["achieved_rate"] for x in mids]
    ok(all(a < c for a, c in zip(ach, ach[1:])), "achieved rates increase", ach)
    for x in mids:
        ok(abs(x["achieved_rate"] - x["target_rate"]) <= 0.1 * x["target_rate"], f"{x['name']} achieves its rate",
           (x["achieved_rate"], x["target_rate"]))
    ttft_sync = sync["metrics"]["ttft_ms"]["p95"]
    ttft_thr = thr["metrics"]["ttft_ms"]["p95"]
    ok(ttft_thr > 5 * ttft_sync, "TTFT p95 rises sharply at capacity (queueing in the simulator)",
       (ttft_sync, ttft_thr))
    ok(thr["metrics"]["request_throughput"] > 3 * sync["metrics"]["request_throughput"],
       "throughput point serves far more than synchronous", (sync["metrics"]["request_throughput"],
                                                             thr["metrics"]["request_throughput"]))
ok("knee:" in r.stdout, "console names the knee", r.stdout[-600:])
ok("SLO: holds up to" in r.stdout and "first broken at" in r.stdout and "ttft_p95<=200ms" in r.stdout,
   "console says where the SLO first fails", r.stdout[-600:])
ok(r.returncode == 0, "a sweep whose synchronous point meets the SLO passes the gate", r.returncode)

# Re-rendering from report.json reproduces the files the run wrote.
rr = run(["report", os.path.join(out, "report.json"), "--format", "csv"])
with open(os.path.join(out, "summary.csv")) as f:
    ok(rr.returncode == 0 and rr.stdout == f.read(), "llmload report --format csv == summary.csv byte for byte",
       rr.stderr)
rr = run(["report", os.path.join(out, "report.json"), "--format", "md"])
ok(rr.returncode == 0 and rr.stdout.count("\n| ") >= 5 and "| synchronous |" in rr.stdout,
   "markdown summary has a row per benchmark", rr.stdout[:300])
o2 = os.path.join(tmp, "again.csv")
rr = run(["report", os.path.join(out, "report.json"), "--format", "csv", "-o", o2])
ok(rr.returncode == 0 and open(o2).read() == open(os.path.join(out, "summary.csv")).read(), "report -o FILE")
rr = run(["report", os.path.join(tmp, "missing.json"), "--format", "csv"])
ok(rr.returncode == 1 and rr.stderr.count("\n") == 1 and "missing.json" in rr.stderr,
   "missing report: exit 1, one line", rr.stderr)
bad = os.path.join(tmp, "bad.json")
open(bad, "w").write("{not json")
rr = run(["report", bad, "--format", "csv"])
ok(rr.returncode == 1 and "invalid JSON" in rr.stderr, "broken report: exit 1, says invalid JSON", rr.stderr)
rr = run(["report", bad, "--format", "pdf"])
ok(rr.returncode == 2 and "pdf" in rr.stderr, "unknown format: exit 2", rr.stderr)
done()
