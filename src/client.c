/*
 * client.c - request slots and the receive path above HTTP (scheduler -> client -> sse -> chunk ->
 * record). A transport (client_curl.c or client_http1.c, chosen by --http-client) moves the
 * bytes and calls back here with the status, headers and body; this file turns them into the
 * record and decides how each request ended, the same way for both transports. Invariant: a slot
 * is either on the free list or owned by the transport, never both; records leave the slot by
 * copy before the slot is reused.
 */
#include "llmload/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_internal.h"
#include "llmload/clock.h"
#include "llmload/error.h"
#include "llmload/text.h"

/* ---- receive path --------------------------------------------------------------------- */

/* An error the server reported inside the stream: the first one decides the request's failure.
 * json: msg is the inside of a JSON string (chunk_scan's error_msg), whose escapes are decoded so
 * the message reads as the server meant it. */
static void stream_error(client__slot *s, const char *msg, size_t len, int json)
{
    if (!s->fail_kind)
        s->fail_kind = RECORD_ERR_SERVER_ERROR;
    if (s->error_msg[0] || !msg)
        return;
    size_t n;
    if (json)
        n = text_json_unescape(s->error_msg, sizeof s->error_msg, msg, len);
    else {
        n = len < sizeof s->error_msg - 1 ? len : sizeof s->error_msg - 1;
        memcpy(s->error_msg, msg, n);
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s->error_msg[i] < 0x20)
            s->error_msg[i] = ' ';
    s->error_msg[n] = '\0';
}

/* `event: error` or an `error:` field line (rare: the slow path). The payload may be JSON with an
 * error object, JSON with a top-level message, or plain text; the message is what is kept. */
static void on_error_event(client__slot *s, const sse_event *ev)
{
    chunk_info ci;
    const char *msg = ev->data;
    size_t len = ev->data_len;
    int json = 0;
    if (chunk_scan(ev->data, ev->data_len, &ci) == 0 && ci.error_msg) {
        msg = ci.error_msg;
        len = ci.error_msg_len;
        json = 1;
    }
    if (len == 0) {
        msg = "the server sent an error event";
        len = strlen(msg);
        json = 0;
    }
    stream_error(s, msg, len, json);
}

static uint8_t finish_of(int chunk_finish)
{
    switch (chunk_finish) {
    case CHUNK_FINISH_STOP: return RECORD_FINISH_STOP;
    case CHUNK_FINISH_LENGTH: return RECORD_FINISH_LENGTH;
    case CHUNK_FINISH_TOOL_CALLS: return RECORD_FINISH_TOOL_CALLS;
    case CHUNK_FINISH_CONTENT_FILTER: return RECORD_FINISH_CONTENT_FILTER;
    case CHUNK_FINISH_NONE: return RECORD_FINISH_NONE;
    default: return RECORD_FINISH_OTHER;
    }
}

static float timing_ms(double v)
{
    return v < 0 ? 0.0f : v > 1e12 ? 1e12f : (float)v;
}

static int32_t timing_n(double v)
{
    return v < 0 ? -1 : v > 2e9 ? INT32_MAX : (int32_t)v;
}

