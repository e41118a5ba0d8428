/*
 * report_html.c - report.html (report stage): one self-contained page rendered from the report.json
 * document, like every other format. The benchmark table is HTML written here, so the page reads
 * without JavaScript; the charts are drawn in the browser by the page's script (src/report_html.js)
 * with uPlot, both inlined from a header generated at build time (scripts/embed-assets.py).
 * Invariants: the output depends only on the document (no clock, no host, no locale), so `llmload
 * report --format html` reproduces a run's page byte for byte; nothing is loaded from the network;
 * no embedded JSON can end its <script> element (every '<' in it is written as \u003c).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "html_assets.h" /* generated: build/<mode>/gen/, from the Makefile's HTML_ASSETS */
#include "llmload/error.h"
#include "llmload/hist.h"
#include "llmload/report.h"

/* Latency metrics of the table, in order: key in "metrics", heading. */
static const struct {
    const char *key;
    const char *label;
} table_metrics[] = {
    {"ttft_ms", "TTFT"},
    {"itl_ms", "ITL"},
    {"tpot_ms", "TPOT"},
    {"e2e_ms", "E2E"},
};

static const char *const table_pcts[] = {"p50", "p95", "p99"};

static const cJSON *get(const cJSON *o, const char *k)
{
    return o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* NaN when absent or not a number, which the formatters print as a dash. */
static double num(const cJSON *o, const char *k)
{
    const cJSON *x = get(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *x = get(o, k);
    return cJSON_IsString(x) && x->valuestring ? x->valuestring : "";
}

static int truthy(const cJSON *o, const char *k)
{
    return cJSON_IsTrue(get(o, k));
}

static void put(FILE *f, const char *s)
{
    fputs(s, f);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void putf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
}

/* Text and attribute values: the five characters HTML gives meaning to. */
static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': put(f, "&amp;"); break;
        case '<': put(f, "&lt;"); break;
        case '>': put(f, "&gt;"); break;
        case '"': put(f, "&quot;"); break;
        case '\'': put(f, "&#39;"); break;
        default: fputc(*s, f);
        }
    }
}

/* Fewer decimals as values grow, as the console table does: 5.49, 20.2, 1104. */
static void put_num(FILE *f, double v)
{
    if (isnan(v))
        put(f, "&ndash;");
    else if (fabs(v) >= 1000)
        putf(f, "%.0f", v);
    else if (fabs(v) >= 10)
        putf(f, "%.1f", v);
    else
        putf(f, "%.2f", v);
}

/* Counts: whole numbers, a dash when absent. */
static void put_count(FILE *f, double v)
{
    if (isnan(v))
        put(f, "&ndash;");
    else
        putf(f, "%.0f", v);
}

/* JSON inside <script type="application/json">: '<' only occurs inside JSON strings, where
 * \u003c means the same to JSON.parse, and without it "</script>" or "<!--" could end the block. */
static int put_json(FILE *f, const cJSON *x)
{
    char *text = cJSON_PrintUnformatted(x);
    if (!text)
        return LL_ENOMEM;
    for (const char *p = text; *p;) {
        const char *lt = strchr(p, '<');
        size_t n = lt ? (size_t)(lt - p) : strlen(p);
        fwrite(p, 1, n, f);
        if (!lt)
            break;
        put(f, "\\u003c");
        p = lt + 1;
    }
    cJSON_free(text);
    return 0;
}

/* A summary percentile, or NaN when the metric had no samples (count 0). */
static double pct(const cJSON *metrics, const char *key, const char *p)
{
    const cJSON *m = get(metrics, key);
    double n = num(m, "count");
    if (!isnan(n) && n == 0)
        return NAN;
    return num(m, p);
}

/* --server-metrics: "VERDICT: reason; below it in load: X" of one benchmark's diagnosis. */
static void put_verdict(FILE *f, const cJSON *diag)
{
    put(f, "<code>");
    esc(f, str(diag, "verdict"));
    put(f, "</code>: ");
    esc(f, str(diag, "reason"));
    if (*str(diag, "changed_from")) {
        put(f, "; below it in load: <code>");
        esc(f, str(diag, "changed_from"));
        put(f, "</code>");
    }
}

/* The diagnosis of every benchmark, at the top of the page: what limited the server. Nothing
 * without --server-metrics. */
