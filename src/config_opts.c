/*
 * config_opts.c - the `run` option table and the value setters it points to (config, first box of
 * config -> source -> scheduler ...). One row per option drives getopt_long (config_cli.c),
 * profile keys (config_profile.c) and --help, so the three cannot disagree (style.md item 19).
 * Invariant: a setter either stores a checked value and returns 0, or leaves the config as it was
 * and returns LL_EUSAGE (or LL_ENOMEM) with the reason in why.
 */
#include <ctype.h>
#include <regex.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config_internal.h"
#include "llmload/clock.h"
#include "llmload/error.h"
#include "llmload/stages.h"

#define FIELD(type, c, o) ((type *)(void *)((char *)(c) + (o)->off))

/* ---- value parsers ---------------------------------------------------------------------- */

/* Decimal number only: no leading space, sign, hex, "inf" or "nan" (strtod would take them). */
static int parse_decimal(const char *s, double *out, const char **rest)
{
    if (!(isdigit((unsigned char)s[0]) || (s[0] == '.' && isdigit((unsigned char)s[1]))))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v) || memchr(s, 'x', (size_t)(end - s)) ||
        memchr(s, 'X', (size_t)(end - s)))
        return -1;
    *out = v;
    *rest = end;
    return 0;
}

static int parse_duration(const char *s, double *out)
{
    static const struct {
        const char *suffix;
        double scale;
    } units[] = {{"", 1}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"m", 60}, {"h", 3600}};
    double v;
    const char *rest;
    if (parse_decimal(s, &v, &rest) != 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(rest, units[i].suffix) == 0) {
            *out = v * units[i].scale;
            return 0;
        }
    }
    return -1;
}

