/*
 * trace.c - trace replay's reader and prompt builder (config -> trace -> bench): parses Mooncake,
 * Azure, OpenTelemetry GenAI and llmload's own traces into offsets and lengths, sorted by offset,
 * and builds each request's prompt from seeded word streams (a Mooncake hash id's block from its
 * own stream, so shared ids give shared text). See trace.h for the formats.
 * Invariants: every record is checked against the limits below before it is stored (one error line
 * naming file and line otherwise); a loaded trace is read-only, so loops share it; trace_request
 * writes into its prompter's one buffer, sized at creation for the largest prompt, and allocates
 * nothing.
 */
#include "llmload/trace.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llmload/error.h"
#include "llmload/infile.h"

/* Every limit of the trace reader, in one place (style.md item 8). */
#define TRACE_MAX_FILE ((size_t)1 << 30)
#define TRACE_MAX_LINE ((size_t)16 << 20)   /* an OTLP export line may hold many spans */
#define TRACE_MAX_TOKENS 1000000L           /* input or output tokens of one request */
#define TRACE_MAX_IDS 4096u                 /* hash ids of one request: 2M tokens of blocks */
#define TRACE_MAX_PROMPT ((size_t)1 << 20)  /* a jsonl record's own prompt */
#define TRACE_MAX_ENTRIES 10000000u
#define TRACE_MAX_OFFSET_S 1e7              /* about 115 days, as --max-seconds */
#define TRACE_SESSION_SLOTS_MIN 1024u

/* Costs outside this range are a measuring accident (source.c clamps the same way). */
#define MIN_WORD_COST 0.25
#define MAX_WORD_COST 64.0
#define MAX_SKIPS 64
#define WORD_MAX 16
#define TRACE_MARKER_LEN 18 /* "id" and 16 hex digits, at the end of every built prompt */

typedef struct tentry {
    uint64_t offset_ns;
    long in, out;
    uint32_t session;
    uint32_t n_ids;
    size_t ids_at;
    size_t prompt_at, prompt_len;
    int has_prompt;
    size_t seq; /* order in the file: ties keep it (a stable sort) */
} tentry;

struct trace {
    trace_format fmt;
    const char *name;
    tentry *raw;
    size_t n, cap;
    uint64_t *ids;
    size_t n_ids, cap_ids;
    char *text;
    size_t text_len, text_cap;
    /* Sessions: a 64-bit hash of the id string -> its 1-based index (open addressing). */
    uint64_t *sess_keys;
    uint32_t *sess_vals;
    size_t sess_cap;
    uint32_t n_sessions;
    trace_entry *entries; /* the public view, built once the arenas stop moving */
};

/* One loop's prompt builder: the buffer and the word table, over a trace it only reads (so the
 * loops of --workers share one loaded trace). */
struct trace_prompter {
    const trace *t;
    char *buf;
    size_t buf_cap;
    const source_costs *costs;
    double min_cost, overhead;
    uint64_t salt;
    char words[256][WORD_MAX];
    uint8_t word_len[256];
};

/* ---- helpers ------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return mix64(h);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return LL_ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

/* The session's 1-based index, a new one for an id not seen yet. */
static int session_index(trace *t, const char *id, size_t len, uint32_t *out)
{
    if ((size_t)t->n_sessions * 2 + 2 > t->sess_cap) {
        size_t cap = t->sess_cap ? t->sess_cap * 2 : TRACE_SESSION_SLOTS_MIN;
        uint64_t *keys = calloc(cap, sizeof *keys);
        uint32_t *vals = calloc(cap, sizeof *vals);
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return LL_ENOMEM;
        }
        for (size_t i = 0; i < t->sess_cap; i++) {
            if (!t->sess_vals[i])
                continue;
            size_t k = t->sess_keys[i] & (cap - 1);
            while (vals[k])
                k = (k + 1) & (cap - 1);
            keys[k] = t->sess_keys[i];
            vals[k] = t->sess_vals[i];
        }
        free(t->sess_keys);
        free(t->sess_vals);
        t->sess_keys = keys;
        t->sess_vals = vals;
        t->sess_cap = cap;
    }
    uint64_t h = hash_bytes(id, len);
    size_t k = h & (t->sess_cap - 1);
    while (t->sess_vals[k]) {
        if (t->sess_keys[k] == h) {
            *out = t->sess_vals[k];
            return 0;
        }
        k = (k + 1) & (t->sess_cap - 1);
    }
    t->sess_keys[k] = h;
    t->sess_vals[k] = ++t->n_sessions;
    *out = t->sess_vals[k];
    return 0;
}

