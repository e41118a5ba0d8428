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

#include "llmload/error.h"
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
