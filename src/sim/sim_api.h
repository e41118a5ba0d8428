/*
 * sim_api.h - internal to the simulator tree: the OpenAI-compatible wire format. Parses a request
 * body once (cJSON) into the few numbers the engine needs, and formats vLLM-shaped responses: SSE
 * events from a per-request preformatted prefix (no cJSON, no allocation once the buffer is warm),
 * whole JSON bodies, and vLLM's error bodies. Sits between the server's HTTP layer and the engine.
 * Invariant: every event written is `data: <one line>\n\n`; only sim_api_event_malformed breaks JSON
 * and only sim_api_event_error writes other fields (`event: error`, `error:`).
 */
#ifndef LLMLOAD_SIM_API_H
#define LLMLOAD_SIM_API_H

#include <stddef.h>
#include <stdint.h>

#include "sim_buf.h"

enum sim_api_kind { SIM_API_CHAT, SIM_API_COMPLETIONS };
/* How chat tokens are carried (--content-shape). */
enum sim_api_shape { SIM_SHAPE_STRING = 0, SIM_SHAPE_PARTS, SIM_SHAPE_REFUSAL, SIM_SHAPE_THINKING_PARTS };
/* How an in-stream error is sent (--stream-error-shape). */
enum sim_api_error_shape { SIM_ERR_SHAPE_OBJECT = 0, SIM_ERR_SHAPE_EVENT, SIM_ERR_SHAPE_FIELD };

typedef struct sim_api_request {
    int stream;
    int include_usage, continuous_usage;
    int has_max_tokens;
    uint64_t max_tokens;
    int ignore_eos;
    uint64_t prompt_tokens;       /* by sim_tokenize's rule, template and truncation applied, >= 1 */
    uint64_t prompt_tokens_sent;  /* before --truncate-prompt-to cut it */
    uint64_t cached_tokens;       /* the prefix cache's hit (0 without one) */
    uint32_t model;               /* index of the model asked for in the opts' list (0 without one) */
} sim_api_request;

typedef struct sim_api_error {
    int status;                   /* HTTP status */
    const char *type;             /* static string, e.g. "BadRequestError" */
    char message[512];
    uint64_t n_prompt, n_ctx;     /* a too-long prompt (llama.cpp style): its count and the limit */
} sim_api_error;

/* Parses and validates a request body. `model` and the limit are the server's. Returns 0, or
 * LL_EPARSE / LL_EINVAL with *err filled with vLLM's status, type and message (LL_ERANGE: the
 * prompt does not fit max_model_len). Prompt tokens by sim_tokenize's rule. */
int sim_api_parse(enum sim_api_kind kind, const char *body, size_t len, const char *model,
                  uint64_t max_model_len, sim_api_request *req, sim_api_error *err);

/* Which server's too-long error the simulator imitates (--error-style). */
enum sim_api_error_style { SIM_API_ERRORS_VLLM = 0, SIM_API_ERRORS_LLAMACPP };

/* How a prompt is counted and limited beyond the word content (docs/simulator.md). */
typedef struct sim_api_prompt_opts {
    uint64_t max_model_len;
    uint64_t chat_template_tokens; /* added to every chat prompt (completions: none) */
    uint64_t truncate_to;          /* 0 = off; else count at most this many, silently */
    enum sim_api_error_style error_style;
    struct sim_prefix *prefix;     /* borrowed, NULL: no prefix cache; a parsed prompt is looked up */
    /* Several served models (borrowed): a request may name any of them (req->model says which);
     * n_models 0: only the `model` argument is served. */
    const char *const *models;
    uint32_t n_models;
} sim_api_prompt_opts;

/* sim_api_parse with the prompt options. With o->prefix, a request that parses is looked up in
 * (and added to) the prefix cache, template tokens first, and req->cached_tokens is its hit. In the llama.cpp style the limit is llama.cpp's (the
 * prompt alone must be shorter than the context) and a too-long prompt leaves err->n_prompt and
 * err->n_ctx set for sim_api_error_body_llamacpp. */
int sim_api_parse_opts(enum sim_api_kind kind, const char *body, size_t len, const char *model,
                       const sim_api_prompt_opts *o, sim_api_request *req, sim_api_error *err);

