/*
 * sim_metrics.c - /metrics for the simulator in Prometheus text format 0.0.4: HELP and TYPE before
 * each family, histograms as cumulative _bucket{le} series ending in le="+Inf", then _sum, _count.
 * Names follow vLLM (vllm:*, label model_name) so dashboards and llmload's --server-metrics work
 * unchanged. Invariant: bucket bounds are strictly increasing, so rendered buckets are cumulative.
 */
#include "sim_metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "llmload/error.h"
#include "sim_prefix.h"

static const double ttft_bounds[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
                                     0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0,
                                     2560.0};
static const double e2e_bounds[] = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
                                    40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
/* Finer at the low end than vLLM's, since the simulator's steps are often a few milliseconds. */
static const double itl_bounds[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.05,
                                    0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0};

/* vLLM's request_latency_buckets (queue time) and its inter-token latency buckets
 * (vllm/v1/metrics/loggers.py), and its tokens-per-step buckets. */
static const double queue_bounds[] = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
                                      40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
static const double vllm_itl_bounds[] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
                                         1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
static const double iter_bounds[] = {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};

static const struct {
    const char *name, *help;
    const double *bounds;
    size_t n;
} hist_defs[SIM_HIST_COUNT_] = {
    [SIM_HIST_TTFT] = {"vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
                       ttft_bounds, sizeof ttft_bounds / sizeof ttft_bounds[0]},
    [SIM_HIST_E2E] = {"vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.",
                      e2e_bounds, sizeof e2e_bounds / sizeof e2e_bounds[0]},
    [SIM_HIST_ITL] = {"llmload_sim_inter_token_latency_seconds",
                      "Gaps between consecutive token event writes of one stream, CLOCK_MONOTONIC at write time.",
                      itl_bounds, sizeof itl_bounds / sizeof itl_bounds[0]},
    [SIM_HIST_QUEUE] = {"vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
                        queue_bounds, sizeof queue_bounds / sizeof queue_bounds[0]},
    [SIM_HIST_VLLM_ITL] = {"vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
                           vllm_itl_bounds, sizeof vllm_itl_bounds / sizeof vllm_itl_bounds[0]},
    [SIM_HIST_ITER] = {"vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.",
                       iter_bounds, sizeof iter_bounds / sizeof iter_bounds[0]},
};

static const char *fault_names[SIM_FAULT_COUNT_] = {"error", "rate_limit", "disconnect", "malformed", "stall",
                                                           "stream_error"};

int sim_metrics_init(sim_metrics *m)
{
    memset(m, 0, sizeof *m);
    return hist_create(&m->itl_sent) == 0 ? 0 : LL_ENOMEM;
}

void sim_metrics_free(sim_metrics *m)
{
    hist_destroy(m->itl_sent);
    m->itl_sent = NULL;
}

void sim_metrics_observe_gap(sim_metrics *m, uint64_t gap_ns)
{
    sim_metrics_observe(m, SIM_HIST_ITL, (double)gap_ns / 1e9);
    /* A gap past HIST_MAX_NS (73 min) is counted in its out_of_range, which /sim/stats shows. */
    hist_record(m->itl_sent, gap_ns);
}

