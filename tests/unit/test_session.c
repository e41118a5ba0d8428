/* Unit tests for session scheduling: turns come out in due order; a turn's conversation is the
 * history (user prompts and the replies given back) plus its own prompt, valid JSON in a request
 * body; the next turn is due a think time after the previous one ended (clamped at 0, repeatable by
 * seed); a failed turn ends its session; untake puts a turn back first in line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "assert_near.h"
#include "llmload/error.h"
#include "llmload/request.h"
#include "llmload/session.h"

#define S 1000000000ull

static source *mk_source(void)
{
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 6;
    d.output_tokens = 4;
    source *src;
    char err[128];
    assert_int_equal(source_create(&src, &d, 7, err, sizeof err), 0);
    return src;
}

static record done_rec(const session_turn *t, uint64_t end_ns, int status)
{
    record r;
    memset(&r, 0, sizeof r);
    r.session = t->session;
    r.turn = t->turn;
    r.status = (uint8_t)status;
    r.end_ns = end_ns;
    r.output_tokens = 4;
    return r;
}

/* The body a client would send for t, parsed back. */
static cJSON *body_of(const session_turn *t, config_api api)
{
    config cfg;
    assert_int_equal(config_init(&cfg), 0);
    cfg.api = api;
    request_template *tm;
    assert_int_equal(request_template_create(&tm, &cfg, "m"), 0);
    char *buf = NULL;
    size_t cap = 0;
    long n = request_body_build_raw(tm, t->parts, t->lens, t->n_parts, t->max_tokens, &buf, &cap);
    assert_true(n > 0);
    cJSON *j = cJSON_ParseWithLength(buf, (size_t)n);
    assert_non_null(j);
    free(buf);
    request_template_destroy(tm);
    config_free(&cfg);
    return j;
}

static void test_turns_carry_history(void **state)
{
    (void)state;
    source *src = mk_source();
    session_set *ss;
    session_options o = {.api = CONFIG_API_CHAT, .turns = 3, .think_s = 0.5, .seed = 1};
    assert_int_equal(session_set_create(&ss, &o), 0);
    assert_int_equal(session_begin(ss, 100 * S), 0);
    assert_int_equal(session_begin(ss, 50 * S), 0);
    assert_true(session_next_due(ss) == 50 * S);
    session_turn t;
    assert_int_equal(session_take(ss, src, 40 * S, &t), 0); /* nothing due yet */
    assert_int_equal(session_take(ss, src, 60 * S, &t), 1);
    assert_int_equal(t.session, 2); /* begun second, due first */
    assert_int_equal(t.turn, 1);
    assert_true(t.scheduled_ns == 50 * S);
    assert_int_equal(t.lens[0], 0); /* no history yet */
    cJSON *j = body_of(&t, CONFIG_API_CHAT);
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    char first[256];
    snprintf(first, sizeof first, "%s",
             cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, 0), "content")->valuestring);
    cJSON_Delete(j);
    long pt1 = t.prompt_tokens;

    /* The reply comes back still JSON-escaped, as the client keeps it. */
    record r = done_rec(&t, 61 * S, RECORD_OK);
    const char reply[] = "said \\\"hi\\\"\\n";
    assert_int_equal(session_turn_done(ss, &r, reply, strlen(reply), 0), 1);
    assert_true(session_next_due(ss) == 61 * S + S / 2); /* the think time after the end */
    assert_int_equal(session_take(ss, src, 61 * S + S / 2, &t), 1);
    assert_int_equal(t.session, 2);
    assert_int_equal(t.turn, 2);
    assert_int_equal(t.prompt_tokens, pt1 + 4 + 6); /* history: prompt and reply; then its own */
    j = body_of(&t, CONFIG_API_CHAT);
    msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 3);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, 0), "content")->valuestring, first);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, 1), "role")->valuestring,
                        "assistant");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, 1), "content")->valuestring,
                        "said \"hi\"\n");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(msgs, 2), "role")->valuestring, "user");
    cJSON_Delete(j);

    /* A record of no session in flight is refused. */
    record bogus = done_rec(&t, 70 * S, RECORD_OK);
    bogus.turn = 1;
    assert_int_equal(session_turn_done(ss, &bogus, "", 0, 0), LL_ENOENT);

    /* Turn 2 cut short (truncated reply counted), turn 3, then the session is complete. */
    r = done_rec(&t, 62 * S, RECORD_OK);
    assert_int_equal(session_turn_done(ss, &r, "x", 1, 1), 1);
    /* Session 1's turn 1 (due at 100) is now behind session 2's turn 3 (due at 62.5). */
    assert_int_equal(session_take(ss, src, 200 * S, &t), 1);
    assert_int_equal(t.session, 2);
    assert_int_equal(t.turn, 3);
    r = done_rec(&t, 201 * S, RECORD_OK);
    assert_int_equal(session_turn_done(ss, &r, "y", 1, 0), 0);
    /* Session 1: its first turn fails, which ends it. */
    assert_int_equal(session_take(ss, src, 200 * S, &t), 1);
    assert_int_equal(t.session, 1);
    r = done_rec(&t, 202 * S, RECORD_ERROR);
    assert_int_equal(session_turn_done(ss, &r, "", 0, 0), 0);
    assert_true(session_next_due(ss) == UINT64_MAX);
    session_stats st;
    session_stats_get(ss, &st);
    assert_int_equal(st.sessions, 2);
    assert_int_equal(st.completed, 1);
    assert_int_equal(st.replies_cut, 1);
    session_set_destroy(ss);
    source_destroy(src);
}

