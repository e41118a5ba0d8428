/*
 * workers.c - --workers N: split a benchmark plan between N runners on N threads, start them at
 * one instant, print the combined progress, and merge their results exactly (see workers.h).
 */
#include "llmload/workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "llmload/clock.h"
#include "llmload/console.h"
#include "llmload/error.h"

/* Threads need a moment to reach their loops; a common start this far ahead lines them up. */
#define WORKERS_START_DELAY_NS (20 * CLOCK_NS_PER_MS)

typedef struct worker {
    runner *rn;
    pthread_t thread;
    int started;
    bench_plan plan;
    int active;         /* has a share of the current plan */
    bench_result res;
    int rc;
    char err[256];
    atomic_int done;
} worker;

struct workers {
    worker *w;
    size_t n;
    const config *cfg;
    int progress; /* -1 none, 0 plain lines, 1 live line */
};

static long share(long total, size_t n, size_t k)
{
    return total / (long)n + ((long)k < total % (long)n ? 1 : 0);
}

int workers_split(const bench_plan *plan, const config *cfg, size_t n, size_t k, bench_plan *out)
{
    *out = *plan;
    if (n <= 1)
        return 1;
    out->loop_index = (uint32_t)k;
    out->loop_count = (uint32_t)n;
    /* One request at a time is one loop's job, the whole request limit with it. */
    if (plan->schedule == CONFIG_SCHED_SYNCHRONOUS)
        return k == 0;
    if (plan->max_requests > 0) {
        out->max_requests = share(plan->max_requests, n, k);
        if (out->max_requests == 0)
            return 0;
    }
    /* An open loop's in-flight cap: a shard's share when the plan carries one, else the config's. */
    long open_cap = plan->concurrency > 0 ? plan->concurrency : cfg->max_concurrency;
    switch (plan->schedule) {
    case CONFIG_SCHED_CONCURRENT:
    case CONFIG_SCHED_THROUGHPUT: {
        long total = (long)bench_plan_slots(plan, cfg);
        out->concurrency = share(total, n, k);
        return out->concurrency > 0;
    }
    case CONFIG_SCHED_CONSTANT:
        /* Worker k sends arrivals k, k+n, k+2n...: rate R/n, shifted by k/R. */
        out->rate = plan->rate / (double)n;
        /* Added to the plan's own phase: a shard (--shard) splits its share again between loops. */
        out->phase_ns = plan->phase_ns + (uint64_t)((double)k * 1e9 / plan->rate);
        out->concurrency = share(open_cap, n, k);
        return out->concurrency > 0;
    case CONFIG_SCHED_POISSON:
        if (plan->burstiness > 0 && plan->burstiness != 1) {
            /* Gamma gaps: N independent gamma processes of rate R/N would superpose to something
             * nearly Poisson, losing the burstiness. Every loop draws the one process instead and
             * keeps every N-th arrival (k, k+N, ...), so their union is exactly it; a shard's share
             * is dealt again (strides multiply). The seed stays the prompts' own. */
            uint64_t stride = plan->deal_stride > 1 ? plan->deal_stride : 1;
            out->deal_seed = plan->deal_stride > 1 ? plan->deal_seed : plan->seed;
            out->deal_offset = plan->deal_offset + stride * k;
            out->deal_stride = stride * n;
            out->seed = plan->seed + k;
            out->concurrency = share(open_cap, n, k);
            return out->concurrency > 0;
        }
        out->rate = plan->rate / (double)n;
        out->seed = plan->seed + k; /* independent streams: the superposition is Poisson(R) */
        out->concurrency = share(open_cap, n, k);
        return out->concurrency > 0;
    case CONFIG_SCHED_TRACE: {
        /* Share k of a share (first, stride) sends entries first + stride * (k + n * j): the
         * trace dealt out like cards, each entry at its own time, the union the whole trace. The
         * speed (rate) and the seed stay, so each entry's prompt is the one a lone loop builds. */
        uint64_t stride = plan->deal_stride > 1 ? plan->deal_stride : 1;
        out->deal_offset = plan->deal_offset + stride * k;
        out->deal_stride = stride * n;
        out->concurrency = share(open_cap, n, k);
        return out->concurrency > 0;
    }
    default:
        return 0;
    }
}

