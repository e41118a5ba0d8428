/*
 * Unit tests for stats_: summaries checked against values worked out by hand (the arithmetic is in
 * the comments). Percentiles use linear interpolation between order statistics: with sorted x[0..n-1]
 * and d = (n-1)·p/100, the result is x[floor(d)] + frac(d)·(x[floor(d)+1] - x[floor(d)]).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "llmload/error.h"
#include "llmload/hist.h"
#include "llmload/stats.h"

#include "assert_near.h"

#define EPS 1e-9

static void test_four_values(void **state)
{
    (void)state;
    double v[] = {4, 1, 3, 2}; /* unsorted on purpose: summarize sorts in place */
    stats_summary s;
    assert_int_equal(stats_summarize(v, 4, &s), 0);
    assert_int_equal(s.n, 4);
    /* mean = 10/4 = 2.5 */
    assert_near(s.mean, 2.5, EPS);
    /* squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; 5/(4-1) = 1.6667; sqrt = 1.2909944 */
    assert_near(s.stdev, 1.2909944487358056, EPS);
    assert_near(s.min, 1.0, 0.0);
    assert_near(s.max, 4.0, 0.0);
    /* p50: d = 3·0.5 = 1.5 -> x[1] + 0.5·(x[2]-x[1]) = 2 + 0.5 = 2.5 */
    assert_near(s.p50, 2.5, EPS);
    /* p90: d = 2.7 -> 3 + 0.7·1 = 3.7;  p95: d = 2.85 -> 3.85 */
    assert_near(s.p90, 3.7, EPS);
    assert_near(s.p95, 3.85, EPS);
    /* p99: d = 2.97 -> 3.97;  p99.9: d = 2.997 -> 3.997 */
    assert_near(s.p99, 3.97, EPS);
    assert_near(s.p999, 3.997, EPS);
    /* the caller's array is left sorted */
    assert_near(v[0], 1.0, 0.0);
    assert_near(v[3], 4.0, 0.0);
}

static void test_single_value(void **state)
{
    (void)state;
    double v[] = {7.25};
    stats_summary s;
    assert_int_equal(stats_summarize(v, 1, &s), 0);
    assert_int_equal(s.n, 1);
    /* n = 1: every statistic is the value, and stdev (n-1 = 0) is defined as 0, not NaN. */
    const double *all[] = {&s.mean, &s.min, &s.p50, &s.p90, &s.p95, &s.p99, &s.p999, &s.max};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        assert_near(*all[i], 7.25, 0.0);
    assert_near(s.stdev, 0.0, 0.0);
}

static void test_two_values(void **state)
{
    (void)state;
    double v[] = {20, 10};
    stats_summary s;
    assert_int_equal(stats_summarize(v, 2, &s), 0);
    /* mean 15; deviations ±5 -> (25 + 25)/1 = 50; sqrt(50) = 7.0710678 */
    assert_near(s.mean, 15.0, EPS);
    assert_near(s.stdev, 7.0710678118654755, EPS);
    /* d = p/100: p50 -> 10 + 0.5·10 = 15; p90 -> 19; p95 -> 19.5; p99 -> 19.9; p99.9 -> 19.99 */
    assert_near(s.p50, 15.0, EPS);
    assert_near(s.p90, 19.0, EPS);
    assert_near(s.p95, 19.5, EPS);
    assert_near(s.p99, 19.9, EPS);
    assert_near(s.p999, 19.99, EPS);
    assert_near(s.min, 10.0, 0.0);
    assert_near(s.max, 20.0, 0.0);
}

static void test_thousand_and_one_values(void **state)
{
    (void)state;
    enum { N = 1001 };
    double v[N];
    /* 0..1000 in a scrambled order: 389 is coprime with 1001 (= 7·11·13), so i·389 mod 1001 visits
     * every value once. */
    for (int i = 0; i < N; i++)
        v[i] = (double)((i * 389) % N);
    stats_summary s;
    assert_int_equal(stats_summarize(v, N, &s), 0);
    /* d = 1000·p/100 is a whole number for every reported p, so each percentile is a sample:
     * p50 500, p90 900, p95 950, p99 990, p99.9 999. */
    assert_near(s.p50, 500.0, EPS);
    assert_near(s.p90, 900.0, EPS);
    assert_near(s.p95, 950.0, EPS);
    assert_near(s.p99, 990.0, EPS);
    assert_near(s.p999, 999.0, EPS);
    /* mean (0+1000)/2 = 500; sample variance of 0..n-1 is n(n+1)/12 = 1001·1002/12 = 83583.5,
     * sqrt = 289.10811 */
    assert_near(s.mean, 500.0, EPS);
    assert_near(s.stdev, 289.10811126635656, 1e-9);
    assert_near(s.min, 0.0, 0.0);
    assert_near(s.max, 1000.0, 0.0);
}