static int on_sse_event(void *ud, const sse_event *ev)
{
    client__slot *s = ud;
    client *c = s->owner;
    record *r = &s->rec;
    chunk_info ci;

    if (ev->done) {
        r->done_seen = 1;
        return 0;
    }
    if (ev->error || (ev->type_len == 5 && memcmp(ev->type, "error", 5) == 0)) {
        on_error_event(s, ev);
        return 0;
    }
    if (chunk_scan_stream(ev->data, ev->data_len, &s->prefix, &ci) != 0) {
        if (!s->fail_kind) {
            s->fail_kind = RECORD_ERR_MALFORMED;
            /* The event's first bytes tell a reader of first_errors what the server sent. */
            int n = snprintf(s->error_msg, sizeof s->error_msg, "event is not valid JSON: %.*s",
                             (int)(ev->data_len < 60 ? ev->data_len : 60), ev->data);
            for (int i = 0; i < n && i < (int)sizeof s->error_msg; i++)
                if ((unsigned char)s->error_msg[i] < 0x20)
                    s->error_msg[i] = ' ';
        }
        return 0;
    }
    if (ci.has_error)
        stream_error(s, ci.error_msg, ci.error_msg_len, 1);
    if (ci.finish != CHUNK_FINISH_NONE)
        r->finish_reason = finish_of(ci.finish);
    chunk_server_timings t;
    if (ci.timings && chunk_timings(ci.timings, ci.timings_len, &t) == 0) {
        r->has_timings = 1;
        r->server_prompt_n = timing_n(t.prompt_n);
        r->server_prompt_ms = timing_ms(t.prompt_ms);
        r->server_predicted_n = timing_n(t.predicted_n);
        r->server_predicted_ms = timing_ms(t.predicted_ms);
    }
    long tokens_in_event = 1;
    if (ci.has_usage) {
        if (ci.prompt_tokens >= 0)
            r->prompt_tokens = (int32_t)ci.prompt_tokens;
        if (ci.completion_tokens >= 0) {
            /* Usage is a running count only once a second event carries it: a single total on the
             * last token event (Mistral puts usage on the finish chunk) must not split that one
             * gap into N tokens. Decided as the events come, without holding any back. */
            if (s->usage_events > 0 && ci.completion_tokens > s->last_completion_tokens) {
                tokens_in_event = ci.completion_tokens - s->last_completion_tokens;
                r->usage_running = 1;
            }
            s->usage_events++;
            s->last_completion_tokens = ci.completion_tokens;
            r->output_tokens = (int32_t)ci.completion_tokens;
            r->usage_seen = 1;
        }
    }
    if (!chunk_has_token(&ci))
        return 0;

    uint64_t now = c->stamp_ns;
    if (r->first_token_ns == 0) {
        r->first_token_ns = now;
    } else {
        uint64_t gap = now > r->last_token_ns ? now - r->last_token_ns : 0;
        r->itl_sum_ns += gap;
        r->itl_count++;
        if (gap > r->itl_max_ns)
            r->itl_max_ns = gap;
        if (s->measured) {
            if (c->sinks.itl)
                hist_record(c->sinks.itl, gap);
            if (c->sinks.itl_token) {
                /* A gap that carried n tokens stands for n per-token gaps of gap/n. */
                if (tokens_in_event > 1)
                    hist_record_n(c->sinks.itl_token, gap / (uint64_t)tokens_in_event, (uint64_t)tokens_in_event);
                else
                    hist_record(c->sinks.itl_token, gap);
            }
        }
    }
    if (r->first_output_ns == 0 && (ci.output_chars > 0 || ci.tool_call))
        r->first_output_ns = now;
    r->last_token_ns = now;
    r->token_events++;
    return 0;
}

int client__on_body(client__slot *s, const char *data, size_t len)
{
    s->last_rx_ns = s->owner->stamp_ns;
    if (s->encoding[0] && s->rec.http_status >= 200 && s->rec.http_status < 300) {
        /* Compressed bytes would reach the SSE parser as noise and end as "the stream ended inside
         * an event": name the real cause. llmload sent no Accept-Encoding, so this server
         * misbehaves. */
        s->fail_kind = RECORD_ERR_OTHER;
        snprintf(s->error_msg, sizeof s->error_msg,
                 "unsupported Content-Encoding: %s (llmload sent no Accept-Encoding)", s->encoding);
        return -1;
    }
    if (s->rec.http_status < 200 || s->rec.http_status >= 300) {
        size_t room = sizeof s->errbuf - 1 - s->errbuf_len;
        size_t n = len < room ? len : room;
        memcpy(s->errbuf + s->errbuf_len, data, n);
        s->errbuf_len += n;
        return 0;
    }
    int rc = sse_feed(&s->sse, data, len, on_sse_event, s);
    if (rc == LL_EOVERSIZE) {
        s->fail_kind = RECORD_ERR_OVERSIZE;
        snprintf(s->error_msg, sizeof s->error_msg, "an SSE event passed the %zu-byte cap", s->sse.max_event);
        return -1;
    }
    if (rc != 0) {
        s->fail_kind = RECORD_ERR_OTHER;
        snprintf(s->error_msg, sizeof s->error_msg, "SSE parser: %s", ll_strerror(rc));
        return -1;
    }
    return 0;
}

