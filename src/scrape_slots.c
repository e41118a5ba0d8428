/*
 * scrape_slots.c - llama.cpp's GET /slots as a KV-cache figure for the scraper (--server-metrics).
 * Newer llama-server builds dropped llamacpp:kv_cache_usage_ratio from /metrics; their /slots
 * still says, per slot, its context (n_ctx), whether it is processing and how many tokens it holds
 * (n_prompt_tokens: the prompt plus the tokens generated so far, as the slot's cache grows with
 * each token). scrape.c asks for it when a llama.cpp-style scrape had no KV gauge.
 * Invariant: outside bytes; a figure is derived only from fields the answer really has (no guess):
 * a processing slot without a token count makes the whole answer give no figure. Fuzzed (slots).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/scrape.h"

/* A /slots answer larger than this is not a slot list: llama-server writes a few hundred bytes per
 * slot beside the prompt text it echoes (not with ?fail_on_no_slot, which changes nothing here). */
#define SLOTS__MAX_BODY (8u << 20)
/* Context sizes and token counts past this are not real (llama.cpp's n_ctx is an int32). */
#define SLOTS__MAX_TOKENS 2147483647.0

static int count_of(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > SLOTS__MAX_TOKENS)
        return 0;
    *out = v->valuedouble;
    return 1;
}

/* Processing: "is_processing" (builds since 2024), else the older "state" (0 = idle). -1: neither. */
static int processing_of(const cJSON *o)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "is_processing");
    if (cJSON_IsBool(p))
        return cJSON_IsTrue(p);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "state");
    if (cJSON_IsNumber(st))
        return st->valuedouble != 0;
    return -1;
}

int scrape_slots_kv(const char *body, size_t len, scrape_slots_kv_figure *out)
{
    memset(out, 0, sizeof *out);
    out->usage = NAN;
    if (len > SLOTS__MAX_BODY)
        return LL_EOVERSIZE;
    cJSON *doc = cJSON_ParseWithLength(body, len);
    if (!doc)
        return LL_EPARSE; /* cJSON cannot tell malformed from out of memory; malformed is likelier */
    int rc = 0;
    if (!cJSON_IsArray(doc)) {
        rc = LL_EPARSE;
        goto out;
    }
    double ctx = 0, held = 0;
    const cJSON *slot;
    cJSON_ArrayForEach(slot, doc) {
        double n_ctx;
        if (!cJSON_IsObject(slot) || !count_of(slot, "n_ctx", &n_ctx) || n_ctx <= 0) {
            rc = LL_EPARSE;
            goto out;
        }
        int busy = processing_of(slot);
        if (busy < 0) {
            rc = LL_EPARSE;
            goto out;
        }
        out->slots++;
        ctx += n_ctx;
        if (!busy)
            continue; /* an idle slot's kept prompt is reusable cache, not a running request's */
        double tokens;
        if (!count_of(slot, "n_prompt_tokens", &tokens)) {
            rc = LL_EPARSE; /* a build that does not say what a slot holds: no figure */
            goto out;
        }
        out->processing++;
        held += tokens;
    }
    if (out->slots == 0) {
        rc = LL_EPARSE;
        goto out;
    }
    out->ctx_tokens = ctx;
    out->held_tokens = held;
    /* Over the context of all slots: with llama.cpp's split cache (each slot n_ctx / parallel) this
     * is the share of the cache in use. With --kv-unified every slot reports the whole context, so
     * this understates usage: a full cache is then never claimed on a guess. */
    out->usage = held / ctx > 1 ? 1 : held / ctx;
out:
    cJSON_Delete(doc);
    return rc;
}

int scrape_slots_url(const char *metrics_url, char *out, size_t len)
{
    const char *sep = strstr(metrics_url, "://");
    if (!sep || len == 0)
        return LL_EINVAL;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0)
        return LL_EINVAL;
    const char *path = auth + alen;
    size_t plen = *path == '/' ? strcspn(path, "?#") : 0;
    /* llama-server serves /metrics and /slots side by side: behind a path prefix (a proxy's
     * /llama/metrics) keep the prefix; any other metrics path means the server's root. */
    static const char suffix[] = "/metrics";
    size_t keep = plen >= sizeof suffix - 1 && memcmp(path + plen - (sizeof suffix - 1), suffix, sizeof suffix - 1) == 0
                      ? plen - (sizeof suffix - 1)
                      : 0;
    int n = snprintf(out, len, "%.*s%.*s/slots", (int)(auth + alen - metrics_url), metrics_url, (int)keep, path);
    return n >= 0 && (size_t)n < len ? 0 : LL_EOVERSIZE;
}
