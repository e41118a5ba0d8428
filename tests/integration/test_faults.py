"""Every server failure is a counted, classified request outcome, and the run goes on.

1. Under load: `llmload sim` injects each fault kind into 20% of 500 concurrent streams for 3 s
   (100 streams under LLMLOAD_MODE=asan, whose client is several times slower); report.json's
   errors_by_kind must equal the simulator's llmload_sim_faults_total{kind} exactly, and every
   request the simulator received must be one the report measured (no warmup, so none is left out).
2. The failures the simulator cannot make, from tests/integration/fakeserver.py, with exact counts
   and the server's own message kept: no_done, server_error, http_4xx, reset and close mid-stream,
   a stream cut inside an event, an oversized event.
3. The server dies mid-run: the rest are `connect` errors, the run ends on time and exits 0, and a
   closed loop does not spin on refused connections.
"""
import csv
import json
import os
import tempfile
import time

from fakeserver import HTTP_400_MSG, SERVER_ERROR_MSG, TOKENS, FakeServer
from lltest import ASAN, MULT, Sim, done, near, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-faults-")
STREAMS = 100 if ASAN else 500
M = 'model_name="llmload-sim"'


def load(out):
    with open(os.path.join(out, "report.json")) as f:
        return json.load(f)


def csv_rows(out, name):
    with open(os.path.join(out, name), newline="") as f:
        return list(csv.DictReader(f))


def llmload(target, *args, timeout=120):
    out = os.path.join(tmp, f"out{time.monotonic_ns()}")
    # --no-calibrate: fake servers give POST i behaviour i, so calibration probes would shift them.
    r = run(["run", "--target", target, "--out", out, "--no-progress", "--quiet", "--no-calibrate", *args],
            timeout=timeout)
    rep = load(out) if os.path.exists(os.path.join(out, "report.json")) else None
    return r, rep, out


# ---- 1. simulator faults at 20% under load -------------------------------------------------
# (simulator flag, its faults_total kind, llmload's error kind, text first_errors must carry)
KINDS = [
    ("--error-rate", "error", "http_5xx", "internal server error"),
    ("--rate-limit-rate", "rate_limit", "rate_limited", "too many requests"),
    ("--disconnect-rate", "disconnect", "disconnect", "transfer closed"),
    ("--malformed-rate", "malformed", "malformed", "not valid JSON"),
    ("--stall-rate", "stall", "stream_timeout", "--stream-timeout"),
]
for flag, sim_kind, kind, text in KINDS:
    with Sim("--ttft-ms", 20, "--itl-ms", 10, "--seed", 11, flag, 0.2, "--stall-seconds", 60) as sim:
        t = time.monotonic()
        r, rep, out = llmload(sim.url, "--schedule", "concurrent", "--rate", STREAMS, "--max-seconds", 3,
                              "--warmup", 0, "--data", "prompt_tokens=8,output_tokens=8", "--stream-timeout", 0.5)
        elapsed = time.monotonic() - t
        m = sim.metrics()
        injected = m.get(f'llmload_sim_faults_total{{kind="{sim_kind}",{M}}}')
        received = m.get(f"llmload_sim_requests_total{{{M}}}")
        ok(r.returncode == 0 and rep is not None, f"{flag} 0.2 x {STREAMS} streams: the run goes on, exit 0",
           f"rc={r.returncode} err={r.stderr[-300:]!r}")
        if not rep:
            continue
        rq = rep["benchmarks"][0]["requests"]
        ok(rq["errors_by_kind"] == {kind: injected},
           f"{flag}: errors_by_kind == {{{kind}: sim's faults_total{{kind={sim_kind}}}}}",
           f"report={rq['errors_by_kind']} sim={injected}")
        ok(rq["started"] == rq["measured"] == received,
           f"{flag}: every request the sim received was measured ({received})",
           f"started={rq['started']} measured={rq['measured']} sim={received}")
        ok(rq["completed"] + rq["errored"] == rq["started"] and rq["incomplete"] == 0,
           f"{flag}: completed + errored = started, none incomplete", rq)
        near(rq["error_rate"], 0.2, 0.05, f"{flag}: error_rate")
        ok(rq["completed"] > 0 and injected > 20, f"{flag}: faults fired and other requests succeeded",
           f"completed={rq['completed']} injected={injected}")
        want_rate = round(rq["errored"] / rq["started"], 6)
        ok(abs(rq["error_rate"] - want_rate) < 1e-6, f"{flag}: error_rate = errored / (completed + errored)",
           f"{rq['error_rate']} vs {want_rate}")
        summary = csv_rows(out, "summary.csv")
        ok(len(summary) == 1 and abs(float(summary[0]["error_rate"]) - rq["error_rate"]) < 1e-6,
           f"{flag}: summary.csv error_rate = report.json's", f"{summary[0].get('error_rate')} vs {rq['error_rate']}")
        rows = csv_rows(out, "requests.csv")
        per_row = sum(1 for row in rows if row["error_kind"] == kind)
        ok(per_row == injected and all(row["error"] for row in rows if row["error_kind"]),
           f"{flag}: requests.csv has {injected} {kind} rows, each with a message", f"{per_row}")
        fe = rq["first_errors"]
        ok(len(fe) == 3 and all(e.startswith(kind + ": ") and text in e for e in fe),
           f"{flag}: first_errors keep 3 messages naming '{text}'", fe)
        ok(elapsed < 30 * MULT * (2 if ASAN else 1), f"{flag}: run bounded in time ({elapsed:.1f} s)", "")

