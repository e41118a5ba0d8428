/*
 * Unit tests for the synthetic request source: token counts follow the spec (mean and stdev of
 * 10,000 draws, clamping, stdev 0 exact), prompts have exactly prompt_tokens words, the seed makes
 * them repeatable, the prefix is shared and the next word unique, nothing needs JSON escaping,
 * and every prompt fits source_max_prompt_bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/config.h"
#include "llmload/error.h"
#include "llmload/source.h"

static source *make(const config_data *d, uint64_t seed)
{
    source *s = NULL;
    char err[256] = "";
    int rc = source_create(&s, d, seed, err, sizeof err);
    if (rc != 0)
        print_error("source_create: %s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(s);
    return s;
}

/* Counts words the simulator's way and checks the shape: single spaces, none at either end. */
static long count_words(const source_request *r)
{
    assert_int_equal(strlen(r->prompt), r->prompt_len);
    assert_true(r->prompt_len > 0);
    assert_true(r->prompt[0] != ' ');
    assert_true(r->prompt[r->prompt_len - 1] != ' ');
    long n = 1;
    for (size_t i = 0; i < r->prompt_len; i++) {
        char ch = r->prompt[i];
        /* Lowercase letters, digits and single spaces only: never anything JSON must escape. */
        assert_true((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == ' ');
        if (ch == ' ') {
            assert_true(r->prompt[i + 1] != ' ');
            n++;
        }
    }
    return n;
}

static void test_stdev_zero_is_exact(void **state)
{
    (void)state;
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 100;
    d.output_tokens = 50;
    source *s = make(&d, 1);
    for (int i = 0; i < 200; i++) {
        source_request r;
        assert_int_equal(source_next(s, &r), 0);
        assert_int_equal(r.prompt_tokens, 100);
        assert_int_equal(r.max_tokens, 50);
        assert_int_equal(count_words(&r), 100);
        assert_true(r.prompt_len <= source_max_prompt_bytes(s));
    }
    source_destroy(s);
}

static void test_mean_and_stdev(void **state)
{
    (void)state;
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 300;
    d.prompt_tokens_stdev = 50;
    d.output_tokens = 200;
    d.output_tokens_stdev = 40;
    source *s = make(&d, 7);
    const int n = 10000;
    double ps = 0, pss = 0, os = 0, oss = 0;
    size_t max_bytes = source_max_prompt_bytes(s);
    for (int i = 0; i < n; i++) {
        source_request r;
        assert_int_equal(source_next(s, &r), 0);
        assert_int_equal(count_words(&r), r.prompt_tokens);
        assert_true(r.prompt_len <= max_bytes);
        ps += (double)r.prompt_tokens;
        pss += (double)r.prompt_tokens * (double)r.prompt_tokens;
        os += (double)r.max_tokens;
        oss += (double)r.max_tokens * (double)r.max_tokens;
    }
    double pm = ps / n, psd = sqrt(pss / n - pm * pm);
    double om = os / n, osd = sqrt(oss / n - om * om);
    /* Standard errors: mean 50/100 = 0.5, stdev about 50/sqrt(20000) = 0.35; allow ~6 of them. */
    assert_float_equal(pm, 300, 3.0);
    assert_float_equal(psd, 50, 2.5);
    assert_float_equal(om, 200, 2.5);
    assert_float_equal(osd, 40, 2.0);
    /* The sound bound is far below prompt_tokens_max (1,000,000) words. */
    assert_true(max_bytes < 20000);
    source_destroy(s);
}

static void test_clamping(void **state)
{
    (void)state;
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 100;
    d.prompt_tokens_stdev = 50;
    d.prompt_tokens_min = 80;
    d.prompt_tokens_max = 120;
    d.output_tokens = 0;
    d.output_tokens_stdev = 5;
    d.output_tokens_min = 0;
    d.output_tokens_max = 3;
    source *s = make(&d, 3);
    int lo_hits = 0, hi_hits = 0;
    for (int i = 0; i < 2000; i++) {
        source_request r;
        assert_int_equal(source_next(s, &r), 0);
        assert_in_range(r.prompt_tokens, 80, 120);
        assert_int_equal(count_words(&r), r.prompt_tokens);
        assert_in_range(r.max_tokens, 1, 3); /* at least 1 whatever min says */
        lo_hits += r.prompt_tokens == 80;
        hi_hits += r.prompt_tokens == 120;
    }
    assert_true(lo_hits > 100);
    assert_true(hi_hits > 100);
    source_destroy(s);
}

static void test_same_seed_same_prompts(void **state)
{
    (void)state;
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 64;
    d.prompt_tokens_stdev = 16;
    d.output_tokens_stdev = 8;
    source *a = make(&d, 42), *b = make(&d, 42), *c = make(&d, 43);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        source_request ra, rb, rc;
        assert_int_equal(source_next(a, &ra), 0);
        assert_int_equal(source_next(b, &rb), 0);
        assert_int_equal(source_next(c, &rc), 0);
        assert_string_equal(ra.prompt, rb.prompt);
        assert_int_equal(ra.max_tokens, rb.max_tokens);
        /* Another seed changes the draws themselves, not only the unique first word. */
        const char *fa = strchr(ra.prompt, ' '), *fc = strchr(rc.prompt, ' ');
        differ += ra.prompt_tokens != rc.prompt_tokens || !fa || !fc || strcmp(fa, fc) != 0;
    }
    assert_int_equal(differ, 100);
    source_destroy(a);
    source_destroy(b);
    source_destroy(c);
}

