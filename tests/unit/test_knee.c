/* Unit tests for the knee (knee.h): the two-segment fit on synthetic curves (an exact hinge, a
 * sweep whose last point queued, a queueing curve, curves with no upturn), the 2x fallback for
 * few points, input order and bad points, and the report document's "sweep.knee". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "llmload/knee.h"

static void test_exact_hinge(void **state)
{
    (void)state;
    /* log10 TTFT flat at 50 ms up to 6 req/s, then up by 0.3 per req/s: the knee is 6. */
    double x[10], y[10];
    for (int i = 0; i < 10; i++) {
        x[i] = i + 1;
        y[i] = 50 * pow(10, x[i] > 6 ? 0.3 * (x[i] - 6) : 0);
    }
    knee_result k;
    knee_find(x, y, 10, &k);
    assert_int_equal(k.rule, KNEE_FIT);
    if (fabs(k.x - 6) > 0.05)
        fail_msg("knee %g, want 6", k.x);
    assert_int_equal(k.point, 5);
    assert_true(fabs(k.slope_low) < 1e-9 && fabs(k.slope_high - 0.3) < 1e-6 && k.rmse < 1e-6);
    assert_true(fabs(k.intercept - log10(50)) < 1e-9);
    assert_int_equal(k.n, 10);

    /* Breakpoint between two points: flat to 6.5, found on the grid. */
    for (int i = 0; i < 10; i++)
        y[i] = 50 * pow(10, x[i] > 6.5 ? 0.3 * (x[i] - 6.5) : 0);
    knee_find(x, y, 10, &k);
    assert_int_equal(k.rule, KNEE_FIT);
    if (fabs(k.x - 6.5) > 0.05)
        fail_msg("knee %g, want 6.5", k.x);
    assert_int_equal(k.point, 5);
}

static void test_sweep_with_queued_top(void **state)
{
    (void)state;
    /* A sweep on a simulator: synchronous, evenly spaced points with flat TTFT (a little noise),
     * then the throughput point, whose TTFT is that of a long queue. The knee is the last point
     * before it, within one step of the capacity (the throughput point's rate). */
    double x[] = {2.4, 9.5, 16.6, 23.7, 30.8, 37.9, 45.0, 52.1};
    double y[] = {21.1, 21.4, 20.9, 21.6, 22.0, 21.3, 23.1, 2400};
    knee_result k;
    knee_find(x, y, 8, &k);
    assert_int_equal(k.rule, KNEE_FIT);
    assert_true(k.slope_high > k.slope_low);
    if (!(fabs(52.1 - k.x) <= 1.1 * 7.1))
        fail_msg("knee %g not within a step (7.1) of 52.1", k.x);
    assert_true(k.point == 5 || k.point == 6);
}

static void test_queueing_curve(void **state)
{
    (void)state;
    /* TTFT of a queue, 20 / (1 - rho), at rho = 0.1 .. 0.95: the knee is where it bends up, in the
     * upper part of the range, and below the last point. */
    double x[12], y[12];
    for (int i = 0; i < 12; i++) {
        double rho = i < 11 ? 0.1 + 0.08 * i : 0.97;
        x[i] = 100 * rho;
        y[i] = 20 / (1 - rho);
    }
    knee_result k;
    knee_find(x, y, 12, &k);
    assert_int_equal(k.rule, KNEE_FIT);
    if (!(k.x > 50 && k.x < 97))
        fail_msg("knee %g", k.x);
}

static void test_no_upturn(void **state)
{
    (void)state;
    double x[] = {1, 2, 3, 4, 5, 6};
    double flat[] = {30, 30, 30, 30, 30, 30};
    double down[] = {60, 50, 40, 35, 33, 32};
    double line[] = {10, 20, 40, 80, 160, 320}; /* log-linear: one straight segment fits */
    knee_result k;
    knee_find(x, flat, 6, &k);
    assert_int_equal(k.rule, KNEE_NONE);
    assert_true(isnan(k.x));
    knee_find(x, down, 6, &k);
    assert_int_equal(k.rule, KNEE_NONE);
    knee_find(x, line, 6, &k);
    assert_int_equal(k.rule, KNEE_NONE);
    assert_string_equal(knee_rule_name(KNEE_NONE), "none");
}

