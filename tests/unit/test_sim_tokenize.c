/* Unit tests for the simulator's sub-word prompt count (sim_tokenize.h): letter runs cost
 * ceil(n/4), punctuation 1 each, whitespace nothing; counts add up across whitespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "../../src/sim/sim_tokenize.h"

static uint64_t count(const char *s)
{
    return sim_tokenize_count(s, strlen(s));
}

static void test_rule(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t tokens;
    } cases[] = {
        {"", 0},
        {"   \t\n", 0},
        {"a", 1},
        {"the", 1},
        {"word", 1},          /* 4 bytes: one piece */
        {"words", 2},         /* 5 bytes: two */
        {"government", 3},    /* 10 bytes: ceil(10/4) */
        {"one two three", 4}, /* 1 + 1 + 2 */
        {"Hello, world!", 6}, /* Hello 2, "," 1, world 2, "!" 1 */
        {"id0123456789abcdef", 5}, /* llmload's uniqueness marker: 18 bytes */
        {"a.b", 3},
        {"|||\nhi", 4},       /* the simulator's chat template: one token per '|' */
        {"caf\xc3\xa9", 2},   /* UTF-8 bytes count as letters: 5 bytes */
        {"  x  ", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (count(cases[i].text) != cases[i].tokens)
            fail_msg("\"%s\": %llu tokens, expected %llu", cases[i].text, (unsigned long long)count(cases[i].text),
                     (unsigned long long)cases[i].tokens);
    }
}

static void test_not_the_word_count(void **state)
{
    (void)state;
    /* The point of the rule: a prompt of n words is not n tokens, and the count is additive at
     * spaces, so a prompt's tokens are the sum of its words' tokens. */
    const char *words = "quiet mountain river apple";
    assert_int_equal(count(words), 2 + 2 + 2 + 2);
    assert_int_equal(count("quiet") + count("mountain") + count("river") + count("apple"), count(words));
    assert_int_equal(sim_tokenize_count("government", 4), 1); /* only len bytes are read */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_not_the_word_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
