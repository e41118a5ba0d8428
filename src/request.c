/*
 * request.c - JSON request bodies for /v1/chat/completions and /v1/completions.
 * The body is head + escaped prompt + tail with max_tokens printed in; head and tail are built
 * once per benchmark (request_template) so each request is two memcpy and one escape pass.
 */
#include "llmload/request.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

struct request_template {
    char *head;   /* everything up to the prompt's opening quote, inclusive */
    size_t head_len;
    char *tail1;  /* from the prompt's closing quote to the max_tokens value */
    size_t tail1_len;
    char *tail2;  /* after the max_tokens value to the end */
    size_t tail2_len;
    /* Sessions (request_body_build_raw): the body around an already-JSON fragment, the messages
     * array's members (chat) or the prompt string's escaped contents (completions). */
    char *raw_head, *raw_tail1;
    size_t raw_head_len, raw_tail1_len;
};

const char *request_path(config_api api)
{
    return api == CONFIG_API_COMPLETIONS ? "/v1/completions" : "/v1/chat/completions";
}

/* Non-zero when any byte of w needs escaping: below 0x20, '"' or '\\' (exact: no false
 * positives, so a clean word is copied as is). Bytes >= 0x80 (UTF-8) never match. */
static inline uint64_t needs_escape(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
    uint64_t lt20 = (w - ones * 0x20) & ~w;
    uint64_t zq = (quote - ones) & ~quote, zb = (bslash - ones) & ~bslash;
    return (lt20 | zq | zb) & highs;
}

/* Writes one byte's JSON form; returns bytes written (1, 2 or 6). */
static size_t escape_byte(char *o, unsigned char ch)
{
    static const char hex[] = "0123456789abcdef";
    if (ch == '"' || ch == '\\') {
        o[0] = '\\';
        o[1] = (char)ch;
        return 2;
    }
    if (ch >= 0x20) {
        o[0] = (char)ch;
        return 1;
    }
    o[0] = '\\';
    switch (ch) {
    case '\n': o[1] = 'n'; return 2;
    case '\r': o[1] = 'r'; return 2;
    case '\t': o[1] = 't'; return 2;
    default:
        memcpy(o + 1, "u00", 3);
        o[4] = hex[ch >> 4];
        o[5] = hex[ch & 15];
        return 6;
    }
}

size_t request_json_escape(char *out, const char *s, size_t len)
{
    char *o = out;
    size_t i = 0;
    /* Prompts are mostly plain text: copy eight clean bytes at a time; a word that holds
     * something to escape goes byte by byte. */
    while (i + 8 <= len) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (needs_escape(w)) {
            for (size_t end = i + 8; i < end; i++)
                o += escape_byte(o, (unsigned char)s[i]);
        } else {
            memcpy(o, &w, 8);
            o += 8;
            i += 8;
        }
    }
    for (; i < len; i++)
        o += escape_byte(o, (unsigned char)s[i]);
    return (size_t)(o - out);
}

static char *escaped_dup(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(6 * n + 1);
    if (!out)
        return NULL;
    out[request_json_escape(out, s, n)] = '\0';
    return out;
}

