/*
 * aggregate.h - turns one benchmark's records and histograms into the statistics design.md
 * defines (record -> aggregate -> report).
 *
 * Measured requests are those scheduled inside [t0 + warmup, t0 + max_seconds - cooldown). Exact
 * per-request samples give ttft/ttfot/ttfb/tpot/e2e/schedule-lag percentiles; token gaps come
 * from the histograms. The measured duration is the window when the time limit ended the run, and
 * from the window start to the last completion otherwise (request limit, interruption).
 * Throughput is what happened inside that window, whatever each request's start: completions that
 * ended in it, tokens received in it (each stream's spread evenly between its first and last
 * token), over its length. See docs/metrics.md for every definition.
 */
#ifndef LLMLOAD_AGGREGATE_H
#define LLMLOAD_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "llmload/bench.h"
#include "llmload/record.h"
#include "llmload/stats.h"

typedef struct agg_second {
    double t;            /* end of the second, from the benchmark start */
    double in_flight;    /* time-weighted mean over the second */
    uint64_t completed;  /* requests that ended OK in the second */
    uint64_t errors;
    double output_tps;   /* output tokens produced in the second */
} agg_second;

typedef struct bench_summary {
    char name[64];
    const char *schedule;     /* static string */
    double target_rate;
    double achieved_rate;     /* requests sent per second in the window */
    double duration_s;        /* measured duration */
    int open_loop;
    int interrupted;
    uint64_t started;         /* every request sent, warmup included */
    uint64_t measured;        /* requests in the window */
    uint64_t completed, errored, incomplete, short_output;
    uint64_t cancelled;       /* abandoned by the client (--cancel-rate): in no latency statistic */
    uint64_t errors_by_kind[RECORD_ERR_COUNT_];
    char first_errors[3][128];
    size_t n_first_errors;

    /* milliseconds */
    stats_summary ttft, ttfot, ttfb, tpot, e2e, itl, itl_token, itl_request_mean, schedule_lag;
    stats_summary ttft_from_scheduled, e2e_from_scheduled; /* open loop only (n = 0 otherwise) */
    /* tokens */
    stats_summary prompt_tokens, output_tokens;

    double request_throughput, output_token_throughput, total_token_throughput;
    double concurrency_mean;
    double goodput;           /* req/s meeting every per-request SLO (set by the gate) */
    int has_goodput;
    double tokens_per_event;
    const char *output_tokens_source; /* "usage", "events" or "mixed" */
    uint64_t itl_out_of_range;

    agg_second *series; /* owned; n_series entries */
    size_t n_series;

    double loop_lag_ms_p99, loop_lag_ms_max, cpu_percent;
    size_t slots;
    size_t loops;
    uint64_t connections_opened; /* by every request of the benchmark, warmup included */
    int client_bound;
    char client_bound_reason[256];
    uint64_t requests_resent; /* sent a second time on a new connection, warmup included */
    uint64_t resent_by_reason[RECORD_RESEND_COUNT_]; /* indexed by record_resend_reason */
    double prompt_tokens_asked_mean; /* completed requests: the lengths the source built to */

    /* How streams ended, over completed measured requests */
    uint64_t no_done_ok;              /* complete without data: [DONE] (finish_reason, clean end) */
    uint64_t finish_reasons[RECORD_FINISH_COUNT_]; /* by record_finish (NONE: no finish_reason) */
    uint64_t usage_running;           /* requests whose usage was a running count */
    uint64_t multi_event;             /* requests with >= 2 token events (could have had one) */
    /* What the server said about itself (llama.cpp timings), over requests that sent them */
    uint64_t with_timings;
    stats_summary server_prompt_ms, server_predicted_per_token_ms;
    double ttft_minus_server_prompt_ms; /* mean: network, queueing and client time before prefill */
    stats_summary connect;       /* ms: TCP connects of measured requests that opened one */

    /* Throughput's window, [start, end] on the clock.h scale (see the top of this file). */
    uint64_t window_start_ns, window_end_ns;
    double offered_rate;          /* requests sent inside the window / its length */
    uint64_t completed_in_window; /* OK completions that ended inside it (request_throughput's) */
    uint64_t completed_in_grace;  /* OK completions after it ended (cooldown and grace) */
    /* The client's evidence about itself (docs/metrics.md "The client watches itself"). */
    double late_wakeup_share;     /* housekeeping ticks in the window late by > 5 ms */
    double late_send_share;       /* open loop: sends > 5 ms late with a slot free */
    double slot_wait_share;       /* open loop: sends that had to wait for a free slot */
    double cpu_wait_percent;      /* the loop waited for a CPU (runqueue), % of wall; -1 unknown */
    double loop_busy_percent;     /* the loop was not idle, % of the window's wall time */
    int loop_stamps;              /* reads stamped by the loop (curl), not by the kernel */
    double read_wait_share;       /* loop stamps: sampled reads whose bytes sat > 2 ms in the socket */
    double read_wait_ms_p99;      /* loop stamps: p99 of the sampled reads' time in the socket */
} bench_summary;

/* Whether a record counts in request_throughput: completed OK inside the window. */
int aggregate_completed_in_window(const bench_summary *s, const record *r);

/* Fills out from res. Marks res's records' `measured` flag. 0 or LL_ENOMEM.
 * out->series is owned by out: bench_summary_free. */
int aggregate_bench(bench_result *res, bench_summary *out);
void bench_summary_free(bench_summary *s);

#endif
