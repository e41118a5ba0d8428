/*
 * diagnose.c - the bottleneck verdict of one benchmark (after aggregate, before the reports): a
 * fixed order of rules over the server's window summary and the client's figures, the first that
 * holds wins. The thresholds below are the documented ones (docs/server-metrics.md, "The
 * diagnosis"); change both together.
 * Invariant: pure; a figure the server does not expose (NaN) never makes a rule fire.
 */
#include "llmload/diagnose.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llmload/error.h"

#define DIAG_WAITING_MIN 0.5      /* mean requests queued in the engine: "requests wait" */
#define DIAG_KV_FULL 0.90         /* KV cache usage (max over the window): "at or near 100%" */
#define DIAG_PLATEAU 0.90         /* running p50 / running max: the batch sat at its ceiling */
#define DIAG_GPU_BUSY 0.80        /* SM active (or GPU utilisation) mean: the GPU is busy */
#define DIAG_TPOT_GROWTH 1.5      /* time per output token vs the lightest benchmark */
#define DIAG_TTFT_GROWTH 2.0      /* TTFT p50 vs the lightest benchmark */
#define DIAG_FRONT_QUEUE 1.5      /* client in flight / (engine running + waiting): held in front */
#define DIAG_FLOOR_IN_FLIGHT 1.5  /* "one request in flight" */
#define DIAG_FLOOR_TTFT_MS 1000.0 /* "high TTFT" at one request in flight */

static const char *const names[] = {
    [DIAGNOSE_NOT_SATURATED] = "not_saturated", [DIAGNOSE_KV_CACHE_FULL] = "kv_cache_full",
    [DIAGNOSE_BATCH_FULL] = "batch_full",       [DIAGNOSE_COMPUTE_BOUND] = "compute_bound",
    [DIAGNOSE_QUEUEING] = "queueing",           [DIAGNOSE_LATENCY_FLOOR] = "latency_floor",
    [DIAGNOSE_CLIENT_BOUND] = "client_bound",   [DIAGNOSE_UNKNOWN] = "unknown",
};

const char *diagnose_verdict_name(diagnose_verdict v)
{
    return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "unknown";
}

static const scrape_figure *fig(const scrape_summary *s, scrape_role r)
{
    return s && s->fig[r].present ? &s->fig[r] : NULL;
}

/* NaN-safe comparison: a missing figure is never "at least". */
static int at_least(double v, double limit)
{
    return !isnan(v) && v >= limit;
}

static double ratio(double a, double b)
{
    return !isnan(a) && !isnan(b) && b > 0 ? a / b : NAN;
}

static diagnose_verdict verdict_of(const diagnose_result *e, const diagnose_client *cl, int have_engine,
                                   const char **why)
{
    if (cl->client_bound) {
        *why = "the client could not keep up (its own loop lag or CPU); the server's signs are not trusted";
        return DIAGNOSE_CLIENT_BOUND;
    }
    if (e->in_flight_mean <= DIAG_FLOOR_IN_FLIGHT && at_least(e->ttft_p50_ms, DIAG_FLOOR_TTFT_MS)) {
        *why = "TTFT is already high with one request in flight: the server's own floor, not load";
        return DIAGNOSE_LATENCY_FLOOR;
    }
    int waiting = at_least(e->waiting_mean, DIAG_WAITING_MIN);
    int kv_full = at_least(e->kv_usage_max, DIAG_KV_FULL) || at_least(e->preemptions, 1);
    if (waiting && kv_full) {
        *why = "requests wait while the KV cache is full (or sequences are preempted)";
        return DIAGNOSE_KV_CACHE_FULL;
    }
    int plateau = at_least(e->running_max, 1) && at_least(e->running_p50, DIAG_PLATEAU * e->running_max);
    if (waiting && plateau) {
        *why = "requests wait while the running batch sits at its ceiling and the KV cache has room";
        return DIAGNOSE_BATCH_FULL;
    }
    int ttft_grew = at_least(e->ttft_growth, DIAG_TTFT_GROWTH);
    if (waiting) {
        *why = "requests wait in the engine though neither the batch nor the KV cache is at a limit";
        return DIAGNOSE_QUEUEING;
    }
    double engine_held = e->running_mean + (isnan(e->waiting_mean) ? 0 : e->waiting_mean);
    if (have_engine && ttft_grew && at_least(e->in_flight_mean, DIAG_FRONT_QUEUE * (engine_held > 1 ? engine_held : 1))) {
        *why = "TTFT grows while the engine holds far fewer requests than the client has in flight: "
               "a queue in front of it (proxy, router, too few replicas)";
        return DIAGNOSE_QUEUEING;
    }
    if (at_least(e->gpu_busy, DIAG_GPU_BUSY) && at_least(e->tpot_growth, DIAG_TPOT_GROWTH)) {
        *why = "nothing waits, the GPU is busy and time per output token grows with the batch";
        return DIAGNOSE_COMPUTE_BOUND;
    }
    if (!have_engine && isnan(e->gpu_busy)) {
        *why = "no server metric was scraped in the window";
        return DIAGNOSE_UNKNOWN;
    }
    *why = "no limit reached: nothing waits, and no cache, batch or GPU ceiling shows";
    return DIAGNOSE_NOT_SATURATED;
}

