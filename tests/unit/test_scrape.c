/*
 * Unit tests for the scraper's series and window summary: scrapes are fed with scrape_ingest at
 * chosen times (no network), then summarised: gauges (mean, max, percentiles, window edges),
 * counters (increase and rate, linear at the window edges, resets as PromQL's increase, missing
 * and failed scrapes), histograms (window bucket deltas and quantiles, resets), the alias table on
 * each engine's exposition, label sets aggregated, --server-metrics-keep, and the threads against
 * a port where nothing listens (failures counted, never fatal).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_near.h"
#include "llmload/error.h"
#include "llmload/scrape.h"

#define S(x) ((uint64_t)((x) * 1e9))

static scrape *make(const char *keep)
{
    static const char *const urls[] = {"http://127.0.0.1:1/metrics", "http://127.0.0.1:1/dcgm"};
    scrape_opts o = {.urls = urls, .n_urls = 2, .interval_s = 1, .keep_regex = keep};
    scrape *s;
    char err[256] = "";
    assert_int_equal(scrape_create(&s, &o, err, sizeof err), 0);
    return s;
}

static void feed(scrape *s, size_t url, double t, const char *fmt, ...)
{
    char body[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    assert_int_equal(scrape_ingest(s, url, S(t), body, strlen(body)), 0);
}

static void feed_file(scrape *s, size_t url, double t, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/prom/%s.prom", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(scrape_ingest(s, url, S(t), buf, n), 0);
}

static void test_gauge_window(void **state)
{
    scrape *s = make(NULL);
    for (int i = 0; i <= 10; i++)
        feed(s, 0, 1 + i, "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{m=\"a\"} %d\n", i);
    scrape_summary sum;
    assert_int_equal(scrape_summarize(s, 0, S(1), S(11), &sum), 0);
    const scrape_figure *f = &sum.fig[SCRAPE_RUNNING];
    assert_true(f->present);
    assert_int_equal(f->kind, SCRAPE_GAUGE);
    assert_int_equal(f->n, 11);
    assert_near(f->mean, 5, 1e-9);
    assert_near(f->max, 10, 1e-9);
    assert_near(f->p50, 5, 1e-9);
    assert_near(f->p90, 9, 1e-9);
    assert_near(f->last, 10, 1e-9);
    assert_int_equal(sum.scrapes, 11);
    assert_int_equal(sum.scrapes_failed, 0);
    /* Only the scrapes inside the window. */
    assert_int_equal(scrape_summarize(s, 0, S(3), S(5), &sum), 0);
    assert_int_equal(sum.fig[SCRAPE_RUNNING].n, 3);
    assert_near(sum.fig[SCRAPE_RUNNING].mean, 3, 1e-9);
    assert_false(sum.fig[SCRAPE_WAITING].present);
    /* A window with no scrape has no figure. */
    assert_int_equal(scrape_summarize(s, 0, S(20), S(30), &sum), 0);
    assert_false(sum.fig[SCRAPE_RUNNING].present);
    assert_true(isnan(sum.prefix_hit_rate));
    scrape_destroy(s);
}

static void test_counter_increase_and_edges(void **state)
{
    scrape *s = make(NULL);
    for (int i = 0; i <= 3; i++)
        feed(s, 0, i, "# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total %d\n", 10 * i);
    scrape_summary sum;
    scrape_summarize(s, 0, S(0), S(3), &sum);
    const scrape_figure *f = &sum.fig[SCRAPE_GENERATION_TOKENS];
    assert_true(f->present);
    assert_int_equal(f->kind, SCRAPE_COUNTER);
    assert_near(f->increase, 30, 1e-9);
    assert_near(f->rate, 10, 1e-9);
    assert_int_equal(f->resets, 0);
    /* A window between scrapes: the deltas are spread linearly over each scrape interval. */
    scrape_summarize(s, 0, S(0.5), S(2.5), &sum);
    assert_near(sum.fig[SCRAPE_GENERATION_TOKENS].increase, 20, 1e-6);
    assert_near(sum.fig[SCRAPE_GENERATION_TOKENS].rate, 10, 1e-6);
    assert_near(sum.covered_s, 2, 1e-6);
    scrape_destroy(s);
}

