/*
 * gate.c - SLO rules: parsing `--slo`, per-request checks for goodput, and the verdict written
 * into each benchmark of the report (report -> gate -> exit code). Units are normalised at parse
 * time to the report's: milliseconds for latencies, a fraction for error_rate, plain numbers for
 * throughputs.
 */
#include "llmload/gate.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/curve.h"
#include "llmload/error.h"
#include "llmload/knee.h"

typedef enum gate_op { GATE_LE, GATE_LT, GATE_GE, GATE_GT } gate_op;

/* A metric by its --slo / --metric name ("ttft_p95", "error_rate"), resolved to where the report
 * keeps it. */
typedef struct gate_metric {
    char metric[32];    /* report key: "ttft_ms", "error_rate", "request_throughput" */
    char stat[8];       /* "p95", "mean"...; "" for a scalar */
    int scope;          /* where the value lives: metrics object, requests object, benchmark */
    int per_request;    /* a latency a single request has (ttft, tpot, e2e...) */
    int is_latency, is_rate;
    int higher_is_better; /* throughputs */
} gate_metric;

typedef struct gate_rule {
    char text[80];      /* as written, for reports */
    gate_metric m;
    gate_op op;
    double threshold;
} gate_rule;

enum { SCOPE_METRICS, SCOPE_REQUESTS, SCOPE_BENCH };

struct gate {
    gate_rule rules[GATE_MAX_RULES];
    size_t n;
};

static const struct {
    const char *name;
    const char *key;
    int per_request;
} latencies[] = {
    {"ttft", "ttft_ms", 1}, {"ttfot", "ttfot_ms", 1}, {"ttfb", "ttfb_ms", 1}, {"tpot", "tpot_ms", 1},
    {"e2e", "e2e_ms", 1}, {"itl", "itl_ms", 1}, {"itl_token", "itl_token_ms", 0},
    {"schedule_lag", "schedule_lag_ms", 0},
};

static const struct {
    const char *name;
    int scope;
    int is_rate; /* takes % (a fraction in the report) */
} scalars[] = {
    {"error_rate", SCOPE_REQUESTS, 1},          {"request_throughput", SCOPE_METRICS, 0},
    {"output_token_throughput", SCOPE_METRICS, 0}, {"total_token_throughput", SCOPE_METRICS, 0},
    {"goodput", SCOPE_METRICS, 0},              {"achieved_rate", SCOPE_BENCH, 0},
};

static const char *const stats[] = {"mean", "min", "p50", "p90", "p95", "p99", "p999", "max"};

/* Fills m for a metric name; 0, or -1 when the name is unknown. */
static int resolve_metric(const char *name, gate_metric *m)
{
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++)
        if (strcmp(name, scalars[i].name) == 0) {
            snprintf(m->metric, sizeof m->metric, "%s", scalars[i].name);
            m->scope = scalars[i].scope;
            m->is_rate = scalars[i].is_rate;
            m->higher_is_better = !scalars[i].is_rate;
            return 0;
        }
    const char *us = strrchr(name, '_');
    for (size_t s = 0; us && s < sizeof stats / sizeof *stats; s++)
        if (strcmp(us + 1, stats[s]) == 0)
            snprintf(m->stat, sizeof m->stat, "%s", stats[s]);
    for (size_t i = 0; m->stat[0] && i < sizeof latencies / sizeof *latencies; i++)
        if (strlen(latencies[i].name) == (size_t)(us - name) && strncmp(name, latencies[i].name, (size_t)(us - name)) == 0) {
            snprintf(m->metric, sizeof m->metric, "%s", latencies[i].key);
            m->per_request = latencies[i].per_request;
            m->scope = SCOPE_METRICS;
            m->is_latency = 1;
            return 0;
        }
    return -1;
}

