/*
 * report_json.c - builds, writes and loads report.json, the canonical result document
 * (aggregate -> report). Shape: design.md "Outputs"; every field is documented in docs/report.md.
 */
#include "llmload/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "llmload/error.h"
#include "llmload/infile.h"
#include "llmload/hist.h"
#include "llmload/breakdown.h"
#include "llmload/outfile.h"
#include "llmload/version.h"

#define CONTINUOUS_USAGE_NOTE \
    "continuous usage asked but the server sent no running usage: itl_token equals itl"

/* cJSON_Add* return NULL on failure; one flag collects them so the builder reads straight. */
typedef struct jb {
    int failed;
} jb;

static cJSON *add_num(jb *b, cJSON *o, const char *k, double v)
{
    cJSON *x = cJSON_AddNumberToObject(o, k, v);
    if (!x)
        b->failed = 1;
    return x;
}

static cJSON *add_str(jb *b, cJSON *o, const char *k, const char *v)
{
    cJSON *x = cJSON_AddStringToObject(o, k, v ? v : "");
    if (!x)
        b->failed = 1;
    return x;
}

static cJSON *add_bool(jb *b, cJSON *o, const char *k, int v)
{
    cJSON *x = cJSON_AddBoolToObject(o, k, v ? 1 : 0);
    if (!x)
        b->failed = 1;
    return x;
}

static cJSON *add_obj(jb *b, cJSON *o, const char *k)
{
    cJSON *x = cJSON_AddObjectToObject(o, k);
    if (!x)
        b->failed = 1;
    return x;
}

static cJSON *add_arr(jb *b, cJSON *o, const char *k)
{
    cJSON *x = cJSON_AddArrayToObject(o, k);
    if (!x)
        b->failed = 1;
    return x;
}

/* Rounds to 1e-6 of the unit so reports are readable and re-render identically. */
static double r6(double v)
{
    return v == 0 ? 0 : (double)llround(v * 1e6) / 1e6;
}

/* "<stat>_ci": [lo, hi], or null when there were too few samples for an interval. */
static void add_ci(jb *b, cJSON *o, const char *key, const stats_ci *ci)
{
    cJSON *x = NULL;
    if (!ci->ok) {
        if (!cJSON_AddNullToObject(o, key))
            b->failed = 1;
        return;
    }
    double v[2] = {r6(ci->lo), r6(ci->hi)};
    if (!(x = cJSON_CreateDoubleArray(v, 2)) || !cJSON_AddItemToObject(o, key, x)) {
        cJSON_Delete(x);
        b->failed = 1;
    }
}

static void add_summary(jb *b, cJSON *parent, const char *key, const stats_summary *s)
{
    cJSON *o = add_obj(b, parent, key);
    if (!o)
        return;
    add_num(b, o, "count", (double)s->n);
    add_num(b, o, "mean", r6(s->mean));
    add_num(b, o, "stdev", r6(s->stdev));
    add_num(b, o, "min", r6(s->min));
    add_num(b, o, "p50", r6(s->p50));
    add_num(b, o, "p90", r6(s->p90));
    add_num(b, o, "p95", r6(s->p95));
    add_num(b, o, "p99", r6(s->p99));
    add_num(b, o, "p999", r6(s->p999));
    add_num(b, o, "max", r6(s->max));
    add_ci(b, o, "mean_ci", &s->mean_ci);
    add_ci(b, o, "p50_ci", &s->p50_ci);
    add_ci(b, o, "p90_ci", &s->p90_ci);
    add_ci(b, o, "p95_ci", &s->p95_ci);
    add_ci(b, o, "p99_ci", &s->p99_ci);
    add_ci(b, o, "p999_ci", &s->p999_ci);
}

