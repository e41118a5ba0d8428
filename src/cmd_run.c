/*
 * cmd_run.c - `llmload run`: config -> preflight -> plans -> runner -> aggregate -> reports.
 * Turns the resolved config into a list of benchmark plans (one per --rate value, or the points
 * of a sweep, whose middle rates depend on the first two results), runs them on one runner so
 * connections stay warm, then writes every output from the one report document and, with
 * --pushgateway, pushes its Prometheus text (after the files, so a failed push loses nothing).
 * With --metrics-listen a live_server thread serves the loops' live snapshots while they run.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "llmload/aggregate.h"
#include "llmload/bench.h"
#include "llmload/calibrate.h"
#include "llmload/clock.h"
#include "llmload/cmd.h"
#include "llmload/config.h"
#include "llmload/console.h"
#include "llmload/dataset.h"
#include "llmload/diagnose.h"
#include "llmload/discover.h"
#include "llmload/error.h"
#include "llmload/exitcode.h"
#include "llmload/gate.h"
#include "llmload/knee.h"
#include "llmload/live_server.h"
#include "llmload/outfile.h"
#include "llmload/precision.h"
#include "llmload/prompt_check.h"
#include "llmload/repeats.h"
#include "llmload/report.h"
#include "llmload/runsig.h"
#include "llmload/report_push.h"
#include "llmload/scrape.h"
#include "llmload/search.h"
#include "llmload/source.h"
#include "llmload/stages.h"
#include "llmload/trace.h"
#include "llmload/workers.h"

#define ERRLEN 512

static void plan_init(bench_plan *p, const config *cfg, config_schedule s, double rate)
{
    memset(p, 0, sizeof *p);
    p->schedule = s;
    p->rate = rate;
    p->max_seconds = cfg->max_seconds;
    p->max_requests = cfg->max_requests;
    p->warmup_s = cfg->warmup_s;
    p->cooldown_s = cfg->cooldown_s;
    p->seed = cfg->seed;
    /* Arrival shapes: gamma gaps for Poisson arrivals; a ramp for the schedules that take one
     * (config_shapes.c), counted as warmup, so the measured window starts when it is over. */
    if (s == CONFIG_SCHED_POISSON)
        p->burstiness = cfg->burstiness;
    if (cfg->ramp_up != CONFIG_RAMP_NONE &&
        (s == CONFIG_SCHED_CONSTANT || s == CONFIG_SCHED_POISSON || s == CONFIG_SCHED_CONCURRENT)) {
        p->ramp = (int)cfg->ramp_up;
        p->ramp_s = cfg->ramp_up_s;
        p->warmup_s += cfg->ramp_up_s;
    }
    if (s == CONFIG_SCHED_TRACE) {
        /* A trace's one knob is its speed: trace@1x, trace@2x, trace@0.5x. */
        p->rate = cfg->trace_speed;
        snprintf(p->name, sizeof p->name, "trace@%.4gx", p->rate);
    } else if (s == CONFIG_SCHED_SYNCHRONOUS || s == CONFIG_SCHED_THROUGHPUT)
        snprintf(p->name, sizeof p->name, "%s", config_schedule_name(s));
    else
        /* Whole rates in full (concurrent@10000), fractional ones to 4 significant digits. */
        snprintf(p->name, sizeof p->name, rate == floor(rate) && rate < 1e15 ? "%s@%.0f" : "%s@%.4g",
                 config_schedule_name(s), rate);
}

/* Plans known before running: every --rate value, or a sweep's two anchor points. */
static size_t initial_plans(const config *cfg, bench_plan *plans, size_t cap)
{
    size_t n = 0;
    if (cfg->schedule == CONFIG_SCHED_SWEEP) {
        plan_init(&plans[n++], cfg, CONFIG_SCHED_SYNCHRONOUS, 0);
        plan_init(&plans[n++], cfg, CONFIG_SCHED_THROUGHPUT, 0);
        return n;
    }
    /* A search over rates starts from what the server completes flat out (as a sweep's top
     * point); over streams its probes are all planned by the search. */
    if (cfg->schedule == CONFIG_SCHED_SLO_SEARCH) {
        if (!cfg->search_concurrency)
            plan_init(&plans[n++], cfg, CONFIG_SCHED_THROUGHPUT, 0);
        return n;
    }
    if (cfg->stages) {
        /* --stages: one open-loop plan per stage, its duration the time limit; the ramp leads
         * into the first only (config_shapes.c checked the spec). */
        size_t ns = 0;
        char why[256];
        stage *st = malloc(cap * sizeof *st);
        if (!st || stages_parse(cfg->stages, st, cap, &ns, why, sizeof why) != 0) {
            free(st);
            return 0;
        }
        config_schedule s = cfg->schedule == CONFIG_SCHED_CONSTANT ? CONFIG_SCHED_CONSTANT : CONFIG_SCHED_POISSON;
        for (size_t i = 0; i < ns && n < cap; i++) {
            bench_plan *p = &plans[n++];
            plan_init(p, cfg, s, st[i].rate);
            p->max_seconds = st[i].seconds;
            if (i > 0 && p->ramp) {
                p->warmup_s -= p->ramp_s;
                p->ramp = 0;
                p->ramp_s = 0;
            }
            char rate[40];
            snprintf(rate, sizeof rate, st[i].rate == floor(st[i].rate) ? "%.0f" : "%.4g", st[i].rate);
            snprintf(p->name, sizeof p->name, "stage%zu@%s", i + 1, rate);
        }
        free(st);
        return n;
    }
    for (size_t i = 0; i < cfg->n_rates && n < cap; i++)
        plan_init(&plans[n++], cfg, cfg->schedule, cfg->rates[i]);
    return n;
}

/* After a benchmark stopped early (saturated, or past --max-error-rate), the rest of the run is
 * pointless when every benchmark left is the same schedule at a rate at least as high: a sweep's
 * rising points, rising stages or rates. Then the run ends there (docs/workloads.md); a benchmark
 * left at a lower load still runs, so a falling stage after a saturated one is measured. */
