/*
 * model_mix.c - the --model list of a model mix and the seeded per-request draw (config ->
 * scheduler -> client). Weighted draws compare one uniform number against the cumulative weights
 * (at most MODEL_MIX_MAX of them, a linear scan); round robin counts. Invariant: a draw touches
 * only the drawer's own inline state, so the hot path allocates nothing.
 */
#include "llmload/model_mix.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

void model_mix_names_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* One "name" or "name=weight" item of len bytes at p. */
static int parse_item(const char *p, size_t len, char **name, double *w, int *has_w, char *why, size_t whylen)
{
    const char *eq = memchr(p, '=', len);
    size_t nlen = eq ? (size_t)(eq - p) : len;
    *has_w = eq != NULL;
    if (nlen == 0) {
        snprintf(why, whylen, "\"%.*s\": empty model name", (int)(len < 64 ? len : 64), p);
        return LL_EUSAGE;
    }
    for (size_t i = 0; i < nlen; i++) {
        if (iscntrl((unsigned char)p[i])) {
            snprintf(why, whylen, "a model name contains a control character");
            return LL_EUSAGE;
        }
    }
    if (eq) {
        char num[32];
        size_t wl = len - nlen - 1;
        char *end;
        if (wl == 0 || wl >= sizeof num || !(isdigit((unsigned char)eq[1]) || eq[1] == '.')) {
            snprintf(why, whylen, "\"%.*s\": the weight is not a positive number", (int)(len < 64 ? len : 64), p);
            return LL_EUSAGE;
        }
        memcpy(num, eq + 1, wl);
        num[wl] = '\0';
        errno = 0;
        *w = strtod(num, &end);
        if (*end || errno || !isfinite(*w) || !(*w > 0)) {
            snprintf(why, whylen, "\"%.*s\": the weight is not a positive number", (int)(len < 64 ? len : 64), p);
            return LL_EUSAGE;
        }
    } else {
        *w = 1;
    }
    if (!(*name = strndup(p, nlen)))
        return LL_ENOMEM;
    return 0;
}

int model_mix_parse(const char *spec, char ***names_out, double **weights_out, size_t *n_out, int *weighted,
                    char *why, size_t whylen)
{
    size_t n = 1;
    for (const char *p = spec; *p; p++)
        n += *p == ',';
    if (n > MODEL_MIX_MAX) {
        snprintf(why, whylen, "more than %d models", MODEL_MIX_MAX);
        return LL_EUSAGE;
    }
    char **names = calloc(n, sizeof *names);
    double *w = calloc(n, sizeof *w);
    int rc = LL_ENOMEM, n_weighted = 0;
    if (!names || !w)
        goto fail;
    const char *p = spec;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strcspn(p, ",");
        int has_w;
        if ((rc = parse_item(p, len, &names[i], &w[i], &has_w, why, whylen)) != 0)
            goto fail;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(names[k], names[i]) == 0) {
                snprintf(why, whylen, "model \"%.64s\" is named twice", names[i]);
                rc = LL_EUSAGE;
                goto fail;
            }
        }
        n_weighted += has_w;
        sum += w[i];
        p += len + (p[len] == ',');
    }
    if (n_weighted && n_weighted != (int)n) {
        snprintf(why, whylen, "\"%.64s\": give every model a weight (a=0.7,b=0.3) or none (a,b)", spec);
        rc = LL_EUSAGE;
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        w[i] /= sum;
    *names_out = names;
    *weights_out = w;
    *n_out = n;
    *weighted = n_weighted > 0;
    return 0;
fail:
    model_mix_names_free(names, n);
    free(w);
    return rc;
}

int model_mix_init(model_mix *m, const double *weights, size_t n, model_mix_order order, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    if (n == 0 || n > MODEL_MIX_MAX)
        return LL_EINVAL;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double w = weights ? weights[i] : 1.0;
        if (!isfinite(w) || !(w > 0))
            return LL_EINVAL;
        sum += w;
    }
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc += (weights ? weights[i] : 1.0) / sum;
        m->cum[i] = acc;
    }
    m->cum[n - 1] = 1.0; /* rounding must never leave a draw past the last model */
    m->n = n;
    m->order = order;
    /* Its own stream, apart from the prompt source's and the arrivals' (both seeded from --seed). */
    m->state = seed ^ 0x6d6f64656c6d6978ULL; /* "modelmix" */
    return 0;
}

/* splitmix64: a 64-bit state, one multiply-xorshift per draw; plenty for picking among <= 64. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t x = (*s += 0x9e3779b97f4a7c15ULL);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

unsigned model_mix_next(model_mix *m)
{
    if (m->n <= 1)
        return 0;
    if (m->order == MODEL_MIX_ROUND_ROBIN)
        return (unsigned)(m->next_rr++ % m->n);
    double u = (double)(next_u64(&m->state) >> 11) * 0x1.0p-53; /* [0, 1) */
    for (size_t i = 0; i < m->n; i++)
        if (u < m->cum[i])
            return (unsigned)i;
    return (unsigned)(m->n - 1);
}

void model_mix_coin_init(model_mix_coin *c, double p, uint64_t seed)
{
    c->p = p;
    c->state = seed ^ 0x63616e63656cULL; /* "cancel": apart from the model draws' stream */
}

int model_mix_coin_flip(model_mix_coin *c)
{
    if (!(c->p > 0))
        return 0;
    return (double)(next_u64(&c->state) >> 11) * 0x1.0p-53 < c->p;
}
