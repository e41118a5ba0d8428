/*
 * report.h - the report module (aggregate -> report): report.json is the canonical result; every
 * other format (summary.csv, Markdown, the console table, later HTML and Prometheus) is rendered
 * from that JSON document, so `llmload report RESULT.json` reproduces them byte for byte from a
 * saved file. requests.csv is the one exception: it is written from the records, which
 * report.json does not carry.
 */
#ifndef LLMLOAD_REPORT_H
#define LLMLOAD_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "llmload/aggregate.h"
#include "llmload/bench.h"
#include "llmload/config.h"

struct cJSON;

/* Builds the report document. sums[i] and results[i] describe benchmark i. *out owned by caller
 * (cJSON_Delete). 0 or LL_ENOMEM. */
int report_build(const config *cfg, const char *model, const bench_summary *sums,
                 const bench_result *results, size_t n, int partial, double run_wall_start,
                 struct cJSON **out);

/* Loads a saved report.json; LL_ENOENT/LL_EIO/LL_EPARSE with one line in err. *out owned by
 * caller (cJSON_Delete). */
int report_load(const char *path, struct cJSON **out, char *err, size_t errlen);

/* Writers; each returns 0 or LL_EIO. */
int report_write_json(const struct cJSON *doc, FILE *f);
int report_write_summary_csv(const struct cJSON *doc, FILE *f);
/* breakdown.csv: one row per group of report.json's benchmarks[].by_turn and by_model (sessions,
 * --model mixes; docs/report.md): benchmark, by (turn or model), group, the counts, then mean and
 * percentiles of TTFT, ITL and E2E in ms, then output tokens/s. report_has_breakdown says whether
 * any benchmark has a breakdown (the run writes the file only then). 0 or LL_EIO / LL_EPARSE. */
int report_write_breakdown_csv(const struct cJSON *doc, FILE *f);
int report_has_breakdown(const struct cJSON *doc);
int report_write_markdown(const struct cJSON *doc, FILE *f);
/* Prometheus text exposition (metrics.prom): what a Pushgateway receives. */
int report_write_prometheus(const struct cJSON *doc, FILE *f);
/* report.html: one self-contained page (table, charts drawn with inlined uPlot); deterministic,
 * depends only on doc. 0, LL_ENOMEM or LL_EIO. */
int report_write_html(const struct cJSON *doc, FILE *f);
/* `llmload compare --format html`: res is gate_compare's result, base and cand the two reports
 * (all borrowed), the names are shown as given. One self-contained page. 0, LL_ENOMEM or LL_EIO. */
int report_write_compare_html(const struct cJSON *res, const struct cJSON *base, const char *base_name,
                              const struct cJSON *cand, const char *cand_name, FILE *f);
/* One row per request; t0_ns is the run's start (times in the CSV are seconds since it). */
int report_write_requests_csv(const bench_result *results, size_t n, uint64_t t0_ns, FILE *f);

/* Writes data to path atomically (temp file + rename) with the given writer. 0 or LL_EIO with a
 * line in err. */
int report_write_file(const char *path, int (*writer)(const struct cJSON *, FILE *),
                      const struct cJSON *doc, char *err, size_t errlen);

#endif
