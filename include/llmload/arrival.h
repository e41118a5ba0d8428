/*
 * arrival.h - open-loop arrival processes (source -> scheduler).
 *
 * Gives the intended start time of each request as an offset from the benchmark's start, drawn
 * ahead of time from GSL so that the schedule does not depend on how the server responds
 * (which is what makes coordinated omission visible instead of hidden). Constant: k / rate.
 * Poisson: cumulative sums of exponential gaps with mean 1/rate (first request at 0), from a
 * gsl_rng seeded with the run's seed, so a seed repeats the schedule exactly.
 */
#ifndef LLMLOAD_ARRIVAL_H
#define LLMLOAD_ARRIVAL_H

#include <stdint.h>

typedef enum arrival_kind { ARRIVAL_CONSTANT = 0, ARRIVAL_POISSON } arrival_kind;

typedef struct arrival arrival;

/* rate in requests per second (> 0). *out owned by caller (arrival_destroy). 0, LL_EINVAL, LL_ENOMEM. */
int arrival_create(arrival **out, arrival_kind kind, double rate, uint64_t seed);
void arrival_destroy(arrival *a);
/* Offset in ns of the next arrival; non-decreasing from call to call. */
uint64_t arrival_next_ns(arrival *a);

#endif
