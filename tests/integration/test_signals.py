"""SIGINT/SIGTERM/SIGHUP: stop scheduling, drain, write every report marked partial, exit
128+signal; a second signal exits at once; a signal that comes while the results are written (here:
while a stand-in Pushgateway holds the push, after the files) is not lost: the outputs are
finished, then the exit code is 128+signal."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

from lltest import BIN, MULT, Sim, done, ok

tmp = tempfile.mkdtemp(prefix="llmload-test-signals-")
with Sim("--ttft-ms", 10, "--itl-ms", 20) as sim:
    for sig, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP")):
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

    # A signal while the results are written: a stand-in Pushgateway holds the PUT (the push comes
    # after the files) until the signal has been sent, then answers 200.
    for sig, name in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
        got, release = threading.Event(), threading.Event()
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(4)
        ls.settimeout(30 * MULT)

        def hold_push():
            try:
                c, _ = ls.accept()
            except OSError:
                return
            c.settimeout(10 * MULT)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                got.set()
                release.wait(10 * MULT)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            c.close()
        th = threading.Thread(target=hold_push, daemon=True)
        th.start()
        out = os.path.join(tmp, "late-" + name)
        p = subprocess.Popen([BIN, "run", "--target", sim.url, "--max-requests", "3", "--max-seconds", "0",
                              "--data", "prompt_tokens=8,output_tokens=4", "--out", out, "--no-progress",
                              "--pushgateway", f"http://127.0.0.1:{ls.getsockname()[1]}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        held = got.wait(30 * MULT)
        ok(held, f"{name} while writing: the push reached the stand-in gateway")
        p.send_signal(sig)
        time.sleep(0.3 * MULT)
        release.set()
        try:
            so, se = p.communicate(timeout=15 * MULT)
        except subprocess.TimeoutExpired:
            p.kill()
            so, se = p.communicate()
        th.join(5)
        ls.close()
        ok(p.returncode == 128 + sig, f"{name} while writing: exit {128 + sig}, not 0",
           f"rc={p.returncode} err={se[-300:]!r}")
        ok("pushed to the Pushgateway" in se and name in se, f"{name} while writing: the push finished, the signal said",
           repr(se[-300:]))
        path = os.path.join(out, "report.json")
        if ok(os.path.exists(path), f"{name} while writing: report.json written"):
            rep = json.load(open(path))
            ok(rep["partial"] is False and rep["benchmarks"][0]["requests"]["completed"] == 3,
               f"{name} while writing: the whole run is in the report (not partial)", rep.get("partial"))
            ok(all(os.path.exists(os.path.join(out, n)) for n in ("summary.csv", "report.html", "metrics.prom",
                                                                  "requests.csv")),
               f"{name} while writing: every file written")
done()