void sim_metrics_observe(sim_metrics *m, enum sim_hist_kind kind, double seconds)
{
    sim_hist *h = &m->hist[kind];
    size_t i = 0;
    while (i < hist_defs[kind].n && seconds > hist_defs[kind].bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += seconds;
}

static int family(sim_buf *o, const char *name, const char *type, const char *help)
{
    return sim_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* `labels` is the label set after le (e.g. model_name="m"), pasted as given. */
static int render_hist_labels(const sim_hist *h, enum sim_hist_kind k, const char *labels, sim_buf *o)
{
    const char *n = hist_defs[k].name;
    int rc = family(o, n, "histogram", hist_defs[k].help);
    uint64_t cum = 0;
    for (size_t i = 0; rc == 0 && i < hist_defs[k].n; i++) {
        cum += h->counts[i];
        rc = sim_buf_printf(o, "%s_bucket{le=\"%g\",%s} %llu\n", n, hist_defs[k].bounds[i], labels,
                            (unsigned long long)cum);
    }
    if (rc == 0)
        rc = sim_buf_printf(o, "%s_bucket{le=\"+Inf\",%s} %llu\n%s_sum{%s} %.9g\n%s_count{%s} %llu\n", n, labels,
                            (unsigned long long)h->count, n, labels, h->sum, n, labels,
                            (unsigned long long)h->count);
    return rc;
}

static int render_hist(const sim_hist *h, enum sim_hist_kind k, const char *model, sim_buf *o)
{
    char labels[256];
    snprintf(labels, sizeof labels, "model_name=\"%s\"", model);
    return render_hist_labels(h, k, labels, o);
}

int sim_metrics_render(const sim_metrics *m, const sim_engine *e, uint64_t kv_total, const char *model,
                       sim_buf *o)
{
    double kv = kv_total ? (double)sim_engine_kv_used(e) / (double)kv_total : 0.0;
    SIM_BUF_TRY(family(o, "vllm:num_requests_running", "gauge", "Number of requests in model execution batches."));
    SIM_BUF_TRY(sim_buf_printf(o, "vllm:num_requests_running{model_name=\"%s\"} %u\n", model, sim_engine_running(e)));
    SIM_BUF_TRY(family(o, "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed."));
    SIM_BUF_TRY(sim_buf_printf(o, "vllm:num_requests_waiting{model_name=\"%s\"} %u\n", model, sim_engine_waiting(e)));
    SIM_BUF_TRY(family(o, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage."));
    SIM_BUF_TRY(sim_buf_printf(o, "vllm:kv_cache_usage_perc{model_name=\"%s\"} %.9g\n", model, kv));
    SIM_BUF_TRY(family(o, "vllm:gpu_cache_usage_perc", "gauge", "GPU KV-cache usage. 1 means 100 percent usage."));
    SIM_BUF_TRY(sim_buf_printf(o, "vllm:gpu_cache_usage_perc{model_name=\"%s\"} %.9g\n", model, kv));
    SIM_BUF_TRY(family(o, "vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed."));
    SIM_BUF_TRY(sim_buf_printf(o, "vllm:prompt_tokens_total{model_name=\"%s\"} %llu\n", model,
                       (unsigned long long)m->prompt_tokens));
    SIM_BUF_TRY(family(o, "vllm:generation_tokens_total", "counter", "Number of generation tokens processed."));
    SIM_BUF_TRY(sim_buf_printf(o, "vllm:generation_tokens_total{model_name=\"%s\"} %llu\n", model,
                       (unsigned long long)m->generation_tokens));
    SIM_BUF_TRY(family(o, "vllm:request_success_total", "counter", "Count of successfully processed requests."));
    SIM_BUF_TRY(sim_buf_printf(o, "vllm:request_success_total{finished_reason=\"length\",model_name=\"%s\"} %llu\n",
                       model, (unsigned long long)m->success_length));
    SIM_BUF_TRY(sim_buf_printf(o, "vllm:request_success_total{finished_reason=\"stop\",model_name=\"%s\"} %llu\n",
                       model, (unsigned long long)m->success_stop));
    /* vLLM V1 counts requests the client aborted under finished_reason="abort". */
    SIM_BUF_TRY(sim_buf_printf(o, "vllm:request_success_total{finished_reason=\"abort\",model_name=\"%s\"} %llu\n",
                       model, (unsigned long long)m->success_abort));
    SIM_BUF_TRY(render_hist(&m->hist[SIM_HIST_TTFT], SIM_HIST_TTFT, model, o));
    SIM_BUF_TRY(render_hist(&m->hist[SIM_HIST_E2E], SIM_HIST_E2E, model, o));
    SIM_BUF_TRY(family(o, "llmload_sim_requests_total", "counter",
               "Completion requests received (chat and completions, any outcome)."));
    SIM_BUF_TRY(sim_buf_printf(o, "llmload_sim_requests_total{model_name=\"%s\"} %llu\n", model,
                       (unsigned long long)m->requests));
    SIM_BUF_TRY(family(o, "llmload_sim_faults_total", "counter", "Faults the simulator injected, by kind."));
    for (int k = 0; k < SIM_FAULT_COUNT_; k++)
        SIM_BUF_TRY(sim_buf_printf(o, "llmload_sim_faults_total{kind=\"%s\",model_name=\"%s\"} %llu\n", fault_names[k],
                           model, (unsigned long long)m->faults[k]));
    SIM_BUF_TRY(render_hist(&m->hist[SIM_HIST_ITL], SIM_HIST_ITL, model, o));
    return 0;
}

/* Milliseconds with ns precision; the histogram's values are ns. */
static double ms(double ns)
{
    return ns / 1e6;
}

int sim_metrics_render_stats(const sim_metrics *m, const sim_engine *e, sim_buf *o)
{
    const hist *h = m->itl_sent;
    SIM_BUF_TRY(sim_buf_printf(
        o,
        "{\"itl_sent_ms\":{\"count\":%llu,\"out_of_range\":%llu,\"mean\":%.6f,\"stdev\":%.6f,\"min\":%.6f,"
        "\"p50\":%.6f,\"p90\":%.6f,\"p95\":%.6f,\"p99\":%.6f,\"p999\":%.6f,\"max\":%.6f,"
        "\"scheme\":\"log-linear\",\"sub_bucket_bits\":%d},",
        (unsigned long long)hist_count(h), (unsigned long long)hist_out_of_range(h), ms(hist_mean(h)),
        ms(hist_stdev(h)), ms((double)hist_min(h)), ms(hist_percentile(h, 50)), ms(hist_percentile(h, 90)),
        ms(hist_percentile(h, 95)), ms(hist_percentile(h, 99)), ms(hist_percentile(h, 99.9)),
        ms((double)hist_max(h)), HIST_SUB_BITS));
    SIM_BUF_TRY(sim_buf_printf(
        o,
        "\"events_sent\":%llu,\"events_backlogged\":%llu,\"streams_completed\":%llu,\"requests\":%llu,"
        "\"requests_completed\":%llu,\"generation_tokens\":%llu,\"running\":%u,\"waiting\":%u",
        (unsigned long long)m->events_sent, (unsigned long long)m->events_backlogged,
        (unsigned long long)m->streams_completed, (unsigned long long)m->requests,
        (unsigned long long)(m->success_length + m->success_stop), (unsigned long long)m->generation_tokens,
        sim_engine_running(e), sim_engine_waiting(e)));
    SIM_BUF_TRY(sim_buf_printf(o, ",\"posts_received\":%llu}", (unsigned long long)m->posts));
    return 0;
}

void sim_metrics_iteration_flush(sim_metrics *m)
{
    if (!m->iter_tokens)
        return;
    sim_metrics_observe(m, SIM_HIST_ITER, (double)m->iter_tokens);
    m->n_decode++;
    m->busy_slots += m->iter_running;
    m->iter_tokens = 0;
    m->iter_running = 0;
}

void sim_metrics_iteration(sim_metrics *m, uint64_t at_ns, uint64_t tokens)
{
    if (m->iter_tokens && at_ns != m->iter_at)
        sim_metrics_iteration_flush(m);
    m->iter_at = at_ns;
    m->iter_tokens += tokens;
    /* Each sequence in the step emits once: the emissions are its busy slots. */
    m->iter_running++;
}

/* One sample line of a counter or gauge family with vLLM V1's labels. */
static int v1_line(sim_buf *o, const char *name, const char *labels, double v)
{
    return sim_buf_printf(o, "%s{%s} %.17g\n", name, labels, v);
}

int sim_metrics_render_v1(const sim_metrics *m, const sim_metrics_view *v, sim_buf *o)
{
    char labels[256];
    snprintf(labels, sizeof labels, "model_name=\"%s\",engine=\"0\"", v->model);
    double q = v->prefix ? (double)sim_prefix_queries(v->prefix) : 0, h = v->prefix ? (double)sim_prefix_hits(v->prefix) : 0;
    /* prometheus_client writes a Counter named X as X_total: these are the names vLLM serves. */
    SIM_BUF_TRY(family(o, "vllm:prefix_cache_queries_total", "counter",
                       "Prefix cache queries, in terms of number of queried tokens."));
    SIM_BUF_TRY(v1_line(o, "vllm:prefix_cache_queries_total", labels, q));
    SIM_BUF_TRY(family(o, "vllm:prefix_cache_hits_total", "counter", "Prefix cache hits, in terms of number of cached tokens."));
    SIM_BUF_TRY(v1_line(o, "vllm:prefix_cache_hits_total", labels, h));
    SIM_BUF_TRY(family(o, "vllm:num_preemptions_total", "counter", "Cumulative number of preemption from the engine."));
    SIM_BUF_TRY(v1_line(o, "vllm:num_preemptions_total", labels, (double)sim_engine_preemptions(v->engine)));
    SIM_BUF_TRY(render_hist_labels(&m->hist[SIM_HIST_QUEUE], SIM_HIST_QUEUE, labels, o));
    SIM_BUF_TRY(render_hist_labels(&m->hist[SIM_HIST_VLLM_ITL], SIM_HIST_VLLM_ITL, labels, o));
    SIM_BUF_TRY(render_hist_labels(&m->hist[SIM_HIST_ITER], SIM_HIST_ITER, labels, o));
    return 0;
}

static int lc(sim_buf *o, const char *name, const char *type, const char *help, double v)
{
    SIM_BUF_TRY(family(o, name, type, help));
    return sim_buf_printf(o, "%s %.17g\n", name, v);
}

int sim_metrics_render_llamacpp(const sim_metrics *m, const sim_metrics_view *v, sim_buf *o)
{
    const sim_engine *e = v->engine;
    double pt = (double)m->prompt_tokens, gt = (double)m->generation_tokens;
    /* llama-server's order and help texts (tools/server/server.cpp); kv_cache_usage_ratio and
     * kv_cache_tokens are the older builds' (newer ones dropped them: /slots stands in). */
    SIM_BUF_TRY(lc(o, "llamacpp:prompt_tokens_total", "counter", "Number of prompt tokens processed.", pt));
    SIM_BUF_TRY(lc(o, "llamacpp:prompt_seconds_total", "counter", "Prompt process time", m->prefill_seconds));
    SIM_BUF_TRY(lc(o, "llamacpp:tokens_predicted_total", "counter", "Number of generation tokens processed.", gt));
    SIM_BUF_TRY(lc(o, "llamacpp:tokens_predicted_seconds_total", "counter", "Predict process time", m->decode_seconds));
    SIM_BUF_TRY(lc(o, "llamacpp:n_decode_total", "counter", "Total number of llama_decode() calls", (double)m->n_decode));
    SIM_BUF_TRY(lc(o, "llamacpp:n_busy_slots_per_decode", "counter", "Average number of busy slots per llama_decode() call",
                   m->n_decode ? (double)m->busy_slots / (double)m->n_decode : 0));
    SIM_BUF_TRY(lc(o, "llamacpp:prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.",
                   m->prefill_seconds > 0 ? pt / m->prefill_seconds : 0));
    SIM_BUF_TRY(lc(o, "llamacpp:predicted_tokens_seconds", "gauge", "Average generation throughput in tokens/s.",
                   m->decode_seconds > 0 ? gt / m->decode_seconds : 0));
    if (v->legacy) {
        SIM_BUF_TRY(lc(o, "llamacpp:kv_cache_usage_ratio", "gauge", "KV-cache usage. 1 means 100 percent usage.",
                       v->kv_total ? (double)sim_engine_kv_used(e) / (double)v->kv_total : 0));
        SIM_BUF_TRY(lc(o, "llamacpp:kv_cache_tokens", "gauge", "KV-cache tokens.", (double)sim_engine_kv_used(e)));
    }
    SIM_BUF_TRY(lc(o, "llamacpp:requests_processing", "gauge", "Number of requests processing.", sim_engine_running(e)));
    SIM_BUF_TRY(lc(o, "llamacpp:requests_deferred", "gauge", "Number of requests deferred.", sim_engine_waiting(e)));
    return 0;
}

int sim_metrics_render_slots(const sim_metrics_view *v, sim_buf *o)
{
    uint32_t running = sim_engine_running(v->engine);
    /* llama-server splits its context evenly over the slots. */
    uint64_t n_ctx = v->slots ? v->kv_total / v->slots : v->kv_total;
    /* The engine keeps no per-slot token count: the busy slots share its KV total, the remainder
     * going to the first ones, so what a reader sums is the engine's own figure. */
    uint64_t kv = sim_engine_kv_used(v->engine);
    SIM_BUF_TRY(sim_buf_append(o, "[", 1));
    for (uint32_t i = 0; i < v->slots; i++) {
        /* Keys as llama-server's server_slot::to_json: an idle slot without a task has only the
         * first four; a processing one adds its task, token counts, params and next_token. */
        SIM_BUF_TRY(sim_buf_printf(o, "%s{\"id\":%u,\"n_ctx\":%llu,\"speculative\":false,\"is_processing\":%s", i ? "," : "",
                                   i, (unsigned long long)n_ctx, i < running ? "true" : "false"));
        if (i < running) {
            uint64_t held = kv / running + (i < kv % running ? 1 : 0);
            SIM_BUF_TRY(sim_buf_printf(o, ",\"id_task\":%u,\"n_prompt_tokens\":%llu,\"n_prompt_tokens_processed\":%llu,"
                                          "\"n_prompt_tokens_cache\":0,\"params\":{},\"next_token\":[{\"has_next_token\":true,"
                                          "\"has_new_line\":false,\"n_remain\":-1,\"n_decoded\":0}]",
                                       i, (unsigned long long)held, (unsigned long long)held));
        }
        SIM_BUF_TRY(sim_buf_append(o, "}", 1));
    }
    return sim_buf_append(o, "]", 1);
}
