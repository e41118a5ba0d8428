/*
 * scrape.c - the server-metrics scraper (--server-metrics): one thread per URL fetching its
 * /metrics with a blocking curl easy handle bounded by a timeout below the interval, parsing it
 * with promtext_, and appending one point per scrape to that URL's series. The request loops never
 * touch it; cmd_run only asks for a scrape at the window edges and for summaries afterwards.
 * Invariant: a point is appended under the mutex, whole; the fetch and the parse run outside it,
 * so a summary never waits on the network. Memory is bounded by SCRAPE__MAX_* below.
 */
#include "llmload/scrape.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llmload/clock.h"
#include "llmload/error.h"
#include "llmload/promtext.h"
#include "llmload/runsig.h"
#include "llmload/stats.h"

/* Every limit of the scraper, in one place (style.md item 8). */
#define SCRAPE__MAX_BODY (32u << 20)   /* a /metrics answer larger than this is a failed scrape */
#define SCRAPE__MAX_POINTS 200000      /* per URL: 55 hours at 1 s; later scrapes are dropped */
#define SCRAPE__MAX_BUCKETS 64         /* per histogram; more buckets: the extra ones are dropped */
#define SCRAPE__MAX_RAW 512            /* raw --server-metrics-keep series per URL */
#define SCRAPE__MAX_TIMEOUT_S 10.0

/* ---- the alias table: each engine's name for a role, the one place they are listed ---- */

typedef enum agg { AGG_SUM = 0, AGG_MEAN, AGG_MAX } agg;

