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

/* The escaper copies clean 8-byte words whole: check it against a byte-at-a-time reference for
 * every special byte at every position of a word, and for every byte value, at every length. */
static size_t reference_escape(char *out, const char *s, size_t len)
{
    char *o = out;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            o += sprintf(o, "\\%c", ch);
        else if (ch == '\n')
            o += sprintf(o, "\\n");
        else if (ch == '\r')
            o += sprintf(o, "\\r");
        else if (ch == '\t')
            o += sprintf(o, "\\t");
        else if (ch < 0x20)
            o += sprintf(o, "\\u%04x", ch);
        else
            *o++ = (char)ch;
    }
    return (size_t)(o - out);
}

static void test_json_escape_matches_reference(void **state)
{
    (void)state;
    char in[40], got[6 * 40 + 8], want[6 * 40 + 8];
    for (int ch = 0; ch < 256; ch++) {
        for (size_t len = 1; len <= 33; len++) {
            for (size_t pos = 0; pos < len; pos++) {
                memset(in, 'a', sizeof in);
                in[len - 1] = (char)0xc3; /* a UTF-8 lead byte passes through */
                in[pos] = (char)ch;
                size_t n = request_json_escape(got, in, len);
                size_t m = reference_escape(want, in, len);
                if (n != m || memcmp(got, want, n) != 0)
                    fail_msg("byte 0x%02x at %zu of %zu: got %.*s want %.*s", ch, pos, len, (int)n, got,
                             (int)m, want);
            }
        }
    }
    assert_int_equal(request_json_escape(got, "", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_body_exact),
        cmocka_unit_test(test_completions_body_options),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_json_escape_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
