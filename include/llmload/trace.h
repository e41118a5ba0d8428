/*
 * trace.h - trace replay (config -> source/schedule -> bench): requests read from a recorded trace,
 * each sent at its recorded offset with its recorded input and output lengths (`--trace FILE`,
 * docs/workloads.md "Trace replay").
 *
 * Four formats: Mooncake JSON Lines (timestamp in ms, input_length, output_length, hash_ids: ids of
 * 512-token prompt blocks shared between requests), the Azure LLM inference trace CSV
 * (TIMESTAMP,ContextTokens,GeneratedTokens), OpenTelemetry GenAI spans as JSON Lines (OTLP JSON
 * export lines or flat spans, with gen_ai.usage.input_tokens / output_tokens, a start time and a
 * conversation or session id), and llmload's own JSON Lines (offset_ms, input_tokens,
 * output_tokens, optional prompt and session). The file is read once at start; entries are sorted
 * by offset (stable). Mooncake and jsonl offsets are kept as recorded; Azure and OTel times become
 * offsets from the earliest request.
 *
 * Prompts are built to the recorded input length from a word stream (source.h's vocabulary): a
 * Mooncake block is the stream seeded by its hash id (and the run's seed), so the same id gives the
 * same text, and a partial last block is a prefix of the full one; tokens past the blocks, and
 * requests without blocks, get a stream of their own. With the target's measured word costs
 * (source_costs) lengths land in the target's tokens; else one word per token.
 * Limits (one table in trace.c): 1 GiB of file, 16 MiB per line, 1,000,000 tokens per request,
 * 4096 hash ids per request, 1 MiB per given prompt, 10,000,000 requests.
 */
#ifndef LLMLOAD_TRACE_H
#define LLMLOAD_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "llmload/source.h"

/* Same order as the names of --trace-format (config_opts.c). */
typedef enum trace_format {
    TRACE_FORMAT_AUTO = 0, /* from the extension, then the first record's keys */
    TRACE_FORMAT_MOONCAKE,
    TRACE_FORMAT_AZURE,
    TRACE_FORMAT_OTEL,
    TRACE_FORMAT_JSONL
} trace_format;

#define TRACE_BLOCK_TOKENS 512 /* Mooncake's block of a hash id */

typedef struct trace trace;

typedef struct trace_entry {
    uint64_t offset_ns;        /* from the trace's start, unscaled */
    long input_tokens;         /* >= 1 */
    long output_tokens;        /* >= 1 */
    uint32_t session;          /* 1-based index of its session's first appearance; 0: none */
    uint32_t n_hash_ids;
    const uint64_t *hash_ids;  /* borrowed, valid until trace_destroy; NULL when n_hash_ids is 0 */
    const char *prompt;        /* jsonl's own prompt (NUL-terminated), borrowed; NULL: built */
    size_t prompt_len;
} trace_entry;

/* Reads path. *out owned by caller (trace_destroy). LL_ENOENT/LL_EIO for an unreadable file;
 * LL_EPARSE, LL_EOVERSIZE or LL_EUSAGE (format unknown) for bad content; LL_ENOMEM. Each with one
 * line in err naming the file (and the line, where there is one). */
int trace_load(trace **out, const char *path, trace_format fmt, char *err, size_t errlen);
/* The same from memory; name is used for the messages and (AUTO) its extension. */
int trace_parse(trace **out, const char *text, size_t len, const char *name, trace_format fmt, char *err,
                size_t errlen);
void trace_destroy(trace *t); /* NULL is fine */

size_t trace_size(const trace *t);
const trace_entry *trace_at(const trace *t, size_t i); /* i < trace_size; borrowed */
trace_format trace_kind(const trace *t);                /* the format read (never AUTO) */
uint32_t trace_sessions(const trace *t);                /* distinct sessions seen */
/* Offset of the last entry, unscaled. */
uint64_t trace_span_ns(const trace *t);

/* A loaded trace is only read from here on: the loops of --workers share one (trace_at and the
 * rest are safe from several threads). Each loop builds its prompts with a prompter of its own. */
typedef struct trace_prompter trace_prompter;

/* A prompter over t (borrowed, must outlive it) with the target's word costs (borrowed, same
 * lifetime; NULL = one token per word) and the seed that salts every word stream. Allocates its one
 * prompt buffer (the trace's largest prompt). *out owned by caller (trace_prompter_destroy).
 * 0 or LL_ENOMEM. */
int trace_prompter_create(trace_prompter **out, const trace *t, const source_costs *costs, uint64_t seed);
void trace_prompter_destroy(trace_prompter *p); /* NULL is fine */
/* Request i of the trace: its prompt (borrowed, valid until the next trace_request on p or
 * trace_prompter_destroy) and lengths. Allocates nothing. 0, or LL_EINVAL for i out of range. */
int trace_request(trace_prompter *p, size_t i, source_request *out);

/* "mooncake", "azure", "otel", "jsonl" ("auto" for AUTO); static string. */
const char *trace_format_name(trace_format f);

#endif
