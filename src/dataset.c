/*
 * dataset.c - reads a prompt dataset (config -> source); see include/llmload/dataset.h for the
 * formats. .jsonl and .txt are indexed in one pass over the file (a bounded line buffer) and read
 * back per request; .json and .csv are read whole, their prompts copied, unescaped, into one arena.
 * Invariant: an entry's bytes are a prompt of exactly len bytes once read back (a span of the file
 * or of the in-memory text, JSON-escaped or raw, or a place in the arena).
 */
#include "llmload/dataset.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmload/error.h"

#define DATASET_MAX_FILE ((size_t)1 << 30)   /* .json and .csv, read whole */
#define DATASET_MAX_PROMPT ((size_t)1 << 20)
#define DATASET_MAX_LINE ((size_t)16 << 20)  /* a streamed record's line */
#define DATASET_CHUNK ((size_t)1 << 20)      /* the index pass's reads */

enum entry_kind {
    KIND_ARENA = 0, /* decoded prompt in the arena at off */
    KIND_RAW,       /* raw bytes of the file (or text) at off: a .txt line */
    KIND_JSON       /* a JSON string literal's inside at off: unescaped when read */
};

typedef struct entry {
    uint64_t off;
    uint32_t raw_len;  /* bytes at off */
    uint32_t len;      /* the prompt's bytes once read back */
    int32_t prompt_tokens;
    int32_t output_tokens;
    uint32_t turn0, n_more; /* its later user turns: turns[turn0, turn0 + n_more) (sessions) */
    uint8_t kind;
} entry;

struct dataset {
    entry *entries;
    size_t n, cap;
    size_t max_records;    /* 0: all */
    char *arena;           /* .json/.csv prompts, NUL-terminated, back to back */
    size_t arena_len, arena_cap;
    int fd;                /* streamed file, or -1 */
    char *text;            /* dataset_parse's copy of the text (streamed formats), or NULL */
    char *buf;             /* the prompt read back; max_raw + 1 bytes */
    size_t max_prompt, max_raw;
    long default_output;
    /* Multi-turn records' later user turns (sessions), always in memory: only such records have
     * them, and a session reads them long after its first turn was read back. Their text lies in
     * turn_text at turn_offs until finish() turns the offsets into pointers. */
    dataset_turn *turns;
    size_t *turn_offs;
    size_t n_turns, cap_turns;
    char *turn_text;
    size_t turn_text_len, turn_text_cap;
};

static long count_words(const char *s, size_t n)
{
    long words = 0;
    int in = 0;
    for (size_t i = 0; i < n; i++) {
        int space = isspace((unsigned char)s[i]);
        if (!space && !in)
            words++;
        in = !space;
    }
    return words;
}

static int full(const dataset *d)
{
    return d->max_records > 0 && d->n >= d->max_records;
}

/* A new entry for a prompt whose decoded bytes are prompt[0, len) (counted here), kept as kind. */
static int push_entry(dataset *d, const char *prompt, size_t len, long output_tokens, int kind, uint64_t off,
                      size_t raw_len)
{
    if (len > DATASET_MAX_PROMPT)
        return LL_EOVERSIZE;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        entry *e = realloc(d->entries, cap * sizeof *e);
        if (!e)
            return LL_ENOMEM;
        d->entries = e;
        d->cap = cap;
    }
    entry *e = &d->entries[d->n++];
    long words = count_words(prompt, len);
    long out = output_tokens > 0 ? output_tokens : d->default_output;
    e->off = off;
    e->raw_len = (uint32_t)raw_len;
    e->len = (uint32_t)len;
    e->prompt_tokens = (int32_t)(words > INT32_MAX ? INT32_MAX : words);
    e->output_tokens = (int32_t)(out > INT32_MAX ? INT32_MAX : out);
    e->kind = (uint8_t)kind;
    e->turn0 = e->n_more = 0;
    if (len > d->max_prompt)
        d->max_prompt = len;
    if (raw_len > d->max_raw)
        d->max_raw = raw_len;
    return 0;
}

