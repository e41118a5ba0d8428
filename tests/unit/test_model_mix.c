/*
 * Unit tests for model_mix_: parsing --model lists (weights normalised, every malformed list a
 * usage error), a weighted two-model mix splitting within 3% of its weights over 10,000 draws,
 * round robin alternating exactly, repeatability by seed, the --cancel-rate coin, and the config
 * rows (--model mix, --model-order, --cancel-rate/--cancel-after-ms) with their cross checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/config.h"
#include "llmload/error.h"
#include "llmload/model_mix.h"

static void test_parse(void **state)
{
    (void)state;
    char **names;
    double *w;
    size_t n;
    int weighted;
    char why[256];
    assert_int_equal(model_mix_parse("a=0.7,b=0.3", &names, &w, &n, &weighted, why, sizeof why), 0);
    assert_int_equal(n, 2);
    assert_true(weighted);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "b");
    assert_true(fabs(w[0] - 0.7) < 1e-12 && fabs(w[1] - 0.3) < 1e-12);
    model_mix_names_free(names, n);
    free(w);
    /* Weights need not sum to 1; no weights means equal ones; one name is a mix of one. */
    assert_int_equal(model_mix_parse("x=3,y=1", &names, &w, &n, &weighted, why, sizeof why), 0);
    assert_true(fabs(w[0] - 0.75) < 1e-12);
    model_mix_names_free(names, n);
    free(w);
    assert_int_equal(model_mix_parse("org/m-1,org/m-2,m3", &names, &w, &n, &weighted, why, sizeof why), 0);
    assert_int_equal(n, 3);
    assert_false(weighted);
    assert_true(fabs(w[2] - 1.0 / 3) < 1e-12);
    assert_string_equal(names[0], "org/m-1");
    model_mix_names_free(names, n);
    free(w);
    assert_int_equal(model_mix_parse("solo", &names, &w, &n, &weighted, why, sizeof why), 0);
    assert_int_equal(n, 1);
    model_mix_names_free(names, n);
    free(w);
    static const char *const bad[] = {"a=0.7,b", "a=-1,b=2", "a=0,b=1", "a,,b", "a,a", ",", "a=", "a=x,b=1",
                                      "a=1e999,b=1", "a=nan,b=1", "=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        assert_int_equal(model_mix_parse(bad[i], &names, &w, &n, &weighted, why, sizeof why), LL_EUSAGE);
        assert_true(why[0] != '\0');
    }
}

static void test_weighted_split(void **state)
{
    (void)state;
    const double weights[] = {0.7, 0.3};
    for (uint64_t seed = 1; seed <= 5; seed++) {
        model_mix m;
        assert_int_equal(model_mix_init(&m, weights, 2, MODEL_MIX_WEIGHTED, seed), 0);
        unsigned count[2] = {0, 0};
        for (int i = 0; i < 10000; i++) {
            unsigned k = model_mix_next(&m);
            assert_true(k < 2);
            count[k]++;
        }
        /* Within 3% of each weight, relative (0.7 +- 0.021, 0.3 +- 0.009). */
        for (int k = 0; k < 2; k++) {
            double share = count[k] / 10000.0;
            if (fabs(share - weights[k]) > 0.03 * weights[k])
                fail_msg("seed %llu: model %d drew %.4f of the requests, weight %.2f", (unsigned long long)seed, k,
                         share, weights[k]);
        }
    }
}

