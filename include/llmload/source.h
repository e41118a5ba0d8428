/*
 * source.h - where request contents come from (config -> source -> scheduler).
 *
 * Synthetic: prompt and output lengths drawn from GSL normals per config_data, with a seeded RNG
 * so the same seed gives the same requests. Prompts are real English prose (corpus.h: a
 * public-domain novel compiled in): the shared prefix (config_data.prefix_tokens, one of
 * prefix_count different passages picked per request), then a per-request unique marker (so no two
 * prompts share more than the prefix and a prefix cache cannot hide prefill work), then a window
 * of the text starting at a seeded random sentence. Uncalibrated, a prompt is one
 * whitespace-separated word per asked token. Calibrated (config_data.costs set, from
 * calibrate.h): the drawn length is a token count as the target counts it; each word's cost comes
 * from its letter runs' byte lengths and its punctuation, and words are added while they fit what
 * is left after the fixed overhead (chat template, marker, special tokens), a word that would
 * overshoot skipped, so prompts land on the asked count.
 * With config_data.path, prompts come from a dataset file instead (dataset.h), in the order
 * config_data.sampling says (default a seeded shuffle, cycled when the run outlasts the file), at
 * most config_data.max_records of them; output lengths from the file, else output_tokens.
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
    /* dataset: the record's later user turns (they make a session, session.h); NULL and 0 for a
     * single-turn record and for synthetic prompts. Borrowed from the dataset, which keeps later
     * turns in memory: valid until the dataset is destroyed (after the run), unlike prompt. */
    const struct dataset_turn *more_turns;
    size_t n_more_turns;
    int from_dataset;     /* the request is a dataset record (a session then has 1 + n_more_turns turns) */
} source_request;

#define SOURCE_RUN_CLASSES 33 /* run lengths 1..32; index 0 unused */
#define SOURCE_VOCAB_SIZE 256

/* What the target charges for a synthetic prompt (calibrate.h fills it): tokens = overhead + the
 * sum of its words' costs, a word costing run[n] for each run of n word bytes in it (corpus.h's
 * classes; a run past 32 bytes costs run[32] per 32) and punct for each other byte. */
typedef struct source_costs {
    double overhead;                 /* template, uniqueness marker and special tokens of every prompt */
    double run[SOURCE_RUN_CLASSES];  /* a run of n letters/digits, with its separating space */
    double punct;                    /* one punctuation byte */
    /* Each word of the fixed vocabulary (source_vocab_word), as run and punct price it (filled by
     * source_costs_derive_words): for callers that build text from that vocabulary. */
    double word[SOURCE_VOCAB_SIZE];
} source_costs;

/* Fills costs->word from costs->run and costs->punct. */
void source_costs_derive_words(source_costs *costs);

/* Vocabulary word k (< SOURCE_VOCAB_SIZE): 256 common lowercase English words; static string.
 * Synthetic prompts are cut from the corpus; the list stays for text that must be a pure function
 * of a key, such as trace replay's shared blocks. */
const char *source_vocab_word(size_t k);

/* What costs say one word (piece) of len bytes at p costs, clamped to [0.25, 64] tokens so that
 * a measuring accident cannot make the prompt bound unsound. */
double source_word_cost(const source_costs *costs, const char *p, size_t len);

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
