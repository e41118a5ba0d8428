/*
 * Unit tests for chunk_scan: a table of payloads in the shapes vLLM, llama.cpp, TGI, Ollama and
 * OpenAI send (role-only, content, reasoning, tool calls, text, finish kinds, usage, errors),
 * broken and hostile JSON, and the token counts of whole recorded streams (sse -> chunk).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/chunk.h"
#include "llmload/error.h"
#include "llmload/sse.h"

typedef struct chunk_case {
    const char *name;
    const char *json;
    int rc;
    int output_chars, reasoning_chars, tool_call, finish, has_usage;
    long prompt_tokens, completion_tokens;
    int has_error, error_code;
    const char *error_msg; /* expected slice text, NULL for none */
} chunk_case;

#define VL "\"id\":\"chatcmpl-9f3c\",\"object\":\"chat.completion.chunk\",\"created\":1732290000,\"model\":\"m\""
#define OK_(n, j, out, rs, tc, fin) {n, j, 0, out, rs, tc, fin, 0, -1, -1, 0, 0, NULL}
#define BAD_(n, j) {n, j, LL_EPARSE, 0, 0, 0, 0, 0, -1, -1, 0, 0, NULL}

static const chunk_case cases[] = {
    /* --- token rule --- */
    OK_("vllm role-only, empty content",
        "{" VL ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}",
        0, 0, 0, CHUNK_FINISH_NONE),
    OK_("llama.cpp role-only, content null",
        "{\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}],\"created\":1,\"id\":\"c\",\"object\":\"chat.completion.chunk\"}",
        0, 0, 0, CHUNK_FINISH_NONE),
    OK_("content", "{" VL ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}]}",
        5, 0, 0, CHUNK_FINISH_NONE),
    OK_("empty delta", "{\"choices\":[{\"index\":0,\"delta\":{}}]}", 0, 0, 0, CHUNK_FINISH_NONE),
    OK_("reasoning_content (vLLM, llama.cpp)",
        "{" VL ",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Okay\"},\"finish_reason\":null}]}",
        0, 4, 0, CHUNK_FINISH_NONE),
    OK_("reasoning (Ollama, newer vLLM)",
        "{\"id\":\"chatcmpl-123\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"reasoning\":\"Thinking\"},\"finish_reason\":null}]}",
        0, 8, 0, CHUNK_FINISH_NONE),
    OK_("reasoning null beside content",
        "{\"choices\":[{\"delta\":{\"content\":\"ab\",\"reasoning_content\":null}}]}", 2, 0, 0, CHUNK_FINISH_NONE),
    OK_("OpenAI first tool-call delta",
        "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_Dy8f\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}],\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}",
        0, 0, 1, CHUNK_FINISH_NONE),
    OK_("tool-call arguments delta",
        "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"loc\"}}]}}]}",
        0, 0, 1, CHUNK_FINISH_NONE),
    OK_("tool_calls empty array", "{\"choices\":[{\"delta\":{\"content\":null,\"tool_calls\":[]}}]}",
        0, 0, 0, CHUNK_FINISH_NONE),
    OK_("tool_calls null", "{\"choices\":[{\"delta\":{\"tool_calls\":null}}]}", 0, 0, 0, CHUNK_FINISH_NONE),
    OK_("legacy function_call delta", "{\"choices\":[{\"delta\":{\"function_call\":{\"arguments\":\"{\"}}}]}",
        0, 0, 1, CHUNK_FINISH_NONE),
    OK_("text completion (vLLM /v1/completions)",
        "{\"id\":\"cmpl-5b\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\" Paris\",\"logprobs\":null,\"finish_reason\":null,\"stop_reason\":null}],\"usage\":null}",
        6, 0, 0, CHUNK_FINISH_NONE),
    OK_("two choices (n=2) add up",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ab\"}},{\"index\":1,\"delta\":{\"content\":\"cde\"}}]}",
        5, 0, 0, CHUNK_FINISH_NONE),
    OK_("content outside delta is not output",
        "{\"content\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":{\"content\":[{\"token\":\"Hi\",\"logprob\":-0.01,\"bytes\":[72,105],\"top_logprobs\":[]}]}}],\"text\":\"zz\"}",
        2, 0, 0, CHUNK_FINISH_NONE),
    OK_("non-streamed message (extension)",
        "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi there\",\"reasoning_content\":\"hm\"},\"finish_reason\":\"stop\"}]}",
        8, 2, 0, CHUNK_FINISH_STOP),
    /* --- real servers' shapes (docs/sse.md) --- */
    OK_("OpenAI refusal delta is a token",
        "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\" sorry\"},\"logprobs\":null,\"finish_reason\":null}]}",
        6, 0, 0, CHUNK_FINISH_NONE),
    OK_("refusal null is none", "{\"choices\":[{\"delta\":{\"content\":null,\"refusal\":null}}]}", 0, 0, 0, CHUNK_FINISH_NONE),
    OK_("content as text parts",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"text\",\"text\":\"Paris\"},{\"type\":\"text\",\"text\":\" is\"}]}}]}",
        8, 0, 0, CHUNK_FINISH_NONE),
    OK_("Mistral thinking parts are reasoning",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":[{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\",\"text\":\"Okay\"}],\"closed\":false}]},\"finish_reason\":null}]}",
        0, 4, 0, CHUNK_FINISH_NONE),
    OK_("a thinking part as a plain string",
        "{\"choices\":[{\"delta\":{\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\"}]}}]}", 0, 3, 0, CHUNK_FINISH_NONE),
    OK_("empty parts, image part: no token",
        "{\"choices\":[{\"delta\":{\"content\":[]}},{\"delta\":{\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}}]}",
        0, 0, 0, CHUNK_FINISH_NONE),
    OK_("Perplexity: cumulative message beside delta is ignored",
        "{\"id\":\"p\",\"choices\":[{\"index\":0,\"finish_reason\":null,\"message\":{\"role\":\"assistant\",\"content\":\"The sky\"},\"delta\":{\"role\":\"assistant\",\"content\":\" sky\"}}]}",
        4, 0, 0, CHUNK_FINISH_NONE),
    OK_("Perplexity finish chunk: empty delta beside a full message is no token",
        "{\"choices\":[{\"index\":0,\"finish_reason\":\"stop\",\"message\":{\"role\":\"assistant\",\"content\":\"The sky is blue\",\"tool_calls\":[{\"id\":\"x\"}]},\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}",
        0, 0, 0, CHUNK_FINISH_STOP),
    OK_("message without delta is read like delta (per choice)",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"message\":{\"content\":\"zzz\"}},{\"index\":1,\"message\":{\"content\":\"bc\",\"tool_calls\":[{}]}}]}",
        3, 0, 1, CHUNK_FINISH_NONE),
    /* --- finish_reason kinds --- */
    OK_("finish stop with empty content (vLLM)",
        "{" VL ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"logprobs\":null,\"finish_reason\":\"stop\",\"stop_reason\":null}]}",
        0, 0, 0, CHUNK_FINISH_STOP),
    OK_("finish length", "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}", 0, 0, 0, CHUNK_FINISH_LENGTH),
    OK_("finish tool_calls", "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}", 0, 0, 0, CHUNK_FINISH_TOOL_CALLS),
    OK_("finish eos_token (TGI)", "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":\"eos_token\"}],\"usage\":null}", 0, 0, 0, CHUNK_FINISH_STOP),
    OK_("finish abort", "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"abort\"}]}", 0, 0, 0, CHUNK_FINISH_OTHER),
    OK_("finish content_filter", "{\"choices\":[{\"delta\":{},\"finish_reason\":\"content_filter\"}]}", 0, 0, 0, CHUNK_FINISH_CONTENT_FILTER),
    OK_("finish empty string", "{\"choices\":[{\"delta\":{},\"finish_reason\":\"\"}]}", 0, 0, 0, CHUNK_FINISH_NONE),
    OK_("a later choice without a finish keeps the earlier one",
        "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"},{\"index\":1,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"\"}]}",
        1, 0, 0, CHUNK_FINISH_LENGTH),
    OK_("finish_reason outside choices ignored", "{\"finish_reason\":\"stop\",\"choices\":[]}", 0, 0, 0, CHUNK_FINISH_NONE),
    /* --- usage --- */
    {"usage chunk, choices [] (include_usage)",
     "{" VL ",\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"total_tokens\":52,\"completion_tokens\":10,\"prompt_tokens_details\":null}}",
     0, 0, 0, 0, CHUNK_FINISH_NONE, 1, 42, 10, 0, 0, NULL},
    {"continuous usage on a content chunk",
     "{" VL ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" Paris\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":{\"prompt_tokens\":17,\"total_tokens\":23,\"completion_tokens\":6}}",
     0, 6, 0, 0, CHUNK_FINISH_NONE, 1, 17, 6, 0, 0, NULL},
    {"llama.cpp final chunk with usage and timings",
     "{\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],\"created\":1,\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":247,\"prompt_tokens\":1085,\"total_tokens\":1332},\"timings\":{\"prompt_n\":1085,\"prompt_ms\":203.378,\"predicted_per_second\":264.5587652496171}}",
     0, 0, 0, 0, CHUNK_FINISH_STOP, 1, 1085, 247, 0, 0, NULL},
    {"OpenAI usage with nested details",
     "{\"choices\":[],\"usage\":{\"prompt_tokens\":81,\"completion_tokens\":18,\"total_tokens\":99,\"prompt_tokens_details\":{\"cached_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"prompt_tokens\":7}}}",
     0, 0, 0, 0, CHUNK_FINISH_NONE, 1, 81, 18, 0, 0, NULL},
    OK_("usage null (TGI, OpenAI)", "{\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}", 1, 0, 0, CHUNK_FINISH_NONE),
    OK_("usage nested in a choice is not usage", "{\"choices\":[{\"delta\":{},\"usage\":{\"prompt_tokens\":5}}]}", 0, 0, 0, CHUNK_FINISH_NONE),
    /* --- errors --- */
    {"vLLM mid-stream error (nested, object:error)",
     "{\"error\":{\"object\":\"error\",\"message\":\"CUDA out of memory\",\"type\":\"InternalServerError\",\"param\":null,\"code\":500}}",
     0, 0, 0, 0, CHUNK_FINISH_NONE, 0, -1, -1, 1, 500, "CUDA out of memory"},
    {"vLLM bare ErrorResponse",
     "{\"object\":\"error\",\"message\":\"max_tokens is too large\",\"type\":\"BadRequestError\",\"param\":null,\"code\":400}",
     0, 0, 0, 0, CHUNK_FINISH_NONE, 0, -1, -1, 1, 400, "max_tokens is too large"},
    {"OpenAI error with string code",
     "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}",
     0, 0, 0, 0, CHUNK_FINISH_NONE, 0, -1, -1, 1, 0, "Rate limit reached"},
    {"TGI error string",
     "{\"error\":\"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096\",\"error_type\":\"validation\"}",
     0, 0, 0, 0, CHUNK_FINISH_NONE, 0, -1, -1, 1, 0,
     "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096"},
    {"llama.cpp error object, message escaped",
     "{\"error\":{\"code\":500,\"message\":\"bad \\\"grammar\\\"\",\"type\":\"server_error\"}}",
     0, 0, 0, 0, CHUNK_FINISH_NONE, 0, -1, -1, 1, 500, "bad \\\"grammar\\\""},
    {"error object without message",
     "{\"error\":{\"code\":503}}", 0, 0, 0, 0, CHUNK_FINISH_NONE, 0, -1, -1, 1, 503, NULL},
    OK_("error null is no error", "{\"error\":null,\"choices\":[]}", 0, 0, 0, CHUNK_FINISH_NONE),
    {"object other than error: its message is still kept",
     "{\"object\":\"chat.completion.chunk\",\"message\":\"m\",\"code\":3,\"choices\":[]}", 0, 0, 0, 0,
     CHUNK_FINISH_NONE, 0, -1, -1, 0, 0, "m"},
    /* --- lexer corners --- */
    OK_("unicode escapes count escaped",
        "{\"choices\":[{\"delta\":{\"content\":\"\\u00e9\\ud83d\\ude00\"}}]}", 18, 0, 0, CHUNK_FINISH_NONE),
    OK_("raw UTF-8 counts bytes", "{\"choices\":[{\"delta\":{\"content\":\"\xc3\xa9\xf0\x9f\x98\x80\"}}]}", 6, 0, 0, CHUNK_FINISH_NONE),
    OK_("braces and quotes inside strings",
        "{\"weird{key\":\"va}l\\\"ue]\",\"choices\":[{\"delta\":{\"content\":\"}{\\\"]\"}}],\"x\":\"\\\\\"}",
        5, 0, 0, CHUNK_FINISH_NONE),
    OK_("all escapes", "{\"choices\":[{\"delta\":{\"content\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}}]}", 16, 0, 0, CHUNK_FINISH_NONE),
    OK_("whitespace everywhere",
        " \r\n\t{ \"choices\" : [ { \"delta\" : { \"content\" : \"ab\" } } ] , \"n\" : [ 1 , -2.5e+3 , 0.0 , 1E9 , true , false , null ] }\n",
        2, 0, 0, CHUNK_FINISH_NONE),
    OK_("empty object", "{}", 0, 0, 0, CHUNK_FINISH_NONE),
    BAD_("truncated in a string", "{" VL ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel"),
    BAD_("truncated after a value", "{\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]"),
    BAD_("truncated in an escape", "{\"a\":\"\\u00"),
    BAD_("truncated in a literal", "{\"a\":nul"),
    BAD_("truncated after a key", "{\"a\""),
    BAD_("truncated after a colon", "{\"a\":"),
    BAD_("truncated number", "{\"a\":-"),
    BAD_("trailing comma", "{\"a\":1,}"),
    BAD_("trailing comma in array", "{\"a\":[1,]}"),
    BAD_("missing comma", "{\"a\":1 \"b\":2}"),
    BAD_("unquoted key", "{a:1}"),
    BAD_("single quotes", "{'a':1}"),
    BAD_("trailing garbage", "{} x"),
    BAD_("two objects", "{}{}"),
    BAD_("bad escape", "{\"a\":\"\\x41\"}"),
    BAD_("bad unicode escape", "{\"a\":\"\\u12G4\"}"),
    BAD_("control character in string", "{\"a\":\"x\x01y\"}"),
    BAD_("raw newline in string", "{\"a\":\"x\ny\"}"),
    BAD_("leading zero", "{\"a\":01}"),
    BAD_("bare fraction dot", "{\"a\":1.}"),
    BAD_("plus sign", "{\"a\":+1}"),
    BAD_("bad literal", "{\"a\":tru}"),
    BAD_("non-object: array", "[{\"choices\":[]}]"),
    BAD_("non-object: string", "\"hello\""),
    BAD_("non-object: number", "42"),
    BAD_("non-object: null", "null"),
    BAD_("SSE [DONE] sentinel", "[DONE]"),
    BAD_("empty", ""),
    BAD_("whitespace only", " \n "),
    BAD_("malformed event from a faulty server", "{\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}}"),
};

static void check_case(const chunk_case *c)
{
    chunk_info ci;
    size_t len = strlen(c->json);
    int rc = chunk_scan(c->json, len, &ci);
    if (rc != c->rc)
        fail_msg("%s: rc %d, want %d", c->name, rc, c->rc);
    if (c->rc != 0)
        return;
#define EXPECT(field)                                                                           \
    do {                                                                                        \
        if ((long)ci.field != (long)c->field)                                                   \
            fail_msg("%s: " #field " = %ld, want %ld", c->name, (long)ci.field, (long)c->field); \
    } while (0)
    EXPECT(output_chars);
    EXPECT(reasoning_chars);
    EXPECT(tool_call);
    EXPECT(finish);
    EXPECT(has_usage);
    EXPECT(prompt_tokens);
    EXPECT(completion_tokens);
    EXPECT(has_error);
    EXPECT(error_code);
#undef EXPECT
    if (!c->error_msg) {
        if (ci.error_msg || ci.error_msg_len)
            fail_msg("%s: error_msg \"%.*s\", want none", c->name, (int)ci.error_msg_len,
                     ci.error_msg ? ci.error_msg : "");
        return;
    }
    if (!ci.error_msg)
        fail_msg("%s: no error_msg, want \"%s\"", c->name, c->error_msg);
    assert_true(ci.error_msg >= c->json && ci.error_msg + ci.error_msg_len <= c->json + len);
    if (ci.error_msg_len != strlen(c->error_msg) ||
        memcmp(ci.error_msg, c->error_msg, ci.error_msg_len) != 0)
        fail_msg("%s: error_msg \"%.*s\", want \"%s\"", c->name, (int)ci.error_msg_len,
                 ci.error_msg, c->error_msg);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}

/* Every proper prefix of a valid payload is broken JSON; the scan must say so, never read past
 * the prefix (ASan: each prefix is a heap copy of exactly that size). */
static void test_every_prefix_is_parse_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const chunk_case *c = &cases[i];
        size_t len = strlen(c->json);
        if (c->rc != 0)
            continue;
        for (size_t n = 0; n < len; n++) {
            char *b = malloc(n ? n : 1);
            assert_non_null(b);
            memcpy(b, c->json, n);
            chunk_info ci;
            int rc = chunk_scan(b, n, &ci);
            free(b);
            /* A prefix ending after "}" plus only whitespace is still the whole object. */
            size_t k = n;
            while (k < len && strchr(" \r\n\t", c->json[k]))
                k++;
            if (k == len)
                continue;
            if (rc != LL_EPARSE)
                fail_msg("%s: prefix of %zu bytes gave %d", c->name, n, rc);
        }
    }
    chunk_info ci;
    assert_int_equal(chunk_scan(NULL, 0, &ci), LL_EPARSE);
    assert_int_equal(ci.prompt_tokens, -1);
}

static void nest(char *buf, int arrays)
{
    size_t at = 0;
    buf[at++] = '{';
    memcpy(buf + at, "\"a\":", 4);
    at += 4;
    for (int i = 0; i < arrays; i++)
        buf[at++] = '[';
    for (int i = 0; i < arrays; i++)
        buf[at++] = ']';
    buf[at++] = '}';
    buf[at] = '\0';
}

static void test_depth_limit(void **state)
{
    (void)state;
    char buf[256];
    chunk_info ci;
    nest(buf, 31); /* 32 containers with the root object */
    assert_int_equal(chunk_scan(buf, strlen(buf), &ci), 0);
    nest(buf, 32);
    assert_int_equal(chunk_scan(buf, strlen(buf), &ci), LL_EPARSE);
    /* A hostile depth far past the limit fails fast, without deep recursion. */
    size_t n = 1 << 20;
    char *deep = malloc(n);
    assert_non_null(deep);
    deep[0] = '{';
    memcpy(deep + 1, "\"a\":", 4);
    memset(deep + 5, '[', n - 5);
    assert_int_equal(chunk_scan(deep, n, &ci), LL_EPARSE);
    memset(deep + 5, '{', n - 5);
    assert_int_equal(chunk_scan(deep, n, &ci), LL_EPARSE);
    free(deep);
}

static void test_usage_numbers(void **state)
{
    (void)state;
    chunk_info ci;
    const char *big = "{\"usage\":{\"prompt_tokens\":99999999999999999999999,\"completion_tokens\":-3}}";
    assert_int_equal(chunk_scan(big, strlen(big), &ci), 0);
    assert_true(ci.prompt_tokens > 1000000000L);
    assert_int_equal(ci.completion_tokens, -3);
    const char *frac = "{\"usage\":{\"prompt_tokens\":12.0,\"completion_tokens\":7.9}}";
    assert_int_equal(chunk_scan(frac, strlen(frac), &ci), 0);
    assert_int_equal(ci.prompt_tokens, 12);
    assert_int_equal(ci.completion_tokens, 7);
    const char *str = "{\"usage\":{\"prompt_tokens\":\"12\"}}";
    assert_int_equal(chunk_scan(str, strlen(str), &ci), 0);
    assert_int_equal(ci.has_usage, 1);
    assert_int_equal(ci.prompt_tokens, -1);
}

/* llama.cpp's timings: chunk_scan hands out the object's slice, chunk_timings reads it with its
 * fractions; absent members are -1. A top-level message (an error event's payload) is error_msg. */
static void test_timings_and_message(void **state)
{
    (void)state;
    chunk_info ci;
    chunk_server_timings tm;
    const char *t = "{\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],\"usage\":{\"completion_tokens\":247},"
                    "\"timings\":{\"prompt_n\":1085,\"prompt_ms\":203.378,\"prompt_per_token_ms\":0.18744,"
                    "\"predicted_n\":247,\"predicted_ms\":9.336e2,\"predicted_per_second\":264.5587652496171}}";
    assert_int_equal(chunk_scan(t, strlen(t), &ci), 0);
    assert_non_null(ci.timings);
    assert_true(ci.timings[0] == '{' && ci.timings[ci.timings_len - 1] == '}' &&
                ci.timings + ci.timings_len == t + strlen(t) - 1);
    assert_int_equal(chunk_timings(ci.timings, ci.timings_len, &tm), 0);
    assert_true(tm.prompt_n == 1085.0);
    assert_true(tm.prompt_ms > 203.3779 && tm.prompt_ms < 203.3781);
    assert_true(tm.predicted_n == 247.0);
    assert_true(tm.predicted_ms > 933.59 && tm.predicted_ms < 933.61);
    const char *small = "{\"prompt_ms\":-0.0005,\"predicted_ms\":12345678901234567890123.5e-20,\"x\":{\"prompt_n\":9}}";
    assert_int_equal(chunk_timings(small, strlen(small), &tm), 0);
    assert_true(tm.prompt_ms < -0.00049 && tm.prompt_ms > -0.00051);
    assert_true(tm.predicted_ms > 123.45 && tm.predicted_ms < 123.46);
    assert_true(tm.prompt_n == -1 && tm.predicted_n == -1);
    assert_int_equal(chunk_timings("{\"prompt_ms\":1.}", 16, &tm), LL_EPARSE);
    assert_int_equal(chunk_timings("[]", 2, &tm), LL_EPARSE);
    const char *none = "{\"choices\":[],\"x\":{\"timings\":{}}}";
    assert_int_equal(chunk_scan(none, strlen(none), &ci), 0);
    assert_null(ci.timings);
    const char *msg = "{\"message\":\"upstream overloaded\",\"type\":\"overloaded_error\"}";
    assert_int_equal(chunk_scan(msg, strlen(msg), &ci), 0);
    assert_int_equal(ci.has_error, 0);
    assert_non_null(ci.error_msg);
    assert_int_equal(ci.error_msg_len, strlen("upstream overloaded"));
    assert_memory_equal(ci.error_msg, "upstream overloaded", ci.error_msg_len);
    /* The stream scanner agrees, also after learning a prefix. */
    chunk_prefix pre;
    chunk_info cs;
    chunk_prefix_reset(&pre);
    const char *first = "{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}";
    assert_int_equal(chunk_scan_stream(first, strlen(first), &pre, &cs), 0);
    const char *last = "{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}],"
                       "\"timings\":{\"prompt_n\":3,\"prompt_ms\":1.5,\"predicted_n\":2,\"predicted_ms\":0.25}}";
    assert_int_equal(chunk_scan_stream(last, strlen(last), &pre, &cs), 0);
    assert_int_equal(chunk_scan(last, strlen(last), &ci), 0);
    assert_memory_equal(&ci, &cs, sizeof ci);
    assert_int_equal(chunk_timings(cs.timings, cs.timings_len, &tm), 0);
    assert_true(tm.prompt_ms == 1.5 && tm.predicted_ms == 0.25 && tm.prompt_n == 3 && tm.predicted_n == 2);
}

/* ---- whole recorded streams through sse -> chunk ---- */

typedef struct tally {
    int events, tokens, output_events, reasoning_events, tool_events, parse_errors, done, errors;
    int finish;
    long prompt, completion;
} tally;

static int tally_cb(void *ud, const sse_event *ev)
{
    tally *t = ud;
    chunk_info ci;
    t->events++;
    if (ev->done) {
        t->done++;
        return 0;
    }
    if (chunk_scan(ev->data, ev->data_len, &ci) != 0) {
        t->parse_errors++;
        return 0;
    }
    t->tokens += chunk_has_token(&ci);
    t->output_events += ci.output_chars > 0;
    t->reasoning_events += ci.reasoning_chars > 0;
    t->tool_events += ci.tool_call;
    t->errors += ci.has_error;
    if (ci.finish)
        t->finish = ci.finish;
    if (ci.has_usage) {
        t->prompt = ci.prompt_tokens;
        t->completion = ci.completion_tokens;
    }
    return 0;
}

static tally run_stream(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/sse/%s.sse", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (tests run from the repository root)", path);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    sse_parser p;
    sse_init(&p, 0);
    tally t = {0};
    /* Feed in 7-byte reads, as a slow socket would deliver them. */
    for (size_t at = 0; at < n; at += 7)
        assert_int_equal(sse_feed(&p, buf + at, n - at < 7 ? n - at : 7, tally_cb, &t), 0);
    assert_int_equal(sse_pending(&p), 0);
    sse_free(&p);
    return t;
}

