/*
 * workers.h - one benchmark shared between N event loops (`--workers N`), each on its own thread
 * with its own runner (loop, curl handles, slots), started at one common instant and merged exactly
 * afterwards (scheduler stage, above bench.h).
 *
 * The load is split so that the union is the plan: concurrent streams and slots are dealt out; a
 * constant rate R becomes N interleaved schedules of rate R/N (worker k shifted by k/R); a Poisson
 * rate R becomes N independent Poisson processes of rate R/N (their superposition is Poisson R);
 * a gamma process (--burstiness) is dealt: every loop draws the one process and keeps every N-th
 * arrival, so the union is exactly it; request limits are divided. Records are concatenated (ids made unique) and histograms added, so
 * the merged result is what one loop would have recorded. With N = 1 no thread is started.
 */
#ifndef LLMLOAD_WORKERS_H
#define LLMLOAD_WORKERS_H

#include <stddef.h>

#include "llmload/bench.h"
#include "llmload/config.h"

typedef struct workers workers;

/* n loops sharing slots_total request slots. *out owned by caller (workers_destroy). A negative
 * code with one line in err on failure. */
int workers_create(workers **out, const config *cfg, const char *model, size_t n, size_t slots_total,
                   char *err, size_t errlen);

/* Runs plan on every loop and merges their results into *res (caller frees with
 * bench_result_free). 0 or a negative code with err set. */
int workers_run(workers *w, const bench_plan *plan, bench_result *res, char *err, size_t errlen);

/* --metrics-listen: the loops' live snapshots of the newest benchmark, summed into *out (zeroed
 * first; start_ns stays 0 before any benchmark). Safe from another thread while a plan runs. */
void workers_live_read(const workers *w, live_snapshot *out);

/* The first signal any loop received, or 0. */
int workers_interrupted(const workers *w);
void workers_destroy(workers *w);

/* Worker k's share of plan (k < n); returns 0 when worker k has nothing to do. Exposed for tests. */
int workers_split(const bench_plan *plan, const config *cfg, size_t n, size_t k, bench_plan *out);

#endif
