"""--server-metrics end to end: llmload run scrapes the simulator's /metrics (vLLM names) on its own
thread while a short run happens, and report.json's benchmarks[].server carries the series, the
window summary and the failed-scrape count; a /metrics that fails or hangs is counted and leaves
the client's latency figures alone; bad flags are one line and exit 2; each verdict fires where it
should; llama.cpp without a KV gauge gets its cache figure from GET /slots."""
import http.server
import json
import os
import tempfile
import threading
import time

from lltest import ASAN_SLACK, MULT, Sim, done, near, ok, run

DATA = "prompt_tokens=32,output_tokens=40"


class MetricsStub:
    """A /metrics on 127.0.0.1: 'slow' sleeps past any scrape timeout, 'fail' answers 500, 'html'
    answers 200 with no Prometheus sample, 'body' answers body(hit number). Stopped by stop()."""

    def __init__(self, mode, hold_s=3.0, body=None):
        stub = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                stub.hits += 1
                stub.accept.append(self.headers.get("Accept", ""))
                if mode == "slow":
                    time.sleep(hold_s)
                if mode == "body":
                    code, text = 200, body(stub.hits).encode()
                else:
                    code, text = (500, b"boom") if mode == "fail" else (200, b"<html>not metrics</html>")
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except OSError:
                    pass

            def log_message(self, *a):
                pass

        self.hits = 0
        self.accept = []
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/metrics"
        self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.th.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def bench_run(sim, extra, seconds=3, rate=12):
    out = tempfile.mkdtemp(prefix="llmload-srvm-")
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", rate, "--max-seconds", seconds,
             "--data", DATA, "--no-progress", "--out", out, *extra], timeout=60)
    doc = None
    r.out = out
    if r.returncode == 0:
        with open(os.path.join(out, "report.json")) as f:
            doc = json.load(f)
    return r, doc


def expect(bench, verdict):
    """The verdict a benchmark must get: the client's own client_bound wins over the server's signs
    (on a loaded 2-core machine, or under ASan, a 100 ms tick can run late and the client says so)."""
    if bench["client"]["client_bound"]:
        print(f"# {bench['name']}: client_bound ({bench['client'].get('client_bound_reason')}), expected instead of {verdict}")
        return "client_bound"
    return verdict


# 1. Past --max-num-seqs: the scraped gauges show the batch at its limit and requests waiting.
with Sim("--max-num-seqs", 4, "--itl-ms", 5, "--ttft-ms", 20) as sim:
    r, doc = bench_run(sim, ["--server-metrics", "--server-metrics-interval", "250ms",
                             "--server-metrics-keep", "^llmload_sim_requests_total$"])
    ok(r.returncode == 0, "run with --server-metrics against the simulator: exit 0", r.stderr[-400:])
    srv = doc["benchmarks"][0].get("server") if doc else None
    ok(srv is not None, "report.json has benchmarks[].server", str(doc)[:200] if doc else "")
    if srv:
        summ = srv["summary"]
        ok(srv["urls"][0]["url"] == sim.url + "/metrics", "default URL is the target's /metrics", srv["urls"][0]["url"])
        ok(srv["scrapes_failed"] == 0 and srv["urls"][0]["last_error"] is None, "no failed scrape", json.dumps(srv["urls"]))
        # 3 s at 250 ms: about 12 scrapes in the window; under load on 2 shared cores, at least 5.
        ok(summ["scrapes"] >= 5, f"scrapes made every interval during the run ({summ['scrapes']})", str(summ["scrapes"]))
        ok(summ["running"]["max"] == 4, "running max = --max-num-seqs", json.dumps(summ.get("running")))
        ok(summ["waiting"]["mean"] > 4, "requests waiting (12 streams, 4 slots)", json.dumps(summ.get("waiting")))
        ok(summ["kv_usage"]["kind"] == "gauge" and 0 < summ["kv_usage"]["max"] < 1, "kv usage scraped as a gauge",
           json.dumps(summ.get("kv_usage")))
        # The server's token counter over the window against the client's own count of output tokens.
        b = doc["benchmarks"][0]
        client_tps = b["metrics"]["output_token_throughput"]
        server_tps = summ["generation_tokens"]["rate"]
        ok(abs(server_tps - client_tps) <= 0.3 * client_tps,
           f"generation_tokens rate {server_tps:.0f}/s matches the client's {client_tps:.0f}/s within 30%",
           f"server={server_tps} client={client_tps}")
        ttft = summ["ttft_s"]
        ok(ttft["kind"] == "histogram" and ttft["count"] > 10 and ttft["p50"] > 0.02,
           "ttft histogram: window count and quantiles", json.dumps(ttft))
        running = srv["series"].get("running", [])
        dur = b["duration_s"]
        ok(len(running) >= 5 and all(0 <= t <= dur + 5 for t, _ in running),
           "running series on the benchmark's time axis", str(running[:3]))
        raw = srv["series"].get('llmload_sim_requests_total{model_name="llmload-sim"}', [])
        ok(len(raw) >= 5 and raw[-1][1] >= raw[0][1], "--server-metrics-keep keeps the raw series", str(list(srv["series"])))