/* Adds a prompt to the arena (.json, .csv). */
static int add_entry(dataset *d, const char *prompt, size_t len, long output_tokens)
{
    if (len > DATASET_MAX_PROMPT)
        return LL_EOVERSIZE;
    if (d->arena_len + len + 1 > d->arena_cap) {
        size_t cap = d->arena_cap ? d->arena_cap : 65536;
        while (cap < d->arena_len + len + 1)
            cap *= 2;
        char *a = realloc(d->arena, cap);
        if (!a)
            return LL_ENOMEM;
        d->arena = a;
        d->arena_cap = cap;
    }
    int rc = push_entry(d, prompt, len, output_tokens, KIND_ARENA, d->arena_len, len);
    if (rc != 0)
        return rc;
    memcpy(d->arena + d->arena_len, prompt, len);
    d->arena[d->arena_len + len] = '\0';
    d->arena_len += len + 1;
    return 0;
}

/* ---- JSON string literals, read back without cJSON (no allocation) ---------------------- */

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* One character of a literal's inside at s (n bytes left): its UTF-8 bytes into out (at most 4),
 * how many in *produced; returns the bytes consumed (0 for a broken escape, which cJSON would
 * have refused). An escape never decodes to more bytes than it takes, so unescaping in place
 * is safe. A lone or reversed surrogate becomes U+FFFD. */
static size_t json_char(const char *s, size_t n, char out[4], size_t *produced)
{
    if (s[0] != '\\') {
        out[0] = s[0];
        *produced = 1;
        return 1;
    }
    if (n < 2)
        return 0;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = memchr(from, s[1], sizeof from - 1);
    if (k) {
        out[0] = to[k - from];
        *produced = 1;
        return 2;
    }
    unsigned cp, lo;
    if (s[1] != 'u' || n < 6 || hex4(s + 2, &cp) != 0)
        return 0;
    size_t used = 6;
    if (cp >= 0xD800 && cp <= 0xDBFF && n >= 12 && s[6] == '\\' && s[7] == 'u' && hex4(s + 8, &lo) == 0 &&
        lo >= 0xDC00 && lo <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        used = 12;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
        cp = 0xFFFD;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        *produced = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        *produced = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        *produced = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        *produced = 4;
    }
    return used;
}

/* Unescapes s[0, n) in place; returns the decoded length. */
static size_t json_unescape(char *s, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        char ch[4];
        size_t got, used = json_char(s + r, n - r, ch, &got);
        if (used == 0)
            break;
        memcpy(s + w, ch, got);
        r += used;
        w += got;
    }
    return w;
}

/* Where in line the string literal whose value is want[0, wlen) lies: the first literal that
 * decodes to want (or to want and then a NUL, which cJSON's strings end at). 0 with the inside's
 * offset and length, or -1. Every literal of the line is walked (keys and values alike), so the
 * record's layout does not matter. */
static int find_literal(const char *line, size_t len, const char *want, size_t wlen, size_t *off, size_t *raw)
{
    for (size_t i = 0; i < len; i++) {
        if (line[i] != '"')
            continue;
        size_t j = i + 1, got = 0;
        int same = 1;
        while (j < len && line[j] != '"') {
            char ch[4];
            size_t k, used = json_char(line + j, len - j, ch, &k);
            if (used == 0)
                return -1;
            for (size_t c = 0; c < k && same; c++, got++)
                if (got < wlen ? ch[c] != want[got] : (got == wlen && ch[c] != '\0'))
                    same = 0;
            j += used;
        }
        if (j >= len)
            return -1;
        if (same && got >= wlen) {
            *off = i + 1;
            *raw = j - i - 1;
            return 0;
        }
        i = j; /* past the closing quote */
    }
    return -1;
}

