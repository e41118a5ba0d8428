/*
 * sse.c - incremental Server-Sent Events parser (client -> sse -> chunk -> record).
 *
 * Runs on every byte of every stream, so line ends are found with memchr (one SIMD scan per
 * CR/LF, never a call per byte) and an event whose single data line lies in the current buffer is
 * handed out as a slice of that buffer without a copy. Key invariant: when sse_feed returns, no
 * state points into the caller's buffer; whatever the next feed needs (tail line, joined data,
 * event type) has been copied into the one carry buffer, which never grows past max_event.
 */
#include "llmload/sse.h"

#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

#define SSE_DEFAULT_MAX_EVENT ((size_t)1 << 20)
#define SSE_MIN_CARRY ((size_t)256)

enum {
    SSE_F_STARTED = 1u << 0,   /* BOM check done for this stream */
    SSE_F_CR = 1u << 1,        /* last feed ended with a CR line end: drop a leading LF */
    SSE_F_DATA = 1u << 2,      /* the event has at least one data line */
    SSE_F_DDIRECT = 1u << 3,   /* data is d_ptr (current buffer), not carry[0] */
    SSE_F_TDIRECT = 1u << 4,   /* type is t_ptr (current buffer), not the end of carry */
    SSE_F_BOM_SHIFT = 5,       /* bits 5-6: BOM bytes matched so far at stream start */
    SSE_F_BOM_MASK = 3u << 5,
    SSE_F_ERROR = 1u << 7      /* the event has an `error:` field line */
};

static const unsigned char sse_bom[3] = {0xEF, 0xBB, 0xBF};

void sse_init(sse_parser *p, size_t max_event_bytes)
{
    memset(p, 0, sizeof *p);
    p->max_event = max_event_bytes ? max_event_bytes : SSE_DEFAULT_MAX_EVENT;
}

void sse_reset(sse_parser *p)
{
    char *carry = p->carry;
    size_t cap = p->carry_cap, max = p->max_event;
    memset(p, 0, sizeof *p);
    p->carry = carry;
    p->carry_cap = cap;
    p->max_event = max;
}

void sse_free(sse_parser *p)
{
    free(p->carry);
    p->carry = NULL;
    p->carry_cap = 0;
    sse_reset(p);
}

size_t sse_pending(const sse_parser *p)
{
    return p->carry_len;
}

/* Bytes of the event type stored at the end of carry (none while it is a direct slice). */
static size_t sse_type_held(const sse_parser *p)
{
    return (p->flags & SSE_F_TDIRECT) ? 0 : p->type_len;
}

/* Make room for `need` bytes in carry; the type at the end moves to the new end. */
static int sse_reserve(sse_parser *p, size_t need)
{
    if (need <= p->carry_cap)
        return 0;
    if (need > p->max_event)
        return LL_EOVERSIZE;
    size_t cap = p->carry_cap ? p->carry_cap : SSE_MIN_CARRY;
    while (cap < need)
        cap *= 2;
    if (cap > p->max_event)
        cap = p->max_event;
    char *n = realloc(p->carry, cap);
    if (!n)
        return LL_ENOMEM;
    size_t t = sse_type_held(p);
    if (t)
        memmove(n + cap - t, n + p->carry_cap - t, t);
    p->carry = n;
    p->carry_cap = cap;
    return 0;
}

/* Hand the assembled event to the callback and start a new one. The event state is cleared
 * before the call: the slices stay valid because nothing writes carry until the callback returns. */
static int sse_dispatch(sse_parser *p, sse_event_fn fn, void *ud)
{
    unsigned f = p->flags;
    sse_event ev;
    ev.data = (f & SSE_F_DDIRECT) ? p->d_ptr : (p->carry ? p->carry : "");
    ev.data_len = p->data_len;
    ev.type = NULL;
    ev.type_len = p->type_len;
    if (p->type_len)
        ev.type = (f & SSE_F_TDIRECT) ? p->t_ptr : p->carry + p->carry_cap - p->type_len;
    ev.error = (f & SSE_F_ERROR) != 0;
    ev.done = !ev.error && ev.data_len == 6 && memcmp(ev.data, "[DONE]", 6) == 0;
    p->flags = f & ~(SSE_F_DATA | SSE_F_DDIRECT | SSE_F_TDIRECT | SSE_F_ERROR);
    p->data_len = 0;
    p->type_len = 0;
    p->ev_bytes = 0;
    if (!(f & SSE_F_DATA))
        return 0; /* a blank line after no data only forgets the type (the SSE spec's rule) */
    p->events++;
    return fn ? fn(ud, &ev) : 0;
}

