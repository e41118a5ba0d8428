"""The simulator's server-side metrics end to end, read by llmload's own --server-metrics scraper:
preemption past --kv-cache-tokens (kv_cache_full with preemptions as its evidence), --gpu-metrics
as the GPU exporter (compute_bound, energy per token), the prefix cache's hit rate against the
shared prefix's share of each prompt, and --metrics-style llamacpp (roles running and waiting, and
GET /slots). Every new /metrics text passes promtool's parser; its linter may only flag the real
servers' own names (vLLM's colons and iteration_tokens_total, DCGM's camelCase labels and its
energy counter without _total, llama.cpp's n_busy_slots_per_decode typed as a counter)."""
import json
import os
import shutil
import subprocess
import tempfile

from lltest import MULT, Sim, done, ok, run

DATA = "prompt_tokens=32,output_tokens=40"


def bench_run(sim, extra, seconds=2, rate=12, data=DATA):
    out = tempfile.mkdtemp(prefix="llmload-simsrv-")
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", rate, "--max-seconds", seconds,
             "--data", data, "--no-progress", "--out", out, "--server-metrics", "--server-metrics-interval", "200ms",
             *extra], timeout=90)
    doc = None
    if r.returncode == 0:
        with open(os.path.join(out, "report.json")) as f:
            doc = json.load(f)
    return r, doc


def expect(bench, verdict):
    """client_bound wins over the server's signs (a late tick on a loaded 2-core machine)."""
    if bench["client"]["client_bound"]:
        print(f"# {bench['name']}: client_bound ({bench['client'].get('client_bound_reason')}), expected instead of {verdict}")
        return "client_bound"
    return verdict


ALLOWED_LINT = ("should not contain ':'", 'vllm:iteration_tokens_total non-counter metrics should not have "_total"',
                "label names should be written in 'snake_case' not 'camelCase'",
                'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter metrics should have "_total" suffix',
                'llamacpp:n_busy_slots_per_decode counter metrics should have "_total" suffix')


def promtool_ok(sim, what):
    promtool = shutil.which("promtool")
    if not promtool:
        print("# skip: promtool not installed (Debian package prometheus)")
        return
    _, _, body = sim.request("GET", "/metrics")
    p = subprocess.run([promtool, "check", "metrics"], input=body.decode(), capture_output=True, text=True,
                       timeout=30 * MULT)
    lines = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]
    other = [ln for ln in lines if not any(a in ln for a in ALLOWED_LINT)]
    ok(not other and "error" not in (p.stdout + p.stderr).lower(),
       f"promtool check metrics ({what}): only the real names' style lints", "\n".join(other[:5]))


# 0. Exact accounting of one request: a 20-token prompt and 6 output tokens, one per step. The
#    first step carries the prefill (20 + 1 tokens), then 5 steps of 1; vLLM's inter-token
#    histogram has the 5 gaps, its queue-time histogram the one request; llama.cpp's n_decode
#    counts the 6 steps.
L = 'model_name="llmload-sim",engine="0"'
PROMPT = " ".join(f"w{i:03d}" for i in range(20))
for style in ("vllm", "llamacpp"):
    with Sim("--metrics-style", style, "--ttft-ms", 5, "--itl-ms", 2) as sim:
        st, _, _ = sim.request("POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": 6})
        m = sim.metrics()
        if style == "vllm":
            got = (m.get(f"vllm:iteration_tokens_total_sum{{{L}}}"), m.get(f"vllm:iteration_tokens_total_count{{{L}}}"),
                   m.get(f"vllm:inter_token_latency_seconds_count{{{L}}}"), m.get(f"vllm:request_queue_time_seconds_count{{{L}}}"),
                   m.get(f'vllm:iteration_tokens_total_bucket{{le="32",{L}}}'), m.get(f'vllm:iteration_tokens_total_bucket{{le="16",{L}}}'))
            ok(st == 200 and got == (26, 6, 5, 1, 6, 5),
               "one request: iteration tokens 21 + 5 x 1 in 6 steps, 5 inter-token gaps, 1 queue time", str(got))
        else:
            got = (m.get("llamacpp:n_decode_total"), m.get("llamacpp:prompt_tokens_total"),
                   m.get("llamacpp:tokens_predicted_total"), m.get("llamacpp:n_busy_slots_per_decode"))
            ok(st == 200 and got == (6, 20, 6, 1), "llama.cpp: 6 decode calls, 20 prompt and 6 predicted tokens, 1 busy slot",
               str(got))
            ok(0.004 < m.get("llamacpp:prompt_seconds_total", 0) < 0.5 and m.get("llamacpp:prompt_tokens_seconds", 0) > 0,
               "llama.cpp: prompt time and throughput from the engine's prefill", str(m.get("llamacpp:prompt_seconds_total")))

