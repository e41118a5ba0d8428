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
done()
