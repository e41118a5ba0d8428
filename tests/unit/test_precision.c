/*
 * Unit tests for precision_: --target-precision's parser, and the interval width it measures from
 * records in the window (the runner's once-a-second check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/precision.h"
#include "llmload/stats.h"

static void test_parse(void **state)
{
    (void)state;
    precision_target t;
    char err[256];
    assert_int_equal(precision_parse("ttft_p95=5%", &t, err, sizeof err), 0);
    assert_string_equal(t.metric, "ttft_ms");
    assert_string_equal(t.stat, "p95");
    assert_string_equal(t.name, "ttft_p95");
    assert_true(fabs(t.q - 0.95) < 1e-12 && fabs(t.rel - 0.05) < 1e-12);
    assert_int_equal(precision_parse("e2e_mean=0.02", &t, err, sizeof err), 0);
    assert_true(t.q == 0 && fabs(t.rel - 0.02) < 1e-12);
    assert_int_equal(precision_parse("itl_p999=1%", &t, err, sizeof err), 0);
    static const char *const bad[] = {"ttft_p95", "ttft=5%", "speed_p95=5%", "ttft_p97=5%", "ttft_p95=0%",
                                      "ttft_p95=100%", "ttft_p95=5%%", "ttft_p95=x", "=5%"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_equal(precision_parse(bad[i], &t, err, sizeof err), LL_EUSAGE);
        assert_non_null(strstr(err, "--target-precision"));
    }
}

/* 200 completed requests in the window with TTFT 100..299 ms (one each), plus some that must be
 * left out: before the window, errored. The width is that of stats_ over exactly the 200. */
static void test_measure_window(void **state)
{
    (void)state;
    record_log log = {0};
    const uint64_t ms = 1000000, w0 = 1000 * ms, w1 = 100000 * ms;
    for (int i = 0; i < 220; i++) {
        record r = {0};
        r.scheduled_ns = i < 10 ? w0 - ms : w0 + (uint64_t)i * ms; /* 10 in the warmup */
        r.sent_ns = r.scheduled_ns;
        r.first_token_ns = r.sent_ns + (uint64_t)(100 + (i % 200)) * ms;
        r.end_ns = r.first_token_ns + 50 * ms;
        r.status = i >= 210 ? RECORD_ERROR : RECORD_OK; /* 10 errors */
        assert_int_equal(record_log_append(&log, &r, ""), 0);
    }
    precision_target t;
    char err[128];
    assert_int_equal(precision_parse("ttft_p50=5%", &t, err, sizeof err), 0);
    double rel = -1, v[200];
    assert_int_equal(precision_measure(&t, &log, NULL, w0, w1, &rel), 1);
    /* the same 200 values by hand: indexes 10..209 give ttft 110..299 and 100..109 */
    for (int i = 10; i < 210; i++)
        v[i - 10] = (double)(100 + (i % 200));
    stats_summary s;
    assert_int_equal(stats_summarize(v, 200, &s), 0);
    double want = fmax(s.p50 - s.p50_ci.lo, s.p50_ci.hi - s.p50) / s.p50;
    assert_true(fabs(rel - want) < 1e-9);
    /* p99 of 200 samples has no interval yet: not reached, whatever the target */
    assert_int_equal(precision_parse("ttft_p99=50%", &t, err, sizeof err), 0);
    assert_int_equal(precision_measure(&t, &log, NULL, w0, w1, &rel), 0);
    record_log_free(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_measure_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
