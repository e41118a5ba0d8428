/*
 * sim_config.c - `llmload sim` flags: one table gives getopt_long its options, the parser its types
 * and bounds, and --help its lines (as wrk's option table does), so they cannot drift apart.
 * Invariant: every default in the table is applied before argv is read.
 */
#include "sim_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

/* K_CHOICE: one of the words of the metavariable "a|b|c"; the int field gets its index. */
/* K_MODEL: NAME or NAME:TTFT_MS:ITL_MS, repeatable (the first one given replaces the default). */
enum opt_kind { K_LISTEN, K_STR, K_U32, K_U64, K_DBL, K_RATE, K_HELP, K_FLAG, K_CHOICE, K_MODEL };

typedef struct opt_def {
    const char *name;
    enum opt_kind kind;
    size_t off;
    double min, max;
    const char *def;     /* default, as text (NULL: none) */
    const char *arg;     /* metavariable for --help */
    const char *help;
} opt_def;

#define OFF(f) offsetof(sim_config, f)
static const opt_def opts[] = {
    {"listen", K_LISTEN, 0, 0, 0, "127.0.0.1:8000", "ADDR:PORT", "where to listen (port 0: the OS chooses)"},
    {"model", K_MODEL, 0, 0, 0, "llmload-sim", "NAME[:TTFT_MS:ITL_MS]",
     "model id served, repeatable (all listed by /v1/models; other names get 404); TTFT_MS and ITL_MS "
     "give it its own prefill and decode step times instead of --ttft-ms and --itl-ms"},
    {"max-num-seqs", K_U32, OFF(max_num_seqs), 1, 1e7, "256", "N", "sequences running at once"},
    {"kv-cache-tokens", K_U64, OFF(kv_cache_tokens), 1, 1e15, "1000000", "N", "tokens held by running sequences at most"},
    {"ttft-ms", K_DBL, OFF(ttft_ms), 0, 1e7, "50", "MS", "fixed prefill time"},
    {"prefill-ms-per-1k", K_DBL, OFF(prefill_ms_per_1k), 0, 1e7, "0", "MS", "prefill time per 1000 prompt tokens"},
    {"itl-ms", K_DBL, OFF(itl_ms), 0, 1e7, "10", "MS", "fixed decode step time"},
    {"itl-ms-per-seq", K_DBL, OFF(itl_ms_per_seq), 0, 1e7, "0", "MS", "decode step growth per running sequence"},
    {"max-model-len", K_U64, OFF(max_model_len), 1, 1e12, "32768", "N", "prompt + max_tokens limit (400 beyond)"},
    {"output-tokens", K_DBL, OFF(output_tokens), 1, 1e9, "128", "N", "mean drawn output length"},
    {"output-tokens-stdev", K_DBL, OFF(output_tokens_stdev), 0, 1e9, "0", "N", "stdev of the drawn output length"},
    {"tokens-per-event", K_U32, OFF(tokens_per_event), 1, 1e6, "1", "K", "tokens per SSE event (per decode step)"},
    {"reasoning-tokens", K_U64, OFF(reasoning_tokens), 0, 1e9, "0", "N", "first N chat tokens sent as reasoning_content"},
    {"early-eos-rate", K_RATE, OFF(early_eos_rate), 0, 1, "0", "P", "share of requests ended early (finish_reason stop)"},
    {"seed", K_U64, OFF(seed), 0, 18446744073709551615.0, "0", "N", "seed for every random choice"},
    {"error-rate", K_RATE, OFF(error_rate), 0, 1, "0", "P", "share answered HTTP 500"},
    {"rate-limit-rate", K_RATE, OFF(rate_limit_rate), 0, 1, "0", "P", "share answered HTTP 429 (Retry-After: 1)"},
    {"disconnect-rate", K_RATE, OFF(disconnect_rate), 0, 1, "0", "P", "share of streams cut after >= 1 token"},
    {"malformed-rate", K_RATE, OFF(malformed_rate), 0, 1, "0", "P", "share of streams with one invalid-JSON event"},
    {"stall-rate", K_RATE, OFF(stall_rate), 0, 1, "0", "P", "share of streams that stop sending after >= 1 token"},
    {"stall-seconds", K_DBL, OFF(stall_seconds), 0, 1e7, "300", "S", "how long a stalled stream is held open"},
    {"api-key", K_STR, OFF(api_key), 0, 0, NULL, "KEY", "require Authorization: Bearer KEY or X-API-Key: KEY"},
    {"max-body-bytes", K_U64, OFF(max_body_bytes), 1, 1e12, "4194304", "N", "request body limit (413 beyond)"},
    {"close-after-response", K_CHOICE, OFF(close_after_response), 0, 0, "off", "off|header|silent|late",
     "close each connection after its response: with Connection: close, without it, or without it 3 ms later"},
    {"chat-template-tokens", K_U64, OFF(chat_template_tokens), 0, 1e9, "0", "N", "prompt tokens a chat request's template adds (completions: none)"},
    {"truncate-prompt-to", K_U64, OFF(truncate_prompt_to), 0, 1e12, "0", "N", "count at most N prompt tokens, silently, as llama.cpp cuts (0: off)"},
    {"no-tokenize", K_FLAG, OFF(no_tokenize), 0, 0, NULL, NULL, "answer POST /tokenize and /apply-template with 404"},
    {"error-style", K_CHOICE, OFF(error_style), 0, 0, "vllm", "vllm|llamacpp", "whose HTTP 400 body a too-long prompt gets"},
    {"no-done", K_FLAG, OFF(no_done), 0, 0, NULL, NULL, "end streams after the finish chunk without data: [DONE]"},
    {"usage-on-finish", K_FLAG, OFF(usage_on_finish), 0, 0, NULL, NULL,
     "put usage on the finish chunk (the last tokens' event), not in a chunk of its own (Mistral)"},
    {"content-shape", K_CHOICE, OFF(content_shape), 0, 0, "string", "string|parts|refusal|thinking-parts",
     "chat tokens as string content, parts ([{type:text}]), refusal, or thinking-parts (Mistral; with --reasoning-tokens)"},
    {"cumulative-message", K_FLAG, OFF(cumulative_message), 0, 0, NULL, NULL,
     "a cumulative message beside every delta, and a finish chunk with an empty delta (Perplexity)"},
    {"stream-error-rate", K_RATE, OFF(stream_error_rate), 0, 1, "0", "P", "share of streams that report an error after >= 1 token"},
    {"stream-error-shape", K_CHOICE, OFF(stream_error_shape), 0, 0, "object", "object|event|field",
     "how: object (data: {\"error\":..}), event (event: error), field (error: ..)"},
    {"timings", K_FLAG, OFF(timings), 0, 0, NULL, NULL, "llama.cpp's timings object in the last event (prompt_ms = prefill time)"},
    {"finish-reason", K_STR, OFF(finish_reason), 0, 0, NULL, "NAME", "report NAME (e.g. content_filter) as every finish_reason"},
    {"no-continuous-usage", K_FLAG, OFF(no_continuous_usage), 0, 0, NULL, NULL,
     "ignore stream_options.continuous_usage_stats, as servers other than vLLM do"},
    {"listen-backlog", K_U32, OFF(listen_backlog), 1, 65535, "4096", "N",
     "listen queue length (llama-server's is 5: connects beyond it wait for SYN retransmits)"},
    {"preemption", K_FLAG, OFF(preemption), 0, 0, NULL, NULL,
     "vLLM's KV accounting: sequences hold prompt + tokens made; past --kv-cache-tokens the youngest is preempted"},
    {"prefix-cache-tokens", K_U64, OFF(prefix_cache_tokens), 0, 1e8, "0", "N",
     "prefix cache of N tokens in blocks of 16 (LRU); a hit skips that prefill (0: off)"},
    {"metrics-style", K_CHOICE, OFF(metrics_style), 0, 0, "vllm", "vllm|llamacpp|llamacpp-legacy",
     "/metrics in vLLM's names, or llama.cpp's (then GET /slots answers too; -legacy: with the KV gauge older builds had)"},
    {"gpu-metrics", K_FLAG, OFF(gpu_metrics), 0, 0, NULL, NULL, "DCGM exporter metrics (GPU util, SM active, power, energy) on /metrics"},
    {"gpu-idle-watts", K_DBL, OFF(gpu_idle_watts), 0, 700, "60", "W", "--gpu-metrics: power with nothing running"},
    {"gpu-watts-per-seq", K_DBL, OFF(gpu_watts_per_seq), 0, 700, "20", "W", "--gpu-metrics: power added per running sequence (700 W at most)"},
    {"gpu-full-batch", K_U32, OFF(gpu_full_batch), 1, 1e7, "8", "N", "--gpu-metrics: running sequences that make SM activity 1"},
    {"help", K_HELP, 0, 0, 0, NULL, NULL, "print this help and exit"},
};
#undef OFF
#define NOPTS (sizeof opts / sizeof opts[0])

