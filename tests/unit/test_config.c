/*
 * Unit tests for the config layer: defaults, every `run` flag (table-driven), profile layering
 * (flags win whatever their order), every error case (code plus a message naming the input),
 * LLMLOAD_TARGET, api-key resolution and redaction, durations, --help, and the ready profiles.
 * Run from the repository root (scripts/run-tests.sh does): profiles/ and Makefile are read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <glob.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llmload/clock.h"
#include "llmload/config.h"
#include "llmload/error.h"

#include "assert_near.h"

#define BASE_TARGET "http://127.0.0.1:8000"
#define MAX_ARGS 12

extern char **environ;

/* Unsets every LLMLOAD_* variable (each option has one) and the test's own variables. */
static void clean_env(void)
{
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e; e++) {
            if (strncmp(*e, "LLMLOAD_", 8) == 0) {
                char name[128];
                size_t n = strcspn(*e, "=");
                snprintf(name, sizeof name, "%.*s", (int)(n < 127 ? n : 127), *e);
                unsetenv(name);
                again = 1; /* environ changed under us: walk it again */
                break;
            }
        }
    }
    unsetenv("LLMLOAD_TARGET");
    unsetenv("OPENAI_API_KEY");
    unsetenv("LLTEST_KEY");
    unsetenv("LLTEST_UNSET");
}

/* argv = {"run", args..., NULL}; args is NULL-terminated. */
static int parse_args(config *c, const char *const *args, char *err, size_t errlen)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"run";
    for (size_t i = 0; args[i]; i++) {
        assert_true(argc < MAX_ARGS + 1);
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;
    assert_int_equal(config_init(c), 0);
    return config_parse_run(c, argc, argv, err, errlen);
}

/* Writes text to a fresh temp file ending in .json; the caller unlinks it. */
static void write_temp(char *path, size_t n, const char *text)
{
    snprintf(path, n, "/tmp/llmload-test-XXXXXX.json");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* ---- defaults -------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    clean_env();
    config c;
    assert_int_equal(config_init(&c), 0);
    assert_null(c.target);
    assert_null(c.profile_path);
    assert_int_equal(c.api, CONFIG_API_CHAT);
    assert_null(c.model);
    assert_null(c.api_key_env);
    assert_null(c.api_key);
    assert_int_equal(c.n_headers, 0);
    assert_int_equal(c.schedule, CONFIG_SCHED_SYNCHRONOUS);
    assert_int_equal(c.n_rates, 1);
    assert_true(c.rates[0] == 0);
    assert_int_equal(c.sweep_poisson, 0);
    assert_true(c.max_seconds == 30);
    assert_int_equal(c.max_requests, 0);
    assert_true(c.warmup_s == 0 && c.cooldown_s == 0);
    assert_int_equal(c.max_concurrency, 512);
    assert_null(c.data.path);
    assert_true(c.data.prompt_tokens == 256);
    assert_true(c.data.prompt_tokens_stdev == 0);
    assert_int_equal(c.data.prompt_tokens_min, 1);
    assert_int_equal(c.data.prompt_tokens_max, 1000000);
    assert_true(c.data.output_tokens == 128);
    assert_true(c.data.output_tokens_stdev == 0);
    assert_int_equal(c.data.output_tokens_min, 1);
    assert_int_equal(c.data.output_tokens_max, 1000000);
    assert_int_equal(c.data.prefix_tokens, 0);
    assert_int_equal(c.seed, 42);
    assert_null(c.out_dir);
    assert_null(c.slo);
    assert_null(c.pushgateway);
    assert_string_equal(c.job, "llmload");
    assert_null(c.metrics_listen);
    assert_null(c.server_metrics);
    assert_int_equal(c.shard_index, 0);
    assert_int_equal(c.shard_count, 1);
    assert_true(c.start_at == 0);
    assert_true(c.request_timeout_s == 600);
    assert_true(c.stream_timeout_s == 60);
    assert_true(c.connect_timeout_s == 5);
    assert_true(c.drain_s == 5);
    assert_int_equal(c.respect_retry_after, 0);
    assert_int_equal(c.insecure, 0);
    assert_null(c.ca_cert);
    assert_int_equal(c.workers, 1);
    assert_int_equal(c.stream_usage, 1);
    assert_int_equal(c.continuous_usage, 0);
    assert_int_equal(c.ignore_eos, 1);
    assert_int_equal(c.progress, -1);
    assert_int_equal(c.quiet, 0);
    assert_int_equal(c.calibrate, 1);
    assert_null(c.data.costs);
    config_free(&c);
    config_free(&c); /* safe twice: config_free zeroes */
}

/* ---- every flag ------------------------------------------------------------------------ */

enum kind { K_STR, K_INT, K_LONG, K_DBL, K_U64, K_NULL };