static void test_counter_reset(void **state)
{
    scrape *s = make(NULL);
    static const int v[] = {0, 10, 20, 5, 15};
    for (int i = 0; i < 5; i++)
        feed(s, 0, i, "vllm:num_preemptions_total{engine=\"0\"} %d\n", v[i]);
    scrape_summary sum;
    scrape_summarize(s, 0, S(0), S(4), &sum);
    const scrape_figure *f = &sum.fig[SCRAPE_PREEMPTIONS];
    /* 10 + 10 + 5 (restarted from 0) + 10, as PromQL's increase counts it. */
    assert_near(f->increase, 35, 1e-9);
    assert_int_equal(f->resets, 1);
    assert_near(f->rate, 35.0 / 4, 1e-9);
    scrape_destroy(s);
}

static void test_missing_and_failed_scrapes(void **state)
{
    scrape *s = make(NULL);
    feed(s, 0, 0, "vllm:prompt_tokens_total 0\nvllm:num_requests_waiting 2\n");
    feed(s, 0, 1, "vllm:prompt_tokens_total 10\nvllm:num_requests_waiting 4\n");
    assert_int_equal(scrape_ingest(s, 0, S(2), NULL, 0), 0);                   /* timed out */
    assert_int_equal(scrape_ingest(s, 0, S(2.5), "<html>oops</html>\n", 18), 0); /* no sample */
    feed(s, 0, 3, "vllm:prompt_tokens_total 30\n");                            /* gauge missing */
    feed(s, 0, 4, "vllm:prompt_tokens_total 40\nvllm:num_requests_waiting 6\n");
    scrape_summary sum;
    scrape_summarize(s, 0, S(0), S(4), &sum);
    assert_int_equal(sum.scrapes, 6);
    assert_int_equal(sum.scrapes_failed, 2);
    /* The counter bridges the failed scrapes: the 1 s -> 3 s pair carries its 20 tokens. */
    assert_near(sum.fig[SCRAPE_PROMPT_TOKENS].increase, 40, 1e-9);
    assert_near(sum.fig[SCRAPE_PROMPT_TOKENS].rate, 10, 1e-9);
    /* The gauge uses only the scrapes that had it. */
    assert_int_equal(sum.fig[SCRAPE_WAITING].n, 3);
    assert_near(sum.fig[SCRAPE_WAITING].mean, 4, 1e-9);
    /* Half the 1..3 pair inside [0, 2]: 10 + 10. */
    scrape_summarize(s, 0, S(0), S(2), &sum);
    assert_near(sum.fig[SCRAPE_PROMPT_TOKENS].increase, 20, 1e-6);
    char err[160];
    scrape_last_error(s, 0, err, sizeof err);
    assert_string_equal(err, "no Prometheus sample in the answer");
    scrape_destroy(s);
}

#define TTFT_HIST                                                                                  \
    "# TYPE vllm:time_to_first_token_seconds histogram\n"                                          \
    "vllm:time_to_first_token_seconds_bucket{le=\"0.1\"} %d\n"                                     \
    "vllm:time_to_first_token_seconds_bucket{le=\"0.2\"} %d\n"                                     \
    "vllm:time_to_first_token_seconds_bucket{le=\"0.4\"} %d\n"                                     \
    "vllm:time_to_first_token_seconds_bucket{le=\"+Inf\"} %d\n"                                    \
    "vllm:time_to_first_token_seconds_sum %g\n"                                                    \
    "vllm:time_to_first_token_seconds_count %d\n"

