/*
 * aggregate.c - statistics of one benchmark from its records (record -> aggregate -> report).
 * Everything here is computed after the run, from exact per-request timestamps, so the hot path
 * only appends records and feeds token gaps to histograms.
 */
#include "llmload/aggregate.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/clock.h"
#include "llmload/error.h"
#include "llmload/hist.h"

#define SERIES_MAX 86400 /* one day of seconds: a longer run's series is cut, not grown */
/* The client's verdict on itself needs sustained evidence, never one late wake-up: a single
 * preemption makes the p99 of ~100 ticks its maximum. Shares, with a floor of events, so a short
 * run does not turn 1 of 10 into 10%. docs/metrics.md "The client watches itself".
 * CPU + runqueue wait, per loop: running or waiting to run this much of the time leaves no slack;
 * 85, not 90: a loop starved on a shared core measured 89-95 (test_client_bound.py), heavy runs
 * on the busy 2-core machine that kept up measured 65-79. */
#define CLIENT_BOUND_CPU_PERCENT 85.0
#define CLIENT_BOUND_LATE_SHARE 0.10    /* ticks or sends > 5 ms late */
#define CLIENT_BOUND_LATE_MIN 3
/* Late wake-ups judge a loop only over two seconds of 100 ms ticks: in a 1 s run three late ticks
 * are 30%, which one busy moment of the machine makes (twenty 1 s runs under ASan on a loaded
 * 2-core machine flagged two that way). */
#define CLIENT_BOUND_TICKS_MIN 20
#define CLIENT_BOUND_SLOT_SHARE 0.05    /* open-loop sends that waited for a slot */
/* Loop-stamped reads: the p99 of their time in the socket against the ITL p99 it would inflate. */
#define CLIENT_BOUND_READ_WAIT_OF_ITL 0.10
#define CLIENT_BOUND_READ_WAIT_MIN_MS 1.0
#define CLIENT_BOUND_READ_SAMPLES 200 /* the p99 then rests on at least two reads, never on one hiccup */

static double ms(uint64_t a, uint64_t b) { return a > b ? (double)(a - b) / 1e6 : 0.0; }

/* A histogram as a source of order statistics for the percentile intervals, in the report's unit. */
typedef struct hist_ranks {
    const hist *h;
    double scale;
} hist_ranks;

static double hist_rank_value(const void *ctx, uint64_t rank)
{
    const hist_ranks *hr = ctx;
    return hist_value_at_rank(hr->h, rank) * hr->scale;
}

static void hist_summary(const hist *h, stats_summary *s, double scale)
{
    memset(s, 0, sizeof *s);
    s->n = (size_t)hist_count(h);
    if (!s->n)
        return;
    s->mean = hist_mean(h) * scale;
    s->stdev = hist_stdev(h) * scale;
    s->min = (double)hist_min(h) * scale;
    s->max = (double)hist_max(h) * scale;
    s->p50 = hist_percentile(h, 50) * scale;
    s->p90 = hist_percentile(h, 90) * scale;
    s->p95 = hist_percentile(h, 95) * scale;
    s->p99 = hist_percentile(h, 99) * scale;
    s->p999 = hist_percentile(h, 99.9) * scale;
    stats_fill_ci(s, hist_rank_value, &(hist_ranks){h, scale});
}

/* Adds weight * overlap of [a, b) with each second of the series. */
static void spread(agg_second *series, size_t n, uint64_t t0, uint64_t a, uint64_t b, double per_ns_weight,
                   int as_count, double total)
{
    if (b <= a) {
        size_t k = (size_t)((a - t0) / CLOCK_NS_PER_S);
        if (k < n) {
            if (as_count)
                series[k].output_tps += total;
            else
                series[k].in_flight += 0;
        }
        return;
    }
    size_t k0 = (size_t)((a - t0) / CLOCK_NS_PER_S);
    size_t k1 = (size_t)((b - 1 - t0) / CLOCK_NS_PER_S);
    for (size_t k = k0; k <= k1 && k < n; k++) {
        uint64_t s0 = t0 + k * CLOCK_NS_PER_S, s1 = s0 + CLOCK_NS_PER_S;
        uint64_t lo = a > s0 ? a : s0, hi = b < s1 ? b : s1;
        double w = (double)(hi - lo) * per_ns_weight;
        if (as_count)
            series[k].output_tps += w;
        else
            series[k].in_flight += w;
    }
}

