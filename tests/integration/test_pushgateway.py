"""--pushgateway: a real Prometheus Pushgateway (Debian's prometheus-pushgateway) on 127.0.0.1 gets
exactly metrics.prom under {job=NAME}; a second push replaces the group; a broken SLO and a SIGINT's
partial report are pushed too; an unreachable or refusing gateway is exit 1 with one line, and the
reports are still written."""
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

from lltest import ASAN_SLACK, BIN, MULT, Service, Sim, done, free_port, get, ok, run

HERE = os.path.dirname(os.path.abspath(__file__))
tmp = tempfile.mkdtemp(prefix="llmload-test-push-")

deps = open(os.path.join(HERE, "..", "..", "scripts", "install-deps.sh")).read()
ok(re.search(r"\bprometheus-pushgateway\b", deps) is not None,
   "scripts/install-deps.sh installs (and --check checks) prometheus-pushgateway")
PG_BIN = shutil.which("prometheus-pushgateway")
if not ok(PG_BIN is not None, "prometheus-pushgateway installed (scripts/install-deps.sh)"):
    done()


class Pushgateway(Service):
    """prometheus-pushgateway on 127.0.0.1, in memory only, stopped by PID."""

    def __init__(self):
        super().__init__(lambda port: [PG_BIN, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=",
                                       "--log.level=warn"])

    def series(self, job):
        """The gateway's /metrics samples of one job: {(name, labels without job/instance): value}."""
        _, text = get(self.url + "/metrics")
        return {k: v for (k, v), labels in parse(text, keep_job=True) if labels.get("job") == job}


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text, keep_job=False):
    """Exposition text -> [((name, frozenset(labels minus job/instance)), value), labels]."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if not m:
            continue
        labels = dict(LABEL.findall(m.group(2) or ""))
        key_labels = frozenset((k, v) for k, v in labels.items() if k not in ("job", "instance"))
        out.append((((m.group(1), key_labels), float(m.group(3))), labels))
    return out


def same(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


def llmload(*args, out=None, timeout=60):
    argv = ["run", "--target", sim.url, "--schedule", "concurrent", "--data", "prompt_tokens=8,output_tokens=10",
            "--no-progress", "--quiet", *map(str, args)]
    if out:
        argv += ["--out", out]
    return run(argv, timeout=timeout)


with Sim("--ttft-ms", 20, "--itl-ms", 5, "--seed", 3) as sim, Pushgateway() as pg:
    # 1. The pushed group is metrics.prom, sample for sample.
    out_a = os.path.join(tmp, "a")
    r = llmload("--rate", 2, "--max-seconds", 1, "--pushgateway", pg.url, "--job", "llmload-test", out=out_a)
    ok(r.returncode == 0 and r.stderr == "", "push: exit 0, nothing on stderr with --quiet",
       f"rc={r.returncode} err={r.stderr!r}")
    prom = {k: v for (k, v), _ in parse(open(os.path.join(out_a, "metrics.prom")).read())}
    got = pg.series("llmload-test")
    pushed = {k: v for k, v in got.items() if not k[0].startswith("push_")}
    missing = [k for k in prom if k not in pushed]
    differ = [k for k in prom if k in pushed and not same(prom[k], pushed[k])]
    ok(len(prom) > 50 and not missing and not differ and len(pushed) == len(prom),
       f"the gateway holds exactly metrics.prom's {len(prom)} samples under job=\"llmload-test\"",
       f"missing={missing[:3]} differ={differ[:3]} pushed={len(pushed)}")
    rep = json.load(open(os.path.join(out_a, "report.json")))
    b = rep["benchmarks"][0]
    labels = frozenset({("benchmark", b["name"]), ("schedule", "concurrent"), ("model", rep["config"]["model"])})
    completed = got.get(("llmload_requests_total", labels | {("outcome", "completed")}))
    ok(completed == b["requests"]["completed"] and completed > 0,
       "pushed completed count == report.json's", f"{completed} vs {b['requests']['completed']}")
    p50 = got.get(("llmload_ttft_seconds", labels | {("quantile", "0.5")}))
    ok(p50 is not None and abs(p50 - b["metrics"]["ttft_ms"]["p50"] / 1000) < 1e-12,
       "pushed ttft p50 == report.json's (seconds)", f"{p50} vs {b['metrics']['ttft_ms']['p50'] / 1000}")
    ok(got.get(("push_failure_time_seconds", frozenset())) == 0 and got.get(("push_time_seconds", frozenset()), 0) > 0,
       "the gateway counts it a successful push (push_time_seconds set, no failure)",
       {k: v for k, v in got.items() if k[0].startswith("push_")})

    # 2. A second push to the same job replaces the group: the first run's benchmark is gone.
    r = llmload("--rate", 1, "--max-seconds", 1, "--pushgateway", pg.url, "--job", "llmload-test")
    got = pg.series("llmload-test")
    benches = {dict(k[1])["benchmark"] for k in got if k[0].startswith("llmload_") and "benchmark" in dict(k[1])}
    ok(r.returncode == 0 and benches == {"concurrent@1"}, "second push replaces the group (PUT)",
       f"rc={r.returncode} benchmarks={benches} err={r.stderr!r}")

    # 3. A broken SLO is pushed before exit 3; a job name with '/' and ' ' travels base64-encoded.
    r = llmload("--rate", 1, "--max-seconds", 1, "--slo", "ttft_p95<=1ms", "--pushgateway", pg.url,
                "--job", "ci/nightly run")
    got = pg.series("ci/nightly run")
    verdict = [v for k, v in got.items() if k[0] == "llmload_slo_passed"]
    ok(r.returncode == 3 and verdict == [0.0], "gate failed: pushed (llmload_slo_passed 0), then exit 3",
       f"rc={r.returncode} verdict={verdict} err={r.stderr!r}")

    # 4. SIGINT: the partial report is pushed, then exit 130.
    p = subprocess.Popen([BIN, "run", "--target", sim.url, "--schedule", "concurrent", "--rate", "2", "--max-seconds", "60",
                          "--drain-seconds", "0.5", "--data", "prompt_tokens=8,output_tokens=10", "--no-progress",
                          "--pushgateway", pg.url, "--job", "interrupted"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0 * ASAN_SLACK)
    p.send_signal(signal.SIGINT)
    try:
        _, se = p.communicate(timeout=20 * MULT)
    except subprocess.TimeoutExpired:
        p.kill()
        _, se = p.communicate()
    got = pg.series("interrupted")
    done_n = [v for k, v in got.items() if k[0] == "llmload_requests_total" and ("outcome", "completed") in k[1]]
    ok(p.returncode == 130 and len(done_n) == 1 and done_n[0] > 0 and "pushed to the Pushgateway" in se,
       "SIGINT: the partial report is pushed, exit 130", f"rc={p.returncode} completed={done_n} err={se[-300:]!r}")

    # 5. Unreachable gateway: exit 1, one line naming it, credentials redacted, reports on disk.
    out_b = os.path.join(tmp, "b")
    closed = free_port()
    r = llmload("--rate", 1, "--max-requests", 2, "--pushgateway", f"http://user:s3cret@127.0.0.1:{closed}", out=out_b)
    ok(r.returncode == 1 and r.stderr.count("\n") == 1 and "--pushgateway" in r.stderr and
       f"127.0.0.1:{closed}" in r.stderr and "s3cret" not in r.stderr,
       "unreachable gateway: exit 1, one line, no credentials", f"rc={r.returncode} err={r.stderr!r}")
    ok(all(os.path.exists(os.path.join(out_b, f)) for f in ("report.json", "metrics.prom", "requests.csv")),
       "unreachable gateway: the reports are still written", os.listdir(out_b) if os.path.isdir(out_b) else None)

    # 6. A gateway that answers non-2xx (a wrong path prefix: 404): exit 1, one line with the status.
    r = llmload("--rate", 1, "--max-requests", 2, "--pushgateway", pg.url + "/not-here")
    ok(r.returncode == 1 and r.stderr.count("\n") == 1 and "HTTP 404" in r.stderr,
       "gateway answers 404: exit 1, one line with the status", f"rc={r.returncode} err={r.stderr!r}")
done()
