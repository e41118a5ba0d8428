/*
 * source.c - request contents (config -> source -> scheduler): token counts from seeded GSL
 * normals, prompts cut from the corpus's prose (corpus.h): the shared prefix (one of prefix_count
 * passages), a per-request unique marker, then consecutive words from a seeded random sentence,
 * as many as the asked length (uncalibrated: one word per token; calibrated: words while their
 * measured costs fit). Or dataset records (dataset.h) in the configured order.
 * Invariant: every prompt fits the buffer allocated at creation; source_next allocates nothing.
 */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/corpus.h"
#include "llmload/dataset.h"
#include "llmload/error.h"
#include "llmload/source.h"

/* "id" + 16 hex digits: unique within a run and different between seeds, so a prefix cache
 * cannot reuse anything past the shared prefix. */
#define UNIQUE_LEN 18

/* A normal is unbounded, but the buffer is not: draws are truncated at mean + 8 stdev (a
 * probability of about 1e-15 per draw) so the largest prompt, and source_max_prompt_bytes, is a
 * sound bound computed once rather than prompt_tokens_max words (1,000,000 by default). */
#define SIGMA_CUT 8.0
#define SOURCE_MAX_PROMPT_TOKENS 10000000L /* the config's own cap on any token count */

struct source {
    gsl_rng *rng;                /* lengths, window starts, dataset order */
    gsl_rng *pick;               /* which prefix: its own stream, so prefix_count leaves lengths alone */
    double p_mean, p_sd, o_mean, o_sd;
    long p_lo, p_hi, o_lo, o_hi; /* effective bounds of the two draws */
    long prefix_tokens;
    long turn_pt;                /* config_data.turn_prompt_tokens (0: none): turns 2.. of a session */
    corpus *text;                /* synthetic: the prose prompts are cut from */
    double *cum;                 /* calibrated: cum[k] = cost of pieces 0..k-1 (n + 1); NULL: one per piece */
    double min_cost;             /* calibrated: the cheapest piece */
    char *prefixes;              /* the prefix_count prefixes back to back, each with its trailing space */
    size_t *prefix_off, *prefix_len;
    double *prefix_cost;         /* calibrated: what each prefix costs */
    size_t n_prefixes;
    char *buf;                   /* the current request's prompt + NUL */
    size_t max_bytes;
    uint64_t salt, counter;
    const source_costs *costs;   /* borrowed (config_data.costs); NULL: one token per word */
    const dataset *ds;           /* --data FILE: prompts from it instead of synthetic ones */
    dataset *own_ds;             /* ds when this source loaded it (no shared config_data.dataset) */
    char *rbuf;                  /* a record read back (dataset_buf_bytes) */
    int sampling;                /* config_sampling */
    size_t *order;               /* shuffle: a seeded permutation of the dataset, cycled */
    size_t pos;
};

