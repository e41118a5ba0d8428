/* Unit tests for the aggregator: every statistic against hand-computed values from records with
 * known timestamps (ms = 1e6 ns). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "llmload/aggregate.h"
#include "llmload/hist.h"

#define MS 1000000ULL
#define T0 (1000ULL * 1000 * MS) /* an arbitrary monotonic origin: 1000 s */

static record mk(uint64_t id, uint64_t sched_ms, uint64_t sent_ms, uint64_t ttft_ms, uint64_t e2e_ms, int out_tokens)
{
    record r;
    memset(&r, 0, sizeof r);
    r.id = id;
    r.scheduled_ns = T0 + sched_ms * MS;
    r.sent_ns = T0 + sent_ms * MS;
    r.first_byte_ns = r.sent_ns + 1 * MS;
    r.first_token_ns = r.sent_ns + ttft_ms * MS;
    r.first_output_ns = r.first_token_ns;
    r.end_ns = r.sent_ns + e2e_ms * MS;
    r.last_token_ns = r.end_ns;
    r.output_tokens = out_tokens;
    r.prompt_tokens = 100;
    r.token_events = (uint32_t)out_tokens;
    r.usage_seen = 1;
    r.done_seen = 1;
    r.max_tokens = out_tokens;
    r.status = RECORD_OK;
    return r;
}

static void setup_result(bench_result *res, config_schedule s, double max_seconds)
{
    memset(res, 0, sizeof *res);
    res->plan.schedule = s;
    res->plan.rate = 2;
    res->plan.max_seconds = max_seconds;
    strcpy(res->plan.name, "test");
    assert_int_equal(hist_create(&res->itl), 0);
    assert_int_equal(hist_create(&res->itl_token), 0);
    assert_int_equal(hist_create(&res->loop_lag), 0);
    res->t0_ns = T0;
    res->window_start_ns = T0;
    res->window_end_ns = T0 + (uint64_t)(max_seconds * 1000) * MS;
}

/* Four requests in a 2 s constant-rate run (rate 2/s), one of them failed:
 *   id sched sent ttft e2e out
 *   0  0     0    100  500  5   -> tpot (500-100)/4 = 100
 *   1  500   502  110  610  6   -> tpot 500/5 = 100, lag 2
 *   2  1000  1000 120  720  7   -> tpot 600/6 = 100
 *   3  1500  1510 (error, e2e 50)
 * ttft {100,110,120}: mean 110, p50 110; e2e {500,610,720}: mean 610.
 * window 2 s: achieved = 4 sent / 2 = 2/s, throughput = 3 / 2 = 1.5 req/s, output 18 / 2 = 9 tok/s,
 * total (18 + 300) / 2 = 159 tok/s. Concurrency: busy time 500+610+720+50 = 1880 ms / 2000 = 0.94.
 * From schedule: ttft 100, 112, 120 (mean 110.667); schedule lag {0,2,0,10}: max 10. */
static void test_open_loop_statistics(void **state)
{
    (void)state;
    bench_result res;
    setup_result(&res, CONFIG_SCHED_CONSTANT, 2.0);
    record rs[4] = {mk(0, 0, 0, 100, 500, 5), mk(1, 500, 502, 110, 610, 6), mk(2, 1000, 1000, 120, 720, 7),
                    mk(3, 1500, 1510, 0, 50, 0)};
    rs[3].status = RECORD_ERROR;
    rs[3].error_kind = RECORD_ERR_HTTP_5XX;
    for (int i = 0; i < 4; i++)
        assert_int_equal(record_log_append(&res.records, &rs[i], i == 3 ? "boom" : ""), 0);
    res.started = 4;
    res.sched_end_ns = T0 + 2000 * MS;
    res.end_ns = T0 + 2000 * MS;
    hist_record(res.itl, 100 * MS);
    hist_record(res.itl, 100 * MS);

    bench_summary s;
    assert_int_equal(aggregate_bench(&res, &s), 0);
    assert_int_equal(s.measured, 4);
    assert_int_equal(s.completed, 3);
    assert_int_equal(s.errored, 1);
    assert_int_equal(s.errors_by_kind[RECORD_ERR_HTTP_5XX], 1);
    assert_int_equal(s.n_first_errors, 1);
    assert_string_equal(s.first_errors[0], "http_5xx: boom");
    assert_float_equal(s.duration_s, 2.0, 1e-9);
    assert_float_equal(s.achieved_rate, 2.0, 1e-9);
    assert_float_equal(s.request_throughput, 1.5, 1e-9);
    assert_float_equal(s.output_token_throughput, 9.0, 1e-9);
    assert_float_equal(s.total_token_throughput, 159.0, 1e-9);
    assert_float_equal(s.concurrency_mean, 0.94, 1e-9);
    assert_float_equal(s.ttft.mean, 110.0, 1e-9);
    assert_float_equal(s.ttft.p50, 110.0, 1e-9);
    assert_float_equal(s.ttft.min, 100.0, 1e-9);
    assert_float_equal(s.ttft.max, 120.0, 1e-9);
    assert_float_equal(s.e2e.mean, 610.0, 1e-9);
    assert_float_equal(s.tpot.mean, 100.0, 1e-9);
    assert_float_equal(s.ttfb.mean, 1.0, 1e-9);
    assert_float_equal(s.ttft_from_scheduled.mean, (100.0 + 112.0 + 120.0) / 3, 1e-9);
    assert_float_equal(s.schedule_lag.max, 10.0, 1e-9);
    assert_float_equal(s.itl.p50, 100.0, 1.0); /* histogram: within 1% */
    assert_int_equal(s.itl.n, 2);
    assert_string_equal(s.output_tokens_source, "usage");
    assert_float_equal(s.output_tokens.mean, 6.0, 1e-9);
    /* Series: 2 seconds; second 0 has request 0 done (500 ms) and request 1 done (1112 ms -> s1). */
    assert_int_equal(s.n_series, 2);
    assert_int_equal(s.series[0].completed, 1);
    assert_int_equal(s.series[1].completed, 2);
    assert_int_equal(s.series[1].errors, 1);
    bench_summary_free(&s);
    bench_result_free(&res);
}