static void test_prefix_shared_then_unique(void **state)
{
    (void)state;
    enum { N = 1000, PREFIX = 10 };
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 40;
    d.prompt_tokens_stdev = 30; /* some draws fall below prefix + 1: the floor is raised */
    d.prefix_tokens = PREFIX;
    source *s = make(&d, 5);
    char *prefix = NULL;
    size_t prefix_len = 0;
    static char unique[N][32];
    for (int i = 0; i < N; i++) {
        source_request r;
        assert_int_equal(source_next(s, &r), 0);
        assert_true(r.prompt_tokens >= PREFIX + 1);
        assert_int_equal(count_words(&r), r.prompt_tokens);
        /* The first PREFIX words, with their trailing space. */
        size_t end = 0;
        for (int w = 0; w < PREFIX; w++)
            end += strcspn(r.prompt + end, " ") + 1;
        if (!prefix) {
            prefix = strndup(r.prompt, end);
            assert_non_null(prefix);
            prefix_len = end;
        } else {
            assert_int_equal(end, prefix_len);
            assert_memory_equal(r.prompt, prefix, prefix_len);
        }
        size_t wl = strcspn(r.prompt + end, " ");
        assert_true(wl < sizeof unique[0]);
        memcpy(unique[i], r.prompt + end, wl);
        unique[i][wl] = '\0';
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            assert_string_not_equal(unique[i], unique[j]);
    free(prefix);
    source_destroy(s);
}

/* Every vocabulary word shows up, none longer than the bound the buffer is sized with. */
static void test_vocabulary(void **state)
{
    (void)state;
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 500;
    source *s = make(&d, 11);
    static char seen[512][16];
    int n_seen = 0;
    for (int i = 0; i < 50; i++) {
        source_request r;
        assert_int_equal(source_next(s, &r), 0);
        const char *p = r.prompt + strcspn(r.prompt, " ") + 1; /* skip the unique word */
        while (*p) {
            size_t wl = strcspn(p, " ");
            assert_in_range(wl, 1, 10);
            for (size_t k = 0; k < wl; k++)
                assert_true(p[k] >= 'a' && p[k] <= 'z');
            int found = 0;
            for (int k = 0; k < n_seen && !found; k++)
                found = strlen(seen[k]) == wl && memcmp(seen[k], p, wl) == 0;
            if (!found) {
                assert_true(n_seen < 512);
                memcpy(seen[n_seen], p, wl);
                seen[n_seen++][wl] = '\0';
            }
            p += wl + (p[wl] == ' ');
        }
    }
    assert_int_equal(n_seen, 256);
    source_destroy(s);
}

static void test_errors(void **state)
{
    (void)state;
    config_data d;
    char err[256] = "";
    source *s = (source *)&d; /* must be reset to NULL on failure */
    config_data_init(&d);
    d.path = (char *)"/nonexistent/prompts.jsonl";
    assert_int_equal(source_create(&s, &d, 1, err, sizeof err), LL_ENOENT);
    assert_null(s);
    assert_non_null(strstr(err, "/nonexistent/prompts.jsonl"));
    d.path = NULL;

    d.prompt_tokens_min = 10;
    d.prompt_tokens_max = 5;
    assert_int_equal(source_create(&s, &d, 1, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "prompt_tokens"));

    config_data_init(&d);
    d.output_tokens_stdev = -1;
    assert_int_equal(source_create(&s, &d, 1, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "output_tokens"));

    config_data_init(&d);
    d.prefix_tokens = 10;
    d.prompt_tokens_max = 10;
    assert_int_equal(source_create(&s, &d, 1, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "prefix_tokens"));
    /* A hand-built spec too large for a sound buffer size is refused, not overflowed. */
    config_data_init(&d);
    d.prompt_tokens = 1e12;
    d.prompt_tokens_max = 2000000000000L;
    assert_int_equal(source_create(&s, &d, 1, err, sizeof err), LL_EUSAGE);
    assert_null(s);
    assert_non_null(strstr(err, "over the limit of 10000000"));
    source_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdev_zero_is_exact), cmocka_unit_test(test_mean_and_stdev),
        cmocka_unit_test(test_clamping),            cmocka_unit_test(test_same_seed_same_prompts),
        cmocka_unit_test(test_prefix_shared_then_unique), cmocka_unit_test(test_vocabulary),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
