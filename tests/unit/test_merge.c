/*
 * Unit tests for merge_: the merge's exactness. One "single process" result is cut into three
 * shards (every third request, each shard on its own monotonic origin and a few ms late on the wall
 * clock), each shard is written to disk exactly as `run` writes it (report.json, requests.csv), read
 * back with merge_shard_load and merged; then the merged histograms equal the one histogram of all
 * values bucket for bucket, the percentiles computed from the shards' records equal those of the
 * single process's records, the window is the union of the shards' windows, and counts add up.
 * Shards of another config, a missing shard and a doubled shard are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmload/aggregate.h"
#include "llmload/breakdown.h"
#include "llmload/config.h"
#include "llmload/error.h"
#include "llmload/hist.h"
#include "llmload/merge.h"
#include "llmload/report.h"

#include "assert_near.h"

#define MS 1000000ULL
#define US 1000ULL
#define NSHARDS 3
#define NREQ 300
#define SINGLE_T0 (5000ULL * 1000 * MS)
#define WALL0 1780000000.0
#define MAX_S 10.0
#define GAP_US 30000ULL /* 30 ms between arrivals: 300 requests in 9 s */

static const uint64_t shard_t0[NSHARDS] = {777ULL * 1000 * MS, 12345ULL * 1000 * MS, 3ULL * 1000 * MS};
static const uint64_t shard_late_us[NSHARDS] = {0, 2000, 5137}; /* each shard's start, after shard 0's */

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = (*s += 0x9e3779b97f4a7c15ULL);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void setup(bench_result *r, uint64_t t0, double wall)
{
    memset(r, 0, sizeof *r);
    snprintf(r->plan.name, sizeof r->plan.name, "constant@33");
    r->plan.schedule = CONFIG_SCHED_CONSTANT;
    r->plan.rate = 33.0 / NSHARDS;
    r->plan.max_seconds = MAX_S;
    assert_int_equal(hist_create(&r->itl), 0);
    assert_int_equal(hist_create(&r->itl_token), 0);
    assert_int_equal(hist_create(&r->loop_lag), 0);
    r->t0_ns = t0;
    r->wall_start = wall;
    r->window_start_ns = t0;
    r->window_end_ns = t0 + (uint64_t)(MAX_S * 1e9);
    r->sched_end_ns = r->window_end_ns;
    r->loops = 1;
    r->slots = 16;
}

/* A request as the single process saw it, relative to the single run's t0 (sent on whole
 * microseconds, as requests.csv's seconds carry them; every other time to the nanosecond). */
static record mk(uint64_t *seed, uint64_t i)
{
    record r;
    memset(&r, 0, sizeof r);
    r.id = i;
    uint64_t shard = i % NSHARDS;
    r.sent_ns = 10 * MS + shard_late_us[shard] * US + i * GAP_US * US + (next_rand(seed) % 500) * US;
    r.scheduled_ns = r.sent_ns - next_rand(seed) % (3 * MS);
    r.first_byte_ns = r.sent_ns + 1 * MS + next_rand(seed) % MS;
    r.first_token_ns = r.first_byte_ns + 20 * MS + next_rand(seed) % (60 * MS);
    r.first_output_ns = r.first_token_ns;
    r.output_tokens = 2 + (int32_t)(next_rand(seed) % 30);
    r.token_events = (uint32_t)r.output_tokens;
    r.itl_count = r.token_events - 1;
    r.itl_sum_ns = (uint64_t)r.itl_count * (4 * MS + next_rand(seed) % MS);
    r.itl_max_ns = r.itl_sum_ns / r.itl_count + 17;
    r.last_token_ns = r.first_token_ns + r.itl_sum_ns;
    r.end_ns = r.last_token_ns + 123;
    r.prompt_tokens = 64;
    r.prompt_tokens_asked = 64;
    r.max_tokens = 32;
    r.usage_seen = 1;
    r.done_seen = (uint8_t)(i % 7 != 0);
    r.new_connection = (uint8_t)(i < 16);
    r.connect_us = r.new_connection ? 150 : 0;
    r.http_status = 200;
    r.finish_reason = RECORD_FINISH_LENGTH;
    r.measured = 1;
    r.session = (uint32_t)(i / 3 + 1); /* sessions of 3 turns: by_turn survives the merge */
    r.turn = (uint16_t)(i % 3 + 1);
    if (i % 50 == 3) {
        r.status = RECORD_ERROR;
        r.error_kind = RECORD_ERR_HTTP_5XX;
        r.http_status = 500;
        r.first_token_ns = r.first_output_ns = r.last_token_ns = 0;
        r.output_tokens = 0;
        r.token_events = r.itl_count = 0;
        r.itl_sum_ns = r.itl_max_ns = 0;
    }
    return r;
}

