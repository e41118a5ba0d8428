/*
 * diagnose.h - names what limited a benchmark, in one word, from the server's own metrics over its
 * measured window (scrape.h's summary) and the client's figures (aggregate stage, after both).
 * A pure function: same inputs, same verdict; every rule and threshold is in docs/server-metrics.md.
 */
#ifndef LLMLOAD_DIAGNOSE_H
#define LLMLOAD_DIAGNOSE_H

#include <stddef.h>

#include "llmload/scrape.h"

/* Append-only: report.json and scripts name them. */
typedef enum diagnose_verdict {
    DIAGNOSE_NOT_SATURATED = 0,
    DIAGNOSE_KV_CACHE_FULL,
    DIAGNOSE_BATCH_FULL,
    DIAGNOSE_COMPUTE_BOUND,
    DIAGNOSE_QUEUEING,
    DIAGNOSE_LATENCY_FLOOR,
    DIAGNOSE_CLIENT_BOUND,
    DIAGNOSE_UNKNOWN /* no server metric to judge by (nothing scraped in the window) */
} diagnose_verdict;

/* The client's side of one benchmark. NaN where unknown. The *_base figures come from the
 * lightest benchmark of the run (the synchronous point of a sweep, or the first of a --rate
 * list), so "grows with the load" can be judged; NaN for a lone benchmark. */
typedef struct diagnose_client {
    double ttft_p50_ms;
    double ttft_p50_ms_base;
    double tpot_p50_ms;
    double tpot_p50_ms_base;
    double in_flight_mean;  /* time-weighted requests in flight (the client's concurrency) */
    int client_bound;       /* the client's own verdict on itself */
} diagnose_client;

/* The verdict and the figures it rests on (NaN: not exposed by the server). */
typedef struct diagnose_result {
    diagnose_verdict verdict;
    const char *reason;     /* one line, static */
    double running_mean, running_max, running_p50;
    double waiting_mean, waiting_max;
    double kv_usage_max;
    double preemptions;     /* increase over the window (vLLM), or SGLang's retracted max */
    double gpu_busy;        /* mean SM active, else mean GPU utilisation, 0..1 */
    double in_flight_mean;
    double ttft_p50_ms, ttft_growth; /* growth: ttft_p50_ms / ttft_p50_ms_base */
    double tpot_growth;
} diagnose_result;

/* Fills out from the summary and the client figures (either may lack figures; srv may be NULL).
 * Never fails. */
void diagnose(const scrape_summary *srv, const diagnose_client *cl, diagnose_result *out);

/* "kv_cache_full", "batch_full"...; static. */
const char *diagnose_verdict_name(diagnose_verdict v);

/* {"verdict", "reason", "evidence": {...}} with NaN figures left out. *out: ownership moves to the
 * caller (cJSON_Delete). 0 or LL_ENOMEM. */
struct cJSON;
int diagnose_json(const diagnose_result *r, struct cJSON **out);

/* One console line without newline, e.g. "batch_full: running 4 of max 4, waiting 8.0 mean,
 * kv max 38%": written into buf like snprintf. */
void diagnose_line(const diagnose_result *r, char *buf, size_t len);

#endif
