/*
 * hist.h - mergeable log-linear histogram for per-token gaps (aggregate stage).
 *
 * Values are nanoseconds (uint64). Buckets follow HdrHistogram's log-linear scheme: each power of
 * two is split into 2^HIST_SUB_BITS linear sub-buckets, so any recorded value is known to within
 * 1/2^HIST_SUB_BITS relative error (0.098% with 10 bits, HdrHistogram's 3 significant digits; 0.5 ms
 * gaps are told apart at 500 ms). Values from 0 up to HIST_MAX_NS are held; larger ones are counted
 * in out_of_range, never silently lost. Two histograms merge exactly by adding counts, which is how
 * --workers and `llmload merge` combine. Memory is fixed at creation (264 KiB) and does not grow
 * with the values recorded. Reports written with another sub-bucket count (7 before 0.1% was
 * needed) stay readable through the hist_scheme_* functions, which give exact bucket ranges.
 */
#ifndef LLMLOAD_HIST_H
#define LLMLOAD_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 10
#define HIST_MAX_NS (1ULL << 42) /* about 73 minutes */

typedef struct hist hist;

/* Creates an empty histogram; *out is owned by the caller, who frees with hist_destroy.
 * Returns 0 or LL_ENOMEM. */
int hist_create(hist **out);

/* Where a histogram's one block of memory comes from. hist_create uses malloc/free; tests pass an
 * allocator that fails on demand, so that the LL_ENOMEM path is exercised, not assumed. */
typedef struct hist_allocator {
    void *(*alloc)(void *ctx, size_t size); /* NULL on failure */
    void (*release)(void *ctx, void *ptr);
    void *ctx; /* borrowed, valid until hist_destroy of every histogram made with it */
} hist_allocator;

/* As hist_create, with memory from *a (copied; hist_destroy gives the block back through it).
 * Returns 0, LL_EINVAL (NULL out, a, or function), or LL_ENOMEM; *out is NULL on failure. */
int hist_create_with(hist **out, const hist_allocator *a);
void hist_destroy(hist *h); /* NULL is fine */
void hist_clear(hist *h);

/* Record one value (n times). Returns false, and counts it in out_of_range, when v > HIST_MAX_NS.
 * hist_record_n also returns false, recording nothing, if the total would pass 2^64-1. */
bool hist_record(hist *h, uint64_t v);
bool hist_record_n(hist *h, uint64_t v, uint64_t n);

/* Adds src's counts to dst. Returns how many of src's values dst could not hold (always 0 for two
 * histograms of this scheme, unless a total would pass 2^64-1; out_of_range counts are added too). */
uint64_t hist_merge(hist *dst, const hist *src);

uint64_t hist_count(const hist *h);        /* values held (out_of_range excluded) */
uint64_t hist_out_of_range(const hist *h);
uint64_t hist_min(const hist *h);          /* exact; 0 when empty */
uint64_t hist_max(const hist *h);          /* exact; 0 when empty */
double hist_mean(const hist *h);           /* from bucket midpoints; 0 when empty */
double hist_stdev(const hist *h);          /* sample stdev from bucket midpoints */
/* Value at percentile p in [0,100] by nearest rank: the bucket midpoint, clamped to [min,max], or
 * the exact min/max when the rank is the first/last; 0 when empty. */
double hist_percentile(const hist *h, double p);
/* The value of the rank-th smallest value (1-based; clamped to [1, count]) as hist_percentile
 * reports it: min for rank 1, max for the last, else its bucket's midpoint clamped to [min,max];
 * 0 when empty. Confidence intervals of percentiles are pairs of such ranks (stats_quantile_ci). */
double hist_value_at_rank(const hist *h, uint64_t rank);

/* Serialisation: the bucket table is a flat index space [0, hist_bucket_slots()). */
size_t hist_bucket_slots(void);
uint64_t hist_bucket_count(const hist *h, size_t idx);
/* Lowest and highest value that fall in bucket idx (inclusive); lo = hi = 0 for a bad index. */
void hist_bucket_range(size_t idx, uint64_t *lo, uint64_t *hi);
/* Bucket that holds value v, or hist_bucket_slots() when v > HIST_MAX_NS (e.g. for mapping the
 * buckets onto Prometheus `le` bounds, and for testing the scheme). */
size_t hist_bucket_index(uint64_t v);
/* Adds n values to bucket idx (for loading a serialised histogram); LL_ERANGE on a bad index.
 * min/max are set with hist_set_extremes after loading (ignored while the histogram is empty). */
int hist_add_bucket(hist *h, size_t idx, uint64_t n);
void hist_set_extremes(hist *h, uint64_t min, uint64_t max, uint64_t out_of_range);

/* Bucket tables written with `sub_bits` sub-bucket bits (report.json's "sub_bucket_bits"; older
 * reports say 7), same HIST_MAX_NS. Readers use these rather than re-bucketing, so an old table is
 * read exactly. hist_scheme_slots returns 0 for sub_bits outside [HIST_SCHEME_BITS_MIN,
 * HIST_SCHEME_BITS_MAX]; hist_scheme_bucket_range returns 0, or LL_ERANGE (lo = hi = 0) for such
 * sub_bits or an index at or past the scheme's slots. With sub_bits = HIST_SUB_BITS both equal
 * hist_bucket_slots and hist_bucket_range. */
#define HIST_SCHEME_BITS_MIN 1
#define HIST_SCHEME_BITS_MAX 16
size_t hist_scheme_slots(int sub_bits);
int hist_scheme_bucket_range(int sub_bits, size_t idx, uint64_t *lo, uint64_t *hi);

#endif
