/* Unit tests for the calibration's fit and what the source builds with its costs: the line fit
 * (exact, noisy, degenerate), and calibrated prompts that the simulator's sub-word count puts on
 * the asked length, where uncalibrated ones (a word per token) miss it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/sim/sim_tokenize.h"
#include "llmload/calibrate.h"
#include "llmload/config.h"
#include "llmload/error.h"
#include "llmload/source.h"

static void test_fit_exact(void **state)
{
    (void)state;
    const double x[] = {0, 10, 20}, y[] = {32, 47, 62};
    double a, b;
    assert_int_equal(calibrate_fit_line(x, y, 3, &a, &b), 0);
    assert_true(fabs(a - 1.5) < 1e-9);
    assert_true(fabs(b - 32) < 1e-9);
}

static void test_fit_noisy(void **state)
{
    (void)state;
    /* y = 1.25x + 5 with +-1 alternating: least squares recovers the slope closely. */
    double x[40], y[40], a, b;
    for (int i = 0; i < 40; i++) {
        x[i] = i * 10;
        y[i] = 1.25 * x[i] + 5 + (i % 2 ? 1 : -1);
    }
    assert_int_equal(calibrate_fit_line(x, y, 40, &a, &b), 0);
    if (fabs(a - 1.25) > 0.01 || fabs(b - 5) > 1.0)
        fail_msg("fit a=%g b=%g, expected 1.25 and 5", a, b);
}

static void test_fit_degenerate(void **state)
{
    (void)state;
    const double x[] = {3, 3, 3}, y[] = {1, 2, 3};
    double a = 0, b = 0;
    assert_int_equal(calibrate_fit_line(x, y, 3, &a, &b), LL_EINVAL);
    assert_int_equal(calibrate_fit_line(x, y, 1, &a, &b), LL_EINVAL);
}

/* Costs as calibration finds them on the simulator: a run of n letters costs ceil(n/4), a
 * punctuation byte 1, and an overhead of template + marker ("id" and 16 hex digits: 5 tokens). */
static void sim_costs(source_costs *c, double template_tokens)
{
    memset(c, 0, sizeof *c);
    c->overhead = template_tokens + 5;
    for (size_t n = 1; n < SOURCE_RUN_CLASSES; n++)
        c->run[n] = (double)((n + 3) / 4);
    c->punct = 1;
}

static long built_count(const source_costs *costs, double asked, double template_tokens, long prefix, int *max_err)
{
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = asked;
    d.prompt_tokens_stdev = asked / 10;
    d.prefix_tokens = prefix;
    d.costs = costs;
    source *s = NULL;
    char err[256];
    assert_int_equal(source_create(&s, &d, 11, err, sizeof err), 0);
    long worst = 0;
    for (int i = 0; i < 50; i++) {
        source_request r;
        assert_int_equal(source_next(s, &r), 0);
        assert_true(r.prompt_len <= source_max_prompt_bytes(s));
        long got = (long)sim_tokenize_count(r.prompt, r.prompt_len) + (long)template_tokens;
        long diff = labs(got - r.prompt_tokens_asked);
        if (diff > worst)
            worst = diff;
        assert_int_equal(r.prompt_tokens, r.prompt_tokens_asked);
    }
    source_destroy(s);
    *max_err = (int)worst;
    return worst;
}

static void test_calibrated_prompts_land(void **state)
{
    (void)state;
    source_costs c;
    sim_costs(&c, 27);
    static const double asked[] = {64, 300, 3000};
    for (size_t i = 0; i < 3; i++) {
        int worst;
        built_count(&c, asked[i], 27, 0, &worst);
        /* The simulator's costs are whole tokens and many words cost 1: the fill is exact. */
        if (worst > 0)
            fail_msg("asked %g: a built prompt missed by %d tokens", asked[i], worst);
    }
    /* A shared prefix is counted in tokens too. */
    int worst;
    built_count(&c, 300, 27, 40, &worst);
    assert_int_equal(worst, 0);
}

static void test_uncalibrated_prompts_miss(void **state)
{
    (void)state;
    /* The same source without costs builds a word per asked token: the sub-word count is well over. */
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 300;
    source *s = NULL;
    char err[256];
    assert_int_equal(source_create(&s, &d, 11, err, sizeof err), 0);
    source_request r;
    assert_int_equal(source_next(s, &r), 0);
    assert_true(sim_tokenize_count(r.prompt, r.prompt_len) > 400);
    assert_int_equal(r.prompt_tokens_asked, 300);
    source_destroy(s);
}

static void test_fractional_costs(void **state)
{
    (void)state;
    /* A BPE-like target: runs about 1.1 tokens, punctuation 0.7, 31 tokens of overhead. The built
     * prompt's cost by the same table lands within half a token plus one word of the ask. */
    source_costs c;
    memset(&c, 0, sizeof c);
    c.overhead = 31;
    for (size_t n = 1; n < SOURCE_RUN_CLASSES; n++)
        c.run[n] = 1.0 + (double)(n % 3) * 0.1;
    c.punct = 0.7;
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 300;
    d.costs = &c;
    source *s = NULL;
    char err[256];
    assert_int_equal(source_create(&s, &d, 5, err, sizeof err), 0);
    for (int i = 0; i < 20; i++) {
        source_request r;
        assert_int_equal(source_next(s, &r), 0);
        double cost = c.overhead;
        /* Words after the marker, each by the same rule. */
        const char *p = memchr(r.prompt, ' ', r.prompt_len);
        while (p && p < r.prompt + r.prompt_len) {
            const char *w = p + 1, *e = memchr(w, ' ', (size_t)(r.prompt + r.prompt_len - w));
            size_t n = e ? (size_t)(e - w) : (size_t)(r.prompt + r.prompt_len - w);
            cost += source_word_cost(&c, w, n);
            p = e;
        }
        if (fabs(cost - 300) > 0.5 + 1.2)
            fail_msg("prompt %d costs %g for 300 asked", i, cost);
    }
    source_destroy(s);
}

/* The fixed vocabulary's costs follow from the classes (trace replay builds its blocks from it). */
static void test_vocabulary_costs(void **state)
{
    (void)state;
    source_costs c;
    sim_costs(&c, 0);
    source_costs_derive_words(&c);
    for (size_t k = 0; k < SOURCE_VOCAB_SIZE; k++) {
        const char *w = source_vocab_word(k);
        assert_true(strlen(w) >= 2);
        assert_float_equal(c.word[k], (double)sim_tokenize_count(w, strlen(w)), 1e-9);
    }
    assert_string_equal(source_vocab_word(0), "the");
    assert_string_equal(source_vocab_word(SOURCE_VOCAB_SIZE), "");
}

static void test_method_names(void **state)
{
    (void)state;
    assert_string_equal(calibrate_method_name(CALIBRATE_NONE), "none");
    assert_string_equal(calibrate_method_name(CALIBRATE_TOKENIZE), "tokenize");
    assert_string_equal(calibrate_method_name(CALIBRATE_PROBE), "probe");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_exact),
        cmocka_unit_test(test_fit_noisy),
        cmocka_unit_test(test_fit_degenerate),
        cmocka_unit_test(test_calibrated_prompts_land),
        cmocka_unit_test(test_uncalibrated_prompts_miss),
        cmocka_unit_test(test_fractional_costs),
        cmocka_unit_test(test_vocabulary_costs),
        cmocka_unit_test(test_method_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
