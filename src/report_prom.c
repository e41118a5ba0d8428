/*
 * report_prom.c - metrics.prom: the report as Prometheus text exposition (report stage), what a
 * Pushgateway receives and what `llmload report --format prom` prints. Rendered from report.json
 * like every other format. Metric prefix llmload_, labels benchmark, schedule and model on every
 * series; latencies in seconds as summaries (quantiles from report.json, _sum = mean x count), the
 * token-gap histogram folded from its exact log-linear buckets onto fixed `le` bounds.
 */
#include "llmload/report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llmload/diagnose.h"
#include "llmload/error.h"
#include "llmload/hist.h"
#include "llmload/record.h"

/* Bounds (seconds) for token gaps: tens of microseconds to seconds, as decode steps are. */
static const double itl_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03,
                                0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0};

typedef struct labels {
    char text[512]; /* benchmark="...",schedule="...",model="..." */
} labels;

static void put_label_value(char **o, char *end, const char *v)
{
    for (; *v && *o < end - 2; v++) {
        if (*v == '\\' || *v == '"') {
            *(*o)++ = '\\';
            *(*o)++ = *v;
        } else if (*v == '\n') {
            *(*o)++ = '\\';
            *(*o)++ = 'n';
        } else {
            *(*o)++ = *v;
        }
    }
}

static void make_labels(labels *l, const char *bench, const char *sched, const char *model)
{
    char *o = l->text, *end = l->text + sizeof l->text - 8;
    const char *names[] = {"benchmark", "schedule", "model"};
    const char *vals[] = {bench, sched, model};
    for (int i = 0; i < 3; i++) {
        o += snprintf(o, (size_t)(end - o), "%s%s=\"", i ? "," : "", names[i]);
        put_label_value(&o, end, vals[i] ? vals[i] : "");
        *o++ = '"';
    }
    *o = '\0';
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : "";
}

