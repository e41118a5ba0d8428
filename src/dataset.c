/*
 * dataset.c - reads a prompt dataset once at start (config -> source); see include/llmload/dataset.h
 * for the formats. Prompts are copied, unescaped, into one arena; entries point into it.
 */
#include "llmload/dataset.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "llmload/error.h"

#define DATASET_MAX_FILE ((size_t)1 << 30)
#define DATASET_MAX_PROMPT ((size_t)1 << 20)

struct dataset {
    dataset_entry *entries;
    size_t *offsets;       /* each prompt's place in the arena, while the arena may still move */
    size_t n, cap;
    char *arena;           /* every prompt, NUL-terminated, back to back */
    size_t arena_len, arena_cap;
    size_t max_prompt;
    long default_output;
    /* Later user turns of multi-turn records (sessions), in record order: each entry's
     * n_more_turns of them follow the previous entry's; prompts in the arena at turn_offsets. */
    dataset_turn *turns;
    size_t *turn_offsets;
    size_t n_turns, cap_turns;
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

/* Adds a prompt; its arena offset is kept aside until the end, since the arena moves as it grows. */
static int add_entry(dataset *d, const char *prompt, size_t len, long output_tokens)
{
    if (len > DATASET_MAX_PROMPT)
        return LL_EOVERSIZE;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        dataset_entry *e = realloc(d->entries, cap * sizeof *e);
        if (!e)
            return LL_ENOMEM;
        d->entries = e;
        size_t *o = realloc(d->offsets, cap * sizeof *o);
        if (!o)
            return LL_ENOMEM;
        d->offsets = o;
        d->cap = cap;
    }
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
    memcpy(d->arena + d->arena_len, prompt, len);
    d->arena[d->arena_len + len] = '\0';
    d->offsets[d->n] = d->arena_len;
    dataset_entry *e = &d->entries[d->n++];
    e->prompt = NULL; /* set once the arena stops moving */
    e->prompt_len = len;
    e->prompt_tokens = count_words(prompt, len);
    e->output_tokens = output_tokens > 0 ? output_tokens : d->default_output;
    e->more_turns = NULL; /* add_more_turns fills them for a multi-turn chat */
    e->n_more_turns = 0;
    d->arena_len += len + 1;
    if (len > d->max_prompt)
        d->max_prompt = len;
    return 0;
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

/* Sessions: the user turns after the first of a chat record, each with the word count of the reply
 * that follows it in the file (its output length; else the default), become the last entry's
 * more_turns. The file's replies themselves are not kept: a session sends the server's. */
static int add_more_turns(dataset *d, const cJSON *turns, const char *role_key, const char *text_key)
{
    const cJSON *t;
    int seen_first = 0;
    dataset_turn *last = NULL;
    size_t added = 0;
    cJSON_ArrayForEach(t, turns)
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
            size_t *no = realloc(d->turn_offsets, cap * sizeof *no);
            if (!no)
                return LL_ENOMEM;
            d->turn_offsets = no;
            d->cap_turns = cap;
        }
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
        memcpy(d->arena + d->arena_len, text, len);
        d->arena[d->arena_len + len] = '\0';
        d->turn_offsets[d->n_turns] = d->arena_len;
        d->arena_len += len + 1;
        if (len > d->max_prompt)
            d->max_prompt = len;
        last = &d->turns[d->n_turns++];
        *last = (dataset_turn){.prompt = NULL, .prompt_len = len, .prompt_tokens = count_words(text, len)};
        added++;
    }
    for (size_t i = d->n_turns - added; i < d->n_turns; i++)
        if (d->turns[i].output_tokens <= 0)
            d->turns[i].output_tokens = d->default_output;
    d->entries[d->n - 1].n_more_turns = added;
    return 0;
}

/* One JSON record; 0 when it was added, 1 when it has no prompt (skipped), or an error. */
static int add_record(dataset *d, const cJSON *o)
{
    if (!cJSON_IsObject(o))
        return 1;
    long answer = 0;
    const char *p = json_str(o, "prompt");
    if (!p)
        p = json_str(o, "text");
    const char *chat = NULL; /* the array the prompt came from, if a chat */
    if (!p && (p = first_turn(cJSON_GetObjectItemCaseSensitive(o, "messages"), "role", "content", &answer)))
        chat = "messages";
    if (!p && (p = first_turn(cJSON_GetObjectItemCaseSensitive(o, "conversations"), "from", "value", &answer)))
        chat = "conversations";
    if (!p)
        return 1;
    long out = json_count(o);
    int rc = add_entry(d, p, strlen(p), out ? out : answer);
    if (rc == 0 && chat) {
        int msgs = strcmp(chat, "messages") == 0;
        rc = add_more_turns(d, cJSON_GetObjectItemCaseSensitive(o, chat), msgs ? "role" : "from",
                            msgs ? "content" : "value");
    }
    return rc;
}

