/*
 * fuzz_chunk.c - libFuzzer target for chunk_scan: any bytes, no crash, no read outside the input
 * (ASan), and on success error_msg, timings and output are slices of the input (chunk_timings reads the
 * latter) and the counts are sane; and
 * chunk_scan_stream agrees with it on every newline-separated event of the input.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "llmload/chunk.h"
#include "llmload/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    chunk_info ci, cs;
    /* The stream variant must agree with the plain scan on every event, whatever the earlier ones
     * taught it (prefix and shape): the input is a stream of events separated by newlines, and
     * the whole input is the last one. */
    chunk_prefix pre;
    chunk_prefix_reset(&pre);
    const char *ev = in, *end = in + size;
    for (int k = 0; k < 16 && ev < end; k++) {
        const char *nl = memchr(ev, '\n', (size_t)(end - ev));
        size_t n = (size_t)((nl ? nl : end) - ev);
        int a = chunk_scan_stream(ev, n, &pre, &cs);
        int b = chunk_scan(ev, n, &ci);
        assert(a == b);
        assert(a != 0 || memcmp(&ci, &cs, sizeof ci) == 0);
        ev += n + 1;
    }
    int rs = chunk_scan_stream(in, size, &pre, &cs);
    int rc = chunk_scan(in, size, &ci);
    assert(rs == rc);
    assert(rc != 0 || memcmp(&ci, &cs, sizeof ci) == 0);
    assert(rc == 0 || rc == LL_EPARSE);
    if (rc != 0)
        return 0;
    assert(ci.output_chars >= 0 && (size_t)ci.output_chars <= size);
    assert(ci.reasoning_chars >= 0 && (size_t)ci.reasoning_chars <= size);
    assert(ci.finish >= CHUNK_FINISH_NONE && ci.finish <= CHUNK_FINISH_CONTENT_FILTER);
    assert(ci.timings == NULL ? ci.timings_len == 0
                              : ci.timings >= in && ci.timings + ci.timings_len <= in + size);
    chunk_server_timings t;
    assert(ci.timings == NULL || chunk_timings(ci.timings, ci.timings_len, &t) == 0);
    assert(ci.has_usage || (ci.prompt_tokens == -1 && ci.completion_tokens == -1));
    assert(ci.error_msg == NULL ? ci.error_msg_len == 0
                                : ci.error_msg >= in && ci.error_msg + ci.error_msg_len <= in + size);
    assert(ci.output == NULL ? ci.output_len == 0
                             : ci.output >= in && ci.output + ci.output_len <= in + size &&
                                   (size_t)ci.output_chars >= ci.output_len);
    (void)t; /* used only by assert */
    return 0;
}
