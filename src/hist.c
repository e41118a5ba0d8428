/*
 * hist.c - log-linear histogram of nanosecond values (aggregate stage: per-token gaps from each
 * record go in here; reporters read percentiles and the bucket table; merge combines workers/shards).
 *
 * Invariant: every value v <= HIST_MAX_NS lands in the one bucket whose [lo, hi] holds it, with
 * (hi - lo) / lo < 2^-HIST_SUB_BITS; total is the sum of all bucket counts; min/max are the exact
 * extremes of the values held. The bucket table is one flat array fixed at creation.
 */
#include "llmload/hist.h"

#include <math.h>
#include <stdlib.h>

#include "llmload/error.h"

/*
 * Layout (S = HIST_SUB_BITS): values below 2^(S+1) each have their own bucket (exact). Above that,
 * the power-of-two range [2^e, 2^(e+1)) is split into 2^S sub-buckets of width 2^(e-S). With
 * shift = e - S and sub = v >> shift (in [2^S, 2^(S+1))), the flat index is (shift << S) + sub;
 * the exact range is the same formula with shift = 0, so one expression serves both.
 */
#define SUB_COUNT (1ULL << HIST_SUB_BITS)
#define EXACT_LIMIT (2 * SUB_COUNT) /* values below this have width-1 buckets */
#define MAX_EXP 42
_Static_assert(HIST_MAX_NS == (1ULL << MAX_EXP), "MAX_EXP must match HIST_MAX_NS");
/* Index of HIST_MAX_NS itself is ((MAX_EXP - S) << S) + 2^S; the table ends right after it. */
#define SLOTS ((size_t)(((MAX_EXP - HIST_SUB_BITS) << HIST_SUB_BITS) + SUB_COUNT + 1))
_Static_assert(HIST_SUB_BITS >= HIST_SCHEME_BITS_MIN && HIST_SUB_BITS <= HIST_SCHEME_BITS_MAX,
               "the scheme readers must cover the scheme written");

struct hist {
    uint64_t total;        /* values held, = sum of counts */
    uint64_t out_of_range; /* values refused because v > HIST_MAX_NS */
    uint64_t min, max;     /* exact; min = UINT64_MAX and max = 0 while nothing is held */
    void (*release)(void *ctx, void *ptr);
    void *alloc_ctx;
    uint64_t counts[]; /* SLOTS entries */
};

/* O(1), no loops, no division: this runs once per token on the receive path. OR-ing in
 * EXACT_LIMIT - 1 makes values in the exact range report exponent S, hence shift 0. */
static inline size_t bucket_of(uint64_t v)
{
    unsigned e = 63u - (unsigned)__builtin_clzll(v | (EXACT_LIMIT - 1));
    unsigned shift = e - HIST_SUB_BITS;
    return ((size_t)shift << HIST_SUB_BITS) + (size_t)(v >> shift);
}

