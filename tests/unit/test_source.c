/*
 * Unit tests for the request source: token counts follow the spec (mean and stdev of 10,000
 * draws, clamping, stdev 0 exact), prompts have exactly prompt_tokens words, the seed makes them
 * repeatable, the prefix is shared and the next word unique, the words after it are a window of
 * the corpus's prose from a sentence start, prefix_count spreads requests over that many distinct
 * prefixes, every prompt fits source_max_prompt_bytes, and dataset records come in the order
 * --data-sampling says, at most --data-max of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "llmload/config.h"
#include "llmload/corpus.h"
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
        /* Printable ASCII prose (the corpus), words separated by single spaces. */
        assert_true(ch >= ' ' && ch <= '~');
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

/* The corpus's pieces joined by single spaces: what every window must be a part of. */
static char *flat_corpus(void)
{
    corpus *c = NULL;
    assert_int_equal(corpus_create(&c), 0);
    size_t n = corpus_pieces(c), total = 0, len;
    for (size_t i = 0; i < n; i++) {
        corpus_piece(c, i, &len);
        total += len + 1;
    }
    char *flat = malloc(total + 1), *p = flat;
    assert_non_null(flat);
    for (size_t i = 0; i < n; i++) {
        const char *w = corpus_piece(c, i, &len);
        memcpy(p, w, len);
        p += len;
        *p++ = ' ';
    }
    *p = '\0';
    assert_true(n > 50000 && corpus_sentences(c) > 2000);
    corpus_destroy(c);
    return flat;
}

/* After the marker, a prompt is consecutive prose from a sentence start (a capital, maybe after a
 * quote), and requests start at many different places. */
static void test_corpus_windows(void **state)
{
    (void)state;
    char *flat = flat_corpus();
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 60;
    source *s = make(&d, 11);
    static char starts[200][64];
    int distinct = 0;
    for (int i = 0; i < 200; i++) {
        source_request r;
        assert_int_equal(source_next(s, &r), 0);
        assert_int_equal(count_words(&r), 60);
        const char *w = strchr(r.prompt, ' ') + 1; /* past the marker */
        assert_true((w[0] >= 'A' && w[0] <= 'Z') || w[0] == '"' || w[0] == '\'' || w[0] == '(');
        /* The window may wrap past the novel's end; one that does not is a substring. */
        if (!strstr(flat, w)) {
            char head[64];
            snprintf(head, sizeof head, "%.40s", w);
            assert_non_null(strstr(flat, head));
        }
        int seen = 0;
        for (int k = 0; k < distinct && !seen; k++)
            seen = strncmp(starts[k], w, 63) == 0;
        if (!seen)
            snprintf(starts[distinct++], 64, "%s", w);
    }
    assert_true(distinct > 190);
    source_destroy(s);
    free(flat);
}

/* prefix_count=4: four different prefixes of 30 words, each picked about a quarter of the time,
 * the same ones in the same order for the same seed. */
static void test_prefix_count(void **state)
{
    (void)state;
    enum { N = 2000, K = 4, PREFIX = 30 };
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 80;
    d.prefix_tokens = PREFIX;
    d.prefix_count = K;
    source *s = make(&d, 9), *t = make(&d, 9);
    static char prefixes[K + 1][1024];
    int uses[K + 1] = {0}, n = 0;
    for (int i = 0; i < N; i++) {
        source_request r, rt;
        assert_int_equal(source_next(s, &r), 0);
        assert_int_equal(source_next(t, &rt), 0);
        assert_string_equal(r.prompt, rt.prompt);
        assert_int_equal(count_words(&r), 80);
        size_t end = 0;
        for (int w = 0; w < PREFIX; w++)
            end += strcspn(r.prompt + end, " ") + 1;
        assert_true(end < sizeof prefixes[0]);
        int k = 0;
        while (k < n && !(strlen(prefixes[k]) == end && memcmp(prefixes[k], r.prompt, end) == 0))
            k++;
        if (k == n) {
            assert_true(n < K);
            memcpy(prefixes[n], r.prompt, end);
            prefixes[n++][end] = '\0';
        }
        uses[k]++;
        /* The marker follows the prefix. */
        assert_memory_equal(r.prompt + end, "id", 2);
    }
    assert_int_equal(n, K);
    for (int k = 0; k < K; k++) {
        assert_in_range(uses[k], N / K - 150, N / K + 150);
        /* Different passages: not even their first five words agree. */
        for (int j = 0; j < k; j++) {
            size_t five = 0;
            for (int w = 0; w < 5; w++)
                five += strcspn(prefixes[k] + five, " ") + 1;
            assert_true(memcmp(prefixes[k], prefixes[j], five) != 0);
        }
    }
    source_destroy(s);
    source_destroy(t);
}

static char *write_file(const char *suffix, const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/llmload-test-source-XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* --data-sampling: sequential is file order, cycled; shuffle a permutation per pass; random
 * repeats with the seed; --data-max keeps the first N records. */
static void test_dataset_sampling(void **state)
{
    (void)state;
    char *path = write_file(".txt", "p0\np1\np2\np3\np4\np5\np6\np7\n");
    config_data d;
    config_data_init(&d);
    d.path = path;
    d.sampling = CONFIG_SAMPLING_SEQUENTIAL;
    source *s = make(&d, 1);
    for (int i = 0; i < 20; i++) {
        source_request r;
        char want[8];
        assert_int_equal(source_next(s, &r), 0);
        snprintf(want, sizeof want, "p%d", i % 8);
        assert_string_equal(r.prompt, want);
    }
    source_destroy(s);

    d.sampling = CONFIG_SAMPLING_SHUFFLE;
    s = make(&d, 1);
    int seen[8] = {0}, in_order = 1;
    for (int i = 0; i < 8; i++) {
        source_request r;
        assert_int_equal(source_next(s, &r), 0);
        int k = r.prompt[1] - '0';
        seen[k]++;
        in_order &= k == i;
    }
    for (int k = 0; k < 8; k++)
        assert_int_equal(seen[k], 1);
    assert_false(in_order);
    source_destroy(s);

    d.sampling = CONFIG_SAMPLING_RANDOM;
    source *a = make(&d, 3), *b = make(&d, 3);
    int hits[8] = {0}, repeats = 0;
    for (int i = 0; i < 800; i++) {
        source_request ra, rb;
        assert_int_equal(source_next(a, &ra), 0);
        int k = ra.prompt[1] - '0';
        repeats += i < 8 && hits[k] > 0;
        hits[k]++;
        assert_int_equal(source_next(b, &rb), 0);
        assert_string_equal(ra.prompt, rb.prompt);
    }
    for (int k = 0; k < 8; k++)
        assert_in_range(hits[k], 50, 150);
    assert_true(repeats > 0); /* draws, not a permutation: the first 8 repeat a record */
    source_destroy(a);
    source_destroy(b);

    d.sampling = CONFIG_SAMPLING_SEQUENTIAL;
    d.max_records = 3;
    s = make(&d, 1);
    for (int i = 0; i < 9; i++) {
        source_request r;
        char want[8];
        assert_int_equal(source_next(s, &r), 0);
        snprintf(want, sizeof want, "p%d", i % 3);
        assert_string_equal(r.prompt, want);
    }
    source_destroy(s);
    unlink(path);
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
    config_data_init(&d);
    d.prefix_count = 3;
    assert_int_equal(source_create(&s, &d, 1, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "prefix_count"));
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
        cmocka_unit_test(test_prefix_shared_then_unique), cmocka_unit_test(test_corpus_windows),
        cmocka_unit_test(test_prefix_count),        cmocka_unit_test(test_dataset_sampling),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
