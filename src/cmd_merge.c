/*
 * cmd_merge.c - `llmload merge -o OUTDIR [--slo SPEC] SHARD_DIR_OR_REPORT...`: reads the shards
 * (merge.h), checks they are one run's parts, rebuilds each benchmark as one process would have
 * held it, then aggregates, reports and gates it with the run's own code. Exit codes: 0, 1 (a
 * shard unreadable, a write failed), 2 (bad usage, or shards that are not one run's parts),
 * 3 (the SLO gate broke on the merged figures).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "llmload/aggregate.h"
#include "llmload/cmd.h"
#include "llmload/config.h"
#include "llmload/console.h"
#include "llmload/error.h"
#include "llmload/exitcode.h"
#include "llmload/gate.h"
#include "llmload/merge.h"
#include "llmload/outfile.h"
#include "llmload/report.h"
#include "llmload/report_push.h"

#define ERRLEN 512
/* The merged timeline's origin (any value far from 0, which means "never" in a record). */
#define MERGE_BASE_NS (1000ULL * 1000000000ULL)

static void usage(FILE *f)
{
    fprintf(f, "usage: llmload merge -o OUTDIR [--slo SPEC] [--pushgateway URL [--job NAME]] [--quiet]\n"
               "                     SHARD_DIR_OR_REPORT...\n\n"
               "  Combines the results of `llmload run --shard I/N` (each shard's --out directory, or its\n"
               "  report.json with requests.csv beside it) into one report.json, summary.csv, requests.csv\n"
               "  (with a shard column), report.html and metrics.prom in OUTDIR, as one process would have\n"
               "  measured: percentiles from every request, histograms added, throughput over the union of\n"
               "  the shards' windows. --slo (default: the shards' own) is checked on the merged figures:\n"
               "  exit 3 when broken. Shards of different configs or builds are refused (exit 2).\n"
               "  --pushgateway pushes the merged metrics.prom as `run` does (group job=NAME, default\n"
               "  llmload), whatever the verdict; a failed push is exit 1.\n"
               "  See docs/merge.md.\n");
}

static int shard_cmp(const void *a, const void *b)
{
    const merge_shard *x = *(merge_shard *const *)a, *y = *(merge_shard *const *)b;
    return (x->index > y->index) - (x->index < y->index);
}

static int make_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "-o %s: cannot create: %s", dir, strerror(errno));
        return LL_EIO;
    }
    return 0;
}

/* requests.csv of the merged run: the records as a run writes them, then each row's shard (the
 * merged ids are id * N + shard, merge_results). */
static int write_requests(const bench_result *res, size_t n, size_t shards, FILE *f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return LL_ENOMEM;
    int rc = report_write_requests_csv(res, n, n ? res[0].t0_ns : 0, m);
    if (fclose(m) != 0 && rc == 0)
        rc = LL_ENOMEM;
    if (rc) {
        free(buf);
        return rc;
    }
    char *p = buf, *nl;
    size_t bi = 0, ri = 0;
    int header = 1;
    while ((nl = memchr(p, '\n', len - (size_t)(p - buf))) != NULL) {
        fwrite(p, 1, (size_t)(nl - p), f);
        if (header) {
            fputs(",shard\n", f);
            header = 0;
        } else {
            while (bi < n && ri >= res[bi].records.len) {
                bi++;
                ri = 0;
            }
            fprintf(f, ",%llu\n", bi < n ? (unsigned long long)(res[bi].records.items[ri++].id % shards) : 0ULL);
        }
        p = nl + 1;
    }
    free(buf);
    return ferror(f) ? LL_EIO : 0;
}

