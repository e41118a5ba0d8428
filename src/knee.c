/*
 * knee.c - the knee of a sweep by a two-segment least-squares fit of log TTFT p50 against the
 * achieved rate, with the 2x heuristic as the fallback for too few points (report stage; the rule
 * is in knee.h and docs/statistics.md). Invariant: a knee lies within the measured range, and the
 * same document always gives the same knee (no randomness, ties to the lowest breakpoint).
 */
#include "llmload/knee.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/curve.h"
#include "llmload/error.h"

#define KNEE_GRID 64 /* breakpoints tried between two neighbouring points */
#define KNEE_MIN_UPTURN 1.25 /* latency at the last point over the low segment's extension */

typedef struct kpt {
    double x, y; /* y = log10(ms) */
    size_t i;    /* index in the caller's arrays */
} kpt;

static int cmp_kpt(const void *a, const void *b)
{
    const kpt *p = a, *q = b;
    return p->x < q->x ? -1 : p->x > q->x ? 1 : p->i < q->i ? -1 : p->i > q->i;
}

/* Least squares of y on [1, u, max(0, u - k)] (u = x centred and scaled for conditioning): fills
 * beta and returns the residual sum of squares, or INFINITY for a singular system. */
static double hinge_fit(const kpt *p, size_t n, double k, double mid, double scale, double beta[3])
{
    double a[3][4] = {{0}};
    double uk = (k - mid) / scale;
    for (size_t i = 0; i < n; i++) {
        double u = (p[i].x - mid) / scale, f[3] = {1, u, u > uk ? u - uk : 0};
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 3; c++)
                a[r][c] += f[r] * f[c];
            a[r][3] += f[r] * p[i].y;
        }
    }
    for (int c = 0; c < 3; c++) { /* Gaussian elimination, partial pivoting */
        int piv = c;
        for (int r = c + 1; r < 3; r++)
            if (fabs(a[r][c]) > fabs(a[piv][c]))
                piv = r;
        if (fabs(a[piv][c]) < 1e-12)
            return INFINITY;
        for (int j = 0; j < 4; j++) {
            double t = a[c][j];
            a[c][j] = a[piv][j];
            a[piv][j] = t;
        }
        for (int r = 0; r < 3; r++) {
            if (r == c)
                continue;
            double f = a[r][c] / a[c][c];
            for (int j = c; j < 4; j++)
                a[r][j] -= f * a[c][j];
        }
    }
    for (int r = 0; r < 3; r++)
        beta[r] = a[r][3] / a[r][r];
    double sse = 0;
    for (size_t i = 0; i < n; i++) {
        double u = (p[i].x - mid) / scale;
        double e = p[i].y - (beta[0] + beta[1] * u + beta[2] * (u > uk ? u - uk : 0));
        sse += e * e;
    }
    return sse;
}

static void fallback_2x(const kpt *p, size_t n, knee_result *out)
{
    /* The lightest point is the base (the synchronous one in a sweep). */
    double base = p[0].y;
    out->rule = KNEE_FALLBACK_2X;
    for (size_t k = 0; k < n; k++)
        if (p[k].y <= base + log10(2.0) + 1e-12) {
            out->x = p[k].x;
            out->point = p[k].i;
        }
}

void knee_find(const double *x, const double *ttft_p50_ms, size_t n, knee_result *out)
{
    kpt p[KNEE_MAX_POINTS];
    size_t m = 0;
    memset(out, 0, sizeof *out);
    out->x = out->intercept = out->slope_low = out->slope_high = out->rmse = NAN;
    for (size_t i = 0; i < n && m < KNEE_MAX_POINTS; i++)
        if (isfinite(x[i]) && isfinite(ttft_p50_ms[i]) && ttft_p50_ms[i] > 0)
            p[m++] = (kpt){x[i], log10(ttft_p50_ms[i]), i};
    out->n = m;
    if (m < 2)
        return;
    qsort(p, m, sizeof *p, cmp_kpt);
    if (m < KNEE_MIN_FIT_POINTS) {
        fallback_2x(p, m, out);
        return;
    }
    double mid = (p[0].x + p[m - 1].x) / 2, scale = (p[m - 1].x - p[0].x) / 2;
    if (!(scale > 0)) {
        fallback_2x(p, m, out);
        return;
    }
    double best = INFINITY, bk = NAN, bb[3] = {0}, best_k_sse = NAN;
    /* Breakpoints from the second point up to (not at) the last: the low segment then holds at
     * least two points, and the high one the last point besides the breakpoint it shares. */
    for (size_t s = 1; s <= m - 2; s++) {
        for (int g = 0; g < KNEE_GRID; g++) {
            double k = p[s].x + (p[s + 1].x - p[s].x) * g / KNEE_GRID, beta[3];
            double sse = hinge_fit(p, m, k, mid, scale, beta);
            if (isfinite(best) ? sse < best - 1e-12 * (1 + best) : isfinite(sse)) {
                best = sse;
                bk = k;
                memcpy(bb, beta, sizeof bb);
            }
        }
    }
    if (!isfinite(best)) {
        fallback_2x(p, m, out);
        return;
    }
    /* The points place the bend no closer than their noise allows: every breakpoint whose fit is
     * within one residual variance (SSE / (n - 4), four parameters) of the best fits as well. Of
     * those the knee is the highest: the most load the low segment can be said to carry. (With
     * one point past the bend, the typical sweep of a server that is flat up to its capacity,
     * every breakpoint between the last two points fits exactly as well, and the bend is at the
     * capacity, the last point.) */
    double slack = best / (double)(m - 4 > 0 ? m - 4 : 1) + 1e-12 * (1 + best);
    for (size_t s = 1; s <= m - 2; s++) {
        for (int g = 0; g < KNEE_GRID; g++) {
            double k = p[s].x + (p[s + 1].x - p[s].x) * g / KNEE_GRID, beta[3];
            if (k <= bk)
                continue;
            double sse = hinge_fit(p, m, k, mid, scale, beta);
            if (sse <= best + slack) {
                bk = k;
                memcpy(bb, beta, sizeof bb);
                best_k_sse = sse;
            }
        }
    }
    if (!isnan(best_k_sse))
        best = best_k_sse;
    out->intercept = bb[0] - bb[1] * mid / scale; /* back to y = a + b x + c (x - k)+ */
    out->slope_low = bb[1] / scale;
    out->slope_high = (bb[1] + bb[2]) / scale;
    out->rmse = sqrt(best / (double)m);
    /* Latency must turn up at the knee, by more than the noise: it rises after it, and at the
     * last point the second segment lies at least 25% (and 3 residuals) above the first one's
     * extension. */
    double upturn = (out->slope_high - out->slope_low) * (p[m - 1].x - bk);
    if (!(out->slope_high > 0) || !(upturn >= log10(KNEE_MIN_UPTURN)) || !(upturn >= 3 * out->rmse)) {
        out->rule = KNEE_NONE;
        return;
    }
    out->rule = KNEE_FIT;
    out->x = bk;
    for (size_t k = 0; k < m; k++)
        if (p[k].x <= bk * (1 + 1e-12))
            out->point = p[k].i;
}

