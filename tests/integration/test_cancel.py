"""Client-side cancellation end to end (issue 19): --cancel-rate P --cancel-after-ms D abandons a
seeded share of streams D ms after their send on both transports; they are counted as cancelled
(report.json, summary.csv, requests.csv), never as errors, and left out of E2E; the simulator
frees each abandoned sequence at once (its abort counter equals the cancelled count, its running
gauge is back to 0 and it decoded far fewer tokens than the full streams would have)."""
import csv
import json
import os
import tempfile
import time

from lltest import ASAN_SLACK, Sim, done, near, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-cancel-")
ABORT = 'vllm:request_success_total{finished_reason="abort",model_name="llmload-sim"}'
RUNNING = 'vllm:num_requests_running{model_name="llmload-sim"}'
GEN = 'vllm:generation_tokens_total{model_name="llmload-sim"}'


def settled(sim):
    """/metrics once the simulator has handled the last closes (bounded: 1 s, 20 looks)."""
    m = sim.metrics()
    for _ in range(20):
        if m.get(RUNNING) == 0:
            break
        time.sleep(0.05)
        m = sim.metrics()
    return m


def bench(sim, *args, timeout=120):
    out = os.path.join(tmp, f"out{time.monotonic_ns()}")
    r = run(["run", "--target", sim.url, "--out", out, "--no-progress", "--no-calibrate", *args], timeout=timeout)
    rep, rows, summ = None, [], []
    if r.returncode == 0:
        with open(os.path.join(out, "report.json")) as f:
            rep = json.load(f)
        with open(os.path.join(out, "requests.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        with open(os.path.join(out, "summary.csv"), newline="") as f:
            summ = list(csv.DictReader(f))
    return r, rep, rows, summ


for client in ("builtin", "curl"):
    # 1. 30% of 120 streams of 50 tokens (about 510 ms each) are abandoned 100 ms after their send.
    with Sim("--ttft-ms", 20, "--itl-ms", 10, "--seed", 5) as sim:
        r, rep, rows, summ = bench(sim, "--http-client", client, "--schedule", "concurrent", "--rate", 8,
                                   "--max-requests", 120, "--max-seconds", 60, "--seed", 3,
                                   "--data", "prompt_tokens=16,output_tokens=50",
                                   "--cancel-rate", 0.3, "--cancel-after-ms", 100)
        ok(r.returncode == 0, f"{client}: run with cancellations exits 0", r.stderr[-400:])
        m = settled(sim)
        if rep:
            b = rep["benchmarks"][0]
            rq = b["requests"]
            n_cancel = rq.get("cancelled", -1)
            ok(rq["errored"] == 0 and rq["completed"] + n_cancel == 120,
               f"{client}: every request completed or cancelled, none errored", rq)
            near(n_cancel / 120, 0.3, 0.15, f"{client}: cancelled share")  # Binomial(120, 0.3): sd 0.042
            ok(rep["config"].get("cancel_rate") == 0.3 and rep["config"].get("cancel_after_ms") == 100,
               f"{client}: report.json's config has the cancellation", rep["config"].get("cancel_rate"))
            ok(len(summ) == 1 and summ[0].get("cancelled") == str(n_cancel), f"{client}: summary.csv's cancelled",
               summ[0].get("cancelled") if summ else None)
            cancelled = [x for x in rows if x["status"] == "cancelled"]
            ok(len(cancelled) == n_cancel and all(x["error_kind"] == "" and x["error"] == "" for x in cancelled),
               f"{client}: requests.csv says cancelled, with no error kind", len(cancelled))
            e2e = [float(x["e2e_ms"]) for x in cancelled]
            ok(e2e and min(e2e) >= 99 and max(e2e) <= 100 + 50 * ASAN_SLACK,
               f"{client}: cancelled streams were cut about 100 ms after their send",
               (min(e2e), max(e2e)) if e2e else None)
            ok(b["metrics"]["e2e_ms"]["min"] > 400, f"{client}: E2E statistics leave the cancelled out",
               b["metrics"]["e2e_ms"]["min"])
            ok(m.get(ABORT) == n_cancel, f"{client}: the simulator's abort counter equals the cancelled count",
               (m.get(ABORT), n_cancel))
            ok(m.get(RUNNING) == 0, f"{client}: nothing left running in the simulator", m.get(RUNNING))
            # Full streams make 50 tokens; an abandoned one about 8 (100 ms - 20 ms TTFT, at 10 ms a step).
            full = rq["completed"] * 50
            ok(full < m.get(GEN, 1e9) <= full + n_cancel * 15,
               f"{client}: the simulator stopped decoding the abandoned streams", (m.get(GEN), full, n_cancel))

    # 2. Sequences are freed at once: 4 streams of 2,000 tokens (20 s each) abandoned after 300 ms.
    with Sim("--ttft-ms", 10, "--itl-ms", 10, "--seed", 5) as sim:
        t0 = time.monotonic()
        r, rep, rows, summ = bench(sim, "--http-client", client, "--schedule", "concurrent", "--rate", 4,
                                   "--max-requests", 4, "--max-seconds", 60,
                                   "--data", "prompt_tokens=16,output_tokens=2000",
                                   "--cancel-rate", 1, "--cancel-after-ms", 300)
        took = time.monotonic() - t0
        m = settled(sim)
        ok(r.returncode == 0 or "no request completed" in r.stderr, f"{client}: all-cancelled run ends",
           r.stderr[-300:])
        ok(took < 10 * ASAN_SLACK, f"{client}: the run did not wait for the 20 s streams", took)
        ok(m.get(RUNNING) == 0 and m.get(ABORT) == 4, f"{client}: the 4 sequences were freed (running 0, abort 4)",
           (m.get(RUNNING), m.get(ABORT)))
        ok(m.get(GEN, 1e9) < 4 * 60, f"{client}: and not decoded further", m.get(GEN))

# 3. A stream that ends before its cancel time is simply complete.
with Sim("--ttft-ms", 5, "--itl-ms", 2, "--seed", 5) as sim:
    r, rep, rows, summ = bench(sim, "--schedule", "concurrent", "--rate", 4, "--max-requests", 40,
                               "--data", "prompt_tokens=16,output_tokens=8",
                               "--cancel-rate", 1, "--cancel-after-ms", 5000)
    ok(r.returncode == 0 and rep and rep["benchmarks"][0]["requests"]["completed"] == 40
       and rep["benchmarks"][0]["requests"]["cancelled"] == 0, "streams shorter than D complete",
       rep["benchmarks"][0]["requests"] if rep else r.stderr[-300:])
    ok(sim.metrics().get(ABORT) == 0, "and the simulator counted no abort")

# 4. --cancel-rate without --cancel-after-ms is a usage error.
r = run(["run", "--target", "http://127.0.0.1:9", "--cancel-rate", "0.5"], timeout=20)
ok(r.returncode == 2 and "--cancel-after-ms" in r.stderr, "--cancel-rate alone: exit 2", r.stderr[-200:])

done()