static int parse_rule(gate_rule *r, const char *text, size_t len, char *err, size_t errlen)
{
    char buf[80];
    if (len == 0 || len >= sizeof buf) {
        snprintf(err, errlen, "--slo: rule '%.*s' is empty or too long", (int)(len > 40 ? 40 : len), text);
        return LL_EUSAGE;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(r, 0, sizeof *r);
    snprintf(r->text, sizeof r->text, "%s", buf);
    char *op = strpbrk(buf, "<>");
    if (!op) {
        snprintf(err, errlen, "--slo: rule '%s' has no comparison (<=, <, >=, >)", buf);
        return LL_EUSAGE;
    }
    char *val = op + 1;
    if (*val == '=') {
        r->op = *op == '<' ? GATE_LE : GATE_GE;
        val++;
    } else {
        r->op = *op == '<' ? GATE_LT : GATE_GT;
    }
    *op = '\0';
    const char *name = buf;
    if (resolve_metric(name, &r->m) != 0) {
        snprintf(err, errlen,
                 "--slo: unknown metric '%s' in rule '%s' (use e.g. ttft_p95, itl_p99, tpot_mean, e2e_p50, "
                 "error_rate, request_throughput)",
                 name, r->text);
        return LL_EUSAGE;
    }
    int is_rate = r->m.is_rate, is_latency = r->m.is_latency;
    char *end;
    double v = strtod(val, &end);
    if (end == val || !isfinite(v) || v < 0) {
        snprintf(err, errlen, "--slo: rule '%s' needs a non-negative number after the comparison", r->text);
        return LL_EUSAGE;
    }
    if (is_latency) {
        if (strcmp(end, "ms") == 0 || *end == '\0')
            ;
        else if (strcmp(end, "s") == 0)
            v *= 1000;
        else if (strcmp(end, "us") == 0)
            v /= 1000;
        else {
            snprintf(err, errlen, "--slo: rule '%s': latency unit must be ms, s or us", r->text);
            return LL_EUSAGE;
        }
    } else if (is_rate) {
        if (strcmp(end, "%") == 0)
            v /= 100;
        else if (*end != '\0') {
            snprintf(err, errlen, "--slo: rule '%s': error_rate takes a fraction or a percentage", r->text);
            return LL_EUSAGE;
        }
    } else if (*end != '\0') {
        snprintf(err, errlen, "--slo: rule '%s': a throughput takes a plain number", r->text);
        return LL_EUSAGE;
    }
    r->threshold = v;
    return 0;
}

int gate_parse(gate **out, const char *spec, char *err, size_t errlen)
{
    gate *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    const char *p = spec;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && (*p == ' ')) /* tolerate "a, b" */
            p++, len--;
        while (len && p[len - 1] == ' ')
            len--;
        if (g->n == GATE_MAX_RULES) {
            snprintf(err, errlen, "--slo: more than %d rules", GATE_MAX_RULES);
            gate_destroy(g);
            return LL_EUSAGE;
        }
        int rc = parse_rule(&g->rules[g->n], p, len, err, errlen);
        if (rc) {
            gate_destroy(g);
            return rc;
        }
        g->n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (g->n == 0) {
        snprintf(err, errlen, "--slo: no rules given");
        gate_destroy(g);
        return LL_EUSAGE;
    }
    *out = g;
    return 0;
}

void gate_destroy(gate *g)
{
    free(g);
}

static int compare(gate_op op, double v, double t)
{
    switch (op) {
    case GATE_LE:
        return v <= t;
    case GATE_LT:
        return v < t;
    case GATE_GE:
        return v >= t;
    case GATE_GT:
        return v > t;
    }
    return 0;
}

int gate_has_request_rules(const gate *g)
{
    for (size_t i = 0; g && i < g->n; i++)
        if (g->rules[i].m.per_request)
            return 1;
    return 0;
}

/* A request's own value of a per-request metric, in ms; NAN when it has none. */
static double request_value(const char *metric, const record *r)
{
    uint64_t from = r->sent_ns;
    if (strcmp(metric, "ttft_ms") == 0)
        return r->first_token_ns ? (double)(r->first_token_ns - from) / 1e6 : NAN;
    if (strcmp(metric, "ttfot_ms") == 0)
        return r->first_output_ns ? (double)(r->first_output_ns - from) / 1e6 : NAN;
    if (strcmp(metric, "ttfb_ms") == 0)
        return r->first_byte_ns ? (double)(r->first_byte_ns - from) / 1e6 : NAN;
    if (strcmp(metric, "e2e_ms") == 0)
        return (double)(r->end_ns - from) / 1e6;
    if (strcmp(metric, "tpot_ms") == 0)
        return r->first_token_ns && r->output_tokens >= 2
                   ? (double)(r->end_ns - r->first_token_ns) / 1e6 / (r->output_tokens - 1)
                   : NAN;
    if (strcmp(metric, "itl_ms") == 0)
        return r->itl_count ? (double)r->itl_sum_ns / r->itl_count / 1e6 : NAN;
    return NAN;
}