static int add_entry(trace *t, const tentry *e)
{
    if (t->n >= TRACE_MAX_ENTRIES)
        return LL_EOVERSIZE;
    if (grow((void **)&t->raw, &t->cap, t->n + 1, sizeof *t->raw, 1024))
        return LL_ENOMEM;
    t->raw[t->n] = *e;
    t->raw[t->n].seq = t->n;
    t->n++;
    return 0;
}

/* A whole count in [lo, TRACE_MAX_TOKENS] from a JSON number or numeric string; -1 when absent. */
static int json_tokens(const cJSON *x, long lo, long *out, const char **why)
{
    double v;
    if (!x)
        return -1;
    if (cJSON_IsNumber(x))
        v = x->valuedouble;
    else if (cJSON_IsString(x)) {
        char *end;
        v = strtod(x->valuestring, &end);
        if (end == x->valuestring || *end)
            v = NAN;
    } else
        v = NAN;
    if (!(v == floor(v)) || v < (double)lo || v > (double)TRACE_MAX_TOKENS) {
        *why = "a token count that is not a whole number in range";
        return LL_EPARSE;
    }
    *out = (long)v;
    return 0;
}

/* An offset in ms (>= 0, finite, within the limit) as ns. */
static int offset_ms(const cJSON *x, uint64_t *out, const char **why)
{
    if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0) || x->valuedouble > TRACE_MAX_OFFSET_S * 1e3) {
        *why = "a time offset that is not a number of ms from 0 to 1e10";
        return LL_EPARSE;
    }
    *out = (uint64_t)llround(x->valuedouble * 1e6);
    return 0;
}

/* Output lengths of 0 (a request that generated nothing) are sent as 1: max_tokens 0 is invalid. */
static long at_least_one(long v)
{
    return v < 1 ? 1 : v;
}

/* ---- Mooncake and llmload's jsonl ------------------------------------------------------------ */

static int rec_mooncake(trace *t, const cJSON *o, const char **why)
{
    tentry e = {0};
    int rc;
    if ((rc = offset_ms(cJSON_GetObjectItemCaseSensitive(o, "timestamp"), &e.offset_ns, why)))
        return rc;
    if ((rc = json_tokens(cJSON_GetObjectItemCaseSensitive(o, "input_length"), 1, &e.in, why)) != 0) {
        if (rc < 0 && rc != LL_EPARSE)
            *why = "no \"input_length\"";
        return LL_EPARSE;
    }
    if ((rc = json_tokens(cJSON_GetObjectItemCaseSensitive(o, "output_length"), 0, &e.out, why)) != 0) {
        if (rc != LL_EPARSE)
            *why = "no \"output_length\"";
        return LL_EPARSE;
    }
    e.out = at_least_one(e.out);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(o, "hash_ids");
    if (ids && !cJSON_IsArray(ids)) {
        *why = "\"hash_ids\" is not a list";
        return LL_EPARSE;
    }
    int n = cJSON_GetArraySize(ids);
    if (n < 0 || (unsigned)n > TRACE_MAX_IDS) {
        *why = "more than 4096 hash_ids";
        return LL_EOVERSIZE;
    }
    if (grow((void **)&t->ids, &t->cap_ids, t->n_ids + (size_t)n, sizeof *t->ids, 4096))
        return LL_ENOMEM;
    e.ids_at = t->n_ids;
    const cJSON *id;
    cJSON_ArrayForEach(id, ids)
    {
        if (!cJSON_IsNumber(id) || !(id->valuedouble >= 0) || id->valuedouble > 9007199254740992.0 ||
            id->valuedouble != floor(id->valuedouble)) {
            *why = "a hash id that is not a whole number >= 0";
            return LL_EPARSE;
        }
        t->ids[t->n_ids + e.n_ids++] = (uint64_t)id->valuedouble;
    }
    t->n_ids += e.n_ids;
    return add_entry(t, &e);
}

static int add_session(trace *t, const cJSON *s, tentry *e)
{
    char num[32];
    if (cJSON_IsString(s) && s->valuestring[0])
        return session_index(t, s->valuestring, strlen(s->valuestring), &e->session);
    if (cJSON_IsNumber(s)) {
        int n = snprintf(num, sizeof num, "%.17g", s->valuedouble);
        return session_index(t, num, (size_t)n, &e->session);
    }
    return 0;
}

