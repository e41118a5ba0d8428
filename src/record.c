/*
 * record.c - the growable per-benchmark record array (client -> record -> aggregate).
 * Doubling growth so appends are amortised O(1); the only allocation on the completion path,
 * and one that stops happening once the array has grown to the run's size.
 */
#include "llmload/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/text.h"

const char *record_error_kind_name(int kind)
{
    switch (kind) {
#define RECORD_KIND_NAME_(n, s) \
    case RECORD_ERR_##n:        \
        return s;
        RECORD_ERROR_KINDS(RECORD_KIND_NAME_)
#undef RECORD_KIND_NAME_
    default:
        return "other";
    }
}

const char *record_resend_reason_name(int reason)
{
    switch (reason) {
#define RECORD_RESEND_NAME_(n, s) \
    case RECORD_RESEND_##n:       \
        return s;
        RECORD_RESEND_REASONS(RECORD_RESEND_NAME_)
#undef RECORD_RESEND_NAME_
    default:
        return "none";
    }
}

const char *record_finish_name(int finish)
{
    switch (finish) {
#define RECORD_FINISH_NAME_(n, s) \
    case RECORD_FINISH_##n:       \
        return s;
        RECORD_FINISH_REASONS(RECORD_FINISH_NAME_)
#undef RECORD_FINISH_NAME_
    default:
        return "other";
    }
}

/* The capacity, doubled from cap (or first), that holds need. */
static size_t grown(size_t cap, size_t need, size_t first)
{
    size_t n = cap ? cap : first;
    while (n < need)
        n *= 2;
    return n;
}

static int record_log_reserve(record_log *log, size_t need)
{
    if (need <= log->cap)
        return 0;
    size_t cap = grown(log->cap, need, 1024);
    record *items = realloc(log->items, cap * sizeof *items); /* a temporary: no leak on failure */
    if (!items)
        return LL_ENOMEM;
    log->items = items;
    log->cap = cap;
    return 0;
}

static int record_log_reserve_msgs(record_log *log, size_t need)
{
    if (need <= log->cap_msgs)
        return 0;
    size_t cap = grown(log->cap_msgs, need, 64);
    char(*msgs)[RECORD_ERROR_MSG_MAX] = realloc(log->msgs, cap * sizeof *msgs);
    if (!msgs)
        return LL_ENOMEM;
    log->msgs = msgs;
    log->cap_msgs = cap;
    return 0;
}

int record_log_append(record_log *log, const record *r, const char *error_msg)
{
    int has_msg = error_msg && error_msg[0];
    int rc = record_log_reserve(log, log->len + 1);
    if (rc == 0 && has_msg)
        rc = record_log_reserve_msgs(log, log->n_msgs + 1);
    if (rc)
        return rc;
    record *dst = &log->items[log->len++];
    *dst = *r;
    dst->error_ref = 0;
    if (has_msg) {
        /* The one place every failure's text passes: the server's bytes are made valid,
         * control-free UTF-8 here, once, for the console and every report. */
        text_sanitize(log->msgs[log->n_msgs], RECORD_ERROR_MSG_MAX, error_msg, strlen(error_msg));
        dst->error_ref = (uint32_t)++log->n_msgs;
    }
    return 0;
}

int record_log_extend(record_log *dst, const record_log *src)
{
    if (src->len == 0)
        return 0;
    int rc = record_log_reserve(dst, dst->len + src->len);
    if (rc == 0)
        rc = record_log_reserve_msgs(dst, dst->n_msgs + src->n_msgs);
    if (rc)
        return rc;
    size_t base = dst->n_msgs;
    if (src->n_msgs)
        memcpy(dst->msgs + base, src->msgs, src->n_msgs * sizeof *src->msgs);
    dst->n_msgs += src->n_msgs;
    memcpy(dst->items + dst->len, src->items, src->len * sizeof *src->items);
    for (size_t i = 0; i < src->len; i++)
        if (dst->items[dst->len + i].error_ref)
            dst->items[dst->len + i].error_ref += (uint32_t)base;
    dst->len += src->len;
    return 0;
}

const char *record_log_error(const record_log *log, const record *r)
{
    if (!r->error_ref || r->error_ref > log->n_msgs)
        return "";
    return log->msgs[r->error_ref - 1];
}

void record_log_free(record_log *log)
{
    free(log->items);
    free(log->msgs);
    log->items = NULL;
    log->msgs = NULL;
    log->len = log->cap = log->n_msgs = log->cap_msgs = 0;
}