static void test_untake_and_completions(void **state)
{
    (void)state;
    source *src = mk_source();
    session_set *ss;
    session_options o = {.api = CONFIG_API_COMPLETIONS, .turns = 2, .seed = 1};
    assert_int_equal(session_set_create(&ss, &o), 0);
    assert_int_equal(session_begin(ss, 10 * S), 0);
    assert_int_equal(session_begin(ss, 10 * S), 0);
    session_turn t;
    assert_int_equal(session_take(ss, src, 10 * S, &t), 1);
    assert_int_equal(t.session, 1); /* equal due times keep their order */
    session_untake(ss, &t);         /* no slot after all: first in line again */
    assert_int_equal(session_take(ss, src, 10 * S, &t), 1);
    assert_int_equal(t.session, 1);
    assert_int_equal(t.turn, 1);
    char p1[256];
    snprintf(p1, sizeof p1, "%.*s", (int)t.lens[1], t.parts[1]);
    record r = done_rec(&t, 11 * S, RECORD_OK);
    assert_int_equal(session_turn_done(ss, &r, "ok", 2, 0), 1); /* think time 0: due at once */
    assert_true(session_next_due(ss) == 10 * S);                 /* session 2 still waits first */
    assert_int_equal(session_take(ss, src, 11 * S, &t), 1);
    assert_int_equal(t.session, 2);
    assert_int_equal(session_take(ss, src, 11 * S, &t), 1);
    assert_int_equal(t.session, 1);
    assert_int_equal(t.turn, 2);
    cJSON *j = body_of(&t, CONFIG_API_COMPLETIONS);
    const char *prompt = cJSON_GetObjectItemCaseSensitive(j, "prompt")->valuestring;
    char want[300];
    snprintf(want, sizeof want, "%s\nok\n", p1);
    assert_memory_equal(prompt, want, strlen(want)); /* turn 1, its reply, then turn 2's prompt */
    assert_true(strlen(prompt) > strlen(want));
    cJSON_Delete(j);
    session_set_destroy(ss);
    source_destroy(src);
}

/* Think times: normal draws clamped at 0, the same for the same seed. */
static void test_think_times(void **state)
{
    (void)state;
    uint64_t dues[2][200];
    for (int run = 0; run < 2; run++) {
        source *src = mk_source();
        session_set *ss;
        session_options o = {.api = CONFIG_API_CHAT, .turns = 2, .think_s = 0.1, .think_stdev_s = 1.0, .seed = 9};
        assert_int_equal(session_set_create(&ss, &o), 0);
        int zeros = 0;
        for (int i = 0; i < 200; i++) {
            session_turn t;
            assert_int_equal(session_begin(ss, 0), 0);
            assert_int_equal(session_take(ss, src, 0, &t), 1);
            record r = done_rec(&t, 5 * S, RECORD_OK);
            assert_int_equal(session_turn_done(ss, &r, "", 0, 0), 1);
            dues[run][i] = session_next_due(ss);
            assert_true(dues[run][i] >= 5 * S); /* never before the end */
            zeros += dues[run][i] == 5 * S;
            assert_int_equal(session_take(ss, src, UINT64_MAX - 1, &t), 1);
            r = done_rec(&t, 6 * S, RECORD_OK);
            assert_int_equal(session_turn_done(ss, &r, "", 0, 0), 0);
        }
        assert_true(zeros > 60 && zeros < 140); /* about 46% of N(0.1, 1) is below 0 */
        session_set_destroy(ss);
        source_destroy(src);
    }
    assert_memory_equal(dues[0], dues[1], sizeof dues[0]);
}

/* --workers: loop k of n numbers its sessions k+1, k+1+n, ...; a number of another loop is refused. */
static void test_numbering(void **state)
{
    (void)state;
    source *src = mk_source();
    session_set *ss;
    session_options o = {.api = CONFIG_API_CHAT, .turns = 2, .seed = 1, .id_first = 2, .id_stride = 3};
    assert_int_equal(session_set_create(&ss, &o), 0);
    session_turn t[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(session_begin(ss, (uint64_t)i), 0);
        assert_int_equal(session_take(ss, src, 10, &t[i]), 1);
        assert_int_equal(t[i].session, 2 + 3 * i);
    }
    record r = done_rec(&t[1], 20, RECORD_OK);
    assert_int_equal(session_turn_done(ss, &r, "", 0, 0), 1);
    r.session = 3; /* loop 0's number */
    assert_int_equal(session_turn_done(ss, &r, "", 0, 0), LL_ENOENT);
    r.session = 11; /* not begun yet */
    assert_int_equal(session_turn_done(ss, &r, "", 0, 0), LL_ENOENT);
    session_set_destroy(ss);
    source_destroy(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_turns_carry_history),
        cmocka_unit_test(test_untake_and_completions),
        cmocka_unit_test(test_think_times),
        cmocka_unit_test(test_numbering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
