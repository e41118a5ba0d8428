/*
 * sim_engine.c - the simulator's engine model (see include/llmload/sim_engine.h, docs/simulator.md).
 * Sits under the server: requests are submitted here and the server writes what advance() emits.
 * Waiting requests form a FIFO (head-of-line: a big request at the head blocks smaller ones behind
 * it, as vLLM's FCFS scheduler does); prefilling ones sit in a min-heap keyed on first-token time;
 * decoding ones share one step clock per model (one clock unless several models have their own
 * timings; docs/simulator.md "Several models"). Invariant: running == prefill heap size + decode list size <=
 * max_num_seqs, and kv_used is the sum of kv_held over exactly those sequences (prompt+output each
 * without preemption; prompt + tokens made so far with it, never above kv_cache_tokens).
 */
#include "llmload/sim_engine.h"

#include <stdlib.h>

#include "llmload/error.h"

typedef struct seq_list {
    sim_engine_seq *head, *tail;
    uint32_t count;
} seq_list;

struct sim_engine {
    sim_engine_config cfg;
    seq_list waiting;
    seq_list decode[SIM_ENGINE_MAX_MODELS];        /* per model: its decoding seqs */
    uint64_t step_next[SIM_ENGINE_MAX_MODELS];     /* per model: its next step boundary */
    sim_engine_timing timing[SIM_ENGINE_MAX_MODELS];
    uint32_t n_models;                             /* >= 1 */
    uint32_t n_decode;                             /* over every model's list */
    sim_engine_seq **heap;   /* prefill heap; capacity max_num_seqs */
    uint32_t heap_len;
    uint64_t kv_used;
    uint64_t next_ticket;
    uint64_t next_admit;
    uint64_t preemptions;
};

static void list_push(seq_list *l, sim_engine_seq *s)
{
    s->next = NULL;
    s->prev = l->tail;
    if (l->tail)
        l->tail->next = s;
    else
        l->head = s;
    l->tail = s;
    l->count++;
}

static void list_unlink(seq_list *l, sim_engine_seq *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        l->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->tail = s->prev;
    s->prev = s->next = NULL;
    l->count--;
}

static int heap_less(const sim_engine_seq *a, const sim_engine_seq *b)
{
    if (a->first_token_ns != b->first_token_ns)
        return a->first_token_ns < b->first_token_ns;
    return a->ticket < b->ticket;
}

static void heap_set(sim_engine *e, uint32_t i, sim_engine_seq *s)
{
    e->heap[i] = s;
    s->heap_index = i;
}

static void heap_up(sim_engine *e, uint32_t i)
{
    sim_engine_seq *s = e->heap[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!heap_less(s, e->heap[p]))
            break;
        heap_set(e, i, e->heap[p]);
        i = p;
    }
    heap_set(e, i, s);
}

static void heap_down(sim_engine *e, uint32_t i)
{
    sim_engine_seq *s = e->heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= e->heap_len)
            break;
        if (c + 1 < e->heap_len && heap_less(e->heap[c + 1], e->heap[c]))
            c++;
        if (!heap_less(e->heap[c], s))
            break;
        heap_set(e, i, e->heap[c]);
        i = c;
    }
    heap_set(e, i, s);
}

static void heap_remove(sim_engine *e, sim_engine_seq *s)
{
    uint32_t i = s->heap_index;
    sim_engine_seq *last = e->heap[--e->heap_len];
    if (i == e->heap_len)
        return;
    heap_set(e, i, last);
    heap_down(e, i);
    heap_up(e, last->heap_index);
}

static uint64_t need_of(const sim_engine_seq *s)
{
    return s->prompt_tokens + s->output_tokens;
}

/* Tokens the next emission of s carries. */
static uint32_t next_take(const sim_engine *e, const sim_engine_seq *s)
{
    uint64_t left = s->output_tokens - s->emitted;
    return left < e->cfg.tokens_per_event ? (uint32_t)left : e->cfg.tokens_per_event;
}

/* KV a waiting seq needs to be admitted: its whole reservation, or (preempt) what its prefill makes:
 * the prompt, the tokens it made before a preemption and the emission the prefill ends with. */
static uint64_t admit_need(const sim_engine *e, const sim_engine_seq *s)
{
    return e->cfg.preempt ? s->prompt_tokens + s->emitted + next_take(e, s) : need_of(s);
}

uint64_t sim_engine_preemptions(const sim_engine *e)
{
    return e->preemptions;
}

uint32_t sim_engine_running(const sim_engine *e)
{
    return e->heap_len + e->n_decode;
}

uint32_t sim_engine_waiting(const sim_engine *e)
{
    return e->waiting.count;
}

uint64_t sim_engine_kv_used(const sim_engine *e)
{
    return e->kv_used;
}

