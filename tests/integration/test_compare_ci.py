"""llmload compare with confidence intervals: a simulator slowed by 30% is a regression beyond the
intervals, two identical runs are equal, a change beyond the tolerance but inside the intervals is
noise (not a regression), sweeps with other rate points are matched by curve, and the md, csv and
html formats (the page self-contained, its overlaid curves drawn by headless Chromium)."""
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

from lltest import MULT, Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-compare-ci-")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def bench(name, sim_args, run_args):
    out = os.path.join(tmp, name)
    with Sim(*sim_args) as sim:
        r = run(["run", "--target", sim.url, *run_args, "--out", out, "--no-progress", "--quiet"], timeout=180)
    ok(r.returncode == 0, f"{name} run", r.stderr[-300:])
    return os.path.join(out, "report.json")


def compare(*args):
    r = run(["compare", *args, "--format", "json"])
    return r.returncode, (json.loads(r.stdout) if r.stdout.startswith("{") else {"comparisons": []})


LOAD = ["--schedule", "concurrent", "--rate", 8, "--max-requests", 96, "--seed", 3,
        "--data", "prompt_tokens=8,output_tokens=4"]

# 1. 30% slower prefill (ttft 100 -> 130 ms): TTFT regressed, beyond both runs' intervals.
base = bench("base", ["--ttft-ms", 100, "--itl-ms", 50, "--seed", 1], LOAD)
slow = bench("slow", ["--ttft-ms", 130, "--itl-ms", 50, "--seed", 1], LOAD)
same = bench("same", ["--ttft-ms", 100, "--itl-ms", 50, "--seed", 1], LOAD)
rc, res = compare(base, slow, "--metric", "ttft_p50,ttft_p95")
rows = {r["metric"]: r for r in res["comparisons"]}
ok(rc == 3, "slowed by 30%: exit 3", rc)
for m in ("ttft_p50", "ttft_p95"):
    r = rows.get(m, {})
    ok(r.get("verdict") == "regressed" and r.get("beyond_noise") is True and r.get("regressed") is True,
       f"{m}: regressed, beyond the intervals", r)
    bci, cci = r.get("baseline_ci") or [0, 0], r.get("candidate_ci") or [0, 0]
    ok(bci[0] <= r.get("baseline", -1) <= bci[1] and cci[0] <= r.get("candidate", -1) <= cci[1] and bci[1] < cci[0],
       f"{m}: each interval holds its value, and they are apart", (bci, cci))
ok(res.get("matching", {}).get("method") == "name", "same names: matched by name", res.get("matching"))

# 2. Two identical runs (same simulator settings, same seed): no change beyond the intervals. (50 ms
# steps: on a busy 2-core machine the simulator's step timer runs a millisecond or two late, which
# moved the ITL p95 of a 2 ms or 10 ms step by more than 10%: a real difference, but of the machine.)
rc, res = compare(base, same)
verdicts = {(r["benchmark"], r["metric"]): r["verdict"] for r in res["comparisons"]}
ok(rc == 0 and res["regressions"] == 0, "identical runs: exit 0, no regression", (rc, verdicts))
ok(not any(v in ("regressed", "improved") for v in verdicts.values()), "identical runs: nothing changed", verdicts)
with_ci = [r for r in res["comparisons"] if r["baseline_ci"] is not None]
ok(len(with_ci) >= 4 and all(r["beyond_noise"] is not None for r in with_ci),
   "latency rows carry both intervals", len(with_ci))

# 3. Noise is not a regression: 24 requests of 2-20 output tokens, two seeds. e2e p50 moves by more
# than the 5% tolerance, but its wide intervals overlap: "within noise", exit 0 (without the
# intervals this was exit 3).
NOISY = ["--schedule", "concurrent", "--rate", 2, "--max-requests", 24,
         "--data", "prompt_tokens=8,output_tokens=10,output_tokens_stdev=6,output_tokens_min=2,output_tokens_max=20"]
n1 = bench("noisy1", ["--ttft-ms", 10, "--itl-ms", 5], NOISY + ["--seed", 1])
n2 = bench("noisy2", ["--ttft-ms", 10, "--itl-ms", 5], NOISY + ["--seed", 2])
rc, res = compare(n1, n2, "--metric", "e2e_p50", "--tolerance", "5%")
r = res["comparisons"][0] if res["comparisons"] else {}
ok(abs(r.get("change") or 0) > 0.05, "noisy: e2e p50 moved by more than 5%", r)
ok(rc == 0 and r.get("verdict") == "within noise" and r.get("beyond_noise") is False,
   "noisy: overlapping intervals, so within noise and exit 0", (rc, r))

# 4. Sweeps of two servers: their middle rate points differ, so they are matched by curve.
SWEEP = ["--schedule", "sweep", "--rate", 4, "--max-seconds", 1.5, "--max-concurrency", 64, "--seed", 2,
         "--data", "prompt_tokens=16,output_tokens=16"]
sa = bench("sweep_a", ["--max-num-seqs", 8, "--ttft-ms", 20, "--itl-ms", 5, "--seed", 1], SWEEP)
sb = bench("sweep_b", ["--max-num-seqs", 12, "--ttft-ms", 20, "--itl-ms", 5, "--seed", 1], SWEEP)
da, db = (json.load(open(p)) for p in (sa, sb))
open_a = sorted(b["target_rate"] for b in da["benchmarks"] if b["schedule"] in ("constant", "poisson"))
open_b = sorted(b["target_rate"] for b in db["benchmarks"] if b["schedule"] in ("constant", "poisson"))
ok(len(open_a) == 2 and len(open_b) == 2 and set(open_a) != set(open_b), "the sweeps' rate points differ",
   (open_a, open_b))