static int rest_is_pointless(const bench_plan *plans, size_t n_plans, size_t reps, size_t j, size_t total,
                             const bench_result *res)
{
    if (!bench_stop_early(bench_result_stop(res)))
        return 0;
    const bench_plan *p = &plans[j / reps];
    for (size_t k = j + 1; k < total; k++) {
        const bench_plan *q = &plans[k / reps];
        if (k / reps >= n_plans || q->schedule != p->schedule || q->rate < p->rate)
            return 0;
    }
    return 1;
}

static int make_dir(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        snprintf(err, errlen, "--out: path too long");
        return LL_EUSAGE;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "--out %s: cannot create %s: %s", dir, path, strerror(errno));
            return LL_EIO;
        }
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--out %s: cannot create: %s", dir, strerror(errno));
        return LL_EIO;
    }
    return 0;
}

/* Every report of the run is written to a temporary first; only when all five are on disk are
 * they renamed into place, so a failure (a full disk at report.html) leaves the earlier run's
 * files as they were instead of mixing the two runs. */
static int write_outputs(const config *cfg, const cJSON *doc, const bench_result *results, size_t n,
                         char *err, size_t errlen)
{
    int rc = make_dir(cfg->out_dir, err, errlen);
    if (rc)
        return rc;
    static const struct {
        const char *file;
        int (*writer)(const cJSON *, FILE *);
        int (*wanted)(const cJSON *); /* NULL: always written */
    } outputs[] = {
        {"report.json", report_write_json, NULL},
        {"summary.csv", report_write_summary_csv, NULL},
        {"report.html", report_write_html, NULL},
        {"metrics.prom", report_write_prometheus, NULL},
        {"requests.csv", NULL, NULL},
        {"breakdown.csv", report_write_breakdown_csv, report_has_breakdown}, /* sessions, model mixes */
    };
    outfile_set *set = NULL;
    if ((rc = outfile_create(&set, cfg->out_dir, err, errlen)) != 0)
        return rc;
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0] && rc == 0; i++) {
        FILE *f;
        if (outputs[i].wanted && !outputs[i].wanted(doc))
            continue;
        if ((rc = outfile_begin(set, outputs[i].file, &f, err, errlen)) != 0)
            break;
        int wrc = outputs[i].writer ? outputs[i].writer(doc, f)
                                    : report_write_requests_csv(results, n, n ? results[0].t0_ns : 0, f);
        rc = outfile_end(set, wrc, err, errlen);
    }
    if (rc == 0)
        rc = outfile_commit(set, err, errlen);
    else {
        size_t len = strlen(err);
        snprintf(err + len, errlen - len, "; no report was written (files already in %s were left untouched)",
                 cfg->out_dir);
    }
    outfile_destroy(set);
    return rc == LL_ENOMEM ? rc : rc ? LL_EIO : 0;
}

/* Descriptors besides the connections: stdio, the loops' epoll, signal and timer fds, curl's
 * resolver, the live server, the report file being written. Measured need is under 20 for one
 * loop; the margin covers libraries that open a file or two. */
#define FD_BASE 32
#define FD_PER_WORKER 8

/* A limit too low for the asked concurrency would show up as a run of connect failures ("too
 * many open files") and could cost the report files at the end: refused before any request. The
 * soft limit is raised to the hard one first, as the simulator does. */
static int check_fd_budget(size_t slots, int loops, char *err, size_t errlen)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    uint64_t need = (uint64_t)slots + FD_BASE + (uint64_t)FD_PER_WORKER * (uint64_t)(loops > 0 ? loops : 1);
    if (rl.rlim_cur != RLIM_INFINITY && (uint64_t)rl.rlim_cur < need) {
        snprintf(err, errlen,
                 "the open-file limit is %llu, and %zu connections plus the report files need about %llu: "
                 "raise it (ulimit -n %llu) or ask for less concurrency",
                 (unsigned long long)rl.rlim_cur, slots, (unsigned long long)need, (unsigned long long)need);
        return LL_ERANGE;
    }
    return 0;
}

/* --shard I/N: each shard's seed stream, from the run's seed and I (splitmix64's finaliser, so
 * neighbouring indexes give unrelated streams; workers then add their own k to it). N = 1 keeps the
 * seed, so --shard 0/1 is the plain run. */
