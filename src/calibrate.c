/*
 * calibrate.c - measures how the target counts llmload's synthetic prompts (see calibrate.h).
 * The model: a prompt costs a fixed overhead (chat template, the per-request marker, special
 * tokens) plus each corpus word's cost, which is the sum of its letter runs' costs, runs of one
 * byte length costing alike, and one cost per punctuation byte (true of the simulator's rule, and
 * close for real BPE vocabularies, where a common word is a token and so is a comma). Per length
 * class, the marker alone, the marker and the corpus's distinct runs of that length, and the
 * marker and those twice are counted; a line through the three gives the class's cost per run.
 * Punctuation is a class of its own, measured the same way. Blocking requests before the loop
 * starts (target_http), so nothing here touches the hot path.
 */
#include "llmload/calibrate.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/corpus.h"
#include "llmload/error.h"
#include "llmload/request.h"
#include "llmload/target_http.h"

#define CAL_CHECKS 4         /* built prompts counted after calibrating */
#define CAL_MAX_WORD_LEN (SOURCE_RUN_CLASSES - 1) /* longest run the classes cover */
#define CAL_CLASS_WORDS 64   /* distinct runs per class: enough to average a class, short probes */

enum chat_via { VIA_TOKENIZE, VIA_APPLY_TEMPLATE, VIA_PROBE };

typedef struct cal {
    const config *cfg;
    const char *model;
    target_http *h;
    calibrate_result *r;
    int tokenize;          /* the target has POST /tokenize */
    enum chat_via via;     /* how a chat prompt's full count is measured */
    long timeout_ms;       /* /tokenize, /apply-template, /v1/models */
    long probe_timeout_ms; /* probe requests */
    int unreachable;       /* a request failed at the transport: stop */
    char *err;
    size_t errlen;
} cal;

const char *calibrate_method_name(calibrate_method m)
{
    switch (m) {
    case CALIBRATE_TOKENIZE: return "tokenize";
    case CALIBRATE_PROBE: return "probe";
    case CALIBRATE_NONE: break;
    }
    return "none";
}

int calibrate_fit_line(const double *x, const double *y, size_t n, double *a, double *b)
{
    if (n < 2)
        return LL_EINVAL;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        sx += x[i];
        sy += y[i];
        sxx += x[i] * x[i];
        sxy += x[i] * y[i];
    }
    double den = (double)n * sxx - sx * sx;
    if (!(fabs(den) > 1e-12 * (1.0 + sxx * (double)n)))
        return LL_EINVAL;
    *a = ((double)n * sxy - sx * sy) / den;
    *b = (sy - *a * sx) / (double)n;
    return 0;
}

/* POSTs a cJSON body (consumed) to path; the parsed answer of a 200, else NULL. A probe (a
 * completion request) waits as long as the run's requests would; the count endpoints are quick. */
static cJSON *post(cal *c, const char *path, cJSON *body, int probe)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text)
        return NULL;
    target_http_response res;
    int rc = target_http_request(c->h, path, text, probe ? c->probe_timeout_ms : c->timeout_ms,
                                 probe ? "--request-timeout " : "", &res, c->err, c->errlen);
    cJSON_free(text);
    c->r->requests++;
    if (rc != 0) {
        c->unreachable = 1;
        return NULL;
    }
    cJSON *doc = res.status == 200 && res.body ? cJSON_Parse(res.body) : NULL;
    target_http_response_free(&res);
    return doc;
}

static cJSON *user_messages(const char *text)
{
    cJSON *msgs = cJSON_CreateArray();
    cJSON *m = cJSON_CreateObject();
    if (!msgs || !m || !cJSON_AddItemToArray(msgs, m)) {
        cJSON_Delete(msgs);
        cJSON_Delete(m);
        return NULL;
    }
    if (!cJSON_AddStringToObject(m, "role", "user") || !cJSON_AddStringToObject(m, "content", text)) {
        cJSON_Delete(msgs);
        return NULL;
    }
    return msgs;
}

/* A /tokenize answer's count: vLLM's "count", else the length of "tokens" (llama.cpp). */
static long tokenize_count(cal *c, cJSON *doc)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(doc, "count");
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(doc, "tokens");
    const cJSON *mml = cJSON_GetObjectItemCaseSensitive(doc, "max_model_len");
    long out = cJSON_IsNumber(n) ? (long)n->valuedouble : cJSON_IsArray(toks) ? cJSON_GetArraySize(toks) : -1;
    if (cJSON_IsNumber(mml) && mml->valuedouble >= 1 && !c->r->max_model_len)
        c->r->max_model_len = (long)mml->valuedouble;
    cJSON_Delete(doc);
    return out;
}