static const struct flag_case {
    const char *args[8];
    enum kind kind;
    size_t off;
    double num;
    const char *str;
} flag_cases[] = {
#define F(field) offsetof(config, field)
    {{"--target", "http://10.0.0.1:9000/", NULL}, K_STR, F(target), 0, "http://10.0.0.1:9000"},
    {{"--target=https://h.example/v", NULL}, K_STR, F(target), 0, "https://h.example/v"},
    {{"--api", "completions", NULL}, K_INT, F(api), CONFIG_API_COMPLETIONS, NULL},
    {{"--api", "chat", NULL}, K_INT, F(api), CONFIG_API_CHAT, NULL},
    {{"--model", "llama-3", NULL}, K_STR, F(model), 0, "llama-3"},
    {{"--schedule", "throughput", NULL}, K_INT, F(schedule), CONFIG_SCHED_THROUGHPUT, NULL},
    {{"--schedule", "concurrent", "--rate", "8", NULL}, K_INT, F(schedule), CONFIG_SCHED_CONCURRENT, NULL},
    {{"--schedule", "constant", "--rate", "2.5", NULL}, K_DBL, F(n_rates) /* see rates test */, 0, NULL},
    {{"--schedule", "sweep", "--rate", "5", "--sweep-arrivals", "poisson", NULL}, K_INT, F(sweep_poisson), 1, NULL},
    {{"--schedule", "sweep", "--rate", "5", NULL}, K_INT, F(schedule), CONFIG_SCHED_SWEEP, NULL},
    {{"--max-seconds", "5m", NULL}, K_DBL, F(max_seconds), 300, NULL},
    {{"--max-seconds", "0", "--max-requests", "100", NULL}, K_LONG, F(max_requests), 100, NULL},
    {{"--warmup", "250ms", NULL}, K_DBL, F(warmup_s), 0.25, NULL},
    {{"--cooldown", "2", NULL}, K_DBL, F(cooldown_s), 2, NULL},
    {{"--max-concurrency", "64", NULL}, K_LONG, F(max_concurrency), 64, NULL},
    {{"--seed", "18446744073709551615", NULL}, K_U64, F(seed), 0, "18446744073709551615"},
    {{"--seed", "7", NULL}, K_U64, F(seed), 0, "7"},
    {{"--out", "results/run1", NULL}, K_STR, F(out_dir), 0, "results/run1"},
    {{"--slo", "ttft_p95<=500ms,error_rate<=1%", NULL}, K_STR, F(slo), 0, "ttft_p95<=500ms,error_rate<=1%"},
    {{"--pushgateway", "http://pg:9091/", NULL}, K_STR, F(pushgateway), 0, "http://pg:9091"},
    {{"--job", "nightly", NULL}, K_STR, F(job), 0, "nightly"},
    {{"--metrics-listen", "127.0.0.1:9464", NULL}, K_STR, F(metrics_listen), 0, "127.0.0.1:9464"},
    {{"--metrics-listen", "[::1]:9464", NULL}, K_STR, F(metrics_listen), 0, "[::1]:9464"},
    {{"--metrics-listen", "127.0.0.1:0", NULL}, K_STR, F(metrics_listen), 0, "127.0.0.1:0"}, /* port 0: any free one */
    {{"--server-metrics", NULL}, K_STR, F(server_metrics), 0, ""},
    {{"--server-metrics=http://s:8000/metrics", NULL}, K_STR, F(server_metrics), 0, "http://s:8000/metrics"},
    {{"--server-metrics", "http://s:8000/metrics", NULL}, K_STR, F(server_metrics), 0, "http://s:8000/metrics"},
    {{"--shard", "2/4", NULL}, K_INT, F(shard_index), 2, NULL},
    {{"--shard", "2/4", NULL}, K_INT, F(shard_count), 4, NULL},
    {{"--start-at", "1700000000.5", NULL}, K_DBL, F(start_at), 1700000000.5, NULL},
    {{"--request-timeout", "10s", NULL}, K_DBL, F(request_timeout_s), 10, NULL},
    {{"--stream-timeout", "1m", NULL}, K_DBL, F(stream_timeout_s), 60, NULL},
    {{"--connect-timeout", "500ms", NULL}, K_DBL, F(connect_timeout_s), 0.5, NULL},
    {{"--drain-seconds", "0", NULL}, K_DBL, F(drain_s), 0, NULL},
    {{"--respect-retry-after", NULL}, K_INT, F(respect_retry_after), 1, NULL},
    {{"--insecure", NULL}, K_INT, F(insecure), 1, NULL},
    {{"--ca-cert", "Makefile", NULL}, K_STR, F(ca_cert), 0, "Makefile"},
    {{"--workers", "4", NULL}, K_INT, F(workers), 4, NULL},
    {{"--no-usage", NULL}, K_INT, F(stream_usage), 0, NULL},
    {{"--continuous-usage", NULL}, K_INT, F(continuous_usage), 1, NULL},
    {{"--no-ignore-eos", NULL}, K_INT, F(ignore_eos), 0, NULL},
    {{"--progress", NULL}, K_INT, F(progress), 1, NULL},
    {{"--no-progress", NULL}, K_INT, F(progress), 0, NULL},
    {{"--progress", "--no-progress", NULL}, K_INT, F(progress), 0, NULL},
    {{"--quiet", NULL}, K_INT, F(quiet), 1, NULL},
    {{"--no-calibrate", NULL}, K_INT, F(calibrate), 0, NULL},
    {{"--data", "prompt_tokens=100,output_tokens=10", NULL}, K_DBL, F(data.prompt_tokens), 100, NULL},
    {{"--data", "prompt_tokens=100,output_tokens=10", NULL}, K_DBL, F(data.output_tokens), 10, NULL},
    {{"--data", "prefix_tokens=20,prompt_tokens_stdev=8", NULL}, K_LONG, F(data.prefix_tokens), 20, NULL},
    {{"--data", "Makefile", NULL}, K_STR, F(data.path), 0, "Makefile"},
    {{"--api-key-env", "LLTEST_KEY", NULL}, K_STR, F(api_key), 0, "key-from-env"},
    {{"--api-key-env", "", NULL}, K_NULL, F(api_key), 0, NULL},
#undef F
};

static void test_every_flag(void **state)
{
    (void)state;
    clean_env();
    setenv("LLTEST_KEY", "key-from-env", 1);
    for (size_t i = 0; i < sizeof flag_cases / sizeof flag_cases[0]; i++) {
        const struct flag_case *fc = &flag_cases[i];
        const char *args[MAX_ARGS + 1] = {"--target", BASE_TARGET};
        size_t n = 2;
        for (size_t j = 0; fc->args[j]; j++)
            args[n++] = fc->args[j];
        args[n] = NULL;
        config c;
        char err[512] = "";
        int rc = parse_args(&c, args, err, sizeof err);
        if (rc != 0)
            print_error("case %zu (%s): %s\n", i, fc->args[0], err);
        assert_int_equal(rc, 0);
        const char *field = (const char *)&c + fc->off;
        switch (fc->kind) {
        case K_STR:
            assert_non_null(*(char *const *)(const void *)field);
            assert_string_equal(*(char *const *)(const void *)field, fc->str);
            break;
        case K_NULL:
            assert_null(*(char *const *)(const void *)field);
            break;
        case K_INT:
            assert_int_equal(*(const int *)(const void *)field, (int)fc->num);
            break;
        case K_LONG:
            assert_int_equal(*(const long *)(const void *)field, (long)fc->num);
            break;
        case K_DBL:
            if (fc->off == offsetof(config, n_rates))
                break;
            assert_float_equal(*(const double *)(const void *)field, fc->num, 1e-9);
            break;
        case K_U64:
            assert_int_equal(*(const uint64_t *)(const void *)field, strtoull(fc->str, NULL, 10));
            break;
        }
        config_free(&c);
    }
    unsetenv("LLTEST_KEY");
}

static void test_rates_and_headers(void **state)
{
    (void)state;
    clean_env();
    config c;
    char err[512];
    const char *args[] = {"--target", BASE_TARGET, "--schedule", "poisson", "--rate", "1,2.5,10",
                          "--header", "X-A: 1", "--header", "X-B: two words", NULL};
    assert_int_equal(parse_args(&c, args, err, sizeof err), 0);
    assert_int_equal(c.n_rates, 3);
    assert_float_equal(c.rates[0], 1, 0);
    assert_float_equal(c.rates[1], 2.5, 0);
    assert_float_equal(c.rates[2], 10, 0);
    assert_int_equal(c.n_headers, 2);
    assert_string_equal(c.headers[0], "X-A: 1");
    assert_string_equal(c.headers[1], "X-B: two words");
    config_free(&c);
}

/* ---- layering -------------------------------------------------------------------------- */

static void test_flags_override_profile(void **state)
{
    (void)state;
    clean_env();
    char path[64];
    write_temp(path, sizeof path,
               "{\"target\": \"http://profile:1\", \"schedule\": \"poisson\", \"rate\": [1, 2],\n"
               " \"max_seconds\": 10, \"headers\": [\"X-A: from-profile\", \"X-C: c\"],\n"
               " \"data\": {\"prompt_tokens\": 512, \"output_tokens\": 64}, \"insecure\": true,\n"
               " \"description\": \"ignored\"}");
    /* Flags before and after the positional profile both win over it. */
    const char *args[] = {"--max-seconds", "20", path, "--rate", "5", "--header", "x-a: from-flag",
                          "--data", "output_tokens=32", NULL};
    config c;
    char err[512] = "";
    int rc = parse_args(&c, args, err, sizeof err);
    unlink(path);
    if (rc != 0)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    assert_string_equal(c.profile_path, path);
    assert_string_equal(c.target, "http://profile:1");
    assert_int_equal(c.schedule, CONFIG_SCHED_POISSON);
    assert_float_equal(c.max_seconds, 20, 0);
    assert_int_equal(c.n_rates, 1);
    assert_float_equal(c.rates[0], 5, 0);
    assert_int_equal(c.n_headers, 2);
    assert_string_equal(c.headers[0], "x-a: from-flag");
    assert_string_equal(c.headers[1], "X-C: c");
    assert_float_equal(c.data.prompt_tokens, 512, 0); /* from the profile's data */
    assert_float_equal(c.data.output_tokens, 32, 0);  /* the flag changed one key */
    assert_int_equal(c.insecure, 1);
    config_free(&c);
}