static void add_hist(jb *b, cJSON *parent, const char *key, const hist *h)
{
    cJSON *o = add_obj(b, parent, key);
    if (!o)
        return;
    add_str(b, o, "scheme", "log-linear");
    add_num(b, o, "sub_bucket_bits", HIST_SUB_BITS);
    add_str(b, o, "unit", "ns");
    add_num(b, o, "count", (double)hist_count(h));
    add_num(b, o, "out_of_range", (double)hist_out_of_range(h));
    add_num(b, o, "min", (double)hist_min(h));
    add_num(b, o, "max", (double)hist_max(h));
    /* Only non-empty buckets, as [index, count] pairs: exact, and small. */
    cJSON *arr = add_arr(b, o, "buckets");
    if (!arr)
        return;
    size_t slots = hist_bucket_slots();
    for (size_t i = 0; i < slots; i++) {
        uint64_t c = hist_bucket_count(h, i);
        if (!c)
            continue;
        cJSON *pair = cJSON_CreateArray();
        cJSON *a = cJSON_CreateNumber((double)i), *cc = cJSON_CreateNumber((double)c);
        if (!pair || !a || !cc || !cJSON_AddItemToArray(pair, a) || !cJSON_AddItemToArray(pair, cc) ||
            !cJSON_AddItemToArray(arr, pair)) {
            b->failed = 1;
            cJSON_Delete(pair);
            return;
        }
    }
}

/* TTFT as a histogram too (report.html draws its distribution; report.json otherwise has only its
 * percentiles). Same selection as the aggregator's ttft_ms: measured, completed, saw a token. */
static void add_ttft_hist(jb *b, cJSON *parent, const bench_result *res)
{
    hist *h = NULL;
    if (hist_create(&h) != 0) {
        b->failed = 1;
        return;
    }
    for (size_t i = 0; i < res->records.len; i++) {
        const record *r = &res->records.items[i];
        if (r->measured && r->status == RECORD_OK && r->first_token_ns)
            hist_record(h, r->first_token_ns > r->sent_ns ? r->first_token_ns - r->sent_ns : 0);
    }
    add_hist(b, parent, "ttft_ms", h);
    hist_destroy(h);
}

/* What `llmload merge` needs beyond the figures to rebuild this benchmark's result exactly as it
 * was held in memory (docs/merge.md): its times on this run's monotonic clock, in ns from the
 * benchmark's start (t0_ns from the run's first benchmark, the origin of requests.csv), the loop's
 * own counters, and the loop-lag histogram. Whole nanoseconds fit a JSON number for 104 days. */
static void add_merge_basis(jb *b, cJSON *o, const bench_result *res, uint64_t run_t0_ns)
{
    cJSON *m = add_obj(b, o, "merge_basis");
    if (!m)
        return;
    uint64_t t0 = res->t0_ns;
#define REL_(v) ((double)((v) > t0 ? (v) - t0 : 0))
    add_num(b, m, "t0_ns", (double)(t0 > run_t0_ns ? t0 - run_t0_ns : 0));
    add_num(b, m, "window_start_ns", REL_(res->window_start_ns));
    add_num(b, m, "window_end_ns", REL_(res->window_end_ns));
    add_num(b, m, "sched_end_ns", REL_(res->sched_end_ns));
    add_num(b, m, "end_ns", REL_(res->end_ns));
#undef REL_
    add_num(b, m, "plan_rate", res->plan.rate);
    add_num(b, m, "plan_max_requests", (double)res->plan.max_requests);
    add_num(b, m, "cpu_s", res->cpu_s);
    add_num(b, m, "started", (double)res->started);
    add_num(b, m, "slots", (double)res->slots);
    add_num(b, m, "loops", (double)res->loops);
    add_num(b, m, "pauses", (double)res->pauses);
    add_num(b, m, "paused_ns", (double)res->paused_ns);
    add_bool(b, m, "interrupted", res->interrupted);
    add_hist(b, m, "loop_lag", res->loop_lag);
    /* The client's evidence about itself, so a merge judges client_bound as one process would. */
    add_num(b, m, "ticks", (double)res->ticks);
    add_num(b, m, "late_ticks", (double)res->late_ticks);
    add_num(b, m, "sends", (double)res->sends);
    add_num(b, m, "late_sends", (double)res->late_sends);
    add_num(b, m, "slot_waits", (double)res->slot_waits);
    if (res->cpu_wait_s >= 0)
        add_num(b, m, "cpu_wait_s", res->cpu_wait_s);
    add_num(b, m, "busy_s", res->busy_s);
    add_bool(b, m, "loop_stamps", res->loop_stamps);
    add_num(b, m, "reads_sampled", (double)res->reads_sampled);
    add_num(b, m, "reads_waited", (double)res->reads_waited);
    if (res->read_wait)
        add_hist(b, m, "read_wait", res->read_wait);
}

