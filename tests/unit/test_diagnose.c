/*
 * Unit tests for the diagnosis: each verdict from a hand-built window summary and client figures,
 * and beside each the near miss that must not give it (a threshold just not reached, a figure the
 * server does not expose); then the order of the rules, the JSON and the console line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/diagnose.h"

static scrape_summary srv;
static diagnose_client cl;

static void gauge(scrape_role r, double mean, double p50, double max)
{
    scrape_figure *f = &srv.fig[r];
    f->present = 1;
    f->kind = SCRAPE_GAUGE;
    f->n = 10;
    f->mean = mean;
    f->p50 = p50;
    f->max = max;
}

static void counter(scrape_role r, double inc)
{
    scrape_figure *f = &srv.fig[r];
    f->present = 1;
    f->kind = SCRAPE_COUNTER;
    f->increase = inc;
}

/* A healthy engine at light load: 3 of up to 64 running, nothing waits, cache 20%. */
static int setup(void **state)
{
    memset(&srv, 0, sizeof srv);
    srv.prefix_hit_rate = srv.energy_per_token_j = NAN;
    gauge(SCRAPE_RUNNING, 3, 3, 5);
    gauge(SCRAPE_WAITING, 0, 0, 0);
    gauge(SCRAPE_KV_USAGE, 0.2, 0.2, 0.25);
    cl = (diagnose_client){.ttft_p50_ms = 40, .ttft_p50_ms_base = 35, .tpot_p50_ms = 10, .tpot_p50_ms_base = 9,
                           .in_flight_mean = 3, .client_bound = 0};
    return 0;
}

static diagnose_verdict judge(void)
{
    diagnose_result r;
    diagnose(&srv, &cl, &r);
    assert_non_null(r.reason);
    return r.verdict;
}

#define VERDICT(v) assert_string_equal(diagnose_verdict_name(judge()), diagnose_verdict_name(v))

static void test_not_saturated(void **state)
{
    VERDICT(DIAGNOSE_NOT_SATURATED);
}

static void test_batch_full(void **state)
{
    gauge(SCRAPE_RUNNING, 64, 64, 64);
    gauge(SCRAPE_WAITING, 12.5, 12, 30);
    cl.in_flight_mean = 76;
    VERDICT(DIAGNOSE_BATCH_FULL);
    /* Near miss: the batch at its top only briefly (p50 well below max): not batch_full. */
    gauge(SCRAPE_RUNNING, 40, 40, 64);
    assert_int_not_equal(judge(), DIAGNOSE_BATCH_FULL);
    /* Near miss: at its ceiling but nothing waits (waiting mean 0.4 < 0.5). */
    gauge(SCRAPE_RUNNING, 64, 64, 64);
    gauge(SCRAPE_WAITING, 0.4, 0, 2);
    VERDICT(DIAGNOSE_NOT_SATURATED);
}

static void test_kv_cache_full(void **state)
{
    gauge(SCRAPE_RUNNING, 20, 20, 22);
    gauge(SCRAPE_WAITING, 8, 8, 14);
    gauge(SCRAPE_KV_USAGE, 0.93, 0.95, 0.97);
    VERDICT(DIAGNOSE_KV_CACHE_FULL);
    /* Preemptions count as a full cache even when the usage gauge reads lower. */
    gauge(SCRAPE_KV_USAGE, 0.6, 0.6, 0.7);
    counter(SCRAPE_PREEMPTIONS, 3);
    VERDICT(DIAGNOSE_KV_CACHE_FULL);
    /* SGLang's retracted requests likewise. */
    memset(&srv.fig[SCRAPE_PREEMPTIONS], 0, sizeof srv.fig[0]);
    gauge(SCRAPE_RETRACTED, 0.2, 0, 2);
    VERDICT(DIAGNOSE_KV_CACHE_FULL);
    memset(&srv.fig[SCRAPE_RETRACTED], 0, sizeof srv.fig[0]);
    /* Near miss: 89% is not full; the batch plateau then names it. */
    gauge(SCRAPE_KV_USAGE, 0.85, 0.85, 0.89);
    VERDICT(DIAGNOSE_BATCH_FULL);
    /* Near miss: the cache full but nothing waits. */
    gauge(SCRAPE_KV_USAGE, 0.97, 0.97, 0.99);
    gauge(SCRAPE_WAITING, 0, 0, 0);
    VERDICT(DIAGNOSE_NOT_SATURATED);
}

static void test_queueing_in_engine(void **state)
{
    /* Waiting, but the batch is not flat at a ceiling and the cache has room (a token budget per
     * step, chunked prefill). */
    gauge(SCRAPE_RUNNING, 10, 9, 20);
    gauge(SCRAPE_WAITING, 3, 3, 6);
    VERDICT(DIAGNOSE_QUEUEING);
}

static void test_queueing_in_front(void **state)
{
    /* The engine holds 4, the client has 16 in flight, TTFT 5x the light load's. */
    gauge(SCRAPE_RUNNING, 4, 4, 6);
    cl.in_flight_mean = 16;
    cl.ttft_p50_ms = 175;
    VERDICT(DIAGNOSE_QUEUEING);
    /* Near miss: TTFT grew only 1.9x. */
    cl.ttft_p50_ms = 66;
    VERDICT(DIAGNOSE_NOT_SATURATED);
    /* Near miss: TTFT grew but the engine holds what the client sends (in flight 5 < 1.5 x 4). */
    cl.ttft_p50_ms = 175;
    cl.in_flight_mean = 5;
    VERDICT(DIAGNOSE_NOT_SATURATED);
    /* No base (a lone benchmark): growth unknown, no front-queue verdict. */
    cl.in_flight_mean = 16;
    cl.ttft_p50_ms_base = NAN;
    VERDICT(DIAGNOSE_NOT_SATURATED);
}

