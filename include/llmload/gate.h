/*
 * gate.h - service-level objectives and the gate (report -> gate -> exit code).
 *
 * `--slo 'ttft_p95<=500ms,itl_p99<=50ms,error_rate<=1%'` is parsed into rules. Each rule is checked
 * against every benchmark of the report document, whose benchmarks then carry an "slo" object
 * (each rule, the measured value, passed or not). Rules on per-request latencies (ttft, ttfot, ttfb,
 * tpot, e2e, itl) also define goodput: the completed requests per second whose own values meet every
 * such rule. Exit 3 when a rule is broken (for a sweep: when the synchronous benchmark breaks one,
 * since higher points are expected to break them; the console says where each first fails).
 */
#ifndef LLMLOAD_GATE_H
#define LLMLOAD_GATE_H

#include <stddef.h>

#include "llmload/aggregate.h"
#include "llmload/record.h"

struct cJSON;

typedef struct gate gate;

#define GATE_MAX_RULES 32

/* Parses a --slo value. *out owned by caller (gate_destroy). LL_EUSAGE with one line in err
 * naming the bad rule, or LL_ENOMEM. */
int gate_parse(gate **out, const char *spec, char *err, size_t errlen);
void gate_destroy(gate *g); /* NULL is fine */

/* Does this request meet every per-request rule? (True when there are none.) */
int gate_request_ok(const gate *g, const record *r);
/* True when at least one rule is per request, so goodput means something. */
int gate_has_request_rules(const gate *g);
/* sum->goodput: the requests completed inside sum's window (aggregate_completed_in_window, what
 * request_throughput counts) that meet every per-request rule, per second of the window; sets
 * has_goodput. For `run` and `merge` alike. */
void gate_set_goodput(const gate *g, const bench_result *res, bench_summary *sum);

/* Checks every rule against every benchmark in doc and adds each benchmark an "slo" object.
 * Returns the number of benchmarks that broke at least one rule, or LL_ENOMEM. */
int gate_evaluate(const gate *g, struct cJSON *doc);

/* One benchmark object's verdict against g, with its intervals (what the SLO search steers by).
 * margin[i] is rule i's relative margin: (threshold - value) / threshold for <= and <, (value -
 * threshold) / threshold for >= and > (absolute when the threshold is 0): >= 0 holds, < 0 breaks,
 * NAN when there is no value (which breaks it). A rule is within noise when its statistic has a
 * 95% interval (p95_ci, mean_ci...) that contains the threshold; without an interval the point
 * value decides. */
typedef struct gate_verdict {
    int passed;        /* every rule holds on its point value */
    int indeterminate; /* no rule clearly broken, and some rule within noise */
    size_t n;          /* rules, in --slo order */
    double margin[GATE_MAX_RULES];
    double value[GATE_MAX_RULES]; /* as in the report (ms, fraction, req/s); NAN none */
    int noise[GATE_MAX_RULES];    /* within noise */
} gate_verdict;
void gate_judge(const gate *g, const struct cJSON *bench, gate_verdict *out);
size_t gate_rule_count(const gate *g);
const char *gate_rule_text(const gate *g, size_t i); /* as written; borrowed from g; "" out of range */

/* `run --slo` with at least two open-loop points (a sweep, a --rate list): the capacity read off
 * them, as `compare
 * --slo` reads it (below), added to doc as "sweep": {"capacity": {rate, bound, limited_by,
 * output_token_throughput, between: [two benchmark names] }} (interpolated like the rate; "sweep"
 * made when missing; nothing added with fewer than two points). 0 or LL_ENOMEM. */
int gate_sweep_capacity(const gate *g, struct cJSON *doc);

/* Baseline comparison (`llmload compare`): for every benchmark name in both reports and every
 * metric (names as in --slo; NULL and 0 for the defaults: ttft p50/p95, itl p50/p95, tpot p50,
 * e2e p95, both throughputs, error_rate), the relative change and whether it is a regression
 * beyond tolerance (a fraction: 0.1 = 10%): a latency or the error rate above baseline x (1 + t),
 * a throughput below baseline x (1 - t). *out is {"tolerance", "comparisons": [{benchmark, metric,
 * baseline, candidate, change, regressed}], "missing": [names only in the baseline],
 * "regressions"}; ownership moves to the caller (cJSON_Delete). Returns the number of
 * regressions, LL_EUSAGE with one line in err (unknown metric, no benchmark in common), LL_ENOMEM. */
int gate_compare(const struct cJSON *baseline, const struct cJSON *candidate, double tolerance,
                 const char *const *metrics, size_t n_metrics, struct cJSON **out, char *err, size_t errlen);
/* Each comparison row also has baseline_ci and candidate_ci (the reports' 95% intervals, or null),
 * beyond_noise (the intervals do not overlap; null without both) and verdict ("regressed",
 * "improved", "within noise", "within tolerance", "n/a"): a change whose intervals overlap is never
 * a regression. Open-loop points whose names do not pair (sweeps of two servers) are compared on
 * their curves (curve.h): rows named "rate@R"; *out's "matching" says {method: "name"|"curve",
 * curve_points, curve_from, curve_to}. When either report has a knee (knee.h), *out's "knee" is
 * {baseline, candidate}, each knee_to_json's object. */

/* `llmload compare --slo SPEC`: each report's capacity, the highest offered rate at which every
 * rule of g holds along its open-loop points (interpolated to where the first broken rule crosses
 * its threshold), added to res (gate_compare's result) as "capacity": {baseline, candidate}, each
 * {rate, bound: "exact"|"below"|"above"|"none", limited_by}; when both are exact, also a
 * comparison row ("capacity", "max_rate_meeting_slo"; higher is better, judged by the tolerance)
 * and res's "regressions" counts it. Returns 1 when that row regressed, 0, or LL_ENOMEM. */
int gate_compare_capacity(const gate *g, const struct cJSON *baseline, const struct cJSON *candidate,
                          double tolerance, struct cJSON *res);

/* The sentence that says how gate_compare's result res paired the benchmarks, into buf. */
void gate_compare_matching(const struct cJSON *res, char *buf, size_t len);

#endif
