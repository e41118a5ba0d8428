/*
 * Unit tests for arrival_: constant offsets exact to the ns with no drift, Poisson gaps with the
 * exponential's mean and variance, repeatability by seed, dispersion of counts per window (Poisson
 * ≈ mean, constant ≈ 0), argument checks, and saturation instead of overflow. Shapes (issue 19):
 * gamma gaps with the asked coefficient of variation and mean, ramps whose per-second counts follow
 * the documented curves, and deals whose shares add up to exactly the one process.
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
#include "llmload/bench.h"
#include "llmload/config.h"
#include "llmload/error.h"
#include "llmload/workers.h"

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

static arrival *new_spec(const arrival_spec *spec)
{
    arrival *a = NULL;
    assert_int_equal(arrival_create_spec(&a, spec), 0);
    assert_non_null(a);
    return a;
}

/* Mean and coefficient of variation of n gaps. */
static void gap_moments(arrival *a, int n, double *mean, double *cv)
{
    uint64_t prev = arrival_next_ns(a);
    double sum = 0, sumsq = 0;
    for (int i = 0; i < n; i++) {
        uint64_t t = arrival_next_ns(a);
        assert_true(t >= prev);
        double gap = (double)(t - prev) / 1e9;
        sum += gap;
        sumsq += gap * gap;
        prev = t;
    }
    *mean = sum / n;
    double var = (sumsq - sum * sum / n) / (n - 1);
    *cv = sqrt(var) / *mean;
}

static void test_gamma_burstiness(void **state)
{
    (void)state;
    /* --burstiness K: gaps of shape K, mean 1/rate, CV 1/sqrt(K). Over 10,000 draws, K = 0.25 gives
     * a CV within 10% of 2 and K = 1 within 10% of 1; the mean within 5% (K = 0.25: sd of the
     * mean is 2/sqrt(10^4) = 2%, so 5% is 2.5 sd). Several seeds, so one lucky seed cannot pass. */
    const uint64_t seeds[] = {1, 42, 20240611};
    const struct {
        double shape, cv;
    } cases[] = {{0.25, 2.0}, {1.0, 1.0}, {4.0, 0.5}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
            arrival_spec sp = {.kind = ARRIVAL_GAMMA, .rate = 20.0, .shape = cases[c].shape, .seed = seeds[s]};
            arrival *a = new_spec(&sp);
            double mean, cv;
            gap_moments(a, 10000, &mean, &cv);
            print_message("gamma K=%g seed %llu: mean %.5g (want 0.05), cv %.4g (want %g)\n", cases[c].shape,
                          (unsigned long long)seeds[s], mean, cv, cases[c].cv);
            assert_rel(mean, 0.05, 0.05);
            assert_rel(cv, cases[c].cv, 0.10);
            arrival_destroy(a);
        }
    }
    /* The exponential process, for comparison: CV 1 too. */
    arrival *p = new_arrival(ARRIVAL_POISSON, 20.0, 7);
    double mean, cv;
    gap_moments(p, 10000, &mean, &cv);
    assert_rel(cv, 1.0, 0.10);
    arrival_destroy(p);
    /* A bad shape is refused. */
    const double bad[] = {0.0, -1.0, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        arrival_spec sp = {.kind = ARRIVAL_GAMMA, .rate = 1.0, .shape = bad[i]};
        arrival *a = NULL;
        assert_int_equal(arrival_create_spec(&a, &sp), LL_EINVAL);
        assert_null(a);
    }
}

/* Arrivals of a constant process at rate 100 ramped over 10 s, counted per second for 12 s. */
static void ramp_counts(arrival_ramp ramp, unsigned counts[12])
{
    arrival_spec sp = {.kind = ARRIVAL_CONSTANT, .rate = 100.0, .ramp = ramp, .ramp_s = 10.0};
    arrival *a = new_spec(&sp);
    for (int i = 0; i < 12; i++)
        counts[i] = 0;
    uint64_t prev = 0;
    for (;;) {
        uint64_t t = arrival_next_ns(a);
        assert_true(t >= prev);
        prev = t;
        if (t >= 12 * 1000000000ULL)
            break;
        counts[t / 1000000000ULL]++;
    }
    arrival_destroy(a);
}