static int parse_long(const char *s, long *out)
{
    if (!isdigit((unsigned char)s[0]))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

/* ---- setters ---------------------------------------------------------------------------- */

static int replace_string(char **field, const char *val)
{
    char *p = strdup(val);
    if (!p)
        return LL_ENOMEM;
    free(*field);
    *field = p;
    return 0;
}

static int check_text(const char *val, char *why, size_t whylen)
{
    size_t n = strlen(val);
    if (n == 0) {
        snprintf(why, whylen, "empty value");
        return LL_EUSAGE;
    }
    if (n >= CONFIG__MAX_STRING) {
        snprintf(why, whylen, "value longer than %d bytes", CONFIG__MAX_STRING);
        return LL_EUSAGE;
    }
    for (const char *p = val; *p; p++) {
        if (iscntrl((unsigned char)*p)) {
            snprintf(why, whylen, "\"%.64s\" contains a control character", val);
            return LL_EUSAGE;
        }
    }
    return 0;
}

static int set_string(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    int rc = check_text(val, why, whylen);
    return rc ? rc : replace_string(FIELD(char *, c, o), val);
}

static int set_url(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    int rc = check_text(val, why, whylen);
    if (rc == 0)
        rc = config__check_url(val, why, whylen);
    if (rc == 0)
        rc = replace_string(FIELD(char *, c, o), val);
    if (rc == 0)
        config__strip_slashes(*FIELD(char *, c, o));
    return rc;
}

/* --server-metrics with no URL means <target>/metrics, stored as "". Repeatable: the first URL
 * is server_metrics, later ones (a replica each, a GPU exporter) go to server_metrics_extra; a
 * URL given twice is kept once. */
static int set_server_metrics(config *c, const config__opt *o, const char *val, char *why,
                              size_t whylen)
{
    if (!c->server_metrics) {
        if (!val || !*val)
            return replace_string(FIELD(char *, c, o), "");
        return set_url(c, o, val, why, whylen);
    }
    char *url = NULL;
    config one = {0};
    int rc = (!val || !*val) ? replace_string(&url, "") : set_url(&one, o, val, why, whylen);
    if (rc)
        return rc;
    if (!url)
        url = one.server_metrics;
    int dup = strcmp(url, c->server_metrics) == 0;
    for (size_t i = 0; !dup && i < c->n_server_metrics_extra; i++)
        dup = strcmp(url, c->server_metrics_extra[i]) == 0;
    if (dup) {
        free(url);
        return 0;
    }
    if (c->n_server_metrics_extra + 1 >= CONFIG__MAX_SERVER_METRICS) {
        free(url);
        snprintf(why, whylen, "more than %d URLs", CONFIG__MAX_SERVER_METRICS);
        return LL_EUSAGE;
    }
    char **grown = realloc(c->server_metrics_extra, (c->n_server_metrics_extra + 1) * sizeof *grown);
    if (!grown) {
        free(url);
        return LL_ENOMEM;
    }
    c->server_metrics_extra = grown;
    c->server_metrics_extra[c->n_server_metrics_extra++] = url;
    return 0;
}

/* A POSIX extended regular expression, checked here so a typo is a usage error before any load. */
static int set_regex(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    int rc = check_text(val, why, whylen);
    if (rc)
        return rc;
    regex_t re;
    int rr = regcomp(&re, val, REG_EXTENDED | REG_NOSUB);
    if (rr != 0) {
        char msg[128];
        regerror(rr, &re, msg, sizeof msg);
        snprintf(why, whylen, "\"%.64s\" is not a regular expression: %s", val, msg);
        return LL_EUSAGE;
    }
    regfree(&re);
    return replace_string(FIELD(char *, c, o), val);
}

static int set_file(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    int rc = check_text(val, why, whylen);
    if (rc)
        return rc;
    if (access(val, R_OK) != 0) {
        /* An unreadable file is a runtime failure (exit 1 in design.md), not a mistyped flag. */
        int missing = errno == ENOENT;
        snprintf(why, whylen, "cannot read \"%.200s\": %s", val, strerror(errno));
        return missing ? LL_ENOENT : LL_EIO;
    }
    return replace_string(FIELD(char *, c, o), val);
}

static int set_duration(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    double v;
    if (parse_duration(val, &v) != 0) {
        snprintf(why, whylen, "\"%.64s\" is not a duration (seconds, or 250ms, 30s, 5m, 1h)", val);
        return LL_EUSAGE;
    }
    if (v < o->lo || v > o->hi) {
        snprintf(why, whylen, "%.64s is out of range (%g to %g seconds)", val, o->lo, o->hi);
        return LL_EUSAGE;
    }
    *FIELD(double, c, o) = v;
    return 0;
}

static int set_number(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    double v;
    const char *rest;
    if (parse_decimal(val, &v, &rest) != 0 || *rest != '\0') {
        snprintf(why, whylen, "\"%.64s\" is not a number", val);
        return LL_EUSAGE;
    }
    if (v < o->lo || v > o->hi) {
        snprintf(why, whylen, "%.64s is out of range (%.0f to %.0f)", val, o->lo, o->hi);
        return LL_EUSAGE;
    }
    *FIELD(double, c, o) = v;
    return 0;
}

/* Milliseconds given, seconds stored (--cancel-after-ms). */
static int set_ms(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    double v;
    const char *rest;
    if (parse_decimal(val, &v, &rest) != 0 || *rest != '\0') {
        snprintf(why, whylen, "\"%.64s\" is not a number of milliseconds", val);
        return LL_EUSAGE;
    }
    if (v < o->lo || v > o->hi) {
        snprintf(why, whylen, "%.64s is out of range (%g to %g ms)", val, o->lo, o->hi);
        return LL_EUSAGE;
    }
    *FIELD(double, c, o) = v / 1000.0;
    return 0;
}

static int get_count(const config__opt *o, const char *val, long *out, char *why, size_t whylen)
{
    if (parse_long(val, out) != 0) {
        snprintf(why, whylen, "\"%.64s\" is not a whole number", val);
        return LL_EUSAGE;
    }
    if ((double)*out < o->lo || (double)*out > o->hi) {
        snprintf(why, whylen, "%.64s is out of range (%.0f to %.0f)", val, o->lo, o->hi);
        return LL_EUSAGE;
    }
    return 0;
}

static int set_long(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    long v;
    int rc = get_count(o, val, &v, why, whylen);
    if (rc == 0)
        *FIELD(long, c, o) = v;
    return rc;
}

static int set_int(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    long v;
    int rc = get_count(o, val, &v, why, whylen); /* the table's bounds fit an int */
    if (rc == 0)
        *FIELD(int, c, o) = (int)v;
    return rc;
}

static int set_flag(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    *FIELD(int, c, o) = strcmp(val, "0") == 0 ? !o->on : o->on;
    return 0;
}

static int set_seed(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    char *end;
    errno = 0;
    unsigned long long v = isdigit((unsigned char)val[0]) ? strtoull(val, &end, 10) : 0;
    if (!isdigit((unsigned char)val[0]) || *end != '\0' || errno == ERANGE) {
        snprintf(why, whylen, "\"%.64s\" is not a whole number from 0 to 2^64-1", val);
        return LL_EUSAGE;
    }
    *FIELD(uint64_t, c, o) = (uint64_t)v;
    return 0;
}

static int pick_name(const char *val, const char *const *names, size_t n, const char *what,
                     char *why, size_t whylen)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(val, names[i]) == 0)
            return (int)i;
    size_t len = (size_t)snprintf(why, whylen, "\"%.64s\" is not %s (", val, what);
    for (size_t i = 0; i < n && len < whylen; i++)
        len += (size_t)snprintf(why + len, whylen - len, "%s%s", i ? ", " : "", names[i]);
    if (len < whylen)
        snprintf(why + len, whylen - len, ")");
    return -1;
}

static int set_api(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    static const char *const names[] = {"chat", "completions"};
    int i = pick_name(val, names, 2, "an api", why, whylen);
    if (i < 0)
        return LL_EUSAGE;
    c->api = (config_api)i;
    return 0;
}

static int set_data_sampling(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    /* Same order as enum config_sampling. */
    static const char *const names[] = {"shuffle", "sequential", "random"};
    int i = pick_name(val, names, 3, "a sampling", why, whylen);
    if (i < 0)
        return LL_EUSAGE;
    c->data.sampling = i;
    return 0;
}

