/* Unit tests for the simulator's engine model, driven by a fake clock: exact emission times, the
 * step clock, queueing past max-num-seqs, KV-cache blocking, step growth with itl-ms-per-seq. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/sim_engine.h"

#define MS 1000000ULL
#define MAX_EV 4096

typedef struct emission {
    sim_engine_seq *seq;
    uint64_t at;
    uint32_t tokens;
    int finished;
} emission;

typedef struct recorder {
    emission ev[MAX_EV];
    int n;
} recorder;

static void record(void *ud, sim_engine_seq *seq, uint64_t at, uint32_t tokens, int finished)
{
    recorder *r = ud;
    assert_true(r->n < MAX_EV);
    r->ev[r->n++] = (emission){seq, at, tokens, finished};
}

/* Steps the fake clock from deadline to deadline until nothing is scheduled (bounded). */
static void run_all(sim_engine *e, recorder *r)
{
    for (int i = 0; i < 100000; i++) {
        uint64_t d = sim_engine_next_deadline(e);
        if (d == UINT64_MAX)
            return;
        sim_engine_advance(e, d, record, r);
    }
    fail_msg("engine did not go idle");
}

static sim_engine *make(uint32_t seqs, uint64_t kv, uint64_t ttft, uint64_t itl, uint64_t per_seq)
{
    sim_engine_config c = {.max_num_seqs = seqs, .kv_cache_tokens = kv, .ttft_ns = ttft, .itl_ns = itl,
                           .itl_ns_per_seq = per_seq, .tokens_per_event = 1};
    sim_engine *e = NULL;
    assert_int_equal(sim_engine_create(&c, &e), 0);
    return e;
}

static void seq_init(sim_engine_seq *s, uint64_t prompt, uint64_t out)
{
    memset(s, 0, sizeof *s);
    s->prompt_tokens = prompt;
    s->output_tokens = out;
}

static recorder rec;

static int reset(void **state)
{
    (void)state;
    memset(&rec, 0, sizeof rec);
    return 0;
}

static void test_create_rejects_zero(void **state)
{
    (void)state;
    sim_engine_config c = {.max_num_seqs = 0, .kv_cache_tokens = 1, .tokens_per_event = 1};
    sim_engine *e = NULL;
    assert_int_equal(sim_engine_create(&c, &e), LL_EINVAL);
    c.max_num_seqs = 1;
    c.tokens_per_event = 0;
    assert_int_equal(sim_engine_create(&c, &e), LL_EINVAL);
    sim_engine_destroy(NULL);
}

static void test_lone_stream_exact_times(void **state)
{
    (void)state;
    sim_engine *e = make(4, 1000, 50 * MS, 10 * MS, 0);
    sim_engine_seq s;
    seq_init(&s, 7, 5);
    assert_int_equal(sim_engine_submit(e, &s, 1000 * MS), 0);
    assert_int_equal(sim_engine_running(e), 1);
    assert_int_equal(sim_engine_kv_used(e), 12);
    assert_int_equal(sim_engine_next_deadline(e), 1050 * MS);
    run_all(e, &rec);
    assert_int_equal(rec.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(rec.ev[i].at, 1050 * MS + (uint64_t)i * 10 * MS);
        assert_int_equal(rec.ev[i].tokens, 1);
        assert_int_equal(rec.ev[i].finished, i == 4);
    }
    assert_int_equal(sim_engine_running(e), 0);
    assert_int_equal(sim_engine_kv_used(e), 0);
    assert_int_equal(sim_engine_next_deadline(e), UINT64_MAX);
    sim_engine_destroy(e);
}

static void test_late_advance_keeps_schedule(void **state)
{
    (void)state;
    sim_engine *e = make(4, 1000, 50 * MS, 10 * MS, 0);
    sim_engine_seq s;
    seq_init(&s, 1, 4);
    assert_int_equal(sim_engine_submit(e, &s, 0), 0);
    /* One wake-up far too late: every emission still carries its scheduled time. */
    sim_engine_advance(e, 500 * MS, record, &rec);
    assert_int_equal(rec.n, 4);
    assert_int_equal(rec.ev[0].at, 50 * MS);
    assert_int_equal(rec.ev[3].at, 80 * MS);
    sim_engine_destroy(e);
}