static int build_series(const bench_result *res, bench_summary *out)
{
    uint64_t t0 = res->t0_ns;
    uint64_t span = res->end_ns > t0 ? res->end_ns - t0 : 0;
    size_t n = (size_t)((span + CLOCK_NS_PER_S - 1) / CLOCK_NS_PER_S);
    if (n == 0)
        n = 1;
    if (n > SERIES_MAX)
        n = SERIES_MAX;
    agg_second *series = calloc(n, sizeof *series);
    if (!series)
        return LL_ENOMEM;
    for (size_t k = 0; k < n; k++)
        series[k].t = (double)(k + 1);
    for (size_t i = 0; i < res->records.len; i++) {
        const record *r = &res->records.items[i];
        uint64_t start = r->sent_ns ? r->sent_ns : r->scheduled_ns;
        if (start < t0 || !r->end_ns)
            continue;
        spread(series, n, t0, start, r->end_ns, 1.0 / 1e9, 0, 0);
        size_t k = (size_t)((r->end_ns - t0) / CLOCK_NS_PER_S);
        if (k < n) {
            if (r->status == RECORD_OK)
                series[k].completed++;
            else if (r->status == RECORD_ERROR)
                series[k].errors++;
        }
        if (r->output_tokens > 0 && r->first_token_ns >= t0) {
            uint64_t a = r->first_token_ns, b = r->last_token_ns;
            double per_ns = b > a ? (double)r->output_tokens / (double)(b - a) : 0;
            spread(series, n, t0, a, b, per_ns, 1, (double)r->output_tokens);
        }
    }
    /* The last second may be partial: scale its rates to per-second figures. */
    double last_len = (double)(span - (uint64_t)(n - 1) * CLOCK_NS_PER_S) / 1e9;
    if (span && last_len > 0 && last_len < 1.0 && n <= SERIES_MAX) {
        series[n - 1].t = (double)(n - 1) + last_len;
        series[n - 1].in_flight /= last_len;
        series[n - 1].output_tps /= last_len;
    }
    out->series = series;
    out->n_series = n;
    return 0;
}

/* connect_ms: the connects measured requests made (a reused connection has none), apart from
 * every server time, which counts from the send after them. */
static int connect_summary(const bench_result *res, stats_summary *out)
{
    size_t n = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < res->records.len; i++)
        n += res->records.items[i].measured && res->records.items[i].connect_us > 0;
    if (!n)
        return 0;
    double *v = malloc(n * sizeof *v);
    if (!v)
        return LL_ENOMEM;
    n = 0;
    for (size_t i = 0; i < res->records.len; i++) {
        const record *r = &res->records.items[i];
        if (r->measured && r->connect_us > 0)
            v[n++] = (double)r->connect_us / 1e3;
    }
    int rc = stats_summarize(v, n, out);
    free(v);
    return rc;
}

static int summarize_vec(double *v, size_t n, stats_summary *s)
{
    return stats_summarize(v, n, s);
}

/* Share of [a, b] inside [ws, we]: a stream's tokens are taken as spread evenly between its first
 * and last token (the per-second series uses the same rule); one instant counts whole or not. */
static double share_in(uint64_t a, uint64_t b, uint64_t ws, uint64_t we)
{
    if (b <= a)
        return a >= ws && a <= we ? 1.0 : 0.0;
    uint64_t lo = a > ws ? a : ws, hi = b < we ? b : we;
    return hi > lo ? (double)(hi - lo) / (double)(b - a) : 0.0;
}

int aggregate_completed_in_window(const bench_summary *s, const record *r)
{
    return r->status == RECORD_OK && r->end_ns >= s->window_start_ns && r->end_ns <= s->window_end_ns;
}

static double share(uint64_t part, uint64_t whole)
{
    return whole ? (double)part / (double)whole : 0.0;
}

/* Appends "; reason" to the verdict (the first one without the separator). */
__attribute__((format(printf, 2, 3))) static void add_reason(bench_summary *out, const char *fmt, ...)
{
    size_t len = strlen(out->client_bound_reason);
    out->client_bound = 1;
    if (len + 3 >= sizeof out->client_bound_reason)
        return;
    if (len)
        len += (size_t)snprintf(out->client_bound_reason + len, sizeof out->client_bound_reason - len, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->client_bound_reason + len, sizeof out->client_bound_reason - len, fmt, ap);
    va_end(ap);
}

/* The client_bound verdict from what the loop recorded about itself (bench.h). Each rule is a
 * sustained condition; the reason names every rule that fired, with its figures. */
