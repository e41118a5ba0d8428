"""--workers N: the load is shared between N loops and merged exactly (counts, ids, histograms,
rates), with the same report shape as one loop."""
import json
import os
import tempfile

from lltest import ASAN_SLACK, Sim, done, near, ok, run

try:
    import pandas
except ImportError:
    pandas = None

tmp = tempfile.mkdtemp(prefix="llmload-test-workers-")


def go(sim, name, *args):
    out = os.path.join(tmp, name)
    r = run(["run", "--target", sim.url, "--out", out, "--no-progress", *map(str, args)], timeout=120)
    rep = json.load(open(os.path.join(out, "report.json"))) if r.returncode == 0 else None
    return r, rep, out


with Sim("--ttft-ms", 20, "--itl-ms", 5, "--seed", 2) as sim:
    r, rep, out = go(sim, "conc", "--workers", 2, "--schedule", "concurrent", "--rate", 8, "--max-seconds", 2,
                     "--data", "prompt_tokens=8,output_tokens=10")
    if ok(r.returncode == 0 and rep, "concurrent 8 on 2 workers", r.stderr[-300:]):
        b = rep["benchmarks"][0]
        near(b["metrics"]["concurrency_mean"], 8, 0.8, "8 streams in flight across 2 loops")
        ok(b["client"]["loops"] == 2 and b["client"]["slots"] >= 8, "two loops reported", b["client"])
        ok(b["client"]["connections_opened"] <= 8, "each stream keeps its connection", b["client"])
        ok(b["histograms"]["itl_ms"]["count"] == b["metrics"]["itl_ms"]["count"] > 0, "merged ITL histogram")
        if pandas is not None:
            df = pandas.read_csv(os.path.join(out, "requests.csv"))
            ok(len(df) == b["requests"]["started"] and df.request_id.is_unique, "request ids unique after the merge",
               (len(df), b["requests"]["started"]))
            ok(df.scheduled_s.is_monotonic_increasing, "records in schedule order")
            ok(int(df.itl_mean_ms.notna().sum()) >= b["requests"]["completed"] - 1, "per-request values kept")

    r, rep, _ = go(sim, "const", "--workers", 3, "--schedule", "constant", "--rate", 30, "--max-seconds", 2,
                   "--data", "prompt_tokens=8,output_tokens=4")
    if ok(r.returncode == 0 and rep, "constant 30/s on 3 workers", r.stderr[-300:]):
        b = rep["benchmarks"][0]
        ok(b["requests"]["started"] == 60, "the three schedules add up to exactly rate x seconds",
           b["requests"]["started"])
        near(b["achieved_rate"], 30, 1.5, "achieved rate")
        ok(b["metrics"]["schedule_lag_ms"]["p99"] < 5 * ASAN_SLACK, "each loop keeps its schedule",
           b["metrics"]["schedule_lag_ms"])

    r, rep, _ = go(sim, "limit", "--workers", 3, "--schedule", "poisson", "--rate", 50, "--max-requests", 10,
                   "--max-seconds", 0, "--data", "prompt_tokens=8,output_tokens=4")
    if ok(r.returncode == 0 and rep, "poisson with a request limit on 3 workers", r.stderr[-300:]):
        ok(rep["benchmarks"][0]["requests"]["completed"] == 10, "exactly --max-requests in total",
           rep["benchmarks"][0]["requests"])

    r, rep, _ = go(sim, "sync", "--workers", 2, "--schedule", "synchronous", "--max-requests", 4, "--max-seconds", 0,
                   "--data", "prompt_tokens=8,output_tokens=4")
    if ok(r.returncode == 0 and rep, "synchronous with 2 workers", r.stderr[-300:]):
        near(rep["benchmarks"][0]["metrics"]["concurrency_mean"], 1.0, 0.05, "still one request at a time")
done()