static void test_irregular_values(void **state)
{
    (void)state;
    double v[] = {3, 1, 4, 1, 5, 9, 2, 6};
    stats_summary s;
    assert_int_equal(stats_summarize(v, 8, &s), 0);
    /* sorted 1 1 2 3 4 5 6 9; mean 31/8 = 3.875. Squared deviations: 8.265625·2 + 3.515625
     * + 0.765625 + 0.015625 + 1.265625 + 4.515625 + 26.265625 = 52.875; /7 = 7.5535714;
     * sqrt = 2.7483761 */
    assert_near(s.mean, 3.875, EPS);
    assert_near(s.stdev, 2.748376143938713, EPS);
    /* p50: d = 3.5 -> 3 + 0.5·1 = 3.5;  p90: d = 6.3 -> 6 + 0.3·3 = 6.9 */
    assert_near(s.p50, 3.5, EPS);
    assert_near(s.p90, 6.9, EPS);
    /* p25 via the sorted-array entry point: d = 1.75 -> 1 + 0.75·1 = 1.75 */
    assert_near(stats_percentile_sorted(v, 8, 25.0), 1.75, EPS);
}

static void test_empty_is_zero_filled(void **state)
{
    (void)state;
    stats_summary s;
    memset(&s, 0x5a, sizeof(s)); /* garbage in, so a missing zero-fill shows */
    assert_int_equal(stats_summarize(NULL, 0, &s), 0);
    assert_int_equal(s.n, 0);
    const double *all[] = {&s.mean, &s.stdev, &s.min, &s.p50, &s.p90,
                           &s.p95,  &s.p99,   &s.p999, &s.max};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        assert_near(*all[i], 0.0, 0.0);
    assert_near(stats_percentile_sorted(NULL, 0, 50.0), 0.0, 0.0);
}

static void test_invalid_input(void **state)
{
    (void)state;
    stats_summary s;
    double v[] = {3, NAN, 1};
    assert_int_equal(stats_summarize(NULL, 3, &s), LL_EINVAL);
    assert_int_equal(stats_summarize(v, 3, NULL), LL_EINVAL);
    assert_int_equal(stats_summarize(v, 3, &s), LL_EINVAL);
    /* refused before sorting: the caller's array is untouched */
    assert_near(v[0], 3.0, 0.0);
    assert_near(v[2], 1.0, 0.0);
    assert_int_equal(s.n, 0);
}

static void test_percentile_bounds(void **state)
{
    (void)state;
    const double sorted[] = {10, 20, 30};
    assert_near(stats_percentile_sorted(sorted, 3, 0.0), 10.0, 0.0);
    assert_near(stats_percentile_sorted(sorted, 3, 100.0), 30.0, 0.0);
    /* out of [0,100] clamps to the ends instead of reading outside the array */
    assert_near(stats_percentile_sorted(sorted, 3, -5.0), 10.0, 0.0);
    assert_near(stats_percentile_sorted(sorted, 3, 250.0), 30.0, 0.0);
    assert_near(stats_percentile_sorted(sorted, 3, NAN), 10.0, 0.0);
    /* d = 2·0.75 = 1.5 -> 20 + 0.5·10 = 25 */
    assert_near(stats_percentile_sorted(sorted, 3, 75.0), 25.0, EPS);
}

/* The textbook case: the 95% interval of the median of 100 samples is [x_(40), x_(61)]
 * (coverage P(40 <= B <= 60) = 0.9648 for B ~ Binomial(100, 1/2)). */
static void test_ci_ranks_median_of_100(void **state)
{
    (void)state;
    uint64_t lo = 0, hi = 0;
    assert_int_equal(stats_quantile_ci(100, 0.5, 0.95, &lo, &hi), 0);
    assert_int_equal(lo, 40);
    assert_int_equal(hi, 61);
}

/* The rule itself, against GSL's binomial CDF over many n and q: lo - 1 is the largest k with
 * F(k) <= 2.5% and hi - 1 the smallest with F(k) >= 97.5%; so coverage is at least 95%. */