static void judge_client(const bench_result *res, bench_summary *out, double wall)
{
    double loops = (double)out->loops;
    out->late_wakeup_share = share(res->late_ticks, res->ticks);
    out->late_send_share = share(res->late_sends, res->sends);
    out->slot_wait_share = share(res->slot_waits, res->sends);
    out->cpu_wait_percent = res->cpu_wait_s >= 0 && wall > 0 ? 100.0 * res->cpu_wait_s / wall : -1;
    out->loop_busy_percent = wall > 0 ? 100.0 * res->busy_s / wall / loops : 0;
    out->loop_stamps = res->loop_stamps;
    out->read_wait_share = share(res->reads_waited, res->reads_sampled);
    uint64_t nw = res->read_wait ? hist_count(res->read_wait) : 0;
    out->read_wait_ms_p99 = nw ? hist_percentile(res->read_wait, 99) / 1e6 : 0;
    double cpu = out->cpu_percent / loops;
    double wait = out->cpu_wait_percent > 0 ? out->cpu_wait_percent / loops : 0;
    /* Running or waiting to run nearly all the time: the loop needed a whole core (on a core
     * shared with busy processes it gets a share of one and waits the rest). */
    if (cpu + wait >= CLIENT_BOUND_CPU_PERCENT) {
        if (wait >= 10.0)
            add_reason(out, "CPU %.0f%% of a core and %.0f%% waiting for one", cpu, wait);
        else
            add_reason(out, "CPU at %.0f%% of a core per loop", cpu);
    }
    if (res->ticks >= CLIENT_BOUND_TICKS_MIN && res->late_ticks >= CLIENT_BOUND_LATE_MIN &&
        out->late_wakeup_share >= CLIENT_BOUND_LATE_SHARE)
        add_reason(out, "%.0f%% of loop wake-ups over 5 ms late (p99 %.1f ms)", 100.0 * out->late_wakeup_share,
                   out->loop_lag_ms_p99);
    if (res->late_sends >= CLIENT_BOUND_LATE_MIN && out->late_send_share >= CLIENT_BOUND_LATE_SHARE)
        add_reason(out, "%.0f%% of sends over 5 ms late with a slot free (schedule lag p99 %.1f ms)",
                   100.0 * out->late_send_share, out->schedule_lag.p99);
    if (res->slot_waits >= CLIENT_BOUND_LATE_MIN && out->slot_wait_share >= CLIENT_BOUND_SLOT_SHARE)
        add_reason(out, "%.0f%% of sends waited for one of %.0f slots (raise --max-concurrency)",
                   100.0 * out->slot_wait_share, (double)out->slots);
    /* curl's reads carry the loop's time, so bytes that waited in the socket while the loop was
     * busy elsewhere are stamped late; the built-in client's kernel stamps do not have that error.
     * The tail is what it spoils: a read wait p99 of a tenth of the ITL p99 moves that p99 by as
     * much (curl, 512 streams of 10 ms tokens: read waits p99 7.0 ms, ITL p99 16.1 ms against the
     * 12.9 ms the simulator wrote). */
    if (res->loop_stamps && nw >= CLIENT_BOUND_READ_SAMPLES && out->read_wait_ms_p99 >= CLIENT_BOUND_READ_WAIT_MIN_MS &&
        out->read_wait_ms_p99 >= CLIENT_BOUND_READ_WAIT_OF_ITL * out->itl.p99)
        add_reason(out, "reads waited in the socket up to %.1f ms (p99; %.0f%% of the ITL p99), stamped late by the loop (curl; loop busy %.0f%%)",
                   out->read_wait_ms_p99, out->itl.p99 > 0 ? 100.0 * out->read_wait_ms_p99 / out->itl.p99 : 100.0,
                   out->loop_busy_percent);
}

