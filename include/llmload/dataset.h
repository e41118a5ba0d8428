/*
 * dataset.h - prompts from a file (config -> source): `--data FILE` with .jsonl, .json, .csv or .txt.
 *
 * .jsonl and .txt files stream: one pass at start indexes each record (where its prompt's bytes
 * lie in the file, its counts) with a full JSON parse per line, and the prompt itself is read back
 * from the file (pread, then JSON unescaping in place) when a request needs it, so memory grows with
 * the number of records (about 32 bytes each), never with the file's bytes. .json and .csv files
 * are read whole (1 GiB at most) and their prompts kept in memory.
 * A record gives its prompt as "prompt" or "text", or as the first user turn of "messages" (OpenAI
 * chat) or "conversations" (ShareGPT: {"from": "human", "value": ...}); its output length as
 * "output_tokens", "max_tokens" or "output_len", else the word count of the answer that follows the
 * first user turn, else the default given. A .csv has a header row with a "prompt" (or "text")
 * column and an optional output_tokens/max_tokens column; a .txt holds one prompt per line.
 * A chat record's later user turns are kept too (dataset_entry.more_turns): they make the turns of
 * a multi-turn session (session.h), each asking the word count of the file's reply that follows it.
 * Prompt tokens are counted as whitespace-separated words (requests.csv's prompt_tokens_asked);
 * servers that return usage correct them per request. Limits: 1 MiB per prompt, 16 MiB per line;
 * 1 GiB of file for .json and .csv (streamed formats have none).
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
    const char *prompt;   /* borrowed from the dataset; valid until the next dataset_get or dataset_destroy */
    size_t prompt_len;
    long prompt_tokens;
    long output_tokens;
    /* The record's user turns after the first ("messages" / "conversations"), in order; the file's
     * assistant replies are not kept (a session sends the server's own). NULL and 0 for a
     * single-turn record. Kept in memory even for streamed files (only multi-turn records have
     * them), so they stay valid until dataset_destroy, not just until the next read. */
    const dataset_turn *more_turns;
    size_t n_more_turns;
} dataset_entry;

/* Loads path (format from its extension), the first max_records records only when max_records >
 * 0 (the rest of the file is not read). *out owned by caller (dataset_destroy); a streamed file
 * stays open until then. LL_ENOENT/LL_EIO for an unreadable file, LL_EPARSE or LL_EOVERSIZE for
 * bad content, each with one line in err naming the file (and the line, where there is one). */
int dataset_load(dataset **out, const char *path, long default_output_tokens, long max_records, char *err,
                 size_t errlen);
/* The same from memory (copied); name gives the format by its extension (what the fuzzer uses). */
int dataset_parse(dataset **out, const char *text, size_t len, const char *name, long default_output_tokens,
                  char *err, size_t errlen);

size_t dataset_size(const dataset *d);
/* Record i (< dataset_size) into *out: its prompt is read into the dataset's own buffer (streamed
 * formats) or lies in memory, NUL-terminated either way. Allocates nothing. 0, or LL_EIO when the
 * file cannot be read back (changed under the run). */
int dataset_get(dataset *d, size_t i, dataset_entry *out);
/* The same into the caller's buf of dataset_buf_bytes(d) bytes (out->prompt then points into buf,
 * or into the dataset): d is only read (pread on its file), so threads may share one dataset, each
 * with its own buf. */
int dataset_read(const dataset *d, size_t i, char *buf, dataset_entry *out);
size_t dataset_buf_bytes(const dataset *d);
/* 1 when some record has more than one user turn (its records then make sessions). */
int dataset_multi_turn(const dataset *d);
size_t dataset_max_prompt_bytes(const dataset *d);
void dataset_destroy(dataset *d); /* NULL is fine */

#endif
