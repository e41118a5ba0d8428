"""llmload sim's GET /sim/stats: the exact record of the inter-token gaps it wrote (llmload's own
10-bit histogram), one gap per pair of consecutive token events of a stream, the same gaps as the
Prometheus llmload_sim_inter_token_latency_seconds; its p50 sits at --itl-ms, and a client timing
the same streams sees the same mean gap."""
import json
import threading

from lltest import ASAN_SLACK, Sim, done, near, ok
from simclient import chat, one, token_events

M = 'model_name="llmload-sim"'
ITL_MS, TOKENS, STREAMS = 20, 30, 4


def stats(sim):
    status, hdrs, body = sim.request("GET", "/sim/stats")
    ok(status == 200 and hdrs.get("content-type", "").startswith("application/json"),
       "/sim/stats: 200 application/json", f"{status} {hdrs}")
    return json.loads(body)


def stream_all(port, n, body):
    results = [None] * n

    def go(i):
        results[i] = one(port, "POST", "/v1/chat/completions", body, max_seconds=60)

    threads = [threading.Thread(target=go, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return results


with Sim("--ttft-ms", 10, "--itl-ms", ITL_MS) as sim:
    s = stats(sim)
    ok(s["itl_sent_ms"]["count"] == 0 and s["itl_sent_ms"]["p99"] == 0 and s["events_sent"] == 0,
       "before any stream: count 0, percentiles 0", s)
    ok(s["itl_sent_ms"].get("sub_bucket_bits") == 10, "gaps are held with llmload's 10-bit scheme", s["itl_sent_ms"])
    status, _, _ = sim.request("POST", "/sim/stats", body={})
    ok(status == 405, "POST /sim/stats is 405", status)

    res = stream_all(sim.port, STREAMS, chat(TOKENS))
    ok(all(r is not None and r.complete and r.status == 200 for r in res), f"{STREAMS} streams complete",
       [(r.status, r.complete) if r else None for r in res])
    one(sim.port, "POST", "/v1/chat/completions", chat(5, stream=False))  # not a stream: no gaps
    s = stats(sim)
    g = s["itl_sent_ms"]
    ok(g["count"] == (TOKENS - 1) * STREAMS, "count = (tokens - 1) * streams", (g["count"], (TOKENS - 1) * STREAMS))
    ok(s["events_sent"] == TOKENS * STREAMS, "events_sent = tokens * streams", s["events_sent"])
    ok(s["streams_completed"] == STREAMS and s["requests_completed"] == STREAMS + 1,
       "streams_completed counts streams, requests_completed every request", s)
    ok(g["out_of_range"] == 0 and 0 < g["min"] <= g["p50"] <= g["p90"] <= g["p99"] <= g["p999"] <= g["max"],
       "percentiles ordered within [min, max]", g)
    # The step clock is exact; wake-ups can be late on a busy machine, which moves one gap up and
    # the next down, so the median stays at the setting.
    near(g["p50"], ITL_MS, 3.0 * ASAN_SLACK, "p50 of the gaps sent is --itl-ms")
    prom = sim.metrics()
    ok(prom.get(f"llmload_sim_inter_token_latency_seconds_count{{{M}}}") == g["count"],
       "the same gaps as the Prometheus ITL histogram", prom.get(f"llmload_sim_inter_token_latency_seconds_count{{{M}}}"))
    near(g["mean"], 1000 * prom[f"llmload_sim_inter_token_latency_seconds_sum{{{M}}}"] / g["count"], 0.02,
         "mean (from 0.1% buckets) = Prometheus sum / count")
    # What a client saw: the gaps of each stream telescope to last - first event, so the means differ
    # only by the delivery delay of a stream's first and last event, spread over 29 gaps.
    gaps = []
    for r in res:
        ts = [t for t, _ in token_events(r.events)]
        gaps += [1000 * (b - a) for a, b in zip(ts, ts[1:])]
    ok(len(gaps) == g["count"], "the client saw as many gaps as the sim sent", (len(gaps), g["count"]))
    if gaps:
        near(sum(gaps) / len(gaps), g["mean"], 1.0 * ASAN_SLACK, "client mean gap = sim mean gap")

# Several tokens per event: a gap is between events, so (events - 1) per stream.
with Sim("--ttft-ms", 5, "--itl-ms", 5, "--tokens-per-event", 3) as sim:
    res = stream_all(sim.port, 2, chat(10))
    s = stats(sim)
    ok(s["itl_sent_ms"]["count"] == (4 - 1) * 2 and s["events_sent"] == 4 * 2 and s["generation_tokens"] == 20,
       "--tokens-per-event 3, 10 tokens: 4 events, 3 gaps per stream", s)
done()
