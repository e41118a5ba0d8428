/*
 * search.h - the SLO search (`--schedule slo-search --slo SPEC`): which rate, or how many concurrent
 * streams, to probe next, decided from the verdicts of the probes run so far (gate -> search ->
 * the runner in cmd_run.c, which only runs what it is told). No I/O, no clock, no report: the unit
 * tests drive it with made-up verdicts.
 *
 * The rule (docs/gate.md "SLO search"): probe the start point (the throughput point's completed
 * rate; for streams, 1); while nothing has passed, halve; while nothing has failed, double (up to
 * the highest allowed); once the highest passing and the lowest failing probe bracket the answer,
 * estimate where the broken rules' margins, interpolated linearly between the two, reach zero (the
 * lowest such crossing). When that estimate lies within the precision of the end the last probe
 * moved, probe one step of 0.9 x the precision from that end (which closes the bracket if the
 * estimate is right); otherwise probe the estimate, kept 20% of the bracket away from either end;
 * with no estimate (or a failing end more than twice past its threshold), bisect. Stop when the
 * bracket is within the precision (relative to its passing end; for streams, adjacent whole
 * numbers), when it cannot be bracketed, or after SEARCH_MAX_PROBES probes. A probe whose verdict
 * is within noise is run once more, longer; if still undecided its point verdict steers the search
 * and the report calls it indeterminate.
 */
#ifndef LLMLOAD_SEARCH_H
#define LLMLOAD_SEARCH_H

#include <stddef.h>
#include <stdio.h>

#define SEARCH_MAX_PROBES 12 /* reruns of undecided probes included */
#define SEARCH_MAX_RULES 32  /* as many as --slo takes (GATE_MAX_RULES) */

typedef struct search search;

typedef struct search_opts {
    double start;     /* first probe (> 0) */
    double lowest;    /* no probe below this (> 0); failing here: no rate meets the SLOs */
    double highest;   /* no probe above this (>= start); passing here: the SLOs do not limit */
    double precision; /* relative bracket width at which to stop, e.g. 0.05 */
    int integer;      /* whole-number probes (streams) */
} search_opts;

/* What one probe found, from gate_judge: the point verdict, whether it is within noise, and each
 * rule's relative margin (>= 0 holds, < 0 broken, NAN no value). */
typedef struct search_probe {
    double x;
    int passed;        /* the point estimates meet every rule */
    int indeterminate; /* some rule's interval straddles its threshold and none is clearly broken */
    int longer;        /* the longer rerun of an indeterminate probe */
    size_t n_rules;
    double margin[SEARCH_MAX_RULES];
} search_probe;

typedef enum search_stop {
    SEARCH_RUNNING = 0,
    SEARCH_STOP_PRECISION, /* bracketed within the precision */
    SEARCH_STOP_MAX_PROBES,
    SEARCH_STOP_BELOW,     /* even the lowest allowed probe breaks a rule */
    SEARCH_STOP_ABOVE,     /* even the highest allowed probe meets every rule */
    SEARCH_STOP_NO_START   /* no start point (the throughput point completed nothing) */
} search_stop;

typedef struct search_outcome {
    search_stop stop;
    double rate;       /* the highest passing probe's x (NAN when none passed) */
    double fail_rate;  /* the lowest failing probe's x above it (NAN when none failed) */
    long best;         /* index of the probe giving rate, or -1 */
    long worst;        /* index of the probe giving fail_rate, or -1 */
    double precision;  /* (fail_rate - rate) / rate when both exist, else NAN */
    int limited_by;    /* the rule that breaks first above rate (index into the margins), or -1 */
} search_outcome;

/* *out owned by the caller (search_destroy). LL_EINVAL for options out of range, LL_ENOMEM. */
int search_create(search **out, const search_opts *o);
void search_destroy(search *s); /* NULL is fine */

/* The next probe: returns 1 with *x (and *longer: rerun of the last probe with more requests), or
 * 0 when the search is over (search_result says why). Asking twice without a record in between
 * gives the same probe. */
int search_next(search *s, double *x, int *longer);
/* The result of the probe search_next gave (p->x and p->longer as it said). 0, or LL_EINVAL when
 * no probe was asked for or p has more than SEARCH_MAX_RULES margins. */
int search_record(search *s, const search_probe *p);

size_t search_count(const search *s);
const search_probe *search_probe_at(const search *s, size_t i); /* borrowed, valid until destroy */
/* The verdict the search used for probe i: 1 pass, 0 fail (an undecided probe rerun longer is
 * superseded by its rerun: -1). */
int search_used(const search *s, size_t i);
void search_result(const search *s, search_outcome *out);
const char *search_stop_name(search_stop st); /* "precision reached", ...; static */

/* search_report.c: the search in the report document and on the console. */
struct cJSON;
struct gate;
/* Adds report.json's "slo_search" (result: rate, unit, output_token_throughput, limited_by, bound,
 * benchmark; bracket; precision target and reached; stop_reason; probes with their verdicts) and
 * each probe benchmark's "search" object (verdict, result, limited_by), for a search whose probe i
 * is doc's benchmark first + i. g gives the rule texts (borrowed). 0 or LL_ENOMEM. */
int search_annotate(struct cJSON *doc, const search *s, const struct gate *g, size_t first, int concurrency,
                    double precision);
/* The capacity line(s) from doc: slo_search's "max rate meeting the SLOs: X req/s (Y output
 * tok/s), limited by RULE", or a sweep's same estimate from sweep.capacity. Nothing without. */
void search_print(FILE *f, const struct cJSON *doc);

#endif