static uint64_t shard_seed(uint64_t seed, int index, int count)
{
    if (count <= 1)
        return seed;
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(index + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* This shard's share of plan p, in place (the split --workers uses between loops, one level up:
 * rate/N with constant arrivals offset by I/N of the period, independent Poisson streams,
 * concurrency and request limits dealt out with the remainder to the first shards). Returns 0
 * when the shard has nothing to send (synchronous, or a request limit smaller than N). */
static int shard_plan(const config *cfg, bench_plan *p)
{
    if (cfg->shard_count <= 1)
        return 1;
    bench_plan share;
    int active = workers_split(p, cfg, (size_t)cfg->shard_count, (size_t)cfg->shard_index, &share);
    /* A trace's prompts stay the run's: the same hash id is the same text in every shard. */
    if (p->schedule != CONFIG_SCHED_TRACE)
        share.seed = shard_seed(p->seed, cfg->shard_index, cfg->shard_count);
    *p = share;
    return active;
}

/* The result of a benchmark this shard has no share of: empty, so the shards' reports keep the
 * same list of benchmarks for the merge (loops = 0 marks it). 0 or LL_ENOMEM. */
static int idle_result(const bench_plan *p, bench_result *res)
{
    memset(res, 0, sizeof *res);
    res->plan = *p;
    if (hist_create(&res->itl) != 0 || hist_create(&res->itl_token) != 0 || hist_create(&res->loop_lag) != 0) {
        bench_result_free(res);
        return LL_ENOMEM;
    }
    res->t0_ns = res->sched_end_ns = res->end_ns = res->window_start_ns = res->window_end_ns = clock_now_ns();
    res->wall_start = clock_wall_s();
    return 0;
}

/* report.json's "shard": who this process was among the shards and how its start went. */
static int add_shard_json(cJSON *doc, const config *cfg, const bench_result *first, int wait_rc)
{
    cJSON *o = cJSON_AddObjectToObject(doc, "shard");
    if (!o || !cJSON_AddNumberToObject(o, "index", cfg->shard_index) ||
        !cJSON_AddNumberToObject(o, "count", cfg->shard_count) ||
        !cJSON_AddNumberToObject(o, "seed", (double)shard_seed(cfg->seed, cfg->shard_index, cfg->shard_count)))
        return LL_ENOMEM;
    if (cfg->start_at > 0) {
        /* How late after the common instant this shard's first benchmark began. */
        if (!cJSON_AddNumberToObject(o, "start_at", cfg->start_at) ||
            !cJSON_AddNumberToObject(o, "start_error_s", round((first->wall_start - cfg->start_at) * 1e6) / 1e6) ||
            !cJSON_AddBoolToObject(o, "start_at_passed", wait_rc == 1))
            return LL_ENOMEM;
    }
    return 0;
}

/* Goodput: of the completions request_throughput counts (inside the window), those within every
 * per-request SLO, per second; so goodput <= request_throughput always. */
/* Between benchmarks and while the outputs are written, SIGINT, SIGTERM and SIGHUP are held
 * pending (blocked in this, the only thread left) rather than caught by the runner's libuv
 * watchers, whose loops no longer run and would drop them: the files are finished first, then
 * the exit code says a signal came. Unblocked before the next benchmark, a held signal reaches
 * its loop and stops that benchmark as if it came during it. */
static void signals_hold(sigset_t *set)
{
    runsig_block(set);
}

/* The first held signal, taken off the pending set (so it never acts later), or 0. */
static int signals_take(const sigset_t *set)
{
    const struct timespec now = {0, 0};
    int first = 0, s;
    while ((s = sigtimedwait(set, NULL, &now)) > 0)
        if (!first)
            first = s;
    return first;
}

/* --server-metrics: the scraper over every URL given ("" is the target's /metrics), started so
 * that its first scrape is done before the first request. */
static int start_scraper(const config *cfg, scrape **out, char *err, size_t errlen)
{
    size_t n = 1 + cfg->n_server_metrics_extra;
    char **urls = calloc(n, sizeof *urls);
    int rc = urls ? 0 : LL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *u = i == 0 ? cfg->server_metrics : cfg->server_metrics_extra[i - 1];
        size_t len = *u ? strlen(u) + 1 : config_target_url(cfg->target, "/metrics", NULL, 0) + 1;
        if (!(urls[i] = malloc(len)))
            rc = LL_ENOMEM;
        else if (*u)
            memcpy(urls[i], u, len);
        else
            config_target_url(cfg->target, "/metrics", urls[i], len);
    }
    scrape_opts o = {.urls = (const char *const *)urls, .n_urls = n, .interval_s = cfg->server_metrics_interval_s,
                     .keep_regex = cfg->server_metrics_keep, .insecure = cfg->insecure, .ca_cert = cfg->ca_cert};
    if (rc == 0 && (rc = scrape_create(out, &o, err, errlen)) == 0 && (rc = scrape_start(*out, err, errlen)) != 0) {
        scrape_destroy(*out);
        *out = NULL;
    }
    if (rc == LL_ENOMEM)
        snprintf(err, errlen, "out of memory starting --server-metrics");
    for (size_t i = 0; urls && i < n; i++)
        free(urls[i]);
    free(urls);
    return rc;
}

static double p50_or_nan(const stats_summary *s)
{
    return s->n ? s->p50 : NAN;
}

/* Benchmark i's verdict over its measured window; the lightest benchmark so far (lowest
 * concurrency, the synchronous point of a sweep) is the base that "grows with the load" compares to. */
static void diagnose_bench(scrape *scr, const bench_result *res, const bench_summary *sums, size_t i,
                           diagnose_result *out, scrape_summary *all_out)
{
    const bench_result *r = &res[i];
    uint64_t w1 = r->window_end_ns < r->end_ns ? r->window_end_ns : r->end_ns;
    scrape_summary all;
    int have = scrape_summarize_all(scr, r->window_start_ns, w1, &all) == 0;
    if (!have) {
        memset(&all, 0, sizeof all);
        all.prefix_hit_rate = all.energy_per_token_j = NAN;
    }
    *all_out = all;
    size_t base = 0;
    for (size_t k = 1; k <= i; k++)
        if (sums[k].concurrency_mean < sums[base].concurrency_mean)
            base = k;
    diagnose_client cl = {
        .ttft_p50_ms = p50_or_nan(&sums[i].ttft), .ttft_p50_ms_base = p50_or_nan(&sums[base].ttft),
        .tpot_p50_ms = p50_or_nan(&sums[i].tpot), .tpot_p50_ms_base = p50_or_nan(&sums[base].tpot),
        .in_flight_mean = sums[i].concurrency_mean, .client_bound = sums[i].client_bound};
    diagnose(have ? &all : NULL, &cl, out);
}

/* The benchmark just below benchmark i in load (the highest client concurrency under its own)
 * among the first n, or n when none: a sweep runs its points out of order (synchronous,
 * throughput, then the middle), so "where the verdict changed" follows the load, not the run. */
static size_t load_below(const bench_summary *sums, size_t n, size_t i)
{
    size_t best = n;
    for (size_t k = 0; k < n; k++)
        if (sums[k].concurrency_mean < sums[i].concurrency_mean &&
            (best == n || sums[k].concurrency_mean > sums[best].concurrency_mean))
            best = k;
    return best;
}

/* benchmarks[i].server in the report: series over the whole benchmark, summary over its measured
 * window (the client's), t from the benchmark's start like the client's per-second series; the
 * diagnosis, with changed_from when the benchmark below it in load had another verdict. */
