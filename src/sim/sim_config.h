/*
 * sim_config.h - internal to the simulator tree: `llmload sim` options, parsed from one option
 * table that also writes --help. First box of the sim tree: config -> server -> engine.
 * Invariant: a parsed config is valid (rates in [0,1], counts >= 1), so no later stage re-checks.
 */
#ifndef LLMLOAD_SIM_CONFIG_H
#define LLMLOAD_SIM_CONFIG_H

#include <stdint.h>
#include <stdio.h>

typedef struct sim_config {
    char host[64];
    int port;
    const char *model;          /* borrowed from argv, valid for the process */
    const char *api_key;        /* borrowed from argv or NULL */
    uint32_t max_num_seqs;
    uint64_t kv_cache_tokens;
    double ttft_ms, prefill_ms_per_1k, itl_ms, itl_ms_per_seq;
    uint64_t max_model_len;
    double output_tokens, output_tokens_stdev;
    uint32_t tokens_per_event;
    uint64_t reasoning_tokens;
    double early_eos_rate;
    uint64_t seed;
    double error_rate, rate_limit_rate, disconnect_rate, malformed_rate, stall_rate;
    double stall_seconds;
    uint64_t max_body_bytes;
    uint32_t listen_backlog;    /* listen(2) backlog */
} sim_config;

enum { SIM_CONFIG_RUN = 0, SIM_CONFIG_HELP = 1 };

/* Fills *cfg from argv (argv[0] is "sim"; strings stay borrowed from argv). Returns SIM_CONFIG_RUN,
 * SIM_CONFIG_HELP (help already printed to `out`), or LL_EUSAGE after writing one line to `err`. */
int sim_config_parse(sim_config *cfg, int argc, char **argv, FILE *out, FILE *err);

#endif