static int rec_jsonl(trace *t, const cJSON *o, const char **why)
{
    tentry e = {0};
    int rc;
    if ((rc = offset_ms(cJSON_GetObjectItemCaseSensitive(o, "offset_ms"), &e.offset_ns, why)))
        return rc;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    if (p && !(cJSON_IsString(p) && p->valuestring[0])) {
        *why = "\"prompt\" is not a non-empty string";
        return LL_EPARSE;
    }
    rc = json_tokens(cJSON_GetObjectItemCaseSensitive(o, "input_tokens"), 1, &e.in, why);
    if (rc == LL_EPARSE)
        return rc;
    if (rc < 0 && !p) {
        *why = "no \"input_tokens\" (nor \"prompt\")";
        return LL_EPARSE;
    }
    if ((rc = json_tokens(cJSON_GetObjectItemCaseSensitive(o, "output_tokens"), 0, &e.out, why)) != 0) {
        if (rc != LL_EPARSE)
            *why = "no \"output_tokens\"";
        return LL_EPARSE;
    }
    e.out = at_least_one(e.out);
    if (p) {
        size_t len = strlen(p->valuestring);
        if (len > TRACE_MAX_PROMPT) {
            *why = "a prompt over 1 MiB";
            return LL_EOVERSIZE;
        }
        if (grow((void **)&t->text, &t->text_cap, t->text_len + len + 1, 1, 65536))
            return LL_ENOMEM;
        memcpy(t->text + t->text_len, p->valuestring, len + 1);
        e.prompt_at = t->text_len;
        e.prompt_len = len;
        e.has_prompt = 1;
        t->text_len += len + 1;
        if (!e.in) { /* words, as dataset.h counts them */
            int in = 0;
            for (size_t i = 0; i < len; i++) {
                int sp = isspace((unsigned char)p->valuestring[i]);
                e.in += !sp && !in;
                in = !sp;
            }
            if (e.in < 1)
                e.in = 1;
        }
    }
    if ((rc = add_session(t, cJSON_GetObjectItemCaseSensitive(o, "session"), &e)))
        return rc;
    return add_entry(t, &e);
}

/* ---- OpenTelemetry GenAI spans ---------------------------------------------------------------- */

/* An attribute's value: OTLP's [{"key":..,"value":{"intValue":..}}] list, or a flat object. */
static const cJSON *attr(const cJSON *attrs, const char *key)
{
    if (cJSON_IsObject(attrs))
        return cJSON_GetObjectItemCaseSensitive(attrs, key);
    const cJSON *a;
    cJSON_ArrayForEach(a, attrs)
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(a, "key");
        if (!cJSON_IsString(k) || strcmp(k->valuestring, key) != 0)
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "value");
        static const char *const kinds[] = {"intValue", "stringValue", "doubleValue"};
        for (size_t i = 0; i < 3; i++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(v, kinds[i]);
            if (x)
                return x;
        }
        return v;
    }
    return NULL;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* "YYYY-MM-DD[ T]HH:MM:SS[.fraction][Z]" (UTC, years 1970 to 2200) as ns since the epoch; -1 when
 * it is not one. */
static int64_t parse_datetime(const char *s, size_t n)
{
    unsigned v[6] = {0};
    static const char seps[] = {0, '-', '-', ' ', ':', ':'}; /* before each field; ' ' or 'T' */
    static const unsigned digits[] = {4, 2, 2, 2, 2, 2};
    size_t i = 0;
    for (int f = 0; f < 6; f++) {
        if (f > 0) {
            char c = i < n ? s[i] : 0;
            if (f == 3 ? (c != ' ' && c != 'T') : c != seps[f])
                return -1;
            i++;
        }
        for (unsigned k = 0; k < digits[f]; k++, i++) {
            if (i >= n || !isdigit((unsigned char)s[i]))
                return -1;
            v[f] = v[f] * 10 + (unsigned)(s[i] - '0');
        }
    }
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60 || v[0] < 1970 ||
        v[0] > 2200) /* int64 ns reach 2262 */
        return -1;
    int64_t frac = 0, scale = 1000000000;
    if (i < n && s[i] == '.') {
        i++;
        size_t start = i;
        while (i < n && isdigit((unsigned char)s[i])) {
            if (scale > 1) {
                scale /= 10;
                frac += (s[i] - '0') * scale;
            }
            i++;
        }
        if (i == start)
            return -1;
    }
    if (i < n && s[i] == 'Z')
        i++;
    if (i != n)
        return -1;
    int64_t days = days_from_civil(v[0], v[1], v[2]);
    return ((days * 86400 + v[3] * 3600 + v[4] * 60 + v[5]) * 1000000000LL) + frac;
}

