/*
 * fuzz_slots.c - libFuzzer target for scrape_slots_kv (llama.cpp's GET /slots answer) and
 * scrape_slots_url (the URL it is fetched from, derived from a --server-metrics URL). On success the
 * figure must be a share in [0, 1] of a positive context, processing slots at most all slots; on
 * failure no figure; the same bytes always give the same answer.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/scrape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scrape_slots_kv_figure a, b;
    int ra = scrape_slots_kv((const char *)data, size, &a), rb = scrape_slots_kv((const char *)data, size, &b);
    assert(ra == rb);
    if (ra == 0) {
        assert(a.usage >= 0 && a.usage <= 1 && a.ctx_tokens > 0 && a.held_tokens >= 0);
        assert(a.slots >= 1 && a.processing <= a.slots);
        assert(a.usage == b.usage && a.slots == b.slots);
    } else {
        assert(isnan(a.usage));
    }
    /* The same bytes as a metrics URL (NUL-terminated copy): the result fits and ends in /slots. */
    char *url = malloc(size + 1), out[256];
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    if (scrape_slots_url(url, out, sizeof out) == 0) {
        size_t n = strlen(out);
        assert(n >= 6 && n < sizeof out && strcmp(out + n - 6, "/slots") == 0 && strstr(out, "://"));
    }
    free(url);
    return 0;
}
