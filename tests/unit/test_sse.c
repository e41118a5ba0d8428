/*
 * Unit tests for the SSE parser: every recorded stream in tests/fixtures/sse/ is fed whole, byte
 * by byte and at every split point (three-way splits for short ones), each piece placed right
 * before a PROT_NONE page so an over-read faults; the events must match NAME.events, written by
 * the independent reference.py. Then the grammar corners, limits, reuse and the stop value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "llmload/error.h"
#include "llmload/sse.h"

#define FIXDIR "tests/fixtures/sse/"

static const char *const fixtures[] = {
    "vllm_chat", "vllm_chat_continuous_usage", "vllm_reasoning", "vllm_completions",
    "vllm_error_midstream", "llamacpp_chat", "tgi_chat", "ollama_chat", "openai_tools",
    "openai_responses", "edge_crlf", "openai_refusal", "mistral_thinking", "perplexity_message",
    "stream_errors",
};
#define NFIX (sizeof fixtures / sizeof fixtures[0])

/* ---- guard page: bytes end exactly where an inaccessible page begins ---- */

typedef struct guard {
    char *base;
    size_t usable;
} guard;

static void guard_init(guard *g, size_t max)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    g->usable = (max + pg - 1) / pg * pg;
    if (g->usable == 0)
        g->usable = pg;
    g->base = mmap(NULL, g->usable + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->base != MAP_FAILED);
    assert_int_equal(mprotect(g->base + g->usable, pg, PROT_NONE), 0);
}

static void guard_free(guard *g)
{
    munmap(g->base, g->usable + (size_t)sysconf(_SC_PAGESIZE));
}

static const char *guard_place(guard *g, const char *src, size_t n)
{
    assert_true(n <= g->usable);
    char *dst = g->base + g->usable - n;
    memcpy(dst, src, n);
    return dst;
}

/* ---- collecting events in the .events format ---- */

typedef struct collect {
    char *out;
    size_t len, cap;
    const sse_parser *p;
    const char *buf; /* the current feed */
    size_t buf_len;
    int direct;      /* events whose data was a slice of the caller's buffer */
    int stop_at;     /* return 99 on this event (1-based); 0 never */
    int seen;
} collect;

static void collect_put(collect *c, const char *s, size_t n)
{
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        while (cap < c->len + n + 1)
            cap *= 2;
        char *t = realloc(c->out, cap);
        assert_non_null(t);
        c->out = t;
        c->cap = cap;
    }
    memcpy(c->out + c->len, s, n);
    c->len += n;
    c->out[c->len] = '\0';
}

static int in_range(const char *s, size_t n, const char *lo, size_t lo_len)
{
    return lo && s >= lo && s + n <= lo + lo_len;
}

/* Every slice lies inside the current buffer or the parser's carry buffer. */
static void check_slice(collect *c, const char *s, size_t n)
{
    if (n == 0)
        return;
    assert_true(in_range(s, n, c->buf, c->buf_len) || in_range(s, n, c->p->carry, c->p->carry_cap));
}

static int collect_cb(void *ud, const sse_event *ev)
{
    collect *c = ud;
    check_slice(c, ev->data, ev->data_len);
    assert_non_null(ev->data);
    if (ev->type)
        check_slice(c, ev->type, ev->type_len);
    else
        assert_int_equal(ev->type_len, 0);
    if (ev->data_len && in_range(ev->data, ev->data_len, c->buf, c->buf_len))
        c->direct++;
    if (ev->type)
        collect_put(c, ev->type, ev->type_len);
    assert_false(ev->done && ev->error);
    collect_put(c, ev->error ? "\tE\t" : ev->done ? "\t1\t" : "\t0\t", 3);
    for (size_t i = 0; i < ev->data_len; i++) {
        char ch = ev->data[i];
        if (ch == '\\')
            collect_put(c, "\\\\", 2);
        else if (ch == '\n')
            collect_put(c, "\\n", 2);
        else
            collect_put(c, &ch, 1);
    }
    collect_put(c, "\n", 1);
    c->seen++;
    return c->seen == c->stop_at ? 99 : 0;
}

static int feed(sse_parser *p, collect *c, guard *g, const char *s, size_t n)
{
    const char *b = guard_place(g, s, n);
    c->p = p;
    c->buf = b;
    c->buf_len = n;
    return sse_feed(p, b, n, collect_cb, c);
}