static void test_fallback_and_input(void **state)
{
    (void)state;
    /* Three points: the 2x rule (the highest rate within 2x of the lightest point's TTFT). */
    double x[] = {9, 1, 5}, y[] = {500, 40, 70};
    knee_result k;
    knee_find(x, y, 3, &k);
    assert_int_equal(k.rule, KNEE_FALLBACK_2X);
    assert_true(k.x == 5 && k.point == 2);
    assert_string_equal(knee_rule_name(k.rule), "ttft p50 within 2x");

    /* One point or none: no knee. */
    knee_find(x, y, 1, &k);
    assert_int_equal(k.rule, KNEE_NONE);
    knee_find(x, y, 0, &k);
    assert_int_equal(k.rule, KNEE_NONE);

    /* Order does not matter, and points without a value are left out. */
    double xs[] = {3, 8, 1, 5, 7, 2, 4, 6, NAN, 9};
    double ys[10];
    for (int i = 0; i < 10; i++)
        ys[i] = 50 * pow(10, xs[i] > 6 ? 0.3 * (xs[i] - 6) : 0);
    ys[4] = NAN;   /* x = 7 */
    ys[6] = 0;     /* x = 4 */
    knee_find(xs, ys, 10, &k);
    assert_int_equal(k.rule, KNEE_FIT);
    assert_int_equal(k.n, 7);
    if (fabs(k.x - 6) > 0.05)
        fail_msg("knee %g", k.x);
    assert_int_equal(k.point, 7); /* x = 6 in the caller's order */
}

/* An open-loop point at rate, or a closed-loop one (sent rate * 1.5, completed rate). */
static cJSON *bench(const char *name, double rate, double p95, double count)
{
    cJSON *b = cJSON_CreateObject();
    int open = strncmp(name, "constant", 8) == 0;
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddStringToObject(b, "schedule", open ? "constant" : name);
    cJSON_AddNumberToObject(b, "achieved_rate", open ? rate : 1.5 * rate);
    cJSON *m = cJSON_AddObjectToObject(b, "metrics");
    cJSON_AddNumberToObject(m, "request_throughput", open ? 0.9 * rate : rate);
    cJSON *t = cJSON_AddObjectToObject(m, "ttft_ms");
    cJSON_AddNumberToObject(t, "count", count);
    cJSON_AddNumberToObject(t, "p50", p95);
    return b;
}

static void test_doc(void **state)
{
    (void)state;
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "benchmarks");
    cJSON_AddItemToArray(arr, bench("synchronous", 2.4, 21, 10));
    cJSON_AddItemToArray(arr, bench("throughput", 52.1, 2400, 100));
    cJSON_AddItemToArray(arr, bench("constant@9.5", 9.5, 21.4, 30));
    cJSON_AddItemToArray(arr, bench("constant@20", 20, 21.2, 60));
    cJSON_AddItemToArray(arr, bench("constant@30", 30, 21.9, 90));
    cJSON_AddItemToArray(arr, bench("constant@45", 45, 22.8, 130));
    cJSON_AddItemToArray(arr, bench("broken", 60, 0, 0)); /* nothing completed: left out */
    assert_int_equal(knee_annotate(doc), 0);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "sweep"), "knee");
    assert_non_null(k);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(k, "rule")->valuestring, "two-segment fit");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(k, "benchmark")->valuestring, "constant@45");
    double rate = cJSON_GetObjectItemCaseSensitive(k, "rate")->valuedouble;
    assert_true(rate >= 45 && rate < 52.1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(k, "points")->valueint, 6);
    const cJSON *fit = cJSON_GetObjectItemCaseSensitive(k, "fit");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(fit, "slope_low")) &&
                cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(fit, "slope_high")) &&
                cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(fit, "rmse")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(fit, "y")->valuestring, "log10(ttft_p50_ms)");
    /* Annotating again replaces the object, not adds a second. */
    assert_int_equal(knee_annotate(doc), 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "sweep")), 1);
    cJSON_Delete(doc);

    /* No knee: rate and benchmark are null, no fit figures when there was no fit. */
    knee_result none = {.rule = KNEE_NONE, .x = NAN, .intercept = NAN, .slope_low = NAN, .slope_high = NAN, .rmse = NAN};
    cJSON *o = NULL;
    assert_int_equal(knee_to_json(&none, NULL, &o), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "rate")) &&
                cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "benchmark")) &&
                !cJSON_GetObjectItemCaseSensitive(o, "fit"));
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_hinge),
        cmocka_unit_test(test_sweep_with_queued_top),
        cmocka_unit_test(test_queueing_curve),
        cmocka_unit_test(test_no_upturn),
        cmocka_unit_test(test_fallback_and_input),
        cmocka_unit_test(test_doc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