int request_template_create(request_template **out, const config *cfg, const char *model)
{
    request_template *t = calloc(1, sizeof *t);
    char *m = escaped_dup(model ? model : "");
    char opts[256];
    if (!t || !m)
        goto nomem;
    /* Options that follow max_tokens. continuous_usage_stats makes vLLM put running usage on every
     * chunk, which is what turns event gaps into per-token gaps (design.md itl_token). */
    int n = snprintf(opts, sizeof opts, ",\"stream\":true%s%s%s%s%s",
                     cfg->stream_usage || cfg->continuous_usage ? ",\"stream_options\":{" : "",
                     cfg->stream_usage ? "\"include_usage\":true" : "",
                     cfg->stream_usage && cfg->continuous_usage ? "," : "",
                     cfg->continuous_usage ? "\"continuous_usage_stats\":true" : "",
                     cfg->stream_usage || cfg->continuous_usage ? "}" : "");
    if (n < 0 || (size_t)n >= sizeof opts)
        goto nomem;
    size_t mlen = strlen(m);
    t->head = malloc(mlen + 96);
    t->tail1 = malloc(64);
    t->tail2 = malloc(sizeof opts + 64);
    t->raw_head = malloc(mlen + 96);
    t->raw_tail1 = malloc(64);
    if (!t->head || !t->tail1 || !t->tail2 || !t->raw_head || !t->raw_tail1)
        goto nomem;
    if (cfg->api == CONFIG_API_COMPLETIONS) {
        t->head_len = (size_t)sprintf(t->head, "{\"model\":\"%s\",\"prompt\":\"", m);
        t->tail1_len = (size_t)sprintf(t->tail1, "\",\"max_tokens\":");
    } else {
        t->head_len = (size_t)sprintf(t->head, "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":\"", m);
        t->tail1_len = (size_t)sprintf(t->tail1, "\"}],\"max_tokens\":");
    }
    if (cfg->api == CONFIG_API_COMPLETIONS) {
        t->raw_head_len = (size_t)sprintf(t->raw_head, "%s", t->head);
        t->raw_tail1_len = (size_t)sprintf(t->raw_tail1, "%s", t->tail1);
    } else {
        t->raw_head_len = (size_t)sprintf(t->raw_head, "{\"model\":\"%s\",\"messages\":[", m);
        t->raw_tail1_len = (size_t)sprintf(t->raw_tail1, "],\"max_tokens\":");
    }
    t->tail2_len = (size_t)sprintf(t->tail2, "%s%s}", opts, cfg->ignore_eos ? ",\"ignore_eos\":true" : "");
    free(m);
    *out = t;
    return 0;
nomem:
    free(m);
    request_template_destroy(t);
    return LL_ENOMEM;
}

void request_template_destroy(request_template *t)
{
    if (!t)
        return;
    free(t->head);
    free(t->tail1);
    free(t->tail2);
    free(t->raw_head);
    free(t->raw_tail1);
    free(t);
}

long request_body_build(const request_template *t, const char *prompt, size_t prompt_len,
                        long max_tokens, char **buf, size_t *cap)
{
    size_t need = t->head_len + 6 * prompt_len + t->tail1_len + 24 + t->tail2_len + 1;
    if (need > *cap) {
        char *nb = realloc(*buf, need);
        if (!nb)
            return LL_ENOMEM;
        *buf = nb;
        *cap = need;
    }
    char *o = *buf;
    memcpy(o, t->head, t->head_len);
    o += t->head_len;
    o += request_json_escape(o, prompt, prompt_len);
    memcpy(o, t->tail1, t->tail1_len);
    o += t->tail1_len;
    o += sprintf(o, "%ld", max_tokens);
    memcpy(o, t->tail2, t->tail2_len);
    o += t->tail2_len;
    *o = '\0';
    return (long)(o - *buf);
}

long request_body_build_raw(const request_template *t, const char *const *parts, const size_t *lens,
                            size_t n_parts, long max_tokens, char **buf, size_t *cap)
{
    size_t frag = 0;
    for (size_t i = 0; i < n_parts; i++)
        frag += lens[i];
    size_t need = t->raw_head_len + frag + t->raw_tail1_len + 24 + t->tail2_len + 1;
    if (need > *cap) {
        char *nb = realloc(*buf, need);
        if (!nb)
            return LL_ENOMEM;
        *buf = nb;
        *cap = need;
    }
    char *o = *buf;
    memcpy(o, t->raw_head, t->raw_head_len);
    o += t->raw_head_len;
    for (size_t i = 0; i < n_parts; i++) {
        if (lens[i])
            memcpy(o, parts[i], lens[i]);
        o += lens[i];
    }
    memcpy(o, t->raw_tail1, t->raw_tail1_len);
    o += t->raw_tail1_len;
    o += sprintf(o, "%ld", max_tokens);
    memcpy(o, t->tail2, t->tail2_len);
    o += t->tail2_len;
    *o = '\0';
    return (long)(o - *buf);
}
