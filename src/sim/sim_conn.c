/*
 * sim_conn.c - one client connection of the simulator: http-parser callbacks, routing, auth, fault
 * decisions, and the response writers (JSON bodies and chunked SSE streams). Requests on a
 * connection are served one after another (keep-alive); bytes that arrive during a response wait
 * in pending_in. Writes go out with uv_try_write at the moment an event is made (the clock read
 * just before that call is what llmload_sim_inter_token_latency_seconds and /sim/stats measure);
 * what the socket does not take waits in `out` behind one uv_write (counted as backlogged).
 * Invariant: at most one uv_write is in flight per connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gsl/gsl_randist.h>
#include <math.h>

#include "llmload/clock.h"
#include "llmload/error.h"
#include "sim_server.h"

#define CONN_OF_SEQ(s) ((sim_conn *)((char *)(s) - offsetof(sim_conn, seq)))

static void conn_flush(sim_conn *c);
static void conn_feed_pending(sim_conn *c);

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    default: return "Unknown";
    }
}

/* ---- closing ---- */

static void on_handle_closed(uv_handle_t *h)
{
    sim_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    sim_server *srv = c->srv;
    /* A sequence still queued or running when its connection closed was abandoned (the client went
     * away, or a fault cut it): freed here at once, its slot and KV given to the waiters. */
    if (c->seq.state != SIM_SEQ_IDLE)
        srv->metrics.success_abort++;
    /* Cancelled here, not in sim_conn_close, because close may be asked from inside the engine's
     * emit callback, which must not re-enter the engine. */
    sim_engine_cancel(srv->engine, &c->seq, clock_now_ns());
    if (!srv->stopping)
        sim_server_reschedule(srv);
    sim_buf_free(&c->body);
    sim_buf_free(&c->pending_in);
    sim_buf_free(&c->out);
    sim_buf_free(&c->inflight);
    free(c);
}

void sim_conn_close(sim_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    sim_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->on_drain_list) {
        /* Unlink from the deferred list so the drain pass never sees a freed conn. */
        sim_conn **pp = &srv->drain;
        while (*pp && *pp != c)
            pp = &(*pp)->drain_next;
        if (*pp)
            *pp = c->drain_next;
        c->on_drain_list = 0;
    }
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->stall_timer, on_handle_closed);
}

/* ---- writing ---- */

static void on_write(uv_write_t *w, int status)
{
    sim_conn *c = w->data;
    c->writing = 0;
    sim_buf_reset(&c->inflight);
    if (status < 0 || c->closing) {
        sim_conn_close(c);
        return;
    }
    conn_flush(c);
}

static void conn_flush(sim_conn *c)
{
    if (c->closing || c->writing)
        return;
    if (c->out.len) {
        uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n < 0 && n != UV_EAGAIN) {
            sim_conn_close(c);
            return;
        }
        sim_buf_consume(&c->out, n > 0 ? (size_t)n : 0);
    }
    if (c->out.len) {
        /* Swap so `out` keeps collecting while `inflight` belongs to libuv until on_write. */
        sim_buf t = c->inflight;
        c->inflight = c->out;
        c->out = t;
        sim_buf_reset(&c->out);
        uv_buf_t b = uv_buf_init(c->inflight.data, (unsigned)c->inflight.len);
        c->wreq.data = c;
        if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
            sim_conn_close(c);
            return;
        }
        c->writing = 1;
        return;
    }
    if (c->close_after_write)
        sim_conn_close(c);
}

static void on_late_close(uv_timer_t *t)
{
    sim_conn *c = t->data;
    if (c->writing || c->out.len) {
        c->close_after_write = 1; /* the response is still going out: close once it is */
        conn_flush(c);
    } else {
        sim_conn_close(c);
    }
}

/* A response is complete (queued): keep the connection, or end it as --close-after-response says. */
static void end_of_response(sim_conn *c)
{
    int mode = c->srv->cfg.close_after_response;
    if (!c->keep_alive || mode == SIM_CLOSE_SILENT) {
        c->close_after_write = 1;
    } else if (mode == SIM_CLOSE_LATE && !c->late_close) {
        c->late_close = 1;
        uv_timer_start(&c->stall_timer, on_late_close, SIM_LATE_CLOSE_MS, 0);
    }
}