/* A span's start in ns since the epoch: startTimeUnixNano (OTLP: a string of digits), or
 * start_time as ISO 8601 or a number (s, ms, us or ns by its size). -1 when absent or bad. */
static int64_t span_start(const cJSON *span)
{
    static const char *const nano_keys[] = {"startTimeUnixNano", "start_time_unix_nano"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(span, nano_keys[i]);
        if (cJSON_IsString(x)) {
            char *end;
            unsigned long long v = strtoull(x->valuestring, &end, 10);
            if (end == x->valuestring || *end || !isdigit((unsigned char)x->valuestring[0]) || v > (1ULL << 62))
                return -1;
            return (int64_t)v;
        }
        if (cJSON_IsNumber(x))
            return x->valuedouble >= 0 && x->valuedouble < 4.6e18 ? (int64_t)x->valuedouble : -1;
    }
    static const char *const keys[] = {"start_time", "startTime", "timestamp"};
    for (size_t i = 0; i < 3; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(span, keys[i]);
        if (cJSON_IsString(x))
            return parse_datetime(x->valuestring, strlen(x->valuestring));
        if (cJSON_IsNumber(x)) {
            double v = x->valuedouble;
            if (!(v >= 0) || v > 4.6e18)
                return -1;
            double scale = v > 1e17 ? 1 : v > 1e14 ? 1e3 : v > 1e11 ? 1e6 : 1e9;
            /* Whole units and the fraction apart: 1.7e18 ns in one double is off by up to 128 ns. */
            double whole = floor(v);
            if (v * scale > 4.6e18)
                return -1;
            return (int64_t)whole * (int64_t)scale + (int64_t)llround((v - whole) * scale);
        }
    }
    return -1;
}

/* One span: 1 when added, 0 when it is not a model call (no token counts, or an agent or tool
 * operation whose counts would double those of the calls inside it), or an error. */
static int otel_span(trace *t, const cJSON *span, int64_t *starts, const char **why)
{
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(span, "attributes");
    const cJSON *op = attr(attrs, "gen_ai.operation.name");
    if (cJSON_IsString(op) && strcmp(op->valuestring, "chat") != 0 && strcmp(op->valuestring, "text_completion") != 0 &&
        strcmp(op->valuestring, "generate_content") != 0)
        return 0;
    const cJSON *in = attr(attrs, "gen_ai.usage.input_tokens"), *out = attr(attrs, "gen_ai.usage.output_tokens");
    if (!in)
        in = attr(attrs, "gen_ai.usage.prompt_tokens"); /* the names before semconv 1.27 */
    if (!out)
        out = attr(attrs, "gen_ai.usage.completion_tokens");
    if (!in || !out)
        return 0;
    tentry e = {0};
    int rc;
    if ((rc = json_tokens(in, 1, &e.in, why)) || (rc = json_tokens(out, 0, &e.out, why)))
        return LL_EPARSE;
    e.out = at_least_one(e.out);
    int64_t start = span_start(span);
    if (start < 0) {
        *why = "a span without a valid start time (startTimeUnixNano or start_time)";
        return LL_EPARSE;
    }
    const cJSON *sess = attr(attrs, "gen_ai.conversation.id");
    if (!sess)
        sess = attr(attrs, "session.id");
    if ((rc = add_session(t, sess, &e)))
        return rc;
    /* The absolute start rides in offset_ns until every span is read (then: minus the earliest). */
    e.offset_ns = (uint64_t)start;
    if (start < *starts || *starts < 0)
        *starts = start;
    if ((rc = add_entry(t, &e)))
        return rc;
    return 1;
}