int gate_request_ok(const gate *g, const record *r)
{
    if (r->status != RECORD_OK)
        return 0;
    for (size_t i = 0; g && i < g->n; i++) {
        const gate_rule *rule = &g->rules[i];
        if (!rule->m.per_request)
            continue;
        double v = request_value(rule->m.metric, r);
        /* A metric the request does not have (tpot of a 1-token answer) does not fail it. */
        if (!isnan(v) && !compare(rule->op, v, rule->threshold))
            return 0;
    }
    return 1;
}

static double metric_value(const gate_metric *m, const cJSON *bench)
{
    const cJSON *scope = bench;
    if (m->scope == SCOPE_METRICS)
        scope = cJSON_GetObjectItemCaseSensitive(bench, "metrics");
    else if (m->scope == SCOPE_REQUESTS)
        scope = cJSON_GetObjectItemCaseSensitive(bench, "requests");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(scope, m->metric);
    if (m->stat[0]) {
        const cJSON *count = cJSON_GetObjectItemCaseSensitive(x, "count");
        if (cJSON_IsNumber(count) && count->valuedouble == 0)
            return NAN; /* no samples: nothing to judge */
        x = cJSON_GetObjectItemCaseSensitive(x, m->stat);
    }
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

int gate_evaluate(const gate *g, cJSON *doc)
{
    cJSON *benches = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"), *b;
    int broken = 0;
    cJSON_ArrayForEach(b, benches)
    {
        cJSON *slo = cJSON_CreateObject(), *rules = cJSON_CreateArray();
        if (!slo || !rules || !cJSON_AddItemToObject(slo, "rules", rules)) {
            cJSON_Delete(slo);
            cJSON_Delete(rules);
            return LL_ENOMEM;
        }
        int passed = 1;
        for (size_t i = 0; i < g->n; i++) {
            const gate_rule *rule = &g->rules[i];
            double v = metric_value(&rule->m, b);
            /* No value (no completed request) breaks the rule: nothing met it. */
            int ok = !isnan(v) && compare(rule->op, v, rule->threshold);
            passed &= ok;
            cJSON *o = cJSON_CreateObject();
            if (!o || !cJSON_AddItemToArray(rules, o) || !cJSON_AddStringToObject(o, "rule", rule->text) ||
                !(isnan(v) ? cJSON_AddNullToObject(o, "value") : cJSON_AddNumberToObject(o, "value", v)) ||
                !cJSON_AddNumberToObject(o, "threshold", rule->threshold) || !cJSON_AddBoolToObject(o, "passed", ok)) {
                cJSON_Delete(slo);
                return LL_ENOMEM;
            }
        }
        if (!cJSON_AddBoolToObject(slo, "passed", passed)) {
            cJSON_Delete(slo);
            return LL_ENOMEM;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(b, "slo");
        if (!cJSON_AddItemToObject(b, "slo", slo)) {
            cJSON_Delete(slo);
            return LL_ENOMEM;
        }
        broken += !passed;
    }
    return broken;
}

/* The 95% interval report.json gives beside a statistic ("p95_ci" next to "p95"); 0 when it has
 * none (a scalar such as a throughput, too few samples, a report from before intervals). */
static int metric_ci(const gate_metric *m, const cJSON *bench, double ci[2])
{
    if (m->scope != SCOPE_METRICS || !m->stat[0])
        return 0;
    char key[16];
    snprintf(key, sizeof key, "%s_ci", m->stat);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(bench, "metrics"), m->metric), key);
    const cJSON *lo = cJSON_GetArrayItem(x, 0), *hi = cJSON_GetArrayItem(x, 1);
    if (!cJSON_IsArray(x) || !cJSON_IsNumber(lo) || !cJSON_IsNumber(hi))
        return 0;
    ci[0] = lo->valuedouble;
    ci[1] = hi->valuedouble;
    return 1;
}