static void respond(sim_conn *c, int status, const char *extra_headers, const char *body, size_t len)
{
    if (c->closing)
        return;
    end_of_response(c);
    int rc = sim_buf_printf(&c->out, "HTTP/1.1 %d %s\r\ncontent-length: %zu\r\n%s%s\r\n", status,
                            reason_phrase(status), len, extra_headers ? extra_headers : "",
                            c->keep_alive ? "" : "connection: close\r\n");
    if (rc == 0)
        rc = sim_buf_append(&c->out, body, len);
    if (rc < 0) {
        sim_conn_close(c);
        return;
    }
    conn_flush(c);
}

static void respond_json(sim_conn *c, int status, const char *extra, const char *json)
{
    char hdr[256];
    snprintf(hdr, sizeof hdr, "content-type: application/json\r\n%s", extra ? extra : "");
    respond(c, status, hdr, json, strlen(json));
}

static void respond_error(sim_conn *c, int status, const char *type, const char *message, const char *extra)
{
    sim_buf *s = &c->srv->scratch;
    sim_buf_reset(s);
    if (sim_api_error_body(s, status, type, message) < 0) {
        sim_conn_close(c);
        return;
    }
    respond_json(c, status, extra, s->data);
}

/* ---- request routing ---- */

static int authorized(const sim_conn *c)
{
    const char *key = c->srv->cfg.api_key;
    if (!key)
        return 1;
    if (c->hdr_overflow)
        return 0;
    size_t kl = strlen(key);
    if (c->xkey_len == kl && memcmp(c->xkey, key, kl) == 0)
        return 1;
    return c->auth_len == kl + 7 && strncasecmp(c->auth, "Bearer ", 7) == 0 && memcmp(c->auth + 7, key, kl) == 0;
}

static void serve_models(sim_conn *c)
{
    sim_server *srv = c->srv;
    sim_buf *s = &srv->scratch;
    sim_buf_reset(s);
    int rc = sim_buf_printf(s, "{\"object\":\"list\",\"data\":[");
    /* Every served model, in the order given (the first is what discovery picks). */
    for (uint32_t i = 0; rc >= 0 && i < srv->cfg.n_models; i++)
        rc = sim_buf_printf(s,
                            "%s{\"id\":\"%s\",\"object\":\"model\",\"created\":%llu,"
                            "\"owned_by\":\"llmload-sim\",\"root\":\"%s\",\"parent\":null,\"max_model_len\":%llu}",
                            i ? "," : "", srv->cfg.models[i].name, (unsigned long long)srv->started_wall,
                            srv->cfg.models[i].name, (unsigned long long)srv->cfg.max_model_len);
    if (rc < 0 || sim_buf_printf(s, "]}") < 0) {
        sim_conn_close(c);
        return;
    }
    respond_json(c, 200, NULL, s->data);
}

static void serve_stats(sim_conn *c)
{
    sim_server *srv = c->srv;
    sim_buf *s = &srv->scratch;
    sim_buf_reset(s);
    if (sim_metrics_render_stats(&srv->metrics, srv->engine, s) < 0) {
        sim_conn_close(c);
        return;
    }
    respond_json(c, 200, NULL, s->data);
}

static sim_metrics_view metrics_view(const sim_server *srv)
{
    sim_metrics_view v = {.engine = srv->engine, .prefix = srv->prefix, .kv_total = srv->cfg.kv_cache_tokens,
                          .slots = srv->cfg.max_num_seqs, .model = srv->cfg.model,
                          .legacy = srv->cfg.metrics_style == SIM_STYLE_LLAMACPP_LEGACY};
    return v;
}

static void serve_metrics(sim_conn *c)
{
    sim_server *srv = c->srv;
    sim_buf *s = &srv->scratch;
    sim_buf_reset(s);
    sim_metrics_view v = metrics_view(srv);
    int rc;
    if (srv->cfg.metrics_style != SIM_STYLE_VLLM) {
        rc = sim_metrics_render_llamacpp(&srv->metrics, &v, s);
    } else {
        rc = sim_metrics_render(&srv->metrics, srv->engine, srv->cfg.kv_cache_tokens, srv->cfg.model, s);
        if (rc == 0)
            rc = sim_metrics_render_v1(&srv->metrics, &v, s);
    }
    if (rc == 0 && srv->cfg.gpu_metrics)
        rc = sim_gpu_render(&srv->gpu, srv->engine, clock_now_ns(), s);
    if (rc < 0) {
        sim_conn_close(c);
        return;
    }
    respond(c, 200, "content-type: text/plain; version=0.0.4; charset=utf-8\r\n", s->data, s->len);
}

