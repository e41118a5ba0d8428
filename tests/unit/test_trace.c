/* Unit tests for trace replay's reader and prompt builder: each format's good input (Mooncake,
 * Azure CSV, OTel spans in OTLP and flat shapes, jsonl), auto-detection, sorting, sessions, one-line
 * errors naming file and line for bad input, Mooncake hash_ids as shared prompt blocks (the same id
 * the same text, a partial block a prefix of the full one), prompt lengths by word costs, and how
 * --workers/--shard deal a trace out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/source.h"
#include "llmload/trace.h"
#include "llmload/workers.h"

static trace *parse_ok(const char *text, const char *name, trace_format fmt)
{
    trace *t = NULL;
    char err[256] = "";
    int rc = trace_parse(&t, text, strlen(text), name, fmt, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: rc %d: %s", name, rc, err);
    return t;
}

static void parse_bad(const char *text, const char *name, trace_format fmt, int want_rc, const char *want_msg)
{
    trace *t = (trace *)1;
    char err[256] = "";
    int rc = trace_parse(&t, text, strlen(text), name, fmt, err, sizeof err);
    if (rc != want_rc || !strstr(err, want_msg) || strchr(err, '\n'))
        fail_msg("%s: rc %d (want %d), err \"%s\" (want \"%s\")", name, rc, want_rc, err, want_msg);
    assert_null(t);
}

static void test_mooncake(void **state)
{
    (void)state;
    const char *text = "{\"timestamp\": 250, \"input_length\": 1100, \"output_length\": 3, \"hash_ids\": [0, 1, 3]}\n"
                       "\n"
                       "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [0, 1]}\r\n"
                       "{\"timestamp\": 0, \"input_length\": 20, \"output_length\": 0}\n"
                       "{\"timestamp\": 100.5, \"input_length\": 700, \"output_length\": 4, \"hash_ids\": [0, 2]}";
    trace *t = parse_ok(text, "m.jsonl", TRACE_FORMAT_AUTO);
    assert_int_equal(trace_kind(t), TRACE_FORMAT_MOONCAKE);
    assert_int_equal(trace_size(t), 4);
    /* Sorted by offset, ties in file order. */
    const trace_entry *e = trace_at(t, 0);
    assert_int_equal(e->offset_ns, 0);
    assert_int_equal(e->input_tokens, 600);
    assert_int_equal(e->n_hash_ids, 2);
    assert_int_equal(e->hash_ids[1], 1);
    e = trace_at(t, 1);
    assert_int_equal(e->input_tokens, 20);
    assert_int_equal(e->output_tokens, 1); /* 0 is sent as 1 */
    assert_int_equal(e->n_hash_ids, 0);
    assert_null(e->hash_ids);
    assert_int_equal(trace_at(t, 2)->offset_ns, 100500000);
    assert_int_equal(trace_at(t, 3)->offset_ns, 250000000);
    assert_int_equal(trace_at(t, 3)->hash_ids[2], 3);
    assert_int_equal(trace_span_ns(t), 250000000);
    assert_int_equal(trace_sessions(t), 0);
    trace_destroy(t);
}

/* The words of a built prompt, without its end marker ("id" + 16 hex digits). */
static size_t words_of(const char *prompt, size_t len, char words[][24], size_t cap)
{
    char *copy = strndup(prompt, len);
    assert_non_null(copy);
    size_t n = 0;
    for (char *w = strtok(copy, " "); w; w = strtok(NULL, " ")) {
        assert_true(n < cap);
        snprintf(words[n++], 24, "%s", w);
    }
    free(copy);
    assert_true(n >= 1);
    assert_int_equal(strlen(words[n - 1]), 18);
    assert_memory_equal(words[n - 1], "id", 2);
    return n - 1;
}

static char wa[8192][24], wb[8192][24];

