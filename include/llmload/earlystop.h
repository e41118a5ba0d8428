/*
 * earlystop.h - the early-stop rules of one benchmark (scheduler stage: bench.c asks on its
 * 100 ms housekeeping tick, never per request or per token).
 *
 * The rules read per-second buckets of the benchmark so far: requests that ended in each second
 * (OK and errors, and the mean TTFT of the OK ones; incomplete and cancelled ones are left out),
 * and the requests in flight sampled at each tick. The buckets are filled on the tick from the
 * records appended since the last one (records are appended as requests end), so the request path
 * is untouched.
 *
 * --max-error-rate R: over the requests that ended in the last --error-window whole seconds
 *   (extended back a second at a time until at least EARLYSTOP_MIN_REQUESTS ended in it, or the
 *   benchmark's start), errors / (errors + completed) > R. Never before that many have ended.
 * --stop-when-saturated: over the last W = --saturation-window whole seconds (not second 0, the
 *   start-up), least-squares slopes of the per-second in-flight mean f, completions c and mean
 *   TTFT t (seconds with a TTFT, at least 3), each as a rise over the window, slope * (W - 1):
 *     rise(f) >= 2 streams and rise(f) >= 0.25 mean(f)    in flight keeps growing,
 *     rise(t) >= 0.25 mean(t)                              TTFT with it (queueing),
 *     rise(c) / max(mean(c), 1) <= 0.5 rise(f) / mean(f)   while completions do not keep up.
 *   By Little's law in-flight = throughput x latency: a healthy ramp raises f and c together, an
 *   overloaded server only f. A closed loop holds f constant, so the rule never fires there.
 */
#ifndef LLMLOAD_EARLYSTOP_H
#define LLMLOAD_EARLYSTOP_H

#include <stddef.h>
#include <stdint.h>

#include "llmload/record.h"

#define EARLYSTOP_MIN_REQUESTS 20  /* ended requests before --max-error-rate judges */
#define EARLYSTOP_MAX_WINDOW_S 600 /* longest window (the option's bound): the ring's size */

typedef enum earlystop_rule { EARLYSTOP_NONE = 0, EARLYSTOP_MAX_ERROR_RATE, EARLYSTOP_SATURATED } earlystop_rule;

/* Why a rule fired: the figures report.json shows beside the stop reason. */
typedef struct earlystop_evidence {
    earlystop_rule rule;
    double at_s;                   /* seconds from the benchmark's start */
    double window_s;               /* the seconds judged */
    /* max_error_rate */
    uint64_t errors, ended;
    double error_rate, threshold;
    /* saturated: slopes per second, and the window's means */
    double in_flight_slope, ttft_ms_slope, completed_slope;
    double in_flight_mean, ttft_ms_mean, completed_mean;
} earlystop_evidence;

typedef struct earlystop_opts {
    double max_error_rate;     /* 0: off */
    double error_window_s;     /* 1 .. EARLYSTOP_MAX_WINDOW_S */
    int saturated;             /* --stop-when-saturated */
    double saturation_window_s; /* 3 .. EARLYSTOP_MAX_WINDOW_S */
} earlystop_opts;

typedef struct earlystop earlystop;

/* *out owned by caller (earlystop_destroy); all memory is taken here, none later. 0, LL_EINVAL
 * (no rule on, or a window out of bounds) or LL_ENOMEM. */
int earlystop_create(earlystop **out, const earlystop_opts *o);
void earlystop_destroy(earlystop *es);

/* Starts a benchmark at t0_ns (clock.h scale): empties the buckets. */
void earlystop_begin(earlystop *es, uint64_t t0_ns);

/* The tick: folds log's records from the last call's length on (log is the benchmark's, only
 * appended to), samples in_flight, and, once per whole second, judges the rules. Returns 1 and
 * fills *ev when one fires, else 0. */
int earlystop_tick(earlystop *es, uint64_t now_ns, size_t in_flight, const record_log *log, earlystop_evidence *ev);

/* "max_error_rate", "saturated" ("" for none); static string. */
const char *earlystop_rule_name(earlystop_rule r);

#endif
