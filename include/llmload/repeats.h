/*
 * repeats.h - the spread of headline figures across --repeat runs of one benchmark (report stage).
 *
 * Reads the benchmarks of a built report document (names "NAME#1".."NAME#N") and adds the
 * top-level "repeats" array: per benchmark, each headline figure's mean, sample stdev, 95%
 * t-interval and coefficient of variation across its runs. A figure whose CV passes
 * REPEATS_CV_FLAG is flagged: the runs disagree more than one run's own intervals would suggest.
 */
#ifndef LLMLOAD_REPEATS_H
#define LLMLOAD_REPEATS_H

#include <stdio.h>

#define REPEATS_CV_FLAG 0.10

struct cJSON;

/* Adds doc's "repeats" (an empty array when no benchmark name carries a "#k" suffix). Partial
 * (interrupted) runs are left out. Returns 0 or LL_ENOMEM (doc then has no "repeats"). doc is
 * borrowed. */
int repeats_build(struct cJSON *doc);

/* The console's view of doc's "repeats": one line per figure, with "CV > 10%" flags. Nothing
 * when there are none. */
void repeats_print(FILE *f, const struct cJSON *doc);

#endif
