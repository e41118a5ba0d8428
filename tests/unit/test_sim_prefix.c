/* Unit tests for the simulator's prefix cache: block hits over a shared prefix, the chain (a
 * block hits only after the same content before it), the last-token cap, LRU eviction, and the
 * lookup sim_api_parse_opts makes for chat and completions bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../src/sim/sim_api.h"
#include "../../src/sim/sim_prefix.h"
#include "../../src/sim/sim_tokenize.h"
#include "llmload/error.h"

/* n word tokens "wNNN" (4 bytes: one token each), numbered from `from`, space separated. */
static void words(char *buf, size_t cap, int from, int n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%sw%03d", i ? " " : "", from + i);
}

static uint64_t lookup(sim_prefix *p, const char *text)
{
    sim_prefix_walk w;
    sim_prefix_begin(p, &w);
    sim_prefix_text(&w, text, strlen(text));
    return sim_prefix_end(&w, sim_tokenize_count(text, strlen(text)));
}

static void test_shared_prefix_hits(void **state)
{
    (void)state;
    sim_prefix *p = NULL;
    assert_int_equal(sim_prefix_create(16 * 100, &p), 0);
    char a[4096], b[4096], tail[1024];
    words(a, sizeof a, 0, 48);          /* 48 shared tokens: 3 blocks */
    strcpy(b, a);
    words(tail, sizeof tail, 500, 20);
    strcat(a, " ");
    strcat(a, tail);
    words(tail, sizeof tail, 700, 20);
    strcat(b, " ");
    strcat(b, tail);
    assert_int_equal(lookup(p, a), 0);  /* cold */
    assert_int_equal(lookup(p, b), 48); /* the 3 shared blocks; the 4th differs */
    assert_int_equal(sim_prefix_queries(p), 136);
    assert_int_equal(sim_prefix_hits(p), 48);
    /* The same block content after a different start is another key: no hit. */
    char c[4096];
    words(c, sizeof c, 900, 16);
    strcat(c, " ");
    words(c + strlen(c), sizeof c - strlen(c), 16, 32);
    assert_int_equal(lookup(p, c), 0);
    sim_prefix_destroy(p);
}

static void test_whole_prompt_keeps_last_token(void **state)
{
    (void)state;
    sim_prefix *p = NULL;
    assert_int_equal(sim_prefix_create(16 * 100, &p), 0);
    char a[4096];
    words(a, sizeof a, 0, 32);
    assert_int_equal(lookup(p, a), 0);
    /* All 32 tokens cached, but the last one is always computed: the hit stops a block short. */
    assert_int_equal(lookup(p, a), 16);
    sim_prefix_destroy(p);
}

static void test_lru_eviction(void **state)
{
    (void)state;
    sim_prefix *p = NULL;
    assert_int_equal(sim_prefix_create(16 * 2, &p), 0);   /* two blocks */
    char a[4096], b[4096];
    words(a, sizeof a, 0, 17);
    words(b, sizeof b, 100, 17);
    lookup(p, a);
    lookup(p, b);
    assert_int_equal(lookup(p, a), 16);   /* a is now the most recent */
    char c[4096];
    words(c, sizeof c, 200, 17);
    lookup(p, c);                          /* evicts b, the least recent */
    assert_int_equal(lookup(p, a), 16);
    assert_int_equal(lookup(p, b), 0);
    sim_prefix_destroy(p);
}

static void test_api_lookup(void **state)
{
    (void)state;
    sim_prefix *p = NULL;
    assert_int_equal(sim_prefix_create(16 * 100, &p), 0);
    sim_api_prompt_opts o = {.max_model_len = 100000, .chat_template_tokens = 8, .prefix = p};
    char shared[2048], body[4096];
    words(shared, sizeof shared, 0, 24);
    sim_api_request req;
    sim_api_error err;
    for (int i = 0; i < 2; i++) {
        snprintf(body, sizeof body, "{\"messages\":[{\"role\":\"user\",\"content\":\"%s w%03d w%03d\"}]}", shared,
                 600 + i, 700 + i);
        assert_int_equal(sim_api_parse_opts(SIM_API_CHAT, body, strlen(body), "m", &o, &req, &err), 0);
        assert_int_equal(req.prompt_tokens, 8 + 26);
        /* 8 template tokens + 24 shared = 32: two whole blocks on the second request. */
        assert_int_equal(req.cached_tokens, i ? 32 : 0);
    }
    /* Without a cache nothing is looked up. */
    o.prefix = NULL;
    assert_int_equal(sim_api_parse_opts(SIM_API_CHAT, body, strlen(body), "m", &o, &req, &err), 0);
    assert_int_equal(req.cached_tokens, 0);
    /* A completions prompt as token ids. */
    o.prefix = p;
    const char *ids = "{\"prompt\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18]}";
    assert_int_equal(sim_api_parse_opts(SIM_API_COMPLETIONS, ids, strlen(ids), "m", &o, &req, &err), 0);
    assert_int_equal(req.cached_tokens, 0);
    assert_int_equal(sim_api_parse_opts(SIM_API_COMPLETIONS, ids, strlen(ids), "m", &o, &req, &err), 0);
    assert_int_equal(req.cached_tokens, 16);
    sim_prefix_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_prefix_hits),
        cmocka_unit_test(test_whole_prompt_keeps_last_token),
        cmocka_unit_test(test_lru_eviction),
        cmocka_unit_test(test_api_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