static void test_profile_value_forms(void **state)
{
    (void)state;
    clean_env();
    static const char text[] =
        "{\"max-seconds\": \"2m\", \"warmup\": 1.5, \"rate\": \"3,4\", \"schedule\": \"constant\",\n"
        " \"data\": \"prompt_tokens=100,prompt_tokens_stdev=10\", \"seed\": 123456789012,\n"
        " \"no_usage\": true, \"no-ignore-eos\": false, \"progress\": false, \"header\": \"X-Z: z\",\n"
        " \"server_metrics\": \"\", \"shard\": \"1/3\", \"max_requests\": 50}";
    config c;
    char err[512] = "";
    assert_int_equal(config_init(&c), 0);
    int rc = config_load_profile_text(&c, text, strlen(text), "forms.json", err, sizeof err);
    if (rc != 0)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
    assert_float_equal(c.max_seconds, 120, 0);
    assert_float_equal(c.warmup_s, 1.5, 0);
    assert_int_equal(c.n_rates, 2);
    assert_float_equal(c.rates[1], 4, 0);
    assert_float_equal(c.data.prompt_tokens_stdev, 10, 0);
    assert_int_equal(c.seed, 123456789012ULL);
    assert_int_equal(c.stream_usage, 0);
    assert_int_equal(c.ignore_eos, 1); /* "no-ignore-eos": false keeps it on */
    assert_int_equal(c.progress, 0);
    assert_int_equal(c.n_headers, 1);
    assert_string_equal(c.server_metrics, "");
    assert_int_equal(c.shard_index, 1);
    assert_int_equal(c.shard_count, 3);
    assert_int_equal(c.max_requests, 50);
    config_free(&c);
}

/* ---- errors ---------------------------------------------------------------------------- */

static const struct arg_error {
    const char *args[8];
    int rc;
    const char *msg;
} arg_errors[] = {
    {{"--schedule", "poisson", "--rate", "abc", NULL}, LL_EUSAGE, "--rate: \"abc\" is not a positive number"},
    {{"--schedule", "poisson", "--rate", "1,-2", NULL}, LL_EUSAGE, "--rate: \"-2\" is not a positive number"},
    {{"--schedule", "poisson", "--rate", "1,,2", NULL}, LL_EUSAGE, "--rate: \"1,,2\" has an empty item"},
    {{"--schedule", "poisson", "--rate", "0", NULL}, LL_EUSAGE, "--rate: \"0\" is not a positive number"},
    {{"--schedule", "poisson", "--rate", "nan", NULL}, LL_EUSAGE, "--rate: \"nan\""},
    {{"--schedule", "fast", NULL}, LL_EUSAGE, "--schedule: \"fast\" is not a schedule"},
    {{"--api", "embeddings", NULL}, LL_EUSAGE, "--api: \"embeddings\""},
    {{"--sweep-arrivals", "uniform", NULL}, LL_EUSAGE, "--sweep-arrivals: \"uniform\""},
    {{"--max-seconds", "5x", NULL}, LL_EUSAGE, "--max-seconds: \"5x\" is not a duration"},
    {{"--max-seconds", "-1", NULL}, LL_EUSAGE, "--max-seconds: \"-1\""},
    {{"--warmup", "1e400", NULL}, LL_EUSAGE, "--warmup: \"1e400\""},
    {{"--max-requests", "-3", NULL}, LL_EUSAGE, "--max-requests: \"-3\" is not a whole number"},
    {{"--max-requests", "2.5", NULL}, LL_EUSAGE, "--max-requests: \"2.5\""},
    {{"--max-concurrency", "0", NULL}, LL_EUSAGE, "--max-concurrency: 0 is out of range"},
    {{"--workers", "0", NULL}, LL_EUSAGE, "--workers: 0 is out of range"},
    {{"--seed", "-1", NULL}, LL_EUSAGE, "--seed: \"-1\""},
    {{"--seed", "99999999999999999999", NULL}, LL_EUSAGE, "--seed: \"99999999999999999999\""},
    {{"--bogus", NULL}, LL_EUSAGE, "unknown or ambiguous option \"--bogus\""},
    {{"--bogus=3", NULL}, LL_EUSAGE, "option \"--bogus\""},
    {{"-x", NULL}, LL_EUSAGE, "unknown option \"-x\""},
    {{"--rate", NULL}, LL_EUSAGE, "--rate needs a value"},
    {{"--quiet=1", NULL}, LL_EUSAGE, "--quiet takes no value"},
    {{"Makefile", "README.md", NULL}, LL_EUSAGE, "unexpected argument \"README.md\""},
    {{"--target", "ftp://x", NULL}, LL_EUSAGE, "--target: \"ftp://x\" is not an http:// or https:// URL"},
    {{"--target", "http://", NULL}, LL_EUSAGE, "--target: URL \"http://\" has no host"},
    {{"--target", "http://h:99999", NULL}, LL_EUSAGE, "--target: URL \"http://h:99999\" has a bad port"},
    {{"--target", "http://h x", NULL}, LL_EUSAGE, "--target: URL \"http://h x\" contains a space"},
    {{"--target", "", NULL}, LL_EUSAGE, "--target: empty value"},
    {{"--pushgateway", "pg:9091", NULL}, LL_EUSAGE, "--pushgateway: \"pg:9091\""},
    {{"--server-metrics=ftp://x", NULL}, LL_EUSAGE, "--server-metrics: \"ftp://x\""},
    {{"--shard", "4/4", NULL}, LL_EUSAGE, "--shard: \"4/4\" needs 0 <= I < N"},
    {{"--shard", "x", NULL}, LL_EUSAGE, "--shard: \"x\" is not I/N"},
    {{"--shard", "1/0", NULL}, LL_EUSAGE, "--shard: \"1/0\""},
    {{"--start-at", "soon", NULL}, LL_EUSAGE, "--start-at: \"soon\" is not a number"},
    {{"--rate", "2", NULL}, LL_EUSAGE, "--rate: schedule \"synchronous\" takes no rate"},
    {{"--schedule", "throughput", "--rate", "2", NULL}, LL_EUSAGE, "--rate: schedule \"throughput\" takes no rate"},
    {{"--schedule", "concurrent", "--rate", "2.5", NULL}, LL_EUSAGE, "--rate: 2.5 is not a whole number"},
    {{"--schedule", "concurrent", NULL}, LL_EUSAGE, "schedule \"concurrent\" needs --rate"},
    {{"--schedule", "poisson", NULL}, LL_EUSAGE, "schedule \"poisson\" needs --rate"},
    {{"--schedule", "constant", NULL}, LL_EUSAGE, "schedule \"constant\" needs --rate"},
    {{"--schedule", "sweep", NULL}, LL_EUSAGE, "schedule \"sweep\" needs --rate"},
    {{"--schedule", "sweep", "--rate", "1", NULL}, LL_EUSAGE, "--rate: schedule \"sweep\" takes one whole number"},
    {{"--schedule", "sweep", "--rate", "4.5", NULL}, LL_EUSAGE, "--rate: schedule \"sweep\" takes one whole number"},
    {{"--schedule", "sweep", "--rate", "5,6", NULL}, LL_EUSAGE, "--rate: schedule \"sweep\" takes one whole number"},
    {{"--max-seconds", "0", NULL}, LL_EUSAGE, "--max-seconds 0 and --max-requests 0"},
    {{"--max-seconds", "10", "--warmup", "6", "--cooldown", "4", NULL}, LL_EUSAGE, "must be less than --max-seconds"},
    {{"--api-key-env", "LLTEST_UNSET", NULL}, LL_EUSAGE, "--api-key-env: variable \"LLTEST_UNSET\" is not set"},
    {{"--api-key-env", "1BAD", NULL}, LL_EUSAGE, "--api-key-env: \"1BAD\" is not an environment variable name"},
    {{"--header", "no colon here", NULL}, LL_EUSAGE, "--header: \"no...\" is not a header"},
    {{"--header", "X-A: a\r\nX-Injected: b", NULL}, LL_EUSAGE, "--header: \"X-A...\" is not a header"},
    {{"--header", ": value", NULL}, LL_EUSAGE, "--header: \"...\" is not a header"},
    {{"--data", "foo=1", NULL}, LL_EUSAGE, "--data: unknown key \"foo\""},
    {{"--data", "prompt_tokens=5,output_tokens", NULL}, LL_EUSAGE, "--data: \"output_tokens\" in data spec has no '='"},
    {{"--data", "nothing", NULL}, LL_EUSAGE, "--data: \"nothing\" is neither a data spec"},
    {{"--data", "prompt_tokens=abc", NULL}, LL_EUSAGE, "--data: prompt_tokens: \"abc\" is not a number"},
    {{"--data", "output_tokens=-5", NULL}, LL_EUSAGE, "--data: output_tokens: -5 is negative"},
    {{"--data", "prompt_tokens_min=10,prompt_tokens_max=5", NULL}, LL_EUSAGE, "--data: prompt_tokens_min 10 is larger than prompt_tokens_max 5"},
    {{"--data", "output_tokens_min=9,output_tokens_max=3", NULL}, LL_EUSAGE, "--data: output_tokens_min 9 is larger"},
    {{"--data", "prompt_tokens_max=2.5", NULL}, LL_EUSAGE, "--data: prompt_tokens_max: 2.5 is not a whole number"},
    {{"--data", "prefix_tokens=300", NULL}, LL_EUSAGE, "--data: prefix_tokens 300 must be less than prompt_tokens"},
    {{"--data", "prompt_tokens=1e9", NULL}, LL_EUSAGE, "--data: prompt_tokens: 1e9 is larger than"},
    {{"--data", "missing-file.jsonl", NULL}, LL_EUSAGE, "--data: dataset file \"missing-file.jsonl\""},
    {{"--data", "", NULL}, LL_EUSAGE, "--data: empty data spec"},
    {{"--metrics-listen", "nope", NULL}, LL_EUSAGE, "--metrics-listen: \"nope\" is not ADDR:PORT"},
    {{"--metrics-listen", "h:65536", NULL}, LL_EUSAGE, "--metrics-listen: \"h:65536\""},
    {{"--ca-cert", "/nonexistent/ca.pem", NULL}, LL_ENOENT, "--ca-cert: cannot read \"/nonexistent/ca.pem\""},
    {{"--model", "", NULL}, LL_EUSAGE, "--model: empty value"},
    {{"--request-timeout", "0", NULL}, LL_EUSAGE, "--request-timeout: 0 is out of range"},
    {{"/nonexistent/bench.json", NULL}, LL_ENOENT, "profile /nonexistent/bench.json: No such file"},
    {{"/tmp", NULL}, LL_EIO, "profile /tmp: not a regular file"},
};

