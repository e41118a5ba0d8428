/* Unit tests for text_sanitize: valid UTF-8 kept, every malformed form replaced with U+FFFD,
 * control characters (ESC, CSI, NUL, DEL, newline) turned into spaces, and a cut that never
 * splits a character. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "llmload/text.h"

#define R "\xEF\xBF\xBD"

static void check(const char *in, size_t len, const char *want)
{
    char out[256];
    size_t n = text_sanitize(out, sizeof out, in, len);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    assert_true(text_is_clean(out, n));
    assert_int_equal(text_is_clean(in, len), strcmp(in, want) == 0 && strlen(in) == len);
}

static void test_valid_kept(void **state)
{
    (void)state;
    const char *ok = "plain, \"quoted\" text: caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
    check(ok, strlen(ok), ok);
    check("", 0, "");
}

static void test_invalid_replaced(void **state)
{
    (void)state;
    check("a\xFFz", 3, "a" R "z");               /* never valid */
    check("a\x80z", 3, "a" R "z");               /* stray continuation */
    check("\xC0\xAF", 2, R R);                   /* overlong '/' */
    check("\xE0\x80\xAF", 3, R R R);             /* overlong three bytes */
    check("\xED\xA0\x80", 3, R R R);             /* a surrogate */
    check("\xF4\x90\x80\x80", 4, R R R R);       /* past U+10FFFF */
    check("ab\xE2\x82", 4, "ab" R R);            /* cut short at the end */
    check("\xE2\x82z", 3, R R "z");              /* cut short in the middle */
}

static void test_controls_spaced(void **state)
{
    (void)state;
    check("\x1B[31mred\x1B[0m", 12, " [31mred [0m");
    check("a\0b", 3, "a b");                     /* an embedded NUL */
    check("l1\nl2\r\tx\x7F", 9, "l1 l2  x ");
    check("\xC2\x9B" "31m", 5, " 31m");          /* C1 CSI */
    check("\xC2\xA0", 2, "\xC2\xA0");            /* U+00A0 is not a control */
}

static void test_cut_on_a_boundary(void **state)
{
    (void)state;
    char out[6];
    assert_int_equal(text_sanitize(out, sizeof out, "ab\xE2\x82\xAC", 5), 5); /* fits exactly */
    assert_string_equal(out, "ab\xE2\x82\xAC");
    assert_int_equal(text_sanitize(out, 5, "ab\xE2\x82\xAC", 5), 2); /* the euro is left out whole */
    assert_string_equal(out, "ab");
    assert_int_equal(text_sanitize(out, 4, "a\xFF", 2), 1); /* so is a replacement */
    assert_string_equal(out, "a");
    assert_int_equal(text_sanitize(out, 1, "abc", 3), 0);
    assert_string_equal(out, "");
}

static size_t unesc(char *out, size_t cap, const char *s)
{
    return text_json_unescape(out, cap, s, strlen(s));
}

static void test_json_unescape(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(unesc(out, sizeof out, "prompt \\\"x\\\" too long"), 19);
    assert_string_equal(out, "prompt \"x\" too long");
    unesc(out, sizeof out, "a\\\\b\\/c\\n\\t");
    assert_string_equal(out, "a\\b/c\n\t");
    unesc(out, sizeof out, "\\u00e9\\u20AC"); /* two and three UTF-8 bytes */
    assert_string_equal(out, "\xC3\xA9\xE2\x82\xAC");
    unesc(out, sizeof out, "\\ud83d\\ude00!"); /* a surrogate pair joined */
    assert_string_equal(out, "\xF0\x9F\x98\x80!");
    unesc(out, sizeof out, "\\ud83d x"); /* a lone surrogate */
    assert_string_equal(out, "\xEF\xBF\xBD x");
    unesc(out, sizeof out, "bad \\q and \\u12"); /* malformed escapes kept as they stand */
    assert_string_equal(out, "bad \\q and \\u12");
    unesc(out, sizeof out, "end\\"); /* a trailing backslash */
    assert_string_equal(out, "end\\");
    assert_int_equal(unesc(out, 5, "ab\\u20AC"), 2); /* the euro is left out whole */
    assert_string_equal(out, "ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_kept),
        cmocka_unit_test(test_invalid_replaced),
        cmocka_unit_test(test_controls_spaced),
        cmocka_unit_test(test_cut_on_a_boundary),
        cmocka_unit_test(test_json_unescape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
