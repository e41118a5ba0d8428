/*
 * source.h - where request contents come from (config -> source -> scheduler).
 *
 * Synthetic: prompt and output lengths drawn from GSL normals per config_data, with a seeded RNG
 * so the same seed gives the same requests. Prompts are built from a fixed vocabulary of common
 * English words, uncalibrated one word per asked token (whitespace-separated words). Each prompt starts with a per-request unique word so a
 * server's prefix cache does not hide prefill work (after config_data.prefix_tokens shared words).
 * With config_data.path, prompts come from a dataset file instead (dataset.h), in a seeded random
 * order, cycled when the run outlasts the file; output lengths from the file, else output_tokens.
 * Calibrated (config_data.costs set, from calibrate.h): the drawn length is a token count as the
 * target counts it; words are added while their measured costs fit what is left after the fixed
 * overhead (chat template, marker, special tokens), so prompts land on the asked count.
 */
#ifndef LLMLOAD_SOURCE_H
#define LLMLOAD_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "llmload/config.h"

typedef struct source source;

typedef struct source_request {
    const char *prompt;   /* borrowed: valid until the next source_next or source_destroy */
    size_t prompt_len;
    long prompt_tokens;   /* the asked length (the record's count until the server's usage says) */
    long max_tokens;      /* output length to ask for */
    long prompt_tokens_asked; /* the drawn length (synthetic); the counting rule's (dataset) */
    const struct dataset_entry *entry; /* dataset: the record (its later user turns make a
                                        * session, session.h); NULL for synthetic. Borrowed, valid
                                        * until source_destroy */
} source_request;

#define SOURCE_VOCAB_SIZE 256

/* What the target charges for a synthetic prompt (calibrate.h fills it): tokens = overhead +
 * the sum of word[k] over the prompt's vocabulary words. */
typedef struct source_costs {
    double overhead;               /* template, uniqueness marker and special tokens of every prompt */
    double word[SOURCE_VOCAB_SIZE]; /* each vocabulary word, with its separating space */
} source_costs;

/* Vocabulary word k (< SOURCE_VOCAB_SIZE), lowercase ASCII letters; static string. */
const char *source_vocab_word(size_t k);

/* Creates a source; *out owned by caller (source_destroy). LL_EUSAGE + err for a bad spec,
 * LL_ENOMEM. */
int source_create(source **out, const config_data *d, uint64_t seed, char *err, size_t errlen);
void source_destroy(source *s);
/* Next request. Returns 0, or LL_ENOMEM. Never runs out for synthetic data. */
int source_next(source *s, source_request *out);
/* Sessions: the prompt of a later turn (2..) of a synthetic session, of config_data's
 * turn_prompt_tokens words when set (clamped to the bounds of turn 1's draw), else as
 * source_next; for a dataset, source_next. */
int source_next_turn(source *s, source_request *out);
/* 1 when the dataset has a record with more than one user turn (its records make sessions). */
int source_multi_turn(const source *s);
/* Largest prompt in bytes that source_next can produce (to size request buffers). */
size_t source_max_prompt_bytes(const source *s);

#endif