/* Warmup excludes by scheduled time: with a 1 s warmup only requests scheduled at >= 1 s count. */
static void test_warmup_excludes(void **state)
{
    (void)state;
    bench_result res;
    setup_result(&res, CONFIG_SCHED_CONCURRENT, 3.0);
    res.window_start_ns = T0 + 1000 * MS;
    record a = mk(0, 0, 0, 500, 900, 2), b = mk(1, 1200, 1200, 100, 300, 2);
    record_log_append(&res.records, &a, NULL);
    record_log_append(&res.records, &b, NULL);
    res.started = 2;
    res.sched_end_ns = T0 + 3000 * MS;
    res.end_ns = T0 + 3000 * MS;
    bench_summary s;
    assert_int_equal(aggregate_bench(&res, &s), 0);
    assert_int_equal(s.measured, 1);
    assert_float_equal(s.ttft.mean, 100.0, 1e-9);
    assert_float_equal(s.duration_s, 2.0, 1e-9);
    assert_int_equal(res.records.items[0].measured, 0);
    assert_int_equal(res.records.items[1].measured, 1);
    assert_int_equal(s.ttft_from_scheduled.n, 0); /* closed loop: not reported */
    bench_summary_free(&s);
    bench_result_free(&res);
}

/* A request-limited run measures to its last completion. */
static void test_request_limited_duration(void **state)
{
    (void)state;
    bench_result res;
    setup_result(&res, CONFIG_SCHED_SYNCHRONOUS, 0);
    res.window_end_ns = UINT64_MAX;
    record a = mk(0, 0, 0, 100, 400, 4), b = mk(1, 400, 400, 100, 400, 4);
    record_log_append(&res.records, &a, NULL);
    record_log_append(&res.records, &b, NULL);
    res.started = 2;
    res.sched_end_ns = T0 + 400 * MS;
    res.end_ns = T0 + 800 * MS;
    bench_summary s;
    assert_int_equal(aggregate_bench(&res, &s), 0);
    assert_float_equal(s.duration_s, 0.8, 1e-9);
    assert_float_equal(s.request_throughput, 2.5, 1e-9);
    assert_float_equal(s.concurrency_mean, 1.0, 1e-9);
    bench_summary_free(&s);
    bench_result_free(&res);
}

/* Throughput counts what happened inside the window [0.5 s, 2 s], whatever the scheduled time:
 *   a: sched 0 (warmup), ends 1000: counted; 10 tokens over [100, 1000], 500/900 of them inside
 *   b: sched 1000, ends 1500: counted; 4 tokens all inside
 *   c: sched 1800, ends 2800 (grace): not counted; 10 tokens over [1900, 2800], 100/900 inside
 *   d: sched 1900, ends 2900 (grace): not counted; 10 tokens over [1950, 2900], 50/950 inside
 * The old rule (measured requests completed at any time) gave b, c, d = 3 / 1.5 = 2 req/s. */
static void test_throughput_window(void **state)
{
    (void)state;
    bench_result res;
    setup_result(&res, CONFIG_SCHED_CONSTANT, 2.0);
    res.window_start_ns = T0 + 500 * MS;
    record rs[4] = {mk(0, 0, 0, 100, 1000, 10), mk(1, 1000, 1000, 100, 500, 4), mk(2, 1800, 1800, 100, 1000, 10),
                    mk(3, 1900, 1900, 50, 1000, 10)};
    for (int i = 0; i < 4; i++)
        assert_int_equal(record_log_append(&res.records, &rs[i], NULL), 0);
    res.started = 4;
    res.sched_end_ns = T0 + 2000 * MS;
    res.end_ns = T0 + 2900 * MS;
    bench_summary s;
    assert_int_equal(aggregate_bench(&res, &s), 0);
    assert_float_equal(s.duration_s, 1.5, 1e-9);
    assert_int_equal(s.measured, 3);
    assert_int_equal(s.completed, 3);
    assert_int_equal(s.completed_in_window, 2);
    assert_int_equal(s.completed_in_grace, 2);
    assert_float_equal(s.request_throughput, 2 / 1.5, 1e-9);
    assert_float_equal(s.offered_rate, 3 / 1.5, 1e-9);
    double out_tok = 10 * 500.0 / 900 + 4 + 10 * 100.0 / 900 + 10 * 50.0 / 950;
    assert_float_equal(s.output_token_throughput, out_tok / 1.5, 1e-9);
    /* Prompts of b, c, d: their first tokens fall inside the window (a's does not). */
    assert_float_equal(s.total_token_throughput, (out_tok + 300) / 1.5, 1e-9);
    assert_true(aggregate_completed_in_window(&s, &res.records.items[0]));
    assert_false(aggregate_completed_in_window(&s, &res.records.items[2]));
    bench_summary_free(&s);
    bench_result_free(&res);
}

