"""--metrics-listen: live client metrics served while the run goes (summed over --workers loops),
scraped a few times: counters never go back, streams are seen in flight, promtool accepts the text,
other paths are 404, the port is closed after the run, and a port in use is exit 1 in one line."""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from lltest import ASAN_SLACK, BIN, MULT, Sim, done, ok, run, stderr_until

tmp = tempfile.mkdtemp(prefix="llmload-test-live-")
PROMTOOL = shutil.which("promtool")
SAMPLE = re.compile(r'^(llmload_live_[a-z_]+)\{([^}]*)\} (\S+)$', re.M)


def scrape(port, path="/metrics", method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5 * MULT)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read().decode()
    finally:
        c.close()


def values(text):
    """{name or name+le: value} for the one benchmark being run."""
    out = {}
    for name, labels, v in SAMPLE.findall(text):
        le = re.search(r'(?:^|,)le="([^"]*)"', labels)
        out[name + (f"@{le.group(1)}" if le else "")] = float(v)
    return out


def wait_for_url(proc, timeout):
    """The `metrics on http://...` line's URL (stderr_until: not hidden in a reader's buffer), and
    the lines read."""
    line, seen = stderr_until(proc, "metrics on http://", timeout)
    return (line.split("metrics on ", 1)[1].strip() if line else None), seen


with Sim("--ttft-ms", 30, "--itl-ms", 10, "--seed", 4) as sim:
    out = os.path.join(tmp, "out")
    seconds = 4
    p = subprocess.Popen([BIN, "run", "--target", sim.url, "--schedule", "concurrent", "--rate", "4",
                          "--workers", "2", "--max-seconds", str(seconds), "--no-progress", "--data",
                          "prompt_tokens=8,output_tokens=20", "--out", out, "--metrics-listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url, lines = wait_for_url(p, 10 * MULT)
    ok(url is not None and re.match(r"^http://127\.0\.0\.1:\d+/metrics$", url) is not None,
       "port 0: the chosen address is printed as 'metrics on http://127.0.0.1:PORT/metrics'", lines)
    port = int(url.rsplit(":", 1)[1].split("/")[0]) if url else 0
    scrapes = []
    deadline = time.monotonic() + seconds * 0.8
    while url and len(scrapes) < 3 and time.monotonic() < deadline:
        time.sleep(0.7)
        try:
            scrapes.append(scrape(port))
        except OSError as e:
            scrapes.append((0, "", str(e)))
    not_found = scrape(port, "/other")[0] if url and p.poll() is None else None
    wrong_method = scrape(port, "/metrics", "POST")[0] if url and p.poll() is None else None
    try:
        so, se = p.communicate(timeout=(seconds + 30) * MULT)
    except subprocess.TimeoutExpired:
        p.kill()
        so, se = p.communicate()
    ok(p.returncode == 0, "the run with --metrics-listen ends normally", f"rc={p.returncode} err={se[-300:]!r}")
    ok(len(scrapes) >= 2 and all(s[0] == 200 for s in scrapes), "scraped 2-3 times during the run, 200 each",
       [s[:2] for s in scrapes])
    ok(all(s[1].startswith("text/plain; version=0.0.4") for s in scrapes), "Prometheus text content type",
       [s[1] for s in scrapes])
    ok(not_found == 404, "another path is 404", not_found)
    ok(wrong_method == 405, "POST /metrics is 405", wrong_method)
    vals = [values(s[2]) for s in scrapes if s[0] == 200]
    names = ("llmload_live_requests_started_total", "llmload_live_requests_completed_total",
             "llmload_live_requests_errored_total", "llmload_live_requests_in_flight",
             "llmload_live_ttft_seconds_count", "llmload_live_inter_token_gap_seconds_count")
    ok(vals and all(n in v for v in vals for n in names), "every live family is there", vals[:1])
    mono = all(vals[i + 1].get(n, -1) >= vals[i].get(n, 0) for i in range(len(vals) - 1)
               for n in names if n.endswith("_total") or n.endswith("_count"))
    ok(len(vals) >= 2 and mono, "counters and histogram counts never go back between scrapes",
       [(v.get(names[0]), v.get(names[1]), v.get(names[4])) for v in vals])
    ok(len(vals) >= 2 and vals[-1].get(names[1], 0) > vals[0].get(names[1], 0),
       "completions rise from one scrape to the next (live, not a final copy)", [v.get(names[1]) for v in vals])
    ok(vals and vals[-1].get(names[5], 0) > 0, "token gaps reach the live histogram (folded each second)",
       vals[-1:] and vals[-1].get(names[5]))
    in_flight = [v.get("llmload_live_requests_in_flight", -1) for v in vals]
    ok(any(0 < x <= 4 for x in in_flight), "streams seen in flight (both loops summed, at most 4)", in_flight)
    ok(all(v.get("llmload_live_ttft_seconds_bucket@+Inf") == v.get("llmload_live_ttft_seconds_count") for v in vals),
       "ttft histogram: +Inf bucket == count", vals[-1:] and vals[-1].get("llmload_live_ttft_seconds_count"))
    ok(all('benchmark="concurrent@4"' in s[2] and 'model="llmload-sim"' in s[2] for s in scrapes),
       "series carry the benchmark, schedule and model labels", scrapes[0][2][:300] if scrapes else "")
    if PROMTOOL and scrapes:
        c = subprocess.run([PROMTOOL, "check", "metrics"], input=scrapes[-1][2], capture_output=True, text=True,
                           timeout=60)
        ok(c.returncode == 0, "promtool check metrics accepts the live text", c.stdout + c.stderr)
    else:
        ok(False, "promtool installed (Debian package prometheus)")
    rep_path = os.path.join(out, "report.json")
    if ok(os.path.exists(rep_path), "reports written after the live run"):
        b = json.load(open(rep_path))["benchmarks"][0]
        last = vals[-1] if vals else {}
        ok(last.get(names[1], 1e18) <= b["requests"]["completed"] and
           last.get(names[4], 1e18) <= b["metrics"]["ttft_ms"]["count"],
           "live counts never exceed the final report's", (last.get(names[1]), b["requests"]["completed"]))
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        closed = False
    except OSError:
        closed = True
    finally:
        s.close()
    ok(closed, "the port is closed after the run", port)

    # Binding failures are one line and exit 1 (runtime); a malformed ADDR:PORT is usage (exit 2).
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    busy_port = busy.getsockname()[1]
    t = time.monotonic()
    r = run(["run", "--target", sim.url, "--max-requests", 1, "--no-progress", "--quiet",
             "--metrics-listen", f"127.0.0.1:{busy_port}"])
    busy.close()
    ok(r.returncode == 1 and r.stderr.count("\n") == 1 and "--metrics-listen" in r.stderr and "in use" in r.stderr,
       "port in use: exit 1, one line", f"rc={r.returncode} err={r.stderr!r}")
    ok(time.monotonic() - t < 5 * ASAN_SLACK, "port in use: fails before any load")
    r = run(["run", "--target", sim.url, "--max-requests", 1, "--metrics-listen", "127.0.0.1"])
    ok(r.returncode == 2 and r.stderr.count("\n") == 1, "ADDR without :PORT: exit 2, one line",
       f"rc={r.returncode} err={r.stderr!r}")
done()
