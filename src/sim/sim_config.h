/*
 * sim_config.h - internal to the simulator tree: `llmload sim` options, parsed from one option
 * table that also writes --help. First box of the sim tree: config -> server -> engine.
 * Invariant: a parsed config is valid (rates in [0,1], counts >= 1), so no later stage re-checks.
 */
#ifndef LLMLOAD_SIM_CONFIG_H
#define LLMLOAD_SIM_CONFIG_H

#include <stdint.h>
#include <stdio.h>

/* One served model (--model NAME or NAME:TTFT_MS:ITL_MS, repeatable; docs/simulator.md). */
#define SIM_MAX_MODELS 16
typedef struct sim_model {
    char name[208];             /* JSON- and label-safe (checked), at most 200 bytes */
    int timed;                  /* its own timings below; else the global --ttft-ms / --itl-ms */
    double ttft_ms, itl_ms;
} sim_model;

typedef struct sim_config {
    char host[64];
    int port;
    /* The first model's name: points at models[0].name, so a copy of the struct must point it at
     * its own copy again (sim_config_fix_model). */
    const char *model;
    sim_model models[SIM_MAX_MODELS];
    uint32_t n_models;          /* >= 1 */
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
    int close_after_response;   /* SIM_CLOSE_*: how each connection ends after a response */
    uint64_t chat_template_tokens; /* prompt tokens a chat request's template adds */
    uint64_t truncate_prompt_to;   /* 0 = off: count at most this many prompt tokens */
    int no_tokenize;               /* POST /tokenize and /apply-template answer 404 */
    int error_style;               /* enum sim_api_error_style: whose too-long error to send */
    /* Real servers' stream shapes (docs/simulator.md "Stream shapes") */
    int no_done;                /* no data: [DONE] after the finish */
    int usage_on_finish;        /* usage rides on the finish chunk (Mistral), no usage-only chunk */
    int content_shape;          /* enum sim_api_shape: string, parts, refusal or thinking-parts */
    int cumulative_message;     /* a cumulative `message` beside every delta (Perplexity) */
    double stream_error_rate;   /* share of streams that report an error mid-stream */
    int stream_error_shape;     /* enum sim_api_error_shape: object, event or field */
    int timings;                /* llama.cpp's timings object in the last event */
    const char *finish_reason;  /* reported instead of stop/length when set */
    int no_continuous_usage;    /* ignore stream_options.continuous_usage_stats (most servers) */
    uint32_t listen_backlog;    /* listen(2) backlog */
    /* Server-side metrics (docs/simulator.md "Preemption", "Prefix cache", "GPU metrics") */
    int preemption;             /* vLLM's KV accounting: grow per token, preempt past the budget */
    uint64_t prefix_cache_tokens; /* 0 = off */
    int metrics_style;          /* enum sim_metrics_style: vllm or llamacpp names */
    int gpu_metrics;            /* DCGM exporter names on /metrics */
    double gpu_idle_watts, gpu_watts_per_seq;
    uint32_t gpu_full_batch;    /* running sequences that keep every SM busy */
} sim_config;

/* --close-after-response: keep-alive (off), or close each connection after its response with
 * Connection: close (header), without it (silent), or without it SIM_LATE_CLOSE_MS later (late,
 * as llama-server does: a request written into that gap is read, counted, and never answered). */
enum { SIM_CLOSE_OFF, SIM_CLOSE_HEADER, SIM_CLOSE_SILENT, SIM_CLOSE_LATE };
#define SIM_LATE_CLOSE_MS 3

enum { SIM_CONFIG_RUN = 0, SIM_CONFIG_HELP = 1 };

/* Fills *cfg from argv (argv[0] is "sim"; strings stay borrowed from argv). Returns SIM_CONFIG_RUN,
 * SIM_CONFIG_HELP (help already printed to `out`), or LL_EUSAGE after writing one line to `err`. */
int sim_config_parse(sim_config *cfg, int argc, char **argv, FILE *out, FILE *err);
/* Points cfg->model at cfg's own models[0].name (after copying a parsed config). */
void sim_config_fix_model(sim_config *cfg);
/* The index of the served model named name (len bytes), or -1. */
int sim_config_find_model(const sim_config *cfg, const char *name, size_t len);

#endif