static void test_arg_errors(void **state)
{
    (void)state;
    clean_env();
    for (size_t i = 0; i < sizeof arg_errors / sizeof arg_errors[0]; i++) {
        const struct arg_error *e = &arg_errors[i];
        const char *args[MAX_ARGS + 1] = {"--target", BASE_TARGET};
        size_t n = 2;
        for (size_t j = 0; e->args[j]; j++)
            args[n++] = e->args[j];
        args[n] = NULL;
        config c;
        char err[512] = "";
        int rc = parse_args(&c, args, err, sizeof err);
        if (rc != e->rc || !strstr(err, e->msg))
            print_error("case %zu (%s): rc %d err \"%s\", want \"%s\"\n", i, e->args[0], rc, err, e->msg);
        assert_int_equal(rc, e->rc);
        assert_non_null(strstr(err, e->msg));
        assert_null(strchr(err, '\n')); /* one line */
        config_free(&c);
    }
}

static void test_no_target(void **state)
{
    (void)state;
    clean_env();
    config c;
    char err[512] = "";
    const char *args[] = {NULL};
    assert_int_equal(parse_args(&c, args, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "no target"));
    assert_non_null(strstr(err, "LLMLOAD_TARGET"));
    config_free(&c);
}

static const struct profile_error {
    const char *text;
    const char *msg;
} profile_errors[] = {
    {"{\"rate\": \"abc\"}", "profile bench.json: key \"rate\": \"abc\" is not a positive number"},
    {"{\"rate\": true}", "profile bench.json: key \"rate\": expected a positive number or list of them"},
    {"{\"rate\": [1, \"x\"]}", "profile bench.json: key \"rate\": expected a positive number or list of them"},
    {"{\"rate\": []}", "profile bench.json: key \"rate\": \"\" has an empty item"},
    {"{\"rate\": {\"a\": 1}}", "profile bench.json: key \"rate\": expected"},
    {"{\"bogus\": 1}", "profile bench.json: unknown key \"bogus\""},
    {"{\"help\": true}", "profile bench.json: unknown key \"help\""},
    {"{\"rate\": ", "profile bench.json: not valid JSON (line 1"},
    {"{\n\"rate\": 1,\n}", "profile bench.json: not valid JSON (line 3"},
    {"[1, 2]", "profile bench.json: expected a JSON object"},
    {"{} {}", "profile bench.json: unexpected text after the JSON object"},
    {"", "profile bench.json: not valid JSON"},
    {"{\"max-seconds\": -1}", "profile bench.json: key \"max-seconds\": \"-1\" is not a duration"},
    {"{\"max_seconds\": \"ten\"}", "profile bench.json: key \"max_seconds\": \"ten\" is not a duration"},
    {"{\"max-seconds\": null}", "profile bench.json: key \"max-seconds\": expected seconds"},
    {"{\"data\": {\"prompt_tokens\": \"x\"}}", "profile bench.json: key \"data\": member \"prompt_tokens\" must be a number"},
    {"{\"data\": {\"foo\": 1}}", "profile bench.json: key \"data\": unknown key \"foo\" in data spec"},
    {"{\"data\": {\"prompt_tokens_min\": 9, \"prompt_tokens_max\": 2}}", "key \"data\": prompt_tokens_min 9 is larger"},
    {"{\"data\": 5}", "profile bench.json: key \"data\": expected a spec string"},
    {"{\"headers\": [\"nocolon\"]}", "profile bench.json: key \"headers\": \"nocolon...\" is not a header"},
    {"{\"headers\": [1]}", "profile bench.json: key \"headers\": expected a string or list of strings"},
    {"{\"insecure\": \"yes\"}", "profile bench.json: key \"insecure\": expected true or false"},
    {"{\"target\": null}", "profile bench.json: key \"target\": expected a string"},
    {"{\"target\": \"localhost:8000\"}", "profile bench.json: key \"target\": \"localhost:8000\" is not an http"},
    {"{\"schedule\": \"poison\"}", "profile bench.json: key \"schedule\": \"poison\" is not a schedule"},
    {"{\"workers\": 1.5}", "profile bench.json: key \"workers\": \"1.5\" is not a whole number"},
    {"{\"api-key-env\": \"LLTEST_UNSET\"}", "profile bench.json: key \"api-key-env\": variable \"LLTEST_UNSET\" is not set"},
};

