/*
 * corpus.h - the prose synthetic prompts are cut from (config -> source): a public-domain novel
 * compiled into the binary (data/corpus/README.md), split into pieces (whitespace-separated words
 * with their punctuation) and sentence starts. A prompt is a run of consecutive pieces joined by
 * single spaces, so real text with its own word frequencies reaches the server rather than a
 * repeated vocabulary that a server-side cache or a tokenizer's merges would flatter.
 * Read-only after corpus_create (the text is copied flat: single spaces); the source and the
 * calibration each hold their own.
 */
#ifndef LLMLOAD_CORPUS_H
#define LLMLOAD_CORPUS_H

#include <stddef.h>

typedef struct corpus corpus;

/* The embedded novel. *out owned by caller (corpus_destroy). 0 or LL_ENOMEM. */
int corpus_create(corpus **out);
/* The same over other text (tests; copied). LL_EINVAL when
 * the text has no piece, LL_EOVERSIZE past 2 GiB or a piece of 64 KiB, LL_ENOMEM. */
int corpus_create_text(corpus **out, const char *text, size_t len);
void corpus_destroy(corpus *c); /* NULL is fine */

/* A short name of the text, for reports and docs: static string. */
const char *corpus_title(void);

size_t corpus_pieces(const corpus *c);
/* Piece i (< corpus_pieces): borrowed, valid until corpus_destroy; *len bytes, no whitespace. */
const char *corpus_piece(const corpus *c, size_t i, size_t *len);
/* Copies the n pieces from piece i on (cycling past the end), joined by single spaces, to dst
 * (corpus_window_bytes(c, n) bytes at most); returns the bytes written, no NUL. */
size_t corpus_copy(const corpus *c, size_t i, size_t n, char *dst);
size_t corpus_sentences(const corpus *c); /* at least 1 */
/* Index of the piece that starts sentence k (< corpus_sentences). */
size_t corpus_sentence(const corpus *c, size_t k);

/* The byte classes the cost model counts (the simulator's tokenizer uses the same split): a word
 * byte is an ASCII letter or digit or any byte >= 0x80; other non-space bytes are punctuation. */
int corpus_is_word_byte(unsigned char ch);

/* Up to max distinct runs of exactly len word bytes found in the text, in order of first
 * appearance; out[k] borrowed (len bytes, not NUL-terminated). Returns how many. */
size_t corpus_runs(const corpus *c, size_t len, const char **out, size_t max);
/* The distinct punctuation bytes of the text into out (NUL-terminated; cap >= 2). Returns how many. */
size_t corpus_punct(const corpus *c, char *out, size_t cap);

/* The most bytes that n consecutive pieces (cycling past the end) take with one space after
 * each: a sound bound for a prompt's window. */
size_t corpus_window_bytes(const corpus *c, size_t n);

#endif