/* Tokens of text alone. Both servers' keys are sent: vLLM reads "prompt" (add_special_tokens
 * defaults to true there, as its completions do), llama.cpp "content" and "add_special". */
static long measure_text(cal *c, const char *text)
{
    cJSON *b = cJSON_CreateObject();
    if (!b || !cJSON_AddStringToObject(b, "model", c->model) || !cJSON_AddStringToObject(b, "prompt", text) ||
        !cJSON_AddStringToObject(b, "content", text) || !cJSON_AddTrueToObject(b, "add_special")) {
        cJSON_Delete(b);
        return LL_ENOMEM;
    }
    cJSON *doc = post(c, "/tokenize", b, 0);
    return doc ? tokenize_count(c, doc) : -1;
}

/* vLLM's TokenizeChatRequest: the template applied as a chat request's is. A server that ignores
 * "messages" (llama.cpp answers {"tokens": []}) gives 0, which means "not supported". */
static long measure_chat_tokenize(cal *c, const char *text)
{
    cJSON *b = cJSON_CreateObject();
    cJSON *msgs = user_messages(text);
    if (!b || !msgs || !cJSON_AddStringToObject(b, "model", c->model) || !cJSON_AddItemToObject(b, "messages", msgs)) {
        cJSON_Delete(b);
        cJSON_Delete(msgs);
        return LL_ENOMEM;
    }
    cJSON *doc = post(c, "/tokenize", b, 0);
    long n = doc ? tokenize_count(c, doc) : -1;
    return n > 0 ? n : -1;
}

/* llama.cpp: /apply-template gives the templated text, /tokenize counts it. */
static long measure_apply_template(cal *c, const char *text)
{
    cJSON *b = cJSON_CreateObject();
    cJSON *msgs = user_messages(text);
    if (!b || !msgs || !cJSON_AddItemToObject(b, "messages", msgs)) {
        cJSON_Delete(b);
        cJSON_Delete(msgs);
        return LL_ENOMEM;
    }
    cJSON *doc = post(c, "/apply-template", b, 0);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "prompt");
    long n = cJSON_IsString(p) ? measure_text(c, p->valuestring) : -1;
    cJSON_Delete(doc);
    return n;
}

/* One request as the benchmark sends it, but max_tokens 1 and not streamed: usage.prompt_tokens. */
static long measure_probe(cal *c, const char *text)
{
    cJSON *b = cJSON_CreateObject();
    int okb = b && cJSON_AddStringToObject(b, "model", c->model);
    if (okb && c->cfg->api == CONFIG_API_CHAT) {
        cJSON *msgs = user_messages(text);
        okb = msgs && cJSON_AddItemToObject(b, "messages", msgs);
        if (!okb)
            cJSON_Delete(msgs);
    } else if (okb) {
        okb = cJSON_AddStringToObject(b, "prompt", text) != NULL;
    }
    okb = okb && cJSON_AddNumberToObject(b, "max_tokens", 1) && cJSON_AddFalseToObject(b, "stream");
    if (!okb) {
        cJSON_Delete(b);
        return LL_ENOMEM;
    }
    cJSON *doc = post(c, request_path(c->cfg->api), b, 1);
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "usage"), "prompt_tokens");
    long n = cJSON_IsNumber(pt) && pt->valuedouble >= 1 ? (long)pt->valuedouble : -1;
    cJSON_Delete(doc);
    return n;
}

/* The count the benchmark's requests will get for this prompt text. */
static long measure_request(cal *c, const char *text)
{
    if (!c->tokenize)
        return measure_probe(c, text);
    if (c->cfg->api == CONFIG_API_COMPLETIONS)
        return measure_text(c, text);
    switch (c->via) {
    case VIA_TOKENIZE: return measure_chat_tokenize(c, text);
    case VIA_APPLY_TEMPLATE: return measure_apply_template(c, text);
    case VIA_PROBE: break;
    }
    return measure_probe(c, text);
}

