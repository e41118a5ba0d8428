/*
 * sim_prefix.h - internal to the simulator tree: the prefix cache (--prefix-cache-tokens). Prompts
 * are cut into blocks of SIM_PREFIX_BLOCK tokens by sim_tokenize's rule; a block's key hashes its
 * tokens' bytes and the key of the block before it, so a key stands for the whole prompt up to
 * the block's end, as vLLM's block hashes do. A prompt's hit is its leading run of blocks already
 * cached; every block of it is then cached (LRU eviction when full). Sits between sim_api (which
 * walks the prompt's text) and the engine (which skips the hit's prefill).
 * Invariant: hits <= queries, both counted in tokens, and a hit never covers a prompt's last token.
 */
#ifndef LLMLOAD_SIM_PREFIX_H
#define LLMLOAD_SIM_PREFIX_H

#include <stddef.h>
#include <stdint.h>

#define SIM_PREFIX_BLOCK 16

typedef struct sim_prefix sim_prefix;

/* One prompt's walk: zeroed by sim_prefix_begin, fed its text in order, closed by sim_prefix_end.
 * Holds no pointer to the text. */
typedef struct sim_prefix_walk {
    sim_prefix *p;                /* borrowed, valid until sim_prefix_end */
    uint64_t chain;               /* key of the last whole block */
    uint64_t block;               /* hash of the current block's tokens so far */
    uint64_t tok;                 /* hash of the current token's bytes so far */
    uint32_t in_block;            /* tokens in the current block */
    uint32_t word_bytes;          /* bytes of the current word token (0: none open) */
    uint64_t matched;             /* tokens in the leading run of cached blocks */
    int matching;                 /* every block so far was cached */
} sim_prefix_walk;

/* A cache of capacity_tokens / SIM_PREFIX_BLOCK blocks (at least one); *out set on success.
 * Caller frees with sim_prefix_destroy. LL_ENOMEM. */
int sim_prefix_create(uint64_t capacity_tokens, sim_prefix **out);
void sim_prefix_destroy(sim_prefix *p);   /* NULL is fine */

void sim_prefix_begin(sim_prefix *p, sim_prefix_walk *w);
/* Text of the prompt, piece by piece (a message's content, a prompt string). */
void sim_prefix_text(sim_prefix_walk *w, const char *s, size_t len);
/* One pre-tokenised id. */
void sim_prefix_id(sim_prefix_walk *w, uint64_t id);
/* Ends the walk of a prompt of prompt_tokens tokens (as usage counts it): adds prompt_tokens to the
 * queries and the hit to the hits, and returns the hit in tokens, capped below prompt_tokens. */
uint64_t sim_prefix_end(sim_prefix_walk *w, uint64_t prompt_tokens);

uint64_t sim_prefix_queries(const sim_prefix *p);   /* prompt tokens looked up, in total */
uint64_t sim_prefix_hits(const sim_prefix *p);      /* of those, tokens found cached */

#endif