static void test_profile_errors(void **state)
{
    (void)state;
    clean_env();
    for (size_t i = 0; i < sizeof profile_errors / sizeof profile_errors[0]; i++) {
        const struct profile_error *e = &profile_errors[i];
        config c;
        char err[512] = "";
        assert_int_equal(config_init(&c), 0);
        int rc = config_load_profile_text(&c, e->text, strlen(e->text), "bench.json", err, sizeof err);
        if (rc != LL_EUSAGE || !strstr(err, e->msg))
            print_error("case %zu (%s): rc %d err \"%s\", want \"%s\"\n", i, e->text, rc, err, e->msg);
        assert_int_equal(rc, LL_EUSAGE);
        assert_non_null(strstr(err, e->msg));
        assert_null(strchr(err, '\n'));
        config_free(&c);
    }
}

/* A bad profile named on the command line fails with the file's name, whatever the flags say. */
static void test_profile_error_via_run(void **state)
{
    (void)state;
    clean_env();
    char path[64];
    write_temp(path, sizeof path, "{\"rate\": \"abc\"}");
    const char *args[] = {"--target", BASE_TARGET, path, NULL};
    config c;
    char err[512] = "";
    int rc = parse_args(&c, args, err, sizeof err);
    unlink(path);
    assert_int_equal(rc, LL_EUSAGE);
    char want[128];
    snprintf(want, sizeof want, "profile %s: key \"rate\"", path);
    assert_non_null(strstr(err, want));
    config_free(&c);
}

/* ---- target and api key ---------------------------------------------------------------- */

static void test_llmload_target(void **state)
{
    (void)state;
    clean_env();
    setenv("LLMLOAD_TARGET", "http://from-env:8000//", 1);
    config c;
    char err[512] = "";
    const char *none[] = {NULL};
    assert_int_equal(parse_args(&c, none, err, sizeof err), 0);
    assert_string_equal(c.target, "http://from-env:8000");
    config_free(&c);

    /* The environment beats the profile, a flag beats both. */
    char path[64];
    write_temp(path, sizeof path, "{\"target\": \"http://from-profile:1\"}");
    const char *with_profile[] = {path, NULL};
    assert_int_equal(parse_args(&c, with_profile, err, sizeof err), 0);
    assert_string_equal(c.target, "http://from-env:8000");
    config_free(&c);
    unsetenv("LLMLOAD_TARGET");
    assert_int_equal(parse_args(&c, with_profile, err, sizeof err), 0);
    assert_string_equal(c.target, "http://from-profile:1");
    config_free(&c);
    setenv("LLMLOAD_TARGET", "http://from-env:8000//", 1);
    const char *with_flag[] = {path, "--target", "https://from-flag", NULL};
    assert_int_equal(parse_args(&c, with_flag, err, sizeof err), 0);
    assert_string_equal(c.target, "https://from-flag");
    config_free(&c);
    unlink(path);

    setenv("LLMLOAD_TARGET", "from-env:8000", 1);
    assert_int_equal(parse_args(&c, none, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "LLMLOAD_TARGET: \"from-env:8000\" is not an http"));
    config_free(&c);
    clean_env();
}

static int json_contains(const config *c, const char *needle)
{
    cJSON *j = NULL;
    assert_int_equal(config_to_json(c, &j), 0);
    char *s = cJSON_Print(j);
    assert_non_null(s);
    int found = strstr(s, needle) != NULL;
    free(s);
    cJSON_Delete(j);
    return found;
}

static void test_api_key_and_redaction(void **state)
{
    (void)state;
    clean_env();
    setenv("OPENAI_API_KEY", "sk-default-secret-1", 1);
    config c;
    char err[512] = "";
    assert_int_equal(config_init(&c), 0);
    assert_string_equal(c.api_key_env, "OPENAI_API_KEY");
    assert_string_equal(c.api_key, "sk-default-secret-1");
    assert_false(json_contains(&c, "sk-default-secret-1"));
    assert_true(json_contains(&c, "\"api_key\":\t\"<redacted>\""));
    config_free(&c);

    /* --api-key-env switches variable; header values and URL credentials are redacted too. */
    setenv("LLTEST_KEY", "sk-other-secret-2", 1);
    const char *args[] = {"--target", "http://user:pw-secret-3@127.0.0.1:8000", "--api-key-env", "LLTEST_KEY",
                          "--header", "X-Api-Key: hdr-secret-4", "--pushgateway", "https://u:pg-secret-5@pg", NULL};
    assert_int_equal(parse_args(&c, args, err, sizeof err), 0);
    assert_string_equal(c.api_key, "sk-other-secret-2");
    assert_false(json_contains(&c, "sk-other-secret-2"));
    assert_false(json_contains(&c, "sk-default-secret-1"));
    assert_false(json_contains(&c, "pw-secret-3"));
    assert_false(json_contains(&c, "hdr-secret-4"));
    assert_false(json_contains(&c, "pg-secret-5"));
    assert_true(json_contains(&c, "X-Api-Key: <redacted>"));
    assert_true(json_contains(&c, "http://<redacted>@127.0.0.1:8000"));
    assert_true(json_contains(&c, "\"api_key_env\":\t\"LLTEST_KEY\""));
    config_free(&c);

    /* "" sends no key even though OPENAI_API_KEY is set; then no api_key in the JSON at all. */
    const char *none[] = {"--target", BASE_TARGET, "--api-key-env", "", NULL};
    assert_int_equal(parse_args(&c, none, err, sizeof err), 0);
    assert_null(c.api_key);
    assert_false(json_contains(&c, "\"api_key\""));
    config_free(&c);

    /* A profile's unset variable is fine when a flag names another (read after every layer). */
    char path[64];
    write_temp(path, sizeof path, "{\"api_key_env\": \"LLTEST_UNSET\"}");
    const char *over[] = {"--target", BASE_TARGET, path, "--api-key-env", "LLTEST_KEY", NULL};
    assert_int_equal(parse_args(&c, over, err, sizeof err), 0);
    assert_string_equal(c.api_key, "sk-other-secret-2");
    config_free(&c);
    const char *bad[] = {"--target", BASE_TARGET, path, NULL};
    assert_int_equal(parse_args(&c, bad, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "key \"api-key-env\": variable \"LLTEST_UNSET\" is not set"));
    config_free(&c);
    unlink(path);

    /* A header error never quotes the value, which may be the secret. */
    const char *hdr[] = {"--target", BASE_TARGET, "--header", "X-Key hdr-secret-6", NULL};
    assert_int_equal(parse_args(&c, hdr, err, sizeof err), LL_EUSAGE);
    assert_null(strstr(err, "hdr-secret-6"));
    config_free(&c);
    clean_env();
}

static void test_to_json_fields(void **state)
{
    (void)state;
    clean_env();
    config c;
    char err[512] = "";
    const char *args[] = {"--target", BASE_TARGET, "--schedule", "poisson", "--rate", "1,2", "--seed", "9007199254740993",
                          "--data", "prompt_tokens=64", NULL};
    assert_int_equal(parse_args(&c, args, err, sizeof err), 0);
    cJSON *j = NULL;
    assert_int_equal(config_to_json(&c, &j), 0);
    assert_string_equal(cJSON_GetObjectItem(j, "schedule")->valuestring, "poisson");
    assert_string_equal(cJSON_GetObjectItem(j, "api")->valuestring, "chat");
    assert_string_equal(cJSON_GetObjectItem(j, "target")->valuestring, BASE_TARGET);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "rates")), 2);
    assert_string_equal(cJSON_GetObjectItem(j, "seed")->valuestring, "9007199254740993");
    cJSON *data = cJSON_GetObjectItem(j, "data");
    assert_float_equal(cJSON_GetObjectItem(data, "prompt_tokens")->valuedouble, 64, 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "model")));
    assert_null(cJSON_GetObjectItem(j, "api_key"));
    cJSON_Delete(j);
    config_free(&c);
}

