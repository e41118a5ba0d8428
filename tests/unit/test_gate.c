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

static cJSON *doc_of(const char *name, double ttft_p95, double rps, double error_rate)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *b = bench(ttft_p95, 10, error_rate, rps);
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "benchmarks"), b);
    return doc;
}

static int row_regressed(const cJSON *res, const char *metric)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(res, "comparisons"))
        if (strcmp(cJSON_GetObjectItemCaseSensitive(row, "metric")->valuestring, metric) == 0)
            return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "regressed"));
    fail_msg("no row for %s", metric);
    return -1;
}

static void test_compare(void **state)
{
    (void)state;
    const char *ms[] = {"ttft_p95", "request_throughput", "error_rate"};
    char err[256];
    cJSON *res = NULL;
    cJSON *base = doc_of("poisson@10", 100.0, 10.0, 0.0);
    /* +9% latency, -9% throughput, error rate 0 -> 0.0005: all within 10% (and the noise floor). */
    cJSON *ok_c = doc_of("poisson@10", 109.0, 9.1, 0.0005);
    assert_int_equal(gate_compare(base, ok_c, 0.10, ms, 3, &res, err, sizeof err), 0);
    assert_false(row_regressed(res, "ttft_p95"));
    assert_false(row_regressed(res, "error_rate"));
    cJSON_Delete(res);
    /* +11% latency, -11% throughput, error rate 0 -> 2%: three regressions. */
    cJSON *bad = doc_of("poisson@10", 111.0, 8.9, 0.02);
    assert_int_equal(gate_compare(base, bad, 0.10, ms, 3, &res, err, sizeof err), 3);
    assert_true(row_regressed(res, "ttft_p95"));
    assert_true(row_regressed(res, "request_throughput"));
    const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "comparisons"), 0);
    assert_float_equal(cJSON_GetObjectItemCaseSensitive(row, "change")->valuedouble, 0.11, 1e-9);
    cJSON_Delete(res);
    /* Faster candidate: an improvement is never a regression. */
    cJSON *fast = doc_of("poisson@10", 50.0, 20.0, 0.0);
    assert_int_equal(gate_compare(base, fast, 0.0, ms, 3, &res, err, sizeof err), 0);
    cJSON_Delete(res);
    /* Defaults, a benchmark only in the baseline, unknown metric, nothing in common. */
    cJSON *other = doc_of("poisson@20", 100.0, 10.0, 0.0);
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(other, "benchmarks"),
                         cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(base, "benchmarks"), 0), 1));
    cJSON *two = cJSON_Duplicate(other, 1);
    assert_int_equal(gate_compare(two, base, 0.1, NULL, 0, &res, err, sizeof err), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "missing")), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "comparisons")), 9);
    cJSON_Delete(res);
    const char *unknown[] = {"ttft_p42"};
    assert_int_equal(gate_compare(base, ok_c, 0.1, unknown, 1, &res, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "ttft_p42"));
    cJSON *lone = doc_of("constant@5", 1, 1, 0);
    assert_int_equal(gate_compare(base, lone, 0.1, ms, 3, &res, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "no benchmark name in common"));
    cJSON_Delete(base);
    cJSON_Delete(ok_c);
    cJSON_Delete(bad);
    cJSON_Delete(fast);
    cJSON_Delete(other);
    cJSON_Delete(two);
    cJSON_Delete(lone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_evaluate_units_and_verdicts),
        cmocka_unit_test(test_request_rules),
        cmocka_unit_test(test_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
