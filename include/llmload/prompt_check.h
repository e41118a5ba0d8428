/*
 * prompt_check.h - what the run tells the user about prompt lengths (aggregate -> report/console):
 * how the calibration went, and after the benchmarks, prompts the server counted well short of
 * what was asked (it truncated them) and prompts it rejected as longer than its context, with the
 * limit named when the server's message or /v1/models gives it.
 */
#ifndef LLMLOAD_PROMPT_CHECK_H
#define LLMLOAD_PROMPT_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "llmload/bench.h"
#include "llmload/calibrate.h"
#include "llmload/config.h"
#include "llmload/record.h"

/* A request whose prompt the server counted more than this share below the asked length. */
#define PROMPT_CHECK_TRUNCATED_BELOW 0.9

/* One line on f saying how prompts are built (calibrated, or why not); a warning when the check
 * after calibrating missed by more than 3% and 2 tokens. Prints nothing for --no-calibrate. */
void prompt_check_calibration(FILE *f, const calibrate_result *cal, const config *cfg);

/* 1 when r is a completed request whose server count (from usage) is more than 10% below asked. */
int prompt_check_truncated(const record *r);
/* 1 when r was refused with HTTP 400 for being longer than the context; msg is its error text. */
int prompt_check_too_long(const record *r, const char *msg);
/* The limit a too-long message names ("maximum context length is N", "context size (N tokens)",
 * "n_ctx": N, "max_model_len" N), else 0. */
long prompt_check_limit_in_message(const char *msg);

/* 1 when some benchmark has too-long prompts whose limit no message named (worth asking
 * /v1/models; a truncation warning does without it). */
int prompt_check_needs_limit(const bench_result *results, size_t n);

/* Warnings on f for each benchmark with truncated or too-long prompts; max_model_len (0: unknown)
 * names the limit when no message does. Returns the number of warnings printed. */
int prompt_check_results(FILE *f, const bench_result *results, size_t n, long max_model_len);

/* Adds "prompts": {"truncated", "too_long", "limit"} to each benchmark of report.json's doc (the
 * i-th benchmark from results[i]). 0 or LL_ENOMEM. */
struct cJSON;
int prompt_check_annotate(struct cJSON *doc, const bench_result *results, size_t n, long max_model_len);

#endif