static void print_help(FILE *f)
{
    fprintf(f, "usage: llmload sim [options]\n\n"
               "An OpenAI-compatible server that models an inference engine (docs/simulator.md).\n\n"
               "options:\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char lhs[64];
        snprintf(lhs, sizeof lhs, "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                 opts[i].arg ? opts[i].arg : "");
        /* A long left side (a list of choices) gets a line of its own, as `llmload run --help` does. */
        if (strlen(lhs) > 28)
            fprintf(f, "  %s\n  %-28s %s", lhs, "", opts[i].help);
        else
            fprintf(f, "  %-28s %s", lhs, opts[i].help);
        if (opts[i].def)
            fprintf(f, " (default %s)", opts[i].def);
        else if (opts[i].kind == K_FLAG)
            fprintf(f, " (default off)");
        else if (opts[i].kind != K_HELP)
            fprintf(f, " (default none)");
        fputc('\n', f);
    }
}

static int parse_listen(sim_config *cfg, const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || (size_t)(colon - v) >= sizeof cfg->host)
        return LL_EUSAGE;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        return LL_EUSAGE;
    /* "[::1]:8000" names an IPv6 address; keep it without the brackets. */
    const char *h = v;
    size_t hl = (size_t)(colon - v);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    memcpy(cfg->host, h, hl);
    cfg->host[hl] = '\0';
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, cfg->host, addr) != 1 && inet_pton(AF_INET6, cfg->host, addr) != 1)
        return LL_EUSAGE;   /* numeric addresses only: no resolver on the startup path */
    cfg->port = (int)port;
    return 0;
}