static void shift_record(record *r, int64_t d)
{
    uint64_t *t[] = {&r->scheduled_ns, &r->sent_ns, &r->first_byte_ns, &r->first_token_ns,
                     &r->first_output_ns, &r->last_token_ns, &r->end_ns};
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
        if (*t[k])
            *t[k] = (uint64_t)((int64_t)*t[k] + d);
}

typedef struct fixture {
    char dir[256];
    bench_result single;
    bench_result shards[NSHARDS];
} fixture;

/* Writes shard k as `run` would: report.json (with its "shard" block) and requests.csv. */
static void write_shard(fixture *fx, size_t k, double max_seconds)
{
    char path[512];
    snprintf(path, sizeof path, "%s/shard-%zu", fx->dir, k);
    assert_int_equal(mkdir(path, 0700), 0);
    config cfg;
    assert_int_equal(config_init(&cfg), 0);
    cfg.shard_index = (int)k;
    cfg.shard_count = NSHARDS;
    cfg.max_seconds = max_seconds;
    bench_summary sum;
    assert_int_equal(aggregate_bench(&fx->shards[k], &sum), 0);
    cJSON *doc = NULL;
    assert_int_equal(report_build(&cfg, "m", &sum, &fx->shards[k], 1, 0, fx->shards[k].wall_start, &doc), 0);
    cJSON *sh = cJSON_AddObjectToObject(doc, "shard");
    cJSON_AddNumberToObject(sh, "index", (double)k);
    cJSON_AddNumberToObject(sh, "count", NSHARDS);
    char file[600];
    snprintf(file, sizeof file, "%s/report.json", path);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    assert_int_equal(report_write_json(doc, f), 0);
    fclose(f);
    snprintf(file, sizeof file, "%s/requests.csv", path);
    f = fopen(file, "w");
    assert_non_null(f);
    assert_int_equal(report_write_requests_csv(&fx->shards[k], 1, fx->shards[k].t0_ns, f), 0);
    fclose(f);
    cJSON_Delete(doc);
    bench_summary_free(&sum);
    config_free(&cfg);
}

static int setup_fixture(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/llmload-test-merge-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    setup(&fx->single, SINGLE_T0, WALL0);
    /* The single process's window is the union of the shards'. */
    fx->single.window_end_ns += shard_late_us[2] * US;
    fx->single.sched_end_ns = fx->single.window_end_ns;
    for (size_t k = 0; k < NSHARDS; k++)
        setup(&fx->shards[k], shard_t0[k], WALL0 + (double)shard_late_us[k] / 1e6);
    uint64_t seed = 42;
    for (uint64_t i = 0; i < NREQ; i++) {
        record r = mk(&seed, i);
        size_t k = i % NSHARDS;
        record s = r;
        shift_record(&r, (int64_t)SINGLE_T0);
        /* Shard k's clock: its t0 is the single run's t0 + its lateness. */
        shift_record(&s, (int64_t)shard_t0[k] - (int64_t)(shard_late_us[k] * US));
        s.id = i / NSHARDS;
        assert_int_equal(record_log_append(&fx->single.records, &r, r.status == RECORD_ERROR ? "HTTP 500" : ""), 0);
        assert_int_equal(record_log_append(&fx->shards[k].records, &s, s.status == RECORD_ERROR ? "HTTP 500" : ""), 0);
        for (uint32_t g = 0; g < r.itl_count; g++) {
            uint64_t v = 3 * MS + next_rand(&seed) % (4 * MS);
            hist_record(fx->single.itl, v);
            hist_record(fx->single.itl_token, v);
            hist_record(fx->shards[k].itl, v);
            hist_record(fx->shards[k].itl_token, v);
        }
        uint64_t lag = next_rand(&seed) % (2 * MS);
        hist_record(fx->single.loop_lag, lag);
        hist_record(fx->shards[k].loop_lag, lag);
        fx->single.started++;
        fx->shards[k].started++;
        uint64_t e = r.end_ns, es = s.end_ns;
        if (e > fx->single.end_ns)
            fx->single.end_ns = e;
        if (es > fx->shards[k].end_ns)
            fx->shards[k].end_ns = es;
    }
    fx->single.loops = NSHARDS;
    fx->single.slots = 16 * NSHARDS;
    fx->single.plan.rate = 33.0;
    for (size_t k = 0; k < NSHARDS; k++)
        write_shard(fx, k, MAX_S);
    *state = fx;
    return 0;
}