static void collect_reset(collect *c)
{
    c->len = 0;
    c->direct = 0;
    c->seen = 0;
    if (c->out)
        c->out[0] = '\0';
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (tests run from the repository root)", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    char *b = malloc((size_t)len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    b[len] = '\0';
    *n = (size_t)len;
    return b;
}

typedef struct fixture {
    char *in, *want;
    size_t in_len, want_len;
} fixture;

static void fixture_load(fixture *fx, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, FIXDIR "%s.sse", name);
    fx->in = read_file(path, &fx->in_len);
    snprintf(path, sizeof path, FIXDIR "%s.events", name);
    fx->want = read_file(path, &fx->want_len);
}

static void fixture_free(fixture *fx)
{
    free(fx->in);
    free(fx->want);
}

/* Feed fx in pieces ending at the given cut points, check the events and that nothing is left. */
static void run_cuts(sse_parser *p, collect *c, guard *g, const fixture *fx, const size_t *cuts,
                     size_t ncuts, const char *name)
{
    size_t at = 0;
    sse_reset(p);
    collect_reset(c);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : fx->in_len;
        assert_int_equal(feed(p, c, g, fx->in + at, to - at), 0);
        at = to;
    }
    if (c->len != fx->want_len || memcmp(c->out ? c->out : "", fx->want, fx->want_len) != 0) {
        print_error("%s: cuts", name);
        for (size_t i = 0; i < ncuts; i++)
            print_error(" %zu", cuts[i]);
        print_error("\n");
        assert_string_equal(c->out ? c->out : "", fx->want);
    }
    assert_int_equal(sse_pending(p), 0);
}

static void test_fixtures_whole(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFIX; i++) {
        fixture fx;
        fixture_load(&fx, fixtures[i]);
        guard g;
        guard_init(&g, fx.in_len);
        sse_parser p;
        sse_init(&p, 0);
        collect c = {0};
        run_cuts(&p, &c, &g, &fx, NULL, 0, fixtures[i]);
        assert_true(c.seen > 0);
        assert_int_equal(p.events, (uint64_t)c.seen);
        sse_free(&p);
        free(c.out);
        guard_free(&g);
        fixture_free(&fx);
    }
}

/* A whole stream of single-line events is handed out without a copy: carry is never allocated. */
static void test_whole_feed_is_zero_copy(void **state)
{
    (void)state;
    fixture fx;
    fixture_load(&fx, "vllm_chat");
    guard g;
    guard_init(&g, fx.in_len);
    sse_parser p;
    sse_init(&p, 0);
    collect c = {0};
    run_cuts(&p, &c, &g, &fx, NULL, 0, "vllm_chat");
    assert_int_equal(c.direct, c.seen);
    assert_null(p.carry);
    assert_int_equal(p.carry_cap, 0);
    sse_free(&p);
    free(c.out);
    guard_free(&g);
    fixture_free(&fx);
}

static void test_fixtures_bytewise(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFIX; i++) {
        fixture fx;
        fixture_load(&fx, fixtures[i]);
        guard g;
        guard_init(&g, 1);
        sse_parser p;
        sse_init(&p, 0);
        collect c = {0};
        size_t *cuts = malloc(fx.in_len * sizeof *cuts);
        assert_non_null(cuts);
        for (size_t k = 1; k < fx.in_len; k++)
            cuts[k - 1] = k;
        run_cuts(&p, &c, &g, &fx, cuts, fx.in_len - 1, fixtures[i]);
        free(cuts);
        sse_free(&p);
        free(c.out);
        guard_free(&g);
        fixture_free(&fx);
    }
}

static void test_fixtures_every_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFIX; i++) {
        fixture fx;
        fixture_load(&fx, fixtures[i]);
        guard g;
        guard_init(&g, fx.in_len);
        sse_parser p;
        sse_init(&p, 0);
        collect c = {0};
        for (size_t k = 0; k <= fx.in_len; k++)
            run_cuts(&p, &c, &g, &fx, &k, 1, fixtures[i]);
        sse_free(&p);
        free(c.out);
        guard_free(&g);
        fixture_free(&fx);
    }
}

