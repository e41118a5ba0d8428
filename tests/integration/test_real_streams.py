#!/usr/bin/env python3
"""Real servers' streams (docs/sse.md, docs/metrics.md): each shape the simulator can send on demand,
through both transports (--http-client builtin and curl), must give the true figures.

1. No [DONE] after a finish_reason (Perplexity, GPUStack): complete; counted as no_done_ok;
   --require-done (flag and profile key) makes each a no_done error. A clean end with neither a
   finish_reason nor [DONE] stays an error (fake server: a body that runs to the close).
2. Usage only on the finish chunk (Mistral): not a running count, so itl_token is itl (the last gap is
   not split into N samples). Running usage still splits; several tokens per event without running
   usage do not. --continuous-usage against a server that ignores it: a note, on the console too.
3. Content shapes: refusal, text parts, thinking parts (ttft on the first thinking token, ttfot on the
   first answer token), and Perplexity's cumulative message beside each delta with an empty-delta
   finish chunk: one token event per token, never more.
4. An error inside the stream in each shape (data object, `event: error`, `error:` field): server_error
   with the server's message.
5. llama.cpp timings: server_prompt_ms equals the simulator's prefill, ttft minus it is small; columns
   in requests.csv.
6. finish_reason per request and by reason per benchmark (report.json, summary.csv, requests.csv).
"""
import csv
import json
import os
import tempfile
import time

from fakeserver import TOKENS, FakeServer
from lltest import ASAN, Sim, done, near, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-real-streams-")
TRANSPORTS = ("builtin", "curl")
N = 8            # requests per run
OUT = 8          # output tokens per request
SLACK = 4.0 if ASAN else 1.0


def llmload(target, transport, *args, n=N, out_tokens=OUT):
    out = os.path.join(tmp, f"out{time.monotonic_ns()}")
    r = run(["run", "--target", target, "--out", out, "--no-progress", "--http-client", transport,
             "--schedule", "synchronous", "--max-requests", n, "--max-seconds", 0,
             "--data", f"prompt_tokens=8,output_tokens={out_tokens}", *args], timeout=120)
    rep = None
    if os.path.exists(os.path.join(out, "report.json")):
        with open(os.path.join(out, "report.json")) as f:
            rep = json.load(f)["benchmarks"][0]
    return r, rep, out


def rows(out, name="requests.csv"):
    with open(os.path.join(out, name), newline="") as f:
        return list(csv.DictReader(f))


def ran(r, rep, what):
    return ok(r.returncode == 0 and rep is not None, f"{what}: exit 0 with a report",
              f"rc={r.returncode} err={r.stderr[-300:]!r}")


def ran_all_failed(r, rep, what):
    """A run in which every request failed: its reports are written, then exit 1 with one line
    saying nothing completed (docs/gate.md)."""
    return ok(r.returncode == 1 and rep is not None and "no request completed" in r.stderr,
              f"{what}: reports written, exit 1 (nothing completed)", f"rc={r.returncode} err={r.stderr[-300:]!r}")


