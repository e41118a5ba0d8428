/*
 * fuzz_sse.c - libFuzzer target for sse_feed. Bytes 0-1 pick max_event and a cut point; the rest
 * is fed whole to one parser and in two feeds to another. Asserts: every slice lies in the feed's
 * buffer or the carry, carry never passes max_event, and both runs give the same result and events.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ctx { const char *buf; size_t len; const sse_parser *p; uint64_t hash, n; } ctx;

static int inside(const char *s, size_t n, const char *lo, size_t lo_n)
{
    return n == 0 || (lo && s >= lo && s + n <= lo + lo_n);
}

static void mix(ctx *c, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        c->hash = (c->hash ^ (uint8_t)s[i]) * 1099511628211ull;
    c->hash = (c->hash ^ n) * 1099511628211ull;
}

static int on_event(void *ud, const sse_event *ev)
{
    ctx *c = ud;
    const sse_parser *p = c->p;
    assert(ev->data && ev->data_len <= p->max_event && (ev->type || ev->type_len == 0));
    assert(inside(ev->data, ev->data_len, c->buf, c->len) ||
           inside(ev->data, ev->data_len, p->carry, p->carry_cap));
    assert(inside(ev->type, ev->type_len, c->buf, c->len) ||
           inside(ev->type, ev->type_len, p->carry, p->carry_cap));
    mix(c, ev->data, ev->data_len);
    mix(c, ev->type ? ev->type : "", ev->type_len);
    assert(!(ev->done && ev->error));
    c->n += 1 + (unsigned)ev->done + 2 * (unsigned)ev->error;
    return 0;
}

static int run(sse_parser *p, ctx *c, const char *in, size_t n)
{
    c->buf = in;
    c->len = n;
    c->p = p;
    int rc = sse_feed(p, in, n, on_event, c);
    assert(p->carry_cap <= p->max_event);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const char *in = (const char *)data + 2;
    size_t n = size - 2, cut = n * data[1] / 255;
    sse_parser whole, split;
    ctx cw = {0}, cs = {0};
    sse_init(&whole, 64 + (size_t)data[0] * 8);
    sse_init(&split, 64 + (size_t)data[0] * 8);
    int rw = run(&whole, &cw, in, n);
    int rs = run(&split, &cs, in, cut);
    if (rs == 0)
        rs = run(&split, &cs, in + cut, n - cut);
    assert(rw == 0 || rw == LL_EOVERSIZE);
    assert(rw == rs && cw.n == cs.n && cw.hash == cs.hash);
    assert(rw != 0 || sse_pending(&whole) == sse_pending(&split));
    sse_free(&whole);
    sse_free(&split);
    return 0;
}
