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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llmload/aggregate.h"
#include "llmload/bench.h"
#include "llmload/clock.h"
#include "llmload/cmd.h"
#include "llmload/config.h"
#include "llmload/console.h"
#include "llmload/discover.h"
#include "llmload/error.h"
#include "llmload/exitcode.h"
#include "llmload/gate.h"
#include "llmload/live_server.h"
#include "llmload/report.h"
#include "llmload/report_push.h"
#include "llmload/source.h"
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
    if (s == CONFIG_SCHED_SYNCHRONOUS || s == CONFIG_SCHED_THROUGHPUT)
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
    for (size_t i = 0; i < cfg->n_rates && n < cap; i++)
        plan_init(&plans[n++], cfg, cfg->schedule, cfg->rates[i]);
    return n;
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

typedef struct requests_csv_ctx {
    const bench_result *results;
    size_t n;
    uint64_t t0;
} requests_csv_ctx;

static int write_outputs(const config *cfg, const cJSON *doc, const bench_result *results, size_t n,
                         char *err, size_t errlen)
{
    int rc = make_dir(cfg->out_dir, err, errlen);
    if (rc)
        return rc;
    static const struct {
        const char *file;
        int (*writer)(const cJSON *, FILE *);
    } outputs[] = {
        {"report.json", report_write_json},
        {"summary.csv", report_write_summary_csv},
        {"report.html", report_write_html},
        {"metrics.prom", report_write_prometheus},
    };
    char path[4200];
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", cfg->out_dir, outputs[i].file);
        if ((rc = report_write_file(path, outputs[i].writer, doc, err, errlen)) != 0)
            return rc;
    }
    snprintf(path, sizeof path, "%s/requests.csv", cfg->out_dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return LL_EIO;
    }
    rc = report_write_requests_csv(results, n, n ? results[0].t0_ns : 0, f);
    if (fclose(f) != 0 || rc != 0) {
        snprintf(err, errlen, "%s: write failed", path);
        return LL_EIO;
    }
    return 0;
}

/* Options the contract names whose features are not built yet: refused with one line rather than
 * accepted and silently ignored. Each row goes when its feature lands. */
static const char *unavailable_option(const config *c)
{
    if (c->shard_count > 1)
        return "--shard";
    if (c->start_at > 0)
        return "--start-at";
    if (c->server_metrics)
        return "--server-metrics";
    return NULL;
}

/* Goodput: of the completions request_throughput counts (inside the window), those within every
 * per-request SLO, per second; so goodput <= request_throughput always. */