/* Three feeds at every pair of cut points, for the fixtures short enough (O(n^2) runs). */
static void test_fixtures_every_split3(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFIX; i++) {
        fixture fx;
        fixture_load(&fx, fixtures[i]);
        if (fx.in_len > 600) {
            fixture_free(&fx);
            continue;
        }
        guard g;
        guard_init(&g, fx.in_len);
        sse_parser p;
        sse_init(&p, 0);
        collect c = {0};
        for (size_t a = 0; a <= fx.in_len; a++)
            for (size_t b = a; b <= fx.in_len; b++) {
                size_t cuts[2] = {a, b};
                run_cuts(&p, &c, &g, &fx, cuts, 2, fixtures[i]);
            }
        sse_free(&p);
        free(c.out);
        guard_free(&g);
        fixture_free(&fx);
    }
}

/* ---- grammar corners, each fed in the pieces given ---- */

typedef struct feeds {
    const char *parts[6];
    const char *want;
} feeds;

static void run_feeds(const feeds *f, size_t max_event)
{
    guard g;
    guard_init(&g, 4096);
    sse_parser p;
    sse_init(&p, max_event);
    collect c = {0};
    collect_put(&c, "", 0);
    for (int i = 0; i < 6 && f->parts[i]; i++)
        assert_int_equal(feed(&p, &c, &g, f->parts[i], strlen(f->parts[i])), 0);
    assert_string_equal(c.out, f->want);
    sse_free(&p);
    free(c.out);
    guard_free(&g);
}

static void test_crlf_split_across_feeds(void **state)
{
    (void)state;
    /* Without the carried CR, the LF would end an empty line and dispatch "a" alone. */
    feeds f = {{"data: a\r", "\ndata: b\r", "\n\r", "\n"}, "\t0\ta\\nb\n"};
    run_feeds(&f, 0);
    /* A CR at the end of a feed followed by a non-LF: CR alone was the line end. */
    feeds f2 = {{"data: a\r", "\r", "data: b\r\r"}, "\t0\ta\n\t0\tb\n"};
    run_feeds(&f2, 0);
    /* An empty feed between the CR and the LF changes nothing. */
    feeds f3 = {{"data: a\r", "", "\n", "data: b\n\n"}, "\t0\ta\\nb\n"};
    run_feeds(&f3, 0);
}

static void test_comments_and_fields(void **state)
{
    (void)state;
    feeds f = {{": keep-alive\n\n:\n", "id: 7\nretry: 10\nfoo: bar\ndata: x\n: mid\n", "\n"},
               "\t0\tx\n"};
    run_feeds(&f, 0);
    /* No space after the colon, two spaces (one kept), no colon at all. */
    feeds f2 = {{"data:a\ndata:  b\ndata\n\n"}, "\t0\ta\\n b\\n\n"};
    run_feeds(&f2, 0);
    /* Field names are case-sensitive; "Data" is unknown. */
    feeds f3 = {{"Data: x\n\ndata: y\n\n"}, "\t0\ty\n"};
    run_feeds(&f3, 0);
}

static void test_multiline_data(void **state)
{
    (void)state;
    feeds f = {{"data: {\"a\":\ndata:  1}\n\n"}, "\t0\t{\"a\":\\n 1}\n"};
    run_feeds(&f, 0);
    feeds f2 = {{"data: one\n", "data: two\ndata: thr", "ee\n\n"}, "\t0\tone\\ntwo\\nthree\n"};
    run_feeds(&f2, 0);
}

static void test_event_type(void **state)
{
    (void)state;
    /* Last event: wins; the type is forgotten after each dispatch and after a dataless event. */
    feeds f = {{"event: a\nevent: bb\ndata: 1\n\ndata: 2\n\nevent: c\n\ndata: 3\n\n"},
               "bb\t0\t1\n\t0\t2\n\t0\t3\n"};
    run_feeds(&f, 0);
    /* A type that spans feeds and a type set after the data. */
    feeds f2 = {{"data: 1\neve", "nt: lo", "ng\n", "\n"}, "long\t0\t1\n"};
    run_feeds(&f2, 0);
    /* An empty event: value means no type. */
    feeds f3 = {{"event: x\nevent:\ndata: 1\n\n"}, "\t0\t1\n"};
    run_feeds(&f3, 0);
}