uint64_t sim_engine_step_ns(const sim_engine *e, uint32_t running)
{
    return e->cfg.itl_ns + e->cfg.itl_ns_per_seq * running;
}

/* Model m's step with `running` sequences in the batch. */
static uint64_t step_ns_of(const sim_engine *e, uint32_t m, uint32_t running)
{
    return e->timing[m].itl_ns + e->cfg.itl_ns_per_seq * running;
}

static void decode_push(sim_engine *e, sim_engine_seq *s)
{
    list_push(&e->decode[s->model], s);
    e->n_decode++;
}

static void decode_unlink(sim_engine *e, sim_engine_seq *s)
{
    list_unlink(&e->decode[s->model], s);
    e->n_decode--;
}

/* Admits waiting sequences in FIFO order while a slot and KV budget are free; prefill starts at t. */
static void admit(sim_engine *e, uint64_t t)
{
    while (e->waiting.head && sim_engine_running(e) < e->cfg.max_num_seqs &&
           e->kv_used + admit_need(e, e->waiting.head) <= e->cfg.kv_cache_tokens) {
        sim_engine_seq *s = e->waiting.head;
        list_unlink(&e->waiting, s);
        s->kv_held = admit_need(e, s);
        e->kv_used += s->kv_held;
        s->state = SIM_SEQ_PREFILL;
        s->admitted_ns = t;
        s->admit_order = e->next_admit++;
        /* A readmitted seq recomputes what it had made too; cached prompt blocks are skipped. */
        uint64_t work = s->prompt_tokens + s->emitted;
        uint64_t cached = s->cached_tokens < s->prompt_tokens ? s->cached_tokens : s->prompt_tokens;
        s->first_token_ns = t + e->timing[s->model].ttft_ns + e->cfg.prefill_ns_per_1k * (work - cached) / 1000;
        heap_set(e, e->heap_len++, s);
        heap_up(e, e->heap_len - 1);
    }
}

static void release(sim_engine *e, sim_engine_seq *s)
{
    e->kv_used -= s->kv_held;
    s->kv_held = 0;
    s->state = SIM_SEQ_IDLE;
}

/* The running seq admitted last (prefilling or decoding): vLLM preempts from the running list's
 * tail. A scan, since preemption is rare next to steps and the set is at most max_num_seqs. */
static sim_engine_seq *youngest(const sim_engine *e)
{
    sim_engine_seq *y = NULL;
    for (uint32_t i = 0; i < e->heap_len; i++)
        if (!y || e->heap[i]->admit_order > y->admit_order)
            y = e->heap[i];
    for (uint32_t m = 0; m < e->n_models; m++)
        for (sim_engine_seq *s = e->decode[m].head; s; s = s->next)
            if (!y || s->admit_order > y->admit_order)
                y = s;
    return y;
}

/* Preempts youngest running seqs until the coming step's growth fits the budget. Terminates: a
 * lone seq always fits, since submit refused any whose prompt+output exceeds the whole cache. */
static void preempt_for_step(sim_engine *e, uint32_t m)
{
    for (;;) {
        uint64_t grow = 0;
        for (sim_engine_seq *s = e->decode[m].head; s; s = s->next)
            grow += next_take(e, s);
        if (e->kv_used + grow <= e->cfg.kv_cache_tokens || sim_engine_running(e) <= 1)
            return;
        sim_engine_seq *y = youngest(e);
        if (y->state == SIM_SEQ_PREFILL)
            heap_remove(e, y);
        else
            decode_unlink(e, y);
        release(e, y);
        y->state = SIM_SEQ_WAITING;
        y->preemptions++;
        e->preemptions++;
        /* Back to the front of the queue: it runs again before anything that arrived after it. */
        y->prev = NULL;
        y->next = e->waiting.head;
        if (e->waiting.head)
            e->waiting.head->prev = y;
        else
            e->waiting.tail = y;
        e->waiting.head = y;
        e->waiting.count++;
    }
}

int sim_engine_create(const sim_engine_config *cfg, sim_engine **out)
{
    if (!cfg || cfg->max_num_seqs == 0 || cfg->kv_cache_tokens == 0 || cfg->tokens_per_event == 0 ||
        cfg->n_models > SIM_ENGINE_MAX_MODELS || (cfg->n_models && !cfg->models))
        return LL_EINVAL;
    sim_engine *e = calloc(1, sizeof *e);
    if (!e)
        return LL_ENOMEM;
    e->heap = calloc(cfg->max_num_seqs, sizeof *e->heap);
    if (!e->heap) {
        free(e);
        return LL_ENOMEM;
    }
    e->cfg = *cfg;
    e->cfg.models = NULL; /* copied below: the caller's array is only borrowed for the call */
    e->n_models = cfg->n_models ? cfg->n_models : 1;
    for (uint32_t m = 0; m < e->n_models; m++)
        e->timing[m] = cfg->n_models ? cfg->models[m] : (sim_engine_timing){cfg->ttft_ns, cfg->itl_ns};
    *out = e;
    return 0;
}

