"""Early stop (docs/workloads.md): --stop-when-saturated fires past the simulator's capacity and not
at half of it; a stages run ends its rising stages after a saturated one; --max-error-rate fires when
the server fails more than the share asked, not below it, and never on fewer than 20 ended requests;
every benchmark says why it stopped (report.json, summary.csv, console), also when it was the
target precision or a signal.

The simulator: 2 sequences, 20 ms prefill, 10 ms steps, 16-token answers: a request holds its slot
20 + 15 x 10 = 170 ms, so capacity is 2 / 0.17 = 11.8 req/s (docs/simulator.md "Capacity")."""
import csv
import json
import os
import signal
import subprocess
import tempfile
import time

from lltest import ASAN_SLACK, BIN, MULT, Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-early-stop-")
SIM = ("--max-num-seqs", 2, "--ttft-ms", 20, "--itl-ms", 10, "--seed", 4)
DATA = "prompt_tokens=16,output_tokens=16"


def go(sim, name, *args):
    out = os.path.join(tmp, name)
    t = time.monotonic()
    r = run(["run", "--target", sim.url, "--out", out, "--no-progress", "--data", DATA, "--drain-seconds", 1,
             *map(str, args)], timeout=120)
    rep = json.load(open(os.path.join(out, "report.json"))) if r.returncode == 0 else None
    return r, rep, out, time.monotonic() - t