static cJSON *ci_json(int have, const double ci[2])
{
    return have ? cJSON_CreateDoubleArray(ci, 2) : cJSON_CreateNull();
}

static int add_item(cJSON *o, const char *k, cJSON *x)
{
    if (!x || !cJSON_AddItemToObject(o, k, x)) {
        cJSON_Delete(x);
        return 0;
    }
    return 1;
}

static const char *const default_compare_metrics[] = {
    "ttft_p50", "ttft_p95", "itl_p50", "itl_p95", "tpot_p50", "e2e_p95",
    "request_throughput", "output_token_throughput", "error_rate",
};

static const cJSON *bench_named(const cJSON *doc, const char *name)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(b, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return b;
    }
    return NULL;
}

static int regressed(const gate_metric *m, double base, double cand, double tol)
{
    if (isnan(base) || isnan(cand))
        return 0; /* nothing to judge on one side */
    if (m->higher_is_better)
        return cand < base * (1.0 - tol);
    if (m->is_rate) /* an error rate from 0 to 0.0001 is noise, not a regression */
        return cand > base * (1.0 + tol) && cand - base > 0.001;
    return cand > base * (1.0 + tol);
}

/* The mirror image: better than the baseline by more than the tolerance. */
static int improved(const gate_metric *m, double base, double cand, double tol)
{
    if (isnan(base) || isnan(cand))
        return 0;
    if (m->higher_is_better)
        return cand > base * (1.0 + tol);
    if (m->is_rate)
        return cand < base * (1.0 - tol) && base - cand > 0.001;
    return cand < base * (1.0 - tol);
}

/* One row per metric for a pair of benchmarks (measured, or interpolated on a curve). Returns the
 * regressions among them, or LL_ENOMEM. */
static int compare_pair(const gate_metric *ms, const char *const *metrics, size_t n_metrics, const cJSON *b,
                        const cJSON *c, const char *name, double tolerance, cJSON *cmp)
{
    int regressions = 0;
    for (size_t i = 0; i < n_metrics; i++) {
        double base = metric_value(&ms[i], b), cand = metric_value(&ms[i], c);
        /* Within noise: both runs give an interval and the two overlap, so the runs do not show
         * that the statistic moved, whatever the point estimates say. Not a regression then,
         * however large the change looks. */
        double bci[2], cci[2];
        int hb = metric_ci(&ms[i], b, bci), hc = metric_ci(&ms[i], c, cci);
        int noise = hb && hc && bci[0] <= cci[1] && cci[0] <= bci[1];
        int bad = !noise && regressed(&ms[i], base, cand, tolerance);
        int good = !noise && improved(&ms[i], base, cand, tolerance);
        const char *verdict = isnan(base) || isnan(cand) ? "n/a"
                              : bad                      ? "regressed"
                              : good                     ? "improved"
                              : noise                    ? "within noise"
                                                         : "within tolerance";
        regressions += bad;
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(cmp, o) || !cJSON_AddStringToObject(o, "benchmark", name) ||
            !cJSON_AddStringToObject(o, "metric", metrics[i]) ||
            !(isnan(base) ? cJSON_AddNullToObject(o, "baseline") : cJSON_AddNumberToObject(o, "baseline", base)) ||
            !(isnan(cand) ? cJSON_AddNullToObject(o, "candidate") : cJSON_AddNumberToObject(o, "candidate", cand)) ||
            !(isnan(base) || isnan(cand) || base == 0 ? cJSON_AddNullToObject(o, "change")
                                                      : cJSON_AddNumberToObject(o, "change", cand / base - 1.0)) ||
            !cJSON_AddBoolToObject(o, "higher_is_better", ms[i].higher_is_better) ||
            !cJSON_AddBoolToObject(o, "regressed", bad) || !add_item(o, "baseline_ci", ci_json(hb, bci)) ||
            !add_item(o, "candidate_ci", ci_json(hc, cci)) ||
            !add_item(o, "beyond_noise", hb && hc ? cJSON_CreateBool(!noise) : cJSON_CreateNull()) ||
            !cJSON_AddStringToObject(o, "verdict", verdict)) {
            if (o && !o->prev) /* not added: ours to free */
                cJSON_Delete(o);
            return LL_ENOMEM;
        }
    }
    return regressions;
}