static void test_mooncake_blocks(void **state)
{
    (void)state;
    const char *text = "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 5, \"hash_ids\": [7, 8]}\n"
                       "{\"timestamp\": 1, \"input_length\": 1024, \"output_length\": 5, \"hash_ids\": [7, 9]}\n"
                       "{\"timestamp\": 2, \"input_length\": 1300, \"output_length\": 5, \"hash_ids\": [7, 8, 10]}\n"
                       "{\"timestamp\": 3, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": [7]}\n"
                       "{\"timestamp\": 4, \"input_length\": 1024, \"output_length\": 5, \"hash_ids\": [7, 8]}\n";
    trace *t = parse_ok(text, "m.jsonl", TRACE_FORMAT_MOONCAKE);
    trace_prompter *p = NULL;
    assert_int_equal(trace_prompter_create(&p, t, NULL, 42), 0);
    source_request r[5];
    size_t n[5];
    static char w[5][4096][24];
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(trace_request(p, i, &r[i]), 0);
        assert_int_equal(r[i].prompt[r[i].prompt_len], '\0');
        n[i] = words_of(r[i].prompt, r[i].prompt_len, w[i], 4096);
        /* Uncalibrated: one word per token, the marker one of them. */
        assert_int_equal(n[i] + 1, trace_at(t, i)->input_tokens);
        assert_int_equal(r[i].prompt_tokens, trace_at(t, i)->input_tokens);
        assert_int_equal(r[i].max_tokens, 5);
    }
    /* Block 7 is the same 512 words everywhere; blocks 8 and 9 differ. */
    for (size_t i = 1; i < 5; i++)
        for (size_t k = 0; k < (i == 3 ? n[3] : 512); k++)
            assert_string_equal(w[i][k], w[0][k]);
    int differ = 0;
    for (size_t k = 512; k < 1023; k++)
        differ += strcmp(w[0][k], w[1][k]) != 0;
    assert_true(differ > 400);
    /* [7, 8, 10] starts with the 1024 words of [7, 8]; the same ids replay the same text, and only
     * the end marker tells two such requests apart. */
    for (size_t k = 0; k < 1023; k++) {
        assert_string_equal(w[2][k], w[0][k]);
        assert_string_equal(w[4][k], w[0][k]);
    }
    assert_true(strcmp(w[0][n[0]], w[4][n[4]]) != 0); /* the markers (each prompt borrowed the one buffer) */
    trace_prompter_destroy(p);

    /* Another seed: other text for the same ids (a --repeat does not find the last run's cache);
     * two prompters share the one trace. */
    trace_prompter *p2 = NULL;
    assert_int_equal(trace_prompter_create(&p, t, NULL, 43), 0);
    assert_int_equal(trace_prompter_create(&p2, t, NULL, 42), 0);
    source_request q;
    assert_int_equal(trace_request(p2, 0, &q), 0);
    size_t m2 = words_of(q.prompt, q.prompt_len, wa, 8192);
    assert_int_equal(m2, n[0]);
    for (size_t k = 0; k < m2; k++)
        assert_string_equal(wa[k], w[0][k]); /* the same seed: the same prompt from another prompter */
    trace_prompter_destroy(p2);
    assert_int_equal(trace_request(p, 0, &q), 0);
    size_t m = words_of(q.prompt, q.prompt_len, wa, 8192);
    int same = 0;
    for (size_t k = 0; k < m; k++)
        same += strcmp(wa[k], w[0][k]) == 0;
    assert_true(same < 100);
    assert_int_equal(trace_request(p, 5, &q), LL_EINVAL);
    trace_prompter_destroy(p);
    trace_destroy(t);
}

/* With measured word costs the prompt's cost lands on the recorded length (overhead included), and
 * shared blocks stay shared. */
static void test_costs(void **state)
{
    (void)state;
    static source_costs c;
    c.overhead = 5;
    for (unsigned k = 0; k < SOURCE_VOCAB_SIZE; k++)
        c.word[k] = (double)((strlen(source_vocab_word(k)) + 3) / 4); /* the simulator's rule */
    const char *text = "{\"timestamp\": 0, \"input_length\": 7000, \"output_length\": 5, \"hash_ids\": "
                       "[0,1,2,3,4,5,6,7,8,9,10,11,12,13]}\n"
                       "{\"timestamp\": 0, \"input_length\": 3000, \"output_length\": 5, \"hash_ids\": [0,1,2,3,4,5]}\n"
                       "{\"timestamp\": 0, \"input_length\": 37, \"output_length\": 5}\n";
    trace *t = parse_ok(text, "m.jsonl", TRACE_FORMAT_MOONCAKE);
    trace_prompter *p = NULL;
    assert_int_equal(trace_prompter_create(&p, t, &c, 1), 0);
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < 3; i++) {
        source_request r;
        assert_int_equal(trace_request(p, i, &r), 0);
        size_t n = words_of(r.prompt, r.prompt_len, i == 0 ? wa : wb, 8192);
        double cost = c.overhead;
        for (size_t k = 0; k < n; k++) {
            const char *w = i == 0 ? wa[k] : wb[k];
            cost += (double)((strlen(w) + 3) / 4);
        }
        long want = trace_at(t, i)->input_tokens;
        if (cost < (double)want - 1 || cost > (double)want + 1)
            fail_msg("entry %zu: cost %g for %ld tokens", i, cost, want);
        if (i == 0)
            na = n;
        else if (i == 1)
            nb = n;
        if (i == 1) /* the 3000-token request shares the first 5 blocks whole with the 7000 one */
            for (size_t k = 0; k < nb / 2; k++)
                assert_string_equal(wb[k], wa[k]);
    }
    assert_true(na > nb);
    trace_prompter_destroy(p);
    trace_destroy(t);
}