static int rec_otel(trace *t, const cJSON *o, int64_t *earliest, const char **why)
{
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "resourceSpans");
    if (!rs) {
        int rc = otel_span(t, o, earliest, why);
        return rc < 0 ? rc : 0;
    }
    const cJSON *r, *ss, *sp;
    cJSON_ArrayForEach(r, rs)
    {
        const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(r, "scopeSpans");
        if (!scopes)
            scopes = cJSON_GetObjectItemCaseSensitive(r, "instrumentationLibrarySpans");
        cJSON_ArrayForEach(ss, scopes)
        {
            cJSON_ArrayForEach(sp, cJSON_GetObjectItemCaseSensitive(ss, "spans"))
            {
                int rc = otel_span(t, sp, earliest, why);
                if (rc < 0)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- the line-oriented formats --------------------------------------------------------------- */

static trace_format guess_json(const cJSON *o)
{
    if (cJSON_GetObjectItemCaseSensitive(o, "hash_ids") || cJSON_GetObjectItemCaseSensitive(o, "input_length"))
        return TRACE_FORMAT_MOONCAKE;
    if (cJSON_GetObjectItemCaseSensitive(o, "offset_ms"))
        return TRACE_FORMAT_JSONL;
    if (cJSON_GetObjectItemCaseSensitive(o, "resourceSpans") || cJSON_GetObjectItemCaseSensitive(o, "attributes") ||
        cJSON_GetObjectItemCaseSensitive(o, "startTimeUnixNano"))
        return TRACE_FORMAT_OTEL;
    return TRACE_FORMAT_AUTO;
}

static int parse_lines(trace *t, const char *text, size_t len, char *err, size_t errlen)
{
    size_t line = 0;
    const char *p = text, *end = text + len;
    int64_t earliest = -1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *q = p;
        while (q < le && isspace((unsigned char)*q))
            q++;
        p = nl ? nl + 1 : end;
        if (q == le)
            continue;
        if ((size_t)(le - q) > TRACE_MAX_LINE) {
            snprintf(err, errlen, "--trace %.200s:%zu: a line over 16 MiB", t->name, line);
            return LL_EOVERSIZE;
        }
        cJSON *o = cJSON_ParseWithLength(q, (size_t)(le - q));
        if (!cJSON_IsObject(o)) {
            cJSON_Delete(o);
            snprintf(err, errlen, "--trace %.200s:%zu: not a JSON object", t->name, line);
            return LL_EPARSE;
        }
        if (t->fmt == TRACE_FORMAT_AUTO && (t->fmt = guess_json(o)) == TRACE_FORMAT_AUTO) {
            cJSON_Delete(o);
            snprintf(err, errlen,
                     "--trace %.200s:%zu: cannot tell the trace format from the first record (give "
                     "--trace-format mooncake|azure|otel|jsonl)",
                     t->name, line);
            return LL_EUSAGE;
        }
        const char *why = "out of memory";
        int rc = t->fmt == TRACE_FORMAT_MOONCAKE ? rec_mooncake(t, o, &why)
                 : t->fmt == TRACE_FORMAT_JSONL  ? rec_jsonl(t, o, &why)
                                                 : rec_otel(t, o, &earliest, &why);
        cJSON_Delete(o);
        if (rc < 0) {
            if (rc == LL_EOVERSIZE && t->n >= TRACE_MAX_ENTRIES)
                why = "more than 10,000,000 requests";
            snprintf(err, errlen, "--trace %.200s:%zu: %s", t->name, line, why);
            return rc;
        }
    }
    if (t->fmt == TRACE_FORMAT_OTEL && earliest >= 0) {
        for (size_t i = 0; i < t->n; i++)
            t->raw[i].offset_ns -= (uint64_t)earliest;
    }
    return 0;
}

/* ---- Azure CSV --------------------------------------------------------------------------------- */

/* Field k of a CSV line (no quoting in the published files; surrounding quotes are dropped). */
static int csv_nth(const char *s, const char *e, int k, const char **fs, size_t *fl)
{
    int col = 0;
    const char *f = s;
    for (const char *p = s;; p++) {
        if (p == e || *p == ',') {
            if (col == k) {
                const char *a = f, *b = p;
                while (a < b && isspace((unsigned char)*a))
                    a++;
                while (b > a && isspace((unsigned char)b[-1]))
                    b--;
                if (b - a >= 2 && *a == '"' && b[-1] == '"') {
                    a++;
                    b--;
                }
                *fs = a;
                *fl = (size_t)(b - a);
                return 0;
            }
            if (p == e)
                return -1;
            col++;
            f = p + 1;
        }
    }
}

static int csv_count(const char *s, size_t n, long lo, long *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end || !(v == floor(v)) || v < (double)lo || v > (double)TRACE_MAX_TOKENS)
        return -1;
    *out = (long)v;
    return 0;
}

static int parse_azure(trace *t, const char *text, size_t len, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    size_t line = 0;
    int cols[3] = {-1, -1, -1};
    static const char *const names[] = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"};
    int64_t first = -1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p;
        p = nl ? nl + 1 : end;
        line++;
        if (le > s && le[-1] == '\r')
            le--;
        if ((size_t)(le - s) > TRACE_MAX_LINE) {
            snprintf(err, errlen, "--trace %.200s:%zu: a line over 16 MiB", t->name, line);
            return LL_EOVERSIZE;
        }
        const char *q = s;
        while (q < le && isspace((unsigned char)*q))
            q++;
        if (q == le)
            continue;
        if (cols[0] < 0) { /* the header */
            for (int k = 0; k < 64; k++) {
                const char *f;
                size_t fl;
                if (csv_nth(s, le, k, &f, &fl) != 0)
                    break;
                for (int c = 0; c < 3; c++)
                    if (cols[c] < 0 && fl == strlen(names[c]) && strncasecmp(f, names[c], fl) == 0)
                        cols[c] = k;
            }
            if (cols[0] < 0 || cols[1] < 0 || cols[2] < 0) {
                snprintf(err, errlen,
                         "--trace %.200s:%zu: the Azure trace header needs TIMESTAMP, ContextTokens and "
                         "GeneratedTokens columns",
                         t->name, line);
                return LL_EPARSE;
            }
            continue;
        }
        const char *f[3];
        size_t fl[3];
        tentry e = {0};
        const char *why = NULL;
        int64_t ts = -1;
        for (int c = 0; c < 3 && !why; c++)
            if (csv_nth(s, le, cols[c], &f[c], &fl[c]) != 0)
                why = "fewer fields than the header";
        if (!why && (ts = parse_datetime(f[0], fl[0])) < 0)
            why = "TIMESTAMP is not a date and time such as 2023-11-16 18:15:46.6805900";
        if (!why && csv_count(f[1], fl[1], 1, &e.in) != 0)
            why = "ContextTokens is not a whole number from 1 to 1000000";
        if (!why && csv_count(f[2], fl[2], 0, &e.out) != 0)
            why = "GeneratedTokens is not a whole number from 0 to 1000000";
        if (!why) {
            if (first < 0)
                first = ts;
            /* Rows are offsets from the first one; the published files are in time order, and an
             * earlier row after it would be a negative offset. */
            if (ts < first)
                why = "a TIMESTAMP earlier than the first row's";
            else if ((double)(ts - first) > TRACE_MAX_OFFSET_S * 1e9)
                why = "a TIMESTAMP more than 1e7 s after the first row's";
        }
        if (why) {
            snprintf(err, errlen, "--trace %.200s:%zu: %s", t->name, line, why);
            return LL_EPARSE;
        }
        e.offset_ns = (uint64_t)(ts - first);
        e.out = at_least_one(e.out);
        int rc = add_entry(t, &e);
        if (rc) {
            snprintf(err, errlen, "--trace %.200s:%zu: %s", t->name, line,
                     rc == LL_EOVERSIZE ? "more than 10,000,000 requests" : ll_strerror(rc));
            return rc;
        }
    }
    if (cols[0] < 0) {
        snprintf(err, errlen, "--trace %.200s: empty (no header row)", t->name);
        return LL_EPARSE;
    }
    return 0;
}