int gate_compare(const cJSON *baseline, const cJSON *candidate, double tolerance, const char *const *metrics,
                 size_t n_metrics, cJSON **out, char *err, size_t errlen)
{
    if (!metrics || n_metrics == 0) {
        metrics = default_compare_metrics;
        n_metrics = sizeof default_compare_metrics / sizeof *default_compare_metrics;
    }
    gate_metric *ms = calloc(n_metrics, sizeof *ms);
    if (!ms) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    for (size_t i = 0; i < n_metrics; i++)
        if (resolve_metric(metrics[i], &ms[i]) != 0) {
            snprintf(err, errlen, "--metric: unknown metric '%s' (use e.g. ttft_p95, itl_p99, e2e_p50, error_rate, "
                     "request_throughput)", metrics[i]);
            free(ms);
            return LL_EUSAGE;
        }
    cJSON *bcurve = NULL, *ccurve = NULL;
    cJSON *res = cJSON_CreateObject();
    cJSON *cmp = cJSON_AddArrayToObject(res, "comparisons");
    cJSON *missing = cJSON_AddArrayToObject(res, "missing");
    if (!res || !cmp || !missing || !cJSON_AddNumberToObject(res, "tolerance", tolerance))
        goto nomem;
    /* Sweeps whose open-loop rates differ: those points by curve, the rest by name. */
    int by_curve = curve_needed(baseline, candidate), n_curve = 0;
    double lo = 0, hi = 0;
    if (by_curve && (n_curve = curve_common(baseline, candidate, &bcurve, &ccurve, &lo, &hi)) < 0)
        goto nomem;
    int regressions = 0, pairs = 0, rc;
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(baseline, "benchmarks"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
        if (!cJSON_IsString(name) || (by_curve && curve_is_open_loop(b)))
            continue;
        const cJSON *c = bench_named(candidate, name->valuestring);
        if (!c) {
            cJSON *s = cJSON_CreateString(name->valuestring);
            if (!s || !cJSON_AddItemToArray(missing, s)) {
                cJSON_Delete(s);
                goto nomem;
            }
            continue;
        }
        pairs++;
        if ((rc = compare_pair(ms, metrics, n_metrics, b, c, name->valuestring, tolerance, cmp)) < 0)
            goto nomem;
        regressions += rc;
    }
    for (int i = 0; i < n_curve; i++) {
        const cJSON *pb = cJSON_GetArrayItem(bcurve, i), *pc = cJSON_GetArrayItem(ccurve, i);
        const char *name = cJSON_GetObjectItemCaseSensitive(pb, "name")->valuestring;
        pairs++;
        if ((rc = compare_pair(ms, metrics, n_metrics, pb, pc, name, tolerance, cmp)) < 0)
            goto nomem;
        regressions += rc;
    }
    /* Each report's knee by the one rule `run` uses (knee.h): a figure beside the table, not a
     * comparison row (it has no interval, and where the curve bends is a reading, not a gate). */
    knee_result kb, kc;
    const cJSON *kbb, *kcb;
    knee_of_doc(baseline, &kb, &kbb);
    knee_of_doc(candidate, &kc, &kcb);
    if (kb.rule != KNEE_NONE || kc.rule != KNEE_NONE) {
        cJSON *ko = cJSON_AddObjectToObject(res, "knee"), *x = NULL;
        if (!ko || knee_to_json(&kb, kbb, &x) != 0 || !cJSON_AddItemToObject(ko, "baseline", x)) {
            cJSON_Delete(x);
            goto nomem;
        }
        x = NULL;
        if (knee_to_json(&kc, kcb, &x) != 0 || !cJSON_AddItemToObject(ko, "candidate", x)) {
            cJSON_Delete(x);
            goto nomem;
        }
    }
    cJSON *mt = cJSON_AddObjectToObject(res, "matching");
    if (!mt || !cJSON_AddStringToObject(mt, "method", by_curve ? "curve" : "name") ||
        !cJSON_AddNumberToObject(mt, "curve_points", n_curve) ||
        !(n_curve ? cJSON_AddNumberToObject(mt, "curve_from", lo) : cJSON_AddNullToObject(mt, "curve_from")) ||
        !(n_curve ? cJSON_AddNumberToObject(mt, "curve_to", hi) : cJSON_AddNullToObject(mt, "curve_to")) ||
        !cJSON_AddNumberToObject(res, "regressions", regressions))
        goto nomem;
    free(ms);
    cJSON_Delete(bcurve);
    cJSON_Delete(ccurve);
    if (pairs == 0) {
        snprintf(err, errlen, by_curve ? "the two reports have no benchmark name in common and their rate ranges "
                                         "do not overlap" : "the two reports have no benchmark name in common");
        cJSON_Delete(res);
        return LL_EUSAGE;
    }
    *out = res;
    return regressions;
nomem:
    free(ms);
    cJSON_Delete(bcurve);
    cJSON_Delete(ccurve);
    cJSON_Delete(res);
    snprintf(err, errlen, "out of memory");
    return LL_ENOMEM;
}

