/*
 * curve.c - open-loop benchmarks as piecewise-linear curves over the offered rate, evaluated at
 * rates both reports cover (report -> gate: `llmload compare` of sweeps with other rate points).
 *
 * Invariant: never extrapolated; a common rate lies within both reports' measured range, and its
 * figures are a convex combination of two measured neighbours.
 */
#include "llmload/curve.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

#define CURVE_MAX_POINTS 256

typedef struct pt {
    double x;
    const cJSON *b;
} pt;

int curve_is_open_loop(const cJSON *bench)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(bench, "schedule");
    return cJSON_IsString(s) && (strcmp(s->valuestring, "constant") == 0 || strcmp(s->valuestring, "poisson") == 0);
}

static int cmp_pt(const void *a, const void *b)
{
    double x = ((const pt *)a)->x, y = ((const pt *)b)->x;
    return x < y ? -1 : x > y;
}

/* The open-loop points of doc by target rate, at most cap. */
static size_t points(const cJSON *doc, pt *out, size_t cap)
{
    size_t n = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(b, "target_rate");
        if (n < cap && curve_is_open_loop(b) && cJSON_IsNumber(r) && r->valuedouble > 0 &&
            !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "partial")))
            out[n++] = (pt){r->valuedouble, b};
    }
    qsort(out, n, sizeof *out, cmp_pt);
    return n;
}

static int has_name(const cJSON *doc, const char *name)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(b, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return 1;
    }
    return 0;
}

static int unpaired(const cJSON *a, const cJSON *b)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(a, "benchmarks"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(x, "name");
        if (curve_is_open_loop(x) && cJSON_IsString(n) && !has_name(b, n->valuestring))
            return 1;
    }
    return 0;
}

int curve_needed(const cJSON *base, const cJSON *cand)
{
    pt tmp[CURVE_MAX_POINTS];
    return points(base, tmp, CURVE_MAX_POINTS) >= 2 && points(cand, tmp, CURVE_MAX_POINTS) >= 2 &&
           (unpaired(base, cand) || unpaired(cand, base));
}

/* (1-w)*a + w*b for every number of a that b has too, recursively through objects and the
 * [lo, hi] interval arrays; members missing or null on either side are left out. */
static cJSON *interp(const cJSON *a, const cJSON *b, double w)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return cJSON_CreateNumber((1 - w) * a->valuedouble + w * b->valuedouble);
    if (cJSON_IsArray(a) && cJSON_IsArray(b)) {
        if (cJSON_GetArraySize(a) != 2 || cJSON_GetArraySize(b) != 2)
            return NULL;
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; arr && i < 2; i++) {
            cJSON *v = interp(cJSON_GetArrayItem(a, i), cJSON_GetArrayItem(b, i), w);
            if (!v || !cJSON_AddItemToArray(arr, v)) {
                cJSON_Delete(v);
                cJSON_Delete(arr);
                return NULL;
            }
        }
        return arr;
    }
    if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
        cJSON *o = cJSON_CreateObject();
        const cJSON *x;
        cJSON_ArrayForEach(x, a)
        {
            if (!o)
                break;
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!y)
                continue;
            cJSON *v = interp(x, y, w);
            if (v && !cJSON_AddItemToObject(o, x->string, v))
                cJSON_Delete(v);
        }
        return o;
    }
    return NULL;
}

/* The curve of p[0..n) at rate x (within [p[0].x, p[n-1].x]) as a benchmark object. */
static cJSON *at(const pt *p, size_t n, double x)
{
    size_t k = 0;
    while (k + 2 < n && p[k + 1].x < x)
        k++;
    double span = p[k + 1].x - p[k].x, w = span > 0 ? (x - p[k].x) / span : 0;
    if (w < 0)
        w = 0;
    if (w > 1)
        w = 1;
    cJSON *o = cJSON_CreateObject();
    char name[48];
    snprintf(name, sizeof name, "rate@%.4g", x);
    if (!o || !cJSON_AddStringToObject(o, "name", name) || !cJSON_AddStringToObject(o, "schedule", "curve") ||
        !cJSON_AddNumberToObject(o, "target_rate", x)) {
        cJSON_Delete(o);
        return NULL;
    }
    static const char *const parts[] = {"metrics", "requests"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *pa = cJSON_GetObjectItemCaseSensitive(p[k].b, parts[i]);
        const cJSON *pb = cJSON_GetObjectItemCaseSensitive(p[k + 1].b, parts[i]);
        if (!cJSON_IsObject(pa) || !cJSON_IsObject(pb))
            continue; /* a hand-made or damaged report: the gate finds no value there */
        cJSON *v = interp(pa, pb, w);
        if (!v || !cJSON_AddItemToObject(o, parts[i], v)) {
            cJSON_Delete(v);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

int curve_common(const cJSON *base, const cJSON *cand, cJSON **base_out, cJSON **cand_out, double *lo, double *hi)
{
    pt *a = malloc(2 * CURVE_MAX_POINTS * sizeof *a);
    double *xs = malloc(2 * CURVE_MAX_POINTS * sizeof *xs);
    cJSON *ba = cJSON_CreateArray(), *ca = cJSON_CreateArray();
    int n = 0;
    if (!a || !xs || !ba || !ca)
        goto nomem;
    pt *c = a + CURVE_MAX_POINTS;
    size_t na = points(base, a, CURVE_MAX_POINTS), nc = points(cand, c, CURVE_MAX_POINTS);
    *lo = *hi = 0;
    if (na >= 2 && nc >= 2) {
        *lo = fmax(a[0].x, c[0].x);
        *hi = fmin(a[na - 1].x, c[nc - 1].x);
        size_t nx = 0;
        for (size_t i = 0; i < na + nc; i++) {
            double x = i < na ? a[i].x : c[i - na].x;
            if (x >= *lo && x <= *hi)
                xs[nx++] = x;
        }
        /* in order, and a rate both reports measured counts once */
        for (size_t i = 1; i < nx; i++)
            for (size_t j = i; j > 0 && xs[j - 1] > xs[j]; j--) {
                double t = xs[j];
                xs[j] = xs[j - 1];
                xs[j - 1] = t;
            }
        for (size_t i = 0; i < nx; i++) {
            if (i > 0 && fabs(xs[i] - xs[i - 1]) <= 1e-9 * xs[i])
                continue;
            cJSON *pb = at(a, na, xs[i]), *pc = at(c, nc, xs[i]);
            if (!pb || !cJSON_AddItemToArray(ba, pb) || (pb = NULL, !pc) || !cJSON_AddItemToArray(ca, pc)) {
                cJSON_Delete(pb);
                cJSON_Delete(pc);
                goto nomem;
            }
            n++;
        }
    }
    free(a);
    free(xs);
    *base_out = ba;
    *cand_out = ca;
    return n;
nomem:
    free(a);
    free(xs);
    cJSON_Delete(ba);
    cJSON_Delete(ca);
    return LL_ENOMEM;
}