static const char *json_str(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) && x->valuestring[0] ? x->valuestring : NULL;
}

static long json_count(const cJSON *o)
{
    static const char *const keys[] = {"output_tokens", "max_tokens", "output_len"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
        if (cJSON_IsNumber(x) && x->valuedouble >= 1 && x->valuedouble <= 1e7)
            return (long)x->valuedouble;
    }
    return 0;
}

/* The first user turn of a chat (OpenAI "messages" or ShareGPT "conversations") and the words of
 * the answer after it. */
static const char *first_turn(const cJSON *turns, const char *role_key, const char *text_key, long *answer_words)
{
    const cJSON *t;
    const char *prompt = NULL;
    cJSON_ArrayForEach(t, turns)
    {
        const char *role = json_str(t, role_key), *text = json_str(t, text_key);
        if (!role || !text)
            continue;
        int user = strcmp(role, "user") == 0 || strcmp(role, "human") == 0;
        if (!prompt && user) {
            prompt = text;
        } else if (prompt && !user) {
            *answer_words = count_words(text, strlen(text));
            break;
        }
    }
    return prompt;
}

/* A JSON record's prompt (borrowed from o) and output length, or NULL when it has none; *chat
 * is the chat array the prompt came from ("messages" or "conversations"), else NULL. */
static const char *record_prompt(const cJSON *o, long *out_tokens, const cJSON **chat)
{
    *chat = NULL;
    if (!cJSON_IsObject(o))
        return NULL;
    long answer = 0;
    const char *p = json_str(o, "prompt");
    if (!p)
        p = json_str(o, "text");
    if (!p && (p = first_turn(cJSON_GetObjectItemCaseSensitive(o, "messages"), "role", "content", &answer)))
        *chat = cJSON_GetObjectItemCaseSensitive(o, "messages");
    if (!p && (p = first_turn(cJSON_GetObjectItemCaseSensitive(o, "conversations"), "from", "value", &answer)))
        *chat = cJSON_GetObjectItemCaseSensitive(o, "conversations");
    long out = json_count(o);
    *out_tokens = out ? out : answer;
    return p;
}

/* Sessions: the user turns after the first of the last entry's chat, each with the word count of
 * the reply that follows it in the file (its output length; else the default). The file's replies
 * themselves are not kept: a session sends the server's. */
static int add_more_turns(dataset *d, const cJSON *o, const cJSON *chat)
{
    int msgs = chat == cJSON_GetObjectItemCaseSensitive(o, "messages"); /* else ShareGPT's */
    const char *role_key = msgs ? "role" : "from", *text_key = msgs ? "content" : "value";
    const cJSON *t;
    int seen_first = 0;
    dataset_turn *last = NULL;
    size_t added = 0, first = d->n_turns;
    cJSON_ArrayForEach(t, chat)
    {
        const char *role = json_str(t, role_key), *text = json_str(t, text_key);
        if (!role || !text)
            continue;
        int user = strcmp(role, "user") == 0 || strcmp(role, "human") == 0;
        if (!user) {
            if (last && last->output_tokens == 0)
                last->output_tokens = count_words(text, strlen(text));
            continue;
        }
        if (!seen_first) {
            seen_first = 1;
            continue;
        }
        if (added + 1 >= UINT16_MAX) /* a turn index is 16 bits (record.turn) */
            break;
        size_t len = strlen(text);
        if (len > DATASET_MAX_PROMPT)
            return LL_EOVERSIZE;
        if (d->n_turns == d->cap_turns) {
            size_t cap = d->cap_turns ? d->cap_turns * 2 : 64;
            dataset_turn *nt = realloc(d->turns, cap * sizeof *nt);
            if (!nt)
                return LL_ENOMEM;
            d->turns = nt;
            size_t *no = realloc(d->turn_offs, cap * sizeof *no);
            if (!no)
                return LL_ENOMEM;
            d->turn_offs = no;
            d->cap_turns = cap;
        }
        if (d->turn_text_len + len + 1 > d->turn_text_cap) {
            size_t cap = d->turn_text_cap ? d->turn_text_cap : 65536;
            while (cap < d->turn_text_len + len + 1)
                cap *= 2;
            char *a = realloc(d->turn_text, cap);
            if (!a)
                return LL_ENOMEM;
            d->turn_text = a;
            d->turn_text_cap = cap;
        }
        memcpy(d->turn_text + d->turn_text_len, text, len);
        d->turn_text[d->turn_text_len + len] = '\0';
        d->turn_offs[d->n_turns] = d->turn_text_len;
        d->turn_text_len += len + 1;
        if (len > d->max_prompt)
            d->max_prompt = len;
        last = &d->turns[d->n_turns++];
        *last = (dataset_turn){.prompt = NULL, .prompt_len = len, .prompt_tokens = count_words(text, len)};
        added++;
    }
    for (size_t i = first; i < d->n_turns; i++)
        if (d->turns[i].output_tokens <= 0)
            d->turns[i].output_tokens = d->default_output;
    d->entries[d->n - 1].turn0 = (uint32_t)first;
    d->entries[d->n - 1].n_more = (uint32_t)added;
    return 0;
}