static void put_verdicts(FILE *f, const cJSON *benches)
{
    const cJSON *b;
    int any = 0;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *diag = get(get(b, "server"), "diagnosis");
        if (!*str(diag, "verdict"))
            continue;
        if (!any++)
            put(f, "<div class=\"banner\" id=\"server-verdict\"><strong>Server verdict</strong> (from its "
                   "own metrics over each measured window):<ul>\n");
        put(f, "<li><b>");
        esc(f, str(b, "name"));
        put(f, "</b>: ");
        put_verdict(f, diag);
        put(f, "</li>\n");
    }
    if (any)
        put(f, "</ul></div>\n");
}

static void put_head(FILE *f, const cJSON *doc)
{
    const cJSON *cfg = get(doc, "config"), *env = get(doc, "environment"), *tool = get(doc, "tool");
    put(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta name=\"generator\" content=\"llmload ");
    esc(f, str(tool, "version"));
    put(f, "\">\n<title>llmload report: ");
    esc(f, str(cfg, "model"));
    put(f, "</title>\n<style>\n");
    fwrite(uplot_css, 1, uplot_css_LEN, f);
    put(f, "\n</style>\n<style>\n");
    fwrite(page_css, 1, page_css_LEN, f);
    put(f, "</style>\n</head>\n<body>\n<header>\n<h1>llmload report</h1>\n<dl class=\"meta\">\n");
    const cJSON *const objs[] = {cfg, env, tool};
    static const struct {
        int obj; /* index in objs */
        const char *key, *label;
    } meta[] = {
        {0, "model", "model"}, {0, "target", "target"}, {0, "api", "API"}, {0, "schedule", "schedule"},
        {1, "start_time_iso", "started"}, {1, "host", "host"}, {2, "build", "llmload"},
    };
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
        const char *v = str(objs[meta[i].obj], meta[i].key);
        if (!v[0])
            continue;
        putf(f, "<div><dt>%s</dt><dd>", meta[i].label);
        esc(f, v);
        put(f, "</dd></div>\n");
    }
    put(f, "</dl>\n");
    if (truthy(doc, "partial"))
        put(f, "<p class=\"banner warn\">Partial run: it was interrupted, so the last benchmark "
               "covers less than its planned time.</p>\n");
    put_verdicts(f, get(doc, "benchmarks"));
    put(f, "</header>\n");
}

static void put_errors_cell(FILE *f, const cJSON *rq)
{
    put_count(f, num(rq, "errored"));
    const cJSON *kinds = get(rq, "errors_by_kind"), *k;
    if (!cJSON_IsObject(kinds) || !kinds->child)
        return;
    put(f, "<div class=\"kinds\">");
    cJSON_ArrayForEach(k, kinds)
    {
        if (!k->string || !cJSON_IsNumber(k))
            continue;
        put(f, "<span>");
        esc(f, k->string);
        putf(f, "&nbsp;%.0f</span> ", k->valuedouble);
    }
    put(f, "</div>");
}