/* Why the benchmark stopped (bench.h), and for an early stop the figures the rule judged
 * (earlystop.h; docs/workloads.md "Early stop"). */
static void add_stop(jb *b, cJSON *o, const bench_result *res)
{
    add_str(b, o, "stop_reason", bench_stop_name(bench_result_stop(res)));
    const earlystop_evidence *ev = &res->early;
    if (ev->rule == EARLYSTOP_NONE)
        return;
    cJSON *e = add_obj(b, o, "early_stop");
    if (!e)
        return;
    add_str(b, e, "rule", earlystop_rule_name(ev->rule));
    add_num(b, e, "at_s", r6(ev->at_s));
    add_num(b, e, "window_s", r6(ev->window_s));
    if (ev->rule == EARLYSTOP_MAX_ERROR_RATE) {
        add_num(b, e, "error_rate", r6(ev->error_rate));
        add_num(b, e, "threshold", r6(ev->threshold));
        add_num(b, e, "errors", (double)ev->errors);
        add_num(b, e, "ended", (double)ev->ended);
    } else {
        add_num(b, e, "in_flight_slope", r6(ev->in_flight_slope));
        add_num(b, e, "in_flight_mean", r6(ev->in_flight_mean));
        add_num(b, e, "ttft_ms_slope", r6(ev->ttft_ms_slope));
        add_num(b, e, "ttft_ms_mean", r6(ev->ttft_ms_mean));
        add_num(b, e, "completed_slope", r6(ev->completed_slope));
        add_num(b, e, "completed_mean", r6(ev->completed_mean));
    }
}

