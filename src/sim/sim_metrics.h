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
enum sim_hist_kind { SIM_HIST_TTFT, SIM_HIST_E2E, SIM_HIST_ITL, SIM_HIST_COUNT_ };

#define SIM_HIST_MAX_BUCKETS 32

typedef struct sim_hist {
    uint64_t counts[SIM_HIST_MAX_BUCKETS + 1];   /* last slot: above every bound (+Inf) */
    uint64_t count;
    double sum;
} sim_hist;

typedef struct sim_metrics {
    uint64_t prompt_tokens, generation_tokens;
    uint64_t success_length, success_stop;
    uint64_t requests;                    /* completion requests received */
    uint64_t faults[SIM_FAULT_COUNT_];
    sim_hist hist[SIM_HIST_COUNT_];
    hist *itl_sent;                       /* the SIM_HIST_ITL gaps in ns; owned, sim_metrics_free */
    uint64_t events_sent;                 /* streamed token events handed to the socket */
    uint64_t events_backlogged;           /* of those, ones the kernel did not take at once */
    uint64_t streams_completed;           /* streams that ended with [DONE] */
    uint64_t posts;                       /* POST requests parsed, answered or not (resends count) */
} sim_metrics;

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
/* Appends the /sim/stats JSON object to `out` (docs/simulator.md lists its fields). */
int sim_metrics_render_stats(const sim_metrics *m, const sim_engine *e, sim_buf *out);

#endif