# ---- 2. failures the simulator cannot make ----------------------------------------------------
MIX = ["ok", "no_done", "server_error", "http_400", "reset", "close_early", "cut_event", "oversize",
       "finish_no_done", "finish_cut"]
EXPECT = {"no_done": 2, "server_error": 2, "http_4xx": 2, "disconnect": 8, "oversize": 2}
with FakeServer(MIX) as fs:
    r, rep, out = llmload(fs.url, "--schedule", "synchronous", "--max-requests", 2 * len(MIX), "--max-seconds", 0,
                          "--data", "prompt_tokens=8,output_tokens=4")
    ok(r.returncode == 0 and rep is not None, "fake server mix: the run goes on, exit 0",
       f"rc={r.returncode} err={r.stderr[-300:]!r}")
    if rep:
        rq = rep["benchmarks"][0]["requests"]
        ok(fs.posts == rq["started"] == 2 * len(MIX), "one server request per client request",
           f"server={fs.posts} client={rq['started']}")
        ok(rq["errors_by_kind"] == EXPECT, "each behaviour classified", f"{rq['errors_by_kind']} vs {EXPECT}")
        ok(rq["completed"] == 4, "the good streams completed ([DONE], and a finish_reason without it)", rq)
        near(rq["error_rate"], 16 / 20, 1e-6, "error_rate counts every failure")
        rows = csv_rows(out, "requests.csv")
        by_id = {int(row["request_id"]): row for row in rows}
        # Synchronous: request i got MIX[i % len(MIX)].
        want = {"ok": "", "no_done": "no_done", "server_error": "server_error", "http_400": "http_4xx",
                "reset": "disconnect", "close_early": "disconnect", "cut_event": "disconnect",
                "oversize": "oversize", "finish_no_done": "", "finish_cut": "disconnect"}
        got = {MIX[i % len(MIX)]: by_id[i]["error_kind"] for i in sorted(by_id)}
        ok(got == want, "each behaviour gives its kind", f"{got}")
        msgs = {MIX[i % len(MIX)]: by_id[i]["error"] for i in sorted(by_id)}
        ok(msgs["server_error"] == SERVER_ERROR_MSG, "in-stream error: the server's message is kept",
           msgs["server_error"])
        ok(msgs["http_400"] == HTTP_400_MSG, "HTTP 400: the server's message is kept", msgs["http_400"])
        ok(by_id[3]["http_status"] == "400", "HTTP 400: status recorded", by_id[3]["http_status"])
        ok("[DONE]" in msgs["no_done"] and "finish_reason" in msgs["no_done"],
           "no_done says the stream ended without a finish_reason or [DONE]", msgs["no_done"])
        fin = by_id[MIX.index("finish_no_done")]
        ok(fin["status"] == "ok" and fin["finish_reason"] == "length" and int(fin["token_events"]) == TOKENS,
           "a finish_reason then a clean close without [DONE] is complete", f"{fin}")
        ok(rq["no_done_ok"] == 2, "report.json counts the streams complete without [DONE]", rq["no_done_ok"])
        ok("inside an event" in msgs["finish_cut"], "a finish_reason does not excuse a cut event",
           msgs["finish_cut"])
        ok("reset" in msgs["reset"] and "reset" in msgs["close_early"], "a reset says so (the socket's errno)",
           f"{msgs['reset']!r} {msgs['close_early']!r}")
        ok("inside an event" in msgs["cut_event"], "a cut event says so", msgs["cut_event"])
        ok("cap" in msgs["oversize"], "oversize names the cap", msgs["oversize"])
        ok(int(by_id[1]["output_tokens"]) == TOKENS and int(by_id[2]["token_events"]) == 2,
           "tokens before a failure are still counted", f"{by_id[1]['output_tokens']} {by_id[2]['token_events']}")
        fe = rq["first_errors"]
        ok(len(fe) == 3 and fe[1] == f"server_error: {SERVER_ERROR_MSG}" and fe[2] == f"http_4xx: {HTTP_400_MSG}",
           "first_errors: kind and server message, in order", fe)

