#!/usr/bin/python3
"""gen-traces.py - writes llmload's sample traces (docs/workloads.md "Trace replay"), one per format
`--trace` reads, deterministically (a fixed seed, no clock): the project generates its own samples
rather than shipping slices of the public traces, whose licences vary.

    /usr/bin/python3 scripts/gen-traces.py [OUTDIR]     (default: traces/ beside this script)

  mooncake-sample.jsonl  Mooncake FAST'25 shape: timestamp (ms), input_length, output_length,
                         hash_ids (512-token blocks). Multi-turn chats: every request shares block 0
                         (a system prompt), and turn k repeats turn k-1's blocks before its own, so a
                         prefix-caching server gets the trace's reuse.
  azure-sample.csv       Azure LLM inference trace: TIMESTAMP,ContextTokens,GeneratedTokens.
  otel-sample.jsonl      OpenTelemetry GenAI spans, one OTLP JSON export per line (an agent span
                         around each model call, gen_ai.conversation.id per conversation).
  llmload-sample.jsonl   llmload's own form: offset_ms, input_tokens, output_tokens, optional
                         prompt and session.

tests/integration/test_trace.py checks that this script reproduces the committed files byte for byte.
"""
import datetime
import json
import os
import random
import sys

BLOCK = 512


def dumps(o):
    return json.dumps(o, separators=(", ", ": "))


def mooncake(rng):
    rows = []
    next_id = 1  # id 0: the system prompt every request starts with
    for user in range(8):
        t = rng.randint(0, 4000)
        ids = [0]
        length = BLOCK
        for turn in range(rng.randint(2, 4)):
            grow = rng.randint(200, 1200)
            length += grow
            while len(ids) * BLOCK < length:
                ids.append(next_id)
                next_id += 1
            rows.append({"timestamp": t, "input_length": length, "output_length": rng.randint(16, 96),
                         "hash_ids": list(ids)})
            t += rng.randint(1500, 4000)  # the user reads, then answers
    rows.sort(key=lambda r: r["timestamp"])
    return "".join(dumps(r) + "\n" for r in rows)


def azure(rng):
    t = datetime.datetime(2023, 11, 16, 18, 15, 46, 680590)
    out = ["TIMESTAMP,ContextTokens,GeneratedTokens\n"]
    for _ in range(50):
        t += datetime.timedelta(microseconds=int(rng.expovariate(1 / 0.2) * 1e6))
        ctx = max(8, int(rng.lognormvariate(6.5, 0.8)))
        gen = max(1, int(rng.lognormvariate(4.0, 0.9)))
        # The published files print 7 fractional digits.
        out.append(f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond:06d}0,{min(ctx, 8000)},{min(gen, 400)}\n")
    return "".join(out)


def attr(key, v):
    value = {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}
    return {"key": key, "value": value}


def otel(rng):
    lines = []
    base = 1700000000 * 10**9
    span_id = 1
    for conv in range(4):
        t = base + rng.randint(0, 3 * 10**9)
        history = rng.randint(100, 400)
        for turn in range(rng.randint(2, 4)):
            inp, outp = history + rng.randint(20, 200), rng.randint(16, 80)
            dur = (50 + outp * 10) * 10**6
            common = [attr("gen_ai.conversation.id", f"conv-{conv + 1}")]
            agent = {"traceId": f"{conv + 1:032x}", "spanId": f"{span_id:016x}", "name": "invoke_agent helper",
                     "kind": 1, "startTimeUnixNano": str(t), "endTimeUnixNano": str(t + dur + 5 * 10**6),
                     "attributes": [attr("gen_ai.operation.name", "invoke_agent"), *common,
                                    attr("gen_ai.usage.input_tokens", inp),
                                    attr("gen_ai.usage.output_tokens", outp)]}
            chat = {"traceId": f"{conv + 1:032x}", "spanId": f"{span_id + 1:016x}",
                    "parentSpanId": f"{span_id:016x}", "name": "chat llmload-sim", "kind": 3,
                    "startTimeUnixNano": str(t + 10**6), "endTimeUnixNano": str(t + dur),
                    "attributes": [attr("gen_ai.operation.name", "chat"), attr("gen_ai.request.model", "llmload-sim"),
                                   *common, attr("gen_ai.usage.input_tokens", inp),
                                   attr("gen_ai.usage.output_tokens", outp)]}
            span_id += 2
            lines.append({"resourceSpans": [{"resource": {"attributes": [attr("service.name", "sample-agent")]},
                                             "scopeSpans": [{"scope": {"name": "sample"}, "spans": [agent, chat]}]}]})
            history = inp + outp
            t += dur + rng.randint(1, 3) * 10**9
    lines.sort(key=lambda o: int(o["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"]))
    return "".join(dumps(o) + "\n" for o in lines)


def own(rng):
    rows, t = [], 0.0
    for i in range(30):
        t += rng.choice([5, 20, 40, 60, 120])  # irregular gaps, ms
        r = {"offset_ms": round(t, 3), "input_tokens": rng.randint(16, 200), "output_tokens": rng.randint(4, 24)}
        if i % 3 == 0:
            r["session"] = f"user-{i % 4}"
        if i == 7:
            r["prompt"] = "Replay this exact prompt, word for word, as the trace recorded it."
            del r["input_tokens"]
        rows.append(r)
    return "".join(dumps(r) + "\n" for r in rows)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "traces")
    os.makedirs(out, exist_ok=True)
    for name, fn, seed in (("mooncake-sample.jsonl", mooncake, 1), ("azure-sample.csv", azure, 2),
                           ("otel-sample.jsonl", otel, 3), ("llmload-sample.jsonl", own, 4)):
        with open(os.path.join(out, name), "w", newline="") as f:
            f.write(fn(random.Random(seed)))
    print(f"wrote 4 sample traces to {out}")


if __name__ == "__main__":
    main()
