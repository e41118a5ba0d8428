/* Unit tests for SLO rules: parsing and units, per-request checks (goodput), and the verdicts
 * written into a report document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
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

/* A sweep-shaped report: synchronous plus constant points at rates[i] with TTFT p95 p95[i] (ms),
 * and each p95's interval [0.98, 1.02] of it. */
static cJSON *sweep_doc(const double *rates, const double *p95, size_t n)
{
    char buf[4096];
    size_t k = (size_t)snprintf(buf, sizeof buf,
                                "{\"benchmarks\":[{\"name\":\"synchronous\",\"schedule\":\"synchronous\","
                                "\"target_rate\":0,\"metrics\":{\"ttft_ms\":{\"count\":100,\"p95\":50}}}");
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k,
                              ",{\"name\":\"constant@%g\",\"schedule\":\"constant\",\"target_rate\":%g,"
                              "\"metrics\":{\"ttft_ms\":{\"count\":100,\"p95\":%g,\"p95_ci\":[%g,%g]}}}",
                              rates[i], rates[i], p95[i], 0.98 * p95[i], 1.02 * p95[i]);
    snprintf(buf + k, sizeof buf - k, "]}");
    return cJSON_Parse(buf);
}

static double row_num(const cJSON *res, const char *bench, const char *key)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(res, "comparisons"))
        if (strcmp(cJSON_GetObjectItemCaseSensitive(r, "benchmark")->valuestring, bench) == 0)
            return cJSON_GetObjectItemCaseSensitive(r, key)->valuedouble;
    return -1;
}

/* Sweeps at other rates: compared by curve at the common rates, each value interpolated between
 * the report's own neighbours; capacity at an SLO read where the margin crosses zero. */
static void test_compare_curve_and_capacity(void **state)
{
    (void)state;
    const double ra[] = {10, 20, 30}, pa[] = {100, 300, 900};
    const double rb[] = {15, 25, 40}, pb[] = {100, 200, 800};
    cJSON *a = sweep_doc(ra, pa, 3), *b = sweep_doc(rb, pb, 3), *res = NULL;
    assert_non_null(a);
    assert_non_null(b);
    char err[256];
    const char *m[] = {"ttft_p95"};
    assert_true(gate_compare(a, b, 0.1, m, 1, &res, err, sizeof err) >= 0);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(res, "matching");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(mt, "method")->valuestring, "curve");
    /* common range [15, 30]: rates 15, 20, 25, 30 */
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(mt, "curve_points")->valueint, 4);
    assert_true(fabs(row_num(res, "rate@20", "baseline") - 300) < 1e-9);        /* its own point */
    assert_true(fabs(row_num(res, "rate@20", "candidate") - 150) < 1e-9);       /* 100 + 5/10 * 100 */
    assert_true(fabs(row_num(res, "rate@30", "candidate") - 200 - 600.0 / 15 * 5) < 1e-9);
    assert_true(fabs(row_num(res, "rate@15", "baseline") - 200) < 1e-9);
    assert_true(row_num(res, "synchronous", "baseline") == 50);
    cJSON_Delete(res);

    /* capacity at ttft_p95 <= 500 ms: a crosses between 20 (300) and 30 (900) at 20 + 10 * 200/600;
     * b between 25 (200) and 40 (800) at 25 + 15 * 300/600 = 32.5: 39% more, an improvement. */
    gate *g = NULL;
    assert_int_equal(gate_parse(&g, "ttft_p95<=500ms", err, sizeof err), 0);
    assert_true(gate_compare(a, b, 0.1, m, 1, &res, err, sizeof err) >= 0);
    assert_int_equal(gate_compare_capacity(g, a, b, 0.1, res), 0);
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(res, "capacity");
    const cJSON *cb = cJSON_GetObjectItemCaseSensitive(cap, "baseline"), *cc = cJSON_GetObjectItemCaseSensitive(cap, "candidate");
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(cb, "rate")->valuedouble - (20 + 10 * 200.0 / 600)) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(cc, "rate")->valuedouble - 32.5) < 1e-9);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cb, "bound")->valuestring, "exact");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cb, "limited_by")->valuestring, "ttft_p95<=500ms");
    assert_true(row_num(res, "capacity", "candidate") == 32.5);
    cJSON_Delete(res);
    /* the other way round it is a regression */
    assert_true(gate_compare(b, a, 0.1, m, 1, &res, err, sizeof err) >= 0);
    assert_int_equal(gate_compare_capacity(g, b, a, 0.1, res), 1);
    cJSON_Delete(res);
    /* a threshold no point meets, and one every point meets */
    gate *g2 = NULL, *g3 = NULL;
    assert_int_equal(gate_parse(&g2, "ttft_p95<=50ms", err, sizeof err), 0);
    assert_int_equal(gate_parse(&g3, "ttft_p95<=5s", err, sizeof err), 0);
    assert_true(gate_compare(a, b, 0.1, m, 1, &res, err, sizeof err) >= 0);
    assert_int_equal(gate_compare_capacity(g2, a, b, 0.1, res), 0);
    cap = cJSON_GetObjectItemCaseSensitive(res, "capacity");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cap, "baseline"), "bound")->valuestring, "below");
    cJSON_Delete(res);
    assert_true(gate_compare(a, b, 0.1, m, 1, &res, err, sizeof err) >= 0);
    assert_int_equal(gate_compare_capacity(g3, a, b, 0.1, res), 0);
    cap = cJSON_GetObjectItemCaseSensitive(res, "capacity");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cap, "candidate"), "bound")->valuestring, "above");
    cJSON_Delete(res);
    gate_destroy(g);
    gate_destroy(g2);
    gate_destroy(g3);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* The noise rule: overlapping intervals are never a regression, however big the change. */
