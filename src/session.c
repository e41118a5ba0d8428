/*
 * session.c - multi-turn sessions: the history each turn carries and when the next turn is due
 * (source -> session -> scheduler). See session.h and docs/workloads.md.
 * Invariant: a session is either waiting in the heap (its next turn not yet taken), in flight (one
 * turn taken, not yet done) or free; its history buffer holds complete JSON fragments only (chat:
 * messages each followed by ','; completions: escaped text pieces each followed by an escaped
 * newline), so any prefix of turns is a valid conversation.
 */
#include "llmload/session.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/dataset.h"
#include "llmload/error.h"
#include "llmload/request.h"

typedef struct sess {
    uint32_t id;               /* 1-based; 0 when free */
    uint16_t turn;             /* the last turn taken (0: none yet) */
    uint16_t turns;            /* turns this session has (synthetic: the option; dataset: the record's) */
    unsigned model;            /* its model, for every turn (session_options.pick_model) */
    int in_flight;
    const dataset_turn *more;   /* a dataset session's turns 2.. (the record's later user turns) */
    int from_dataset;           /* its turns come from a record (more may be NULL: one turn) */
    char *hist;                /* owned, reused: the conversation so far (complete fragments) */
    size_t hist_len, hist_cap;
    char *cur;                 /* owned, reused: the turn in flight's own user fragment */
    size_t cur_len, cur_cap;
    long hist_tokens;          /* words of the history (prompts and replies' output tokens) */
    long cur_tokens;           /* words of the prompt in flight */
    uint32_t next_free;        /* index + 1 of the next free object (0: end) */
} sess;

typedef struct heap_item {
    uint64_t due;
    uint64_t order;            /* ties keep the order they were pushed in */
    uint32_t idx;
} heap_item;

struct session_set {
    session_options o;
    gsl_rng *rng;
    sess *pool;                /* grown as needed; objects addressed by index (realloc moves them) */
    size_t n_pool, cap_pool;
    uint32_t free_head;        /* index + 1 of the first free object */
    uint32_t *by_id;           /* session id - 1 -> pool index (ids are dense) */
    size_t cap_id;
    heap_item *heap;
    size_t n_heap, cap_heap;
    uint64_t pushes;
    session_stats st;
};

int session_set_create(session_set **out, const session_options *o)
{
    session_set *ss = calloc(1, sizeof *ss);
    *out = NULL;
    if (!ss)
        return LL_ENOMEM;
    ss->o = *o;
    if (ss->o.turns < 1)
        ss->o.turns = 1;
    if (ss->o.id_first < 1)
        ss->o.id_first = 1;
    if (ss->o.id_stride < 1)
        ss->o.id_stride = 1;
    if (!(ss->rng = gsl_rng_alloc(gsl_rng_mt19937))) {
        free(ss);
        return LL_ENOMEM;
    }
    /* Its own stream: think times do not shift the prompts' or the arrivals' draws. */
    gsl_rng_set(ss->rng, (unsigned long)((o->seed * 0x9e3779b97f4a7c15ULL ^ 0x7468696e6bULL) & 0xffffffffUL));
    *out = ss;
    return 0;
}

void session_set_destroy(session_set *ss)
{
    if (!ss)
        return;
    for (size_t i = 0; i < ss->n_pool; i++) {
        free(ss->pool[i].hist);
        free(ss->pool[i].cur);
    }
    free(ss->pool);
    free(ss->by_id);
    free(ss->heap);
    gsl_rng_free(ss->rng);
    free(ss);
}

/* Grows *buf to hold need bytes (doubling). 0 or LL_ENOMEM (the buffer is unchanged then). */
static int reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 1024;
    while (n < need)
        n *= 2;
    char *nb = realloc(*buf, n);
    if (!nb)
        return LL_ENOMEM;
    *buf = nb;
    *cap = n;
    return 0;
}

static int heap_less(const heap_item *a, const heap_item *b)
{
    return a->due < b->due || (a->due == b->due && a->order < b->order);
}

static int heap_push(session_set *ss, uint64_t due, uint32_t idx, uint64_t order)
{
    if (ss->n_heap == ss->cap_heap) {
        size_t n = ss->cap_heap ? ss->cap_heap * 2 : 64;
        heap_item *nh = realloc(ss->heap, n * sizeof *nh);
        if (!nh)
            return LL_ENOMEM;
        ss->heap = nh;
        ss->cap_heap = n;
    }
    size_t i = ss->n_heap++;
    ss->heap[i] = (heap_item){.due = due, .order = order, .idx = idx};
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&ss->heap[i], &ss->heap[p]))
            break;
        heap_item t = ss->heap[i];
        ss->heap[i] = ss->heap[p];
        ss->heap[p] = t;
        i = p;
    }
    return 0;
}

