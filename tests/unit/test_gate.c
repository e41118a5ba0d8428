/* Unit tests for SLO rules: parsing and units, per-request checks (goodput), and the verdicts
 * written into a report document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/gate.h"

static void test_parse_errors(void **state)
{
    (void)state;
    const struct {
        const char *spec, *needle;
    } bad[] = {
        {"", "no rules"},
        {"ttft_p95", "no comparison"},
        {"ttft_p42<=5ms", "unknown metric"},
        {"speed<=5", "unknown metric"},
        {"ttft_p95<=fast", "non-negative number"},
        {"ttft_p95<=-1ms", "non-negative number"},
        {"ttft_p95<=5min", "unit must be ms, s or us"},
        {"error_rate<=1ms", "fraction or a percentage"},
        {"request_throughput>=5%", "plain number"},
        {"ttft_p95<=5ms,,e2e_p50<=1s", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gate *g = NULL;
        char err[256] = "";
        assert_int_equal(gate_parse(&g, bad[i].spec, err, sizeof err), LL_EUSAGE);
        assert_null(g);
        if (!strstr(err, bad[i].needle))
            fail_msg("spec '%s': error '%s' lacks '%s'", bad[i].spec, err, bad[i].needle);
        assert_null(strchr(err, '\n'));
    }
}

/* A benchmark object with the fields the rules read. */
static cJSON *bench(double ttft_p95, size_t ttft_count, double error_rate, double rps)
{
    cJSON *b = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(b, "metrics");
    cJSON *t = cJSON_AddObjectToObject(m, "ttft_ms");
    cJSON_AddNumberToObject(t, "count", (double)ttft_count);
    cJSON_AddNumberToObject(t, "p95", ttft_p95);
    cJSON_AddNumberToObject(m, "request_throughput", rps);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(b, "requests"), "error_rate", error_rate);
    return b;
}

static int rule_passed(const cJSON *b, int i)
{
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "slo"), "rules");
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rules, i), "passed"));
}

static void test_evaluate_units_and_verdicts(void **state)
{
    (void)state;
    gate *g;
    char err[256];
    /* 0.5 s = 500 ms; 1% = 0.01 */
    assert_int_equal(gate_parse(&g, "ttft_p95<=0.5s, error_rate<1%,request_throughput>=10", err, sizeof err), 0);
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "benchmarks");
    cJSON_AddItemToArray(arr, bench(500.0, 10, 0.0, 10.0));  /* all pass (<= and >= are inclusive) */
    cJSON_AddItemToArray(arr, bench(500.1, 10, 0.0, 12.0));  /* ttft broken */
    cJSON_AddItemToArray(arr, bench(100.0, 10, 0.01, 12.0)); /* error_rate 1% is not < 1% */
    cJSON_AddItemToArray(arr, bench(0.0, 0, 0.0, 12.0));     /* no ttft samples: nothing met it */
    assert_int_equal(gate_evaluate(g, doc), 3);
    cJSON *b0 = cJSON_GetArrayItem(arr, 0), *b1 = cJSON_GetArrayItem(arr, 1), *b2 = cJSON_GetArrayItem(arr, 2),
          *b3 = cJSON_GetArrayItem(arr, 3);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b0, "slo"), "passed")));
    assert_false(rule_passed(b1, 0));
    assert_true(rule_passed(b1, 1));
    assert_false(rule_passed(b2, 1));
    assert_false(rule_passed(b3, 0));
    const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b1, "slo"), "rules"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(r0, "rule")->valuestring, "ttft_p95<=0.5s");
    assert_float_equal(cJSON_GetObjectItemCaseSensitive(r0, "threshold")->valuedouble, 500.0, 1e-9);
    assert_float_equal(cJSON_GetObjectItemCaseSensitive(r0, "value")->valuedouble, 500.1, 1e-9);
    /* Evaluating again replaces the verdicts rather than adding a second "slo". */
    assert_int_equal(gate_evaluate(g, doc), 3);
    assert_int_equal(cJSON_GetArraySize(b0), 3); /* metrics, requests, slo */
    cJSON_Delete(doc);
    gate_destroy(g);
}

static void test_request_rules(void **state)
{
    (void)state;
    gate *g;
    char err[256];
    assert_int_equal(gate_parse(&g, "ttft_p99<=100ms,tpot_mean<=10ms,error_rate<=5%", err, sizeof err), 0);
    assert_true(gate_has_request_rules(g));
    record r;
    memset(&r, 0, sizeof r);
    r.status = RECORD_OK;
    r.sent_ns = 1000000000ULL;
    r.first_token_ns = r.sent_ns + 80000000ULL;  /* ttft 80 ms */
    r.end_ns = r.first_token_ns + 90000000ULL;   /* 10 tokens: tpot 90/9 = 10 ms */
    r.output_tokens = 10;
    assert_true(gate_request_ok(g, &r));
    r.end_ns += 1000000ULL; /* tpot 91/9 > 10 ms */
    assert_false(gate_request_ok(g, &r));
    r.end_ns -= 1000000ULL;
    r.first_token_ns = r.sent_ns + 101000000ULL; /* ttft 101 ms */
    assert_false(gate_request_ok(g, &r));
    r.first_token_ns = r.sent_ns + 80000000ULL;
    r.status = RECORD_ERROR; /* a failed request is never good */
    assert_false(gate_request_ok(g, &r));
    gate_destroy(g);
    assert_int_equal(gate_parse(&g, "error_rate<=1%", err, sizeof err), 0);
    assert_false(gate_has_request_rules(g));
    gate_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_evaluate_units_and_verdicts),
        cmocka_unit_test(test_request_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