/* Prometheus wants +Inf/NaN spelled its way; %.17g keeps every value exact. */
static void put_value(FILE *f, double v)
{
    if (isnan(v))
        fputs("NaN", f);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", f);
    else
        fprintf(f, "%.17g", v);
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

typedef struct family {
    const char *name, *type, *help;
} family;

/* Each family is written once, with one sample per benchmark (Prometheus wants a family's samples
 * together), so the writers below loop over benchmarks inside each family. */

static const struct {
    const char *report_key, *metric, *help;
} latency_families[] = {
    {"ttft_ms", "llmload_ttft_seconds", "Time to first token, from sending the request."},
    {"ttfot_ms", "llmload_ttfot_seconds", "Time to first output (non-reasoning) token."},
    {"tpot_ms", "llmload_tpot_seconds", "Time per output token after the first."},
    {"e2e_ms", "llmload_e2e_seconds", "Whole-request latency."},
    {"itl_ms", "llmload_itl_seconds", "Gap between token events of one stream."},
    {"schedule_lag_ms", "llmload_schedule_lag_seconds", "Request sent minus its scheduled start."},
    {"ttft_from_scheduled_ms", "llmload_ttft_from_scheduled_seconds", "Time to first token from the scheduled start (open loop)."},
};

static const struct {
    const char *q, *stat;
} quantiles[] = {{"0.5", "p50"}, {"0.9", "p90"}, {"0.95", "p95"}, {"0.99", "p99"}, {"0.999", "p999"}};

static const struct {
    const char *scope, *key, *metric, *help;
    double scale; /* to the base unit */
} gauges[] = {
    {NULL, "target_rate", "llmload_target_rate", "Requested rate: req/s (open loop) or streams (concurrent).", 1},
    {NULL, "achieved_rate", "llmload_achieved_rate_requests_per_second", "Requests sent per second in the measured window.", 1},
    {NULL, "duration_s", "llmload_duration_seconds", "Length of the measured window.", 1},
    {"metrics", "request_throughput", "llmload_request_throughput_requests_per_second", "Completed requests per second.", 1},
    {"metrics", "output_token_throughput", "llmload_output_token_throughput_tokens_per_second", "Output tokens per second.", 1},
    {"metrics", "total_token_throughput", "llmload_total_token_throughput_tokens_per_second", "Prompt and output tokens per second.", 1},
    {"metrics", "goodput", "llmload_goodput_requests_per_second", "Completed requests per second that met every per-request SLO.", 1},
    {"metrics", "concurrency_mean", "llmload_concurrency_mean", "Time-weighted mean of requests in flight.", 1},
    {"metrics", "prompt_tokens_mean", "llmload_prompt_tokens_mean", "Mean prompt tokens per completed request.", 1},
    {"metrics", "output_tokens_mean", "llmload_output_tokens_mean", "Mean output tokens per completed request.", 1},
    {"metrics", "tokens_per_event", "llmload_tokens_per_event", "Output tokens per token-bearing SSE event.", 1},
    {"requests", "error_rate", "llmload_error_ratio", "Errored / (completed + errored).", 1},
    {"client", "cpu_percent", "llmload_client_cpu_percent", "CPU the client's loop used, percent of one core.", 1},
    {"client", "loop_lag_ms_p99", "llmload_client_loop_lag_p99_seconds", "p99 lateness of the client's 100 ms tick.", 1e-3},
};

static int bench_labels(const cJSON *b, const char *model, labels *l)
{
    make_labels(l, str(b, "name"), str(b, "schedule"), model);
    return 0;
}

/* --server-metrics: the diagnosis and its key figures, so a nightly dashboard can show what
 * limited the server run after run. Only benchmarks with a `server` object have samples; a figure
 * the server did not expose (absent in report.json) has none, never a 0. */
static const struct {
    const char *scope, *key, *metric, *help;
} server_gauges[] = {
    {"evidence", "running_mean", "llmload_server_running_mean", "Server: mean requests in the running batch (measured window)."},
    {"evidence", "running_max", "llmload_server_running_max", "Server: most requests in the running batch."},
    {"evidence", "waiting_mean", "llmload_server_waiting_mean", "Server: mean requests waiting in the engine."},
    {"evidence", "waiting_max", "llmload_server_waiting_max", "Server: most requests waiting in the engine."},
    {"evidence", "kv_usage_max", "llmload_server_kv_usage_max", "Server: highest KV cache usage, 0..1."},
    {"evidence", "preemptions", "llmload_server_preemptions", "Server: sequences preempted in the window (vLLM), or SGLang's retracted max."},
    {"evidence", "gpu_busy", "llmload_server_gpu_busy_ratio", "Server: mean SM activity, else GPU utilisation, 0..1."},
    {"summary", "prefix_hit_rate", "llmload_server_prefix_cache_hit_ratio", "Server: prefix-cache hits over queries, 0..1."},
    {"summary", "energy_per_token_j", "llmload_server_energy_per_output_token_joules", "Server: GPU energy per generated token."},
    {"summary", "scrapes_failed", "llmload_server_scrapes_failed", "Server: failed /metrics scrapes in the window."},
};

static const cJSON *server_scope(const cJSON *b, const char *scope)
{
    const cJSON *srv = cJSON_GetObjectItemCaseSensitive(b, "server");
    if (strcmp(scope, "evidence") == 0)
        return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(srv, "diagnosis"), "evidence");
    return cJSON_GetObjectItemCaseSensitive(srv, scope);
}

