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
