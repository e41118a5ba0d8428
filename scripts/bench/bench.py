#!/usr/bin/python3
"""llmload's speed yardstick (make bench). Measures, side by side and on this machine:

1. llmload against wrk on the fixed nginx SSE endpoint of ../shared/bench (concurrency 64 and 512,
   16- and 256-token streams): requests/s, client CPU-seconds per 1,000 requests, peak RSS. The
   client is pinned to core 0, nginx to core 1; each figure is the median of --repeat runs.
2. Scale: 10,000 concurrent streams against `llmload sim` (slow tokens): errors, peak RSS, and the
   ITL llmload measured against what the simulator says it sent (GET /sim/stats, the same 0.1%
   histogram scheme): |p50| and |p99| differences, pass/fail against issue #9's 0.5 ms at p99.
3. Open-loop accuracy: constant 1,000 and 5,000 req/s with short streams: achieved rate and
   schedule_lag_ms p99.
4. A long run: many 256-token requests, RSS sampled over time (memory must stay flat).

Results go to build/bench/results.json and results.md, and replace the block between the
`<!-- bench:begin -->` / `<!-- bench:end -->` markers in docs/performance.md (with --write-docs).
Every process it starts is stopped by PID; it talks only to 127.0.0.1.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("LLMLOAD_BIN", os.path.join(ROOT, "build", "release", "llmload"))
SHARED = os.environ.get("LLMLOAD_SHARED", os.path.join(ROOT, "..", "shared", "bench"))
NGINX_PREFIX = os.environ.get("BENCH_PREFIX", "/tmp/llmload-bench-nginx")
BASE = "http://127.0.0.1:8097"
OUT = os.path.join(ROOT, "build", "bench")


def sh(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def timed(args, timeout):
    """Runs args under GNU time pinned to core 0; returns (CompletedProcess, user+sys s, max RSS KiB)."""
    fmt = "__TIME__ %U %S %M"
    r = sh(["/usr/bin/time", "-f", fmt, "taskset", "-c", "0", *args], timeout=timeout)
    m = re.search(r"__TIME__ ([\d.]+) ([\d.]+) (\d+)", r.stderr)
    cpu = float(m.group(1)) + float(m.group(2)) if m else float("nan")
    rss = int(m.group(3)) if m else 0
    return r, cpu, rss


def wrk(conc, tokens, seconds):
    req = os.path.join(NGINX_PREFIX, "html", "requests", f"chat_t{tokens}.json")
    r, cpu, rss = timed(["wrk", "-t1", f"-c{conc}", f"-d{seconds}s", "-s", os.path.join(SHARED, "wrk_post.lua"),
                         f"{BASE}/t{tokens}/v1/chat/completions"], timeout=seconds + 60) \
        if os.path.exists(req) else (None, 0, 0)
    if r is None:
        raise SystemExit(f"bench: {req} missing: start the endpoint first")
    m = re.search(r"(\d+) requests in", r.stdout)
    n = int(m.group(1)) if m else 0
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    rps = float(m.group(1)) if m else 0.0
    return {"rps": rps, "requests": n, "cpu_s": cpu, "cpu_per_1k": 1000 * cpu / n if n else None, "rss_kib": rss}


def llmload(args, seconds, out):
    r, cpu, rss = timed([BIN, "run", *args, "--out", out, "--no-progress", "--quiet"], timeout=seconds + 120)
    if r.returncode != 0:
        raise SystemExit(f"bench: llmload failed: {r.stderr[-500:]}")
    rep = json.load(open(os.path.join(out, "report.json")))
    return rep, cpu, rss


def client_vs_wrk(conc, tokens, seconds, repeat):
    rows = {"wrk": [], "llmload": []}
    tmp = tempfile.mkdtemp(prefix="llmload-bench-")
    env_req = os.path.join(NGINX_PREFIX, "html", "requests", f"chat_t{tokens}.json")
    os.environ["BENCH_REQUEST_FILE"] = env_req
    for i in range(repeat):
        rows["wrk"].append(wrk(conc, tokens, seconds))
        rep, cpu, rss = llmload(["--target", f"{BASE}/t{tokens}", "--model", "bench-model", "--schedule", "concurrent",
                                 "--rate", str(conc), "--max-seconds", str(seconds), "--max-concurrency", str(conc)],
                                seconds, os.path.join(tmp, f"c{conc}t{tokens}r{i}"))
        b = rep["benchmarks"][0]
        n = b["requests"]["started"]
        rows["llmload"].append({"rps": b["metrics"]["request_throughput"], "requests": n, "cpu_s": cpu,
                                "cpu_per_1k": 1000 * cpu / n if n else None, "rss_kib": rss,
                                "errors": b["requests"]["errored"],
                                "events_per_s": b["metrics"]["request_throughput"] * (tokens + 2)})
    med = {k: {f: statistics.median([x[f] for x in v if x[f] is not None]) for f in v[0] if f != "errors"}
           for k, v in rows.items()}
    med["llmload"]["errors"] = sum(x["errors"] for x in rows["llmload"])
    med["ratio_rps"] = med["llmload"]["rps"] / med["wrk"]["rps"] if med["wrk"]["rps"] else None
    med["ratio_cpu"] = med["llmload"]["cpu_per_1k"] / med["wrk"]["cpu_per_1k"] if med["wrk"]["cpu_per_1k"] else None
    return med


class SimProc:
    def __init__(self, *args):
        self.p = subprocess.Popen(["taskset", "-c", "1", BIN, "sim", "--listen", "127.0.0.1:0", *map(str, args)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if "listening on" not in line:
            self.stop()
            raise SystemExit(f"bench: sim did not start: {line!r}")
        self.url = line.split("listening on ", 1)[1].strip()

    def metrics(self):
        import urllib.request
        text = urllib.request.urlopen(self.url + "/metrics", timeout=10).read().decode()
        out = {}
        for ln in text.splitlines():
            if ln and not ln.startswith("#"):
                k, _, v = ln.rpartition(" ")
                out[k] = float(v)
        return out

    def stats(self):
        """GET /sim/stats: the exact record of the gaps the simulator wrote (docs/simulator.md)."""
        import urllib.request
        return json.load(urllib.request.urlopen(self.url + "/sim/stats", timeout=10))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


ITL_P99_GOAL_MS = 0.5  # issue #9: llmload's ITL p99 within 0.5 ms of what the simulator sent


def scale(streams, seconds, itl_ms, tokens):
    # Each stream runs one request of `tokens` tokens (about `seconds` long) and the run ends when
    # all have finished: the client and the simulator then count exactly the same gaps. A run cut
    # by a time limit would leave the simulator recording the gaps it wrote while the client was
    # closing 10,000 connections, gaps the client never read, and skew its tail.
    # KV budget for every stream at once (prompt + output each), so all of them run concurrently.
    sim = SimProc("--max-num-seqs", streams + 100, "--kv-cache-tokens", streams * (tokens + 64), "--ttft-ms", 50,
                  "--itl-ms", itl_ms, "--output-tokens", tokens)
    try:
        tmp = tempfile.mkdtemp(prefix="llmload-bench-scale-")
        rep, cpu, rss = llmload(["--target", sim.url, "--schedule", "concurrent", "--rate", str(streams),
                                 "--max-requests", str(streams), "--max-seconds", str(3 * seconds),
                                 "--data", f"prompt_tokens=16,output_tokens={tokens}",
                                 "--request-timeout", "120", "--grace-seconds", str(3 * seconds)],
                                3 * seconds + 60, tmp)
        st = sim.stats()  # right after the run: every stream has finished
    finally:
        sim.stop()
    b = rep["benchmarks"][0]
    itl = b["metrics"]["itl_ms"]
    sent = st["itl_sent_ms"]
    diff = {q: abs(itl[q] - sent[q]) for q in ("p50", "p99")}
    return {"streams": streams, "seconds": seconds, "tokens": tokens, "itl_ms_setting": itl_ms, "completed": b["requests"]["completed"],
            "errors": b["requests"]["errored"], "errors_by_kind": b["requests"]["errors_by_kind"],
            "concurrency_mean": b["metrics"]["concurrency_mean"], "rss_mib": rss / 1024, "cpu_s": cpu,
            "client_itl_ms": {k: itl[k] for k in ("count", "mean", "p50", "p99", "max") if k in itl},
            "sim_itl_ms": {k: sent[k] for k in ("count", "mean", "p50", "p99", "max")},
            "sim_events_sent": st["events_sent"], "sim_events_backlogged": st["events_backlogged"],
            "itl_diff_ms": diff, "itl_p99_goal_ms": ITL_P99_GOAL_MS, "itl_p99_pass": diff["p99"] <= ITL_P99_GOAL_MS,
            "client_bound": b["client"]["client_bound"]}


def open_loop(rate, seconds):
    tmp = tempfile.mkdtemp(prefix="llmload-bench-open-")
    rep, cpu, rss = llmload(["--target", f"{BASE}/t16", "--model", "bench-model", "--schedule", "constant",
                             "--rate", str(rate), "--max-seconds", str(seconds), "--max-concurrency", "2048"],
                            seconds, tmp)
    b = rep["benchmarks"][0]
    return {"rate": rate, "achieved": b["achieved_rate"], "error_pct": 100 * (b["achieved_rate"] - rate) / rate,
            "schedule_lag_ms_p50": b["metrics"]["schedule_lag_ms"]["p50"],
            "schedule_lag_ms_p99": b["metrics"]["schedule_lag_ms"]["p99"], "errors": b["requests"]["errored"],
            "cpu_percent": b["client"]["cpu_percent"]}


def long_run(requests, conc):
    """RSS of the client sampled every second while it runs `requests` 256-token requests."""
    tmp = tempfile.mkdtemp(prefix="llmload-bench-long-")
    p = subprocess.Popen(["taskset", "-c", "0", BIN, "run", "--target", f"{BASE}/t256", "--model", "bench-model",
                          "--schedule", "concurrent", "--rate", str(conc), "--max-requests", str(requests),
                          "--max-seconds", "0", "--out", tmp, "--no-progress", "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples = []
    t0 = time.monotonic()
    while p.poll() is None and time.monotonic() - t0 < 3600:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
            samples.append((round(time.monotonic() - t0, 1), rss))
        except (OSError, AttributeError):
            pass
        time.sleep(1)
    if p.poll() is None:
        p.kill()
    p.wait()
    rep = json.load(open(os.path.join(tmp, "report.json")))
    b = rep["benchmarks"][0]
    n = len(samples)
    q = lambda frac: samples[min(n - 1, int(frac * n))][1] / 1024 if n else 0
    return {"requests": b["requests"]["completed"], "errors": b["requests"]["errored"],
            "rps": b["metrics"]["request_throughput"], "rss_mib_at_10pct": q(0.1), "rss_mib_at_50pct": q(0.5),
            "rss_mib_at_90pct": q(0.9), "rss_mib_last": samples[-1][1] / 1024 if n else 0,
            "record_bytes_per_request_note": "records are kept for requests.csv; tokens add nothing"}


def markdown(res, cmd):
    lines = [f"Measured {res['date']} on {res['host']} ({res['cpus']} cores); command: `{cmd}`.", ""]
    if "client" in res:
        lines += ["| endpoint | conc | wrk req/s | llmload req/s | ratio | wrk CPU s/1k req | llmload CPU s/1k req | ratio | llmload RSS MiB | errors |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for key, m in res["client"].items():
            conc, tok = key.split("/")
            lines.append(f"| t{tok} | {conc} | {m['wrk']['rps']:.0f} | {m['llmload']['rps']:.0f} | {m['ratio_rps']:.2f} | "
                         f"{m['wrk']['cpu_per_1k']:.3f} | {m['llmload']['cpu_per_1k']:.3f} | {m['ratio_cpu']:.2f} | "
                         f"{m['llmload']['rss_kib'] / 1024:.1f} | {m['llmload']['errors']} |")
        lines.append("")
    if "scale" in res:
        s = res["scale"]
        c, w, d = s["client_itl_ms"], s["sim_itl_ms"], s["itl_diff_ms"]
        verdict = "PASS" if s["itl_p99_pass"] else "FAIL"
        lines += [f"Scale: {s['streams']} concurrent streams of {s.get('tokens', '?')} tokens (about {s['seconds']} s) "
                  f"against `llmload sim` (itl {s['itl_ms_setting']} ms): {s['completed']} completed, {s['errors']} errors, "
                  f"mean concurrency {s['concurrency_mean']:.0f}, peak RSS {s['rss_mib']:.0f} MiB, client "
                  f"bound: {'yes' if s['client_bound'] else 'no'}. ITL measured by llmload against the gaps the "
                  f"simulator wrote (`GET /sim/stats`, {w['count']} gaps, llmload {c['count']}; {s['sim_events_backlogged']} of "
                  f"{s['sim_events_sent']} events waited for the socket):", "",
                  "| ITL | llmload ms | sim sent ms | abs. difference ms |", "|---|---:|---:|---:|",
                  f"| p50 | {c['p50']:.3f} | {w['p50']:.3f} | {d['p50']:.3f} |",
                  f"| p99 | {c['p99']:.3f} | {w['p99']:.3f} | {d['p99']:.3f} |", "",
                  f"p99 within {s['itl_p99_goal_ms']} ms of the simulator (issue #9): **{verdict}**.", ""]
    if "open_loop" in res:
        lines += ["| constant rate | achieved | error | schedule lag p50 ms | p99 ms | client CPU % |",
                  "|---:|---:|---:|---:|---:|---:|"]
        for o in res["open_loop"]:
            lines.append(f"| {o['rate']} | {o['achieved']:.1f} | {o['error_pct']:+.2f}% | {o['schedule_lag_ms_p50']:.3f} | "
                         f"{o['schedule_lag_ms_p99']:.3f} | {o['cpu_percent']:.0f} |")
        lines.append("")
    if "long" in res:
        l = res["long"]
        lines += [f"Long run: {l['requests']} requests of 256 tokens ({l['rps']:.0f} req/s, {l['errors']} errors): "
                  f"RSS {l['rss_mib_at_10pct']:.1f} MiB at 10% of the run, {l['rss_mib_at_50pct']:.1f} at 50%, "
                  f"{l['rss_mib_at_90pct']:.1f} at 90%.", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs, one repeat (a smoke test of the bench)")
    ap.add_argument("--only", default="client,scale,open,long", help="comma list of parts")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--write-docs", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.repeat, a.seconds = 1, 3
    parts = set(a.only.split(","))
    os.makedirs(OUT, exist_ok=True)
    res = {"date": time.strftime("%Y-%m-%d"), "host": os.uname().nodename, "cpus": os.cpu_count()}
    if "client" in parts:
        res["client"] = {}
        for conc in (64, 512):
            for tok in (16, 256):
                print(f"bench: client vs wrk, concurrency {conc}, {tok} tokens", flush=True)
                res["client"][f"{conc}/{tok}"] = client_vs_wrk(conc, tok, a.seconds, a.repeat)
    if "scale" in parts:
        print("bench: scale", flush=True)
        res["scale"] = scale(2000 if a.quick else 10000, 15 if a.quick else 60, 500, 30 if a.quick else 120)
    if "open" in parts:
        print("bench: open loop", flush=True)
        res["open_loop"] = [open_loop(r, a.seconds) for r in (1000, 5000)]
    if "long" in parts:
        print("bench: long run", flush=True)
        res["long"] = long_run(20000 if a.quick else 1000000, 64)
    cmd = "make bench" + (" BENCH_ARGS=--quick" if a.quick else "")
    md = markdown(res, cmd)
    json.dump(res, open(os.path.join(OUT, "results.json"), "w"), indent=1)
    open(os.path.join(OUT, "results.md"), "w").write(md + "\n")
    print(md)
    if a.write_docs:
        path = os.path.join(ROOT, "docs", "performance.md")
        text = open(path).read()
        new = re.sub(r"<!-- bench:begin -->.*<!-- bench:end -->",
                     lambda _: "<!-- bench:begin -->\n" + md + "\n<!-- bench:end -->", text, flags=re.S)
        open(path, "w").write(new)
        print(f"bench: updated {path}")


if __name__ == "__main__":
    main()
