/*
 * model_mix.h - which model each request asks for when --model names several (config -> source ->
 * scheduler: the scheduler draws a model index per request and the client sends the body built
 * for that model).
 *
 * A mix is a list of model names with weights: "a=0.7,b=0.3" (weighted), or "a,b" (equal weights;
 * --model-order round-robin alternates a, b, a, b ...). Draws depend only on (weights, order, seed),
 * never on the server, so a seed repeats the same sequence of models. The drawer allocates nothing
 * per draw (docs/workloads.md "Model and adapter mixes").
 */
#ifndef LLMLOAD_MODEL_MIX_H
#define LLMLOAD_MODEL_MIX_H

#include <stddef.h>
#include <stdint.h>

/* At most this many models in a mix (record.model is one byte). */
#define MODEL_MIX_MAX 64

typedef enum model_mix_order { MODEL_MIX_WEIGHTED = 0, MODEL_MIX_ROUND_ROBIN } model_mix_order;

/* Parses a --model value: "NAME", "a,b,c" or "a=0.7,b=0.3" (every item weighted, or none; weights
 * positive and finite, not necessarily summing to 1; names non-empty, without control characters,
 * each given once). On success *names (n strings; each and the array freed by model_mix_names_free)
 * and *weights (n doubles, normalised to sum to 1; caller frees) move to the caller and *weighted
 * says whether weights were given. LL_EUSAGE with one line in why, or LL_ENOMEM. */
int model_mix_parse(const char *spec, char ***names, double **weights, size_t *n, int *weighted,
                    char *why, size_t whylen);
void model_mix_names_free(char **names, size_t n);

/* The drawer: state inline, no allocation (valid after model_mix_init; copyable). */
typedef struct model_mix {
    double cum[MODEL_MIX_MAX]; /* cumulative weights, the last one 1 */
    size_t n;
    model_mix_order order;
    uint64_t state;            /* splitmix64 state */
    uint64_t next_rr;          /* round robin: draws so far */
} model_mix;

/* weights: n values (n 1..MODEL_MIX_MAX; NULL means equal weights). 0 or LL_EINVAL. */
int model_mix_init(model_mix *m, const double *weights, size_t n, model_mix_order order, uint64_t seed);
/* The next request's model index, in [0, n). */
unsigned model_mix_next(model_mix *m);

/* A seeded coin for per-request yes/no draws (--cancel-rate): true with probability p. Inline
 * state, as the drawer's. */
typedef struct model_mix_coin {
    double p;
    uint64_t state;
} model_mix_coin;

void model_mix_coin_init(model_mix_coin *c, double p, uint64_t seed);
int model_mix_coin_flip(model_mix_coin *c);

#endif
