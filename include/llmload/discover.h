/*
 * discover.h - the preflight before a run (config -> discover -> bench): checks that the target
 * answers, within --connect-timeout, and learns the model name from GET /v1/models when --model
 * was not given. A blocking request on its own curl handle, made once before the loop starts.
 */
#ifndef LLMLOAD_DISCOVER_H
#define LLMLOAD_DISCOVER_H

#include "llmload/config.h"

/* On success *model is the model to use (ownership moves to caller: free). Returns LL_ECONNECT
 * (target unreachable), LL_EPROTO (it answered but not as an OpenAI server, or refused the key),
 * or LL_ENOMEM, with one line in err naming the target. */
int discover_model(const config *cfg, char **model, char *err, size_t errlen);

#endif
