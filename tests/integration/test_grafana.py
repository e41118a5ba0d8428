"""docs/grafana/*.json against a real Prometheus (Debian's `prometheus`): it scrapes a running
`llmload run --metrics-listen`, a simulator's /metrics and a Pushgateway that received a push
(with --server-metrics and --slo), every 1 s; then every panel target's expr and every template
variable's label_values() of every dashboard runs through the HTTP API with the variables set to
values Prometheus holds, and must return at least one series. Every metric a query names must be
one llmload or the simulator emits (or the Pushgateway's push_time_seconds), so a dashboard cannot
drift from the names. The simulators run with what the engine panels need: vLLM V1's preemptions
(--preemption), prefix-cache counters (--prefix-cache-tokens), queue-time, inter-token and
iteration-tokens histograms, the DCGM exporter's names (--gpu-metrics, scraped again as job "dcgm"),
and a second simulator in llama-server's names (--metrics-style llamacpp, job "llamacpp"). The dashboards' shape is checked too: schemaVersion, a ${datasource}
Prometheus variable, no hard-coded datasource uid."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from lltest import ASAN_SLACK, BIN, MULT, Service, Sim, done, free_port, get, ok, run

HERE = os.path.dirname(os.path.abspath(__file__))
BOARDS = os.path.join(HERE, "..", "..", "docs", "grafana")
tmp = tempfile.mkdtemp(prefix="llmload-test-grafana-")

PROM_BIN = shutil.which("prometheus")
PG_BIN = shutil.which("prometheus-pushgateway")
deps = open(os.path.join(HERE, "..", "..", "scripts", "install-deps.sh")).read()
ok(re.search(r"\bprometheus\b", deps) is not None and re.search(r"\bprometheus-pushgateway\b", deps) is not None,
   "scripts/install-deps.sh installs prometheus and prometheus-pushgateway")
if not ok(PROM_BIN is not None and PG_BIN is not None, "prometheus and prometheus-pushgateway installed",
          f"prometheus={PROM_BIN} pushgateway={PG_BIN}"):
    done()

# ---- The dashboards themselves.
boards = {}
for name in sorted(os.listdir(BOARDS)):
    if name.endswith(".json"):
        boards[name] = json.load(open(os.path.join(BOARDS, name)))
ok(set(boards) == {"llmload-live.json", "llmload-nightly.json", "llmload-client-engine.json"},
   "docs/grafana holds the three dashboards", sorted(boards))


def targets(board):
    """(panel title, expr) of every panel target, rows' nested panels included."""
    out = []
    for p in board.get("panels", []):
        for q in p.get("panels", []) + [p]:
            for t in q.get("targets", []):
                out.append((q.get("title", "?"), t.get("expr", "")))
    return out


def datasources(obj):
    """Every `datasource` value anywhere in the document."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "datasource":
                yield v
            yield from datasources(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from datasources(v)


for name, d in boards.items():
    tvars = d.get("templating", {}).get("list", [])
    dsv = [v for v in tvars if v.get("type") == "datasource"]
    ok(37 <= d.get("schemaVersion", 0) <= 41 and d.get("uid") and d.get("id") is None,
       f"{name}: schemaVersion {d.get('schemaVersion')}, a uid, no id", d.get("uid"))
    ok(len(dsv) == 1 and dsv[0]["name"] == "datasource" and dsv[0]["query"] == "prometheus",
       f"{name}: one Prometheus data source variable named datasource", dsv)
    bad = [v for v in datasources(d) if v != {"type": "prometheus", "uid": "${datasource}"}]
    ok(not bad, f"{name}: every datasource is the ${{datasource}} variable (no hard-coded uid)", bad[:3])
    ok(len(targets(d)) >= 8 and all(e for _, e in targets(d)), f"{name}: {len(targets(d))} panel targets, each with an expr")


def prom_query(prom, expr, path="query"):
    """Instant query now; returns the result list (raises on an API error)."""
    url = f"{prom.url}/api/v1/{path}?" + urllib.parse.urlencode({"query": expr})
    try:
        _, body = get(url, 10)
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"HTTP {e.code}: {e.read().decode()[:300]}")
    doc = json.loads(body)
    if doc.get("status") != "success":
        raise RuntimeError(str(doc)[:300])
    return doc["data"]["result"]


def label_values(prom, label, selector):
    url = f"{prom.url}/api/v1/label/{label}/values?" + urllib.parse.urlencode({"match[]": selector})
    return json.loads(get(url, 10)[1]).get("data", [])


# Identifiers in PromQL that are not metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan", "Inf", "NaN"}
PUSHGATEWAY_OWN = {"push_time_seconds"}  # the Pushgateway's per-group gauge, documented in prometheus.md
# Names a dashboard may use: llmload's own, and the real servers' ones the simulator also serves
# (vLLM, llama-server, NVIDIA's DCGM exporter); llmload_sim_* is refused below.
ENGINE_PREFIXES = ("llmload_", "vllm:", "llamacpp:", "DCGM_FI_")


def metric_names(expr):
    """The metric names an expr selects: strings, label matchers, ranges and grouping lists removed,
    function names (an identifier followed by '(') and keywords skipped."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", e):
        if m.group(1) and not m.group(2) and m.group(1) not in KEYWORDS:
            names.add(m.group(1))
    return names