/* One JSON record kept in memory (.json); 0 when it was added, 1 when it has no prompt (skipped),
 * or an error. */
static int add_record(dataset *d, const cJSON *o)
{
    long out;
    const cJSON *chat;
    const char *p = record_prompt(o, &out, &chat);
    if (!p)
        return 1;
    int rc = add_entry(d, p, strlen(p), out);
    return rc == 0 && chat ? add_more_turns(d, o, chat) : rc;
}

/* One JSON Lines record at file offset base: indexed, its prompt left in the file. */
static int add_record_line(dataset *d, const cJSON *o, const char *line, size_t len, uint64_t base)
{
    long out;
    const cJSON *chat;
    const char *p = record_prompt(o, &out, &chat);
    if (!p)
        return 1;
    size_t plen = strlen(p), off, raw;
    if (plen > DATASET_MAX_PROMPT)
        return LL_EOVERSIZE;
    if (find_literal(line, len, p, plen, &off, &raw) != 0)
        return LL_EPARSE; /* cJSON found a string that the walk did not: not expected */
    int rc = push_entry(d, p, plen, out, KIND_JSON, base + off, raw);
    return rc == 0 && chat ? add_more_turns(d, o, chat) : rc;
}

/* ---- the index pass: lines of a file (read in chunks) or of a text in memory ------------- */

typedef struct lines {
    int fd;            /* -1: text in memory, all of it in buf */
    char *buf;         /* owned when fd >= 0 */
    size_t cap, start, end;
    uint64_t base;     /* file offset of buf[0] */
    int eof;
    size_t line;       /* 1-based number of the line last returned */
} lines;

/* The next line (without its '\n') and its file offset: 1, 0 at the end, or LL_EOVERSIZE (a line
 * over DATASET_MAX_LINE), LL_ENOMEM, LL_EIO. */
static int next_line(lines *l, const char **out, size_t *len, uint64_t *off)
{
    for (;;) {
        char *nl = l->end > l->start ? memchr(l->buf + l->start, '\n', l->end - l->start) : NULL;
        if (nl || (l->eof && l->end > l->start)) {
            size_t e = nl ? (size_t)(nl - l->buf) : l->end;
            *out = l->buf + l->start;
            *len = e - l->start;
            *off = l->base + l->start;
            l->start = nl ? e + 1 : e;
            l->line++;
            return 1;
        }
        if (l->eof)
            return 0;
        if (l->end - l->start > DATASET_MAX_LINE)
            return LL_EOVERSIZE;
        /* Move the unfinished line to the front, grow when it fills the buffer, read more. */
        memmove(l->buf, l->buf + l->start, l->end - l->start);
        l->base += l->start;
        l->end -= l->start;
        l->start = 0;
        if (l->cap - l->end < DATASET_CHUNK / 2) {
            size_t ncap = l->cap * 2;
            char *nb = realloc(l->buf, ncap);
            if (!nb)
                return LL_ENOMEM;
            l->buf = nb;
            l->cap = ncap;
        }
        ssize_t got;
        do
            got = read(l->fd, l->buf + l->end, l->cap - l->end);
        while (got < 0 && errno == EINTR);
        if (got < 0)
            return LL_EIO;
        if (got == 0)
            l->eof = 1;
        l->end += (size_t)got;
    }
}