static void set_goodput(const gate *g, const bench_result *res, bench_summary *sum)
{
    uint64_t good = 0;
    for (size_t i = 0; i < res->records.len; i++) {
        const record *r = &res->records.items[i];
        good += aggregate_completed_in_window(sum, r) && gate_request_ok(g, r);
    }
    sum->goodput = sum->duration_s > 0 ? (double)good / sum->duration_s : 0;
    sum->has_goodput = 1;
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
    uint64_t started = 0, kinds[RECORD_ERR_COUNT_] = {0}, incomplete = 0;
    for (size_t i = 0; i < n; i++) {
        started += sums[i].started;
        incomplete += sums[i].incomplete;
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
    if (incomplete && len < cap)
        len += (size_t)snprintf(out + len, cap - len, "%sincomplete=%llu", sep, (unsigned long long)incomplete);
    if (len < cap)
        snprintf(out + len, cap - len, ")");
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
    bench_result *results = NULL;
    bench_summary *sums = NULL;
    size_t n_plans = 0, n_done = 0;
    cJSON *doc = NULL;
    gate *slo = NULL;
    live_server *live = NULL;

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
    if (cfg.slo && (rc = gate_parse(&slo, cfg.slo, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        exit_code = rc == LL_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
        goto out;
    }
    /* The data (a dataset file, or a synthetic spec) is checked before anything is sent, so a bad
     * file is one line and no half-run: exit 1 when it cannot be read, 2 when its content is wrong. */
    source *probe = NULL;
    if ((rc = source_create(&probe, &cfg.data, cfg.seed, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        exit_code = rc == LL_ENOENT || rc == LL_EIO || rc == LL_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
        goto out;
    }
    source_destroy(probe);
    const char *missing = unavailable_option(&cfg);
    if (missing) {
        fprintf(stderr, "llmload run: %s is not available in this version yet (see docs/configuration.md)\n", missing);
        exit_code = EXIT_USAGE;
        goto out;
    }
    if ((rc = discover_model(&cfg, &model, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload run: %s\n", err);
        exit_code = EXIT_RUNTIME;
        goto out;
    }

    size_t cap = cfg.schedule == CONFIG_SCHED_SWEEP ? (size_t)cfg.rates[0] : cfg.n_rates;
    if (cap < 2)
        cap = 2;
    plans = calloc(cap, sizeof *plans);
    results = calloc(cap, sizeof *results);
    sums = calloc(cap, sizeof *sums);
    if (!plans || !results || !sums) {
        fprintf(stderr, "llmload run: out of memory\n");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    n_plans = initial_plans(&cfg, plans, cap);
    size_t slots = 1;
    for (size_t i = 0; i < n_plans; i++) {
        size_t s = bench_plan_slots(&plans[i], &cfg);
        if (s > slots)
            slots = s;
    }
    if (cfg.schedule == CONFIG_SCHED_SWEEP && (size_t)cfg.max_concurrency > slots)
        slots = (size_t)cfg.max_concurrency;
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
    if (!cfg.quiet)
        fprintf(stderr, "llmload %s: target %s, model %s, %zu benchmark%s\n", config_schedule_name(cfg.schedule),
                cfg.target, model, cfg.schedule == CONFIG_SCHED_SWEEP ? (size_t)cfg.rates[0] : n_plans,
                n_plans == 1 && cfg.schedule != CONFIG_SCHED_SWEEP ? "" : "s");
    double run_wall = clock_wall_s();
    for (size_t i = 0; i < n_plans && !workers_interrupted(ws); i++) {
        if ((rc = workers_run(ws, &plans[i], &results[i], err, sizeof err)) != 0) {
            fprintf(stderr, "llmload run: %s: %s\n", plans[i].name, err);
            bench_result_free(&results[i]);
            exit_code = EXIT_RUNTIME;
            break;
        }
        n_done = i + 1;
        if ((rc = aggregate_bench(&results[i], &sums[i])) != 0) {
            fprintf(stderr, "llmload run: out of memory aggregating %s\n", plans[i].name);
            exit_code = EXIT_RUNTIME;
            break;
        }
        if (gate_has_request_rules(slo))
            set_goodput(slo, &results[i], &sums[i]);
        /* A sweep's middle points are spread evenly between the two measured anchors. */
        if (cfg.schedule == CONFIG_SCHED_SWEEP && i == 1) {
            size_t points = (size_t)cfg.rates[0];
            double lo = sums[0].request_throughput, hi = sums[1].request_throughput;
            if (hi < lo)
                hi = lo;
            for (size_t k = 1; k + 1 < points; k++)
                plan_init(&plans[n_plans++], &cfg, cfg.sweep_poisson ? CONFIG_SCHED_POISSON : CONFIG_SCHED_CONSTANT,
                          lo + (hi - lo) * (double)k / (double)(points - 1));
            for (size_t k = 2; k < n_plans; k++)
                if (!(plans[k].rate > 0))
                    plans[k].rate = 0.001;
        }
    }
    /* The load is over: nothing more to serve live (the report and the push carry the rest). */
    live_server_stop(live);
    live = NULL;
    int partial = workers_interrupted(ws);
    if (n_done > 0) {
        if ((rc = report_build(&cfg, model, sums, results, n_done, partial, run_wall, &doc)) != 0) {
            fprintf(stderr, "llmload run: out of memory building the report\n");
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
            if (cfg.schedule == CONFIG_SCHED_SWEEP ? sync_broken : broken > 0)
                exit_code = EXIT_GATE;
        }
        /* --quiet keeps the table: it is the result (only progress and notes are dropped). */
        console_table(stdout, doc);
        if (cfg.out_dir) {
            if ((rc = write_outputs(&cfg, doc, results, n_done, err, sizeof err)) != 0) {
                fprintf(stderr, "llmload run: %s\n", err);
                exit_code = EXIT_RUNTIME;
            } else if (!cfg.quiet) {
                fprintf(stderr, "reports written to %s/ (report.json, summary.csv, report.html, metrics.prom, requests.csv)%s\n",
                        cfg.out_dir, partial ? " [partial]" : "");
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
     * written first: their errors say why. */
    if (n_done > 0 && !partial && (exit_code == EXIT_OK_ || exit_code == EXIT_GATE) && !any_completed(results, n_done)) {
        char why[160] = "";
        errors_line(sums, n_done, why, sizeof why);
        fprintf(stderr, "llmload run: no request completed%s\n", why);
        exit_code = EXIT_RUNTIME;
    }
    /* The shell's convention for a run ended by a signal, after the reports are safe. */
    if (partial && exit_code == EXIT_OK_)
        exit_code = 128 + partial;
out:
    live_server_stop(live);
    cJSON_Delete(doc);
    gate_destroy(slo);
    for (size_t i = 0; i < n_done; i++) {
        bench_result_free(&results[i]);
        bench_summary_free(&sums[i]);
    }
    free(plans);
    free(results);
    free(sums);
    workers_destroy(ws);
    free(model);
    config_free(&cfg);
    fflush(stdout);
    return exit_code;
}
