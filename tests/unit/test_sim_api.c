/* Unit tests for the simulator's wire format: prompt counting, request validation with vLLM's
 * statuses, and the exact bytes of streamed events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "../../src/sim/sim_api.h"
#include "llmload/chunk.h"
#include "llmload/error.h"

static int parse(enum sim_api_kind k, const char *body, sim_api_request *r, sim_api_error *e)
{
    return sim_api_parse(k, body, strlen(body), "m", 100, r, e);
}

static void test_parse_ok(void **state)
{
    (void)state;
    sim_api_request r;
    sim_api_error e;
    assert_int_equal(parse(SIM_API_CHAT,
                           "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"a b\"},"
                           "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"c d e\"},"
                           "{\"type\":\"image_url\",\"image_url\":{}}]}],\"max_tokens\":7,\"ignore_eos\":true,"
                           "\"stream\":true,\"stream_options\":{\"continuous_usage_stats\":true}}",
                           &r, &e),
                     0);
    assert_int_equal(r.prompt_tokens, 5);
    assert_int_equal(r.max_tokens, 7);
    assert_int_equal(r.has_max_tokens, 1);
    assert_int_equal(r.ignore_eos, 1);
    assert_int_equal(r.stream, 1);
    assert_int_equal(r.include_usage, 1);
    assert_int_equal(r.continuous_usage, 1);
    assert_int_equal(parse(SIM_API_COMPLETIONS, "{\"prompt\":[\"a b\",\"c\"]}", &r, &e), 0);
    assert_int_equal(r.prompt_tokens, 3);
    assert_int_equal(r.has_max_tokens, 0);
    assert_int_equal(parse(SIM_API_COMPLETIONS, "{\"prompt\":\"   \"}", &r, &e), 0);
    assert_int_equal(r.prompt_tokens, 1);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        enum sim_api_kind kind;
        const char *body;
        int status;
    } cases[] = {
        {SIM_API_CHAT, "{not json", 400},
        {SIM_API_CHAT, "[1,2]", 400},
        {SIM_API_CHAT, "{}", 400},
        {SIM_API_CHAT, "{\"messages\":\"hi\"}", 400},
        {SIM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}", 400},
        {SIM_API_COMPLETIONS, "{}", 400},
        {SIM_API_COMPLETIONS, "{\"prompt\":{}}", 400},
        {SIM_API_COMPLETIONS, "{\"prompt\":\"a\",\"max_tokens\":\"5\"}", 400},
        {SIM_API_COMPLETIONS, "{\"prompt\":\"a\",\"max_tokens\":0}", 400},
        {SIM_API_COMPLETIONS, "{\"prompt\":\"a\",\"stream\":\"yes\"}", 400},
        {SIM_API_COMPLETIONS, "{\"prompt\":\"a\",\"stream_options\":{}}", 400},
        {SIM_API_COMPLETIONS, "{\"prompt\":\"a\",\"max_tokens\":100}", 400},
        {SIM_API_COMPLETIONS, "{\"prompt\":\"a\",\"model\":\"other\"}", 404},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sim_api_request r;
        sim_api_error e;
        assert_true(parse(cases[i].kind, cases[i].body, &r, &e) < 0);
        assert_int_equal(e.status, cases[i].status);
        assert_true(e.message[0] != '\0');
    }
}

static void test_error_body(void **state)
{
    (void)state;
    sim_buf b = {0};
    assert_int_equal(sim_api_error_body(&b, 400, "BadRequestError", "bad \"x\""), 0);
    assert_string_equal(b.data, "{\"object\":\"error\",\"message\":\"bad \\\"x\\\"\",\"type\":\"BadRequestError\","
                                "\"param\":null,\"code\":400}");
    sim_buf_free(&b);
}

static void test_chat_events_exact(void **state)
{
    (void)state;
    sim_api_stream s;
    sim_buf b = {0};
    sim_api_stream_init(&s, SIM_API_CHAT, 1, 1700000000, "m", 3, 1, 0);
    assert_int_equal(sim_api_event_tokens(&s, &b, 0, 2, "length", 2), 0);
    assert_string_equal(b.data, "data: {\"id\":\"chatcmpl-00000000000000000000000000000001\",\"object\":"
                                "\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\",\"choices\":"
                                "[{\"index\":0,\"delta\":{\"content\":\" model\",\"reasoning_content\":\" the\"},"
                                "\"logprobs\":null,\"finish_reason\":\"length\",\"stop_reason\":null}]}\n\n");
    sim_buf_reset(&b);
    assert_int_equal(sim_api_event_usage(&s, &b, 2), 0);
    assert_non_null(strstr(b.data, "\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"total_tokens\":5,"
                                   "\"completion_tokens\":2}}\n\n"));
    sim_buf_free(&b);
}

static void test_completion_full_body(void **state)
{
    (void)state;
    sim_api_stream s;
    sim_buf b = {0};
    sim_api_stream_init(&s, SIM_API_COMPLETIONS, 2, 5, "m", 4, 0, 0);
    assert_int_equal(sim_api_full_body(&s, &b, 2, "stop"), 0);
    assert_string_equal(b.data, "{\"id\":\"cmpl-00000000000000000000000000000002\",\"object\":\"text_completion\","
                                "\"created\":5,\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\" the model\","
                                "\"logprobs\":null,\"finish_reason\":\"stop\",\"stop_reason\":null,"
                                "\"prompt_logprobs\":null}],\"usage\":{\"prompt_tokens\":4,\"total_tokens\":6,"
                                "\"completion_tokens\":2,\"prompt_tokens_details\":null}}");
    sim_buf_free(&b);
}

/* The JSON of an event (after "data: ", before the blank line), scanned as llmload's client would. */
static chunk_info scan_event(const sim_buf *b)
{
    chunk_info ci;
    assert_true(b->len > 8 && memcmp(b->data, "data: ", 6) == 0);
    assert_int_equal(chunk_scan(b->data + 6, b->len - 8, &ci), 0);
    return ci;
}

