/*
 * stats.h - exact summary statistics over per-request values (aggregate stage).
 *
 * Per-request metrics (ttft, tpot, e2e, schedule lag) are kept as exact samples, one per request,
 * so their percentiles are exact, not bucketed. Percentiles interpolate linearly between order
 * statistics (GSL's gsl_stats_quantile_from_sorted_data, numpy's default), so a notebook computing
 * them from requests.csv gets the same numbers.
 *
 * Each summary also carries 95% confidence intervals: Student's t for the mean, and for each
 * percentile a distribution-free pair of order statistics whose ranks come from the binomial
 * distribution (docs/statistics.md "Confidence intervals"). An interval needs enough samples.
 */
#ifndef LLMLOAD_STATS_H
#define LLMLOAD_STATS_H

#include <stddef.h>
#include <stdint.h>

#define STATS_CI_LEVEL 0.95

/* A confidence interval [lo, hi]; ok = 0 when there are too few samples for one (lo = hi = 0;
 * report.json writes null). */
typedef struct stats_ci {
    double lo, hi;
    int ok;
} stats_ci;

typedef struct stats_summary {
    size_t n;
    double mean, stdev, min, p50, p90, p95, p99, p999, max; /* all 0 when n == 0 */
    /* STATS_CI_LEVEL intervals: mean by t, percentiles by order statistics (stats_fill_ci) */
    stats_ci mean_ci, p50_ci, p90_ci, p95_ci, p99_ci, p999_ci;
} stats_summary;

/* Summarise n values. Sorts `values` in place (the caller's array is reordered). stdev is the
 * sample standard deviation (n-1), 0 for n < 2. Returns 0, or LL_EINVAL for a NULL array with n>0.
 * NaN values are not allowed (callers leave missing values out). */
int stats_summarize(double *values, size_t n, stats_summary *out);

/* Percentile p in [0,100] of ascending sorted values; 0 when n == 0. */
double stats_percentile_sorted(const double *sorted, size_t n, double p);

/* Ranks (1-based) of the order statistics x_(lo) <= x_(hi) that bracket the q-quantile (q in
 * (0,1)) of n independent samples with probability at least `level`: lo - 1 is the largest k with
 * P(B <= k) <= (1-level)/2 and hi - 1 the smallest k with P(B <= k) >= 1 - (1-level)/2, where
 * B ~ Binomial(n, q). Returns 0, LL_ERANGE when no such ranks exist within [1, n] (too few
 * samples: p95 needs 72, p99 368, p99.9 3688 at 95%), or LL_EINVAL for a bad q or level. */
int stats_quantile_ci(uint64_t n, double q, double level, uint64_t *lo, uint64_t *hi);

/* mean +/- t(1-(1-level)/2, n-1) * stdev / sqrt(n); ok = 0 for n < 2. */
stats_ci stats_mean_ci(size_t n, double mean, double stdev, double level);

/* Source of order statistics: the rank-th smallest (1-based) of the values summarised. */
typedef double (*stats_value_at_fn)(const void *ctx, uint64_t rank);

/* Sets s's mean_ci (from n, mean, stdev) and each percentile's interval (stats_quantile_ci at
 * STATS_CI_LEVEL, values from value_at(ctx, rank)). stats_summarize calls it with the sorted
 * samples; the aggregator calls it with a histogram's ranks (hist_value_at_rank). */
void stats_fill_ci(stats_summary *s, stats_value_at_fn value_at, const void *ctx);

#endif