/* ---- the trace -------------------------------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
    const tentry *x = a, *y = b;
    if (x->offset_ns != y->offset_ns)
        return x->offset_ns < y->offset_ns ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

const char *trace_format_name(trace_format f)
{
    static const char *const names[] = {"auto", "mooncake", "azure", "otel", "jsonl"};
    return (unsigned)f < 5 ? names[f] : "unknown";
}

int trace_parse(trace **out, const char *text, size_t len, const char *name, trace_format fmt, char *err,
                size_t errlen)
{
    *out = NULL;
    if (len > TRACE_MAX_FILE) {
        snprintf(err, errlen, "--trace %.200s: %zu bytes, over the 1 GiB limit for a trace", name, len);
        return LL_EOVERSIZE;
    }
    trace *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    t->name = name;
    t->fmt = fmt;
    /* A byte-order mark (spreadsheet exports write one) is not part of the first record. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    if (fmt == TRACE_FORMAT_AUTO) {
        const char *dot = strrchr(name, '.');
        if (dot && strcasecmp(dot, ".csv") == 0)
            t->fmt = TRACE_FORMAT_AZURE;
    }
    int rc = t->fmt == TRACE_FORMAT_AZURE ? parse_azure(t, text, len, err, errlen)
                                          : parse_lines(t, text, len, err, errlen);
    if (rc == 0 && t->n == 0) {
        snprintf(err, errlen, "--trace %.200s: no requests found%s", name,
                 t->fmt == TRACE_FORMAT_OTEL ? " (spans need gen_ai.usage.input_tokens and output_tokens)" : "");
        rc = LL_EPARSE;
    }
    if (rc == 0) {
        qsort(t->raw, t->n, sizeof *t->raw, cmp_entry);
        if (!(t->entries = malloc(t->n * sizeof *t->entries))) {
            snprintf(err, errlen, "out of memory");
            rc = LL_ENOMEM;
        }
    }
    if (rc != 0) {
        if (rc == LL_ENOMEM)
            snprintf(err, errlen, "out of memory reading --trace %.200s", name);
        trace_destroy(t);
        return rc;
    }
    /* The arenas no longer move: offsets become pointers. */
    for (size_t i = 0; i < t->n; i++) {
        const tentry *r = &t->raw[i];
        trace_entry *e = &t->entries[i];
        e->offset_ns = r->offset_ns;
        e->input_tokens = r->in;
        e->output_tokens = r->out;
        e->session = r->session;
        e->n_hash_ids = r->n_ids;
        e->hash_ids = r->n_ids ? t->ids + r->ids_at : NULL;
        e->prompt = r->has_prompt ? t->text + r->prompt_at : NULL;
        e->prompt_len = r->prompt_len;
    }
    free(t->raw);
    t->raw = NULL;
    free(t->sess_keys);
    free(t->sess_vals);
    t->sess_keys = NULL;
    t->sess_vals = NULL;
    t->name = NULL; /* borrowed only for the parse */
    *out = t;
    return 0;
}