/* Each --content-shape, --cumulative-message, --usage-on-finish and --timings: the bytes carry
 * what they claim, as llmload's own scanner reads them. */
static void test_stream_shapes(void **state)
{
    (void)state;
    sim_api_stream s;
    sim_buf b = {0};
    chunk_info ci;
    sim_api_stream_init(&s, SIM_API_CHAT, 1, 1700000000, "m", 3, 1, 0);
    sim_api_stream_shape(&s, SIM_SHAPE_PARTS, 0, 0, 0);
    assert_int_equal(sim_api_event_tokens(&s, &b, 1, 1, NULL, 2), 0);
    assert_non_null(strstr(b.data, "\"delta\":{\"content\":[{\"type\":\"text\",\"text\":\" model\"}]}"));
    ci = scan_event(&b);
    assert_int_equal(ci.output_chars, 6);

    sim_buf_reset(&b);
    sim_api_stream_shape(&s, SIM_SHAPE_REFUSAL, 0, 0, 0);
    assert_int_equal(sim_api_event_tokens(&s, &b, 1, 1, NULL, 2), 0);
    assert_non_null(strstr(b.data, "\"delta\":{\"refusal\":\" model\"}"));
    assert_int_equal(scan_event(&b).output_chars, 6);

    sim_buf_reset(&b);
    sim_api_stream_shape(&s, SIM_SHAPE_THINKING_PARTS, 0, 0, 0);
    assert_int_equal(sim_api_event_tokens(&s, &b, 0, 2, NULL, 2), 0); /* one reasoning, one answer */
    assert_non_null(strstr(b.data, "\"content\":[{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\",\"text\":"
                                   "\" the\"}]},{\"type\":\"text\",\"text\":\" model\"}]"));
    ci = scan_event(&b);
    assert_true(ci.reasoning_chars == 4 && ci.output_chars == 6);

    /* Perplexity: the cumulative message is beside the delta; the finish chunk has an empty delta. */
    sim_buf_reset(&b);
    sim_api_stream_shape(&s, SIM_SHAPE_STRING, 1, 0, 0);
    assert_int_equal(sim_api_event_tokens(&s, &b, 1, 1, NULL, 2), 0);
    assert_non_null(strstr(b.data, "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\" the model\"},"
                                   "\"delta\":{\"content\":\" model\"}"));
    assert_int_equal(scan_event(&b).output_chars, 6);
    sim_buf_reset(&b);
    assert_int_equal(sim_api_event_finish(&s, &b, 2, "stop"), 0);
    ci = scan_event(&b);
    assert_true(!chunk_has_token(&ci) && ci.finish == CHUNK_FINISH_STOP);

    /* Mistral: usage on the finish chunk; llama.cpp: timings there too. */
    sim_buf_reset(&b);
    sim_api_stream_shape(&s, SIM_SHAPE_STRING, 0, 1, 1);
    s.prompt_ms = 12.5;
    s.predicted_ms = 30;
    assert_int_equal(sim_api_event_tokens(&s, &b, 1, 1, NULL, 2), 0);
    ci = scan_event(&b);
    assert_true(!ci.has_usage && !ci.timings);
    sim_buf_reset(&b);
    assert_int_equal(sim_api_event_tokens(&s, &b, 2, 1, "length", 3), 0);
    ci = scan_event(&b);
    assert_true(ci.has_usage && ci.completion_tokens == 3 && ci.finish == CHUNK_FINISH_LENGTH);
    chunk_server_timings tm;
    assert_true(ci.timings && chunk_timings(ci.timings, ci.timings_len, &tm) == 0);
    assert_true(tm.prompt_n == 3 && tm.prompt_ms == 12.5 && tm.predicted_n == 3 && tm.predicted_ms == 30);
    assert_non_null(strstr(b.data, "\"predicted_per_token_ms\":10.000000"));
    sim_buf_free(&b);
}

