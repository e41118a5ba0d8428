/* Unit tests for the record log: messages kept beside the records, merged logs keep each record's
 * own message, and a record stays small (the per-request memory of a long run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "llmload/record.h"

static record rec(uint64_t id)
{
    record r;
    memset(&r, 0, sizeof r);
    r.id = id;
    return r;
}

static void test_messages_beside_records(void **state)
{
    (void)state;
    record_log a = {0}, b = {0};
    for (uint64_t i = 0; i < 3000; i++) { /* past the initial capacities of both arrays */
        record r = rec(i);
        r.error_ref = 99; /* whatever the caller had is replaced */
        char msg[32];
        snprintf(msg, sizeof msg, "failure %llu", (unsigned long long)i);
        assert_int_equal(record_log_append(&a, &r, i % 3 == 0 ? msg : ""), 0);
    }
    assert_int_equal(a.len, 3000);
    assert_int_equal(a.n_msgs, 1000);
    assert_string_equal(record_log_error(&a, &a.items[3]), "failure 3");
    assert_string_equal(record_log_error(&a, &a.items[4]), "");
    /* A message longer than the field is cut, not overflowed. */
    char longmsg[300];
    memset(longmsg, 'x', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    record r = rec(7);
    assert_int_equal(record_log_append(&b, &r, longmsg), 0);
    assert_int_equal(strlen(record_log_error(&b, &b.items[0])), RECORD_ERROR_MSG_MAX - 1);
    r = rec(8);
    assert_int_equal(record_log_append(&b, &r, "second"), 0);
    /* Merging keeps each record's own message. */
    assert_int_equal(record_log_extend(&a, &b), 0);
    assert_int_equal(a.len, 3002);
    assert_int_equal(strlen(record_log_error(&a, &a.items[3000])), RECORD_ERROR_MSG_MAX - 1);
    assert_string_equal(record_log_error(&a, &a.items[3001]), "second");
    assert_string_equal(record_log_error(&a, &a.items[2997]), "failure 2997");
    record_log_free(&a);
    record_log_free(&b);
    assert_null(a.items);
    assert_int_equal(a.n_msgs, 0);
}

static void test_record_stays_small(void **state)
{
    (void)state;
    /* 1,000,000 requests keep 1,000,000 records for requests.csv: each byte counts. 128 bytes
     * until the finish reason and llama.cpp's per-request timings (two counts, two times: 16
     * bytes, 16 MB per million requests) joined; a side table would cost a pointer and a lookup
     * for the same data on every request of a llama.cpp run. 152 with the connect time (4 bytes,
     * in microseconds, and the alignment of the record's 64-bit times). 160 with the workload
     * fields (session, turn, model: 8 bytes, one of them spare). */
    assert_true(sizeof(record) <= 160);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_beside_records),
        cmocka_unit_test(test_record_stays_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
