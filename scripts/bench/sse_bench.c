/*
 * sse_bench.c - micro-benchmark of the receive path's parsers (sse_feed, then chunk_scan per event)
 * over a recorded vLLM stream repeated to 8 MiB, fed in socket-sized reads. Built by hand:
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude scripts/bench/sse_bench.c src/sse.c src/chunk.c \
 *      src/clock.c -o build/sse_bench && build/sse_bench tests/fixtures/sse/vllm_chat.sse
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/chunk.h"
#include "llmload/clock.h"
#include "llmload/sse.h"

typedef struct counts {
    unsigned long events, tokens;
    int scan;
} counts;

static int on_event(void *ud, const sse_event *ev)
{
    counts *c = ud;
    c->events++;
    if (c->scan && !ev->done) {
        chunk_info ci;
        if (chunk_scan(ev->data, ev->data_len, &ci) == 0 && chunk_has_token(&ci))
            c->tokens++;
    }
    return 0;
}

static void run(const char *buf, size_t len, size_t read_size, int scan)
{
    sse_parser p;
    sse_init(&p, 0);
    counts c = {0, 0, scan};
    uint64_t best = UINT64_MAX;
    for (int rep = 0; rep < 5; rep++) {
        c.events = c.tokens = 0;
        sse_reset(&p);
        uint64_t t0 = clock_now_ns();
        for (size_t at = 0; at < len; at += read_size)
            if (sse_feed(&p, buf + at, len - at < read_size ? len - at : read_size, on_event, &c) != 0)
                abort();
        uint64_t dt = clock_now_ns() - t0;
        if (dt < best)
            best = dt;
    }
    double s = (double)best / 1e9;
    printf("%-10s reads of %6zu B: %8.2f M events/s, %7.0f MB/s (%lu events, %lu tokens)\n",
           scan ? "sse+chunk" : "sse", read_size, c.events / s / 1e6, len / s / 1e6, c.events,
           c.tokens);
    sse_free(&p);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "tests/fixtures/sse/vllm_chat.sse";
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "sse_bench: cannot open %s\n", path);
        return 1;
    }
    static char one[1 << 16];
    size_t n = fread(one, 1, sizeof one, f);
    fclose(f);
    size_t len = (8u << 20) / n * n;
    char *buf = malloc(len);
    if (!buf || n == 0)
        return 1;
    for (size_t at = 0; at < len; at += n)
        memcpy(buf + at, one, n);
    size_t sizes[] = {64, 300, 4096, 65536};
    for (int scan = 0; scan < 2; scan++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            run(buf, len, sizes[i], scan);
    free(buf);
    return 0;
}
