/*
 * report_csv.c - summary.csv (one row per benchmark, rendered from report.json so that
 * `llmload report --format csv` reproduces it byte for byte) and requests.csv (one row per
 * request, from the records). Both load in pandas.read_csv with no arguments: a header row,
 * comma separators, empty fields for missing values, RFC 4180 quoting for text.
 */
#include "llmload/report.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llmload/error.h"

static double num_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static const char *str_at(const cJSON *o, const char *a)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    return cJSON_IsString(x) ? x->valuestring : "";
}

/* A column's scope: a member of the benchmark, or a dotted path to a nested one
 * ("server.diagnosis.evidence"); NULL when any step is missing. */
static const cJSON *scope_at(const cJSON *b, const char *path)
{
    char part[64];
    while (b && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof part)
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        b = cJSON_GetObjectItemCaseSensitive(b, part);
        path += n + (path[n] == '.');
    }
    return b;
}

/* Shortest exact-enough text: up to 6 decimals, trailing zeros dropped; empty for NaN. */
static void put_num(FILE *f, double v)
{
    if (isnan(v))
        return;
    char buf[64];
    snprintf(buf, sizeof buf, "%.6f", v);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *e = buf + strlen(buf) - 1;
        while (e > dot && *e == '0')
            *e-- = '\0';
        if (e == dot)
            *e = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        strcpy(buf, "0");
    fputs(buf, f);
}