static void test_histogram_window(void **state)
{
    scrape *s = make(NULL);
    feed(s, 0, 0, TTFT_HIST, 5, 5, 5, 5, 0.25, 5); /* before the window: subtracted */
    feed(s, 0, 1, TTFT_HIST, 15, 65, 105, 105, 20.25, 105);
    scrape_summary sum;
    scrape_summarize(s, 0, S(0), S(1), &sum);
    const scrape_figure *f = &sum.fig[SCRAPE_TTFT];
    assert_true(f->present);
    assert_int_equal(f->kind, SCRAPE_HISTOGRAM);
    assert_near(f->increase, 100, 1e-9);
    assert_near(f->mean, 0.2, 1e-9);
    /* rank 50 in (0.1, 0.2]: 10 below, 50 inside -> 0.1 + 0.1 * 40/50 */
    assert_near(f->p50, 0.18, 1e-9);
    assert_near(f->p90, 0.35, 1e-9);
    /* A restart: the new cumulative counts are the increase. */
    feed(s, 0, 2, TTFT_HIST, 0, 0, 10, 10, 3.0, 10);
    scrape_summarize(s, 0, S(1), S(2), &sum);
    assert_int_equal(sum.fig[SCRAPE_TTFT].resets, 1);
    assert_near(sum.fig[SCRAPE_TTFT].increase, 10, 1e-9);
    assert_near(sum.fig[SCRAPE_TTFT].p50, 0.3, 1e-9);
    /* Observations only in +Inf: the quantile is the last finite bound, as Prometheus says. */
    feed(s, 0, 3, TTFT_HIST, 0, 0, 10, 20, 30.0, 20);
    scrape_summarize(s, 0, S(2), S(3), &sum);
    assert_near(sum.fig[SCRAPE_TTFT].p99, 0.4, 1e-9);
    scrape_destroy(s);
}

#define TTFT_ZERO_TRT                                                                              \
    "# TYPE trtllm_time_to_first_token_seconds histogram\n"                                        \
    "trtllm_time_to_first_token_seconds_bucket{le=\"0.01\"} 0\n"                                  \
    "trtllm_time_to_first_token_seconds_bucket{le=\"0.05\"} 0\n"                                  \
    "trtllm_time_to_first_token_seconds_bucket{le=\"0.1\"} 0\n"                                   \
    "trtllm_time_to_first_token_seconds_bucket{le=\"+Inf\"} 0\n"                                  \
    "trtllm_time_to_first_token_seconds_sum 0\ntrtllm_time_to_first_token_seconds_count 0\n"        \
    "# TYPE trtllm_request_queue_time_seconds histogram\n"                                         \
    "trtllm_request_queue_time_seconds_bucket{le=\"0.1\"} 0\n"                                    \
    "trtllm_request_queue_time_seconds_bucket{le=\"+Inf\"} 0\n"                                   \
    "trtllm_request_queue_time_seconds_sum 0\ntrtllm_request_queue_time_seconds_count 0\n"

