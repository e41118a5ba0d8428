/*
 * precision.h - `--target-precision ttft_p95=5%`: end a benchmark once a statistic is known that
 * well (scheduler side: the runner checks once a second; report side: report.json says whether
 * each benchmark reached it).
 *
 * "Known that well" means its 95% confidence interval (stats.h: order statistics for a
 * percentile, Student's t for a mean) lies within +/- the target of the estimate: max(estimate -
 * lo, hi - estimate) <= target x estimate. The usual limits still end a benchmark first.
 */
#ifndef LLMLOAD_PRECISION_H
#define LLMLOAD_PRECISION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmload/hist.h"
#include "llmload/record.h"

typedef struct precision_target {
    char name[24];    /* as given: "ttft_p95" */
    char metric[16];  /* report.json's metrics key: "ttft_ms" */
    char stat[8];     /* "p95", "mean" */
    double q;         /* quantile in (0,1); 0 for the mean */
    double rel;       /* allowed half-width over the estimate, e.g. 0.05 */
} precision_target;

/* Parses "METRIC_STAT=X%" (METRIC: ttft, ttfot, ttfb, tpot, e2e, itl; STAT: mean, p50, p90, p95,
 * p99, p999; X above 0 and below 100, or a fraction such as 0.05). LL_EUSAGE with one line in err. */
int precision_parse(const char *spec, precision_target *out, char *err, size_t errlen);

/* The interval's relative half-width over the finished, completed requests scheduled in
 * [window_start, window_end) (itl: over the histogram, which holds the window's gaps), into *rel.
 * Returns 1 when there is an interval, 0 when there is none yet (too few samples), LL_ENOMEM.
 * Sorts a copy of the values: call it once a second, not per request. */
int precision_measure(const precision_target *t, const record_log *log, const hist *itl, uint64_t window_start,
                      uint64_t window_end, double *rel);

struct cJSON;
/* Adds "target_precision": {statistic, target, relative_half_width (or null), reached} to every
 * benchmark of the report document doc, from the interval report.json gives. 0 or LL_ENOMEM. */
int precision_annotate(const precision_target *t, struct cJSON *doc);

/* One console line per benchmark of an annotated doc: reached or not, the width, the duration. */
void precision_print(FILE *f, const struct cJSON *doc);

#endif
