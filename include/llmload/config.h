/*
 * config.h - the resolved settings of one `llmload run` (first box of the data flow).
 *
 * Built in four layers, later ones winning: defaults (config_init), a profile JSON file (the
 * positional PROFILE.json argument; same keys as the long flags, e.g. "max-seconds" or
 * "max_seconds"), LLMLOAD_* environment variables (one per option, LLMLOAD_MAX_SECONDS), then
 * command-line flags. All options live in one table in config_opts.c, which also generates
 * `llmload run --help`. Every string in the struct is owned by the config and freed by
 * config_free. A plain struct rather than an opaque one: it is read-only data that every later
 * stage reads, and tests build it field by field.
 */
#ifndef LLMLOAD_CONFIG_H
#define LLMLOAD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum config_api { CONFIG_API_CHAT = 0, CONFIG_API_COMPLETIONS } config_api;

/* Which HTTP client sends the requests (--http-client): auto picks builtin for http:// targets
 * without a proxy variable in the environment, curl otherwise. */
typedef enum config_http_client {
    CONFIG_HTTP_CLIENT_AUTO = 0,
    CONFIG_HTTP_CLIENT_BUILTIN,
    CONFIG_HTTP_CLIENT_CURL
} config_http_client;

typedef enum config_schedule {
    CONFIG_SCHED_SYNCHRONOUS = 0, /* one request at a time */
    CONFIG_SCHED_CONCURRENT,      /* rate = streams kept in flight (closed loop) */
    CONFIG_SCHED_THROUGHPUT,      /* as many as max_concurrency allows, all at once */
    CONFIG_SCHED_CONSTANT,        /* rate = req/s, evenly spaced (open loop) */
    CONFIG_SCHED_POISSON,         /* rate = req/s, exponential gaps (open loop) */
    CONFIG_SCHED_SWEEP,           /* rate = number of points */
    CONFIG_SCHED_SLO_SEARCH,      /* no rate: probes rates (or streams) for the highest meeting --slo */
    CONFIG_SCHED_TRACE            /* --trace: each request at its recorded offset (open loop; trace.h) */
} config_schedule;

/* --ramp-up: the curve the rate (or a closed loop's streams) follows to the target (arrival.h's
 * arrival_ramp has the same values and the exact curves). */
typedef enum config_ramp { CONFIG_RAMP_NONE = 0, CONFIG_RAMP_LINEAR, CONFIG_RAMP_EXPONENTIAL } config_ramp;
/* The order dataset records are sent in (--data-sampling). */
typedef enum config_sampling {
    CONFIG_SAMPLING_SHUFFLE = 0, /* a seeded permutation, repeated when the run outlasts the file */
    CONFIG_SAMPLING_SEQUENTIAL,  /* file order, repeated */
    CONFIG_SAMPLING_RANDOM       /* each request an independent seeded draw (with replacement) */
} config_sampling;

/* Synthetic data: token counts drawn from a normal distribution, clamped to [min, max] and
 * rounded; stdev 0 means every request gets the mean. Or a dataset file (path set). */
typedef struct config_data {
    char *path;                 /* dataset file; NULL for synthetic */
    double prompt_tokens;       /* default 256 */
    double prompt_tokens_stdev; /* default 0 */
    long prompt_tokens_min;     /* default 1 */
    long prompt_tokens_max;     /* default 1000000 */
    double output_tokens;       /* default 128 */
    double output_tokens_stdev; /* default 0 */
    long output_tokens_min;     /* default 1 */
    long output_tokens_max;     /* default 1000000 */
    long prefix_tokens;         /* shared prefix in every prompt (prefix-cache studies), default 0 */
    long prefix_count;          /* different prefixes, one picked per request (seeded), default 1 */
    int sampling;               /* dataset order: config_sampling, default CONFIG_SAMPLING_SHUFFLE */
    long max_records;           /* dataset: use at most this many records (the file's first); 0 = all */
    /* Added: the target's per-word token costs (calibrate.h), so synthetic prompts are built to
     * token counts as the server counts them; NULL (default) = one token per word. Borrowed: set
     * by the run command after calibrating, valid for the run; config_data_free leaves it. */
    const struct source_costs *costs;
    /* Sessions (session.h, docs/workloads.md): turns of a synthetic session (default 1: none) and
     * the think time before each later turn, seconds (normal, clamped at 0). */
    long turns;
    double think_time;
    double think_time_stdev;
    long turn_prompt_tokens;    /* prompt length of turns 2.. (0: drawn as turn 1's), default 0 */
    /* Added: the dataset file (path) loaded once by the run command, shared read-only by every
     * benchmark's and worker's source (dataset_read), so a large file is indexed once, before any
     * start time is set. Borrowed, valid for the run; NULL: each source loads path itself. */
    const struct dataset *dataset;
} config_data;