static int parse_jsonl(dataset *d, lines *l, const char *name, char *err, size_t errlen)
{
    const char *p;
    size_t len;
    uint64_t off;
    int rc = 0;
    while (!full(d) && (rc = next_line(l, &p, &len, &off)) == 1) {
        size_t skip = 0;
        while (skip < len && isspace((unsigned char)p[skip]))
            skip++;
        if (skip == len)
            continue;
        cJSON *o = cJSON_ParseWithLength(p + skip, len - skip);
        if (!o) {
            snprintf(err, errlen, "--data %.200s:%zu: invalid JSON", name, l->line);
            return LL_EPARSE;
        }
        rc = add_record_line(d, o, p + skip, len - skip, off + skip);
        cJSON_Delete(o);
        if (rc < 0) {
            snprintf(err, errlen, "--data %.200s:%zu: %s", name, l->line,
                     rc == LL_EOVERSIZE ? "prompt over 1 MiB" : ll_strerror(rc));
            return rc;
        }
    }
    if (rc < 0)
        snprintf(err, errlen, "--data %.200s:%zu: %s", name, l->line + 1,
                 rc == LL_EOVERSIZE ? "a line over 16 MiB" : ll_strerror(rc));
    return rc < 0 ? rc : 0;
}

static int parse_json(dataset *d, const char *text, size_t len, const char *name, char *err, size_t errlen)
{
    cJSON *doc = cJSON_ParseWithLength(text, len);
    if (!doc) {
        snprintf(err, errlen, "--data %.200s: invalid JSON", name);
        return LL_EPARSE;
    }
    /* A top-level array of records, or {"data": [...]} as some dataset dumps have. */
    const cJSON *arr = cJSON_IsArray(doc) ? doc : cJSON_GetObjectItemCaseSensitive(doc, "data");
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(doc);
        snprintf(err, errlen, "--data %.200s: expected a JSON array of records", name);
        return LL_EPARSE;
    }
    const cJSON *o;
    int rc = 0;
    cJSON_ArrayForEach(o, arr)
    {
        if (full(d) || (rc = add_record(d, o)) < 0)
            break;
    }
    cJSON_Delete(doc);
    if (rc < 0) {
        snprintf(err, errlen, "--data %.200s: %s", name, rc == LL_EOVERSIZE ? "a prompt is over 1 MiB" : ll_strerror(rc));
        return rc;
    }
    return 0;
}

