/*
 * arrival.h - open-loop arrival processes (source -> scheduler).
 *
 * Gives the intended start time of each request as an offset from the benchmark's start, drawn
 * ahead of time from GSL so that the schedule does not depend on how the server responds
 * (which is what makes coordinated omission visible instead of hidden). Constant: k / rate.
 * Poisson: cumulative sums of exponential gaps with mean 1/rate (first request at 0), from a
 * gsl_rng seeded with the run's seed, so a seed repeats the schedule exactly. Gamma (--burstiness
 * K): gaps of shape K and the same mean 1/rate, so their coefficient of variation is 1/sqrt(K)
 * (K = 1 is Poisson, K < 1 burstier), vLLM bench serve's meaning of --burstiness.
 *
 * Shapes on top (arrival_spec): a ramp-up is a time change of the process (the rate rises along a
 * curve to the target over ramp_s seconds, then holds), so a Poisson process stays Poisson with a
 * varying intensity; a deal keeps only every stride-th arrival of one process, so that --workers
 * loops sharing it draw exactly the one gamma process between them (docs/workloads.md).
 */
#ifndef LLMLOAD_ARRIVAL_H
#define LLMLOAD_ARRIVAL_H

#include <stdint.h>

typedef enum arrival_kind { ARRIVAL_CONSTANT = 0, ARRIVAL_POISSON, ARRIVAL_GAMMA } arrival_kind;

/* The ramp's curve (values are config.h's CONFIG_RAMP_*): f(x) for x = t / ramp_s in [0, 1], the
 * share of the target rate at time t. Linear: f(x) = x. Exponential: f(x) = 2^(10 (x - 1)), from
 * 1/1024 of the target, doubling every tenth of the ramp. f = 1 once the ramp is over. */
typedef enum arrival_ramp { ARRIVAL_RAMP_NONE = 0, ARRIVAL_RAMP_LINEAR, ARRIVAL_RAMP_EXPONENTIAL } arrival_ramp;

typedef struct arrival_spec {
    arrival_kind kind;
    double rate;            /* requests per second at full rate (> 0) */
    double shape;           /* ARRIVAL_GAMMA: K > 0 */
    uint64_t seed;
    uint64_t phase_ns;      /* added to every arrival before the ramp's time change */
    arrival_ramp ramp;
    double ramp_s;          /* > 0 with a ramp */
    uint64_t deal_stride;   /* 0 or 1: every arrival; n: arrivals deal_offset + n*i only */
    uint64_t deal_offset;   /* < deal_stride */
} arrival_spec;

typedef struct arrival arrival;

/* rate in requests per second (> 0). *out owned by caller (arrival_destroy). 0, LL_EINVAL, LL_ENOMEM. */
int arrival_create(arrival **out, arrival_kind kind, double rate, uint64_t seed);
/* The same from a whole spec (checked: LL_EINVAL on a bad field). */
int arrival_create_spec(arrival **out, const arrival_spec *spec);
void arrival_destroy(arrival *a);
/* Offset in ns of the next arrival; non-decreasing from call to call. */
uint64_t arrival_next_ns(arrival *a);

/* The ramp's f(t / ramp_s) above, in (0, 1] (1 with no ramp or past its end); for closed loops,
 * which add streams along the same curve. */
double arrival_ramp_share(arrival_ramp ramp, double ramp_s, double t_s);

#endif