static void test_prefill_per_1k(void **state)
{
    (void)state;
    sim_engine_config c = {.max_num_seqs = 4, .kv_cache_tokens = 100000, .ttft_ns = 20 * MS,
                           .prefill_ns_per_1k = 8 * MS, .itl_ns = 5 * MS, .tokens_per_event = 1};
    sim_engine *e = NULL;
    assert_int_equal(sim_engine_create(&c, &e), 0);
    sim_engine_seq s;
    seq_init(&s, 2500, 1);
    assert_int_equal(sim_engine_submit(e, &s, 0), 0);
    assert_int_equal(sim_engine_next_deadline(e), 40 * MS);   /* 20 + 8 * 2.5 */
    run_all(e, &rec);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.ev[0].finished, 1);
    sim_engine_destroy(e);
}

static void test_join_running_clock_at_next_boundary(void **state)
{
    (void)state;
    sim_engine *e = make(4, 1000, 50 * MS, 10 * MS, 0);
    sim_engine_seq a, b;
    seq_init(&a, 1, 10);
    seq_init(&b, 1, 2);
    assert_int_equal(sim_engine_submit(e, &a, 0), 0);      /* first token 50, steps 60, 70, ... */
    assert_int_equal(sim_engine_submit(e, &b, 13 * MS), 0); /* first token 63, joins: next at 70 */
    run_all(e, &rec);
    uint64_t b_times[2];
    int nb = 0;
    for (int i = 0; i < rec.n; i++)
        if (rec.ev[i].seq == &b)
            b_times[nb++] = rec.ev[i].at;
    assert_int_equal(nb, 2);
    assert_int_equal(b_times[0], 63 * MS);
    assert_int_equal(b_times[1], 70 * MS);
    /* a is untouched by b joining: tokens at 50, 60, ..., 140. */
    int na = 0;
    for (int i = 0; i < rec.n; i++)
        if (rec.ev[i].seq == &a)
            assert_int_equal(rec.ev[i].at, 50 * MS + (uint64_t)na++ * 10 * MS);
    assert_int_equal(na, 10);
    sim_engine_destroy(e);
}

static void test_first_token_on_boundary_not_doubled(void **state)
{
    (void)state;
    sim_engine *e = make(4, 1000, 50 * MS, 10 * MS, 0);
    sim_engine_seq a, b;
    seq_init(&a, 1, 5);
    seq_init(&b, 1, 3);
    assert_int_equal(sim_engine_submit(e, &a, 0), 0);       /* 50, 60, 70, ... */
    assert_int_equal(sim_engine_submit(e, &b, 20 * MS), 0); /* first token exactly at 70 */
    run_all(e, &rec);
    uint64_t bt[3];
    int nb = 0;
    for (int i = 0; i < rec.n; i++)
        if (rec.ev[i].seq == &b)
            bt[nb++] = rec.ev[i].at;
    assert_int_equal(nb, 3);
    assert_int_equal(bt[0], 70 * MS);
    assert_int_equal(bt[1], 80 * MS);
    assert_int_equal(bt[2], 90 * MS);
    sim_engine_destroy(e);
}