static void add_benchmark(jb *b, cJSON *arr, const bench_summary *s, const bench_result *res)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        b->failed = 1;
        return;
    }
    add_str(b, o, "name", s->name);
    add_str(b, o, "schedule", s->schedule);
    add_num(b, o, "target_rate", r6(s->target_rate));
    add_num(b, o, "achieved_rate", r6(s->achieved_rate));
    add_num(b, o, "duration_s", r6(s->duration_s));
    add_bool(b, o, "partial", s->interrupted);
    add_stop(b, o, res);
    add_num(b, o, "start_time", r6(res->wall_start));
    cJSON *lim = add_obj(b, o, "limits");
    if (lim) {
        add_num(b, lim, "max_seconds", res->plan.max_seconds);
        add_num(b, lim, "max_requests", (double)res->plan.max_requests);
        add_num(b, lim, "warmup_s", res->plan.warmup_s);
        add_num(b, lim, "cooldown_s", res->plan.cooldown_s);
    }

    cJSON *rq = add_obj(b, o, "requests");
    if (rq) {
        add_num(b, rq, "started", (double)s->started);
        add_num(b, rq, "measured", (double)s->measured);
        add_num(b, rq, "completed", (double)s->completed);
        add_num(b, rq, "errored", (double)s->errored);
        add_num(b, rq, "incomplete", (double)s->incomplete);
        add_num(b, rq, "cancelled", (double)s->cancelled);
        add_num(b, rq, "short_output", (double)s->short_output);
        uint64_t done = s->completed + s->errored;
        add_num(b, rq, "error_rate", done ? r6((double)s->errored / (double)done) : 0);
        cJSON *ek = add_obj(b, rq, "errors_by_kind");
        for (int k = 1; ek && k < RECORD_ERR_COUNT_; k++)
            if (s->errors_by_kind[k])
                add_num(b, ek, record_error_kind_name(k), (double)s->errors_by_kind[k]);
        cJSON *fe = add_arr(b, rq, "first_errors");
        for (size_t i = 0; fe && i < s->n_first_errors; i++) {
            cJSON *str = cJSON_CreateString(s->first_errors[i]);
            if (!str || !cJSON_AddItemToArray(fe, str)) {
                cJSON_Delete(str);
                b->failed = 1;
            }
        }
        add_num(b, rq, "no_done_ok", (double)s->no_done_ok);
        cJSON *fr = add_obj(b, rq, "finish_reasons");
        static const int order[] = {RECORD_FINISH_STOP, RECORD_FINISH_LENGTH, RECORD_FINISH_TOOL_CALLS,
                                    RECORD_FINISH_CONTENT_FILTER, RECORD_FINISH_OTHER, RECORD_FINISH_NONE};
        for (size_t i = 0; fr && i < sizeof order / sizeof order[0]; i++)
            add_num(b, fr, order[i] == RECORD_FINISH_NONE ? "none" : record_finish_name(order[i]),
                    (double)s->finish_reasons[order[i]]);
        add_num(b, rq, "completed_in_window", (double)s->completed_in_window);
        add_num(b, rq, "completed_in_grace", (double)s->completed_in_grace);
    }

    cJSON *m = add_obj(b, o, "metrics");
    if (m) {
        add_summary(b, m, "ttft_ms", &s->ttft);
        add_summary(b, m, "ttfot_ms", &s->ttfot);
        add_summary(b, m, "ttfb_ms", &s->ttfb);
        add_summary(b, m, "itl_ms", &s->itl);
        add_summary(b, m, "itl_token_ms", &s->itl_token);
        add_summary(b, m, "itl_request_mean_ms", &s->itl_request_mean);
        add_summary(b, m, "tpot_ms", &s->tpot);
        add_summary(b, m, "e2e_ms", &s->e2e);
        add_summary(b, m, "schedule_lag_ms", &s->schedule_lag);
        if (s->open_loop) {
            add_summary(b, m, "ttft_from_scheduled_ms", &s->ttft_from_scheduled);
            add_summary(b, m, "e2e_from_scheduled_ms", &s->e2e_from_scheduled);
        }
        add_summary(b, m, "prompt_tokens", &s->prompt_tokens);
        add_summary(b, m, "output_tokens", &s->output_tokens);
        add_num(b, m, "request_throughput", r6(s->request_throughput));
        add_num(b, m, "output_token_throughput", r6(s->output_token_throughput));
        add_num(b, m, "total_token_throughput", r6(s->total_token_throughput));
        add_num(b, m, "concurrency_mean", r6(s->concurrency_mean));
        if (s->has_goodput)
            add_num(b, m, "goodput", r6(s->goodput));
        add_num(b, m, "prompt_tokens_mean", r6(s->prompt_tokens.mean));
        add_num(b, m, "output_tokens_mean", r6(s->output_tokens.mean));
        add_num(b, m, "tokens_per_event", r6(s->tokens_per_event));
        add_str(b, m, "output_tokens_source", s->output_tokens_source);
        add_num(b, m, "prompt_tokens_asked_mean", r6(s->prompt_tokens_asked_mean));
        if (s->with_timings) {
            /* llama.cpp's own timings: prompt time beside ttft tells the server from the rest. */
            add_num(b, m, "server_timings_requests", (double)s->with_timings);
            add_summary(b, m, "server_prompt_ms", &s->server_prompt_ms);
            add_summary(b, m, "server_predicted_per_token_ms", &s->server_predicted_per_token_ms);
            add_num(b, m, "ttft_minus_server_prompt_ms", r6(s->ttft_minus_server_prompt_ms));
        }
        add_summary(b, m, "connect_ms", &s->connect);
        add_num(b, m, "offered_rate", r6(s->offered_rate));
    }

    cJSON *ts = add_arr(b, o, "timeseries");
    for (size_t i = 0; ts && i < s->n_series; i++) {
        const agg_second *p = &s->series[i];
        cJSON *pt = cJSON_CreateObject();
        if (!pt || !cJSON_AddItemToArray(ts, pt)) {
            cJSON_Delete(pt);
            b->failed = 1;
            break;
        }
        add_num(b, pt, "t", r6(p->t));
        add_num(b, pt, "in_flight", r6(p->in_flight));
        add_num(b, pt, "completed", (double)p->completed);
        add_num(b, pt, "errors", (double)p->errors);
        add_num(b, pt, "output_tps", r6(p->output_tps));
    }

    cJSON *h = add_obj(b, o, "histograms");
    if (h) {
        add_hist(b, h, "itl_ms", res->itl);
        add_hist(b, h, "itl_token_ms", res->itl_token);
        add_ttft_hist(b, h, res);
    }

    cJSON *cl = add_obj(b, o, "client");
    if (cl) {
        add_num(b, cl, "loop_lag_ms_p99", r6(s->loop_lag_ms_p99));
        add_num(b, cl, "loop_lag_ms_max", r6(s->loop_lag_ms_max));
        add_num(b, cl, "cpu_percent", r6(s->cpu_percent));
        add_num(b, cl, "slots", (double)s->slots);
        add_num(b, cl, "loops", (double)s->loops);
        add_num(b, cl, "connections_opened", (double)s->connections_opened);
        add_num(b, cl, "retry_after_pauses", (double)res->pauses);
        add_num(b, cl, "retry_after_paused_s", r6((double)res->paused_ns / 1e9));
        add_bool(b, cl, "client_bound", s->client_bound);
        if (s->client_bound)
            add_str(b, cl, "client_bound_reason", s->client_bound_reason);
        add_num(b, cl, "requests_resent", (double)s->requests_resent);
        cJSON *rr = add_obj(b, cl, "resent_by_reason");
        for (int k = RECORD_RESEND_NONE + 1; rr && k < RECORD_RESEND_COUNT_; k++)
            if (s->resent_by_reason[k])
                add_num(b, rr, record_resend_reason_name(k), (double)s->resent_by_reason[k]);
        add_num(b, cl, "late_wakeup_share", r6(s->late_wakeup_share));
        add_num(b, cl, "late_send_share", r6(s->late_send_share));
        add_num(b, cl, "slot_wait_share", r6(s->slot_wait_share));
        if (s->cpu_wait_percent >= 0)
            add_num(b, cl, "cpu_wait_percent", r6(s->cpu_wait_percent));
        add_num(b, cl, "loop_busy_percent", r6(s->loop_busy_percent));
        add_str(b, cl, "stamps", s->loop_stamps ? "loop" : "kernel");
        if (s->loop_stamps) {
            add_num(b, cl, "read_wait_share", r6(s->read_wait_share));
            add_num(b, cl, "read_wait_ms_p99", r6(s->read_wait_ms_p99));
        }
    }
}

