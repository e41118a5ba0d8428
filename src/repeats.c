/*
 * repeats.c - mean, stdev, 95% interval and CV of headline figures across --repeat runs
 * (aggregate -> report: reads the built report.json document, adds "repeats").
 *
 * Invariant: a benchmark's runs are the entries named BASE#k; the interval is Student's t over
 * the runs' values (stats_mean_ci), so with N runs it has N - 1 degrees of freedom.
 */
#include "llmload/repeats.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/stats.h"

/* Headline figures: report key, the metrics object (NULL: a number in metrics), its member. */
static const struct {
    const char *key, *metric, *stat;
} figures[] = {
    {"ttft_p50_ms", "ttft_ms", "p50"},
    {"ttft_p95_ms", "ttft_ms", "p95"},
    {"ttft_p99_ms", "ttft_ms", "p99"},
    {"itl_p50_ms", "itl_ms", "p50"},
    {"itl_p99_ms", "itl_ms", "p99"},
    {"e2e_p50_ms", "e2e_ms", "p50"},
    {"e2e_p99_ms", "e2e_ms", "p99"},
    {"request_throughput", NULL, "request_throughput"},
    {"output_token_throughput", NULL, "output_token_throughput"},
};
#define N_FIGURES (sizeof figures / sizeof figures[0])
#define MAX_REPEATS 100 /* config's bound on --repeat */

/* Length of the base name ("constant@10" of "constant@10#2"), or 0 when name has no #k suffix. */
static size_t base_len(const char *name)
{
    const char *h = strrchr(name, '#');
    if (!h || !h[1])
        return 0;
    for (const char *p = h + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return (size_t)(h - name);
}

static int figure_value(const cJSON *bench, size_t f, double *out)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(bench, "metrics");
    if (figures[f].metric)
        m = cJSON_GetObjectItemCaseSensitive(m, figures[f].metric);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, figures[f].stat);
    if (!cJSON_IsNumber(v))
        return 0;
    *out = v->valuedouble;
    return 1;
}

static int add_figure(cJSON *figs, const char *key, const double *v, size_t n)
{
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        mean += v[i] / (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    double sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
    stats_ci ci = stats_mean_ci(n, mean, sd, STATS_CI_LEVEL);
    double cv = mean != 0 ? sd / fabs(mean) : 0;
    cJSON *o = cJSON_AddObjectToObject(figs, key);
    if (!o || !cJSON_AddNumberToObject(o, "mean", mean) || !cJSON_AddNumberToObject(o, "stdev", sd))
        return LL_ENOMEM;
    cJSON *c = ci.ok ? cJSON_CreateDoubleArray((double[]){ci.lo, ci.hi}, 2) : cJSON_CreateNull();
    if (!c || !cJSON_AddItemToObject(o, "ci", c)) {
        cJSON_Delete(c);
        return LL_ENOMEM;
    }
    cJSON *vals = cJSON_CreateDoubleArray(v, (int)n);
    if (!vals || !cJSON_AddItemToObject(o, "values", vals)) {
        cJSON_Delete(vals);
        return LL_ENOMEM;
    }
    if (!cJSON_AddNumberToObject(o, "cv", cv) || !cJSON_AddBoolToObject(o, "flagged", cv > REPEATS_CV_FLAG))
        return LL_ENOMEM;
    return 0;
}

/* One "repeats" entry for the runs named base#k (first is the first of them). */
static int add_group(cJSON *arr, const cJSON *benches, const cJSON *first, size_t blen)
{
    const cJSON *runs[MAX_REPEATS];
    size_t n = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(b, "name");
        if (!cJSON_IsString(nm) || base_len(nm->valuestring) != blen ||
            strncmp(nm->valuestring, first->valuestring, blen) != 0)
            continue;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "partial")))
            continue;
        if (n < MAX_REPEATS)
            runs[n++] = b;
    }
    cJSON *g = cJSON_CreateObject();
    if (!g || !cJSON_AddItemToArray(arr, g)) {
        cJSON_Delete(g);
        return LL_ENOMEM;
    }
    char base[128];
    snprintf(base, sizeof base, "%.*s", (int)(blen < sizeof base ? blen : sizeof base - 1), first->valuestring);
    cJSON *figs;
    if (!cJSON_AddStringToObject(g, "benchmark", base) || !cJSON_AddNumberToObject(g, "runs", (double)n) ||
        !(figs = cJSON_AddObjectToObject(g, "figures")))
        return LL_ENOMEM;
    for (size_t f = 0; f < N_FIGURES; f++) {
        double v[MAX_REPEATS];
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += figure_value(runs[i], f, &v[k]);
        if (k && add_figure(figs, figures[f].key, v, k) != 0)
            return LL_ENOMEM;
    }
    return 0;
}

int repeats_build(cJSON *doc)
{
    const cJSON *benches = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return LL_ENOMEM;
    const cJSON *b;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(b, "name");
        size_t blen = cJSON_IsString(nm) ? base_len(nm->valuestring) : 0;
        if (!blen)
            continue;
        /* A group once, at its first run: skip when an earlier entry has the same base. */
        int seen = 0;
        for (const cJSON *p = benches->child; p != b && !seen; p = p->next) {
            const cJSON *pn = cJSON_GetObjectItemCaseSensitive(p, "name");
            seen = cJSON_IsString(pn) && base_len(pn->valuestring) == blen &&
                   strncmp(pn->valuestring, nm->valuestring, blen) == 0;
        }
        if (!seen && add_group(arr, benches, nm, blen) != 0) {
            cJSON_Delete(arr);
            return LL_ENOMEM;
        }
    }
    if (!cJSON_AddItemToObject(doc, "repeats", arr)) {
        cJSON_Delete(arr);
        return LL_ENOMEM;
    }
    return 0;
}

void repeats_print(FILE *f, const cJSON *doc)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(doc, "repeats"))
    {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(g, "benchmark");
        const cJSON *runs = cJSON_GetObjectItemCaseSensitive(g, "runs");
        fprintf(f, "repeats of %s (%d runs): mean [95%% interval] cv\n", cJSON_IsString(nm) ? nm->valuestring : "?",
                cJSON_IsNumber(runs) ? runs->valueint : 0);
        const cJSON *fig;
        cJSON_ArrayForEach(fig, cJSON_GetObjectItemCaseSensitive(g, "figures"))
        {
            const cJSON *mean = cJSON_GetObjectItemCaseSensitive(fig, "mean");
            const cJSON *ci = cJSON_GetObjectItemCaseSensitive(fig, "ci");
            const cJSON *cv = cJSON_GetObjectItemCaseSensitive(fig, "cv");
            if (!cJSON_IsNumber(mean) || !cJSON_IsNumber(cv))
                continue;
            fprintf(f, "  %-24s %10.3f", fig->string, mean->valuedouble);
            if (cJSON_GetArraySize(ci) == 2)
                fprintf(f, " [%.3f, %.3f]", cJSON_GetArrayItem(ci, 0)->valuedouble,
                        cJSON_GetArrayItem(ci, 1)->valuedouble);
            fprintf(f, " %5.1f%%%s\n", 100 * cv->valuedouble,
                    cv->valuedouble > REPEATS_CV_FLAG ? "  <- varies by more than 10% between runs" : "");
        }
    }
}
