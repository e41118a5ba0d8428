/*
 * arrival.c - open-loop arrival offsets for constant and Poisson schedules (source -> scheduler:
 * sched_ asks for the next intended start and arms its timerfd at start + offset).
 *
 * Invariant: offsets are non-decreasing and depend only on the spec, never on how the server
 * responds. Offsets are computed from the exact arrival time (k/rate, or the running sum of
 * exponential or gamma gaps) and rounded once, so rounding never accumulates into drift. A ramp
 * maps that exact time u (seconds at the full rate) to t = G^-1(u), where G(t) is the integral of
 * the ramp's share f from 0 to t: an increasing map, so order is kept and a Poisson process becomes
 * the inhomogeneous Poisson process of intensity rate * f(t / ramp_s).
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
    double shape;      /* gamma: K; its scale is mean_gap_s / K */
    uint64_t phase_ns;
    arrival_ramp ramp;
    double ramp_s;
    uint64_t deal_stride, deal_offset, index; /* index: of the next arrival of the whole process */
    double rate;       /* requests per second, finite and > 0 */
    double mean_gap_s; /* 1 / rate, the exponential's mean */
    double next_s;     /* Poisson: exact time of the next arrival, in seconds */
    uint64_t k;        /* constant: index of the next arrival */
    gsl_rng rng;       /* Poisson and gamma only; its state lives in state[] below */
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
    arrival_spec spec = {.kind = kind, .rate = rate, .shape = 1.0, .seed = seed};
    return arrival_create_spec(out, &spec);
}

int arrival_create_spec(arrival **out, const arrival_spec *spec)
{
    if (out)
        *out = NULL;
    if (!out || !spec)
        return LL_EINVAL;
    arrival_kind kind = spec->kind;
    double rate = spec->rate;
    if ((kind != ARRIVAL_CONSTANT && kind != ARRIVAL_POISSON && kind != ARRIVAL_GAMMA) || !isfinite(rate) ||
        !(rate > 0.0))
        return LL_EINVAL;
    if (kind == ARRIVAL_GAMMA && !(isfinite(spec->shape) && spec->shape > 0.0))
        return LL_EINVAL;
    if ((spec->ramp != ARRIVAL_RAMP_NONE && spec->ramp != ARRIVAL_RAMP_LINEAR &&
         spec->ramp != ARRIVAL_RAMP_EXPONENTIAL) ||
        (spec->ramp != ARRIVAL_RAMP_NONE && !(isfinite(spec->ramp_s) && spec->ramp_s > 0.0)))
        return LL_EINVAL;
    if (spec->deal_stride > 1 && spec->deal_offset >= spec->deal_stride)
        return LL_EINVAL;
    /* The generator is built in our own block rather than with gsl_rng_alloc: on allocation
     * failure GSL calls its error handler, which aborts unless the process turned it off, and
     * llmload must report LL_ENOMEM instead. gsl_rng is GSL's public {type, state} pair, filled
     * here exactly as gsl_rng_alloc does; it is never passed to gsl_rng_free. */
    int random = kind != ARRIVAL_CONSTANT;
    size_t state_size = random ? gsl_rng_mt19937->size : 0;
    arrival *a = malloc(sizeof(*a) + state_size);
    if (!a)
        return LL_ENOMEM;
    a->kind = kind;
    a->rate = rate;
    a->mean_gap_s = 1.0 / rate;
    a->next_s = 0.0;
    a->k = 0;
    a->shape = kind == ARRIVAL_GAMMA ? spec->shape : 1.0;
    a->phase_ns = spec->phase_ns;
    a->ramp = spec->ramp;
    a->ramp_s = spec->ramp_s;
    a->deal_stride = spec->deal_stride > 1 ? spec->deal_stride : 1;
    a->deal_offset = spec->deal_stride > 1 ? spec->deal_offset : 0;
    a->index = 0;
    a->rng.type = gsl_rng_mt19937;
    a->rng.state = random ? (void *)a->state : NULL;
    if (random)
        gsl_rng_set(&a->rng, arrival_stream_seed(spec->seed));
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

/* The ramp's exponential curve: 2^RAMP_DOUBLINGS times from its start to the target rate. */
#define RAMP_DOUBLINGS 10.0

double arrival_ramp_share(arrival_ramp ramp, double ramp_s, double t_s)
{
    if (ramp == ARRIVAL_RAMP_NONE || !(ramp_s > 0) || t_s >= ramp_s)
        return 1.0;
    double x = t_s > 0 ? t_s / ramp_s : 0.0;
    if (ramp == ARRIVAL_RAMP_LINEAR)
        return x;
    return exp2(RAMP_DOUBLINGS * (x - 1.0));
}

/* G^-1(u): the real time, in seconds, at which the ramped process reaches u seconds of full-rate
 * time. G(t) = t^2 / 2S (linear) or (e^(a(t-S)) - e^(-aS)) / a with a = 10 ln 2 / S (exponential)
 * up to S, then G(S) + (t - S). */
static long double ramp_time(const arrival *a, long double u)
{
    long double S = a->ramp_s;
    if (a->ramp == ARRIVAL_RAMP_LINEAR) {
        if (u <= S / 2)
            return sqrtl(2 * S * u);
        return u + S / 2;
    }
    long double k = (long double)RAMP_DOUBLINGS * 0.69314718055994530942L / S, e0 = expl(-k * S);
    long double gs = (1 - e0) / k;
    if (u <= gs)
        return S + logl(k * u + e0) / k;
    return S + (u - gs);
}

/* The next arrival of the whole process, in exact ns from its start. */
static long double next_exact(arrival *a)
{
    if (a->kind == ARRIVAL_CONSTANT) {
        /* k / rate from k itself, not by adding a rounded period, so rate 3 gives gaps of
         * 333333333 and 333333334 ns that never drift from k / 3 s. */
        long double t = (long double)a->k * 1e9L / (long double)a->rate;
        a->k++;
        return t;
    }
    double t = a->next_s;
    /* Exponential and gamma gaps are >= 0 (GSL draws -mean·log1p(-u), u in [0,1), and gamma
     * variates are non-negative), so the sum never falls. */
    if (a->kind == ARRIVAL_GAMMA)
        a->next_s += gsl_ran_gamma(&a->rng, a->shape, a->mean_gap_s / a->shape);
    else
        a->next_s += gsl_ran_exponential(&a->rng, a->mean_gap_s);
    return (long double)t * 1e9L;
}

uint64_t arrival_next_ns(arrival *a)
{
    /* A deal: this share keeps arrivals offset, offset + stride, ... of the one process, and
     * draws (and drops) the others so the process itself is the same in every share. */
    long double t;
    do {
        t = next_exact(a);
    } while (a->index++ % a->deal_stride != a->deal_offset);
    if (a->ramp == ARRIVAL_RAMP_NONE) {
        uint64_t ns = round_ns(t);
        return ns > UINT64_MAX - a->phase_ns ? UINT64_MAX : ns + a->phase_ns;
    }
    return round_ns(ramp_time(a, (t + (long double)a->phase_ns) / 1e9L) * 1e9L);
}
