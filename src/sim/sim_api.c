/*
 * sim_api.c - vLLM's OpenAI-compatible wire format for the simulator (see sim_api.h).
 * Shapes follow vLLM's serving_chat.py (chunks dumped with exclude_unset: the role chunk, then
 * content deltas with logprobs/finish_reason, stop_reason only on the last) and serving_completion.py
 * (chunks dumped with exclude_unset=False, so every choice has stop_reason and every chunk "usage").
 * Invariant: the text of token i is always " " + vocab[i % N], so lengths are predictable in tests.
 */
#include "sim_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "llmload/error.h"
#include "sim_prefix.h"
#include "sim_tokenize.h"

static const char *const vocab[] = {"the", "model", "streams", "tokens", "at", "a", "steady", "pace",
                                    "while", "queue", "and", "cache", "decide", "when", "it", "starts"};
#define VOCAB_N (sizeof vocab / sizeof vocab[0])

static int fail(sim_api_error *err, int status, const char *type, int rc, const char *fmt, const char *a)
{
    err->status = status;
    err->type = type;
    snprintf(err->message, sizeof err->message, fmt, a ? a : "");
    return rc;
}

#define BAD(msg, arg) fail(err, 400, "BadRequestError", LL_EINVAL, msg, arg)

static int count_content(const cJSON *content, uint64_t *words)
{
    if (!content || cJSON_IsNull(content))
        return 0;
    if (cJSON_IsString(content)) {
        *words += sim_tokenize_count(content->valuestring, strlen(content->valuestring));
        return 0;
    }
    if (!cJSON_IsArray(content))
        return LL_EINVAL;
    const cJSON *part;
    cJSON_ArrayForEach(part, content) {
        if (!cJSON_IsObject(part))
            return LL_EINVAL;
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsString(type))
            return LL_EINVAL;
        if (strcmp(type->valuestring, "text") != 0)
            continue;   /* images and audio count nothing under the word rule */
        if (!cJSON_IsString(text))
            return LL_EINVAL;
        *words += sim_tokenize_count(text->valuestring, strlen(text->valuestring));
    }
    return 0;
}

static int count_prompt(const cJSON *prompt, uint64_t *words)
{
    if (cJSON_IsString(prompt)) {
        *words += sim_tokenize_count(prompt->valuestring, strlen(prompt->valuestring));
        return 0;
    }
    if (!cJSON_IsArray(prompt) || cJSON_GetArraySize(prompt) == 0)
        return LL_EINVAL;
    const cJSON *el;
    cJSON_ArrayForEach(el, prompt) {
        if (cJSON_IsString(el))
            *words += sim_tokenize_count(el->valuestring, strlen(el->valuestring));
        else if (cJSON_IsNumber(el))
            *words += 1;   /* a pre-tokenised prompt: one id is one token */
        else if (cJSON_IsArray(el)) {
            const cJSON *id;
            cJSON_ArrayForEach(id, el) {
                if (!cJSON_IsNumber(id))
                    return LL_EINVAL;
                *words += 1;
            }
        } else
            return LL_EINVAL;
    }
    return 0;
}

static int opt_bool(const cJSON *root, const char *key, int *out, sim_api_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return BAD("'%s' must be a boolean", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int count_messages(const cJSON *msgs, uint64_t *tokens, sim_api_error *err)
{
    if (!msgs)
        return BAD("Field required: '%s'", "messages");
    if (!cJSON_IsArray(msgs))
        return BAD("'%s' must be an array of message objects", "messages");
    const cJSON *msg;
    cJSON_ArrayForEach(msg, msgs) {
        if (!cJSON_IsObject(msg) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "role")))
            return BAD("each entry of '%s' must be an object with a string 'role'", "messages");
        if (count_content(cJSON_GetObjectItemCaseSensitive(msg, "content"), tokens) < 0)
            return BAD("'%s' must be a string or an array of content parts", "content");
    }
    return 0;
}

