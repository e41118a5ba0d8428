/*
 * search_report.c - the SLO search in the report (search -> report): report.json's "slo_search"
 * and each probe's "search" object, and the console's capacity line, rendered from the document
 * so that `llmload report` prints the same. A sweep run with --slo gets the same line from its
 * points (gate_sweep_capacity's sweep.capacity).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/gate.h"
#include "llmload/search.h"

static double num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static int add_num(cJSON *o, const char *k, double v)
{
    return isfinite(v) ? cJSON_AddNumberToObject(o, k, v) != NULL : cJSON_AddNullToObject(o, k) != NULL;
}

static int add_str(cJSON *o, const char *k, const char *v)
{
    return v ? cJSON_AddStringToObject(o, k, v) != NULL : cJSON_AddNullToObject(o, k) != NULL;
}

static const char *verdict_name(const search_probe *p)
{
    return p->indeterminate ? "indeterminate" : p->passed ? "pass" : "fail";
}

/* "below": no probe met the rules down to the lowest; "above": they held at the highest; "none":
 * no passing probe for another reason (no start point, interrupted); else "exact". */
static const char *bound_name(search_stop st, double rate)
{
    if (st == SEARCH_STOP_BELOW)
        return "below";
    if (st == SEARCH_STOP_ABOVE)
        return "above";
    return isnan(rate) ? "none" : "exact";
}

int search_annotate(cJSON *doc, const search *s, const gate *g, size_t first, int concurrency, double precision)
{
    cJSON *benches = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    search_outcome r;
    search_result(s, &r);
    const char *limited = r.limited_by >= 0 ? gate_rule_text(g, (size_t)r.limited_by) : NULL;
    const cJSON *best = r.best >= 0 ? cJSON_GetArrayItem(benches, (int)(first + (size_t)r.best)) : NULL;
    const cJSON *bm = best ? cJSON_GetObjectItemCaseSensitive(best, "metrics") : NULL;
    cJSON *o = cJSON_CreateObject(), *res = cJSON_AddObjectToObject(o, "result");
    /* The figures are what the passing probe completed. */
    int ok = o && res && cJSON_AddStringToObject(o, "over", concurrency ? "concurrency" : "rate") &&
             add_num(res, "rate", r.rate) && cJSON_AddStringToObject(res, "unit", concurrency ? "streams" : "req/s") &&
             add_num(res, "request_throughput", num(bm, "request_throughput", NULL)) &&
             add_num(res, "output_token_throughput", num(bm, "output_token_throughput", NULL)) &&
             add_str(res, "limited_by", limited) && cJSON_AddStringToObject(res, "bound", bound_name(r.stop, r.rate)) &&
             add_str(res, "benchmark", best ? str(best, "name") : NULL);
    cJSON *br = ok ? cJSON_AddArrayToObject(o, "bracket") : NULL;
    ok = br && (cJSON_AddItemToArray(br, isfinite(r.rate) ? cJSON_CreateNumber(r.rate) : cJSON_CreateNull()),
                cJSON_AddItemToArray(br, isfinite(r.fail_rate) ? cJSON_CreateNumber(r.fail_rate) : cJSON_CreateNull())) &&
         cJSON_GetArraySize(br) == 2 && cJSON_AddNumberToObject(o, "precision_target", precision) &&
         add_num(o, "precision_reached", r.precision) &&
         cJSON_AddStringToObject(o, "stop_reason", search_stop_name(r.stop)) &&
         cJSON_AddNumberToObject(o, "max_probes", SEARCH_MAX_PROBES);
    cJSON *probes = ok ? cJSON_AddArrayToObject(o, "probes") : NULL;
    ok = ok && probes;
    for (size_t i = 0; ok && i < search_count(s); i++) {
        const search_probe *p = search_probe_at(s, i);
        cJSON *b = cJSON_GetArrayItem(benches, (int)(first + i));
        int used = search_used(s, i);
        cJSON *po = cJSON_CreateObject();
        if (!po || !cJSON_AddItemToArray(probes, po)) {
            cJSON_Delete(po);
            ok = 0;
            break;
        }
        ok = add_str(po, "benchmark", b ? str(b, "name") : NULL) &&
             cJSON_AddNumberToObject(po, "rate", p->x) && cJSON_AddStringToObject(po, "verdict", verdict_name(p)) &&
             cJSON_AddStringToObject(po, "used_as", used == 1 ? "pass" : used == 0 ? "fail" : "rerun longer") &&
             cJSON_AddBoolToObject(po, "longer", p->longer);
        /* The probe benchmark itself says how the search read it (summary.csv's columns). */
        cJSON *sb = b ? cJSON_CreateObject() : NULL;
        if (ok && b) {
            ok = sb && cJSON_AddStringToObject(sb, "verdict", verdict_name(p)) &&
                 cJSON_AddBoolToObject(sb, "result", (long)i == r.best) &&
                 add_str(sb, "limited_by", (long)i == r.best ? limited : NULL);
            cJSON_DeleteItemFromObjectCaseSensitive(b, "search");
            if (!ok || !cJSON_AddItemToObject(b, "search", sb)) {
                cJSON_Delete(sb);
                ok = 0;
            }
        }
    }
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "slo_search");
    if (!ok || !cJSON_AddItemToObject(doc, "slo_search", o)) {
        cJSON_Delete(o);
        return LL_ENOMEM;
    }
    return 0;
}

