/*
 * sim_reqlog.h - internal to the simulator tree: `llmload sim --request-log FILE`, one JSON line per
 * chat/completions request that parsed, so tests (and people) can see what a client sent: the
 * session tests check that a later turn carries the history. Off the request path unless enabled:
 * the server holds a NULL log then and nothing is formatted.
 */
#ifndef LLMLOAD_SIM_REQLOG_H
#define LLMLOAD_SIM_REQLOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_api.h"

/* Opens path for appending (line-buffered by explicit flushes). *out owned by caller (fclose).
 * 0, or -1 with one line on stderr naming the file. */
int sim_reqlog_open(const char *path, FILE **out);

/* Writes {"t":EPOCH_S,"api":"chat"|"completions","model":..,"messages":N,"prompt_tokens":N,
 * "cached_tokens":N,"body":BODY} and flushes. body is the request's JSON, already validated by
 * sim_api_parse, so it is embedded as is; "messages" is -1 for the completions API. Write
 * errors are not reported: the log is a testing aid and must not fail a request. */
void sim_reqlog_write(FILE *f, enum sim_api_kind kind, const char *body, size_t len, const sim_api_request *req);

#endif