/* ---- durations, data spec, help, reuse ------------------------------------------------- */

static void test_durations(void **state)
{
    (void)state;
    clean_env();
    static const struct {
        const char *text;
        double want; /* < 0: must be refused */
    } cases[] = {{"250ms", 0.25}, {"30s", 30}, {"5m", 300}, {"1h", 3600}, {"1.5", 1.5}, {"100us", 0.0001},
                 {"0", 0},        {".5s", 0.5}, {"2e1", 20}, {"5 m", -1}, {"m", -1},    {"-1s", -1},
                 {"1e400", -1},   {"0x10", -1}, {"inf", -1}, {"nan", -1}, {"5min", -1}, {" 5", -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[] = {"--target", BASE_TARGET, "--max-seconds", "100000", "--warmup", cases[i].text, NULL};
        config c;
        char err[512] = "";
        int rc = parse_args(&c, args, err, sizeof err);
        if (cases[i].want < 0) {
            assert_int_equal(rc, LL_EUSAGE);
            assert_non_null(strstr(err, "--warmup"));
        } else {
            if (rc != 0)
                print_error("%s: %s\n", cases[i].text, err);
            assert_int_equal(rc, 0);
            assert_float_equal(c.warmup_s, cases[i].want, 1e-12);
        }
        config_free(&c);
    }
}

static void test_parse_data(void **state)
{
    (void)state;
    config_data d;
    char err[256];
    config_data_init(&d);
    assert_int_equal(config_parse_data(&d, " prompt_tokens = 512 , output_tokens_stdev=3.5,prefix_tokens=10", err, sizeof err), 0);
    assert_float_equal(d.prompt_tokens, 512, 0);
    assert_float_equal(d.output_tokens_stdev, 3.5, 0);
    assert_int_equal(d.prefix_tokens, 10);
    assert_float_equal(d.output_tokens, 128, 0); /* untouched key keeps its value */
    assert_null(d.path);

    /* A failed spec leaves d unchanged, even when keys before the bad one were fine. */
    assert_int_equal(config_parse_data(&d, "prompt_tokens=99,bogus=1", err, sizeof err), LL_EUSAGE);
    assert_float_equal(d.prompt_tokens, 512, 0);
    assert_non_null(strstr(err, "unknown key \"bogus\""));

    /* An existing file is a dataset path; a synthetic spec afterwards clears it. */
    assert_int_equal(config_parse_data(&d, "Makefile", err, sizeof err), 0);
    assert_string_equal(d.path, "Makefile");
    assert_int_equal(config_parse_data(&d, "output_tokens=5", err, sizeof err), 0);
    assert_null(d.path);
    assert_int_equal(config_parse_data(&d, "tests/unit", err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(config_parse_data(&d, "x.csv", err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "dataset file \"x.csv\""));
    assert_int_equal(config_parse_data(&d, ",,", err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "empty data spec"));
    config_data_free(&d);
}

static void test_help(void **state)
{
    (void)state;
    clean_env();
    config c;
    char err[512] = "x";
    const char *args[] = {"--rate", "bad", "--help", NULL};
    assert_int_equal(parse_args(&c, args, err, sizeof err), 1);
    assert_string_equal(err, "");
    config_free(&c);
    const char *short_h[] = {"-h", NULL};
    assert_int_equal(parse_args(&c, short_h, err, sizeof err), 1);
    config_free(&c);

    /* The generated help names every flag of the contract (design.md and the brief). */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_print_run_help(f);
    fclose(f);
    static const char *const flags[] = {
        "--target URL", "--api chat|completions", "--model NAME", "--api-key-env VAR", "--header 'K: V'",
        "--schedule S", "--rate R[,R...]", "--max-seconds S", "--max-requests N", "--warmup S", "--cooldown S",
        "--data SPEC|FILE", "--seed N", "--out DIR", "--slo SPEC", "--pushgateway URL", "--job NAME",
        "--metrics-listen ADDR:PORT", "--server-metrics [URL]", "--shard I/N", "--start-at EPOCH",
        "--sweep-arrivals constant|poisson", "--max-concurrency N", "--request-timeout S", "--stream-timeout S",
        "--connect-timeout S", "--drain-seconds S", "--respect-retry-after", "--insecure", "--ca-cert FILE",
        "--workers N", "--no-usage", "--continuous-usage", "--no-ignore-eos", "--progress", "--no-progress",
        "--quiet", "--no-calibrate", "--help", "[default: 30s]", "[default: 512]", "usage: llmload run [PROFILE.json]"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (!strstr(buf, flags[i]))
            print_error("help lacks %s\n", flags[i]);
        assert_non_null(strstr(buf, flags[i]));
    }
    free(buf);
}

static void test_parse_twice(void **state)
{
    (void)state;
    clean_env();
    /* getopt keeps state between calls; config_parse_run must reset it. */
    for (int round = 0; round < 3; round++) {
        config c;
        char err[512] = "";
        const char *args[] = {"--target", BASE_TARGET, "--workers", "3", NULL};
        assert_int_equal(parse_args(&c, args, err, sizeof err), 0);
        assert_int_equal(c.workers, 3);
        config_free(&c);
    }
}

/* ---- ready profiles -------------------------------------------------------------------- */

static void test_ready_profiles_load(void **state)
{
    (void)state;
    clean_env();
    glob_t g;
    assert_int_equal(glob("profiles/*.json", 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= 4);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        config c;
        char err[512] = "";
        assert_int_equal(config_init(&c), 0);
        int rc = config_load_profile(&c, g.gl_pathv[i], err, sizeof err);
        if (rc != 0)
            print_error("%s: %s\n", g.gl_pathv[i], err);
        assert_int_equal(rc, 0);
        config_free(&c);
        /* And each passes validation once a target is given. */
        const char *args[] = {"--target", BASE_TARGET, g.gl_pathv[i], NULL};
        rc = parse_args(&c, args, err, sizeof err);
        if (rc != 0)
            print_error("%s: %s\n", g.gl_pathv[i], err);
        assert_int_equal(rc, 0);
        config_free(&c);
    }
    globfree(&g);
}

static void test_target_url(void **state)
{
    (void)state;
    char buf[128];
    static const char *const cases[][3] = {
        {"http://h:8000", "/v1/models", "http://h:8000/v1/models"},
        {"http://h:8000/v1", "/v1/chat/completions", "http://h:8000/v1/chat/completions"},
        {"http://h:8000/v1/", "/tokenize", "http://h:8000/tokenize"},
        {"https://r.example/openai/v1?api-version=2024-02-01", "/v1/models",
         "https://r.example/openai/v1/models?api-version=2024-02-01"},
        {"http://h/?a=1&b=2#frag", "/metrics", "http://h/metrics?a=1&b=2"},
        {"http://h:1/prefix", "/v1/completions", "http://h:1/prefix/v1/completions"},
        {"http://h:1/xv1", "/v1/models", "http://h:1/xv1/v1/models"}, /* not a "/v1" segment */
        {"http://u:p@h:1/v1", "/v1/models", "http://u:p@h:1/v1/models"},
        {"http://h:1?", "/v1/models", "http://h:1/v1/models"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = config_target_url(cases[i][0], cases[i][1], buf, sizeof buf);
        assert_string_equal(buf, cases[i][2]);
        assert_int_equal(n, strlen(cases[i][2]));
        assert_true(n <= strlen(cases[i][0]) + strlen(cases[i][1]) + 1);
    }
    char small[12];
    assert_int_equal(config_target_url("http://h:8000", "/v1/models", small, sizeof small), 23);
    assert_string_equal(small, "http://h:80");
}

static void test_redact_url(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(config_redact_url("http://u:p@h:1/x", buf, sizeof buf), "http://<redacted>@h:1/x");
    assert_string_equal(config_redact_url("http://h:1/x@y", buf, sizeof buf), "http://h:1/x@y"); /* '@' in the path */
    assert_string_equal(config_redact_url("u:p@h", buf, sizeof buf), "<redacted>@h");
    char small[12];
    assert_string_equal(config_redact_url("http://u:p@host", small, sizeof small), "http://<red");
}

/* --server-metrics repeated: first URL in server_metrics, the rest in order, duplicates once;
 * the interval and keep flags; a bad regex and keep without a URL are usage errors. */
static void test_server_metrics_flags(void **state)
{
    (void)state;
    clean_env();
    config c;
    char err[256] = "";
    const char *const args[] = {"--target", "http://h:1", "--server-metrics", "--server-metrics",
                                "http://dcgm:9400/metrics", "--server-metrics=http://r2:8000/metrics",
                                "--server-metrics", "http://dcgm:9400/metrics", "--server-metrics-interval",
                                "250ms", "--server-metrics-keep", "^vllm:.*$", NULL};
    assert_int_equal(config_init(&c), 0);
    assert_true(c.server_metrics_interval_s == 1);
    config_free(&c);
    assert_int_equal(parse_args(&c, args, err, sizeof err), 0);
    assert_string_equal(c.server_metrics, "");
    assert_int_equal(c.n_server_metrics_extra, 2);
    assert_string_equal(c.server_metrics_extra[0], "http://dcgm:9400/metrics");
    assert_string_equal(c.server_metrics_extra[1], "http://r2:8000/metrics");
    assert_true(c.server_metrics_interval_s == 0.25);
    assert_string_equal(c.server_metrics_keep, "^vllm:.*$");
    config_free(&c);

    const char *const bad_re[] = {"--target", "http://h:1", "--server-metrics", "--server-metrics-keep", "a(", NULL};
    assert_int_equal(parse_args(&c, bad_re, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "--server-metrics-keep"));
    assert_non_null(strstr(err, "not a regular expression"));
    config_free(&c);

    const char *const keep_only[] = {"--target", "http://h:1", "--server-metrics-keep", "x", NULL};
    assert_int_equal(parse_args(&c, keep_only, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "needs --server-metrics"));
    config_free(&c);
}

/* ---- LLMLOAD_* variables ------------------------------------------------------------------ */

/* Each kind of option from its variable: duration, count, rate list, choice, on/off, repeatable
 * (one per line), optional argument ("on": the flag without a value), URL, string, seed, spec. */
static void test_env_each_kind(void **state)
{
    (void)state;
    clean_env();
    setenv("LLMLOAD_TARGET", "http://127.0.0.1:9", 1);
    setenv("LLMLOAD_MAX_SECONDS", "5m", 1);
    setenv("LLMLOAD_MAX_REQUESTS", "77", 1);
    setenv("LLMLOAD_SCHEDULE", "poisson", 1);
    setenv("LLMLOAD_RATE", "1,2.5", 1);
    setenv("LLMLOAD_INSECURE", "true", 1);
    setenv("LLMLOAD_NO_USAGE", "1", 1);
    setenv("LLMLOAD_CONTINUOUS_USAGE", "off", 1);
    setenv("LLMLOAD_HEADER", "X-A: 1\nX-B: two, three\r\n\n", 1);
    setenv("LLMLOAD_SERVER_METRICS", "on", 1);
    setenv("LLMLOAD_SLO", "ttft_p95<=500ms", 1);
    setenv("LLMLOAD_PUSHGATEWAY", "http://127.0.0.1:9091/", 1);
    setenv("LLMLOAD_JOB", "nightly", 1);
    setenv("LLMLOAD_SEED", "18446744073709551615", 1);
    setenv("LLMLOAD_DATA", "prompt_tokens=10,output_tokens=5", 1);
    setenv("LLMLOAD_WORKERS", "2", 1);
    setenv("LLMLOAD_OUT", "/tmp/llmload-env-out", 1);
    setenv("LLMLOAD_WARMUP", "", 1); /* empty: as if unset */
    config c;
    char err[512] = "";
    const char *none[] = {NULL};
    assert_int_equal(parse_args(&c, none, err, sizeof err), 0);
    assert_string_equal(c.target, "http://127.0.0.1:9");
    assert_true(c.max_seconds == 300);
    assert_int_equal(c.max_requests, 77);
    assert_int_equal(c.schedule, CONFIG_SCHED_POISSON);
    assert_int_equal(c.n_rates, 2);
    assert_true(c.rates[0] == 1 && c.rates[1] == 2.5);
    assert_int_equal(c.insecure, 1);
    assert_int_equal(c.stream_usage, 0);
    assert_int_equal(c.continuous_usage, 0);
    assert_int_equal(c.n_headers, 2);
    assert_string_equal(c.headers[0], "X-A: 1");
    assert_string_equal(c.headers[1], "X-B: two, three");
    assert_non_null(c.server_metrics);
    assert_string_equal(c.server_metrics, "");
    assert_string_equal(c.slo, "ttft_p95<=500ms");
    assert_string_equal(c.pushgateway, "http://127.0.0.1:9091");
    assert_string_equal(c.job, "nightly");
    assert_true(c.seed == UINT64_MAX);
    assert_true(c.data.prompt_tokens == 10 && c.data.output_tokens == 5);
    assert_int_equal(c.workers, 2);
    assert_string_equal(c.out_dir, "/tmp/llmload-env-out");
    assert_true(c.warmup_s == 0);
    config_free(&c);
    clean_env();
}

/* flag > variable > profile > default, whatever the order on the command line. */
static void test_env_precedence(void **state)
{
    (void)state;
    clean_env();
    char path[64];
    write_temp(path, sizeof path, "{\"target\": \"http://127.0.0.1:1\", \"max_seconds\": 10, \"job\": \"from-profile\"}");
    config c;
    char err[512] = "";
    const char *prof[] = {path, NULL};
    assert_int_equal(parse_args(&c, prof, err, sizeof err), 0);
    assert_true(c.max_seconds == 10);
    assert_string_equal(c.job, "from-profile");
    assert_true(c.cooldown_s == 0); /* default */
    config_free(&c);

    setenv("LLMLOAD_MAX_SECONDS", "20", 1);
    setenv("LLMLOAD_COOLDOWN", "1", 1);
    assert_int_equal(parse_args(&c, prof, err, sizeof err), 0);
    assert_true(c.max_seconds == 20);
    assert_true(c.cooldown_s == 1);
    assert_string_equal(c.job, "from-profile");
    config_free(&c);

    const char *flag_first[] = {"--max-seconds", "30", path, NULL};
    assert_int_equal(parse_args(&c, flag_first, err, sizeof err), 0);
    assert_true(c.max_seconds == 30);
    assert_true(c.cooldown_s == 1);
    config_free(&c);

    /* A flag wins over a repeatable variable's header of the same name; others add. */
    setenv("LLMLOAD_HEADER", "X-A: env\nX-B: env", 1);
    const char *hdr[] = {path, "--header", "X-A: flag", NULL};
    assert_int_equal(parse_args(&c, hdr, err, sizeof err), 0);
    assert_int_equal(c.n_headers, 2);
    assert_string_equal(c.headers[0], "X-A: flag");
    assert_string_equal(c.headers[1], "X-B: env");
    config_free(&c);
    unlink(path);
    clean_env();
}

/* A bad value is a usage error (or a runtime one for a missing file) naming the variable. */
static void test_env_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *var, *val;
        int rc;
        const char *msg;
    } cases[] = {
        {"LLMLOAD_MAX_SECONDS", "abc", LL_EUSAGE, "LLMLOAD_MAX_SECONDS: \"abc\" is not a duration"},
        {"LLMLOAD_RATE", "1,,2", LL_EUSAGE, "LLMLOAD_RATE: \"1,,2\" has an empty item"},
        {"LLMLOAD_SCHEDULE", "fast", LL_EUSAGE, "LLMLOAD_SCHEDULE: \"fast\" is not a schedule"},
        {"LLMLOAD_INSECURE", "maybe", LL_EUSAGE, "LLMLOAD_INSECURE: \"maybe\" is not on or off"},
        {"LLMLOAD_PUSHGATEWAY", "pgw:9091", LL_EUSAGE, "LLMLOAD_PUSHGATEWAY: \"pgw:9091\" is not an http"},
        {"LLMLOAD_HEADER", "X-A: 1\nbroken", LL_EUSAGE, "LLMLOAD_HEADER: \"broken...\" is not a header"},
        {"LLMLOAD_CA_CERT", "/nonexistent/ca.pem", LL_ENOENT, "LLMLOAD_CA_CERT: cannot read \"/nonexistent/ca.pem\""},
        {"LLMLOAD_API_KEY_ENV", "LLTEST_UNSET", LL_EUSAGE, "LLMLOAD_API_KEY_ENV: variable \"LLTEST_UNSET\" is not set"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clean_env();
        setenv(cases[i].var, cases[i].val, 1);
        config c;
        char err[512] = "";
        const char *args[] = {"--target", BASE_TARGET, NULL};
        int rc = parse_args(&c, args, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].msg))
            fail_msg("%s=%s: rc %d (want %d), err \"%s\" (want \"%s\")", cases[i].var, cases[i].val,
                     rc, cases[i].rc, err, cases[i].msg);
        config_free(&c);
    }
    /* The flag, given too, replaces the bad variable's value: the variable is never the one used. */
    clean_env();
    setenv("LLMLOAD_SCHEDULE", "poisson", 1);
    config c;
    char err[512] = "";
    const char *args[] = {"--target", BASE_TARGET, "--schedule", "fast", NULL};
    assert_int_equal(parse_args(&c, args, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "--schedule: \"fast\""));
    config_free(&c);
    clean_env();
}

/* The secret itself never comes from an LLMLOAD_* variable: only the variable's name does. */
static void test_env_api_key(void **state)
{
    (void)state;
    clean_env();
    setenv("LLTEST_KEY", "sk-env-secret-9", 1);
    setenv("LLMLOAD_API_KEY_ENV", "LLTEST_KEY", 1);
    config c;
    char err[512] = "";
    const char *args[] = {"--target", BASE_TARGET, NULL};
    assert_int_equal(parse_args(&c, args, err, sizeof err), 0);
    assert_string_equal(c.api_key, "sk-env-secret-9");
    assert_false(json_contains(&c, "sk-env-secret-9"));
    config_free(&c);
    clean_env();
}

/* Every option in --help (generated from the table) has its variable in docs/configuration.md,
 * so the documented list cannot fall behind the table. */
static void test_env_documented(void **state)
{
    (void)state;
    FILE *doc = fopen("docs/configuration.md", "r");
    assert_non_null(doc);
    static char text[256 * 1024];
    size_t n = fread(text, 1, sizeof text - 1, doc);
    fclose(doc);
    text[n] = '\0';
    char *help = NULL;
    size_t help_len = 0;
    FILE *f = open_memstream(&help, &help_len);
    assert_non_null(f);
    config_print_run_help(f);
    fclose(f);
    size_t seen = 0;
    for (char *p = help; (p = strstr(p, "\n  --")) != NULL; p += 5) {
        char name[64];
        size_t len = strcspn(p + 5, " \n");
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), p + 5);
        if (strcmp(name, "help") == 0)
            continue;
        char var[96] = "`LLMLOAD_";
        size_t k = strlen(var);
        for (const char *q = name; *q && k + 2 < sizeof var; q++)
            var[k++] = *q == '-' ? '_' : (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
        var[k++] = '`';
        var[k] = '\0';
        if (!strstr(text, var))
            fail_msg("docs/configuration.md does not list %s (for --%s)", var, name);
        seen++;
    }
    free(help);
    assert_true(seen > 40);
}