/* One CSV field (RFC 4180) starting at *pp into buf (unquoted); *at_eol set at a record's end. */
static int csv_field(const char **pp, const char *end, char **buf, size_t *cap, size_t *len, int *at_eol)
{
    const char *p = *pp;
    *len = 0;
    int quoted = p < end && *p == '"';
    if (quoted)
        p++;
    for (;;) {
        if (p >= end) {
            if (quoted)
                return LL_EPARSE; /* an unterminated quote */
            *at_eol = 1;
            break;
        }
        char ch = *p;
        if (quoted) {
            if (ch == '"') {
                if (p + 1 < end && p[1] == '"') {
                    p += 2;
                    ch = '"';
                } else {
                    quoted = 0;
                    p++;
                    continue;
                }
            } else {
                p++;
            }
        } else {
            if (ch == ',') {
                p++;
                *at_eol = 0;
                break;
            }
            if (ch == '\n' || ch == '\r') {
                p += (ch == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
                *at_eol = 1;
                break;
            }
            p++;
        }
        if (*len + 2 > *cap) {
            if (*len + 2 > DATASET_MAX_PROMPT + 2)
                return LL_EOVERSIZE;
            size_t ncap = *cap ? *cap * 2 : 1024;
            char *nb = realloc(*buf, ncap);
            if (!nb)
                return LL_ENOMEM;
            *buf = nb;
            *cap = ncap;
        }
        (*buf)[(*len)++] = ch;
    }
    if (*buf)
        (*buf)[*len] = '\0';
    *pp = p;
    return 0;
}

static int parse_csv(dataset *d, const char *text, size_t len, const char *name, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    char *field = NULL;
    size_t cap = 0, flen;
    int rc = 0, eol = 0;
    long prompt_col = -1, out_col = -1, col = 0;
    size_t row = 1;
    /* Header. */
    do {
        if ((rc = csv_field(&p, end, &field, &cap, &flen, &eol)) != 0)
            goto bad;
        const char *h = field ? field : "";
        if (prompt_col < 0 && (strcasecmp(h, "prompt") == 0 || strcasecmp(h, "text") == 0))
            prompt_col = col;
        if (out_col < 0 && (strcasecmp(h, "output_tokens") == 0 || strcasecmp(h, "max_tokens") == 0))
            out_col = col;
        col++;
    } while (!eol && p < end);
    if (prompt_col < 0) {
        free(field);
        snprintf(err, errlen, "--data %.200s: the CSV header has no \"prompt\" (or \"text\") column", name);
        return LL_EPARSE;
    }
    while (p < end && !full(d)) {
        row++;
        char *prompt = NULL;
        size_t plen = 0;
        long out = 0;
        col = 0;
        do {
            if ((rc = csv_field(&p, end, &field, &cap, &flen, &eol)) != 0) {
                free(prompt);
                goto bad;
            }
            if (col == prompt_col && flen) {
                free(prompt);
                if (!(prompt = malloc(flen + 1))) {
                    rc = LL_ENOMEM;
                    goto bad;
                }
                memcpy(prompt, field, flen + 1);
                plen = flen;
            } else if (col == out_col && flen) {
                out = strtol(field, NULL, 10);
            }
            col++;
        } while (!eol && p < end);
        if (prompt) {
            rc = add_entry(d, prompt, plen, out);
            free(prompt);
            if (rc)
                goto bad;
        }
    }
    free(field);
    return 0;
bad:
    free(field);
    snprintf(err, errlen, "--data %.200s: row %zu: %s", name, row,
             rc == LL_EPARSE ? "unterminated quoted field" : rc == LL_EOVERSIZE ? "a field over 1 MiB" : ll_strerror(rc));
    return rc;
}

static int parse_txt(dataset *d, lines *l, const char *name, char *err, size_t errlen)
{
    const char *p;
    size_t len;
    uint64_t off;
    int rc = 0;
    while (!full(d) && (rc = next_line(l, &p, &len, &off)) == 1) {
        size_t e = len, s = 0;
        if (e > 0 && p[e - 1] == '\r')
            e--;
        while (s < e && isspace((unsigned char)p[s]))
            s++;
        if (s < e && (rc = push_entry(d, p + s, e - s, 0, KIND_RAW, off + s, e - s)) != 0)
            break;
    }
    if (rc < 0)
        snprintf(err, errlen, "--data %.200s:%zu: %s", name, l->line,
                 rc == LL_EOVERSIZE ? "a line over 1 MiB" : ll_strerror(rc));
    return rc < 0 ? rc : 0;
}

static const char *extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : "";
}

