/*
 * record.c - the growable per-benchmark record array (client -> record -> aggregate).
 * Doubling growth so appends are amortised O(1); the only allocation on the completion path,
 * and one that stops happening once the array has grown to the run's size.
 */
#include "llmload/record.h"

#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

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

static int record_log_reserve(record_log *log, size_t need)
{
    if (need <= log->cap)
        return 0;
    size_t cap = log->cap ? log->cap : 1024;
    while (cap < need)
        cap *= 2;
    record *items = realloc(log->items, cap * sizeof *items);
    if (!items)
        return LL_ENOMEM;
    log->items = items;
    log->cap = cap;
    return 0;
}

int record_log_append(record_log *log, const record *r)
{
    int rc = record_log_reserve(log, log->len + 1);
    if (rc)
        return rc;
    log->items[log->len++] = *r;
    return 0;
}

int record_log_extend(record_log *dst, const record_log *src)
{
    if (src->len == 0)
        return 0;
    int rc = record_log_reserve(dst, dst->len + src->len);
    if (rc)
        return rc;
    memcpy(dst->items + dst->len, src->items, src->len * sizeof *src->items);
    dst->len += src->len;
    return 0;
}

void record_log_free(record_log *log)
{
    free(log->items);
    log->items = NULL;
    log->len = log->cap = 0;
}