/* --shard auto/N reads JOB_COMPLETION_INDEX; --start-at's three forms resolve to epoch seconds;
 * a sharded sweep is refused. */
static void test_shard_and_start_at(void **state)
{
    (void)state;
    clean_env();
    config c;
    char err[256] = "";
    const char *const autos[] = {"--target", "http://h:1", "--shard", "auto/3", NULL};
    setenv("JOB_COMPLETION_INDEX", "2", 1);
    assert_int_equal(parse_args(&c, autos, err, sizeof err), 0);
    assert_int_equal(c.shard_index, 2);
    assert_int_equal(c.shard_count, 3);
    config_free(&c);
    setenv("JOB_COMPLETION_INDEX", "3", 1);
    assert_int_equal(parse_args(&c, autos, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "JOB_COMPLETION_INDEX=3 is not a whole number from 0 to 2"));
    config_free(&c);
    unsetenv("JOB_COMPLETION_INDEX");
    assert_int_equal(parse_args(&c, autos, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "JOB_COMPLETION_INDEX is not set"));
    config_free(&c);

    double now = clock_wall_s();
    const char *const plus[] = {"--target", "http://h:1", "--start-at", "+2m", NULL};
    assert_int_equal(parse_args(&c, plus, err, sizeof err), 0);
    assert_near(c.start_at, now + 120, 5);
    config_free(&c);
    const char *const hms[] = {"--target", "http://h:1", "--start-at", "01:02:03", NULL};
    assert_int_equal(parse_args(&c, hms, err, sizeof err), 0);
    assert_near(fmod(c.start_at, 86400), 3723, 1e-6);
    assert_near(c.start_at - fmod(c.start_at, 86400), floor(now / 86400) * 86400, 86400);
    config_free(&c);
    const char *const bad[] = {"--target", "http://h:1", "--start-at", "24:00:00", NULL};
    assert_int_equal(parse_args(&c, bad, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "is not HH:MM:SS"));
    config_free(&c);

    const char *const sweep[] = {"--target", "http://h:1", "--shard", "1/2", "--schedule", "sweep", "--rate", "4", NULL};
    assert_int_equal(parse_args(&c, sweep, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "a sweep cannot be sharded"));
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_flag),
        cmocka_unit_test(test_rates_and_headers),
        cmocka_unit_test(test_flags_override_profile),
        cmocka_unit_test(test_profile_value_forms),
        cmocka_unit_test(test_arg_errors),
        cmocka_unit_test(test_no_target),
        cmocka_unit_test(test_profile_errors),
        cmocka_unit_test(test_profile_error_via_run),
        cmocka_unit_test(test_llmload_target),
        cmocka_unit_test(test_api_key_and_redaction),
        cmocka_unit_test(test_to_json_fields),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_parse_data),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_parse_twice),
        cmocka_unit_test(test_ready_profiles_load),
        cmocka_unit_test(test_redact_url),
        cmocka_unit_test(test_target_url),
        cmocka_unit_test(test_server_metrics_flags),
        cmocka_unit_test(test_env_each_kind),
        cmocka_unit_test(test_env_precedence),
        cmocka_unit_test(test_env_bad_values),
        cmocka_unit_test(test_env_api_key),
        cmocka_unit_test(test_env_documented),
        cmocka_unit_test(test_shard_and_start_at),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
