/*
 * Unit tests for earlystop_: the error-rate rule over its window with its minimum of ended
 * requests, and the saturation rule (in flight and TTFT rising while completions stay flat)
 * firing on an overloaded open loop and not on a steady one or a healthy ramp (Little's law), fed
 * synthetic records and ticks, so no timing is involved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "llmload/clock.h"
#include "llmload/earlystop.h"
#include "llmload/error.h"
#include "llmload/record.h"

#include "assert_near.h"

#define T0 (1000 * CLOCK_NS_PER_S)
#define MS CLOCK_NS_PER_MS

static earlystop *make(double max_err, double err_win, int sat, double sat_win)
{
    earlystop_opts o = {.max_error_rate = max_err, .error_window_s = err_win, .saturated = sat,
                        .saturation_window_s = sat_win};
    earlystop *es = NULL;
    assert_int_equal(earlystop_create(&es, &o), 0);
    earlystop_begin(es, T0);
    return es;
}

static void add(record_log *log, uint64_t end_ns, int error, double ttft_ms)
{
    record r;
    memset(&r, 0, sizeof r);
    r.status = error ? RECORD_ERROR : RECORD_OK;
    r.end_ns = end_ns;
    r.sent_ns = end_ns - 200 * MS - (uint64_t)(ttft_ms * 1e6);
    r.first_token_ns = r.sent_ns + (uint64_t)(ttft_ms * 1e6);
    assert_int_equal(record_log_append(log, &r, ""), 0);
}

/* Second s: n requests end (every err-th one an error), TTFT ttft_ms, in_flight at its 10 ticks.
 * Returns s when a rule fired during it (judging the whole seconds before it), else 0. */
static uint64_t second(earlystop *es, record_log *log, uint64_t s, int n, int err, double ttft_ms, double in_flight,
                       earlystop_evidence *ev)
{
    uint64_t fired = 0;
    for (int tick = 0; tick < 10; tick++) {
        uint64_t now = T0 + s * CLOCK_NS_PER_S + (uint64_t)tick * 100 * MS + 50 * MS;
        for (int i = tick * n / 10; i < (tick + 1) * n / 10; i++)
            add(log, now - 10 * MS, err && i % err == 0, ttft_ms);
        if (earlystop_tick(es, now, (size_t)in_flight, log, ev) && !fired)
            fired = s;
    }
    return fired;
}

static void test_error_rate(void **state)
{
    (void)state;
    earlystop_evidence ev;
    record_log log = {0};
    earlystop *es = make(0.2, 5, 0, 10);
    /* 10 requests a second, 1 in 10 an error: 10% stays under 20% for a minute. */
    uint64_t fired = 0;
    for (uint64_t s = 0; s < 60 && !fired; s++)
        fired = second(es, &log, s, 10, 10, 50, 2, &ev);
    assert_int_equal(fired, 0);
    /* Then every second request fails: the 5 s window passes 20% within a few seconds. */
    for (uint64_t s = 60; s < 70 && !fired; s++)
        fired = second(es, &log, s, 10, 2, 50, 2, &ev);
    print_message("fired at second %llu: %llu of %llu (%.3f) over %.0f s\n", (unsigned long long)fired,
                  (unsigned long long)ev.errors, (unsigned long long)ev.ended, ev.error_rate, ev.window_s);
    assert_true(fired >= 61 && fired <= 64);
    assert_int_equal(ev.rule, EARLYSTOP_MAX_ERROR_RATE);
    assert_true(ev.error_rate > 0.2);
    assert_true(ev.ended >= EARLYSTOP_MIN_REQUESTS);
    assert_near(ev.threshold, 0.2, 1e-12);
    earlystop_destroy(es);
    record_log_free(&log);

    /* 10 errors are no judgement: fewer than the minimum have ended; cancelled and incomplete
     * requests are not counted at all (30 of them here: counted as OK, 10 of 40 would fire). */
    record_log l2 = {0};
    es = make(0.2, 1, 0, 10);
    for (int i = 0; i < 10; i++)
        add(&l2, T0 + 100 * MS, 1, 50);
    for (int i = 0; i < 30; i++) {
        add(&l2, T0 + 300 * MS, 0, 50);
        l2.items[l2.len - 1].status = i % 2 ? RECORD_CANCELLED : RECORD_INCOMPLETE;
    }
    assert_int_equal(earlystop_tick(es, T0 + 1100 * MS, 1, &l2, &ev), 0);
    assert_int_equal(earlystop_tick(es, T0 + 2100 * MS, 1, &l2, &ev), 0);
    /* A slow run: the 1 s window reaches back until 20 have ended (4 a second, half errors). */
    uint64_t f2 = 0;
    for (uint64_t s = 2; s < 12 && !f2; s++)
        f2 = second(es, &l2, s, 4, 2, 50, 1, &ev);
    print_message("slow run fired at second %llu over %.0f s (%llu ended)\n", (unsigned long long)f2, ev.window_s,
                  (unsigned long long)ev.ended);
    assert_true(f2 >= 4 && f2 <= 8);
    assert_true(ev.window_s > 1 && ev.ended >= EARLYSTOP_MIN_REQUESTS);
    earlystop_destroy(es);
    record_log_free(&l2);
}