static void write_server(FILE *f, const cJSON *benches, const char *model)
{
    const cJSON *b;
    labels l;
    int any = 0;
    /* Every verdict, 1 for the benchmark's and 0 for the rest (a state set), so a panel or an
     * alert can select one verdict and still see the benchmarks that did not reach it. */
    cJSON_ArrayForEach(b, benches)
    {
        const char *v = str(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "server"), "diagnosis"),
                            "verdict");
        if (!*v)
            continue;
        if (!any++)
            header(f, "llmload_server_verdict", "gauge", "Server: 1 for the diagnosis verdict of the benchmark, 0 for the others.");
        bench_labels(b, model, &l);
        for (int k = DIAGNOSE_NOT_SATURATED; k <= DIAGNOSE_UNKNOWN; k++) {
            const char *name = diagnose_verdict_name((diagnose_verdict)k);
            fprintf(f, "llmload_server_verdict{%s,verdict=\"%s\"} %d\n", l.text, name, strcmp(name, v) == 0);
        }
    }
    for (size_t g = 0; g < sizeof server_gauges / sizeof *server_gauges; g++) {
        any = 0;
        cJSON_ArrayForEach(b, benches)
        {
            double v = num(server_scope(b, server_gauges[g].scope), server_gauges[g].key);
            if (isnan(v))
                continue;
            if (!any++)
                header(f, server_gauges[g].metric, "gauge", server_gauges[g].help);
            bench_labels(b, model, &l);
            fprintf(f, "%s{%s} ", server_gauges[g].metric, l.text);
            put_value(f, v);
            fputc('\n', f);
        }
    }
}

