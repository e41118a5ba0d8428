/*
 * request.h - builds the JSON body of one completion request (source -> request -> client).
 *
 * The parts that are the same for every request (model, API, stream options) are escaped once into
 * a request_template; each request then only copies the prompt in (escaping it) and prints
 * max_tokens, into a buffer the caller owns and reuses, so the hot path does not allocate once the
 * buffer has grown to the largest prompt.
 */
#ifndef LLMLOAD_REQUEST_H
#define LLMLOAD_REQUEST_H

#include <stddef.h>

#include "llmload/config.h"

typedef struct request_template request_template;

/* Builds a template for cfg's API and options with the given model name. *out owned by caller
 * (request_template_destroy). 0 or LL_ENOMEM. */
int request_template_create(request_template **out, const config *cfg, const char *model);
void request_template_destroy(request_template *t);

/* Writes the body for one prompt into *buf (grown with realloc when *cap is too small; the caller
 * owns *buf and frees it). Returns the body length (> 0) or LL_ENOMEM. */
long request_body_build(const request_template *t, const char *prompt, size_t prompt_len,
                        long max_tokens, char **buf, size_t *cap);

/* Sessions: writes a body whose conversation is the concatenation of the n_parts fragments, which
 * are already JSON and are copied verbatim: the members of the messages array (chat API), or the
 * escaped contents of the prompt string (completions API). Buffer rules as request_body_build.
 * Returns the body length (> 0) or LL_ENOMEM. */
long request_body_build_raw(const request_template *t, const char *const *parts, const size_t *lens,
                            size_t n_parts, long max_tokens, char **buf, size_t *cap);

/* Appends s as a JSON string body (without quotes) to out; out must have 6*len bytes free.
 * Returns bytes written. */
size_t request_json_escape(char *out, const char *s, size_t len);

/* The API path ("/v1/chat/completions" or "/v1/completions"); static string. */
const char *request_path(config_api api);

#endif
