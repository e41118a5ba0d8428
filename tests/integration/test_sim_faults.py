"""llmload sim end to end: every fault flag at rate 1 (and its llmload_sim_faults_total count), the
401 path with both header forms, vLLM's status and body for each bad request, early EOS, seeded
output lengths, and that the server keeps serving after each."""
import json
import socket
import time

from lltest import MULT, Sim, done, ok
from simclient import Conn, chat, one, token_events

M = 'model_name="llmload-sim"'


def fault_count(sim, kind):
    return sim.metrics().get(f'llmload_sim_faults_total{{kind="{kind}",{M}}}')


def still_serves(sim, what):
    r = one(sim.port, "POST", "/v1/chat/completions", chat(2, stream=False))
    ok(r.status == 200, f"server still serves after {what}", str(r.status))


def is_vllm_error(body, code, typ=None):
    try:
        b = json.loads(body)
    except ValueError:
        return False
    return (list(b.keys()) == ["object", "message", "type", "param", "code"] and b["object"] == "error"
            and b["code"] == code and b["param"] is None and isinstance(b["message"], str) and b["message"]
            and (typ is None or b["type"] == typ))


with Sim("--error-rate", 1, "--ttft-ms", 1, "--itl-ms", 1) as sim:
    r = one(sim.port, "POST", "/v1/chat/completions", chat(3))
    ok(r.status == 500 and is_vllm_error(r.body, 500, "InternalServerError"), "--error-rate 1: 500 with vLLM's body",
       f"{r.status} {r.body!r}")
    ok(fault_count(sim, "error") == 1, "faults_total{kind=error} = 1", str(fault_count(sim, "error")))
    r = one(sim.port, "GET", "/health")
    ok(r.status == 200, "health unaffected by --error-rate", str(r.status))

with Sim("--rate-limit-rate", 1) as sim:
    r = one(sim.port, "POST", "/v1/completions", {"prompt": "a", "max_tokens": 2})
    ok(r.status == 429 and r.headers.get("retry-after") == "1" and is_vllm_error(r.body, 429),
       "--rate-limit-rate 1: 429, Retry-After: 1, JSON error body", f"{r.status} {r.headers} {r.body!r}")
    ok(fault_count(sim, "rate_limit") == 1, "faults_total{kind=rate_limit} = 1", "")

with Sim("--disconnect-rate", 1, "--ttft-ms", 2, "--itl-ms", 2) as sim:
    results = [one(sim.port, "POST", "/v1/chat/completions", chat(10)) for _ in range(3)]
    ok(all(r.closed and not r.complete for r in results), "--disconnect-rate 1: connection closed mid-stream",
       str([(r.closed, r.complete) for r in results]))
    ntok = [len(token_events(r.events)) for r in results]
    ok(all(1 <= n < 10 for n in ntok), "at least one token before the cut, fewer than asked", str(ntok))
    ok(all("[DONE]" not in [p for _, p in r.events] for r in results), "no [DONE] on a cut stream", "")
    ok(fault_count(sim, "disconnect") == 3, "faults_total{kind=disconnect} = 3", str(fault_count(sim, "disconnect")))
    r = one(sim.port, "POST", "/v1/chat/completions", chat(2, stream=False))
    ok(r.status == 200, "non-streaming requests are not cut", str(r.status))

with Sim("--malformed-rate", 1, "--ttft-ms", 2, "--itl-ms", 2) as sim:
    r = one(sim.port, "POST", "/v1/chat/completions", chat(6, stream_options={"include_usage": True}))
    bad = []
    for _, p in r.events:
        if p == "[DONE]":
            continue
        try:
            json.loads(p)
        except ValueError:
            bad.append(p)
    ok(len(bad) == 1, "--malformed-rate 1: exactly one event with invalid JSON", str(bad))
    ok(r.complete and r.events[-1][1] == "[DONE]", "the stream then ends normally with [DONE]", "")
    ok(len(token_events(r.events)) == 6, "all 6 tokens still arrive", str(len(token_events(r.events))))
    ok(fault_count(sim, "malformed") == 1, "faults_total{kind=malformed} = 1", "")

with Sim("--stall-rate", 1, "--stall-seconds", 1.5, "--ttft-ms", 2, "--itl-ms", 2) as sim:
    c = Conn(sim.port)
    c.sock.settimeout(0.6 * MULT)
    r = None
    stalled = False
    try:
        r = c.request("POST", "/v1/chat/completions", chat(50))
    except socket.timeout:
        stalled = True
    got = c.buf
    ok(stalled, "--stall-rate 1: the stream stops sending (client read times out)", "")
    t0 = time.monotonic()
    c.sock.settimeout(5 * MULT)
    closed = False
    try:
        while True:
            data = c.sock.recv(65536)
            if not data:
                closed = True
                break
    except (socket.timeout, ConnectionResetError):
        pass
    waited = time.monotonic() - t0
    c.close()
    ok(closed and 0.5 <= waited <= 3.0 * MULT, "stalled connection closed after --stall-seconds",
       f"closed={closed} waited={waited:.2f}")
    ok(fault_count(sim, "stall") == 1, "faults_total{kind=stall} = 1", "")
    # The client closing first also ends a stall.
    c = Conn(sim.port)
    c.sock.settimeout(0.3 * MULT)
    try:
        c.request("POST", "/v1/chat/completions", chat(50))
    except socket.timeout:
        pass
    c.close()
    still_serves(sim, "a stall the client abandoned")

