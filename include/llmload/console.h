/*
 * console.h - what a person sees in the terminal (report stage): the live progress line while a
 * benchmark runs and the summary table after, rendered from the report document.
 */
#ifndef LLMLOAD_CONSOLE_H
#define LLMLOAD_CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cJSON;

/* tty=1 rewrites one line with \r; tty=0 prints a plain line. final ends the live line. */
void console_progress(FILE *f, int tty, const char *name, double elapsed_s, double rate,
                      size_t in_flight, uint64_t done, uint64_t errors, int final);

/* The summary table of every benchmark in doc, plus warnings (client-bound, errors, the knee of a
 * sweep). Returns 0 or LL_EPARSE when doc lacks the expected shape. */
int console_table(FILE *f, const struct cJSON *doc);

#endif
