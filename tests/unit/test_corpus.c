/*
 * Unit tests for the prompt corpus: pieces split at any whitespace, sentence starts (after . ! ?
 * and closing quotes, at a capital), windows copied with single spaces and cycling past the end,
 * the window bound is the true maximum, distinct runs by length and punctuation, errors; and the
 * embedded novel is there, ASCII prose of some 80,000 words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "llmload/corpus.h"
#include "llmload/error.h"

static const char text[] = "  \"Yes,\" she said.\nIt was   late!  \tthen\r\nwhy? (Because) the end. x-y\n";

static void test_pieces_and_sentences(void **state)
{
    (void)state;
    corpus *c = NULL;
    assert_int_equal(corpus_create_text(&c, text, strlen(text)), 0);
    static const char *const want[] = {"\"Yes,\"", "she", "said.", "It", "was", "late!", "then", "why?",
                                       "(Because)", "the", "end.", "x-y"};
    assert_int_equal(corpus_pieces(c), 12);
    for (size_t i = 0; i < 12; i++) {
        size_t len;
        const char *p = corpus_piece(c, i, &len);
        assert_int_equal(len, strlen(want[i]));
        assert_memory_equal(p, want[i], len);
    }
    /* "Yes" (the first), "It" (after "said."), "(Because)" (after "why?"); not "then" (lowercase
     * after "late!") nor "x-y" (lowercase). */
    assert_int_equal(corpus_sentences(c), 3);
    assert_int_equal(corpus_sentence(c, 0), 0);
    assert_int_equal(corpus_sentence(c, 1), 3);
    assert_int_equal(corpus_sentence(c, 2), 8);
    corpus_destroy(c);
}

static void test_copy_and_bound(void **state)
{
    (void)state;
    corpus *c = NULL;
    assert_int_equal(corpus_create_text(&c, text, strlen(text)), 0);
    char buf[512];
    size_t n = corpus_copy(c, 2, 3, buf);
    assert_int_equal(n, strlen("said. It was"));
    assert_memory_equal(buf, "said. It was", n);
    /* Past the end it cycles. */
    n = corpus_copy(c, 10, 4, buf);
    assert_int_equal(n, strlen("end. x-y \"Yes,\" she"));
    assert_memory_equal(buf, "end. x-y \"Yes,\" she", n);
    /* More than the whole text: two full turns and then some. */
    n = corpus_copy(c, 0, 25, buf);
    assert_true(n < sizeof buf);
    assert_int_equal(corpus_copy(c, 0, 0, buf), 0);
    /* The bound is the largest copy from any start (plus the space after it), for any length. */
    for (size_t len = 1; len <= 30; len++) {
        size_t best = 0;
        for (size_t i = 0; i < corpus_pieces(c); i++) {
            size_t got = corpus_copy(c, i, len, buf) + 1;
            if (got > best)
                best = got;
        }
        assert_int_equal(corpus_window_bytes(c, len), best);
    }
    corpus_destroy(c);
}

static void test_runs_and_punct(void **state)
{
    (void)state;
    corpus *c = NULL;
    assert_int_equal(corpus_create_text(&c, text, strlen(text)), 0);
    const char *runs[8];
    size_t n = corpus_runs(c, 3, runs, 8);
    /* Yes, she, was, why, the, end: in order of first appearance, each once. */
    assert_int_equal(n, 6);
    assert_memory_equal(runs[0], "Yes", 3);
    assert_memory_equal(runs[5], "end", 3);
    assert_int_equal(corpus_runs(c, 3, runs, 2), 2);
    assert_int_equal(corpus_runs(c, 1, runs, 8), 2); /* x, y */
    assert_int_equal(corpus_runs(c, 20, runs, 8), 0);
    char p[16];
    assert_int_equal(corpus_punct(c, p, sizeof p), 8);
    assert_string_equal(p, "\",.!?()-"); /* each once, in order of appearance */
    assert_int_equal(corpus_is_word_byte('a'), 1);
    assert_int_equal(corpus_is_word_byte('7'), 1);
    assert_int_equal(corpus_is_word_byte(0xc3), 1);
    assert_int_equal(corpus_is_word_byte('\''), 0);
    corpus_destroy(c);
}

static void test_errors_and_embedded(void **state)
{
    (void)state;
    corpus *c = (corpus *)&c;
    assert_int_equal(corpus_create_text(&c, " \n\t ", 4), LL_EINVAL);
    assert_null(c);
    char *big = malloc(70000);
    assert_non_null(big);
    memset(big, 'a', 70000);
    assert_int_equal(corpus_create_text(&c, big, 70000), LL_EOVERSIZE);
    free(big);
    corpus_destroy(NULL);

    assert_int_equal(corpus_create(&c), 0);
    assert_in_range(corpus_pieces(c), 70000, 100000);
    assert_true(corpus_sentences(c) > 3000);
    size_t len;
    const char *w = corpus_piece(c, 0, &len);
    assert_memory_equal(w, "Persuasion", len);
    for (size_t i = 0; i < corpus_pieces(c); i++) {
        w = corpus_piece(c, i, &len);
        for (size_t k = 0; k < len; k++)
            assert_true(w[k] > ' ' && w[k] <= '~');
    }
    assert_non_null(strstr(corpus_title(), "Austen"));
    corpus_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces_and_sentences),
        cmocka_unit_test(test_copy_and_bound),
        cmocka_unit_test(test_runs_and_punct),
        cmocka_unit_test(test_errors_and_embedded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
