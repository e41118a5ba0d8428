/*
 * knee.h - the knee of a measured load curve: where latency turns up (report stage; the one rule
 * that `run`'s console, report.json's "sweep.knee", report.html's marker and `llmload compare`
 * share).
 *
 * The rule (docs/statistics.md "The knee"): over the benchmarks ordered by offered rate x (an
 * open-loop point's achieved_rate; a closed-loop point's completed rate), fit log10(TTFT p50) with
 * two straight segments joined at a breakpoint k, by least squares (the model a + b x +
 * c max(0, x - k), k searched over [x_2nd, x_last) on a grid of 64 steps between points). Of the breakpoints that
 * fit within one residual variance of the best, the highest. The knee is k when latency turns up
 * there: the second segment rises, and at the last point it lies at least 25% (and three residuals,
 * rmse) above the first one's extension; otherwise there is none in the measured range. With fewer
 * than KNEE_MIN_FIT_POINTS points the fallback is the earlier heuristic: the highest rate whose
 * TTFT p50 is within 2x the lightest point's. The logarithm makes the fit follow the bend rather
 * than the one point far above the rest (a saturated throughput point). The median, not p95: at a
 * sweep point's few dozen requests p95 rests on its two largest values, and one slow admission
 * near capacity moves it; the median moves only when most requests wait.
 */
#ifndef LLMLOAD_KNEE_H
#define LLMLOAD_KNEE_H

#include <stddef.h>

struct cJSON;

#define KNEE_MIN_FIT_POINTS 4
#define KNEE_MAX_POINTS 1024

typedef enum knee_rule {
    KNEE_NONE = 0,  /* no knee: too few points, or latency does not turn up */
    KNEE_FIT,       /* two-segment least-squares fit */
    KNEE_FALLBACK_2X /* too few points for the fit: TTFT p50 within 2x the lightest point's */
} knee_rule;

typedef struct knee_result {
    knee_rule rule;
    double x;            /* the knee's rate (req/s); NAN when none */
    size_t point;        /* the measured point at or below x (index into the arrays given) */
    size_t n;            /* points used */
    /* KNEE_FIT: the fit, in log10(ms) per req/s, and its root-mean-square residual (log10 ms) */
    double intercept, slope_low, slope_high, rmse;
} knee_result;

/* The knee of the points (x[i], ttft_p50_ms[i]), any order; points with a non-finite or
 * non-positive value are left out. Fills *out; never fails. */
void knee_find(const double *x, const double *ttft_p50_ms, size_t n, knee_result *out);

/* The knee of a report document's benchmarks (x as above, metrics.ttft_ms.p50; benchmarks with no
 * completed request left out). *bench gets the benchmark at or below the knee, or NULL. */
void knee_of_doc(const struct cJSON *doc, knee_result *out, const struct cJSON **bench);

/* {"rule": "two-segment fit"|"ttft p50 within 2x"|"none", "rate", "benchmark", "points", and for
 * the fit "fit": {x, y, intercept, slope_low, slope_high, rmse}}: *out owned by caller
 * (cJSON_Delete). 0 or LL_ENOMEM. */
int knee_to_json(const knee_result *k, const struct cJSON *bench, struct cJSON **out);
/* Adds knee_of_doc's result to doc as "sweep": {"knee": ...} ("sweep" made when missing). */
int knee_annotate(struct cJSON *doc);
const char *knee_rule_name(knee_rule r); /* static */

#endif