static void test_ci_ranks_follow_binomial(void **state)
{
    (void)state;
    const double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999};
    for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++) {
        double q = qs[qi];
        for (unsigned n = 1; n <= 5000; n += (n < 100 ? 1 : 37)) {
            uint64_t lo = 0, hi = 0;
            int rc = stats_quantile_ci(n, q, 0.95, &lo, &hi);
            /* exists iff F(0) <= a and F(n-1) >= 1-a */
            int exists = gsl_cdf_binomial_P(0, q, n) <= 0.025 && gsl_cdf_binomial_P(n - 1, q, n) >= 0.975;
            if (!exists) {
                assert_int_equal(rc, LL_ERANGE);
                continue;
            }
            assert_int_equal(rc, 0);
            assert_true(lo >= 1 && lo <= hi && hi <= n);
            assert_true(gsl_cdf_binomial_P((unsigned)lo - 1, q, n) <= 0.025 + 1e-9);
            assert_true(gsl_cdf_binomial_P((unsigned)lo, q, n) > 0.025 - 1e-9);
            assert_true(gsl_cdf_binomial_P((unsigned)hi - 1, q, n) >= 0.975 - 1e-9);
            if (hi >= 2)
                assert_true(gsl_cdf_binomial_P((unsigned)hi - 2, q, n) < 0.975 + 1e-9);
        }
    }
}

/* Fewest samples with an interval at 95%: 1 - q^n >= 0.975. */
static void test_ci_needs_enough_samples(void **state)
{
    (void)state;
    uint64_t lo, hi;
    assert_int_equal(stats_quantile_ci(71, 0.95, 0.95, &lo, &hi), LL_ERANGE);
    assert_int_equal(stats_quantile_ci(72, 0.95, 0.95, &lo, &hi), 0);
    assert_int_equal(stats_quantile_ci(367, 0.99, 0.95, &lo, &hi), LL_ERANGE);
    assert_int_equal(stats_quantile_ci(368, 0.99, 0.95, &lo, &hi), 0);
    assert_int_equal(stats_quantile_ci(3688, 0.999, 0.95, &lo, &hi), 0);
    assert_int_equal(stats_quantile_ci(3687, 0.999, 0.95, &lo, &hi), LL_ERANGE);
    assert_int_equal(stats_quantile_ci(0, 0.5, 0.95, &lo, &hi), LL_ERANGE);
    assert_int_equal(stats_quantile_ci(10, 1.0, 0.95, &lo, &hi), LL_EINVAL);
    assert_int_equal(stats_quantile_ci(10, 0.5, 1.5, &lo, &hi), LL_EINVAL);
    /* the summary says so: no interval, not a made-up one */
    double v[50];
    for (int i = 0; i < 50; i++)
        v[i] = i;
    stats_summary s;
    assert_int_equal(stats_summarize(v, 50, &s), 0);
    assert_true(s.p50_ci.ok && s.mean_ci.ok);
    assert_false(s.p95_ci.ok || s.p99_ci.ok || s.p999_ci.ok);
    assert_int_equal(stats_summarize(v, 1, &s), 0);
    assert_false(s.mean_ci.ok || s.p50_ci.ok);
}

/* Large n (a histogram's token count) stays fast and symmetric around n*q. */
static void test_ci_ranks_large_n(void **state)
{
    (void)state;
    uint64_t lo, hi, n = 1000000000ULL;
    assert_int_equal(stats_quantile_ci(n, 0.5, 0.95, &lo, &hi), 0);
    /* 1.96 * sqrt(n/4) = 30990 */
    assert_true(llabs((long long)(n / 2 - lo) - 30990) <= 2);
    assert_true(llabs((long long)(hi - n / 2) - 30990) <= 2);
}

#define DRAWS 100

/* Coverage: of 100 independent sets of samples from distributions with known quantiles, the 95%
 * interval must hold the true value at least 90 times (a 95% procedure fails that with
 * probability about 1%; the seeds are fixed, so the result is repeatable). */