# 2. A failing and a hanging /metrics beside the simulator's: counted, never fatal, and the
#    client's TTFT is what the simulator was told (20 ms) whatever the scrapes do.
slow, fail, html = MetricsStub("slow"), MetricsStub("fail"), MetricsStub("html")
try:
    with Sim("--max-num-seqs", 64, "--itl-ms", 5, "--ttft-ms", 20) as sim:
        t = time.monotonic()
        r, doc = bench_run(sim, ["--server-metrics", "--server-metrics", slow.url, "--server-metrics", fail.url,
                                 "--server-metrics", html.url, "--server-metrics-interval", "500ms"], rate=4)
        took = time.monotonic() - t
        ok(r.returncode == 0, "a failing and a hanging /metrics do not stop the run", r.stderr[-400:])
        if doc:
            srv = doc["benchmarks"][0]["server"]
            by = {u["url"]: u for u in srv["urls"]}
            ok(by[slow.url]["scrapes_failed"] >= 2 and "imeout" in (by[slow.url]["last_error"] or ""),
               "hanging /metrics: timed out and counted", json.dumps(by[slow.url]))
            ok(by[fail.url]["scrapes_failed"] >= 2 and "500" in (by[fail.url]["last_error"] or ""),
               "HTTP 500 counted with its status", json.dumps(by[fail.url]))
            ok(by[html.url]["scrapes_failed"] >= 2, "200 without a sample counted", json.dumps(by[html.url]))
            ok(by[sim.url + "/metrics"]["scrapes_failed"] == 0 and srv["summary"]["running"]["max"] >= 1,
               "the good URL still scraped", json.dumps(by[sim.url + "/metrics"]))
            ok(srv["scrapes_failed"] == sum(u["scrapes_failed"] for u in srv["urls"]), "scrapes_failed adds the URLs",
               str(srv["scrapes_failed"]))
            line = [ln for ln in r.stderr.splitlines() if ln.startswith("server ")]
            ok(len(line) == 1 and f"of {srv['summary']['scrapes']} scrapes failed" in line[0],
               "the console line says how many scrapes failed", str(line))
            ttft = doc["benchmarks"][0]["metrics"]["ttft_ms"]["p50"]
            near(ttft, 20, 15 * ASAN_SLACK, "client TTFT p50 unchanged by the bad scrapes (sim --ttft-ms 20)")
        ok(took < (3 + 12) * MULT * ASAN_SLACK, f"the run ends on time ({took:.1f} s): a hung scrape is cut at its timeout",
           f"took={took}")
        ok(all(a.startswith("text/plain") and "version=0.0.4" in a for a in slow.accept + fail.accept),
           "scrapes ask for the text format 0.0.4", str(slow.accept[:2]))
finally:
    for st in (slow, fail, html):
        st.stop()

# 2b. When it scrapes, with an interval longer than the run: once before the first request, once at
#     each edge of the benchmark, once after the last request; the run does not wait for the interval.
stub = MetricsStub("fail")
try:
    with Sim("--itl-ms", 2) as sim:
        t = time.monotonic()
        r = run(["run", "--target", sim.url, "--max-requests", 2, "--data", DATA, "--no-progress",
                 "--server-metrics", stub.url, "--server-metrics-interval", "30s"], timeout=60)
        took = time.monotonic() - t
        ok(r.returncode == 0 and stub.hits == 4, f"start, both edges, end: {stub.hits} scrapes (4 expected)",
           f"rc={r.returncode} hits={stub.hits} {r.stderr[-200:]}")
        ok(took < 20 * MULT * ASAN_SLACK, f"a 30 s interval does not hold the run ({took:.1f} s)", f"took={took}")
finally:
    stub.stop()