/* The fixed vocabulary (source.h): 256 words, so one 32-bit draw picks four. Lowercase letters only. */
static const char *const vocab[256] = {
    "the", "of", "and", "to", "in", "is", "was", "for", "on", "that",
    "with", "as", "by", "at", "from", "his", "her", "they", "this", "have",
    "had", "are", "not", "but", "be", "one", "all", "were", "which", "when",
    "there", "can", "an", "their", "more", "would", "will", "some", "what", "about",
    "other", "into", "time", "has", "out", "two", "them", "may", "only", "its",
    "new", "like", "then", "first", "any", "these", "man", "so", "over", "work",
    "also", "now", "made", "most", "well", "after", "see", "way", "people", "who",
    "year", "years", "water", "long", "very", "even", "back", "good", "our", "where",
    "much", "through", "just", "great", "could", "state", "down", "should", "because", "each",
    "those", "three", "day", "same", "world", "use", "used", "know", "between", "own",
    "still", "while", "under", "part", "small", "life", "might", "place", "take", "must",
    "make", "little", "how", "right", "such", "old", "come", "last", "high", "number",
    "every", "public", "line", "house", "around", "name", "end", "since", "found", "another",
    "school", "hand", "give", "light", "side", "point", "again", "city", "thing", "war",
    "kind", "land", "home", "head", "fact", "almost", "family", "large", "group", "government",
    "change", "order", "best", "country", "power", "tell", "whole", "interest", "along", "until",
    "early", "problem", "young", "need", "set", "form", "far", "help", "system", "open",
    "paper", "river", "music", "table", "window", "garden", "market", "bridge", "letter", "morning",
    "evening", "story", "summer", "winter", "spring", "autumn", "forest", "mountain", "valley", "island",
    "ocean", "village", "station", "train", "road", "street", "field", "flower", "stone", "metal",
    "glass", "wood", "cloth", "bread", "apple", "orange", "green", "yellow", "purple", "silver",
    "golden", "quiet", "simple", "strong", "gentle", "bright", "careful", "honest", "happy", "clear",
    "warm", "cold", "fresh", "plain", "round", "square", "north", "south", "east", "west",
    "above", "below", "across", "behind", "beside", "beyond", "inside", "outside", "toward", "within",
    "without", "lamp", "chair", "door", "wall", "floor", "roof", "corner", "circle", "shape",
    "color", "sound", "voice", "word", "page", "book", 
};

const char *source_vocab_word(size_t k)
{
    return k < SOURCE_VOCAB_SIZE ? vocab[k] : "";
}

/* Costs outside this range are a measuring accident, not a tokenizer: clamped so the buffer bound
 * below (words <= tokens / MIN_WORD_COST) stays sound. */
#define MIN_WORD_COST 0.25
#define MAX_WORD_COST 64.0
/* Calibrated prompts skip a word that would overshoot; this many skips end the prompt. */
#define MAX_SKIPS 64

double source_word_cost(const source_costs *k, const char *p, size_t len)
{
    double c = 0;
    for (size_t i = 0; i < len;) {
        if (!corpus_is_word_byte((unsigned char)p[i])) {
            c += k->punct;
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && corpus_is_word_byte((unsigned char)p[i]))
            i++;
        size_t n = i - start;
        c += n < SOURCE_RUN_CLASSES ? k->run[n] : k->run[SOURCE_RUN_CLASSES - 1] * (double)n / (SOURCE_RUN_CLASSES - 1);
    }
    return c < MIN_WORD_COST ? MIN_WORD_COST : c > MAX_WORD_COST ? MAX_WORD_COST : c;
}

void source_costs_derive_words(source_costs *k)
{
    for (size_t i = 0; i < SOURCE_VOCAB_SIZE; i++)
        k->word[i] = source_word_cost(k, vocab[i], strlen(vocab[i]));
}

static double piece_cost(const source *s, size_t k)
{
    return s->cum[k + 1] - s->cum[k];
}

/* What the n pieces from piece i on cost (cycling past the end). */
static double span_cost(const source *s, size_t i, size_t n)
{
    size_t np = corpus_pieces(s->text), rest = n % np;
    double c = (double)(n / np) * s->cum[np];
    return c + (i + rest <= np ? s->cum[i + rest] - s->cum[i] : s->cum[np] - s->cum[i] + s->cum[i + rest - np]);
}

