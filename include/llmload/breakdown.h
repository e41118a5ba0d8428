/*
 * breakdown.h - a benchmark's statistics split by a key of its records (aggregate -> report):
 * by turn index of multi-turn sessions (record.turn: a later turn's TTFT shows the server's prefix
 * cache at work) or by model of a --model mix (record.model).
 *
 * Only measured records count (the aggregator sets record.measured first, aggregate_bench). Per
 * group: requests (measured), completed, errors, incomplete, cancelled (--cancel-rate); TTFT, per-request mean ITL and E2E
 * summaries over the completed ones (exact, stats.h); output tokens of the completed ones per
 * second of the benchmark's measured window. Records outside any group (turn 0: not part of a
 * session) are left out of a turn breakdown.
 */
#ifndef LLMLOAD_BREAKDOWN_H
#define LLMLOAD_BREAKDOWN_H

#include <stddef.h>
#include <stdint.h>

#include "llmload/record.h"
#include "llmload/stats.h"

struct cJSON;

typedef enum breakdown_key {
    BREAKDOWN_TURN,  /* record.turn, 1-based; records with turn 0 are left out */
    BREAKDOWN_MODEL  /* record.model, an index into the names given */
} breakdown_key;

typedef struct breakdown_group {
    unsigned key;          /* the turn (1-based) or the model index */
    const char *name;      /* the model's name (borrowed from the names given), NULL for turns */
    uint64_t requests, completed, errors, incomplete, cancelled;
    stats_summary ttft_ms, itl_ms, e2e_ms;
    double output_token_throughput; /* tokens/s over the measured window */
} breakdown_group;

typedef struct breakdown {
    breakdown_group *groups; /* owned (breakdown_free); ascending by key; only keys seen */
    size_t n;
} breakdown;

/* Groups log's measured records by key. names (n_names of them, borrowed; may be NULL) name the
 * model indexes. window_s is the measured window's length (0: no throughput). Returns 0 or
 * LL_ENOMEM (out is then empty). */
int breakdown_compute(const record_log *log, breakdown_key key, const char *const *names, size_t n_names,
                      double window_s, breakdown *out);
void breakdown_free(breakdown *b); /* zeroes it; a zeroed breakdown is fine */

/* Adds parent[key] = [{"turn"|"model": .., "requests", "completed", "errors", "incomplete", "cancelled",
 * "ttft_ms": {mean,p50,p90,p95,p99}, "itl_ms": {..}, "e2e_ms": {..}, "output_token_throughput"}]
 * in key order. 0 or LL_ENOMEM. */
int breakdown_to_json(const breakdown *b, breakdown_key key, struct cJSON *parent, const char *name);

#endif