static void put_table(FILE *f, const cJSON *benches)
{
    size_t nm = sizeof table_metrics / sizeof table_metrics[0], np = sizeof table_pcts / sizeof table_pcts[0];
    put(f, "<section>\n<h2>Benchmarks</h2>\n<div class=\"table-wrap\">\n<table class=\"bench\">\n<thead>\n<tr>"
           "<th rowspan=\"2\" class=\"name\">benchmark</th><th rowspan=\"2\" class=\"text\">schedule</th>"
           "<th rowspan=\"2\">target<br><span class=\"unit\">req/s</span></th>"
           "<th rowspan=\"2\">achieved<br><span class=\"unit\">req/s</span></th>"
           "<th rowspan=\"2\">completed<br><span class=\"unit\">req/s</span></th>"
           "<th rowspan=\"2\">output<br><span class=\"unit\">tok/s</span></th>");
    for (size_t i = 0; i < nm; i++)
        putf(f, "<th colspan=\"%zu\" class=\"group\">%s <span class=\"unit\">ms</span></th>", np,
             table_metrics[i].label);
    put(f, "<th rowspan=\"2\">ok</th><th rowspan=\"2\">errors</th><th rowspan=\"2\">flags</th></tr>\n<tr>");
    for (size_t i = 0; i < nm; i++)
        for (size_t j = 0; j < np; j++)
            putf(f, "<th class=\"pct%s\">%s</th>", j == 0 ? " first" : "", table_pcts[j]);
    put(f, "</tr>\n</thead>\n<tbody>\n");

    const cJSON *b;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *m = get(b, "metrics"), *rq = get(b, "requests"), *cl = get(b, "client");
        put(f, "<tr><td class=\"name\">");
        esc(f, str(b, "name"));
        put(f, "</td><td class=\"text\">");
        esc(f, str(b, "schedule"));
        put(f, "</td><td>");
        double target = num(b, "target_rate");
        put_num(f, target > 0 ? target : NAN);
        put(f, "</td><td>");
        put_num(f, num(b, "achieved_rate"));
        put(f, "</td><td>");
        put_num(f, num(m, "request_throughput"));
        put(f, "</td><td>");
        put_num(f, num(m, "output_token_throughput"));
        put(f, "</td>");
        for (size_t i = 0; i < nm; i++)
            for (size_t j = 0; j < np; j++) {
                putf(f, "<td class=\"pct%s\">", j == 0 ? " first" : "");
                put_num(f, pct(m, table_metrics[i].key, table_pcts[j]));
                put(f, "</td>");
            }
        put(f, "<td>");
        put_count(f, num(rq, "completed"));
        put(f, "</td><td class=\"errors\">");
        put_errors_cell(f, rq);
        put(f, "</td><td class=\"text\">");
        if (truthy(b, "partial"))
            put(f, "<span class=\"badge warn\" title=\"interrupted before its planned end\">partial</span> ");
        /* An early stop (docs/workloads.md): the rule's name, its time in the title. */
        if (!strcmp(str(b, "stop_reason"), "saturated") || !strcmp(str(b, "stop_reason"), "max_error_rate")) {
            putf(f, "<span class=\"badge warn\" title=\"stopped early after %.1f s\">", num(get(b, "early_stop"), "at_s"));
            esc(f, str(b, "stop_reason"));
            put(f, "</span> ");
        }
        if (truthy(cl, "client_bound")) {
            put(f, "<span class=\"badge bad\" title=\"");
            esc(f, str(cl, "client_bound_reason"));
            put(f, "\">client-bound</span>");
        }
        put(f, "</td></tr>\n");
    }
    put(f, "</tbody>\n</table>\n</div>\n");
}

/* Warnings and example errors under the table: what the badges in it stand for. */
static void put_notes(FILE *f, const cJSON *benches)
{
    const cJSON *b;
    int any = 0;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *cl = get(b, "client");
        if (!truthy(cl, "client_bound"))
            continue;
        if (!any++)
            put(f, "<div class=\"banner bad\"><strong>Client-bound:</strong> the load generator, not the "
                   "server, may have limited these results.<ul>\n");
        put(f, "<li><b>");
        esc(f, str(b, "name"));
        put(f, "</b>: ");
        esc(f, str(cl, "client_bound_reason"));
        put(f, "</li>\n");
    }
    if (any)
        put(f, "</ul></div>\n");
    any = 0;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *fe = get(get(b, "requests"), "first_errors"), *e;
        if (!cJSON_IsArray(fe) || !fe->child)
            continue;
        if (!any++)
            put(f, "<details class=\"errors\"><summary>First errors of each benchmark</summary><ul>\n");
        cJSON_ArrayForEach(e, fe)
        {
            if (!cJSON_IsString(e))
                continue;
            put(f, "<li><b>");
            esc(f, str(b, "name"));
            put(f, "</b>: <code>");
            esc(f, e->valuestring);
            put(f, "</code></li>\n");
        }
    }
    if (any)
        put(f, "</ul></details>\n");
    put(f, "</section>\n");
}

static void put_chart(FILE *f, const char *kind, int bench)
{
    putf(f, "<div class=\"chart\" data-chart=\"%s\"", kind);
    if (bench >= 0)
        putf(f, " data-bench=\"%d\"", bench);
    put(f, "></div>\n");
}

/* A series of benchmarks[].server.series with at least one point. */
static int has_series(const cJSON *b, const char *role)
{
    const cJSON *s = get(get(get(b, "server"), "series"), role);
    return cJSON_IsArray(s) && s->child;
}

/* --server-metrics: the benchmark's verdict, and its server's series on the time axis of the
 * client's per-second chart (both count seconds from the benchmark's start). A chart slot only
 * for a group the server exposed, so data-charts-expected stays exact. */
