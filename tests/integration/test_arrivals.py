"""Arrival shapes (docs/workloads.md): a ramp's per-second sends follow its curve (linear and
exponential, open loop) and a closed loop's streams rise over it; the ramp counts as warmup;
--stages gives one benchmark per stage at its rate; --burstiness gives gamma gaps (also dealt
between --workers loops); and every misuse is one line and exit 2."""
import csv
import json
import math
import os
import tempfile

from lltest import Sim, done, near, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-arrivals-")
DATA = "prompt_tokens=8,output_tokens=4"


def go(sim, name, *args):
    out = os.path.join(tmp, name)
    r = run(["run", "--target", sim.url, "--out", out, "--no-progress", "--data", DATA, *map(str, args)],
            timeout=120)
    rep = json.load(open(os.path.join(out, "report.json"))) if r.returncode == 0 else None
    return r, rep, out


def scheduled(out):
    with open(os.path.join(out, "requests.csv")) as f:
        return sorted(float(row["scheduled_s"]) for row in csv.DictReader(f))


def per_second(times, n):
    counts = [0] * n
    for t in times:
        if int(t) < n:
            counts[int(t)] += 1
    return counts


with Sim("--max-num-seqs", 128, "--ttft-ms", 10, "--itl-ms", 2, "--seed", 5) as sim:
    # Linear: the count in second i is R (2i + 1) / 2S: 2.5, 7.5, 12.5, 17.5, then 20.
    r, rep, out = go(sim, "linear", "--schedule", "constant", "--rate", 20, "--ramp-up", "linear",
                     "--ramp-up-seconds", 4, "--max-seconds", 6)
    if ok(r.returncode == 0 and rep, "constant 20/s with a 4 s linear ramp", r.stderr[-400:]):
        got = per_second(scheduled(out), 6)
        want = [2.5, 7.5, 12.5, 17.5, 20, 20]
        ok(all(abs(g - w) <= 1 for g, w in zip(got, want)), "per-second sends follow R(2i+1)/2S, then hold",
           (got, want))
        b = rep["benchmarks"][0]
        ok(b["limits"]["warmup_s"] == 4, "the ramp counts as warmup", b["limits"])
        ok(b["requests"]["measured"] == 40, "only the 2 s after the ramp are measured", b["requests"]["measured"])
        near(b["achieved_rate"], 20, 1, "the measured window runs at the full rate")
        ok(rep["config"]["ramp_up"] == "linear" and rep["config"]["ramp_up_s"] == 4, "config keeps the ramp",
           rep["config"].get("ramp_up"))

    # Exponential: the rate doubles every S/10 from R/1024; second i gets R (e^(k(i+1-S)) - e^(k(i-S))) / k.
    r, rep, out = go(sim, "exp", "--schedule", "constant", "--rate", 40, "--ramp-up", "exponential",
                     "--ramp-up-seconds", 5, "--max-seconds", 7)
    if ok(r.returncode == 0 and rep, "constant 40/s with a 5 s exponential ramp", r.stderr[-400:]):
        k = 10 * math.log(2) / 5
        want = [40 * (math.exp(k * (i + 1 - 5)) - math.exp(k * (i - 5))) / k for i in range(5)] + [40, 40]
        got = per_second(scheduled(out), 7)
        ok(all(abs(g - w) <= 1 for g, w in zip(got, want)), "per-second sends follow the exponential curve",
           (got, [round(w, 2) for w in want]))
        ok(got[4] > 1.6 * got[3] and got[3] > 1.6 * got[2], "each second about doubles the last near the end", got)

    # Concurrent: the streams rise as N * t / S (at least one), then hold N.
    r, rep, out = go(sim, "conc", "--schedule", "concurrent", "--rate", 8, "--ramp-up", "linear",
                     "--ramp-up-seconds", 4, "--max-seconds", 6, "--data", "prompt_tokens=8,output_tokens=20")
    if ok(r.returncode == 0 and rep, "concurrent 8 with a 4 s linear ramp", r.stderr[-400:]):
        ts = rep["benchmarks"][0]["timeseries"]
        fl = [round(s["in_flight"], 2) for s in ts[:6]]
        # (second 5 can end with the stop; second 4, the first after the ramp, holds all 8)
        ok(len(fl) >= 5 and fl[0] <= 2 and fl[1] < fl[2] < fl[3] and fl[3] < 7.5 and fl[4] > 7,
           "streams in flight rise over the ramp, then hold 8", fl)

    # Stages: one benchmark per stage, named and run at its rate.
    r, rep, out = go(sim, "stages", "--schedule", "constant", "--stages", "10:2s,20:2s,15:2")
    if ok(r.returncode == 0 and rep, "three constant stages", r.stderr[-400:]):
        b = rep["benchmarks"]
        ok([x["name"] for x in b] == ["stage1@10", "stage2@20", "stage3@15"], "named stageN@RATE",
           [x["name"] for x in b])
        ok([x["target_rate"] for x in b] == [10, 20, 15], "each at its rate", [x["target_rate"] for x in b])
        ok(all(x["schedule"] == "constant" and x["limits"]["max_seconds"] == 2 for x in b),
           "constant arrivals, each stage its own duration")
        ok([x["requests"]["started"] for x in b] == [20, 40, 30], "rate x duration requests in each stage",
           [x["requests"]["started"] for x in b])
        ok(all(x["stop_reason"] == "time_limit" for x in b), "each stage ended by its duration",
           [x.get("stop_reason") for x in b])
        with open(os.path.join(out, "summary.csv")) as f:
            rows = list(csv.DictReader(f))
        ok([x["stop_reason"] for x in rows] == ["time_limit"] * 3, "summary.csv says why each stopped", rows[:1])
    # --max-seconds does not apply to stages: its checks do not either (each stage checks its own).
    r, rep, out = go(sim, "stages_warmup", "--schedule", "constant", "--stages", "10:2s", "--warmup", 1,
                     "--max-seconds", 1)
    if ok(r.returncode == 0 and rep, "a stage's warmup is checked against the stage, not --max-seconds",
          r.stderr[-300:]):
        b = rep["benchmarks"][0]
        ok(b["limits"]["max_seconds"] == 2 and b["limits"]["warmup_s"] == 1 and b["requests"]["measured"] == 10,
           "2 s stage, 1 s warmup, 10 requests measured", (b["limits"], b["requests"]["measured"]))
    r, rep, out = go(sim, "stages_poisson", "--stages", "30:2s", "--seed", 3)
    if ok(r.returncode == 0 and rep, "stages default to poisson arrivals", r.stderr[-400:]):
        ok(rep["benchmarks"][0]["schedule"] == "poisson" and rep["benchmarks"][0]["name"] == "stage1@30",
           "poisson stage1@30", rep["benchmarks"][0]["name"])
        ok(rep["config"]["schedule"] == "poisson" and rep["config"]["stages"] == "30:2s",
           "report.json's config says poisson stages", (rep["config"]["schedule"], rep["config"].get("stages")))
        ok("llmload poisson:" in r.stderr and "1 benchmark" in r.stderr, "the run's first line says poisson",
           r.stderr[:300])

    # Burstiness: gamma gaps of shape 0.25 have a coefficient of variation of 2, K = 1 of 1; two
    # loops deal the one process between them, so the merged schedule keeps it.
    def cv_of(out):
        t = scheduled(out)
        g = [b - a for a, b in zip(t, t[1:])]
        m = sum(g) / len(g)
        return math.sqrt(sum((x - m) ** 2 for x in g) / (len(g) - 1)) / m, m, len(t)

    one_loop = None
    for k, workers, lo, hi in ((0.25, 1, 1.6, 2.4), (0.25, 2, 1.6, 2.4), (1, 1, 0.85, 1.15)):
        r, rep, out = go(sim, f"burst{k}-{workers}", "--schedule", "poisson", "--rate", 200, "--burstiness", k,
                         "--workers", workers, "--max-seconds", 5, "--seed", 11)
        if ok(r.returncode == 0 and rep, f"poisson 200/s --burstiness {k} --workers {workers}", r.stderr[-400:]):
            if k != 1 and workers == 1:
                one_loop = scheduled(out)
            elif k != 1:
                two = scheduled(out)
                ok(one_loop is not None and len(two) == len(one_loop) and
                   all(abs(a - b) < 1e-5 for a, b in zip(two, one_loop)),
                   "two loops send exactly the one loop's gamma schedule between them", (len(two), len(one_loop or [])))
            cv, mean, n = cv_of(out)
            ok(lo <= cv <= hi, f"gap CV {cv:.3f} in [{lo}, {hi}] over {n} arrivals", cv)
            ok(abs(mean - 1 / 200) <= 0.2 / 200, f"mean gap {mean * 1000:.3f} ms within 20% of 5 ms", mean)
            ok(rep["config"]["burstiness"] == k, "config keeps the burstiness", rep["config"].get("burstiness"))

