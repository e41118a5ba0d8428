/*
 * fuzz_promtext.c - libFuzzer target for promtext_parse. The input is parsed whole; every slice a
 * sample carries must lie inside it, the counts must add up (samples + bad <= lines), and a second
 * parse of the same bytes must give the same result (the parser keeps no state between calls).
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "llmload/promtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ctx { const char *lo; size_t n; uint64_t seen; } ctx;

static void in(const ctx *c, promtext_str s)
{
    assert(s.n == 0 || (s.p >= c->lo && s.p + s.n <= c->lo + c->n));
}

static int on_sample(void *ud, const promtext_sample *s)
{
    ctx *c = ud;
    in(c, s->name);
    in(c, s->family);
    assert(s->name.n > 0 && s->n_labels <= PROMTEXT_MAX_LABELS);
    for (size_t i = 0; i < s->n_labels; i++) {
        in(c, s->labels[i].name);
        in(c, s->labels[i].value);
        char buf[16];
        assert(promtext_unescape(s->labels[i].value, buf, sizeof buf) <= s->labels[i].value.n);
    }
    c->seen++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ctx a = {(const char *)data, size, 0}, b = a;
    promtext_stats sa, sb;
    assert(promtext_parse(a.lo, size, on_sample, &a, &sa) == 0);
    assert(sa.samples == a.seen && sa.samples + sa.bad <= sa.lines);
    assert(promtext_parse(b.lo, size, on_sample, &b, &sb) == 0);
    assert(memcmp(&sa, &sb, sizeof sa) == 0);
    return 0;
}
