/* Unit tests for the SLO search's decisions (search.h), driven by made-up servers: a latency that
 * grows like a queue's as the rate nears capacity, streams, a server that fails everywhere or
 * nowhere, probes within noise, and the probe limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/search.h"

/* A made-up server: latency(x) = base / (1 - x / cap), rule latency <= limit (and optionally a
 * second rule that breaks at x2). */
typedef struct oracle {
    double base, cap, limit;
    double x2;             /* second rule: x <= x2 (NAN: none) */
    double noise_from, noise_to; /* probes in [from, to] are within noise the first time */
} oracle;

static void judge(const oracle *o, double x, int longer, search_probe *p)
{
    memset(p, 0, sizeof *p);
    double lat = x < o->cap ? o->base / (1 - x / o->cap) : INFINITY;
    p->margin[0] = isfinite(lat) ? (o->limit - lat) / o->limit : -1e9;
    p->n_rules = 1;
    p->passed = lat <= o->limit;
    if (!isnan(o->x2)) {
        p->margin[1] = (o->x2 - x) / o->x2;
        p->n_rules = 2;
        p->passed &= x <= o->x2;
    }
    p->indeterminate = !longer && x >= o->noise_from && x <= o->noise_to;
}

/* Runs the search against o; returns the probes made; checks every probe's bounds on the way. */
static size_t drive(search *s, const oracle *o, const search_opts *so)
{
    double x;
    int longer;
    size_t n = 0;
    while (search_next(s, &x, &longer)) {
        assert_true(n < SEARCH_MAX_PROBES);
        if (!(x >= so->lowest && x <= so->highest))
            fail_msg("probe %zu at %g outside [%g, %g]", n, x, so->lowest, so->highest);
        if (so->integer && x != floor(x))
            fail_msg("probe %zu at %g is not a whole number", n, x);
        search_probe p;
        judge(o, x, longer, &p);
        assert_int_equal(search_record(s, &p), 0);
        n++;
    }
    assert_int_equal(search_count(s), n);
    return n;
}

static void test_rate_converges(void **state)
{
    (void)state;
    /* latency 10 ms at no load, limit 30 ms: crossing at 2/3 of capacity (66.67 req/s). */
    oracle o = {.base = 10, .cap = 100, .limit = 30, .x2 = NAN, .noise_from = 1, .noise_to = 0};
    search_opts so = {.start = 100, .lowest = 100.0 / 64, .highest = 100, .precision = 0.05};
    search *s = NULL;
    assert_int_equal(search_create(&s, &so), 0);
    size_t n = drive(s, &o, &so);
    search_outcome r;
    search_result(s, &r);
    double truth = 200.0 / 3;
    assert_int_equal(r.stop, SEARCH_STOP_PRECISION);
    if (!(r.rate <= truth && r.fail_rate > truth))
        fail_msg("bracket [%g, %g] does not hold the crossing %g", r.rate, r.fail_rate, truth);
    if (!(r.precision <= 0.05 && (truth - r.rate) / truth <= 0.05))
        fail_msg("rate %g, precision %g: not within 5%% of %g", r.rate, r.precision, truth);
    /* Fewer probes than a sweep at 5% steps over [start/2, start] (14 points). */
    if (n > 8)
        fail_msg("%zu probes", n);
    assert_int_equal(r.limited_by, 0);
    assert_int_equal(search_probe_at(s, (size_t)r.best)->x, r.rate);
    search_destroy(s);
}

static void test_two_rules_limited_by_first_crossing(void **state)
{
    (void)state;
    /* The queue rule crosses at 66.7; the second at 40: the second limits. */
    oracle o = {.base = 10, .cap = 100, .limit = 30, .x2 = 40, .noise_from = 1, .noise_to = 0};
    search_opts so = {.start = 100, .lowest = 1, .highest = 100, .precision = 0.02};
    search *s = NULL;
    assert_int_equal(search_create(&s, &so), 0);
    drive(s, &o, &so);
    search_outcome r;
    search_result(s, &r);
    assert_int_equal(r.stop, SEARCH_STOP_PRECISION);
    assert_int_equal(r.limited_by, 1);
    if (!(r.rate <= 40 && r.rate >= 40 * 0.98))
        fail_msg("rate %g", r.rate);
    search_destroy(s);
}

static void test_streams(void **state)
{
    (void)state;
    /* Over streams, the crossing at 5.5: the answer is 5, the lowest failing 6. */
    oracle o = {.base = 1, .cap = 1e9, .limit = 2, .x2 = 5.5, .noise_from = 1e9, .noise_to = 0};
    search_opts so = {.start = 1, .lowest = 1, .highest = 512, .precision = 0.05, .integer = 1};
    search *s = NULL;
    assert_int_equal(search_create(&s, &so), 0);
    size_t n = drive(s, &o, &so);
    search_outcome r;
    search_result(s, &r);
    assert_int_equal(r.stop, SEARCH_STOP_PRECISION);
    assert_true(r.rate == 5 && r.fail_rate == 6);
    assert_true(n <= 7); /* 1, 2, 4, 8, then 6 and 5 (or 5 and 6) */
    search_destroy(s);
}

