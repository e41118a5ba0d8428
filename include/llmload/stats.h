/*
 * stats.h - exact summary statistics over per-request values (aggregate stage).
 *
 * Per-request metrics (ttft, tpot, e2e, schedule lag) are kept as exact samples, one per request,
 * so their percentiles are exact, not bucketed. Percentiles interpolate linearly between order
 * statistics (GSL's gsl_stats_quantile_from_sorted_data, numpy's default), so a notebook computing
 * them from requests.csv gets the same numbers.
 */
#ifndef LLMLOAD_STATS_H
#define LLMLOAD_STATS_H

#include <stddef.h>

typedef struct stats_summary {
    size_t n;
    double mean, stdev, min, p50, p90, p95, p99, p999, max; /* all 0 when n == 0 */
} stats_summary;

/* Summarise n values. Sorts `values` in place (the caller's array is reordered). stdev is the
 * sample standard deviation (n-1), 0 for n < 2. Returns 0, or LL_EINVAL for a NULL array with n>0.
 * NaN values are not allowed (callers leave missing values out). */
int stats_summarize(double *values, size_t n, stats_summary *out);

/* Percentile p in [0,100] of ascending sorted values; 0 when n == 0. */
double stats_percentile_sorted(const double *sorted, size_t n, double p);

#endif