void gate_set_goodput(const gate *g, const bench_result *res, bench_summary *sum)
{
    uint64_t good = 0;
    for (size_t i = 0; i < res->records.len; i++) {
        const record *r = &res->records.items[i];
        good += aggregate_completed_in_window(sum, r) && gate_request_ok(g, r);
    }
    sum->goodput = sum->duration_s > 0 ? (double)good / sum->duration_s : 0;
    sum->has_goodput = 1;
}

void gate_compare_matching(const cJSON *res, char *buf, size_t len)
{
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(res, "matching");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(mt, "method");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(mt, "curve_points");
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(mt, "curve_from"), *hi = cJSON_GetObjectItemCaseSensitive(mt, "curve_to");
    if (!cJSON_IsString(method) || strcmp(method->valuestring, "curve") != 0)
        snprintf(buf, len, "matched by name");
    else if (cJSON_IsNumber(n) && n->valueint > 0 && cJSON_IsNumber(lo) && cJSON_IsNumber(hi))
        snprintf(buf, len,
                 "matched by curve: open-loop rates differ, so latencies are interpolated at %d common offered "
                 "rates from %.4g to %.4g req/s (rows rate@R); other benchmarks by name",
                 n->valueint, lo->valuedouble, hi->valuedouble);
    else
        snprintf(buf, len, "matched by curve: the open-loop rate ranges do not overlap, so no rate point is "
                           "compared; other benchmarks by name");
}

/* How far a value is inside a rule's threshold: >= 0 passes (strictness aside), < 0 breaks it. */
static double margin(const gate_rule *r, double v)
{
    return r->op == GATE_LE || r->op == GATE_LT ? r->threshold - v : v - r->threshold;
}

typedef struct cap_pt {
    double x;
    const cJSON *b;
} cap_pt;

static int cmp_cap(const void *a, const void *b)
{
    double x = ((const cap_pt *)a)->x, y = ((const cap_pt *)b)->x;
    return x < y ? -1 : x > y;
}

/* The highest offered rate at which every rule holds, along doc's open-loop points by target rate:
 * between the last point that passes and the first that breaks a rule, each broken rule's margin is
 * interpolated linearly to its zero, and the lowest such rate is the capacity (that rule limits
 * it). *bound: 0 exact, -1 the first point already breaks a rule (capacity below it: *rate is that
 * point's rate), 1 no point breaks one (capacity above the last: *rate is its rate), -2 fewer
 * than two points (no answer). */
