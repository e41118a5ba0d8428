/*
 * breakdown.c - per-turn and per-model statistics of one benchmark (aggregate -> breakdown ->
 * report). See breakdown.h. Invariant: a group exists only for a key some measured record has;
 * the arrays of samples are allocated once per call, sized by the records, never per record.
 */
#include "llmload/breakdown.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

static unsigned key_of(const record *r, breakdown_key key)
{
    return key == BREAKDOWN_TURN ? r->turn : r->model;
}

static double ms(uint64_t a, uint64_t b)
{
    return a > b ? (double)(a - b) / 1e6 : 0;
}

int breakdown_compute(const record_log *log, breakdown_key key, const char *const *names, size_t n_names,
                      double window_s, breakdown *out)
{
    memset(out, 0, sizeof *out);
    unsigned max_key = 0;
    int any = 0;
    for (size_t i = 0; i < log->len; i++) {
        const record *r = &log->items[i];
        if (!r->measured || (key == BREAKDOWN_TURN && r->turn == 0))
            continue;
        any = 1;
        if (key_of(r, key) > max_key)
            max_key = key_of(r, key);
    }
    if (!any)
        return 0;
    /* One counting pass gives each key's sample count, so each group gets its slice of one array. */
    size_t nk = (size_t)max_key + 1;
    size_t *count = calloc(nk, sizeof *count), *start = calloc(nk + 1, sizeof *start);
    double *v[3] = {malloc((log->len ? log->len : 1) * sizeof(double)),
                    malloc((log->len ? log->len : 1) * sizeof(double)),
                    malloc((log->len ? log->len : 1) * sizeof(double))};
    size_t *nv[3] = {calloc(nk, sizeof(size_t)), calloc(nk, sizeof(size_t)), calloc(nk, sizeof(size_t))};
    breakdown_group *g = calloc(nk, sizeof *g);
    int rc = LL_ENOMEM;
    if (!count || !start || !v[0] || !v[1] || !v[2] || !nv[0] || !nv[1] || !nv[2] || !g)
        goto out;
    for (size_t i = 0; i < log->len; i++) {
        const record *r = &log->items[i];
        if (r->measured && !(key == BREAKDOWN_TURN && r->turn == 0))
            count[key_of(r, key)]++;
    }
    for (size_t k = 0; k < nk; k++)
        start[k + 1] = start[k] + count[k];
    double *out_tok = calloc(nk, sizeof *out_tok);
    if (!out_tok)
        goto out;
    for (size_t i = 0; i < log->len; i++) {
        const record *r = &log->items[i];
        if (!r->measured || (key == BREAKDOWN_TURN && r->turn == 0))
            continue;
        unsigned k = key_of(r, key);
        breakdown_group *gr = &g[k];
        gr->requests++;
        if (r->status == RECORD_INCOMPLETE) {
            gr->incomplete++;
            continue;
        }
        if (r->status == RECORD_CANCELLED) { /* abandoned by the client on purpose: not an error */
            gr->cancelled++;
            continue;
        }
        if (r->status != RECORD_OK) {
            gr->errors++;
            continue;
        }
        gr->completed++;
        out_tok[k] += r->output_tokens > 0 ? r->output_tokens : 0;
        size_t at = start[k];
        if (r->first_token_ns)
            v[0][at + nv[0][k]++] = ms(r->first_token_ns, r->sent_ns);
        if (r->itl_count)
            v[1][at + nv[1][k]++] = (double)r->itl_sum_ns / (double)r->itl_count / 1e6;
        v[2][at + nv[2][k]++] = ms(r->end_ns, r->sent_ns);
    }
    size_t n = 0;
    for (size_t k = 0; k < nk; k++) {
        if (!g[k].requests)
            continue;
        breakdown_group *gr = &g[k];
        gr->key = (unsigned)k;
        gr->name = key == BREAKDOWN_MODEL && names && k < n_names ? names[k] : NULL;
        stats_summarize(v[0] + start[k], nv[0][k], &gr->ttft_ms);
        stats_summarize(v[1] + start[k], nv[1][k], &gr->itl_ms);
        stats_summarize(v[2] + start[k], nv[2][k], &gr->e2e_ms);
        gr->output_token_throughput = window_s > 0 ? out_tok[k] / window_s : 0;
        g[n++] = *gr; /* compacted in place: n <= k */
    }
    free(out_tok);
    out->groups = g;
    out->n = n;
    g = NULL;
    rc = 0;
out:
    free(g);
    free(count);
    free(start);
    for (int i = 0; i < 3; i++) {
        free(v[i]);
        free(nv[i]);
    }
    return rc;
}

void breakdown_free(breakdown *b)
{
    free(b->groups);
    b->groups = NULL;
    b->n = 0;
}

static double r6(double v)
{
    return v == 0 ? 0 : (double)llround(v * 1e6) / 1e6;
}

static int add_stat(cJSON *o, const char *key, const stats_summary *s)
{
    cJSON *x = cJSON_AddObjectToObject(o, key);
    if (!x)
        return LL_ENOMEM;
    const struct {
        const char *k;
        double v;
    } f[] = {{"count", (double)s->n}, {"mean", s->mean}, {"p50", s->p50}, {"p90", s->p90},
             {"p95", s->p95},         {"p99", s->p99},   {"max", s->max}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!cJSON_AddNumberToObject(x, f[i].k, r6(f[i].v)))
            return LL_ENOMEM;
    return 0;
}

int breakdown_to_json(const breakdown *b, breakdown_key key, cJSON *parent, const char *name)
{
    cJSON *arr = cJSON_AddArrayToObject(parent, name);
    if (!arr)
        return LL_ENOMEM;
    for (size_t i = 0; i < b->n; i++) {
        const breakdown_group *g = &b->groups[i];
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return LL_ENOMEM;
        }
        int bad = key == BREAKDOWN_TURN ? !cJSON_AddNumberToObject(o, "turn", g->key)
                                        : (g->name ? !cJSON_AddStringToObject(o, "model", g->name)
                                                   : !cJSON_AddNumberToObject(o, "model", g->key));
        bad |= !cJSON_AddNumberToObject(o, "requests", (double)g->requests);
        bad |= !cJSON_AddNumberToObject(o, "completed", (double)g->completed);
        bad |= !cJSON_AddNumberToObject(o, "errors", (double)g->errors);
        bad |= !cJSON_AddNumberToObject(o, "incomplete", (double)g->incomplete);
        bad |= !cJSON_AddNumberToObject(o, "cancelled", (double)g->cancelled);
        if (bad || add_stat(o, "ttft_ms", &g->ttft_ms) || add_stat(o, "itl_ms", &g->itl_ms) ||
            add_stat(o, "e2e_ms", &g->e2e_ms) ||
            !cJSON_AddNumberToObject(o, "output_token_throughput", r6(g->output_token_throughput)))
            return LL_ENOMEM;
    }
    return 0;
}
