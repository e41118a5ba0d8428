"""Overload: a server with 4 slots under 64 streams. Throughput is what completed inside the
measured window, over the window: it matches the completions the simulator itself counted in the
same window and the capacity formula of docs/simulator.md, and a sweep spreads its middle points
below that capacity.

The simulator's /metrics counter (vllm:request_success_total) is read every 20 ms from a thread,
each read stamped with the wall clock; report.json's start_time (the wall clock at the benchmark's
start) then places the window on those reads, and the read just before each edge gives the count.
"""
import json
import os
import tempfile
import threading
import time

from lltest import ASAN_SLACK, Sim, done, near, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-overload-")
SEQS, TTFT_MS, ITL_MS, OUT = 4, 20, 10, 16
# docs/simulator.md "Capacity": seqs / (ttft + (out - 1) * step), ttft a whole number of steps.
CAPACITY = SEQS / ((TTFT_MS + (OUT - 1) * ITL_MS) / 1000.0)


def success_total(sim):
    m = sim.metrics()
    return sum(v for k, v in m.items() if k.startswith("vllm:request_success_total"))


def poll(sim, reads, stop):
    """(wall time at the middle of the request, counter) every 20 ms until stop is set."""
    deadline = time.monotonic() + 120 * ASAN_SLACK
    while not stop.is_set() and time.monotonic() < deadline:
        a = time.time()
        try:
            n = success_total(sim)
        except OSError:
            n = None
        b = time.time()
        if n is not None:
            reads.append(((a + b) / 2, n))
        time.sleep(0.02)


def count_at(reads, t):
    """The counter at wall time t: the last read taken before it."""
    before = [n for (w, n) in reads if w <= t]
    return before[-1] if before else None


with Sim("--max-num-seqs", SEQS, "--ttft-ms", TTFT_MS, "--itl-ms", ITL_MS, "--seed", 5) as sim:
    reads, stop = [], threading.Event()
    th = threading.Thread(target=poll, args=(sim, reads, stop), daemon=True)
    th.start()
    out = os.path.join(tmp, "thr")
    # No warmup: the 64 streams opened at the start are where the old definition (requests
    # scheduled in the window, completed whenever) over-counted.
    warm, secs = 0, 10
    r = run(["run", "--target", sim.url, "--schedule", "throughput", "--max-concurrency", 64,
             "--warmup", warm, "--max-seconds", secs, "--grace-seconds", 30, "--no-progress",
             "--data", f"prompt_tokens=8,output_tokens={OUT}", "--out", out], timeout=120)
    stop.set()
    th.join(10)
    ok(r.returncode == 0, "throughput point against 4 slots exits 0", r.stderr[-500:])
    rep = json.load(open(os.path.join(out, "report.json"))) if r.returncode == 0 else None
    if rep:
        b = rep["benchmarks"][0]
        m = b["metrics"]
        t_start, t_end = b["start_time"] + warm, b["start_time"] + secs
        c0, c1 = count_at(reads, t_start), count_at(reads, t_end)
        served = (c1 - c0) / (t_end - t_start) if c0 is not None and c1 is not None else None
        ok(served is not None, "the simulator's counter was read across the window", len(reads))
        if served is not None:
            near(m["request_throughput"], served, 0.05 * served,
                 "req/s = completions the simulator counted in the same window (5%)")
        # 23.5 req/s of 16 tokens is light enough for the sanitizer build too: same margins.
        near(m["request_throughput"], CAPACITY, 0.05 * CAPACITY, "req/s = the capacity formula (5%)")
        near(m["output_token_throughput"], CAPACITY * OUT, 0.06 * CAPACITY * OUT,
             "output tok/s = capacity x tokens (received inside the window)")
        ok(m["offered_rate"] >= m["request_throughput"] * 0.9,
           "offered rate reported beside it", (m["offered_rate"], m["request_throughput"]))
        rq = b["requests"]
        ok(rq["completed_in_grace"] >= 40,
           "the 64 streams in flight at the end complete in the grace and are counted there", rq)
        ok(abs(m["request_throughput"] * b["duration_s"] - round(m["request_throughput"] * b["duration_s"])) < 1e-3,
           "req/s x window is a whole number of completions", m["request_throughput"] * b["duration_s"])

    # A sweep against the same server: its middle points sit below the measured capacity, and the
    # knee is one of them, not the synchronous point.
    out = os.path.join(tmp, "sweep")
    r = run(["run", "--target", sim.url, "--schedule", "sweep", "--rate", 5, "--max-seconds", 4,
             "--max-concurrency", 64, "--no-progress",
             "--data", f"prompt_tokens=8,output_tokens={OUT}", "--out", out], timeout=240)
    ok(r.returncode == 0, "sweep exits 0", r.stderr[-500:])
    rep = json.load(open(os.path.join(out, "report.json"))) if r.returncode == 0 else None
    if rep:
        bs = rep["benchmarks"]
        thr = bs[1]["metrics"]["request_throughput"]
        near(thr, CAPACITY, 0.1 * CAPACITY, "sweep's throughput point measures the capacity")
        mids = [x["target_rate"] for x in bs[2:]]
        ok(len(mids) == 3 and all(x < thr for x in mids), "middle points below the measured capacity",
           (mids, thr))
        for x in bs[2:]:
            near(x["metrics"]["request_throughput"], x["target_rate"], 0.12 * x["target_rate"],
                 f"{x['name']} completes what it offers (below capacity)")
        knee = [ln for ln in r.stdout.splitlines() if ln.startswith("knee:")]
        ok(knee and "(synchronous)" not in knee[0] and "(throughput)" not in knee[0],
           "the knee is a middle point", knee)
done()
