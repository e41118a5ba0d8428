/*
 * chunk.h - the response fast path: classify one SSE event's JSON payload without building a tree.
 *
 * Sits after sse in the receive path (client -> sse -> chunk -> record). One pass over the bytes
 * with a small JSON lexer that tracks the key path; it allocates nothing and never reads outside
 * [data, data+len). Recognises OpenAI chat and completions chunks (vLLM, llama.cpp, TGI, SGLang,
 * Ollama, OpenAI, Mistral, Perplexity): `choices[0].delta.content` (a string, or an array of text
 * and thinking parts), `delta.reasoning_content` / `delta.reasoning`, `delta.refusal`,
 * `delta.tool_calls`, `choices[0].text`, `finish_reason`, the `usage` object (also the running
 * usage of continuous_usage_stats), llama.cpp's `timings` and a top-level `error` object.
 * Also read (extensions; docs/sse.md has the full rule): `choices[*].message` like `delta` when the
 * choice has no `delta` (a non-streamed response; beside a delta it is a cumulative copy, ignored), the legacy `delta.function_call` as a tool call, TGI's `eos_token` /
 * `stop_sequence` as STOP, a string `error` (TGI) and a bare `"object": "error"` body (vLLM).
 */
#ifndef LLMLOAD_CHUNK_H
#define LLMLOAD_CHUNK_H

#include <stddef.h>

enum chunk_finish {
    CHUNK_FINISH_NONE = 0,  /* null or absent */
    CHUNK_FINISH_STOP,
    CHUNK_FINISH_LENGTH,
    CHUNK_FINISH_TOOL_CALLS,
    CHUNK_FINISH_OTHER,
    CHUNK_FINISH_CONTENT_FILTER
};

typedef struct chunk_info {
    int output_chars;      /* length of escaped content/text/refusal string(s) and text parts
                            * (non-reasoning), > 0 is a token */
    int reasoning_chars;   /* length of reasoning_content / reasoning string(s) and thinking parts */
    int tool_call;         /* 1 when a delta carries tool_calls with any entry */
    int finish;            /* enum chunk_finish */
    int has_usage;         /* 1 when a non-null usage object was present */
    long prompt_tokens;    /* from usage; -1 when absent */
    long completion_tokens;
    int has_error;         /* 1 when a top-level "error" member (object or string) is present */
    int error_code;        /* error.code when numeric, else 0 */
    const char *error_msg; /* slice of data (still JSON-escaped): error.message; else a top-level
                            * "message" when the payload has no error member at all (the body of
                            * an `event: error` is often just {"message": ...}); NULL if none */
    size_t error_msg_len;
    const char *timings;   /* slice of data: the top-level llama.cpp "timings" object, validated;
                            * read it with chunk_timings. NULL if none */
    size_t timings_len;
    const char *output;    /* slice of data (still JSON-escaped, valid string contents): the last
                            * plain content/text string of the event (the one a session keeps as
                            * the reply's text); NULL when none */
    size_t output_len;
} chunk_info;

/* llama.cpp's own account of a request (the last event's "timings"). */
typedef struct chunk_server_timings {
    double prompt_n, prompt_ms, predicted_n, predicted_ms; /* -1 when absent; fractions kept */
} chunk_server_timings;

/* Reads a timings object (chunk_info.timings; one event per stream, so kept out of chunk_scan's
 * pass). Returns 0 or LL_EPARSE when obj is not one JSON object. */
int chunk_timings(const char *obj, size_t len, chunk_server_timings *out);

/* Scan one event payload. Returns 0 when it was a JSON object (fields filled, missing ones zero /
 * -1 as documented) or LL_EPARSE when it is not valid JSON (info then says nothing reliable). */
int chunk_scan(const char *data, size_t len, chunk_info *info);

/* What a stream's events repeat verbatim before "choices": [ (id, object, created, model). Embed
 * one per stream and zero it (chunk_prefix_reset) when a stream starts; chunk_scan_stream fills it
 * from the first event that validates and then skips those bytes in every later event that starts
 * with them: a third of the work on a typical vLLM chunk. */
#define CHUNK_PREFIX_MAX 240
#define CHUNK_SHAPE_MAX 128
typedef struct chunk_prefix {
    size_t len;
    char bytes[CHUNK_PREFIX_MAX];
    /* The shape of the stream's last plain token event (one content string, nothing else that
     * means anything to llmload): the bytes after the prefix up to the content string's opening
     * quote (mid) and from its closing quote to the end (tail). An event made of the prefix, the
     * same mid, a valid string and the same tail is that event with other text: only the
     * string is checked. mid_len 0: no shape known. */
    size_t mid_len, tail_len;
    char mid[CHUNK_SHAPE_MAX], tail[CHUNK_SHAPE_MAX];
} chunk_prefix;

static inline void chunk_prefix_reset(chunk_prefix *p) { p->len = 0; p->mid_len = 0; }

/* chunk_scan for the events of one stream: same results, same errors, faster. */
int chunk_scan_stream(const char *data, size_t len, chunk_prefix *pre, chunk_info *info);

/* True when the event carries a token by design.md's rule: non-empty content (string or parts),
 * reasoning (also thinking parts), refusal, text or a tool-call delta. A role-only or empty chunk is
 * not a token. */
static inline int chunk_has_token(const chunk_info *ci)
{
    return ci->output_chars > 0 || ci->reasoning_chars > 0 || ci->tool_call;
}

#endif