static void test_recorded_streams(void **state)
{
    (void)state;
    tally t = run_stream("vllm_chat");
    assert_int_equal(t.tokens, 9); /* role chunk and final empty chunk carry none */
    assert_int_equal(t.finish, CHUNK_FINISH_STOP);
    assert_int_equal(t.prompt, 42);
    assert_int_equal(t.completion, 10);
    assert_int_equal(t.done, 1);
    assert_int_equal(t.parse_errors, 0);

    t = run_stream("vllm_chat_continuous_usage");
    assert_int_equal(t.tokens, 7);
    assert_int_equal(t.finish, CHUNK_FINISH_LENGTH);
    assert_int_equal(t.completion, 8);

    t = run_stream("vllm_reasoning");
    assert_int_equal(t.reasoning_events, 9);
    assert_int_equal(t.output_events, 6);

    t = run_stream("vllm_completions");
    assert_int_equal(t.tokens, 7);
    assert_int_equal(t.finish, CHUNK_FINISH_LENGTH);

    t = run_stream("vllm_error_midstream");
    assert_int_equal(t.tokens, 2);
    assert_int_equal(t.errors, 1);
    assert_int_equal(t.done, 1);

    t = run_stream("llamacpp_chat");
    assert_int_equal(t.reasoning_events, 5);
    assert_int_equal(t.output_events, 8);
    assert_int_equal(t.prompt, 71);
    assert_int_equal(t.completion, 14);

    t = run_stream("tgi_chat");
    assert_int_equal(t.tokens, 5);
    assert_int_equal(t.finish, CHUNK_FINISH_STOP);
    assert_int_equal(t.completion, 5);

    t = run_stream("ollama_chat");
    assert_int_equal(t.reasoning_events, 3);
    assert_int_equal(t.output_events, 5);
    assert_int_equal(t.prompt, 26);

    t = run_stream("openai_refusal");
    assert_int_equal(t.output_events, 7);
    assert_int_equal(t.tokens, 7);
    assert_int_equal(t.finish, CHUNK_FINISH_STOP);

    t = run_stream("mistral_thinking");
    assert_int_equal(t.reasoning_events, 4);
    assert_int_equal(t.output_events, 5); /* four text parts and the finish chunk's "." */
    assert_int_equal(t.completion, 209);
    assert_int_equal(t.finish, CHUNK_FINISH_STOP);

    t = run_stream("perplexity_message");
    assert_int_equal(t.tokens, 8);        /* the finish chunk's empty delta is none */
    assert_int_equal(t.finish, CHUNK_FINISH_STOP);
    assert_int_equal(t.done, 0);

    t = run_stream("openai_tools");
    assert_int_equal(t.tool_events, 7);
    assert_int_equal(t.tokens, 7);
    assert_int_equal(t.finish, CHUNK_FINISH_TOOL_CALLS);
    assert_int_equal(t.prompt, 81);
    assert_int_equal(t.completion, 18);
}