static void test_compute_bound(void **state)
{
    gauge(SCRAPE_RUNNING, 32, 32, 40);
    gauge(SCRAPE_SM_ACTIVE, 0.92, 0.93, 0.97);
    cl.in_flight_mean = 32;
    cl.tpot_p50_ms = 18; /* 2x the light load's 9 */
    VERDICT(DIAGNOSE_COMPUTE_BOUND);
    /* GPU utilisation stands in when SM activity is not exported. */
    memset(&srv.fig[SCRAPE_SM_ACTIVE], 0, sizeof srv.fig[0]);
    gauge(SCRAPE_GPU_UTIL, 0.99, 1, 1);
    VERDICT(DIAGNOSE_COMPUTE_BOUND);
    /* Near miss: busy GPU, flat time per token (1.4x). */
    cl.tpot_p50_ms = 12.6;
    VERDICT(DIAGNOSE_NOT_SATURATED);
    /* Near miss: time per token doubled, GPU at 79%. */
    cl.tpot_p50_ms = 18;
    gauge(SCRAPE_GPU_UTIL, 0.79, 0.8, 0.9);
    VERDICT(DIAGNOSE_NOT_SATURATED);
    /* Near miss: no GPU exporter at all. */
    memset(&srv.fig[SCRAPE_GPU_UTIL], 0, sizeof srv.fig[0]);
    VERDICT(DIAGNOSE_NOT_SATURATED);
}

static void test_latency_floor(void **state)
{
    gauge(SCRAPE_RUNNING, 1, 1, 1);
    cl.in_flight_mean = 1;
    cl.ttft_p50_ms = 1500;
    cl.ttft_p50_ms_base = 1500;
    VERDICT(DIAGNOSE_LATENCY_FLOOR);
    /* Near miss: 999 ms. */
    cl.ttft_p50_ms = 999;
    VERDICT(DIAGNOSE_NOT_SATURATED);
    /* Near miss: high TTFT, but with 2 in flight. */
    cl.ttft_p50_ms = 1500;
    cl.in_flight_mean = 2;
    VERDICT(DIAGNOSE_NOT_SATURATED);
}

static void test_client_bound_wins(void **state)
{
    gauge(SCRAPE_RUNNING, 64, 64, 64);
    gauge(SCRAPE_WAITING, 12, 12, 20);
    gauge(SCRAPE_KV_USAGE, 0.99, 0.99, 1);
    cl.client_bound = 1;
    VERDICT(DIAGNOSE_CLIENT_BOUND);
    cl.client_bound = 0;
    VERDICT(DIAGNOSE_KV_CACHE_FULL);
}

static void test_no_server_figures(void **state)
{
    memset(&srv, 0, sizeof srv);
    VERDICT(DIAGNOSE_UNKNOWN);
    diagnose_result r;
    diagnose(NULL, &cl, &r);
    assert_int_equal(r.verdict, DIAGNOSE_UNKNOWN);
    assert_true(isnan(r.running_max) && isnan(r.kv_usage_max));
    /* The client's own verdicts need no server figure. */
    cl.client_bound = 1;
    diagnose(NULL, &cl, &r);
    assert_int_equal(r.verdict, DIAGNOSE_CLIENT_BOUND);
    /* A GPU exporter alone: judged on it (not saturated here). */
    cl.client_bound = 0;
    gauge(SCRAPE_GPU_UTIL, 0.3, 0.3, 0.4);
    VERDICT(DIAGNOSE_NOT_SATURATED);
}

static void test_json_and_line(void **state)
{
    gauge(SCRAPE_RUNNING, 4, 4, 4);
    gauge(SCRAPE_WAITING, 8, 8, 8);
    diagnose_result r;
    diagnose(&srv, &cl, &r);
    assert_int_equal(r.verdict, DIAGNOSE_BATCH_FULL);
    cJSON *j;
    assert_int_equal(diagnose_json(&r, &j), 0);
    char *txt = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(txt, "\"verdict\":\"batch_full\""));
    assert_non_null(strstr(txt, "\"running_max\":4"));
    assert_non_null(strstr(txt, "\"waiting_mean\":8"));
    assert_null(strstr(txt, "gpu_busy")); /* not exposed: left out, not 0 */
    free(txt);
    cJSON_Delete(j);
    char line[256];
    diagnose_line(&r, line, sizeof line);
    assert_string_equal(line, "batch_full: running 4.0 mean, 4 max, waiting 8.0 mean, kv cache 25% max, client in flight 3.0");
    char small[8];
    diagnose_line(&r, small, sizeof small);
    assert_string_equal(small, "batch_f");
    for (int v = 0; v <= DIAGNOSE_UNKNOWN; v++)
        assert_true(strlen(diagnose_verdict_name((diagnose_verdict)v)) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_not_saturated, setup),
        cmocka_unit_test_setup(test_batch_full, setup),
        cmocka_unit_test_setup(test_kv_cache_full, setup),
        cmocka_unit_test_setup(test_queueing_in_engine, setup),
        cmocka_unit_test_setup(test_queueing_in_front, setup),
        cmocka_unit_test_setup(test_compute_bound, setup),
        cmocka_unit_test_setup(test_latency_floor, setup),
        cmocka_unit_test_setup(test_client_bound_wins, setup),
        cmocka_unit_test_setup(test_no_server_figures, setup),
        cmocka_unit_test_setup(test_json_and_line, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
