"""The client's verdict on itself (client_bound) rests on sustained evidence: a client pinned to a
core shared with busy loops (the simulator on the other core) is flagged, with the reason and its
figures on the console; twenty light runs in a row are not (one late wake-up is not a verdict).
With --server-metrics, the server's diagnosis takes the client's verdict over the server's signs
(benchmarks[].server.diagnosis: client_bound, its reason naming the client) while the light runs
beside it are diagnosed from the server (not_saturated)."""
import json
import os
import subprocess
import tempfile
import time

from lltest import BIN, MULT, Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-client-bound-")
ok(len(os.sched_getaffinity(0)) >= 2, "two CPUs to pin the client and the simulator apart",
   sorted(os.sched_getaffinity(0)))
CPUS = sorted(os.sched_getaffinity(0))
CLIENT_CPU, SIM_CPU = CPUS[0], CPUS[-1]


def pin(cpu, nice=0):
    def f():
        os.sched_setaffinity(0, {cpu})
        os.nice(nice)
    return f


def report(out):
    p = os.path.join(out, "report.json")
    return json.load(open(p))["benchmarks"][0] if os.path.exists(p) else None


with Sim("--ttft-ms", 5, "--itl-ms", 2) as sim:
    os.sched_setaffinity(sim.proc.pid, {SIM_CPU})
    # Three busy loops, and the client at nice 5: it gets about a ninth of the core, well under what
    # 256 streams of 2 ms tokens need (a fifth of a core of its own), whatever else runs beside the
    # simulator on the other core. With one loop at equal weight a kernel-stamped client that still
    # kept up was (rightly) not always flagged.
    busy = [subprocess.Popen(["python3", "-c", "while True: pass"], preexec_fn=pin(CLIENT_CPU)) for _ in range(3)]
    try:
        time.sleep(0.2)
        # 256 streams of 2 ms tokens: a fair share of a core of its own, too much for half of one.
        for client in ("builtin", "curl"):
            out = os.path.join(tmp, f"pinned-{client}")
            streams = 256
            r = subprocess.run([BIN, "run", "--target", sim.url, "--http-client", client, "--schedule",
                                "concurrent", "--rate", str(streams), "--max-seconds", "3", "--no-progress",
                                "--data", "prompt_tokens=8,output_tokens=64", "--out", out,
                                "--server-metrics", "--server-metrics-interval", "200ms"],
                               capture_output=True, text=True, timeout=90 * MULT, preexec_fn=pin(CLIENT_CPU, 5))
            b = report(out)
            ok(r.returncode == 0 and b, f"{client}: pinned run exits 0", r.stderr[-300:])
            if b:
                cl = b["client"]
                ok(cl["client_bound"] is True, f"{client}: a client sharing its core with a busy loop is flagged", cl)
                warn = [ln for ln in r.stdout.splitlines() if ln.startswith("WARNING:") and "client-bound" in ln]
                ok(warn and "%" in warn[0], f"{client}: the console gives the reason with its figures", warn)
                d = (b.get("server") or {}).get("diagnosis") or {}
                ok(d.get("verdict") == "client_bound" and "client" in d.get("reason", ""),
                   f"{client}: the server's diagnosis takes the client's verdict over the server's signs",
                   json.dumps(d)[:300])
    finally:
        for p in busy:
            p.kill()
            p.wait()

with Sim("--ttft-ms", 10, "--itl-ms", 10) as sim:
    flagged, verdicts = [], []
    for i in range(20):
        out = os.path.join(tmp, f"light{i}")
        client = "builtin" if i % 2 == 0 else "curl"
        # Every fourth with the server's metrics: its diagnosis comes from the server, not the client.
        extra = ["--server-metrics", "--server-metrics-interval", "200ms"] if i % 4 == 0 else []
        r = run(["run", "--target", sim.url, "--http-client", client, "--schedule", "concurrent", "--rate", 4,
                 "--max-seconds", 1, "--no-progress", "--data", "prompt_tokens=8,output_tokens=16", "--out", out,
                 *extra], timeout=60)
        b = report(out)
        if r.returncode != 0 or not b:
            flagged.append((i, "failed", r.returncode, r.stderr[-200:]))
        elif b["client"]["client_bound"]:
            flagged.append((i, client, b["client"].get("client_bound_reason")))
        elif extra:
            verdicts.append(((b.get("server") or {}).get("diagnosis") or {}).get("verdict"))
    ok(not flagged, "twenty light runs in a row (builtin and curl): none is flagged client-bound", flagged)
    ok(len(verdicts) == 5 - sum(1 for f in flagged if f[0] % 4 == 0) and all(v == "not_saturated" for v in verdicts),
       "light runs with --server-metrics: the diagnosis is the server's (not_saturated), not client_bound", verdicts)
done()