/* --stream-error-shape: the three shapes, byte for byte. */
static void test_stream_error_shapes(void **state)
{
    (void)state;
    sim_buf b = {0};
    assert_int_equal(sim_api_event_error(&b, SIM_ERR_SHAPE_OBJECT), 0);
    const char *obj = "data: {\"error\":{\"object\":\"error\",\"message\":\"Injected fault";
    assert_true(strncmp(b.data, obj, strlen(obj)) == 0);
    chunk_info ci = scan_event(&b);
    assert_true(ci.has_error && ci.error_code == 500);
    sim_buf_reset(&b);
    assert_int_equal(sim_api_event_error(&b, SIM_ERR_SHAPE_EVENT), 0);
    assert_true(strncmp(b.data, "event: error\ndata: {", strlen("event: error\ndata: {")) == 0);
    sim_buf_reset(&b);
    assert_int_equal(sim_api_event_error(&b, SIM_ERR_SHAPE_FIELD), 0);
    assert_true(strncmp(b.data, "error: {\"message\":", strlen("error: {\"message\":")) == 0);
    assert_true(b.len > 2 && memcmp(b.data + b.len - 2, "\n\n", 2) == 0);
    sim_buf_free(&b);
}

static void test_buf_cap(void **state)
{
    (void)state;
    sim_buf b;
    sim_buf_init(&b, 4);
    assert_int_equal(sim_buf_append(&b, "abcd", 4), 0);
    assert_int_equal(sim_buf_append(&b, "e", 1), LL_EOVERSIZE);
    assert_int_equal(b.len, 4);
    sim_buf_consume(&b, 2);
    assert_string_equal(b.data, "cd");
    sim_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),     cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_chat_events_exact), cmocka_unit_test(test_completion_full_body),
        cmocka_unit_test(test_buf_cap),           cmocka_unit_test(test_stream_shapes),
        cmocka_unit_test(test_stream_error_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
