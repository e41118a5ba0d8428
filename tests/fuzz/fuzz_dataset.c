/*
 * fuzz_dataset.c - libFuzzer target for the dataset readers: the first byte picks the format
 * (jsonl, json, csv, txt), the rest is the file. No crash, no read outside the input (ASan), and on
 * success every entry's prompt reads back (streamed formats: from spans of the text, JSON-unescaped)
 * as a NUL-terminated string of the length it claims, and so does every later turn of a multi-turn
 * record.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "llmload/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"f.jsonl", "f.json", "f.csv", "f.txt"};
    if (size == 0)
        return 0;
    dataset *d = NULL;
    char err[256];
    int rc = dataset_parse(&d, (const char *)data + 1, size - 1, names[data[0] % 4], 16, err, sizeof err);
    assert((rc == 0) == (d != NULL));
    for (size_t i = 0; d && i < dataset_size(d); i++) {
        dataset_entry e;
        assert(dataset_get(d, i, &e) == 0);
        assert(e.prompt[e.prompt_len] == '\0' && e.prompt_len <= dataset_max_prompt_bytes(d));
        assert(e.prompt_tokens >= 0 && e.output_tokens >= 1);
        /* A multi-turn record's later user turns (sessions): the same rules. */
        assert((e.n_more_turns == 0) == (e.more_turns == NULL));
        for (size_t k = 0; k < e.n_more_turns; k++) {
            const dataset_turn *t = &e.more_turns[k];
            assert(t->prompt[t->prompt_len] == '\0' && t->prompt_len <= dataset_max_prompt_bytes(d));
            assert(t->prompt_tokens >= 0 && t->output_tokens >= 1);
        }
    }
    dataset_destroy(d);
    return 0;
}
