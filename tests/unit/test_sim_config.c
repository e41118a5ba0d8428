/* Unit tests for `llmload sim` flag parsing: the documented defaults, values, and usage errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>

#include "../../src/sim/sim_api.h"
#include "../../src/sim/sim_config.h"
#include "../../src/sim/sim_metrics.h"
#include "llmload/error.h"

static int parse(sim_config *c, int argc, char **argv)
{
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    int rc = sim_config_parse(c, argc, argv, devnull, devnull);
    fclose(devnull);
    return rc;
}

static void test_defaults(void **state)
{
    (void)state;
    char *argv[] = {"sim", NULL};
    sim_config c;
    assert_int_equal(parse(&c, 1, argv), SIM_CONFIG_RUN);
    assert_string_equal(c.host, "127.0.0.1");
    assert_int_equal(c.port, 8000);
    assert_string_equal(c.model, "llmload-sim");
    assert_int_equal(c.max_num_seqs, 256);
    assert_int_equal(c.kv_cache_tokens, 1000000);
    assert_true(c.ttft_ms == 50 && c.itl_ms == 10 && c.prefill_ms_per_1k == 0 && c.itl_ms_per_seq == 0);
    assert_int_equal(c.max_model_len, 32768);
    assert_true(c.output_tokens == 128 && c.output_tokens_stdev == 0);
    assert_int_equal(c.tokens_per_event, 1);
    assert_true(c.stall_seconds == 300);
    assert_int_equal(c.max_body_bytes, 4194304);
    assert_null(c.api_key);
    assert_int_equal(c.seed, 0);
    assert_int_equal(c.chat_template_tokens, 0);
    assert_int_equal(c.truncate_prompt_to, 0);
    assert_int_equal(c.no_tokenize, 0);
    assert_int_equal(c.error_style, 0);
}

static void test_values(void **state)
{
    (void)state;
    char *argv[] = {"sim", "--listen", "[::1]:0", "--itl-ms", "2.5", "--error-rate", "1", "--seed",
                    "18446744073709551615", "--api-key", "k", NULL};
    sim_config c;
    assert_int_equal(parse(&c, 11, argv), SIM_CONFIG_RUN);
    assert_string_equal(c.host, "::1");
    assert_int_equal(c.port, 0);
    assert_true(c.itl_ms == 2.5 && c.error_rate == 1.0);
    assert_true(c.seed == 18446744073709551615ULL);
    assert_string_equal(c.api_key, "k");
    char *argv2[] = {"sim", "--chat-template-tokens", "27", "--truncate-prompt-to", "1900", "--no-tokenize",
                     "--error-style", "llamacpp", NULL};
    assert_int_equal(parse(&c, 8, argv2), SIM_CONFIG_RUN);
    assert_int_equal(c.chat_template_tokens, 27);
    assert_int_equal(c.truncate_prompt_to, 1900);
    assert_int_equal(c.no_tokenize, 1);
    assert_int_equal(c.error_style, 1);
}

/* The stream-shape modes (docs/simulator.md "Stream shapes"): flags take no value. */
static void test_stream_shapes(void **state)
{
    (void)state;
    char *none[] = {"sim", NULL};
    sim_config c;
    assert_int_equal(parse(&c, 1, none), SIM_CONFIG_RUN);
    assert_true(!c.no_done && !c.usage_on_finish && !c.cumulative_message && !c.timings && !c.no_continuous_usage);
    assert_int_equal(c.content_shape, SIM_SHAPE_STRING);
    assert_int_equal(c.stream_error_shape, SIM_ERR_SHAPE_OBJECT);
    assert_true(c.stream_error_rate == 0);
    assert_null(c.finish_reason);
    char *argv[] = {"sim", "--no-done", "--usage-on-finish", "--content-shape", "thinking-parts",
                    "--cumulative-message", "--stream-error-rate", "0.5", "--stream-error-shape", "field",
                    "--timings", "--finish-reason", "content_filter", "--no-continuous-usage", NULL};
    assert_int_equal(parse(&c, 14, argv), SIM_CONFIG_RUN);
    assert_true(c.no_done && c.usage_on_finish && c.cumulative_message && c.timings && c.no_continuous_usage);
    assert_int_equal(c.content_shape, SIM_SHAPE_THINKING_PARTS);
    assert_int_equal(c.stream_error_shape, SIM_ERR_SHAPE_FIELD);
    assert_true(c.stream_error_rate == 0.5);
    assert_string_equal(c.finish_reason, "content_filter");
    const char *bad[][3] = {{"--content-shape", "xml", NULL}, {"--stream-error-shape", "header", NULL},
                            {"--stream-error-rate", "2", NULL}, {"--finish-reason", "a\"b", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *a[] = {"sim", (char *)bad[i][0], (char *)bad[i][1], NULL};
        assert_int_equal(parse(&c, 3, a), LL_EUSAGE);
    }
    /* A flag given a value is an unexpected argument. */
    char *extra[] = {"sim", "--no-done", "1", NULL};
    assert_int_equal(parse(&c, 3, extra), LL_EUSAGE);
}

/* Server-side metrics (docs/simulator.md "Preemption", "Prefix cache", "GPU metrics"). */
static void test_server_side(void **state)
{
    (void)state;
    char *none[] = {"sim", NULL};
    sim_config c;
    assert_int_equal(parse(&c, 1, none), SIM_CONFIG_RUN);
    assert_true(!c.preemption && c.prefix_cache_tokens == 0 && c.metrics_style == SIM_STYLE_VLLM && !c.gpu_metrics);
    assert_true(c.gpu_idle_watts == 60 && c.gpu_watts_per_seq == 20 && c.gpu_full_batch == 8);
    char *argv[] = {"sim", "--preemption", "--prefix-cache-tokens", "4096", "--metrics-style", "llamacpp",
                    "--gpu-metrics", "--gpu-idle-watts", "75", "--gpu-watts-per-seq", "12.5", "--gpu-full-batch",
                    "16", NULL};
    assert_int_equal(parse(&c, 13, argv), SIM_CONFIG_RUN);
    assert_true(c.preemption && c.prefix_cache_tokens == 4096 && c.metrics_style == SIM_STYLE_LLAMACPP && c.gpu_metrics);
    assert_true(c.gpu_idle_watts == 75 && c.gpu_watts_per_seq == 12.5 && c.gpu_full_batch == 16);
    char *legacy[] = {"sim", "--metrics-style", "llamacpp-legacy", NULL};
    assert_int_equal(parse(&c, 3, legacy), SIM_CONFIG_RUN);
    assert_int_equal(c.metrics_style, SIM_STYLE_LLAMACPP_LEGACY);
    const char *bad[][3] = {{"--metrics-style", "sglang", NULL}, {"--prefix-cache-tokens", "200000000", NULL},
                            {"--gpu-full-batch", "0", NULL}, {"--gpu-idle-watts", "701", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *a[] = {"sim", (char *)bad[i][0], (char *)bad[i][1], NULL};
        assert_int_equal(parse(&c, 3, a), LL_EUSAGE);
    }
}

static void test_usage_errors(void **state)
{
    (void)state;
    const char *bad[][3] = {{"--nope", "1", NULL},          {"--max-num-seqs", "0", NULL},
                            {"--stall-rate", "-0.1", NULL}, {"--kv-cache-tokens", "1.5", NULL},
                            {"--listen", "1.2.3.4:70000", NULL}, {"--itl-ms", "nan", NULL},
                            {"--error-style", "tgi", NULL},   {"--chat-template-tokens", "-1", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {"sim", (char *)bad[i][0], (char *)bad[i][1], NULL};
        sim_config c;
        assert_int_equal(parse(&c, 3, argv), LL_EUSAGE);
    }
    char *help[] = {"sim", "--help", NULL};
    sim_config c;
    assert_int_equal(parse(&c, 2, help), SIM_CONFIG_HELP);
}

/* --model NAME or NAME:TTFT_MS:ITL_MS, repeatable: the first replaces the default. */
static void test_models(void **state)
{
    (void)state;
    char *argv[] = {"sim", "--model", "fast:20:4", "--model", "plain", "--model", "org/slow:80.5:12", NULL};
    sim_config c;
    assert_int_equal(parse(&c, 7, argv), SIM_CONFIG_RUN);
    assert_int_equal(c.n_models, 3);
    assert_string_equal(c.model, "fast");
    assert_string_equal(c.models[0].name, "fast");
    assert_true(c.models[0].timed && c.models[0].ttft_ms == 20 && c.models[0].itl_ms == 4);
    assert_false(c.models[1].timed);
    assert_true(c.models[2].ttft_ms == 80.5 && c.models[2].itl_ms == 12);
    assert_int_equal(sim_config_find_model(&c, "plain", 5), 1);
    assert_int_equal(sim_config_find_model(&c, "nope", 4), -1);
    sim_config copy = c;
    sim_config_fix_model(&copy);
    assert_ptr_equal(copy.model, copy.models[0].name);
    char *def[] = {"sim", NULL};
    assert_int_equal(parse(&c, 1, def), SIM_CONFIG_RUN);
    assert_int_equal(c.n_models, 1);
    assert_string_equal(c.model, "llmload-sim");
    static const char *const bad[] = {"x:1", "x:1:", "x::1", "x:-1:2", "x:1:2:3", ":1:2", "a\"b", "x:1:abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv_bad[] = {"sim", "--model", (char *)bad[i], NULL};
        if (parse(&c, 3, argv_bad) != LL_EUSAGE)
            fail_msg("--model %s was accepted", bad[i]);
    }
    char *twice[] = {"sim", "--model", "a", "--model", "a:1:2", NULL};
    assert_int_equal(parse(&c, 5, twice), LL_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_defaults), cmocka_unit_test(test_values),
                                       cmocka_unit_test(test_usage_errors), cmocka_unit_test(test_stream_shapes),
                                       cmocka_unit_test(test_server_side), cmocka_unit_test(test_models)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
