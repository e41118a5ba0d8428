/*
 * console.c - the terminal view (report stage): a live progress line during a benchmark and the
 * summary table after it, rendered from the report document like every other format.
 */
#include "llmload/console.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/knee.h"
#include "llmload/search.h"

void console_progress(FILE *f, int tty, const char *name, double elapsed_s, double rate,
                      size_t in_flight, uint64_t done, uint64_t errors, int final)
{
    if (tty)
        fprintf(f, "\r\033[K");
    fprintf(f, "[%s] %6.1fs  sent %7.1f/s  in-flight %5zu  done %8" PRIu64 "  errors %6" PRIu64, name,
            elapsed_s, rate, in_flight, done, errors);
    if (!tty || final)
        fputc('\n', f);
    fflush(f);
}

static double num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

/* The knee of a sweep (knee.h's rule, one place for every view): report.json's sweep.knee, or
 * for a sweep report written before it, the same rule applied now. */
static void print_knee(FILE *f, const cJSON *doc)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "sweep"), "knee");
    cJSON *made = NULL;
    const cJSON *sched = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "config"), "schedule");
    if (!k && cJSON_IsString(sched) && strcmp(sched->valuestring, "sweep") == 0) {
        knee_result kr;
        const cJSON *bench;
        knee_of_doc(doc, &kr, &bench);
        if (knee_to_json(&kr, bench, &made) != 0)
            return;
        k = made;
    }
    if (!k)
        return;
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(k, "rule"), *name = cJSON_GetObjectItemCaseSensitive(k, "benchmark");
    const cJSON *fit = cJSON_GetObjectItemCaseSensitive(k, "fit");
    double rate = num(k, "rate", NULL);
    if (!cJSON_IsString(rule)) {
    } else if (strcmp(rule->valuestring, "two-segment fit") == 0 && cJSON_IsString(name)) {
        fprintf(f, "knee: %.2f req/s offered (%s), by a two-segment fit of log TTFT p50 against "
                   "offered rate: slope %.3g then %.3g log10(ms) per req/s, residual %.3g\n",
                rate, name->valuestring, num(fit, "slope_low", NULL), num(fit, "slope_high", NULL), num(fit, "rmse", NULL));
    } else if (strcmp(rule->valuestring, "ttft p50 within 2x") == 0 && cJSON_IsString(name)) {
        fprintf(f, "knee: %.2f req/s offered (%s) is the highest rate with TTFT p50 within 2x of the lightest "
                   "point's (too few points for the two-segment fit)\n", rate, name->valuestring);
    } else if (num(k, "points", NULL) >= 2) {
        fprintf(f, "knee: none in the measured range (a two-segment fit of log TTFT p50 against offered rate: "
                   "latency does not turn up)\n");
    }
    cJSON_Delete(made);
}

static const char *bench_name(const cJSON *b)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(b, "name");
    return cJSON_IsString(n) ? n->valuestring : "?";
}

/* The first broken rule of a benchmark, printed as "rule (value)". */
static void print_broken(FILE *f, const cJSON *slo)
{
    const cJSON *rule;
    int first = 1;
    cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(slo, "rules"))
    {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rule, "passed")))
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(rule, "value");
        fprintf(f, "%s%s (", first ? "" : ", ", cJSON_GetObjectItemCaseSensitive(rule, "rule")->valuestring);
        if (cJSON_IsNumber(v))
            fprintf(f, "measured %.4g)", v->valuedouble);
        else
            fprintf(f, "no value)");
        first = 0;
    }
}

/* SLO verdicts. For a sweep, ordered by achieved rate: how far the SLOs hold and which one breaks
 * first; otherwise one line per benchmark. */
static void print_slo(FILE *f, const cJSON *doc, const cJSON *benches)
{
    const cJSON *b;
    if (!cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(benches, 0), "slo"))
        return;
    const cJSON *sched = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "config"), "schedule");
    if (cJSON_IsString(sched) && strcmp(sched->valuestring, "sweep") == 0) {
        const cJSON *hold = NULL, *broke = NULL;
        double last = -1;
        for (;;) { /* ascending achieved rate, without sorting the document */
            const cJSON *next = NULL;
            cJSON_ArrayForEach(b, benches)
            {
                double r = num(b, "achieved_rate", NULL);
                if (r > last && (!next || r < num(next, "achieved_rate", NULL)))
                    next = b;
            }
            if (!next)
                break;
            last = num(next, "achieved_rate", NULL);
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(next, "slo"), "passed"))) {
                if (!broke)
                    hold = next;
            } else if (!broke) {
                broke = next;
            }
        }
        if (!broke) {
            fprintf(f, "SLO: every rule holds at every rate measured, up to %.2f req/s\n", last);
            return;
        }
        if (hold)
            fprintf(f, "SLO: holds up to %.2f req/s (%s); first broken at %.2f req/s (%s): ",
                    num(hold, "achieved_rate", NULL), bench_name(hold), num(broke, "achieved_rate", NULL),
                    bench_name(broke));
        else
            fprintf(f, "SLO: broken at every rate, even %s: ", bench_name(broke));
        print_broken(f, cJSON_GetObjectItemCaseSensitive(broke, "slo"));
        fputc('\n', f);
        return;
    }
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *slo = cJSON_GetObjectItemCaseSensitive(b, "slo");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(slo, "passed"))) {
            fprintf(f, "SLO passed: %s\n", bench_name(b));
        } else {
            fprintf(f, "SLO BROKEN: %s: ", bench_name(b));
            print_broken(f, slo);
            fputc('\n', f);
        }
    }
}

