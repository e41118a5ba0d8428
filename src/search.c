/*
 * search.c - the SLO search's decisions: from the probes so far, the next rate (or stream count)
 * to run, and when to stop (gate -> search -> cmd_run's runner). The rule is in search.h and
 * docs/gate.md. Invariant: every probe lies in [lowest, highest], strictly inside the current
 * bracket once there is one, and at most SEARCH_MAX_PROBES are asked for.
 */
#include "llmload/search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

struct search {
    search_opts o;
    search_probe probes[SEARCH_MAX_PROBES];
    int used[SEARCH_MAX_PROBES]; /* 1 pass, 0 fail, -1 superseded by its longer rerun */
    size_t n;
    int pending;          /* search_next gave a probe not recorded yet */
    double next_x;
    int next_longer;
    search_stop stop;
    int last_moved;       /* the end the last bracketed probe moved: 1 passing, 2 failing, 0 none */
};

int search_create(search **out, const search_opts *o)
{
    if (!(o->precision > 0) || !(o->lowest > 0) || !(o->highest >= o->lowest))
        return LL_EINVAL;
    search *s = calloc(1, sizeof *s);
    if (!s)
        return LL_ENOMEM;
    s->o = *o;
    if (!(o->start > 0) || !isfinite(o->start))
        s->stop = SEARCH_STOP_NO_START;
    *out = s;
    return 0;
}

void search_destroy(search *s)
{
    free(s);
}

/* Indexes of the highest passing probe and the lowest failing one above it (-1 when none), over
 * the verdicts the search used. */