static void test_azure(void **state)
{
    (void)state;
    const char *text = "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
                       "2023-11-16 18:15:46.6805900,374,44\r\n"
                       "2023-11-16 18:15:50.9951690,396,109\r\n"
                       "2023-11-16 18:16:46.6805900,4000,0\r\n";
    trace *t = parse_ok(text, "AzureLLMInferenceTrace_conv.csv", TRACE_FORMAT_AUTO);
    assert_int_equal(trace_kind(t), TRACE_FORMAT_AZURE);
    assert_int_equal(trace_size(t), 3);
    assert_int_equal(trace_at(t, 0)->offset_ns, 0);
    assert_int_equal(trace_at(t, 1)->offset_ns, 4314579000ULL);
    assert_int_equal(trace_at(t, 2)->offset_ns, 60000000000ULL);
    assert_int_equal(trace_at(t, 1)->input_tokens, 396);
    assert_int_equal(trace_at(t, 1)->output_tokens, 109);
    assert_int_equal(trace_at(t, 2)->output_tokens, 1);
    trace_destroy(t);
    /* Columns in another order and case (after a byte-order mark), an explicit format on another
     * extension. */
    t = parse_ok("\xEF\xBB\xBFgeneratedtokens,timestamp,contexttokens\n5,2024-01-01T00:00:01Z,9\n", "x.txt",
                 TRACE_FORMAT_AZURE);
    assert_int_equal(trace_at(t, 0)->input_tokens, 9);
    assert_int_equal(trace_at(t, 0)->output_tokens, 5);
    trace_destroy(t);
    parse_bad("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,10,1\n2023-13-16 18:15:46,10,1\n",
              "a.csv", TRACE_FORMAT_AUTO, LL_EPARSE, "--trace a.csv:3: TIMESTAMP is not a date");
    parse_bad("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,ten,1\n", "a.csv", TRACE_FORMAT_AUTO,
              LL_EPARSE, "a.csv:2: ContextTokens is not a whole number");
    parse_bad("TIMESTAMP,ContextTokens\n", "a.csv", TRACE_FORMAT_AUTO, LL_EPARSE, "a.csv:1: the Azure trace header");
    parse_bad("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,10\n", "a.csv", TRACE_FORMAT_AUTO,
              LL_EPARSE, "a.csv:2: fewer fields");
    parse_bad("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,10,1\n2023-11-16 18:15:45,10,1\n",
              "a.csv", TRACE_FORMAT_AUTO, LL_EPARSE, "a.csv:3: a TIMESTAMP earlier");
    parse_bad("TIMESTAMP,ContextTokens,GeneratedTokens\n", "a.csv", TRACE_FORMAT_AUTO, LL_EPARSE, "no requests");
}