static void *default_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void default_release(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

int hist_create(hist **out)
{
    const hist_allocator a = {default_alloc, default_release, NULL};
    return hist_create_with(out, &a);
}

int hist_create_with(hist **out, const hist_allocator *a)
{
    if (out)
        *out = NULL;
    if (!out || !a || !a->alloc || !a->release)
        return LL_EINVAL;
    hist *h = a->alloc(a->ctx, sizeof(*h) + SLOTS * sizeof(h->counts[0]));
    if (!h)
        return LL_ENOMEM;
    h->release = a->release;
    h->alloc_ctx = a->ctx;
    hist_clear(h);
    *out = h;
    return 0;
}

void hist_destroy(hist *h)
{
    if (h)
        h->release(h->alloc_ctx, h);
}

void hist_clear(hist *h)
{
    for (size_t i = 0; i < SLOTS; i++)
        h->counts[i] = 0;
    h->total = 0;
    h->out_of_range = 0;
    h->min = UINT64_MAX;
    h->max = 0;
}

bool hist_record(hist *h, uint64_t v)
{
    if (v > HIST_MAX_NS) {
        h->out_of_range++;
        return false;
    }
    /* No overflow check for n = 1: 2^64 tokens cannot be recorded in any run. */
    h->counts[bucket_of(v)]++;
    h->total++;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    return true;
}

bool hist_record_n(hist *h, uint64_t v, uint64_t n)
{
    if (v > HIST_MAX_NS) {
        uint64_t sum;
        h->out_of_range = __builtin_add_overflow(h->out_of_range, n, &sum) ? UINT64_MAX : sum;
        return false;
    }
    if (n == 0)
        return true; /* must not move min/max: no value was added */
    uint64_t total;
    /* Every count is <= total, so checking total covers the bucket too. */
    if (__builtin_add_overflow(h->total, n, &total))
        return false;
    h->counts[bucket_of(v)] += n;
    h->total = total;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    return true;
}

uint64_t hist_merge(hist *dst, const hist *src)
{
    uint64_t dropped = 0;
    for (size_t i = 0; i < SLOTS; i++) {
        uint64_t n = src->counts[i], total;
        if (n == 0)
            continue;
        if (__builtin_add_overflow(dst->total, n, &total)) {
            dropped += n;
            continue;
        }
        dst->counts[i] += n;
        dst->total = total;
    }
    uint64_t oor;
    dst->out_of_range =
        __builtin_add_overflow(dst->out_of_range, src->out_of_range, &oor) ? UINT64_MAX : oor;
    /* An empty src holds the UINT64_MAX/0 sentinels, which leave dst's extremes as they are. (When
     * counts were dropped, dst already holds 2^64-1 values; its extremes are then best effort.) */
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    return dropped;
}

uint64_t hist_count(const hist *h)
{
    return h->total;
}

uint64_t hist_out_of_range(const hist *h)
{
    return h->out_of_range;
}

uint64_t hist_min(const hist *h)
{
    return h->total ? h->min : 0;
}

uint64_t hist_max(const hist *h)
{
    return h->total ? h->max : 0;
}

/* Midpoint of bucket idx, as the value that stands for every count in it: its error is at most
 * half a bucket width, i.e. under 2^-(S+1) relative. */
static double bucket_mid(size_t idx)
{
    uint64_t lo, hi;
    hist_bucket_range(idx, &lo, &hi);
    return ((double)lo + (double)hi) / 2.0;
}

double hist_mean(const hist *h)
{
    if (h->total == 0)
        return 0.0;
    double sum = 0.0;
    for (size_t i = 0; i < SLOTS; i++)
        if (h->counts[i])
            sum += (double)h->counts[i] * bucket_mid(i);
    return sum / (double)h->total;
}

double hist_stdev(const hist *h)
{
    if (h->total < 2)
        return 0.0;
    double mean = hist_mean(h), ss = 0.0;
    for (size_t i = 0; i < SLOTS; i++) {
        if (h->counts[i]) {
            double d = bucket_mid(i) - mean;
            ss += (double)h->counts[i] * d * d;
        }
    }
    return sqrt(ss / (double)(h->total - 1));
}

double hist_percentile(const hist *h, double p)
{
    if (h->total == 0)
        return 0.0;
    if (!(p > 0.0)) /* also catches NaN */
        p = 0.0;
    if (p > 100.0)
        p = 100.0;
    /* Nearest rank: the smallest r with r >= p/100 * N. The slack keeps float noise in p/100 * N
     * (e.g. 99.9% of 1000 computing to 999.0000000000001) from moving the rank up by one. */
    double x = p / 100.0 * (double)h->total;
    double r = ceil(x - x * 1e-12);
    uint64_t rank = r < 1.0 ? 1 : (r >= (double)h->total ? h->total : (uint64_t)r);
    return hist_value_at_rank(h, rank);
}

double hist_value_at_rank(const hist *h, uint64_t rank)
{
    if (h->total == 0)
        return 0.0;
    if (rank < 1)
        rank = 1;
    if (rank > h->total)
        rank = h->total;
    /* The first and last ranks are the extremes, which are kept exactly: no bucket midpoint. */
    if (rank == 1)
        return (double)h->min;
    if (rank == h->total)
        return (double)h->max;
    uint64_t cum = 0;
    size_t idx = 0;
    for (; idx < SLOTS; idx++) {
        cum += h->counts[idx];
        if (cum >= rank)
            break;
    }
    double v = bucket_mid(idx);
    if (v < (double)h->min)
        v = (double)h->min;
    if (v > (double)h->max)
        v = (double)h->max;
    return v;
}

size_t hist_bucket_slots(void)
{
    return SLOTS;
}

uint64_t hist_bucket_count(const hist *h, size_t idx)
{
    return idx < SLOTS ? h->counts[idx] : 0;
}

size_t hist_bucket_index(uint64_t v)
{
    return v > HIST_MAX_NS ? SLOTS : bucket_of(v);
}

/* Slots of the scheme with S sub-bucket bits: the index of HIST_MAX_NS is ((MAX_EXP - S) << S) + 2^S. */
static size_t scheme_slots(unsigned s)
{
    return ((size_t)(MAX_EXP - s) << s) + ((size_t)1 << s) + 1;
}

/* The layout comment above, run backwards, for any S: one formula for every scheme a report may
 * hold, so an old table is read with exactly the edges it was written with. */
static void scheme_range(unsigned s, size_t idx, uint64_t *lo, uint64_t *hi)
{
    if (idx < ((size_t)2 << s)) {
        *lo = *hi = idx;
        return;
    }
    unsigned shift = (unsigned)(idx >> s) - 1u;
    uint64_t sub = (uint64_t)idx - ((uint64_t)shift << s);
    *lo = sub << shift;
    *hi = *lo + ((1ULL << shift) - 1);
    /* The last bucket starts at HIST_MAX_NS; values above it are out of range, not in it. */
    if (*hi > HIST_MAX_NS)
        *hi = HIST_MAX_NS;
}

void hist_bucket_range(size_t idx, uint64_t *lo, uint64_t *hi)
{
    if (idx >= SLOTS) {
        *lo = *hi = 0;
        return;
    }
    scheme_range(HIST_SUB_BITS, idx, lo, hi);
}

size_t hist_scheme_slots(int sub_bits)
{
    if (sub_bits < HIST_SCHEME_BITS_MIN || sub_bits > HIST_SCHEME_BITS_MAX)
        return 0;
    return scheme_slots((unsigned)sub_bits);
}

int hist_scheme_bucket_range(int sub_bits, size_t idx, uint64_t *lo, uint64_t *hi)
{
    if (idx >= hist_scheme_slots(sub_bits)) {
        *lo = *hi = 0;
        return LL_ERANGE;
    }
    scheme_range((unsigned)sub_bits, idx, lo, hi);
    return 0;
}

int hist_add_bucket(hist *h, size_t idx, uint64_t n)
{
    if (idx >= SLOTS)
        return LL_ERANGE;
    uint64_t total;
    if (__builtin_add_overflow(h->total, n, &total))
        return LL_ERANGE;
    h->counts[idx] += n;
    h->total = total;
    return 0;
}

void hist_set_extremes(hist *h, uint64_t min, uint64_t max, uint64_t out_of_range)
{
    /* With nothing held, keep the empty sentinels: a serialised empty histogram says min = max = 0,
     * and taking that literally would pin min at 0 for every value recorded afterwards. */
    if (h->total) {
        h->min = min;
        h->max = max;
    }
    h->out_of_range = out_of_range;
}