static void test_compare_noise(void **state)
{
    (void)state;
    cJSON *a = cJSON_Parse("{\"benchmarks\":[{\"name\":\"x\",\"metrics\":{\"ttft_ms\":{\"count\":100,"
                           "\"p95\":100,\"p95_ci\":[80,140]}}}]}");
    cJSON *b = cJSON_Parse("{\"benchmarks\":[{\"name\":\"x\",\"metrics\":{\"ttft_ms\":{\"count\":100,"
                           "\"p95\":130,\"p95_ci\":[120,160]}}}]}");
    cJSON *c = cJSON_Parse("{\"benchmarks\":[{\"name\":\"x\",\"metrics\":{\"ttft_ms\":{\"count\":100,"
                           "\"p95\":130,\"p95_ci\":[141,160]}}}]}");
    cJSON *res = NULL;
    char err[128];
    const char *m[] = {"ttft_p95"};
    assert_int_equal(gate_compare(a, b, 0.1, m, 1, &res, err, sizeof err), 0);
    const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "comparisons"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(row, "verdict")->valuestring, "within noise");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(row, "beyond_noise")));
    cJSON_Delete(res);
    assert_int_equal(gate_compare(a, c, 0.1, m, 1, &res, err, sizeof err), 1);
    row = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(res, "comparisons"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(row, "verdict")->valuestring, "regressed");
    cJSON_Delete(res);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}

/* The verdict the SLO search steers by: point verdict, relative margins, and "within noise" when
 * an interval holds the threshold and nothing is clearly broken. */