/* GET /slots, llama.cpp's (only with a llamacpp --metrics-style; 404 otherwise, as vLLM has none). */
static void serve_slots(sim_conn *c)
{
    sim_server *srv = c->srv;
    sim_buf *s = &srv->scratch;
    sim_buf_reset(s);
    sim_metrics_view v = metrics_view(srv);
    if (sim_metrics_render_slots(&v, s) < 0) {
        sim_conn_close(c);
        return;
    }
    respond_json(c, 200, NULL, s->data);
}

static int draw(sim_server *srv, double p)
{
    return p > 0 && gsl_rng_uniform(srv->rng) < p;
}

/* Output length and finish reason for one request (docs/simulator.md "Output length"). */
static uint64_t output_length(sim_conn *c, const char **finish)
{
    sim_server *srv = c->srv;
    const sim_config *cfg = &srv->cfg;
    double d = cfg->output_tokens;
    if (cfg->output_tokens_stdev > 0)
        d += gsl_ran_gaussian(srv->rng, cfg->output_tokens_stdev);
    uint64_t drawn = d < 1 ? 1 : (uint64_t)llround(d);
    uint64_t room = cfg->max_model_len - c->req.prompt_tokens;
    uint64_t cap = c->req.has_max_tokens ? c->req.max_tokens : room;
    uint64_t n;
    if (c->req.ignore_eos && c->req.has_max_tokens) {
        n = cap;
        *finish = "length";
    } else if (drawn >= cap) {
        n = cap;
        *finish = "length";
    } else {
        n = drawn;
        *finish = "stop";
    }
    if (draw(srv, cfg->early_eos_rate)) {
        if (n > 1)
            n = 1 + gsl_rng_uniform_int(srv->rng, (unsigned long)(n - 1));
        *finish = "stop";
    }
    return n;
}

static sim_api_prompt_opts prompt_opts(const sim_server *srv)
{
    const sim_config *cfg = &srv->cfg;
    sim_api_prompt_opts o = {.models = srv->model_names,
                             .n_models = cfg->n_models,
                             .max_model_len = cfg->max_model_len,
                             .chat_template_tokens = cfg->chat_template_tokens,
                             .truncate_to = cfg->truncate_prompt_to,
                             .error_style = (enum sim_api_error_style)cfg->error_style};
    return o;
}

/* An error in the style --error-style picks: llama.cpp's shape only for what llama.cpp itself
 * reports that way (a prompt past the context); everything else keeps vLLM's. */
static void respond_parse_error(sim_conn *c, const sim_api_error *err)
{
    if (!err->n_ctx) {
        respond_error(c, err->status, err->type, err->message, NULL);
        return;
    }
    sim_buf *s = &c->srv->scratch;
    sim_buf_reset(s);
    if (sim_api_error_body_llamacpp(s, err->status, err->type, err->message, err->n_prompt, err->n_ctx) < 0) {
        sim_conn_close(c);
        return;
    }
    respond_json(c, err->status, NULL, s->data);
}

/* POST /tokenize and /apply-template (the calibration endpoints of vLLM and llama.cpp). */
static void serve_tokenize(sim_conn *c, int apply_template)
{
    sim_server *srv = c->srv;
    sim_api_error err;
    sim_api_prompt_opts o = prompt_opts(srv);
    sim_buf *s = &srv->scratch;
    sim_buf_reset(s);
    const char *body = c->body.data ? c->body.data : "";
    int rc = apply_template ? sim_api_apply_template(body, c->body.len, &o, s, &err)
                            : sim_api_tokenize(body, c->body.len, &o, s, &err);
    if (rc == LL_ENOMEM || rc == LL_EOVERSIZE) {
        sim_conn_close(c);
        return;
    }
    if (rc < 0) {
        respond_error(c, err.status, err.type, err.message, NULL);
        return;
    }
    respond_json(c, 200, NULL, s->data);
}