int report_write_prometheus(const cJSON *doc, FILE *f)
{
    const cJSON *benches = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"), *b;
    if (!cJSON_IsArray(benches))
        return LL_EPARSE;
    const char *model = str(cJSON_GetObjectItemCaseSensitive(doc, "config"), "model");
    labels l;

    header(f, "llmload_info", "gauge", "llmload version that wrote the report.");
    fputs("llmload_info{version=\"", f);
    fputs(str(cJSON_GetObjectItemCaseSensitive(doc, "tool"), "version"), f);
    fputs("\"} 1\n", f);

    header(f, "llmload_requests_total", "counter", "Requests by outcome (measured window).");
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *rq = cJSON_GetObjectItemCaseSensitive(b, "requests");
        const char *outcomes[] = {"completed", "errored", "incomplete", "cancelled"};
        bench_labels(b, model, &l);
        for (int i = 0; i < 4; i++) {
            fprintf(f, "llmload_requests_total{%s,outcome=\"%s\"} ", l.text, outcomes[i]);
            put_value(f, num(rq, outcomes[i]));
            fputc('\n', f);
        }
    }
    header(f, "llmload_errors_total", "counter", "Failed requests by kind (measured window).");
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "requests"), "errors_by_kind");
        bench_labels(b, model, &l);
        /* Every kind, zeros included, so that rate() and alerts see each series from the start. */
        for (int k = 1; k < RECORD_ERR_COUNT_; k++) {
            const char *name = record_error_kind_name(k);
            double v = num(kinds, name);
            fprintf(f, "llmload_errors_total{%s,kind=\"%s\"} ", l.text, name);
            put_value(f, isnan(v) ? 0 : v);
            fputc('\n', f);
        }
    }
    for (size_t g = 0; g < sizeof gauges / sizeof *gauges; g++) {
        int any = 0;
        cJSON_ArrayForEach(b, benches)
        {
            const cJSON *scope = gauges[g].scope ? cJSON_GetObjectItemCaseSensitive(b, gauges[g].scope) : b;
            double v = num(scope, gauges[g].key);
            if (isnan(v))
                continue;
            if (!any++)
                header(f, gauges[g].metric, "gauge", gauges[g].help);
            bench_labels(b, model, &l);
            fprintf(f, "%s{%s} ", gauges[g].metric, l.text);
            put_value(f, v * gauges[g].scale);
            fputc('\n', f);
        }
    }
    header(f, "llmload_client_bound", "gauge", "1 when the client could not keep up (its numbers describe itself).");
    cJSON_ArrayForEach(b, benches)
    {
        bench_labels(b, model, &l);
        fprintf(f, "llmload_client_bound{%s} %d\n", l.text,
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "client"), "client_bound")));
    }
    int any_slo = 0;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *passed = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "slo"), "passed");
        if (!cJSON_IsBool(passed))
            continue;
        if (!any_slo++)
            header(f, "llmload_slo_passed", "gauge", "1 when the benchmark met every --slo rule.");
        bench_labels(b, model, &l);
        fprintf(f, "llmload_slo_passed{%s} %d\n", l.text, cJSON_IsTrue(passed));
    }

    for (size_t m = 0; m < sizeof latency_families / sizeof *latency_families; m++) {
        int any = 0;
        cJSON_ArrayForEach(b, benches)
        {
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "metrics"),
                                                              latency_families[m].report_key);
            double count = num(s, "count");
            if (!(count > 0))
                continue;
            if (!any++)
                header(f, latency_families[m].metric, "summary", latency_families[m].help);
            bench_labels(b, model, &l);
            for (size_t q = 0; q < sizeof quantiles / sizeof *quantiles; q++) {
                fprintf(f, "%s{%s,quantile=\"%s\"} ", latency_families[m].metric, l.text, quantiles[q].q);
                put_value(f, num(s, quantiles[q].stat) / 1000.0);
                fputc('\n', f);
            }
            fprintf(f, "%s_sum{%s} ", latency_families[m].metric, l.text);
            put_value(f, num(s, "mean") * count / 1000.0);
            fprintf(f, "\n%s_count{%s} ", latency_families[m].metric, l.text);
            put_value(f, count);
            fputc('\n', f);
        }
    }

    /* The exact buckets folded onto fixed bounds: a bucket counts under `le` when its whole range
     * lies at or below it, so a count is never placed under a bound smaller than its value. */
    int any_hist = 0;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "histograms"), "itl_ms");
        const cJSON *buckets = cJSON_GetObjectItemCaseSensitive(h, "buckets"), *pair;
        if (!cJSON_IsArray(buckets))
            continue;
        if (!any_hist++)
            header(f, "llmload_inter_token_gap_seconds", "histogram", "Gaps between token events, as a histogram.");
        double cum[sizeof itl_le / sizeof *itl_le] = {0}, total = 0, sum = 0;
        /* Indices mean what the writer's scheme says (older reports: 7 bits), read exactly. */
        const cJSON *bits = cJSON_GetObjectItemCaseSensitive(h, "sub_bucket_bits");
        int sub_bits = cJSON_IsNumber(bits) ? bits->valueint : 0;
        cJSON_ArrayForEach(pair, buckets)
        {
            const cJSON *idx = cJSON_GetArrayItem(pair, 0), *cnt = cJSON_GetArrayItem(pair, 1);
            uint64_t lo, hi;
            if (!cJSON_IsNumber(idx) || !cJSON_IsNumber(cnt) || idx->valuedouble < 0 ||
                idx->valuedouble >= (double)hist_scheme_slots(sub_bits) ||
                hist_scheme_bucket_range(sub_bits, (size_t)idx->valuedouble, &lo, &hi) != 0)
                continue;
            double hi_s = (double)hi / 1e9;
            for (size_t i = 0; i < sizeof itl_le / sizeof *itl_le; i++)
                if (hi_s <= itl_le[i])
                    cum[i] += cnt->valuedouble;
            total += cnt->valuedouble;
            sum += cnt->valuedouble * ((double)lo + (double)hi) / 2e9;
        }
        bench_labels(b, model, &l);
        for (size_t i = 0; i < sizeof itl_le / sizeof *itl_le; i++)
            fprintf(f, "llmload_inter_token_gap_seconds_bucket{%s,le=\"%g\"} %.17g\n", l.text, itl_le[i], cum[i]);
        fprintf(f, "llmload_inter_token_gap_seconds_bucket{%s,le=\"+Inf\"} %.17g\n", l.text, total);
        fprintf(f, "llmload_inter_token_gap_seconds_sum{%s} %.17g\n", l.text, sum);
        fprintf(f, "llmload_inter_token_gap_seconds_count{%s} %.17g\n", l.text, total);
    }
    write_server(f, benches, model);
    return ferror(f) ? LL_EIO : 0;
}
