/*
 * scrape.h - samples inference servers' own Prometheus /metrics during a run (--server-metrics),
 * beside the data flow: one thread per URL, never the request loop, so a slow or failing /metrics
 * cannot delay a send or a read stamp. Keeps, per URL, a CLOCK_MONOTONIC time series of the metrics
 * llmload knows (one alias table maps each engine's names to a role: running, waiting, kv_usage...)
 * plus the raw series --server-metrics-keep names, and summarises any window of it: gauges as
 * mean/max/percentiles, counters as increases and rates (resets as PromQL's increase), histograms
 * as the window's bucket deltas and quantiles. A failed or slow scrape is counted, never fatal.
 */
#ifndef LLMLOAD_SCRAPE_H
#define LLMLOAD_SCRAPE_H

#include <stddef.h>
#include <stdint.h>

/* What a known metric means to llmload, whatever the engine calls it (the alias table in
 * scrape.c; docs/server-metrics.md lists it). Append-only: report.json names them. */
typedef enum scrape_role {
    SCRAPE_RUNNING = 0,     /* gauge: requests in the running batch */
    SCRAPE_WAITING,         /* gauge: requests queued in the engine */
    SCRAPE_KV_USAGE,        /* gauge: KV cache used, 0..1 */
    SCRAPE_PREEMPTIONS,     /* counter: sequences preempted (vLLM) */
    SCRAPE_RETRACTED,       /* gauge: requests retracted (SGLang's preemption) */
    SCRAPE_PREFIX_HITS,     /* counter: prefix-cache hit tokens */
    SCRAPE_PREFIX_QUERIES,  /* counter: prefix-cache queried tokens */
    SCRAPE_PREFIX_HIT_RATE, /* gauge: SGLang's own hit rate, 0..1 */
    SCRAPE_PROMPT_TOKENS,   /* counter */
    SCRAPE_GENERATION_TOKENS, /* counter */
    SCRAPE_PROMPT_TPS,      /* gauge: the engine's own prefill tokens/s */
    SCRAPE_GENERATION_TPS,  /* gauge: the engine's own decode tokens/s */
    SCRAPE_BATCH_TOKENS,    /* gauge: tokens the current batch may hold (TGI) */
    SCRAPE_ITERATION_TOKENS, /* histogram: tokens per engine step */
    SCRAPE_QUEUE_TIME,      /* histogram, seconds */
    SCRAPE_TTFT,            /* histogram, seconds */
    SCRAPE_ITL,             /* histogram, seconds */
    SCRAPE_E2E,             /* histogram, seconds */
    SCRAPE_GPU_UTIL,        /* gauge, 0..1 (DCGM's percent / 100), mean over GPUs */
    SCRAPE_SM_ACTIVE,       /* gauge, 0..1, mean over GPUs */
    SCRAPE_DRAM_ACTIVE,     /* gauge, 0..1, mean over GPUs */
    SCRAPE_FB_USED,         /* gauge, MiB, summed over GPUs */
    SCRAPE_POWER,           /* gauge, W, summed over GPUs */
    SCRAPE_ENERGY,          /* counter, J (DCGM's mJ / 1000), summed over GPUs */
    SCRAPE_ROLE_COUNT_
} scrape_role;

typedef enum scrape_kind { SCRAPE_GAUGE = 0, SCRAPE_COUNTER, SCRAPE_HISTOGRAM } scrape_kind;

/* One role's figures over a window. Which fields mean something depends on kind:
 * gauge: n, mean, max, p50, p90, p99, last; counter: increase, rate, resets;
 * histogram: increase (observations in the window), rate (per second), mean (sum/count),
 * p50/p90/p99 (histogram_quantile over the window's bucket deltas), resets. */
typedef struct scrape_figure {
    int present;
    scrape_kind kind;
    size_t n;
    double mean, max, p50, p90, p99, last;
    double increase, rate;
    uint64_t resets;
} scrape_figure;

typedef struct scrape_summary {
    uint64_t scrapes;        /* attempts whose time lies in the window */
    uint64_t scrapes_failed; /* of which failed (refused, timed out, not 200, unparseable) */
    double covered_s;        /* window time between successful scrapes that counters could use */
    scrape_figure fig[SCRAPE_ROLE_COUNT_];
    double prefix_hit_rate;  /* hits/queries increase, else the hit-rate gauge's mean; NaN if none */
    double energy_per_token_j; /* energy increase / generation tokens increase; NaN if either lacks */
} scrape_summary;

typedef struct scrape_opts {
    const char *const *urls; /* borrowed during scrape_create (copied) */
    size_t n_urls;
    double interval_s;       /* > 0 */
    double timeout_s;        /* per scrape; 0: 80% of the interval (at most 10 s) */
    const char *keep_regex;  /* POSIX extended regex on sample names kept raw, or NULL */
    int insecure;            /* https: do not verify */
    const char *ca_cert;     /* https: CA bundle, or NULL */
} scrape_opts;

typedef struct scrape scrape;

/* Makes a scraper (no thread yet). *out owned by caller: scrape_destroy. A bad regex is
 * LL_EUSAGE with one line in err; LL_ENOMEM / LL_ELIB otherwise. */
int scrape_create(scrape **out, const scrape_opts *o, char *err, size_t errlen);

/* Starts one thread per URL; returns when each has made its first scrape (a failure is counted,
 * not returned). LL_ELIB / LL_ENOMEM when a thread cannot start (the ones started are stopped). */
int scrape_start(scrape *s, char *err, size_t errlen);