static int teardown_fixture(void **state)
{
    fixture *fx = *state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fx->dir);
    bench_result_free(&fx->single);
    for (size_t k = 0; k < NSHARDS; k++)
        bench_result_free(&fx->shards[k]);
    free(fx);
    return 0;
}

static void load_all(fixture *fx, merge_shard **sh, const char *const *names, size_t n)
{
    char err[512] = "", path[600];
    for (size_t k = 0; k < n; k++) {
        snprintf(path, sizeof path, "%s/%s", fx->dir, names[k]);
        int rc = merge_shard_load(path, &sh[k], err, sizeof err);
        if (rc)
            print_error("%s\n", err);
        assert_int_equal(rc, 0);
    }
}

static void merged(fixture *fx, bench_result *out)
{
    static const char *const names[] = {"shard-0", "shard-1", "shard-2/report.json"};
    merge_shard *sh[NSHARDS];
    char err[512] = "";
    load_all(fx, sh, names, NSHARDS);
    assert_int_equal(merge_check(sh, NSHARDS, err, sizeof err), 0);
    bench_result parts[NSHARDS];
    double walls[NSHARDS];
    for (size_t k = 0; k < NSHARDS; k++) {
        assert_int_equal((int)sh[k]->n, 1);
        parts[k] = sh[k]->results[0];
        walls[k] = sh[k]->wall_starts[0];
    }
    assert_int_equal(merge_results(parts, walls, NSHARDS, 9999ULL * 1000 * MS, out), 0);
    for (size_t k = 0; k < NSHARDS; k++)
        merge_shard_free(sh[k]);
}

static void test_histogram_merge_is_one_histogram(void **state)
{
    fixture *fx = *state;
    bench_result m;
    merged(fx, &m);
    size_t slots = hist_bucket_slots();
    for (size_t i = 0; i < slots; i++) {
        assert_int_equal(hist_bucket_count(m.itl, i), hist_bucket_count(fx->single.itl, i));
        assert_int_equal(hist_bucket_count(m.loop_lag, i), hist_bucket_count(fx->single.loop_lag, i));
    }
    assert_int_equal(hist_count(m.itl), hist_count(fx->single.itl));
    assert_int_equal(hist_min(m.itl), hist_min(fx->single.itl));
    assert_int_equal(hist_max(m.itl), hist_max(fx->single.itl));
    assert_int_equal(hist_count(m.itl_token), hist_count(fx->single.itl_token));
    bench_result_free(&m);
}

static void assert_same_summary(const stats_summary *a, const stats_summary *b)
{
    assert_int_equal(a->n, b->n);
    assert_near(a->mean, b->mean, 1e-6);
    assert_near(a->stdev, b->stdev, 1e-6);
    assert_near(a->min, b->min, 1e-9);
    assert_near(a->p50, b->p50, 1e-9);
    assert_near(a->p90, b->p90, 1e-9);
    assert_near(a->p99, b->p99, 1e-9);
    assert_near(a->p999, b->p999, 1e-9);
    assert_near(a->max, b->max, 1e-9);
}

static void test_percentiles_from_shard_records(void **state)
{
    fixture *fx = *state;
    bench_result m;
    merged(fx, &m);
    bench_summary a, b;
    assert_int_equal(aggregate_bench(&m, &a), 0);
    assert_int_equal(aggregate_bench(&fx->single, &b), 0);
    assert_same_summary(&a.ttft, &b.ttft);
    assert_same_summary(&a.ttfb, &b.ttfb);
    assert_same_summary(&a.tpot, &b.tpot);
    print_message("e2e\n");
    assert_same_summary(&a.e2e, &b.e2e);
    assert_same_summary(&a.schedule_lag, &b.schedule_lag);
    assert_same_summary(&a.ttft_from_scheduled, &b.ttft_from_scheduled);
    assert_same_summary(&a.itl_request_mean, &b.itl_request_mean);
    assert_same_summary(&a.itl, &b.itl);
    assert_same_summary(&a.connect, &b.connect);
    assert_near(a.concurrency_mean, b.concurrency_mean, 1e-9);
    assert_near(a.output_token_throughput, b.output_token_throughput, 1e-9);
    assert_int_equal(a.no_done_ok, b.no_done_ok);
    assert_int_equal(a.connections_opened, b.connections_opened);
    assert_string_equal(a.output_tokens_source, b.output_tokens_source);
    /* requests.csv's session and turn columns come back, so the merged by-turn split is the single
     * run's (docs/workloads.md). */
    breakdown ba, bb;
    assert_int_equal(breakdown_compute(&m.records, BREAKDOWN_TURN, NULL, 0, a.duration_s, &ba), 0);
    assert_int_equal(breakdown_compute(&fx->single.records, BREAKDOWN_TURN, NULL, 0, b.duration_s, &bb), 0);
    assert_int_equal(ba.n, 3);
    assert_int_equal(bb.n, 3);
    for (size_t i = 0; i < ba.n; i++) {
        assert_int_equal(ba.groups[i].requests, bb.groups[i].requests);
        assert_near(ba.groups[i].ttft_ms.p50, bb.groups[i].ttft_ms.p50, 1e-6);
    }
    breakdown_free(&ba);
    breakdown_free(&bb);
    assert_int_equal(a.n_series, b.n_series);
    for (size_t i = 0; i < a.n_series; i++) {
        assert_int_equal(a.series[i].completed, b.series[i].completed);
        assert_near(a.series[i].in_flight, b.series[i].in_flight, 1e-9);
        assert_near(a.series[i].output_tps, b.series[i].output_tps, 1e-6);
    }
    bench_summary_free(&a);
    bench_summary_free(&b);
    bench_result_free(&m);
}

