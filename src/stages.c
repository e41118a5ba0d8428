/*
 * stages.c - parses --stages "RATE:DURATION,..." (config stage: before any plan exists).
 * Invariant: a spec either parses whole, every rate and duration positive and finite, or is
 * refused with one line naming the item; nothing is half-stored.
 */
#include "llmload/stages.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

/* The same bounds as --rate and durations in config_internal.h. */
#define STAGES_MAX_RATE 1e6
#define STAGES_MAX_SECONDS 1e7

/* A plain decimal (no sign, hex, inf or nan), its end in *end. */
static int decimal(const char *s, const char *stop, double *out, const char **end)
{
    if (s >= stop || !(isdigit((unsigned char)*s) || (*s == '.' && s + 1 < stop && isdigit((unsigned char)s[1]))))
        return -1;
    char buf[64];
    size_t len = 0;
    while (s + len < stop && (isdigit((unsigned char)s[len]) || s[len] == '.' || s[len] == 'e' || s[len] == 'E'))
        len++;
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *e;
    errno = 0;
    double v = strtod(buf, &e);
    if (e == buf || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    *end = s + (e - buf);
    return 0;
}

static int item(const char *s, const char *stop, stage *st)
{
    const char *p;
    double rate, secs;
    if (decimal(s, stop, &rate, &p) != 0 || p >= stop || *p != ':')
        return -1;
    if (decimal(p + 1, stop, &secs, &p) != 0)
        return -1;
    size_t ulen = (size_t)(stop - p);
    double scale = ulen == 0 ? 1 : ulen == 1 && *p == 's' ? 1 : ulen == 1 && *p == 'm' ? 60
                 : ulen == 1 && *p == 'h' ? 3600 : -1;
    if (scale < 0)
        return -1;
    st->rate = rate;
    st->seconds = secs * scale;
    return 0;
}

int stages_parse(const char *spec, stage *out, size_t cap, size_t *n, char *why, size_t whylen)
{
    *n = 0;
    if (!spec || !*spec) {
        snprintf(why, whylen, "empty: give RATE:DURATION pairs, e.g. '10:60s,20:60s,40:2m'");
        return LL_EUSAGE;
    }
    /* Items are quoted in the reason: a control character would break its one line. */
    for (const char *p = spec; *p; p++) {
        if (iscntrl((unsigned char)*p)) {
            snprintf(why, whylen, "contains a control character");
            return LL_EUSAGE;
        }
    }
    size_t count = 0;
    for (const char *p = spec;;) {
        const char *stop = p + strcspn(p, ",");
        stage st;
        int len = (int)(stop - p < 64 ? stop - p : 64);
        if (stop == p) {
            snprintf(why, whylen, "\"%.64s\" has an empty item", spec);
            return LL_EUSAGE;
        }
        if (item(p, stop, &st) != 0) {
            snprintf(why, whylen, "\"%.*s\" is not RATE:DURATION (req/s, then seconds or 30s, 5m, 1h)", len, p);
            return LL_EUSAGE;
        }
        if (!(st.rate > 0) || st.rate > STAGES_MAX_RATE) {
            snprintf(why, whylen, "\"%.*s\": the rate must be above 0 and at most %.0f req/s", len, p, STAGES_MAX_RATE);
            return LL_EUSAGE;
        }
        if (!(st.seconds >= 0.001) || st.seconds > STAGES_MAX_SECONDS) {
            snprintf(why, whylen, "\"%.*s\": the duration must be from 1 ms to %.0f s", len, p, STAGES_MAX_SECONDS);
            return LL_EUSAGE;
        }
        if (count >= STAGES_MAX) {
            snprintf(why, whylen, "more than %d stages", STAGES_MAX);
            return LL_EUSAGE;
        }
        if (out && count < cap)
            out[count] = st;
        count++;
        if (!*stop)
            break;
        p = stop + 1;
    }
    *n = count;
    return 0;
}