static void capacity_of(const gate *g, const cJSON *doc, double *rate, int *bound, const char **limited_by,
                        const cJSON *pair[2])
{
    cap_pt p[256];
    size_t n = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(b, "target_rate");
        if (n < 256 && curve_is_open_loop(b) && cJSON_IsNumber(r) && r->valuedouble > 0)
            p[n++] = (cap_pt){r->valuedouble, b};
    }
    qsort(p, n, sizeof *p, cmp_cap);
    *rate = 0;
    *bound = -2;
    *limited_by = "";
    pair[0] = pair[1] = NULL;
    if (n < 2)
        return;
    for (size_t k = 0; k < n; k++) {
        double best = INFINITY;
        for (size_t i = 0; i < g->n; i++) {
            const gate_rule *rule = &g->rules[i];
            double v = metric_value(&rule->m, p[k].b);
            if (!isnan(v) && compare(rule->op, v, rule->threshold))
                continue;
            /* broken at point k: where between k-1 and k did its margin reach 0? */
            double x = p[k].x;
            if (k > 0 && !isnan(v)) {
                double m0 = margin(rule, metric_value(&rule->m, p[k - 1].b)), m1 = margin(rule, v);
                if (!isnan(m0) && m0 >= 0 && m0 > m1)
                    x = p[k - 1].x + (p[k].x - p[k - 1].x) * m0 / (m0 - m1);
            }
            if (x < best) {
                best = x;
                *limited_by = rule->text;
            }
        }
        if (isfinite(best)) {
            *rate = k == 0 ? p[0].x : best;
            *bound = k == 0 ? -1 : 0;
            pair[0] = k == 0 ? NULL : p[k - 1].b;
            pair[1] = p[k].b;
            return;
        }
    }
    *rate = p[n - 1].x;
    *bound = 1;
    pair[0] = p[n - 1].b;
}

static cJSON *capacity_json(double rate, int bound, const char *limited_by)
{
    cJSON *o = cJSON_CreateObject();
    static const char *const names[] = {"none", "below", "exact", "above"};
    if (!o || !(bound == -2 ? cJSON_AddNullToObject(o, "rate") : cJSON_AddNumberToObject(o, "rate", rate)) ||
        !cJSON_AddStringToObject(o, "bound", names[bound + 2 > 0 ? bound + 2 : 0]) ||
        !cJSON_AddStringToObject(o, "limited_by", limited_by)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int gate_compare_capacity(const gate *g, const cJSON *baseline, const cJSON *candidate, double tolerance, cJSON *res)
{
    double rb, rc_;
    int bb, bc;
    const char *lb, *lc;
    const cJSON *pair[2];
    capacity_of(g, baseline, &rb, &bb, &lb, pair);
    capacity_of(g, candidate, &rc_, &bc, &lc, pair);
    cJSON *cap = cJSON_CreateObject(), *x;
    if (!cap || !cJSON_AddItemToObject(res, "capacity", cap)) {
        cJSON_Delete(cap);
        return LL_ENOMEM;
    }
    if (!(x = capacity_json(rb, bb, lb)) || !cJSON_AddItemToObject(cap, "baseline", x)) {
        cJSON_Delete(x);
        return LL_ENOMEM;
    }
    if (!(x = capacity_json(rc_, bc, lc)) || !cJSON_AddItemToObject(cap, "candidate", x)) {
        cJSON_Delete(x);
        return LL_ENOMEM;
    }
    /* A row like the others when both are exact: higher is better, judged by the tolerance (no
     * interval: a capacity is read off two interpolated points). */
    if (bb != 0 || bc != 0)
        return 0;
    int bad = rc_ < rb * (1.0 - tolerance), good = rc_ > rb * (1.0 + tolerance);
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(res, "comparisons"), o)) {
        cJSON_Delete(o);
        return LL_ENOMEM;
    }
    if (!cJSON_AddStringToObject(o, "benchmark", "capacity") ||
        !cJSON_AddStringToObject(o, "metric", "max_rate_meeting_slo") || !cJSON_AddNumberToObject(o, "baseline", rb) ||
        !cJSON_AddNumberToObject(o, "candidate", rc_) ||
        !(rb > 0 ? cJSON_AddNumberToObject(o, "change", rc_ / rb - 1.0) : cJSON_AddNullToObject(o, "change")) ||
        !cJSON_AddBoolToObject(o, "higher_is_better", 1) || !cJSON_AddBoolToObject(o, "regressed", bad) ||
        !cJSON_AddNullToObject(o, "baseline_ci") || !cJSON_AddNullToObject(o, "candidate_ci") ||
        !cJSON_AddNullToObject(o, "beyond_noise") ||
        !cJSON_AddStringToObject(o, "verdict", bad ? "regressed" : good ? "improved" : "within tolerance"))
        return LL_ENOMEM;
    if (bad) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(res, "regressions");
        if (cJSON_IsNumber(n))
            cJSON_SetNumberValue(n, n->valuedouble + 1);
    }
    return bad;
}

