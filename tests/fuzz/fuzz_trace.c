/*
 * fuzz_trace.c - libFuzzer target for the trace readers: the first byte picks the format (auto on
 * a .jsonl or a .csv name, mooncake, azure, otel, jsonl), the rest is the file. No crash, no read
 * outside the input (ASan); on success the entries are sorted, in range, and every built prompt is
 * a NUL-terminated string inside the buffer.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "llmload/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"t.jsonl", "t.csv"};
    if (size == 0)
        return 0;
    trace *t = NULL;
    char err[256];
    int fmt = data[0] % 6;
    trace_format f = fmt == 5 ? TRACE_FORMAT_AUTO : (trace_format)fmt;
    int rc = trace_parse(&t, (const char *)data + 1, size - 1, names[fmt == 5], f, err, sizeof err);
    assert((rc == 0) == (t != NULL));
    if (!t)
        return 0;
    trace_prompter *p = NULL;
    int prc = trace_prompter_create(&p, t, NULL, 1);
    assert(prc == 0 && p);
    for (size_t i = 0; i < trace_size(t) && i < 64; i++) {
        const trace_entry *e = trace_at(t, i);
        assert(e->input_tokens >= 1 && e->output_tokens >= 1);
        assert(i == 0 || e->offset_ns >= trace_at(t, i - 1)->offset_ns);
        source_request r;
        int qrc = trace_request(p, i, &r);
        assert(qrc == 0 && r.prompt[r.prompt_len] == '\0' && strlen(r.prompt) == r.prompt_len);
    }
    trace_prompter_destroy(p);
    trace_destroy(t);
    return 0;
}
