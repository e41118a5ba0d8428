/*
 * sim_engine.h - the simulator's inference-engine model: continuous batching, a KV-cache budget,
 * prefill and decode timing. A pure state machine: every call takes the current time (CLOCK_MONOTONIC
 * ns) as an argument and nothing here reads a clock, sleeps or does I/O, so tests drive it with a
 * fake clock. The server (src/sim/) arms one absolute timerfd at sim_engine_next_deadline().
 * Invariant: emission times come from the schedule (admission + prefill, step clock + step length),
 * never from when advance() happened to run, so lateness never accumulates.
 */
#ifndef LLMLOAD_SIM_ENGINE_H
#define LLMLOAD_SIM_ENGINE_H

#include <stdint.h>

typedef struct sim_engine sim_engine;

/* Several models served by one engine (`llmload sim --model name:ttft_ms:itl_ms`): each has its
 * own fixed prefill time and decode step; they share the batch (max_num_seqs), the KV budget and
 * the per-sequence step growth. Each model's decoding sequences step on that model's own clock,
 * every itl_ns + itl_ns_per_seq * (all sequences running): a per-model step time in one batch. */
#define SIM_ENGINE_MAX_MODELS 16
typedef struct sim_engine_timing {
    uint64_t ttft_ns, itl_ns;
} sim_engine_timing;

typedef struct sim_engine_config {
    uint32_t max_num_seqs;       /* sequences running at once (>= 1) */
    uint64_t kv_cache_tokens;    /* tokens reserved by running sequences at most (>= 1) */
    uint64_t ttft_ns;            /* fixed part of prefill */
    uint64_t prefill_ns_per_1k;  /* prefill per 1000 prompt tokens */
    uint64_t itl_ns;             /* fixed part of one decode step */
    uint64_t itl_ns_per_seq;     /* step growth per running sequence */
    uint32_t tokens_per_event;   /* tokens one emission carries (>= 1; speculative decoding) */
    /* 0: a sequence reserves prompt+output at admission and is never preempted (the default).
     * 1: vLLM's accounting: a sequence holds its prompt and the tokens it has made, growing each
     * step; when a step's growth would pass kv_cache_tokens the youngest running sequence (last
     * admitted) is preempted: it goes back to the front of the waiting queue and is re-prefilled
     * (prompt + tokens made, less its cached tokens) on readmission (recompute). */
    int preempt;
    /* Per-model timings (n_models of them, at most SIM_ENGINE_MAX_MODELS; copied); n_models 0
     * means one model timed by ttft_ns and itl_ns above. */
    const sim_engine_timing *models;
    uint32_t n_models;
} sim_engine_config;

enum sim_engine_state { SIM_SEQ_IDLE = 0, SIM_SEQ_WAITING, SIM_SEQ_PREFILL, SIM_SEQ_DECODE };

/* One sequence. The caller embeds it (zeroed, then sets prompt_tokens and output_tokens) in its own
 * request struct; the engine links it while it is submitted and drops every reference once it
 * finishes or is cancelled. Fields below the marker are the engine's. */
typedef struct sim_engine_seq {
    uint64_t prompt_tokens;
    uint64_t output_tokens;      /* tokens to emit in total (>= 1) */
    uint64_t cached_tokens;      /* prompt tokens found in the prefix cache: their prefill is skipped */
    uint32_t model;              /* which of the config's models (0 without several) */
    /* engine-owned */
    int state;
    uint64_t emitted;
    uint64_t submitted_ns, admitted_ns, first_token_ns;
    struct sim_engine_seq *prev, *next;   /* waiting FIFO or decode list */
    uint32_t heap_index;                  /* position in the prefill heap */
    uint64_t ticket;                      /* submission order: breaks ties between equal times */
    uint64_t kv_held;                     /* KV tokens this seq holds while running */
    uint64_t admit_order;                 /* admission order: the largest is the youngest */
    uint32_t preemptions;                 /* times this seq was preempted */
} sim_engine_seq;

/* Called once per emission, in time order. `at_ns` is the scheduled emission time (<= the `now`
 * given to advance). When `finished` is set the engine no longer references `seq`, so the callback
 * may reuse it. The callback must not call back into the engine (submit/cancel/advance): defer. */
typedef void (*sim_engine_emit_fn)(void *ud, sim_engine_seq *seq, uint64_t at_ns, uint32_t tokens,
                                   int finished);

/* Creates an engine; *out is set on success. Caller frees with sim_engine_destroy(). Returns
 * LL_EINVAL for a zero max_num_seqs, kv_cache_tokens or tokens_per_event, or too many models;
 * LL_ENOMEM. */
int sim_engine_create(const sim_engine_config *cfg, sim_engine **out);
/* Frees the engine (NULL is fine). Sequences still linked are simply forgotten. */
void sim_engine_destroy(sim_engine *e);

/* Queues `seq` (borrowed, valid until it finishes or is cancelled) at time `now` and admits what
 * fits. LL_ERANGE when prompt+output exceeds the whole KV cache (it could never run), LL_EINVAL when
 * output_tokens is 0, its model is not one of the config's, or the seq is already submitted. */
int sim_engine_submit(sim_engine *e, sim_engine_seq *seq, uint64_t now);
/* Removes `seq` wherever it is (client gone), frees its KV reservation and admits waiters at `now`.
 * A no-op for an idle seq. */
void sim_engine_cancel(sim_engine *e, sim_engine_seq *seq, uint64_t now);
/* Emits everything scheduled at or before `now`, in time order, through `fn`. */
void sim_engine_advance(sim_engine *e, uint64_t now, sim_engine_emit_fn fn, void *ud);
/* Earliest scheduled emission, or UINT64_MAX when nothing is scheduled. */
uint64_t sim_engine_next_deadline(const sim_engine *e);

uint32_t sim_engine_running(const sim_engine *e);   /* admitted: prefill + decode */
uint32_t sim_engine_waiting(const sim_engine *e);
uint64_t sim_engine_kv_used(const sim_engine *e);   /* tokens reserved by running seqs */
uint64_t sim_engine_preemptions(const sim_engine *e); /* sequences preempted since creation */
/* Length of a decode step with `running` sequences: itl + itl_per_seq * running. */
uint64_t sim_engine_step_ns(const sim_engine *e, uint32_t running);

#endif