size_t gate_rule_count(const gate *g)
{
    return g ? g->n : 0;
}

const char *gate_rule_text(const gate *g, size_t i)
{
    return g && i < g->n ? g->rules[i].text : "";
}

void gate_judge(const gate *g, const cJSON *bench, gate_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->n = g->n;
    int clearly_broken = 0, any_noise = 0;
    out->passed = 1;
    for (size_t i = 0; i < g->n; i++) {
        const gate_rule *rule = &g->rules[i];
        double v = metric_value(&rule->m, bench), ci[2];
        int ok = !isnan(v) && compare(rule->op, v, rule->threshold);
        double m = isnan(v) ? NAN : margin(rule, v);
        out->value[i] = v;
        out->margin[i] = rule->threshold > 0 && !isnan(m) ? m / rule->threshold : m;
        out->noise[i] = !isnan(v) && metric_ci(&rule->m, bench, ci) && ci[0] <= rule->threshold &&
                        rule->threshold <= ci[1];
        out->passed &= ok;
        any_noise |= out->noise[i];
        clearly_broken |= !ok && !out->noise[i];
    }
    out->indeterminate = any_noise && !clearly_broken;
}

/* a + w (b - a) for a number both benchmarks have at metrics.key; NAN otherwise. */
static double lerp_metric(const cJSON *a, const cJSON *b, const char *key, double w)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(a, "metrics"), key);
    const cJSON *y = b ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "metrics"), key) : x;
    if (!cJSON_IsNumber(x) || !cJSON_IsNumber(y))
        return NAN;
    return x->valuedouble + w * (y->valuedouble - x->valuedouble);
}

static double target_rate_of(const cJSON *b)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(b, "target_rate");
    return cJSON_IsNumber(r) ? r->valuedouble : NAN;
}

int gate_sweep_capacity(const gate *g, cJSON *doc)
{
    double rate;
    int bound;
    const char *limited_by;
    const cJSON *pair[2];
    capacity_of(g, doc, &rate, &bound, &limited_by, pair);
    if (bound == -2)
        return 0; /* fewer than two open-loop points: no curve to read */
    cJSON *cap = capacity_json(rate, bound, limited_by);
    if (!cap)
        return LL_ENOMEM;
    /* The output tokens/s at that rate: interpolated like the rate, between the same two points. */
    double tps = NAN;
    if (bound == 0 && pair[0] && pair[1]) {
        double r0 = target_rate_of(pair[0]), r1 = target_rate_of(pair[1]);
        tps = lerp_metric(pair[0], pair[1], "output_token_throughput", r1 > r0 ? (rate - r0) / (r1 - r0) : 0);
    } else if (bound == 1 && pair[0]) {
        tps = lerp_metric(pair[0], NULL, "output_token_throughput", 0);
    }
    cJSON *between = cJSON_AddArrayToObject(cap, "between");
    for (int i = 0; between && i < 2; i++) {
        const cJSON *nm = pair[i] ? cJSON_GetObjectItemCaseSensitive(pair[i], "name") : NULL;
        cJSON *s = cJSON_IsString(nm) ? cJSON_CreateString(nm->valuestring) : cJSON_CreateNull();
        if (!s || !cJSON_AddItemToArray(between, s)) {
            cJSON_Delete(s);
            between = NULL;
        }
    }
    if (!between || !(isnan(tps) ? cJSON_AddNullToObject(cap, "output_token_throughput")
                                 : cJSON_AddNumberToObject(cap, "output_token_throughput", tps))) {
        cJSON_Delete(cap);
        return LL_ENOMEM;
    }
    cJSON *sw = cJSON_GetObjectItemCaseSensitive(doc, "sweep");
    if (!sw && !(sw = cJSON_AddObjectToObject(doc, "sweep"))) {
        cJSON_Delete(cap);
        return LL_ENOMEM;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(sw, "capacity");
    if (!cJSON_AddItemToObject(sw, "capacity", cap)) {
        cJSON_Delete(cap);
        return LL_ENOMEM;
    }
    return 0;
}
