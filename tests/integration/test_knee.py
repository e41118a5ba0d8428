"""The knee by fit (issue 20): a sweep against a simulator of known capacity (4 sequences, 20 ms
prefill, 10 ms steps, 40-token answers: service 20 + 39 x 10 = 410 ms, 4 / 0.41 = 9.76 req/s,
docs/simulator.md) puts its knee, the breakpoint of a two-segment fit of log TTFT p50 against
achieved rate, within one sweep step of that capacity; report.json's sweep.knee carries the rule
and the fit, the console names it, `llmload report` prints it again (also for a report written
before sweep.knee), and report.html marks it on the four sweep charts (headless Chromium)."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

from lltest import ASAN, MULT, Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-knee-")
out = os.path.join(tmp, "sweep")
POINTS = 8
CAPACITY = 4 / (0.020 + 39 * 0.010)
with Sim("--max-num-seqs", 4, "--ttft-ms", 20, "--itl-ms", 10, "--seed", 11) as sim:
    r = run(["run", "--target", sim.url, "--schedule", "sweep", "--rate", POINTS, "--max-seconds", 4 if ASAN else 3,
             "--max-concurrency", 16, "--data", "prompt_tokens=8,output_tokens=40", "--out", out,
             "--no-progress"], timeout=300)
ok(r.returncode == 0, "sweep exits 0", r.stderr[-800:])
rep = json.load(open(os.path.join(out, "report.json"))) if r.returncode == 0 else {"benchmarks": []}
bs = rep["benchmarks"]
knee = rep.get("sweep", {}).get("knee", {})
ok(knee.get("rule") == "two-segment fit" and knee.get("points") == POINTS, "sweep.knee: the fit, over every point",
   knee)
fit = knee.get("fit", {})
ok(all(isinstance(fit.get(k), (int, float)) for k in ("intercept", "slope_low", "slope_high", "rmse")) and
   fit.get("slope_high", 0) > fit.get("slope_low", 0) and "achieved_rate" in fit.get("x", "") and
   fit.get("y") == "log10(ttft_p50_ms)", "the fit's slopes (steeper after) and residual", fit)
if len(bs) == POINTS:
    rates = sorted(b["achieved_rate"] for b in bs)
    step = (bs[1]["metrics"]["request_throughput"] - bs[0]["metrics"]["request_throughput"]) / (POINTS - 1)
    ok(knee.get("rate") is not None and abs(knee["rate"] - CAPACITY) <= step * 1.05,
       f"the knee lies within one sweep step ({step:.2f} req/s) of the simulator's capacity {CAPACITY:.2f}",
       (knee.get("rate"), CAPACITY, step))
    ok(knee.get("benchmark") not in ("synchronous", "throughput") and
       knee.get("benchmark") in [b["name"] for b in bs], "the knee's point is a middle point", knee.get("benchmark"))
line = [ln for ln in r.stdout.splitlines() if ln.startswith("knee:")]
ok(len(line) == 1 and "two-segment fit" in line[0] and knee.get("benchmark", "?") in line[0],
   "the console names the knee and its rule", r.stdout[-500:])

# Re-rendered from report.json; and a report written before sweep.knee gets the same knee.
rr = run(["report", os.path.join(out, "report.json"), "--format", "table"])
ok(rr.returncode == 0 and line and line[0] in rr.stdout, "llmload report prints the same knee line")
old = json.loads(json.dumps(rep))
old.pop("sweep", None)
old_path = os.path.join(tmp, "old.json")
json.dump(old, open(old_path, "w"))
rr = run(["report", old_path, "--format", "table"])
ok(rr.returncode == 0 and line and line[0] in rr.stdout, "an older report without sweep.knee: the same knee",
   rr.stdout[-300:])

# llmload compare gives each report's knee by the same rule.
rc = run(["compare", os.path.join(out, "report.json"), old_path, "--format", "json"])
cres = json.loads(rc.stdout) if rc.returncode == 0 else {}
ok(cres.get("knee", {}).get("baseline", {}).get("rate") == knee.get("rate") and
   cres.get("knee", {}).get("candidate", {}).get("rate") == knee.get("rate"),
   "compare: both reports' knees, by the same rule", cres.get("knee"))
rc = run(["compare", os.path.join(out, "report.json"), old_path])
ok(rc.returncode == 0 and "knee (two-segment fit" in rc.stdout, "compare's table names the knees", rc.stdout[-300:])

# report.html: a vertical knee marker on each of the four sweep charts.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
html_path = os.path.join(out, "report.html")
if not CHROMIUM:
    print("# skip - chromium not installed: knee marker not rendered")
elif os.path.exists(html_path):
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp)
    p = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--window-size=1280,900",
                          "--dump-dom", "file://" + os.path.abspath(html_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        dom, _ = p.communicate(timeout=90 * MULT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        dom, _ = p.communicate()
    m = re.search(r"<body([^>]*)>", dom or "")
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1))) if m else {}
    ok(attrs.get("data-js-errors", "") == "" and attrs.get("data-charts-drawn") == attrs.get("data-charts-expected"),
       "report.html draws every chart without a JavaScript error", attrs)
    marked = re.findall(r'data-chart="(sweep-[a-z0-9]+)"[^>]*data-knee-drawn="1"', dom or "")
    ok(sorted(marked) == ["sweep-e2e", "sweep-itl", "sweep-tps", "sweep-ttft"],
       "the knee is marked on the four sweep charts", marked)
    # compare's page marks both runs' knees on its overlaid curves.
    cmp_html = os.path.join(tmp, "compare.html")
    rc = run(["compare", os.path.join(out, "report.json"), old_path, "--format", "html"])
    open(cmp_html, "w").write(rc.stdout)
    p = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--window-size=1280,900",
                          "--dump-dom", "file://" + os.path.abspath(cmp_html)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        dom, _ = p.communicate(timeout=90 * MULT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        dom, _ = p.communicate()
    m = re.search(r"<body([^>]*)>", dom or "")
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1))) if m else {}
    marked = re.findall(r'<div[^>]*data-chart="[^"]*"[^>]*data-knee-drawn="1"', dom or "")
    ok(rc.returncode == 0 and attrs.get("data-js-errors", "") == "" and len(marked) == 3,
       "compare --format html marks the knees on its three charts", (attrs, len(marked)))
done()