static int parse_root(enum sim_api_kind kind, const cJSON *root, const char *model, const sim_api_prompt_opts *o,
                      sim_api_request *req, sim_api_error *err)
{
    int rc;
    if (!cJSON_IsObject(root))
        return BAD("%sThe request body must be a JSON object", "");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (m && !cJSON_IsNull(m)) {
        if (!cJSON_IsString(m))
            return BAD("'%s' must be a string", "model");
        uint32_t k = 0;
        if (o->n_models) {
            while (k < o->n_models && strcmp(m->valuestring, o->models[k]) != 0)
                k++;
        } else if (strcmp(m->valuestring, model) != 0) {
            k = 1;
        }
        if (k >= (o->n_models ? o->n_models : 1))
            return fail(err, 404, "NotFoundError", LL_EINVAL, "The model `%s` does not exist.", m->valuestring);
        req->model = k;
    }
    if (kind == SIM_API_CHAT) {
        if ((rc = count_messages(cJSON_GetObjectItemCaseSensitive(root, "messages"), &req->prompt_tokens, err)) < 0)
            return rc;
        req->prompt_tokens += o->chat_template_tokens;
    } else {
        const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        if (!prompt)
            return BAD("Field required: '%s'", "prompt");
        if (count_prompt(prompt, &req->prompt_tokens) < 0)
            return BAD("'%s' must be a string, an array of strings or an array of token ids", "prompt");
    }
    if (req->prompt_tokens == 0)
        req->prompt_tokens = 1;
    req->prompt_tokens_sent = req->prompt_tokens;
    /* llama.cpp cuts a prompt that does not fit and says nothing; usage shows the cut count. */
    if (o->truncate_to && req->prompt_tokens > o->truncate_to)
        req->prompt_tokens = o->truncate_to;
    if ((rc = opt_bool(root, "stream", &req->stream, err)) < 0 ||
        (rc = opt_bool(root, "ignore_eos", &req->ignore_eos, err)) < 0)
        return rc;
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so))
            return BAD("'%s' must be an object", "stream_options");
        if (!req->stream)
            return BAD("%sStream options can only be defined when `stream=True`.", "");
        req->include_usage = 1;   /* vLLM's StreamOptions defaults include_usage to true */
        if ((rc = opt_bool(so, "include_usage", &req->include_usage, err)) < 0 ||
            (rc = opt_bool(so, "continuous_usage_stats", &req->continuous_usage, err)) < 0)
            return rc;
    }
    const char *mt_key = "max_tokens";
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, mt_key);
    if ((!mt || cJSON_IsNull(mt)) && kind == SIM_API_CHAT) {
        mt_key = "max_completion_tokens";
        mt = cJSON_GetObjectItemCaseSensitive(root, mt_key);
    }
    if (mt && !cJSON_IsNull(mt)) {
        if (!cJSON_IsNumber(mt) || mt->valuedouble != (double)(long long)mt->valuedouble)
            return BAD("'%s' must be an integer", mt_key);
        if (mt->valuedouble < 1)
            return fail(err, 400, "BadRequestError", LL_EINVAL, "%s must be at least 1.", mt_key);
        req->has_max_tokens = 1;
        req->max_tokens = mt->valuedouble > 1e15 ? (uint64_t)1e15 : (uint64_t)mt->valuedouble;
    }
    uint64_t max_model_len = o->max_model_len;
    if (o->error_style == SIM_API_ERRORS_LLAMACPP && req->prompt_tokens >= max_model_len) {
        /* llama.cpp checks the prompt alone against the slot's context (n_ctx). */
        err->status = 400;
        err->type = "exceed_context_size_error";
        err->n_prompt = req->prompt_tokens;
        err->n_ctx = max_model_len;
        snprintf(err->message, sizeof err->message, "the request exceeds the available context size, try increasing it");
        return LL_ERANGE;
    }
    uint64_t want = req->prompt_tokens + (req->has_max_tokens ? req->max_tokens : 0);
    if (o->error_style == SIM_API_ERRORS_VLLM && (want > max_model_len || req->prompt_tokens >= max_model_len)) {
        err->status = 400;
        err->type = "BadRequestError";
        snprintf(err->message, sizeof err->message,
                 "This model's maximum context length is %llu tokens. However, you requested %llu tokens "
                 "(%llu in the messages, %llu in the completion). Please reduce the length of the messages "
                 "or completion.",
                 (unsigned long long)max_model_len, (unsigned long long)want,
                 (unsigned long long)req->prompt_tokens,
                 (unsigned long long)(req->has_max_tokens ? req->max_tokens : 0));
        return LL_ERANGE;
    }
    return 0;
}