/* The most pieces from piece i on whose cost stays within limit (binary search: costs are > 0). */
static size_t fit_span(const source *s, size_t i, double limit)
{
    if (limit < s->min_cost)
        return 0;
    size_t lo = 0, hi = (size_t)(limit / s->min_cost) + 1; /* span_cost(lo) <= limit < span_cost(hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (span_cost(s, i, mid) <= limit)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Appends corpus words from piece i on to dst, each after a space (none before the first when
 * leading_space is 0): exactly n words uncalibrated; calibrated, words while their costs fit
 * budget (to the nearest token), a word that would overshoot skipped. The run of words that fits
 * whole is one copy of the flat text; only the prompt's last few words, after the first that
 * overshoots, go one by one. Returns the end. */
static char *put_window(const source *s, size_t i, char *dst, double budget, long n, int leading_space,
                        double *spent)
{
    size_t np = corpus_pieces(s->text);
    size_t take = s->cum ? fit_span(s, i, budget + 0.5) : (size_t)n;
    double acc = s->cum ? span_cost(s, i, take) : (double)take;
    if (take > 0) {
        if (leading_space)
            *dst++ = ' ';
        dst += corpus_copy(s->text, i, take, dst);
    }
    size_t taken = take;
    int skips = 0;
    /* Piece i + take overshoots (or the budget is spent): the same rule, word by word, from it. */
    for (size_t k = (i + take) % np; s->cum && budget - acc >= s->min_cost - 0.5 && skips < MAX_SKIPS;
         k = k + 1 == np ? 0 : k + 1) {
        double c = piece_cost(s, k);
        if (acc + c > budget + 0.5) {
            skips++;
            continue;
        }
        size_t len;
        const char *w = corpus_piece(s->text, k, &len);
        if (leading_space || taken > 0)
            *dst++ = ' ';
        memcpy(dst, w, len);
        dst += len;
        acc += c;
        taken++;
    }
    *spent = acc;
    return dst;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* gsl's mt19937 keeps 32 bits of the seed: hash all 64 so nearby seeds do not collide in a pattern. */
static unsigned long rng_seed(uint64_t seed, uint64_t stream)
{
    unsigned long s = (unsigned long)(splitmix64(seed ^ stream) & 0xffffffffUL);
    return s ? s : 1;
}

static long draw(gsl_rng *rng, double mean, double sd, long lo, long hi)
{
    double x = mean + (sd > 0 ? gsl_ran_gaussian(rng, sd) : 0.0);
    if (x < (double)lo)
        x = (double)lo;
    if (x > (double)hi)
        x = (double)hi;
    return lround(x);
}

static int check_counts(const char *what, double mean, double sd, long lo, long hi, char *err,
                        size_t errlen)
{
    if (!isfinite(mean) || !isfinite(sd) || mean < 0 || sd < 0 || lo < 0 || hi < 1 || lo > hi) {
        snprintf(err, errlen,
                 "data spec: %s needs a mean and stdev >= 0 and 0 <= min <= max, max >= 1 "
                 "(got %g, %g, %ld, %ld)",
                 what, mean, sd, lo, hi);
        return LL_EUSAGE;
    }
    return 0;
}

/* The largest value a draw can give after clamping and the SIGMA_CUT truncation. */
static long upper_bound(double mean, double sd, long lo, long hi)
{
    double top = ceil(mean + SIGMA_CUT * sd);
    if (top < (double)lo)
        return lo;
    return top < (double)hi ? (long)top : hi;
}

/* Dataset prompts in the configured order: a seeded shuffle (default) or file order, repeated
 * when the run outlasts the file, or independent seeded draws. The same seed replays the same
 * sequence, and different benchmarks of a sweep see the same prompts. */
static int source_create_dataset(source **out, const config_data *d, uint64_t seed, char *err, size_t errlen)
{
    source *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    if (d->dataset) {
        s->ds = d->dataset;
    } else {
        int rc = dataset_load(&s->own_ds, d->path, (long)d->output_tokens, d->max_records, err, errlen);
        if (rc != 0) {
            free(s);
            return rc;
        }
        s->ds = s->own_ds;
    }
    size_t n = dataset_size(s->ds);
    s->sampling = d->sampling;
    s->rng = gsl_rng_alloc(gsl_rng_mt19937);
    s->rbuf = malloc(dataset_buf_bytes(s->ds));
    if (s->sampling == CONFIG_SAMPLING_SHUFFLE)
        s->order = malloc(n * sizeof *s->order);
    if (!s->rng || !s->rbuf || (s->sampling == CONFIG_SAMPLING_SHUFFLE && !s->order)) {
        source_destroy(s);
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    gsl_rng_set(s->rng, rng_seed(seed, 0x6461746173ULL));
    if (s->order) {
        for (size_t i = 0; i < n; i++)
            s->order[i] = i;
        gsl_ran_shuffle(s->rng, s->order, n, sizeof *s->order);
    }
    s->max_bytes = dataset_max_prompt_bytes(s->ds);
    *out = s;
    return 0;
}

/* The piece costs under s->costs as running sums, and the cheapest piece. */
static int cost_pieces(source *s)
{
    size_t np = corpus_pieces(s->text);
    s->cum = malloc((np + 1) * sizeof *s->cum);
    if (!s->cum)
        return LL_ENOMEM;
    s->min_cost = MAX_WORD_COST;
    s->cum[0] = 0;
    for (size_t i = 0; i < np; i++) {
        size_t len;
        const char *w = corpus_piece(s->text, i, &len);
        double c = source_word_cost(s->costs, w, len);
        s->cum[i + 1] = s->cum[i] + c;
        if (c < s->min_cost)
            s->min_cost = c;
    }
    return 0;
}

/* The prefixes: passages starting at sentences spread evenly over the text from a seeded place,
 * so K prefixes are K different passages (a block-wise cache shares nothing between them). */
static int build_prefixes(source *s, size_t k, uint64_t seed)
{
    s->n_prefixes = k;
    s->prefix_off = calloc(k, sizeof *s->prefix_off);
    s->prefix_len = calloc(k, sizeof *s->prefix_len);
    s->prefix_cost = calloc(k, sizeof *s->prefix_cost);
    if (!s->prefix_off || !s->prefix_len || !s->prefix_cost)
        return LL_ENOMEM;
    if (s->prefix_tokens == 0)
        return 0;
    /* Uncalibrated: prefix_tokens words; calibrated: at most (prefix_tokens + 0.5) / min_cost. */
    size_t words = s->cum ? (size_t)(((double)s->prefix_tokens + 0.5) / s->min_cost) + 1 : (size_t)s->prefix_tokens;
    size_t one = corpus_window_bytes(s->text, words + MAX_SKIPS) + 1;
    s->prefixes = malloc(one * k);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!s->prefixes || !r) {
        if (r)
            gsl_rng_free(r);
        return LL_ENOMEM;
    }
    gsl_rng_set(r, rng_seed(seed, 0x70726566697800ULL));
    size_t ns = corpus_sentences(s->text);
    size_t base = gsl_rng_uniform_int(r, ns);
    gsl_rng_free(r);
    char *p = s->prefixes;
    for (size_t j = 0; j < k; j++) {
        size_t sent = (base + j * ns / k) % ns;
        char *e = put_window(s, corpus_sentence(s->text, sent), p, (double)s->prefix_tokens, s->prefix_tokens, 0,
                             &s->prefix_cost[j]);
        *e++ = ' ';
        s->prefix_off[j] = (size_t)(p - s->prefixes);
        s->prefix_len[j] = (size_t)(e - p);
        p = e;
    }
    return 0;
}

int source_create(source **out, const config_data *d, uint64_t seed, char *err, size_t errlen)
{
    *out = NULL;
    if (d->path)
        return source_create_dataset(out, d, seed, err, errlen);
    if (check_counts("prompt_tokens", d->prompt_tokens, d->prompt_tokens_stdev, d->prompt_tokens_min,
                     d->prompt_tokens_max, err, errlen) ||
        check_counts("output_tokens", d->output_tokens, d->output_tokens_stdev, d->output_tokens_min,
                     d->output_tokens_max, err, errlen))
        return LL_EUSAGE;
    if (d->prefix_tokens < 0 || d->prefix_tokens >= d->prompt_tokens_max) {
        snprintf(err, errlen, "data spec: prefix_tokens %ld must be from 0 to prompt_tokens_max - 1 (%ld)",
                 d->prefix_tokens, d->prompt_tokens_max - 1);
        return LL_EUSAGE;
    }
    long k = d->prefix_count < 1 ? 1 : d->prefix_count;
    if (k > 1000 || (k > 1 && d->prefix_tokens == 0)) {
        snprintf(err, errlen, "data spec: prefix_count %ld must be from 1 to 1000, and above 1 only with "
                              "prefix_tokens", d->prefix_count);
        return LL_EUSAGE;
    }

    source *s = calloc(1, sizeof *s);
    if (!s)
        return LL_ENOMEM;
    s->p_mean = d->prompt_tokens;
    s->p_sd = d->prompt_tokens_stdev;
    s->o_mean = d->output_tokens;
    s->o_sd = d->output_tokens_stdev;
    s->prefix_tokens = d->prefix_tokens;
    s->turn_pt = d->turn_prompt_tokens;
    /* A prompt holds the prefix and the unique marker at least: raise the floor to fit them. */
    s->p_lo = d->prompt_tokens_min;
    if (s->p_lo < d->prefix_tokens + 1)
        s->p_lo = d->prefix_tokens + 1;
    s->p_hi = upper_bound(s->p_mean, s->p_sd, s->p_lo, d->prompt_tokens_max);
    s->o_lo = d->output_tokens_min < 1 ? 1 : d->output_tokens_min;
    s->o_hi = upper_bound(s->o_mean, s->o_sd, s->o_lo, d->output_tokens_max);
    s->salt = splitmix64(seed);

    /* The config caps counts at 10,000,000; a config_data built by hand must not overflow the
     * buffer size computed below either. */
    if (s->p_hi > SOURCE_MAX_PROMPT_TOKENS) {
        snprintf(err, errlen, "data spec: prompts could reach %ld words, over the limit of %ld", s->p_hi,
                 SOURCE_MAX_PROMPT_TOKENS);
        source_destroy(s);
        return LL_EUSAGE;
    }
    s->rng = gsl_rng_alloc(gsl_rng_mt19937);
    s->pick = gsl_rng_alloc(gsl_rng_mt19937);
    if (!s->rng || !s->pick || corpus_create(&s->text) != 0)
        goto nomem;
    gsl_rng_set(s->rng, rng_seed(seed, 0));
    gsl_rng_set(s->pick, rng_seed(seed, 0x7069636bULL));
    s->costs = d->costs;
    if (s->costs && cost_pieces(s) != 0)
        goto nomem;
    if (build_prefixes(s, (size_t)k, seed) != 0)
        goto nomem;
    /* Words after the marker: uncalibrated p_hi - prefix - 1; calibrated, the budget is at most
     * p_hi (the overhead is a count, clamped at 0) and a word is added while the total stays within
     * budget + 0.5: (p_hi + 0.5) / min_cost words. Skipped words lie inside the window too. */
    size_t filler = s->costs ? (size_t)(((double)s->p_hi + 0.5) / s->min_cost) + 1
                             : (size_t)(s->p_hi - s->prefix_tokens - 1);
    size_t longest = 0;
    for (size_t j = 0; j < s->n_prefixes; j++)
        if (s->prefix_len[j] > longest)
            longest = s->prefix_len[j];
    s->max_bytes = longest + UNIQUE_LEN + corpus_window_bytes(s->text, filler + MAX_SKIPS);
    s->buf = malloc(s->max_bytes + 1);
    if (!s->buf)
        goto nomem;
    *out = s;
    return 0;
nomem:
    source_destroy(s);
    return LL_ENOMEM;
}

void source_destroy(source *s)
{
    if (!s)
        return;
    if (s->rng)
        gsl_rng_free(s->rng);
    if (s->pick)
        gsl_rng_free(s->pick);
    corpus_destroy(s->text);
    free(s->cum);
    free(s->prefixes);
    free(s->prefix_off);
    free(s->prefix_len);
    free(s->prefix_cost);
    free(s->buf);
    free(s->order);
    free(s->rbuf);
    dataset_destroy(s->own_ds);
    free(s);
}

static int next_record(source *s, source_request *out)
{
    size_t n = dataset_size(s->ds), i;
    switch (s->sampling) {
    case CONFIG_SAMPLING_SEQUENTIAL: i = s->pos++ % n; break;
    case CONFIG_SAMPLING_RANDOM: i = (size_t)gsl_rng_uniform_int(s->rng, n); break;
    default: i = s->order[s->pos++ % n]; break;
    }
    dataset_entry e;
    int rc = dataset_read(s->ds, i, s->rbuf, &e);
    if (rc != 0)
        return rc;
    out->prompt = e.prompt;
    out->prompt_len = e.prompt_len;
    out->prompt_tokens = e.prompt_tokens;
    out->max_tokens = e.output_tokens;
    out->prompt_tokens_asked = e.prompt_tokens;
    out->more_turns = e.more_turns;
    out->n_more_turns = e.n_more_turns;
    out->from_dataset = 1;
    return 0;
}

static int next_synthetic(source *s, source_request *out, long forced_pt);

int source_next(source *s, source_request *out)
{
    return next_synthetic(s, out, 0);
}

int source_next_turn(source *s, source_request *out)
{
    long pt = s->turn_pt;
    if (pt > 0 && pt < s->p_lo)
        pt = s->p_lo;
    if (pt > s->p_hi)
        pt = s->p_hi;
    return next_synthetic(s, out, s->ds ? 0 : pt);
}

int source_multi_turn(const source *s)
{
    return s->ds ? dataset_multi_turn(s->ds) : 0;
}

/* A synthetic prompt (or the dataset's next record); forced_pt > 0 sets its length (a session's
 * later turn, config_data.turn_prompt_tokens). */
static int next_synthetic(source *s, source_request *out, long forced_pt)
{
    if (s->ds)
        return next_record(s, out);
    long pt = draw(s->rng, s->p_mean, s->p_sd, s->p_lo, s->p_hi);
    if (forced_pt > 0)
        pt = forced_pt; /* drawn all the same, so the run's later draws do not shift */
    long ot = draw(s->rng, s->o_mean, s->o_sd, s->o_lo, s->o_hi);
    size_t start = corpus_sentence(s->text, (size_t)gsl_rng_uniform_int(s->rng, corpus_sentences(s->text)));
    size_t j = s->n_prefixes > 1 ? (size_t)gsl_rng_uniform_int(s->pick, s->n_prefixes) : 0;
    memcpy(s->buf, s->prefixes ? s->prefixes + s->prefix_off[j] : "", s->prefix_len[j]);
    char *p = s->buf + s->prefix_len[j];
    static const char hex[] = "0123456789abcdef";
    /* splitmix64 is a bijection, so ids stay unique, and they differ from the first character:
     * consecutive prompts share nothing after the prefix that a block-wise cache could reuse. */
    uint64_t id = splitmix64(s->salt + s->counter++);
    *p++ = 'i';
    *p++ = 'd';
    for (int i = 15; i >= 0; i--)
        *p++ = hex[(id >> (i * 4)) & 0xf];
    double spent;
    if (s->costs) {
        double overhead = s->costs->overhead > 0 ? s->costs->overhead : 0;
        p = put_window(s, start, p, (double)pt - overhead - s->prefix_cost[j], 0, 1, &spent);
    } else {
        p = put_window(s, start, p, 0, pt - s->prefix_tokens - 1, 1, &spent);
    }
    *p = '\0';
    out->prompt = s->buf;
    out->prompt_len = (size_t)(p - s->buf);
    out->prompt_tokens = pt;
    out->max_tokens = ot;
    out->prompt_tokens_asked = pt;
    out->more_turns = NULL;
    out->n_more_turns = 0;
    out->from_dataset = 0;
    return 0;
}

size_t source_max_prompt_bytes(const source *s)
{
    return s->max_bytes;
}