/* Append a data line's value. from_carry: v lies in carry's tail-line region, which sits right
 * after the data, so moving it down (memmove) never overwrites what is still to be read. */
static int sse_add_data(sse_parser *p, const char *v, size_t vlen, int from_carry)
{
    if (!(p->flags & SSE_F_DATA)) {
        p->flags |= SSE_F_DATA;
        p->data_len = vlen;
        if (!from_carry) {
            p->d_ptr = v;
            p->flags |= SSE_F_DDIRECT;
        } else if (vlen) {
            memmove(p->carry, v, vlen);
        }
        return 0;
    }
    if (!from_carry) {
        /* Only the main loop sees direct data, and there the tail-line region is empty. */
        int rc = sse_reserve(p, p->data_len + 1 + vlen + sse_type_held(p));
        if (rc)
            return rc;
        if (p->flags & SSE_F_DDIRECT) {
            if (p->data_len)
                memcpy(p->carry, p->d_ptr, p->data_len);
            p->flags &= ~SSE_F_DDIRECT;
        }
    }
    p->carry[p->data_len] = '\n';
    memmove(p->carry + p->data_len + 1, v, vlen);
    p->data_len += 1 + vlen;
    return 0;
}

/* Set the event type (last `event:` wins; an empty value means none). */
static void sse_set_type(sse_parser *p, const char *v, size_t vlen, int from_carry)
{
    p->flags &= ~SSE_F_TDIRECT;
    p->type_len = vlen;
    if (!vlen)
        return;
    if (!from_carry) {
        p->t_ptr = v;
        p->flags |= SSE_F_TDIRECT;
        return;
    }
    /* v ends inside the tail line, which ends before the old type's bytes: the new type's
     * place at the end of carry cannot reach the data region. */
    memmove(p->carry + p->carry_cap - vlen, v, vlen);
}

/* One complete line without its line end. */
static int sse_line(sse_parser *p, const char *s, size_t n, int from_carry, sse_event_fn fn,
                    void *ud)
{
    if (n == 0)
        return sse_dispatch(p, fn, ud);
    /* Line ends count one byte each, so a CRLF split across feeds counts the same. */
    p->ev_bytes += n + 1;
    if (p->ev_bytes > p->max_event)
        return LL_EOVERSIZE;
    if (s[0] == ':')
        return 0;
    const char *colon = memchr(s, ':', n);
    size_t name_len = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    if (v < s + n && *v == ' ')
        v++;
    size_t vlen = (size_t)(s + n - v);
    if (name_len == 4 && memcmp(s, "data", 4) == 0)
        return sse_add_data(p, v, vlen, from_carry);
    /* Not in the SSE spec, but some servers report a failure mid-stream as an `error:` line. Its
     * value joins the data like a data line (so it costs no region of its own in carry) and the
     * event is flagged: a reader cannot miss it, and an event of error lines alone is dispatched. */
    if (name_len == 5 && memcmp(s, "error", 5) == 0) {
        p->flags |= SSE_F_ERROR;
        return sse_add_data(p, v, vlen, from_carry);
    }
    if (name_len == 5 && memcmp(s, "event", 5) == 0)
        sse_set_type(p, v, vlen, from_carry);
    /* id and retry are accepted and ignored: llmload never reconnects a stream. */
    return 0;
}

/* Complete the tail line carried from earlier feeds with s[0..n) and process it. */
static int sse_carried_line(sse_parser *p, const char *s, size_t n, sse_event_fn fn, void *ud)
{
    size_t start = p->data_len; /* data is never direct at the start of a feed */
    int rc = sse_reserve(p, start + p->line_len + n + sse_type_held(p));
    if (rc)
        return rc;
    memcpy(p->carry + start + p->line_len, s, n);
    size_t len = p->line_len + n;
    p->line_len = 0;
    return sse_line(p, p->carry + start, len, 1, fn, ud);
}