static void test_alias_table(void **state)
{
    scrape *s = make(NULL);
    scrape_summary sum;
    const char *const engines[] = {"vllm", "sglang", "tgi", "llamacpp"};
    const double running[] = {12, 48, 32, 4}, waiting[] = {3, 7, 4, 1}, kv[] = {0.4375, 0.97, NAN, 0.125};
    for (size_t e = 0; e < 4; e++) {
        scrape_destroy(s);
        s = make(NULL);
        feed_file(s, 0, 1, engines[e]);
        scrape_summarize(s, 0, S(0), S(2), &sum);
        assert_int_equal(sum.scrapes_failed, 0);
        assert_near(sum.fig[SCRAPE_RUNNING].mean, running[e], 1e-9);
        assert_near(sum.fig[SCRAPE_WAITING].mean, waiting[e], 1e-9);
        if (isnan(kv[e]))
            assert_false(sum.fig[SCRAPE_KV_USAGE].present);
        else
            assert_near(sum.fig[SCRAPE_KV_USAGE].mean, kv[e], 1e-9);
    }
    /* TGI's batch token budget and queue-time histogram; a summary family is not a histogram. */
    scrape_destroy(s);
    s = make(NULL);
    feed_file(s, 0, 1, "tgi");
    feed_file(s, 0, 2, "tgi");
    scrape_summarize(s, 0, S(0), S(3), &sum);
    assert_near(sum.fig[SCRAPE_BATCH_TOKENS].max, 16384, 1e-9);
    assert_true(sum.fig[SCRAPE_QUEUE_TIME].present);
    assert_near(sum.fig[SCRAPE_QUEUE_TIME].increase, 0, 1e-9);
    /* SGLang's own hit-rate gauge gives the prefix hit rate. */
    scrape_destroy(s);
    s = make(NULL);
    feed_file(s, 0, 1, "sglang");
    scrape_summarize(s, 0, S(0), S(2), &sum);
    assert_near(sum.prefix_hit_rate, 0.25, 1e-9);
    assert_near(sum.fig[SCRAPE_RETRACTED].max, 2, 1e-9);
    assert_near(sum.fig[SCRAPE_GENERATION_TPS].mean, 2790.5, 1e-9);
    /* TensorRT-LLM: latency histograms only. */
    scrape_destroy(s);
    s = make(NULL);
    feed(s, 0, 0, TTFT_ZERO_TRT);
    feed_file(s, 0, 1, "trtllm");
    scrape_summarize(s, 0, S(0), S(1), &sum);
    assert_near(sum.fig[SCRAPE_TTFT].increase, 100, 1e-9);
    assert_near(sum.fig[SCRAPE_TTFT].mean, 0.055, 1e-9);
    assert_near(sum.fig[SCRAPE_TTFT].p50, 0.05 + 0.05 * 10 / 60, 1e-9);
    assert_near(sum.fig[SCRAPE_QUEUE_TIME].increase, 100, 1e-9);
    assert_false(sum.fig[SCRAPE_RUNNING].present);
    scrape_destroy(s);
}

static void test_dcgm_and_energy(void **state)
{
    scrape *s = make(NULL);
    /* URL 0 the engine, URL 1 the GPU exporter. */
    feed(s, 0, 0, "vllm:generation_tokens_total 1000\n");
    feed(s, 0, 10, "vllm:generation_tokens_total 3000\n");
    feed_file(s, 1, 0, "dcgm");
    feed(s, 1, 10,
         "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\n"
         "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu=\"0\"} %.0f\nDCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu=\"1\"} %.0f\n"
         "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\"} 50\nDCGM_FI_DEV_GPU_UTIL{gpu=\"1\"} 70\n",
         2617838261.0 + 3000000, 2598102338.0 + 1000000);
    scrape_summary one, all;
    scrape_summarize(s, 1, S(0), S(10), &one);
    assert_near(one.fig[SCRAPE_GPU_UTIL].p50, 0.78, 1e-9); /* (0.96 + 0.60) / 2 */
    assert_near(one.fig[SCRAPE_GPU_UTIL].max, 0.96, 1e-9);
    assert_near(one.fig[SCRAPE_SM_ACTIVE].mean, 0.8999995, 1e-9);
    assert_near(one.fig[SCRAPE_FB_USED].mean, 74213 + 74101, 1e-9);
    assert_near(one.fig[SCRAPE_POWER].mean, 341.507 + 329.01, 1e-9);
    assert_near(one.fig[SCRAPE_ENERGY].increase, 4000, 1e-6); /* 4,000,000 mJ */
    assert_true(isnan(one.energy_per_token_j));               /* no tokens at this URL */
    assert_int_equal(scrape_summarize_all(s, S(0), S(10), &all), 0);
    assert_near(all.fig[SCRAPE_GENERATION_TOKENS].increase, 2000, 1e-9);
    assert_near(all.fig[SCRAPE_ENERGY].increase, 4000, 1e-6);
    assert_near(all.energy_per_token_j, 2.0, 1e-9);
    assert_int_equal(all.scrapes, 4);
    scrape_destroy(s);
}

