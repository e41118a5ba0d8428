/*
 * sim_tokenize.h - internal to the simulator tree: the simulator's prompt-token count, a fixed
 * stand-in for a real tokenizer (docs/simulator.md "Prompt tokens"). Deliberately not the word
 * count, so that llmload's calibration has something to measure: a run of letters and digits of n
 * bytes counts ceil(n/4) tokens, every other non-space byte (punctuation) counts 1, whitespace 0.
 * Used by usage.prompt_tokens on both APIs and by POST /tokenize. Pure function, no state.
 */
#ifndef LLMLOAD_SIM_TOKENIZE_H
#define LLMLOAD_SIM_TOKENIZE_H

#include <stddef.h>
#include <stdint.h>

/* Tokens of s[0, len) by the rule above; 0 for empty or all-space text. */
uint64_t sim_tokenize_count(const char *s, size_t len);

#endif