/* POST /tokenize: vLLM's shape ({"prompt": ..} or {"messages": [..]}, the chat template counted for
 * messages) and llama.cpp's ({"content": ..}). Appends {"count":N,"max_model_len":M,"tokens":[..]}
 * to out; in the llama.cpp error style, llama.cpp's answer instead: {"tokens":[..]}, and no tokens
 * for a body without text (llama.cpp ignores "messages"). LL_EINVAL with err filled for a bad body. */
int sim_api_tokenize(const char *body, size_t len, const sim_api_prompt_opts *o, sim_buf *out, sim_api_error *err);
/* POST /apply-template: llama.cpp's shape, {"messages": [..]} -> {"prompt": ".."}; the template is
 * chat_template_tokens '|' characters and a newline before the messages' text, one per line. */
int sim_api_apply_template(const char *body, size_t len, const sim_api_prompt_opts *o, sim_buf *out,
                           sim_api_error *err);
/* llama.cpp's error body {"error":{"code":N,"message":..,"type":..,"n_prompt_tokens":..,"n_ctx":..}}. */
int sim_api_error_body_llamacpp(sim_buf *out, int status, const char *type, const char *message,
                                uint64_t n_prompt, uint64_t n_ctx);

/* Appends vLLM's error body {"object":"error","message":..,"type":..,"param":null,"code":N}. */
int sim_api_error_body(sim_buf *out, int status, const char *type, const char *message);

#define SIM_API_PREFIX_MAX 400

/* Per-request formatting state; filled by sim_api_stream_init, no pointers into other memory. */
typedef struct sim_api_stream {
    enum sim_api_kind kind;
    uint64_t prompt_tokens;
    uint64_t reasoning_tokens;    /* chat only: tokens [0, N) are reasoning_content */
    int continuous_usage;
    char id[64];
    size_t prefix_len;
    char prefix[SIM_API_PREFIX_MAX]; /* `data: {"id":..,"object":..,"created":..,"model":..,"choices":[` */
    /* Other servers' shapes (sim_api_stream_shape); zero is vLLM's */
    enum sim_api_shape shape;
    int cumulative_message;       /* a `message` with the text so far beside every delta */
    int usage_on_finish;          /* usage on the finish chunk */
    int timings;                  /* llama.cpp timings on the finish chunk, from the two below */
    double prompt_ms, predicted_ms; /* set by the caller before the finish chunk is formatted */
} sim_api_stream;

/* Selects another server's chunk shapes for s (after sim_api_stream_init). */
void sim_api_stream_shape(sim_api_stream *s, enum sim_api_shape shape, int cumulative_message,
                          int usage_on_finish, int timings);
/* Perplexity's finish chunk: an empty delta beside the whole message, the finish reason, extras. */
int sim_api_event_finish(const sim_api_stream *s, sim_buf *out, uint64_t done, const char *finish);
/* An error reported inside the stream after tokens, in one of the shapes servers use. Ends with the
 * event's blank line; the caller decides what follows ([DONE] or nothing). */
int sim_api_event_error(sim_buf *out, enum sim_api_error_shape shape);

/* `model` must be JSON-safe (sim_config guarantees it) and at most 200 bytes. */
void sim_api_stream_init(sim_api_stream *s, enum sim_api_kind kind, uint64_t serial, uint64_t created,
                         const char *model, uint64_t prompt_tokens, uint64_t reasoning_tokens,
                         int continuous_usage);
/* Chat's first chunk: delta {"role":"assistant","content":""}. */
int sim_api_event_role(const sim_api_stream *s, sim_buf *out);
/* Tokens [first, first+n) in one event; `finish` is NULL, "length" or "stop". `done` is the running
 * completion count after this event (for continuous usage). */
int sim_api_event_tokens(const sim_api_stream *s, sim_buf *out, uint64_t first, uint32_t n,
                         const char *finish, uint64_t done);
/* The final usage chunk (choices: []). */
int sim_api_event_usage(const sim_api_stream *s, sim_buf *out, uint64_t completion_tokens);
/* One event whose data line is not valid JSON (fault injection). */
int sim_api_event_malformed(const sim_api_stream *s, sim_buf *out);
int sim_api_event_done(sim_buf *out);
/* The whole non-streaming response body. */
int sim_api_full_body(const sim_api_stream *s, sim_buf *out, uint64_t completion_tokens, const char *finish);

#endif