static int set_schedule(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    /* Same order as enum config_schedule. */
    static const char *const names[] = {"synchronous", "concurrent", "throughput",
                                        "constant",    "poisson",    "sweep",
                                        "slo-search",  "trace"};
    int i = pick_name(val, names, sizeof names / sizeof names[0], "a schedule", why, whylen);
    if (i < 0)
        return LL_EUSAGE;
    c->schedule = (config_schedule)i;
    c->schedule_given = 1;
    return 0;
}

/* ---- arrival shapes and early stop (rules across options: config_shapes.c) ---- */

static int set_positive(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    double v;
    const char *rest;
    if (parse_decimal(val, &v, &rest) != 0 || *rest != '\0' || !(v > 0) || v > o->hi) {
        snprintf(why, whylen, "\"%.64s\" is not a number above 0 and at most %g", val, o->hi);
        return LL_EUSAGE;
    }
    *FIELD(double, c, o) = v;
    return 0;
}

static int set_ramp(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    /* Same order as enum config_ramp. */
    static const char *const names[] = {"none", "linear", "exponential"};
    int i = pick_name(val, names, 3, "a ramp", why, whylen);
    if (i < 0)
        return LL_EUSAGE;
    c->ramp_up = (config_ramp)i;
    return 0;
}

static int set_stages(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    size_t n;
    int rc = check_text(val, why, whylen);
    if (rc == 0)
        rc = stages_parse(val, NULL, 0, &n, why, whylen);
    return rc ? rc : replace_string(FIELD(char *, c, o), val);
}

/* A share: 0.05 or 5%; 0 turns the rule off. */
static int set_share(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    double v;
    const char *rest;
    if (parse_decimal(val, &v, &rest) == 0 && strcmp(rest, "%") == 0)
        v /= 100;
    else if (parse_decimal(val, &v, &rest) != 0 || *rest != '\0')
        v = -1;
    if (!(v >= 0 && v <= 1)) {
        snprintf(why, whylen, "\"%.64s\" is not a share from 0 to 1 (0.05) or a percentage (5%%)", val);
        return LL_EUSAGE;
    }
    *FIELD(double, c, o) = v;
    return 0;
}

/* --trace FILE: a readable file (unreadable: exit 1, as --ca-cert), and the trace's schedule. */
static int set_trace(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    int rc = set_file(c, o, val, why, whylen);
    if (rc == 0)
        c->schedule = CONFIG_SCHED_TRACE;
    return rc;
}

static int set_trace_format(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    /* Same order as trace_format in trace.h. */
    static const char *const names[] = {"auto", "mooncake", "azure", "otel", "jsonl"};
    int i = pick_name(val, names, 5, "a trace format", why, whylen);
    if (i < 0)
        return LL_EUSAGE;
    c->trace_format = i;
    return 0;
}

static int set_trace_speed(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    double v;
    const char *rest;
    if (parse_decimal(val, &v, &rest) != 0 || *rest != '\0' || !(v >= 0.001) || v > 1000) {
        snprintf(why, whylen, "\"%.64s\" is not a speed from 0.001 to 1000 (2: twice as fast)", val);
        return LL_EUSAGE;
    }
    c->trace_speed = v;
    return 0;
}

static int set_sweep_arrivals(config *c, const config__opt *o, const char *val, char *why,
                              size_t whylen)
{
    static const char *const names[] = {"constant", "poisson"};
    int i = pick_name(val, names, 2, "an arrival process", why, whylen);
    if (i < 0)
        return LL_EUSAGE;
    c->sweep_poisson = i;
    return 0;
}

static int set_search_over(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    static const char *const names[] = {"rate", "concurrency"};
    int i = pick_name(val, names, 2, "a search dimension", why, whylen);
    (void)o;
    if (i < 0)
        return LL_EUSAGE;
    c->search_concurrency = i;
    return 0;
}

/* "5%" or a fraction ("0.05"), within the table's bounds (as a fraction). */
static int set_fraction(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    double v;
    const char *rest;
    if (parse_decimal(val, &v, &rest) != 0 || (*rest && strcmp(rest, "%") != 0)) {
        snprintf(why, whylen, "\"%.64s\" is not a percentage (5%%) or a fraction (0.05)", val);
        return LL_EUSAGE;
    }
    if (*rest)
        v /= 100;
    if (!(v >= o->lo && v <= o->hi)) {
        snprintf(why, whylen, "%.64s is out of range (%g%% to %g%%)", val, 100 * o->lo, 100 * o->hi);
        return LL_EUSAGE;
    }
    *FIELD(double, c, o) = v;
    return 0;
}

static int set_http_client(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    /* Same order as enum config_http_client. */
    static const char *const names[] = {"auto", "builtin", "curl"};
    int i = pick_name(val, names, 3, "an HTTP client", why, whylen);
    (void)o;
    if (i < 0)
        return LL_EUSAGE;
    c->http_client = (config_http_client)i;
    return 0;
}

