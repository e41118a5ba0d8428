/*
 * promtext.h - a parser of the Prometheus text exposition format 0.0.4 (what an inference server's
 * /metrics answers), for the server-metrics scraper (scrape.h), off the request path.
 *
 * Whole-buffer and allocation-free: promtext_parse walks the bytes once and hands each sample to a
 * callback as slices of the caller's buffer (picohttpparser's shape), with the family's TYPE and
 * the sample's role in it (a histogram's _bucket/_sum/_count, a summary's quantile/_sum/_count).
 * Every byte is checked; a line that breaks the grammar is counted and skipped, never fatal, so one
 * odd exporter line cannot hide the rest of the scrape.
 */
#ifndef LLMLOAD_PROMTEXT_H
#define LLMLOAD_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

/* Labels one sample may carry; a line with more is counted bad (DCGM's run to about ten). */
#define PROMTEXT_MAX_LABELS 32
/* Longest value or timestamp token (digits of a double written in full fit easily). */
#define PROMTEXT_MAX_NUMBER 64

typedef enum promtext_type {
    PROMTEXT_UNTYPED = 0, /* no TYPE line, or "untyped" */
    PROMTEXT_COUNTER,
    PROMTEXT_GAUGE,
    PROMTEXT_HISTOGRAM,
    PROMTEXT_SUMMARY
} promtext_type;

/* What one sample line is within its family. */
typedef enum promtext_role {
    PROMTEXT_VALUE = 0, /* the value of a counter, gauge or untyped series */
    PROMTEXT_BUCKET,    /* histogram <family>_bucket{le="..."}: cumulative count; `bound` is le */
    PROMTEXT_QUANTILE,  /* summary <family>{quantile="..."}; `bound` is the quantile */
    PROMTEXT_SUM,       /* histogram or summary <family>_sum */
    PROMTEXT_COUNT      /* histogram or summary <family>_count */
} promtext_role;

/* A slice of the parsed buffer (not NUL-terminated). */
typedef struct promtext_str {
    const char *p;
    size_t n;
} promtext_str;

typedef struct promtext_label {
    promtext_str name;
    promtext_str value; /* as written: escapes (\\ \" \n) left in; promtext_unescape decodes */
} promtext_label;

/* One sample. Every slice is borrowed from the buffer given to promtext_parse, valid until the
 * caller changes or frees it; the struct itself is valid only during the callback. */
typedef struct promtext_sample {
    promtext_str name;    /* as written: "vllm:time_to_first_token_seconds_bucket" */
    promtext_str family;  /* the TYPE line's name it belongs to, or name when none matches */
    promtext_type type;   /* of the family */
    promtext_role role;
    double bound;         /* le or quantile (BUCKET, QUANTILE); 0 otherwise */
    double value;         /* may be NaN or +-Inf */
    int has_timestamp;
    int64_t timestamp_ms;
    size_t n_labels;
    promtext_label labels[PROMTEXT_MAX_LABELS];
} promtext_sample;

typedef struct promtext_stats {
    uint64_t lines;       /* every line, blank and comment included */
    uint64_t samples;     /* handed to the callback */
    uint64_t bad;         /* skipped for breaking the grammar */
    uint64_t first_bad;   /* 1-based line number of the first bad line; 0 if none */
} promtext_stats;

/* Return 0 to go on, non-zero to stop the parse (promtext_parse then returns that value). */
typedef int (*promtext_cb)(void *ud, const promtext_sample *s);

/* Parses buf[0..len) (no NUL needed; a last line without '\n' counts). st (required) is zeroed
 * first, then filled. Returns 0, or the callback's non-zero stop value. Allocates nothing. */
int promtext_parse(const char *buf, size_t len, promtext_cb cb, void *ud, promtext_stats *st);

/* Decodes a label value's escapes into out (cap bytes, always NUL-terminated when cap > 0).
 * Returns the decoded length (which may exceed cap - 1: then out holds a truncated prefix). */
size_t promtext_unescape(promtext_str v, char *out, size_t cap);

/* The label named name (NUL-terminated), or NULL. */
const promtext_label *promtext_label_get(const promtext_sample *s, const char *name);

/* 1 when the slice equals the NUL-terminated string. */
int promtext_str_eq(promtext_str a, const char *s);

/* "counter", "gauge", "histogram", "summary", "untyped"; static strings. */
const char *promtext_type_name(promtext_type t);

#endif