/* Slow connects (a full listen backlog drops SYNs, and each retransmit waits a second) are the
 * network's or the accept queue's time, not the server's: said apart, as TTFT does not count them. */
#define CONSOLE_SLOW_CONNECT_MS 100.0
static void print_slow_connects(FILE *f, const cJSON *benches)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *cm = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "metrics"), "connect_ms");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
        double p99 = num(cm, "p99", NULL), mx = num(cm, "max", NULL);
        if (p99 > CONSOLE_SLOW_CONNECT_MS)
            fprintf(f, "NOTE: slow connects in %s: connect p99 %.0f ms, max %.0f ms (a full listen backlog or a far "
                       "server); TTFT and e2e count from the send, after the connect\n",
                    cJSON_IsString(name) ? name->valuestring : "?", p99, mx);
    }
}

/* Why a benchmark stopped, when it is not its time or request limit: an early stop with the
 * figures its rule judged (docs/workloads.md), the target precision, or a signal. */
static void print_stops(FILE *f, const cJSON *benches)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(b, "stop_reason");
        if (!cJSON_IsString(why) || !strcmp(why->valuestring, "time_limit") ||
            !strcmp(why->valuestring, "request_limit"))
            continue;
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(b, "early_stop");
        fprintf(f, "stopped: %s: %s", bench_name(b), why->valuestring);
        if (!strcmp(why->valuestring, "max_error_rate") && e)
            fprintf(f, " after %.1f s: %.0f errors in the last %.0f requests that ended (%.1f%% > %.1f%%) over %.0f s",
                    num(e, "at_s", NULL), num(e, "errors", NULL), num(e, "ended", NULL), 100 * num(e, "error_rate", NULL),
                    100 * num(e, "threshold", NULL), num(e, "window_s", NULL));
        else if (!strcmp(why->valuestring, "saturated") && e)
            fprintf(f, " after %.1f s: over the last %.0f s in flight rose %+.1f/s (mean %.1f), TTFT %+.1f ms/s "
                       "(mean %.1f ms), while completions stayed at %.1f/s (%+.2f/s)",
                    num(e, "at_s", NULL), num(e, "window_s", NULL), num(e, "in_flight_slope", NULL),
                    num(e, "in_flight_mean", NULL), num(e, "ttft_ms_slope", NULL), num(e, "ttft_ms_mean", NULL),
                    num(e, "completed_mean", NULL), num(e, "completed_slope", NULL));
        fputc('\n', f);
    }
}

