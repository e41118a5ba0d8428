/*
 * sim_metrics.h - internal to the simulator tree: what the simulator counts, and its Prometheus text
 * rendering for GET /metrics (vLLM's metric names plus llmload_sim_*) and GET /sim/stats (JSON:
 * the exact record of the inter-token gaps it wrote, in llmload's own hist_ so that client and
 * server quantise identically). The server updates the fields directly on its one loop thread;
 * rendering reads the engine's gauges at request time.
 * Invariant: each histogram's count equals the sum of its bucket counts (+Inf included), and the
 * Prometheus ITL histogram and itl_sent hold the same gaps (one function records both).
 */
#ifndef LLMLOAD_SIM_METRICS_H
#define LLMLOAD_SIM_METRICS_H

#include <stdint.h>

#include "llmload/hist.h"
#include "llmload/sim_engine.h"
#include "sim_buf.h"

enum sim_fault { SIM_FAULT_ERROR, SIM_FAULT_RATE_LIMIT, SIM_FAULT_DISCONNECT, SIM_FAULT_MALFORMED,
                 SIM_FAULT_STALL, SIM_FAULT_STREAM_ERROR, SIM_FAULT_COUNT_ };
/* QUEUE, VLLM_ITL and ITER are vLLM V1's request_queue_time, inter_token_latency (engine time,
 * vLLM's buckets) and iteration_tokens_total (tokens per engine step, prefill included). */
enum sim_hist_kind { SIM_HIST_TTFT, SIM_HIST_E2E, SIM_HIST_ITL, SIM_HIST_QUEUE, SIM_HIST_VLLM_ITL, SIM_HIST_ITER,
                     SIM_HIST_COUNT_ };
/* --metrics-style: whose names /metrics uses. LLAMACPP is llama-server as built today (no KV gauge:
 * /slots stands in); LLAMACPP_LEGACY adds the older builds' kv_cache_usage_ratio and kv_cache_tokens. */
enum sim_metrics_style { SIM_STYLE_VLLM = 0, SIM_STYLE_LLAMACPP, SIM_STYLE_LLAMACPP_LEGACY };

#define SIM_HIST_MAX_BUCKETS 32

typedef struct sim_hist {
    uint64_t counts[SIM_HIST_MAX_BUCKETS + 1];   /* last slot: above every bound (+Inf) */
    uint64_t count;
    double sum;
} sim_hist;

typedef struct sim_metrics {
    uint64_t prompt_tokens, generation_tokens;
    uint64_t success_length, success_stop;
    uint64_t success_abort;       /* the client went away before the end: the sequence was freed */
    uint64_t requests;                    /* completion requests received */
    uint64_t faults[SIM_FAULT_COUNT_];
    sim_hist hist[SIM_HIST_COUNT_];
    hist *itl_sent;                       /* the SIM_HIST_ITL gaps in ns; owned, sim_metrics_free */
    uint64_t events_sent;                 /* streamed token events handed to the socket */
    uint64_t events_backlogged;           /* of those, ones the kernel did not take at once */
    uint64_t streams_completed;           /* streams that ended with [DONE] */
    uint64_t posts;                       /* POST requests parsed, answered or not (resends count) */
    /* engine steps, grouped from the emissions of one instant (sim_metrics_iteration) */
    uint64_t iter_at, iter_tokens;        /* the step being summed; iter_tokens 0: none */
    uint32_t iter_running;                /* sequences that emitted in it */
    uint64_t n_decode;                    /* steps: llama.cpp's llama_decode() calls */
    uint64_t busy_slots;                  /* running sequences summed over steps */
    double prefill_seconds, decode_seconds; /* engine time in prefill, in decode (llama.cpp's counters) */
} sim_metrics;

/* What /metrics shows beyond sim_metrics and the engine; every pointer borrowed for the call. */
typedef struct sim_metrics_view {
    const sim_engine *engine;
    const struct sim_prefix *prefix;      /* NULL: no prefix cache (counters stay 0) */
    uint64_t kv_total;
    uint32_t slots;                       /* max_num_seqs: llama.cpp's parallel slots */
    int legacy;                           /* llama.cpp: the older builds' KV gauges too */
    const char *model;
} sim_metrics_view;

/* Zeroes *m and creates its gap histogram. 0 or LL_ENOMEM (then nothing to free). */
int sim_metrics_init(sim_metrics *m);
/* Frees what init made (a zeroed or freed *m is fine). */
void sim_metrics_free(sim_metrics *m);
/* Records one value in seconds. For SIM_HIST_ITL use sim_metrics_observe_gap. */
void sim_metrics_observe(sim_metrics *m, enum sim_hist_kind kind, double seconds);
/* One inter-token gap of a stream, in ns: into the Prometheus ITL histogram and into itl_sent. */
void sim_metrics_observe_gap(sim_metrics *m, uint64_t gap_ns);
/* Appends the exposition text to `out`. `model` borrowed for the call. */
int sim_metrics_render(const sim_metrics *m, const sim_engine *e, uint64_t kv_total, const char *model,
                       sim_buf *out);
/* One sequence's engine emission at at_ns of `tokens` tokens (prefill work included): summed per
 * instant into one step of the iteration histogram, each emission one busy slot of it. */
void sim_metrics_iteration(sim_metrics *m, uint64_t at_ns, uint64_t tokens);
/* Closes the step being summed (after each sim_engine_advance). */
void sim_metrics_iteration_flush(sim_metrics *m);
/* vLLM V1's families beyond sim_metrics_render's (prefix cache, preemptions, queue time,
 * inter-token latency, iteration tokens), labelled model_name and engine as vLLM's are. */
int sim_metrics_render_v1(const sim_metrics *m, const sim_metrics_view *v, sim_buf *out);
/* The whole /metrics in llama.cpp's names (--metrics-style llamacpp): no labels, as llama-server. */
int sim_metrics_render_llamacpp(const sim_metrics *m, const sim_metrics_view *v, sim_buf *out);
/* GET /slots in llama.cpp's shape: one object per slot, the first `running` processing, each of
 * them holding an equal share of the engine's KV tokens as n_prompt_tokens (their sum is exact). */
int sim_metrics_render_slots(const sim_metrics_view *v, sim_buf *out);
/* Appends the /sim/stats JSON object to `out` (docs/simulator.md lists its fields). */
int sim_metrics_render_stats(const sim_metrics *m, const sim_engine *e, sim_buf *out);

#endif
