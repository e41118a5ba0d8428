/* Unit tests for the live snapshot (merging worker loops, the ITL fold, the Prometheus text) and the
 * Pushgateway group URL (plain and base64 job names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/live.h"
#include "llmload/report_push.h"

static live_snapshot snap(uint64_t start, uint64_t started, uint64_t done, uint64_t in_flight)
{
    live_snapshot s;
    live_snapshot_begin(&s, "concurrent@4", "concurrent", start);
    s.started = started;
    s.completed = done;
    s.in_flight = in_flight;
    return s;
}

static void test_merge_sums_same_benchmark_newest_wins(void **state)
{
    (void)state;
    live_snapshot acc;
    memset(&acc, 0, sizeof acc);
    live_snapshot a = snap(100, 10, 8, 2), b = snap(100, 7, 5, 2), old = snap(50, 99, 99, 0), none;
    memset(&none, 0, sizeof none);
    live_ttft_add(&a, 20000000);
    live_ttft_add(&b, 30000000);
    live_snapshot_merge(&acc, &old);
    assert_int_equal(acc.started, 99);
    live_snapshot_merge(&acc, &a); /* newer: replaces the idle loop's old benchmark */
    live_snapshot_merge(&acc, &b);
    live_snapshot_merge(&acc, &old); /* older: ignored */
    live_snapshot_merge(&acc, &none); /* never ran: ignored */
    assert_int_equal(acc.start_ns, 100);
    assert_int_equal(acc.started, 17);
    assert_int_equal(acc.completed, 13);
    assert_int_equal(acc.in_flight, 4);
    assert_int_equal(acc.ttft.count, 2);
    assert_string_equal(acc.benchmark, "concurrent@4");
}

static int render(const live_snapshot *s, const char *model, char **text)
{
    size_t len;
    FILE *f = open_memstream(text, &len);
    assert_non_null(f);
    int rc = live_render(s, model, f);
    assert_int_equal(fclose(f), 0);
    return rc;
}

static void test_render(void **state)
{
    (void)state;
    char *text = NULL;
    live_snapshot s;
    memset(&s, 0, sizeof s);
    assert_int_equal(render(&s, "m", &text), 0);
    assert_null(strstr(text, "llmload_live_requests")); /* before the first benchmark: no samples */
    free(text);

    s = snap(1, 5, 3, 2);
    live_ttft_add(&s, 20000000);   /* 20 ms: in (10 ms, 25 ms] */
    live_ttft_add(&s, 120000000000); /* 2 min: above every bound */
    assert_int_equal(render(&s, "od\"d\\\nm", &text), 0);
    const char *labels = "benchmark=\"concurrent@4\",schedule=\"concurrent\",model=\"od\\\"d\\\\\\nm\"";
    char want[512];
    snprintf(want, sizeof want, "llmload_live_requests_started_total{%s} 5\n", labels);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "llmload_live_requests_in_flight{%s} 2\n", labels);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "llmload_live_ttft_seconds_bucket{%s,le=\"0.01\"} 0\n", labels);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "llmload_live_ttft_seconds_bucket{%s,le=\"0.025\"} 1\n", labels);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "llmload_live_ttft_seconds_bucket{%s,le=\"60\"} 1\n", labels);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "llmload_live_ttft_seconds_bucket{%s,le=\"+Inf\"} 2\n", labels);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "llmload_live_ttft_seconds_sum{%s} 120.02\n", labels);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "# TYPE llmload_live_requests_completed_total counter\n"));
    assert_non_null(strstr(text, "# TYPE llmload_live_inter_token_gap_seconds histogram\n"));
    free(text);
}

static void test_itl_fold(void **state)
{
    (void)state;
    hist *h;
    assert_int_equal(hist_create(&h), 0);
    hist_record_n(h, 4000000, 3);  /* 4 ms: counted under le=0.005 */
    hist_record(h, 10000000);      /* 10 ms: its bucket's top is above 10 ms -> le=0.015 */
    hist_record(h, 9000000000ULL); /* 9 s: above every bound */
    live_snapshot s = snap(1, 0, 0, 0);
    live_itl_fold(&s, h);
    assert_int_equal(s.itl.count, 5);
    char *text = NULL;
    assert_int_equal(render(&s, "m", &text), 0);
    assert_non_null(strstr(text, "le=\"0.0025\"} 0\n"));
    assert_non_null(strstr(text, "le=\"0.005\"} 3\n"));
    assert_non_null(strstr(text, "le=\"0.01\"} 3\n"));
    assert_non_null(strstr(text, "le=\"0.015\"} 4\n"));
    assert_non_null(strstr(text, "le=\"5\"} 4\n"));
    assert_non_null(strstr(text, "_gap_seconds_count{benchmark=\"concurrent@4\",schedule=\"concurrent\",model=\"m\"} 5\n"));
    free(text);
    /* A refold replaces, it does not add. */
    live_itl_fold(&s, h);
    assert_int_equal(s.itl.count, 5);
    hist_destroy(h);
}

static void test_slot_round_trip(void **state)
{
    (void)state;
    live_slot *slot;
    assert_int_equal(live_slot_create(&slot), 0);
    live_snapshot in = snap(42, 3, 2, 1), out;
    live_slot_load(slot, &out);
    assert_int_equal(out.start_ns, 0); /* zeroed before the first store */
    live_slot_store(slot, &in);
    live_slot_load(slot, &out);
    assert_int_equal(out.start_ns, 42);
    assert_int_equal(out.completed, 2);
    live_slot_destroy(slot);
    live_slot_destroy(NULL);
}

static void test_push_url(void **state)
{
    (void)state;
    char *url;
    assert_int_equal(report_push_url("http://pg:9091", "llmload", &url), 0);
    assert_string_equal(url, "http://pg:9091/metrics/job/llmload");
    free(url);
    assert_int_equal(report_push_url("http://pg:9091", "nightly-1.2_x", &url), 0);
    assert_string_equal(url, "http://pg:9091/metrics/job/nightly-1.2_x");
    free(url);
    /* '/' and ' ' cannot travel plainly: base64url, padded (RFC 4648 section 5). */
    assert_int_equal(report_push_url("http://pg", "a/b c", &url), 0);
    assert_string_equal(url, "http://pg/metrics/job@base64/YS9iIGM=");
    free(url);
    assert_int_equal(report_push_url("http://pg", "/var/tmp", &url), 0);
    assert_string_equal(url, "http://pg/metrics/job@base64/L3Zhci90bXA=");
    free(url);
    /* The URL-safe alphabet: 62 is '-', 63 is '_'. */
    assert_int_equal(report_push_url("http://pg", "\x3f\x3f>", &url), 0);
    assert_string_equal(url, "http://pg/metrics/job@base64/Pz8-");
    free(url);
    assert_int_equal(report_push_url("http://pg", "\xff", &url), 0);
    assert_string_equal(url, "http://pg/metrics/job@base64/_w==");
    free(url);
    assert_int_equal(report_push_url("http://pg", "", &url), LL_EINVAL);
    assert_null(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_sums_same_benchmark_newest_wins),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_itl_fold),
        cmocka_unit_test(test_slot_round_trip),
        cmocka_unit_test(test_push_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