/* Feeds the prompt's text to the prefix cache in the order it is counted. The body has parsed, so
 * every shape here was already checked. */
static void walk_text(sim_prefix_walk *w, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        sim_prefix_text(w, v->valuestring, strlen(v->valuestring));
    } else if (cJSON_IsNumber(v)) {
        sim_prefix_id(w, (uint64_t)v->valuedouble);
    } else if (cJSON_IsArray(v)) {
        const cJSON *el;
        cJSON_ArrayForEach(el, v) {
            if (cJSON_IsObject(el)) {   /* a content part: only text counts */
                const cJSON *type = cJSON_GetObjectItemCaseSensitive(el, "type");
                if (cJSON_IsString(type) && strcmp(type->valuestring, "text") == 0)
                    walk_text(w, cJSON_GetObjectItemCaseSensitive(el, "text"));
            } else {
                walk_text(w, el);
            }
        }
    }
}

static void prefix_lookup(enum sim_api_kind kind, const cJSON *root, const sim_api_prompt_opts *o,
                          sim_api_request *req)
{
    sim_prefix_walk w;
    sim_prefix_begin(o->prefix, &w);
    if (kind == SIM_API_CHAT) {
        /* The template's tokens come first and are the same for every request, as a real one's. */
        for (uint64_t i = 0; i < o->chat_template_tokens; i++)
            sim_prefix_id(&w, i);
        const cJSON *msg;
        cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(root, "messages"))
            walk_text(&w, cJSON_GetObjectItemCaseSensitive(msg, "content"));
    } else {
        walk_text(&w, cJSON_GetObjectItemCaseSensitive(root, "prompt"));
    }
    req->cached_tokens = sim_prefix_end(&w, req->prompt_tokens);
}

int sim_api_parse_opts(enum sim_api_kind kind, const char *body, size_t len, const char *model,
                       const sim_api_prompt_opts *o, sim_api_request *req, sim_api_error *err)
{
    memset(req, 0, sizeof *req);
    err->n_prompt = err->n_ctx = 0;
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root)
        return fail(err, 400, "BadRequestError", LL_EPARSE, "JSON decode error: %sthe body is not valid JSON", "");
    int rc = parse_root(kind, root, model, o, req, err);
    if (rc == 0 && o->prefix)
        prefix_lookup(kind, root, o, req);
    cJSON_Delete(root);
    return rc;
}

int sim_api_parse(enum sim_api_kind kind, const char *body, size_t len, const char *model,
                  uint64_t max_model_len, sim_api_request *req, sim_api_error *err)
{
    sim_api_prompt_opts o = {.max_model_len = max_model_len};
    return sim_api_parse_opts(kind, body, len, model, &o, req, err);
}

/* The text of a request that names its prompt by any of the keys the servers use. */
static const cJSON *text_field(const cJSON *root)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    if (!t)
        t = cJSON_GetObjectItemCaseSensitive(root, "content"); /* llama.cpp's /tokenize */
    return t;
}