static void test_label_sets_aggregate(void **state)
{
    scrape *s = make(NULL);
    feed(s, 0, 0,
         "vllm:num_requests_running{engine=\"0\"} 3\nvllm:num_requests_running{engine=\"1\"} 4\n"
         "vllm:kv_cache_usage_perc{engine=\"0\"} 0.2\nvllm:kv_cache_usage_perc{engine=\"1\"} 0.9\n"
         "vllm:prefix_cache_queries_total{engine=\"0\"} 0\nvllm:prefix_cache_hits_total{engine=\"0\"} 0\n"
         "vllm:num_requests_waiting NaN\n");
    feed(s, 0, 1,
         "vllm:prefix_cache_queries_total{engine=\"0\"} 300\nvllm:prefix_cache_queries_total{engine=\"1\"} 100\n"
         "vllm:prefix_cache_hits_total{engine=\"0\"} 100\nvllm:prefix_cache_hits_total{engine=\"1\"} 0\n");
    scrape_summary sum;
    scrape_summarize(s, 0, S(0), S(1), &sum);
    assert_near(sum.fig[SCRAPE_RUNNING].mean, 7, 1e-9);   /* summed over engines */
    assert_near(sum.fig[SCRAPE_KV_USAGE].mean, 0.9, 1e-9); /* the fullest engine */
    assert_false(sum.fig[SCRAPE_WAITING].present);         /* NaN is no value */
    assert_near(sum.prefix_hit_rate, 0.25, 1e-9);
    scrape_destroy(s);
}

static void test_keep_and_series(void **state)
{
    scrape *s = make("^(vllm:cache_config_info|python_gc_.*)$");
    feed_file(s, 0, 5, "vllm");
    feed(s, 0, 6, "vllm:num_requests_running 13\nunrelated_metric 1\n");
    cJSON *j = NULL;
    assert_int_equal(scrape_series_json(s, 0, S(0), S(10), S(4), &j), 0);
    char *txt = cJSON_PrintUnformatted(j);
    assert_non_null(strstr(txt, "\"running\":[[1,12],[2,13]]"));
    assert_non_null(strstr(txt, "\"kv_usage\":[[1,0.4375]]"));
    assert_non_null(strstr(txt, "\"python_gc_objects_collected_total{generation=\\\"0\\\"}\":[[1,13417]]"));
    assert_non_null(strstr(txt, "vllm:cache_config_info{block_size="));
    assert_null(strstr(txt, "unrelated_metric"));
    assert_null(strstr(txt, "process_start_time"));
    free(txt);
    cJSON_Delete(j);
    scrape_destroy(s);

    scrape_opts o = {.urls = NULL, .n_urls = 0, .interval_s = 1, .keep_regex = "(unclosed"};
    char err[256] = "";
    assert_int_equal(scrape_create(&s, &o, err, sizeof err), LL_EUSAGE);
    assert_non_null(strstr(err, "--server-metrics-keep \"(unclosed\""));
}

/* The threads against a port where nothing listens: the first scrape happens before start
 * returns, scrape_now adds one, stop adds the last; every one is a counted failure. */
static void test_threads_nothing_listening(void **state)
{
    static const char *const urls[] = {"http://127.0.0.1:1/metrics"};
    scrape_opts o = {.urls = urls, .n_urls = 1, .interval_s = 30};
    scrape *s;
    char err[256] = "";
    assert_int_equal(scrape_create(&s, &o, err, sizeof err), 0);
    assert_int_equal(scrape_start(s, err, sizeof err), 0);
    scrape_now(s);
    scrape_stop(s);
    scrape_now(s); /* after stop: nothing, no hang */
    scrape_summary sum;
    scrape_summarize(s, 0, 0, UINT64_MAX, &sum);
    assert_int_equal(sum.scrapes, 3);
    assert_int_equal(sum.scrapes_failed, 3);
    scrape_last_error(s, 0, err, sizeof err);
    assert_true(err[0] != '\0');
    assert_string_equal(scrape_url(s, 0), urls[0]);
    scrape_destroy(s);
}