static void test_round_robin_and_seed(void **state)
{
    (void)state;
    model_mix m, a, b;
    assert_int_equal(model_mix_init(&m, NULL, 3, MODEL_MIX_ROUND_ROBIN, 9), 0);
    for (unsigned i = 0; i < 300; i++)
        assert_int_equal(model_mix_next(&m), i % 3);
    /* The same seed repeats the draws; another seed gives another sequence. */
    assert_int_equal(model_mix_init(&a, NULL, 2, MODEL_MIX_WEIGHTED, 42), 0);
    assert_int_equal(model_mix_init(&b, NULL, 2, MODEL_MIX_WEIGHTED, 42), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(model_mix_next(&a), model_mix_next(&b));
    assert_int_equal(model_mix_init(&b, NULL, 2, MODEL_MIX_WEIGHTED, 43), 0);
    int differ = 0;
    for (int i = 0; i < 1000; i++)
        differ += model_mix_next(&a) != model_mix_next(&b);
    assert_true(differ > 100);
    /* One model: always 0. */
    assert_int_equal(model_mix_init(&m, NULL, 1, MODEL_MIX_WEIGHTED, 1), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(model_mix_next(&m), 0);
    const double badw[] = {1, -1};
    assert_int_equal(model_mix_init(&m, badw, 2, MODEL_MIX_WEIGHTED, 1), LL_EINVAL);
    assert_int_equal(model_mix_init(&m, NULL, 0, MODEL_MIX_WEIGHTED, 1), LL_EINVAL);
    assert_int_equal(model_mix_init(&m, NULL, MODEL_MIX_MAX + 1, MODEL_MIX_WEIGHTED, 1), LL_EINVAL);
}

static void test_coin(void **state)
{
    (void)state;
    model_mix_coin c;
    model_mix_coin_init(&c, 0.25, 7);
    int yes = 0;
    for (int i = 0; i < 10000; i++)
        yes += model_mix_coin_flip(&c);
    assert_true(fabs(yes / 10000.0 - 0.25) < 0.03 * 0.25 * 2);
    model_mix_coin_init(&c, 0, 7);
    for (int i = 0; i < 100; i++)
        assert_false(model_mix_coin_flip(&c));
    model_mix_coin_init(&c, 1, 7);
    for (int i = 0; i < 100; i++)
        assert_true(model_mix_coin_flip(&c));
}

static int parse(config *c, char **argv, int argc, char *err, size_t errlen)
{
    assert_int_equal(config_init(c), 0);
    return config_parse_run(c, argc, argv, err, errlen);
}

static void test_config_rows(void **state)
{
    (void)state;
    unsetenv("OPENAI_API_KEY");
    config c;
    char err[256];
    char *a1[] = {"run", "--target", "http://127.0.0.1:1", "--model", "m1=0.7,m2=0.3", NULL};
    assert_int_equal(parse(&c, a1, 5, err, sizeof err), 0);
    assert_int_equal(c.n_models, 2);
    assert_string_equal(c.model, "m1");
    assert_string_equal(c.models[1], "m2");
    assert_true(c.model_weighted);
    config_free(&c);
    /* A single name behaves as before: model set, a list of one. */
    char *a2[] = {"run", "--target", "http://127.0.0.1:1", "--model", "solo", NULL};
    assert_int_equal(parse(&c, a2, 5, err, sizeof err), 0);
    assert_string_equal(c.model, "solo");
    assert_int_equal(c.n_models, 1);
    config_free(&c);
    char *a3[] = {"run", "--target", "http://127.0.0.1:1", "--model", "a,b", "--model-order", "round-robin", NULL};
    assert_int_equal(parse(&c, a3, 7, err, sizeof err), 0);
    assert_int_equal(c.model_order, MODEL_MIX_ROUND_ROBIN);
    config_free(&c);
    char *a4[] = {"run", "--target", "http://127.0.0.1:1", "--model", "a=1,b=2", "--model-order", "round-robin", NULL};
    assert_int_equal(parse(&c, a4, 7, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "round-robin"));
    config_free(&c);
    char *a5[] = {"run", "--target", "http://127.0.0.1:1", "--model-order", "random", NULL};
    assert_int_equal(parse(&c, a5, 5, err, sizeof err), LL_EUSAGE);
    config_free(&c);
    char *a6[] = {"run", "--target", "http://127.0.0.1:1", "--cancel-rate", "0.2", "--cancel-after-ms", "150", NULL};
    assert_int_equal(parse(&c, a6, 7, err, sizeof err), 0);
    assert_true(fabs(c.cancel_rate - 0.2) < 1e-12 && fabs(c.cancel_after_s - 0.15) < 1e-12);
    config_free(&c);
    char *a7[] = {"run", "--target", "http://127.0.0.1:1", "--cancel-rate", "0.2", NULL};
    assert_int_equal(parse(&c, a7, 5, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "--cancel-after-ms"));
    config_free(&c);
    char *a8[] = {"run", "--target", "http://127.0.0.1:1", "--cancel-rate", "1.5", "--cancel-after-ms", "1", NULL};
    assert_int_equal(parse(&c, a8, 7, err, sizeof err), LL_EUSAGE);
    config_free(&c);
    char *a9[] = {"run", "--target", "http://127.0.0.1:1", "--model", "a=0.5,b", NULL};
    assert_int_equal(parse(&c, a9, 5, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "weight"));
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_weighted_split),
        cmocka_unit_test(test_round_robin_and_seed),
        cmocka_unit_test(test_coin),
        cmocka_unit_test(test_config_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
