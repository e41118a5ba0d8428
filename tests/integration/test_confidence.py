"""Confidence in report.json: each percentile's order-statistic interval and the mean's t-interval
(docs/statistics.md "Confidence intervals"), and --repeat's spread across repeats."""
import json
import os
import tempfile

from lltest import Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-confidence-")


def load(out):
    with open(os.path.join(out, "report.json")) as f:
        return json.load(f)


# 1. Intervals next to each statistic: 120 requests give p50/p90/p95 intervals, too few for p99.
out = os.path.join(tmp, "ci")
with Sim("--ttft-ms", 20, "--itl-ms", 2, "--seed", 1) as sim:
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", 8, "--max-requests", 120,
             "--data", "prompt_tokens=8,output_tokens=8", "--seed", 1, "--out", out, "--no-progress", "--quiet"])
ok(r.returncode == 0, "run with 120 requests", r.stderr[-300:])
b = load(out)["benchmarks"][0]
t = b["metrics"]["ttft_ms"]
ok(t["count"] == 120, "120 ttft samples", t["count"])
for p in ("p50", "p90", "p95"):
    ci = t.get(p + "_ci")
    ok(isinstance(ci, list) and len(ci) == 2 and ci[0] <= t[p] <= ci[1], f"ttft {p}_ci brackets {p}", (ci, t[p]))
ok(t.get("p99_ci", 0) is None and t.get("p999_ci", 0) is None, "p99/p99.9: too few samples, null",
   (t.get("p99_ci"), t.get("p999_ci")))
mc = t.get("mean_ci")
ok(isinstance(mc, list) and mc[0] <= t["mean"] <= mc[1] and mc[1] - mc[0] > 0, "mean_ci around the mean", mc)
itl = b["metrics"]["itl_ms"]
ci = itl.get("p99_ci")
ok(isinstance(ci, list) and ci[0] <= itl["p99"] <= ci[1], "itl (histogram) p99_ci brackets p99", (ci, itl["p99"]))
done()
