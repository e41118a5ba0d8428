/*
 * cmd_compare.c - `llmload compare BASELINE.json CANDIDATE.json [--tolerance 10%] [--metric NAME ...]
 * [--format table|md|json]`: the regression gate (report -> gate -> exit code). Pairs benchmarks by
 * name, prints each metric's change, and exits 3 when any regressed beyond the tolerance.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/cmd.h"
#include "llmload/error.h"
#include "llmload/exitcode.h"
#include "llmload/gate.h"
#include "llmload/report.h"

#define COMPARE_MAX_METRICS 32

static void usage(FILE *f)
{
    fprintf(f, "usage: llmload compare BASELINE.json CANDIDATE.json [--tolerance 10%%] [--metric NAME ...]\n"
               "                       [--format table|md|json]\n"
               "  Compares two saved reports benchmark by benchmark (paired by name). A latency or the\n"
               "  error rate worse than baseline x (1 + tolerance), or a throughput below baseline x\n"
               "  (1 - tolerance), is a regression: exit 3. --metric (repeatable or comma-separated) takes\n"
               "  the names --slo uses (ttft_p95, itl_p99, e2e_p50, request_throughput, error_rate...);\n"
               "  default: ttft p50/p95, itl p50/p95, tpot p50, e2e p95, both throughputs, error_rate.\n");
}

/* "10%", "10 %" or "0.1". */
static int parse_tolerance(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    if (*end == '%') {
        v /= 100;
        end++;
    }
    if (*end != '\0' || v >= 1)
        return -1;
    *out = v;
    return 0;
}

static void fmt_value(char *buf, size_t n, const cJSON *v)
{
    if (cJSON_IsNumber(v))
        snprintf(buf, n, "%.4g", v->valuedouble);
    else
        snprintf(buf, n, "n/a");
}

/* The unit a metric's values are in, as the report keeps them. */
static const char *unit_of(const char *metric)
{
    if (strstr(metric, "token_throughput"))
        return "tok/s";
    if (strstr(metric, "throughput") || strcmp(metric, "goodput") == 0 || strcmp(metric, "achieved_rate") == 0)
        return "req/s";
    if (strcmp(metric, "error_rate") == 0)
        return "ratio";
    return "ms";
}

static void print_rows(FILE *f, const cJSON *res, int md)
{
    const cJSON *row;
    if (md)
        fputs("| benchmark | metric | baseline | candidate | change | |\n|---|---|---:|---:|---:|---|\n", f);
    else
        fprintf(f, "%-18s %-32s %12s %12s %9s\n", "benchmark", "metric", "baseline", "candidate", "change");
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(res, "comparisons"))
    {
        char b[32], c[32], ch[32];
        fmt_value(b, sizeof b, cJSON_GetObjectItemCaseSensitive(row, "baseline"));
        fmt_value(c, sizeof c, cJSON_GetObjectItemCaseSensitive(row, "candidate"));
        const cJSON *change = cJSON_GetObjectItemCaseSensitive(row, "change");
        if (cJSON_IsNumber(change))
            snprintf(ch, sizeof ch, "%+.1f%%", 100 * change->valuedouble);
        else
            snprintf(ch, sizeof ch, "n/a");
        int bad = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "regressed"));
        const char *bench = cJSON_GetObjectItemCaseSensitive(row, "benchmark")->valuestring;
        char metric[64];
        snprintf(metric, sizeof metric, "%s (%s)", cJSON_GetObjectItemCaseSensitive(row, "metric")->valuestring,
                 unit_of(cJSON_GetObjectItemCaseSensitive(row, "metric")->valuestring));
        if (md)
            fprintf(f, "| %s | %s | %s | %s | %s | %s |\n", bench, metric, b, c, ch, bad ? "**regressed**" : "");
        else
            fprintf(f, "%-18s %-32s %12s %12s %9s%s\n", bench, metric, b, c, ch, bad ? "  REGRESSED" : "");
    }
}

int cmd_compare(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tolerance", required_argument, NULL, 't'},
        {"metric", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    double tol = 0.10;
    const char *metrics[COMPARE_MAX_METRICS];
    size_t n_metrics = 0;
    char metric_buf[1024] = "";
    size_t metric_used = 0;
    const char *format = "table";
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "t:m:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (parse_tolerance(optarg, &tol) != 0) {
                fprintf(stderr, "llmload compare: --tolerance: '%s' is not a fraction or percentage below 100%%\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case 'm': {
            /* Comma lists split in a local copy; names stay valid for the whole call. */
            size_t len = strlen(optarg);
            if (metric_used + len + 1 > sizeof metric_buf) {
                fprintf(stderr, "llmload compare: --metric: too many metric names\n");
                return EXIT_USAGE;
            }
            char *copy = metric_buf + metric_used;
            memcpy(copy, optarg, len + 1);
            metric_used += len + 1;
            for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
                if (n_metrics == COMPARE_MAX_METRICS) {
                    fprintf(stderr, "llmload compare: --metric: at most %d metrics\n", COMPARE_MAX_METRICS);
                    return EXIT_USAGE;
                }
                metrics[n_metrics++] = tok;
            }
            break;
        }
        case 'f':
            format = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK_;
        default:
            fprintf(stderr, "llmload compare: unknown or incomplete option '%s' (try --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (strcmp(format, "table") != 0 && strcmp(format, "md") != 0 && strcmp(format, "json") != 0) {
        fprintf(stderr, "llmload compare: --format: unknown format '%s' (table, md or json)\n", format);
        return EXIT_USAGE;
    }
    if (optind != argc - 2) {
        fprintf(stderr, "llmload compare: expected BASELINE.json and CANDIDATE.json (try --help)\n");
        return EXIT_USAGE;
    }
    char err[512];
    cJSON *base = NULL, *cand = NULL, *res = NULL;
    int exit_code = EXIT_OK_;
    if (report_load(argv[optind], &base, err, sizeof err) != 0 ||
        report_load(argv[optind + 1], &cand, err, sizeof err) != 0) {
        fprintf(stderr, "llmload compare: %s\n", err);
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    int n = gate_compare(base, cand, tol, metrics, n_metrics, &res, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "llmload compare: %s\n", err);
        exit_code = n == LL_EUSAGE ? EXIT_USAGE : EXIT_RUNTIME;
        goto out;
    }
    if (strcmp(format, "json") == 0) {
        if (report_write_json(res, stdout) != 0)
            exit_code = EXIT_RUNTIME;
    } else {
        int md = strcmp(format, "md") == 0;
        print_rows(stdout, res, md);
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(res, "missing"))
            printf("%s: only in the baseline, not compared\n", m->valuestring);
        const char *em = md ? "**" : "";
        if (n)
            printf("%s%s%d regression%s beyond %.4g%% tolerance%s\n", md ? "\n" : "", em, n, n == 1 ? "" : "s",
                   100 * tol, em);
        else
            printf("%s%sno regression beyond %.4g%% tolerance%s\n", md ? "\n" : "", em, 100 * tol, em);
    }
    if (n > 0 && exit_code == EXIT_OK_)
        exit_code = EXIT_GATE;
out:
    cJSON_Delete(base);
    cJSON_Delete(cand);
    cJSON_Delete(res);
    return exit_code;
}