ok(metric_names('histogram_quantile(0.95, sum by (le) (rate(vllm:x_bucket{a=~"$b"}[5s]))) / clamp_min(y_total, 1e-9)')
   == {"vllm:x_bucket", "y_total"}, "the test's own PromQL name extraction finds metric names only")

# The engine simulator with every family the boards chart: preemption (a KV budget that 3 sequences of
# 8 + 30 tokens overrun), the prefix cache's counters, the DCGM exporter's names.
with Sim("--ttft-ms", 40, "--itl-ms", 10, "--max-num-seqs", 3, "--seed", 17, "--preemption", "--kv-cache-tokens", 100,
         "--prefix-cache-tokens", 4096, "--gpu-metrics") as sim, \
        Sim("--metrics-style", "llamacpp", "--itl-ms", 10) as lsim, \
        Service(lambda p: [PG_BIN, f"--web.listen-address=127.0.0.1:{p}", "--persistence.file=",
                           "--log.level=warn"]) as pg:
    live_port = free_port()
    # 1. A finished run pushes its report (with the server's diagnosis and an SLO verdict).
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", 6, "--max-seconds", 2,
             "--data", "prompt_tokens=8,output_tokens=30", "--no-progress", "--quiet", "--slo", "ttft_p95<=60s",
             "--server-metrics", "--server-metrics-interval", "0.25", "--pushgateway", pg.url, "--job", "nightly-a"],
            timeout=60)
    ok(r.returncode == 0, "a run with --server-metrics and --slo pushed to the Pushgateway", r.stderr[-300:])

    # 2. Prometheus scrapes the live endpoint, the simulator and the gateway every second.
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: llmload
    static_configs: [{{targets: ["127.0.0.1:{live_port}"]}}]
  - job_name: vllm
    static_configs: [{{targets: ["127.0.0.1:{sim.port}"]}}]
  - job_name: dcgm
    static_configs: [{{targets: ["127.0.0.1:{sim.port}"]}}]
  - job_name: llamacpp
    static_configs: [{{targets: ["127.0.0.1:{lsim.port}"]}}]
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{{targets: ["127.0.0.1:{pg.port}"]}}]
""")
    with Service(lambda p: [PROM_BIN, f"--config.file={cfg}", f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
                            f"--web.listen-address=127.0.0.1:{p}", "--log.level=warn"]) as prom:
        # 3. A live run long enough to be scraped several times, beside the engine it loads.
        live = subprocess.Popen([BIN, "run", "--target", sim.url, "--schedule", "concurrent", "--rate", "6",
                                 "--max-seconds", "45", "--data", "prompt_tokens=8,output_tokens=30", "--no-progress",
                                 "--quiet", "--metrics-listen", f"127.0.0.1:{live_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            need = {'count_over_time(llmload_live_requests_started_total{job="llmload"}[1m])': 5,
                    'count_over_time(vllm:num_requests_running{job="vllm"}[1m])': 5,
                    'count_over_time(DCGM_FI_DEV_GPU_UTIL{job="dcgm"}[1m])': 5,
                    'count_over_time(llamacpp:requests_processing{job="llamacpp"}[1m])': 5,
                    'count_over_time(llmload_requests_total{job="nightly-a",outcome="completed"}[1m])': 2}
            have = {}
            deadline = time.monotonic() + 30 * MULT * ASAN_SLACK
            while time.monotonic() < deadline and live.poll() is None:
                have = {q: max([float(s["value"][1]) for s in prom_query(prom, q)] or [0]) for q in need}
                if all(have[q] >= n for q, n in need.items()):
                    break
                time.sleep(0.5)
            ok(all(have.get(q, 0) >= n for q, n in need.items()) and live.poll() is None,
               "Prometheus scraped the live run, the simulator and the Pushgateway several times (run still going)",
               f"{have} live rc={live.poll()}")
            emitted = set(json.loads(get(prom.url + "/api/v1/label/__name__/values", 10)[1])["data"])

            # 4. The values every variable takes: ones Prometheus holds.
            values = {"job": "llmload", "benchmark": "concurrent@6", "engine_job": "vllm",
                      "model_name": "llmload-sim", "model": "llmload-sim", "model_a": "llmload-sim",
                      "model_b": "llmload-sim", "gpu_job": "dcgm", "llamacpp_job": "llamacpp"}
            per_board_job = {"llmload-nightly.json": "nightly-a"}
            builtins = {"$__rate_interval": "5s", "$__interval": "1s", "$__range": "1m"}

            def subst(text, board):
                vals = dict(values, job=per_board_job.get(board, values["job"]))
                for k, v in builtins.items():
                    text = text.replace(k, v)
                for k in sorted(vals, key=len, reverse=True):
                    text = text.replace("${" + k + "}", vals[k])
                    text = text.replace("$" + k, vals[k])
                return text

            for name, d in boards.items():
                for v in d["templating"]["list"]:
                    if v.get("type") != "query":
                        continue
                    q = subst(v["query"]["query"] if isinstance(v["query"], dict) else v["query"], name)
                    m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_]\w*)\)", q)
                    got = label_values(prom, m.group(2), m.group(1)) if m else []
                    want = per_board_job.get(name, values["job"]) if v["name"] == "job" else values[v["name"]]
                    ok(m is not None and want in got,
                       f"{name}: variable ${v['name']} = {q} offers {want!r}", f"got={got[:8]}")

            # A query naming a metric nobody here emits is refused by the rule below: the DCGM exporter's
            # DRAM activity, which the simulator does not serve (so no board charts it).
            fake = metric_names('avg(DCGM_FI_PROF_DRAM_ACTIVE{job=~"dcgm"})')
            ok(fake and any(n not in emitted for n in fake) and not prom_query(prom, 'DCGM_FI_PROF_DRAM_ACTIVE'),
               "a metric nobody emits (DCGM_FI_PROF_DRAM_ACTIVE) would fail a panel", sorted(fake))

            # 5. Every panel target: it names only metrics llmload, the simulator or the gateway emit,
            # it parses, and it returns at least one series.
            for name, d in boards.items():
                for title, expr in targets(d):
                    q = subst(expr, name)
                    names = metric_names(q)
                    unknown = sorted(n for n in names if n not in emitted or
                                     not (n.startswith(ENGINE_PREFIXES) or n in PUSHGATEWAY_OWN))
                    simonly = sorted(n for n in names if n.startswith("llmload_sim_"))
                    try:
                        res, err = prom_query(prom, q), ""
                    except (RuntimeError, OSError) as e:
                        res, err = [], str(e)
                    ok(names and not unknown and not simonly and len(res) >= 1 and "$" not in q,
                       f"{name}: '{title}': {len(res)} series from {sorted(names)}",
                       f"unknown={unknown} simulator-only={simonly} err={err} query={q}")
        finally:
            if live.poll() is None:
                live.send_signal(signal.SIGINT)
            try:
                _, err = live.communicate(timeout=20 * MULT)
            except subprocess.TimeoutExpired:
                live.kill()
                _, err = live.communicate()
        ok(live.returncode in (0, 130), "the live run stopped cleanly", f"rc={live.returncode} err={err[-300:]!r}")
done()