# Only 4xx at all: a wrong --model is a 404 from the simulator, counted as http_4xx with vLLM's text.
with Sim("--ttft-ms", 1, "--itl-ms", 1) as sim:
    r, rep, _ = llmload(sim.url, "--model", "no-such-model", "--schedule", "concurrent", "--rate", 4,
                        "--max-requests", 20, "--max-seconds", 0, "--data", "prompt_tokens=4,output_tokens=2")
    ok(r.returncode == 1 and rep is not None and r.stderr.count("\n") == 1 and "http_4xx=20" in r.stderr,
       "every request 404: nothing completed, exit 1 in one line, with a report", r.stderr[-300:])
    if rep:
        rq = rep["benchmarks"][0]["requests"]
        ok(rq["errors_by_kind"] == {"http_4xx": 20} and rq["error_rate"] == 1, "20 x http_4xx, error_rate 1", rq)
        ok(all("does not exist" in e for e in rq["first_errors"]) and len(rq["first_errors"]) == 3,
           "the server's 404 message kept", rq["first_errors"])

# ---- 3. the server dies mid-run ---------------------------------------------------------------
sim = Sim("--ttft-ms", 10, "--itl-ms", 10).start()
try:
    import subprocess
    from lltest import BIN
    out = os.path.join(tmp, "killed")
    t = time.monotonic()
    p = subprocess.Popen([BIN, "run", "--target", sim.url, "--schedule", "concurrent", "--rate", "20",
                          "--max-seconds", "4", "--data", "prompt_tokens=4,output_tokens=8", "--out", out,
                          "--no-progress", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5 * (2 if ASAN else 1))
    sim.stop()
    try:
        so, se = p.communicate(timeout=60 * MULT)
    except subprocess.TimeoutExpired:
        p.kill()
        so, se = p.communicate()
    elapsed = time.monotonic() - t
    ok(p.returncode == 0, "server killed mid-run: exit 0 with reports", f"rc={p.returncode} err={se[-300:]!r}")
    ok(elapsed < 10 * MULT * (2 if ASAN else 1), f"the run still ends at its time limit ({elapsed:.1f} s)", "")
    if p.returncode == 0:
        rq = load(out)["benchmarks"][0]["requests"]
        kinds = rq["errors_by_kind"]
        ok(kinds.get("connect", 0) > 0 and rq["completed"] > 0, "requests after the death are connect errors",
           f"{kinds} completed={rq['completed']}")
        ok(set(kinds) <= {"connect", "disconnect"}, "only connect (and cut streams) after the death", kinds)
        conn_msgs = {row["error"] for row in csv_rows(out, "requests.csv") if row["error_kind"] == "connect"}
        ok(conn_msgs and all("refused" in m_.lower() or "connect" in m_.lower() for m_ in conn_msgs),
           "connect errors say why", sorted(conn_msgs)[:3])
        # 20 streams refilled at most once per 100 ms tick over <= 3 s: 600; a hot loop gives 10,000s.
        ok(kinds.get("connect", 0) <= 20 * 10 * 4, "refused connections are retried per tick, not in a hot loop",
           f"connect={kinds.get('connect')}")
finally:
    sim.stop()

done()