typedef struct config {
    char *profile_path;        /* the profile file loaded, or NULL */
    char *target;              /* base URL, no trailing '/'; required (flag, profile or LLMLOAD_TARGET) */
    config_api api;
    char *model;               /* NULL: first id from GET /v1/models */
    char *api_key_env;         /* name of the variable holding the key */
    char *api_key;             /* its value; secret: never printed or written to a report */
    char **headers;            /* "K: V" strings, n_headers of them */
    size_t n_headers;
    config_schedule schedule;
    double *rates;             /* n_rates values; schedules without a rate get one 0 entry */
    size_t n_rates;
    int sweep_poisson;         /* --sweep-arrivals poisson */
    double max_seconds;        /* default 30 (0 = no time limit, then max_requests must be set) */
    long max_requests;         /* default 0 = no limit */
    double warmup_s, cooldown_s;
    long max_concurrency;      /* cap on in-flight requests; default 512 (throughput, open loop) */
    config_data data;
    uint64_t seed;             /* default 42 */
    char *out_dir;             /* NULL: no files written */
    char *slo;                 /* raw --slo text, parsed by the gate */
    char *pushgateway, *job;
    char *metrics_listen;
    char *server_metrics;      /* URL, or "" for <target>/metrics; NULL = off */
    int shard_index, shard_count; /* 0/1 when not sharded */
    double start_at;           /* epoch seconds, 0 = now */
    double request_timeout_s;  /* until the first byte; default 600 */
    double stream_timeout_s;   /* longest silence mid-stream; default 60 */
    double connect_timeout_s;  /* default 5 */
    double drain_s;            /* in-flight grace after SIGINT/SIGTERM; default 5 */
    double grace_s;            /* in-flight grace after the time limit; default 60 */
    int respect_retry_after;
    int insecure;
    char *ca_cert;
    config_http_client http_client; /* as given (default auto); config_transport resolves it */
    int proxy_env;             /* http_proxy, all_proxy or ALL_PROXY was set (curl would use it) */
    int workers;               /* event loops (threads); default 1 */
    int stream_usage;          /* ask stream_options.include_usage (default 1) */
    int continuous_usage;      /* ask stream_options.continuous_usage_stats (default 0) */
    int ignore_eos;            /* send ignore_eos (default 1) */
    int progress;              /* -1 auto (a tty), 0 off, 1 on */
    int quiet;
    int calibrate;             /* measure the target's prompt counts before the first benchmark (default 1) */
    int require_done;          /* a stream without data: [DONE] is an error even after a finish_reason */
    /* --server-metrics given more than once (a replica each, a GPU exporter): the second and later
     * URLs, in order; server_metrics holds the first. At most CONFIG__MAX_SERVER_METRICS in all. */
    char **server_metrics_extra;
    size_t n_server_metrics_extra;
    double server_metrics_interval_s; /* default 1 */
    char *server_metrics_keep;        /* regex of raw metric names to keep, or NULL */
    int repeat;                /* runs of each benchmark (--repeat); default 1 */
    long users;                /* --users N: N users running sessions (closed loop); 0 = off */
    char *target_precision;    /* raw --target-precision ("ttft_p95=5%"), parsed by precision.h; or NULL */
    /* Model mix (--model a=0.7,b=0.3 or a,b; docs/workloads.md): every model in order, model being
     * a copy of models[0]. n_models is 0 without --model (discovery), 1 for a single model. */
    char **models;
    double *model_weights;     /* n_models weights summing to 1 (equal when none were given) */
    size_t n_models;
    int model_weighted;        /* weights were given */
    int model_order;           /* --model-order: model_mix_order (weighted, round-robin) */
    /* Client-side cancellation (docs/workloads.md "Cancellation") */
    double cancel_rate;        /* --cancel-rate: seeded share of streams abandoned; default 0 */
    double cancel_after_s;     /* --cancel-after-ms: abandoned this long after the send */
    int search_concurrency;    /* slo-search: --search-over concurrency (streams) rather than rate */
    double search_precision;   /* slo-search: relative width at which the search stops; default 0.05 */
    /* Arrival shapes and early stop (docs/workloads.md; arrival.h, stages.h, earlystop.h). */
    double burstiness;         /* gamma shape of Poisson gaps; default 1 (exponential) */
    config_ramp ramp_up;       /* default none */
    double ramp_up_s;          /* the ramp's length; counted as warmup */
    char *stages;              /* raw --stages ("10:60s,20:60s"), parsed by stages.h; or NULL */
    int schedule_given;        /* --schedule was set by some layer (--stages accepts only the open loops) */
    double max_error_rate;     /* 0 = off; else a share in (0, 1] */
    double error_window_s;     /* default 10 */
    int stop_when_saturated;
    double saturation_window_s; /* default 10 */
    /* Trace replay (--trace FILE, docs/workloads.md): the file, its format (trace_format of trace.h;
     * 0 = from the file) and the speed (offsets divided by it; default 1). Giving --trace sets the
     * schedule to CONFIG_SCHED_TRACE. */
    char *trace;
    int trace_format;
    double trace_speed;
    /* The trace, loaded once by the run command and read by every loop; NULL: each benchmark
     * loads it. Borrowed, valid for the run; config_free leaves it. */
    const struct trace *trace_data;
} config;

