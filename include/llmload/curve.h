/*
 * curve.h - a sweep's open-loop points as curves over the offered rate, for comparing two runs
 * whose rate points differ (report -> gate: `llmload compare`).
 *
 * Two sweeps of different servers place their points at different rates (constant@6.52 against
 * constant@9.8), so pairing by name finds nothing where it matters. Each report's open-loop
 * benchmarks (constant, poisson), ordered by target rate, are read as piecewise-linear curves and
 * both are evaluated at the same rates: every rate point of either report inside the range both
 * cover. Each evaluation is a benchmark-shaped object ("rate@R") whose numbers, intervals
 * included, are interpolated linearly between the two neighbouring points, so the gate compares
 * them like measured benchmarks.
 */
#ifndef LLMLOAD_CURVE_H
#define LLMLOAD_CURVE_H

#include <stddef.h>

struct cJSON;

/* True for a benchmark object whose schedule is open loop (constant or poisson). */
int curve_is_open_loop(const struct cJSON *bench);

/* True when base and cand each have at least two open-loop benchmarks and some open-loop name of
 * one is not in the other: then their points are compared by curve rather than by name. */
int curve_needed(const struct cJSON *base, const struct cJSON *cand);

/* Interpolated benchmarks of base and cand at their common rates: *base_out and *cand_out are
 * arrays of the same length, element i of both named alike (ownership moves to the caller:
 * cJSON_Delete). *lo and *hi receive the common range. Returns the number of common rates (0 when
 * the two ranges do not overlap, arrays then empty), or LL_ENOMEM (nothing allocated). */
int curve_common(const struct cJSON *base, const struct cJSON *cand, struct cJSON **base_out,
                 struct cJSON **cand_out, double *lo, double *hi);

#endif