int trace_load(trace **out, const char *path, trace_format fmt, char *err, size_t errlen)
{
    *out = NULL;
    char *buf = NULL, why[256];
    size_t len = 0;
    int rc = infile_read(path, TRACE_MAX_FILE, &buf, &len, why, sizeof why);
    if (rc != 0) {
        snprintf(err, errlen, "--trace: %s", why);
        return rc;
    }
    rc = trace_parse(out, buf, len, path, fmt, err, errlen);
    free(buf);
    return rc;
}

void trace_destroy(trace *t)
{
    if (!t)
        return;
    free(t->raw);
    free(t->ids);
    free(t->text);
    free(t->sess_keys);
    free(t->sess_vals);
    free(t->entries);
    free(t);
}

size_t trace_size(const trace *t) { return t->n; }
const trace_entry *trace_at(const trace *t, size_t i) { return &t->entries[i]; }
trace_format trace_kind(const trace *t) { return t->fmt; }
uint32_t trace_sessions(const trace *t) { return t->n_sessions; }
uint64_t trace_span_ns(const trace *t) { return t->n ? t->entries[t->n - 1].offset_ns : 0; }

/* ---- prompts ---------------------------------------------------------------------------------- */

static double word_cost(const trace_prompter *t, unsigned k)
{
    if (!t->costs)
        return 1.0;
    double c = t->costs->word[k];
    return c < MIN_WORD_COST ? MIN_WORD_COST : c > MAX_WORD_COST ? MAX_WORD_COST : c;
}

int trace_prompter_create(trace_prompter **out, const trace *tr, const source_costs *costs, uint64_t seed)
{
    *out = NULL;
    trace_prompter *t = calloc(1, sizeof *t);
    if (!t)
        return LL_ENOMEM;
    t->t = tr;
    t->costs = costs;
    t->salt = mix64(seed ^ 0x7472616365ULL);
    size_t longest = 0;
    t->min_cost = costs ? MAX_WORD_COST : 1.0;
    for (unsigned k = 0; k < 256; k++) {
        const char *w = source_vocab_word(k);
        size_t n = strlen(w);
        if (n > WORD_MAX - 2)
            n = WORD_MAX - 2;
        memcpy(t->words[k], w, n);
        t->words[k][n] = '\0';
        t->word_len[k] = (uint8_t)n;
        if (n > longest)
            longest = n;
        if (word_cost(t, k) < t->min_cost)
            t->min_cost = word_cost(t, k);
    }
    t->overhead = costs && costs->overhead > 0 ? costs->overhead : 0;
    /* Each part (block, or the request's own stream) adds words while its total stays within its
     * budget + 0.5; a partial block and the stream after it may each be budgeted what was left, so
     * the budgets add up to twice the input length at most. */
    size_t need = 1;
    for (size_t i = 0; i < tr->n; i++) {
        const trace_entry *e = &tr->entries[i];
        double words = (2.0 * (double)e->input_tokens + 0.5 * (e->n_hash_ids + 2)) / t->min_cost + e->n_hash_ids + 4;
        size_t b = e->prompt ? e->prompt_len + 1 : (size_t)words * (longest + 1) + TRACE_MARKER_LEN + 2;
        if (b > need)
            need = b;
    }
    if (!(t->buf = malloc(need))) {
        free(t);
        return LL_ENOMEM;
    }
    t->buf_cap = need;
    *out = t;
    return 0;
}

