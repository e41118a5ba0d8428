/*
 * dataset.h - prompts from a file (config -> source): `--data FILE` with .jsonl, .json, .csv or .txt.
 *
 * The file is read once at start, before any request, so a full JSON parse per record is fine here.
 * A record gives its prompt as "prompt" or "text", or as the first user turn of "messages" (OpenAI
 * chat) or "conversations" (ShareGPT: {"from": "human", "value": ...}); its output length as
 * "output_tokens", "max_tokens" or "output_len", else the word count of the answer that follows the
 * first user turn, else the default given. A .csv has a header row with a "prompt" (or "text")
 * column and an optional output_tokens/max_tokens column; a .txt holds one prompt per line.
 * A chat record's later user turns are kept too (dataset_entry.more_turns): they make the turns of
 * a multi-turn session (session.h), each asking the word count of the file's reply that follows it.
 * Prompt tokens are counted as whitespace-separated words (requests.csv's prompt_tokens_asked);
 * servers that return usage correct them per request. Limits: 1 GiB of file, 1 MiB per prompt.
 */
#ifndef LLMLOAD_DATASET_H
#define LLMLOAD_DATASET_H

#include <stddef.h>

typedef struct dataset dataset;

/* A later user turn of a multi-turn record (sessions, session.h). */
typedef struct dataset_turn {
    const char *prompt;   /* borrowed from the dataset; valid until dataset_destroy */
    size_t prompt_len;
    long prompt_tokens;
    long output_tokens;   /* the file's reply to it, in words; else the default */
} dataset_turn;

typedef struct dataset_entry {
    const char *prompt;   /* borrowed from the dataset; valid until dataset_destroy */
    size_t prompt_len;
    long prompt_tokens;
    long output_tokens;
    /* The record's user turns after the first ("messages" / "conversations"), in order; the file's
     * assistant replies are not kept (a session sends the server's own). NULL and 0 for a
     * single-turn record. Borrowed, valid until dataset_destroy. */
    const dataset_turn *more_turns;
    size_t n_more_turns;
} dataset_entry;

/* Loads path (format from its extension). *out owned by caller (dataset_destroy). LL_ENOENT/LL_EIO
 * for an unreadable file, LL_EPARSE or LL_EOVERSIZE for bad content, each with one line in err
 * naming the file (and the line, where there is one). */
int dataset_load(dataset **out, const char *path, long default_output_tokens, char *err, size_t errlen);
/* The same from memory; name gives the format by its extension (what the fuzzer uses). */
int dataset_parse(dataset **out, const char *text, size_t len, const char *name, long default_output_tokens,
                  char *err, size_t errlen);

size_t dataset_size(const dataset *d);
const dataset_entry *dataset_at(const dataset *d, size_t i);
size_t dataset_max_prompt_bytes(const dataset *d);
void dataset_destroy(dataset *d); /* NULL is fine */

#endif