int console_table(FILE *f, const cJSON *doc)
{
    const cJSON *benches = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    if (!cJSON_IsArray(benches))
        return LL_EPARSE;
    fprintf(f, "\n%-18s %9s %9s %10s %9s %9s %9s %8s %8s %9s %9s %7s %6s\n", "benchmark", "sent/s", "req/s",
            "out tok/s", "ttft p50", "ttft p95", "ttft p99", "itl p50", "itl p99", "e2e p50", "e2e p99", "errors",
            "conc");
    fprintf(f, "%-18s %9s %9s %10s %9s %9s %9s %8s %8s %9s %9s %7s %6s\n", "", "", "", "", "ms", "ms", "ms", "ms",
            "ms", "ms", "ms", "", "");
    const cJSON *b;
    int bound = 0, errs = 0;
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(b, "metrics");
        /* sent/s beside req/s: overload shows as sent > completed. Reports older than
         * offered_rate have only achieved_rate. */
        double sent = num(m, "offered_rate", NULL);
        if (isnan(sent))
            sent = num(b, "achieved_rate", NULL);
        const cJSON *rq = cJSON_GetObjectItemCaseSensitive(b, "requests");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
        fprintf(f, "%-18s %9.2f %9.2f %10.1f %9.1f %9.1f %9.1f %8.2f %8.2f %9.1f %9.1f %7.0f %6.1f\n",
                cJSON_IsString(name) ? name->valuestring : "?", sent,
                num(m, "request_throughput", NULL), num(m, "output_token_throughput", NULL), num(m, "ttft_ms", "p50"),
                num(m, "ttft_ms", "p95"), num(m, "ttft_ms", "p99"), num(m, "itl_ms", "p50"), num(m, "itl_ms", "p99"),
                num(m, "e2e_ms", "p50"), num(m, "e2e_ms", "p99"), num(rq, "errored", NULL),
                num(m, "concurrency_mean", NULL));
        const cJSON *cl = cJSON_GetObjectItemCaseSensitive(b, "client");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cl, "client_bound")))
            bound = 1;
        if (num(rq, "errored", NULL) > 0)
            errs = 1;
    }
    if (errs) {
        cJSON_ArrayForEach(b, benches)
        {
            const cJSON *rq = cJSON_GetObjectItemCaseSensitive(b, "requests");
            const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(rq, "errors_by_kind");
            const cJSON *k;
            if (!cJSON_GetArraySize(kinds))
                continue;
            fprintf(f, "errors in %s:", cJSON_GetObjectItemCaseSensitive(b, "name")->valuestring);
            cJSON_ArrayForEach(k, kinds) fprintf(f, " %s=%.0f", k->string, k->valuedouble);
            fputc('\n', f);
            const cJSON *fe = cJSON_GetObjectItemCaseSensitive(rq, "first_errors"), *e;
            cJSON_ArrayForEach(e, fe) if (cJSON_IsString(e)) fprintf(f, "  e.g. %s\n", e->valuestring);
        }
    }
    print_stops(f, benches);
    cJSON_ArrayForEach(b, benches)
    {
        const cJSON *notes = cJSON_GetObjectItemCaseSensitive(b, "notes"), *nt;
        cJSON_ArrayForEach(nt, notes) if (cJSON_IsString(nt))
            fprintf(f, "note: %s: %s\n", cJSON_GetObjectItemCaseSensitive(b, "name")->valuestring, nt->valuestring);
    }
    if (bound) {
        cJSON_ArrayForEach(b, benches)
        {
            const cJSON *cl = cJSON_GetObjectItemCaseSensitive(b, "client");
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cl, "client_bound"))) {
                const cJSON *why = cJSON_GetObjectItemCaseSensitive(cl, "client_bound_reason");
                fprintf(f, "WARNING: %s was client-bound (%s): its latencies describe this client, not the server\n",
                        cJSON_GetObjectItemCaseSensitive(b, "name")->valuestring,
                        cJSON_IsString(why) ? why->valuestring : "");
            }
        }
    }
    cJSON_ArrayForEach(b, benches)
    {
        /* A server that closes kept-alive connections costs resends; say so, so that nobody reads
         * the extra requests the server saw as a client bug. */
        const cJSON *cl = cJSON_GetObjectItemCaseSensitive(b, "client");
        if (!(num(cl, "requests_resent", NULL) > 0))
            continue;
        const cJSON *k;
        fprintf(f, "note: %s resent %.0f requests on a new connection (", cJSON_GetObjectItemCaseSensitive(b, "name")->valuestring,
                num(cl, "requests_resent", NULL));
        int first = 1;
        cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(cl, "resent_by_reason"))
        {
            fprintf(f, "%s%s=%.0f", first ? "" : " ", k->string, k->valuedouble);
            first = 0;
        }
        fprintf(f, "): the server closed kept-alive connections; %.0f connections opened, timings start at the resend\n",
                num(cl, "connections_opened", NULL));
    }
    cJSON_ArrayForEach(b, benches)
    {
        /* Sessions: one line, TTFT p50 by turn (a prefix cache shows as later turns not growing). */
        const cJSON *bt = cJSON_GetObjectItemCaseSensitive(b, "by_turn"), *t;
        if (cJSON_GetArraySize(bt) < 2)
            continue;
        fprintf(f, "ttft p50 by turn in %s:", cJSON_GetObjectItemCaseSensitive(b, "name")->valuestring);
        int shown = 0;
        cJSON_ArrayForEach(t, bt)
        {
            if (shown++ == 12) {
                fprintf(f, " ...");
                break;
            }
            fprintf(f, " %.0f=%.1f ms", num(t, "turn", NULL), num(t, "ttft_ms", "p50"));
        }
        fputc('\n', f);
    }
    print_knee(f, doc);
    print_slo(f, doc, benches);
    search_print(f, doc); /* the capacity at the SLOs: a search's or a sweep's */
    print_slow_connects(f, benches);
    return 0;
}