static void test_names(void **state)
{
    assert_string_equal(scrape_role_name(SCRAPE_KV_USAGE), "kv_usage");
    assert_string_equal(scrape_role_name(SCRAPE_ENERGY), "energy_j");
    for (int r = 0; r < SCRAPE_ROLE_COUNT_; r++)
        assert_string_not_equal(scrape_role_name((scrape_role)r), "unknown");
    assert_int_equal(scrape_role_kind(SCRAPE_TTFT), SCRAPE_HISTOGRAM);
    assert_int_equal(scrape_role_kind(SCRAPE_PREEMPTIONS), SCRAPE_COUNTER);
    assert_string_equal(scrape_kind_name(SCRAPE_GAUGE), "gauge");
}

/* llama.cpp's /slots: usage is the processing slots' tokens over every slot's context; the keys of
 * server_slot::to_json (newer builds) and the older "state"; no figure without a token count. */
#define SLOT_IDLE(i) "{\"id\":" #i ",\"n_ctx\":1024,\"speculative\":false,\"is_processing\":false}"
#define SLOT_BUSY(i, n) "{\"id\":" #i ",\"n_ctx\":1024,\"speculative\":false,\"is_processing\":true,\"id_task\":7," \
    "\"n_prompt_tokens\":" #n ",\"params\":{\"n_predict\":-1},\"next_token\":[{\"has_next_token\":true,\"n_decoded\":3}]}"

static void test_slots_kv(void **state)
{
    scrape_slots_kv_figure f;
    const char *four = "[" SLOT_BUSY(0, 512) "," SLOT_BUSY(1, 256) "," SLOT_IDLE(2) "," SLOT_IDLE(3) "]";
    assert_int_equal(scrape_slots_kv(four, strlen(four), &f), 0);
    assert_near(f.usage, 768.0 / 4096, 1e-12);
    assert_int_equal(f.slots, 4);
    assert_int_equal(f.processing, 2);
    assert_near(f.ctx_tokens, 4096, 0);
    const char *idle = "[" SLOT_IDLE(0) "]";
    assert_int_equal(scrape_slots_kv(idle, strlen(idle), &f), 0);
    assert_near(f.usage, 0, 0);
    /* A slot holding more than the split share (a unified cache) never makes usage pass 1. */
    const char *over = "[{\"id\":0,\"n_ctx\":100,\"is_processing\":true,\"n_prompt_tokens\":250}]";
    assert_int_equal(scrape_slots_kv(over, strlen(over), &f), 0);
    assert_near(f.usage, 1, 0);
    /* Older builds: "state" (0 idle) in place of is_processing. */
    const char *old = "[{\"id\":0,\"n_ctx\":100,\"state\":1,\"n_prompt_tokens\":25},{\"id\":1,\"n_ctx\":100,\"state\":0}]";
    assert_int_equal(scrape_slots_kv(old, strlen(old), &f), 0);
    assert_near(f.usage, 0.125, 1e-12);
    const char *bad[] = {
        "",                                                    /* not JSON */
        "{\"slots\":[]}",                                      /* not an array */
        "[]",                                                  /* no slot */
        "[1]",                                                 /* not an object */
        "[{\"id\":0,\"is_processing\":false}]",                /* no n_ctx */
        "[{\"id\":0,\"n_ctx\":0,\"is_processing\":false}]",    /* n_ctx 0 */
        "[{\"id\":0,\"n_ctx\":-5,\"is_processing\":false}]",   /* negative */
        "[{\"id\":0,\"n_ctx\":\"1024\",\"is_processing\":false}]", /* a string */
        "[{\"id\":0,\"n_ctx\":1024}]",                         /* processing unknown */
        "[{\"id\":0,\"n_ctx\":1024,\"is_processing\":true}]",  /* busy, tokens unknown: no guess */
        "[{\"id\":0,\"n_ctx\":1e300,\"is_processing\":false}]", /* past int32 */
        "[{\"id\":0,\"n_ctx\":1024,\"is_processing\":false}", /* truncated */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(scrape_slots_kv(bad[i], strlen(bad[i]), &f), LL_EPARSE);
        assert_true(isnan(f.usage));
    }
}

