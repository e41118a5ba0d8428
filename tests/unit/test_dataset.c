/* Unit tests for dataset files: each format, the record shapes (prompt/text, OpenAI messages,
 * ShareGPT conversations), output lengths, CSV quoting, and one-line errors naming the file/line;
 * streamed .jsonl prompts read back exactly as cJSON decodes them (every escape, \u with
 * surrogates, a \u0000 ending the string), from memory and from a file, and --data-max. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

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

static void expect(dataset *d, size_t i, const char *prompt, long ptok, long otok)
{
    dataset_entry e;
    assert_int_equal(dataset_get(d, i, &e), 0);
    assert_int_equal(e.prompt_len, strlen(prompt));
    assert_string_equal(e.prompt, prompt);
    assert_int_equal(e.prompt_tokens, ptok);
    assert_int_equal(e.output_tokens, otok);
}

/* Lines whose prompts need every kind of unescaping; what cJSON decodes is the truth. */
static const char *const escaped[] = {
    "{\"prompt\": \"tab\\there \\\"q\\\" back\\\\slash \\/ \\b\\f\\r\\n end\"}",
    "{\"id\": \"caf\\u00e9\", \"prompt\": \"caf\\u00e9 \\u4e2d \\ud83d\\ude00 smile\"}",
    "{\"text\": \"cut\\u0000after\"}",
    "{\"messages\": [{\"role\": \"user\", \"content\": \"raw \u00e9\u00e8 utf8\"}]}",
    "{\"prompt\": \"prompt\"}",
};

static void check_escaped(dataset *d)
{
    assert_int_equal(dataset_size(d), sizeof escaped / sizeof escaped[0]);
    for (size_t i = 0; i < sizeof escaped / sizeof escaped[0]; i++) {
        cJSON *o = cJSON_Parse(escaped[i]);
        assert_non_null(o);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prompt");
        if (!p)
            p = cJSON_GetObjectItemCaseSensitive(o, "text");
        if (!p)
            p = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "messages"), 0),
                                                 "content");
        dataset_entry e;
        assert_int_equal(dataset_get(d, i, &e), 0);
        assert_string_equal(e.prompt, p->valuestring);
        assert_int_equal(e.prompt_len, strlen(p->valuestring));
        cJSON_Delete(o);
    }
}

static void test_jsonl_escapes(void **state)
{
    (void)state;
    size_t total = 0;
    for (size_t i = 0; i < sizeof escaped / sizeof escaped[0]; i++)
        total += strlen(escaped[i]) + 1;
    char *text = malloc(total + 1), *p = text;
    assert_non_null(text);
    for (size_t i = 0; i < sizeof escaped / sizeof escaped[0]; i++)
        p += sprintf(p, "%s\n", escaped[i]);
    dataset *d = parse_ok(text, "x.jsonl", 10);
    check_escaped(d);
    dataset_destroy(d);

    /* The same from a file: read back with pread, in any order, the file left open. */
    char path[] = "/tmp/llmload-test-dataset-XXXXXX.jsonl";
    int fd = mkstemps(path, 6);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char err[256] = "";
    assert_int_equal(dataset_load(&d, path, 10, 0, err, sizeof err), 0);
    check_escaped(d);
    dataset_entry e;
    assert_int_equal(dataset_get(d, 0, &e), 0);
    dataset_destroy(d);
    /* --data-max 2: the first two records only. */
    assert_int_equal(dataset_load(&d, path, 10, 2, err, sizeof err), 0);
    assert_int_equal(dataset_size(d), 2);
    dataset_destroy(d);
    unlink(path);
    free(text);
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
    assert_int_equal(dataset_load(&d, "/nonexistent/p.jsonl", 10, 0, err, sizeof err), LL_ENOENT);
    assert_non_null(strstr(err, "/nonexistent/p.jsonl"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_shapes),
        cmocka_unit_test(test_json_csv_txt),
        cmocka_unit_test(test_jsonl_escapes),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