/* Counts for the word classes: with /tokenize, the bare text; otherwise whole probe requests. */
static long measure_words(cal *c, const char *text)
{
    return c->tokenize ? measure_text(c, text) : measure_probe(c, text);
}

/* A sample of the per-request marker as the source writes it: a one-token synthetic prompt is the
 * marker alone. Caller frees. */
static char *sample_marker(uint64_t seed)
{
    config_data d;
    config_data_init(&d);
    d.prompt_tokens = 1;
    d.prompt_tokens_max = 1;
    d.output_tokens = 1;
    source *s = NULL;
    char err[128];
    source_request sr;
    char *out = NULL;
    if (source_create(&s, &d, seed, err, sizeof err) == 0 && source_next(s, &sr) == 0)
        out = strndup(sr.prompt, sr.prompt_len);
    source_destroy(s);
    return out;
}

/* "marker w w w": the n words (each len bytes), reps times. Caller frees. */
static char *class_text(const char *marker, const char *const *words, size_t n, size_t len, int reps)
{
    char *t = malloc(strlen(marker) + 1 + (size_t)reps * n * (len + 1));
    if (!t)
        return NULL;
    char *p = t + sprintf(t, "%s", marker);
    for (int r = 0; r < reps; r++)
        for (size_t k = 0; k < n; k++) {
            *p++ = ' ';
            memcpy(p, words[k], len);
            p += len;
        }
    *p = '\0';
    return t;
}

/* One class's cost per word: the marker (counted as base), then the words once and twice. 0 with
 * *cost, or a negative code. */
static int fit_class(cal *c, const char *marker, double base, const char *const *words, size_t n, size_t len,
                     double *cost)
{
    double x[3] = {0}, y[3] = {base};
    for (int reps = 1; reps <= 2; reps++) {
        char *t = class_text(marker, words, n, len, reps);
        if (!t)
            return LL_ENOMEM;
        long v = measure_words(c, t);
        free(t);
        if (v < 0)
            return c->unreachable ? LL_ECONNECT : LL_EPROTO;
        x[reps] = (double)(n * (size_t)reps);
        y[reps] = (double)v;
    }
    double b;
    return calibrate_fit_line(x, y, 3, cost, &b) != 0 ? LL_EPROTO : 0;
}

/* The class costs: runs of each byte length the corpus has, and punctuation. A length the corpus
 * lacks (no word of it) takes the nearest shorter measured class's cost per byte. */
static int fit_classes(cal *c, const char *marker, double base)
{
    corpus *text = NULL;
    if (corpus_create(&text) != 0)
        return LL_ENOMEM;
    source_costs *k = &c->r->costs;
    int measured[SOURCE_RUN_CLASSES] = {0};
    int rc = 0;
    for (size_t len = 1; len <= CAL_MAX_WORD_LEN && rc == 0; len++) {
        const char *words[CAL_CLASS_WORDS];
        size_t n = corpus_runs(text, len, words, CAL_CLASS_WORDS);
        if (n == 0)
            continue;
        rc = fit_class(c, marker, base, words, n, len, &k->run[len]);
        measured[len] = rc == 0;
    }
    char punct[130];
    size_t np = rc == 0 ? corpus_punct(text, punct, sizeof punct) : 0;
    if (np > 0) {
        const char *marks[128];
        for (size_t i = 0; i < np; i++)
            marks[i] = punct + i;
        rc = fit_class(c, marker, base, marks, np, 1, &k->punct);
    }
    for (size_t len = 1, last = 0; len <= CAL_MAX_WORD_LEN && rc == 0; len++) {
        if (measured[len])
            last = len;
        else if (last)
            k->run[len] = k->run[last] * (double)len / (double)last;
        else
            k->run[len] = 1.0;
    }
    if (rc == 0) {
        source_costs_derive_words(k);
        /* The mean cost of a corpus word, for the console and report.json. */
        double sum = 0;
        size_t n = corpus_pieces(text);
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *w = corpus_piece(text, i, &len);
            sum += source_word_cost(k, w, len);
        }
        c->r->tokens_per_word = sum / (double)n;
    }
    corpus_destroy(text);
    return rc;
}

/* Counts a few prompts built with the costs, as the run will build them (another seed, so no
 * marker is sent twice), and records how far the server's counts are from the asked lengths. */
