/*
 * promtext.c - Prometheus text exposition format 0.0.4, parsed line by line from one buffer
 * (scrape stage, beside the request path and never on it). The grammar follows the format's
 * documentation and the Go reference parser's leniencies (blanks around label names and commas, a
 * trailing comma in the label set, an optional timestamp, "+Inf"/"-Inf"/"NaN" values).
 * Invariant: no allocation and no read outside [buf, buf+len); a bad line only bumps st->bad.
 */
#include "llmload/promtext.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cursor {
    const char *p, *end;
} cursor;

/* The family of the last TYPE line: samples of a family follow its TYPE line in the format. */
typedef struct family_state {
    promtext_str name;
    promtext_type type;
} family_state;

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void skip_blanks(cursor *c)
{
    while (c->p < c->end && is_blank(*c->p))
        c->p++;
}

static int name_start(char c, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static int name_char(char c, int colon)
{
    return name_start(c, colon) || (c >= '0' && c <= '9');
}

/* A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, with colon 0, a label name. Empty slice: none. */
static promtext_str read_name(cursor *c, int colon)
{
    promtext_str s = {c->p, 0};
    if (c->p < c->end && name_start(*c->p, colon))
        while (c->p < c->end && name_char(*c->p, colon))
            c->p++;
    s.n = (size_t)(c->p - s.p);
    return s;
}

/* A token up to the next blank or the end of the line. */
static promtext_str read_token(cursor *c)
{
    promtext_str s = {c->p, 0};
    while (c->p < c->end && !is_blank(*c->p))
        c->p++;
    s.n = (size_t)(c->p - s.p);
    return s;
}

int promtext_str_eq(promtext_str a, const char *s)
{
    size_t n = strlen(s);
    return a.n == n && memcmp(a.p, s, n) == 0;
}

/* Go's strconv.ParseFloat forms, which Prometheus accepts: decimals, exponents, Inf/NaN in any
 * case with an optional sign. strtod needs a NUL, so the token is copied; "nan(...)" is refused. */
static int parse_double(promtext_str t, double *out)
{
    char buf[PROMTEXT_MAX_NUMBER + 1];
    if (t.n == 0 || t.n > PROMTEXT_MAX_NUMBER || memchr(t.p, '(', t.n))
        return -1;
    memcpy(buf, t.p, t.n);
    buf[t.n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + t.n || isspace((unsigned char)buf[0]))
        return -1;
    /* Out of range: strtod gives the nearest value on underflow and +-Inf on overflow; Go's
     * ParseFloat would refuse the latter, but a gauge past 1.8e308 means Inf either way. */
    *out = v;
    return 0;
}

static int parse_int64(promtext_str t, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (t.n > 0 && (t.p[0] == '-' || t.p[0] == '+')) {
        neg = t.p[0] == '-';
        i = 1;
    }
    if (i == t.n || t.n > 20)
        return -1;
    uint64_t v = 0;
    for (; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(t.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

size_t promtext_unescape(promtext_str v, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < v.n; i++) {
        char ch = v.p[i];
        if (ch == '\\' && i + 1 < v.n) {
            ch = v.p[++i];
            if (ch == 'n')
                ch = '\n';
        }
        if (n + 1 < cap)
            out[n] = ch;
        n++;
    }
    if (cap > 0)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

const promtext_label *promtext_label_get(const promtext_sample *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++)
        if (promtext_str_eq(s->labels[i].name, name))
            return &s->labels[i];
    return NULL;
}

const char *promtext_type_name(promtext_type t)
{
    switch (t) {
    case PROMTEXT_UNTYPED:
        return "untyped";
    case PROMTEXT_COUNTER:
        return "counter";
    case PROMTEXT_GAUGE:
        return "gauge";
    case PROMTEXT_HISTOGRAM:
        return "histogram";
    case PROMTEXT_SUMMARY:
        return "summary";
    }
    return "untyped";
}

/* A quoted label value after its opening '"': escapes \\ \" \n only, no raw line break (the
 * line has none by construction). Leaves c after the closing quote. -1 when malformed. */
static int read_quoted(cursor *c, promtext_str *out)
{
    out->p = c->p;
    while (c->p < c->end) {
        char ch = *c->p;
        if (ch == '"') {
            out->n = (size_t)(c->p - out->p);
            c->p++;
            return 0;
        }
        if (ch == '\\') {
            if (c->p + 1 >= c->end)
                return -1;
            char e = c->p[1];
            if (e != '\\' && e != '"' && e != 'n')
                return -1;
            c->p += 2;
            continue;
        }
        c->p++;
    }
    return -1;
}

/* "{" already consumed: name="value" pairs, comma separated, a trailing comma allowed, "}". */
static int read_labels(cursor *c, promtext_sample *s)
{
    for (;;) {
        skip_blanks(c);
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return 0;
        }
        promtext_str name = read_name(c, 0);
        if (name.n == 0)
            return -1;
        skip_blanks(c);
        if (c->p >= c->end || *c->p != '=')
            return -1;
        c->p++;
        skip_blanks(c);
        if (c->p >= c->end || *c->p != '"')
            return -1;
        c->p++;
        promtext_str value;
        if (read_quoted(c, &value) != 0)
            return -1;
        if (s->n_labels == PROMTEXT_MAX_LABELS)
            return -1;
        for (size_t i = 0; i < s->n_labels; i++)
            if (s->labels[i].name.n == name.n && memcmp(s->labels[i].name.p, name.p, name.n) == 0)
                return -1; /* a label named twice: Prometheus refuses the sample */
        s->labels[s->n_labels].name = name;
        s->labels[s->n_labels].value = value;
        s->n_labels++;
        skip_blanks(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return 0;
        }
        return -1;
    }
}

/* name == family + suffix */
static int has_suffix(promtext_str name, promtext_str family, const char *suffix)
{
    size_t k = strlen(suffix);
    return name.n == family.n + k && memcmp(name.p, family.p, family.n) == 0 &&
           memcmp(name.p + family.n, suffix, k) == 0;
}

/* The value of label `which` as a number (le or quantile). */
static int label_number(const promtext_sample *s, const char *which, double *out)
{
    const promtext_label *l = promtext_label_get(s, which);
    char buf[PROMTEXT_MAX_NUMBER + 1];
    if (!l || promtext_unescape(l->value, buf, sizeof buf) >= sizeof buf)
        return -1;
    return parse_double((promtext_str){buf, strlen(buf)}, out);
}

/* Places the sample in the last TYPE line's family when its name belongs there. */
static int classify(promtext_sample *s, const family_state *f)
{
    s->family = s->name;
    s->type = PROMTEXT_UNTYPED;
    s->role = PROMTEXT_VALUE;
    if (f->name.n == 0)
        return 0;
    promtext_str n = s->name, fam = f->name;
    int same = n.n == fam.n && memcmp(n.p, fam.p, n.n) == 0;
    switch (f->type) {
    case PROMTEXT_HISTOGRAM:
        if (has_suffix(n, fam, "_bucket"))
            s->role = PROMTEXT_BUCKET;
        else if (has_suffix(n, fam, "_sum"))
            s->role = PROMTEXT_SUM;
        else if (has_suffix(n, fam, "_count"))
            s->role = PROMTEXT_COUNT;
        else if (same)
            return -1; /* a histogram has no bare series */
        else
            return 0;
        break;
    case PROMTEXT_SUMMARY:
        if (same)
            s->role = PROMTEXT_QUANTILE;
        else if (has_suffix(n, fam, "_sum"))
            s->role = PROMTEXT_SUM;
        else if (has_suffix(n, fam, "_count"))
            s->role = PROMTEXT_COUNT;
        else
            return 0;
        break;
    case PROMTEXT_COUNTER:
        /* OpenMetrics-minded exporters write TYPE without the _total their samples carry. */
        if (!same && !has_suffix(n, fam, "_total"))
            return 0;
        break;
    default:
        if (!same)
            return 0;
        break;
    }
    s->family = fam;
    s->type = f->type;
    if (s->role == PROMTEXT_BUCKET)
        return label_number(s, "le", &s->bound);
    if (s->role == PROMTEXT_QUANTILE)
        return label_number(s, "quantile", &s->bound);
    return 0;
}

/* "# HELP name doc" / "# TYPE name type" / any other comment. */
static int comment_line(cursor *c, family_state *f)
{
    c->p++; /* '#' */
    skip_blanks(c);
    promtext_str kw = read_token(c);
    int help = promtext_str_eq(kw, "HELP"), type = promtext_str_eq(kw, "TYPE");
    if (!help && !type)
        return 0;
    if (c->p == c->end || !is_blank(*c->p))
        return -1;
    skip_blanks(c);
    promtext_str name = read_name(c, 1);
    if (name.n == 0 || (c->p < c->end && !is_blank(*c->p)))
        return -1;
    skip_blanks(c);
    if (help) {
        /* The docstring may escape only '\' and line feed. */
        for (const char *q = c->p; q < c->end; q++) {
            if (*q != '\\')
                continue;
            if (q + 1 >= c->end || (q[1] != '\\' && q[1] != 'n'))
                return -1;
            q++;
        }
        return 0;
    }
    static const char *const names[] = {"untyped", "counter", "gauge", "histogram", "summary"};
    promtext_str t = read_token(c);
    skip_blanks(c);
    if (c->p != c->end)
        return -1;
    for (int i = 0; i < 5; i++) {
        if (promtext_str_eq(t, names[i])) {
            f->name = name;
            f->type = (promtext_type)i;
            return 0;
        }
    }
    return -1;
}

static int sample_line(cursor *c, promtext_sample *s, const family_state *f)
{
    s->n_labels = 0;
    s->bound = 0;
    s->has_timestamp = 0;
    s->timestamp_ms = 0;
    s->name = read_name(c, 1);
    if (s->name.n == 0)
        return -1;
    const char *after_name = c->p;
    skip_blanks(c);
    if (c->p < c->end && *c->p == '{') {
        c->p++;
        if (read_labels(c, s) != 0)
            return -1;
        after_name = c->p;
        skip_blanks(c);
    }
    if (c->p == after_name || c->p == c->end)
        return -1; /* a value must follow, after at least one blank */
    if (parse_double(read_token(c), &s->value) != 0)
        return -1;
    skip_blanks(c);
    if (c->p < c->end) {
        if (parse_int64(read_token(c), &s->timestamp_ms) != 0)
            return -1;
        s->has_timestamp = 1;
        skip_blanks(c);
        if (c->p != c->end)
            return -1;
    }
    return classify(s, f);
}

int promtext_parse(const char *buf, size_t len, promtext_cb cb, void *ud, promtext_stats *st)
{
    memset(st, 0, sizeof *st);
    family_state fam = {{NULL, 0}, PROMTEXT_UNTYPED};
    promtext_sample s;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        cursor c = {p, eol};
        if (c.end > c.p && c.end[-1] == '\r')
            c.end--; /* tolerated: some proxies rewrite line ends */
        p = nl ? nl + 1 : end;
        st->lines++;
        skip_blanks(&c);
        int bad = 0;
        if (c.p == c.end)
            continue;
        if (*c.p == '#') {
            bad = comment_line(&c, &fam) != 0;
        } else if ((bad = sample_line(&c, &s, &fam) != 0) == 0) {
            st->samples++;
            int stop = cb ? cb(ud, &s) : 0;
            if (stop)
                return stop;
        }
        if (bad) {
            st->bad++;
            if (!st->first_bad)
                st->first_bad = st->lines;
        }
    }
    return 0;
}