# 2c. A second URL with what the simulator lacks: SGLang's prefix-cache hit rate and a DCGM energy
#     counter (1000 J more at each scrape). Each role comes from the first URL that has it.
extra = MetricsStub("body", body=lambda n: (
    "# TYPE sglang:cache_hit_rate gauge\nsglang:cache_hit_rate 0.25\n"
    "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\n"
    f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{gpu=\"0\"}} {n * 1000000}\n"))
try:
    with Sim("--itl-ms", 5, "--ttft-ms", 20) as sim:
        r, doc = bench_run(sim, ["--server-metrics", "--server-metrics", extra.url, "--server-metrics-interval", "250ms"],
                           seconds=2, rate=4)
        if ok(r.returncode == 0, "the simulator plus an SGLang/DCGM-style URL", r.stderr[-300:]):
            summ = doc["benchmarks"][0]["server"]["summary"]
            ok(summ["prefix_hit_rate"] == 0.25, "prefix hit rate from the second URL", str(summ.get("prefix_hit_rate")))
            e, tok = summ["energy_j"]["increase"], summ["generation_tokens"]["increase"]
            ok(e > 0 and tok > 0 and abs(summ["energy_per_token_j"] - e / tok) < 1e-6 * (e / tok),
               f"energy per output token = energy increase / generation tokens ({summ['energy_per_token_j']:.3g} J)",
               json.dumps({k: summ.get(k) for k in ("energy_j", "generation_tokens", "energy_per_token_j")}))
            line = [ln for ln in r.stderr.splitlines() if ln.startswith("server ")]
            ok(len(line) == 1 and "prefix cache hits 25%" in line[0] and "J per output token" in line[0],
               "the console line reports the prefix hit rate and energy per token", str(line))
finally:
    extra.stop()

# 3. Bad flags: one line, exit 2, before any load.
for args, what in ((["--server-metrics", "--server-metrics-keep", "(unclosed"], "regular expression"),
                   (["--server-metrics-keep", "x"], "needs --server-metrics"),
                   (["--server-metrics", "--server-metrics-interval", "0"], "out of range"),
                   (["--server-metrics=ftp://h/metrics"], "ftp://")):
    r = run(["run", "--target", "http://127.0.0.1:1", "--max-requests", 1, *args])
    ok(r.returncode == 2 and r.stderr.count("\n") == 1 and what in r.stderr,
       f"{' '.join(args)}: exit 2, one line naming it", f"rc={r.returncode} err={r.stderr!r}")

# 4. A profile's list of URLs.
with Sim("--itl-ms", 2) as sim:
    prof = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"server-metrics": ["", sim.url + "/metrics?x=1"], "server-metrics-interval": "300ms"}, prof)
    prof.close()
    out = tempfile.mkdtemp(prefix="llmload-srvm-")
    r = run(["run", prof.name, "--target", sim.url, "--max-requests", 3, "--data", DATA, "--no-progress", "--out", out])
    ok(r.returncode == 0, "profile with a list of server-metrics URLs", r.stderr[-300:])
    if r.returncode == 0:
        with open(os.path.join(out, "report.json")) as f:
            doc = json.load(f)
        urls = [u["url"] for u in doc["benchmarks"][0]["server"]["urls"]]
        ok(urls == [sim.url + "/metrics", sim.url + "/metrics?x=1"], "both URLs scraped, in order", str(urls))
        ok(doc["config"]["server_metrics_interval_s"] == 0.3, "interval in the resolved config",
           str(doc["config"].get("server_metrics_interval_s")))
    os.unlink(prof.name)

