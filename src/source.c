/*
 * source.c - synthetic request contents (config -> source -> scheduler): token counts from
 * seeded GSL normals, prompts of exactly that many whitespace-separated words (uncalibrated) or of
 * that many tokens by the target's measured word costs (calibrate.h): the shared prefix, one
 * per-request unique word, then words from a fixed vocabulary of plain lowercase words, so a
 * prompt never needs JSON escaping.
 * Invariant: every prompt fits the buffer allocated at creation; source_next allocates nothing.
 */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/dataset.h"
#include "llmload/error.h"
#include "llmload/source.h"

/* 256 words, so one 32-bit draw picks four. Lowercase letters only (no escaping, no quoting). */
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
#define VOCAB_MAX_LEN 10 /* longest word above ("government"); checked by the tests */
#define WORD_SLOT 16      /* " word" and its NUL padding */
_Static_assert(WORD_SLOT >= VOCAB_MAX_LEN + 2, "a word slot holds the space, the word and a NUL");

/* "id" + 16 hex digits: unique within a run and different between seeds, so a prefix cache
 * cannot reuse anything past the shared prefix. */
#define UNIQUE_LEN 18

/* A normal is unbounded, but the buffer is not: draws are truncated at mean + 8 stdev (a
 * probability of about 1e-15 per draw) so the largest prompt, and source_max_prompt_bytes, is a
 * sound bound computed once rather than prompt_tokens_max words (1,000,000 by default). */
#define SIGMA_CUT 8.0
#define SOURCE_MAX_PROMPT_TOKENS 10000000L /* the config's own cap on any token count */

struct source {
    gsl_rng *rng;
    double p_mean, p_sd, o_mean, o_sd;
    long p_lo, p_hi, o_lo, o_hi; /* effective bounds of the two draws */
    long prefix_tokens;
    long turn_pt;                /* config_data.turn_prompt_tokens (0: none) */
    char *buf;                   /* prefix (kept) + the current request's words + NUL */
    size_t prefix_len;           /* bytes of the prefix, its trailing space included */
    size_t max_bytes;
    uint64_t salt, counter;
    dataset *ds;                 /* --data FILE: prompts from it instead of synthetic ones */
    size_t *order;               /* a seeded shuffle of the dataset, cycled */
    size_t pos;
    /* Each vocabulary word as " word", NUL-padded to a fixed width so that a prompt is built
     * with one fixed-size copy per word (buf has WORD_SLOT bytes of slack for the overrun). */
    char words[256][WORD_SLOT];
    uint8_t word_len[256]; /* with the leading space */
    const source_costs *costs; /* borrowed (config_data.costs); NULL: one token per word */
    double prefix_cost;        /* calibrated: what the shared prefix costs */
    double min_cost;           /* calibrated: the cheapest word */
};

/* Costs outside this range are a measuring accident, not a tokenizer: clamped so the buffer bound
 * below (words <= tokens / MIN_WORD_COST) stays sound. */
#define MIN_WORD_COST 0.25
#define MAX_WORD_COST 64.0
/* Calibrated prompts skip a drawn word that would overshoot; this many skips end the prompt. */
#define MAX_SKIPS 64

const char *source_vocab_word(size_t k)
{
    return k < SOURCE_VOCAB_SIZE ? vocab[k] : "";
}

static double word_cost(const source *s, unsigned k)
{
    double c = s->costs->word[k];
    return c < MIN_WORD_COST ? MIN_WORD_COST : c > MAX_WORD_COST ? MAX_WORD_COST : c;
}

/* Calibrated filler: random vocabulary words while their costs fit budget (to the nearest token);
 * a word that would overshoot is skipped and another drawn. Same buffer slack rule as put_words. */
