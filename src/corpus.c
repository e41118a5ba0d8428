/*
 * corpus.c - the prompt corpus (see corpus.h). The novel is compiled in flat, its pieces joined by
 * single spaces (the build's scripts/flatten-text.py, the same rule as corpus_create_text's), so a
 * window of n pieces is one memcpy of a span of it, and creating a corpus is one memchr pass that
 * indexes piece offsets and sentence starts (a source is made per benchmark and worker loop, just
 * before its start time: it must be quick).
 * Invariant: every piece is non-empty and holds no whitespace; off[i + 1] - off[i] is piece i's
 * length plus its one trailing space; sentence 0 starts at piece 0.
 */
#include "llmload/corpus.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corpus_text.h"
#include "llmload/error.h"

#define CORPUS_MAX_PIECE 65535u

struct corpus {
    const char *flat;    /* the pieces, each followed by one space: the embedded text or own */
    char *own;           /* corpus_create_text's flat copy */
    uint32_t *off;       /* n + 1 offsets into flat: piece i starts at off[i] */
    size_t n;
    uint32_t *sentences; /* piece index of each sentence start */
    size_t n_sentences;
};

const char *corpus_title(void)
{
    return "Persuasion, Jane Austen (1818; Project Gutenberg, public domain)";
}

int corpus_is_word_byte(unsigned char ch)
{
    return ch >= 0x80 || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_space(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* A piece that ends a sentence: its last byte, past closing quotes and brackets, is . ! or ?. */
static int ends_sentence(const char *p, size_t len)
{
    while (len > 0 && (p[len - 1] == '"' || p[len - 1] == '\'' || p[len - 1] == ')'))
        len--;
    return len > 0 && (p[len - 1] == '.' || p[len - 1] == '!' || p[len - 1] == '?');
}

/* A piece that can open one: a capital letter, after an opening quote or bracket if any. */
static int starts_sentence(const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && (p[i] == '"' || p[i] == '\'' || p[i] == '('))
        i++;
    return i < len && p[i] >= 'A' && p[i] <= 'Z';
}

/* Indexes c->flat (len bytes of pieces, each followed by one space). 0 or LL_ENOMEM. */
static int index_flat(corpus *c, size_t len)
{
    size_t n = 0, n_sent = 0;
    int prev_ends = 1;
    for (const char *p = c->flat, *end = c->flat + len; p < end;) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        if (n == 0 || (prev_ends && starts_sentence(p, (size_t)(sp - p))))
            n_sent++;
        prev_ends = ends_sentence(p, (size_t)(sp - p));
        n++;
        p = sp + 1;
    }
    c->off = malloc((n + 1) * sizeof *c->off);
    c->sentences = malloc(n_sent * sizeof *c->sentences);
    if (!c->off || !c->sentences)
        return LL_ENOMEM;
    prev_ends = 1;
    for (const char *p = c->flat, *end = c->flat + len; p < end;) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        if (c->n == 0 || (prev_ends && starts_sentence(p, (size_t)(sp - p))))
            c->sentences[c->n_sentences++] = (uint32_t)c->n;
        prev_ends = ends_sentence(p, (size_t)(sp - p));
        c->off[c->n++] = (uint32_t)(p - c->flat);
        p = sp + 1;
    }
    c->off[c->n] = (uint32_t)len;
    return 0;
}