/* Things a reader of the numbers must know, as sentences (the console prints them too). */
static void add_notes(jb *b, cJSON *bench, const config *cfg, const bench_summary *s)
{
    cJSON *notes = bench ? add_arr(b, bench, "notes") : NULL;
    if (!notes)
        return;
    if (cfg->continuous_usage && s->multi_event > 0 && s->usage_running == 0) {
        cJSON *str = cJSON_CreateString(CONTINUOUS_USAGE_NOTE);
        if (!str || !cJSON_AddItemToArray(notes, str)) {
            cJSON_Delete(str);
            b->failed = 1;
        }
    }
    if (s->cancelled) {
        char text[256];
        snprintf(text, sizeof text,
                 "%llu requests were abandoned by the client (--cancel-rate %g, %g ms after the send): counted "
                 "as cancelled, not as errors, and left out of every latency statistic",
                 (unsigned long long)s->cancelled, cfg->cancel_rate, cfg->cancel_after_s * 1000.0);
        cJSON *str = cJSON_CreateString(text);
        if (!str || !cJSON_AddItemToArray(notes, str)) {
            cJSON_Delete(str);
            b->failed = 1;
        }
    }
}

/* A model mix: benchmarks[].models, each model's counts over its records (docs/workloads.md). The
 * full per-model statistics are the breakdown's (by_model); these counts check the split. */
