/*
 * text.c - server text to valid, control-free UTF-8 (see include/llmload/text.h). A decoder of
 * RFC 3629's well-formed byte sequences (the table of Unicode 15, section 3.9, D92): anything else
 * is replaced byte by byte with U+FFFD, and control characters become spaces, so no byte a server
 * sends can break a JSON or CSV reader or reach the user's terminal as an escape sequence.
 */
#include "llmload/text.h"

#include <string.h>

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the well-formed sequence at s (1-4), or 0 when the bytes there are not one. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
    unsigned char b = s[0];
    if (b < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (b >= 0xC2 && b <= 0xDF)
        n = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        if (b == 0xE0)
            lo = 0xA0; /* overlong */
        else if (b == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        if (b == 0xF0)
            lo = 0x90; /* overlong */
        else if (b == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else
        return 0;
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* A control character: C0, DEL, or C1 (U+0080-U+009F, two bytes C2 80..9F). */
static int is_control(const unsigned char *s, size_t n)
{
    return (n == 1 && (s[0] < 0x20 || s[0] == 0x7F)) || (n == 2 && s[0] == 0xC2 && s[1] < 0xA0);
}

size_t text_sanitize(char *dst, size_t cap, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, i = 0;
    while (i < len) {
        size_t n = utf8_len(s + i, len - i);
        const char *put = (const char *)s + i;
        size_t put_len = n;
        if (n == 0) {
            put = REPLACEMENT;
            put_len = 3;
            n = 1;
        } else if (is_control(s + i, n)) {
            put = " ";
            put_len = 1;
        }
        if (o + put_len >= cap)
            break;
        memcpy(dst + o, put, put_len);
        o += put_len;
        i += n;
    }
    dst[o] = '\0';
    return o;
}

int text_is_clean(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len(u + i, len - i);
        if (n == 0 || is_control(u + i, n))
            return 0;
        i += n;
    }
    return 1;
}

static int hex4(const char *s, size_t len, unsigned *out)
{
    unsigned v = 0;
    if (len < 4)
        return 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d > 15)
            return 0;
        v = v << 4 | d;
    }
    *out = v;
    return 1;
}

/* UTF-8 of code point cp into b (4 bytes); returns its length. */
static size_t utf8_put(unsigned cp, char *b)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | cp >> 18);
    b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    b[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t text_json_unescape(char *dst, size_t cap, const char *src, size_t len)
{
    size_t o = 0, i = 0;
    while (i < len) {
        char b[4];
        size_t n = 1, used = 1;
        b[0] = src[i];
        if (src[i] == '\\' && i + 1 < len) {
            char e = src[i + 1];
            const char *simple = strchr("\"\\/bfnrt", e);
            unsigned cp, lo;
            used = 2;
            if (e && simple)
                b[0] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            else if (e == 'u' && hex4(src + i + 2, len - i - 2, &cp)) {
                used = 6;
                if (cp >= 0xD800 && cp <= 0xDBFF && i + 12 <= len && src[i + 6] == '\\' &&
                    src[i + 7] == 'u' && hex4(src + i + 8, 4, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    used = 12;
                } else if (cp >= 0xD800 && cp <= 0xDFFF)
                    cp = 0xFFFD;
                n = utf8_put(cp, b);
            } else {
                b[1] = e; /* malformed: kept as it stands */
                n = 2;
            }
        }
        if (o + n >= cap)
            break;
        memcpy(dst + o, b, n);
        o += n;
        i += used;
    }
    dst[o] = '\0';
    return o;
}