/* client_bound needs sustained evidence: one late tick in a hundred (a preemption) is not it, even
 * with a huge loop-lag p99; one in five is. A loop on a core shared with a busy process: half a
 * core of CPU and most of the rest waiting for one. */
static void test_client_bound_evidence(void **state)
{
    (void)state;
    bench_result res;
    bench_summary s;
    setup_result(&res, CONFIG_SCHED_CONCURRENT, 10.0);
    res.started = 0;
    res.sched_end_ns = T0 + 10000 * MS;
    res.end_ns = T0 + 10000 * MS;
    res.ticks = 100;
    res.late_ticks = 1;
    hist_record(res.loop_lag, 40 * MS);
    res.cpu_s = 0.1;
    res.cpu_wait_s = 0.05;
    assert_int_equal(aggregate_bench(&res, &s), 0);
    assert_true(s.loop_lag_ms_p99 > 10);
    assert_int_equal(s.client_bound, 0);
    bench_summary_free(&s);

    res.late_ticks = 20;
    assert_int_equal(aggregate_bench(&res, &s), 0);
    assert_int_equal(s.client_bound, 1);
    assert_non_null(strstr(s.client_bound_reason, "20% of loop wake-ups over 5 ms late"));
    bench_summary_free(&s);

    /* A one-second run's ten ticks, three late: 30%, but one busy moment, not sustained. */
    res.ticks = 10;
    res.late_ticks = 3;
    assert_int_equal(aggregate_bench(&res, &s), 0);
    assert_int_equal(s.client_bound, 0);
    bench_summary_free(&s);
    res.ticks = 100;

    res.late_ticks = 0;
    res.cpu_s = 5.0;      /* 50% of the 10 s */
    res.cpu_wait_s = 4.5; /* 45% waiting */
    assert_int_equal(aggregate_bench(&res, &s), 0);
    assert_int_equal(s.client_bound, 1);
    assert_string_equal(s.client_bound_reason, "CPU 50% of a core and 45% waiting for one");
    assert_float_equal(s.cpu_wait_percent, 45.0, 1e-9);
    bench_summary_free(&s);

    /* Loop-stamped reads (curl): 300 sampled reads, 10 of them 5 ms in the socket (p99 5 ms),
     * under an ITL p99 of 10 ms: the tail is half the client's. */
    res.cpu_s = 0.5;
    res.cpu_wait_s = 0;
    res.busy_s = 6.0;
    res.loop_stamps = 1;
    res.reads_sampled = 300;
    res.reads_waited = 10;
    assert_int_equal(hist_create(&res.read_wait), 0);
    for (int i = 0; i < 290; i++)
        hist_record(res.read_wait, 100000); /* 0.1 ms */
    for (int i = 0; i < 10; i++)
        hist_record(res.read_wait, 5 * MS);
    for (int i = 0; i < 100; i++)
        hist_record(res.itl, 10 * MS);
    assert_int_equal(aggregate_bench(&res, &s), 0);
    assert_int_equal(s.client_bound, 1);
    assert_non_null(strstr(s.client_bound_reason, "reads waited in the socket up to 5.0 ms (p99; 50% of the ITL p99)"));
    assert_non_null(strstr(s.client_bound_reason, "loop busy 60%"));
    bench_summary_free(&s);
    /* The same tail under 100 ms tokens is 5% of their p99: not a verdict. */
    for (int i = 0; i < 10000; i++)
        hist_record(res.itl, 100 * MS);
    assert_int_equal(aggregate_bench(&res, &s), 0);
    assert_int_equal(s.client_bound, 0);
    bench_summary_free(&s);
    for (int i = 0; i < 10000; i++)
        hist_record(res.itl, 10 * MS);
    res.loop_stamps = 0; /* the same loop with kernel stamps: its timing is not at fault */
    assert_int_equal(aggregate_bench(&res, &s), 0);
    assert_int_equal(s.client_bound, 0);
    bench_summary_free(&s);
    bench_result_free(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_loop_statistics),
        cmocka_unit_test(test_warmup_excludes),
        cmocka_unit_test(test_request_limited_duration),
        cmocka_unit_test(test_throughput_window),
        cmocka_unit_test(test_client_bound_evidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