static int parse_jsonl(dataset *d, const char *text, size_t len, const char *name, char *err, size_t errlen)
{
    size_t line = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *q = p;
        while (q < le && isspace((unsigned char)*q))
            q++;
        if (q < le) {
            cJSON *o = cJSON_ParseWithLength(q, (size_t)(le - q));
            if (!o) {
                snprintf(err, errlen, "--data %.200s:%zu: invalid JSON", name, line);
                return LL_EPARSE;
            }
            int rc = add_record(d, o);
            cJSON_Delete(o);
            if (rc < 0) {
                snprintf(err, errlen, "--data %.200s:%zu: %s", name, line,
                         rc == LL_EOVERSIZE ? "prompt over 1 MiB" : ll_strerror(rc));
                return rc;
            }
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
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
        if ((rc = add_record(d, o)) < 0)
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
    while (p < end) {
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

static int parse_txt(dataset *d, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *e = le;
        if (e > p && e[-1] == '\r')
            e--;
        const char *s = p;
        while (s < e && isspace((unsigned char)*s))
            s++;
        if (s < e) {
            int rc = add_entry(d, s, (size_t)(e - s), 0);
            if (rc)
                return rc;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static const char *extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : "";
}

int dataset_parse(dataset **out, const char *text, size_t len, const char *name, long default_output_tokens,
                  char *err, size_t errlen)
{
    *out = NULL;
    if (len > DATASET_MAX_FILE) {
        snprintf(err, errlen, "--data %.200s: %zu bytes, over the 1 GiB limit for a dataset file", name, len);
        return LL_EOVERSIZE;
    }
    dataset *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    d->default_output = default_output_tokens > 0 ? default_output_tokens : 128;
    const char *ext = extension(name);
    int rc;
    if (strcasecmp(ext, "jsonl") == 0)
        rc = parse_jsonl(d, text, len, name, err, errlen);
    else if (strcasecmp(ext, "json") == 0)
        rc = parse_json(d, text, len, name, err, errlen);
    else if (strcasecmp(ext, "csv") == 0)
        rc = parse_csv(d, text, len, name, err, errlen);
    else if (strcasecmp(ext, "txt") == 0) {
        rc = parse_txt(d, text, len);
        if (rc)
            snprintf(err, errlen, "--data %.200s: %s", name, rc == LL_EOVERSIZE ? "a line over 1 MiB" : ll_strerror(rc));
    } else {
        snprintf(err, errlen, "--data %.200s: unknown dataset format (use .jsonl, .json, .csv or .txt)", name);
        rc = LL_EUSAGE;
    }
    if (rc == 0 && d->n == 0) {
        snprintf(err, errlen, "--data %.200s: no prompts found (records need \"prompt\", \"text\", \"messages\" or "
                 "\"conversations\")", name);
        rc = LL_EPARSE;
    }
    if (rc != 0) {
        dataset_destroy(d);
        return rc;
    }
    /* The arena no longer moves: offsets become pointers. */
    for (size_t i = 0; i < d->n; i++)
        d->entries[i].prompt = d->arena + d->offsets[i];
    for (size_t i = 0; i < d->n_turns; i++)
        d->turns[i].prompt = d->arena + d->turn_offsets[i];
    /* Entries and their later turns were appended in the same order. */
    for (size_t i = 0, t = 0; i < d->n; i++) {
        d->entries[i].more_turns = d->entries[i].n_more_turns ? d->turns + t : NULL;
        t += d->entries[i].n_more_turns;
    }
    *out = d;
    return 0;
}

int dataset_load(dataset **out, const char *path, long default_output_tokens, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int missing = errno == ENOENT;
        snprintf(err, errlen, "--data %.200s: cannot open: %s", path, strerror(errno));
        return missing ? LL_ENOENT : LL_EIO;
    }
    /* A regular file's size is known before reading: one too large is refused at once, not after
     * a gigabyte has been read into memory (a pipe is still checked as it is read). */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > DATASET_MAX_FILE) {
        snprintf(err, errlen, "--data %.200s: %llu bytes (%.1f GiB), over the 1 GiB limit for a dataset file", path,
                 (unsigned long long)st.st_size, (double)st.st_size / (double)((uint64_t)1 << 30));
        fclose(f);
        return LL_EOVERSIZE;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len + 65536 > cap) {
            size_t ncap = cap ? cap * 2 : 1 << 20;
            if (ncap > DATASET_MAX_FILE + 65536) {
                snprintf(err, errlen, "--data %.200s: over the 1 GiB limit for a dataset file", path);
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
        size_t got = fread(buf + len, 1, 65536, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "--data %.200s: read error", path);
                rc = LL_EIO;
            }
            break;
        }
    }
    fclose(f);
    if (rc == 0)
        rc = dataset_parse(out, buf ? buf : "", len, path, default_output_tokens, err, errlen);
    free(buf);
    return rc;
}

size_t dataset_size(const dataset *d) { return d->n; }
const dataset_entry *dataset_at(const dataset *d, size_t i) { return &d->entries[i]; }
size_t dataset_max_prompt_bytes(const dataset *d) { return d->max_prompt; }

void dataset_destroy(dataset *d)
{
    if (!d)
        return;
    free(d->entries);
    free(d->offsets);
    free(d->turns);
    free(d->turn_offsets);
    free(d->arena);
    free(d);
}
