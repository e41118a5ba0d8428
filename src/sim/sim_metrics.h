/*
 * sim_metrics.h - internal to the simulator tree: what the simulator counts, and its Prometheus text
 * rendering for GET /metrics (vLLM's metric names plus llmload_sim_*). The server updates the
 * fields directly on its one loop thread; rendering reads the engine's gauges at request time.
 * Invariant: each histogram's count equals the sum of its bucket counts (+Inf included).
 */
#ifndef LLMLOAD_SIM_METRICS_H
#define LLMLOAD_SIM_METRICS_H

#include <stdint.h>

#include "llmload/sim_engine.h"
#include "sim_buf.h"

enum sim_fault { SIM_FAULT_ERROR, SIM_FAULT_RATE_LIMIT, SIM_FAULT_DISCONNECT, SIM_FAULT_MALFORMED,
                 SIM_FAULT_STALL, SIM_FAULT_COUNT_ };
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
} sim_metrics;

/* Records one value in seconds. */
void sim_metrics_observe(sim_metrics *m, enum sim_hist_kind kind, double seconds);
/* Appends the exposition text to `out`. `model` borrowed for the call. */
int sim_metrics_render(const sim_metrics *m, const sim_engine *e, uint64_t kv_total, const char *model,
                       sim_buf *out);

#endif
