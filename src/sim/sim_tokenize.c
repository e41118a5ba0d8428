/*
 * sim_tokenize.c - the simulator's sub-word token count (see sim_tokenize.h for the rule).
 * Bytes >= 0x80 count as letters, so UTF-8 text splits like ASCII words of the same byte length.
 * Invariant: the count of a concatenation split at whitespace or punctuation is the sum of the
 * parts' counts (what makes per-word costs add up exactly in llmload's calibration tests).
 */
#include "sim_tokenize.h"

static int is_word_byte(unsigned char ch)
{
    return ch >= 0x80 || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_space(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

uint64_t sim_tokenize_count(const char *s, size_t len)
{
    uint64_t n = 0, run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (is_word_byte(ch)) {
            run++;
            continue;
        }
        n += (run + 3) / 4;
        run = 0;
        if (!is_space(ch))
            n++;
    }
    return n + (run + 3) / 4;
}
