/*
 * earlystop.c - the --max-error-rate and --stop-when-saturated rules over per-second buckets
 * (scheduler stage; the rules' exact statement is in earlystop.h and docs/workloads.md).
 * Invariant: the ring is sized once at create; a tick folds only records it has not seen, so the
 * work per tick is the requests that ended since the last one plus one pass over the window.
 */
#include "llmload/earlystop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/clock.h"
#include "llmload/error.h"

/* One whole second of the benchmark. sec + 1 marks the slot in use (0: empty), so a slot left
 * from a second the ring has wrapped past reads as empty. */
typedef struct es_bucket {
    uint64_t tag;
    uint32_t ok, errors, ttft_n, ticks;
    double ttft_ms_sum, in_flight_sum;
} es_bucket;

#define RING (EARLYSTOP_MAX_WINDOW_S + 2)

struct earlystop {
    earlystop_opts o;
    uint64_t t0_ns;
    size_t seen;          /* records of the log already folded */
    uint64_t judged;      /* whole seconds judged so far (the next to judge ends at judged + 1) */
    es_bucket ring[RING];
};

int earlystop_create(earlystop **out, const earlystop_opts *o)
{
    *out = NULL;
    int on = o->max_error_rate > 0 || o->saturated;
    if (!on || (o->max_error_rate > 0 && !(o->error_window_s >= 1 && o->error_window_s <= EARLYSTOP_MAX_WINDOW_S)) ||
        (o->saturated && !(o->saturation_window_s >= 3 && o->saturation_window_s <= EARLYSTOP_MAX_WINDOW_S)))
        return LL_EINVAL;
    earlystop *es = calloc(1, sizeof *es);
    if (!es)
        return LL_ENOMEM;
    es->o = *o;
    *out = es;
    return 0;
}

void earlystop_destroy(earlystop *es)
{
    free(es);
}

void earlystop_begin(earlystop *es, uint64_t t0_ns)
{
    es->t0_ns = t0_ns;
    es->seen = 0;
    es->judged = 0;
    memset(es->ring, 0, sizeof es->ring);
}

const char *earlystop_rule_name(earlystop_rule r)
{
    switch (r) {
    case EARLYSTOP_MAX_ERROR_RATE:
        return "max_error_rate";
    case EARLYSTOP_SATURATED:
        return "saturated";
    case EARLYSTOP_NONE:
        break;
    }
    return "";
}

static es_bucket *bucket(earlystop *es, uint64_t sec)
{
    es_bucket *b = &es->ring[sec % RING];
    if (b->tag != sec + 1) {
        memset(b, 0, sizeof *b);
        b->tag = sec + 1;
    }
    return b;
}

/* The bucket of sec for reading: NULL when nothing was put in it (or the ring moved past it). */
static const es_bucket *peek(const earlystop *es, uint64_t sec)
{
    const es_bucket *b = &es->ring[sec % RING];
    return b->tag == sec + 1 ? b : NULL;
}

static uint64_t sec_of(const earlystop *es, uint64_t ns)
{
    return ns > es->t0_ns ? (ns - es->t0_ns) / CLOCK_NS_PER_S : 0;
}

static void fold(earlystop *es, const record_log *log)
{
    for (; es->seen < log->len; es->seen++) {
        const record *r = &log->items[es->seen];
        /* Only what the server answered: cut (incomplete) and abandoned (cancelled) requests
         * say nothing about its errors or its pace. */
        if ((r->status != RECORD_OK && r->status != RECORD_ERROR) || !r->end_ns)
            continue;
        es_bucket *b = bucket(es, sec_of(es, r->end_ns));
        if (r->status == RECORD_ERROR) {
            b->errors++;
            continue;
        }
        b->ok++;
        if (r->first_token_ns && r->sent_ns && r->first_token_ns >= r->sent_ns) {
            b->ttft_ms_sum += (double)(r->first_token_ns - r->sent_ns) / 1e6;
            b->ttft_n++;
        }
    }
}