/* A type held at the end of carry moves with it when a later, longer line makes carry grow. */
static void test_type_survives_carry_growth(void **state)
{
    (void)state;
    char line[1000 + 7], want[1000 + 16];
    memcpy(line, "data: ", 6);
    memset(line + 6, 'x', 1000);
    line[1006] = '\0';
    snprintf(want, sizeof want, "ty\t0\t%s\n", line + 6);
    feeds f = {{"event: ty\n", line, "\n\n"}, want};
    run_feeds(&f, 0);
    feeds f2 = {{"event: ty\ndata: a\n", line, "\n\n"}, NULL};
    char want2[1000 + 20];
    snprintf(want2, sizeof want2, "ty\t0\ta\\n%s\n", line + 6);
    f2.want = want2;
    run_feeds(&f2, 0);
}

static void test_empty_and_dataless_events(void **state)
{
    (void)state;
    feeds f = {{"data:\n\n", "event: only\n\n", "\n\n\n", "data\n\n"}, "\t0\t\n\t0\t\n"};
    run_feeds(&f, 0);
}

static void test_done_is_exact(void **state)
{
    (void)state;
    feeds f = {{"data: [DONE] \n\ndata: [DONE]x\n\ndata:[DONE]\n\n"},
               "\t0\t[DONE] \n\t0\t[DONE]x\n\t1\t[DONE]\n"};
    run_feeds(&f, 0);
}

/* The non-standard `error:` field: its value is data, the event is flagged and dispatched even with
 * no data line, never counts as [DONE], and the flag does not outlive its event. */
static void test_error_field(void **state)
{
    (void)state;
    feeds f = {{"error: {\"message\":\"boom\"}\n\ndata: x\n\n"}, "\tE\t{\"message\":\"boom\"}\n\t0\tx\n"};
    run_feeds(&f, 0);
    feeds f2 = {{"err", "or: [DONE]\n", "\n", "event: error\ndata: plain\n\n"}, "\tE\t[DONE]\nerror\t0\tplain\n"};
    run_feeds(&f2, 0);
    feeds f3 = {{"data: a\nerror:b\n\nerrors: c\n\n"}, "\tE\ta\\nb\n"};
    run_feeds(&f3, 0);
}

static void test_bom(void **state)
{
    (void)state;
    feeds f = {{"\xEF\xBB\xBF" "data: a\n\n"}, "\t0\ta\n"};
    run_feeds(&f, 0);
    feeds f2 = {{"\xEF", "\xBB", "\xBF" "data: a\n\n"}, "\t0\ta\n"};
    run_feeds(&f2, 0);
    /* Only at stream start: a second BOM is part of the field name ("\xEF\xBB\xBFdata"). */
    feeds f3 = {{"\xEF\xBB\xBF", "\xEF\xBB\xBF" "data: a\n\ndata: b\n\n"}, "\t0\tb\n"};
    run_feeds(&f3, 0);
    /* A BOM prefix that turns out not to be one stays part of the first line. */
    feeds f4 = {{"\xEF\xBB", "data: a\n\ndata: b\n\n"}, "\t0\tb\n"};
    run_feeds(&f4, 0);
    feeds f5 = {{"\xEF", ": comment\n\ndata: c\n\n"}, "\t0\tc\n"};
    run_feeds(&f5, 0);
}

static void test_oversize(void **state)
{
    (void)state;
    char big[200];
    memset(big, 'x', sizeof big);
    memcpy(big, "data: ", 6);
    sse_parser p;
    sse_init(&p, 64);
    /* Whole line in one feed. */
    assert_int_equal(sse_feed(&p, big, sizeof big, NULL, NULL), LL_EOVERSIZE);
    assert_int_equal(sse_pending(&p), 0);
    assert_true(p.carry_cap <= 64);
    /* Byte by byte: the carried tail line hits the limit. */
    sse_reset(&p);
    int rc = 0;
    size_t i;
    for (i = 0; i < sizeof big && rc == 0; i++)
        rc = sse_feed(&p, big + i, 1, NULL, NULL);
    assert_int_equal(rc, LL_EOVERSIZE);
    assert_true(i <= 66);
    assert_true(p.carry_cap <= 64);
    /* Many short lines of one event add up past the limit too. */
    sse_reset(&p);
    const char *lines = "data: 0123456789\ndata: 0123456789\ndata: 0123456789\ndata: 0123456789\n";
    assert_int_equal(sse_feed(&p, lines, strlen(lines), NULL, NULL), LL_EOVERSIZE);
    /* The parser was reset: the next stream parses, and an event at the limit passes. */
    sse_reset(&p);
    char ok[64 + 2];
    memset(ok, 'y', sizeof ok);
    memcpy(ok, "data: ", 6);
    ok[63] = '\n';
    ok[64] = '\n';
    collect c = {0};
    c.p = &p;
    c.buf = ok;
    c.buf_len = 65;
    assert_int_equal(sse_feed(&p, ok, 65, collect_cb, &c), 0);
    assert_int_equal(c.seen, 1);
    /* And byte by byte the same event fits in the carry without passing max_event. */
    sse_reset(&p);
    c.seen = 0;
    for (i = 0; i < 65; i++) {
        c.buf = ok + i;
        c.buf_len = 1;
        assert_int_equal(sse_feed(&p, ok + i, 1, collect_cb, &c), 0);
    }
    assert_int_equal(c.seen, 1);
    assert_true(p.carry_cap <= 64);
    free(c.out);
    sse_free(&p);
}

