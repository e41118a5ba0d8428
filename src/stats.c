/*
 * stats.c - exact summaries (mean, sample stdev, min, percentiles, max) of per-request samples
 * (aggregate stage: ttft, tpot, e2e and schedule lag arrays in; report metrics out).
 *
 * Invariant: percentiles are GSL's linear interpolation between order statistics of the sorted
 * samples (numpy's default "linear" method), so requests.csv re-analysed in pandas agrees exactly.
 */
#include "llmload/stats.h"

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>

#include "llmload/error.h"

double stats_percentile_sorted(const double *sorted, size_t n, double p)
{
    if (n == 0 || !sorted)
        return 0.0;
    if (!(p > 0.0)) /* also catches NaN */
        p = 0.0;
    if (p > 100.0)
        p = 100.0;
    /* GSL: with d = (n-1)·f, result = (1 - frac(d))·x[floor(d)] + frac(d)·x[floor(d)+1]. */
    return gsl_stats_quantile_from_sorted_data(sorted, 1, n, p / 100.0);
}

int stats_summarize(double *values, size_t n, stats_summary *out)
{
    if (!out)
        return LL_EINVAL;
    *out = (stats_summary){0};
    if (n == 0)
        return 0;
    if (!values)
        return LL_EINVAL;
    /* NaN has no place in an order: gsl_sort would leave the array unsorted and every percentile
     * wrong, so refuse it before touching the caller's array. */
    for (size_t i = 0; i < n; i++)
        if (isnan(values[i]))
            return LL_EINVAL;

    gsl_sort(values, 1, n);
    out->n = n;
    out->mean = gsl_stats_mean(values, 1, n);
    /* gsl_stats_sd divides by n - 1, which is 0 for one sample. */
    out->stdev = n < 2 ? 0.0 : gsl_stats_sd_m(values, 1, n, out->mean);
    out->min = values[0];
    out->max = values[n - 1];
    out->p50 = stats_percentile_sorted(values, n, 50.0);
    out->p90 = stats_percentile_sorted(values, n, 90.0);
    out->p95 = stats_percentile_sorted(values, n, 95.0);
    out->p99 = stats_percentile_sorted(values, n, 99.0);
    out->p999 = stats_percentile_sorted(values, n, 99.9);
    return 0;
}
