/* Unit tests for breakdown: measured records grouped by turn or model, with counts, exact latency
 * summaries and output throughput per group; records outside the window or outside any session are
 * left out; the JSON names each group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <string.h>

#include "assert_near.h"
#include "llmload/breakdown.h"

#define MS 1000000ull

static void add(record_log *log, uint16_t turn, uint8_t model, int status, uint64_t ttft_ms, int measured)
{
    record r;
    memset(&r, 0, sizeof r);
    r.turn = turn;
    r.session = turn ? 1 : 0;
    r.model = model;
    r.status = (uint8_t)status;
    r.measured = (uint8_t)measured;
    r.sent_ns = 1000 * MS;
    r.first_token_ns = r.sent_ns + ttft_ms * MS;
    r.end_ns = r.first_token_ns + 100 * MS;
    r.itl_count = 10;
    r.itl_sum_ns = 10 * 5 * MS; /* 5 ms a gap */
    r.output_tokens = 11;
    assert_int_equal(record_log_append(log, &r, status == RECORD_ERROR ? "boom" : ""), 0);
}

static void test_by_turn(void **state)
{
    (void)state;
    record_log log = {0};
    add(&log, 1, 0, RECORD_OK, 100, 1);
    add(&log, 1, 0, RECORD_OK, 120, 1);
    add(&log, 2, 0, RECORD_OK, 20, 1);
    add(&log, 2, 0, RECORD_ERROR, 0, 1);
    add(&log, 3, 0, RECORD_OK, 30, 1);
    add(&log, 3, 0, RECORD_INCOMPLETE, 0, 1);
    add(&log, 3, 0, RECORD_OK, 999, 0); /* outside the measured window */
    add(&log, 0, 0, RECORD_OK, 999, 1); /* not part of a session */
    breakdown b;
    assert_int_equal(breakdown_compute(&log, BREAKDOWN_TURN, NULL, 0, 2.0, &b), 0);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.groups[0].key, 1);
    assert_int_equal(b.groups[0].requests, 2);
    assert_int_equal(b.groups[0].completed, 2);
    assert_near(b.groups[0].ttft_ms.p50, 110.0, 1e-9);
    assert_near(b.groups[0].itl_ms.mean, 5.0, 1e-9);
    assert_near(b.groups[0].e2e_ms.max, 220.0, 1e-9);
    assert_near(b.groups[0].output_token_throughput, 22.0 / 2.0, 1e-9);
    assert_int_equal(b.groups[1].key, 2);
    assert_int_equal(b.groups[1].requests, 2);
    assert_int_equal(b.groups[1].errors, 1);
    assert_int_equal(b.groups[1].ttft_ms.n, 1);
    assert_near(b.groups[1].ttft_ms.p50, 20.0, 1e-9);
    assert_int_equal(b.groups[2].key, 3);
    assert_int_equal(b.groups[2].requests, 2);
    assert_int_equal(b.groups[2].incomplete, 1);
    assert_near(b.groups[2].ttft_ms.max, 30.0, 1e-9);

    cJSON *o = cJSON_CreateObject();
    assert_non_null(o);
    assert_int_equal(breakdown_to_json(&b, BREAKDOWN_TURN, o, "by_turn"), 0);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "by_turn");
    assert_int_equal(cJSON_GetArraySize(arr), 3);
    const cJSON *g2 = cJSON_GetArrayItem(arr, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(g2, "turn")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(g2, "errors")->valueint, 1);
    assert_near(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g2, "ttft_ms"), "p50")->valuedouble,
                20.0, 1e-9);
    cJSON_Delete(o);
    breakdown_free(&b);
    breakdown_free(&b); /* safe twice */
    record_log_free(&log);
}

static void test_by_model(void **state)
{
    (void)state;
    record_log log = {0};
    add(&log, 0, 0, RECORD_OK, 10, 1);
    add(&log, 0, 2, RECORD_OK, 30, 1);
    add(&log, 0, 2, RECORD_OK, 50, 1);
    const char *names[] = {"small", "unused", "large"};
    breakdown b;
    assert_int_equal(breakdown_compute(&log, BREAKDOWN_MODEL, names, 3, 0, &b), 0);
    assert_int_equal(b.n, 2); /* only models that were asked */
    assert_string_equal(b.groups[0].name, "small");
    assert_string_equal(b.groups[1].name, "large");
    assert_near(b.groups[1].ttft_ms.mean, 40.0, 1e-9);
    assert_near(b.groups[1].output_token_throughput, 0.0, 0); /* no window given */
    cJSON *o = cJSON_CreateObject();
    assert_int_equal(breakdown_to_json(&b, BREAKDOWN_MODEL, o, "by_model"), 0);
    const cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "by_model"), 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(g, "model")->valuestring, "large");
    cJSON_Delete(o);
    breakdown_free(&b);
    /* Without names the index stands in; an empty log gives no groups. */
    assert_int_equal(breakdown_compute(&log, BREAKDOWN_MODEL, NULL, 0, 1, &b), 0);
    assert_null(b.groups[1].name);
    breakdown_free(&b);
    record_log empty = {0};
    assert_int_equal(breakdown_compute(&empty, BREAKDOWN_TURN, NULL, 0, 1, &b), 0);
    assert_int_equal(b.n, 0);
    breakdown_free(&b);
    record_log_free(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_turn),
        cmocka_unit_test(test_by_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