static void test_slots_url(void **state)
{
    char u[64];
    assert_int_equal(scrape_slots_url("http://h:8080/metrics", u, sizeof u), 0);
    assert_string_equal(u, "http://h:8080/slots");
    assert_int_equal(scrape_slots_url("https://h/llama/metrics?x=1", u, sizeof u), 0);
    assert_string_equal(u, "https://h/llama/slots");
    assert_int_equal(scrape_slots_url("http://h:8080/prometheus/stats", u, sizeof u), 0);
    assert_string_equal(u, "http://h:8080/slots");
    assert_int_equal(scrape_slots_url("http://h:8080", u, sizeof u), 0);
    assert_string_equal(u, "http://h:8080/slots");
    assert_int_equal(scrape_slots_url("http://[::1]:9/metrics", u, sizeof u), 0);
    assert_string_equal(u, "http://[::1]:9/slots");
    assert_int_equal(scrape_slots_url("h:8080/metrics", u, sizeof u), LL_EINVAL);
    assert_int_equal(scrape_slots_url("http:///metrics", u, sizeof u), LL_EINVAL);
    assert_int_equal(scrape_slots_url("http://a-rather-long-host-name.example:8080/metrics", u, 16), LL_EOVERSIZE);
}

/* A llama.cpp-style scrape without the KV gauge wants /slots, and the answer sets kv_usage on that
 * scrape only; one with the older gauge, or vLLM's names, does not want it. */
static void test_slots_ingest(void **state)
{
    scrape *s = make(NULL);
    uint64_t ok_n, bad_n;
    char url[128];
    const char *lc = "llamacpp:requests_processing 2\nllamacpp:requests_deferred 3\n";
    const char *two = "[" SLOT_BUSY(0, 512) "," SLOT_IDLE(1) "]";
    feed(s, 0, 1, "%s", lc);
    assert_true(scrape_slots_state(s, 0, &ok_n, &bad_n, url, sizeof url));
    assert_string_equal(url, ""); /* no thread asked yet */
    assert_int_equal(scrape_ingest_slots(s, 0, S(1), two, strlen(two)), 0);
    feed(s, 0, 2, "%s", lc);
    assert_int_equal(scrape_ingest_slots(s, 0, S(2), "nope", 4), LL_EPARSE);
    feed(s, 0, 3, "%s", lc);
    assert_int_equal(scrape_ingest_slots(s, 0, S(2), two, strlen(two)), 0); /* not the last scrape: ignored */
    assert_true(scrape_slots_state(s, 0, &ok_n, &bad_n, url, sizeof url));
    assert_int_equal(ok_n, 2);
    assert_int_equal(bad_n, 1);
    scrape_summary sum;
    scrape_summarize(s, 0, S(0), S(4), &sum);
    assert_int_equal(sum.fig[SCRAPE_KV_USAGE].n, 1);
    assert_near(sum.fig[SCRAPE_KV_USAGE].max, 0.25, 1e-12);
    feed(s, 0, 4, "%sllamacpp:kv_cache_usage_ratio 0.5\n", lc);
    assert_false(scrape_slots_state(s, 0, &ok_n, &bad_n, url, sizeof url));
    feed(s, 1, 1, "vllm:num_requests_running 2\n");
    assert_false(scrape_slots_state(s, 1, &ok_n, &bad_n, url, sizeof url));
    scrape_destroy(s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gauge_window),
        cmocka_unit_test(test_counter_increase_and_edges),
        cmocka_unit_test(test_counter_reset),
        cmocka_unit_test(test_missing_and_failed_scrapes),
        cmocka_unit_test(test_histogram_window),
        cmocka_unit_test(test_alias_table),
        cmocka_unit_test(test_dcgm_and_energy),
        cmocka_unit_test(test_label_sets_aggregate),
        cmocka_unit_test(test_keep_and_series),
        cmocka_unit_test(test_threads_nothing_listening),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_slots_kv),
        cmocka_unit_test(test_slots_url),
        cmocka_unit_test(test_slots_ingest),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