static const struct {
    scrape_role role;
    const char *name;
    scrape_kind kind;
    agg how;       /* across the label sets of one scrape (engines, GPUs, finish reasons) */
    double scale;  /* to llmload's unit */
} aliases[] = {
    /* vLLM (V1, and the V0 names still served) */
    {SCRAPE_RUNNING, "vllm:num_requests_running", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_WAITING, "vllm:num_requests_waiting", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_KV_USAGE, "vllm:kv_cache_usage_perc", SCRAPE_GAUGE, AGG_MAX, 1},
    {SCRAPE_KV_USAGE, "vllm:gpu_cache_usage_perc", SCRAPE_GAUGE, AGG_MAX, 1},
    {SCRAPE_PREEMPTIONS, "vllm:num_preemptions", SCRAPE_COUNTER, AGG_SUM, 1},
    {SCRAPE_PREFIX_HITS, "vllm:prefix_cache_hits", SCRAPE_COUNTER, AGG_SUM, 1},
    {SCRAPE_PREFIX_HITS, "vllm:gpu_prefix_cache_hits", SCRAPE_COUNTER, AGG_SUM, 1},
    {SCRAPE_PREFIX_QUERIES, "vllm:prefix_cache_queries", SCRAPE_COUNTER, AGG_SUM, 1},
    {SCRAPE_PREFIX_QUERIES, "vllm:gpu_prefix_cache_queries", SCRAPE_COUNTER, AGG_SUM, 1},
    {SCRAPE_PROMPT_TOKENS, "vllm:prompt_tokens", SCRAPE_COUNTER, AGG_SUM, 1},
    {SCRAPE_GENERATION_TOKENS, "vllm:generation_tokens", SCRAPE_COUNTER, AGG_SUM, 1},
    {SCRAPE_ITERATION_TOKENS, "vllm:iteration_tokens_total", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_QUEUE_TIME, "vllm:request_queue_time_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_TTFT, "vllm:time_to_first_token_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_ITL, "vllm:inter_token_latency_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_ITL, "vllm:time_per_output_token_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_E2E, "vllm:e2e_request_latency_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    /* SGLang */
    {SCRAPE_RUNNING, "sglang:num_running_reqs", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_WAITING, "sglang:num_queue_reqs", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_KV_USAGE, "sglang:token_usage", SCRAPE_GAUGE, AGG_MAX, 1},
    {SCRAPE_PREFIX_HIT_RATE, "sglang:cache_hit_rate", SCRAPE_GAUGE, AGG_MEAN, 1},
    {SCRAPE_RETRACTED, "sglang:num_retracted_reqs", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_PROMPT_TOKENS, "sglang:prompt_tokens", SCRAPE_COUNTER, AGG_SUM, 1},
    {SCRAPE_GENERATION_TOKENS, "sglang:generation_tokens", SCRAPE_COUNTER, AGG_SUM, 1},
    {SCRAPE_GENERATION_TPS, "sglang:gen_throughput", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_TTFT, "sglang:time_to_first_token_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_ITL, "sglang:inter_token_latency_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_E2E, "sglang:e2e_request_latency_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    /* TGI */
    {SCRAPE_RUNNING, "tgi_batch_current_size", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_WAITING, "tgi_queue_size", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_BATCH_TOKENS, "tgi_batch_current_max_tokens", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_QUEUE_TIME, "tgi_request_queue_duration", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    /* llama.cpp's llama-server */
    {SCRAPE_RUNNING, "llamacpp:requests_processing", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_WAITING, "llamacpp:requests_deferred", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_KV_USAGE, "llamacpp:kv_cache_usage_ratio", SCRAPE_GAUGE, AGG_MAX, 1},
    {SCRAPE_PROMPT_TOKENS, "llamacpp:prompt_tokens", SCRAPE_COUNTER, AGG_SUM, 1},
    {SCRAPE_GENERATION_TOKENS, "llamacpp:tokens_predicted", SCRAPE_COUNTER, AGG_SUM, 1},
    {SCRAPE_PROMPT_TPS, "llamacpp:prompt_tokens_seconds", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_GENERATION_TPS, "llamacpp:predicted_tokens_seconds", SCRAPE_GAUGE, AGG_SUM, 1},
    /* TensorRT-LLM (trtllm-serve's MetricsCollector; "trtllm_" as Dynamo prefixes it, "trtllm:"
     * in its earlier releases). No running/waiting gauges are exported. */
    {SCRAPE_TTFT, "trtllm_time_to_first_token_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_TTFT, "trtllm:time_to_first_token_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_ITL, "trtllm_time_per_output_token_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_ITL, "trtllm:time_per_output_token_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_E2E, "trtllm_e2e_request_latency_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_E2E, "trtllm:e2e_request_latency_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_QUEUE_TIME, "trtllm_request_queue_time_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    {SCRAPE_QUEUE_TIME, "trtllm:request_queue_time_seconds", SCRAPE_HISTOGRAM, AGG_SUM, 1},
    /* NVIDIA DCGM exporter */
    {SCRAPE_GPU_UTIL, "DCGM_FI_DEV_GPU_UTIL", SCRAPE_GAUGE, AGG_MEAN, 0.01},
    {SCRAPE_SM_ACTIVE, "DCGM_FI_PROF_SM_ACTIVE", SCRAPE_GAUGE, AGG_MEAN, 1},
    {SCRAPE_DRAM_ACTIVE, "DCGM_FI_PROF_DRAM_ACTIVE", SCRAPE_GAUGE, AGG_MEAN, 1},
    {SCRAPE_FB_USED, "DCGM_FI_DEV_FB_USED", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_POWER, "DCGM_FI_DEV_POWER_USAGE", SCRAPE_GAUGE, AGG_SUM, 1},
    {SCRAPE_ENERGY, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", SCRAPE_COUNTER, AGG_SUM, 0.001},
};
#define N_ALIASES (sizeof aliases / sizeof aliases[0])

static const char *const role_names[SCRAPE_ROLE_COUNT_] = {
    [SCRAPE_RUNNING] = "running", [SCRAPE_WAITING] = "waiting", [SCRAPE_KV_USAGE] = "kv_usage",
    [SCRAPE_PREEMPTIONS] = "preemptions", [SCRAPE_RETRACTED] = "retracted",
    [SCRAPE_PREFIX_HITS] = "prefix_hits", [SCRAPE_PREFIX_QUERIES] = "prefix_queries",
    [SCRAPE_PREFIX_HIT_RATE] = "prefix_hit_rate", [SCRAPE_PROMPT_TOKENS] = "prompt_tokens",
    [SCRAPE_GENERATION_TOKENS] = "generation_tokens", [SCRAPE_PROMPT_TPS] = "prompt_tps",
    [SCRAPE_GENERATION_TPS] = "generation_tps", [SCRAPE_BATCH_TOKENS] = "batch_tokens",
    [SCRAPE_ITERATION_TOKENS] = "iteration_tokens", [SCRAPE_QUEUE_TIME] = "queue_time_s",
    [SCRAPE_TTFT] = "ttft_s", [SCRAPE_ITL] = "itl_s", [SCRAPE_E2E] = "e2e_s",
    [SCRAPE_GPU_UTIL] = "gpu_util", [SCRAPE_SM_ACTIVE] = "sm_active", [SCRAPE_DRAM_ACTIVE] = "dram_active",
    [SCRAPE_FB_USED] = "fb_used_mib", [SCRAPE_POWER] = "power_w", [SCRAPE_ENERGY] = "energy_j",
};

const char *scrape_role_name(scrape_role r)
{
    return (unsigned)r < SCRAPE_ROLE_COUNT_ ? role_names[r] : "unknown";
}

scrape_kind scrape_role_kind(scrape_role r)
{
    for (size_t i = 0; i < N_ALIASES; i++)
        if (aliases[i].role == r)
            return aliases[i].kind;
    return SCRAPE_GAUGE;
}

const char *scrape_kind_name(scrape_kind k)
{
    return k == SCRAPE_COUNTER ? "counter" : k == SCRAPE_HISTOGRAM ? "histogram" : "gauge";
}

/* ---- storage ---- */

typedef struct bucket {
    double le, cum;
} bucket;

/* One scrape of one URL. Scalars are NaN when the scrape lacked the role; a histogram role's
 * scalar is its _count, its buckets live in the target's pool at hoff. */
typedef struct point {
    uint64_t t_ns;
    int ok;
    double v[SCRAPE_ROLE_COUNT_];
    double hsum[SCRAPE_ROLE_COUNT_];
    uint32_t hoff[SCRAPE_ROLE_COUNT_];
    uint16_t hn[SCRAPE_ROLE_COUNT_];
} point;

typedef struct raw_point {
    uint64_t t_ns;
    double v;
} raw_point;

typedef struct raw_series {
    char *key; /* "name{labels as written}" */
    raw_point *pts;
    size_t n, cap;
} raw_series;

/* One parse in progress: the aggregate of every label set per role. */
typedef struct accum {
    double sum[SCRAPE_ROLE_COUNT_], max[SCRAPE_ROLE_COUNT_];
    size_t n[SCRAPE_ROLE_COUNT_];
    double hsum[SCRAPE_ROLE_COUNT_], hcount[SCRAPE_ROLE_COUNT_];
    int hseen[SCRAPE_ROLE_COUNT_];
    size_t nb[SCRAPE_ROLE_COUNT_];
    bucket b[SCRAPE_ROLE_COUNT_][SCRAPE__MAX_BUCKETS];
    int llamacpp; /* a llamacpp:* family was seen: llama-server, whose newer builds lack a KV gauge */
} accum;

typedef struct target {
    scrape *owner;
    size_t idx;
    char *url;
    pthread_t th;
    int running;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    size_t len, cap;
    int too_big;
    /* guarded by owner->mu */
    point *pts;
    size_t n_pts, cap_pts;
    bucket *pool;
    size_t n_pool, cap_pool;
    raw_series *raw;
    size_t n_raw;
    uint64_t attempts, failed, dropped, raw_dropped;
    uint64_t req_gen, done_gen;
    char last_error[160];
    /* llama.cpp's /slots (scrape_slots.c): wanted when the last scrape was llama.cpp-style without
     * a KV gauge; the handle and URL are made on first need, on t's thread. */
    int slots_wanted, slots_off;
    uint64_t slots_fetched, slots_failed;
    CURL *slots_easy;
    char slots_url[512];
} target;

struct scrape {
    pthread_mutex_t mu;
    pthread_mutex_t ingest_mu; /* one parse at a time per scraper: acc is shared */
    accum acc;                 /* a parse's scratch (24 KiB), under ingest_mu */
    pthread_cond_t cv;
    int stop, started;
    target *t;
    size_t n;
    double interval_s, timeout_s;
    regex_t keep;
    int has_keep;
    int insecure;
    char *ca_cert;
};

size_t scrape_n_urls(const scrape *s)
{
    return s ? s->n : 0;
}

const char *scrape_url(const scrape *s, size_t i)
{
    return i < s->n ? s->t[i].url : "";
}

void scrape_last_error(scrape *s, size_t i, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    if (i >= s->n)
        return;
    pthread_mutex_lock(&s->mu);
    snprintf(buf, len, "%s", s->t[i].last_error);
    pthread_mutex_unlock(&s->mu);
}

/* ---- parsing one scrape ---- */

typedef struct parse_ctx {
    scrape *s;
    target *t;
    accum *a;
    uint64_t t_ns;
    int nomem;
} parse_ctx;

/* name == alias, or alias + "_total" (prometheus_client's counters carry it, vLLM's table does
 * not). */
static int alias_match(promtext_str fam, const char *alias)
{
    size_t n = strlen(alias);
    if (fam.n < n || memcmp(fam.p, alias, n) != 0)
        return 0;
    return fam.n == n || (fam.n == n + 6 && memcmp(fam.p + n, "_total", 6) == 0);
}

static void add_bucket(accum *a, scrape_role r, double le, double cum)
{
    bucket *b = a->b[r];
    size_t n = a->nb[r], i = 0;
    while (i < n && b[i].le < le)
        i++;
    if (i < n && b[i].le == le) {
        b[i].cum += cum; /* the same bound from another engine or label set */
        return;
    }
    if (n == SCRAPE__MAX_BUCKETS)
        return;
    memmove(&b[i + 1], &b[i], (n - i) * sizeof *b);
    b[i].le = le;
    b[i].cum = cum;
    a->nb[r] = n + 1;
}

static int keep_raw(parse_ctx *c, const promtext_sample *smp)
{
    char key[1024];
    size_t k = (size_t)snprintf(key, sizeof key, "%.*s", (int)smp->name.n, smp->name.p);
    if (k >= sizeof key)
        return 0;
    if (regexec(&c->s->keep, key, 0, NULL, 0) != 0)
        return 0;
    if (smp->n_labels) {
        k += (size_t)snprintf(key + k, sizeof key - k, "{");
        for (size_t i = 0; i < smp->n_labels && k < sizeof key; i++)
            k += (size_t)snprintf(key + k, sizeof key - k, "%s%.*s=\"%.*s\"", i ? "," : "",
                                  (int)smp->labels[i].name.n, smp->labels[i].name.p,
                                  (int)smp->labels[i].value.n, smp->labels[i].value.p);
        if (k < sizeof key)
            k += (size_t)snprintf(key + k, sizeof key - k, "}");
        if (k >= sizeof key)
            return 0; /* a key this long is not worth a series */
    }
    target *t = c->t;
    pthread_mutex_lock(&c->s->mu);
    size_t i = 0;
    while (i < t->n_raw && strcmp(t->raw[i].key, key) != 0)
        i++;
    int rc = 0;
    if (i == t->n_raw) {
        if (t->n_raw == SCRAPE__MAX_RAW) {
            t->raw_dropped++;
            goto out;
        }
        if (!t->raw) {
            t->raw = calloc(SCRAPE__MAX_RAW, sizeof *t->raw);
            if (!t->raw) {
                rc = LL_ENOMEM;
                goto out;
            }
        }
        if (!(t->raw[i].key = strdup(key))) {
            rc = LL_ENOMEM;
            goto out;
        }
        t->n_raw++;
    }
    raw_series *r = &t->raw[i];
    if (r->n == r->cap) {
        if (r->cap >= SCRAPE__MAX_POINTS) {
            t->raw_dropped++;
            goto out;
        }
        size_t cap = r->cap ? r->cap * 2 : 64;
        raw_point *p = realloc(r->pts, cap * sizeof *p);
        if (!p) {
            rc = LL_ENOMEM;
            goto out;
        }
        r->pts = p;
        r->cap = cap;
    }
    r->pts[r->n++] = (raw_point){c->t_ns, smp->value};
out:
    pthread_mutex_unlock(&c->s->mu);
    return rc;
}

static int on_sample(void *ud, const promtext_sample *smp)
{
    parse_ctx *c = ud;
    if (c->s->has_keep && keep_raw(c, smp) != 0)
        c->nomem = 1;
    if (smp->family.n > 9 && memcmp(smp->family.p, "llamacpp:", 9) == 0)
        c->a->llamacpp = 1;
    if (isnan(smp->value))
        return 0;
    for (size_t i = 0; i < N_ALIASES; i++) {
        if (!alias_match(smp->family, aliases[i].name))
            continue;
        scrape_role r = aliases[i].role;
        accum *a = c->a;
        if (aliases[i].kind == SCRAPE_HISTOGRAM) {
            if (smp->type != PROMTEXT_HISTOGRAM)
                return 0;
            a->hseen[r] = 1;
            if (smp->role == PROMTEXT_BUCKET)
                add_bucket(a, r, smp->bound, smp->value);
            else if (smp->role == PROMTEXT_SUM)
                a->hsum[r] += smp->value;
            else if (smp->role == PROMTEXT_COUNT)
                a->hcount[r] += smp->value;
            return 0;
        }
        if (smp->type == PROMTEXT_HISTOGRAM || smp->type == PROMTEXT_SUMMARY)
            return 0;
        double v = smp->value * aliases[i].scale;
        if (a->n[r] == 0 || v > a->max[r])
            a->max[r] = v;
        a->sum[r] += v;
        a->n[r]++;
        return 0;
    }
    return 0;
}

static agg role_agg(scrape_role r)
{
    for (size_t i = 0; i < N_ALIASES; i++)
        if (aliases[i].role == r)
            return aliases[i].how;
    return AGG_SUM;
}

/* Appends p (and, for its histograms, a's buckets) to t. Called with s->mu held. */
static int append_point(target *t, point *p, const accum *a)
{
    if (t->n_pts == SCRAPE__MAX_POINTS) {
        t->dropped++;
        return 0;
    }
    size_t need = 0;
    for (int r = 0; a && r < SCRAPE_ROLE_COUNT_; r++)
        need += a->hseen[r] ? a->nb[r] : 0;
    if (t->n_pts == t->cap_pts) {
        size_t cap = t->cap_pts ? t->cap_pts * 2 : 64;
        point *np = realloc(t->pts, cap * sizeof *np);
        if (!np)
            return LL_ENOMEM;
        t->pts = np;
        t->cap_pts = cap;
    }
    if (t->n_pool + need > t->cap_pool) {
        size_t cap = t->cap_pool ? t->cap_pool : 256;
        while (cap < t->n_pool + need)
            cap *= 2;
        if (cap > UINT32_MAX)
            return LL_ENOMEM;
        bucket *nb = realloc(t->pool, cap * sizeof *nb);
        if (!nb)
            return LL_ENOMEM;
        t->pool = nb;
        t->cap_pool = cap;
    }
    for (int r = 0; a && r < SCRAPE_ROLE_COUNT_; r++) {
        if (!a->hseen[r])
            continue;
        p->hoff[r] = (uint32_t)t->n_pool;
        p->hn[r] = (uint16_t)a->nb[r];
        memcpy(t->pool + t->n_pool, a->b[r], a->nb[r] * sizeof(bucket));
        t->n_pool += a->nb[r];
    }
    t->pts[t->n_pts++] = *p;
    return 0;
}

int scrape_ingest(scrape *s, size_t i, uint64_t t_ns, const char *body, size_t len)
{
    if (i >= s->n)
        return LL_EINVAL;
    target *t = &s->t[i];
    point p;
    memset(&p, 0, sizeof p);
    p.t_ns = t_ns;
    for (int r = 0; r < SCRAPE_ROLE_COUNT_; r++)
        p.v[r] = p.hsum[r] = NAN;
    int rc = 0;
    pthread_mutex_lock(&s->ingest_mu);
    accum *a = &s->acc;
    if (body) {
        memset(a, 0, sizeof *a);
        parse_ctx c = {s, t, a, t_ns, 0};
        promtext_stats st;
        promtext_parse(body, len, on_sample, &c, &st);
        /* A body with no sample at all (an HTML error page served with 200) is a failed scrape. */
        p.ok = st.samples > 0;
        for (int r = 0; p.ok && r < SCRAPE_ROLE_COUNT_; r++) {
            if (a->hseen[r]) {
                p.v[r] = a->hcount[r];
                p.hsum[r] = a->hsum[r];
            } else if (a->n[r]) {
                agg how = role_agg((scrape_role)r);
                p.v[r] = how == AGG_MAX ? a->max[r] : how == AGG_MEAN ? a->sum[r] / (double)a->n[r] : a->sum[r];
            }
        }
        if (c.nomem)
            rc = LL_ENOMEM;
    }
    pthread_mutex_lock(&s->mu);
    t->attempts++;
    if (p.ok)
        t->slots_wanted = a->llamacpp && isnan(p.v[SCRAPE_KV_USAGE]);
    if (!p.ok) {
        t->failed++;
        if (body)
            snprintf(t->last_error, sizeof t->last_error, "no Prometheus sample in the answer");
    }
    int arc = append_point(t, &p, p.ok ? a : NULL);
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->ingest_mu);
    return arc ? arc : rc;
}

int scrape_ingest_slots(scrape *s, size_t i, uint64_t t_ns, const char *body, size_t len)
{
    if (i >= s->n)
        return LL_EINVAL;
    scrape_slots_kv_figure kv;
    int rc = scrape_slots_kv(body, len, &kv);
    pthread_mutex_lock(&s->mu);
    target *t = &s->t[i];
    if (rc == 0) {
        t->slots_fetched++;
        /* The scrape it completes is the last point (the thread fetches /slots right after). */
        point *p = t->n_pts ? &t->pts[t->n_pts - 1] : NULL;
        if (p && p->t_ns == t_ns && p->ok && isnan(p->v[SCRAPE_KV_USAGE]))
            p->v[SCRAPE_KV_USAGE] = kv.usage;
    } else {
        t->slots_failed++;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int scrape_slots_state(scrape *s, size_t i, uint64_t *fetched, uint64_t *failed, char *url, size_t len)
{
    if (i >= s->n)
        return 0;
    pthread_mutex_lock(&s->mu);
    const target *t = &s->t[i];
    int wanted = t->slots_wanted;
    *fetched = t->slots_fetched;
    *failed = t->slots_failed;
    if (len)
        snprintf(url, len, "%s", t->slots_url);
    pthread_mutex_unlock(&s->mu);
    return wanted;
}

/* ---- the window summary ---- */

static int in_window(uint64_t t, uint64_t t0, uint64_t t1)
{
    return t >= t0 && t <= t1;
}

/* Seconds of [a, b] inside [t0, t1]. */
static double overlap_s(uint64_t a, uint64_t b, uint64_t t0, uint64_t t1)
{
    uint64_t lo = a > t0 ? a : t0, hi = b < t1 ? b : t1;
    return hi > lo ? (double)(hi - lo) / 1e9 : 0;
}

static void summarize_gauge(const target *t, scrape_role r, uint64_t t0, uint64_t t1, double *tmp,
                            scrape_figure *f)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_pts; i++) {
        const point *p = &t->pts[i];
        if (p->ok && in_window(p->t_ns, t0, t1) && !isnan(p->v[r])) {
            tmp[n++] = p->v[r];
            f->last = p->v[r];
        }
    }
    if (n == 0)
        return;
    stats_summary st;
    stats_summarize(tmp, n, &st);
    f->present = 1;
    f->n = n;
    f->mean = st.mean;
    f->max = st.max;
    f->p50 = st.p50;
    f->p90 = st.p90;
    f->p99 = st.p99;
}

/* The previous usable point for role r before index j (ok, role present), or -1. Pairs of
 * consecutive usable points bracket every stretch of the window; a failed scrape between them
 * only widens the pair. */
static long prev_usable(const target *t, scrape_role r, long j)
{
    for (long i = j - 1; i >= 0; i--)
        if (t->pts[i].ok && !isnan(t->pts[i].v[r]))
            return i;
    return -1;
}

/* Counter increase over [t0, t1] as PromQL's increase() treats resets (a drop means the counter
 * restarted from 0, so the new value is the increase), with each pair's delta spread linearly
 * over the time between its two scrapes and only the part inside the window counted. */
static void summarize_counter(const target *t, scrape_role r, uint64_t t0, uint64_t t1,
                              scrape_figure *f)
{
    double inc = 0, covered = 0;
    uint64_t resets = 0;
    size_t pairs = 0;
    for (long j = 0; j < (long)t->n_pts; j++) {
        const point *b = &t->pts[j];
        if (!b->ok || isnan(b->v[r]))
            continue;
        long i = prev_usable(t, r, j);
        if (i < 0)
            continue;
        const point *a = &t->pts[i];
        double ov = overlap_s(a->t_ns, b->t_ns, t0, t1);
        if (b->t_ns <= a->t_ns || ov <= 0)
            continue;
        double d = b->v[r] >= a->v[r] ? b->v[r] - a->v[r] : b->v[r];
        resets += b->v[r] < a->v[r];
        inc += d * ov / ((double)(b->t_ns - a->t_ns) / 1e9);
        covered += ov;
        pairs++;
    }
    if (pairs == 0)
        return;
    f->present = 1;
    f->n = pairs;
    f->increase = inc;
    f->rate = covered > 0 ? inc / covered : 0;
    f->resets = resets;
}

/* Prometheus's histogram_quantile: linear within the bucket holding rank q*total, the first
 * bucket's lower edge 0 (when its bound is positive), the +Inf bucket answering its lower edge. */
static double bucket_quantile(const bucket *b, size_t n, double q)
{
    if (n == 0 || b[n - 1].cum <= 0)
        return NAN;
    double total = b[n - 1].cum, rank = q * total;
    size_t i = 0;
    while (i < n - 1 && b[i].cum < rank)
        i++;
    if (isinf(b[i].le))
        return i > 0 ? b[i - 1].le : NAN;
    double lo = i > 0 ? b[i - 1].le : (b[0].le > 0 ? 0 : b[0].le);
    double below = i > 0 ? b[i - 1].cum : 0, in = b[i].cum - below;
    if (in <= 0)
        return b[i].le;
    return lo + (b[i].le - lo) * (rank - below) / in;
}

static void summarize_hist(const target *t, scrape_role r, uint64_t t0, uint64_t t1,
                           scrape_figure *f)
{
    bucket w[SCRAPE__MAX_BUCKETS];
    size_t nb = 0;
    double count = 0, sum = 0, covered = 0;
    uint64_t resets = 0;
    size_t pairs = 0;
    for (long j = 0; j < (long)t->n_pts; j++) {
        const point *b = &t->pts[j];
        if (!b->ok || isnan(b->v[r]))
            continue;
        long i = prev_usable(t, r, j);
        if (i < 0)
            continue;
        const point *a = &t->pts[i];
        double ov = overlap_s(a->t_ns, b->t_ns, t0, t1);
        if (b->t_ns <= a->t_ns || ov <= 0)
            continue;
        const bucket *ba = t->pool + a->hoff[r], *bb = t->pool + b->hoff[r];
        size_t n = b->hn[r];
        int same = a->hn[r] == n;
        for (size_t k = 0; same && k < n; k++)
            same = ba[k].le == bb[k].le;
        if (!same || (pairs > 0 && n != nb))
            continue; /* the bucket layout changed (a restart with new bounds): skip the pair */
        double frac = ov / ((double)(b->t_ns - a->t_ns) / 1e9);
        int reset = b->v[r] < a->v[r];
        resets += reset;
        if (pairs == 0) {
            nb = n;
            for (size_t k = 0; k < n; k++)
                w[k] = (bucket){bb[k].le, 0};
        }
        for (size_t k = 0; k < n; k++)
            w[k].cum += (reset ? bb[k].cum : bb[k].cum - ba[k].cum) * frac;
        count += (reset ? b->v[r] : b->v[r] - a->v[r]) * frac;
        double sa = isnan(a->hsum[r]) ? 0 : a->hsum[r], sb = isnan(b->hsum[r]) ? 0 : b->hsum[r];
        sum += (reset ? sb : sb - sa) * frac;
        covered += ov;
        pairs++;
    }
    if (pairs == 0)
        return;
    f->present = 1;
    f->n = pairs;
    f->increase = count;
    f->rate = covered > 0 ? count / covered : 0;
    f->resets = resets;
    f->mean = count > 0 ? sum / count : NAN;
    f->p50 = bucket_quantile(w, nb, 0.50);
    f->p90 = bucket_quantile(w, nb, 0.90);
    f->p99 = bucket_quantile(w, nb, 0.99);
}

static void derived(scrape_summary *out)
{
    const scrape_figure *h = &out->fig[SCRAPE_PREFIX_HITS], *q = &out->fig[SCRAPE_PREFIX_QUERIES],
                        *g = &out->fig[SCRAPE_PREFIX_HIT_RATE], *e = &out->fig[SCRAPE_ENERGY],
                        *tok = &out->fig[SCRAPE_GENERATION_TOKENS];
    out->prefix_hit_rate = NAN;
    if (h->present && q->present && q->increase > 0)
        out->prefix_hit_rate = h->increase / q->increase;
    else if (g->present)
        out->prefix_hit_rate = g->mean;
    out->energy_per_token_j = e->present && tok->present && tok->increase > 0 ? e->increase / tok->increase : NAN;
}

int scrape_summarize(scrape *s, size_t i, uint64_t t0, uint64_t t1, scrape_summary *out)
{
    memset(out, 0, sizeof *out);
    out->prefix_hit_rate = out->energy_per_token_j = NAN;
    if (i >= s->n)
        return LL_EINVAL;
    pthread_mutex_lock(&s->mu);
    const target *t = &s->t[i];
    double *tmp = malloc((t->n_pts ? t->n_pts : 1) * sizeof *tmp);
    if (!tmp) {
        pthread_mutex_unlock(&s->mu);
        return LL_ENOMEM;
    }
    for (size_t k = 0; k < t->n_pts; k++) {
        if (!in_window(t->pts[k].t_ns, t0, t1))
            continue;
        out->scrapes++;
        out->scrapes_failed += !t->pts[k].ok;
    }
    for (long j = 1; j < (long)t->n_pts; j++) {
        long a = j - 1;
        while (a >= 0 && !t->pts[a].ok)
            a--;
        if (t->pts[j].ok && a >= 0)
            out->covered_s += overlap_s(t->pts[a].t_ns, t->pts[j].t_ns, t0, t1);
    }
    for (int r = 0; r < SCRAPE_ROLE_COUNT_; r++) {
        scrape_figure *f = &out->fig[r];
        f->kind = scrape_role_kind((scrape_role)r);
        f->mean = f->max = f->p50 = f->p90 = f->p99 = f->last = NAN;
        if (f->kind == SCRAPE_GAUGE)
            summarize_gauge(t, (scrape_role)r, t0, t1, tmp, f);
        else if (f->kind == SCRAPE_COUNTER)
            summarize_counter(t, (scrape_role)r, t0, t1, f);
        else
            summarize_hist(t, (scrape_role)r, t0, t1, f);
    }
    pthread_mutex_unlock(&s->mu);
    free(tmp);
    derived(out);
    return 0;
}

int scrape_summarize_all(scrape *s, uint64_t t0, uint64_t t1, scrape_summary *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < s->n; i++) {
        scrape_summary one;
        int rc = scrape_summarize(s, i, t0, t1, &one);
        if (rc)
            return rc;
        if (i == 0) {
            *out = one;
            continue;
        }
        out->scrapes += one.scrapes;
        out->scrapes_failed += one.scrapes_failed;
        if (one.covered_s < out->covered_s)
            out->covered_s = one.covered_s;
        for (int r = 0; r < SCRAPE_ROLE_COUNT_; r++)
            if (!out->fig[r].present && one.fig[r].present)
                out->fig[r] = one.fig[r];
    }
    if (s->n == 0) {
        out->prefix_hit_rate = out->energy_per_token_j = NAN;
        return 0;
    }
    derived(out);
    return 0;
}

/* ---- series for the report ---- */

static int add_pair(cJSON *arr, double t, double v)
{
    cJSON *pair = cJSON_CreateArray();
    if (!pair || !cJSON_AddItemToArray(arr, pair)) {
        cJSON_Delete(pair);
        return LL_ENOMEM;
    }
    /* Milliseconds are plenty for a 1 s cadence; keeps report.json small. */
    cJSON *a = cJSON_CreateNumber(round(t * 1000) / 1000), *b = cJSON_CreateNumber(v);
    if (!cJSON_AddItemToArray(pair, a) || !cJSON_AddItemToArray(pair, b)) {
        cJSON_Delete(a);
        cJSON_Delete(b);
        return LL_ENOMEM;
    }
    return 0;
}

int scrape_series_json(scrape *s, size_t i, uint64_t t0, uint64_t t1, uint64_t base_ns, cJSON **out)
{
    *out = NULL;
    if (i >= s->n)
        return LL_EINVAL;
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return LL_ENOMEM;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    const target *t = &s->t[i];
    for (int r = 0; r < SCRAPE_ROLE_COUNT_ && rc == 0; r++) {
        cJSON *arr = NULL;
        for (size_t k = 0; k < t->n_pts && rc == 0; k++) {
            const point *p = &t->pts[k];
            if (!p->ok || !in_window(p->t_ns, t0, t1) || isnan(p->v[r]) || !isfinite(p->v[r]))
                continue;
            if (!arr && !(arr = cJSON_AddArrayToObject(obj, role_names[r])))
                rc = LL_ENOMEM;
            else
                rc = add_pair(arr, ((double)p->t_ns - (double)base_ns) / 1e9, p->v[r]);
        }
    }
    for (size_t k = 0; k < t->n_raw && rc == 0; k++) {
        const raw_series *rs = &t->raw[k];
        cJSON *arr = NULL;
        for (size_t j = 0; j < rs->n && rc == 0; j++) {
            if (!in_window(rs->pts[j].t_ns, t0, t1) || !isfinite(rs->pts[j].v))
                continue;
            if (!arr && !(arr = cJSON_AddArrayToObject(obj, rs->key)))
                rc = LL_ENOMEM;
            else
                rc = add_pair(arr, ((double)rs->pts[j].t_ns - (double)base_ns) / 1e9, rs->pts[j].v);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        cJSON_Delete(obj);
        return rc;
    }
    *out = obj;
    return 0;
}

/* ---- fetching ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    target *t = ud;
    size_t n = size * nmemb;
    if (t->len + n > SCRAPE__MAX_BODY) {
        t->too_big = 1;
        return 0; /* curl fails the transfer: CURLE_WRITE_ERROR */
    }
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 65536;
        while (cap < t->len + n)
            cap *= 2;
        char *b = realloc(t->body, cap);
        if (!b)
            return 0;
        t->body = b;
        t->cap = cap;
    }
    memcpy(t->body + t->len, data, n);
    t->len += n;
    return n;
}

/* What every request of a target sets alike (its /metrics and its /slots): no signals from curl
 * (threads), the body into t's buffer, the run's TLS settings. */
static CURLcode easy_common(const scrape *s, target *t, CURL *e)
{
    CURLcode cc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (cc == CURLE_OK)                                                                            \
    cc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    if (s->insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (s->ca_cert)
        SET(CURLOPT_CAINFO, s->ca_cert);
#undef SET
    return cc;
}

static void fail_note(scrape *s, target *t, const char *fmt, const char *detail)
{
    pthread_mutex_lock(&s->mu);
    snprintf(t->last_error, sizeof t->last_error, fmt, detail);
    pthread_mutex_unlock(&s->mu);
}

/* After a llama.cpp-style scrape made at t_ns without a KV gauge: GET /slots within what is left of
 * the scrape's timeout, so the pair never overruns the interval. A server that does not serve it
 * (404, or 501 with llama-server's --no-slots) is not asked again; other failures are counted and
 * the next scrape tries again. Never a failed scrape: /metrics answered. Runs on t's thread. */
static void slots_once(scrape *s, target *t, uint64_t t_ns)
{
    pthread_mutex_lock(&s->mu);
    int want = t->slots_wanted && !t->slots_off;
    pthread_mutex_unlock(&s->mu);
    if (!want)
        return;
    long left_ms = (long)(s->timeout_s * 1000) - (long)((clock_now_ns() - t_ns) / 1000000);
    if (left_ms < 20)
        return;
    if (!t->slots_easy) {
        char url[sizeof t->slots_url];
        if (scrape_slots_url(t->url, url, sizeof url) != 0 || !(t->slots_easy = curl_easy_init())) {
            pthread_mutex_lock(&s->mu);
            t->slots_off = 1;
            pthread_mutex_unlock(&s->mu);
            return;
        }
        pthread_mutex_lock(&s->mu);
        memcpy(t->slots_url, url, sizeof url);
        pthread_mutex_unlock(&s->mu);
        CURLcode cc = curl_easy_setopt(t->slots_easy, CURLOPT_URL, t->slots_url);
        if (cc == CURLE_OK)
            cc = easy_common(s, t, t->slots_easy);
        if (cc != CURLE_OK) {
            pthread_mutex_lock(&s->mu);
            t->slots_off = 1;
            pthread_mutex_unlock(&s->mu);
            return;
        }
    }
    t->len = 0; /* the /metrics body was ingested: its buffer is free */
    t->too_big = 0;
    CURLcode cc = curl_easy_setopt(t->slots_easy, CURLOPT_TIMEOUT_MS, left_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(t->slots_easy, CURLOPT_CONNECTTIMEOUT_MS, left_ms);
    if (cc == CURLE_OK)
        cc = curl_easy_perform(t->slots_easy);
    long status = 0;
    if (cc == CURLE_OK && curl_easy_getinfo(t->slots_easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    if (cc == CURLE_OK && status == 200) {
        scrape_ingest_slots(s, t->idx, t_ns, t->body ? t->body : "", t->len);
        return;
    }
    pthread_mutex_lock(&s->mu);
    t->slots_failed++;
    if (cc == CURLE_OK && (status == 404 || status == 501))
        t->slots_off = 1;
    pthread_mutex_unlock(&s->mu);
}

/* One scrape: fetch, then ingest (a failure ingests a failed point). Runs on t's thread. */
static void scrape_once(scrape *s, target *t)
{
    /* Stamped when the request goes out: the server's gauges describe that moment, give or take
     * the scrape's own latency, which the timeout bounds. */
    uint64_t t_ns = clock_now_ns();
    t->len = 0;
    t->too_big = 0;
    CURLcode cc = curl_easy_perform(t->easy);
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        fail_note(s, t, "%s", t->too_big ? "answer larger than its limit" : curl_easy_strerror(cc));
        scrape_ingest(s, t->idx, t_ns, NULL, 0);
    } else if (status != 200) {
        char code[16];
        snprintf(code, sizeof code, "%ld", status);
        fail_note(s, t, "HTTP status %s", code);
        scrape_ingest(s, t->idx, t_ns, NULL, 0);
    } else {
        scrape_ingest(s, t->idx, t_ns, t->body ? t->body : "", t->len);
        slots_once(s, t, t_ns);
    }
}

static void deadline_ts(uint64_t ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns / CLOCK_NS_PER_S);
    ts->tv_nsec = (long)(ns % CLOCK_NS_PER_S);
}

static void *target_main(void *arg)
{
    target *t = arg;
    scrape *s = t->owner;
    /* The run's stop signals are the load loops' and, between benchmarks, cmd_run's, which holds
     * them (as live_server.c's thread does): delivered here, they would be lost. */
    sigset_t stop;
    runsig_block(&stop);
    uint64_t interval = (uint64_t)(s->interval_s * 1e9);
    uint64_t next = clock_now_ns();
    pthread_mutex_lock(&s->mu);
    for (;;) {
        /* clock_now_ns is CLOCK_MONOTONIC, the clock the condition variable waits on. */
        while (!s->stop && t->req_gen == t->done_gen && clock_now_ns() < next) {
            struct timespec ts;
            deadline_ts(next, &ts);
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
        int last = s->stop;
        int due = clock_now_ns() >= next;
        uint64_t gen = t->req_gen;
        pthread_mutex_unlock(&s->mu);
        scrape_once(s, t);
        pthread_mutex_lock(&s->mu);
        t->done_gen = gen;
        pthread_cond_broadcast(&s->cv);
        if (last)
            break;
        /* Keep the cadence: a scrape asked for by scrape_now (a window edge) does not move it; after
         * one that overran (a slow server), start again at once. */
        if (due) {
            next += interval;
            uint64_t now = clock_now_ns();
            if (next < now)
                next = now;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int target_init(scrape *s, target *t, const char *url, size_t idx)
{
    t->owner = s;
    t->idx = idx;
    if (!(t->url = strdup(url)))
        return LL_ENOMEM;
    if (!(t->easy = curl_easy_init()))
        return LL_ELIB;
    if (!(t->hdrs = curl_slist_append(NULL, "Accept: text/plain; version=0.0.4")))
        return LL_ENOMEM;
    long timeout_ms = (long)(s->timeout_s * 1000);
    if (timeout_ms < 1)
        timeout_ms = 1;
    CURLcode cc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (cc == CURLE_OK)                                                                            \
    cc = curl_easy_setopt(t->easy, opt, val)
    SET(CURLOPT_URL, t->url);
    SET(CURLOPT_HTTPHEADER, t->hdrs);
    SET(CURLOPT_TIMEOUT_MS, timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* gzip when the server offers it: DCGM's answer is large */
#undef SET
    if (cc == CURLE_OK)
        cc = easy_common(s, t, t->easy);
    return cc == CURLE_OK ? 0 : LL_ELIB;
}

int scrape_create(scrape **out, const scrape_opts *o, char *err, size_t errlen)
{
    *out = NULL;
    scrape *s = calloc(1, sizeof *s);
    if (!s)
        return LL_ENOMEM;
    int rc = 0;
    s->interval_s = o->interval_s > 0 ? o->interval_s : 1.0;
    s->timeout_s = o->timeout_s > 0 ? o->timeout_s : 0.8 * s->interval_s;
    if (s->timeout_s > SCRAPE__MAX_TIMEOUT_S)
        s->timeout_s = SCRAPE__MAX_TIMEOUT_S;
    s->insecure = o->insecure;
    pthread_condattr_t ca;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->ingest_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (o->ca_cert && !(s->ca_cert = strdup(o->ca_cert))) {
        rc = LL_ENOMEM;
        goto fail;
    }
    if (o->keep_regex) {
        int rr = regcomp(&s->keep, o->keep_regex, REG_EXTENDED | REG_NOSUB);
        if (rr != 0) {
            char why[128];
            regerror(rr, &s->keep, why, sizeof why);
            snprintf(err, errlen, "--server-metrics-keep \"%.64s\": %s", o->keep_regex, why);
            rc = LL_EUSAGE;
            goto fail;
        }
        s->has_keep = 1;
    }
    if (o->n_urls && !(s->t = calloc(o->n_urls, sizeof *s->t))) {
        rc = LL_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < o->n_urls; i++) {
        s->n = i + 1;
        if ((rc = target_init(s, &s->t[i], o->urls[i], i)) != 0) {
            snprintf(err, errlen, "--server-metrics %s: %s", o->urls[i], ll_strerror(rc));
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    if (rc == LL_ENOMEM)
        snprintf(err, errlen, "out of memory");
    scrape_destroy(s);
    return rc;
}

int scrape_start(scrape *s, char *err, size_t errlen)
{
    if (!s || s->started)
        return 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++)
        s->t[i].req_gen = 1;
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        if (pthread_create(&s->t[i].th, NULL, target_main, &s->t[i]) != 0) {
            snprintf(err, errlen, "--server-metrics: cannot start a scrape thread");
            s->started = 1;
            scrape_stop(s);
            return LL_ELIB;
        }
        s->t[i].running = 1;
    }
    s->started = 1;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++)
        while (s->t[i].done_gen < 1)
            pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void scrape_now(scrape *s)
{
    if (!s || !s->started)
        return;
    pthread_mutex_lock(&s->mu);
    if (s->stop) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    for (size_t i = 0; i < s->n; i++)
        s->t[i].req_gen++;
    pthread_cond_broadcast(&s->cv);
    for (size_t i = 0; i < s->n; i++)
        while (s->t[i].running && s->t[i].done_gen < s->t[i].req_gen)
            pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void scrape_stop(scrape *s)
{
    if (!s || !s->started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        if (s->t[i].running)
            pthread_join(s->t[i].th, NULL);
        s->t[i].running = 0;
    }
    s->started = 0;
}

void scrape_destroy(scrape *s)
{
    if (!s)
        return;
    scrape_stop(s);
    for (size_t i = 0; i < s->n; i++) {
        target *t = &s->t[i];
        if (t->easy)
            curl_easy_cleanup(t->easy);
        if (t->slots_easy)
            curl_easy_cleanup(t->slots_easy);
        curl_slist_free_all(t->hdrs);
        free(t->url);
        free(t->body);
        free(t->pts);
        free(t->pool);
        for (size_t k = 0; k < t->n_raw; k++) {
            free(t->raw[k].key);
            free(t->raw[k].pts);
        }
        free(t->raw);
    }
    free(s->t);
    if (s->has_keep)
        regfree(&s->keep);
    free(s->ca_cert);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->ingest_mu);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
