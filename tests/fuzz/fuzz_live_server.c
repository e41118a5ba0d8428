/*
 * fuzz_live_server.c - libFuzzer target for the --metrics-listen endpoint's request handling: the
 * bytes after the first are what a scraper sends on one connection, the first byte chooses how it is
 * split into reads; they go through the real parser and handlers (live_server__feed), and a
 * /metrics scrape renders a snapshot. No crash, no leak, no read outside the input.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "llmload/live_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_snapshot(void *ud, live_snapshot *out)
{
    (void)ud;
    memset(out, 0, sizeof *out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static size_t lens[4096];
    if (size < 1)
        return 0;
    unsigned step = data[0];
    size_t n = 0, off = 0;
    for (size--, data++; off < size && n < sizeof lens / sizeof lens[0] - 1; n++) {
        size_t k = step ? 1 + (step * 31 + n * 7) % (step % 64 + 1) : size;
        lens[n] = k < size - off ? k : size - off;
        off += lens[n];
    }
    if (off < size)
        lens[n - 1] += size - off;
    int rc = live_server__feed("fuzz-model", read_snapshot, NULL, (const char *)data, lens, n);
    assert(rc == 0);
    (void)rc;
    return 0;
}