static int write_outputs(const char *dir, const cJSON *doc, const bench_result *res, size_t n, size_t shards,
                         char *err, size_t errlen)
{
    static const struct {
        const char *file;
        int (*writer)(const cJSON *, FILE *);
        int (*wanted)(const cJSON *); /* NULL: always written */
    } outputs[] = {
        {"report.json", report_write_json, NULL},         {"summary.csv", report_write_summary_csv, NULL},
        {"report.html", report_write_html, NULL},         {"metrics.prom", report_write_prometheus, NULL},
        {"requests.csv", NULL, NULL},                     {"breakdown.csv", report_write_breakdown_csv, report_has_breakdown},
    };
    int rc = make_dir(dir, err, errlen);
    outfile_set *set = NULL;
    if (rc == 0)
        rc = outfile_create(&set, dir, err, errlen);
    for (size_t i = 0; rc == 0 && i < sizeof outputs / sizeof outputs[0]; i++) {
        FILE *f;
        if (outputs[i].wanted && !outputs[i].wanted(doc))
            continue;
        if ((rc = outfile_begin(set, outputs[i].file, &f, err, errlen)) != 0)
            break;
        int wrc = outputs[i].writer ? outputs[i].writer(doc, f) : write_requests(res, n, shards, f);
        rc = outfile_end(set, wrc, err, errlen);
    }
    if (rc == 0)
        rc = outfile_commit(set, err, errlen);
    outfile_destroy(set);
    return rc;
}

/* The earliest wall-clock start of benchmark b among the shards that sent anything in it. */
static double bench_wall(merge_shard *const *sh, size_t n, size_t b)
{
    double w = sh[0]->wall_starts[b];
    int any = 0;
    for (size_t k = 0; k < n; k++)
        if (sh[k]->results[b].loops > 0 && (!any || sh[k]->wall_starts[b] < w)) {
            w = sh[k]->wall_starts[b];
            any = 1;
        }
    return w;
}

/* report.json's "merge": where each part came from and how its start went. */
static int add_merge_json(cJSON *doc, merge_shard *const *sh, size_t n)
{
    cJSON *m = cJSON_AddObjectToObject(doc, "merge"), *arr;
    if (!m || !cJSON_AddNumberToObject(m, "count", (double)n) || !(arr = cJSON_AddArrayToObject(m, "shards")))
        return LL_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return LL_ENOMEM;
        }
        const cJSON *env = cJSON_GetObjectItemCaseSensitive(sh[k]->doc, "environment");
        const cJSON *host = cJSON_GetObjectItemCaseSensitive(env, "host");
        const cJSON *shard = cJSON_GetObjectItemCaseSensitive(sh[k]->doc, "shard");
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(shard, "start_error_s");
        if (!cJSON_AddNumberToObject(o, "index", sh[k]->index) || !cJSON_AddStringToObject(o, "source", sh[k]->source) ||
            !cJSON_AddStringToObject(o, "host", cJSON_IsString(host) ? host->valuestring : "") ||
            !cJSON_AddNumberToObject(o, "start_time", n && sh[k]->n ? sh[k]->wall_starts[0] : 0) ||
            (cJSON_IsNumber(err) && !cJSON_AddNumberToObject(o, "start_error_s", err->valuedouble)))
            return LL_ENOMEM;
    }
    return 0;
}