static void test_common_window_and_counts(void **state)
{
    fixture *fx = *state;
    bench_result m;
    merged(fx, &m);
    /* The union: from the first shard's start to the last shard's end, on the wall clock. */
    assert_int_equal(m.window_end_ns - m.window_start_ns, fx->single.window_end_ns - fx->single.window_start_ns);
    assert_int_equal(m.window_start_ns, m.t0_ns);
    assert_near(m.wall_start, WALL0, 1e-6);
    bench_summary a, b;
    assert_int_equal(aggregate_bench(&m, &a), 0);
    assert_int_equal(aggregate_bench(&fx->single, &b), 0);
    assert_near(a.duration_s, MAX_S + (double)shard_late_us[2] / 1e6, 1e-9);
    assert_near(a.duration_s, b.duration_s, 1e-12);
    assert_int_equal(a.measured, NREQ);
    assert_int_equal(a.completed, b.completed);
    assert_int_equal(a.errored, b.errored);
    assert_int_equal(a.errors_by_kind[RECORD_ERR_HTTP_5XX], NREQ / 50);
    assert_int_equal(a.started, NREQ);
    assert_int_equal(a.loops, NSHARDS);
    assert_near(a.request_throughput, b.request_throughput, 1e-12);
    assert_near(a.achieved_rate, b.achieved_rate, 1e-12);
    assert_int_equal(m.records.len, NREQ);
    /* Ids: the shard's id * N + the shard. */
    for (size_t i = 0; i < m.records.len; i++)
        assert_int_equal(m.records.items[i].id, fx->single.records.items[i].id);
    bench_summary_free(&a);
    bench_summary_free(&b);
    bench_result_free(&m);
}

static void test_refusals(void **state)
{
    fixture *fx = *state;
    char err[512] = "", path[600];
    merge_shard *sh[NSHARDS];
    /* A missing shard. */
    static const char *const two[] = {"shard-0", "shard-1"};
    load_all(fx, sh, two, 2);
    assert_int_equal(merge_check(sh, 2, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "every shard is needed"));
    merge_shard_free(sh[1]);
    /* A doubled shard. */
    snprintf(path, sizeof path, "%s/shard-0", fx->dir);
    assert_int_equal(merge_shard_load(path, &sh[1], err, sizeof err), 0);
    static const char *const rest[] = {"shard-2"};
    load_all(fx, sh + 2, rest, 1);
    assert_int_equal(merge_check(sh, NSHARDS, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "given twice"));
    for (size_t k = 0; k < NSHARDS; k++)
        merge_shard_free(sh[k]);
    /* Another config (a different --max-seconds) in shard 2, named in the message. */
    snprintf(path, sizeof path, "rm -rf '%s/shard-2'", fx->dir);
    assert_int_equal(system(path), 0);
    write_shard(fx, 2, 20.0);
    static const char *const all[] = {"shard-0", "shard-1", "shard-2"};
    load_all(fx, sh, all, NSHARDS);
    assert_int_equal(merge_check(sh, NSHARDS, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "config.max_seconds differs"));
    for (size_t k = 0; k < NSHARDS; k++)
        merge_shard_free(sh[k]);
    snprintf(path, sizeof path, "rm -rf '%s/shard-2'", fx->dir);
    assert_int_equal(system(path), 0);
    write_shard(fx, 2, MAX_S);
    /* Not a report. */
    snprintf(path, sizeof path, "%s/nothing-here", fx->dir);
    assert_int_not_equal(merge_shard_load(path, &sh[0], err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_merge_is_one_histogram),
        cmocka_unit_test(test_percentiles_from_shard_records),
        cmocka_unit_test(test_common_window_and_counts),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup_fixture, teardown_fixture);
}
