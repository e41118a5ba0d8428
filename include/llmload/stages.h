/*
 * stages.h - the --stages spec: "RATE:DURATION,RATE:DURATION,..." (config, before the plans).
 *
 * Each stage is one open-loop benchmark at RATE req/s for DURATION (seconds, or with an s, m or h
 * suffix: "10:60s,20:1m,40:2m"), run back to back; cmd_run turns them into plans named
 * stage1@RATE, stage2@RATE... The parser is the one check of the text: config_validate and the run
 * command both call it, so a spec that passes one passes the other.
 */
#ifndef LLMLOAD_STAGES_H
#define LLMLOAD_STAGES_H

#include <stddef.h>

#define STAGES_MAX 1000 /* stages in one spec */

typedef struct stage {
    double rate;       /* req/s, > 0 */
    double seconds;    /* > 0 */
} stage;

/* Parses spec into out[0..*n) (cap entries at most). 0, or LL_EUSAGE with one line in why (no
 * option name: the caller prefixes it). out may be NULL to only check and count. */
int stages_parse(const char *spec, stage *out, size_t cap, size_t *n, char *why, size_t whylen);

#endif