static void start_completion(sim_conn *c, enum sim_api_kind kind)
{
    sim_server *srv = c->srv;
    sim_api_error err;
    sim_api_prompt_opts o = prompt_opts(srv);
    o.prefix = srv->prefix;
    srv->metrics.requests++;
    if (sim_api_parse_opts(kind, c->body.data ? c->body.data : "", c->body.len, srv->cfg.model, &o, &c->req,
                           &err) < 0) {
        respond_parse_error(c, &err);
        return;
    }
    if (draw(srv, srv->cfg.error_rate)) {
        srv->metrics.faults[SIM_FAULT_ERROR]++;
        respond_error(c, 500, "InternalServerError", "Injected fault: internal server error (llmload sim --error-rate)", NULL);
        return;
    }
    if (draw(srv, srv->cfg.rate_limit_rate)) {
        srv->metrics.faults[SIM_FAULT_RATE_LIMIT]++;
        respond_error(c, 429, "RateLimitError", "Injected fault: too many requests (llmload sim --rate-limit-rate)",
                      "retry-after: 1\r\n");
        return;
    }
    if (srv->cfg.no_continuous_usage)
        c->req.continuous_usage = 0;
    uint64_t n = output_length(c, &c->finish);
    if (srv->cfg.finish_reason)
        c->finish = srv->cfg.finish_reason;
    uint32_t k = srv->cfg.tokens_per_event;
    c->total_events = (n + k - 1) / k;
    c->fault = -1;
    if (c->req.stream) {
        static const int kinds[] = {SIM_FAULT_DISCONNECT, SIM_FAULT_MALFORMED, SIM_FAULT_STALL,
                                    SIM_FAULT_STREAM_ERROR};
        const double rates[] = {srv->cfg.disconnect_rate, srv->cfg.malformed_rate, srv->cfg.stall_rate,
                                srv->cfg.stream_error_rate};
        for (int i = 0; i < 4 && c->fault < 0; i++)
            if (draw(srv, rates[i]))
                c->fault = kinds[i];
        if (c->fault >= 0) {
            /* Cut and stall strike after event fault_at, leaving at least one token sent and (when
             * the stream has more than one event) at least one unsent; malformed goes before it. */
            uint64_t span = c->total_events > 1 ? c->total_events - 1 : 1;
            c->fault_at = 1 + gsl_rng_uniform_int(srv->rng, (unsigned long)span);
            srv->metrics.faults[c->fault]++;
        }
    }
    memset(&c->seq, 0, sizeof c->seq);
    c->seq.prompt_tokens = c->req.prompt_tokens;
    c->seq.output_tokens = n;
    c->seq.cached_tokens = c->req.cached_tokens;
    c->seq.model = c->req.model;
    c->last_at_ns = 0;
    sim_api_stream_init(&c->st, kind, ++srv->serial, (uint64_t)clock_wall_s(), srv->cfg.models[c->req.model].name,
                        c->req.prompt_tokens, srv->cfg.reasoning_tokens, c->req.continuous_usage);
    sim_api_stream_shape(&c->st, (enum sim_api_shape)srv->cfg.content_shape, srv->cfg.cumulative_message,
                         srv->cfg.usage_on_finish, srv->cfg.timings);
    c->arrival_ns = clock_now_ns();
    int rc = sim_engine_submit(srv->engine, &c->seq, c->arrival_ns);
    if (rc < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "The request needs %llu tokens of KV cache, more than the %llu the engine has.",
                 (unsigned long long)(c->seq.prompt_tokens + c->seq.output_tokens),
                 (unsigned long long)srv->cfg.kv_cache_tokens);
        respond_error(c, 400, "BadRequestError", msg, NULL);
        return;
    }
    srv->metrics.prompt_tokens += c->req.prompt_tokens;
    c->in_request = 1;
    c->events = c->tokens_sent = 0;
    c->stalled = 0;
    if (c->req.stream) {
        c->route = SIM_ROUTE_STREAM;
        if (sim_buf_printf(&c->out, "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                                    "transfer-encoding: chunked\r\n%s\r\n",
                           c->keep_alive ? "" : "connection: close\r\n") < 0) {
            sim_conn_close(c);
            return;
        }
        conn_flush(c);
    } else {
        c->route = SIM_ROUTE_FULL;
    }
    sim_server_reschedule(srv);
}