static void test_otel(void **state)
{
    (void)state;
    /* An OTLP JSON export line (two model calls, one agent span that sums them, one tool span),
     * then flat spans. */
    const char *text =
        "{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": ["
        "{\"name\": \"invoke_agent a\", \"startTimeUnixNano\": \"1700000000000000000\", \"attributes\": ["
        "{\"key\": \"gen_ai.operation.name\", \"value\": {\"stringValue\": \"invoke_agent\"}},"
        "{\"key\": \"gen_ai.usage.input_tokens\", \"value\": {\"intValue\": \"300\"}},"
        "{\"key\": \"gen_ai.usage.output_tokens\", \"value\": {\"intValue\": \"30\"}}]},"
        "{\"name\": \"chat m\", \"startTimeUnixNano\": \"1700000000500000000\", \"attributes\": ["
        "{\"key\": \"gen_ai.operation.name\", \"value\": {\"stringValue\": \"chat\"}},"
        "{\"key\": \"gen_ai.conversation.id\", \"value\": {\"stringValue\": \"conv-b\"}},"
        "{\"key\": \"gen_ai.usage.input_tokens\", \"value\": {\"intValue\": \"200\"}},"
        "{\"key\": \"gen_ai.usage.output_tokens\", \"value\": {\"intValue\": 20}}]},"
        "{\"name\": \"execute_tool t\", \"startTimeUnixNano\": \"1700000000600000000\", \"attributes\": []},"
        "{\"name\": \"chat m\", \"startTimeUnixNano\": \"1700000000100000000\", \"attributes\": ["
        "{\"key\": \"gen_ai.conversation.id\", \"value\": {\"stringValue\": \"conv-a\"}},"
        "{\"key\": \"gen_ai.usage.input_tokens\", \"value\": {\"intValue\": \"100\"}},"
        "{\"key\": \"gen_ai.usage.output_tokens\", \"value\": {\"intValue\": \"10\"}}]}"
        "]}]}]}\n"
        "{\"name\": \"chat\", \"start_time\": \"2023-11-14T22:13:21.000Z\", \"attributes\": "
        "{\"session.id\": \"conv-a\", \"gen_ai.usage.input_tokens\": 400, \"gen_ai.usage.output_tokens\": 40}}\n"
        "{\"name\": \"chat\", \"start_time\": 1700000000.25, \"attributes\": "
        "{\"gen_ai.usage.prompt_tokens\": 50, \"gen_ai.usage.completion_tokens\": 5}}\n";
    trace *t = parse_ok(text, "spans.jsonl", TRACE_FORMAT_AUTO);
    assert_int_equal(trace_kind(t), TRACE_FORMAT_OTEL);
    assert_int_equal(trace_size(t), 4);
    /* By start time, from the earliest (1700000000.1 s); sessions numbered by first appearance in
     * the file (conv-b, then conv-a). */
    assert_int_equal(trace_at(t, 0)->offset_ns, 0);
    assert_int_equal(trace_at(t, 0)->input_tokens, 100);
    assert_int_equal(trace_at(t, 0)->session, 2);
    assert_int_equal(trace_at(t, 1)->offset_ns, 150000000);
    assert_int_equal(trace_at(t, 1)->input_tokens, 50);
    assert_int_equal(trace_at(t, 1)->session, 0);
    assert_int_equal(trace_at(t, 2)->offset_ns, 400000000);
    assert_int_equal(trace_at(t, 2)->output_tokens, 20);
    assert_int_equal(trace_at(t, 2)->session, 1);
    assert_int_equal(trace_at(t, 3)->offset_ns, 900000000); /* 2023-11-14T22:13:21Z is 1700000001 */
    assert_int_equal(trace_at(t, 3)->session, 2);
    assert_int_equal(trace_sessions(t), 2);
    trace_destroy(t);
    parse_bad("{\"attributes\": {\"gen_ai.usage.input_tokens\": 4, \"gen_ai.usage.output_tokens\": 1}}\n", "s.jsonl",
              TRACE_FORMAT_OTEL, LL_EPARSE, "s.jsonl:1: a span without a valid start time");
    parse_bad("{\"startTimeUnixNano\": \"1\", \"attributes\": [{\"key\": \"gen_ai.usage.input_tokens\", \"value\": "
              "{\"intValue\": \"-4\"}}, {\"key\": \"gen_ai.usage.output_tokens\", \"value\": {\"intValue\": \"1\"}}]}\n",
              "s.jsonl", TRACE_FORMAT_OTEL, LL_EPARSE, "s.jsonl:1: a token count");
    parse_bad("{\"startTimeUnixNano\": \"1\", \"attributes\": []}\n", "s.jsonl", TRACE_FORMAT_OTEL, LL_EPARSE,
              "gen_ai.usage.input_tokens");
}

static void test_jsonl(void **state)
{
    (void)state;
    const char *text = "{\"offset_ms\": 20, \"input_tokens\": 8, \"output_tokens\": 2, \"session\": \"u1\"}\n"
                       "{\"offset_ms\": 10, \"prompt\": \"say hello  to me\", \"output_tokens\": 3, \"session\": 7}\n"
                       "{\"offset_ms\": 30, \"input_tokens\": 50, \"prompt\": \"x\", \"output_tokens\": 1, \"session\": \"u1\"}\n";
    trace *t = parse_ok(text, "mine.jsonl", TRACE_FORMAT_AUTO);
    assert_int_equal(trace_kind(t), TRACE_FORMAT_JSONL);
    assert_int_equal(trace_size(t), 3);
    assert_int_equal(trace_at(t, 0)->offset_ns, 10000000);
    assert_string_equal(trace_at(t, 0)->prompt, "say hello  to me");
    assert_int_equal(trace_at(t, 0)->input_tokens, 4); /* words, when not given */
    assert_int_equal(trace_at(t, 0)->session, 2);
    assert_int_equal(trace_at(t, 1)->session, 1);
    assert_null(trace_at(t, 1)->prompt);
    assert_int_equal(trace_at(t, 2)->input_tokens, 50);
    assert_int_equal(trace_at(t, 2)->session, 1);
    trace_prompter *p = NULL;
    assert_int_equal(trace_prompter_create(&p, t, NULL, 1), 0);
    source_request r;
    assert_int_equal(trace_request(p, 0, &r), 0);
    assert_string_equal(r.prompt, "say hello  to me"); /* sent as written */
    assert_int_equal(r.max_tokens, 3);
    trace_prompter_destroy(p);
    trace_destroy(t);
}

static void test_errors(void **state)
{
    (void)state;
    parse_bad("{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n{\"timestamp\": 1, broken}\n", "b.jsonl",
              TRACE_FORMAT_AUTO, LL_EPARSE, "--trace b.jsonl:2: not a JSON object");
    parse_bad("{\"timestamp\": -1, \"input_length\": 5, \"output_length\": 1}\n", "b.jsonl", TRACE_FORMAT_AUTO,
              LL_EPARSE, "b.jsonl:1: a time offset");
    parse_bad("{\"timestamp\": 0, \"input_length\": 0, \"output_length\": 1}\n", "b.jsonl", TRACE_FORMAT_AUTO,
              LL_EPARSE, "b.jsonl:1: a token count");
    parse_bad("{\"timestamp\": 0, \"input_length\": 5}\n", "b.jsonl", TRACE_FORMAT_MOONCAKE, LL_EPARSE,
              "b.jsonl:1: no \"output_length\"");
    parse_bad("{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [1, \"x\"]}\n", "b.jsonl",
              TRACE_FORMAT_AUTO, LL_EPARSE, "b.jsonl:1: a hash id");
    parse_bad("{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": 3}\n", "b.jsonl",
              TRACE_FORMAT_AUTO, LL_EPARSE, "not a list");
    parse_bad("{\"offset_ms\": 0, \"output_tokens\": 1}\n", "b.jsonl", TRACE_FORMAT_JSONL, LL_EPARSE,
              "b.jsonl:1: no \"input_tokens\"");
    parse_bad("{\"what\": 1}\n", "b.jsonl", TRACE_FORMAT_AUTO, LL_EUSAGE, "b.jsonl:1: cannot tell the trace format");
    parse_bad("\n\n", "b.jsonl", TRACE_FORMAT_AUTO, LL_EPARSE, "--trace b.jsonl: no requests found");
    /* Too many hash ids for one request: refused, not stored. */
    size_t cap = 64 + 4097 * 6;
    char *big = malloc(cap);
    assert_non_null(big);
    size_t n = (size_t)snprintf(big, cap, "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [0");
    for (int i = 1; i < 4097; i++)
        n += (size_t)snprintf(big + n, cap - n, ",%d", i);
    snprintf(big + n, cap - n, "]}\n");
    parse_bad(big, "b.jsonl", TRACE_FORMAT_AUTO, LL_EOVERSIZE, "b.jsonl:1: more than 4096 hash_ids");
    free(big);
    trace *t = NULL;
    char err[256];
    assert_int_equal(trace_load(&t, "/nonexistent/trace.jsonl", TRACE_FORMAT_AUTO, err, sizeof err), LL_ENOENT);
    assert_non_null(strstr(err, "/nonexistent/trace.jsonl"));
    assert_string_equal(trace_format_name(TRACE_FORMAT_OTEL), "otel");
}

/* --workers N (and --shard, one level up) deal the entries out: share k of (first, stride) sends
 * first + stride * (k + N * j), so the shares' union is the trace, each entry once. */
static void test_split(void **state)
{
    (void)state;
    config cfg;
    assert_int_equal(config_init(&cfg), 0);
    bench_plan p = {.schedule = CONFIG_SCHED_TRACE, .rate = 2, .seed = 9, .max_requests = 10};
    int seen[64] = {0};
    for (size_t shard = 0; shard < 2; shard++) {
        bench_plan s;
        assert_int_equal(workers_split(&p, &cfg, 2, shard, &s), 1);
        for (size_t k = 0; k < 3; k++) {
            bench_plan w;
            assert_int_equal(workers_split(&s, &cfg, 3, k, &w), 1);
            assert_true(w.rate == 2 && w.seed == 9);
            for (uint64_t i = w.deal_offset; i < 64; i += w.deal_stride)
                seen[i]++;
        }
    }
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(seen[i], 1);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mooncake),
        cmocka_unit_test(test_mooncake_blocks),
        cmocka_unit_test(test_costs),
        cmocka_unit_test(test_azure),
        cmocka_unit_test(test_otel),
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
