/* Unit tests for dataset files: each format, the record shapes (prompt/text, OpenAI messages,
 * ShareGPT conversations), output lengths, CSV quoting, and one-line errors naming the file/line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "llmload/dataset.h"
#include "llmload/error.h"

static dataset *parse_ok(const char *text, const char *name, long def)
{
    dataset *d = NULL;
    char err[256] = "";
    int rc = dataset_parse(&d, text, strlen(text), name, def, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: rc %d: %s", name, rc, err);
    return d;
}

static void expect(const dataset *d, size_t i, const char *prompt, long ptok, long otok)
{
    const dataset_entry *e = dataset_at(d, i);
    assert_int_equal(e->prompt_len, strlen(prompt));
    assert_string_equal(e->prompt, prompt);
    assert_int_equal(e->prompt_tokens, ptok);
    assert_int_equal(e->output_tokens, otok);
}

static void test_jsonl_shapes(void **state)
{
    (void)state;
    const char *text =
        "{\"prompt\": \"hello there world\", \"output_tokens\": 7}\n"
        "\n"
        "{\"text\": \"line\\nwith \\\"escapes\\\"\"}\r\n"
        "{\"messages\": [{\"role\": \"system\", \"content\": \"be brief\"}, {\"role\": \"user\", \"content\": \"what is up\"},"
        " {\"role\": \"assistant\", \"content\": \"not much at all\"}]}\n"
        "{\"conversations\": [{\"from\": \"human\", \"value\": \"hi\"}, {\"from\": \"gpt\", \"value\": \"a b c d e\"}],"
        " \"max_tokens\": 3}\n"
        "{\"id\": 5}\n"; /* no prompt: skipped */
    dataset *d = parse_ok(text, "x.jsonl", 64);
    assert_int_equal(dataset_size(d), 4);
    expect(d, 0, "hello there world", 3, 7);
    expect(d, 1, "line\nwith \"escapes\"", 3, 64);
    expect(d, 2, "what is up", 3, 4);  /* the answer's word count */
    expect(d, 3, "hi", 1, 3);          /* an explicit count wins */
    assert_int_equal(dataset_max_prompt_bytes(d), strlen("line\nwith \"escapes\""));
    dataset_destroy(d);
}

static void test_json_csv_txt(void **state)
{
    (void)state;
    dataset *d = parse_ok("[{\"prompt\": \"a b\"}, {\"prompt\": \"c\", \"output_len\": 9}]", "x.json", 10);
    assert_int_equal(dataset_size(d), 2);
    expect(d, 1, "c", 1, 9);
    dataset_destroy(d);
    d = parse_ok("{\"data\": [{\"text\": \"wrapped\"}]}", "x.json", 10);
    expect(d, 0, "wrapped", 1, 10);
    dataset_destroy(d);
    d = parse_ok("id,Prompt,max_tokens\r\n1,\"one, two\",5\n2,\"say \"\"hi\"\"\nnow\",\n3,plain,12", "x.csv", 20);
    assert_int_equal(dataset_size(d), 3);
    expect(d, 0, "one, two", 2, 5);
    expect(d, 1, "say \"hi\"\nnow", 3, 20);
    expect(d, 2, "plain", 1, 12);
    dataset_destroy(d);
    d = parse_ok("first prompt\r\n\n   \nsecond one here\n", "x.txt", 8);
    assert_int_equal(dataset_size(d), 2);
    expect(d, 0, "first prompt", 2, 8);
    expect(d, 1, "second one here", 3, 8);
    dataset_destroy(d);
}

static void test_errors(void **state)
{
    (void)state;
    const struct {
        const char *text, *name;
        int rc;
        const char *needle;
    } bad[] = {
        {"{\"prompt\": \"ok\"}\n{broken\n", "a.jsonl", LL_EPARSE, "a.jsonl:2: invalid JSON"},
        {"{\"id\": 1}\n", "b.jsonl", LL_EPARSE, "no prompts found"},
        {"{\"prompt\": \"x\"}", "c.json", LL_EPARSE, "expected a JSON array"},
        {"[{\"prompt\": ", "d.json", LL_EPARSE, "invalid JSON"},
        {"id,question\n1,x\n", "e.csv", LL_EPARSE, "no \"prompt\""},
        {"prompt\n\"open quote\n", "f.csv", LL_EPARSE, "unterminated"},
        {"\n\n", "g.txt", LL_EPARSE, "no prompts found"},
        {"hello", "h.parquet", LL_EUSAGE, "unknown dataset format"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dataset *d = (dataset *)&bad; /* must come back NULL */
        char err[256] = "";
        int rc = dataset_parse(&d, bad[i].text, strlen(bad[i].text), bad[i].name, 10, err, sizeof err);
        if (rc != bad[i].rc || !strstr(err, bad[i].needle) || strchr(err, '\n'))
            fail_msg("%s: rc %d (want %d), err '%s' (want '%s')", bad[i].name, rc, bad[i].rc, err, bad[i].needle);
        assert_null(d);
    }
    dataset *d;
    char err[256];
    assert_int_equal(dataset_load(&d, "/nonexistent/p.jsonl", 10, err, sizeof err), LL_ENOENT);
    assert_non_null(strstr(err, "/nonexistent/p.jsonl"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_shapes),
        cmocka_unit_test(test_json_csv_txt),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
