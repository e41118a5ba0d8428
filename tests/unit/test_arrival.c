/*
 * Unit tests for arrival_: constant offsets exact to the ns with no drift, Poisson gaps with the
 * exponential's mean and variance, repeatability by seed, dispersion of counts per window (Poisson
 * ≈ mean, constant ≈ 0), argument checks, and saturation instead of overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "llmload/arrival.h"
#include "llmload/error.h"

#include "assert_near.h"


static arrival *new_arrival(arrival_kind kind, double rate, uint64_t seed)
{
    arrival *a = NULL;
    assert_int_equal(arrival_create(&a, kind, rate, seed), 0);
    assert_non_null(a);
    return a;
}

static void test_constant_offsets_exact(void **state)
{
    (void)state;
    /* 4 req/s: every 250 ms exactly; 1000 req/s: every 1 ms; 0.5 req/s: every 2 s. */
    const struct {
        double rate;
        uint64_t gap;
    } cases[] = {{4.0, 250000000ULL}, {1000.0, 1000000ULL}, {0.5, 2000000000ULL}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        arrival *a = new_arrival(ARRIVAL_CONSTANT, cases[c].rate, 1);
        for (uint64_t k = 0; k < 10000; k++)
            assert_int_equal(arrival_next_ns(a), k * cases[c].gap);
        arrival_destroy(a);
    }
}

static void test_constant_no_drift(void **state)
{
    (void)state;
    /* 3 req/s: k·1e9/3 ns is not whole. Each offset must be k·1e9/3 rounded to nearest, i.e.
     * (k·1e9 + 1) / 3 in integers (remainder 1 rounds down, remainder 2 up), all the way to
     * k = 10^7, beyond where a double holds k·1e9 exactly (2^53 ≈ 9·10^15), so adding a rounded
     * period, or rounding through double, would show. */
    arrival *a = new_arrival(ARRIVAL_CONSTANT, 3.0, 1);
    for (uint64_t k = 0; k < 10000000; k++) {
        uint64_t got = arrival_next_ns(a), want = (k * 1000000000ULL + 1) / 3;
        if (got != want)
            assert_int_equal(got, want); /* only on failure: keeps the loop cheap under ASan */
    }
    arrival_destroy(a);
}

static void test_poisson_moments(void **state)
{
    (void)state;
    /* 10,000 exponential gaps: mean within 3% of 1/rate (about 3 standard errors: sd of the mean is
     * 1/sqrt(10^4) = 1%), variance within 6% of 1/rate^2 (sd of a sample variance of exponentials
     * is sqrt(8/10^4) ≈ 2.8%). */
    const double rates[] = {0.5, 10.0, 1000.0, 50000.0};
    const uint64_t seeds[] = {1, 42, 20240611};
    enum { GAPS = 10000 };
    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
            arrival *a = new_arrival(ARRIVAL_POISSON, rates[r], seeds[s]);
            uint64_t prev = arrival_next_ns(a);
            assert_int_equal(prev, 0); /* the first request goes at the start */
            double sum = 0, sumsq = 0;
            for (int i = 0; i < GAPS; i++) {
                uint64_t t = arrival_next_ns(a);
                assert_true(t >= prev);
                double gap = (double)(t - prev) / 1e9;
                sum += gap;
                sumsq += gap * gap;
                prev = t;
            }
            double mean = sum / GAPS;
            double var = (sumsq - sum * sum / GAPS) / (GAPS - 1);
            print_message("rate %g seed %llu: mean %.6g (want %.6g), var %.6g (want %.6g)\n",
                          rates[r], (unsigned long long)seeds[s], mean, 1 / rates[r], var,
                          1 / (rates[r] * rates[r]));
            assert_rel(mean, 1.0 / rates[r], 0.03);
            assert_rel(var, 1.0 / (rates[r] * rates[r]), 0.06);
            arrival_destroy(a);
        }
    }
}

static void test_poisson_non_decreasing_at_high_rate(void **state)
{
    (void)state;
    /* 10^9 req/s: gaps of about 1 ns, many of which round to the same ns; order must hold. */
    arrival *a = new_arrival(ARRIVAL_POISSON, 1e9, 5);
    uint64_t prev = arrival_next_ns(a), equal = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t t = arrival_next_ns(a);
        if (t < prev)
            assert_true(t >= prev);
        equal += t == prev;
        prev = t;
    }
    assert_true(equal > 0);           /* the case this test is about did occur */
    assert_in_range(prev, 90000, 110000); /* 10^5 gaps of 1 ns on average */
    arrival_destroy(a);
}

static int same_sequence(uint64_t seed_a, uint64_t seed_b)
{
    arrival *a = new_arrival(ARRIVAL_POISSON, 100.0, seed_a);
    arrival *b = new_arrival(ARRIVAL_POISSON, 100.0, seed_b);
    int same = 1;
    for (int i = 0; i < 1000; i++)
        if (arrival_next_ns(a) != arrival_next_ns(b))
            same = 0;
    arrival_destroy(a);
    arrival_destroy(b);
    return same;
}

static void test_seed_repeats_schedule(void **state)
{
    (void)state;
    assert_true(same_sequence(1, 1));
    assert_true(same_sequence(987654321, 987654321));
    assert_false(same_sequence(1, 2));
    assert_false(same_sequence(0, 4357)); /* GSL's mt19937 alone maps seed 0 to 4357 */
    /* all 64 bits of --seed count (mt19937 alone keeps only the low 32) */
    assert_false(same_sequence(1, 1 + (1ULL << 32)));
}