/* A millisecond count of --model's NAME:TTFT_MS:ITL_MS: a plain non-negative decimal. */
static int parse_ms(const char *s, size_t len, double *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return LL_EUSAGE;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (errno || *end || !isfinite(d) || d < 0 || d > 1e7 || !(buf[0] >= '0' && buf[0] <= '9'))
        return LL_EUSAGE;
    *out = d;
    return 0;
}

static int parse_model(sim_config *cfg, const char *v)
{
    if (cfg->n_models >= SIM_MAX_MODELS)
        return LL_EUSAGE;
    sim_model *m = &cfg->models[cfg->n_models];
    memset(m, 0, sizeof *m);
    size_t nlen = strcspn(v, ":");
    /* Names are pasted into JSON and Prometheus labels unescaped: keep them plain. */
    if (nlen == 0 || nlen > 200 || memchr(v, '"', nlen) || memchr(v, '\\', nlen) || memchr(v, '\n', nlen) ||
        memchr(v, '\r', nlen) || memchr(v, '\t', nlen))
        return LL_EUSAGE;
    if (v[nlen] == ':') {
        const char *t = v + nlen + 1;
        size_t tlen = strcspn(t, ":");
        if (t[tlen] != ':' || parse_ms(t, tlen, &m->ttft_ms) < 0 ||
            parse_ms(t + tlen + 1, strlen(t + tlen + 1), &m->itl_ms) < 0)
            return LL_EUSAGE;
        m->timed = 1;
    }
    memcpy(m->name, v, nlen);
    m->name[nlen] = '\0';
    if (sim_config_find_model(cfg, m->name, nlen) >= 0)
        return LL_EUSAGE; /* named twice */
    cfg->n_models++;
    sim_config_fix_model(cfg);
    return 0;
}