static void bracket(const search *s, long *lo, long *hi)
{
    *lo = *hi = -1;
    for (size_t i = 0; i < s->n; i++)
        if (s->used[i] == 1 && (*lo < 0 || s->probes[i].x > s->probes[*lo].x))
            *lo = (long)i;
    for (size_t i = 0; i < s->n; i++)
        if (s->used[i] == 0 && (*lo < 0 || s->probes[i].x > s->probes[*lo].x) &&
            (*hi < 0 || s->probes[i].x < s->probes[*hi].x))
            *hi = (long)i;
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Where between a passing probe a and a failing probe b the first broken rule's margin reaches
 * zero, by linear interpolation; *rule gets that rule. NAN when no rule gives a crossing (a rule
 * without a value at b, margins that do not fall). */
static double crossing(const search_probe *a, const search_probe *b, int *rule)
{
    double best = NAN;
    *rule = -1;
    size_t n = a->n_rules < b->n_rules ? a->n_rules : b->n_rules;
    for (size_t i = 0; i < n; i++) {
        double m0 = a->margin[i], m1 = b->margin[i];
        if (!(m1 < 0) || !(m0 >= 0) || !(m0 > m1))
            continue;
        double x = a->x + (b->x - a->x) * m0 / (m0 - m1);
        if (isnan(best) || x < best) {
            best = x;
            *rule = (int)i;
        }
    }
    return best;
}

/* The rule the failing probe b breaks by most (lowest margin; no value counts as most). */
static int worst_rule(const search_probe *b)
{
    int r = -1;
    for (size_t i = 0; i < b->n_rules; i++) {
        double m = b->margin[i];
        if (isnan(m))
            return (int)i;
        if (m < 0 && (r < 0 || m < b->margin[r]))
            r = (int)i;
    }
    return r;
}

static double whole(const search *s, double x)
{
    return s->o.integer ? round(x) : x;
}

/* Decides the next probe or the stop; called with nothing pending. */
static void decide(search *s)
{
    if (s->stop)
        return;
    if (s->n == 0) {
        s->next_x = whole(s, clampd(s->o.start, s->o.lowest, s->o.highest));
        s->next_longer = 0;
        s->pending = 1;
        return;
    }
    const search_probe *last = &s->probes[s->n - 1];
    if (s->n >= SEARCH_MAX_PROBES) {
        s->stop = SEARCH_STOP_MAX_PROBES;
        return;
    }
    /* Within noise: once more at the same point, longer, before it steers anything. */
    if (last->indeterminate && !last->longer) {
        s->next_x = last->x;
        s->next_longer = 1;
        s->pending = 1;
        return;
    }
    long lo, hi;
    bracket(s, &lo, &hi);
    double x;
    if (lo < 0) { /* nothing passed yet: go down */
        double f = s->probes[hi].x;
        if (f <= s->o.lowest * (1 + 1e-9)) {
            s->stop = SEARCH_STOP_BELOW;
            return;
        }
        x = s->o.integer ? floor(f / 2) : f / 2;
        if (x < s->o.lowest)
            x = s->o.lowest;
    } else if (hi < 0) { /* nothing failed above the best pass: go up */
        double p = s->probes[lo].x;
        if (p >= s->o.highest * (1 - 1e-9)) {
            s->stop = SEARCH_STOP_ABOVE;
            return;
        }
        x = fmin(2 * p, s->o.highest);
    } else {
        double a = s->probes[lo].x, b = s->probes[hi].x, w = b - a;
        if (w <= s->o.precision * a || (s->o.integer && w <= 1)) {
            s->stop = SEARCH_STOP_PRECISION;
            return;
        }
        int rule;
        x = crossing(&s->probes[lo], &s->probes[hi], &rule);
        /* A failing end more than twice past its threshold (a queue that ran away) says little
         * about where the margin crosses zero: halve the bracket then. */
        if (rule >= 0 && s->probes[hi].margin[rule] < -1)
            x = NAN;
        double e = s->last_moved == 1 ? a : b; /* the end the last bracketed probe moved */
        if (isnan(x)) {
            x = a + w / 2;
        } else if (s->last_moved && fabs(x - e) <= s->o.precision * e) {
            /* The estimate lies within the precision of the end just moved: one step of 0.9 x
             * the precision from that end closes the bracket if the estimate is right (a chord
             * of a concave margin undershoots, so without this the passing end would creep up
             * one interpolation at a time). */
            x = s->last_moved == 1 ? a * (1 + 0.9 * s->o.precision) : b / (1 + 0.9 * s->o.precision);
        } else {
            x = clampd(x, a + 0.2 * w, b - 0.2 * w); /* shrinks the bracket to 80% at worst */
        }
        if (s->o.integer) {
            x = round(x);
            if (x <= a)
                x = a + 1;
            if (x >= b)
                x = b - 1;
        }
    }
    s->next_x = x;
    s->next_longer = 0;
    s->pending = 1;
}

int search_next(search *s, double *x, int *longer)
{
    if (!s->pending)
        decide(s);
    if (!s->pending)
        return 0;
    *x = s->next_x;
    *longer = s->next_longer;
    return 1;
}

int search_record(search *s, const search_probe *p)
{
    if (!s->pending || p->n_rules > SEARCH_MAX_RULES || s->n >= SEARCH_MAX_PROBES)
        return LL_EINVAL;
    long lo0, hi0;
    bracket(s, &lo0, &hi0);
    size_t i = s->n++;
    s->probes[i] = *p;
    s->probes[i].x = s->next_x;
    s->probes[i].longer = s->next_longer;
    s->pending = 0;
    /* An undecided probe is superseded by its longer rerun; the rerun's verdict counts even when
     * it is undecided too (its point estimate, from more requests). */
    if (p->indeterminate && !s->next_longer && s->n < SEARCH_MAX_PROBES) {
        s->used[i] = -1;
        return 0;
    }
    s->used[i] = p->passed ? 1 : 0;
    if (s->next_longer && i > 0)
        s->used[i - 1] = -1;
    s->last_moved = lo0 >= 0 && hi0 >= 0 ? (p->passed ? 1 : 2) : 0;
    return 0;
}

size_t search_count(const search *s)
{
    return s->n;
}

const search_probe *search_probe_at(const search *s, size_t i)
{
    return i < s->n ? &s->probes[i] : NULL;
}

int search_used(const search *s, size_t i)
{
    return i < s->n ? s->used[i] : -1;
}

void search_result(const search *s, search_outcome *out)
{
    long lo, hi;
    bracket(s, &lo, &hi);
    out->stop = s->stop;
    out->best = lo;
    out->worst = hi;
    out->rate = lo >= 0 ? s->probes[lo].x : NAN;
    out->fail_rate = hi >= 0 ? s->probes[hi].x : NAN;
    out->precision = lo >= 0 && hi >= 0 && out->rate > 0 ? (out->fail_rate - out->rate) / out->rate : NAN;
    out->limited_by = -1;
    if (hi >= 0) {
        int rule = -1;
        if (lo >= 0)
            crossing(&s->probes[lo], &s->probes[hi], &rule);
        out->limited_by = rule >= 0 ? rule : worst_rule(&s->probes[hi]);
    }
}

const char *search_stop_name(search_stop st)
{
    switch (st) {
    case SEARCH_RUNNING:
        return "stopped before the end (interrupted or failed)";
    case SEARCH_STOP_PRECISION:
        return "precision reached";
    case SEARCH_STOP_MAX_PROBES:
        return "probe limit reached";
    case SEARCH_STOP_BELOW:
        return "even the lowest rate breaks the SLOs";
    case SEARCH_STOP_ABOVE:
        return "the SLOs hold at the highest rate";
    case SEARCH_STOP_NO_START:
        return "no start point";
    }
    return "?";
}
