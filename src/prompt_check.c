/*
 * prompt_check.c - prompt-length warnings and report fields (see prompt_check.h). Reads the
 * finished records only; nothing here runs while requests are in flight.
 */
#include "llmload/prompt_check.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llmload/error.h"

typedef struct tally {
    uint64_t completed_with_usage, truncated, too_long;
    double truncated_asked, truncated_got; /* sums over the truncated requests */
    long limit;                            /* from a message; 0 when none said */
} tally;

int prompt_check_truncated(const record *r)
{
    return r->status == RECORD_OK && r->usage_seen && r->prompt_tokens_asked > 0 && r->prompt_tokens > 0 &&
           (double)r->prompt_tokens < PROMPT_CHECK_TRUNCATED_BELOW * (double)r->prompt_tokens_asked;
}

int prompt_check_too_long(const record *r, const char *msg)
{
    static const char *const says[] = {"maximum context length", "context size", "context length",
                                       "max_model_len", "exceed_context", "too long", "n_ctx"};
    if (r->status != RECORD_ERROR || r->http_status != 400 || !msg)
        return 0;
    for (size_t i = 0; i < sizeof says / sizeof says[0]; i++)
        if (strcasestr(msg, says[i]))
            return 1;
    return 0;
}

long prompt_check_limit_in_message(const char *msg)
{
    static const char *const before[] = {"maximum context length is ", "context size (", "\"n_ctx\":",
                                         "n_ctx ", "max_model_len ", "max_model_len=", "maximum model length is "};
    for (size_t i = 0; msg && i < sizeof before / sizeof before[0]; i++) {
        const char *at = strcasestr(msg, before[i]);
        if (!at)
            continue;
        at += strlen(before[i]);
        while (*at == ' ')
            at++;
        char *end;
        long v = strtol(at, &end, 10);
        if (end > at && v > 0)
            return v;
    }
    return 0;
}

static void count(const bench_result *res, tally *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < res->records.len; i++) {
        const record *r = &res->records.items[i];
        if (r->status == RECORD_OK && r->usage_seen)
            t->completed_with_usage++;
        if (prompt_check_truncated(r)) {
            t->truncated++;
            t->truncated_asked += r->prompt_tokens_asked;
            t->truncated_got += r->prompt_tokens;
        }
        const char *msg = record_log_error(&res->records, r);
        if (prompt_check_too_long(r, msg)) {
            t->too_long++;
            if (!t->limit)
                t->limit = prompt_check_limit_in_message(msg);
        }
    }
}

int prompt_check_needs_limit(const bench_result *results, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tally t;
        count(&results[i], &t);
        if (t.too_long && !t.limit)
            return 1;
    }
    return 0;
}

void prompt_check_calibration(FILE *f, const calibrate_result *cal, const config *cfg)
{
    if (cal->method == CALIBRATE_NONE) {
        /* --no-calibrate and datasets are the user's choice; a target that gave no counts is not. */
        if (cfg->calibrate && !cfg->data.path)
            fprintf(f, "warning: prompts not calibrated: %s\n", cal->note);
        return;
    }
    char via[48] = "";
    if (cfg->api == CONFIG_API_CHAT)
        snprintf(via, sizeof via, " (chat template via %s)", cal->template_source);
    fprintf(f, "prompts calibrated by %s%s: %.1f tokens per prompt besides its words, "
               "%.2f per word; %d built prompts counted within %.1f%% (%ld tokens) of the asked length\n",
            cal->method == CALIBRATE_TOKENIZE ? "the target's /tokenize" : "probe requests", via,
            cal->costs.overhead, cal->tokens_per_word, cal->checks, cal->error_pct_max, cal->error_tokens_max);
    if (cal->note[0])
        fprintf(f, "warning: prompt calibration: %s\n", cal->note);
    if (cal->error_pct_max > 3.0 && cal->error_tokens_max > 2)
        fprintf(f, "warning: calibrated prompts still miss the asked length by up to %.1f%% (%ld tokens) "
                   "as the server counts them\n",
                cal->error_pct_max, cal->error_tokens_max);
}

int prompt_check_results(FILE *f, const bench_result *results, size_t n, long max_model_len)
{
    int warned = 0;
    for (size_t i = 0; i < n; i++) {
        tally t;
        count(&results[i], &t);
        const char *name = results[i].plan.name;
        if (t.truncated) {
            fprintf(f, "warning: %s: the server counted more than 10%% fewer prompt tokens than asked in %llu of "
                       "%llu requests (mean %.0f counted for %.0f asked): it truncates prompts",
                    name, (unsigned long long)t.truncated, (unsigned long long)t.completed_with_usage,
                    t.truncated_got / (double)t.truncated, t.truncated_asked / (double)t.truncated);
            if (max_model_len)
                fprintf(f, " (max_model_len %ld)", max_model_len);
            fputc('\n', f);
            warned++;
        }
        if (t.too_long) {
            long limit = t.limit ? t.limit : max_model_len;
            fprintf(f, "warning: %s: %llu requests rejected as too long for the model's context (HTTP 400)", name,
                    (unsigned long long)t.too_long);
            if (limit)
                fprintf(f, ": the limit is %ld tokens (%s)", limit,
                        t.limit ? "per the server's message" : "the model's max_model_len");
            fputc('\n', f);
            warned++;
        }
    }
    return warned;
}

int prompt_check_annotate(cJSON *doc, const bench_result *results, size_t n, long max_model_len)
{
    cJSON *benches = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    for (size_t i = 0; i < n; i++) {
        cJSON *b = cJSON_GetArrayItem(benches, (int)i);
        if (!b)
            break;
        tally t;
        count(&results[i], &t);
        long limit = t.limit ? t.limit : max_model_len;
        cJSON *p = cJSON_AddObjectToObject(b, "prompts");
        if (!p || !cJSON_AddNumberToObject(p, "truncated", (double)t.truncated) ||
            !cJSON_AddNumberToObject(p, "too_long", (double)t.too_long) ||
            !(limit ? cJSON_AddNumberToObject(p, "limit", (double)limit) : cJSON_AddNullToObject(p, "limit")))
            return LL_ENOMEM;
    }
    return 0;
}