int sim_api_tokenize(const char *body, size_t len, const sim_api_prompt_opts *o, sim_buf *out, sim_api_error *err)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root)
        return fail(err, 400, "BadRequestError", LL_EPARSE, "JSON decode error: %sthe body is not valid JSON", "");
    uint64_t n = 0;
    int rc = 0;
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    const cJSON *text = text_field(root);
    int llamacpp = o->error_style == SIM_API_ERRORS_LLAMACPP;
    if (!cJSON_IsObject(root))
        rc = BAD("%sThe request body must be a JSON object", "");
    else if (llamacpp && !cJSON_IsString(text))
        n = 0; /* llama.cpp's /tokenize reads "content" only: anything else is no tokens */
    else if (msgs) {
        /* vLLM's TokenizeChatRequest: the chat template is applied, as a chat request's is. */
        if ((rc = count_messages(msgs, &n, err)) == 0)
            n += o->chat_template_tokens;
    } else if (cJSON_IsString(text))
        n = sim_tokenize_count(text->valuestring, strlen(text->valuestring));
    else
        rc = BAD("Field required: '%s' (or 'content', or 'messages')", "prompt");
    cJSON_Delete(root);
    if (rc < 0)
        return rc;
    if (llamacpp)
        SIM_BUF_TRY(sim_buf_puts(out, "{\"tokens\":["));
    else
        SIM_BUF_TRY(sim_buf_printf(out, "{\"count\":%llu,\"max_model_len\":%llu,\"tokens\":[", (unsigned long long)n,
                                   (unsigned long long)o->max_model_len));
    /* Ids carry no meaning here; only their number does. */
    for (uint64_t i = 0; i < n; i++)
        SIM_BUF_TRY(sim_buf_printf(out, i ? ",%llu" : "%llu", (unsigned long long)(i % 1000)));
    return sim_buf_puts(out, "]}");
}

int sim_api_apply_template(const char *body, size_t len, const sim_api_prompt_opts *o, sim_buf *out,
                           sim_api_error *err)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root)
        return fail(err, 400, "BadRequestError", LL_EPARSE, "JSON decode error: %sthe body is not valid JSON", "");
    uint64_t ignored = 0;
    int rc = count_messages(cJSON_GetObjectItemCaseSensitive(root, "messages"), &ignored, err);
    char *prompt = NULL;
    size_t plen = 0, cap = (size_t)o->chat_template_tokens + 2;
    const cJSON *msg;
    if (rc == 0) {
        /* Sized first: the template's '|'s, then each string content and its newline. */
        cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(root, "messages")) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content");
            if (cJSON_IsString(c))
                cap += strlen(c->valuestring) + 1;
        }
        if (!(prompt = malloc(cap)))
            rc = LL_ENOMEM;
    }
    if (rc == 0) {
        memset(prompt, '|', (size_t)o->chat_template_tokens);
        plen = (size_t)o->chat_template_tokens;
        prompt[plen++] = '\n';
        cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(root, "messages")) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content");
            if (!cJSON_IsString(c))
                continue;
            size_t n = strlen(c->valuestring);
            memcpy(prompt + plen, c->valuestring, n);
            plen += n;
            prompt[plen++] = '\n';
        }
        prompt[plen] = '\0';
    }
    cJSON_Delete(root);
    if (rc < 0) {
        free(prompt);
        return rc;
    }
    cJSON *o2 = cJSON_CreateObject();
    rc = LL_ENOMEM;
    if (o2 && cJSON_AddStringToObject(o2, "prompt", prompt)) {
        char *js = cJSON_PrintUnformatted(o2);
        if (js) {
            rc = sim_buf_puts(out, js);
            cJSON_free(js);
        }
    }
    cJSON_Delete(o2);
    free(prompt);
    return rc;
}

int sim_api_error_body_llamacpp(sim_buf *out, int status, const char *type, const char *message,
                                uint64_t n_prompt, uint64_t n_ctx)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = o ? cJSON_AddObjectToObject(o, "error") : NULL;
    int rc = LL_ENOMEM;
    if (e && cJSON_AddNumberToObject(e, "code", status) && cJSON_AddStringToObject(e, "message", message) &&
        cJSON_AddStringToObject(e, "type", type) && cJSON_AddNumberToObject(e, "n_prompt_tokens", (double)n_prompt) &&
        cJSON_AddNumberToObject(e, "n_ctx", (double)n_ctx)) {
        char *s = cJSON_PrintUnformatted(o);
        if (s) {
            rc = sim_buf_puts(out, s);
            cJSON_free(s);
        }
    }
    cJSON_Delete(o);
    return rc;
}