static int attach_server(scrape *scr, cJSON *doc, const bench_result *results, const bench_summary *sums,
                         const diagnose_result *diags, size_t n)
{
    cJSON *benches = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    for (size_t i = 0; i < n; i++) {
        cJSON *b = cJSON_GetArrayItem(benches, (int)i), *srv = NULL;
        const bench_result *r = &results[i];
        uint64_t w1 = r->window_end_ns < r->end_ns ? r->window_end_ns : r->end_ns;
        int rc = scrape_report_json(scr, r->t0_ns, r->end_ns, r->window_start_ns, w1, &srv);
        if (rc)
            return rc;
        cJSON *d = NULL;
        rc = diagnose_json(&diags[i], &d);
        if (rc == 0 && !cJSON_AddItemToObject(srv, "diagnosis", d)) {
            cJSON_Delete(d);
            rc = LL_ENOMEM;
        }
        size_t below = load_below(sums, n, i);
        if (rc == 0 && below < n && diags[i].verdict != diags[below].verdict &&
            !cJSON_AddStringToObject(d, "changed_from", diagnose_verdict_name(diags[below].verdict)))
            rc = LL_ENOMEM;
        if (rc) {
            cJSON_Delete(srv);
            return rc;
        }
        if (!b || !cJSON_AddItemToObject(b, "server", srv)) {
            cJSON_Delete(srv);
            return LL_ENOMEM;
        }
    }
    return 0;
}

static int any_completed(const bench_result *results, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < results[i].records.len; k++)
            if (results[i].records.items[k].status == RECORD_OK)
                return 1;
    return 0;
}

/* " (N started: kind=count ...)" for the no-completion line, so it says why in one line. */
static void errors_line(const bench_summary *sums, size_t n, char *out, size_t cap)
{
    uint64_t started = 0, kinds[RECORD_ERR_COUNT_] = {0}, incomplete = 0, cancelled = 0;
    for (size_t i = 0; i < n; i++) {
        started += sums[i].started;
        incomplete += sums[i].incomplete;
        cancelled += sums[i].cancelled;
        for (int k = 0; k < RECORD_ERR_COUNT_; k++)
            kinds[k] += sums[i].errors_by_kind[k];
    }
    size_t len = (size_t)snprintf(out, cap, " (%llu started", (unsigned long long)started);
    const char *sep = ": ";
    for (int k = 1; k < RECORD_ERR_COUNT_ && len < cap; k++) {
        if (!kinds[k])
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s=%llu", sep, record_error_kind_name(k),
                                (unsigned long long)kinds[k]);
        sep = " ";
    }
    if (incomplete && len < cap) {
        len += (size_t)snprintf(out + len, cap - len, "%sincomplete=%llu", sep, (unsigned long long)incomplete);
        sep = " ";
    }
    if (cancelled && len < cap)
        len += (size_t)snprintf(out + len, cap - len, "%scancelled=%llu", sep, (unsigned long long)cancelled);
    if (len < cap)
        snprintf(out + len, cap - len, ")");
}

/* Repeat k (from 0) of a plan: NAME#k+1, and its own seed, so each repeat draws its own prompts
 * and arrivals (what a rerun tomorrow would see), not a replay of the first. */
static void repeat_plan(bench_plan *p, size_t k)
{
    char base[sizeof p->name];
    memcpy(base, p->name, sizeof base);
    snprintf(p->name, sizeof p->name, "%.58s#%zu", base, k + 1);
    p->seed += k;
    if (p->deal_stride > 1) /* a dealt gamma process draws its own arrivals per repeat too */
        p->deal_seed += k;
}

/* Mean completed rate of the n runs from first (a sweep anchor's repeats). */
static double mean_throughput(const bench_summary *sums, size_t first, size_t n)
{
    double s = 0;
    for (size_t k = 0; k < n; k++)
        s += sums[first + k].request_throughput;
    return s / (double)n;
}

/* --schedule slo-search: the probe at x (req/s, or streams), named search@X; the rerun of a probe
 * within noise (longer) gets twice the limits, so twice the requests. */
static void search_plan(bench_plan *p, const config *cfg, double x, int longer)
{
    plan_init(p, cfg,
              cfg->search_concurrency ? CONFIG_SCHED_CONCURRENT
              : cfg->sweep_poisson    ? CONFIG_SCHED_POISSON
                                      : CONFIG_SCHED_CONSTANT,
              x);
    snprintf(p->name, sizeof p->name, x == floor(x) && x < 1e15 ? "search@%.0f%s" : "search@%.4g%s", x,
             longer ? "/long" : "");
    if (longer) {
        p->max_seconds *= 2;
        p->max_requests *= 2;
    }
}

/* Plans the search's next probe, if any, at plans[*n]. */
static void search_plan_next(search *s, const config *cfg, bench_plan *plans, int *active, size_t *n)
{
    double x;
    int longer;
    if (search_next(s, &x, &longer)) {
        search_plan(&plans[*n], cfg, x, longer);
        active[(*n)++] = 1; /* a search is never sharded (config_validate) */
    }
}

/* Judges a finished probe by the rules (its benchmark as report.json will show it, intervals
 * included), tells the search and says it on the console. 0 or LL_ENOMEM. */
static int search_judge(search *s, const gate *g, const config *cfg, const char *model, const bench_summary *sum,
                        const bench_result *res, double wall)
{
    cJSON *one = NULL;
    if (report_build(cfg, model, sum, res, 1, 0, wall, &one) != 0)
        return LL_ENOMEM;
    gate_verdict v;
    gate_judge(g, cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(one, "benchmarks"), 0), &v);
    cJSON_Delete(one);
    search_probe p = {.passed = v.passed, .indeterminate = v.indeterminate, .n_rules = v.n};
    memcpy(p.margin, v.margin, v.n * sizeof *v.margin);
    search_record(s, &p);
    if (!cfg->quiet) {
        fprintf(stderr, "slo-search: %s %s%s (", res->plan.name,
                v.indeterminate ? "is within noise, read as " : "", v.passed ? "passes" : "fails");
        for (size_t i = 0; i < v.n; i++)
            fprintf(stderr, "%s%s: %.4g%s", i ? ", " : "", gate_rule_text(g, i), v.value[i], v.noise[i] ? " [interval straddles]" : "");
        fprintf(stderr, ")\n");
    }
    return 0;
}

