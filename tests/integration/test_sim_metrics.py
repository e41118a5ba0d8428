"""llmload sim end to end: /metrics in Prometheus text format with vLLM's names, counters that
match the traffic, queueing past --max-num-seqs and KV-cache blocking seen through the gauges."""
import re
import shutil
import subprocess
import tempfile
import threading
import time

from lltest import MULT, Sim, done, ok
from simclient import chat, one

M = 'model_name="llmload-sim"'
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def check_format(text):
    """Returns a list of problems: every line parsed, HELP/TYPE before samples, histogram rules."""
    problems = []
    typed = {}
    helped = set()
    hist = {}
    for ln in text.splitlines():
        if ln.startswith("# HELP "):
            helped.add(ln.split()[2])
            continue
        if ln.startswith("# TYPE "):
            parts = ln.split()
            if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram"):
                problems.append(f"bad TYPE line {ln!r}")
            typed[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(ln)
        if not m:
            problems.append(f"unparsable line {ln!r}")
            continue
        name, labels, val = m.group(1), m.group(2) or "", m.group(3)
        try:
            float(val)
        except ValueError:
            problems.append(f"bad value {ln!r}")
        fam = re.sub(r'_(bucket|sum|count)$', "", name)
        if name not in typed and not (fam in typed and typed[fam] == "histogram"):
            problems.append(f"sample before its TYPE: {name}")
        if (name not in helped) and (fam not in helped):
            problems.append(f"no HELP for {name}")
        if name.endswith("_bucket"):
            le = re.search(r'le="([^"]+)"', labels).group(1)
            hist.setdefault(fam, []).append((float("inf") if le == "+Inf" else float(le), float(val)))
        elif name.endswith("_count") and fam in hist:
            b = hist[fam]
            if b[-1][0] != float("inf") or b[-1][1] != float(val):
                problems.append(f"{fam}: +Inf bucket {b[-1]} != count {val}")
            if any(b[i][0] >= b[i + 1][0] or b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
                problems.append(f"{fam}: buckets not increasing/cumulative")
    return problems


with Sim("--ttft-ms", 5, "--itl-ms", 2) as sim:
    for i in range(3):
        one(sim.port, "POST", "/v1/chat/completions", chat(4, words="a b c"))
    one(sim.port, "POST", "/v1/completions", {"prompt": "a b", "max_tokens": 2, "stream": True})
    status, hdrs, body = sim.request("GET", "/metrics")
    text = body.decode()
    ok(status == 200 and hdrs.get("content-type", "").startswith("text/plain; version=0.0.4"),
       "/metrics: 200 text/plain; version=0.0.4", f"{status} {hdrs}")
    probs = check_format(text)
    ok(not probs, "every /metrics line parses; HELP/TYPE first; histograms cumulative with +Inf == count",
       "; ".join(probs[:5]))
    names = ["vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
             "vllm:gpu_cache_usage_perc", "vllm:prompt_tokens_total", "vllm:generation_tokens_total",
             "vllm:time_to_first_token_seconds", "vllm:e2e_request_latency_seconds", "vllm:request_success_total",
             "llmload_sim_faults_total", "llmload_sim_requests_total", "llmload_sim_inter_token_latency_seconds"]
    missing = [n for n in names if f"# TYPE {n} " not in text]
    ok(not missing, "every required metric family is present", str(missing))
    m = sim.metrics()
    ok(m.get(f"vllm:prompt_tokens_total{{{M}}}") == 11, "prompt_tokens_total = 3*3 + 2",
       str(m.get(f"vllm:prompt_tokens_total{{{M}}}")))
    ok(m.get(f"vllm:generation_tokens_total{{{M}}}") == 14, "generation_tokens_total = 3*4 + 2",
       str(m.get(f"vllm:generation_tokens_total{{{M}}}")))
    ok(m.get(f'vllm:request_success_total{{finished_reason="length",{M}}}') == 4,
       "request_success_total{finished_reason=length} = 4", "")
    ok(m.get(f"vllm:time_to_first_token_seconds_count{{{M}}}") == 4
       and m.get(f"vllm:e2e_request_latency_seconds_count{{{M}}}") == 4, "ttft and e2e histograms counted 4", "")
    ok(m.get(f"llmload_sim_requests_total{{{M}}}") == 4, "llmload_sim_requests_total = 4", "")
    ok(m.get(f'llmload_sim_faults_total{{kind="stall",{M}}}') == 0, "no faults counted without fault flags", "")
    ok(m.get(f"vllm:num_requests_running{{{M}}}") == 0 and m.get(f"vllm:kv_cache_usage_perc{{{M}}}") == 0,
       "idle: nothing running, KV empty", "")
    promtool = shutil.which("promtool")
    if promtool:
        with tempfile.NamedTemporaryFile("w", suffix=".prom") as f:
            f.write(text)
            f.flush()
            p = subprocess.run([promtool, "check", "metrics"], stdin=open(f.name), capture_output=True, text=True,
                               timeout=30 * MULT)
        # vLLM's names contain ':' which promtool's linter flags as style, and vLLM's histogram
        # vllm:iteration_tokens_total carries _total; anything else is a failure.
        other = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.strip() and "colon" not in ln
                 and "should not contain" not in ln
                 and not ln.startswith('vllm:iteration_tokens_total non-counter metrics should not have "_total"')]
        ok(not other, "promtool check metrics: no problems besides vLLM's colon names", "\n".join(other[:5]))
    else:
        print("# skip: promtool not installed (Debian package prometheus); format checked by the parser above")


def stream_in_thread(port, body, results, i):
    try:
        r = one(port, "POST", "/v1/chat/completions", body, max_seconds=30)
        results[i] = (r.status, r.complete)
    except Exception as e:   # recorded and reported by the check below
        results[i] = repr(e)


def gauges_while(port, bodies, want):
    """Starts one thread per body, polls /metrics until `want(m)` or 5 s, then joins (bounded)."""
    results = [None] * len(bodies)
    threads = [threading.Thread(target=stream_in_thread, args=(port, b, results, i), daemon=True)
               for i, b in enumerate(bodies)]
    for t in threads:
        t.start()
    seen = None
    deadline = time.monotonic() + 5 * MULT
    while time.monotonic() < deadline:
        seen = sim.metrics()
        if want(seen):
            break
        time.sleep(0.02)
    for t in threads:
        t.join(timeout=30 * MULT)
    return seen, results


# --- queueing past --max-num-seqs ---
with Sim("--max-num-seqs", 2, "--ttft-ms", 10, "--itl-ms", 20) as sim:
    bodies = [chat(25) for _ in range(5)]
    seen, results = gauges_while(sim.port, bodies,
                                 lambda m: m.get(f"vllm:num_requests_waiting{{{M}}}", 0) >= 3)
    ok(seen.get(f"vllm:num_requests_running{{{M}}}") == 2 and seen.get(f"vllm:num_requests_waiting{{{M}}}") == 3,
       "5 streams, --max-num-seqs 2: running 2, waiting 3",
       f"running={seen.get(f'vllm:num_requests_running{{{M}}}')} waiting={seen.get(f'vllm:num_requests_waiting{{{M}}}')}")
    ok(all(r == (200, True) for r in results), "all queued streams complete", str(results))
    m = sim.metrics()
    ok(m.get(f"vllm:num_requests_waiting{{{M}}}") == 0 and m.get(f"vllm:num_requests_running{{{M}}}") == 0,
       "queue drains to zero", "")

# --- KV-cache blocking ---
with Sim("--kv-cache-tokens", 100, "--ttft-ms", 10, "--itl-ms", 20) as sim:
    ten = " ".join(["w"] * 10)
    bodies = [chat(40, words=ten) for _ in range(3)]     # 50 tokens each: two fit in 100
    seen, results = gauges_while(sim.port, bodies,
                                 lambda m: m.get(f"vllm:num_requests_waiting{{{M}}}", 0) >= 1
                                 and m.get(f"vllm:num_requests_running{{{M}}}", 0) >= 2)
    ok(seen.get(f"vllm:num_requests_running{{{M}}}") == 2 and seen.get(f"vllm:num_requests_waiting{{{M}}}") == 1,
       "KV 100 tokens, three 50-token requests: running 2, waiting 1", str(seen))
    ok(seen.get(f"vllm:kv_cache_usage_perc{{{M}}}") == 1.0 and seen.get(f"vllm:gpu_cache_usage_perc{{{M}}}") == 1.0,
       "kv_cache_usage_perc and gpu_cache_usage_perc read 1.0 when full", "")
    ok(all(r == (200, True) for r in results), "KV-blocked stream completes after the others", str(results))
    ok(sim.metrics().get(f"vllm:kv_cache_usage_perc{{{M}}}") == 0, "KV usage back to 0", "")

done()
