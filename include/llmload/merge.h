/*
 * merge.h - `llmload merge`: shards' results back into one (below report, beside aggregate).
 *
 * Each shard's report.json and requests.csv are read back into the bench_result it held in memory
 * (every record's timestamps on its own monotonic clock, its token-gap histograms from their
 * buckets), the shards are put on one timeline by their wall-clock starts, and the merged results
 * go through the same aggregate and report code as a run. Percentiles are therefore exact (from
 * every record), histograms exact by construction (counts added), counts the shards' sums, and
 * throughput is over the common window: the union of the shards' windows. See docs/merge.md.
 */
#ifndef LLMLOAD_MERGE_H
#define LLMLOAD_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "llmload/bench.h"

struct cJSON;

/* One shard as read from disk. */
typedef struct merge_shard {
    char *source;              /* the report.json path given or found; owned */
    struct cJSON *doc;         /* its report.json; owned */
    bench_result *results;     /* one per benchmark of doc, rebuilt; owned */
    double *wall_starts;       /* each benchmark's wall-clock start (epoch s); owned */
    size_t n;
    int index, count;          /* its --shard I/N (0/1 for an unsharded run) */
    /* A --model mix's names (config.models), in order: record.model indexes them and every
     * result's model_names points here. Owned array of strings borrowed from doc; NULL for one model. */
    const char **model_names;
    size_t n_models;
} merge_shard;

/* Reads path: a directory holding report.json and requests.csv, or a report.json with
 * requests.csv beside it. *out owned by caller (merge_shard_free). 0, or LL_ENOENT/LL_EIO (cannot
 * read), LL_EPARSE (not a report this version can merge), LL_ENOMEM, with one line in err. */
int merge_shard_load(const char *path, merge_shard **out, char *err, size_t errlen);
void merge_shard_free(merge_shard *s);

/* Checks that the shards are one run's parts: same tool version and build, the same config except
 * the shard index, the start time and the output directory, every index of 0..N-1 exactly once,
 * and the same benchmarks. shards must be sorted by index first. 0, or LL_EUSAGE with one line
 * naming the first difference. */
int merge_check(merge_shard *const *shards, size_t n, char *err, size_t errlen);

/* Combines n results of one benchmark into *out (caller frees with bench_result_free; out->plan
 * is parts[0]'s, for the caller to set). Part k's clock is shifted so that its t0 lands at
 * base_ns + (wall_starts[k] - the earliest wall start) * 1e9; records keep their measured flags
 * (out->measured_given), get ids id * n + k, and are sorted by scheduled time; histograms are
 * added; the window is the union of the parts' windows (parts that sent nothing, loops == 0, are
 * left out of the times). 0 or LL_ENOMEM. */
int merge_results(const bench_result *parts, const double *wall_starts, size_t n, uint64_t base_ns,
                  bench_result *out);

#endif