static void dispatch(sim_conn *c)
{
    char path[1024];
    size_t plen = c->url_len;
    const char *q = memchr(c->url, '?', c->url_len);
    if (q)
        plen = (size_t)(q - c->url);
    memcpy(path, c->url, plen);
    path[plen] = '\0';
    int method = c->parser.method;
    static const struct {
        const char *path;
        int method;
    } routes[] = {{"/health", HTTP_GET},         {"/v1/models", HTTP_GET},
                  {"/metrics", HTTP_GET},        {"/v1/chat/completions", HTTP_POST},
                  {"/v1/completions", HTTP_POST}, {"/sim/stats", HTTP_GET},
                  {"/tokenize", HTTP_POST},      {"/apply-template", HTTP_POST},
                  {"/slots", HTTP_GET}};
    int found = -1;
    for (size_t i = 0; !c->url_overflow && i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(path, routes[i].path) == 0)
            found = (int)i;
    if (found == 8 && c->srv->cfg.metrics_style == SIM_STYLE_VLLM)
        found = -1;
    if (found >= 6 && found <= 7 && c->srv->cfg.no_tokenize)
        found = -1; /* --no-tokenize: a server without them (OpenAI, TGI, older vLLM) */
    if (found < 0) {
        respond_json(c, 404, NULL, "{\"detail\":\"Not Found\"}");
        return;
    }
    if (method != routes[found].method) {
        char allow[64];
        snprintf(allow, sizeof allow, "allow: %s\r\n", http_method_str(routes[found].method));
        respond_json(c, 405, allow, "{\"detail\":\"Method Not Allowed\"}");
        return;
    }
    if (strncmp(path, "/v1/", 4) == 0 && !authorized(c)) {
        respond_json(c, 401, NULL, "{\"error\":\"Unauthorized\"}");
        return;
    }
    switch (found) {
    case 0: respond(c, 200, NULL, "", 0); break;
    case 1: serve_models(c); break;
    case 2: serve_metrics(c); break;
    case 3: start_completion(c, SIM_API_CHAT); break;
    case 4: start_completion(c, SIM_API_COMPLETIONS); break;
    case 6: serve_tokenize(c, 0); break;
    case 7: serve_tokenize(c, 1); break;
    case 8: serve_slots(c); break;
    default: serve_stats(c); break;
    }
}

/* ---- http-parser callbacks ---- */

static int on_message_begin(http_parser *p)
{
    sim_conn *c = p->data;
    c->url_len = 0;
    c->url_overflow = 0;
    c->field_len = 0;
    c->last_was_value = 0;
    c->hdr_target = 0;
    c->auth_len = c->xkey_len = 0;
    c->hdr_overflow = 0;
    sim_buf_reset(&c->body);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    sim_conn *c = p->data;
    if (len >= sizeof c->url - c->url_len) {
        c->url_overflow = 1;
        return 0;
    }
    memcpy(c->url + c->url_len, at, len);
    c->url_len += len;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    sim_conn *c = p->data;
    if (c->last_was_value) {
        c->field_len = 0;
        c->last_was_value = 0;
    }
    size_t room = sizeof c->field - 1 - c->field_len;
    if (len > room)
        len = room;   /* a long name cannot be one we look for; truncation keeps it unmatched */
    memcpy(c->field + c->field_len, at, len);
    c->field_len += len;
    c->field[c->field_len] = '\0';
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    sim_conn *c = p->data;
    if (!c->last_was_value) {
        c->last_was_value = 1;
        c->hdr_target = strcasecmp(c->field, "authorization") == 0 ? 1
                        : strcasecmp(c->field, "x-api-key") == 0   ? 2
                                                                   : 0;
        if (c->hdr_target == 1)
            c->auth_len = 0;
        else if (c->hdr_target == 2)
            c->xkey_len = 0;
    }
    char *dst = c->hdr_target == 1 ? c->auth : c->xkey;
    size_t *dl = c->hdr_target == 1 ? &c->auth_len : &c->xkey_len;
    if (!c->hdr_target)
        return 0;
    if (len > sizeof c->auth - *dl) {
        c->hdr_overflow = 1;
        return 0;
    }
    memcpy(dst + *dl, at, len);
    *dl += len;
    return 0;
}

static void too_large(sim_conn *c)
{
    char msg[160];
    snprintf(msg, sizeof msg, "Request body exceeds the limit of %llu bytes (llmload sim --max-body-bytes).",
             (unsigned long long)c->srv->cfg.max_body_bytes);
    c->keep_alive = 0;
    respond_error(c, 413, "BadRequestError", msg, NULL);
}