/* Asks every thread for a scrape now and waits for it (each bounded by the timeout): the edges
 * of a benchmark's window. No-op when not started. */
void scrape_now(scrape *s);

/* Makes the last scrape and joins the threads. Safe on NULL and twice. */
void scrape_stop(scrape *s);
void scrape_destroy(scrape *s);

size_t scrape_n_urls(const scrape *s);
/* Borrowed, valid until scrape_destroy. */
const char *scrape_url(const scrape *s, size_t i);

/* Adds one scrape of URL i made at t_ns: body parsed (or, body NULL, a failed attempt). What the
 * threads call; tests feed it directly. Thread-safe. 0 or LL_ENOMEM (the point is then dropped). */
int scrape_ingest(scrape *s, size_t i, uint64_t t_ns, const char *body, size_t len);

/* Summarises URL i over [t0_ns, t1_ns] (clock_now_ns scale). Thread-safe. 0 or LL_ENOMEM. */
int scrape_summarize(scrape *s, size_t i, uint64_t t0_ns, uint64_t t1_ns, scrape_summary *out);

/* Every URL over the window in one summary, for the diagnosis: for each role the first URL that
 * has it (the engine before a GPU exporter, in --server-metrics order); scrape counts add up. */
int scrape_summarize_all(scrape *s, uint64_t t0_ns, uint64_t t1_ns, scrape_summary *out);

/* The series of URL i inside [t0_ns, t1_ns] as a cJSON object {name: [[t_s, value], ...]}:
 * known roles by their role name, raw kept series by "name{labels}"; t_s from base_ns. Counters
 * and histograms (their _count) are given as their raw cumulative values. *out: ownership moves
 * to the caller (cJSON_Delete). 0 or LL_ENOMEM. */
struct cJSON;
int scrape_series_json(scrape *s, size_t i, uint64_t t0_ns, uint64_t t1_ns, uint64_t base_ns,
                       struct cJSON **out);

/* A summary as report.json writes it: {role: {kind, n, mean, max, p50...}, prefix_hit_rate,
 * energy_per_token_j, scrapes, scrapes_failed, covered_s}, only the roles present, NaN as null.
 * *out: ownership moves to the caller (cJSON_Delete). 0 or LL_ENOMEM. */
int scrape_summary_json(const scrape_summary *sum, struct cJSON **out);

/* One benchmark's benchmarks[].server object: {"urls": [{url, scrapes, scrapes_failed,
 * last_error, summary}], "series": every URL's series merged (a name from the first URL that has
 * it) over [base_ns, end_ns] with t from base_ns, "summary": scrape_summarize_all over
 * [w0_ns, w1_ns], "scrapes_failed"}. *out: ownership moves to the caller. 0 or LL_ENOMEM. */
int scrape_report_json(scrape *s, uint64_t base_ns, uint64_t end_ns, uint64_t w0_ns, uint64_t w1_ns,
                       struct cJSON **out);

/* The role's name in reports ("running", "kv_usage"...) and kind; static. */
const char *scrape_role_name(scrape_role r);
scrape_kind scrape_role_kind(scrape_role r);
const char *scrape_kind_name(scrape_kind k);

/* Failure of URL i's last failed scrape ("" if none); copied into buf. */
void scrape_last_error(scrape *s, size_t i, char *buf, size_t len);

/* ---- llama.cpp's /slots: the KV figure newer llama-server builds no longer put in /metrics ----
 * When a scrape of URL i has llama.cpp's names (llamacpp:*) and no KV usage gauge, its thread asks
 * GET /slots on the same server (scrape_slots_url) and sets kv_usage on that scrape's point. */

typedef struct scrape_slots_kv_figure {
    double usage;        /* held_tokens / ctx_tokens, at most 1; NaN when no figure */
    double ctx_tokens;   /* sum of every slot's n_ctx */
    double held_tokens;  /* sum of n_prompt_tokens (prompt + generated) of the processing slots */
    size_t slots, processing;
} scrape_slots_kv_figure;

/* Reads a GET /slots answer (outside bytes: fuzzed). 0 with out filled; LL_EPARSE when it is not a
 * JSON array of slots each with n_ctx > 0 and is_processing (or the older state), or a processing
 * slot lacks n_prompt_tokens (older builds: no figure rather than a guess); LL_EOVERSIZE. */
int scrape_slots_kv(const char *body, size_t len, scrape_slots_kv_figure *out);

/* The /slots URL of a metrics URL: "http://h:8080/metrics" -> "http://h:8080/slots", a path
 * prefix before /metrics kept ("http://h/llama/metrics" -> "http://h/llama/slots"), any other path
 * -> the server's root. 0, LL_EINVAL (no scheme://host), LL_EOVERSIZE (len too small). */
int scrape_slots_url(const char *metrics_url, char *out, size_t len);

/* Sets kv_usage of URL i's scrape made at t_ns (a successful one without a KV gauge) from a /slots
 * body. What the threads call after the scrape; tests feed it directly. Thread-safe. 0 (also when
 * no such point: nothing to set), or scrape_slots_kv's error (the point keeps no KV figure). */
int scrape_ingest_slots(scrape *s, size_t i, uint64_t t_ns, const char *body, size_t len);

/* Whether URL i's last successful scrape was llama.cpp-style without a KV gauge (so /slots is
 * wanted), and what /slots gave so far: *fetched answers used, *failed attempts that gave none;
 * the /slots URL into url ("" when never tried). Thread-safe. */
int scrape_slots_state(scrape *s, size_t i, uint64_t *fetched, uint64_t *failed, char *url, size_t len);

#endif
