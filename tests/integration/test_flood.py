#!/usr/bin/env python3
"""test_flood - a server killed mid-run under 1,000 streams does not become a flood of connects.

The simulator is killed (SIGKILL, by PID) two seconds into an 8 s closed-loop run and restarted
on the same port three seconds later. Refused connects back off (the connect gate,
docs/reliability.md): the attempts over the rest of the run stay far below what restarting every
stream at once would make (1,000 streams x 10 ticks/s x 3 s = 30,000), the client's memory stays
flat while the server is down (VmRSS sampled from /proc), the load comes back after the restart,
and the report counts the connect errors. Both HTTP clients.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from lltest import ASAN, BIN, MULT, Sim, done, ok  # noqa: E402

STREAMS = 300 if ASAN else 1000
ATTEMPTS_MAX = 20000
RSS_GROWTH_MAX_KB = (32 if ASAN else 8) * 1024


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


SIM_ARGS = ("--ttft-ms", 5, "--itl-ms", 10, "--max-num-seqs", 2000)

for hc in ("builtin", "curl"):
    port = free_port()
    out = tempfile.mkdtemp(prefix=f"llmload-flood-{hc}-")
    sim = Sim(*SIM_ARGS, "--listen", f"127.0.0.1:{port}").start()
    env = dict(os.environ, OPENAI_API_KEY="")
    args = ["run", "--target", sim.url, "--schedule", "concurrent", "--rate", STREAMS, "--max-seconds", 8,
            "--grace-seconds", 2, "--data", "output_tokens=8", "--http-client", hc, "--out", out, "--no-progress"]
    p = subprocess.Popen([BIN, *map(str, args)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    sim2 = None
    try:
        time.sleep(2.0 * MULT)
        before = rss_kb(p.pid)
        sim.stop(signal.SIGKILL)  # by PID
        samples = []
        t_end = time.monotonic() + 3.0
        while time.monotonic() < t_end and p.poll() is None:
            r = rss_kb(p.pid)
            if r:
                samples.append(r)
            time.sleep(0.2)
        sim2 = Sim(*SIM_ARGS, "--listen", f"127.0.0.1:{port}").start()
        try:
            stdout, stderr = p.communicate(timeout=60 * MULT)
        except subprocess.TimeoutExpired:
            p.kill()
            stdout, stderr = p.communicate()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if sim2:
            sim2.stop()
    ok(p.returncode == 0, f"{hc}: the run ends normally (exit {p.returncode})", stderr[-300:])
    grown = max(samples) - before if samples and before else None
    ok(grown is not None and grown < RSS_GROWTH_MAX_KB,
       f"{hc}: memory flat while the server is down: VmRSS {before} kB -> max {max(samples) if samples else None} kB",
       f"grew {grown} kB, limit {RSS_GROWTH_MAX_KB}")
    try:
        with open(os.path.join(out, "report.json")) as f:
            b = json.load(f)["benchmarks"][0]
    except (OSError, ValueError) as e:
        ok(False, f"{hc}: report written", str(e))
        continue
    rq = b["requests"]
    kinds = rq["errors_by_kind"]
    failed = sum(kinds.values())
    ok(kinds.get("connect", 0) >= 1, f"{hc}: connect errors counted ({kinds})", json.dumps(rq)[:300])
    ok(failed < ATTEMPTS_MAX, f"{hc}: {failed} failed attempts < {ATTEMPTS_MAX}", json.dumps(kinds))
    last = [s["completed"] for s in b["timeseries"] if s["t"] > 6.5]
    ok(sum(last) > 0, f"{hc}: requests complete again after the restart ({sum(last)} after 6.5 s)",
       json.dumps(b["timeseries"])[:400])

done()