static void put_text(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* summary.csv's columns, in order: one table drives both the header and every row, so the two
 * cannot drift apart. Each column is a number at scope.key[.stat] of a benchmark, a string, or a
 * boolean; a missing value is an empty field. */
enum col_kind { COL_NUM, COL_STR, COL_BOOL, COL_BOOL_OR_EMPTY };

typedef struct summary_col {
    const char *header;
    enum col_kind kind;
    const char *scope; /* NULL: the benchmark object itself */
    const char *key, *stat;
} summary_col;

#define LAT(m, st) {m "_" st, COL_NUM, "metrics", m, st}
#define LAT5(m) LAT(m, "mean"), LAT(m, "p50"), LAT(m, "p90"), LAT(m, "p95"), LAT(m, "p99")

static const summary_col summary_cols[] = {
    {"benchmark", COL_STR, NULL, "name", NULL},
    {"schedule", COL_STR, NULL, "schedule", NULL},
    {"target_rate", COL_NUM, NULL, "target_rate", NULL},
    {"achieved_rate", COL_NUM, NULL, "achieved_rate", NULL},
    {"duration_s", COL_NUM, NULL, "duration_s", NULL},
    {"completed", COL_NUM, "requests", "completed", NULL},
    {"errored", COL_NUM, "requests", "errored", NULL},
    {"incomplete", COL_NUM, "requests", "incomplete", NULL},
    {"cancelled", COL_NUM, "requests", "cancelled", NULL},
    {"error_rate", COL_NUM, "requests", "error_rate", NULL},
    {"request_throughput", COL_NUM, "metrics", "request_throughput", NULL},
    {"output_token_throughput", COL_NUM, "metrics", "output_token_throughput", NULL},
    {"total_token_throughput", COL_NUM, "metrics", "total_token_throughput", NULL},
    {"concurrency_mean", COL_NUM, "metrics", "concurrency_mean", NULL},
    LAT5("ttft_ms"),
    LAT5("itl_ms"),
    LAT5("tpot_ms"),
    LAT5("e2e_ms"),
    LAT("schedule_lag_ms", "p99"),
    {"prompt_tokens_mean", COL_NUM, "metrics", "prompt_tokens_mean", NULL},
    {"output_tokens_mean", COL_NUM, "metrics", "output_tokens_mean", NULL},
    {"tokens_per_event", COL_NUM, "metrics", "tokens_per_event", NULL},
    {"client_bound", COL_BOOL, "client", "client_bound", NULL},
    {"partial", COL_BOOL, NULL, "partial", NULL},
    {"goodput", COL_NUM, "metrics", "goodput", NULL},
    /* Empty when no --slo was given, so pandas reads a missing verdict as NaN. */
    {"slo_passed", COL_BOOL_OR_EMPTY, "slo", "passed", NULL},
    {"prompt_tokens_asked_mean", COL_NUM, "metrics", "prompt_tokens_asked_mean", NULL},
    {"finish_stop", COL_NUM, "requests", "finish_reasons", "stop"},
    {"finish_length", COL_NUM, "requests", "finish_reasons", "length"},
    {"finish_tool_calls", COL_NUM, "requests", "finish_reasons", "tool_calls"},
    {"finish_content_filter", COL_NUM, "requests", "finish_reasons", "content_filter"},
    {"finish_other", COL_NUM, "requests", "finish_reasons", "other"},
    {"finish_none", COL_NUM, "requests", "finish_reasons", "none"},
    {"no_done_ok", COL_NUM, "requests", "no_done_ok", NULL},
    /* --server-metrics (docs/server-metrics.md): empty without it. */
    {"server_verdict", COL_STR, "server.diagnosis", "verdict", NULL},
    {"server_running_max", COL_NUM, "server.diagnosis.evidence", "running_max", NULL},
    {"server_waiting_mean", COL_NUM, "server.diagnosis.evidence", "waiting_mean", NULL},
    {"server_kv_usage_max", COL_NUM, "server.diagnosis.evidence", "kv_usage_max", NULL},
    {"server_preemptions", COL_NUM, "server.diagnosis.evidence", "preemptions", NULL},
    {"server_gpu_busy", COL_NUM, "server.diagnosis.evidence", "gpu_busy", NULL},
    {"server_prefix_hit_rate", COL_NUM, "server.summary", "prefix_hit_rate", NULL},
    {"server_energy_per_token_j", COL_NUM, "server.summary", "energy_per_token_j", NULL},
    {"server_scrapes_failed", COL_NUM, "server", "scrapes_failed", NULL},
    /* --schedule slo-search (docs/gate.md): each probe's verdict; the row of the highest passing
     * probe has search_result true and the rule that limits it. Empty on other rows and runs. */
    {"search_verdict", COL_STR, "search", "verdict", NULL},
    {"search_result", COL_BOOL_OR_EMPTY, "search", "result", NULL},
    {"search_limited_by", COL_STR, "search", "limited_by", NULL},
    /* Why each benchmark stopped (time_limit, request_limit, saturated, ...; docs/workloads.md). */
    {"stop_reason", COL_STR, NULL, "stop_reason", NULL},
};

int report_write_summary_csv(const cJSON *doc, FILE *f)
{
    const size_t ncols = sizeof summary_cols / sizeof *summary_cols;
    const cJSON *benches = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    if (!cJSON_IsArray(benches))
        return LL_EPARSE;
    for (size_t i = 0; i < ncols; i++)
        fprintf(f, "%s%s", i ? "," : "", summary_cols[i].header);
    fputc('\n', f);
    const cJSON *b;
    cJSON_ArrayForEach(b, benches)
    {
        for (size_t i = 0; i < ncols; i++) {
            const summary_col *c = &summary_cols[i];
            const cJSON *scope = c->scope ? scope_at(b, c->scope) : b;
            if (i)
                fputc(',', f);
            switch (c->kind) {
            case COL_NUM:
                put_num(f, num_at(scope, c->key, c->stat));
                break;
            case COL_STR:
                put_text(f, str_at(scope, c->key));
                break;
            case COL_BOOL:
                fputs(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(scope, c->key)) ? "true" : "false", f);
                break;
            case COL_BOOL_OR_EMPTY: {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(scope, c->key);
                if (cJSON_IsBool(v))
                    fputs(cJSON_IsTrue(v) ? "true" : "false", f);
                break;
            }
            }
        }
        fputc('\n', f);
    }
    return ferror(f) ? LL_EIO : 0;
}

static const char *const BREAKDOWN_KEYS[] = {"by_turn", "by_model"};

int report_has_breakdown(const cJSON *doc)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    for (size_t k = 0; k < 2; k++)
        if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(b, BREAKDOWN_KEYS[k])) > 0)
            return 1;
    return 0;
}