int workers_create(workers **out, const config *cfg, const char *model, size_t n, size_t slots_total,
                   char *err, size_t errlen)
{
    workers *ws = calloc(1, sizeof *ws);
    if (!ws || !(ws->w = calloc(n ? n : 1, sizeof *ws->w))) {
        free(ws);
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    ws->n = n ? n : 1;
    ws->cfg = cfg;
    size_t per = (slots_total + ws->n - 1) / ws->n;
    for (size_t k = 0; k < ws->n; k++) {
        int rc = runner_create(&ws->w[k].rn, cfg, model, per ? per : 1, err, errlen);
        if (rc != 0) {
            workers_destroy(ws);
            return rc;
        }
        if (ws->n > 1)
            runner_quiet(ws->w[k].rn, k > 0);
    }
    ws->progress = cfg->quiet || cfg->progress == 0 ? -1 : isatty(STDERR_FILENO) ? 1 : 0;
    *out = ws;
    return 0;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    w->rc = runner_run(w->rn, &w->plan, &w->res, w->err, sizeof w->err);
    atomic_store(&w->done, 1);
    return NULL;
}

static int record_cmp(const void *a, const void *b)
{
    const record *x = a, *y = b;
    if (x->scheduled_ns != y->scheduled_ns)
        return x->scheduled_ns < y->scheduled_ns ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* One result from the workers': records concatenated in schedule order with ids k + n*i, counts
 * added, histograms merged, times the earliest start and the latest ends. */
static int merge(workers *ws, const bench_plan *plan, bench_result *res)
{
    memset(res, 0, sizeof *res);
    res->plan = *plan;
    if (hist_create(&res->itl) != 0 || hist_create(&res->itl_token) != 0 || hist_create(&res->loop_lag) != 0 ||
        hist_create(&res->read_wait) != 0)
        return LL_ENOMEM;
    int first = 1;
    for (size_t k = 0; k < ws->n; k++) {
        worker *w = &ws->w[k];
        if (!w->active)
            continue;
        bench_result *r = &w->res;
        for (size_t i = 0; i < r->records.len; i++)
            r->records.items[i].id = r->records.items[i].id * ws->n + k;
        if (record_log_extend(&res->records, &r->records) != 0)
            return LL_ENOMEM;
        bench_result_add(res, r);
        if (first || r->t0_ns < res->t0_ns) {
            res->t0_ns = r->t0_ns;
            res->wall_start = r->wall_start;
            res->window_start_ns = r->window_start_ns;
            res->window_end_ns = r->window_end_ns;
        }
        first = 0;
        if (r->sched_end_ns > res->sched_end_ns)
            res->sched_end_ns = r->sched_end_ns;
        if (r->end_ns > res->end_ns)
            res->end_ns = r->end_ns;
    }
    qsort(res->records.items, res->records.len, sizeof *res->records.items, record_cmp);
    return 0;
}

int workers_run(workers *ws, const bench_plan *plan, bench_result *res, char *err, size_t errlen)
{
    if (ws->n == 1)
        return runner_run(ws->w[0].rn, plan, res, err, errlen);

    uint64_t start = clock_now_ns() + WORKERS_START_DELAY_NS;
    int rc = 0;
    for (size_t k = 0; k < ws->n; k++) {
        worker *w = &ws->w[k];
        memset(&w->res, 0, sizeof w->res);
        w->rc = 0;
        w->err[0] = '\0';
        atomic_store(&w->done, 0);
        w->active = workers_split(plan, ws->cfg, ws->n, k, &w->plan);
        w->plan.start_ns = start;
        w->started = 0;
        if (!w->active)
            continue;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(err, errlen, "cannot start worker thread %zu", k);
            w->active = 0;
            rc = LL_ELIB;
            break;
        }
        w->started = 1;
    }
    /* The coordinator's only job while the loops run: one progress line for all of them. */
    uint64_t next_print = start + (ws->progress == 1 ? CLOCK_NS_PER_S : 5 * CLOCK_NS_PER_S);
    for (;;) {
        int running = 0;
        for (size_t k = 0; k < ws->n; k++)
            running += ws->w[k].started && !atomic_load(&ws->w[k].done);
        uint64_t now = clock_now_ns();
        if (ws->progress >= 0 && (now >= next_print || !running) && now > start) {
            runner_counts sum = {0}, c;
            int sending = 0;
            for (size_t k = 0; k < ws->n; k++) {
                runner_counts_read(ws->w[k].rn, &c);
                sum.started += c.started;
                sum.completed += c.completed;
                sum.errors += c.errors;
                sum.in_flight += c.in_flight;
                if (ws->w[k].started && !c.sched_end_ns)
                    sending = 1;
                else if (c.sched_end_ns > sum.sched_end_ns)
                    sum.sched_end_ns = c.sched_end_ns;
            }
            double elapsed = (double)(now - start) / 1e9;
            /* The send rate stops moving once every loop has stopped sending. */
            double span = !sending && sum.sched_end_ns > start && sum.sched_end_ns < now
                              ? (double)(sum.sched_end_ns - start) / 1e9
                              : elapsed;
            console_progress(stderr, ws->progress, plan->name, elapsed, (double)sum.started / span,
                             running ? sum.in_flight : 0, sum.completed, sum.errors, !running);
            next_print = now + (ws->progress == 1 ? CLOCK_NS_PER_S : 5 * CLOCK_NS_PER_S);
        }
        if (!running)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (size_t k = 0; k < ws->n; k++) {
        worker *w = &ws->w[k];
        if (w->started)
            pthread_join(w->thread, NULL);
        if (w->active && w->rc != 0 && rc == 0) {
            snprintf(err, errlen, "worker %zu: %s", k, w->err);
            rc = w->rc;
        }
    }
    if (rc == 0 && merge(ws, plan, res) != 0) {
        snprintf(err, errlen, "out of memory merging worker results");
        rc = LL_ENOMEM;
    }
    for (size_t k = 0; k < ws->n; k++)
        if (ws->w[k].active)
            bench_result_free(&ws->w[k].res);
    return rc;
}

void workers_live_read(const workers *ws, live_snapshot *out)
{
    memset(out, 0, sizeof *out);
    live_snapshot part;
    for (size_t k = 0; k < ws->n; k++) {
        live_slot *slot = ws->w[k].rn ? runner_live(ws->w[k].rn) : NULL;
        if (!slot)
            continue;
        live_slot_load(slot, &part);
        live_snapshot_merge(out, &part);
    }
}

int workers_interrupted(const workers *ws)
{
    for (size_t k = 0; k < ws->n; k++)
        if (ws->w[k].rn && runner_interrupted(ws->w[k].rn))
            return runner_interrupted(ws->w[k].rn);
    return 0;
}

void workers_destroy(workers *ws)
{
    if (!ws)
        return;
    for (size_t k = 0; k < ws->n; k++)
        runner_destroy(ws->w[k].rn);
    free(ws->w);
    free(ws);
}
