/*
 * bench.h - runs benchmarks on one event loop: the scheduler box of the data flow
 * (source -> bench -> client), plus the loop's own health (lag, CPU) and signal handling.
 *
 * A runner owns the loop, the client with its preallocated slots and the pacers; it runs one
 * benchmark (bench_plan) at a time and leaves behind a bench_result holding every record and the
 * token-gap histograms. Open-loop plans take arrival times from arrival.h and send each request
 * when its time comes (a request that finds no free slot waits, and its latency still counts from
 * its scheduled time). Closed-loop plans start the next request from the completion callback.
 */
#ifndef LLMLOAD_BENCH_H
#define LLMLOAD_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "llmload/config.h"
#include "llmload/hist.h"
#include "llmload/live.h"
#include "llmload/record.h"

typedef struct bench_plan {
    char name[64];             /* e.g. "poisson@20" */
    config_schedule schedule;  /* never CONFIG_SCHED_SWEEP: a sweep is a list of plans */
    double rate;               /* req/s (open loop), streams (concurrent); 0 otherwise */
    double max_seconds;        /* 0 = no limit */
    long max_requests;         /* 0 = no limit */
    double warmup_s, cooldown_s;
    uint64_t seed;
    /* Set when the load is shared between worker loops (workers.h); zero for a lone runner. */
    uint64_t start_ns;         /* common start (clock_now_ns scale); 0 = now */
    uint64_t phase_ns;         /* open loop: added to every arrival offset */
    long concurrency;          /* streams or slots of this share; 0 = from the schedule/config */
    /* A dealt share (workers.c, --shard): this plan sends arrivals deal_offset + deal_stride * i
     * of the whole schedule (trace replay: the trace's entries; its rate is then the speed).
     * Stride 0 or 1: every arrival. */
    uint64_t deal_stride, deal_offset;
} bench_plan;

typedef struct bench_result {
    bench_plan plan;
    record_log records;        /* owned; bench_result_free */
    hist *itl;                 /* owned: gaps between token events (measured requests) */
    hist *itl_token;           /* owned: per-token gaps */
    hist *loop_lag;            /* owned: lateness of the loop's 100 ms housekeeping tick */
    uint64_t t0_ns;            /* benchmark start */
    uint64_t sched_end_ns;     /* when scheduling stopped */
    uint64_t end_ns;           /* last request ended */
    uint64_t window_start_ns, window_end_ns; /* measured window, by scheduled time */
    double wall_start;         /* epoch seconds at t0, for labels */
    double cpu_s;              /* CPU the loop's thread used during the benchmark */
    uint64_t started;
    int interrupted;           /* a signal cut it short: results are partial */
    uint64_t pauses;           /* --respect-retry-after: pauses the server asked for */
    uint64_t paused_ns;        /* and their total length */
    size_t slots;              /* in-flight capacity */
    size_t loops;              /* event loops that ran it (--workers) */
    /* The loop's evidence about itself (aggregate.c turns it into the client_bound verdict). */
    uint64_t ticks, late_ticks;    /* housekeeping ticks due in the window; those > 5 ms late */
    uint64_t sends, late_sends;    /* open-loop sends due in the window; > 5 ms late, slot free */
    uint64_t slot_waits;           /* of those sends, the ones that waited for a free slot */
    double cpu_wait_s;             /* the loop's thread waited for a CPU (runqueue); < 0 unknown */
    double busy_s;                 /* the loop was not idle in uv's poll */
    int loop_stamps;               /* reads stamped by the loop (curl), not the kernel's time */
    uint64_t reads_sampled, reads_waited; /* loop-stamped reads sampled; > 2 ms in the socket */
    hist *read_wait;               /* owned: those samples' time in the socket (curl only) */
    /* Set by `llmload merge`: the records' measured flags came from their shards and are kept, so
     * the merged counts are the shards' sums; the aggregator otherwise sets them from the window. */
    int measured_given;
} bench_result;

typedef struct runner runner;

/* Creates the loop and the client (slots = largest in-flight count any plan needs). *out owned by
 * caller (runner_destroy). On failure returns a negative code with one line in err. */
int runner_create(runner **out, const config *cfg, const char *model, size_t slots, char *err,
                  size_t errlen);

/* Runs one plan to its end; res is filled (caller frees with bench_result_free). Returns 0, or a
 * negative code with err set. A SIGINT/SIGTERM during the run sets res->interrupted and makes
 * runner_interrupted() true, so callers skip the remaining plans. */
int runner_run(runner *r, const bench_plan *plan, bench_result *res, char *err, size_t errlen);

/* The first signal received (SIGINT or SIGTERM), or 0. */
int runner_interrupted(const runner *r);

/* Turns the runner's own progress lines off (worker loops leave them to their coordinator); with
 * silence_signals, also its note on SIGINT/SIGTERM (one loop of several says it for all). */
void runner_quiet(runner *r, int silence_signals);

/* Counters of the benchmark being run, safe to read from another thread (relaxed atomics). */
typedef struct runner_counts {
    uint64_t started, completed, errors, in_flight;
    uint64_t sched_end_ns; /* when the benchmark stopped starting requests; 0 while it still does */
} runner_counts;
void runner_counts_read(const runner *r, runner_counts *out);
/* With cfg->metrics_listen: the slot this runner publishes its live snapshot to, once per 100 ms
 * tick and at the end of each benchmark (live.h); NULL otherwise. Borrowed, valid until
 * runner_destroy; live_slot_load on it is safe from any thread. */
live_slot *runner_live(const runner *r);
void runner_destroy(runner *r);

void bench_result_free(bench_result *res);

/* Adds src's counters and histograms into dst, as one loop that did both would have counted them
 * (the records and the times, which each caller places on its own clock, are not touched): the
 * --workers merge and `llmload merge` share it. dst's histograms must exist (src's may be NULL). */
void bench_result_add(bench_result *dst, const bench_result *src);

/* Slots a plan needs: its concurrency for closed loops, max_concurrency for open loops. */
size_t bench_plan_slots(const bench_plan *p, const config *cfg);

#endif
