/*
 * corpus.c - the prompt corpus (see corpus.h): the embedded novel indexed as pieces and sentence
 * starts at creation, one pass, pieces pointing into the text (never copied).
 * Invariant: every piece is non-empty and holds no whitespace; sentence 0 starts at piece 0.
 */
#include "llmload/corpus.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corpus_text.h"
#include "llmload/error.h"

#define CORPUS_MAX_PIECE 65535u

typedef struct piece {
    uint32_t off;
    uint16_t len;
} piece;

struct corpus {
    const char *text;
    piece *pieces;
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

int corpus_create_text(corpus **out, const char *text, size_t len)
{
    *out = NULL;
    if (len > (size_t)INT32_MAX)
        return LL_EOVERSIZE;
    /* Count first, so each array is allocated once at its size. */
    size_t n = 0, n_sent = 0;
    int prev_ends = 1;
    for (size_t i = 0; i < len;) {
        while (i < len && is_space((unsigned char)text[i]))
            i++;
        size_t start = i;
        while (i < len && !is_space((unsigned char)text[i]))
            i++;
        if (i == start)
            break;
        if (i - start > CORPUS_MAX_PIECE)
            return LL_EOVERSIZE;
        if (n == 0 || (prev_ends && starts_sentence(text + start, i - start)))
            n_sent++;
        prev_ends = ends_sentence(text + start, i - start);
        n++;
    }
    if (n == 0)
        return LL_EINVAL;
    corpus *c = calloc(1, sizeof *c);
    if (!c)
        return LL_ENOMEM;
    c->text = text;
    c->pieces = malloc(n * sizeof *c->pieces);
    c->sentences = malloc(n_sent * sizeof *c->sentences);
    if (!c->pieces || !c->sentences) {
        corpus_destroy(c);
        return LL_ENOMEM;
    }
    prev_ends = 1;
    for (size_t i = 0; i < len;) {
        while (i < len && is_space((unsigned char)text[i]))
            i++;
        size_t start = i;
        while (i < len && !is_space((unsigned char)text[i]))
            i++;
        if (i == start)
            break;
        if (c->n == 0 || (prev_ends && starts_sentence(text + start, i - start)))
            c->sentences[c->n_sentences++] = (uint32_t)c->n;
        prev_ends = ends_sentence(text + start, i - start);
        c->pieces[c->n].off = (uint32_t)start;
        c->pieces[c->n].len = (uint16_t)(i - start);
        c->n++;
    }
    *out = c;
    return 0;
}

int corpus_create(corpus **out)
{
    return corpus_create_text(out, (const char *)corpus_text, corpus_text_LEN);
}

void corpus_destroy(corpus *c)
{
    if (!c)
        return;
    free(c->pieces);
    free(c->sentences);
    free(c);
}

size_t corpus_pieces(const corpus *c) { return c->n; }
size_t corpus_sentences(const corpus *c) { return c->n_sentences; }
size_t corpus_sentence(const corpus *c, size_t k) { return c->sentences[k]; }

const char *corpus_piece(const corpus *c, size_t i, size_t *len)
{
    *len = c->pieces[i].len;
    return c->text + c->pieces[i].off;
}

size_t corpus_runs(const corpus *c, size_t len, const char **out, size_t max)
{
    size_t got = 0;
    for (size_t i = 0; i < c->n && got < max; i++) {
        const char *p = c->text + c->pieces[i].off;
        size_t plen = c->pieces[i].len;
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
        const unsigned char *p = (const unsigned char *)c->text + c->pieces[i].off;
        for (size_t j = 0; j < c->pieces[i].len; j++)
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
    size_t total = 0;
    for (size_t i = 0; i < c->n; i++)
        total += (size_t)c->pieces[i].len + 1;
    size_t whole = n / c->n, rest = n % c->n;
    size_t best = 0, sum = 0;
    if (rest) {
        /* A sliding window of rest pieces over the text read twice (the cycle). */
        for (size_t i = 0; i < rest; i++)
            sum += (size_t)c->pieces[i].len + 1;
        best = sum;
        for (size_t i = 0; i < c->n; i++) {
            sum += (size_t)c->pieces[(i + rest) % c->n].len + 1;
            sum -= (size_t)c->pieces[i].len + 1;
            if (sum > best)
                best = sum;
        }
    }
    return whole * total + best;
}