int corpus_create_text(corpus **out, const char *text, size_t len)
{
    *out = NULL;
    if (len > (size_t)INT32_MAX)
        return LL_EOVERSIZE;
    corpus *c = calloc(1, sizeof *c);
    char *flat = malloc(len + 1);
    if (!c || !flat) {
        free(c);
        free(flat);
        return LL_ENOMEM;
    }
    c->flat = c->own = flat;
    /* Flatten: each piece followed by one space (scripts/flatten-text.py does the same at build). */
    char *p = flat;
    for (size_t i = 0; i < len;) {
        while (i < len && is_space((unsigned char)text[i]))
            i++;
        size_t start = i;
        while (i < len && !is_space((unsigned char)text[i]))
            i++;
        if (i == start)
            break;
        if (i - start > CORPUS_MAX_PIECE) {
            corpus_destroy(c);
            return LL_EOVERSIZE;
        }
        memcpy(p, text + start, i - start);
        p += i - start;
        *p++ = ' ';
    }
    *p = '\0';
    int rc = p == flat ? LL_EINVAL : index_flat(c, (size_t)(p - flat));
    if (rc != 0) {
        corpus_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}

int corpus_create(corpus **out)
{
    *out = NULL;
    corpus *c = calloc(1, sizeof *c);
    if (!c)
        return LL_ENOMEM;
    c->flat = (const char *)corpus_flat;
    if (index_flat(c, corpus_flat_LEN) != 0) {
        corpus_destroy(c);
        return LL_ENOMEM;
    }
    *out = c;
    return 0;
}

void corpus_destroy(corpus *c)
{
    if (!c)
        return;
    free(c->own);
    free(c->off);
    free(c->sentences);
    free(c);
}

size_t corpus_pieces(const corpus *c) { return c->n; }
size_t corpus_sentences(const corpus *c) { return c->n_sentences; }
size_t corpus_sentence(const corpus *c, size_t k) { return c->sentences[k]; }

const char *corpus_piece(const corpus *c, size_t i, size_t *len)
{
    *len = c->off[i + 1] - c->off[i] - 1;
    return c->flat + c->off[i];
}

size_t corpus_copy(const corpus *c, size_t i, size_t n, char *dst)
{
    size_t done = 0;
    while (n > 0) {
        size_t k = n < c->n - i ? n : c->n - i;
        size_t bytes = c->off[i + k] - c->off[i];
        memcpy(dst + done, c->flat + c->off[i], bytes);
        done += bytes;
        n -= k;
        i = 0;
    }
    return done ? done - 1 : 0; /* the last piece's trailing space is not part of the window */
}

size_t corpus_runs(const corpus *c, size_t len, const char **out, size_t max)
{
    size_t got = 0;
    for (size_t i = 0; i < c->n && got < max; i++) {
        size_t plen;
        const char *p = corpus_piece(c, i, &plen);
        for (size_t j = 0; j < plen && got < max;) {
            if (!corpus_is_word_byte((unsigned char)p[j])) {
                j++;
                continue;
            }
            size_t start = j;
            while (j < plen && corpus_is_word_byte((unsigned char)p[j]))
                j++;
            if (j - start != len)
                continue;
            size_t k = 0;
            while (k < got && memcmp(out[k], p + start, len) != 0)
                k++;
            if (k == got)
                out[got++] = p + start;
        }
    }
    return got;
}

size_t corpus_punct(const corpus *c, char *out, size_t cap)
{
    unsigned char seen[256] = {0};
    size_t got = 0;
    for (size_t i = 0; i < c->n; i++) {
        size_t plen;
        const unsigned char *p = (const unsigned char *)corpus_piece(c, i, &plen);
        for (size_t j = 0; j < plen; j++)
            if (!corpus_is_word_byte(p[j]) && !seen[p[j]] && got + 1 < cap) {
                seen[p[j]] = 1;
                out[got++] = (char)p[j];
            }
    }
    out[got] = '\0';
    return got;
}

size_t corpus_window_bytes(const corpus *c, size_t n)
{
    size_t total = c->off[c->n];
    size_t whole = n / c->n, rest = n % c->n;
    size_t best = 0;
    /* The window of rest pieces from each start, cycling past the end. */
    for (size_t i = 0; rest && i < c->n; i++) {
        size_t bytes = i + rest <= c->n ? c->off[i + rest] - c->off[i] : total - c->off[i] + c->off[i + rest - c->n];
        if (bytes > best)
            best = bytes;
    }
    return whole * total + best;
}