with Sim(*SIM) as sim:
    # 40 req/s against 11.8: the queue grows 28 a second, TTFT with it, completions flat.
    r, rep, out, took = go(sim, "over", "--schedule", "poisson", "--rate", 40, "--max-seconds", 40,
                           "--stop-when-saturated", "--saturation-window", 4)
    if ok(r.returncode == 0 and rep, "poisson 40/s past capacity with --stop-when-saturated", r.stderr[-400:]):
        b = rep["benchmarks"][0]
        e = b.get("early_stop", {})
        ok(b["stop_reason"] == "saturated", "stop_reason saturated", b.get("stop_reason"))
        ok(e.get("rule") == "saturated" and 5 <= e.get("at_s", 0) <= 10 * ASAN_SLACK,
           "fired once the 4 s window after the start-up second was whole", e)
        ok(e.get("in_flight_slope", 0) > 10 and e.get("ttft_ms_slope", 0) > 100 and
           abs(e.get("completed_slope", 99)) < 3 and 8 < e.get("completed_mean", 0) < 14,
           "evidence: in flight and TTFT rising, completions flat at capacity", e)
        ok(took < 20 * ASAN_SLACK, f"the 40 s benchmark ended after {took:.1f} s", took)
        ok("stopped: poisson@40: saturated after" in r.stdout and "in flight rose" in r.stdout,
           "the console says why it stopped", r.stdout[-500:])
        with open(os.path.join(out, "summary.csv")) as f:
            ok([x["stop_reason"] for x in csv.DictReader(f)] == ["saturated"], "summary.csv: saturated")

    # Half of capacity: runs to its time limit.
    r, rep, out, took = go(sim, "under", "--schedule", "poisson", "--rate", 6, "--max-seconds", 10,
                           "--stop-when-saturated", "--saturation-window", 4)
    if ok(r.returncode == 0 and rep, "poisson 6/s at half capacity with --stop-when-saturated", r.stderr[-400:]):
        b = rep["benchmarks"][0]
        ok(b["stop_reason"] == "time_limit" and "early_stop" not in b, "runs to its time limit",
           (b.get("stop_reason"), b.get("early_stop")))
        ok("stopped:" not in r.stdout, "the console has nothing to explain", r.stdout[-300:])

    # Stages: the saturated second stage ends the run (the third is higher still); the report keeps two.
    r, rep, out, took = go(sim, "stages", "--stages", "5:3s,40:30s,60:30s", "--stop-when-saturated",
                           "--saturation-window", 4)
    if ok(r.returncode == 0 and rep, "stages 5, 40, 60 req/s with --stop-when-saturated", r.stderr[-400:]):
        b = rep["benchmarks"]
        ok([x["name"] for x in b] == ["stage1@5", "stage2@40"], "the stage after the saturated one is skipped",
           [x["name"] for x in b])
        ok([x["stop_reason"] for x in b] == ["time_limit", "saturated"], "stage1 ran out its time, stage2 saturated",
           [x["stop_reason"] for x in b])
        ok("stage2@40 stopped early (saturated): the 1 benchmark left" in r.stderr and "skipped" in r.stderr,
           "stderr says what was skipped and why", r.stderr[-400:])
        ok(took < 25 * ASAN_SLACK, f"done in {took:.1f} s, not 63", took)

    # The other reasons: --target-precision met, and a signal.
    r, rep, out, took = go(sim, "precision", "--schedule", "constant", "--rate", 5, "--max-seconds", 30,
                           "--target-precision", "e2e_p50=25%")
    if ok(r.returncode == 0 and rep, "--target-precision e2e_p50=25% at 5 req/s", r.stderr[-400:]):
        b = rep["benchmarks"][0]
        ok(b["stop_reason"] == "target_precision" and "early_stop" not in b, "stop_reason target_precision",
           b.get("stop_reason"))
        ok("stopped: constant@5: target_precision" in r.stdout, "the console says so", r.stdout[-300:])
    out = os.path.join(tmp, "signal")
    p = subprocess.Popen([BIN, "run", "--target", sim.url, "--schedule", "constant", "--rate", "5", "--max-seconds",
                          "60", "--drain-seconds", "0.5", "--data", DATA, "--out", out, "--no-progress"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5 * MULT)
    p.send_signal(signal.SIGINT)
    try:
        so, se = p.communicate(timeout=15 * MULT)
    except subprocess.TimeoutExpired:
        p.kill()
        so, se = p.communicate()
    path = os.path.join(out, "report.json")
    if ok(p.returncode == 130 and os.path.exists(path), "SIGINT: exit 130 with a report", se[-300:]):
        b = json.load(open(path))["benchmarks"][0]
        ok(b["stop_reason"] == "interrupted" and b["partial"] is True, "stop_reason interrupted",
           b.get("stop_reason"))

with Sim(*SIM, "--error-rate", 0.5) as sim:
    # Half the requests fail: past 20% within a few seconds of 10 req/s.
    r, rep, out, took = go(sim, "errors", "--schedule", "constant", "--rate", 10, "--max-seconds", 30,
                           "--max-error-rate", "20%", "--error-window", 3)
    if ok(r.returncode == 0 and rep, "50% errors with --max-error-rate 20%", r.stderr[-400:]):
        b = rep["benchmarks"][0]
        e = b.get("early_stop", {})
        ok(b["stop_reason"] == "max_error_rate", "stop_reason max_error_rate", b.get("stop_reason"))
        ok(e.get("ended", 0) >= 20 and e.get("error_rate", 0) > 0.2 and e.get("threshold") == 0.2 and
           e.get("errors", 0) > 4, "evidence: errors and ended requests over the window", e)
        ok(e.get("at_s", 99) <= 6 * ASAN_SLACK, "fired within seconds", e.get("at_s"))
        ok("stopped: constant@10: max_error_rate after" in r.stdout, "the console says why", r.stdout[-400:])
        html = open(os.path.join(out, "report.html")).read()
        ok(">max_error_rate</span>" in html and "stopped early after" in html, "report.html flags the early stop")
    # Fewer than 20 ended: never judged, so the request limit ends it.
    r, rep, out, took = go(sim, "few", "--schedule", "constant", "--rate", 10, "--max-requests", 15,
                           "--max-seconds", 0, "--max-error-rate", 0.2, "--error-window", 1)
    if ok(r.returncode == 0 and rep, "15 requests at 50% errors", r.stderr[-400:]):
        b = rep["benchmarks"][0]
        ok(b["stop_reason"] == "request_limit" and b["requests"]["errored"] >= 3,
           "a handful of errors in under 20 requests does not stop the run", (b.get("stop_reason"), b["requests"]))

with Sim(*SIM, "--error-rate", 0.05) as sim:
    # 5% errors, under the 20% asked: runs to its limit.
    r, rep, out, took = go(sim, "fine", "--schedule", "constant", "--rate", 10, "--max-seconds", 8,
                           "--max-error-rate", 0.2, "--error-window", 3)
    if ok(r.returncode == 0 and rep, "5% errors with --max-error-rate 0.2", r.stderr[-400:]):
        b = rep["benchmarks"][0]
        ok(b["stop_reason"] == "time_limit", "runs to its time limit", (b.get("stop_reason"), b["requests"]))
done()