/* chunk_scan_stream must give exactly chunk_scan's answer for every event, while skipping the
 * repeated prefix for most of them. */
typedef struct stream_cmp {
    chunk_prefix pre;
    int events, resumed;
} stream_cmp;

static int stream_cmp_cb(void *ud, const sse_event *ev)
{
    stream_cmp *sc = ud;
    chunk_info a, b;
    if (ev->done)
        return 0;
    int resumable = sc->pre.len && ev->data_len > sc->pre.len && memcmp(ev->data, sc->pre.bytes, sc->pre.len) == 0;
    int ra = chunk_scan(ev->data, ev->data_len, &a);
    int rb = chunk_scan_stream(ev->data, ev->data_len, &sc->pre, &b);
    assert_int_equal(ra, rb);
    if (ra == 0)
        assert_memory_equal(&a, &b, sizeof a);
    sc->events++;
    sc->resumed += resumable;
    return 0;
}

static void test_stream_prefix_same_results(void **state)
{
    (void)state;
    const char *names[] = {"vllm_chat", "vllm_chat_continuous_usage", "vllm_reasoning", "vllm_completions",
                           "vllm_error_midstream", "llamacpp_chat", "tgi_chat", "ollama_chat", "openai_tools",
                           "openai_refusal", "mistral_thinking", "perplexity_message", "stream_errors"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fixtures/sse/%s.sse", names[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            fail_msg("cannot open %s", path);
        char buf[8192];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        sse_parser p;
        sse_init(&p, 0);
        stream_cmp sc;
        memset(&sc, 0, sizeof sc);
        assert_int_equal(sse_feed(&p, buf, n, stream_cmp_cb, &sc), 0);
        sse_free(&p);
        assert_true(sc.events >= 3);
        if (strncmp(names[i], "vllm_chat", 9) == 0 || strcmp(names[i], "vllm_completions") == 0)
            assert_true(sc.resumed >= sc.events - 2); /* all but the first (and [DONE]) */
    }
}

