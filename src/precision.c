/*
 * precision.c - --target-precision: how tight a statistic's 95% interval is, from the records so
 * far (the runner's once-a-second check) or from a built report (its annotation).
 *
 * Invariant: the values are those the aggregator summarises (aggregate.c): measured requests that
 * completed, times from the send; so the interval the runner stops on is the one report.json shows
 * (up to the requests still in flight when it stopped, which finish and join the final figures).
 */
#include "llmload/precision.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/stats.h"

int precision_parse(const char *spec, precision_target *out, char *err, size_t errlen)
{
    static const char *const metrics[] = {"ttft", "ttfot", "ttfb", "tpot", "e2e", "itl"};
    static const struct {
        const char *stat;
        double q;
    } stats[] = {{"mean", 0}, {"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}, {"p999", 0.999}};
    memset(out, 0, sizeof *out);
    const char *eq = strchr(spec, '=');
    const char *us = eq ? memchr(spec, '_', (size_t)(eq - spec)) : NULL;
    if (!eq || !us || (size_t)(eq - spec) >= sizeof out->name) {
        snprintf(err, errlen, "--target-precision: '%.64s' is not STATISTIC=PRECISION, e.g. ttft_p95=5%%", spec);
        return LL_EUSAGE;
    }
    memcpy(out->name, spec, (size_t)(eq - spec));
    size_t ml = (size_t)(us - spec);
    const char *st = us + 1;
    size_t sl = (size_t)(eq - st);
    int found = 0;
    for (size_t i = 0; i < sizeof metrics / sizeof *metrics; i++)
        if (strlen(metrics[i]) == ml && strncmp(spec, metrics[i], ml) == 0) {
            snprintf(out->metric, sizeof out->metric, "%s_ms", metrics[i]);
            found = 1;
        }
    for (size_t i = 0; found && i < sizeof stats / sizeof *stats; i++)
        if (strlen(stats[i].stat) == sl && strncmp(st, stats[i].stat, sl) == 0) {
            snprintf(out->stat, sizeof out->stat, "%s", stats[i].stat);
            out->q = stats[i].q;
            found = 2;
        }
    if (found != 2) {
        snprintf(err, errlen,
                 "--target-precision: unknown statistic '%s' (ttft, ttfot, ttfb, tpot, e2e or itl, then _mean, "
                 "_p50, _p90, _p95, _p99 or _p999)", out->name);
        return LL_EUSAGE;
    }
    char *end;
    double v = strtod(eq + 1, &end);
    if (end != eq + 1 && *end == '%') {
        v /= 100;
        end++;
    }
    if (end == eq + 1 || *end != '\0' || !(v > 0 && v < 1)) {
        snprintf(err, errlen, "--target-precision: '%.32s' is not a precision above 0 and below 100%%", eq + 1);
        return LL_EUSAGE;
    }
    out->rel = v;
    return 0;
}

/* A completed record's value of t's metric in ms, as aggregate.c computes it; NAN when none. */
static double value_of(const precision_target *t, const record *r)
{
    double from = (double)r->sent_ns;
    if (strcmp(t->metric, "ttft_ms") == 0)
        return r->first_token_ns ? ((double)r->first_token_ns - from) / 1e6 : NAN;
    if (strcmp(t->metric, "ttfot_ms") == 0)
        return r->first_output_ns ? ((double)r->first_output_ns - from) / 1e6 : NAN;
    if (strcmp(t->metric, "ttfb_ms") == 0)
        return r->first_byte_ns ? ((double)r->first_byte_ns - from) / 1e6 : NAN;
    if (strcmp(t->metric, "tpot_ms") == 0)
        return r->first_token_ns && r->output_tokens >= 2
                   ? ((double)r->end_ns - (double)r->first_token_ns) / 1e6 / (double)(r->output_tokens - 1)
                   : NAN;
    return ((double)r->end_ns - from) / 1e6; /* e2e_ms */
}

static double hist_ms(const void *ctx, uint64_t rank)
{
    return hist_value_at_rank(ctx, rank) / 1e6;
}

/* max(est - lo, hi - est) / est for t's statistic of a summary with its intervals. */
static int half_width(const precision_target *t, const stats_summary *s, double *rel)
{
    double est = t->q == 0 ? s->mean : t->q == 0.5 ? s->p50 : t->q == 0.9 ? s->p90 : t->q == 0.95 ? s->p95
                             : t->q == 0.99 ? s->p99 : s->p999;
    const stats_ci *ci = t->q == 0 ? &s->mean_ci : t->q == 0.5 ? &s->p50_ci : t->q == 0.9 ? &s->p90_ci
                         : t->q == 0.95 ? &s->p95_ci : t->q == 0.99 ? &s->p99_ci : &s->p999_ci;
    if (!ci->ok || !(est > 0))
        return 0;
    *rel = fmax(est - ci->lo, ci->hi - est) / est;
    return 1;
}

int precision_measure(const precision_target *t, const record_log *log, const hist *itl, uint64_t window_start,
                      uint64_t window_end, double *rel)
{
    stats_summary s;
    if (strcmp(t->metric, "itl_ms") == 0) {
        memset(&s, 0, sizeof s);
        s.n = (size_t)hist_count(itl);
        if (!s.n)
            return 0;
        s.mean = hist_mean(itl) / 1e6;
        s.stdev = hist_stdev(itl) / 1e6;
        s.p50 = hist_percentile(itl, 50) / 1e6;
        s.p90 = hist_percentile(itl, 90) / 1e6;
        s.p95 = hist_percentile(itl, 95) / 1e6;
        s.p99 = hist_percentile(itl, 99) / 1e6;
        s.p999 = hist_percentile(itl, 99.9) / 1e6;
        stats_fill_ci(&s, hist_ms, itl);
        return half_width(t, &s, rel);
    }
    double *v = malloc((log->len ? log->len : 1) * sizeof *v);
    if (!v)
        return LL_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < log->len; i++) {
        const record *r = &log->items[i];
        if (r->status != RECORD_OK || r->scheduled_ns < window_start || r->scheduled_ns >= window_end)
            continue;
        double x = value_of(t, r);
        if (!isnan(x))
            v[n++] = x;
    }
    int rc = stats_summarize(v, n, &s) == 0 && half_width(t, &s, rel);
    free(v);
    return rc;
}

int precision_annotate(const precision_target *t, cJSON *doc)
{
    cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "metrics"), t->metric);
        char key[16];
        snprintf(key, sizeof key, "%s_ci", t->stat);
        const cJSON *est = cJSON_GetObjectItemCaseSensitive(m, t->stat), *ci = cJSON_GetObjectItemCaseSensitive(m, key);
        double rel = NAN;
        if (cJSON_IsNumber(est) && est->valuedouble > 0 && cJSON_GetArraySize(ci) == 2)
            rel = fmax(est->valuedouble - cJSON_GetArrayItem(ci, 0)->valuedouble,
                       cJSON_GetArrayItem(ci, 1)->valuedouble - est->valuedouble) / est->valuedouble;
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "statistic", t->name) || !cJSON_AddNumberToObject(o, "target", t->rel) ||
            !(isnan(rel) ? cJSON_AddNullToObject(o, "relative_half_width")
                         : cJSON_AddNumberToObject(o, "relative_half_width", rel)) ||
            !cJSON_AddBoolToObject(o, "reached", !isnan(rel) && rel <= t->rel) ||
            !cJSON_AddItemToObject(b, "target_precision", o)) {
            cJSON_Delete(o);
            return LL_ENOMEM;
        }
    }
    return 0;
}

void precision_print(FILE *f, const cJSON *doc)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        const cJSON *tp = cJSON_GetObjectItemCaseSensitive(b, "target_precision");
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(b, "name"), *d = cJSON_GetObjectItemCaseSensitive(b, "duration_s");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(tp, "statistic"), *tg = cJSON_GetObjectItemCaseSensitive(tp, "target");
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(tp, "relative_half_width");
        if (!cJSON_IsString(nm) || !cJSON_IsString(st) || !cJSON_IsNumber(tg))
            continue;
        fprintf(f, "%s: %s %s +/-%.3g%%", nm->valuestring, st->valuestring,
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tp, "reached")) ? "known within" : "NOT known within",
                100 * tg->valuedouble);
        if (cJSON_IsNumber(w))
            fprintf(f, " (interval +/-%.3g%%", 100 * w->valuedouble);
        else
            fputs(" (no interval: too few samples", f);
        fprintf(f, ", %.1f s measured)\n", cJSON_IsNumber(d) ? d->valuedouble : 0.0);
    }
}