/* Defaults, and the OPENAI_API_KEY variable when set (LLMLOAD_* variables are a layer of
 * config_parse_run). Returns 0 or LL_ENOMEM. */
int config_init(config *c);
void config_free(config *c);

/* Parses `llmload run` arguments (argv[0] is "run"): loads the profile named by the first
 * positional argument, then the LLMLOAD_* environment variables (one per option), then the flags, then reads the api key and runs config_validate
 * (so a 0 return is a complete, checked config). Uses getopt_long, so not thread-safe: call it
 * from main before starting threads. argv strings are only borrowed during the call (the pointers
 * in argv are not reordered). On a bad flag, value or profile returns LL_EUSAGE
 * (or LL_ENOENT / LL_EIO for an unreadable profile) and writes one line, naming the input and what
 * is wrong, to err. Returns 1 (not an error) when --help was given and printed to stdout. */
int config_parse_run(config *c, int argc, char **argv, char *err, size_t errlen);

/* Loads a profile file into c (keys override what c has). Same error contract as above. */
int config_load_profile(config *c, const char *path, char *err, size_t errlen);
/* Loads a profile from memory (what config_load_profile and the fuzzer use). */
int config_load_profile_text(config *c, const char *text, size_t len, const char *name, char *err,
                             size_t errlen);

/* Parses a --data value: a synthetic spec "prompt_tokens=256,output_tokens=128,..." or, when it
 * names an existing file or ends in .jsonl/.json/.csv/.txt, a dataset path. LL_EUSAGE + err on error. */
int config_parse_data(config_data *d, const char *spec, char *err, size_t errlen);
/* Added: config_data's defaults (the comments above), for a config_data used on its own (the
 * source's tests, the fuzzer); config_init calls it. config_data_free frees path (safe twice). */
void config_data_init(config_data *d);
void config_data_free(config_data *d);

/* Checks cross-field rules (target present and http(s), limits set, warmup+cooldown < duration...). */
int config_validate(const config *c, char *err, size_t errlen);

/* Names for enum values ("chat", "poisson"...); static strings. */
const char *config_api_name(config_api a);
const char *config_http_client_name(config_http_client h);

/* url with any "user:pass@" shown as "<redacted>@" (for reports and error lines), written into buf
 * (len bytes, truncated to fit); returns buf. */
const char *config_redact_url(const char *url, char *buf, size_t len);

/* The URL of path (from '/': "/v1/chat/completions", "/v1/models", "/tokenize", "/metrics") on the
 * target, the one rule every request and probe follows: the target's scheme, authority and path
 * prefix, less a trailing "/v1" (the OpenAI SDK's habit: "http://h:8000/v1" is the same server as
 * "http://h:8000"), then path, then the target's query string (Azure's "?api-version=..."), which
 * every request keeps. A fragment is dropped. Written into buf like snprintf (NUL-terminated,
 * truncated to len); returns the length the whole URL needs. strlen(target) + strlen(path) + 2
 * bytes always suffice. */
size_t config_target_url(const char *target, const char *path, char *buf, size_t len);

/* The client that will send the requests: CONFIG_HTTP_CLIENT_BUILTIN or _CURL, never AUTO. */
config_http_client config_transport(const config *c);
const char *config_schedule_name(config_schedule s);

/* Writes the resolved config as a cJSON object (api_key and header values redacted) into
 * *out (ownership moves to caller: cJSON_Delete). Returns 0 or LL_ENOMEM. */
struct cJSON;
int config_to_json(const config *c, struct cJSON **out);

void config_print_run_help(FILE *f);

#endif