static void test_stream_prefix_edges(void **state)
{
    (void)state;
    chunk_prefix pre;
    chunk_info ci;
    chunk_prefix_reset(&pre);
    const char *first = "{\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}";
    assert_int_equal(chunk_scan_stream(first, strlen(first), &pre, &ci), 0);
    assert_int_equal(ci.output_chars, 1);
    assert_int_equal(pre.len, strlen("{\"id\":\"x\",\"model\":\"m\",\"choices\":["));
    /* Same prefix, broken rest: still a parse error. */
    const char *broken = "{\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"b";
    assert_int_equal(chunk_scan_stream(broken, strlen(broken), &pre, &ci), LL_EPARSE);
    /* Same prefix, usage after the choices: seen. */
    const char *usage = "{\"id\":\"x\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}";
    assert_int_equal(chunk_scan_stream(usage, strlen(usage), &pre, &ci), 0);
    assert_int_equal(ci.has_usage, 1);
    assert_int_equal(ci.completion_tokens, 4);
    /* A different prefix takes the full walk and is still right. */
    const char *other = "{\"id\":\"y\",\"choices\":[{\"text\":\"abc\"}]}";
    assert_int_equal(chunk_scan_stream(other, strlen(other), &pre, &ci), 0);
    assert_int_equal(ci.output_chars, 3);
    /* An error object before the choices is never cached. */
    chunk_prefix_reset(&pre);
    const char *err = "{\"object\":\"error\",\"message\":\"boom\",\"choices\":[]}";
    assert_int_equal(chunk_scan_stream(err, strlen(err), &pre, &ci), 0);
    assert_int_equal(ci.has_error, 1);
    assert_int_equal(pre.len, 0);
}