static void test_judge(void **state)
{
    (void)state;
    gate *g = NULL;
    char err[256];
    assert_int_equal(gate_parse(&g, "ttft_p95<=100ms,request_throughput>=10", err, sizeof err), 0);
    assert_int_equal(gate_rule_count(g), 2);
    assert_string_equal(gate_rule_text(g, 1), "request_throughput>=10");
    assert_string_equal(gate_rule_text(g, 2), "");
    gate_verdict v;

    /* Clear pass: p95 80 with [75, 85], 12 req/s. */
    cJSON *b = bench(80, 100, 0, 12);
    cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "metrics"), "ttft_ms"),
                          "p95_ci", cJSON_CreateDoubleArray((const double[]){75, 85}, 2));
    gate_judge(g, b, &v);
    assert_true(v.passed && !v.indeterminate && v.n == 2);
    assert_true(fabs(v.margin[0] - 0.2) < 1e-12 && fabs(v.margin[1] - 0.2) < 1e-12);
    assert_true(v.value[0] == 80 && !v.noise[0] && !v.noise[1]);
    cJSON_Delete(b);

    /* Within noise: p95 95 passes, but its interval [90, 110] holds 100. */
    b = bench(95, 100, 0, 12);
    cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "metrics"), "ttft_ms");
    cJSON_AddItemToObject(t, "p95_ci", cJSON_CreateDoubleArray((const double[]){90, 110}, 2));
    gate_judge(g, b, &v);
    assert_true(v.passed && v.indeterminate && v.noise[0]);
    cJSON_Delete(b);

    /* The same, read as broken (105), still within noise. */
    b = bench(105, 100, 0, 12);
    t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "metrics"), "ttft_ms");
    cJSON_AddItemToObject(t, "p95_ci", cJSON_CreateDoubleArray((const double[]){90, 110}, 2));
    gate_judge(g, b, &v);
    assert_true(!v.passed && v.indeterminate && v.margin[0] < 0);

    /* Another rule clearly broken (8 req/s, no interval): decided, not noise. */
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "metrics"),
                                                          "request_throughput"), 8);
    gate_judge(g, b, &v);
    assert_true(!v.passed && !v.indeterminate && fabs(v.margin[1] + 0.2) < 1e-12);
    cJSON_Delete(b);

    /* No value (nothing completed): broken, margin NAN, no interval to straddle. */
    b = bench(0, 0, 0, 12);
    gate_judge(g, b, &v);
    assert_true(!v.passed && !v.indeterminate && isnan(v.margin[0]) && isnan(v.value[0]));
    cJSON_Delete(b);
    gate_destroy(g);
}

/* `run --slo` over open-loop points: sweep.capacity where the rule's margin crosses zero, output
 * tok/s interpolated between the same two points; nothing with fewer than two points. */
static void test_sweep_capacity(void **state)
{
    (void)state;
    gate *g = NULL;
    char err[256];
    assert_int_equal(gate_parse(&g, "ttft_p95<=100ms", err, sizeof err), 0);
    const double rates[] = {10, 20, 30}, p95[] = {60, 80, 120};
    cJSON *doc = sweep_doc(rates, p95, 3);
    int i = 0;
    cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
        cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(b, "metrics"), "output_token_throughput", 100.0 * i++);
    assert_int_equal(gate_sweep_capacity(g, doc), 0);
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "sweep"), "capacity");
    assert_non_null(cap);
    /* margin 20 at 20 req/s, -20 at 30: zero at 25; output tok/s halfway from 200 to 300. */
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(cap, "rate")->valuedouble - 25) < 1e-9);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cap, "bound")->valuestring, "exact");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cap, "limited_by")->valuestring, "ttft_p95<=100ms");
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(cap, "output_token_throughput")->valuedouble - 250) < 1e-9);
    const cJSON *bt = cJSON_GetObjectItemCaseSensitive(cap, "between");
    assert_string_equal(cJSON_GetArrayItem(bt, 0)->valuestring, "constant@20");
    assert_string_equal(cJSON_GetArrayItem(bt, 1)->valuestring, "constant@30");
    cJSON_Delete(doc);

    /* One open-loop point: no curve, no capacity. */
    doc = sweep_doc(rates, p95, 1);
    assert_int_equal(gate_sweep_capacity(g, doc), 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(doc, "sweep"));
    cJSON_Delete(doc);
    gate_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_evaluate_units_and_verdicts),
        cmocka_unit_test(test_request_rules),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_compare_curve_and_capacity),
        cmocka_unit_test(test_compare_noise),
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_sweep_capacity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
