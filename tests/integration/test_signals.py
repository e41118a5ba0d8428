"""SIGINT/SIGTERM: stop scheduling, drain, write every report marked partial, exit 128+signal;
a second signal exits at once."""
import json
import os
import signal
import subprocess
import tempfile
import time

from lltest import BIN, MULT, Sim, done, ok

tmp = tempfile.mkdtemp(prefix="llmload-test-signals-")
with Sim("--ttft-ms", 10, "--itl-ms", 20) as sim:
    for sig, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
        out = os.path.join(tmp, name)
        p = subprocess.Popen([BIN, "run", "--target", sim.url, "--schedule", "concurrent", "--rate", "8",
                              "--max-seconds", "60", "--drain-seconds", "0.5", "--data",
                              "prompt_tokens=8,output_tokens=500", "--out", out, "--no-progress"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5 * MULT)
        t = time.monotonic()
        p.send_signal(sig)
        try:
            so, se = p.communicate(timeout=15 * MULT)
        except subprocess.TimeoutExpired:
            p.kill()
            so, se = p.communicate()
        took = time.monotonic() - t
        ok(p.returncode == 128 + sig, f"{name}: exit {128 + sig}", f"rc={p.returncode} err={se[-300:]!r}")
        ok(took < 5 * MULT, f"{name}: stops within the drain time and a margin", took)
        path = os.path.join(out, "report.json")
        if ok(os.path.exists(path), f"{name}: report.json written"):
            rep = json.load(open(path))
            b = rep["benchmarks"][0]
            ok(rep["partial"] is True and b["partial"] is True, f"{name}: report marked partial")
            ok(b["requests"]["incomplete"] >= 1, f"{name}: cut streams counted incomplete", b["requests"])
            ok(os.path.exists(os.path.join(out, "requests.csv")), f"{name}: requests.csv written")

    # With several worker loops, every loop drains and the merged report is partial.
    out = os.path.join(tmp, "workers")
    p = subprocess.Popen([BIN, "run", "--target", sim.url, "--schedule", "concurrent", "--rate", "8", "--workers", "2",
                          "--max-seconds", "60", "--drain-seconds", "0.5", "--data", "prompt_tokens=8,output_tokens=500",
                          "--out", out, "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5 * MULT)
    p.send_signal(signal.SIGINT)
    try:
        so, se = p.communicate(timeout=15 * MULT)
    except subprocess.TimeoutExpired:
        p.kill()
        so, se = p.communicate()
    ok(p.returncode == 130, "--workers 2: SIGINT exits 130", f"rc={p.returncode} err={se[-300:]!r}")
    if ok(os.path.exists(os.path.join(out, "report.json")), "--workers 2: partial report written"):
        b = json.load(open(os.path.join(out, "report.json")))["benchmarks"][0]
        ok(b["partial"] is True and b["requests"]["incomplete"] == 8 and b["client"]["loops"] == 2,
           "--workers 2: both loops' cut streams counted", b["requests"])

    # A second signal exits at once, even with a long drain.
    p = subprocess.Popen([BIN, "run", "--target", sim.url, "--schedule", "concurrent", "--rate", "4",
                          "--max-seconds", "60", "--drain-seconds", "60", "--data", "prompt_tokens=8,output_tokens=2000",
                          "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0 * MULT)
    p.send_signal(signal.SIGINT)
    time.sleep(0.3 * MULT)
    t = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        p.communicate(timeout=10 * MULT)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
    ok(p.returncode == 128 + signal.SIGINT and time.monotonic() - t < 3 * MULT, "second signal exits at once",
       f"rc={p.returncode}")
done()