static int on_headers_complete(http_parser *p)
{
    sim_conn *c = p->data;
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->cfg.max_body_bytes) {
        too_large(c);
        return -1;   /* stops the parser; the connection closes once the 413 is out */
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    sim_conn *c = p->data;
    int rc = sim_buf_append(&c->body, at, len);
    if (rc == LL_EOVERSIZE) {
        too_large(c);
        return -1;
    }
    if (rc < 0) {
        sim_conn_close(c);
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    sim_conn *c = p->data;
    if (p->method == HTTP_POST)
        c->srv->metrics.posts++; /* on the wire, answered or not: what a client's resends cost */
    if (c->late_close) {
        /* Written into the gap before a late close: read, never answered (llama-server). */
        http_parser_pause(p, 1);
        return 0;
    }
    c->keep_alive = http_should_keep_alive(p) && c->srv->cfg.close_after_response != SIM_CLOSE_HEADER;
    dispatch(c);
    /* One request at a time: pause so bytes of a pipelined request wait in pending_in until this
     * response has finished. */
    http_parser_pause(p, 1);
    return 0;
}

void sim_conn_settings(http_parser_settings *s)
{
    memset(s, 0, sizeof *s);
    s->on_message_begin = on_message_begin;
    s->on_url = on_url;
    s->on_header_field = on_header_field;
    s->on_header_value = on_header_value;
    s->on_headers_complete = on_headers_complete;
    s->on_body = on_body;
    s->on_message_complete = on_message_complete;
}

/* Feeds bytes to the parser while no response is in progress; returns how many were consumed. */
static size_t conn_feed(sim_conn *c, const char *data, size_t len)
{
    size_t used = 0;
    while (used < len && !c->in_request && !c->closing && !c->close_after_write) {
        size_t n = http_parser_execute(&c->parser, &c->srv->settings, data + used, len - used);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        used += n;
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            continue;
        }
        if (e != HPE_OK) {
            if (!c->closing && !c->close_after_write) {
                c->keep_alive = 0;
                respond_json(c, 400, NULL, "{\"detail\":\"Invalid HTTP request received.\"}");
            }
            return len;
        }
        if (n == 0)
            break;
    }
    return used;
}

static void conn_feed_pending(sim_conn *c)
{
    if (!c->pending_in.len)
        return;
    size_t n = conn_feed(c, c->pending_in.data, c->pending_in.len);
    sim_buf_consume(&c->pending_in, n);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    sim_conn *c = h->data;
    (void)hint;
    *buf = uv_buf_init(c->srv->readbuf, sizeof c->srv->readbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    sim_conn *c = s->data;
    if (nread < 0) {
        sim_conn_close(c);
        return;
    }
    if (nread == 0 || c->closing)
        return;
    size_t n = 0;
    if (!c->in_request && !c->pending_in.len)
        n = conn_feed(c, buf->base, (size_t)nread);
    if (n < (size_t)nread && !c->closing && !c->close_after_write &&
        sim_buf_append(&c->pending_in, buf->base + n, (size_t)nread - n) < 0) {
        sim_conn_close(c);   /* more pipelined input than we hold for one connection */
        return;
    }
    if (!c->in_request)
        conn_feed_pending(c);
}

static void on_stall_timeout(uv_timer_t *t)
{
    sim_conn_close(t->data);
}

/* A new connection's state and handles, linked into the server's list; NULL (logged) on failure. */
static sim_conn *conn_new(sim_server *srv)
{
    sim_conn *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "llmload sim: out of memory accepting a connection\n");
        return NULL;
    }
    c->srv = srv;
    sim_buf_init(&c->body, srv->cfg.max_body_bytes);
    sim_buf_init(&c->pending_in, srv->cfg.max_body_bytes + 65536);
    sim_buf_init(&c->out, 0);
    sim_buf_init(&c->inflight, 0);
    if (uv_tcp_init(&srv->loop, &c->tcp) < 0) {
        free(c);
        return NULL;
    }
    c->tcp.data = c;
    c->open_handles = 1;
    if (uv_timer_init(&srv->loop, &c->stall_timer) == 0) {
        c->stall_timer.data = c;
        c->open_handles = 2;
    }
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    if (c->open_handles != 2) {
        /* Only the tcp handle exists: close it alone. */
        c->closing = 1;
        srv->conns = c->next;
        if (c->next)
            c->next->prev = NULL;
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        return NULL;
    }
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->keep_alive = 1;
    return c;
}

void sim_conn_accept(sim_server *srv)
{
    sim_conn *c = conn_new(srv);
    if (!c)
        return;
    if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->tcp) < 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
        sim_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
}