void client__on_status(client__slot *s, int code)
{
    s->rec.http_status = (int16_t)code;
    if (!s->saw_status) {
        s->saw_status = 1;
        s->rec.first_byte_ns = s->owner->stamp_ns;
    }
    s->last_rx_ns = s->owner->stamp_ns;
}

void client__on_content_encoding(client__slot *s, const char *v, size_t len)
{
    while (len > 0 && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r' || v[len - 1] == '\n'))
        len--;
    if (len == 0 || (len == 8 && strncasecmp(v, "identity", 8) == 0))
        return;
    size_t n = len < sizeof s->encoding - 1 ? len : sizeof s->encoding - 1;
    for (size_t i = 0; i < n; i++)
        s->encoding[i] = (unsigned char)v[i] < 0x20 ? ' ' : v[i];
    s->encoding[n] = '\0';
}

void client__on_retry_after(client__slot *s, const char *p, size_t len)
{
    const char *e = p + len;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    double secs = 0;
    int digits = 0;
    while (p < e && *p >= '0' && *p <= '9' && secs < 86400) {
        secs = secs * 10 + (*p++ - '0');
        digits++;
    }
    if (p < e && *p == '.') /* some servers send fractions */
        for (double f = 0.1; ++p < e && *p >= '0' && *p <= '9'; f /= 10)
            secs += f * (*p - '0');
    if (!digits && p < e && *p != '\r' && *p != '\n')
        secs = 1;
    s->rec.retry_after_ms = (uint32_t)(secs * 1000.0);
}

/* ---- completion ------------------------------------------------------------------------ */

static void copy_error_text(char *msg, const char *text, size_t len)
{
    if (msg[0] || len == 0)
        return;
    /* Prefer the JSON error message (its escapes decoded); fall back to the raw body's start. */
    chunk_info ci;
    size_t n;
    if (chunk_scan(text, len, &ci) == 0 && ci.error_msg)
        n = text_json_unescape(msg, RECORD_ERROR_MSG_MAX, ci.error_msg, ci.error_msg_len);
    else {
        n = len < RECORD_ERROR_MSG_MAX - 1 ? len : RECORD_ERROR_MSG_MAX - 1;
        memcpy(msg, text, n);
    }
    for (size_t i = 0; i < n; i++)
        if (msg[i] == '\n' || msg[i] == '\r')
            msg[i] = ' ';
    msg[n] = '\0';
}

void client__finish(client *c, client__slot *s, record_status status, int kind, const char *why)
{
    record r;
    char msg[RECORD_ERROR_MSG_MAX];
    if (c->cancel_timers)
        uv_timer_stop(&s->cancel_timer); /* ended another way first: nothing left to abandon */
    c->tp->release(c, s);
    s->rec.end_ns = c->stamp_ns > s->rec.sent_ns ? c->stamp_ns : clock_now_ns();
    if (status == RECORD_OK) {
        int st = s->rec.http_status;
        if (kind != RECORD_ERR_NONE)
            kind = s->fail_kind ? s->fail_kind : kind;
        else if (st == 429)
            kind = RECORD_ERR_RATE_LIMITED;
        else if (st >= 400 && st < 500)
            kind = RECORD_ERR_HTTP_4XX;
        else if (st >= 500)
            kind = RECORD_ERR_HTTP_5XX;
        else if (st < 200 || st >= 300)
            kind = RECORD_ERR_OTHER; /* a 3xx (redirects are not followed) is not a server error */
        else if (s->fail_kind)
            kind = s->fail_kind;
        else if (!s->rec.done_seen && sse_pending(&s->sse))
            kind = RECORD_ERR_DISCONNECT; /* ended inside an event, finish_reason or not */
        /* A clean end after a finish_reason is complete without [DONE] (several services never
         * send it); without either, the output may be cut short: an error. */
        else if (!s->rec.done_seen && (!s->rec.finish_reason || c->cfg->require_done))
            kind = RECORD_ERR_NO_DONE;
        if (kind != RECORD_ERR_NONE)
            status = RECORD_ERROR;
    }
    if (s->errbuf_len) {
        /* The whole body first: a secret cut by the message's length limit would show in part. */
        s->errbuf[s->errbuf_len] = '\0';
        s->errbuf_len = secret_redact(c->secrets, s->errbuf, sizeof s->errbuf);
        copy_error_text(s->error_msg, s->errbuf, s->errbuf_len);
    }
    if (status == RECORD_ERROR && !s->error_msg[0]) {
        /* Every failure gets a line for first_errors, even when the server said nothing. */
        char text[128];
        if (why && why[0])
            snprintf(text, sizeof text, "%s", why);
        else if (kind == RECORD_ERR_TIMEOUT)
            snprintf(text, sizeof text, "no response within --request-timeout %gs", c->cfg->request_timeout_s);
        else if (kind == RECORD_ERR_STREAM_TIMEOUT)
            snprintf(text, sizeof text, "no data for --stream-timeout %gs mid-stream", c->cfg->stream_timeout_s);
        else if (kind == RECORD_ERR_NO_DONE && s->rec.finish_reason)
            snprintf(text, sizeof text, "the stream ended without data: [DONE] (--require-done)");
        else if (kind == RECORD_ERR_NO_DONE)
            snprintf(text, sizeof text, "the stream ended without a finish_reason or data: [DONE]");
        else if (kind == RECORD_ERR_DISCONNECT)
            snprintf(text, sizeof text, "the stream ended inside an event");
        else
            snprintf(text, sizeof text, "HTTP %d", s->rec.http_status);
        copy_error_text(s->error_msg, text, strlen(text));
    }
    s->rec.status = (uint8_t)status;
    s->rec.error_kind = (uint8_t)kind;
    if (!s->rec.usage_seen)
        s->rec.output_tokens = (int32_t)s->rec.token_events;
    if (status == RECORD_OK && c->cfg->ignore_eos && s->rec.max_tokens > 0 &&
        s->rec.output_tokens < s->rec.max_tokens)
        s->rec.short_output = 1;
    if (s->error_msg[0])
        secret_redact(c->secrets, s->error_msg, sizeof s->error_msg);
    r = s->rec;
    /* Out of the slot before it is freed: the callback may start the next request in it. */
    memcpy(msg, s->error_msg, sizeof msg);
    s->active = 0;
    s->next_free = c->free_list;
    c->free_list = s;
    c->in_flight--;
    if (!c->closing)
        c->on_done(c->ud, &r, msg);
}

/* ---- public face ----------------------------------------------------------------------- */

int client_create(client **out, uv_loop_t *loop, const client_options *opt, char *err, size_t errlen)
{
    int rc = LL_ENOMEM;
    client *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    c->loop = loop;
    c->cfg = opt->cfg;
    c->tp = config_transport(opt->cfg) == CONFIG_HTTP_CLIENT_CURL ? &client__curl : &client__http1;
    c->on_done = opt->on_done;
    c->ud = opt->ud;
    c->n_slots = opt->slots ? opt->slots : 1;
    c->next_look = calloc(c->n_slots, sizeof *c->next_look);
    if (!(c->slots = calloc(c->n_slots, sizeof *c->slots)) || !c->next_look) {
        snprintf(err, errlen, "out of memory for %zu request slots", c->n_slots);
        goto fail;
    }
    if ((rc = secret_set_create(&c->secrets, opt->cfg)) != 0 ||
        (rc = request_template_create(&c->tmpl, opt->cfg, opt->model)) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* A model mix: every model's body head is escaped once here, so a request only picks one. */
    if (opt->n_models >= 2) {
        if (!(c->mix_tmpls = calloc(opt->n_models, sizeof *c->mix_tmpls))) {
            snprintf(err, errlen, "out of memory");
            rc = LL_ENOMEM;
            goto fail;
        }
        c->n_mix = opt->n_models;
        for (size_t i = 0; i < opt->n_models; i++) {
            if ((rc = request_template_create(&c->mix_tmpls[i], opt->cfg, opt->models[i])) != 0) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
        }
    }
    for (size_t i = c->n_slots; i-- > 0;) {
        client__slot *s = &c->slots[i];
        s->owner = c;
        sse_init(&s->sse, 0);
        s->next_free = c->free_list;
        c->free_list = s;
    }
    if ((rc = c->tp->create(c, err, errlen)) != 0)
        goto fail;
    if (opt->cfg->cancel_rate > 0) {
        /* One timer per slot, embedded (no allocation per request); closed by client_close. */
        for (size_t i = 0; i < c->n_slots; i++) {
            uv_timer_init(loop, &c->slots[i].cancel_timer);
            c->slots[i].cancel_timer.data = &c->slots[i];
        }
        c->cancel_timers = 1;
    }
    *out = c;
    return 0;
fail:
    client_close(c);
    client_free(c);
    return rc ? rc : LL_ENOMEM;
}

void client_set_sinks(client *c, const client_sinks *s)
{
    c->sinks = *s;
}

/* The earliest time a timeout of s could be due, from what is known at now. A status or bytes
 * arriving later only move the real deadlines later, so looking at this time is never too late;
 * looking finds either a timeout or the next time to look. */
static uint64_t next_look(const client *c, const client__slot *s, uint64_t now_ns)
{
    uint64_t req_to = (uint64_t)(c->cfg->request_timeout_s * 1e9);
    uint64_t stream_to = (uint64_t)(c->cfg->stream_timeout_s * 1e9);
    if (s->saw_status)
        return stream_to ? (s->last_rx_ns ? s->last_rx_ns : now_ns) + stream_to : 0;
    uint64_t t = UINT64_MAX;
    if (req_to)
        t = (s->rec.sent_ns ? s->rec.sent_ns : now_ns) + req_to;
    if (stream_to && now_ns + stream_to < t)
        t = now_ns + stream_to; /* the status may come before then, and the stream check with it */
    return t == UINT64_MAX ? 0 : t;
}

/* --cancel-rate: the time to abandon a stream has come, counted from its send. The timer starts
 * when the request is handed to the transport; a request still connecting, or sent later than
 * that, is given the rest of its time from the real send. */
static void on_cancel_timer(uv_timer_t *t)
{
    client__slot *s = t->data;
    client *c = s->owner;
    if (!s->active || c->closing)
        return;
    uint64_t now = clock_now_ns();
    uint64_t due = s->rec.sent_ns ? s->rec.sent_ns + s->cancel_after_ns : now + s->cancel_after_ns;
    if (now + CLOCK_NS_PER_MS / 2 < due) {
        uint64_t ms = (due - now + CLOCK_NS_PER_MS - 1) / CLOCK_NS_PER_MS;
        uv_timer_start(t, on_cancel_timer, ms, 0);
        return;
    }
    c->stamp_ns = now;
    client__finish(c, s, RECORD_CANCELLED, RECORD_ERR_NONE, NULL);
}

int client_start(client *c, const char *prompt, size_t prompt_len, long prompt_tokens,
                 long max_tokens, uint64_t id, uint64_t scheduled_ns)
{
    return client_start_ex(c, prompt, prompt_len, prompt_tokens, max_tokens, id, scheduled_ns, NULL);
}

int client_start_ex(client *c, const char *prompt, size_t prompt_len, long prompt_tokens, long max_tokens,
                    uint64_t id, uint64_t scheduled_ns, const client_request_opts *o)
{
    client__slot *s = c->free_list;
    unsigned model = o ? o->model : 0;
    if (!s)
        return LL_ESTATE;
    if (model && model >= c->n_mix)
        return LL_EINVAL;
    const request_template *t = c->n_mix ? c->mix_tmpls[model] : c->tmpl;
    long n = request_body_build(t, prompt, prompt_len, max_tokens, &s->body, &s->body_cap);
    if (n < 0)
        return (int)n;
    s->body_len = (size_t)n;
    memset(&s->rec, 0, sizeof s->rec);
    s->error_msg[0] = '\0';
    s->rec.id = id;
    s->rec.scheduled_ns = scheduled_ns;
    s->rec.prompt_tokens = (int32_t)prompt_tokens;
    s->rec.prompt_tokens_asked = (int32_t)prompt_tokens; /* prompt_tokens becomes the server's count */
    s->rec.max_tokens = (int32_t)max_tokens;
    s->rec.model = (uint8_t)model;
    s->cancel_after_ns = c->cancel_timers && o ? o->cancel_after_ns : 0;
    s->last_completion_tokens = 0;
    s->usage_events = 0;
    s->fail_kind = 0;
    s->saw_status = 0;
    s->errbuf_len = 0;
    s->last_rx_ns = 0;
    s->encoding[0] = '\0';
    s->measured = scheduled_ns >= c->sinks.window_start_ns && scheduled_ns < c->sinks.window_end_ns;
    sse_reset(&s->sse);
    chunk_prefix_reset(&s->prefix);
    c->free_list = s->next_free;
    s->active = 1;
    c->in_flight++;
    c->next_look[s - c->slots] = next_look(c, s, clock_now_ns());
    /* Armed before the transport starts: a start that fails at once finishes the slot, and
     * client__finish stops the timer again. */
    if (s->cancel_after_ns)
        uv_timer_start(&s->cancel_timer, on_cancel_timer,
                       (s->cancel_after_ns + CLOCK_NS_PER_MS - 1) / CLOCK_NS_PER_MS, 0);
    int rc = c->tp->start(c, s);
    if (rc != 0) {
        if (s->cancel_after_ns)
            uv_timer_stop(&s->cancel_timer);
        s->active = 0;
        s->next_free = c->free_list;
        c->free_list = s;
        c->in_flight--;
    }
    return rc;
}

size_t client_in_flight(const client *c) { return c->in_flight; }
size_t client_slots(const client *c) { return c->n_slots; }

void client_read_waits(const client *c, uint64_t *sampled, uint64_t *waited)
{
    *sampled = c->reads_sampled;
    *waited = c->reads_waited;
}

void client_check_timeouts(client *c, uint64_t now_ns)
{
    uint64_t req_to = (uint64_t)(c->cfg->request_timeout_s * 1e9);
    uint64_t stream_to = (uint64_t)(c->cfg->stream_timeout_s * 1e9);
    c->stamp_ns = now_ns;
    client__gate_check(c, now_ns);
    c->tp->check_timeouts(c, now_ns);
    /* One dense array is scanned, not every slot: with 10,000 streams in flight, touching each
     * slot every tick stalled the loop for milliseconds (and the stamps of the reads behind it). */
    for (size_t i = 0; i < c->n_slots; i++) {
        if (c->next_look[i] == 0 || now_ns < c->next_look[i])
            continue;
        client__slot *s = &c->slots[i];
        if (!s->active) {
            c->next_look[i] = 0;
            continue;
        }
        if (!s->saw_status) {
            uint64_t from = s->rec.sent_ns;
            if (from && req_to && now_ns > from && now_ns - from > req_to) {
                client__finish(c, s, RECORD_ERROR, RECORD_ERR_TIMEOUT, NULL);
                continue;
            }
        } else if (stream_to && s->last_rx_ns && now_ns > s->last_rx_ns && now_ns - s->last_rx_ns > stream_to) {
            client__finish(c, s, RECORD_ERROR, RECORD_ERR_STREAM_TIMEOUT, NULL);
            continue;
        }
        c->next_look[i] = next_look(c, s, now_ns);
    }
}

void client_cancel_all(client *c)
{
    c->stamp_ns = clock_now_ns();
    for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i].active)
            client__finish(c, &c->slots[i], RECORD_INCOMPLETE, RECORD_ERR_NONE, NULL);
}

void client_close(client *c)
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    c->tp->close(c);
    client__gate_close(c);
    if (c->cancel_timers)
        for (size_t i = 0; i < c->n_slots; i++)
            uv_close((uv_handle_t *)&c->slots[i].cancel_timer, NULL);
}

void client_free(client *c)
{
    if (!c)
        return;
    c->tp->free(c);
    if (c->slots) {
        for (size_t i = 0; i < c->n_slots; i++) {
            free(c->slots[i].body);
            sse_free(&c->slots[i].sse);
        }
    }
    free(c->slots);
    free(c->next_look);
    request_template_destroy(c->tmpl);
    for (size_t i = 0; c->mix_tmpls && i < c->n_mix; i++)
        request_template_destroy(c->mix_tmpls[i]);
    free(c->mix_tmpls);
    secret_set_destroy(c->secrets);
    free(c);
}
