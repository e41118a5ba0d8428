/*
 * scrape_json.c - the server-metrics part of report.json (benchmarks[].server): the scraper's
 * series and window summaries as cJSON, built from scrape.h's public face only, so the report
 * writers stay unaware of how the scraper stores its points.
 * Invariant: NaN (a figure the server did not expose) is written as null, never as a number.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "llmload/error.h"
#include "llmload/scrape.h"

static int num(cJSON *o, const char *key, double v)
{
    cJSON *n = isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
    if (!n || !cJSON_AddItemToObject(o, key, n)) {
        cJSON_Delete(n);
        return 1;
    }
    return 0;
}

int scrape_summary_json(const scrape_summary *sum, cJSON **out)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return LL_ENOMEM;
    int bad = 0;
    for (int r = 0; r < SCRAPE_ROLE_COUNT_ && !bad; r++) {
        const scrape_figure *f = &sum->fig[r];
        if (!f->present)
            continue;
        cJSON *e = cJSON_AddObjectToObject(o, scrape_role_name((scrape_role)r));
        if (!e || !cJSON_AddStringToObject(e, "kind", scrape_kind_name(f->kind))) {
            bad = 1;
            break;
        }
        bad |= num(e, "n", (double)f->n);
        if (f->kind == SCRAPE_GAUGE) {
            bad |= num(e, "mean", f->mean) | num(e, "max", f->max) | num(e, "p50", f->p50) |
                   num(e, "p90", f->p90) | num(e, "p99", f->p99) | num(e, "last", f->last);
        } else {
            bad |= num(e, f->kind == SCRAPE_COUNTER ? "increase" : "count", f->increase) |
                   num(e, "rate", f->rate) | num(e, "resets", (double)f->resets);
            if (f->kind == SCRAPE_HISTOGRAM)
                bad |= num(e, "mean", f->mean) | num(e, "p50", f->p50) | num(e, "p90", f->p90) |
                       num(e, "p99", f->p99);
        }
    }
    if (!bad)
        bad = num(o, "prefix_hit_rate", sum->prefix_hit_rate) | num(o, "energy_per_token_j", sum->energy_per_token_j) |
              num(o, "scrapes", (double)sum->scrapes) | num(o, "scrapes_failed", (double)sum->scrapes_failed) |
              num(o, "covered_s", sum->covered_s);
    if (bad) {
        cJSON_Delete(o);
        return LL_ENOMEM;
    }
    *out = o;
    return 0;
}

int scrape_report_json(scrape *s, uint64_t base_ns, uint64_t end_ns, uint64_t w0_ns, uint64_t w1_ns,
                       cJSON **out)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject(), *urls = o ? cJSON_AddArrayToObject(o, "urls") : NULL;
    cJSON *series = o ? cJSON_AddObjectToObject(o, "series") : NULL;
    int rc = o && urls && series ? 0 : LL_ENOMEM;
    uint64_t failed = 0;
    for (size_t i = 0; rc == 0 && i < scrape_n_urls(s); i++) {
        scrape_summary one;
        cJSON *u = cJSON_CreateObject(), *ser = NULL, *sum = NULL;
        if (!u || !cJSON_AddItemToArray(urls, u)) {
            cJSON_Delete(u);
            rc = LL_ENOMEM;
            break;
        }
        char last[160];
        scrape_last_error(s, i, last, sizeof last);
        if ((rc = scrape_summarize(s, i, w0_ns, w1_ns, &one)) != 0 ||
            (rc = scrape_series_json(s, i, base_ns, end_ns, base_ns, &ser)) != 0 ||
            (rc = scrape_summary_json(&one, &sum)) != 0) {
            cJSON_Delete(ser);
            break;
        }
        failed += one.scrapes_failed;
        if (!cJSON_AddStringToObject(u, "url", scrape_url(s, i)) ||
            !cJSON_AddNumberToObject(u, "scrapes", (double)one.scrapes) ||
            !cJSON_AddNumberToObject(u, "scrapes_failed", (double)one.scrapes_failed) ||
            !(last[0] ? cJSON_AddStringToObject(u, "last_error", last) : cJSON_AddNullToObject(u, "last_error"))) {
            cJSON_Delete(ser);
            cJSON_Delete(sum);
            rc = LL_ENOMEM;
            break;
        }
        /* llama.cpp's /slots, when it stood in for the KV gauge (docs/server-metrics.md). */
        uint64_t sl_ok = 0, sl_bad = 0;
        char sl_url[512];
        scrape_slots_state(s, i, &sl_ok, &sl_bad, sl_url, sizeof sl_url);
        if (sl_url[0] && (!cJSON_AddStringToObject(u, "slots_url", sl_url) ||
                          !cJSON_AddNumberToObject(u, "slots_fetched", (double)sl_ok) ||
                          !cJSON_AddNumberToObject(u, "slots_failed", (double)sl_bad))) {
            cJSON_Delete(ser);
            cJSON_Delete(sum);
            rc = LL_ENOMEM;
            break;
        }
        if (!cJSON_AddItemToObject(u, "summary", sum)) {
            cJSON_Delete(sum);
            cJSON_Delete(ser);
            rc = LL_ENOMEM;
            break;
        }
        /* The merged series: each name from the first URL that has it (as scrape_summarize_all). */
        cJSON *item = ser ? ser->child : NULL;
        while (item) {
            cJSON *next = item->next;
            if (!cJSON_HasObjectItem(series, item->string)) {
                cJSON *moved = cJSON_DetachItemViaPointer(ser, item);
                if (!cJSON_AddItemToObject(series, moved->string, moved)) {
                    cJSON_Delete(moved);
                    rc = LL_ENOMEM;
                }
            }
            item = next;
        }
        cJSON_Delete(ser);
    }
    scrape_summary all;
    cJSON *sum = NULL;
    if (rc == 0 && (rc = scrape_summarize_all(s, w0_ns, w1_ns, &all)) == 0 &&
        (rc = scrape_summary_json(&all, &sum)) == 0) {
        if (!cJSON_AddItemToObject(o, "summary", sum)) {
            cJSON_Delete(sum);
            rc = LL_ENOMEM;
        } else if (!cJSON_AddNumberToObject(o, "scrapes_failed", (double)failed)) {
            rc = LL_ENOMEM;
        }
    }
    if (rc) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return 0;
}