# 1. Preemption: 12 streams of 72 tokens on a 300-token KV cache. With --preemption sequences are
#    admitted on their prompt and grow; the step that passes the budget preempts the youngest.
with Sim("--max-num-seqs", 64, "--kv-cache-tokens", 300, "--itl-ms", 5, "--ttft-ms", 20, "--preemption") as sim:
    r, doc = bench_run(sim, [])
    if ok(r.returncode == 0, "12 streams past --kv-cache-tokens with --preemption", r.stderr[-300:]):
        b = doc["benchmarks"][0]
        d = b["server"]["diagnosis"]
        want = expect(b, "kv_cache_full")
        ok(d["verdict"] == want and d["evidence"].get("preemptions", 0) >= 1,
           f"{want} with preemptions as evidence", json.dumps(d))
        rq = b["requests"]
        ok(rq["completed"] >= 12 and rq["errored"] == 0 and rq["incomplete"] == 0 and rq["short_output"] == 0,
           "preempted streams still complete, every token sent", json.dumps(rq)[:200])
    m = sim.metrics()
    pre = m.get('vllm:num_preemptions_total{model_name="llmload-sim",engine="0"}', 0)
    ok(pre >= 1, f"vllm:num_preemptions_total counted ({pre:.0f})", str(pre))
    ok(m.get('vllm:request_queue_time_seconds_count{model_name="llmload-sim",engine="0"}', 0) >= 12
       and m.get('vllm:inter_token_latency_seconds_count{model_name="llmload-sim",engine="0"}', 0) > 100
       and m.get('vllm:iteration_tokens_total_count{model_name="llmload-sim",engine="0"}', 0) > 10,
       "queue-time, inter-token and iteration-token histograms counted", "")
    promtool_ok(sim, "vLLM V1 names")
# The same load without --preemption: admission holds back, nothing is preempted.
with Sim("--max-num-seqs", 64, "--kv-cache-tokens", 300, "--itl-ms", 5, "--ttft-ms", 20) as sim:
    r, doc = bench_run(sim, [], seconds=1)
    ok(r.returncode == 0 and sim.metrics().get('vllm:num_preemptions_total{model_name="llmload-sim",engine="0"}') == 0,
       "without --preemption the counter stays 0", r.stderr[-300:])

# 2. compute_bound from the simulator's own GPU exporter: SM activity follows the batch (8 streams
#    fill --gpu-full-batch 8), and the decode step grows 2 ms per running sequence.
with Sim("--itl-ms", 2, "--itl-ms-per-seq", 2, "--ttft-ms", 20, "--gpu-metrics") as sim:
    r, doc = bench_run(sim, [], rate="1,8")
    if ok(r.returncode == 0, "1 then 8 streams with --gpu-metrics", r.stderr[-300:]):
        d = [b["server"]["diagnosis"] for b in doc["benchmarks"]]
        want = [expect(b, v) for b, v in zip(doc["benchmarks"], ("not_saturated", "compute_bound"))]
        ok([x["verdict"] for x in d] == want and (want[1] != "compute_bound" or d[1]["evidence"]["gpu_busy"] >= 0.8),
           f"SM activity from the batch, TPOT growing: {want}", json.dumps(d)[:500])
        e = [b["server"]["summary"].get("energy_per_token_j") for b in doc["benchmarks"]]
        # One stream: (60 W + 20 W) over one token per 4 ms step = 0.32 J; 8 streams: 220 W over
        # 8 tokens per 18 ms step = 0.495 J. Idle gaps between requests add a little to both.
        ok(all(x is not None for x in e) and 0.25 < e[0] < 0.6 and 0.35 < e[1] < 0.8,
           f"energy per output token from the energy counter ({e})", str(e))
    m = sim.metrics()
    k = [x for x in m if x.startswith("DCGM_FI_DEV_POWER_USAGE{")]
    ok(len(k) == 1 and m[k[0]] == 60 and 'Hostname="' in k[0] and 'UUID="' in k[0] and 'modelName="' in k[0],
       "idle power 60 W, with DCGM's labels", str(k))
    promtool_ok(sim, "DCGM names")