int cmd_merge(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"slo", required_argument, NULL, 's'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"pushgateway", required_argument, NULL, 'p'},
                                         {"job", required_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out_dir = NULL, *slo_spec = NULL, *push_url = NULL, *job = "llmload";
    int quiet = 0, c, exit_code = EXIT_OK_, rc;
    char err[ERRLEN] = "";
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:qhp:j:", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out_dir = optarg;
            break;
        case 's':
            slo_spec = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'p':
            push_url = optarg;
            break;
        case 'j':
            job = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK_;
        default:
            fprintf(stderr, "llmload merge: unknown or incomplete option '%s' (try --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (push_url && strncasecmp(push_url, "http://", 7) != 0 && strncasecmp(push_url, "https://", 8) != 0) {
        fprintf(stderr, "llmload merge: --pushgateway: \"%.200s\" is not an http:// or https:// URL\n", push_url);
        return EXIT_USAGE;
    }
    if (!*job) {
        fprintf(stderr, "llmload merge: --job: the name is empty\n");
        return EXIT_USAGE;
    }
    if (!out_dir || optind >= argc) {
        fprintf(stderr, "llmload merge: %s (try --help)\n", !out_dir ? "-o OUTDIR is required" : "no shard given");
        return EXIT_USAGE;
    }
    size_t n = (size_t)(argc - optind), nb = 0, done = 0;
    merge_shard **sh = calloc(n, sizeof *sh);
    bench_result *res = NULL;
    bench_summary *sums = NULL;
    bench_result *parts = NULL;
    double *walls = NULL;
    cJSON *doc = NULL;
    gate *slo = NULL;
    config cfg;
    memset(&cfg, 0, sizeof cfg); /* config_free is safe on it */
    if (!sh) {
        fprintf(stderr, "llmload merge: out of memory\n");
        return EXIT_RUNTIME;
    }
    for (size_t k = 0; k < n; k++)
        if ((rc = merge_shard_load(argv[optind + (int)k], &sh[k], err, sizeof err)) != 0) {
            fprintf(stderr, "llmload merge: %s\n", err);
            exit_code = rc == LL_EPARSE ? EXIT_USAGE : EXIT_RUNTIME;
            goto out;
        }
    qsort(sh, n, sizeof *sh, shard_cmp);
    if ((rc = merge_check(sh, n, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload merge: %s\n", err);
        exit_code = EXIT_USAGE;
        goto out;
    }
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(sh[0]->doc, "config");
    if (!slo_spec) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(conf, "slo");
        slo_spec = cJSON_IsString(s) && s->valuestring[0] ? s->valuestring : NULL;
    }
    if (slo_spec && (rc = gate_parse(&slo, slo_spec, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload merge: --slo: %s\n", err);
        exit_code = rc == LL_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
        goto out;
    }
    nb = sh[0]->n;
    res = calloc(nb ? nb : 1, sizeof *res);
    sums = calloc(nb ? nb : 1, sizeof *sums);
    parts = calloc(n, sizeof *parts);
    walls = calloc(n, sizeof *walls);
    if (!res || !sums || !parts || !walls || config_init(&cfg) != 0) {
        fprintf(stderr, "llmload merge: out of memory\n");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    cfg.continuous_usage = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(conf, "continuous_usage"));
    double wall0 = nb ? bench_wall(sh, n, 0) : 0;
    int partial = 0;
    for (size_t b = 0; b < nb; b++) {
        for (size_t k = 0; k < n; k++) {
            parts[k] = sh[k]->results[b];
            walls[k] = sh[k]->wall_starts[b];
        }
        /* Benchmarks keep their places on one timeline, so requests.csv's seconds run on. */
        double wb = bench_wall(sh, n, b);
        long long us = llround(wb * 1e6) - llround(wall0 * 1e6); /* whole microseconds, as merge_results */
        uint64_t base = MERGE_BASE_NS + (uint64_t)(us > 0 ? us : 0) * 1000;
        if (merge_results(parts, walls, n, base, &res[b]) != 0) {
            done = b + 1;
            fprintf(stderr, "llmload merge: out of memory\n");
            exit_code = EXIT_RUNTIME;
            goto out;
        }
        done = b + 1;
        /* The plan one process would have run: the shards' shares added back up. */
        bench_plan *p = &res[b].plan;
        int open = p->schedule == CONFIG_SCHED_CONSTANT || p->schedule == CONFIG_SCHED_POISSON;
        p->rate = open ? 0 : p->rate;
        p->max_requests = 0;
        for (size_t k = 0; k < n; k++) {
            if (open)
                p->rate += sh[k]->results[b].plan.rate;
            p->max_requests += sh[k]->results[b].plan.max_requests;
        }
        partial |= res[b].interrupted;
        if ((rc = aggregate_bench(&res[b], &sums[b])) != 0) {
            fprintf(stderr, "llmload merge: out of memory\n");
            exit_code = EXIT_RUNTIME;
            goto out;
        }
        if (gate_has_request_rules(slo))
            gate_set_goodput(slo, &res[b], &sums[b]);
    }
    for (size_t k = 0; k < n; k++)
        partial |= cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sh[k]->doc, "partial"));
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(conf, "model");
    cJSON *conf_copy = cJSON_Duplicate(conf, 1), *env_copy = NULL;
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(sh[0]->doc, "environment");
    if (!conf_copy ||
        report_build(&cfg, cJSON_IsString(model) ? model->valuestring : "", sums, res, nb, partial, wall0, &doc) != 0 ||
        (env && !(env_copy = cJSON_Duplicate(env, 1)))) {
        cJSON_Delete(conf_copy);
        fprintf(stderr, "llmload merge: out of memory building the report\n");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    /* The shards' own config (the run's, not this process's defaults), and shard 0's environment
     * with the merged start. */
    cJSON_DeleteItemFromObject(conf_copy, "shard_index");
    cJSON_ReplaceItemInObject(doc, "config", conf_copy);
    if (env_copy) {
        cJSON_ReplaceItemInObject(env_copy, "start_time", cJSON_CreateNumber(wall0));
        cJSON_ReplaceItemInObject(doc, "environment", env_copy);
    }
    if (add_merge_json(doc, sh, n) != 0) {
        fprintf(stderr, "llmload merge: out of memory building the report\n");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    if (slo) {
        int broken = gate_evaluate(slo, doc);
        if (broken < 0) {
            fprintf(stderr, "llmload merge: out of memory checking SLOs\n");
            exit_code = EXIT_RUNTIME;
            goto out;
        }
        if (broken > 0)
            exit_code = EXIT_GATE;
    }
    if (!quiet)
        console_table(stdout, doc);
    if ((rc = write_outputs(out_dir, doc, res, nb, n, err, sizeof err)) != 0) {
        fprintf(stderr, "llmload merge: %s; no report was written\n", err);
        exit_code = EXIT_RUNTIME;
    } else if (!quiet) {
        fprintf(stderr, "merged %zu shard%s into %s/ (report.json, summary.csv, report.html, metrics.prom, requests.csv)\n",
                n, n == 1 ? "" : "s", out_dir);
    }
    /* As `run` does: pushed whatever the verdict, and a failed push is a runtime failure. */
    if (push_url) {
        free(cfg.pushgateway);
        free(cfg.job);
        cfg.pushgateway = strdup(push_url);
        cfg.job = strdup(job);
        for (size_t k = cfg.pushgateway ? strlen(cfg.pushgateway) : 0; k > 8 && cfg.pushgateway[k - 1] == '/'; k--)
            cfg.pushgateway[k - 1] = '\0'; /* as `run` takes it: no trailing '/' */
        if (!cfg.pushgateway || !cfg.job) {
            fprintf(stderr, "llmload merge: out of memory\n");
            exit_code = EXIT_RUNTIME;
        } else if ((rc = report_push(&cfg, doc, err, sizeof err)) != 0) {
            fprintf(stderr, "llmload merge: %s\n", err);
            exit_code = EXIT_RUNTIME;
        } else if (!quiet) {
            fprintf(stderr, "pushed to the Pushgateway as job \"%s\"\n", cfg.job);
        }
    }
out:
    cJSON_Delete(doc);
    gate_destroy(slo);
    for (size_t b = 0; b < done; b++) {
        bench_result_free(&res[b]);
        bench_summary_free(&sums[b]);
    }
    free(res);
    free(sums);
    free(parts);
    free(walls);
    for (size_t k = 0; k < n; k++)
        merge_shard_free(sh[k]);
    free(sh);
    config_free(&cfg);
    fflush(stdout);
    return exit_code;
}