static void test_ramp_curves(void **state)
{
    (void)state;
    /* The count in second i is rate * (G(i+1) - G(i)), G the integral of the ramp's share:
     * linear G(t) = t^2 / 2S; exponential (e^(a(t-S)) - e^(-aS)) / a, a = 10 ln 2 / S. A constant
     * process puts every count within 1 of it; past the ramp, the full rate. */
    unsigned c[12];
    ramp_counts(ARRIVAL_RAMP_LINEAR, c);
    for (int i = 0; i < 10; i++) {
        double want = 100.0 * ((i + 1.0) * (i + 1.0) - (double)i * i) / 20.0;
        print_message("linear second %d: %u (want %.2f)\n", i, c[i], want);
        assert_near(c[i], want, 1.0);
    }
    assert_near(c[10], 100, 1.0);
    assert_near(c[11], 100, 1.0);
    ramp_counts(ARRIVAL_RAMP_EXPONENTIAL, c);
    double k = 10 * log(2) / 10.0;
    for (int i = 0; i < 10; i++) {
        double want = 100.0 * (exp(k * (i + 1 - 10)) - exp(k * (i - 10))) / k;
        print_message("exponential second %d: %u (want %.2f)\n", i, c[i], want);
        assert_near(c[i], want, 1.0);
    }
    assert_near(c[10], 100, 1.0);
    /* The share the closed loop follows. */
    assert_near(arrival_ramp_share(ARRIVAL_RAMP_LINEAR, 10, 5), 0.5, 1e-12);
    assert_near(arrival_ramp_share(ARRIVAL_RAMP_EXPONENTIAL, 10, 0), 1.0 / 1024, 1e-12);
    assert_near(arrival_ramp_share(ARRIVAL_RAMP_EXPONENTIAL, 10, 9), 0.5, 1e-12);
    assert_near(arrival_ramp_share(ARRIVAL_RAMP_LINEAR, 10, 11), 1.0, 0);
    assert_near(arrival_ramp_share(ARRIVAL_RAMP_NONE, 0, 0), 1.0, 0);
    arrival_spec bad = {.kind = ARRIVAL_POISSON, .rate = 1.0, .ramp = ARRIVAL_RAMP_LINEAR, .ramp_s = 0};
    arrival *a = NULL;
    assert_int_equal(arrival_create_spec(&a, &bad), LL_EINVAL);
}

static void test_deal_is_the_one_process(void **state)
{
    (void)state;
    /* Three shares of one gamma process (stride 3, offsets 0..2), merged, are the whole process
     * arrival for arrival: what --workers 3 sends with --burstiness. */
    enum { N = 3000 };
    arrival_spec whole = {.kind = ARRIVAL_GAMMA, .rate = 50.0, .shape = 0.25, .seed = 9};
    arrival *w = new_spec(&whole);
    arrival *share[3];
    for (uint64_t k = 0; k < 3; k++) {
        arrival_spec sp = whole;
        sp.deal_stride = 3;
        sp.deal_offset = k;
        share[k] = new_spec(&sp);
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(arrival_next_ns(share[i % 3]), arrival_next_ns(w));
    for (int k = 0; k < 3; k++)
        arrival_destroy(share[k]);
    arrival_destroy(w);
    arrival_spec bad = whole;
    bad.deal_stride = 2;
    bad.deal_offset = 2;
    arrival *a = NULL;
    assert_int_equal(arrival_create_spec(&a, &bad), LL_EINVAL);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_workers_deal_gamma(void **state)
{
    (void)state;
    /* --burstiness with --shard I/2 and --workers 3: workers_split deals the one gamma process
     * (the shard's share dealt again), as bench.c builds each loop's arrivals from its plan. The
     * six loops' arrivals, merged, are the whole process; each loop's prompts keep their own seed. */
    enum { PER = 500, LOOPS = 6 };
    config cfg;
    assert_int_equal(config_init(&cfg), 0);
    bench_plan plan = {.schedule = CONFIG_SCHED_POISSON, .rate = 50, .burstiness = 0.25, .seed = 7, .max_seconds = 10};
    static uint64_t got[PER * LOOPS];
    size_t n = 0;
    uint64_t seeds[LOOPS];
    for (size_t shard = 0; shard < 2; shard++) {
        bench_plan sh;
        assert_true(workers_split(&plan, &cfg, 2, shard, &sh));
        sh.seed = 1000 * (shard + 1); /* cmd_run gives each shard its own seed (shard_seed) */
        for (size_t k = 0; k < 3; k++) {
            bench_plan w;
            assert_true(workers_split(&sh, &cfg, 3, k, &w));
            assert_near(w.rate, 50, 0);
            assert_int_equal(w.deal_stride, 6);
            seeds[shard * 3 + k] = w.seed;
            arrival_spec sp = {.kind = ARRIVAL_GAMMA, .rate = w.rate, .shape = w.burstiness, .seed = w.deal_seed,
                               .deal_stride = w.deal_stride, .deal_offset = w.deal_offset};
            arrival *a = new_spec(&sp);
            for (int i = 0; i < PER; i++)
                got[n++] = arrival_next_ns(a);
            arrival_destroy(a);
        }
    }
    for (int i = 0; i < LOOPS; i++)
        for (int j = i + 1; j < LOOPS; j++)
            assert_int_not_equal(seeds[i], seeds[j]);
    qsort(got, n, sizeof *got, cmp_u64);
    arrival_spec whole = {.kind = ARRIVAL_GAMMA, .rate = 50, .shape = 0.25, .seed = 7};
    arrival *a = new_spec(&whole);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], arrival_next_ns(a));
    arrival_destroy(a);
    config_free(&cfg);
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
        cmocka_unit_test(test_gamma_burstiness),
        cmocka_unit_test(test_ramp_curves),
        cmocka_unit_test(test_deal_is_the_one_process),
        cmocka_unit_test(test_workers_deal_gamma),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
