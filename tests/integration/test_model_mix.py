"""Model mixes end to end (issue 19): the simulator serving several models with their own timings,
llmload run --model a=W,b=W splitting the requests by weight (report.json's benchmarks[].models,
requests.csv's model column) with each model's TTFT and ITL its configured ones, round robin
alternating exactly, both transports, and a malformed mix as a usage error."""
import csv
import json
import os
import tempfile
import time

from lltest import ASAN_SLACK, Sim, done, near, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-mix-")


def bench(sim, *args, timeout=120):
    out = os.path.join(tmp, f"out{time.monotonic_ns()}")
    r = run(["run", "--target", sim.url, "--out", out, "--no-progress", "--no-calibrate",
             "--data", "prompt_tokens=16,output_tokens=16", *args], timeout=timeout)
    rep, rows = None, []
    if r.returncode == 0:
        with open(os.path.join(out, "report.json")) as f:
            rep = json.load(f)
        with open(os.path.join(out, "requests.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
    return r, rep, rows


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else None


with Sim("--model", "fast:20:4", "--model", "slow:80:12", "--model", "plain", "--ttft-ms", 40, "--itl-ms", 8,
         "--seed", 3) as sim:
    # 1. The simulator lists every model; an unknown one is 404 as before; each answers in its name.
    st, _, body = sim.request("GET", "/v1/models")
    ids = [m["id"] for m in json.loads(body)["data"]] if st == 200 else []
    ok(ids == ["fast", "slow", "plain"], "/v1/models lists the three models in order", ids)
    st, _, _ = sim.request("POST", "/v1/chat/completions",
                           {"model": "nope", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
    ok(st == 404, "an unknown model is 404", st)
    st, _, body = sim.request("POST", "/v1/completions", {"model": "slow", "prompt": "hi", "max_tokens": 2})
    ok(st == 200 and json.loads(body)["model"] == "slow", "a request for slow is answered as slow", body[:200])

    # 2. A weighted mix: 400 requests split 70/30, each model at its own timings.
    r, rep, rows = bench(sim, "--model", "fast=0.7,slow=0.3", "--schedule", "concurrent", "--rate", 8,
                         "--max-requests", 400, "--max-seconds", 60, "--seed", 11)
    ok(r.returncode == 0, "weighted mix run exits 0", r.stderr[-400:])
    if rep:
        b = rep["benchmarks"][0]
        conf = rep["config"]
        ok(conf.get("models") == [{"name": "fast", "weight": 0.7}, {"name": "slow", "weight": 0.3}]
           and conf.get("model_order") == "weighted" and conf.get("model") == "fast",
           "report.json's config lists the models and weights", conf.get("models"))
        models = {m["name"]: m for m in b.get("models", [])}
        ok(set(models) == {"fast", "slow"}, "benchmarks[].models has both models", b.get("models"))
        if set(models) == {"fast", "slow"}:
            ok(models["fast"]["started"] + models["slow"]["started"] == 400
               and models["fast"]["completed"] + models["slow"]["completed"] == b["requests"]["completed"],
               "per-model counts add up to the benchmark's", b["models"])
            # Binomial(400, 0.7): sd 0.023; 3 sd of margin (the 3% bound over 10,000 draws is the unit test's).
            near(models["fast"]["started"] / 400, 0.7, 0.07, "fast's share of the requests")
        ok(b["requests"]["errored"] == 0, "no errors in the mix (every body named a served model)", b["requests"])
        by = {"fast": [], "slow": []}
        for row in rows:
            if row["status"] == "ok" and row["model"] in by:
                by[row["model"]].append(row)
        ok(len(rows) == 400 and all(row["model"] in by for row in rows), "requests.csv names each request's model",
           {row["model"] for row in rows})
        ok(len(by["fast"]) == models.get("fast", {}).get("completed"), "requests.csv agrees with report.json",
           (len(by["fast"]), models.get("fast")))
        for name, ttft, itl in (("fast", 20.0, 4.0), ("slow", 80.0, 12.0)):
            near(median([float(x["ttft_ms"]) for x in by[name]]), ttft, 4.0 * ASAN_SLACK, f"{name}'s TTFT p50")
            near(median([float(x["itl_mean_ms"]) for x in by[name]]), itl, 1.5 * ASAN_SLACK, f"{name}'s ITL p50")

    # 3. Round robin alternates exactly, by request number; the plain model uses the global timings.
    r, rep, rows = bench(sim, "--model", "fast,slow,plain", "--model-order", "round-robin", "--schedule",
                         "concurrent", "--rate", 4, "--max-requests", 60, "--max-seconds", 60)
    ok(r.returncode == 0, "round-robin run exits 0", r.stderr[-400:])
    if rep:
        rows.sort(key=lambda x: int(x["request_id"]))
        names = ["fast", "slow", "plain"]
        seq = [x["model"] for x in rows]
        ok(len(seq) == 60 and seq == [names[i % 3] for i in range(60)], "round robin alternates exactly", seq[:9])
        ok(all(m["started"] == 20 for m in rep["benchmarks"][0]["models"]), "20 requests each",
           rep["benchmarks"][0]["models"])
        near(median([float(x["ttft_ms"]) for x in rows if x["model"] == "plain"]), 40.0, 4.0 * ASAN_SLACK,
             "plain (global --ttft-ms) TTFT p50")

    # 4. The curl transport sends the same per-request bodies.
    r, rep, rows = bench(sim, "--model", "fast=1,slow=1", "--http-client", "curl", "--schedule", "concurrent",
                         "--rate", 4, "--max-requests", 60, "--max-seconds", 60)
    ok(r.returncode == 0, "curl mix run exits 0", r.stderr[-400:])
    if rep:
        ms = {m["name"]: m for m in rep["benchmarks"][0]["models"]}
        ok(rep["benchmarks"][0]["requests"]["errored"] == 0 and ms["fast"]["completed"] > 10
           and ms["slow"]["completed"] > 10, "curl: both models answered, no errors", ms)
        slow_ttft = median([float(x["ttft_ms"]) for x in rows if x["model"] == "slow"])
        near(slow_ttft, 80.0, 4.0 * ASAN_SLACK, "curl: slow's TTFT p50")

    # 4b. Two shards of a mix, merged: the model column and config.models come back, so the merged
    # report names each request's model (requests.csv) and splits by model (by_model, models).
    shard_dirs = []
    for k in (0, 1):
        d = os.path.join(tmp, f"shard{k}")
        r = run(["run", "--target", sim.url, "--out", d, "--no-progress", "--no-calibrate", "--quiet",
                 "--data", "prompt_tokens=16,output_tokens=8", "--model", "fast=1,slow=1", "--schedule",
                 "concurrent", "--rate", 4, "--max-requests", 40, "--max-seconds", 60, "--shard", f"{k}/2"],
                timeout=120)
        ok(r.returncode == 0, f"mix shard {k}/2 exits 0", r.stderr[-300:])
        shard_dirs.append(d)
    merged = os.path.join(tmp, "merged")
    r = run(["merge", "-o", merged, "--quiet", *shard_dirs], timeout=120)
    if ok(r.returncode == 0, "merge of two mix shards exits 0", r.stderr[-300:]):
        with open(os.path.join(merged, "requests.csv"), newline="") as f:
            mrows = list(csv.DictReader(f))
        names = {x["model"] for x in mrows}
        ok(names == {"fast", "slow"} and len(mrows) == 40, "merged requests.csv: every row names its model",
           (names, len(mrows)))
        with open(os.path.join(merged, "report.json")) as f:
            b = json.load(f)["benchmarks"][0]
        by = {g.get("model"): g for g in b.get("by_model") or []}
        ok(set(by) == {"fast", "slow"} and sum(g["requests"] for g in by.values()) == 40,
           "merged report.json: by_model splits the 40 requests between fast and slow", list(by))
        ok(by.get("slow", {}).get("ttft_ms", {}).get("p50", 0) > by.get("fast", {}).get("ttft_ms", {}).get("p50", 1e9),
           "merged by_model: slow's TTFT above fast's", by)
        # breakdown.csv: the same split as rows pandas reads, in the merge and in each shard.
        import pandas
        for d in (merged, shard_dirs[0]):
            path = os.path.join(d, "breakdown.csv")
            if ok(os.path.exists(path), f"{os.path.basename(d)}: breakdown.csv written for a mix"):
                df = pandas.read_csv(path)
                rows_m = df[df["by"] == "model"]
                ok(sorted(rows_m["group"]) == ["fast", "slow"] and
                   rows_m.set_index("group")["ttft_ms_p50"]["slow"] > rows_m.set_index("group")["ttft_ms_p50"]["fast"],
                   f"{os.path.basename(d)}: breakdown.csv has a row per model, slow's TTFT above fast's",
                   df.to_dict())
    single = os.path.join(tmp, "single")
    r = run(["run", "--target", sim.url, "--out", single, "--no-progress", "--no-calibrate", "--quiet",
             "--data", "prompt_tokens=16,output_tokens=4", "--model", "plain", "--max-requests", 4,
             "--max-seconds", 60], timeout=60)
    ok(r.returncode == 0 and os.path.exists(os.path.join(single, "report.json"))
       and not os.path.exists(os.path.join(single, "breakdown.csv")),
       "one model, no sessions: no breakdown.csv (nothing to split)", r.stderr[-300:])

# 5. A malformed mix is one usage line and exit 2, before any request.
for bad, word in (("a=0.5,b", "weight"), ("a,a", "twice"), ("a=-1,b=1", "positive")):
    r = run(["run", "--target", "http://127.0.0.1:9", "--model", bad], timeout=20)
    lines = r.stderr.strip().splitlines()
    ok(r.returncode == 2 and len(lines) == 1 and word in lines[0], f"--model {bad}: exit 2, one line",
       (r.returncode, r.stderr[-300:]))
r = run(["sim", "--model", "x:1"], timeout=20)
ok(r.returncode == 2 and "--model" in r.stderr, "sim --model NAME:TTFT without ITL is a usage error", r.stderr[-200:])

done()