sim_conn *sim_conn__open(sim_server *srv, int fd)
{
    sim_conn *c = conn_new(srv);
    if (!c) {
        close(fd);
        return NULL;
    }
    if (uv_tcp_open(&c->tcp, fd) < 0) {
        close(fd);
        sim_conn_close(c);
        return NULL;
    }
    return c;
}

void sim_conn__receive(sim_conn *c, const char *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    on_read((uv_stream_t *)&c->tcp, (ssize_t)len, &b);
}

/* ---- streaming ---- */

static void schedule_drain(sim_conn *c)
{
    if (c->on_drain_list || c->closing)
        return;
    c->on_drain_list = 1;
    c->drain_next = c->srv->drain;
    c->srv->drain = c;
}

static void finish_request(sim_conn *c)
{
    c->in_request = 0;
    c->route = SIM_ROUTE_NONE;
    end_of_response(c);
    /* Parsing what arrived meanwhile may submit to the engine: not from inside its callback. */
    if (c->pending_in.len)
        schedule_drain(c);
    conn_flush(c);
}

void sim_conn_drain(sim_conn *c)
{
    c->on_drain_list = 0;
    if (!c->closing && !c->in_request)
        conn_feed_pending(c);
}

static int frame(sim_buf *out, const sim_buf *ev)
{
    int rc = sim_buf_printf(out, "%zx\r\n", ev->len);
    if (rc == 0)
        rc = sim_buf_append(out, ev->data, ev->len);
    if (rc == 0)
        rc = sim_buf_append(out, "\r\n", 2);
    return rc;
}

static void emit_stream(sim_conn *c, uint32_t tokens, int finished)
{
    sim_server *srv = c->srv;
    sim_buf *ev = &srv->scratch;
    int cut = (c->fault == SIM_FAULT_DISCONNECT || c->fault == SIM_FAULT_STALL) && c->events == c->fault_at;
    /* An in-stream error ends the response cleanly (terminator sent) after its event. */
    int serr = c->fault == SIM_FAULT_STREAM_ERROR && c->events == c->fault_at;
    int ends = (finished && !cut) || serr;
    int rc = 0;
    sim_buf_reset(ev);
    if (finished && c->st.timings) {
        /* llama.cpp's own account: prompt time is the prefill the engine scheduled. */
        uint64_t now = clock_now_ns();
        c->st.prompt_ms = (double)(c->seq.first_token_ns - c->seq.admitted_ns) / 1e6;
        c->st.predicted_ms = now > c->seq.first_token_ns ? (double)(now - c->seq.first_token_ns) / 1e6 : 0;
    }
    if (c->events == 1 && c->st.kind == SIM_API_CHAT)
        rc = sim_api_event_role(&c->st, ev);
    if (rc == 0 && c->fault == SIM_FAULT_MALFORMED && c->events == c->fault_at)
        rc = sim_api_event_malformed(&c->st, ev);
    /* Perplexity sends the finish in a chunk of its own, with an empty delta. */
    int own_finish = finished && c->st.cumulative_message;
    if (rc == 0)
        rc = sim_api_event_tokens(&c->st, ev, c->tokens_sent - tokens, tokens,
                                  finished && !own_finish ? c->finish : NULL, c->tokens_sent);
    if (rc == 0 && own_finish && !cut && !serr)
        rc = sim_api_event_finish(&c->st, ev, c->tokens_sent, c->finish);
    if (rc == 0 && serr) {
        enum sim_api_error_shape shape = (enum sim_api_error_shape)srv->cfg.stream_error_shape;
        rc = sim_api_event_error(ev, shape);
        if (rc == 0 && shape == SIM_ERR_SHAPE_OBJECT && !srv->cfg.no_done)
            rc = sim_api_event_done(ev); /* vLLM follows its error chunk with [DONE] */
    } else if (finished && !cut) {
        if (rc == 0 && c->req.include_usage && !srv->cfg.usage_on_finish)
            rc = sim_api_event_usage(&c->st, ev, c->tokens_sent);
        if (rc == 0 && !srv->cfg.no_done)
            rc = sim_api_event_done(ev);
    }
    if (rc == 0)
        rc = frame(&c->out, ev);
    if (rc == 0 && ends)
        rc = sim_buf_append(&c->out, "0\r\n\r\n", 5);
    if (rc < 0) {
        sim_conn_close(c);
        return;
    }
    /* The gap is stamped here, after formatting, right before the bytes go to uv_try_write, so it
     * is the instant the kernel is handed the event (when the socket takes it), as a client's read
     * timestamp is the instant it gets it back. */
    uint64_t wrote = clock_now_ns();
    if (c->events > 1)
        sim_metrics_observe_gap(&srv->metrics, wrote - c->last_write_ns);
    c->last_write_ns = wrote;
    srv->metrics.events_sent++;
    conn_flush(c);
    /* Not all in the kernel yet (an earlier write still pending, or a partial write): this event
     * reaches the client later than its stamp says. Counted, so a comparison can tell. */
    if (c->writing || c->out.len)
        srv->metrics.events_backlogged++;
    if ((cut && c->fault == SIM_FAULT_DISCONNECT) || serr) {
        /* Closing cancels the engine's sequence (from the close callback; the engine cannot be
         * called from inside its own emit). After an error the response is whole, so the client
         * sees a clean end, then the close. */
        c->close_after_write = 1;
        conn_flush(c);
    } else if (cut) {
        /* Hold the connection open and silent; the client or the timer ends it. */
        c->stalled = 1;
        uv_timer_start(&c->stall_timer, on_stall_timeout, (uint64_t)(srv->cfg.stall_seconds * 1000.0), 0);
    }
}