static void test_seed_stream_is_not_raw_mt19937(void **state)
{
    (void)state;
    /* The same --seed feeds the prompt source. If arrival seeded mt19937 with it directly, its gaps
     * would be exactly the exponentials drawn from that raw stream (and correlated with whatever
     * else draws from it). They must differ. */
    for (uint64_t seed = 1; seed <= 5; seed++) {
        gsl_rng *raw = gsl_rng_alloc(gsl_rng_mt19937);
        assert_non_null(raw);
        gsl_rng_set(raw, (unsigned long)seed);
        arrival *a = new_arrival(ARRIVAL_POISSON, 1.0, seed);
        arrival_next_ns(a); /* 0 */
        uint64_t ours = arrival_next_ns(a);
        uint64_t theirs = (uint64_t)nearbyint(gsl_ran_exponential(raw, 1.0) * 1e9);
        assert_int_not_equal(ours, theirs);
        arrival_destroy(a);
        gsl_rng_free(raw);
    }
}

/* Variance / mean of the number of arrivals in each whole 1 s window of `n` arrivals. */
static double dispersion(arrival *a, int n, double *mean_out)
{
    enum { MAX_WIN = 4096 };
    static unsigned counts[MAX_WIN];
    for (int i = 0; i < MAX_WIN; i++)
        counts[i] = 0;
    uint64_t t = 0;
    for (int i = 0; i < n; i++) {
        t = arrival_next_ns(a);
        uint64_t w = t / 1000000000ULL;
        if (w < MAX_WIN)
            counts[w]++;
    }
    /* the last window may be cut short by the last arrival: leave it out */
    uint64_t wins = t / 1000000000ULL;
    assert_true(wins > 100 && wins <= MAX_WIN);
    double sum = 0, sumsq = 0;
    for (uint64_t w = 0; w < wins; w++) {
        sum += counts[w];
        sumsq += (double)counts[w] * counts[w];
    }
    double mean = sum / (double)wins;
    double var = (sumsq - sum * sum / (double)wins) / (double)(wins - 1);
    *mean_out = mean;
    return var / mean;
}

static void test_dispersion(void **state)
{
    (void)state;
    /* Poisson at 10/s: counts per second are Poisson(10), variance = mean, index 1. Over ~1000
     * windows the index has sd about sqrt((2 + 1/10)/1000) ≈ 0.046, so [0.8, 1.2] is over 4 sd. */
    const uint64_t seeds[] = {1, 42, 20240611};
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        double mean;
        arrival *a = new_arrival(ARRIVAL_POISSON, 10.0, seeds[s]);
        double d = dispersion(a, 10000, &mean);
        print_message("poisson seed %llu: mean %.4g per window, dispersion %.4g\n",
                      (unsigned long long)seeds[s], mean, d);
        assert_rel(mean, 10.0, 0.05);
        assert_in_range((long)(d * 1000), 800, 1200);
        arrival_destroy(a);
    }
    /* Constant at 10/s: exactly 10 in every window, variance 0. */
    double mean;
    arrival *c = new_arrival(ARRIVAL_CONSTANT, 10.0, 1);
    double d = dispersion(c, 10000, &mean);
    assert_near(mean, 10.0, 0.0);
    assert_near(d, 0.0, 0.0);
    arrival_destroy(c);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    const double bad[] = {0.0, -0.0, -1.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (int kind = ARRIVAL_CONSTANT; kind <= ARRIVAL_POISSON; kind++) {
            arrival *a = (arrival *)&bad; /* not NULL, so the test sees create clear it */
            assert_int_equal(arrival_create(&a, (arrival_kind)kind, bad[i], 1), LL_EINVAL);
            assert_null(a);
        }
    }
    arrival *a = NULL;
    assert_int_equal(arrival_create(&a, (arrival_kind)7, 10.0, 1), LL_EINVAL);
    assert_null(a);
    assert_int_equal(arrival_create(NULL, ARRIVAL_POISSON, 10.0, 1), LL_EINVAL);
    arrival_destroy(NULL);
}

static void test_saturates_instead_of_overflowing(void **state)
{
    (void)state;
    /* 10^-12 req/s: the second arrival is 10^21 ns away, past 2^64 - 1 ≈ 1.8·10^19. */
    arrival *c = new_arrival(ARRIVAL_CONSTANT, 1e-12, 1);
    assert_int_equal(arrival_next_ns(c), 0);
    assert_int_equal(arrival_next_ns(c), UINT64_MAX);
    assert_int_equal(arrival_next_ns(c), UINT64_MAX);
    arrival_destroy(c);
    arrival *p = new_arrival(ARRIVAL_POISSON, 1e-12, 1);
    assert_int_equal(arrival_next_ns(p), 0);
    uint64_t prev = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t t = arrival_next_ns(p);
        assert_true(t >= prev);
        prev = t;
    }
    assert_int_equal(prev, UINT64_MAX);
    arrival_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant_offsets_exact),
        cmocka_unit_test(test_constant_no_drift),
        cmocka_unit_test(test_poisson_moments),
        cmocka_unit_test(test_poisson_non_decreasing_at_high_rate),
        cmocka_unit_test(test_seed_repeats_schedule),
        cmocka_unit_test(test_seed_stream_is_not_raw_mt19937),
        cmocka_unit_test(test_dispersion),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_saturates_instead_of_overflowing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
