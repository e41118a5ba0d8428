/*
 * sim_prefix.c - the simulator's prefix cache (see sim_prefix.h, docs/simulator.md "Prefix cache").
 * A chained hash table over a fixed array of blocks, allocated once at start, with an intrusive LRU
 * list through the same array: a lookup, a touch and an eviction are O(1) (a bucket's chain is
 * short, the table having at least as many buckets as blocks). Nothing is allocated per request.
 * Invariant: every block in use is in exactly one bucket chain and in the LRU list.
 */
#include "sim_prefix.h"

#include <stdlib.h>

#include "llmload/error.h"

#define NIL UINT32_MAX

typedef struct blk {
    uint64_t key;
    uint32_t bnext;               /* next in its bucket */
    uint32_t prev, next;          /* LRU: head is the most recent */
} blk;

struct sim_prefix {
    blk *b;
    uint32_t *bucket;
    uint32_t nblocks, used, mask;
    uint32_t head, tail;
    uint64_t queries, hits;
};

#define FNV_OFF 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= FNV_PRIME;
    }
    return h;
}

int sim_prefix_create(uint64_t capacity_tokens, sim_prefix **out)
{
    uint64_t n = capacity_tokens / SIM_PREFIX_BLOCK;
    if (n < 1)
        n = 1;
    if (n > (1u << 30))
        return LL_ERANGE;
    uint32_t nb = 1;
    while (nb < n)
        nb <<= 1;
    sim_prefix *p = calloc(1, sizeof *p);
    if (!p)
        return LL_ENOMEM;
    p->b = calloc(n, sizeof *p->b);
    p->bucket = malloc((size_t)nb * sizeof *p->bucket);
    if (!p->b || !p->bucket) {
        sim_prefix_destroy(p);
        return LL_ENOMEM;
    }
    for (uint32_t i = 0; i < nb; i++)
        p->bucket[i] = NIL;
    p->nblocks = (uint32_t)n;
    p->mask = nb - 1;
    p->head = p->tail = NIL;
    *out = p;
    return 0;
}

void sim_prefix_destroy(sim_prefix *p)
{
    if (!p)
        return;
    free(p->b);
    free(p->bucket);
    free(p);
}

static void lru_unlink(sim_prefix *p, uint32_t i)
{
    blk *x = &p->b[i];
    if (x->prev != NIL)
        p->b[x->prev].next = x->next;
    else
        p->head = x->next;
    if (x->next != NIL)
        p->b[x->next].prev = x->prev;
    else
        p->tail = x->prev;
}

static void lru_front(sim_prefix *p, uint32_t i)
{
    blk *x = &p->b[i];
    x->prev = NIL;
    x->next = p->head;
    if (p->head != NIL)
        p->b[p->head].prev = i;
    else
        p->tail = i;
    p->head = i;
}

static uint32_t find(const sim_prefix *p, uint64_t key)
{
    for (uint32_t i = p->bucket[key & p->mask]; i != NIL; i = p->b[i].bnext)
        if (p->b[i].key == key)
            return i;
    return NIL;
}

/* Takes a free block, or the least recently used one out of its bucket. */
static uint32_t take_block(sim_prefix *p)
{
    if (p->used < p->nblocks)
        return p->used++;
    uint32_t i = p->tail;
    lru_unlink(p, i);
    uint32_t *link = &p->bucket[p->b[i].key & p->mask];
    while (*link != i)
        link = &p->b[*link].bnext;
    *link = p->b[i].bnext;
    return i;
}

/* A whole block of tokens ends: look its key up, count it while the run of hits lasts, cache it. */
static void close_block(sim_prefix_walk *w)
{
    sim_prefix *p = w->p;
    uint64_t key = fnv(w->chain, w->block);
    w->chain = key;
    w->block = FNV_OFF;
    w->in_block = 0;
    uint32_t i = find(p, key);
    if (i != NIL) {
        if (w->matching)
            w->matched += SIM_PREFIX_BLOCK;
        lru_unlink(p, i);
        lru_front(p, i);
        return;
    }
    w->matching = 0;
    i = take_block(p);
    p->b[i].key = key;
    p->b[i].bnext = p->bucket[key & p->mask];
    p->bucket[key & p->mask] = i;
    lru_front(p, i);
}

static void end_token(sim_prefix_walk *w)
{
    w->block = fnv(w->block, w->tok);
    w->tok = FNV_OFF;
    w->word_bytes = 0;
    if (++w->in_block == SIM_PREFIX_BLOCK)
        close_block(w);
}

void sim_prefix_begin(sim_prefix *p, sim_prefix_walk *w)
{
    *w = (sim_prefix_walk){.p = p, .chain = FNV_OFF, .block = FNV_OFF, .tok = FNV_OFF, .matching = 1};
}

/* Token boundaries as sim_tokenize_count draws them: a run of word bytes is a token every 4 bytes
 * (the last one shorter), any other non-space byte is one token, spaces end a word and count none. */
static int word_byte(unsigned char ch)
{
    return ch >= 0x80 || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

void sim_prefix_text(sim_prefix_walk *w, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (word_byte(ch)) {
            w->tok = fnv(w->tok, ch);
            if (++w->word_bytes == 4)
                end_token(w);
            continue;
        }
        if (w->word_bytes)
            end_token(w);
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r' && ch != '\f' && ch != '\v') {
            w->tok = fnv(w->tok, 0x100u | ch);   /* apart from any word's bytes */
            end_token(w);
        }
    }
    if (w->word_bytes)   /* a piece's end ends its word, as each piece is counted alone */
        end_token(w);
}

void sim_prefix_id(sim_prefix_walk *w, uint64_t id)
{
    w->tok = fnv(w->tok ^ 0x5a5a5a5a5a5a5a5aULL, id);
    end_token(w);
}

uint64_t sim_prefix_end(sim_prefix_walk *w, uint64_t prompt_tokens)
{
    sim_prefix *p = w->p;
    uint64_t hit = w->matched;
    /* vLLM computes at least the last prompt token, so a hit stops at the block before it. */
    uint64_t cap = prompt_tokens ? (prompt_tokens - 1) / SIM_PREFIX_BLOCK * SIM_PREFIX_BLOCK : 0;
    if (hit > cap)
        hit = cap;
    p->queries += prompt_tokens;
    p->hits += hit;
    w->p = NULL;
    return hit;
}

uint64_t sim_prefix_queries(const sim_prefix *p)
{
    return p->queries;
}

uint64_t sim_prefix_hits(const sim_prefix *p)
{
    return p->hits;
}