static char *put_words_costed(const source *s, gsl_rng *rng, char *dst, double budget, int leading_space,
                              double *spent)
{
    double acc = 0;
    int skips = 0;
    uint32_t bits = 0;
    for (long i = 0; budget - acc >= s->min_cost - 0.5 && skips < MAX_SKIPS; i++) {
        if ((i & 3) == 0)
            bits = (uint32_t)gsl_rng_get(rng);
        unsigned k = bits & 0xff;
        bits >>= 8;
        double c = word_cost(s, k);
        if (acc + c > budget + 0.5) {
            skips++;
            continue;
        }
        int skip = !(leading_space || acc > 0);
        memcpy(dst, s->words[k] + skip, WORD_SLOT - 1);
        dst += s->word_len[k] - skip;
        acc += c;
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

/* Appends n vocabulary words, each preceded by a space when dst is not at the prompt's start.
 * Writes up to WORD_SLOT bytes past the returned end (the caller's buffer has that slack). */
static char *put_words(const source *s, gsl_rng *rng, char *dst, long n, int leading_space)
{
    uint32_t bits = 0;
    for (long i = 0; i < n; i++) {
        if ((i & 3) == 0)
            bits = (uint32_t)gsl_rng_get(rng);
        unsigned k = bits & 0xff;
        bits >>= 8;
        int skip = !(leading_space || i > 0); /* the prompt's first word has no space */
        memcpy(dst, s->words[k] + skip, WORD_SLOT - 1);
        dst += s->word_len[k] - skip;
    }
    return dst;
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

/* Dataset prompts in a seeded random order, repeated when the run outlasts the file: the same seed
 * replays the same sequence, and different benchmarks of a sweep see the same prompts. */
static int source_create_dataset(source **out, const config_data *d, uint64_t seed, char *err, size_t errlen)
{
    source *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    int rc = dataset_load(&s->ds, d->path, (long)d->output_tokens, err, errlen);
    if (rc != 0) {
        free(s);
        return rc;
    }
    size_t n = dataset_size(s->ds);
    s->order = malloc(n * sizeof *s->order);
    s->rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!s->order || !s->rng) {
        source_destroy(s);
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    gsl_rng_set(s->rng, rng_seed(seed, 0x6461746173ULL));
    for (size_t i = 0; i < n; i++)
        s->order[i] = i;
    gsl_ran_shuffle(s->rng, s->order, n, sizeof *s->order);
    s->max_bytes = dataset_max_prompt_bytes(s->ds);
    *out = s;
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

    source *s = calloc(1, sizeof *s);
    if (!s)
        return LL_ENOMEM;
    gsl_rng *prefix_rng = NULL;
    s->p_mean = d->prompt_tokens;
    s->p_sd = d->prompt_tokens_stdev;
    s->o_mean = d->output_tokens;
    s->o_sd = d->output_tokens_stdev;
    s->prefix_tokens = d->prefix_tokens;
    s->turn_pt = d->turn_prompt_tokens;
    /* A prompt holds the prefix and the unique word at least: raise the floor to fit them. */
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
    prefix_rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!s->rng || !prefix_rng)
        goto nomem;
    gsl_rng_set(s->rng, rng_seed(seed, 0));
    /* Its own stream, so changing prefix_tokens does not change the requests' lengths. */
    gsl_rng_set(prefix_rng, rng_seed(seed, 0x70726566697800ULL));

    size_t filler = (size_t)(s->p_hi - s->prefix_tokens - 1);
    size_t prefix_words = (size_t)s->prefix_tokens;
    s->costs = d->costs;
    if (s->costs) {
        /* Counts are tokens: a prompt holds at most tokens / (cheapest word) words. */
        s->min_cost = MAX_WORD_COST;
        for (unsigned k = 0; k < 256; k++)
            if (word_cost(s, k) < s->min_cost)
                s->min_cost = word_cost(s, k);
        /* A word is added while the total stays within budget + 0.5, and the budget is at most
         * p_hi (the overhead is a count, clamped at 0): (p_hi + 0.5) / min_cost words, rounded up. */
        filler = (size_t)(((double)s->p_hi + 0.5) / s->min_cost) + 2;
        prefix_words = (size_t)(((double)s->prefix_tokens + 0.5) / s->min_cost) + 2;
    }
    s->max_bytes = prefix_words * (VOCAB_MAX_LEN + 1) + UNIQUE_LEN + filler * (VOCAB_MAX_LEN + 1);
    for (unsigned k = 0; k < 256; k++) {
        size_t n = strlen(vocab[k]);
        s->words[k][0] = ' ';
        memcpy(s->words[k] + 1, vocab[k], n);
        s->word_len[k] = (uint8_t)(n + 1);
    }
    s->buf = malloc(s->max_bytes + 1 + WORD_SLOT);
    if (!s->buf)
        goto nomem;
    char *end = s->costs ? put_words_costed(s, prefix_rng, s->buf, (double)s->prefix_tokens, 0, &s->prefix_cost)
                         : put_words(s, prefix_rng, s->buf, s->prefix_tokens, 0);
    if (end > s->buf)
        *end++ = ' ';
    s->prefix_len = (size_t)(end - s->buf);
    /* Now exact for the prefix, which every prompt carries whole. */
    s->max_bytes = s->prefix_len + UNIQUE_LEN + filler * (VOCAB_MAX_LEN + 1);
    gsl_rng_free(prefix_rng);
    *out = s;
    return 0;
nomem:
    if (prefix_rng)
        gsl_rng_free(prefix_rng);
    source_destroy(s);
    return LL_ENOMEM;
}

void source_destroy(source *s)
{
    if (!s)
        return;
    if (s->rng)
        gsl_rng_free(s->rng);
    free(s->buf);
    free(s->order);
    dataset_destroy(s->ds);
    free(s);
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

static int next_synthetic(source *s, source_request *out, long forced_pt)
{
    if (s->ds) {
        const dataset_entry *e = dataset_at(s->ds, s->order[s->pos++ % dataset_size(s->ds)]);
        out->prompt = e->prompt;
        out->prompt_len = e->prompt_len;
        out->prompt_tokens = e->prompt_tokens;
        out->max_tokens = e->output_tokens;
        out->prompt_tokens_asked = e->prompt_tokens;
        out->entry = e;
        return 0;
    }
    long pt = draw(s->rng, s->p_mean, s->p_sd, s->p_lo, s->p_hi);
    if (forced_pt > 0)
        pt = forced_pt; /* drawn all the same, so the run's later draws do not shift */
    long ot = draw(s->rng, s->o_mean, s->o_sd, s->o_lo, s->o_hi);
    char *p = s->buf + s->prefix_len;
    static const char hex[] = "0123456789abcdef";
    /* splitmix64 is a bijection, so ids stay unique, and they differ from the first character:
     * consecutive prompts share nothing after the prefix that a block-wise cache could reuse. */
    uint64_t id = splitmix64(s->salt + s->counter++);
    *p++ = 'i';
    *p++ = 'd';
    for (int i = 15; i >= 0; i--)
        *p++ = hex[(id >> (i * 4)) & 0xf];
    if (s->costs) {
        double spent;
        double overhead = s->costs->overhead > 0 ? s->costs->overhead : 0;
        p = put_words_costed(s, s->rng, p, (double)pt - overhead - s->prefix_cost, 1, &spent);
    } else {
        p = put_words(s, s->rng, p, pt - s->prefix_tokens - 1, 1);
    }
    *p = '\0';
    out->prompt = s->buf;
    out->prompt_len = (size_t)(p - s->buf);
    out->prompt_tokens = pt;
    out->max_tokens = ot;
    out->prompt_tokens_asked = pt;
    out->entry = NULL;
    return 0;
}

int source_multi_turn(const source *s)
{
    if (!s->ds)
        return 0;
    for (size_t i = 0; i < dataset_size(s->ds); i++)
        if (dataset_at(s->ds, i)->n_more_turns)
            return 1;
    return 0;
}

size_t source_max_prompt_bytes(const source *s)
{
    return s->max_bytes;
}