static void put_server_charts(FILE *f, const cJSON *b, int i)
{
    static const char *const queue[] = {"running", "waiting", NULL};
    static const char *const usage[] = {"kv_usage", "gpu_util", "sm_active", "dram_active", NULL};
    static const char *const tokens[] = {"generation_tokens", "prompt_tokens", NULL};
    static const struct {
        const char *kind;
        const char *const *roles;
    } groups[] = {{"server-queue", queue}, {"server-usage", usage}, {"server-tokens", tokens}};
    const cJSON *diag = get(get(b, "server"), "diagnosis");
    if (*str(diag, "verdict")) {
        put(f, "<p class=\"verdict\">Server: ");
        put_verdict(f, diag);
        put(f, "</p>\n");
    }
    int any = 0;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        int has = 0;
        for (const char *const *r = groups[g].roles; *r; r++)
            has |= has_series(b, *r);
        if (!has)
            continue;
        if (!any++)
            put(f, "<div class=\"charts three\">\n");
        put_chart(f, groups[g].kind, i);
    }
    if (any)
        put(f, "</div>\n");
}

/* Workloads: benchmarks[].by_turn / by_model (docs/workloads.md) as a table, and TTFT by turn as a
 * chart; nothing when the report has neither. */
static void put_breakdown(FILE *f, const cJSON *b, int i, const char *key, const char *label)
{
    const cJSON *arr = get(b, key), *g;
    if (cJSON_GetArraySize(arr) < 2)
        return;
    int turn = strcmp(key, "by_turn") == 0;
    putf(f, "<h3>By %s</h3>\n<div class=\"table-wrap\">\n<table class=\"bench breakdown\" data-breakdown=\"%s\">\n"
            "<thead><tr><th class=\"name\">%s</th><th>requests</th><th>ok</th><th>errors</th>"
            "<th>TTFT p50<br><span class=\"unit\">ms</span></th><th>TTFT p95<br><span class=\"unit\">ms</span></th>"
            "<th>ITL p50<br><span class=\"unit\">ms</span></th><th>E2E p50<br><span class=\"unit\">ms</span></th>"
            "<th>output<br><span class=\"unit\">tok/s</span></th></tr></thead>\n<tbody>\n",
         label, key, label);
    cJSON_ArrayForEach(g, arr)
    {
        put(f, "<tr><td class=\"name\">");
        const cJSON *name = get(g, turn ? "turn" : "model");
        if (cJSON_IsString(name))
            esc(f, name->valuestring);
        else
            put_count(f, cJSON_IsNumber(name) ? name->valuedouble : NAN);
        put(f, "</td><td>");
        put_count(f, num(g, "requests"));
        put(f, "</td><td>");
        put_count(f, num(g, "completed"));
        put(f, "</td><td>");
        put_count(f, num(g, "errors"));
        static const char *const cells[][2] = {{"ttft_ms", "p50"}, {"ttft_ms", "p95"}, {"itl_ms", "p50"}, {"e2e_ms", "p50"}};
        for (size_t k = 0; k < sizeof cells / sizeof cells[0]; k++) {
            put(f, "</td><td>");
            put_num(f, num(get(g, cells[k][0]), cells[k][1]));
        }
        put(f, "</td><td>");
        put_num(f, num(g, "output_token_throughput"));
        put(f, "</td></tr>\n");
    }
    put(f, "</tbody>\n</table>\n</div>\n");
    if (turn) {
        put(f, "<div class=\"charts two\">\n");
        put_chart(f, "ttft-turn", i);
        put(f, "</div>\n");
    }
}

static void put_chart_sections(FILE *f, const cJSON *benches)
{
    int n = cJSON_GetArraySize(benches);
    put(f, "<noscript><p class=\"banner\">The charts are drawn by JavaScript; the table above holds "
           "the headline numbers, and report.json everything.</p></noscript>\n");
    if (n > 1) {
        put(f, "<section>\n<h2>Sweep: latency and throughput against achieved rate</h2>\n"
               "<div class=\"charts two\">\n");
        put_chart(f, "sweep-ttft", -1);
        put_chart(f, "sweep-itl", -1);
        put_chart(f, "sweep-e2e", -1);
        put_chart(f, "sweep-tps", -1);
        put(f, "</div>\n</section>\n");
    }
    const cJSON *b;
    int i = 0;
    cJSON_ArrayForEach(b, benches)
    {
        put(f, "<section class=\"bench\">\n<h2>");
        esc(f, str(b, "name"));
        put(f, " <span class=\"sub\">");
        esc(f, str(b, "schedule"));
        putf(f, ", %.1f s measured</span></h2>\n<div class=\"charts three\">\n", num(b, "duration_s"));
        put_chart(f, "ttft", i);
        put_chart(f, "itl", i);
        put_chart(f, "timeseries", i);
        put(f, "</div>\n");
        put_server_charts(f, b, i);
        put_breakdown(f, b, i, "by_turn", "turn");
        put_breakdown(f, b, i, "by_model", "model");
        put(f, "</section>\n");
        i++;
    }
}