/* Reused after sse_reset, a parser that has seen its largest event allocates nothing new. */
static void test_reuse_allocates_nothing(void **state)
{
    (void)state;
    fixture fx;
    fixture_load(&fx, "llamacpp_chat");
    guard g;
    guard_init(&g, 1);
    sse_parser p;
    sse_init(&p, 0);
    collect c = {0};
    size_t *cuts = malloc(fx.in_len * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t k = 1; k < fx.in_len; k++)
        cuts[k - 1] = k;
    run_cuts(&p, &c, &g, &fx, cuts, fx.in_len - 1, "llamacpp_chat");
    char *carry = p.carry;
    size_t cap = p.carry_cap;
    assert_non_null(carry);
    assert_true(cap >= 256);
    run_cuts(&p, &c, &g, &fx, cuts, fx.in_len - 1, "llamacpp_chat"); /* resets first */
    assert_ptr_equal(p.carry, carry);
    assert_int_equal(p.carry_cap, cap);
    free(cuts);
    sse_free(&p);
    assert_null(p.carry);
    free(c.out);
    guard_free(&g);
    fixture_free(&fx);
}

static void test_callback_stop_value(void **state)
{
    (void)state;
    const char *s = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    sse_parser p;
    sse_init(&p, 0);
    collect c = {0};
    c.p = &p;
    c.buf = s;
    c.buf_len = strlen(s);
    c.stop_at = 2;
    assert_int_equal(sse_feed(&p, s, strlen(s), collect_cb, &c), 99);
    assert_int_equal(c.seen, 2);
    assert_int_equal(p.events, 2);
    assert_int_equal(sse_pending(&p), 0);
    /* The parser stays usable: a new stream after reset parses normally. */
    sse_reset(&p);
    c.stop_at = 0;
    assert_int_equal(sse_feed(&p, s, strlen(s), collect_cb, &c), 0);
    assert_int_equal(c.seen, 5);
    free(c.out);
    sse_free(&p);
}

static void test_pending_when_cut_short(void **state)
{
    (void)state;
    sse_parser p;
    sse_init(&p, 0);
    assert_int_equal(sse_feed(&p, "data: abc\n", 10, NULL, NULL), 0);
    assert_int_equal(sse_pending(&p), 3);
    assert_int_equal(sse_feed(&p, "data: de", 8, NULL, NULL), 0);
    assert_int_equal(sse_pending(&p), 3 + 8);
    assert_int_equal(sse_feed(&p, "\n\n", 2, NULL, NULL), 0);
    assert_int_equal(sse_pending(&p), 0);
    assert_int_equal(p.events, 1);
    sse_reset(&p);
    assert_int_equal(sse_pending(&p), 0);
    assert_int_equal(p.events, 0);
    sse_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_whole),
        cmocka_unit_test(test_whole_feed_is_zero_copy),
        cmocka_unit_test(test_fixtures_bytewise),
        cmocka_unit_test(test_fixtures_every_split),
        cmocka_unit_test(test_fixtures_every_split3),
        cmocka_unit_test(test_crlf_split_across_feeds),
        cmocka_unit_test(test_comments_and_fields),
        cmocka_unit_test(test_multiline_data),
        cmocka_unit_test(test_event_type),
        cmocka_unit_test(test_type_survives_carry_growth),
        cmocka_unit_test(test_empty_and_dataless_events),
        cmocka_unit_test(test_done_is_exact),
        cmocka_unit_test(test_error_field),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_reuse_allocates_nothing),
        cmocka_unit_test(test_callback_stop_value),
        cmocka_unit_test(test_pending_when_cut_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