/* Seconds [end - len, end) with at least EARLYSTOP_MIN_REQUESTS ended, going back from len. */
static int judge_errors(const earlystop *es, uint64_t end, earlystop_evidence *ev)
{
    uint64_t want = (uint64_t)ceil(es->o.error_window_s), errors = 0, ended = 0, len = 0;
    while (len < end && len < RING - 1 && (len < want || ended < EARLYSTOP_MIN_REQUESTS)) {
        const es_bucket *b = peek(es, end - 1 - len);
        if (b) {
            errors += b->errors;
            ended += b->ok + b->errors;
        }
        len++;
    }
    if (ended < EARLYSTOP_MIN_REQUESTS)
        return 0;
    double rate = (double)errors / (double)ended;
    if (!(rate > es->o.max_error_rate))
        return 0;
    ev->rule = EARLYSTOP_MAX_ERROR_RATE;
    ev->window_s = (double)len;
    ev->errors = errors;
    ev->ended = ended;
    ev->error_rate = rate;
    ev->threshold = es->o.max_error_rate;
    return 1;
}

/* Least-squares slope of y over x, and the mean of y; n >= 2 points with distinct x. */
static double slope(const double *x, const double *y, size_t n, double *mean)
{
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++)
        mx += x[i], my += y[i];
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
    }
    *mean = my;
    return sxx > 0 ? sxy / sxx : 0;
}

static int judge_saturation(const earlystop *es, uint64_t end, earlystop_evidence *ev)
{
    uint64_t w = (uint64_t)floor(es->o.saturation_window_s);
    if (end < w + 1) /* second 0 is the start-up: streams and TTFT rise there by nature */
        return 0;
    double x[EARLYSTOP_MAX_WINDOW_S], f[EARLYSTOP_MAX_WINDOW_S], c[EARLYSTOP_MAX_WINDOW_S];
    double tx[EARLYSTOP_MAX_WINDOW_S], t[EARLYSTOP_MAX_WINDOW_S];
    size_t nt = 0;
    for (uint64_t i = 0; i < w; i++) {
        uint64_t sec = end - w + i;
        const es_bucket *b = peek(es, sec);
        x[i] = (double)sec;
        f[i] = b && b->ticks ? b->in_flight_sum / b->ticks : 0;
        c[i] = b ? b->ok : 0;
        if (b && b->ttft_n) {
            tx[nt] = (double)sec;
            t[nt++] = b->ttft_ms_sum / b->ttft_n;
        }
    }
    if (nt < 3)
        return 0;
    double mf, mc, mt;
    double sf = slope(x, f, w, &mf), sc = slope(x, c, w, &mc), st = slope(tx, t, nt, &mt);
    double span = (double)(w - 1);
    double rise_f = sf * span, rise_c = sc * span, rise_t = st * span;
    if (!(rise_f >= 2 && rise_f >= 0.25 * mf && mf > 0))
        return 0;
    if (!(mt > 0 && rise_t >= 0.25 * mt))
        return 0;
    if (!(rise_c / (mc > 1 ? mc : 1) <= 0.5 * rise_f / mf))
        return 0;
    ev->rule = EARLYSTOP_SATURATED;
    ev->window_s = (double)w;
    ev->in_flight_slope = sf;
    ev->ttft_ms_slope = st;
    ev->completed_slope = sc;
    ev->in_flight_mean = mf;
    ev->ttft_ms_mean = mt;
    ev->completed_mean = mc;
    return 1;
}

int earlystop_tick(earlystop *es, uint64_t now_ns, size_t in_flight, const record_log *log, earlystop_evidence *ev)
{
    fold(es, log);
    es_bucket *b = bucket(es, sec_of(es, now_ns));
    b->in_flight_sum += (double)in_flight;
    b->ticks++;
    uint64_t end = sec_of(es, now_ns); /* seconds [0, end) are whole */
    if (end <= es->judged)
        return 0;
    es->judged = end;
    memset(ev, 0, sizeof *ev);
    int fired = (es->o.max_error_rate > 0 && judge_errors(es, end, ev)) ||
                (es->o.saturated && judge_saturation(es, end, ev));
    if (fired)
        ev->at_s = (double)(now_ns - es->t0_ns) / 1e9;
    return fired;
}
