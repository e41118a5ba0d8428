/*
 * live.h - live client metrics (`--metrics-listen`): what a running benchmark publishes for the
 * /metrics endpoint while it goes (scheduler -> live -> live_server), as opposed to the report,
 * which exists only at the end.
 *
 * Each runner fills a live_snapshot on its own loop, in its 100 ms housekeeping tick (never on the
 * request path), and copies it into its live_slot under a mutex; the server's thread copies it out.
 * Worker loops' snapshots of the same benchmark are summed with live_snapshot_merge. Counts are per
 * benchmark (they start at 0 with each one); start_ns tells benchmarks apart, so a newer one wins.
 */
#ifndef LLMLOAD_LIVE_H
#define LLMLOAD_LIVE_H

#include <stdint.h>
#include <stdio.h>

#include "llmload/hist.h"

#define LIVE_MAX_BOUNDS 24

typedef enum live_hist_kind { LIVE_TTFT = 0, LIVE_ITL } live_hist_kind;

/* A Prometheus histogram on fixed bounds (live.c's tables): bucket[i] counts values in
 * (bound i-1, bound i], the last extra slot those above every bound. Zeroed is empty. */
typedef struct live_hist {
    uint64_t bucket[LIVE_MAX_BOUNDS + 1];
    uint64_t count;
    double sum_s;
} live_hist;

typedef struct live_snapshot {
    uint64_t start_ns;     /* the benchmark's (common) start, clock_now_ns scale; 0: none yet */
    char benchmark[64];    /* e.g. "concurrent@4" */
    char schedule[16];
    uint64_t started, completed, errored, in_flight;
    live_hist ttft;        /* first token minus sent, requests scheduled in the measured window */
    live_hist itl;         /* gaps between token events, folded from the runner's histogram */
} live_snapshot;

/* Empties s and names the benchmark it describes (strings copied, truncated to fit). */
void live_snapshot_begin(live_snapshot *s, const char *benchmark, const char *schedule, uint64_t start_ns);

/* Adds one TTFT value (ns). */
void live_ttft_add(live_snapshot *s, uint64_t ns);

/* Replaces s->itl with h folded onto the ITL bounds (a bucket counts under the first bound at or
 * above its highest value, as metrics.prom folds them). h is only read. */
void live_itl_fold(live_snapshot *s, const hist *h);

/* acc += part when both describe the same benchmark; part replaces acc when it is newer; an older
 * or empty part is ignored (an idle worker still holding the previous benchmark). */
void live_snapshot_merge(live_snapshot *acc, const live_snapshot *part);

/* Prometheus text (0.0.4) for s: llmload_live_* families with labels benchmark, schedule, model
 * (model borrowed for the call). Nothing but a comment line before the first benchmark starts.
 * 0 or LL_EIO. */
int live_render(const live_snapshot *s, const char *model, FILE *f);

/* The handoff between a runner's loop and the server's thread. */
typedef struct live_slot live_slot;
/* *out owned by caller (live_slot_destroy). 0, LL_ENOMEM or LL_ELIB. */
int live_slot_create(live_slot **out);
void live_slot_destroy(live_slot *s); /* NULL is fine */
void live_slot_store(live_slot *s, const live_snapshot *snap);
void live_slot_load(live_slot *s, live_snapshot *out);

#endif