# 5. The diagnosis: light load is not_saturated, 12 streams on 4 slots is batch_full (and the
#    report says the verdict changed there), 12 streams on a KV cache of about 4 requests is
#    kv_cache_full; one console line per benchmark.
with Sim("--max-num-seqs", 4, "--itl-ms", 5, "--ttft-ms", 20) as sim:
    r, doc = bench_run(sim, ["--server-metrics", "--server-metrics-interval", "200ms"], seconds=2, rate="1,12")
    ok(r.returncode == 0, "two benchmarks, light then past --max-num-seqs", r.stderr[-300:])
    if doc:
        d = [b["server"]["diagnosis"] for b in doc["benchmarks"]]
        want = [expect(b, v) for b, v in zip(doc["benchmarks"], ("not_saturated", "batch_full"))]
        ok(d[0]["verdict"] == want[0], f"one stream on 4 slots: {want[0]}", json.dumps(d[0]))
        ok(d[1]["verdict"] == want[1] and d[1]["evidence"]["running_max"] == 4 and d[1]["evidence"]["waiting_mean"] > 4,
           f"12 streams on 4 slots: {want[1]} with its evidence", json.dumps(d[1]))
        ok(d[1].get("changed_from") == (want[0] if want[0] != want[1] else None) and "changed_from" not in d[0],
           "the point where the verdict changed is marked", json.dumps(d))
        with open(os.path.join(r.out, "summary.csv")) as f:
            rows = [dict(zip(hdr, ln.split(","))) for hdr in [f.readline().strip().split(",")] for ln in f.read().splitlines()]
        ok([x["server_verdict"] for x in rows] == want and rows[1]["server_running_max"] == "4"
           and float(rows[1]["server_waiting_mean"]) > 4 and rows[1]["server_scrapes_failed"] == "0",
           "summary.csv has the verdict and its key figures", str(rows[1])[-300:] if len(rows) > 1 else str(rows))
        lines = [ln for ln in r.stderr.splitlines() if ln.startswith("server ")]
        ok(len(lines) == 2 and lines[0].startswith(f"server concurrent@1: {want[0]}")
           and lines[1].startswith(f"server concurrent@12: {want[1]}"), "one console line per benchmark", str(lines))
with Sim("--max-num-seqs", 4, "--itl-ms", 5, "--ttft-ms", 20) as sim:
    out = tempfile.mkdtemp(prefix="llmload-srvm-")
    r = run(["run", "--target", sim.url, "--schedule", "sweep", "--rate", 3, "--max-seconds", 2, "--max-concurrency", 12,
             "--data", DATA, "--no-progress", "--out", out, "--server-metrics", "--server-metrics-interval", "200ms"],
            timeout=60)
    if ok(r.returncode == 0, "a sweep with --server-metrics", r.stderr[-300:]):
        with open(os.path.join(out, "report.json")) as f:
            bs = {b["name"]: b for b in json.load(f)["benchmarks"]}
        sync, thr = bs["synchronous"], bs["throughput"]
        ws, wt = expect(sync, "not_saturated"), expect(thr, "batch_full")
        d = thr["server"]["diagnosis"]
        ok(sync["server"]["diagnosis"]["verdict"] == ws and d["verdict"] == wt,
           f"sweep anchors: synchronous {ws}, throughput {wt}", json.dumps([sync["server"]["diagnosis"], d])[:400])
    # Load order, not run order: heaviest first, then the lightest, then the middle.
    r, doc = bench_run(sim, ["--server-metrics", "--server-metrics-interval", "200ms"], seconds=2, rate="12,1,3")
    if ok(r.returncode == 0, "a --rate list out of load order", r.stderr[-300:]):
        bs = {b["name"]: b for b in doc["benchmarks"]}
        d = {n: b["server"]["diagnosis"] for n, b in bs.items()}
        want = {n: expect(bs[n], v) for n, v in (("concurrent@12", "batch_full"), ("concurrent@1", "not_saturated"),
                                                  ("concurrent@3", "not_saturated"))}
        ok(all(d[n]["verdict"] == want[n] for n in want), "verdicts of 12, 1 and 3 streams on 4 slots", json.dumps(d)[:400])
        below = {"concurrent@1": None, "concurrent@3": "concurrent@1", "concurrent@12": "concurrent@3"}
        exp = {n: (want[m] if m and want[m] != want[n] else None) for n, m in below.items()}
        ok(all(d[n].get("changed_from") == exp[n] for n in exp),
           "changed_from compares with the benchmark just below in load, not the one run before",
           f"want {exp} got {json.dumps(d)[:400]}")
with Sim("--max-num-seqs", 64, "--kv-cache-tokens", 300, "--itl-ms", 5, "--ttft-ms", 20) as sim:
    r, doc = bench_run(sim, ["--server-metrics", "--server-metrics-interval", "200ms"], seconds=2, rate=12)
    if ok(r.returncode == 0, "12 streams past --kv-cache-tokens", r.stderr[-300:]):
        d = doc["benchmarks"][0]["server"]["diagnosis"]
        want = expect(doc["benchmarks"][0], "kv_cache_full")
        ok(d["verdict"] == want and d["evidence"]["kv_usage_max"] >= 0.9,
           f"KV budget of about 4 requests: {want}", json.dumps(d))