void diagnose(const scrape_summary *srv, const diagnose_client *cl, diagnose_result *out)
{
    memset(out, 0, sizeof *out);
    const scrape_figure *run = fig(srv, SCRAPE_RUNNING), *wait = fig(srv, SCRAPE_WAITING),
                        *kv = fig(srv, SCRAPE_KV_USAGE), *pre = fig(srv, SCRAPE_PREEMPTIONS),
                        *ret = fig(srv, SCRAPE_RETRACTED), *sm = fig(srv, SCRAPE_SM_ACTIVE),
                        *gpu = fig(srv, SCRAPE_GPU_UTIL);
    out->running_mean = run ? run->mean : NAN;
    out->running_max = run ? run->max : NAN;
    out->running_p50 = run ? run->p50 : NAN;
    out->waiting_mean = wait ? wait->mean : NAN;
    out->waiting_max = wait ? wait->max : NAN;
    out->kv_usage_max = kv ? kv->max : NAN;
    out->preemptions = pre ? pre->increase : ret ? ret->max : NAN;
    out->gpu_busy = sm ? sm->mean : gpu ? gpu->mean : NAN;
    out->in_flight_mean = cl->in_flight_mean;
    out->ttft_p50_ms = cl->ttft_p50_ms;
    out->ttft_growth = ratio(cl->ttft_p50_ms, cl->ttft_p50_ms_base);
    out->tpot_growth = ratio(cl->tpot_p50_ms, cl->tpot_p50_ms_base);
    out->verdict = verdict_of(out, cl, run || wait, &out->reason);
}

static int num(cJSON *o, const char *key, double v)
{
    if (isnan(v) || isinf(v))
        return 0;
    return cJSON_AddNumberToObject(o, key, v) ? 0 : 1;
}

int diagnose_json(const diagnose_result *r, cJSON **out)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject(), *e = NULL;
    int bad = !o || !cJSON_AddStringToObject(o, "verdict", diagnose_verdict_name(r->verdict)) ||
              !cJSON_AddStringToObject(o, "reason", r->reason ? r->reason : "") ||
              !(e = cJSON_AddObjectToObject(o, "evidence"));
    if (!bad)
        bad = num(e, "running_mean", r->running_mean) | num(e, "running_max", r->running_max) |
              num(e, "running_p50", r->running_p50) | num(e, "waiting_mean", r->waiting_mean) |
              num(e, "waiting_max", r->waiting_max) | num(e, "kv_usage_max", r->kv_usage_max) |
              num(e, "preemptions", r->preemptions) | num(e, "gpu_busy", r->gpu_busy) |
              num(e, "in_flight_mean", r->in_flight_mean) | num(e, "ttft_p50_ms", r->ttft_p50_ms) |
              num(e, "ttft_growth", r->ttft_growth) | num(e, "tpot_growth", r->tpot_growth);
    if (bad) {
        cJSON_Delete(o);
        return LL_ENOMEM;
    }
    *out = o;
    return 0;
}

void diagnose_line(const diagnose_result *r, char *buf, size_t len)
{
    size_t k = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (k < len)                                                                               \
            k += (size_t)snprintf(buf + k, len - k, __VA_ARGS__);                                  \
    } while (0)
    PUT("%s", diagnose_verdict_name(r->verdict));
    const char *sep = ": ";
    if (!isnan(r->running_max)) {
        PUT("%srunning %.1f mean, %.0f max", sep, r->running_mean, r->running_max);
        sep = ", ";
    }
    if (!isnan(r->waiting_mean)) {
        PUT("%swaiting %.1f mean", sep, r->waiting_mean);
        sep = ", ";
    }
    if (!isnan(r->kv_usage_max)) {
        PUT("%skv cache %.0f%% max", sep, 100 * r->kv_usage_max);
        sep = ", ";
    }
    if (!isnan(r->preemptions) && r->preemptions > 0) {
        PUT("%spreemptions %.0f", sep, r->preemptions);
        sep = ", ";
    }
    if (!isnan(r->gpu_busy)) {
        PUT("%sgpu busy %.0f%%", sep, 100 * r->gpu_busy);
        sep = ", ";
    }
    if (!isnan(r->in_flight_mean))
        PUT("%sclient in flight %.1f", sep, r->in_flight_mean);
#undef PUT
    if (len)
        buf[k < len ? k : len - 1] = '\0';
}