int sim_api_error_body(sim_buf *out, int status, const char *type, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return LL_ENOMEM;
    int rc = LL_ENOMEM;
    if (cJSON_AddStringToObject(o, "object", "error") && cJSON_AddStringToObject(o, "message", message) &&
        cJSON_AddStringToObject(o, "type", type) && cJSON_AddNullToObject(o, "param") &&
        cJSON_AddNumberToObject(o, "code", status)) {
        char *s = cJSON_PrintUnformatted(o);
        if (s) {
            rc = sim_buf_puts(out, s);
            cJSON_free(s);
        }
    }
    cJSON_Delete(o);
    return rc;
}

void sim_api_stream_init(sim_api_stream *s, enum sim_api_kind kind, uint64_t serial, uint64_t created,
                         const char *model, uint64_t prompt_tokens, uint64_t reasoning_tokens,
                         int continuous_usage)
{
    s->kind = kind;
    s->prompt_tokens = prompt_tokens;
    s->reasoning_tokens = kind == SIM_API_CHAT ? reasoning_tokens : 0;
    s->continuous_usage = continuous_usage;
    snprintf(s->id, sizeof s->id, "%s%032llx", kind == SIM_API_CHAT ? "chatcmpl-" : "cmpl-",
             (unsigned long long)serial);
    int n = snprintf(s->prefix, sizeof s->prefix,
                     "data: {\"id\":\"%s\",\"object\":\"%s\",\"created\":%llu,\"model\":\"%.200s\",\"choices\":[",
                     s->id, kind == SIM_API_CHAT ? "chat.completion.chunk" : "text_completion",
                     (unsigned long long)created, model);
    s->prefix_len = n > 0 && (size_t)n < sizeof s->prefix ? (size_t)n : 0;
    sim_api_stream_shape(s, SIM_SHAPE_STRING, 0, 0, 0);
    s->prompt_ms = s->predicted_ms = 0;
}