# 3. The prefix cache: every prompt is 512 tokens of which the first 384 are shared. The hit rate
#    llmload reads from the counters is the shared share, less the 16-token block rounding and
#    the first (cold) request; the prefill a hit skips shows in the client's TTFT.
PDATA = "prompt_tokens=512,prefix_tokens=384,output_tokens=4"
ttft = {}
for flags in ([], ["--prefix-cache-tokens", 100000]):
    with Sim("--ttft-ms", 5, "--prefill-ms-per-1k", 400, "--itl-ms", 2, *flags) as sim:
        r, doc = bench_run(sim, [], seconds=2, rate=2, data=PDATA)
        if ok(r.returncode == 0, f"prefix-shared prompts {'with' if flags else 'without'} a prefix cache", r.stderr[-300:]):
            b = doc["benchmarks"][0]
            hr = b["server"]["summary"].get("prefix_hit_rate")
            ttft[bool(flags)] = b["metrics"]["ttft_ms"]["p50"]
            if flags:
                ok(hr is not None and abs(hr - 384 / 512) <= 0.08,
                   f"prefix cache hit rate {hr} within 0.08 of the shared share 0.75", str(hr))
                q = sim.metrics().get('vllm:prefix_cache_queries_total{model_name="llmload-sim",engine="0"}', 0)
                n = b["requests"]["started"]
                ok(q >= 500 * n, f"queries count prompt tokens ({q:.0f} for {n} requests and more)", str(q))
            else:
                ok(not hr, "no prefix cache: no hit rate (the counters stay 0)", str(hr))
if len(ttft) == 2:
    # 512 tokens at 400 ms per 1k: 205 ms of prefill, of which a 384-token hit skips 154 ms.
    ok(ttft[True] < ttft[False] - 80, f"a hit skips its prefill: TTFT p50 {ttft[True]:.0f} ms against {ttft[False]:.0f} ms",
       str(ttft))

# 4. --metrics-style llamacpp: llama-server's names, which llmload's alias table maps to the roles
#    running and waiting; GET /slots in llama.cpp's shape.
with Sim("--metrics-style", "llamacpp", "--max-num-seqs", 4, "--kv-cache-tokens", 8192, "--itl-ms", 5, "--ttft-ms", 20) as sim:
    st, _, body = sim.request("GET", "/slots")
    slots = json.loads(body) if st == 200 else None
    ok(isinstance(slots, list) and len(slots) == 4 and all(s["n_ctx"] == 2048 and s["is_processing"] is False
                                                           and s["id"] == i for i, s in enumerate(slots)),
       "GET /slots: 4 idle slots of n_ctx 8192/4", str(slots)[:300])
    r, doc = bench_run(sim, [])
    if ok(r.returncode == 0, "12 streams on 4 llama.cpp slots", r.stderr[-300:]):
        b = doc["benchmarks"][0]
        summ = b["server"]["summary"]
        ok(summ.get("running", {}).get("max") == 4 and summ.get("waiting", {}).get("mean", 0) > 4,
           "llamacpp:requests_processing and requests_deferred read as running and waiting",
           json.dumps({k: summ.get(k) for k in ("running", "waiting")}))
        want = expect(b, "batch_full")
        ok(b["server"]["diagnosis"]["verdict"] == want, f"llama.cpp names: {want}", json.dumps(b["server"]["diagnosis"]))
    m = sim.metrics()
    ok(not any(k.startswith("vllm:") for k in m) and m.get("llamacpp:tokens_predicted_total", 0) > 0
       and m.get("llamacpp:n_decode_total", 0) > 0 and m.get("llamacpp:requests_processing") == 0,
       "llama.cpp's names only, counters moved, idle after the run", str(sorted(m)[:6]))
    promtool_ok(sim, "llama.cpp names")
with Sim() as sim:
    st, _, _ = sim.request("GET", "/slots")
    ok(st == 404, "GET /slots is 404 in vLLM's style", str(st))
done()
