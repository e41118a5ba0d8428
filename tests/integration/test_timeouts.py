"""Timeouts: a target that is down at the start ends the run with one line and exit 1 within
--connect-timeout (nothing listening, or a socket that takes the connection and never answers);
during a run, --request-timeout ends a request with no first byte (kind `timeout`) and
--stream-timeout one that goes silent mid-stream (kind `stream_timeout`), and the run goes on."""
import csv
import json
import os
import socket
import tempfile
import time

from fakeserver import FakeServer
from lltest import ASAN_SLACK, MULT, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-timeouts-")
SLACK = ASAN_SLACK * MULT


def one_line(r):
    return r.stderr.count("\n") == 1 and r.stderr.startswith("llmload run: ")


# 1. Nothing listens on the port: refused at once.
s = socket.socket()
s.bind(("127.0.0.1", 0))
closed_port = s.getsockname()[1]
s.close()
t = time.monotonic()
r = run(["run", "--target", f"http://127.0.0.1:{closed_port}", "--connect-timeout", 2, "--max-requests", 1,
         "--no-progress"])
el = time.monotonic() - t
ok(r.returncode == 1 and one_line(r) and "cannot reach" in r.stderr and "connect" in r.stderr.split(": ", 2)[-1].lower(),
   "refused: exit 1, one line naming the target and why", f"rc={r.returncode} err={r.stderr!r}")
ok(el < 2 * SLACK, f"refused: fails well within --connect-timeout 2s ({el:.2f} s)", "")

# 2. A socket that accepts (the kernel completes the handshake from the backlog) and never answers.
lst = socket.socket()
lst.bind(("127.0.0.1", 0))
lst.listen(16)
port = lst.getsockname()[1]
try:
    for ct in (1, 0.3):
        t = time.monotonic()
        r = run(["run", "--target", f"http://127.0.0.1:{port}", "--connect-timeout", ct, "--max-requests", 1,
                 "--no-progress"], timeout=30)
        el = time.monotonic() - t
        ok(r.returncode == 1 and one_line(r) and "--connect-timeout" in r.stderr,
           f"silent listener, --connect-timeout {ct}: exit 1, one line", f"rc={r.returncode} err={r.stderr!r}")
        ok(ct * 0.9 <= el < ct + 1.0 * SLACK, f"silent listener: gives up after about {ct} s ({el:.2f} s)", "")
finally:
    lst.close()


def llmload(target, *args):
    out = os.path.join(tmp, f"out{time.monotonic_ns()}")
    # --no-calibrate: these servers stall or stay silent on purpose; calibration would wait on them too.
    r = run(["run", "--target", target, "--out", out, "--no-progress", "--quiet", "--no-calibrate", *args],
            timeout=60)
    rep = None
    rows = []
    if os.path.exists(os.path.join(out, "report.json")):
        with open(os.path.join(out, "report.json")) as f:
            rep = json.load(f)
        with open(os.path.join(out, "requests.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
    return r, rep, rows


# 3. --request-timeout: every other request is read and never answered.
with FakeServer(["ok", "hang"], hold_s=20) as fs:
    t = time.monotonic()
    r, rep, rows = llmload(fs.url, "--schedule", "synchronous", "--max-requests", 6, "--max-seconds", 0,
                           "--request-timeout", 0.5, "--data", "prompt_tokens=4,output_tokens=4")
    el = time.monotonic() - t
    ok(r.returncode == 0 and rep is not None, "request timeouts: the run goes on, exit 0", r.stderr[-300:])
    if rep:
        rq = rep["benchmarks"][0]["requests"]
        ok(rq["errors_by_kind"] == {"timeout": 3} and rq["completed"] == 3, "3 timeouts, 3 completed", rq)
        hung = [row for row in rows if int(row["request_id"]) % 2 == 1]
        ok(all(row["error_kind"] == "timeout" for row in hung), "the unanswered ones are the timeouts",
           [row["error_kind"] for row in hung])
        e2e = [float(row["e2e_ms"]) for row in hung]
        # Checked on a 100 ms tick: ends between 500 and ~600 ms (more on a loaded machine).
        ok(all(500 <= v < 500 + 150 * SLACK for v in e2e), "each ended 0.5-0.65 s after it was sent", e2e)
        ok(all("--request-timeout 0.5s" in row["error"] for row in hung), "message names --request-timeout",
           hung[0]["error"] if hung else "")
        ok(rq["first_errors"] and rq["first_errors"][0].startswith("timeout: "), "first_errors", rq["first_errors"])
    ok(el < 3 * 0.65 + 3 * SLACK, f"bounded: 3 x 0.5 s timeouts took {el:.1f} s", "")

# 4. --stream-timeout: every other stream sends one token and goes silent.
with FakeServer(["stall", "ok"], hold_s=20) as fs:
    r, rep, rows = llmload(fs.url, "--schedule", "concurrent", "--rate", 2, "--max-requests", 6, "--max-seconds", 0,
                           "--stream-timeout", 0.4, "--request-timeout", 5, "--data", "prompt_tokens=4,output_tokens=4")
    ok(r.returncode == 0 and rep is not None, "stream timeouts: the run goes on, exit 0", r.stderr[-300:])
    if rep:
        rq = rep["benchmarks"][0]["requests"]
        ok(rq["errors_by_kind"] == {"stream_timeout": 3} and rq["completed"] == 3, "3 stream_timeout, 3 completed",
           rq)
        bad = [row for row in rows if row["error_kind"]]
        ok(all(row["token_events"] == "1" and row["http_status"] == "200" for row in bad),
           "each had its status and one token before the silence", [(r_["http_status"], r_["token_events"]) for r_ in bad])
        ok(all("--stream-timeout 0.4s" in row["error"] for row in bad), "message names --stream-timeout",
           bad[0]["error"] if bad else "")
        ttft = [float(row["ttft_ms"]) for row in bad]
        e2e = [float(row["e2e_ms"]) for row in bad]
        ok(all(400 <= e - t_ < 400 + 150 * SLACK for e, t_ in zip(e2e, ttft)),
           "ended 0.4-0.55 s after the last byte", list(zip(ttft, e2e)))

done()