static void test_queue_past_max_num_seqs(void **state)
{
    (void)state;
    sim_engine *e = make(2, 100000, 50 * MS, 10 * MS, 0);
    sim_engine_seq s[3];
    for (int i = 0; i < 3; i++) {
        seq_init(&s[i], 1, 3);
        assert_int_equal(sim_engine_submit(e, &s[i], 0), 0);
    }
    assert_int_equal(sim_engine_running(e), 2);
    assert_int_equal(sim_engine_waiting(e), 1);
    /* s0, s1 emit at 50, 60, 70 and finish at 70; s2 is admitted at 70, first token at 120. */
    sim_engine_advance(e, 69 * MS, record, &rec);
    assert_int_equal(sim_engine_waiting(e), 1);
    run_all(e, &rec);
    uint64_t first_s2 = 0;
    for (int i = 0; i < rec.n; i++)
        if (rec.ev[i].seq == &s[2] && first_s2 == 0)
            first_s2 = rec.ev[i].at;
    assert_int_equal(first_s2, 120 * MS);
    assert_int_equal(sim_engine_waiting(e), 0);
    assert_int_equal(sim_engine_running(e), 0);
    sim_engine_destroy(e);
}

static void test_kv_cache_blocks(void **state)
{
    (void)state;
    sim_engine *e = make(16, 100, 10 * MS, 10 * MS, 0);
    sim_engine_seq a, b, c;
    seq_init(&a, 40, 20);   /* 60 tokens */
    seq_init(&b, 30, 20);   /* 50: does not fit beside a */
    seq_init(&c, 10, 10);   /* 20: would fit, but waits behind b (FIFO) */
    assert_int_equal(sim_engine_submit(e, &a, 0), 0);
    assert_int_equal(sim_engine_submit(e, &b, 0), 0);
    assert_int_equal(sim_engine_submit(e, &c, 0), 0);
    assert_int_equal(sim_engine_running(e), 1);
    assert_int_equal(sim_engine_waiting(e), 2);
    assert_int_equal(sim_engine_kv_used(e), 60);
    run_all(e, &rec);
    /* a: first token 10, last (20th) at 200; then b and c (50 + 20 <= 100) are admitted at 200. */
    uint64_t first_b = 0, first_c = 0;
    for (int i = 0; i < rec.n; i++) {
        if (rec.ev[i].seq == &b && !first_b)
            first_b = rec.ev[i].at;
        if (rec.ev[i].seq == &c && !first_c)
            first_c = rec.ev[i].at;
    }
    assert_int_equal(first_b, 210 * MS);
    assert_int_equal(first_c, 210 * MS);
    assert_int_equal(sim_engine_kv_used(e), 0);
    sim_engine_seq huge;
    seq_init(&huge, 90, 20);
    assert_int_equal(sim_engine_submit(e, &huge, 0), LL_ERANGE);
    sim_engine_destroy(e);
}

static void test_step_grows_with_running(void **state)
{
    (void)state;
    sim_engine *e = make(8, 100000, 50 * MS, 10 * MS, 2 * MS);
    sim_engine_seq s[3];
    for (int i = 0; i < 3; i++) {
        seq_init(&s[i], 1, 4);
        assert_int_equal(sim_engine_submit(e, &s[i], 0), 0);
    }
    assert_int_equal(sim_engine_step_ns(e, 3), 16 * MS);
    run_all(e, &rec);
    /* All three get their first token at 50; steps with 3 running last 16 ms. */
    int n0 = 0;
    for (int i = 0; i < rec.n; i++)
        if (rec.ev[i].seq == &s[0])
            assert_int_equal(rec.ev[i].at, 50 * MS + (uint64_t)n0++ * 16 * MS);
    assert_int_equal(n0, 4);
    sim_engine_destroy(e);
}