rc, res = compare(sa, sb, "--tolerance", "50%")
mt = res.get("matching", {})
lo, hi = max(open_a[0], open_b[0]), min(open_a[-1], open_b[-1])
common = sorted(x for x in open_a + open_b if lo <= x <= hi)
ok(rc in (0, 3) and mt.get("method") == "curve" and mt.get("curve_points") == len(common) and len(common) >= 1,
   "matched by curve at every rate point inside both ranges", (rc, mt, common))
names = {r["benchmark"] for r in res["comparisons"]}
ok({"synchronous", "throughput"} <= names and all(n in ("synchronous", "throughput") or n.startswith("rate@")
                                                   for n in names), "anchors by name, the rest rate@R", names)
ok(res.get("missing") == [], "no open-loop point reported missing", res.get("missing"))
# At a rate the baseline measured, its curve value is that point's own.
pa = {b["target_rate"]: b for b in da["benchmarks"] if b["schedule"] == "constant"}
checked = 0
for r in res["comparisons"]:
    if r["benchmark"].startswith("rate@") and r["metric"] == "ttft_p50":
        x = float(r["benchmark"][5:])
        for rate, b in pa.items():
            if abs(rate - x) <= 1e-3 * rate:
                checked += 1
                ok(abs(r["baseline"] - b["metrics"]["ttft_ms"]["p50"]) <= 1e-6 * b["metrics"]["ttft_ms"]["p50"] + 1e-6,
                   f"rate@{x:.4g}: the baseline's own point", (r["baseline"], b["metrics"]["ttft_ms"]["p50"]))
ok(checked >= 1, "a curve point falls on a measured baseline rate", checked)
r = run(["compare", sa, sb, "--tolerance", "50%"])
ok("matched by curve" in r.stdout and "common offered rates" in r.stdout, "the table says how it matched",
   r.stdout[-400:])

# Capacity at an SLO along each sweep's curve (the interpolation itself: test_gate.c).
r = run(["compare", sa, sb, "--tolerance", "50%", "--slo", "ttft_p95<=10s", "--format", "json"])
cap = json.loads(r.stdout).get("capacity", {}) if r.stdout.startswith("{") else {}
ok(cap.get("baseline", {}).get("bound") == "above" and cap.get("baseline", {}).get("rate") == open_a[-1],
   "--slo met everywhere: capacity above the highest rate", cap)
r = run(["compare", sa, sb, "--slo", "ttft_p95<=10s"])
ok("capacity at the SLOs" in r.stdout and "above" in r.stdout, "the table prints the capacity", r.stdout[-300:])
r = run(["compare", sa, sb, "--slo", "ttft_p95<=fast"])
ok(r.returncode == 2 and r.stderr.count("\n") == 1, "bad --slo: exit 2", r.stderr)

# 5. Formats: md, csv, html.
r = run(["compare", base, slow, "--format", "md", "--metric", "ttft_p95"])
ok(r.returncode == 3 and r.stdout.startswith("| benchmark | metric | baseline [95% CI]") and "**regressed**" in r.stdout
   and "matched by name" in r.stdout, "markdown with intervals and the matching", r.stdout[:400])
r = run(["compare", base, slow, "--format", "csv"])
rows = list(csv.DictReader(io.StringIO(r.stdout)))
ttft = [x for x in rows if x["metric"] == "ttft_p95"]
ok(r.returncode == 3 and len(rows) >= 9 and ttft and ttft[0]["verdict"] == "regressed" and
   float(ttft[0]["baseline_ci_lo"]) <= float(ttft[0]["baseline"]) <= float(ttft[0]["baseline_ci_hi"]) and
   float(ttft[0]["change_pct"]) > 10 and ttft[0]["matching"] == "name", "csv: one row per comparison", rows[:2])
thr = [x for x in rows if x["metric"] == "request_throughput"]
ok(thr and thr[0]["baseline_ci_lo"] == "" and thr[0]["beyond_noise"] == "", "csv: no interval, empty cells", thr[:1])

html_path = os.path.join(tmp, "compare.html")
r = run(["compare", sa, sb, "--format", "html", "--tolerance", "50%"])
open(html_path, "w").write(r.stdout)
html = r.stdout
ok(r.returncode in (0, 3) and html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>"),
   "html: a whole page", (r.returncode, r.stderr, html[:60]))
ok(re.findall(r"<script\b[^>]*\bsrc\s*=", html, re.I) == [] and
   re.findall(r"""\b(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", html, re.I) == [],
   "html: self-contained (no src=, no network href)")
m = re.search(r'<script type="application/json" id="llmload-compare">(.*?)</script>', html, re.S)
data = json.loads(m.group(1)) if m else {}
ok(len(data.get("baseline", {}).get("points", [])) == 4 and len(data.get("candidate", {}).get("points", [])) == 4,
   "html: both runs' points embedded", list(data))
ok("matched by curve" in html and "rate@" in html, "html: the table and the matching")

if not CHROMIUM:
    print("# skip - chromium not installed (scripts/install-deps.sh installs it): compare page not rendered")
else:
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--window-size=1280,900", "--dump-dom",
           "file://" + os.path.abspath(html_path)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        dom, _ = p.communicate(timeout=90 * MULT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        dom, _ = p.communicate()
    mb = re.search(r"<body([^>]*)>", dom or "")
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', mb.group(1))) if mb else {}
    ok(attrs.get("data-charts-drawn") == "3" and attrs.get("data-charts-expected") == "3",
       "Chromium drew the 3 overlaid charts", attrs)
    ok(attrs.get("data-js-errors", "") == "", "no JavaScript errors", attrs.get("data-js-errors"))
done()