int aggregate_bench(bench_result *res, bench_summary *out)
{
    const bench_plan *p = &res->plan;
    size_t n = res->records.len;
    int rc = LL_ENOMEM;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", p->name);
    out->schedule = config_schedule_name(p->schedule);
    out->target_rate = p->rate;
    out->open_loop = p->schedule == CONFIG_SCHED_CONSTANT || p->schedule == CONFIG_SCHED_POISSON ||
                     p->schedule == CONFIG_SCHED_TRACE;
    out->interrupted = res->interrupted;
    out->started = res->started;
    out->slots = res->slots;
    out->loops = res->loops ? res->loops : 1;

    /* The measured window: by the time limit when it ended the run, else to the last completion. */
    uint64_t ws = res->window_start_ns, we;
    int time_limited = p->max_seconds > 0 && !res->interrupted &&
                       res->sched_end_ns >= res->t0_ns + (uint64_t)(p->max_seconds * 1e9);
    we = time_limited ? res->window_end_ns : res->end_ns;
    if (res->window_end_ns < we)
        we = res->window_end_ns;
    if (we < ws)
        we = ws;
    out->duration_s = (double)(we - ws) / 1e9;
    out->window_start_ns = ws;
    out->window_end_ns = we;

    double *v[16] = {0};
    for (size_t i = 0; i < 16; i++)
        if (!(v[i] = malloc((n ? n : 1) * sizeof(double))))
            goto out;
    size_t nt = 0, nto = 0, nfb = 0, ntp = 0, ne = 0, nil = 0, nlag = 0, nts = 0, nes = 0, npt = 0, not_ = 0;
    size_t nsp = 0, nspt = 0, nttm = 0;
    double ttft_minus_sp = 0;
    uint64_t sent_in_window = 0, out_tok = 0, usage_n = 0, events_total = 0, offered = 0;
    double conc = 0, asked_sum = 0, win_out_tok = 0, win_in_tok = 0;
    for (size_t i = 0; i < n; i++) {
        record *r = &res->records.items[i];
        out->connections_opened += r->new_connection;
        if (r->resent > RECORD_RESEND_NONE && r->resent < RECORD_RESEND_COUNT_) {
            out->requests_resent++;
            out->resent_by_reason[r->resent]++;
        }
        /* Throughput: what happened inside the window, whatever the request's scheduled time. */
        offered += r->sent_ns && r->sent_ns >= ws && r->sent_ns < we;
        if (aggregate_completed_in_window(out, r))
            out->completed_in_window++;
        else if (r->status == RECORD_OK && r->end_ns > we)
            out->completed_in_grace++;
        if (r->first_token_ns && r->output_tokens > 0) {
            uint64_t last = r->last_token_ns > r->first_token_ns ? r->last_token_ns : r->first_token_ns;
            win_out_tok += (double)r->output_tokens * share_in(r->first_token_ns, last, ws, we);
            /* A prompt is processed once its first token is out. */
            if (r->first_token_ns >= ws && r->first_token_ns <= we && r->prompt_tokens > 0)
                win_in_tok += r->prompt_tokens;
        }
        if (!res->measured_given)
            r->measured = r->scheduled_ns >= res->window_start_ns && r->scheduled_ns < res->window_end_ns;
        if (!r->measured)
            continue;
        out->measured++;
        if (r->sent_ns >= ws && r->sent_ns < we)
            sent_in_window++;
        if (r->sent_ns && r->end_ns) {
            uint64_t a = r->sent_ns > ws ? r->sent_ns : ws, b = r->end_ns < we ? r->end_ns : we;
            if (b > a)
                conc += (double)(b - a);
        }
        if (r->sent_ns)
            v[7][nlag++] = ms(r->sent_ns, r->scheduled_ns);
        if (r->status == RECORD_INCOMPLETE) {
            out->incomplete++;
            continue;
        }
        /* A cancelled stream is no error, and in no latency statistic, its TTFT included: the
         * cancelled ones are a seeded random share, so leaving them all out keeps every latency
         * unbiased, where keeping the TTFTs of those that got a token before D would favour fast
         * ones (docs/metrics.md). */
        if (r->status == RECORD_CANCELLED) {
            out->cancelled++;
            continue;
        }
        if (r->status == RECORD_ERROR) {
            out->errored++;
            out->errors_by_kind[r->error_kind < RECORD_ERR_COUNT_ ? r->error_kind : RECORD_ERR_OTHER]++;
            const char *msg = record_log_error(&res->records, r);
            if (msg[0] && out->n_first_errors < 3)
                snprintf(out->first_errors[out->n_first_errors++], sizeof out->first_errors[0], "%s: %s",
                         record_error_kind_name(r->error_kind), msg);
            continue;
        }
        out->completed++;
        out->short_output += r->short_output;
        out->no_done_ok += !r->done_seen;
        out->finish_reasons[r->finish_reason < RECORD_FINISH_COUNT_ ? r->finish_reason : RECORD_FINISH_OTHER]++;
        out->usage_running += r->usage_running;
        out->multi_event += r->token_events >= 2;
        if (r->has_timings) {
            out->with_timings++;
            v[13][nsp++] = r->server_prompt_ms;
            if (r->server_predicted_n > 0)
                v[14][nspt++] = r->server_predicted_ms / (double)r->server_predicted_n;
            if (r->first_token_ns) {
                ttft_minus_sp += ms(r->first_token_ns, r->sent_ns) - r->server_prompt_ms;
                nttm++;
            }
        }
        out_tok += (uint64_t)(r->output_tokens > 0 ? r->output_tokens : 0);
        usage_n += r->usage_seen;
        events_total += r->token_events;
        v[10][npt++] = r->prompt_tokens;
        asked_sum += r->prompt_tokens_asked;
        v[11][not_++] = r->output_tokens;
        if (r->first_token_ns)
            v[0][nt++] = ms(r->first_token_ns, r->sent_ns);
        if (r->first_output_ns)
            v[1][nto++] = ms(r->first_output_ns, r->sent_ns);
        if (r->first_byte_ns)
            v[2][nfb++] = ms(r->first_byte_ns, r->sent_ns);
        if (r->first_token_ns && r->output_tokens >= 2)
            v[3][ntp++] = ms(r->end_ns, r->first_token_ns) / (double)(r->output_tokens - 1);
        v[4][ne++] = ms(r->end_ns, r->sent_ns);
        if (r->itl_count)
            v[5][nil++] = (double)r->itl_sum_ns / (double)r->itl_count / 1e6;
        if (out->open_loop) {
            if (r->first_token_ns)
                v[8][nts++] = ms(r->first_token_ns, r->scheduled_ns);
            v[9][nes++] = ms(r->end_ns, r->scheduled_ns);
        }
    }
    summarize_vec(v[0], nt, &out->ttft);
    summarize_vec(v[1], nto, &out->ttfot);
    summarize_vec(v[2], nfb, &out->ttfb);
    summarize_vec(v[3], ntp, &out->tpot);
    summarize_vec(v[4], ne, &out->e2e);
    summarize_vec(v[5], nil, &out->itl_request_mean);
    summarize_vec(v[7], nlag, &out->schedule_lag);
    summarize_vec(v[8], nts, &out->ttft_from_scheduled);
    summarize_vec(v[9], nes, &out->e2e_from_scheduled);
    summarize_vec(v[10], npt, &out->prompt_tokens);
    out->prompt_tokens_asked_mean = npt ? asked_sum / (double)npt : 0;
    summarize_vec(v[11], not_, &out->output_tokens);
    summarize_vec(v[13], nsp, &out->server_prompt_ms);
    summarize_vec(v[14], nspt, &out->server_predicted_per_token_ms);
    out->ttft_minus_server_prompt_ms = nttm ? ttft_minus_sp / (double)nttm : 0;
    hist_summary(res->itl, &out->itl, 1e-6);
    hist_summary(res->itl_token, &out->itl_token, 1e-6);
    out->itl_out_of_range = hist_out_of_range(res->itl);

    if (out->duration_s > 0) {
        out->achieved_rate = (double)sent_in_window / out->duration_s;
        out->request_throughput = (double)out->completed_in_window / out->duration_s;
        out->output_token_throughput = win_out_tok / out->duration_s;
        out->total_token_throughput = (win_out_tok + win_in_tok) / out->duration_s;
        out->offered_rate = (double)offered / out->duration_s;
        out->concurrency_mean = conc / 1e9 / out->duration_s;
    }
    out->tokens_per_event = events_total ? (double)out_tok / (double)events_total : 0;
    out->output_tokens_source = usage_n == out->completed ? "usage" : usage_n == 0 ? "events" : "mixed";

    double wall = res->end_ns > res->t0_ns ? (double)(res->end_ns - res->t0_ns) / 1e9 : 0;
    out->cpu_percent = wall > 0 ? 100.0 * res->cpu_s / wall : 0;
    out->loop_lag_ms_p99 = hist_count(res->loop_lag) ? hist_percentile(res->loop_lag, 99) / 1e6 : 0;
    out->loop_lag_ms_max = (double)hist_max(res->loop_lag) / 1e6;
    judge_client(res, out, wall);
    rc = build_series(res, out);
    if (rc == 0)
        rc = connect_summary(res, &out->connect);
out:
    for (size_t i = 0; i < 16; i++)
        free(v[i]);
    return rc;
}

void bench_summary_free(bench_summary *s)
{
    free(s->series);
    s->series = NULL;
    s->n_series = 0;
}