static int put_words(sim_buf *out, uint64_t first, uint64_t n)
{
    for (uint64_t i = first; i < first + n; i++) {
        const char *w = vocab[i % VOCAB_N];
        int rc = sim_buf_append(out, " ", 1);
        if (rc == 0)
            rc = sim_buf_append(out, w, strlen(w));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int put_usage(sim_buf *out, uint64_t prompt, uint64_t done, int details)
{
    return sim_buf_printf(out, "{\"prompt_tokens\":%llu,\"total_tokens\":%llu,\"completion_tokens\":%llu%s}",
                          (unsigned long long)prompt, (unsigned long long)(prompt + done),
                          (unsigned long long)done, details ? ",\"prompt_tokens_details\":null" : "");
}

int sim_api_event_role(const sim_api_stream *s, sim_buf *out)
{
    SIM_BUF_TRY(sim_buf_append(out, s->prefix, s->prefix_len));
    SIM_BUF_TRY(sim_buf_puts(out, "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                          "\"logprobs\":null,\"finish_reason\":null}]"));
    if (s->continuous_usage) {
        SIM_BUF_TRY(sim_buf_puts(out, ",\"usage\":"));
        SIM_BUF_TRY(put_usage(out, s->prompt_tokens, 0, 0));
    }
    return sim_buf_puts(out, "}\n\n");
}

void sim_api_stream_shape(sim_api_stream *s, enum sim_api_shape shape, int cumulative_message,
                          int usage_on_finish, int timings)
{
    s->shape = shape;
    s->cumulative_message = cumulative_message;
    s->usage_on_finish = usage_on_finish;
    s->timings = timings;
}

/* `"key":"words"` for tokens [a, b). */
static int put_str(sim_buf *out, const char *key, uint64_t a, uint64_t b)
{
    SIM_BUF_TRY(sim_buf_printf(out, "\"%s\":\"", key));
    SIM_BUF_TRY(put_words(out, a, b - a));
    return sim_buf_puts(out, "\"");
}

/* The delta's members for tokens [first, end), reasoning up to r_end, in the stream's shape. */
static int put_delta(const sim_api_stream *s, sim_buf *out, uint64_t first, uint64_t r_end, uint64_t end)
{
    int answer = r_end < end, reasoning = r_end > first;
    switch (s->shape) {
    case SIM_SHAPE_THINKING_PARTS: /* Mistral: thinking and text parts in one content array */
        SIM_BUF_TRY(sim_buf_puts(out, "\"content\":["));
        if (reasoning) {
            SIM_BUF_TRY(sim_buf_puts(out, "{\"type\":\"thinking\",\"thinking\":[{\"type\":\"text\","));
            SIM_BUF_TRY(put_str(out, "text", first, r_end));
            SIM_BUF_TRY(sim_buf_puts(out, answer ? "}]}," : "}]}"));
        }
        if (answer) {
            SIM_BUF_TRY(sim_buf_puts(out, "{\"type\":\"text\","));
            SIM_BUF_TRY(put_str(out, "text", r_end, end));
            SIM_BUF_TRY(sim_buf_puts(out, "}"));
        }
        return sim_buf_puts(out, "]");
    case SIM_SHAPE_PARTS:
    case SIM_SHAPE_REFUSAL:
    case SIM_SHAPE_STRING:
        if (answer) {
            if (s->shape == SIM_SHAPE_PARTS) {
                SIM_BUF_TRY(sim_buf_puts(out, "\"content\":[{\"type\":\"text\","));
                SIM_BUF_TRY(put_str(out, "text", r_end, end));
                SIM_BUF_TRY(sim_buf_puts(out, "}]"));
            } else {
                SIM_BUF_TRY(put_str(out, s->shape == SIM_SHAPE_REFUSAL ? "refusal" : "content", r_end, end));
            }
            if (reasoning)
                SIM_BUF_TRY(sim_buf_puts(out, ","));
        }
        if (reasoning)
            SIM_BUF_TRY(put_str(out, "reasoning_content", first, r_end));
        return 0;
    }
    return 0;
}

/* What follows the choices: usage (running, or the total on the finish chunk) and timings. */
static int put_extras(const sim_api_stream *s, sim_buf *out, const char *finish, uint64_t done)
{
    int details = s->kind == SIM_API_COMPLETIONS;
    if (s->continuous_usage || (finish && s->usage_on_finish)) {
        SIM_BUF_TRY(sim_buf_puts(out, ",\"usage\":"));
        SIM_BUF_TRY(put_usage(out, s->prompt_tokens, done, details));
    } else if (details) {
        SIM_BUF_TRY(sim_buf_puts(out, ",\"usage\":null"));
    }
    if (finish && s->timings) {
        double pn = (double)s->prompt_tokens, dn = (double)done;
        SIM_BUF_TRY(sim_buf_printf(out, ",\"timings\":{\"prompt_n\":%llu,\"prompt_ms\":%.3f,\"prompt_per_token_ms\":%.6f,"
                                        "\"prompt_per_second\":%.6f,\"predicted_n\":%llu,\"predicted_ms\":%.3f,"
                                        "\"predicted_per_token_ms\":%.6f,\"predicted_per_second\":%.6f}",
                                   (unsigned long long)s->prompt_tokens, s->prompt_ms, s->prompt_ms / pn,
                                   s->prompt_ms > 0 ? pn * 1000.0 / s->prompt_ms : 0.0, (unsigned long long)done,
                                   s->predicted_ms, done ? s->predicted_ms / dn : 0.0,
                                   s->predicted_ms > 0 ? dn * 1000.0 / s->predicted_ms : 0.0));
    }
    return 0;
}

/* Perplexity's cumulative copy: `"message":{...},` with every token so far. */
static int put_message(const sim_api_stream *s, sim_buf *out, uint64_t end)
{
    if (!s->cumulative_message)
        return 0;
    SIM_BUF_TRY(sim_buf_puts(out, "\"message\":{\"role\":\"assistant\","));
    SIM_BUF_TRY(put_str(out, "content", 0, end));
    return sim_buf_puts(out, "},");
}

int sim_api_event_tokens(const sim_api_stream *s, sim_buf *out, uint64_t first, uint32_t n,
                         const char *finish, uint64_t done)
{
    SIM_BUF_TRY(sim_buf_append(out, s->prefix, s->prefix_len));
    if (s->kind == SIM_API_CHAT) {
        uint64_t r_end = s->reasoning_tokens > first ? s->reasoning_tokens : first;
        if (r_end > first + n)
            r_end = first + n;
        SIM_BUF_TRY(sim_buf_puts(out, "{\"index\":0,"));
        SIM_BUF_TRY(put_message(s, out, first + n));
        SIM_BUF_TRY(sim_buf_puts(out, "\"delta\":{"));
        SIM_BUF_TRY(put_delta(s, out, first, r_end, first + n));
        if (finish)
            SIM_BUF_TRY(sim_buf_printf(out, "},\"logprobs\":null,\"finish_reason\":\"%s\",\"stop_reason\":null}]", finish));
        else
            SIM_BUF_TRY(sim_buf_puts(out, "},\"logprobs\":null,\"finish_reason\":null}]"));
    } else {
        SIM_BUF_TRY(sim_buf_puts(out, "{\"index\":0,\"text\":\""));
        SIM_BUF_TRY(put_words(out, first, n));
        if (finish)
            SIM_BUF_TRY(sim_buf_printf(out, "\",\"logprobs\":null,\"finish_reason\":\"%s\",\"stop_reason\":null}]", finish));
        else
            SIM_BUF_TRY(sim_buf_puts(out, "\",\"logprobs\":null,\"finish_reason\":null,\"stop_reason\":null}]"));
    }
    SIM_BUF_TRY(put_extras(s, out, finish, done));
    return sim_buf_puts(out, "}\n\n");
}

int sim_api_event_finish(const sim_api_stream *s, sim_buf *out, uint64_t done, const char *finish)
{
    SIM_BUF_TRY(sim_buf_append(out, s->prefix, s->prefix_len));
    if (s->kind == SIM_API_CHAT) {
        SIM_BUF_TRY(sim_buf_puts(out, "{\"index\":0,"));
        SIM_BUF_TRY(put_message(s, out, done));
        SIM_BUF_TRY(sim_buf_printf(out, "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                                        "\"finish_reason\":\"%s\"}]", finish));
    } else {
        SIM_BUF_TRY(sim_buf_printf(out, "{\"index\":0,\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"%s\","
                                        "\"stop_reason\":null}]", finish));
    }
    SIM_BUF_TRY(put_extras(s, out, finish, done));
    return sim_buf_puts(out, "}\n\n");
}

int sim_api_event_error(sim_buf *out, enum sim_api_error_shape shape)
{
    switch (shape) {
    case SIM_ERR_SHAPE_EVENT: /* Anthropic-style typed event */
        return sim_buf_puts(out, "event: error\ndata: {\"type\":\"overloaded_error\",\"message\":"
                                 "\"Injected fault: stream error event (llmload sim --stream-error-rate)\"}\n\n");
    case SIM_ERR_SHAPE_FIELD: /* a non-standard error field line */
        return sim_buf_puts(out, "error: {\"message\":\"Injected fault: stream error field (llmload sim "
                                 "--stream-error-rate)\",\"code\":500}\n\n");
    case SIM_ERR_SHAPE_OBJECT:
    default: /* vLLM: an error object in a data chunk */
        return sim_buf_puts(out, "data: {\"error\":{\"object\":\"error\",\"message\":\"Injected fault: stream error "
                                 "object (llmload sim --stream-error-rate)\",\"type\":\"InternalServerError\","
                                 "\"param\":null,\"code\":500}}\n\n");
    }
}

int sim_api_event_usage(const sim_api_stream *s, sim_buf *out, uint64_t completion_tokens)
{
    SIM_BUF_TRY(sim_buf_append(out, s->prefix, s->prefix_len));
    SIM_BUF_TRY(sim_buf_puts(out, "],\"usage\":"));
    SIM_BUF_TRY(put_usage(out, s->prompt_tokens, completion_tokens, 0));
    return sim_buf_puts(out, "}\n\n");
}

int sim_api_event_malformed(const sim_api_stream *s, sim_buf *out)
{
    /* A chunk cut off mid-object, as a proxy that splits an event would leave it: the line ends
     * before the JSON does. */
    SIM_BUF_TRY(sim_buf_append(out, s->prefix, s->prefix_len));
    return sim_buf_puts(out, "{\"index\":0,\"delta\":{\"content\":\" broken\n\n");
}

int sim_api_event_done(sim_buf *out)
{
    return sim_buf_puts(out, "data: [DONE]\n\n");
}

int sim_api_full_body(const sim_api_stream *s, sim_buf *out, uint64_t completion_tokens, const char *finish)
{
    /* The streaming prefix without `data: `, with the non-streaming object name. */
    const char *obj = s->kind == SIM_API_CHAT ? "\"chat.completion.chunk\"" : NULL;
    const char *p = s->prefix + 6;
    size_t plen = s->prefix_len > 6 ? s->prefix_len - 6 : 0;
    if (obj) {
        const char *at = strstr(p, obj);
        if (!at)
            return LL_EINTERNAL;
        SIM_BUF_TRY(sim_buf_append(out, p, (size_t)(at - p)));
        SIM_BUF_TRY(sim_buf_puts(out, "\"chat.completion\""));
        SIM_BUF_TRY(sim_buf_append(out, at + strlen(obj), plen - (size_t)(at + strlen(obj) - p)));
        uint64_t r = s->reasoning_tokens < completion_tokens ? s->reasoning_tokens : completion_tokens;
        SIM_BUF_TRY(sim_buf_puts(out, "{\"index\":0,\"message\":{\"role\":\"assistant\",\"reasoning_content\":"));
        if (r) {
            SIM_BUF_TRY(sim_buf_puts(out, "\""));
            SIM_BUF_TRY(put_words(out, 0, r));
            SIM_BUF_TRY(sim_buf_puts(out, "\""));
        } else {
            SIM_BUF_TRY(sim_buf_puts(out, "null"));
        }
        SIM_BUF_TRY(sim_buf_puts(out, ",\"content\":\""));
        SIM_BUF_TRY(put_words(out, r, completion_tokens - r));
        SIM_BUF_TRY(sim_buf_printf(out, "\",\"tool_calls\":[]},\"logprobs\":null,\"finish_reason\":\"%s\","
                                "\"stop_reason\":null}],\"usage\":", finish));
        SIM_BUF_TRY(put_usage(out, s->prompt_tokens, completion_tokens, 1));
        return sim_buf_puts(out, ",\"prompt_logprobs\":null}");
    }
    SIM_BUF_TRY(sim_buf_append(out, p, plen));
    SIM_BUF_TRY(sim_buf_puts(out, "{\"index\":0,\"text\":\""));
    SIM_BUF_TRY(put_words(out, 0, completion_tokens));
    SIM_BUF_TRY(sim_buf_printf(out, "\",\"logprobs\":null,\"finish_reason\":\"%s\",\"stop_reason\":null,"
                            "\"prompt_logprobs\":null}],\"usage\":", finish));
    SIM_BUF_TRY(put_usage(out, s->prompt_tokens, completion_tokens, 1));
    return sim_buf_puts(out, "}");
}