static int check_prompts(cal *c)
{
    config_data d = c->cfg->data;
    d.costs = &c->r->costs;
    source *s = NULL;
    char err[256];
    int rc = source_create(&s, &d, c->cfg->seed ^ 0x636865636bULL, err, sizeof err);
    if (rc != 0)
        return rc;
    double sum = 0;
    for (int i = 0; i < CAL_CHECKS; i++) {
        source_request sr;
        char *text = NULL;
        if ((rc = source_next(s, &sr)) != 0 || !(text = strndup(sr.prompt, sr.prompt_len))) {
            rc = rc ? rc : LL_ENOMEM;
            break;
        }
        long got = measure_request(c, text);
        free(text);
        if (got < 0 && c->unreachable) {
            rc = LL_ECONNECT;
            break;
        }
        if (got < 0) {
            /* The costs stand; the server refused a full-length prompt (too long for it, most
             * likely), which the run's own requests will show and prompt_check will name. */
            snprintf(c->r->note, sizeof c->r->note,
                     "the server did not count check prompt %d of %ld asked tokens (too long for it?)", i + 1,
                     sr.prompt_tokens_asked);
            break;
        }
        long diff = labs(got - sr.prompt_tokens_asked);
        double pct = sr.prompt_tokens_asked > 0 ? 100.0 * (double)diff / (double)sr.prompt_tokens_asked : 0;
        sum += pct;
        if (pct > c->r->error_pct_max)
            c->r->error_pct_max = pct;
        if (diff > c->r->error_tokens_max)
            c->r->error_tokens_max = diff;
        c->r->checks++;
    }
    source_destroy(s);
    c->r->error_pct_mean = c->r->checks ? sum / c->r->checks : 0;
    return rc;
}

static int calibrate_measure(cal *c)
{
    calibrate_result *r = c->r;
    char *marker = sample_marker(c->cfg->seed ^ 0x6d61726b6572ULL);
    if (!marker)
        return LL_ENOMEM;
    int rc = 0;
    long text = measure_text(c, marker);
    c->tokenize = text > 0;
    if (c->unreachable) {
        rc = LL_ECONNECT;
        goto out;
    }
    long full;
    double base;
    if (c->tokenize) {
        r->overhead_text = (double)text;
        base = (double)text;
        r->template_source = "none";
        if (c->cfg->api == CONFIG_API_CHAT) {
            /* The template's share: vLLM counts messages, llama.cpp applies it, else one probe. */
            static const struct {
                enum chat_via via;
                const char *name;
            } ways[] = {{VIA_TOKENIZE, "tokenize"}, {VIA_APPLY_TEMPLATE, "apply-template"}, {VIA_PROBE, "probe"}};
            full = -1;
            for (size_t i = 0; i < sizeof ways / sizeof ways[0] && full < 0 && !c->unreachable; i++) {
                c->via = ways[i].via;
                r->template_source = ways[i].name;
                full = measure_request(c, marker);
            }
        } else {
            full = text;
        }
    } else {
        full = measure_probe(c, marker);
        base = (double)full;
        r->overhead_text = (double)full;
        r->template_source = c->cfg->api == CONFIG_API_CHAT ? "probe" : "none";
    }
    if (full < 0) {
        rc = c->unreachable ? LL_ECONNECT : LL_EPROTO;
        goto out;
    }
    r->costs.overhead = (double)full;
    r->method = c->tokenize ? CALIBRATE_TOKENIZE : CALIBRATE_PROBE;
    if ((rc = fit_classes(c, marker, base)) == 0)
        rc = check_prompts(c);
out:
    free(marker);
    return rc;
}

static void make_timeouts(cal *c, const config *cfg)
{
    c->timeout_ms = (long)((cfg->connect_timeout_s + 10.0) * 1000.0);
    /* Probes are real requests: they may wait for a busy server as long as the run's would. */
    c->probe_timeout_ms = (long)(cfg->request_timeout_s * 1000.0);
}

