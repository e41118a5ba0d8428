/*
 * arrival.c - open-loop arrival offsets for constant and Poisson schedules (source -> scheduler:
 * sched_ asks for the next intended start and arms its timerfd at start + offset).
 *
 * Invariant: offsets are non-decreasing and depend only on (kind, rate, seed), never on how the
 * server responds. Offsets are computed from the exact arrival time (k/rate, or the running sum of
 * exponential gaps) and rounded once, so rounding never accumulates into drift.
 */
#include "llmload/arrival.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "llmload/error.h"

struct arrival {
    arrival_kind kind;
    double rate;       /* requests per second, finite and > 0 */
    double mean_gap_s; /* 1 / rate, the exponential's mean */
    double next_s;     /* Poisson: exact time of the next arrival, in seconds */
    uint64_t k;        /* constant: index of the next arrival */
    gsl_rng rng;       /* Poisson only; its state lives in state[] below */
    max_align_t state[];
};

/* splitmix64's finaliser: spreads every bit of the seed over the 32 bits mt19937 takes. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The run's --seed also seeds the synthetic prompt source. Fed straight to mt19937, both would see
 * the same uniform stream, so gap i and prompt length i would be correlated (long prompts after long
 * gaps). Deriving a per-purpose seed keeps the streams independent and still repeatable; it also
 * makes all 64 bits of the seed count, where mt19937 alone keeps only the low 32. */
static unsigned long arrival_stream_seed(uint64_t seed)
{
    return (unsigned long)(mix64(seed ^ 0x617272697661ULL /* "arriva" */) & 0xffffffffULL);
}

int arrival_create(arrival **out, arrival_kind kind, double rate, uint64_t seed)
{
    if (out)
        *out = NULL;
    if (!out || (kind != ARRIVAL_CONSTANT && kind != ARRIVAL_POISSON) || !isfinite(rate) ||
        !(rate > 0.0))
        return LL_EINVAL;
    /* The generator is built in our own block rather than with gsl_rng_alloc: on allocation
     * failure GSL calls its error handler, which aborts unless the process turned it off, and
     * llmload must report LL_ENOMEM instead. gsl_rng is GSL's public {type, state} pair, filled
     * here exactly as gsl_rng_alloc does; it is never passed to gsl_rng_free. */
    size_t state_size = kind == ARRIVAL_POISSON ? gsl_rng_mt19937->size : 0;
    arrival *a = malloc(sizeof(*a) + state_size);
    if (!a)
        return LL_ENOMEM;
    a->kind = kind;
    a->rate = rate;
    a->mean_gap_s = 1.0 / rate;
    a->next_s = 0.0;
    a->k = 0;
    a->rng.type = gsl_rng_mt19937;
    a->rng.state = kind == ARRIVAL_POISSON ? (void *)a->state : NULL;
    if (kind == ARRIVAL_POISSON)
        gsl_rng_set(&a->rng, arrival_stream_seed(seed));
    *out = a;
    return 0;
}

void arrival_destroy(arrival *a)
{
    free(a);
}

/* Rounds to the nearest ns; monotone, so non-decreasing inputs stay non-decreasing. Saturates
 * rather than overflow (reached only after centuries, e.g. at absurdly low rates). */
static uint64_t round_ns(long double ns)
{
    if (ns >= 0x1p64L)
        return UINT64_MAX;
    return (uint64_t)nearbyintl(ns);
}

uint64_t arrival_next_ns(arrival *a)
{
    if (a->kind == ARRIVAL_CONSTANT) {
        /* k / rate from k itself, not by adding a rounded period, so rate 3 gives gaps of
         * 333333333 and 333333334 ns that never drift from k / 3 s. */
        uint64_t ns = round_ns((long double)a->k * 1e9L / (long double)a->rate);
        a->k++;
        return ns;
    }
    double t = a->next_s;
    /* Exponential gaps are >= 0 (GSL draws -mean·log1p(-u), u in [0,1)), so the sum never falls. */
    a->next_s += gsl_ran_exponential(&a->rng, a->mean_gap_s);
    return round_ns((long double)t * 1e9L);
}