static int is_streamed(const char *name)
{
    return strcasecmp(extension(name), "jsonl") == 0 || strcasecmp(extension(name), "txt") == 0;
}

static dataset *dataset_new(long default_output_tokens, long max_records)
{
    dataset *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->fd = -1;
    d->default_output = default_output_tokens > 0 ? default_output_tokens : 128;
    d->max_records = max_records > 0 ? (size_t)max_records : 0;
    return d;
}

/* The end of a load: no prompt is an error; the read-back buffer is sized. */
static int finish(dataset *d, const char *name, int rc, char *err, size_t errlen)
{
    if (rc == 0 && d->n == 0) {
        snprintf(err, errlen, "--data %.200s: no prompts found (records need \"prompt\", \"text\", \"messages\" or "
                 "\"conversations\")", name);
        rc = LL_EPARSE;
    }
    if (rc == 0 && !(d->buf = malloc(d->max_raw + 1))) {
        snprintf(err, errlen, "out of memory");
        rc = LL_ENOMEM;
    }
    /* The later turns' text no longer moves: offsets become pointers. */
    for (size_t i = 0; rc == 0 && i < d->n_turns; i++)
        d->turns[i].prompt = d->turn_text + d->turn_offs[i];
    return rc;
}

/* .json, .csv and formats not known: the whole text in memory. */
static int parse_whole(dataset *d, const char *text, size_t len, const char *name, char *err, size_t errlen)
{
    const char *ext = extension(name);
    if (len > DATASET_MAX_FILE) {
        snprintf(err, errlen, "--data %.200s: %zu bytes, over the 1 GiB limit for a .json or .csv dataset (use "
                 ".jsonl, which streams)", name, len);
        return LL_EOVERSIZE;
    }
    if (strcasecmp(ext, "json") == 0)
        return parse_json(d, text, len, name, err, errlen);
    if (strcasecmp(ext, "csv") == 0)
        return parse_csv(d, text, len, name, err, errlen);
    snprintf(err, errlen, "--data %.200s: unknown dataset format (use .jsonl, .json, .csv or .txt)", name);
    return LL_EUSAGE;
}

static int parse_lines(dataset *d, lines *l, const char *name, char *err, size_t errlen)
{
    return strcasecmp(extension(name), "jsonl") == 0 ? parse_jsonl(d, l, name, err, errlen)
                                                       : parse_txt(d, l, name, err, errlen);
}

