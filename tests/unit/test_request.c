/* Unit tests for request bodies: exact JSON for both APIs, escaping, buffer reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/config.h"
#include "llmload/request.h"

static config base_config(void)
{
    config c;
    memset(&c, 0, sizeof c);
    c.api = CONFIG_API_CHAT;
    c.stream_usage = 1;
    c.ignore_eos = 1;
    return c;
}

static void test_chat_body_exact(void **state)
{
    (void)state;
    config c = base_config();
    request_template *t;
    assert_int_equal(request_template_create(&t, &c, "m\"1"), 0);
    char *buf = NULL;
    size_t cap = 0;
    long n = request_body_build(t, "hello world", 11, 32, &buf, &cap);
    assert_string_equal(buf, "{\"model\":\"m\\\"1\",\"messages\":[{\"role\":\"user\",\"content\":\"hello world\"}],"
                             "\"max_tokens\":32,\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                             "\"ignore_eos\":true}");
    assert_int_equal(n, (long)strlen(buf));
    /* A second, shorter body reuses the buffer. */
    char *first = buf;
    size_t first_cap = cap;
    request_body_build(t, "x", 1, 1, &buf, &cap);
    assert_ptr_equal(buf, first);
    assert_int_equal(cap, first_cap);
    free(buf);
    request_template_destroy(t);
}

static void test_completions_body_options(void **state)
{
    (void)state;
    config c = base_config();
    c.api = CONFIG_API_COMPLETIONS;
    c.stream_usage = 1;
    c.continuous_usage = 1;
    c.ignore_eos = 0;
    request_template *t;
    assert_int_equal(request_template_create(&t, &c, "m"), 0);
    char *buf = NULL;
    size_t cap = 0;
    request_body_build(t, "a\nb\t\"c\"\\\x01", 9, 5, &buf, &cap);
    assert_string_equal(buf, "{\"model\":\"m\",\"prompt\":\"a\\nb\\t\\\"c\\\"\\\\\\u0001\",\"max_tokens\":5,"
                             "\"stream\":true,\"stream_options\":{\"include_usage\":true,"
                             "\"continuous_usage_stats\":true}}");
    free(buf);
    request_template_destroy(t);
    c.stream_usage = 0;
    c.continuous_usage = 0;
    assert_int_equal(request_template_create(&t, &c, "m"), 0);
    buf = NULL;
    cap = 0;
    request_body_build(t, "p", 1, 7, &buf, &cap);
    assert_string_equal(buf, "{\"model\":\"m\",\"prompt\":\"p\",\"max_tokens\":7,\"stream\":true}");
    free(buf);
    request_template_destroy(t);
}

static void test_paths(void **state)
{
    (void)state;
    assert_string_equal(request_path(CONFIG_API_CHAT), "/v1/chat/completions");
    assert_string_equal(request_path(CONFIG_API_COMPLETIONS), "/v1/completions");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_body_exact),
        cmocka_unit_test(test_completions_body_options),
        cmocka_unit_test(test_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