static heap_item heap_pop(session_set *ss)
{
    heap_item top = ss->heap[0];
    ss->heap[0] = ss->heap[--ss->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < ss->n_heap && heap_less(&ss->heap[l], &ss->heap[m]))
            m = l;
        if (r < ss->n_heap && heap_less(&ss->heap[r], &ss->heap[m]))
            m = r;
        if (m == i)
            break;
        heap_item t = ss->heap[i];
        ss->heap[i] = ss->heap[m];
        ss->heap[m] = t;
        i = m;
    }
    return top;
}

/* The record's session number of local number n (1-based), and back (0: not one of this set's). */
static uint32_t public_id(const session_set *ss, size_t n)
{
    return (uint32_t)(ss->o.id_first + (n - 1) * ss->o.id_stride);
}

static size_t local_id(const session_set *ss, uint32_t id)
{
    if (id < ss->o.id_first || (id - ss->o.id_first) % ss->o.id_stride)
        return 0;
    size_t n = (id - ss->o.id_first) / ss->o.id_stride + 1;
    return n <= ss->st.sessions ? n : 0;
}

int session_begin(session_set *ss, uint64_t due_ns)
{
    if (ss->o.id_first + ss->st.sessions * (uint64_t)ss->o.id_stride >= UINT32_MAX)
        return LL_ERANGE;
    if (!ss->free_head) {
        if (ss->n_pool == ss->cap_pool) {
            size_t n = ss->cap_pool ? ss->cap_pool * 2 : 16;
            sess *np = realloc(ss->pool, n * sizeof *np);
            if (!np)
                return LL_ENOMEM;
            ss->pool = np;
            ss->cap_pool = n;
        }
        memset(&ss->pool[ss->n_pool], 0, sizeof ss->pool[0]);
        ss->n_pool++;
        ss->pool[ss->n_pool - 1].next_free = 0;
        ss->free_head = (uint32_t)ss->n_pool;
    }
    size_t id = (size_t)ss->st.sessions + 1;
    if (id > ss->cap_id) {
        size_t n = ss->cap_id ? ss->cap_id * 2 : 64;
        uint32_t *nb = realloc(ss->by_id, n * sizeof *nb);
        if (!nb)
            return LL_ENOMEM;
        ss->by_id = nb;
        ss->cap_id = n;
    }
    uint32_t idx = ss->free_head - 1;
    int rc = heap_push(ss, due_ns, idx, ss->pushes);
    if (rc != 0)
        return rc;
    ss->pushes++;
    sess *s = &ss->pool[idx];
    ss->free_head = s->next_free;
    s->next_free = 0;
    s->id = public_id(ss, id);
    s->turn = 0;
    s->turns = 0; /* known when the first turn's prompt is drawn */
    s->in_flight = 0;
    s->more = NULL;
    s->from_dataset = 0;
    s->hist_len = 0;
    s->hist_tokens = 0;
    ss->by_id[id - 1] = idx;
    ss->st.sessions++;
    return 0;
}

uint64_t session_next_due(const session_set *ss)
{
    return ss->n_heap ? ss->heap[0].due : UINT64_MAX;
}

/* The user fragment of one prompt into s->cur. */
static int build_cur(session_set *ss, sess *s, const char *prompt, size_t len)
{
    static const char open_chat[] = "{\"role\":\"user\",\"content\":\"", close_chat[] = "\"}";
    int chat = ss->o.api != CONFIG_API_COMPLETIONS;
    size_t need = 6 * len + sizeof open_chat + sizeof close_chat;
    int rc = reserve(&s->cur, &s->cur_cap, need);
    if (rc != 0)
        return rc;
    char *o = s->cur;
    if (chat) {
        memcpy(o, open_chat, sizeof open_chat - 1);
        o += sizeof open_chat - 1;
    }
    o += request_json_escape(o, prompt, len);
    if (chat) {
        memcpy(o, close_chat, sizeof close_chat - 1);
        o += sizeof close_chat - 1;
    }
    s->cur_len = (size_t)(o - s->cur);
    return 0;
}

