/* Unit tests for the error table: every code has a distinct message and name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "llmload/error.h"

static void test_codes_are_negative_and_named(void **state)
{
    (void)state;
    for (int c = LL_ERR_FIRST_ + 1; c < LL_ERR_LAST_; c++) {
        assert_true(c < 0);
        assert_string_not_equal(ll_strerror(c), "unknown error");
        assert_true(strncmp(ll_errname(c), "LL_E", 4) == 0);
        for (int d = c + 1; d < LL_ERR_LAST_; d++)
            assert_string_not_equal(ll_strerror(c), ll_strerror(d));
    }
    assert_string_equal(ll_errname(LL_ENOMEM), "LL_ENOMEM");
    assert_string_equal(ll_strerror(LL_OK), "success");
    assert_string_equal(ll_strerror(12345), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_codes_are_negative_and_named)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