with Sim("--early-eos-rate", 1, "--ttft-ms", 1, "--itl-ms", 1) as sim:
    r = one(sim.port, "POST", "/v1/chat/completions", chat(20, stream_options={"include_usage": True}))
    objs = [json.loads(p) for _, p in r.events if p != "[DONE]"]
    last = [o for o in objs if o["choices"]][-1]["choices"][0]
    n = objs[-1]["usage"]["completion_tokens"]
    ok(last["finish_reason"] == "stop" and 1 <= n < 20, "--early-eos-rate 1: fewer tokens, finish_reason stop",
       f"{last} n={n}")

lengths = []
for _ in range(2):
    with Sim("--seed", 7, "--output-tokens", 20, "--output-tokens-stdev", 8, "--ttft-ms", 1, "--itl-ms", 0.2) as sim:
        run = []
        for _ in range(5):
            r = one(sim.port, "POST", "/v1/completions", {"prompt": "a b"})
            run.append(json.loads(r.body)["usage"]["completion_tokens"])
        lengths.append(run)
ok(lengths[0] == lengths[1] and len(set(lengths[0])) > 1, "--seed repeats drawn output lengths (stdev > 0 varies them)",
   str(lengths))

with Sim("--api-key", "sekret", "--ttft-ms", 1, "--itl-ms", 1) as sim:
    r = one(sim.port, "POST", "/v1/chat/completions", chat(2))
    ok(r.status == 401 and json.loads(r.body) == {"error": "Unauthorized"}, "no key: 401 {\"error\":\"Unauthorized\"}",
       f"{r.status} {r.body!r}")
    r = one(sim.port, "POST", "/v1/chat/completions", chat(2), headers={"Authorization": "Bearer wrong"})
    ok(r.status == 401, "wrong bearer key: 401", str(r.status))
    r = one(sim.port, "POST", "/v1/chat/completions", chat(2), headers={"Authorization": "Bearer sekret"})
    ok(r.status == 200 and r.complete, "Authorization: Bearer KEY accepted", str(r.status))
    r = one(sim.port, "POST", "/v1/completions", {"prompt": "a", "max_tokens": 1}, headers={"X-API-Key": "sekret"})
    ok(r.status == 200, "X-API-Key: KEY accepted", str(r.status))
    r = one(sim.port, "GET", "/v1/models")
    ok(r.status == 401, "/v1/models needs the key too", str(r.status))
    ok(one(sim.port, "GET", "/health").status == 200 and one(sim.port, "GET", "/metrics").status == 200,
       "/health and /metrics stay open", "")

BAD = [
    ("invalid JSON", "POST", "/v1/chat/completions", "{not json", 400),
    ("body not an object", "POST", "/v1/chat/completions", "[1]", 400),
    ("missing messages", "POST", "/v1/chat/completions", {"model": "llmload-sim"}, 400),
    ("messages not an array", "POST", "/v1/chat/completions", {"messages": "hi"}, 400),
    ("content of a wrong type", "POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": 3}]}, 400),
    ("missing prompt", "POST", "/v1/completions", {"max_tokens": 3}, 400),
    ("prompt of a wrong type", "POST", "/v1/completions", {"prompt": {"a": 1}}, 400),
    ("max_tokens a string", "POST", "/v1/completions", {"prompt": "a", "max_tokens": "3"}, 400),
    ("stream not a bool", "POST", "/v1/completions", {"prompt": "a", "stream": 1}, 400),
    ("prompt + max_tokens beyond --max-model-len", "POST", "/v1/completions", {"prompt": "a b c", "max_tokens": 98}, 400),
    ("unknown model", "POST", "/v1/completions", {"prompt": "a", "model": "gpt-9"}, 404),
]
with Sim("--max-model-len", 100, "--max-body-bytes", 2000, "--ttft-ms", 1, "--itl-ms", 1) as sim:
    c = Conn(sim.port)
    try:
        for what, method, path, body, code in BAD:
            r = c.request(method, path, body)
            good = r.status == code and is_vllm_error(r.body, code)
            ok(good, f"{what}: {code} with vLLM's error body", f"{r.status} {r.body!r}")
            r = c.request("POST", "/v1/completions", {"prompt": "a", "max_tokens": 1})
            ok(r.status == 200, f"same connection serves after: {what}", str(r.status))
        r = c.request("GET", "/v1/nope")
        ok(r.status == 404 and json.loads(r.body) == {"detail": "Not Found"}, "unknown path: 404 {\"detail\":...}",
           f"{r.status} {r.body!r}")
        r = c.request("GET", "/v1/chat/completions")
        ok(r.status == 405 and r.headers.get("allow") == "POST" and json.loads(r.body) == {"detail": "Method Not Allowed"},
           "wrong method: 405 with Allow", f"{r.status} {r.headers} {r.body!r}")
        r = c.request("POST", "/health", "{}")
        ok(r.status == 405, "POST /health: 405", str(r.status))
        r = c.request("GET", "/health")
        ok(r.status == 200, "same connection serves after 404/405", str(r.status))
    finally:
        c.close()
    big = {"prompt": "w " * 1500}
    r = one(sim.port, "POST", "/v1/completions", big)
    ok(r.status == 413 and is_vllm_error(r.body, 413), "body over --max-body-bytes: 413 with an error body",
       f"{r.status} {r.body[:120]!r}")
    c = socket.create_connection(("127.0.0.1", sim.port), timeout=5 * MULT)
    c.sendall(b"GARBAGE / NOT-HTTP\r\n\r\n")
    data = c.recv(4096)
    c.close()
    ok(data.startswith(b"HTTP/1.1 400"), "unparsable HTTP: 400", repr(data[:60]))
    still_serves(sim, "413 and unparsable HTTP")
    m = sim.metrics()
    ok(all(m.get(f'llmload_sim_faults_total{{kind="{k}",{M}}}') == 0
           for k in ("error", "rate_limit", "disconnect", "malformed", "stall")),
       "bad requests are not counted as injected faults", "")

done()