static int set_rates(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    size_t n = 1;
    for (const char *p = val; *p; p++)
        n += *p == ',';
    if (n > CONFIG__MAX_RATES) {
        snprintf(why, whylen, "more than %d rates", CONFIG__MAX_RATES);
        return LL_EUSAGE;
    }
    double *r = malloc(n * sizeof *r);
    if (!r)
        return LL_ENOMEM;
    const char *p = val;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(p, ",");
        char item[64];
        double v = 0;
        const char *rest = "";
        int ok = len > 0 && len < sizeof item;
        if (ok) {
            memcpy(item, p, len);
            item[len] = '\0';
            ok = parse_decimal(item, &v, &rest) == 0 && *rest == '\0' && v > 0 &&
                 v <= CONFIG__MAX_RATE;
        }
        if (!ok) {
            if (len == 0)
                snprintf(why, whylen, "\"%.64s\" has an empty item", val);
            else if (v > CONFIG__MAX_RATE)
                snprintf(why, whylen, "\"%.*s\" is above the limit of %.0f (req/s, or streams in flight)",
                         (int)(len < 64 ? len : 64), p, CONFIG__MAX_RATE);
            else
                snprintf(why, whylen, "\"%.*s\" is not a positive number", (int)(len < 64 ? len : 64), p);
            free(r);
            return LL_EUSAGE;
        }
        r[i] = v;
        p += len + (p[len] == ',');
    }
    free(c->rates);
    c->rates = r;
    c->n_rates = n;
    return 0;
}