/* --trace: read once before anything is sent, so a bad trace is one line and no half-run; the
 * loops then share it (*out, caller frees with trace_destroy). Says when the time limit will cut it. */
static int trace_probe(const config *cfg, trace **out, char *err, size_t errlen)
{
    int rc = trace_load(out, cfg->trace, (trace_format)cfg->trace_format, err, errlen);
    if (rc != 0)
        return rc;
    const trace *t = *out;
    double span_s = (double)trace_span_ns(t) / 1e9 / cfg->trace_speed;
    if (!cfg->quiet) {
        fprintf(stderr, "trace %s: %zu requests (%s) over %.3f s at %gx", cfg->trace, trace_size(t),
                trace_format_name(trace_kind(t)), span_s, cfg->trace_speed);
        if (trace_sessions(t))
            fprintf(stderr, ", %u sessions", (unsigned)trace_sessions(t));
        if (cfg->max_seconds > 0 && span_s >= cfg->max_seconds)
            fprintf(stderr, "; --max-seconds %g ends it first (--max-seconds 0 replays it whole)", cfg->max_seconds);
        fputc('\n', stderr);
    }
    return 0;
}

/* live_server's read callback: runs on the server's thread. */
static void read_live(void *ud, live_snapshot *out)
{
    workers_live_read(ud, out);
}