/* One histogram from report.json ([index, count] pairs) as [lo_ms, hi_ms, count] with the exact
 * bucket edges (hi exclusive), so the page's script needs no knowledge of the bucket scheme. */
static void put_buckets(FILE *f, const cJSON *h)
{
    put(f, "[");
    const cJSON *pairs = get(h, "buckets"), *p;
    /* Indices mean what the writer's scheme says (older reports: 7 bits), read exactly. */
    const cJSON *bits = get(h, "sub_bucket_bits");
    int sub_bits = cJSON_IsNumber(bits) ? bits->valueint : 0;
    size_t slots = hist_scheme_slots(sub_bits);
    int first = 1;
    cJSON_ArrayForEach(p, pairs)
    {
        const cJSON *idx = cJSON_GetArrayItem(p, 0), *cnt = cJSON_GetArrayItem(p, 1);
        uint64_t lo, hi;
        if (!cJSON_IsNumber(idx) || !cJSON_IsNumber(cnt) || idx->valuedouble < 0 ||
            idx->valuedouble >= (double)slots || cnt->valuedouble <= 0 ||
            hist_scheme_bucket_range(sub_bits, (size_t)idx->valuedouble, &lo, &hi) != 0)
            continue;
        putf(f, "%s[%.6f,%.6f,%.0f]", first ? "" : ",", (double)lo / 1e6, (double)(hi + 1) / 1e6,
             cnt->valuedouble);
        first = 0;
    }
    put(f, "]");
}

/* The two JSON blocks the page's script reads. 0 or LL_ENOMEM. */
static int put_data(FILE *f, const cJSON *doc, const cJSON *benches)
{
    put(f, "<script type=\"application/json\" id=\"llmload-report\">");
    int rc = put_json(f, doc);
    if (rc != 0)
        return rc;
    put(f, "</script>\n<script type=\"application/json\" id=\"llmload-buckets\">[");
    const cJSON *b;
    int first = 1;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *h = get(b, "histograms");
        put(f, first ? "{" : ",{");
        first = 0;
        static const char *const keys[] = {"ttft_ms", "itl_ms"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            putf(f, "%s\"%s\":", i ? "," : "", keys[i]);
            if (get(h, keys[i]))
                put_buckets(f, get(h, keys[i]));
            else
                put(f, "null"); /* older reports have no TTFT histogram: the page draws percentiles */
        }
        put(f, "}");
    }
    put(f, "]</script>\n");
    return 0;
}

int report_write_html(const cJSON *doc, FILE *f)
{
    const cJSON *benches = get(doc, "benchmarks");
    put_head(f, doc);
    put(f, "<main>\n");
    put_table(f, benches);
    put_notes(f, benches);
    put_chart_sections(f, benches);
    put(f, "</main>\n<footer>Written by llmload from report.json; charts drawn with uPlot "
           "(MIT licence), inlined.</footer>\n");
    int rc = put_data(f, doc, benches);
    if (rc != 0)
        return rc;
    /* First, so that an error in uPlot itself is recorded too (the tests read data-js-errors). */
    put(f, "<script>\nwindow.addEventListener('error', function (e) {\n"
           "  var b = document.body, m = String(e.message || e.type);\n"
           "  b.dataset.jsErrors = (b.dataset.jsErrors ? b.dataset.jsErrors + ' | ' : '') + m;\n"
           "});\n</script>\n<script>\n");
    fwrite(uplot_js, 1, uplot_js_LEN, f);
    put(f, "\n</script>\n<script>\n");
    fwrite(page_js, 1, page_js_LEN, f);
    put(f, "</script>\n</body>\n</html>\n");
    return ferror(f) ? LL_EIO : 0;
}