static void test_cannot_bracket(void **state)
{
    (void)state;
    /* Every rate breaks the rule: halving down to the lowest, then "below". */
    oracle bad = {.base = 100, .cap = 1e9, .limit = 30, .x2 = NAN, .noise_from = 1, .noise_to = 0};
    search_opts so = {.start = 64, .lowest = 1, .highest = 64, .precision = 0.05};
    search *s = NULL;
    assert_int_equal(search_create(&s, &so), 0);
    size_t n = drive(s, &bad, &so);
    search_outcome r;
    search_result(s, &r);
    assert_int_equal(r.stop, SEARCH_STOP_BELOW);
    assert_true(isnan(r.rate) && r.best == -1 && r.fail_rate == 1);
    assert_int_equal(n, 7); /* 64, 32, ..., 1 */
    assert_int_equal(r.limited_by, 0);
    search_destroy(s);

    /* Every rate meets it: the start (the highest) passes, one probe, "above". */
    oracle good = {.base = 1, .cap = 1e9, .limit = 30, .x2 = NAN, .noise_from = 1, .noise_to = 0};
    assert_int_equal(search_create(&s, &so), 0);
    assert_int_equal(drive(s, &good, &so), 1);
    search_result(s, &r);
    assert_int_equal(r.stop, SEARCH_STOP_ABOVE);
    assert_true(r.rate == 64 && isnan(r.fail_rate) && r.limited_by == -1);
    search_destroy(s);
}

static void test_noise_reruns_once(void **state)
{
    (void)state;
    /* Probes between 60 and 70 are within noise the first time: each is run again, longer, at
     * the same point, and only the rerun's verdict steers. */
    oracle o = {.base = 10, .cap = 100, .limit = 30, .x2 = NAN, .noise_from = 60, .noise_to = 70};
    search_opts so = {.start = 100, .lowest = 1, .highest = 100, .precision = 0.05};
    search *s = NULL;
    assert_int_equal(search_create(&s, &so), 0);
    drive(s, &o, &so);
    size_t reruns = 0;
    for (size_t i = 0; i < search_count(s); i++) {
        const search_probe *p = search_probe_at(s, i);
        if (p->indeterminate) {
            assert_int_equal(search_used(s, i), -1);
            assert_true(i + 1 < search_count(s));
            const search_probe *q = search_probe_at(s, i + 1);
            assert_true(q->longer && q->x == p->x);
            assert_int_equal(search_used(s, i + 1), q->passed);
            reruns++;
        } else if (!p->longer) {
            assert_int_equal(search_used(s, i), p->passed);
        }
    }
    assert_true(reruns >= 1);
    search_outcome r;
    search_result(s, &r);
    assert_true(r.rate <= 200.0 / 3 && r.fail_rate > 200.0 / 3);
    search_destroy(s);
}

static void test_probe_limit(void **state)
{
    (void)state;
    /* Every probe within noise (and the reruns decide): at 0.1% precision the search runs out of
     * probes first, and says so. */
    oracle o = {.base = 10, .cap = 100, .limit = 30, .x2 = NAN, .noise_from = 0, .noise_to = 1e9};
    search_opts so = {.start = 100, .lowest = 1, .highest = 100, .precision = 0.001};
    search *s = NULL;
    assert_int_equal(search_create(&s, &so), 0);
    assert_int_equal(drive(s, &o, &so), SEARCH_MAX_PROBES);
    search_outcome r;
    search_result(s, &r);
    assert_int_equal(r.stop, SEARCH_STOP_MAX_PROBES);
    assert_true(r.rate < 200.0 / 3 && r.fail_rate > 200.0 / 3 && r.precision > 0.001);
    assert_string_equal(search_stop_name(r.stop), "probe limit reached");
    search_destroy(s);
}

static void test_api_edges(void **state)
{
    (void)state;
    search *s = NULL;
    search_opts bad = {.start = 10, .lowest = 0, .highest = 10, .precision = 0.05};
    assert_int_equal(search_create(&s, &bad), LL_EINVAL);
    bad.lowest = 20; /* above highest */
    assert_int_equal(search_create(&s, &bad), LL_EINVAL);
    bad.lowest = 1;
    bad.precision = 0;
    assert_int_equal(search_create(&s, &bad), LL_EINVAL);
    assert_null(s);

    /* No start point (the throughput point completed nothing): nothing to probe. */
    search_opts none = {.start = 0, .lowest = 1, .highest = 1, .precision = 0.05};
    assert_int_equal(search_create(&s, &none), 0);
    double x;
    int longer;
    assert_int_equal(search_next(s, &x, &longer), 0);
    search_outcome r;
    search_result(s, &r);
    assert_int_equal(r.stop, SEARCH_STOP_NO_START);
    assert_true(isnan(r.rate) && r.best == -1);
    search_destroy(s);

    /* A record with no probe asked for, and too many margins, are refused; asking twice gives the
     * same probe. */
    search_opts so = {.start = 8, .lowest = 1, .highest = 8, .precision = 0.05};
    assert_int_equal(search_create(&s, &so), 0);
    search_probe p = {.passed = 1, .n_rules = 1};
    assert_int_equal(search_record(s, &p), LL_EINVAL);
    double x2;
    int l2;
    assert_int_equal(search_next(s, &x, &longer), 1);
    assert_int_equal(search_next(s, &x2, &l2), 1);
    assert_true(x == 8 && x2 == 8 && !longer && !l2);
    p.n_rules = SEARCH_MAX_RULES + 1;
    assert_int_equal(search_record(s, &p), LL_EINVAL);
    p.n_rules = 1;
    assert_int_equal(search_record(s, &p), 0);
    search_destroy(s);
    search_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_converges),
        cmocka_unit_test(test_two_rules_limited_by_first_crossing),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_cannot_bracket),
        cmocka_unit_test(test_noise_reruns_once),
        cmocka_unit_test(test_probe_limit),
        cmocka_unit_test(test_api_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