# Misuse: one line, exit 2.
for args, word in ((["--schedule", "constant", "--rate", 5, "--burstiness", 0.5], "--burstiness"),
                   (["--schedule", "poisson", "--rate", 5, "--burstiness", 0], "--burstiness"),
                   (["--schedule", "poisson", "--rate", 5, "--ramp-up", "linear"], "--ramp-up-seconds"),
                   (["--schedule", "poisson", "--rate", 5, "--ramp-up-seconds", 3], "--ramp-up"),
                   (["--schedule", "poisson", "--rate", 5, "--ramp-up", "steep", "--ramp-up-seconds", 3], "steep"),
                   (["--schedule", "throughput", "--ramp-up", "linear", "--ramp-up-seconds", 3], "--ramp-up"),
                   (["--schedule", "poisson", "--rate", 5, "--ramp-up", "linear", "--ramp-up-seconds", 30,
                     "--max-seconds", 20], "--ramp-up-seconds"),
                   (["--stages", "10:60s,abc"], "abc"),
                   (["--stages", "10:60s,"], "empty item"),
                   (["--stages", "0:60s"], "rate"),
                   (["--stages", "10:5x"], "10:5x"),
                   (["--stages", "10:60s", "--rate", 5], "--rate"),
                   (["--stages", "10:60s", "--schedule", "concurrent"], "concurrent"),
                   (["--stages", "10:5s", "--warmup", 5], "stage 1"),
                   (["--schedule", "poisson", "--rate", 5, "--max-error-rate", 0.1, "--workers", 2], "--workers"),
                   (["--schedule", "poisson", "--rate", 5, "--max-error-rate", "120%"], "--max-error-rate"),
                   (["--schedule", "poisson", "--rate", 5, "--saturation-window", 1], "--saturation-window")):
    r = run(["run", "--target", "http://127.0.0.1:9", *map(str, args)])
    ok(r.returncode == 2 and r.stderr.count("\n") == 1 and word in r.stderr,
       f"{' '.join(map(str, args))}: exit 2, one line naming {word}", (r.returncode, r.stderr))
done()
