"""metrics.prom: Prometheus text from the report, checked by the real promtool, re-rendered byte for
byte by `llmload report --format prom`, and consistent with report.json."""
import os
import re
import shutil
import subprocess
import tempfile

from lltest import Sim, done, near, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-prom-")
out = os.path.join(tmp, "out")
with Sim("--ttft-ms", 20, "--itl-ms", 5, "--error-rate", 0.2, "--seed", 5) as sim:
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", "1,3", "--max-seconds", 1.5,
             "--data", "prompt_tokens=8,output_tokens=10", "--out", out, "--no-progress",
             "--slo", "ttft_p95<=1s"])
ok(r.returncode in (0, 3), "run with --out", r.stderr[-300:])
path = os.path.join(out, "metrics.prom")
text = open(path).read() if os.path.exists(path) else ""
ok(text.startswith("# HELP llmload_info"), "metrics.prom written", text[:80])

promtool = shutil.which("promtool")
if ok(promtool is not None, "promtool installed (Debian package prometheus)"):
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    ok(p.returncode == 0, "promtool check metrics passes", p.stdout + p.stderr)

rr = run(["report", os.path.join(out, "report.json"), "--format", "prom"])
ok(rr.returncode == 0 and rr.stdout == text, "llmload report --format prom == metrics.prom byte for byte", rr.stderr)

import json
rep = json.load(open(os.path.join(out, "report.json")))

# Label values that need escaping (a model name with a quote, a backslash and a newline).
odd = json.load(open(os.path.join(out, "report.json")))
odd["config"]["model"] = 'odd "model" \\ name\nx'
odd_path = os.path.join(tmp, "odd.json")
json.dump(odd, open(odd_path, "w"))
rr = run(["report", odd_path, "--format", "prom"])
ok('model="odd \\"model\\" \\\\ name\\nx"' in rr.stdout, "label values escaped", rr.stdout[200:400])
if promtool:
    p = subprocess.run([promtool, "check", "metrics"], input=rr.stdout, capture_output=True, text=True, timeout=60)
    ok(p.returncode == 0, "promtool accepts the escaped labels", p.stdout + p.stderr)


def sample(name, bench, extra=""):
    pat = re.compile(r'^' + re.escape(name) + r'\{benchmark="' + re.escape(bench) + r'"[^}]*' + re.escape(extra) +
                     r'[^}]*\} (\S+)$', re.M)
    m = pat.search(text)
    return float(m.group(1)) if m else None


for b in rep["benchmarks"]:
    n = b["name"]
    ok(sample("llmload_requests_total", n, 'outcome="completed"') == b["requests"]["completed"],
       f"{n}: completed count", sample("llmload_requests_total", n, 'outcome="completed"'))
    ok(sample("llmload_errors_total", n, 'kind="http_5xx"') == b["requests"]["errors_by_kind"].get("http_5xx", 0),
       f"{n}: http_5xx count")
    near(sample("llmload_ttft_seconds", n, 'quantile="0.5"'), b["metrics"]["ttft_ms"]["p50"] / 1000, 1e-9,
         f"{n}: ttft p50 in seconds")
    ok(sample("llmload_inter_token_gap_seconds_count", n) == b["histograms"]["itl_ms"]["count"] ==
       sample("llmload_inter_token_gap_seconds_bucket", n, 'le="+Inf"'), f"{n}: histogram count = report's")
    ok(sample("llmload_slo_passed", n) == (1 if b["slo"]["passed"] else 0), f"{n}: SLO verdict")
ok("llmload_server_" not in text, "without --server-metrics: no llmload_server_* series", text.count("llmload_server_"))

# --server-metrics: the verdict as a state set and the key server figures, from report.json.
sout = os.path.join(tmp, "server")
with Sim("--ttft-ms", 20, "--itl-ms", 10, "--max-num-seqs", 2, "--seed", 6) as sim:
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", 6, "--max-seconds", 2.5,
             "--data", "prompt_tokens=8,output_tokens=40", "--out", sout, "--no-progress", "--quiet",
             "--server-metrics", "--server-metrics-interval", "0.25"])
ok(r.returncode == 0, "run with --server-metrics", r.stderr[-300:])
text = open(os.path.join(sout, "metrics.prom")).read() if os.path.exists(os.path.join(sout, "metrics.prom")) else ""
srep = json.load(open(os.path.join(sout, "report.json"))) if r.returncode == 0 else {"benchmarks": []}
if promtool:
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    ok(p.returncode == 0, "promtool check metrics passes with the server series", p.stdout + p.stderr)
for b in srep["benchmarks"]:
    n, diag = b["name"], b["server"]["diagnosis"]
    ones = re.findall(r'^llmload_server_verdict\{benchmark="' + re.escape(n) + r'"[^}]*verdict="([a-z_]+)"\} 1$',
                      text, re.M)
    zeros = re.findall(r'^llmload_server_verdict\{benchmark="' + re.escape(n) + r'"[^}]*\} 0$', text, re.M)
    ok(ones == [diag["verdict"]] and len(zeros) == 7,
       f"{n}: llmload_server_verdict is 1 for report.json's verdict ({diag['verdict']}), 0 for the 7 others",
       f"ones={ones} zeros={len(zeros)}")
    ev = diag["evidence"]
    for metric, key in (("llmload_server_kv_usage_max", "kv_usage_max"), ("llmload_server_running_max", "running_max"),
                        ("llmload_server_waiting_mean", "waiting_mean")):
        near(sample(metric, n), ev.get(key, float("nan")), 1e-9, f"{n}: {metric} == evidence.{key}")
    ok(sample("llmload_server_scrapes_failed", n) == b["server"]["summary"]["scrapes_failed"],
       f"{n}: llmload_server_scrapes_failed == summary's")
    ok(sample("llmload_server_gpu_busy_ratio", n) is None, f"{n}: no GPU figure scraped, no GPU sample (never a 0)")
done()
