/* Unit tests for prompt_check: which requests count as truncated or too long, and the limit read
 * out of vLLM's, llama.cpp's and other servers' too-long messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "llmload/prompt_check.h"

static void test_limit_in_message(void **state)
{
    (void)state;
    assert_int_equal(prompt_check_limit_in_message("This model's maximum context length is 2048 tokens. However, you "
                                                   "requested 3000 tokens"),
                     2048);
    assert_int_equal(prompt_check_limit_in_message("request (4476 tokens) exceeds the available context size (4096 "
                                                   "tokens), try increasing it"),
                     4096);
    assert_int_equal(prompt_check_limit_in_message("{\"n_prompt_tokens\":3000,\"n_ctx\":2048}"), 2048);
    assert_int_equal(prompt_check_limit_in_message("the request exceeds the available context size, try increasing it"),
                     0);
    assert_int_equal(prompt_check_limit_in_message(""), 0);
    assert_int_equal(prompt_check_limit_in_message(NULL), 0);
}

static void test_too_long(void **state)
{
    (void)state;
    record r;
    memset(&r, 0, sizeof r);
    r.status = RECORD_ERROR;
    r.http_status = 400;
    assert_true(prompt_check_too_long(&r, "This model's maximum context length is 2048 tokens."));
    assert_true(prompt_check_too_long(&r, "the request exceeds the available context size, try increasing it"));
    assert_false(prompt_check_too_long(&r, "'max_tokens' must be an integer"));
    r.http_status = 500;
    assert_false(prompt_check_too_long(&r, "This model's maximum context length is 2048 tokens."));
}

static void test_truncated(void **state)
{
    (void)state;
    record r;
    memset(&r, 0, sizeof r);
    r.status = RECORD_OK;
    r.usage_seen = 1;
    r.prompt_tokens_asked = 3000;
    r.prompt_tokens = 1900;
    assert_true(prompt_check_truncated(&r));
    r.prompt_tokens = 2701; /* within 10% */
    assert_false(prompt_check_truncated(&r));
    r.prompt_tokens = 1900;
    r.usage_seen = 0; /* no usage: prompt_tokens is not the server's count */
    assert_false(prompt_check_truncated(&r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_in_message),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