for tp in TRANSPORTS:
    # ---- 1. no [DONE] --------------------------------------------------------------------------
    with Sim("--ttft-ms", 2, "--itl-ms", 1, "--no-done") as sim:
        r, rep, out = llmload(sim.url, tp)
        if ran(r, rep, f"{tp} --no-done"):
            rq = rep["requests"]
            ok(rq["completed"] == N and rq["errored"] == 0, f"{tp}: finish_reason then a clean end: complete",
               rq)
            ok(rq["no_done_ok"] == N, f"{tp}: each counted in requests.no_done_ok", rq.get("no_done_ok"))
            ok(all(int(x["token_events"]) == OUT for x in rows(out)), f"{tp}: every token counted", "")
        r, rep, out = llmload(sim.url, tp, "--require-done")
        if ran_all_failed(r, rep, f"{tp} --require-done"):
            rq = rep["requests"]
            ok(rq["errors_by_kind"] == {"no_done": N}, f"{tp} --require-done: each is no_done", rq["errors_by_kind"])
            ok(all("--require-done" in e for e in rq["first_errors"]), f"{tp}: the message names the flag",
               rq["first_errors"])
        prof = os.path.join(tmp, "require-done.json")
        with open(prof, "w") as f:
            json.dump({"require_done": True}, f)
        out = os.path.join(tmp, f"prof-{tp}")
        r = run(["run", prof, "--target", sim.url, "--out", out, "--no-progress", "--quiet", "--http-client", tp,
                 "--schedule", "synchronous", "--max-requests", 2, "--max-seconds", 0], timeout=60)
        rep = json.load(open(os.path.join(out, "report.json"))) if r.returncode == 1 else None
        ok(rep is not None and rep["benchmarks"][0]["requests"]["errors_by_kind"] == {"no_done": 2}
           and rep["config"]["require_done"] is True, f"{tp}: profile key require_done", r.stderr[-300:])
    with Sim("--ttft-ms", 2, "--itl-ms", 1) as sim:
        r, rep, out = llmload(sim.url, tp, "--require-done")
        if ran(r, rep, f"{tp} --require-done with [DONE]"):
            ok(rep["requests"]["completed"] == N and rep["requests"]["no_done_ok"] == 0,
               f"{tp}: with [DONE] --require-done changes nothing", rep["requests"])
    with FakeServer(["finish_no_done", "no_done"]) as fs:
        r, rep, out = llmload(fs.url, tp, n=4)
        if ran(r, rep, f"{tp} fake server, body to the close"):
            kinds = [x["error_kind"] for x in rows(out)]
            ok(kinds == ["", "no_done"] * 2, f"{tp}: finish then close is complete; neither finish nor [DONE] "
               "is no_done", kinds)

    # ---- 2. usage on the finish chunk, running usage, tokens per event ----------------------------
    with Sim("--ttft-ms", 2, "--itl-ms", 4, "--usage-on-finish") as sim:
        r, rep, out = llmload(sim.url, tp, out_tokens=16)
        if ran(r, rep, f"{tp} --usage-on-finish"):
            m = rep["metrics"]
            itl, itl_tok = m["itl_ms"]["p50"], m["itl_token_ms"]["p50"]
            ok(itl_tok > 0.9 * itl and itl_tok < 1.1 * itl,
               f"{tp}: one usage total on the last token event does not split its gap (itl_token p50 "
               f"{itl_tok:.2f} ~ itl p50 {itl:.2f})", f"{itl_tok} vs {itl}")
            ok(m["itl_token_ms"]["count"] == m["itl_ms"]["count"], f"{tp}: one itl_token sample per gap",
               f"{m['itl_token_ms']['count']} vs {m['itl_ms']['count']}")
            ok(m["output_tokens_source"] == "usage" and m["output_tokens"]["mean"] == 16,
               f"{tp}: output_tokens from that usage", m["output_tokens_source"])
    with Sim("--ttft-ms", 2, "--itl-ms", 8, "--tokens-per-event", 4) as sim:
        r, rep, out = llmload(sim.url, tp, out_tokens=16)
        if ran(r, rep, f"{tp} 4 tokens per event, no running usage"):
            m = rep["metrics"]
            ok(m["itl_token_ms"]["p50"] == m["itl_ms"]["p50"] and m["tokens_per_event"] == 4,
               f"{tp}: without running usage itl_token is itl; tokens_per_event 4",
               f"{m['itl_token_ms']['p50']} {m['itl_ms']['p50']} {m['tokens_per_event']}")
            ok(rep["notes"] == [], f"{tp}: no note when continuous usage was not asked", rep["notes"])
        r, rep, out = llmload(sim.url, tp, "--continuous-usage", out_tokens=16)
        if ran(r, rep, f"{tp} 4 tokens per event, running usage"):
            m = rep["metrics"]
            near(m["itl_token_ms"]["p50"] / m["itl_ms"]["p50"], 0.25, 0.03,
                 f"{tp}: running usage splits each gap in 4 (itl_token/itl)")
            ok(rep["notes"] == [], f"{tp}: no note when the server sent running usage", rep["notes"])
    with Sim("--ttft-ms", 2, "--itl-ms", 2, "--no-continuous-usage") as sim:
        r, rep, out = llmload(sim.url, tp, "--continuous-usage")
        if ran(r, rep, f"{tp} --continuous-usage, server ignores it"):
            want = "continuous usage asked but the server sent no running usage: itl_token equals itl"
            ok(rep["notes"] == [want], f"{tp}: report.json notes say so", rep["notes"])
            ok(r.stdout.count("note: ") + r.stderr.count("note: ") == 1 and want in r.stdout + r.stderr,
               f"{tp}: the console says so once", (r.stdout + r.stderr)[-400:])

    # ---- 3. content shapes ------------------------------------------------------------------------
    for shape in ("refusal", "parts"):
        with Sim("--ttft-ms", 20, "--itl-ms", 2, "--content-shape", shape) as sim:
            r, rep, out = llmload(sim.url, tp)
            if ran(r, rep, f"{tp} --content-shape {shape}"):
                rs = rows(out)
                ok(all(int(x["token_events"]) == OUT and x["ttft_ms"] and x["ttfot_ms"] == x["ttft_ms"] for x in rs),
                   f"{tp} {shape}: every token seen, ttft = ttfot", [x["token_events"] for x in rs])
                near(rep["metrics"]["ttft_ms"]["p50"], 20, 10 * SLACK, f"{tp} {shape}: ttft p50 is the prefill")
    with Sim("--ttft-ms", 10, "--itl-ms", 10, "--content-shape", "thinking-parts", "--reasoning-tokens", 4) as sim:
        r, rep, out = llmload(sim.url, tp)
        if ran(r, rep, f"{tp} --content-shape thinking-parts"):
            m = rep["metrics"]
            near(m["ttft_ms"]["p50"], 10, 10 * SLACK, f"{tp} thinking parts: ttft on the first thinking token")
            near(m["ttfot_ms"]["p50"] - m["ttft_ms"]["p50"], 40, 10 * SLACK,
                 f"{tp} thinking parts: ttfot 4 steps later (first answer token)")
            ok(all(int(x["token_events"]) == OUT for x in rows(out)), f"{tp} thinking parts: every token seen", "")
    with Sim("--ttft-ms", 2, "--itl-ms", 2, "--cumulative-message", "--no-done") as sim:
        r, rep, out = llmload(sim.url, tp)
        if ran(r, rep, f"{tp} --cumulative-message"):
            rs = rows(out)
            ok(all(int(x["token_events"]) == OUT for x in rs),
               f"{tp} Perplexity: the cumulative message and the empty finish delta add no token",
               [x["token_events"] for x in rs])
            ok(rep["requests"]["completed"] == N and rep["requests"]["finish_reasons"]["length"] == N,
               f"{tp} Perplexity: complete, finish length", rep["requests"])

    # ---- 4. errors inside the stream ----------------------------------------------------------------
    for shape in ("object", "event", "field"):
        with Sim("--ttft-ms", 2, "--itl-ms", 1, "--stream-error-rate", 1, "--stream-error-shape", shape) as sim:
            r, rep, out = llmload(sim.url, tp, n=4)
            if ran_all_failed(r, rep, f"{tp} --stream-error-shape {shape}"):
                rq = rep["requests"]
                ok(rq["errors_by_kind"] == {"server_error": 4}, f"{tp} {shape}: each is server_error",
                   rq["errors_by_kind"])
                msgs = {x["error"] for x in rows(out)}
                ok(msgs == {f"Injected fault: stream error {shape} (llmload sim --stream-error-rate)"},
                   f"{tp} {shape}: the server's message kept", msgs)
                ok(all(int(x["token_events"]) >= 1 for x in rows(out)), f"{tp} {shape}: after >= 1 token", "")

    # ---- 5. llama.cpp timings ----------------------------------------------------------------------
    with Sim("--ttft-ms", 30, "--itl-ms", 3, "--timings") as sim:
        r, rep, out = llmload(sim.url, tp)
        if ran(r, rep, f"{tp} --timings"):
            m = rep["metrics"]
            ok(m.get("server_timings_requests") == N, f"{tp}: every request's timings kept",
               m.get("server_timings_requests"))
            near(m["server_prompt_ms"]["mean"], 30, 0.01, f"{tp}: server_prompt_ms is the sim's prefill")
            # 7 gaps of 3 ms over 8 tokens, as llama.cpp divides; later only if the sim's loop was late.
            near(m["server_predicted_per_token_ms"]["p50"], 2.625, 1.0 * SLACK, f"{tp}: server per-token time")
            ttm = m["ttft_minus_server_prompt_ms"]
            ok(0 <= ttm < 20 * SLACK, f"{tp}: ttft minus server prompt time is small and positive ({ttm:.3f} ms)",
               f"{ttm} ttft={m['ttft_ms']['mean']}")
            rs = rows(out)
            ok(all(x["server_prompt_n"] == "8" and float(x["server_prompt_ms"]) == 30 and
                   x["server_predicted_n"] == str(OUT) and float(x["server_predicted_ms"]) > 0 for x in rs),
               f"{tp}: requests.csv server_* columns", rs[0])
    with Sim("--ttft-ms", 2, "--itl-ms", 1) as sim:
        r, rep, out = llmload(sim.url, tp, n=2)
        if ran(r, rep, f"{tp} no timings"):
            rs = rows(out)
            ok(all(x["server_prompt_ms"] == "" and x["server_prompt_n"] == "" for x in rs)
               and "server_prompt_ms" not in rep["metrics"], f"{tp}: absent timings are empty", rs[0])

    # ---- 6. finish reasons --------------------------------------------------------------------------
    with Sim("--ttft-ms", 1, "--itl-ms", 1, "--early-eos-rate", 0.5, "--seed", 3) as sim:
        r, rep, out = llmload(sim.url, tp, n=20)
        if ran(r, rep, f"{tp} --early-eos-rate 0.5"):
            fr = rep["requests"]["finish_reasons"]
            ok(set(fr) == {"stop", "length", "tool_calls", "content_filter", "other", "none"},
               f"{tp}: finish_reasons has every key", fr)
            ok(fr["stop"] + fr["length"] == 20 and fr["stop"] > 0 and fr["length"] > 0,
               f"{tp}: stop (early EOS) and length (max_tokens with ignore_eos) told apart", fr)
            per_row = [x["finish_reason"] for x in rows(out)]
            ok(per_row.count("stop") == fr["stop"] and per_row.count("length") == fr["length"],
               f"{tp}: requests.csv finish_reason agrees", per_row)
            s = rows(out, "summary.csv")[0]
            ok(int(s["finish_stop"]) == fr["stop"] and int(s["finish_length"]) == fr["length"]
               and s["finish_none"] == "0" and s["no_done_ok"] == "0", f"{tp}: summary.csv columns agree", s)
    with Sim("--ttft-ms", 1, "--itl-ms", 1, "--finish-reason", "content_filter") as sim:
        r, rep, out = llmload(sim.url, tp, n=3)
        if ran(r, rep, f"{tp} --finish-reason content_filter"):
            ok(rep["requests"]["finish_reasons"]["content_filter"] == 3
               and {x["finish_reason"] for x in rows(out)} == {"content_filter"},
               f"{tp}: content_filter has its own count", rep["requests"]["finish_reasons"])
    with Sim("--ttft-ms", 1, "--itl-ms", 1, "--output-tokens", 4) as sim:
        r, rep, out = llmload(sim.url, tp, "--no-ignore-eos", n=3, out_tokens=16)
        if ran(r, rep, f"{tp} --no-ignore-eos, shorter drawn output"):
            ok(rep["requests"]["finish_reasons"]["stop"] == 3, f"{tp}: an output that ends before max_tokens is stop",
               rep["requests"]["finish_reasons"])

done()