static void test_ci_coverage_exact_samples(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    assert_non_null(rng);
    gsl_rng_set(rng, 20261202);
    enum { N = 1000 };
    static double v[N];
    const double mu = 10.0, ln_mu = 3.0, ln_sigma = 0.5;
    int cov_p50 = 0, cov_p95 = 0, cov_p99 = 0, cov_mean = 0, cov_ln95 = 0, cov_ln_mean = 0;
    for (int d = 0; d < DRAWS; d++) {
        stats_summary s;
        for (int i = 0; i < N; i++)
            v[i] = gsl_ran_exponential(rng, mu);
        assert_int_equal(stats_summarize(v, N, &s), 0);
        assert_true(s.p50_ci.ok && s.p95_ci.ok && s.p99_ci.ok && s.mean_ci.ok);
        assert_true(s.p95_ci.lo <= s.p95 && s.p95 <= s.p95_ci.hi);
        cov_p50 += s.p50_ci.lo <= -mu * log(0.5) && -mu * log(0.5) <= s.p50_ci.hi;
        cov_p95 += s.p95_ci.lo <= -mu * log(0.05) && -mu * log(0.05) <= s.p95_ci.hi;
        cov_p99 += s.p99_ci.lo <= -mu * log(0.01) && -mu * log(0.01) <= s.p99_ci.hi;
        cov_mean += s.mean_ci.lo <= mu && mu <= s.mean_ci.hi;
        /* a skewed one with few samples: 200 lognormal draws */
        for (int i = 0; i < 200; i++)
            v[i] = gsl_ran_lognormal(rng, ln_mu, ln_sigma);
        assert_int_equal(stats_summarize(v, 200, &s), 0);
        double q95 = exp(ln_mu + ln_sigma * gsl_cdf_ugaussian_Pinv(0.95));
        double mean = exp(ln_mu + ln_sigma * ln_sigma / 2);
        cov_ln95 += s.p95_ci.ok && s.p95_ci.lo <= q95 && q95 <= s.p95_ci.hi;
        cov_ln_mean += s.mean_ci.lo <= mean && mean <= s.mean_ci.hi;
    }
    gsl_rng_free(rng);
    print_message("coverage of 100: p50 %d p95 %d p99 %d mean %d lognormal p95 %d mean %d\n", cov_p50,
                  cov_p95, cov_p99, cov_mean, cov_ln95, cov_ln_mean);
    assert_in_range(cov_p50, 90, DRAWS);
    assert_in_range(cov_p95, 90, DRAWS);
    assert_in_range(cov_p99, 90, DRAWS);
    assert_in_range(cov_mean, 90, DRAWS);
    assert_in_range(cov_ln95, 90, DRAWS);
    assert_in_range(cov_ln_mean, 88, DRAWS); /* t on a skewed mean with n = 200 is near 94% */
}

static double hist_rank_ms(const void *ctx, uint64_t rank)
{
    return hist_value_at_rank(ctx, rank) / 1e6;
}

/* The same for a histogram's percentiles (per-token gaps): intervals from bucket counts. */
static void test_ci_coverage_histogram(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    hist *h = NULL;
    assert_non_null(rng);
    assert_int_equal(hist_create(&h), 0);
    gsl_rng_set(rng, 7);
    const double base = 20.0, mu = 5.0; /* ms: 20 ms step plus an exponential tail */
    int cov95 = 0, cov99 = 0;
    for (int d = 0; d < DRAWS; d++) {
        hist_clear(h);
        for (int i = 0; i < 2000; i++)
            hist_record(h, (uint64_t)llround((base + gsl_ran_exponential(rng, mu)) * 1e6));
        stats_summary s = {.n = (size_t)hist_count(h), .mean = hist_mean(h) / 1e6, .stdev = hist_stdev(h) / 1e6};
        stats_fill_ci(&s, hist_rank_ms, h);
        assert_true(s.p95_ci.ok && s.p99_ci.ok);
        double q95 = base - mu * log(0.05), q99 = base - mu * log(0.01);
        cov95 += s.p95_ci.lo <= q95 && q95 <= s.p95_ci.hi;
        cov99 += s.p99_ci.lo <= q99 && q99 <= s.p99_ci.hi;
    }
    hist_destroy(h);
    gsl_rng_free(rng);
    print_message("histogram coverage of 100: p95 %d p99 %d\n", cov95, cov99);
    assert_in_range(cov95, 90, DRAWS);
    assert_in_range(cov99, 90, DRAWS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_values),
        cmocka_unit_test(test_single_value),
        cmocka_unit_test(test_two_values),
        cmocka_unit_test(test_thousand_and_one_values),
        cmocka_unit_test(test_irregular_values),
        cmocka_unit_test(test_empty_is_zero_filled),
        cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_percentile_bounds),
        cmocka_unit_test(test_ci_ranks_median_of_100),
        cmocka_unit_test(test_ci_ranks_follow_binomial),
        cmocka_unit_test(test_ci_needs_enough_samples),
        cmocka_unit_test(test_ci_ranks_large_n),
        cmocka_unit_test(test_ci_coverage_exact_samples),
        cmocka_unit_test(test_ci_coverage_histogram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