# llama.cpp without its KV gauge (newer llama-server builds dropped llamacpp:kv_cache_usage_ratio):
# the scraper reads GET /slots for the figure and the diagnosis uses it. 12 streams of 32 + 40
# tokens on 8 slots whose 380-token context fits 5: the engine holds 5, queues 7, its cache 95% used:
# kv_cache_full (batch_full if the figure were missing). The older builds' gauge needs no /slots.
for style in ("llamacpp", "llamacpp-legacy"):
    with Sim("--metrics-style", style, "--max-num-seqs", 8, "--kv-cache-tokens", 380, "--itl-ms", 5,
             "--ttft-ms", 20) as sim:
        r, doc = bench_run(sim, ["--server-metrics", "--server-metrics-interval", "200ms"], seconds=2, rate=12)
        if ok(r.returncode == 0, f"{style}: 12 streams on a context of 5 requests", r.stderr[-300:]):
            b = doc["benchmarks"][0]
            srv, u = b["server"], b["server"]["urls"][0]
            kv = srv["summary"].get("kv_usage") or {}
            ok(0.9 <= kv.get("max", 0) <= 1 and kv.get("n", 0) >= 3 and srv["scrapes_failed"] == 0
               and len(srv["series"].get("kv_usage", [])) >= 3,
               f"{style}: KV usage in the server summary and series", json.dumps(kv))
            if style == "llamacpp":
                ok(u.get("slots_url") == sim.url + "/slots" and u.get("slots_fetched", 0) >= 3
                   and u.get("slots_failed") == 0, "no KV gauge: GET /slots gave it, at each scrape",
                   json.dumps({k: u.get(k) for k in ("slots_url", "slots_fetched", "slots_failed")}))
            else:
                ok("slots_url" not in u, "the older builds' llamacpp:kv_cache_usage_ratio: /slots not asked",
                   json.dumps(u)[:300])
            d, want = srv["diagnosis"], expect(b, "kv_cache_full")
            ok(d["verdict"] == want and (want != "kv_cache_full" or d["evidence"]["kv_usage_max"] >= 0.9),
               f"{style}: the verdict uses the cache figure: {want}", json.dumps(d))
# A llama.cpp-style /metrics whose /slots answers something else (here the same text: the stand-in
# serves one body on every path): the scrapes count, no KV figure is invented, /slots failures are
# counted apart, and the verdict does not claim a full cache.
lc = MetricsStub("body", body=lambda n: "llamacpp:requests_processing 4\nllamacpp:requests_deferred 0\n")
try:
    with Sim("--max-num-seqs", 64, "--itl-ms", 5, "--ttft-ms", 20) as sim:
        r, doc = bench_run(sim, ["--server-metrics", lc.url, "--server-metrics-interval", "200ms"], seconds=2, rate=4)
        if ok(r.returncode == 0, "llama.cpp names, /slots unreadable", r.stderr[-300:]):
            srv = doc["benchmarks"][0]["server"]
            u = srv["urls"][0]
            ok(srv["scrapes_failed"] == 0 and "kv_usage" not in srv["summary"] and u.get("slots_failed", 0) >= 3
               and u.get("slots_fetched") == 0 and srv["diagnosis"]["verdict"] != "kv_cache_full",
               "an unreadable /slots: no KV figure, counted apart, never a failed scrape",
               json.dumps({k: u.get(k) for k in ("slots_url", "slots_fetched", "slots_failed", "scrapes_failed")}))
finally:
    lc.stop()
# queueing in front of the engine: the engine this /metrics describes holds 2 requests and queues
# none, yet the client's 16 streams wait (in the simulator behind it, 4 slots): a proxy's view.
front = MetricsStub("body", body=lambda n: "vllm:num_requests_running 2\nvllm:num_requests_waiting 0\n"
                                            "vllm:kv_cache_usage_perc 0.1\n")
try:
    with Sim("--max-num-seqs", 4, "--itl-ms", 5, "--ttft-ms", 20) as sim:
        r, doc = bench_run(sim, ["--server-metrics", front.url, "--server-metrics-interval", "200ms"], seconds=2,
                           rate="1,16")
        if ok(r.returncode == 0, "16 streams behind an engine that says it holds 2", r.stderr[-300:]):
            d = [b["server"]["diagnosis"] for b in doc["benchmarks"]]
            want = [expect(b, v) for b, v in zip(doc["benchmarks"], ("not_saturated", "queueing"))]
            ok([x["verdict"] for x in d] == want and (want[1] != "queueing" or d[1]["evidence"]["ttft_growth"] >= 2),
               f"front queue: {want}", json.dumps(d)[:500])