int calibrate_run(const config *cfg, const char *model, calibrate_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->template_source = "none";
    if (!cfg->calibrate) {
        snprintf(out->note, sizeof out->note, "--no-calibrate: prompts are built at one token per word");
        return 0;
    }
    if (cfg->data.path) {
        snprintf(out->note, sizeof out->note, "dataset prompts are sent as the file gives them");
        return 0;
    }
    char why[256] = "";
    cal c = {.cfg = cfg, .model = model, .r = out, .err = why, .errlen = sizeof why};
    make_timeouts(&c, cfg);
    int rc = target_http_create(&c.h, cfg, err, errlen);
    if (rc != 0)
        return rc;
    rc = calibrate_measure(&c);
    target_http_destroy(c.h);
    if (rc == LL_EPROTO || rc == LL_ECONNECT) {
        /* Not fatal: discovery found the target, so the run goes on with prompts built by word
         * count, and says why (a server that stalls or drops the probes is a server under test). */
        int requests = out->requests;
        long limit = out->max_model_len;
        memset(out, 0, sizeof *out);
        out->template_source = "none";
        out->requests = requests;
        out->max_model_len = limit;
        if (rc == LL_ECONNECT)
            snprintf(out->note, sizeof out->note, "the calibration requests failed (%s): prompts are built at one "
                                                  "token per word", why);
        else
            snprintf(out->note, sizeof out->note,
                     "the target gave no prompt counts (no /tokenize, no usage.prompt_tokens in a probe): "
                     "prompts are built at one token per word");
        rc = 0;
    } else if (rc != 0) {
        snprintf(err, errlen, "%s", ll_strerror(rc));
    }
    return rc;
}

long calibrate_model_limit(const config *cfg, const char *model)
{
    char why[256];
    cal c = {.cfg = cfg, .model = model};
    make_timeouts(&c, cfg);
    target_http *h = NULL;
    target_http_response res;
    long limit = 0;
    if (target_http_create(&h, cfg, why, sizeof why) != 0)
        return 0;
    if (target_http_request(h, "/v1/models", NULL, c.timeout_ms, "", &res, why, sizeof why) == 0) {
        cJSON *doc = res.status == 200 && res.body ? cJSON_Parse(res.body) : NULL;
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(doc, "data")) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
            const cJSON *mml = cJSON_GetObjectItemCaseSensitive(m, "max_model_len");
            if (cJSON_IsString(id) && strcmp(id->valuestring, model) == 0 && cJSON_IsNumber(mml) &&
                mml->valuedouble >= 1)
                limit = (long)mml->valuedouble;
        }
        cJSON_Delete(doc);
        target_http_response_free(&res);
    }
    target_http_destroy(h);
    return limit;
}

int calibrate_to_json(const calibrate_result *r, cJSON **out)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return LL_ENOMEM;
    int on = r->method != CALIBRATE_NONE;
    int ok = cJSON_AddStringToObject(o, "method", calibrate_method_name(r->method)) &&
             cJSON_AddStringToObject(o, "template", r->template_source) &&
             cJSON_AddNumberToObject(o, "requests", r->requests) &&
             (on ? cJSON_AddNumberToObject(o, "overhead_tokens", r->costs.overhead) != NULL
                 : cJSON_AddNullToObject(o, "overhead_tokens") != NULL) &&
             (on ? cJSON_AddNumberToObject(o, "template_tokens", r->costs.overhead - r->overhead_text) != NULL
                 : cJSON_AddNullToObject(o, "template_tokens") != NULL) &&
             (on ? cJSON_AddNumberToObject(o, "tokens_per_word", r->tokens_per_word) != NULL
                 : cJSON_AddNullToObject(o, "tokens_per_word") != NULL) &&
             cJSON_AddNumberToObject(o, "checks", r->checks) &&
             (r->checks ? cJSON_AddNumberToObject(o, "error_pct_mean", r->error_pct_mean) != NULL
                        : cJSON_AddNullToObject(o, "error_pct_mean") != NULL) &&
             (r->checks ? cJSON_AddNumberToObject(o, "error_pct_max", r->error_pct_max) != NULL
                        : cJSON_AddNullToObject(o, "error_pct_max") != NULL) &&
             (r->checks ? cJSON_AddNumberToObject(o, "error_tokens_max", (double)r->error_tokens_max) != NULL
                        : cJSON_AddNullToObject(o, "error_tokens_max") != NULL) &&
             (r->max_model_len ? cJSON_AddNumberToObject(o, "max_model_len", (double)r->max_model_len) != NULL
                               : cJSON_AddNullToObject(o, "max_model_len") != NULL) &&
             cJSON_AddStringToObject(o, "note", r->note);
    if (!ok) {
        cJSON_Delete(o);
        return LL_ENOMEM;
    }
    *out = o;
    return 0;
}