/* RFC 9110 token characters: what a header name may be made of. */
static int is_tchar(int ch)
{
    return isalnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* A header replaces an earlier one of the same name (a flag overrides the profile's); others add. */
static int set_header(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    size_t nlen = 0;
    while (is_tchar((unsigned char)val[nlen]))
        nlen++;
    if (strlen(val) >= CONFIG__MAX_STRING) {
        snprintf(why, whylen, "\"%.*s: ...\" is %zu bytes long, over the limit of %d bytes for one header",
                 (int)(nlen < 40 ? nlen : 40), val, strlen(val), CONFIG__MAX_STRING - 1);
        return LL_EUSAGE;
    }
    int bad = nlen == 0 || val[nlen] != ':';
    for (const char *p = val; !bad && *p; p++)
        bad = *p == '\r' || *p == '\n' || (iscntrl((unsigned char)*p) && *p != '\t');
    if (bad) {
        /* Quote only the name part: the value may be a secret. */
        snprintf(why, whylen, "\"%.*s...\" is not a header 'Name: value' (name of letters, digits, -_ and no line breaks)",
                 (int)(nlen < 40 ? nlen : 40), val);
        return LL_EUSAGE;
    }
    size_t i;
    for (i = 0; i < c->n_headers; i++)
        if (strncasecmp(c->headers[i], val, nlen) == 0 && c->headers[i][nlen] == ':')
            break;
    if (i == c->n_headers && c->n_headers >= CONFIG__MAX_HEADERS) {
        snprintf(why, whylen, "more than %d headers", CONFIG__MAX_HEADERS);
        return LL_EUSAGE;
    }
    char *h = strdup(val);
    if (!h)
        return LL_ENOMEM;
    if (i < c->n_headers) {
        free(c->headers[i]);
        c->headers[i] = h;
        return 0;
    }
    char **grown = realloc(c->headers, (c->n_headers + 1) * sizeof *grown);
    if (!grown) {
        free(h);
        return LL_ENOMEM;
    }
    c->headers = grown;
    c->headers[c->n_headers++] = h;
    return 0;
}

static int set_data(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    return config_parse_data(&c->data, val, why, whylen);
}

/* I/N, or auto/N: I from JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job sets in each pod. */
static int set_shard(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    long i = 0, n;
    const char *slash = strchr(val, '/');
    char ibuf[24];
    size_t ilen = slash ? (size_t)(slash - val) : 0;
    int ok = slash && ilen < sizeof ibuf, from_env = 0;
    if (ok) {
        memcpy(ibuf, val, ilen);
        ibuf[ilen] = '\0';
        from_env = strcmp(ibuf, "auto") == 0;
        ok = (from_env || parse_long(ibuf, &i) == 0) && parse_long(slash + 1, &n) == 0;
    }
    if (!ok) {
        snprintf(why, whylen, "\"%.64s\" is not I/N or auto/N (e.g. 0/4)", val);
        return LL_EUSAGE;
    }
    if (n < 1 || n > 100000) {
        snprintf(why, whylen, "\"%.64s\" needs 1 <= N <= 100000", val);
        return LL_EUSAGE;
    }
    if (from_env) {
        const char *env = getenv("JOB_COMPLETION_INDEX");
        if (!env || !*env) {
            snprintf(why, whylen, "%.64s: JOB_COMPLETION_INDEX is not set (a Kubernetes Indexed Job sets it)", val);
            return LL_EUSAGE;
        }
        if (parse_long(env, &i) != 0 || i >= n) {
            snprintf(why, whylen, "%.64s: JOB_COMPLETION_INDEX=%.32s is not a whole number from 0 to %ld", val, env,
                     n - 1);
            return LL_EUSAGE;
        }
    }
    if (i >= n) {
        snprintf(why, whylen, "\"%.64s\" needs 0 <= I < N <= 100000", val);
        return LL_EUSAGE;
    }
    c->shard_index = (int)i;
    c->shard_count = (int)n;
    return 0;
}

/* EPOCH (seconds, decimals allowed), +SECONDS from now, or HH:MM:SS today (UTC), all turned into
 * epoch seconds here, so every later stage sees one instant. Read from the wall clock: this is
 * a meeting time between machines, never a measurement. */
static int set_start_at(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    double v, now = clock_wall_s();
    int hh, mm, ss, used = 0;
    if (val[0] == '+') {
        if (parse_duration(val + 1, &v) != 0 || v > 86400) {
            snprintf(why, whylen, "\"%.64s\" is not +SECONDS (up to a day, e.g. +30 or +2m)", val);
            return LL_EUSAGE;
        }
        v += now;
    } else if (strchr(val, ':')) {
        if (sscanf(val, "%2d:%2d:%2d%n", &hh, &mm, &ss, &used) != 3 || val[used] != '\0' || hh > 23 || mm > 59 ||
            ss > 59 || hh < 0 || mm < 0 || ss < 0) {
            snprintf(why, whylen, "\"%.64s\" is not HH:MM:SS (UTC)", val);
            return LL_EUSAGE;
        }
        double midnight = floor(now / 86400) * 86400;
        v = midnight + hh * 3600.0 + mm * 60.0 + ss;
    } else {
        return set_number(c, o, val, why, whylen); /* epoch seconds */
    }
    *FIELD(double, c, o) = v;
    return 0;
}

/* An empty name means "send no key", even when OPENAI_API_KEY is set. The key is read after every
 * layer is applied (config__resolve_api_key), so a flag can replace a profile's variable. */
static int set_api_key_env(config *c, const config__opt *o, const char *val, char *why,
                           size_t whylen)
{
    int ok = !isdigit((unsigned char)val[0]) && strlen(val) < 256;
    for (const char *p = val; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '_';
    if (!ok) {
        snprintf(why, whylen, "\"%.64s\" is not an environment variable name", val);
        return LL_EUSAGE;
    }
    char *name = NULL;
    if (*val && !(name = strdup(val)))
        return LL_ENOMEM;
    free(c->api_key_env);
    c->api_key_env = name;
    if (c->api_key) {
        explicit_bzero(c->api_key, strlen(c->api_key));
        free(c->api_key);
        c->api_key = NULL;
    }
    return 0;
}

static int set_listen(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    int rc = check_text(val, why, whylen);
    if (rc)
        return rc;
    const char *colon = strrchr(val, ':');
    long port = 0;
    int ok = colon && colon > val && parse_long(colon + 1, &port) == 0 && port >= 0 && port <= 65535;
    if (ok && val[0] == '[')
        ok = colon[-1] == ']' && colon - val > 2;
    else if (ok)
        ok = memchr(val, ':', (size_t)(colon - val)) == NULL && memchr(val, ' ', (size_t)(colon - val)) == NULL;
    if (!ok) {
        snprintf(why, whylen, "\"%.64s\" is not ADDR:PORT (e.g. 127.0.0.1:9464, [::1]:9464)", val);
        return LL_EUSAGE;
    }
    return replace_string(FIELD(char *, c, o), val);
}

/* ---- the table ---------------------------------------------------------------------------- */

#define OFF(f) offsetof(config, f)
#define HEADING(text) {.name = NULL, .help = text}
#define J_STR CONFIG__J_STR
#define J_NUM CONFIG__J_NUM
#define J_BOOL CONFIG__J_BOOL
#define J_NUMS CONFIG__J_NUMS
#define J_STRS CONFIG__J_STRS
#define J_OBJ CONFIG__J_OBJ
#define FLAG(nm, field, onv, dft, hlp)                                                            \
    {.name = nm, .has_arg = no_argument, .set = set_flag, .off = OFF(field), .on = onv,          \
     .json = J_BOOL, .expect = "true or false", .dflt = dft, .help = hlp}
#define DURATION(nm, field, lo_, dft, hlp)                                                        \
    {.name = nm, .has_arg = required_argument, .metavar = "S", .set = set_duration,              \
     .off = OFF(field), .lo = lo_, .hi = CONFIG__MAX_DURATION_S, .json = J_NUM | J_STR,           \
     .expect = "seconds (a number, or a string such as \"250ms\", \"5m\")", .dflt = dft, .help = hlp}
#define STRING(nm, mv, setter, field, dft, hlp)                                                   \
    {.name = nm, .has_arg = required_argument, .metavar = mv, .set = setter, .off = OFF(field),  \
     .json = J_STR, .expect = "a string", .dflt = dft, .help = hlp}

const config__opt config__opts[] = {
    HEADING("Target"),
    STRING("target", "URL", set_url, target, NULL,
           "server base URL, e.g. http://127.0.0.1:8000 (else env LLMLOAD_TARGET)"),
    STRING("api", "chat|completions", set_api, api, "chat",
           "/v1/chat/completions or /v1/completions"),
    STRING("model", "NAME|a=W,b=W|a,b", config__set_model, model, "first id from GET /v1/models",
           "model name, or a mix: each request draws its model by the weights (a=0.7,b=0.3; a,b: "
           "equal), seeded; discovery and calibration then use the first"),
    STRING("model-order", "weighted|round-robin", config__set_model_order, model_order, "weighted",
           "how a mix's requests pick their model: drawn by weight, or a, b, a, b ..."),
    STRING("api-key-env", "VAR", set_api_key_env, api_key_env, "OPENAI_API_KEY when set",
           "read the bearer token from this variable (\"\" sends none); never printed"),
    {.name = "header", .alias = "headers", .has_arg = required_argument, .metavar = "'K: V'",
     .set = set_header, .json = J_STR | J_STRS, .expect = "a string or list of strings \"Name: value\"",
     .help = "extra request header, repeatable; replaces a profile header of the same name"},
    HEADING("Load"),
    STRING("schedule", "S", set_schedule, schedule, "synchronous",
           "synchronous, concurrent, throughput, constant, poisson, sweep, slo-search or trace (set by --trace)"),
    {.name = "rate", .has_arg = required_argument, .metavar = "R[,R...]", .set = set_rates,
     .json = J_NUM | J_NUMS | J_STR, .expect = "a positive number or list of them",
     .help = "req/s (constant, poisson), streams in flight (concurrent), points (sweep); a list "
             "runs one benchmark per value"},
    STRING("sweep-arrivals", "constant|poisson", set_sweep_arrivals, sweep_poisson, "constant",
           "arrival process of the sweep's and the slo-search's rate points"),
    {.name = "max-concurrency", .has_arg = required_argument, .metavar = "N", .set = set_long,
     .off = OFF(max_concurrency), .lo = 1, .hi = 1000000, .json = J_NUM | J_STR,
     .expect = "a whole number", .dflt = "512",
     .help = "cap on requests in flight (throughput and open-loop schedules)"},
    {.name = "users", .has_arg = required_argument, .metavar = "N", .set = set_long,
     .off = OFF(users), .lo = 1, .hi = 100000, .json = J_NUM | J_STR,
     .expect = "a whole number", .dflt = "off",
     .help = "N concurrent users, each running sessions one after another (a closed loop of N: "
             "--schedule concurrent --rate N); see --data turns=,think_time="},
    STRING("trace", "FILE", set_trace, trace, NULL,
           "replay a trace: each request at its recorded time, with its recorded input and output "
           "lengths (Mooncake, Azure CSV, OpenTelemetry GenAI spans, jsonl; docs/workloads.md)"),
    STRING("trace-format", "auto|mooncake|azure|otel|jsonl", set_trace_format, trace_format, "auto",
           "the --trace file's format (auto: .csv is Azure, else the first record's keys)"),
    {.name = "trace-speed", .has_arg = required_argument, .metavar = "X", .set = set_trace_speed,
     .off = OFF(trace_speed), .json = J_NUM | J_STR, .expect = "a number", .dflt = "1",
     .help = "replay X times as fast (the trace's offsets divided by X)"},
    DURATION("max-seconds", max_seconds, 0, "30s", "length of each benchmark (0: no time limit)"),
    {.name = "max-requests", .has_arg = required_argument, .metavar = "N", .set = set_long,
     .off = OFF(max_requests), .lo = 0, .hi = 1e12, .json = J_NUM | J_STR,
     .expect = "a whole number", .dflt = "0 (no limit)",
     .help = "requests per benchmark; whichever of the two limits comes first ends it"},
    DURATION("warmup", warmup_s, 0, "0", "seconds at the start left out of the statistics"),
    DURATION("cooldown", cooldown_s, 0, "0", "seconds at the end left out of the statistics"),
    {.name = "data", .has_arg = required_argument, .metavar = "SPEC|FILE", .set = set_data,
     .json = J_STR | J_OBJ, .expect = "a spec string, an object of token counts, or a file name",
     .dflt = "prompt_tokens=256,output_tokens=128",
     .help = "synthetic spec such as prompt_tokens=256,prompt_tokens_stdev=64 (keys: prompt_tokens, "
             "output_tokens, each with _stdev, _min, _max; prefix_tokens, prefix_count; turns, think_time, "
             "think_time_stdev for multi-turn sessions), or a .jsonl/.json/.csv/.txt file (.jsonl and .txt stream)"},
    STRING("data-sampling", "shuffle|sequential|random", set_data_sampling, data.sampling, "shuffle",
           "order of dataset records: a seeded shuffle per pass, file order, or independent seeded draws"),
    {.name = "data-max", .has_arg = required_argument, .metavar = "N", .set = set_long,
     .off = OFF(data.max_records), .lo = 0, .hi = 1e12, .json = J_NUM | J_STR, .expect = "a whole number",
     .dflt = "0 (all)", .help = "use at most the first N records of the dataset file (the rest is not read)"},
    {.name = "seed", .has_arg = required_argument, .metavar = "N", .set = set_seed, .off = OFF(seed),
     .json = J_NUM | J_STR, .expect = "a whole number", .dflt = "42",
     .help = "makes prompts and arrival times repeatable"},
    {.name = "shard", .has_arg = required_argument, .metavar = "I/N", .set = set_shard,
     .json = J_STR, .expect = "a string \"I/N\"", .dflt = "0/1",
     .help = "run share I of N of the load (0 <= I < N); auto/N takes I from JOB_COMPLETION_INDEX"},
    {.name = "start-at", .has_arg = required_argument, .metavar = "EPOCH|+S|HH:MM:SS", .set = set_start_at,
     .off = OFF(start_at), .lo = 0, .hi = 1e11, .json = J_NUM | J_STR,
     .expect = "epoch seconds, \"+SECONDS\" or \"HH:MM:SS\"", .dflt = "now",
     .help = "wait for this wall-clock instant (UTC for HH:MM:SS), then start: shards start together"},
    {.name = "workers", .has_arg = required_argument, .metavar = "N", .set = set_int,
     .off = OFF(workers), .lo = 1, .hi = 256, .json = J_NUM | J_STR, .expect = "a whole number",
     .dflt = "1", .help = "event loops (threads) sending the load, merged exactly"},
    HEADING("Arrival shapes and early stop (docs/workloads.md)"),
    {.name = "burstiness", .has_arg = required_argument, .metavar = "K", .set = set_positive,
     .off = OFF(burstiness), .hi = 1000, .json = J_NUM | J_STR, .expect = "a positive number", .dflt = "1",
     .help = "Poisson gaps drawn from a gamma of shape K with the same mean: 1 is Poisson, below 1 "
             "burstier (coefficient of variation 1/sqrt(K))"},
    STRING("ramp-up", "linear|exponential", set_ramp, ramp_up, "none",
           "raise the rate (concurrent: the streams) from near 0 to the target over --ramp-up-seconds, "
           "then hold; the ramp counts as warmup"),
    {.name = "ramp-up-seconds", .has_arg = required_argument, .metavar = "S", .set = set_duration,
     .off = OFF(ramp_up_s), .lo = 0, .hi = CONFIG__MAX_DURATION_S, .json = J_NUM | J_STR,
     .expect = "seconds (a number, or a string such as \"30s\", \"5m\")", .dflt = "0",
     .help = "length of the --ramp-up"},
    STRING("stages", "'R:D,R:D,...'", set_stages, stages, NULL,
           "open-loop stages run back to back, each a benchmark (stage1@R...): RATE req/s for "
           "DURATION (30s, 5m, 1h); poisson, or constant with --schedule constant"),
    {.name = "max-error-rate", .has_arg = required_argument, .metavar = "R", .set = set_share,
     .off = OFF(max_error_rate), .json = J_NUM | J_STR, .expect = "a share (0.05) or a percentage (\"5%\")",
     .dflt = "0 (off)",
     .help = "stop a benchmark early when errors pass this share of the requests that ended in the last "
             "--error-window (at least 20 of them)"},
    {.name = "error-window", .has_arg = required_argument, .metavar = "S", .set = set_duration,
     .off = OFF(error_window_s), .lo = 1, .hi = 600, .json = J_NUM | J_STR,
     .expect = "seconds (a number, or a string such as \"30s\")", .dflt = "10s",
     .help = "the sliding window of --max-error-rate"},
    FLAG("stop-when-saturated", stop_when_saturated, 1, NULL,
         "stop a benchmark early when in-flight requests and TTFT rise together while completions "
         "stay flat over --saturation-window (open loops past capacity)"),
    {.name = "saturation-window", .has_arg = required_argument, .metavar = "S", .set = set_duration,
     .off = OFF(saturation_window_s), .lo = 3, .hi = 600, .json = J_NUM | J_STR,
     .expect = "seconds (a number, or a string such as \"30s\")", .dflt = "10s",
     .help = "the window of --stop-when-saturated's slopes"},
    HEADING("Requests"),
    FLAG("no-usage", stream_usage, 0, NULL, "do not ask stream_options.include_usage"),
    FLAG("continuous-usage", continuous_usage, 1, NULL,
         "ask stream_options.continuous_usage_stats (per-token gaps)"),
    FLAG("no-ignore-eos", ignore_eos, 0, NULL, "do not send ignore_eos (outputs may end early)"),
    DURATION("request-timeout", request_timeout_s, 0.001, "600s", "wait for the first byte"),
    DURATION("stream-timeout", stream_timeout_s, 0.001, "60s", "longest silence mid-stream"),
    DURATION("connect-timeout", connect_timeout_s, 0.001, "5s", "TCP and TLS connect"),
    DURATION("drain-seconds", drain_s, 0, "5s", "grace for requests in flight after SIGINT/SIGTERM/SIGHUP"),
    DURATION("grace-seconds", grace_s, 0, "60s", "time requests in flight may take to finish after --max-seconds, then they are cancelled (incomplete)"),
    {.name = "cancel-rate", .has_arg = required_argument, .metavar = "P", .set = set_number,
     .off = OFF(cancel_rate), .lo = 0, .hi = 1, .json = J_NUM | J_STR, .expect = "a number from 0 to 1",
     .dflt = "0", .help = "share of streams the client abandons (closes) --cancel-after-ms after their "
                          "send, seeded; counted as cancelled, never as errors"},
    {.name = "cancel-after-ms", .has_arg = required_argument, .metavar = "MS", .set = set_ms,
     .off = OFF(cancel_after_s), .lo = 0.001, .hi = 1e10, .json = J_NUM | J_STR, .expect = "milliseconds",
     .dflt = "none", .help = "when a stream picked by --cancel-rate is abandoned, in ms after its send"},
    FLAG("respect-retry-after", respect_retry_after, 1, NULL,
         "wait as a 429's Retry-After says before the next request"),
    FLAG("insecure", insecure, 1, NULL, "do not verify the server's TLS certificate"),
    STRING("ca-cert", "FILE", set_file, ca_cert, NULL, "CA bundle for TLS verification"),
    STRING("http-client", "auto|builtin|curl", set_http_client, http_client, "auto",
           "builtin HTTP/1.1 client (plain http://, lowest CPU per request) or libcurl (https, "
           "proxies); auto: builtin unless https:// or a proxy variable is set"),
    FLAG("no-calibrate", calibrate, 0, NULL,
         "skip measuring how the target counts prompt tokens (/tokenize or probes): prompts are "
         "built at one token per word"),
    FLAG("require-done", require_done, 1, NULL,
         "a stream must end with data: [DONE] (default: a clean end after a finish_reason is complete)"),
    HEADING("Output"),
    STRING("out", "DIR", set_string, out_dir, NULL,
           "write report.json, requests.csv, summary.csv, report.html, metrics.prom"),
    STRING("slo", "SPEC", set_string, slo, NULL,
           "gate, e.g. 'ttft_p95<=500ms,itl_p99<=50ms,error_rate<=1%': exit 3 when broken"),
    STRING("pushgateway", "URL", set_url, pushgateway, NULL,
           "push the report's Prometheus text (metrics.prom) to this Pushgateway when done"),
    STRING("job", "NAME", set_string, job, "llmload", "Pushgateway job name"),
    STRING("metrics-listen", "ADDR:PORT", set_listen, metrics_listen, NULL,
           "serve live client metrics at http://ADDR:PORT/metrics while running (port 0: any free one)"),
    {.name = "server-metrics", .has_arg = optional_argument, .metavar = "[URL]",
     .set = set_server_metrics, .off = OFF(server_metrics), .json = J_STR | J_STRS,
     .expect = "a URL string (\"\" for <target>/metrics) or a list of them", .dflt = "off",
     .help = "sample the server's Prometheus /metrics during the run, off the request path (default URL "
             "<target>/metrics); repeatable: a replica each, a GPU exporter (DCGM :9400)"},
    FLAG("progress", progress, 1, "on a terminal", "show live progress"),
    FLAG("no-progress", progress, 0, NULL, "hide live progress"),
    FLAG("quiet", quiet, 1, NULL, "print only errors and the final table"),
    DURATION("server-metrics-interval", server_metrics_interval_s, 0.1, "1s",
             "time between two --server-metrics scrapes (each times out at 80% of it, at most 10 s)"),
    STRING("server-metrics-keep", "REGEX", set_regex, server_metrics_keep, NULL,
           "also keep the raw series of metrics whose names match (POSIX extended regex)"),
    HEADING("Statistics"),
    {.name = "repeat", .has_arg = required_argument, .metavar = "N", .set = set_int,
     .off = OFF(repeat), .lo = 1, .hi = 100, .json = J_NUM | J_STR, .expect = "a whole number",
     .dflt = "1",
     .help = "run each benchmark N times (named NAME#1..#N, seeds --seed+0..N-1); report.json's "
             "\"repeats\" gives each headline figure's mean, stdev and 95% interval across them"},
    STRING("target-precision", "STAT=X%", set_string, target_precision, NULL,
           "end a benchmark once STAT's 95% interval is within +/-X% of it, checked every second "
           "(e.g. ttft_p95=5%; the usual limits still apply)"),
    STRING("search-over", "rate|concurrency", set_search_over, search_concurrency, "rate",
           "slo-search: probe open-loop rates (req/s) or concurrent streams (whole numbers)"),
    {.name = "search-precision", .has_arg = required_argument, .metavar = "X%", .set = set_fraction,
     .off = OFF(search_precision), .lo = 0.001, .hi = 0.5, .json = J_NUM | J_STR,
     .expect = "a percentage string (\"5%\") or a fraction", .dflt = "5%",
     .help = "slo-search: stop once the highest passing and lowest failing probe are within X% "
             "(relative; at most 12 probes)"},
    {.name = "help", .has_arg = no_argument, .help = "this help"},
};
const size_t config__n_opts = sizeof config__opts / sizeof config__opts[0];

const config__opt *config__find_opt(const char *key)
{
    for (size_t i = 0; i < config__n_opts; i++) {
        const config__opt *o = &config__opts[i];
        for (int k = 0; k < 2; k++) {
            const char *name = k ? o->alias : o->name;
            if (!name)
                continue;
            size_t j = 0;
            while (name[j] && (key[j] == name[j] || (key[j] == '_' && name[j] == '-')))
                j++;
            if (name[j] == '\0' && key[j] == '\0')
                return o;
        }
    }
    return NULL;
}
