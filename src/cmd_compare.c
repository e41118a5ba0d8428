/*
 * cmd_compare.c - `llmload compare BASELINE.json CANDIDATE.json [--tolerance 10%] [--metric NAME ...]
 * [--format table|md|csv|html|json]`: the regression gate (report -> gate -> exit code). Pairs
 * benchmarks by name (sweeps with other rate points by curve), prints each metric's change beside
 * both runs' confidence intervals, and exits 3 when any regressed beyond the tolerance and beyond
 * the intervals.
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
               "                       [--format table|md|csv|html|json] [--slo SPEC]\n"
               "  Compares two saved reports benchmark by benchmark (paired by name; open-loop sweep points\n"
               "  at other rates by curve, interpolated at common rates). A latency or the error rate worse\n"
               "  than baseline x (1 + tolerance), or a throughput below baseline x (1 - tolerance), is a\n"
               "  regression (exit 3) unless the two runs' 95%% intervals overlap (within noise).\n"
               "  --format html writes one self-contained page with the two runs' curves overlaid.\n"
               "  --slo SPEC (as run's) also compares each sweep's capacity: the highest offered rate\n"
               "  at which every rule holds, interpolated along its open-loop points.\n"
               "  --metric (repeatable or comma-separated) takes the names --slo uses (ttft_p95, itl_p99,\n"
               "  e2e_p50, request_throughput, error_rate...);\n"
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

/* " [lo, hi]" of a row's interval, or "" without one. */
static void fmt_ci(char *buf, size_t n, const cJSON *ci)
{
    if (cJSON_GetArraySize(ci) == 2)
        snprintf(buf, n, " [%.4g, %.4g]", cJSON_GetArrayItem(ci, 0)->valuedouble, cJSON_GetArrayItem(ci, 1)->valuedouble);
    else
        buf[0] = '\0';
}

static const char *row_verdict(const cJSON *row)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "verdict");
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* CSV for a notebook: one row per comparison, numbers bare, no interval -> empty cells. */
static void print_csv(FILE *f, const cJSON *res)
{
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "matching"), "method");
    const char *matching = cJSON_IsString(mt) ? mt->valuestring : "name";
    fputs("benchmark,metric,unit,baseline,baseline_ci_lo,baseline_ci_hi,candidate,candidate_ci_lo,candidate_ci_hi,"
          "change_pct,beyond_noise,verdict,regressed,matching\n", f);
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(res, "comparisons"))
    {
        const char *metric = cJSON_GetObjectItemCaseSensitive(row, "metric")->valuestring;
        fprintf(f, "%s,%s,%s", cJSON_GetObjectItemCaseSensitive(row, "benchmark")->valuestring, metric, unit_of(metric));
        static const char *const keys[] = {"baseline", "baseline_ci", "candidate", "candidate_ci"};
        for (size_t k = 0; k < 4; k++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(row, keys[k]);
            if (k % 2 == 0)
                cJSON_IsNumber(x) ? fprintf(f, ",%.17g", x->valuedouble) : fputs(",", f);
            else if (cJSON_GetArraySize(x) == 2)
                fprintf(f, ",%.17g,%.17g", cJSON_GetArrayItem(x, 0)->valuedouble, cJSON_GetArrayItem(x, 1)->valuedouble);
            else
                fputs(",,", f);
        }
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(row, "change");
        cJSON_IsNumber(ch) ? fprintf(f, ",%.6g", 100 * ch->valuedouble) : fputs(",", f);
        const cJSON *bn = cJSON_GetObjectItemCaseSensitive(row, "beyond_noise");
        fprintf(f, ",%s,%s,%s,%s\n", cJSON_IsBool(bn) ? (cJSON_IsTrue(bn) ? "true" : "false") : "", row_verdict(row),
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "regressed")) ? "true" : "false", matching);
    }
}

/* "capacity at the SLOs: baseline 12.3 req/s (limited by ttft_p95<=500ms), candidate ..." */
static void print_capacity(FILE *f, const cJSON *res)
{
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(res, "capacity");
    if (!cap)
        return;
    fputs("capacity at the SLOs (highest offered rate meeting them):", f);
    static const char *const sides[] = {"baseline", "candidate"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(cap, sides[i]);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(s, "rate"), *b = cJSON_GetObjectItemCaseSensitive(s, "bound"),
                    *l = cJSON_GetObjectItemCaseSensitive(s, "limited_by");
        const char *bound = cJSON_IsString(b) ? b->valuestring : "none";
        fprintf(f, "%s %s ", i ? ";" : "", sides[i]);
        if (!cJSON_IsNumber(r))
            fputs("n/a (fewer than two open-loop points)", f);
        else if (strcmp(bound, "below") == 0)
            fprintf(f, "below %.4g req/s (its lowest rate breaks %s)", r->valuedouble, cJSON_IsString(l) ? l->valuestring : "");
        else if (strcmp(bound, "above") == 0)
            fprintf(f, "above %.4g req/s (no point breaks them)", r->valuedouble);
        else
            fprintf(f, "%.4g req/s (limited by %s)", r->valuedouble, cJSON_IsString(l) ? l->valuestring : "");
    }
    fputs("\n", f);
}

