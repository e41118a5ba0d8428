/*
 * stats.c - exact summaries (mean, sample stdev, min, percentiles, max) of per-request samples
 * (aggregate stage: ttft, tpot, e2e and schedule lag arrays in; report metrics out).
 *
 * Invariant: percentiles are GSL's linear interpolation between order statistics of the sorted
 * samples (numpy's default "linear" method), so requests.csv re-analysed in pandas agrees exactly.
 * Confidence intervals are computed here too, beside the statistic they qualify.
 */
#include "llmload/stats.h"

#include <gsl/gsl_cdf.h>
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

/* Binomial(n, q) probability of k, from logs (n can be a histogram's billions of tokens). */
static double binom_pmf(uint64_t n, uint64_t k, double q)
{
    double dn = (double)n, dk = (double)k;
    return exp(lgamma(dn + 1) - lgamma(dk + 1) - lgamma(dn - dk + 1) + dk * log(q) + (dn - dk) * log1p(-q));
}

/* Tail terms below this are dropped: their sum is far below any level anyone asks for. */
#define PMF_NEGLIGIBLE 1e-18

int stats_quantile_ci(uint64_t n, double q, double level, uint64_t *lo, uint64_t *hi)
{
    if (!(q > 0.0 && q < 1.0) || !(level > 0.0 && level < 1.0) || !lo || !hi)
        return LL_EINVAL;
    if (n == 0)
        return LL_ERANGE;
    double a = (1.0 - level) / 2.0, r = q / (1.0 - q);
    /* Walk out from the mode, where the pmf is largest, so no term underflows before it matters;
     * pmf(j+1) = pmf(j) * (n-j)/(j+1) * q/(1-q). Each walk stops once terms are negligible, which
     * is a few dozen standard deviations at most, so the cost grows like sqrt(n), not n. */
    uint64_t m = (uint64_t)floor(((double)n + 1.0) * q);
    if (m > n)
        m = n;
    double pm = binom_pmf(n, m, q);
    double below = 0.0, above = 0.0; /* P(B < m), P(B > m) */
    double t = pm;
    for (uint64_t j = m; j > 0; j--) {
        t *= (double)j / ((double)(n - j + 1) * r); /* pmf(j-1) */
        below += t;
        if (t < PMF_NEGLIGIBLE * below)
            break;
    }
    t = pm;
    for (uint64_t j = m; j < n; j++) {
        t *= (double)(n - j) / ((double)(j + 1)) * r; /* pmf(j+1) */
        above += t;
        if (t < PMF_NEGLIGIBLE * above)
            break;
    }
    /* Lower: the largest k with F(k) <= a, where F(m-1) = below and F(k-1) = F(k) - pmf(k). */
    int64_t k = (int64_t)m - 1;
    double f = below;
    double pk = m > 0 ? pm * (double)m / ((double)(n - m + 1) * r) : 0.0; /* pmf(k) */
    while (k >= 0 && f > a) {
        f -= pk;
        if (k > 0)
            pk *= (double)k / ((double)(n - (uint64_t)k + 1) * r);
        k--;
    }
    /* A small skewed case may have F(m-1) <= a already: then climb while F(k+1) <= a. */
    double pn = pm; /* pmf(k+1) */
    while (k + 1 < (int64_t)n && f + pn <= a) {
        f += pn;
        k++;
        pn *= (double)(n - (uint64_t)k) / ((double)(k + 1)) * r;
    }
    if (k < 0)
        return LL_ERANGE; /* even x_(1) is not below the quantile often enough */

    /* Upper: the smallest j with G(j) = P(B > j) <= a, where G(m) = above, G(j+1) = G(j) - pmf(j+1),
     * and G(j-1) = G(j) + pmf(j). */
    uint64_t j = m;
    double g = above;
    double pj = m < n ? pm * (double)(n - m) / ((double)(m + 1)) * r : 0.0; /* pmf(j+1) */
    while (j < n && g > a) {
        g -= pj;
        j++;
        pj *= j < n ? (double)(n - j) / ((double)(j + 1)) * r : 0.0;
    }
    double pd = pm; /* pmf(j) while stepping down */
    while (j > 0 && j <= m && g + pd <= a) {
        g += pd;
        pd *= (double)j / ((double)(n - j + 1) * r);
        j--;
    }
    if (j + 1 > n)
        return LL_ERANGE; /* x_(n) is not above the quantile often enough */
    *lo = (uint64_t)k + 1;
    *hi = j + 1;
    return 0;
}

stats_ci stats_mean_ci(size_t n, double mean, double stdev, double level)
{
    stats_ci ci = {0};
    if (n < 2 || !(level > 0.0 && level < 1.0))
        return ci;
    double t = gsl_cdf_tdist_Pinv(1.0 - (1.0 - level) / 2.0, (double)(n - 1));
    double half = t * stdev / sqrt((double)n);
    if (!isfinite(half))
        return ci;
    ci.lo = mean - half;
    ci.hi = mean + half;
    ci.ok = 1;
    return ci;
}

static stats_ci quantile_ci(size_t n, double q, stats_value_at_fn value_at, const void *ctx)
{
    stats_ci ci = {0};
    uint64_t lo, hi;
    if (stats_quantile_ci(n, q, STATS_CI_LEVEL, &lo, &hi) != 0)
        return ci;
    ci.lo = value_at(ctx, lo);
    ci.hi = value_at(ctx, hi);
    ci.ok = 1;
    return ci;
}

void stats_fill_ci(stats_summary *s, stats_value_at_fn value_at, const void *ctx)
{
    s->mean_ci = stats_mean_ci(s->n, s->mean, s->stdev, STATS_CI_LEVEL);
    s->p50_ci = quantile_ci(s->n, 0.50, value_at, ctx);
    s->p90_ci = quantile_ci(s->n, 0.90, value_at, ctx);
    s->p95_ci = quantile_ci(s->n, 0.95, value_at, ctx);
    s->p99_ci = quantile_ci(s->n, 0.99, value_at, ctx);
    s->p999_ci = quantile_ci(s->n, 0.999, value_at, ctx);
}

static double sorted_value_at(const void *ctx, uint64_t rank)
{
    return ((const double *)ctx)[rank - 1];
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
    stats_fill_ci(out, sorted_value_at, values);
    return 0;
}