/* Before returning from a feed: copy direct slices into carry, then keep the tail line. */
static int sse_save(sse_parser *p, const char *tail, size_t n)
{
    unsigned f = p->flags;
    if (f & (SSE_F_DDIRECT | SSE_F_TDIRECT)) {
        int rc = sse_reserve(p, p->data_len + p->type_len);
        if (rc)
            return rc;
        if ((f & SSE_F_DDIRECT) && p->data_len)
            memcpy(p->carry, p->d_ptr, p->data_len);
        if (f & SSE_F_TDIRECT)
            memcpy(p->carry + p->carry_cap - p->type_len, p->t_ptr, p->type_len);
        p->flags = f & ~(SSE_F_DDIRECT | SSE_F_TDIRECT);
        p->d_ptr = p->t_ptr = NULL;
    }
    if (n) {
        if (p->ev_bytes + p->line_len + n > p->max_event)
            return LL_EOVERSIZE;
        int rc = sse_reserve(p, p->data_len + p->line_len + n + p->type_len);
        if (rc)
            return rc;
        memcpy(p->carry + p->data_len + p->line_len, tail, n);
        p->line_len += n;
    }
    return 0;
}

/* Consume a UTF-8 BOM at stream start, even one split across feeds. A partial match that turns
 * out not to be a BOM becomes the start of the first line, as it would be unsplit. */
static int sse_bom_check(sse_parser *p, const char **sp, const char *end)
{
    const char *s = *sp;
    unsigned m = (p->flags & SSE_F_BOM_MASK) >> SSE_F_BOM_SHIFT;
    while (s < end && m < 3 && (unsigned char)*s == sse_bom[m]) {
        s++;
        m++;
    }
    *sp = s;
    p->flags &= ~SSE_F_BOM_MASK;
    if (m < 3 && s == end) {
        p->flags |= m << SSE_F_BOM_SHIFT;
        return 0;
    }
    p->flags |= SSE_F_STARTED;
    /* The matched bytes may belong to an earlier feed, so give them back from the table. */
    if (m > 0 && m < 3)
        return sse_save(p, (const char *)sse_bom, m);
    return 0;
}

static const char *sse_find(const char *s, const char *end, char c)
{
    const char *r = memchr(s, c, (size_t)(end - s));
    return r ? r : end;
}

static int sse_fail(sse_parser *p, int rc)
{
    sse_reset(p);
    return rc;
}

int sse_feed(sse_parser *p, const char *buf, size_t len, sse_event_fn fn, void *ud)
{
    const char *s = buf, *end = buf + len;
    int rc;
    if (len == 0)
        return 0;
    if (p->flags & SSE_F_CR) {
        p->flags &= ~SSE_F_CR;
        if (*s == '\n')
            s++;
    }
    if (!(p->flags & SSE_F_STARTED)) {
        rc = sse_bom_check(p, &s, end);
        if (rc)
            return sse_fail(p, rc);
    }
    /* Next CR and next LF, each rescanned only once passed: every byte is looked at by at most
     * two memchr runs, and a stream without CR costs one run that finds nothing. */
    const char *cr = sse_find(s, end, '\r');
    const char *lf = sse_find(s, end, '\n');
    while (s < end) {
        const char *eol = cr < lf ? cr : lf;
        if (eol == end)
            break;
        const char *next = eol + 1;
        if (eol == cr) {
            if (next == end)
                p->flags |= SSE_F_CR;
            else if (*next == '\n')
                next++;
        }
        if (p->line_len)
            rc = sse_carried_line(p, s, (size_t)(eol - s), fn, ud);
        else
            rc = sse_line(p, s, (size_t)(eol - s), 0, fn, ud);
        if (rc) {
            if (rc == LL_EOVERSIZE || rc == LL_ENOMEM)
                return sse_fail(p, rc);
            /* Stopped by the callback, right after a dispatch: nothing points into buf. */
            p->carry_len = p->line_len + p->data_len + p->type_len;
            return rc;
        }
        s = next;
        if (cr < s)
            cr = sse_find(s, end, '\r');
        if (lf < s)
            lf = sse_find(s, end, '\n');
    }
    rc = sse_save(p, s, (size_t)(end - s));
    if (rc)
        return sse_fail(p, rc);
    p->carry_len = p->line_len + p->data_len + p->type_len;
    return 0;
}