static void test_saturation(void **state)
{
    (void)state;
    earlystop_evidence ev;
    /* Steady below capacity: 10 req/s, 2 in flight, TTFT 50 ms with a little noise: never. */
    record_log log = {0};
    earlystop *es = make(0, 10, 1, 5);
    uint64_t fired = 0;
    for (uint64_t s = 0; s < 60 && !fired; s++)
        fired = second(es, &log, s, 10 + (int)(s % 3), 0, 50 + 10 * (double)(s % 4), 2 + (double)(s % 2), &ev);
    assert_int_equal(fired, 0);
    earlystop_destroy(es);
    record_log_free(&log);

    /* A healthy ramp: the rate rises 2 req/s each second, in flight with it (Little's law, at a
     * constant latency), TTFT rising a little too: completions keep up, so never. */
    record_log l2 = {0};
    es = make(0, 10, 1, 5);
    for (uint64_t s = 0; s < 30 && !fired; s++)
        fired = second(es, &l2, s, 2 + 2 * (int)s, 0, 50 + 3 * (double)s, 0.25 * (2 + 2 * (double)s), &ev);
    assert_int_equal(fired, 0);
    earlystop_destroy(es);
    record_log_free(&l2);

    /* Overload: 12 completions a second (capacity), in flight growing 28 a second and TTFT with
     * the queue: fires as soon as the window (seconds 1-5, after the start-up second 0) is whole. */
    record_log l3 = {0};
    es = make(0, 10, 1, 5);
    for (uint64_t s = 0; s < 30 && !fired; s++)
        fired = second(es, &l3, s, 12, 0, 50 + 500 * (double)s, 28 * (double)s, &ev);
    print_message("overload fired at second %llu: in flight %+.1f/s (mean %.1f), ttft %+.1f ms/s, completed %+.2f/s\n",
                  (unsigned long long)fired, ev.in_flight_slope, ev.in_flight_mean, ev.ttft_ms_slope,
                  ev.completed_slope);
    assert_int_equal(fired, 6);
    assert_int_equal(ev.rule, EARLYSTOP_SATURATED);
    assert_near(ev.in_flight_slope, 28, 1);
    assert_near(ev.completed_slope, 0, 0.01);
    assert_true(ev.ttft_ms_slope > 400);
    assert_near(ev.window_s, 5, 0);
    earlystop_destroy(es);
    record_log_free(&l3);
}

static void test_options(void **state)
{
    (void)state;
    earlystop *es = (earlystop *)&es;
    earlystop_opts none = {0};
    assert_int_equal(earlystop_create(&es, &none), LL_EINVAL); /* no rule on */
    assert_null(es);
    earlystop_opts bad = {.saturated = 1, .saturation_window_s = 2};
    assert_int_equal(earlystop_create(&es, &bad), LL_EINVAL);
    earlystop_opts bad2 = {.max_error_rate = 0.1, .error_window_s = EARLYSTOP_MAX_WINDOW_S + 1};
    assert_int_equal(earlystop_create(&es, &bad2), LL_EINVAL);
    assert_string_equal(earlystop_rule_name(EARLYSTOP_SATURATED), "saturated");
    assert_string_equal(earlystop_rule_name(EARLYSTOP_MAX_ERROR_RATE), "max_error_rate");
    earlystop_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_rate),
        cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