static void test_cancel_frees_and_admits(void **state)
{
    (void)state;
    sim_engine *e = make(1, 1000, 50 * MS, 10 * MS, 0);
    sim_engine_seq a, b, idle;
    seq_init(&a, 1, 100);
    seq_init(&b, 1, 1);
    seq_init(&idle, 1, 1);
    assert_int_equal(sim_engine_submit(e, &a, 0), 0);
    assert_int_equal(sim_engine_submit(e, &b, 0), 0);
    assert_int_equal(sim_engine_submit(e, &a, 0), LL_EINVAL);   /* already submitted */
    sim_engine_advance(e, 75 * MS, record, &rec);               /* a: 50, 60, 70 */
    assert_int_equal(rec.n, 3);
    sim_engine_cancel(e, &a, 75 * MS);
    sim_engine_cancel(e, &idle, 75 * MS);                      /* no-op */
    assert_int_equal(sim_engine_running(e), 1);
    assert_int_equal(sim_engine_next_deadline(e), 125 * MS);
    run_all(e, &rec);
    assert_int_equal(rec.n, 4);
    assert_ptr_equal(rec.ev[3].seq, &b);
    assert_int_equal(rec.ev[3].finished, 1);
    /* Cancelling a waiting seq leaves the running one alone. */
    sim_engine_seq c, d;
    seq_init(&c, 1, 5);
    seq_init(&d, 1, 5);
    assert_int_equal(sim_engine_submit(e, &c, 200 * MS), 0);
    assert_int_equal(sim_engine_submit(e, &d, 200 * MS), 0);
    sim_engine_cancel(e, &d, 200 * MS);
    assert_int_equal(sim_engine_waiting(e), 0);
    assert_int_equal(sim_engine_running(e), 1);
    sim_engine_cancel(e, &c, 210 * MS);   /* cancel during prefill */
    assert_int_equal(sim_engine_running(e), 0);
    assert_int_equal(sim_engine_kv_used(e), 0);
    assert_int_equal(sim_engine_next_deadline(e), UINT64_MAX);
    sim_engine_destroy(e);
}

static void test_tokens_per_event(void **state)
{
    (void)state;
    sim_engine_config c = {.max_num_seqs = 4, .kv_cache_tokens = 1000, .ttft_ns = 50 * MS, .itl_ns = 10 * MS,
                           .tokens_per_event = 3};
    sim_engine *e = NULL;
    assert_int_equal(sim_engine_create(&c, &e), 0);
    sim_engine_seq s;
    seq_init(&s, 1, 7);
    assert_int_equal(sim_engine_submit(e, &s, 0), 0);
    run_all(e, &rec);
    assert_int_equal(rec.n, 3);
    assert_int_equal(rec.ev[0].tokens, 3);
    assert_int_equal(rec.ev[1].tokens, 3);
    assert_int_equal(rec.ev[2].tokens, 1);
    assert_int_equal(rec.ev[2].at, 70 * MS);
    sim_engine_destroy(e);
}

/* --preemption: KV grows a token per emitted token; the step that would pass the budget first
 * preempts the youngest running seq, which is re-prefilled (prompt + tokens made) on readmission. */
static void test_preempt_youngest_recompute(void **state)
{
    (void)state;
    sim_engine_config c = {.max_num_seqs = 4, .kv_cache_tokens = 30, .ttft_ns = 10 * MS,
                           .prefill_ns_per_1k = 1000 * MS, .itl_ns = 10 * MS, .tokens_per_event = 1,
                           .preempt = 1};
    sim_engine *e = NULL;
    assert_int_equal(sim_engine_create(&c, &e), 0);
    sim_engine_seq a, b;
    seq_init(&a, 10, 10);
    seq_init(&b, 10, 10);
    assert_int_equal(sim_engine_submit(e, &a, 0), 0);
    assert_int_equal(sim_engine_submit(e, &b, 0), 0);
    assert_int_equal(sim_engine_running(e), 2);        /* 11 + 11 <= 30: prompt and first token */
    assert_int_equal(sim_engine_kv_used(e), 22);
    /* First tokens at 20 (10 + 10 prompt tokens at 1 ms); steps at 30..60 grow kv to 30. */
    sim_engine_advance(e, 60 * MS, record, &rec);
    assert_int_equal(sim_engine_kv_used(e), 30);
    assert_int_equal(sim_engine_preemptions(e), 0);
    /* The step at 70 needs 2 more: b (admitted last) goes back to the front of the queue. */
    sim_engine_advance(e, 70 * MS, record, &rec);
    assert_int_equal(sim_engine_preemptions(e), 1);
    assert_int_equal(b.preemptions, 1);
    assert_int_equal(a.preemptions, 0);
    assert_int_equal(sim_engine_running(e), 1);
    assert_int_equal(sim_engine_waiting(e), 1);
    assert_int_equal(sim_engine_kv_used(e), 16);
    run_all(e, &rec);
    /* a ends at 110; b is readmitted then and recomputes its 10 + 5 tokens: next emission at 135,
     * then one per 10 ms step until its tenth token at 175. */
    uint64_t b_after = 0, b_last = 0, b_tokens = 0;
    for (int i = 0; i < rec.n; i++) {
        if (rec.ev[i].seq != &b)
            continue;
        b_tokens += rec.ev[i].tokens;
        if (rec.ev[i].at > 70 * MS && !b_after)
            b_after = rec.ev[i].at;
        if (rec.ev[i].finished)
            b_last = rec.ev[i].at;
    }
    assert_int_equal(b_after, 135 * MS);
    assert_int_equal(b_last, 175 * MS);
    assert_int_equal(b_tokens, 10);
    assert_int_equal(sim_engine_kv_used(e), 0);
    sim_engine_destroy(e);
}