int cmd_run(int argc, char **argv)
{
    config cfg;
    char err[ERRLEN] = "";
    int exit_code = EXIT_OK_;
    char *model = NULL;
    workers *ws = NULL;
    bench_plan *plans = NULL;
    int *active = NULL;
    bench_result *results = NULL;
    bench_summary *sums = NULL;
    size_t n_plans = 0, n_done = 0;
    cJSON *doc = NULL;
    gate *slo = NULL;
    live_server *live = NULL;
    calibrate_result cal;
    scrape *scr = NULL;
    diagnose_result *diags = NULL;
    search *srch = NULL;
    size_t search_first = 0; /* the first probe's benchmark index */
    trace *tr = NULL;
    dataset *shared_ds = NULL;

    memset(&cal, 0, sizeof cal);
    if (config_init(&cfg) != 0) {
        fprintf(stderr, "llmload run: out of memory\n");
        return EXIT_RUNTIME;
    }
    int rc = config_parse_run(&cfg, argc, argv, err, sizeof err);
    if (rc == 1)
        goto out;
    if (rc == 0)
        rc = config_validate(&cfg, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "llmload run: %s\n", err[0] ? err : ll_strerror(rc));
        exit_code = (rc == LL_ENOENT || rc == LL_EIO) ? EXIT_RUNTIME : EXIT_USAGE;
        goto out;
    }
    /* --stages run Poisson stages unless --schedule constant: the config (and report.json's copy
     * of it) says which. */
    if (cfg.stages && cfg.schedule != CONFIG_SCHED_CONSTANT)
        cfg.schedule = CONFIG_SCHED_POISSON;
    precision_target prec;
    if (cfg.target_precision && (rc = precision_parse(cfg.target_precision, &prec, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        exit_code = EXIT_USAGE;
        goto out;
    }
    if (cfg.slo && (rc = gate_parse(&slo, cfg.slo, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        exit_code = rc == LL_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
        goto out;
    }
    /* The data (a dataset file, or a synthetic spec) is checked before anything is sent, so a bad
     * file is one line and no half-run: exit 1 when it cannot be read, 2 when its content is wrong.
     * A dataset file is indexed once, here, and shared read-only by every benchmark's and worker's
     * source: a large file is read once, and before any start time is set. */
    rc = 0;
    if (cfg.data.path && (rc = dataset_load(&shared_ds, cfg.data.path, (long)cfg.data.output_tokens,
                                            cfg.data.max_records, err, sizeof err)) == 0)
        cfg.data.dataset = shared_ds;
    source *probe = NULL;
    if (rc != 0 || (rc = source_create(&probe, &cfg.data, cfg.seed, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        exit_code = rc == LL_ENOENT || rc == LL_EIO || rc == LL_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
        goto out;
    }
    source_destroy(probe);
    if (cfg.trace && (rc = trace_probe(&cfg, &tr, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        exit_code = rc == LL_ENOENT || rc == LL_EIO || rc == LL_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
        goto out;
    }
    cfg.trace_data = tr; /* every loop reads this one (NULL without --trace) */
    /* --out is made and tried before anything is sent: a directory that cannot be written would
     * otherwise cost the whole run at the end. Exit 1: the flag is well formed, the place is not. */
    if (cfg.out_dir && ((rc = make_dir(cfg.out_dir, err, sizeof err)) != 0 ||
                        (rc = outfile_probe(cfg.out_dir, err, sizeof err)) != 0)) {
        fprintf(stderr, "llmload run: %s%s\n", strncmp(err, "--out", 5) ? "--out: " : "", err);
        exit_code = rc == LL_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
        goto out;
    }
    /* The plans (and the open-file budget they need) come before any request: calibration
     * and discovery send some. */
    size_t cap = cfg.schedule == CONFIG_SCHED_SWEEP        ? (size_t)cfg.rates[0]
                 : cfg.schedule == CONFIG_SCHED_SLO_SEARCH ? 1 + (size_t)SEARCH_MAX_PROBES
                                                           : cfg.n_rates;
    if (cfg.stages && stages_parse(cfg.stages, NULL, 0, &cap, err, sizeof err) != 0)
        cap = 0; /* config_validate checked it: unreachable */
    if (cap < 2)
        cap = 2;
    /* --repeat: each plan runs R times in a row; results hold every run (plan i, repeat k at
     * i * R + k), named NAME#k+1 and seeded --seed + k. */
    size_t reps = cfg.repeat > 1 ? (size_t)cfg.repeat : 1;
    plans = calloc(cap, sizeof *plans);
    results = calloc(cap * reps, sizeof *results);
    sums = calloc(cap * reps, sizeof *sums);
    diags = calloc(cap * reps, sizeof *diags);
    if (!plans || !results || !sums || !diags) {
        fprintf(stderr, "llmload run: out of memory\n");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    n_plans = initial_plans(&cfg, plans, cap);
    active = calloc(cap, sizeof *active);
    if (!active) {
        fprintf(stderr, "llmload run: out of memory\n");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    for (size_t i = 0; i < n_plans; i++)
        active[i] = shard_plan(&cfg, &plans[i]);
    if (cfg.schedule == CONFIG_SCHED_SLO_SEARCH && cfg.search_concurrency) {
        search_opts so = {.start = 1, .lowest = 1, .highest = (double)cfg.max_concurrency,
                          .precision = cfg.search_precision, .integer = 1};
        if (search_create(&srch, &so) != 0) {
            fprintf(stderr, "llmload run: out of memory\n");
            exit_code = EXIT_RUNTIME;
            goto out;
        }
        search_plan_next(srch, &cfg, plans, active, &n_plans);
    }
    size_t slots = 1;
    for (size_t i = 0; i < n_plans; i++) {
        size_t s = bench_plan_slots(&plans[i], &cfg);
        if (s > slots)
            slots = s;
    }
    if ((cfg.schedule == CONFIG_SCHED_SWEEP || cfg.schedule == CONFIG_SCHED_SLO_SEARCH) &&
        (size_t)cfg.max_concurrency > slots)
        slots = (size_t)cfg.max_concurrency;
    if ((rc = check_fd_budget(slots, cfg.workers, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    if ((rc = discover_model(&cfg, &model, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    /* Before the first benchmark, so every benchmark's prompts are built the same way; the
     * probes it sends are not part of any benchmark. */
    if ((rc = calibrate_run(&cfg, model, &cal, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: calibration: %s\n", err);
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    if (cal.method != CALIBRATE_NONE)
        cfg.data.costs = &cal.costs;
    if (!cfg.quiet)
        prompt_check_calibration(stderr, &cal, &cfg);

    if ((rc = workers_create(&ws, &cfg, model, (size_t)cfg.workers, slots, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    if (cfg.metrics_listen) {
        if ((rc = live_server_start(&live, cfg.metrics_listen, model, read_live, ws, err, sizeof err)) != 0) {
            fprintf(stderr, "llmload run: %s\n", err);
            exit_code = rc == LL_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
            goto out;
        }
        fprintf(stderr, "metrics on %s\n", live_server_url(live));
    }
    if (cfg.server_metrics && (rc = start_scraper(&cfg, &scr, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        exit_code = rc == LL_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
        goto out;
    }
    char shown_target[512]; /* credentials in the URL never reach the console */
    config_redact_url(cfg.target, shown_target, sizeof shown_target);
    /* A model mix is shown as its models and shares ("a 70%, b 30%"), cut to fit the line. */
    char shown_model[256];
    snprintf(shown_model, sizeof shown_model, "%s", model);
    for (size_t i = 0, len = 0; cfg.n_models >= 2 && i < cfg.n_models && len < sizeof shown_model; i++)
        len += (size_t)snprintf(shown_model + len, sizeof shown_model - len, "%s%s %.0f%%", i ? ", " : "",
                                cfg.models[i], cfg.model_weights[i] * 100);
    if (!cfg.quiet)
        fprintf(stderr, "llmload %s: target %s, model%s %s, %s%zu benchmark%s\n", config_schedule_name(cfg.schedule),
                shown_target, cfg.n_models >= 2 ? "s" : "", shown_model, cfg.schedule == CONFIG_SCHED_SLO_SEARCH ? "up to " : "",
                (cfg.schedule == CONFIG_SCHED_SWEEP ? (size_t)cfg.rates[0] : cfg.schedule == CONFIG_SCHED_SLO_SEARCH ? cap : n_plans) * reps,
                n_plans * reps == 1 && cfg.schedule != CONFIG_SCHED_SWEEP && cfg.schedule != CONFIG_SCHED_SLO_SEARCH ? "" : "s");
    /* --start-at: every shard meets at one wall-clock instant; from here on only the monotonic
     * clock times anything. Late (an instant already past) starts now and is said and recorded. */
    int wait_rc = 0;
    sigset_t held;
    sigemptyset(&held);
    if (cfg.start_at > 0) {
        signals_hold(&held); /* before the line that says it waits (tests signal on seeing it) */
        double ahead = cfg.start_at - clock_wall_s();
        if (ahead <= 0)
            fprintf(stderr, "llmload run: --start-at %.3f passed %.3f s ago: starting now\n", cfg.start_at, -ahead);
        else if (!cfg.quiet)
            fprintf(stderr, "waiting %.3f s for --start-at %.3f (shard %d/%d)\n", ahead, cfg.start_at,
                    cfg.shard_index, cfg.shard_count);
        /* The stop signals are held while waiting and taken here: one before the instant ends the
         * run with nothing sent (there is nothing to report). The last 100 ms are one precise sleep
         * on the wall clock; a signal then stays held and stops the first benchmark at once. */
        int sig = 0;
        while (!sig && cfg.start_at - clock_wall_s() > 0.1) {
            double left = cfg.start_at - clock_wall_s() - 0.1;
            struct timespec ts = {0, (long)((left < 0.1 ? left : 0.1) * 1e9)};
            int s = sigtimedwait(&held, NULL, &ts);
            if (s > 0)
                sig = s;
        }
        if (sig) {
            fprintf(stderr, "llmload run: %s before --start-at: nothing was sent\n",
                    sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM");
            exit_code = 128 + sig;
            goto out;
        }
        wait_rc = clock_wait_wall(cfg.start_at);
    }
    double run_wall = clock_wall_s();
    for (size_t j = 0; j < n_plans * reps && !workers_interrupted(ws); j++) {
        size_t i = j / reps; /* the plan; j is the run (repeat j % reps of it) */
        bench_plan plan = plans[i];
        if (reps > 1)
            repeat_plan(&plan, j % reps);
        /* A scrape at each edge of the benchmark brackets its window (counters interpolate in
         * between); the scraper's own thread makes it, the loops are idle now. */
        scrape_now(scr);
        pthread_sigmask(SIG_UNBLOCK, &held, NULL);
        if (active[i])
            rc = workers_run(ws, &plan, &results[j], err, sizeof err);
        else if ((rc = idle_result(&plan, &results[j])) != 0)
            snprintf(err, sizeof err, "out of memory");
        signals_hold(&held);
        scrape_now(scr);
        if (rc != 0) {
            fprintf(stderr, "llmload run: %s: %s\n", plan.name, err);
            bench_result_free(&results[j]);
            exit_code = EXIT_RUNTIME;
            break;
        }
        n_done = j + 1;
        if ((rc = aggregate_bench(&results[j], &sums[j])) != 0) {
            fprintf(stderr, "llmload run: out of memory aggregating %s\n", plan.name);
            exit_code = EXIT_RUNTIME;
            break;
        }
        if (gate_has_request_rules(slo))
            gate_set_goodput(slo, &results[j], &sums[j]);
        if (scr) {
            scrape_summary all;
            diagnose_bench(scr, results, sums, j, &diags[j], &all);
            if (!cfg.quiet) {
                char line[384];
                diagnose_line(&diags[j], line, sizeof line);
                size_t k = strlen(line);
                /* Reported whenever the server exposes them (docs/server-metrics.md). */
                if (!isnan(all.prefix_hit_rate) && k < sizeof line)
                    k += (size_t)snprintf(line + k, sizeof line - k, ", prefix cache hits %.0f%%", 100 * all.prefix_hit_rate);
                if (!isnan(all.energy_per_token_j) && k < sizeof line)
                    k += (size_t)snprintf(line + k, sizeof line - k, ", %.3g J per output token", all.energy_per_token_j);
                if (all.scrapes_failed && k < sizeof line)
                    snprintf(line + k, sizeof line - k, ", %llu of %llu scrapes failed",
                             (unsigned long long)all.scrapes_failed, (unsigned long long)all.scrapes);
                size_t below = load_below(sums, j + 1, j);
                int changed = below <= j && diags[j].verdict != diags[below].verdict;
                fprintf(stderr, "server %s: %s%s%s\n", plan.name, line, changed ? "; below it in load: " : "",
                        changed ? diagnose_verdict_name(diags[below].verdict) : "");
            }
        }
        /* The search: a rate search starts from the throughput point's completed rate (and never
         * goes above it: the server completes no more); each probe's verdict picks the next. */
        if (cfg.schedule == CONFIG_SCHED_SLO_SEARCH) {
            if (!srch) {
                double start = sums[0].request_throughput;
                search_opts so = {.start = start, .lowest = start > 0 ? start / 64 : 1, .highest = start > 0 ? start : 1,
                                  .precision = cfg.search_precision};
                search_first = 1;
                if (search_create(&srch, &so) != 0) {
                    fprintf(stderr, "llmload run: out of memory\n");
                    exit_code = EXIT_RUNTIME;
                    break;
                }
            } else if (search_judge(srch, slo, &cfg, model, &sums[j], &results[j], run_wall) != 0) {
                fprintf(stderr, "llmload run: out of memory judging %s\n", plan.name);
                exit_code = EXIT_RUNTIME;
                break;
            }
            search_plan_next(srch, &cfg, plans, active, &n_plans);
        }
        /* A sweep's middle points are spread evenly between the two measured anchors. */
        if (cfg.schedule == CONFIG_SCHED_SWEEP && j == 2 * reps - 1) {
            size_t points = (size_t)cfg.rates[0];
            double lo = mean_throughput(sums, 0, reps), hi = mean_throughput(sums, reps, reps);
            if (hi < lo)
                hi = lo;
            for (size_t k = 1; k + 1 < points; k++)
                plan_init(&plans[n_plans++], &cfg, cfg.sweep_poisson ? CONFIG_SCHED_POISSON : CONFIG_SCHED_CONSTANT,
                          lo + (hi - lo) * (double)k / (double)(points - 1));
            for (size_t k = 2; k < n_plans; k++) {
                active[k] = 1; /* sweeps are never sharded (config_validate) */
                if (!(plans[k].rate > 0))
                    plans[k].rate = 0.001;
            }
        }
        if (rest_is_pointless(plans, n_plans, reps, j, n_plans * reps, &results[j])) {
            size_t left = n_plans * reps - j - 1;
            if (left > 0 && !cfg.quiet)
                fprintf(stderr, "%s stopped early (%s): the %zu benchmark%s left, at a load as high or higher, "
                                "%s skipped\n",
                        plan.name, bench_stop_name(bench_result_stop(&results[j])), left, left == 1 ? "" : "s",
                        left == 1 ? "is" : "are");
            break;
        }
    }
    /* The load is over: nothing more to serve live (the report and the push carry the rest). */
    live_server_stop(live);
    live = NULL;
    scrape_stop(scr);
    int partial = workers_interrupted(ws);
    if (n_done > 0) {
        cJSON *cal_json = NULL;
        /* The context limit, for the too-long and truncation warnings: asked only when needed. */
        long limit = cal.max_model_len;
        if (!limit && prompt_check_needs_limit(results, n_done))
            limit = calibrate_model_limit(&cfg, model);
        if ((rc = report_build(&cfg, model, sums, results, n_done, partial, run_wall, &doc)) != 0 ||
            (rc = calibrate_to_json(&cal, &cal_json)) != 0 || !cJSON_AddItemToObject(doc, "calibration", cal_json) ||
            (cal_json = NULL, prompt_check_annotate(doc, results, n_done, limit) != 0)) {
            cJSON_Delete(cal_json);
            fprintf(stderr, "llmload run: out of memory building the report\n");
            exit_code = EXIT_RUNTIME;
            goto out;
        }
        if (add_shard_json(doc, &cfg, &results[0], wait_rc) != 0) {
            fprintf(stderr, "llmload run: out of memory building the report\n");
            exit_code = EXIT_RUNTIME;
            goto out;
        }
        prompt_check_results(stderr, results, n_done, limit);
        if (cfg.target_precision && precision_annotate(&prec, doc) != 0) {
            fprintf(stderr, "llmload run: out of memory adding the target precision\n");
            exit_code = EXIT_RUNTIME;
            goto out;
        }
        if (reps > 1 && repeats_build(doc) != 0) {
            fprintf(stderr, "llmload run: out of memory summarising the repeats\n");
            exit_code = EXIT_RUNTIME;
            goto out;
        }
        if (scr && attach_server(scr, doc, results, sums, diags, n_done) != 0) {
            fprintf(stderr, "llmload run: out of memory adding the server metrics to the report\n");
            exit_code = EXIT_RUNTIME;
            goto out;
        }
        if (slo) {
            int broken = gate_evaluate(slo, doc);
            if (broken < 0) {
                fprintf(stderr, "llmload run: out of memory checking SLOs\n");
                exit_code = EXIT_RUNTIME;
                goto out;
            }
            /* A sweep is expected to break its SLOs past the knee: it fails the gate only when
             * even the synchronous benchmark, the best case, breaks one. */
            const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"), 0);
            int sync_broken = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(first, "slo"), "passed"));
            /* A search breaks them at its failing probes by design: it fails the gate only when
             * no probe met them (no rate does, or none was found). */
            search_outcome so = {.best = -1};
            if (srch)
                search_result(srch, &so);
            if (cfg.schedule == CONFIG_SCHED_SWEEP ? sync_broken
                : cfg.schedule == CONFIG_SCHED_SLO_SEARCH ? so.best < 0
                                                          : broken > 0)
                exit_code = EXIT_GATE;
            if ((srch && search_annotate(doc, srch, slo, search_first, cfg.search_concurrency, cfg.search_precision) != 0) ||
                (!srch && gate_sweep_capacity(slo, doc) != 0)) {
                fprintf(stderr, "llmload run: out of memory adding the capacity at the SLOs\n");
                exit_code = EXIT_RUNTIME;
                goto out;
            }
        }
        /* The knee of a sweep, by the one rule (knee.h) every view shares. */
        if (cfg.schedule == CONFIG_SCHED_SWEEP && knee_annotate(doc) != 0) {
            fprintf(stderr, "llmload run: out of memory adding the knee\n");
            exit_code = EXIT_RUNTIME;
            goto out;
        }
        /* --quiet keeps the table: it is the result (only progress and notes are dropped). */
        console_table(stdout, doc);
        /* Beside the table: the spread across runs, and whether each benchmark got its precision. */
        repeats_print(stdout, doc);
        if (cfg.target_precision && !cfg.quiet)
            precision_print(stderr, doc);
        if (cfg.out_dir) {
            if ((rc = write_outputs(&cfg, doc, results, n_done, err, sizeof err)) != 0) {
                fprintf(stderr, "llmload run: %s\n", err);
                exit_code = EXIT_RUNTIME;
            } else if (!cfg.quiet) {
                fprintf(stderr, "reports written to %s/ (report.json, summary.csv, report.html, metrics.prom, requests.csv%s)%s\n",
                        cfg.out_dir, report_has_breakdown(doc) ? ", breakdown.csv" : "", partial ? " [partial]" : "");
            }
        }
        /* Pushed whatever the verdict: a broken SLO or a signal's partial report is exactly what a
         * dashboard should see. A failed push is a runtime failure, as a failed write is. */
        if (cfg.pushgateway) {
            if ((rc = report_push(&cfg, doc, err, sizeof err)) != 0) {
                fprintf(stderr, "llmload run: %s\n", err);
                exit_code = EXIT_RUNTIME;
            } else if (!cfg.quiet) {
                fprintf(stderr, "pushed to the Pushgateway as job \"%s\"%s\n", cfg.job, partial ? " [partial]" : "");
            }
        }
    }
    /* Nothing completed: no latency and no throughput were measured, so the run failed whatever
     * the gate says (a gate never passes, or fails, on nothing; docs/gate.md). The reports are
     * written first: their errors say why. When every failure was a connect, the target was
     * unreachable for the run (design.md), though the preflight reached it (a name whose first
     * address refuses, a server gone since): the line says so. */
    if (n_done > 0 && !partial && (exit_code == EXIT_OK_ || exit_code == EXIT_GATE) && !any_completed(results, n_done)) {
        char why[160] = "";
        uint64_t connect_errors = 0, other = 0;
        for (size_t i = 0; i < n_done; i++) {
            connect_errors += sums[i].errors_by_kind[RECORD_ERR_CONNECT];
            other += sums[i].errored + sums[i].incomplete - sums[i].errors_by_kind[RECORD_ERR_CONNECT];
        }
        errors_line(sums, n_done, why, sizeof why);
        if (connect_errors > 0 && other == 0)
            fprintf(stderr, "llmload run: cannot reach target %s: all %" PRIu64 " requests failed to connect (%s); "
                            "no request completed%s\n",
                    shown_target, connect_errors, sums[0].n_first_errors ? sums[0].first_errors[0] : "", why);
        else
            fprintf(stderr, "llmload run: no request completed%s\n", why);
        exit_code = EXIT_RUNTIME;
    }
    /* The shell's convention for a run ended by a signal, after the reports are safe. */
    if (partial && exit_code == EXIT_OK_)
        exit_code = 128 + partial;
    int late = signals_take(&held);
    if (late) {
        fprintf(stderr, "llmload: %s received while the results were written: the files were finished first\n",
                late == SIGINT ? "SIGINT" : late == SIGHUP ? "SIGHUP" : "SIGTERM");
        if (exit_code == EXIT_OK_)
            exit_code = 128 + late;
    }
out:
    live_server_stop(live);
    scrape_destroy(scr);
    cJSON_Delete(doc);
    gate_destroy(slo);
    search_destroy(srch);
    for (size_t i = 0; i < n_done; i++) {
        bench_result_free(&results[i]);
        bench_summary_free(&sums[i]);
    }
    free(plans);
    free(active);
    free(results);
    free(sums);
    free(diags);
    workers_destroy(ws);
    trace_destroy(tr);
    dataset_destroy(shared_ds);
    free(model);
    config_free(&cfg);
    fflush(stdout);
    return exit_code;
}
