/*
 * compare_html.c - `llmload compare --format html` (gate -> report): one self-contained page with
 * the comparison table and the two runs' latency curves overlaid, drawn by uPlot and the page's
 * script (src/compare_html.js), both inlined from the same generated header as report.html.
 * Invariant: nothing is loaded from the network, and no embedded JSON can end its <script>
 * element (every '<' in it is written as \u003c).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html_assets.h" /* generated: build/<mode>/gen/, from the Makefile's HTML_ASSETS */
#include "llmload/error.h"
#include "llmload/gate.h"
#include "llmload/report.h"

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void put_num(FILE *f, const cJSON *v)
{
    if (cJSON_IsNumber(v))
        fprintf(f, "%.4g", v->valuedouble);
    else
        fputs("&ndash;", f);
}

static void put_ci(FILE *f, const cJSON *ci)
{
    if (cJSON_GetArraySize(ci) == 2)
        fprintf(f, " <small>[%.4g, %.4g]</small>", cJSON_GetArrayItem(ci, 0)->valuedouble,
                cJSON_GetArrayItem(ci, 1)->valuedouble);
}

/* A run's points for the charts: name, achieved rate and the latency summaries only (the
 * histograms and series of a full report would make the page large for nothing). */
static cJSON *points(const cJSON *doc)
{
    cJSON *arr = cJSON_CreateArray();
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        cJSON *p = cJSON_CreateObject(), *m = p ? cJSON_AddObjectToObject(p, "metrics") : NULL;
        if (!arr || !m || !cJSON_AddItemToArray(arr, p)) {
            cJSON_Delete(p);
            cJSON_Delete(arr);
            return NULL;
        }
        static const char *const keep[] = {"name", "achieved_rate"};
        for (size_t i = 0; i < 2; i++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(b, keep[i]);
            cJSON *d = x ? cJSON_Duplicate(x, 1) : NULL;
            if (d && !cJSON_AddItemToObject(p, keep[i], d))
                cJSON_Delete(d);
        }
        static const char *const lat[] = {"ttft_ms", "itl_ms", "e2e_ms"};
        const cJSON *bm = cJSON_GetObjectItemCaseSensitive(b, "metrics");
        for (size_t i = 0; i < 3; i++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(bm, lat[i]);
            cJSON *d = x ? cJSON_Duplicate(x, 1) : NULL;
            if (d && !cJSON_AddItemToObject(m, lat[i], d))
                cJSON_Delete(d);
        }
    }
    return arr;
}

static int put_data(FILE *f, const cJSON *res, const cJSON *base, const char *base_name, const cJSON *cand,
                    const char *cand_name)
{
    cJSON *d = cJSON_CreateObject(), *bo = NULL, *co = NULL;
    int rc = LL_ENOMEM;
    if (!d || !(bo = cJSON_AddObjectToObject(d, "baseline")) || !(co = cJSON_AddObjectToObject(d, "candidate")) ||
        !cJSON_AddStringToObject(bo, "file", base_name) || !cJSON_AddStringToObject(co, "file", cand_name))
        goto out;
    cJSON *pb = points(base), *pc = points(cand);
    if (!pb || !cJSON_AddItemToObject(bo, "points", pb) || (pb = NULL, !pc) || !cJSON_AddItemToObject(co, "points", pc)) {
        cJSON_Delete(pb);
        cJSON_Delete(pc);
        goto out;
    }
    cJSON *r = cJSON_Duplicate(res, 1);
    if (!r || !cJSON_AddItemToObject(d, "comparison", r)) {
        cJSON_Delete(r);
        goto out;
    }
    char *text = cJSON_PrintUnformatted(d);
    if (!text)
        goto out;
    fputs("<script type=\"application/json\" id=\"llmload-compare\">", f);
    for (const char *s = text; *s; s++)
        if (*s == '<')
            fputs("\\u003c", f);
        else
            fputc(*s, f);
    fputs("</script>\n", f);
    cJSON_free(text);
    rc = 0;
out:
    cJSON_Delete(d);
    return rc;
}

int report_write_compare_html(const cJSON *res, const cJSON *base, const char *base_name, const cJSON *cand,
                              const char *cand_name, FILE *f)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>llmload compare</title>\n<style>\n", f);
    fwrite(uplot_css, 1, uplot_css_LEN, f);
    fputs("\n</style>\n<style>\n", f);
    fwrite(page_css, 1, page_css_LEN, f);
    fputs("\ntr.regressed td{background:#fee2e2}tr.improved td{background:#dcfce7}\n</style>\n</head>\n<body>\n"
          "<header>\n<h1>llmload compare</h1>\n<dl class=\"meta\">\n<div><dt>baseline</dt><dd>", f);
    esc(f, base_name);
    fputs("</dd></div>\n<div><dt>candidate</dt><dd>", f);
    esc(f, cand_name);
    fputs("</dd></div>\n</dl>\n</header>\n<main>\n<p class=\"matching\">", f);
    char line[256];
    gate_compare_matching(res, line, sizeof line);
    esc(f, line);
    fputs("</p>\n<table>\n<thead><tr><th>benchmark</th><th>metric</th><th>baseline [95% CI]</th>"
          "<th>candidate [95% CI]</th><th>change</th><th>verdict</th></tr></thead>\n<tbody>\n", f);
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(res, "comparisons"))
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "verdict");
        const char *verdict = cJSON_IsString(v) ? v->valuestring : "";
        fprintf(f, "<tr class=\"%s\"><td>", strcmp(verdict, "regressed") == 0  ? "regressed"
                                          : strcmp(verdict, "improved") == 0 ? "improved"
                                                                               : "same");
        const cJSON *bn = cJSON_GetObjectItemCaseSensitive(row, "benchmark"),
                    *mn = cJSON_GetObjectItemCaseSensitive(row, "metric");
        esc(f, cJSON_IsString(bn) ? bn->valuestring : "");
        fputs("</td><td>", f);
        esc(f, cJSON_IsString(mn) ? mn->valuestring : "");
        fputs("</td><td>", f);
        put_num(f, cJSON_GetObjectItemCaseSensitive(row, "baseline"));
        put_ci(f, cJSON_GetObjectItemCaseSensitive(row, "baseline_ci"));
        fputs("</td><td>", f);
        put_num(f, cJSON_GetObjectItemCaseSensitive(row, "candidate"));
        put_ci(f, cJSON_GetObjectItemCaseSensitive(row, "candidate_ci"));
        fputs("</td><td>", f);
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(row, "change");
        if (cJSON_IsNumber(ch))
            fprintf(f, "%+.1f%%", 100 * ch->valuedouble);
        else
            fputs("&ndash;", f);
        fputs("</td><td>", f);
        esc(f, verdict);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody>\n</table>\n<section><h2>Latency against achieved rate</h2>\n"
          "<div class=\"chart\" data-chart=\"ttft_ms\"></div>\n<div class=\"chart\" data-chart=\"itl_ms\"></div>\n"
          "<div class=\"chart\" data-chart=\"e2e_ms\"></div>\n</section>\n</main>\n"
          "<footer>Written by llmload compare; charts drawn with uPlot (MIT licence), inlined.</footer>\n", f);
    int rc = put_data(f, res, base, base_name, cand, cand_name);
    if (rc != 0)
        return rc;
    fputs("<script>\n", f);
    fwrite(uplot_js, 1, uplot_js_LEN, f);
    fputs("\n</script>\n<script>\n", f);
    fwrite(compare_js, 1, compare_js_LEN, f);
    fputs("</script>\n</body>\n</html>\n", f);
    return ferror(f) ? LL_EIO : 0;
}