void trace_prompter_destroy(trace_prompter *p)
{
    if (!p)
        return;
    free(p->buf);
    free(p);
}

/* A word stream: 8 vocabulary words per 64-bit draw of a counter-based generator, so a stream is
 * a pure function of its key. */
typedef struct wstream {
    uint64_t state, bits;
    int left;
} wstream;

static unsigned ws_next(wstream *w)
{
    if (!w->left) {
        w->state += 0x9E3779B97F4A7C15ULL;
        w->bits = mix64(w->state);
        w->left = 8;
    }
    unsigned k = (unsigned)(w->bits & 0xff);
    w->bits >>= 8;
    w->left--;
    return k;
}

/* Appends the words of stream key while their cost stays within budget (to the nearest token).
 * exact = 0 stops at the first word that would overshoot, so that a shorter cut of a block is a
 * prefix of a longer one; exact = 1 skips it and draws on (up to MAX_SKIPS), to land on the count. */
static char *put_stream(const trace_prompter *t, char *dst, const char *start, uint64_t key, double budget, int exact,
                        double *spent)
{
    wstream w = {key, 0, 0};
    double acc = 0;
    int skips = 0;
    while (budget - acc >= t->min_cost - 0.5) {
        unsigned k = ws_next(&w);
        double c = word_cost(t, k);
        if (acc + c > budget + 0.5) {
            if (!exact || ++skips >= MAX_SKIPS)
                break;
            continue;
        }
        if (dst > start)
            *dst++ = ' ';
        memcpy(dst, t->words[k], t->word_len[k]);
        dst += t->word_len[k];
        acc += c;
    }
    *spent += acc;
    return dst;
}

int trace_request(trace_prompter *t, size_t i, source_request *out)
{
    if (i >= t->t->n)
        return LL_EINVAL;
    const trace_entry *e = &t->t->entries[i];
    out->prompt_tokens = e->input_tokens;
    out->prompt_tokens_asked = e->input_tokens;
    out->max_tokens = e->output_tokens;
    if (e->prompt) {
        out->prompt = e->prompt;
        out->prompt_len = e->prompt_len;
        return 0;
    }
    char *p = t->buf;
    /* The request ends with a marker unique to it, as source.c's prompts begin with one: the
     * calibrated overhead counts it (uncalibrated, it is one word), and at the end it leaves the
     * shared blocks in front intact for a prefix cache. */
    double left = (double)e->input_tokens - (t->costs ? t->overhead : 1.0), spent = 0;
    for (uint32_t j = 0; j < e->n_hash_ids && left - spent >= t->min_cost - 0.5; j++) {
        double b = left - spent;
        int partial = b < TRACE_BLOCK_TOKENS;
        if (!partial)
            b = TRACE_BLOCK_TOKENS;
        /* A full block's text depends on its id alone (its budget is always the block); what it
         * cost is counted, so the request's last part makes up for a block that landed short. */
        p = put_stream(t, p, t->buf, mix64(t->salt ^ mix64(e->hash_ids[j] + 0x626c6f636bULL)), b, partial, &spent);
    }
    /* Tokens past the blocks, or a request without any: a stream of its own. */
    uint64_t uniq = mix64(t->salt ^ mix64((uint64_t)i + 0x756e69717565ULL));
    if (left - spent >= t->min_cost - 0.5)
        p = put_stream(t, p, t->buf, uniq ^ 0x8000000000000000ULL, left - spent, 1, &spent);
    static const char hex[] = "0123456789abcdef";
    if (p > t->buf)
        *p++ = ' ';
    *p++ = 'i';
    *p++ = 'd';
    for (int k = 15; k >= 0; k--)
        *p++ = hex[(uniq >> (k * 4)) & 0xf];
    *p = '\0';
    out->prompt = t->buf;
    out->prompt_len = (size_t)(p - t->buf);
    return 0;
}
