/*
 * live.c - live client metrics: the snapshot a runner publishes each tick, the merge of worker
 * loops' snapshots, and its Prometheus rendering (scheduler -> live -> live_server).
 * The slot's mutex is held only for a struct copy on either side, so the run loop never waits on a
 * scrape for longer than a memcpy.
 */
#include "llmload/live.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

/* Bounds in ns. TTFT: 10 ms to a minute, as prefill and queueing range; token gaps: half a
 * millisecond to 5 s, the same bounds as metrics.prom's histogram. */
static const uint64_t ttft_bounds[] = {10000000,   25000000,   50000000,   75000000,   100000000,
                                       150000000,  200000000,  300000000,  500000000,  750000000,
                                       1000000000, 1500000000, 2000000000, 3000000000, 5000000000,
                                       7500000000, 10000000000, 20000000000, 30000000000, 60000000000};
static const uint64_t itl_bounds[] = {500000,   1000000,  2500000,   5000000,   7500000,   10000000,
                                      15000000, 20000000, 25000000,  30000000,  40000000,  50000000,
                                      75000000, 100000000, 150000000, 200000000, 300000000, 500000000,
                                      1000000000, 2500000000, 5000000000};

#define N_TTFT (sizeof ttft_bounds / sizeof *ttft_bounds)
#define N_ITL (sizeof itl_bounds / sizeof *itl_bounds)
_Static_assert(N_TTFT <= LIVE_MAX_BOUNDS && N_ITL <= LIVE_MAX_BOUNDS, "LIVE_MAX_BOUNDS too small");

struct live_slot {
    pthread_mutex_t mu;
    live_snapshot snap;
};

static size_t bound_index(const uint64_t *bounds, size_t n, uint64_t v)
{
    size_t i = 0;
    while (i < n && v > bounds[i])
        i++;
    return i; /* n: above every bound */
}

void live_snapshot_begin(live_snapshot *s, const char *benchmark, const char *schedule, uint64_t start_ns)
{
    memset(s, 0, sizeof *s);
    snprintf(s->benchmark, sizeof s->benchmark, "%s", benchmark ? benchmark : "");
    snprintf(s->schedule, sizeof s->schedule, "%s", schedule ? schedule : "");
    s->start_ns = start_ns;
}

void live_ttft_add(live_snapshot *s, uint64_t ns)
{
    s->ttft.bucket[bound_index(ttft_bounds, N_TTFT, ns)]++;
    s->ttft.count++;
    s->ttft.sum_s += (double)ns / 1e9;
}

void live_itl_fold(live_snapshot *s, const hist *h)
{
    memset(&s->itl, 0, sizeof s->itl);
    size_t slots = hist_bucket_slots();
    for (size_t idx = 0; idx < slots; idx++) {
        uint64_t c = hist_bucket_count(h, idx);
        if (!c)
            continue;
        uint64_t lo, hi;
        hist_bucket_range(idx, &lo, &hi);
        s->itl.bucket[bound_index(itl_bounds, N_ITL, hi)] += c;
        s->itl.count += c;
        s->itl.sum_s += (double)c * ((double)lo + (double)hi) / 2e9;
    }
}

static void hist_add(live_hist *acc, const live_hist *h)
{
    for (size_t i = 0; i <= LIVE_MAX_BOUNDS; i++)
        acc->bucket[i] += h->bucket[i];
    acc->count += h->count;
    acc->sum_s += h->sum_s;
}

void live_snapshot_merge(live_snapshot *acc, const live_snapshot *part)
{
    if (!part->start_ns || part->start_ns < acc->start_ns)
        return;
    if (part->start_ns > acc->start_ns) {
        *acc = *part;
        return;
    }
    acc->started += part->started;
    acc->completed += part->completed;
    acc->errored += part->errored;
    acc->in_flight += part->in_flight;
    hist_add(&acc->ttft, &part->ttft);
    hist_add(&acc->itl, &part->itl);
}

/* A label value in the exposition's escaping: backslash, double quote and newline. */
static void put_label(FILE *f, const char *name, const char *v, int first)
{
    fprintf(f, "%s%s=\"", first ? "" : ",", name);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
    fputc('"', f);
}

static void put_labels(FILE *f, const live_snapshot *s, const char *model)
{
    put_label(f, "benchmark", s->benchmark, 1);
    put_label(f, "schedule", s->schedule, 0);
    put_label(f, "model", model ? model : "", 0);
}

static void put_scalar(FILE *f, const live_snapshot *s, const char *model, const char *name, const char *type,
                       const char *help, uint64_t v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s{", name, help, name, type, name);
    put_labels(f, s, model);
    fprintf(f, "} %llu\n", (unsigned long long)v);
}

static void put_hist(FILE *f, const live_snapshot *s, const char *model, const char *name, const char *help,
                     const live_hist *h, const uint64_t *bounds, size_t n)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (size_t i = 0; i <= n; i++) {
        cum += h->bucket[i];
        fprintf(f, "%s_bucket{", name);
        put_labels(f, s, model);
        if (i < n)
            fprintf(f, ",le=\"%g\"} %llu\n", (double)bounds[i] / 1e9, (unsigned long long)cum);
        else
            fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long)h->count);
    }
    fprintf(f, "%s_sum{", name);
    put_labels(f, s, model);
    fprintf(f, "} %.17g\n%s_count{", h->sum_s, name);
    put_labels(f, s, model);
    fprintf(f, "} %llu\n", (unsigned long long)h->count);
}

int live_render(const live_snapshot *s, const char *model, FILE *f)
{
    if (!s->start_ns) {
        fputs("# llmload: no benchmark has started yet\n", f);
        return ferror(f) ? LL_EIO : 0;
    }
    put_scalar(f, s, model, "llmload_live_requests_started_total", "counter",
               "Requests started in the current benchmark.", s->started);
    put_scalar(f, s, model, "llmload_live_requests_completed_total", "counter",
               "Requests of the current benchmark that completed.", s->completed);
    put_scalar(f, s, model, "llmload_live_requests_errored_total", "counter",
               "Requests of the current benchmark that failed.", s->errored);
    put_scalar(f, s, model, "llmload_live_requests_in_flight", "gauge", "Requests in flight now.", s->in_flight);
    put_hist(f, s, model, "llmload_live_ttft_seconds",
             "Time to first token of requests scheduled in the measured window, so far.", &s->ttft, ttft_bounds,
             N_TTFT);
    put_hist(f, s, model, "llmload_live_inter_token_gap_seconds",
             "Gaps between token events in the measured window, so far (refreshed each second).", &s->itl,
             itl_bounds, N_ITL);
    return ferror(f) ? LL_EIO : 0;
}

int live_slot_create(live_slot **out)
{
    live_slot *s = calloc(1, sizeof *s);
    if (!s)
        return LL_ENOMEM;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return LL_ELIB;
    }
    *out = s;
    return 0;
}

void live_slot_destroy(live_slot *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void live_slot_store(live_slot *s, const live_snapshot *snap)
{
    pthread_mutex_lock(&s->mu);
    s->snap = *snap;
    pthread_mutex_unlock(&s->mu);
}

void live_slot_load(live_slot *s, live_snapshot *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->snap;
    pthread_mutex_unlock(&s->mu);
}