finally:
    front.stop()
# compute_bound: nothing waits, the GPU exporter says SM active 95%, and the simulator's decode step
# grows 2 ms per running sequence, so time per output token grows with the batch.
gpu = MetricsStub("body", body=lambda n: "# TYPE DCGM_FI_PROF_SM_ACTIVE gauge\nDCGM_FI_PROF_SM_ACTIVE{gpu=\"0\"} 0.95\n")
try:
    with Sim("--itl-ms", 2, "--itl-ms-per-seq", 2, "--ttft-ms", 20) as sim:
        r, doc = bench_run(sim, ["--server-metrics", "--server-metrics", gpu.url, "--server-metrics-interval", "200ms"],
                           seconds=2, rate="1,8")
        if ok(r.returncode == 0, "8 streams, decode step growing with the batch, a busy GPU", r.stderr[-300:]):
            d = [b["server"]["diagnosis"] for b in doc["benchmarks"]]
            want = [expect(b, v) for b, v in zip(doc["benchmarks"], ("not_saturated", "compute_bound"))]
            ok([x["verdict"] for x in d] == want and (want[1] != "compute_bound" or d[1]["evidence"]["gpu_busy"] == 0.95),
               f"busy GPU, growing TPOT, nothing waiting: {want}", json.dumps(d)[:500])
finally:
    gpu.stop()
# unknown: a /metrics with latency histograms only (TensorRT-LLM's shape: no running or waiting
# gauge) and no GPU exporter gives nothing to judge the server by, however loaded the simulator is.
trt = MetricsStub("body", body=lambda n: "# TYPE trtllm_time_to_first_token_seconds histogram\n"
                                          f'trtllm_time_to_first_token_seconds_bucket{{le="0.1"}} {n}\n'
                                          f'trtllm_time_to_first_token_seconds_bucket{{le="+Inf"}} {n}\n'
                                          f"trtllm_time_to_first_token_seconds_sum {n * 0.05}\n"
                                          f"trtllm_time_to_first_token_seconds_count {n}\n")
try:
    with Sim("--max-num-seqs", 4, "--itl-ms", 5, "--ttft-ms", 20) as sim:
        r, doc = bench_run(sim, ["--server-metrics", trt.url, "--server-metrics-interval", "200ms"], seconds=2)
        if ok(r.returncode == 0, "12 streams on 4 slots, scraped from a /metrics with histograms only", r.stderr[-300:]):
            b = doc["benchmarks"][0]
            d, want = b["server"]["diagnosis"], expect(b, "unknown")
            ok(d["verdict"] == want and b["server"]["summary"].get("ttft_s", {}).get("count", 0) > 0,
               f"no engine gauge, no GPU figure: {want} (not batch_full from the client's side)", json.dumps(d)[:300])
finally:
    trt.stop()
# latency_floor: 1.2 s to the first token with one request at a time.
with Sim("--ttft-ms", 1200, "--itl-ms", 2) as sim:
    out = tempfile.mkdtemp(prefix="llmload-srvm-")
    r = run(["run", "--target", sim.url, "--max-requests", 3, "--data", DATA, "--no-progress", "--out", out,
             "--server-metrics", "--server-metrics-interval", "200ms"], timeout=60)
    if ok(r.returncode == 0, "synchronous run against a 1.2 s prefill", r.stderr[-300:]):
        with open(os.path.join(out, "report.json")) as f:
            b = json.load(f)["benchmarks"][0]
        d, want = b["server"]["diagnosis"], expect(b, "latency_floor")
        ok(d["verdict"] == want, f"high TTFT at one in flight: {want}", json.dumps(d)[:400])
with Sim("--max-num-seqs", 64, "--itl-ms", 5, "--ttft-ms", 20) as sim:
    r, doc = bench_run(sim, ["--server-metrics", "--quiet"], seconds=2, rate=4)
    if ok(r.returncode == 0, "4 streams on 64 slots", r.stderr[-300:]):
        d = doc["benchmarks"][0]["server"]["diagnosis"]
        want = expect(doc["benchmarks"][0], "not_saturated")
        ok(d["verdict"] == want, f"light load on a large batch: {want}", json.dumps(d))
        ok("server " not in r.stderr, "--quiet: no server line", r.stderr[-200:])
done()