int report_write_breakdown_csv(const cJSON *doc, FILE *f)
{
    static const char *const counts[] = {"requests", "completed", "errors", "incomplete", "cancelled"};
    static const char *const dists[] = {"ttft_ms", "itl_ms", "e2e_ms"};
    static const char *const stats[] = {"mean", "p50", "p90", "p95", "p99"};
    const cJSON *benches = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"), *b, *g;
    if (!cJSON_IsArray(benches))
        return LL_EPARSE;
    fputs("benchmark,by,group", f);
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
        fprintf(f, ",%s", counts[i]);
    for (size_t d = 0; d < sizeof dists / sizeof *dists; d++)
        for (size_t i = 0; i < sizeof stats / sizeof *stats; i++)
            fprintf(f, ",%s_%s", dists[d], stats[i]);
    fputs(",output_token_throughput\n", f);
    cJSON_ArrayForEach(b, benches)
    for (size_t k = 0; k < 2; k++)
        cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(b, BREAKDOWN_KEYS[k]))
        {
            const char *by = k == 0 ? "turn" : "model";
            const cJSON *key = cJSON_GetObjectItemCaseSensitive(g, by);
            put_text(f, str_at(b, "name"));
            fprintf(f, ",%s,", by);
            if (cJSON_IsString(key))
                put_text(f, key->valuestring);
            else
                put_num(f, cJSON_IsNumber(key) ? key->valuedouble : NAN);
            for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
                fputc(',', f);
                put_num(f, num_at(g, counts[i], NULL));
            }
            for (size_t d = 0; d < sizeof dists / sizeof *dists; d++)
                for (size_t i = 0; i < sizeof stats / sizeof *stats; i++) {
                    fputc(',', f);
                    put_num(f, num_at(g, dists[d], stats[i]));
                }
            fputc(',', f);
            put_num(f, num_at(g, "output_token_throughput", NULL));
            fputc('\n', f);
        }
    return ferror(f) ? LL_EIO : 0;
}

/* ns as a decimal of unit_ns units with 6 decimals, trailing zeros dropped: the text put_num
 * would print, from integers (a million rows of %f cost more than the whole run's parsing). */
static void put_ns(FILE *f, uint64_t ns, uint64_t unit_ns)
{
    uint64_t step = unit_ns / 1000000; /* ns per last decimal */
    uint64_t q = (ns + step / 2) / step, whole = q / 1000000, frac = q % 1000000;
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%" PRIu64, whole);
    if (frac) {
        buf[n++] = '.';
        for (uint64_t d = 100000; d && frac; d /= 10) {
            buf[n++] = (char)('0' + frac / d);
            frac %= d;
        }
    }
    fwrite(buf, 1, (size_t)n, f);
}

static void put_ms(FILE *f, uint64_t a, uint64_t b)
{
    fputc(',', f);
    if (a && b && a >= b)
        put_ns(f, a - b, 1000000);
}