int dataset_parse(dataset **out, const char *text, size_t len, const char *name, long default_output_tokens,
                  char *err, size_t errlen)
{
    *out = NULL;
    dataset *d = dataset_new(default_output_tokens, 0);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    int rc;
    if (is_streamed(name)) {
        /* The copy stands in for the file: entries are spans of it, read back by dataset_get. */
        if (!(d->text = malloc(len + 1))) {
            dataset_destroy(d);
            snprintf(err, errlen, "out of memory");
            return LL_ENOMEM;
        }
        memcpy(d->text, text, len);
        lines l = {.fd = -1, .buf = d->text, .cap = len, .end = len, .eof = 1};
        rc = parse_lines(d, &l, name, err, errlen);
    } else {
        rc = parse_whole(d, text, len, name, err, errlen);
    }
    if ((rc = finish(d, name, rc, err, errlen)) != 0) {
        dataset_destroy(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* A .json or .csv file, read whole (as before streaming: a regular file's size is checked first). */
static int load_whole(dataset *d, int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > DATASET_MAX_FILE) {
        snprintf(err, errlen, "--data %.200s: %llu bytes (%.1f GiB), over the 1 GiB limit for a .json or .csv "
                 "dataset (use .jsonl, which streams)", path, (unsigned long long)st.st_size,
                 (double)st.st_size / (double)((uint64_t)1 << 30));
        return LL_EOVERSIZE;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len + 65536 > cap) {
            size_t ncap = cap ? cap * 2 : 1 << 20;
            if (ncap > DATASET_MAX_FILE + 65536) {
                snprintf(err, errlen, "--data %.200s: over the 1 GiB limit for a .json or .csv dataset", path);
                rc = LL_EOVERSIZE;
                break;
            }
            char *nb = realloc(buf, ncap);
            if (!nb) {
                snprintf(err, errlen, "out of memory reading %.200s", path);
                rc = LL_ENOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t got;
        do
            got = read(fd, buf + len, 65536);
        while (got < 0 && errno == EINTR);
        if (got < 0) {
            snprintf(err, errlen, "--data %.200s: read error: %s", path, strerror(errno));
            rc = LL_EIO;
            break;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    if (rc == 0)
        rc = parse_whole(d, buf ? buf : "", len, path, err, errlen);
    free(buf);
    return rc;
}

int dataset_load(dataset **out, const char *path, long default_output_tokens, long max_records, char *err,
                 size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int missing = errno == ENOENT;
        snprintf(err, errlen, "--data %.200s: cannot open: %s", path, strerror(errno));
        return missing ? LL_ENOENT : LL_EIO;
    }
    dataset *d = dataset_new(default_output_tokens, max_records);
    if (!d) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    int rc;
    if (is_streamed(path)) {
        d->fd = fd;
        lines l = {.fd = fd, .buf = malloc(DATASET_CHUNK), .cap = DATASET_CHUNK};
        if (!l.buf) {
            snprintf(err, errlen, "out of memory");
            rc = LL_ENOMEM;
        } else {
            rc = parse_lines(d, &l, path, err, errlen);
            if (rc == LL_EIO)
                snprintf(err, errlen, "--data %.200s: read error: %s", path, strerror(errno));
        }
        free(l.buf);
    } else {
        rc = load_whole(d, fd, path, err, errlen);
        close(fd);
    }
    if ((rc = finish(d, path, rc, err, errlen)) != 0) {
        dataset_destroy(d);
        return rc;
    }
    *out = d;
    return 0;
}

size_t dataset_size(const dataset *d) { return d->n; }
size_t dataset_max_prompt_bytes(const dataset *d) { return d->max_prompt; }

size_t dataset_buf_bytes(const dataset *d) { return d->max_raw + 1; }
int dataset_multi_turn(const dataset *d) { return d->n_turns > 0; }

int dataset_get(dataset *d, size_t i, dataset_entry *out)
{
    return dataset_read(d, i, d->buf, out);
}

int dataset_read(const dataset *d, size_t i, char *buf, dataset_entry *out)
{
    const entry *e = &d->entries[i];
    out->prompt_len = e->len;
    out->prompt_tokens = e->prompt_tokens;
    out->output_tokens = e->output_tokens;
    out->more_turns = e->n_more ? d->turns + e->turn0 : NULL;
    out->n_more_turns = e->n_more;
    if (e->kind == KIND_ARENA) {
        out->prompt = d->arena + e->off;
        return 0;
    }
    if (d->fd >= 0) {
        size_t got = 0;
        while (got < e->raw_len) {
            ssize_t r = pread(d->fd, buf + got, e->raw_len - got, (off_t)(e->off + got));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return LL_EIO; /* the file shrank or failed under the run */
            got += (size_t)r;
        }
    } else {
        memcpy(buf, d->text + e->off, e->raw_len);
    }
    /* The decoded length was counted at indexing; a literal that holds a NUL stops there. */
    if (e->kind == KIND_JSON)
        json_unescape(buf, e->raw_len);
    buf[e->len] = '\0';
    out->prompt = buf;
    return 0;
}

void dataset_destroy(dataset *d)
{
    if (!d)
        return;
    if (d->fd >= 0)
        close(d->fd);
    free(d->entries);
    free(d->turns);
    free(d->turn_offs);
    free(d->turn_text);
    free(d->arena);
    free(d->text);
    free(d->buf);
    free(d);
}