int session_take(session_set *ss, source *src, uint64_t now_ns, session_turn *out)
{
    if (!ss->n_heap || ss->heap[0].due > now_ns)
        return 0;
    heap_item it = ss->heap[0];
    sess *s = &ss->pool[it.idx];
    const char *prompt;
    size_t plen;
    long ptok, max_tokens;
    if (s->turn == 0 || !s->from_dataset) {
        source_request sr;
        int rc = s->turn == 0 ? source_next(src, &sr) : source_next_turn(src, &sr);
        if (rc != 0)
            return rc;
        if (s->turn == 0) {
            s->model = ss->o.pick_model ? ss->o.pick_model(ss->o.pick_ud) : 0;
            s->more = sr.more_turns;
            s->from_dataset = sr.from_dataset;
            size_t n = sr.from_dataset ? 1 + sr.n_more_turns : (size_t)ss->o.turns;
            s->turns = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
        }
        prompt = sr.prompt;
        plen = sr.prompt_len;
        ptok = sr.prompt_tokens;
        max_tokens = sr.max_tokens;
    } else {
        const dataset_turn *t = &s->more[s->turn - 1];
        prompt = t->prompt;
        plen = t->prompt_len;
        ptok = t->prompt_tokens;
        max_tokens = t->output_tokens;
    }
    int rc = build_cur(ss, s, prompt, plen);
    if (rc != 0)
        return rc;
    (void)heap_pop(ss);
    s->turn++;
    s->in_flight = 1;
    s->cur_tokens = ptok;
    out->parts[0] = s->hist;
    out->lens[0] = s->hist_len;
    out->parts[1] = s->cur;
    out->lens[1] = s->cur_len;
    out->n_parts = 2;
    out->prompt_tokens = s->hist_tokens + ptok;
    out->max_tokens = max_tokens;
    out->scheduled_ns = it.due;
    out->session = s->id;
    out->turn = s->turn;
    out->model = s->model;
    return 1;
}

void session_untake(session_set *ss, const session_turn *t)
{
    size_t n = local_id(ss, t->session);
    if (!n)
        return;
    sess *s = &ss->pool[ss->by_id[n - 1]];
    if (!s->in_flight || s->id != t->session)
        return;
    /* Taken again as turn s->turn: for a dataset turn the index goes back; a synthetic prompt is
     * drawn anew (the source cannot give one back), which keeps the run repeatable all the same. */
    s->turn--;
    s->in_flight = 0;
    /* First in line: the oldest order there is. Cannot fail: the heap just gave this slot up. */
    (void)heap_push(ss, t->scheduled_ns, ss->by_id[n - 1], 0);
}

static void release(session_set *ss, uint32_t idx)
{
    sess *s = &ss->pool[idx];
    s->id = 0;
    s->in_flight = 0;
    s->next_free = ss->free_head;
    ss->free_head = idx + 1;
}

/* Appends the finished turn (its user fragment and the reply) to the history. */
static int append_turn(session_set *ss, sess *s, const char *reply, size_t rlen)
{
    static const char open_chat[] = ",{\"role\":\"assistant\",\"content\":\"", close_chat[] = "\"},";
    static const char nl[] = "\\n";
    int chat = ss->o.api != CONFIG_API_COMPLETIONS;
    size_t need = s->hist_len + s->cur_len + rlen + sizeof open_chat + sizeof close_chat + 2 * sizeof nl;
    int rc = reserve(&s->hist, &s->hist_cap, need);
    if (rc != 0)
        return rc;
    char *o = s->hist + s->hist_len;
    memcpy(o, s->cur, s->cur_len);
    o += s->cur_len;
    memcpy(o, chat ? open_chat : nl, chat ? sizeof open_chat - 1 : sizeof nl - 1);
    o += chat ? sizeof open_chat - 1 : sizeof nl - 1;
    if (rlen)
        memcpy(o, reply, rlen);
    o += rlen;
    memcpy(o, chat ? close_chat : nl, chat ? sizeof close_chat - 1 : sizeof nl - 1);
    o += chat ? sizeof close_chat - 1 : sizeof nl - 1;
    s->hist_len = (size_t)(o - s->hist);
    return 0;
}

int session_turn_done(session_set *ss, const record *rec, const char *reply, size_t reply_len, int truncated)
{
    size_t n = local_id(ss, rec->session);
    if (!n)
        return LL_ENOENT;
    uint32_t idx = ss->by_id[n - 1];
    sess *s = &ss->pool[idx];
    if (s->id != rec->session || !s->in_flight || s->turn != rec->turn)
        return LL_ENOENT;
    s->in_flight = 0;
    if (truncated)
        ss->st.replies_cut++;
    if (rec->status != RECORD_OK) {
        release(ss, idx);
        return 0;
    }
    if (s->turn >= s->turns) {
        ss->st.completed++;
        release(ss, idx);
        return 0;
    }
    int rc = append_turn(ss, s, reply, reply ? reply_len : 0);
    if (rc != 0)
        return rc;
    s->hist_tokens += s->cur_tokens + (rec->output_tokens > 0 ? rec->output_tokens : 0);
    double think = ss->o.think_s + (ss->o.think_stdev_s > 0 ? gsl_ran_gaussian(ss->rng, ss->o.think_stdev_s) : 0.0);
    if (!(think > 0))
        think = 0; /* clamped at 0 (and NaN-safe) */
    if (think > 86400.0 * 365)
        think = 86400.0 * 365;
    uint64_t end = rec->end_ns;
    rc = heap_push(ss, end + (uint64_t)(think * 1e9), idx, ss->pushes++);
    if (rc != 0)
        return rc;
    return 1;
}

void session_stats_get(const session_set *ss, session_stats *out)
{
    *out = ss->st;
}