int report_write_requests_csv(const bench_result *results, size_t n, uint64_t t0_ns, FILE *f)
{
    static const char *const status_names[] = {"ok", "error", "incomplete", "cancelled"};
    fputs("benchmark,request_id,scheduled_s,sent_s,schedule_lag_ms,ttfb_ms,ttft_ms,ttfot_ms,tpot_ms,itl_mean_ms,"
          "itl_max_ms,e2e_ms,prompt_tokens,output_tokens,token_events,max_tokens,measured,http_status,status,"
          "error_kind,error,resent,prompt_tokens_asked,finish_reason,server_prompt_n,server_prompt_ms,"
          "server_predicted_n,server_predicted_ms,connect_ms,last_token_ms,itl_count,usage_seen,done_seen,short_output,"
          "usage_running,new_connection,model,session,turn\n",
          f);
    for (size_t bi = 0; bi < n; bi++) {
        const bench_result *res = &results[bi];
        for (size_t i = 0; i < res->records.len; i++) {
            const record *r = &res->records.items[i];
            put_text(f, res->plan.name);
            fprintf(f, ",%" PRIu64 ",", r->id);
            put_ns(f, r->scheduled_ns >= t0_ns ? r->scheduled_ns - t0_ns : 0, 1000000000);
            fputc(',', f);
            if (r->sent_ns)
                put_ns(f, r->sent_ns >= t0_ns ? r->sent_ns - t0_ns : 0, 1000000000);
            put_ms(f, r->sent_ns, r->scheduled_ns);
            put_ms(f, r->first_byte_ns, r->sent_ns);
            put_ms(f, r->first_token_ns, r->sent_ns);
            put_ms(f, r->first_output_ns, r->sent_ns);
            fputc(',', f);
            if (r->status == RECORD_OK && r->first_token_ns && r->output_tokens >= 2)
                put_num(f, (double)(r->end_ns - r->first_token_ns) / 1e6 / (r->output_tokens - 1));
            fputc(',', f);
            if (r->itl_count)
                put_num(f, (double)r->itl_sum_ns / r->itl_count / 1e6);
            fputc(',', f);
            if (r->itl_count)
                put_ns(f, r->itl_max_ns, 1000000);
            put_ms(f, r->end_ns, r->sent_ns);
            fprintf(f, ",%d,%d,%u,%d,%d,", r->prompt_tokens, r->output_tokens, r->token_events, r->max_tokens,
                    r->measured);
            if (r->http_status)
                fprintf(f, "%d", r->http_status);
            fprintf(f, ",%s,%s,", status_names[r->status <= RECORD_CANCELLED ? r->status : 1],
                    r->status == RECORD_ERROR ? record_error_kind_name(r->error_kind) : "");
            put_text(f, record_log_error(&res->records, r));
            fputc(',', f);
            if (r->resent)
                fputs(record_resend_reason_name(r->resent), f);
            fprintf(f, ",%d", r->prompt_tokens_asked);
            fprintf(f, ",%s,", record_finish_name(r->finish_reason));
            if (r->has_timings) {
                /* A float holds about 7 digits: print what it knows (microseconds), not its noise. */
                fprintf(f, "%d,", r->server_prompt_n);
                put_num(f, round((double)r->server_prompt_ms * 1000) / 1000);
                fprintf(f, ",%d,", r->server_predicted_n);
                put_num(f, round((double)r->server_predicted_ms * 1000) / 1000);
            } else {
                fputs(",,,", f);
            }
            fputc(',', f);
            if (r->connect_us)
                put_ns(f, (uint64_t)r->connect_us * 1000, 1000000);
            /* The rest of what the aggregator reads, so `llmload merge` rebuilds the record whole. */
            put_ms(f, r->last_token_ns, r->sent_ns);
            fprintf(f, ",%u,%d,%d,%d,%d,%d,", r->itl_count, r->usage_seen, r->done_seen, r->short_output,
                    r->usage_running, r->new_connection);
            /* The model's name (docs/workloads.md); empty when the result does not know it. */
            if (r->model < res->n_model_names && res->model_names[r->model])
                put_text(f, res->model_names[r->model]);
            /* Sessions (docs/workloads.md): empty outside them. */
            fputc(',', f);
            if (r->session)
                fprintf(f, "%" PRIu32 ",%u", r->session, (unsigned)r->turn);
            else
                fputc(',', f);
            fputc('\n', f);
        }
    }
    return ferror(f) ? LL_EIO : 0;
}

int report_write_markdown(const cJSON *doc, FILE *f)
{
    const cJSON *benches = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    if (!cJSON_IsArray(benches))
        return LL_EPARSE;
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(doc, "config");
    fprintf(f, "### llmload: %s on %s\n\n", str_at(conf, "model"), str_at(conf, "target"));
    fputs("| benchmark | achieved req/s | output tok/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms | "
          "e2e p50 ms | e2e p99 ms | errors |\n",
          f);
    fputs("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", f);
    const cJSON *b;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(b, "metrics");
        const cJSON *rq = cJSON_GetObjectItemCaseSensitive(b, "requests");
        fprintf(f, "| %s | %.2f | %.1f | %.1f | %.1f | %.2f | %.2f | %.0f | %.0f | %.0f |\n", str_at(b, "name"),
                num_at(b, "achieved_rate", NULL), num_at(m, "output_token_throughput", NULL),
                num_at(m, "ttft_ms", "p50"), num_at(m, "ttft_ms", "p99"), num_at(m, "itl_ms", "p50"),
                num_at(m, "itl_ms", "p99"), num_at(m, "e2e_ms", "p50"), num_at(m, "e2e_ms", "p99"),
                num_at(rq, "errored", NULL));
    }
    return ferror(f) ? LL_EIO : 0;
}