static void conn_on_emit(sim_conn *c, uint32_t tokens, int finished)
{
    sim_server *srv = c->srv;
    if (c->closing || c->close_after_write)
        return;
    uint64_t now = clock_now_ns();
    c->events++;
    c->tokens_sent += tokens;
    srv->metrics.generation_tokens += tokens;
    if (c->events == 1)
        sim_metrics_observe(&srv->metrics, SIM_HIST_TTFT, (double)(now - c->arrival_ns) / 1e9);
    if (c->route == SIM_ROUTE_STREAM) {
        if (!c->stalled)
            emit_stream(c, tokens, finished);
        if (!finished || c->stalled || c->closing || c->close_after_write)
            return;
        srv->metrics.streams_completed++;
    } else if (finished) {
        sim_buf *s = &srv->scratch;
        sim_buf_reset(s);
        if (sim_api_full_body(&c->st, s, c->tokens_sent, c->finish) < 0) {
            sim_conn_close(c);
            return;
        }
        respond(c, 200, "content-type: application/json\r\n", s->data, s->len);
    } else {
        return;
    }
    if (strcmp(c->finish, "length") == 0)
        srv->metrics.success_length++;
    else
        srv->metrics.success_stop++;
    sim_metrics_observe(&srv->metrics, SIM_HIST_E2E, (double)(clock_now_ns() - c->arrival_ns) / 1e9);
    finish_request(c);
}

/* Engine-time accounting of one emission: the step's tokens (a first emission since admission
 * carries its prefill's tokens too), queue and prefill time, vLLM's inter-token gap. */
static void engine_account(sim_server *srv, sim_conn *c, sim_engine_seq *seq, uint64_t at_ns, uint32_t tokens)
{
    sim_metrics *m = &srv->metrics;
    uint64_t work = tokens;
    if (seq->admitted_ns > c->last_at_ns) {   /* first since (re)admission: a prefill ended */
        uint64_t cached = seq->cached_tokens < seq->prompt_tokens ? seq->cached_tokens : seq->prompt_tokens;
        work += seq->prompt_tokens + (seq->emitted - tokens) - cached;
        m->prefill_seconds += (double)(at_ns - seq->admitted_ns) / 1e9;
        if (c->last_at_ns == 0)
            sim_metrics_observe(m, SIM_HIST_QUEUE, (double)(seq->admitted_ns - seq->submitted_ns) / 1e9);
    } else {
        m->decode_seconds += (double)(at_ns - c->last_at_ns) / 1e9;
    }
    if (c->last_at_ns)
        sim_metrics_observe(m, SIM_HIST_VLLM_ITL, (double)(at_ns - c->last_at_ns) / 1e9);
    c->last_at_ns = at_ns;
    sim_metrics_iteration(m, at_ns, work);
}

void sim_conn_emit(void *ud, sim_engine_seq *seq, uint64_t at_ns, uint32_t tokens, int finished)
{
    sim_conn *c = CONN_OF_SEQ(seq);
    engine_account(ud, c, seq, at_ns, tokens);
    conn_on_emit(c, tokens, finished);
}