/* "knee (...): baseline 9.32 req/s (constant@8.333); candidate ..." when gate_compare found one. */
static void print_knee(FILE *f, const cJSON *res)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(res, "knee");
    if (!k)
        return;
    fputs("knee (two-segment fit of log TTFT p50 against offered rate):", f);
    static const char *const sides[] = {"baseline", "candidate"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(k, sides[i]);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(s, "rate"), *b = cJSON_GetObjectItemCaseSensitive(s, "benchmark");
        const cJSON *rule = cJSON_GetObjectItemCaseSensitive(s, "rule");
        fprintf(f, "%s %s ", i ? ";" : "", sides[i]);
        if (cJSON_IsNumber(r))
            fprintf(f, "%.4g req/s (%s%s%s)", r->valuedouble, cJSON_IsString(b) ? b->valuestring : "",
                    cJSON_IsString(rule) && strcmp(rule->valuestring, "two-segment fit") ? ", by " : "",
                    cJSON_IsString(rule) && strcmp(rule->valuestring, "two-segment fit") ? rule->valuestring : "");
        else
            fputs("none in the measured range", f);
    }
    fputs("\n", f);
}

static void print_rows(FILE *f, const cJSON *res, int md)
{
    const cJSON *row;
    if (md)
        fputs("| benchmark | metric | baseline [95% CI] | candidate [95% CI] | change | verdict |\n"
              "|---|---|---:|---:|---:|---|\n", f);
    else
        fprintf(f, "%-18s %-32s %12s %12s %9s  %s\n", "benchmark", "metric", "baseline", "candidate", "change",
                "verdict (95% intervals)");
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
        char bci[64], cci[64];
        fmt_ci(bci, sizeof bci, cJSON_GetObjectItemCaseSensitive(row, "baseline_ci"));
        fmt_ci(cci, sizeof cci, cJSON_GetObjectItemCaseSensitive(row, "candidate_ci"));
        if (md)
            fprintf(f, "| %s | %s | %s%s | %s%s | %s | %s |\n", bench, metric, b, bci, c, cci, ch,
                    bad ? "**regressed**" : row_verdict(row));
        else
            fprintf(f, "%-18s %-32s %12s %12s %9s  %s\n", bench, metric, b, c, ch, bad ? "REGRESSED" : row_verdict(row));
    }
}

int cmd_compare(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tolerance", required_argument, NULL, 't'},
        {"metric", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},
        {"slo", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    double tol = 0.10;
    const char *metrics[COMPARE_MAX_METRICS];
    size_t n_metrics = 0;
    char metric_buf[1024] = "";
    size_t metric_used = 0;
    const char *format = "table";
    const char *slo_spec = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "t:m:f:s:h", opts, NULL)) != -1) {
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
        case 's':
            slo_spec = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK_;
        default:
            fprintf(stderr, "llmload compare: unknown or incomplete option '%s' (try --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (strcmp(format, "table") != 0 && strcmp(format, "md") != 0 && strcmp(format, "json") != 0 &&
        strcmp(format, "csv") != 0 && strcmp(format, "html") != 0) {
        fprintf(stderr, "llmload compare: --format: unknown format '%s' (table, md, csv, html or json)\n", format);
        return EXIT_USAGE;
    }
    if (optind != argc - 2) {
        fprintf(stderr, "llmload compare: expected BASELINE.json and CANDIDATE.json (try --help)\n");
        return EXIT_USAGE;
    }
    char err[512];
    cJSON *base = NULL, *cand = NULL, *res = NULL;
    gate *slo = NULL;
    int exit_code = EXIT_OK_;
    if (slo_spec && gate_parse(&slo, slo_spec, err, sizeof err) != 0) {
        fprintf(stderr, "llmload compare: %s\n", err);
        return EXIT_USAGE;
    }
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
    if (slo) {
        int capn = gate_compare_capacity(slo, base, cand, tol, res);
        if (capn < 0) {
            fprintf(stderr, "llmload compare: out of memory\n");
            exit_code = EXIT_RUNTIME;
            goto out;
        }
        n += capn;
    }
    if (strcmp(format, "json") == 0) {
        if (report_write_json(res, stdout) != 0)
            exit_code = EXIT_RUNTIME;
    } else if (strcmp(format, "csv") == 0) {
        print_csv(stdout, res);
    } else if (strcmp(format, "html") == 0) {
        if (report_write_compare_html(res, base, argv[optind], cand, argv[optind + 1], stdout) != 0) {
            fprintf(stderr, "llmload compare: out of memory writing the page\n");
            exit_code = EXIT_RUNTIME;
        }
    } else {
        int md = strcmp(format, "md") == 0;
        char how[256];
        gate_compare_matching(res, how, sizeof how);
        print_rows(stdout, res, md);
        printf("%s%s\n", md ? "\n" : "", how);
        print_capacity(stdout, res);
        print_knee(stdout, res);
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
    gate_destroy(slo);
    cJSON_Delete(base);
    cJSON_Delete(cand);
    cJSON_Delete(res);
    return exit_code;
}