static void add_models(jb *b, cJSON *o, const config *cfg, const bench_result *res)
{
    if (!o || cfg->n_models < 2)
        return;
    cJSON *arr = add_arr(b, o, "models");
    for (size_t m = 0; arr && m < cfg->n_models; m++) {
        uint64_t started = 0, measured = 0, completed = 0, errored = 0, cancelled = 0;
        for (size_t i = 0; i < res->records.len; i++) {
            const record *r = &res->records.items[i];
            if (r->model != m)
                continue;
            started++;
            if (!r->measured)
                continue;
            measured++;
            completed += r->status == RECORD_OK;
            errored += r->status == RECORD_ERROR;
            cancelled += r->status == RECORD_CANCELLED;
        }
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(arr, e)) {
            cJSON_Delete(e);
            b->failed = 1;
            return;
        }
        add_str(b, e, "name", cfg->models[m]);
        add_num(b, e, "weight", r6(cfg->model_weights[m]));
        add_num(b, e, "started", (double)started);
        add_num(b, e, "requests", (double)measured);
        add_num(b, e, "completed", (double)completed);
        add_num(b, e, "errored", (double)errored);
        add_num(b, e, "cancelled", (double)cancelled);
    }
}

/* Workloads (docs/workloads.md): "sessions" counts, and the by_turn / by_model breakdowns, each only
 * when it has more than one group. */