static double num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

void knee_of_doc(const cJSON *doc, knee_result *out, const cJSON **bench)
{
    double xs[KNEE_MAX_POINTS], ys[KNEE_MAX_POINTS]; /* 24 KiB of stack with bs: no allocation to fail */
    const cJSON *bs[KNEE_MAX_POINTS];
    size_t n = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(doc, "benchmarks"))
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(b, "metrics");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "ttft_ms");
        if (n >= KNEE_MAX_POINTS || num(t, "count", NULL) == 0)
            continue;
        /* The offered load: what an open-loop point sent; a closed-loop point (synchronous,
         * concurrent, throughput) sends only as fast as it completes, so its completed rate (its
         * sent rate would count the throughput point's opening burst of --max-concurrency). */
        xs[n] = curve_is_open_loop(b) ? num(b, "achieved_rate", NULL) : num(m, "request_throughput", NULL);
        ys[n] = num(t, "p50", NULL);
        bs[n++] = b;
    }
    knee_find(xs, ys, n, out);
    *bench = out->rule != KNEE_NONE && out->n ? bs[out->point] : NULL;
}

const char *knee_rule_name(knee_rule r)
{
    switch (r) {
    case KNEE_NONE:
        return "none";
    case KNEE_FIT:
        return "two-segment fit";
    case KNEE_FALLBACK_2X:
        return "ttft p50 within 2x";
    }
    return "?";
}

static int add_num_or_null(cJSON *o, const char *k, double v)
{
    return isfinite(v) ? cJSON_AddNumberToObject(o, k, v) != NULL : cJSON_AddNullToObject(o, k) != NULL;
}

int knee_to_json(const knee_result *k, const cJSON *bench, cJSON **out)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *nm = bench ? cJSON_GetObjectItemCaseSensitive(bench, "name") : NULL;
    int ok = o && cJSON_AddStringToObject(o, "rule", knee_rule_name(k->rule)) && add_num_or_null(o, "rate", k->x) &&
             (cJSON_IsString(nm) ? cJSON_AddStringToObject(o, "benchmark", nm->valuestring) != NULL
                                 : cJSON_AddNullToObject(o, "benchmark") != NULL) &&
             cJSON_AddNumberToObject(o, "points", (double)k->n);
    if (ok && isfinite(k->slope_low)) {
        cJSON *f = cJSON_AddObjectToObject(o, "fit");
        ok = f && cJSON_AddStringToObject(f, "x", "offered rate (achieved_rate; closed loop: request_throughput)") &&
             cJSON_AddStringToObject(f, "y", "log10(ttft_p50_ms)") && add_num_or_null(f, "intercept", k->intercept) &&
             add_num_or_null(f, "slope_low", k->slope_low) && add_num_or_null(f, "slope_high", k->slope_high) &&
             add_num_or_null(f, "rmse", k->rmse);
    }
    if (!ok) {
        cJSON_Delete(o);
        return LL_ENOMEM;
    }
    *out = o;
    return 0;
}

int knee_annotate(cJSON *doc)
{
    knee_result k;
    const cJSON *bench;
    cJSON *o;
    knee_of_doc(doc, &k, &bench);
    if (knee_to_json(&k, bench, &o) != 0)
        return LL_ENOMEM;
    cJSON *sw = cJSON_GetObjectItemCaseSensitive(doc, "sweep");
    if (!sw && !(sw = cJSON_AddObjectToObject(doc, "sweep"))) {
        cJSON_Delete(o);
        return LL_ENOMEM;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(sw, "knee");
    if (!cJSON_AddItemToObject(sw, "knee", o)) {
        cJSON_Delete(o);
        return LL_ENOMEM;
    }
    return 0;
}