void sim_config_fix_model(sim_config *cfg)
{
    cfg->model = cfg->models[0].name;
}

int sim_config_find_model(const sim_config *cfg, const char *name, size_t len)
{
    for (uint32_t i = 0; i < cfg->n_models; i++)
        if (strlen(cfg->models[i].name) == len && memcmp(cfg->models[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static int apply(sim_config *cfg, const opt_def *o, const char *v)
{
    char *base = (char *)cfg;
    if (o->kind == K_LISTEN)
        return parse_listen(cfg, v);
    if (o->kind == K_MODEL)
        return parse_model(cfg, v);
    if (o->kind == K_CHOICE) {
        /* The words of o->arg, in order: "off|header|silent|late" -> 0..3. */
        size_t n = strlen(v);
        int i = 0;
        for (const char *w = o->arg; *w; i++) {
            size_t len = strcspn(w, "|");
            if (len == n && strncmp(w, v, n) == 0) {
                *(int *)(base + o->off) = i;
                return 0;
            }
            w += len + (w[len] == '|');
        }
        return LL_EUSAGE;
    }
    if (o->kind == K_STR) {
        /* Names are pasted into JSON and Prometheus labels unescaped: keep them plain. */
        if (!*v || strlen(v) > 200 || strpbrk(v, "\"\\\n\r\t") != NULL)
            return LL_EUSAGE;
        *(const char **)(base + o->off) = v;
        return 0;
    }
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d < o->min || d > o->max)
        return LL_EUSAGE;
    switch (o->kind) {
    case K_U32:
    case K_U64:
        if (d != floor(d))
            return LL_EUSAGE;
        /* Parsed again as plain digits: a double cannot hold every 64-bit value (seeds). */
        errno = 0;
        unsigned long long u = strtoull(v, &end, 10);
        if (errno || *end || v[0] == '-')
            return LL_EUSAGE;
        if (o->kind == K_U32)
            *(uint32_t *)(base + o->off) = (uint32_t)u;
        else
            *(uint64_t *)(base + o->off) = (uint64_t)u;
        return 0;
    default:
        *(double *)(base + o->off) = d;
        return 0;
    }
}

int sim_config_parse(sim_config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
    struct option lopts[NOPTS + 1];
    memset(cfg, 0, sizeof *cfg);
    memset(lopts, 0, sizeof lopts);
    for (size_t i = 0; i < NOPTS; i++) {
        lopts[i].name = opts[i].name;
        lopts[i].has_arg = opts[i].kind == K_HELP || opts[i].kind == K_FLAG ? no_argument : required_argument;
        lopts[i].val = 256 + (int)i;
        if (opts[i].def && apply(cfg, &opts[i], opts[i].def) < 0)
            return LL_EINTERNAL;
    }
    optind = 1;
    opterr = 0;
    int models_given = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "h", lopts, NULL);
        if (c == -1)
            break;
        if (c == 'h') {
            print_help(out);
            return SIM_CONFIG_HELP;
        }
        if (c < 256 || c >= 256 + (int)NOPTS) {
            const char *bad = argv[optind - 1];
            if (c == '?' && optopt >= 256)
                fprintf(err, "llmload sim: option '%s' needs a value\n", bad);
            else
                fprintf(err, "llmload sim: unknown option '%s' (try llmload sim --help)\n", bad);
            return LL_EUSAGE;
        }
        const opt_def *o = &opts[c - 256];
        if (o->kind == K_HELP) {
            print_help(out);
            return SIM_CONFIG_HELP;
        }
        if (o->kind == K_FLAG) {
            *(int *)((char *)cfg + o->off) = 1;
            continue;
        }
        if (o->kind == K_MODEL && !models_given++)
            cfg->n_models = 0; /* the first --model replaces the default one */
        if (apply(cfg, o, optarg) < 0) {
            fprintf(err, "llmload sim: bad value '%s' for --%s (expected %s)\n", optarg, o->name, o->arg);
            return LL_EUSAGE;
        }
    }
    if (optind < argc) {
        fprintf(err, "llmload sim: unexpected argument '%s'\n", argv[optind]);
        return LL_EUSAGE;
    }
    return SIM_CONFIG_RUN;
}