void sim_engine_destroy(sim_engine *e)
{
    if (!e)
        return;
    free(e->heap);
    free(e);
}

int sim_engine_submit(sim_engine *e, sim_engine_seq *seq, uint64_t now)
{
    if (seq->output_tokens == 0 || seq->state != SIM_SEQ_IDLE || seq->model >= e->n_models)
        return LL_EINVAL;
    if (need_of(seq) > e->cfg.kv_cache_tokens)
        return LL_ERANGE;
    seq->emitted = 0;
    seq->kv_held = 0;
    seq->preemptions = 0;
    seq->ticket = e->next_ticket++;
    seq->submitted_ns = now;
    seq->state = SIM_SEQ_WAITING;
    list_push(&e->waiting, seq);
    admit(e, now);
    return 0;
}

void sim_engine_cancel(sim_engine *e, sim_engine_seq *seq, uint64_t now)
{
    switch (seq->state) {
    case SIM_SEQ_WAITING:
        list_unlink(&e->waiting, seq);
        seq->state = SIM_SEQ_IDLE;
        return;
    case SIM_SEQ_PREFILL:
        heap_remove(e, seq);
        break;
    case SIM_SEQ_DECODE:
        decode_unlink(e, seq);
        break;
    default:
        return;
    }
    release(e, seq);
    admit(e, now);
}

uint64_t sim_engine_next_deadline(const sim_engine *e)
{
    uint64_t t = UINT64_MAX;
    if (e->heap_len)
        t = e->heap[0]->first_token_ns;
    for (uint32_t m = 0; m < e->n_models; m++)
        if (e->decode[m].count && e->step_next[m] < t)
            t = e->step_next[m];
    return t;
}

static uint32_t take_tokens(const sim_engine *e, sim_engine_seq *s)
{
    uint64_t left = s->output_tokens - s->emitted;
    uint32_t n = left < e->cfg.tokens_per_event ? (uint32_t)left : e->cfg.tokens_per_event;
    s->emitted += n;
    return n;
}

/* The first token of the heap's head at time t: it finishes, or joins the decode clock. */
static void do_first_token(sim_engine *e, uint64_t t, sim_engine_emit_fn fn, void *ud)
{
    sim_engine_seq *s = e->heap[0];
    heap_remove(e, s);
    uint32_t n = take_tokens(e, s);
    if (s->emitted >= s->output_tokens) {
        release(e, s);
        admit(e, t);
        fn(ud, s, t, n, 1);
        return;
    }
    /* An idle clock starts at this token, so a lone stream sees exactly one step between tokens; a
     * running clock is joined at its next boundary. */
    if (e->decode[s->model].count == 0)
        e->step_next[s->model] = t + step_ns_of(e, s->model, sim_engine_running(e) + 1);
    s->state = SIM_SEQ_DECODE;
    decode_push(e, s);
    fn(ud, s, t, n, 0);
}

static void do_step(sim_engine *e, uint32_t m, uint64_t t, sim_engine_emit_fn fn, void *ud)
{
    if (e->cfg.preempt)
        preempt_for_step(e, m);
    sim_engine_seq *s = e->decode[m].head;
    while (s) {
        /* Read next before the callback: a finished seq may be reused by it. */
        sim_engine_seq *nx = s->next;
        uint32_t n = take_tokens(e, s);
        if (e->cfg.preempt) {
            s->kv_held += n;
            e->kv_used += n;
        }
        if (s->emitted >= s->output_tokens) {
            decode_unlink(e, s);
            release(e, s);
            fn(ud, s, t, n, 1);
        } else {
            fn(ud, s, t, n, 0);
        }
        s = nx;
    }
    admit(e, t);
    if (e->decode[m].count)
        e->step_next[m] = t + step_ns_of(e, m, sim_engine_running(e));
}

void sim_engine_advance(sim_engine *e, uint64_t now, sim_engine_emit_fn fn, void *ud)
{
    for (;;) {
        uint64_t t_pre = e->heap_len ? e->heap[0]->first_token_ns : UINT64_MAX;
        uint64_t t_step = UINT64_MAX;
        uint32_t m_step = 0;
        for (uint32_t m = 0; m < e->n_models; m++) {
            if (e->decode[m].count && e->step_next[m] < t_step) {
                t_step = e->step_next[m];
                m_step = m;
            }
        }
        /* A step at the same instant as a first token runs first: the newcomer joins the clock and
         * gets its second token one step later, never two tokens at one instant. */
        if (t_step <= t_pre && t_step <= now)
            do_step(e, m_step, t_step, fn, ud);
        else if (t_pre < t_step && t_pre <= now)
            do_first_token(e, t_pre, fn, ud);
        else
            break;
    }
}