/* chunk_scan_stream must answer as chunk_scan does, whatever pre has learnt. */
static void assert_stream_agrees(const char *ev, chunk_prefix *pre)
{
    chunk_info a, b;
    int ra = chunk_scan(ev, strlen(ev), &a);
    int rb = chunk_scan_stream(ev, strlen(ev), pre, &b);
    assert_int_equal(ra, rb);
    if (ra == 0)
        assert_memory_equal(&a, &b, sizeof a);
}

/* The shape path: after one plain token event, later events that differ only in their content
 * string are checked by that string alone; anything else still gets chunk_scan's answer. */
static void test_stream_shape_edges(void **state)
{
    (void)state;
    const char *P = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[";
    const char *M = "{\"index\":0,\"delta\":{\"content\":\"";
    const char *T = "\"},\"logprobs\":null,\"finish_reason\":null}]}";
    const char *contents[] = {
        "a",            /* learns the shape */
        " quick",       /* same shape */
        "",             /* empty: no token */
        "say \\\"hi\\\"", /* escaped quotes inside */
        "bad \\x",      /* invalid escape: EPARSE */
        "ctl \x01",      /* raw control byte: EPARSE */
        "two\"\"",      /* an unescaped quote: the string ends early, not JSON */
        "\\u00e9t\\u00e9", /* unicode escapes */
    };
    chunk_prefix pre;
    chunk_prefix_reset(&pre);
    char ev[512];
    for (size_t i = 0; i < sizeof contents / sizeof contents[0]; i++) {
        snprintf(ev, sizeof ev, "%s%s%s%s", P, M, contents[i], T);
        assert_stream_agrees(ev, &pre);
        if (i == 0)
            assert_int_equal(pre.mid_len, strlen(M));
    }
    assert_int_equal(pre.tail_len, strlen(T));
    /* Same mid and tail but the last event: finish_reason set, usage after: full walk, right answer. */
    const char *tails[] = {"\"},\"logprobs\":null,\"finish_reason\":\"length\"}]}",
                           "\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}",
                           "\"}}]}  ", "\"},\"logprobs\":null,\"finish_reason\":null}]} x"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        snprintf(ev, sizeof ev, "%s%sz%s", P, M, tails[i]);
        assert_stream_agrees(ev, &pre);
    }
    /* A usage event never becomes a shape. */
    chunk_prefix_reset(&pre);
    snprintf(ev, sizeof ev, "%s%sz%s", P, M, tails[1]);
    chunk_info ci;
    assert_int_equal(chunk_scan_stream(ev, strlen(ev), &pre, &ci), 0);
    assert_int_equal(pre.mid_len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_every_prefix_is_parse_error),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_usage_numbers),
        cmocka_unit_test(test_timings_and_message),
        cmocka_unit_test(test_recorded_streams),
        cmocka_unit_test(test_stream_prefix_same_results),
        cmocka_unit_test(test_stream_prefix_edges),
        cmocka_unit_test(test_stream_shape_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