/* Without --preemption the same load never preempts: admission reserves prompt+output. */
static void test_no_preempt_by_default(void **state)
{
    (void)state;
    sim_engine *e = make(4, 30, 10 * MS, 10 * MS, 0);
    sim_engine_seq a, b;
    seq_init(&a, 10, 10);
    seq_init(&b, 10, 10);
    assert_int_equal(sim_engine_submit(e, &a, 0), 0);
    assert_int_equal(sim_engine_submit(e, &b, 0), 0);
    assert_int_equal(sim_engine_running(e), 1);
    run_all(e, &rec);
    assert_int_equal(sim_engine_preemptions(e), 0);
    sim_engine_destroy(e);
}

/* Cached prompt tokens (the prefix cache's hit) skip their share of the prefill. */
static void test_cached_tokens_skip_prefill(void **state)
{
    (void)state;
    sim_engine_config c = {.max_num_seqs = 4, .kv_cache_tokens = 1000, .ttft_ns = 10 * MS,
                           .prefill_ns_per_1k = 1000 * MS, .itl_ns = 10 * MS, .tokens_per_event = 1};
    sim_engine *e = NULL;
    assert_int_equal(sim_engine_create(&c, &e), 0);
    sim_engine_seq a, b;
    seq_init(&a, 100, 1);
    seq_init(&b, 100, 1);
    b.cached_tokens = 64;
    assert_int_equal(sim_engine_submit(e, &a, 0), 0);
    assert_int_equal(sim_engine_submit(e, &b, 0), 0);
    run_all(e, &rec);
    assert_int_equal(rec.n, 2);
    assert_ptr_equal(rec.ev[0].seq, &b);
    assert_int_equal(rec.ev[0].at, 46 * MS);   /* 10 + (100 - 64) * 1 ms */
    assert_int_equal(rec.ev[1].at, 110 * MS);  /* 10 + 100 * 1 ms */
    sim_engine_destroy(e);
}

static void test_clock_restarts_after_idle(void **state)
{
    (void)state;
    sim_engine *e = make(4, 1000, 50 * MS, 10 * MS, 0);
    sim_engine_seq a, b;
    seq_init(&a, 1, 2);
    seq_init(&b, 1, 3);
    assert_int_equal(sim_engine_submit(e, &a, 0), 0);   /* 50, 60 then idle */
    run_all(e, &rec);
    assert_int_equal(sim_engine_submit(e, &b, 1003 * MS), 0);
    run_all(e, &rec);
    assert_int_equal(rec.n, 5);
    assert_int_equal(rec.ev[2].at, 1053 * MS);
    assert_int_equal(rec.ev[3].at, 1063 * MS);
    assert_int_equal(rec.ev[4].at, 1073 * MS);
    sim_engine_destroy(e);
}

/* Several models in one batch: each sequence gets its model's prefill time and decodes on its
 * model's own step clock, while they share the slots (and the step growth per running sequence). */