static void add_breakdowns(jb *b, cJSON *bench, const bench_summary *s, const bench_result *res,
                           const char *model)
{
    if (!bench)
        return;
    if (res->sessions) {
        cJSON *o = add_obj(b, bench, "sessions");
        if (o) {
            add_num(b, o, "started", (double)res->sessions);
            add_num(b, o, "completed", (double)res->sessions_completed);
            add_num(b, o, "replies_truncated", (double)res->replies_cut);
        }
    }
    static const struct {
        breakdown_key key;
        const char *name;
    } keys[] = {{BREAKDOWN_TURN, "by_turn"}, {BREAKDOWN_MODEL, "by_model"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        breakdown bd;
        /* The run's model names (a mix's), else the one model. */
        const char *const *names = res->n_model_names ? res->model_names : &model;
        size_t n_names = res->n_model_names ? res->n_model_names : model ? 1 : 0;
        if (breakdown_compute(&res->records, keys[i].key, names, n_names, s->duration_s, &bd) != 0) {
            b->failed = 1;
            return;
        }
        if (bd.n > 1 && breakdown_to_json(&bd, keys[i].key, bench, keys[i].name) != 0)
            b->failed = 1;
        breakdown_free(&bd);
    }
}

int report_build(const config *cfg, const char *model, const bench_summary *sums,
                 const bench_result *results, size_t n, int partial, double run_wall_start,
                 cJSON **out)
{
    jb b = {0};
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return LL_ENOMEM;
    cJSON *tool = add_obj(&b, doc, "tool");
    if (tool) {
        add_str(&b, tool, "name", "llmload");
        add_str(&b, tool, "version", version_string());
        add_str(&b, tool, "build", version_git());
    }
    cJSON *conf = NULL;
    if (config_to_json(cfg, &conf) != 0 || !cJSON_AddItemToObject(doc, "config", conf)) {
        cJSON_Delete(conf);
        b.failed = 1;
    } else {
        /* The model actually used, also when discovered from /v1/models. */
        cJSON_DeleteItemFromObject(conf, "model");
        add_str(&b, conf, "model", model);
    }
    cJSON *env = add_obj(&b, doc, "environment");
    if (env) {
        char host[256] = "";
        struct utsname u;
        if (gethostname(host, sizeof host - 1) != 0)
            host[0] = '\0';
        add_str(&b, env, "host", host);
        if (uname(&u) == 0)
            add_str(&b, env, "os", u.sysname), add_str(&b, env, "kernel", u.release), add_str(&b, env, "arch", u.machine);
        add_num(&b, env, "start_time", r6(run_wall_start));
        char iso[32];
        time_t t = (time_t)run_wall_start;
        struct tm tm;
        if (gmtime_r(&t, &tm) && strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm))
            add_str(&b, env, "start_time_iso", iso);
        add_num(&b, env, "cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
    }
    add_bool(&b, doc, "partial", partial);
    cJSON *arr = add_arr(&b, doc, "benchmarks");
    for (size_t i = 0; arr && i < n; i++) {
        add_benchmark(&b, arr, &sums[i], &results[i]);
        add_notes(&b, cJSON_GetArrayItem(arr, (int)i), cfg, &sums[i]);
        add_merge_basis(&b, cJSON_GetArrayItem(arr, (int)i), &results[i], results[0].t0_ns);
        add_models(&b, cJSON_GetArrayItem(arr, (int)i), cfg, &results[i]);
        add_breakdowns(&b, cJSON_GetArrayItem(arr, (int)i), &sums[i], &results[i], model);
    }
    if (b.failed) {
        cJSON_Delete(doc);
        return LL_ENOMEM;
    }
    *out = doc;
    return 0;
}

int report_write_json(const cJSON *doc, FILE *f)
{
    char *text = cJSON_Print(doc);
    if (!text)
        return LL_ENOMEM;
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len && fputc('\n', f) != EOF;
    cJSON_free(text);
    return ok ? 0 : LL_EIO;
}

int report_write_file(const char *path, int (*writer)(const cJSON *, FILE *), const cJSON *doc,
                      char *err, size_t errlen)
{
    /* A set of one file: the directory part of path (else "."), then the name. */
    char dir[4096];
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t dlen = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (dlen >= sizeof dir || !*name) {
        snprintf(err, errlen, "%s: not a file path", path);
        return LL_EIO;
    }
    memcpy(dir, !slash ? "." : slash == path ? "/" : path, dlen);
    dir[dlen] = '\0';
    outfile_set *set = NULL;
    FILE *f;
    int rc = outfile_create(&set, dir, err, errlen);
    if (rc == 0 && (rc = outfile_begin(set, name, &f, err, errlen)) == 0) {
        rc = writer(doc, f);
        rc = outfile_end(set, rc, err, errlen);
    }
    if (rc == 0)
        rc = outfile_commit(set, err, errlen);
    outfile_destroy(set);
    return rc;
}

int report_load(const char *path, cJSON **out, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    int rc = infile_read(path, INFILE_MAX, &buf, &len, err, errlen);
    if (rc != 0)
        return rc;
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!doc || !cJSON_IsObject(doc) || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))) {
        if (doc)
            snprintf(err, errlen, "%s: not an llmload report (no \"benchmarks\" array)", path);
        else
            snprintf(err, errlen, "%s: invalid JSON near byte %ld", path, end ? (long)(end - buf) : 0L);
        cJSON_Delete(doc);
        free(buf);
        return LL_EPARSE;
    }
    free(buf);
    *out = doc;
    return 0;
}