void search_print(FILE *f, const cJSON *doc)
{
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(doc, "slo_search");
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "sweep"), "capacity");
    if (ss) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(ss, "result");
        const char *bound = str(r, "bound"), *lim = str(r, "limited_by"), *stop = str(ss, "stop_reason");
        int streams = str(r, "unit") && strcmp(str(r, "unit"), "streams") == 0;
        double rate = num(r, "rate", NULL), tps = num(r, "output_token_throughput", NULL);
        double rps = num(r, "request_throughput", NULL), prec = num(ss, "precision_reached", NULL);
        size_t n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ss, "probes"));
        if (!bound) {
        } else if (strcmp(bound, "below") == 0) {
            const cJSON *br = cJSON_GetObjectItemCaseSensitive(ss, "bracket");
            const cJSON *lo = cJSON_GetArrayItem(br, 1);
            fprintf(f, "slo-search: cannot bracket: even the lowest %s probed, %.4g%s, breaks %s: no %s meets the SLOs\n",
                    streams ? "concurrency" : "rate", cJSON_IsNumber(lo) ? lo->valuedouble : NAN,
                    streams ? " streams" : " req/s", lim ? lim : "a rule", streams ? "concurrency" : "rate");
        } else if (strcmp(bound, "above") == 0) {
            fprintf(f, "slo-search: cannot bracket: the SLOs hold even at the highest %s, %.4g%s (%.1f output tok/s): "
                       "the server's capacity limits it, not the SLOs\n",
                    streams ? "concurrency probed" : "rate (the throughput point's)", rate,
                    streams ? " streams" : " req/s", tps);
        } else if (strcmp(bound, "none") == 0) {
            fprintf(f, "slo-search: no answer (%s)\n", stop ? stop : "?");
        } else if (streams) {
            fprintf(f, "max concurrency meeting the SLOs: %.0f streams (%.2f req/s, %.1f output tok/s), limited by %s "
                       "(%zu probes, %s)\n", rate, rps, tps, lim ? lim : "?", n, stop ? stop : "?");
        } else {
            fprintf(f, "max rate meeting the SLOs: %.4g req/s (%.1f output tok/s), limited by %s (%zu probes, "
                       "within %.1f%%, %s)\n", rate, tps, lim ? lim : "?", n, 100 * prec, stop ? stop : "?");
        }
    }
    if (cap) {
        const char *bound = str(cap, "bound"), *lim = str(cap, "limited_by");
        double rate = num(cap, "rate", NULL), tps = num(cap, "output_token_throughput", NULL);
        const cJSON *bt = cJSON_GetObjectItemCaseSensitive(cap, "between");
        const cJSON *b0 = cJSON_GetArrayItem(bt, 0), *b1 = cJSON_GetArrayItem(bt, 1);
        if (!bound) {
        } else if (strcmp(bound, "exact") == 0) {
            fprintf(f, "max rate meeting the SLOs: %.4g req/s (%.1f output tok/s), limited by %s (interpolated "
                       "between %s and %s)\n", rate, tps, lim ? lim : "?",
                    cJSON_IsString(b0) ? b0->valuestring : "?", cJSON_IsString(b1) ? b1->valuestring : "?");
        } else if (strcmp(bound, "below") == 0) {
            fprintf(f, "max rate meeting the SLOs: below %.4g req/s, the lowest open-loop point, which breaks %s\n",
                    rate, lim ? lim : "?");
        } else if (strcmp(bound, "above") == 0) {
            fprintf(f, "max rate meeting the SLOs: above %.4g req/s (%.1f output tok/s), the highest open-loop point\n",
                    rate, tps);
        }
    }
}