static void test_models_own_timings(void **state)
{
    (void)state;
    const sim_engine_timing t[2] = {{10 * MS, 2 * MS}, {40 * MS, 7 * MS}};
    sim_engine_config c = {.max_num_seqs = 4, .kv_cache_tokens = 100000, .ttft_ns = 99 * MS, .itl_ns = 99 * MS,
                           .tokens_per_event = 1, .models = t, .n_models = 2};
    sim_engine *e = NULL;
    assert_int_equal(sim_engine_create(&c, &e), 0);
    sim_engine_seq a, b, bad;
    seq_init(&a, 10, 5);
    seq_init(&b, 10, 5);
    seq_init(&bad, 10, 5);
    b.model = 1;
    bad.model = 2;
    assert_int_equal(sim_engine_submit(e, &bad, 0), LL_EINVAL); /* no third model */
    assert_int_equal(sim_engine_submit(e, &a, 0), 0);
    assert_int_equal(sim_engine_submit(e, &b, 0), 0);
    assert_int_equal(sim_engine_running(e), 2);
    run_all(e, &rec);
    uint64_t last_a = 0, last_b = 0;
    int na = 0, nb = 0;
    for (int i = 0; i < rec.n; i++) {
        emission *ev = &rec.ev[i];
        if (ev->seq == &a) {
            assert_int_equal(ev->at, 10 * MS + (uint64_t)na * 2 * MS); /* first at its TTFT, then every 2 ms */
            last_a = ev->at;
            na++;
        } else {
            assert_int_equal(ev->at, 40 * MS + (uint64_t)nb * 7 * MS);
            last_b = ev->at;
            nb++;
        }
    }
    assert_int_equal(na, 5);
    assert_int_equal(nb, 5);
    assert_int_equal(last_a, 18 * MS);
    assert_int_equal(last_b, 68 * MS);
    assert_int_equal(sim_engine_running(e), 0);
    /* A cancelled decoding sequence of one model leaves the other's clock alone. */
    memset(&rec, 0, sizeof rec);
    seq_init(&a, 10, 50);
    seq_init(&b, 10, 5);
    b.model = 1;
    assert_int_equal(sim_engine_submit(e, &a, 100 * MS), 0);
    assert_int_equal(sim_engine_submit(e, &b, 100 * MS), 0);
    sim_engine_advance(e, 115 * MS, record, &rec);
    sim_engine_cancel(e, &a, 115 * MS);
    assert_int_equal(sim_engine_running(e), 1);
    run_all(e, &rec);
    for (int i = 0; i < rec.n; i++)
        if (rec.ev[i].seq == &b)
            assert_int_equal((rec.ev[i].at - 140 * MS) % (7 * MS), 0);
    assert_int_equal(sim_engine_running(e), 0);
    sim_engine_destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_create_rejects_zero, reset),
        cmocka_unit_test_setup(test_lone_stream_exact_times, reset),
        cmocka_unit_test_setup(test_late_advance_keeps_schedule, reset),
        cmocka_unit_test_setup(test_prefill_per_1k, reset),
        cmocka_unit_test_setup(test_join_running_clock_at_next_boundary, reset),
        cmocka_unit_test_setup(test_first_token_on_boundary_not_doubled, reset),
        cmocka_unit_test_setup(test_queue_past_max_num_seqs, reset),
        cmocka_unit_test_setup(test_kv_cache_blocks, reset),
        cmocka_unit_test_setup(test_step_grows_with_running, reset),
        cmocka_unit_test_setup(test_cancel_frees_and_admits, reset),
        cmocka_unit_test_setup(test_tokens_per_event, reset),
        cmocka_unit_test_setup(test_clock_restarts_after_idle, reset),
        cmocka_unit_test_setup(test_preempt_youngest_recompute, reset),
        cmocka_unit_test_setup(test_no_preempt_by_default, reset),
        cmocka_unit_test_setup(test_cached_tokens_skip_prefill, reset),
        cmocka_unit_test_setup(test_models_own_timings, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
