/*
 * bench.c - the scheduler: runs one benchmark plan on a libuv loop (source -> bench -> client).
 *
 * Open loop: arrival offsets drawn ahead (arrival.h), a pacer (timerfd) armed at the next one,
 * every due request sent on each wake-up; when no slot is free the due request waits for one and
 * keeps its scheduled time, so the wait shows up in latency-from-schedule instead of vanishing
 * (coordinated omission). Closed loop: N streams at start (opened at most 256 per loop turn), and
 * one more from each completion.
 * A 100 ms housekeeping pacer checks time limits and request timeouts, prints progress,
 * measures its own wake-up lateness as the loop lag and, with --metrics-listen, publishes the live
 * snapshot (live.h) for the metrics server's thread.
 */
#include "llmload/bench.h"

#include <math.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

#include "llmload/arrival.h"
#include "llmload/client.h"
#include "llmload/clock.h"
#include "llmload/console.h"
#include "llmload/earlystop.h"
#include "llmload/error.h"
#include "llmload/live.h"
#include "llmload/model_mix.h"
#include "llmload/pacer.h"
#include "llmload/precision.h"
#include "llmload/session.h"
#include "llmload/source.h"
#include "llmload/trace.h"

#define TICK_NS (100 * CLOCK_NS_PER_MS)
/* A wake-up or a send this late is the loop's fault (a busy loop, or a thread waiting for a CPU):
 * five times the pacer's usual lateness on a loaded 2-core machine. */
#define LATE_NS (5 * CLOCK_NS_PER_MS)

struct runner {
    uv_loop_t loop;
    int loop_open;
    const config *cfg;
    client *cl;
    pacer *sched_pacer;
    pacer *tick_pacer;
    uv_signal_t sigint, sigterm;
    int signals_open;
    int signals_seen;
    int first_signal;
    int silent_signals;
    uint64_t drain_deadline_ns;
    int progress_tty; /* 1 live line, 0 plain lines, -1 none */

    /* the benchmark being run */
    const bench_plan *plan;
    bench_result *res;
    source *src;
    arrival *arr;
    uint64_t next_offset_ns;
    int open_loop;
    long closed_target;  /* streams to keep in flight */
    int scheduling;      /* still starting requests */
    int waiting_slot;    /* an open-loop arrival is due but every slot is busy */
    int held;            /* open loop: why the due arrivals are behind (HELD_*), until caught up */
    uint64_t next_tick_ns;
    uint64_t next_progress_ns;
    uint64_t completed, errors;
    int failed;          /* fatal error inside a callback */
    uint64_t pause_until_ns; /* --respect-retry-after: start nothing before this */
    /* Mirrors of the counters for a coordinator thread (workers.c); written only by this loop. */
    _Atomic uint64_t a_started, a_completed, a_errors, a_in_flight, a_sched_end;
    /* --metrics-listen (NULL slot when off): built on this loop, copied out under the slot's lock. */
    live_slot *live;
    live_snapshot live_snap;
    size_t live_seen;        /* records already counted in live_snap.ttft */
    uint64_t live_fold_ns;   /* when the ITL histogram was last folded into it */
    char err[256];
    uv_signal_t sighup; /* a closed terminal or a service manager's stop: as SIGTERM */
    model_mix mix;          /* --model a=..,b=..: each request's model, seeded per benchmark */
    const char *model;      /* borrowed (runner_create's): the one model's name without a mix */
    model_mix_coin cancel;  /* --cancel-rate: which requests the client abandons */
    precision_target prec; /* --target-precision, when has_prec */
    int has_prec;
    uint64_t next_prec_ns;
    /* Multi-turn sessions (session.h): the benchmark's sessions, or NULL; the pacer wakes at the
     * next turn whose think time ends; closed loop: the users (sessions) running. */
    session_set *sessions;
    pacer *turn_pacer;
    long users_active;
    earlystop *es;         /* --max-error-rate, --stop-when-saturated; NULL when off */
    long closed_full;      /* closed loop with a ramp: the target the ramp rises to */
    /* --trace: the requests and their times (the run's loaded trace, shared by the loops, or one
     * this benchmark loaded), and this loop's prompt builder. */
    const trace *tr;
    trace *tr_own;
    trace_prompter *tp;
};

size_t bench_plan_slots(const bench_plan *p, const config *cfg)
{
    if (p->schedule == CONFIG_SCHED_SYNCHRONOUS)
        return 1;
    if (p->concurrency > 0) /* a worker's share (workers.c) */
        return (size_t)p->concurrency;
    if (p->schedule == CONFIG_SCHED_CONCURRENT)
        return p->rate >= 1 ? (size_t)p->rate : 1;
    return cfg->max_concurrency > 0 ? (size_t)cfg->max_concurrency : 512;
}

static void finish_if_done(runner *r)
{
    if (!r->scheduling && client_in_flight(r->cl) == 0) {
        r->res->end_ns = clock_now_ns();
        uv_stop(&r->loop);
    }
}

static void stop_scheduling(runner *r, uint64_t now)
{
    if (!r->scheduling)
        return;
    r->scheduling = 0;
    r->res->sched_end_ns = now;
    /* Callers with another reason (a signal, an early stop, the precision) set it first. */
    if (r->res->stop_reason == BENCH_STOP_NONE)
        r->res->stop_reason = r->plan->max_requests > 0 && r->res->started >= (uint64_t)r->plan->max_requests
                                  ? BENCH_STOP_REQUEST_LIMIT
                                  : BENCH_STOP_TIME_LIMIT;
    atomic_store_explicit(&r->a_sched_end, now, memory_order_relaxed);
    pacer_disarm(r->sched_pacer);
    pacer_disarm(r->turn_pacer); /* turns still thinking are not sent: their sessions are cut */
    /* A time-bound benchmark ends near its limit: streams still running get --grace-seconds to
     * finish (so long requests are not dropped from the statistics), then they are cancelled. */
    const bench_plan *p = r->plan;
    if (p->max_seconds > 0 && now >= r->res->t0_ns + (uint64_t)(p->max_seconds * 1e9) && !r->drain_deadline_ns)
        r->drain_deadline_ns = now + (uint64_t)(r->cfg->grace_s * 1e9);
}

static int limit_reached(runner *r, uint64_t at_ns)
{
    const bench_plan *p = r->plan;
    if (p->max_requests > 0 && r->res->started >= (uint64_t)p->max_requests)
        return 1;
    if (p->max_seconds > 0 && at_ns >= r->res->t0_ns + (uint64_t)(p->max_seconds * 1e9))
        return 1;
    return 0;
}

/* Trace replay: the trace entry of this runner's k-th request (its share's k-th), or SIZE_MAX past
 * the share's end. */
static size_t trace_entry_of(const runner *r, uint64_t k)
{
    uint64_t stride = r->plan->deal_stride > 1 ? r->plan->deal_stride : 1;
    uint64_t i = r->plan->deal_offset + k * stride;
    return i < trace_size(r->tr) ? (size_t)i : SIZE_MAX;
}

/* The entry of the next request (k = requests started so far). */
static size_t trace_next(const runner *r)
{
    return trace_entry_of(r, r->res->started);
}

/* A traced request's session (OTel conversation, jsonl session) onto its record, the log's last
 * when the append above succeeded (the record's id is its k, as trace_next counted at its start). */
static void trace_tag(runner *r, const record *rec)
{
    record_log *log = &r->res->records;
    size_t i = trace_entry_of(r, rec->id);
    if (log->len && log->items[log->len - 1].id == rec->id && i != SIZE_MAX)
        log->items[log->len - 1].session = trace_at(r->tr, i)->session;
}

/* The offset of the next open-loop arrival: drawn, or the trace's next entry scaled by its speed
 * (0 when the trace is done: send_due stops first). */
static uint64_t next_offset(runner *r)
{
    if (!r->tr)
        return arrival_next_ns(r->arr); /* the plan's phase is in the arrival spec */
    size_t i = trace_next(r);
    return i == SIZE_MAX ? 0 : (uint64_t)((double)trace_at(r->tr, i)->offset_ns / r->plan->rate) + r->plan->phase_ns;
}

static int start_one(runner *r, uint64_t scheduled_ns)
{
    source_request sr;
    int rc = r->tr ? trace_request(r->tp, trace_next(r), &sr) : source_next(r->src, &sr);
    /* Both draws happen per request sent, so a seed repeats which model and which cancellations. */
    client_request_opts ro = {.model = model_mix_next(&r->mix),
                              .cancel_after_ns = model_mix_coin_flip(&r->cancel)
                                                     ? (uint64_t)(r->cfg->cancel_after_s * 1e9) : 0};
    if (rc == 0)
        rc = client_start_ex(r->cl, sr.prompt, sr.prompt_len, sr.prompt_tokens, sr.max_tokens,
                             r->res->started, scheduled_ns, &ro);
    if (rc != 0) {
        if (rc != LL_ESTATE) {
            snprintf(r->err, sizeof r->err, "cannot start a request: %s", ll_strerror(rc));
            r->failed = 1;
            stop_scheduling(r, clock_now_ns());
        }
        return rc;
    }
    r->res->started++;
    atomic_fetch_add_explicit(&r->a_started, 1, memory_order_relaxed);
    atomic_store_explicit(&r->a_in_flight, client_in_flight(r->cl), memory_order_relaxed);
    return 0;
}

/* Sessions: sends every turn that is due while slots are free, then arms the turn pacer for the
 * next one. A due turn that finds no slot waits (a completion calls this again) and keeps its
 * scheduled time, as an open-loop arrival does. */
#define FILL_BATCH 256
static void run_turns(runner *r, uint64_t now)
{
    int started = 0;
    while (r->scheduling) {
        if (started++ == FILL_BATCH) {
            /* As fill_closed: thousands of users opening connections at once would block the
             * loop; the rest go on the next loop turn. */
            pacer_arm(r->turn_pacer, now);
            return;
        }
        uint64_t due = session_next_due(r->sessions);
        if (due == UINT64_MAX)
            return;
        if (now < r->pause_until_ns) {
            pacer_arm(r->turn_pacer, due > r->pause_until_ns ? due : r->pause_until_ns);
            return;
        }
        if (due > now) {
            pacer_arm(r->turn_pacer, due);
            return;
        }
        if (limit_reached(r, now)) {
            stop_scheduling(r, now);
            return;
        }
        if (client_in_flight(r->cl) >= client_slots(r->cl))
            return;
        session_turn t;
        int rc = session_take(r->sessions, r->src, now, &t);
        if (rc == 0)
            return;
        if (rc == 1) {
            /* A session keeps its model; --cancel-rate draws per turn (a cancelled turn ends it). */
            client_request_opts ro = {.model = t.model,
                                      .cancel_after_ns = model_mix_coin_flip(&r->cancel)
                                                             ? (uint64_t)(r->cfg->cancel_after_s * 1e9) : 0};
            client_request rq = {.raw_parts = t.parts, .raw_lens = t.lens, .n_raw = t.n_parts,
                                 .prompt_tokens = t.prompt_tokens, .max_tokens = t.max_tokens,
                                 .id = r->res->started, .scheduled_ns = t.scheduled_ns,
                                 .session = t.session, .turn = t.turn, .capture = 1, .opts = &ro};
            rc = client_start_req(r->cl, &rq);
            if (rc != 0)
                session_untake(r->sessions, &t);
        }
        if (rc == LL_ESTATE) /* every slot busy: a completion calls this again */
            return;
        if (rc < 0) {
            snprintf(r->err, sizeof r->err, "cannot start a session turn: %s", ll_strerror(rc));
            r->failed = 1;
            stop_scheduling(r, clock_now_ns());
            return;
        }
        r->res->started++;
        atomic_fetch_add_explicit(&r->a_started, 1, memory_order_relaxed);
        atomic_store_explicit(&r->a_in_flight, client_in_flight(r->cl), memory_order_relaxed);
        now = clock_now_ns();
    }
}

static unsigned pick_model(void *ud)
{
    runner *r = ud;
    return model_mix_next(&r->mix);
}

static void on_turn(pacer *p, uint64_t now, void *ud)
{
    (void)p;
    run_turns(ud, now);
}

/* Sessions: a new session whose first turn is due at scheduled_ns (sent by run_turns). */
static int begin_session(runner *r, uint64_t scheduled_ns)
{
    int rc = session_begin(r->sessions, scheduled_ns);
    if (rc != 0) {
        snprintf(r->err, sizeof r->err, "cannot begin a session: %s", ll_strerror(rc));
        r->failed = 1;
        stop_scheduling(r, clock_now_ns());
    }
    return rc;
}

enum { HELD_NO, HELD_SLOTS, HELD_PAUSE };

/* Counts a send for the client's verdict on itself: late with a slot free is the loop's fault;
 * behind a full set of slots is a slot wait; behind a server-requested pause is neither. */
static void note_send(runner *r, uint64_t due, uint64_t now)
{
    bench_result *res = r->res;
    if (due < res->window_start_ns || due >= res->window_end_ns)
        return;
    res->sends++;
    if (r->held == HELD_SLOTS)
        res->slot_waits++;
    else if (r->held == HELD_NO && now > due + LATE_NS)
        res->late_sends++;
}

/* Sends every open-loop arrival whose time has come, then arms the pacer for the next one (or for
 * the time limit, so that the benchmark lasts its full duration even when arrivals are sparse). */
static void send_due(runner *r, uint64_t now)
{
    const bench_plan *p = r->plan;
    uint64_t limit_ns = p->max_seconds > 0 ? r->res->t0_ns + (uint64_t)(p->max_seconds * 1e9) : UINT64_MAX;
    r->waiting_slot = 0;
    while (r->scheduling) {
        uint64_t due = r->res->t0_ns + r->next_offset_ns;
        if (now < r->pause_until_ns) {
            /* The server asked for a pause: arrivals due meanwhile go out late, and their wait
             * shows in latency-from-schedule. */
            r->held = HELD_PAUSE;
            pacer_arm(r->sched_pacer, r->pause_until_ns < limit_ns ? r->pause_until_ns : limit_ns);
            break;
        }
        if (p->max_requests > 0 && r->res->started >= (uint64_t)p->max_requests) {
            stop_scheduling(r, now);
            break;
        }
        if (r->tr && trace_next(r) == SIZE_MAX) { /* the trace is over: so is the benchmark */
            stop_scheduling(r, now);
            break;
        }
        if (due >= limit_ns) {
            if (now >= limit_ns)
                stop_scheduling(r, limit_ns);
            else
                pacer_arm(r->sched_pacer, limit_ns);
            break;
        }
        if (due > now) {
            r->held = HELD_NO; /* caught up */
            pacer_arm(r->sched_pacer, due);
            break;
        }
        if (r->sessions) {
            /* An arrival begins a session, slot or not: its first turn waits for one in
             * run_turns and keeps the arrival as its scheduled time. */
            if (begin_session(r, due) != 0)
                break;
            note_send(r, due, now); /* its first turn goes out from run_turns below */
            r->next_offset_ns = arrival_next_ns(r->arr) + r->plan->phase_ns;
            continue;
        }
        if (client_in_flight(r->cl) >= client_slots(r->cl)) {
            r->waiting_slot = 1; /* the next completion sends it */
            r->held = HELD_SLOTS;
            break;
        }
        if (start_one(r, due) != 0)
            break;
        note_send(r, due, now);
        r->next_offset_ns = next_offset(r);
        /* Sending takes time; refresh the clock so a burst does not run ahead of the schedule. */
        now = clock_now_ns();
    }
    if (r->sessions)
        run_turns(r, now);
}

/* Closed loop: tops the streams in flight up to the target (after a pause, or at start). At most
 * FILL_BATCH per call: opening thousands of connections at once would block the loop for a
 * second; the rest follow on the next loop turn (the pacer re-armed at once). */
static void fill_closed(runner *r, uint64_t now)
{
    int started = 0;
    if (r->sessions) {
        /* User-centric closed loop: each stream is a user running sessions one after another. */
        while (r->scheduling && r->users_active < r->closed_target && !limit_reached(r, now)) {
            if (begin_session(r, now) != 0)
                return;
            r->users_active++;
        }
        run_turns(r, now);
        return;
    }
    while (r->scheduling && (long)client_in_flight(r->cl) < r->closed_target) {
        if (started++ == FILL_BATCH) {
            pacer_arm(r->sched_pacer, now);
            break;
        }
        if (limit_reached(r, now)) {
            stop_scheduling(r, now);
            break;
        }
        if (now < r->pause_until_ns) {
            pacer_arm(r->sched_pacer, r->pause_until_ns);
            break;
        }
        /* The intended start of a closed-loop request is the moment its stream became free. */
        if (start_one(r, now) != 0)
            break;
    }
}

static void on_sched(pacer *p, uint64_t now, void *ud)
{
    runner *r = ud;
    (void)p;
    if (r->open_loop)
        send_due(r, now);
    else
        fill_closed(r, now);
}

static void on_request_done(void *ud, const record *rec, const char *error_msg)
{
    runner *r = ud;
    if (r->sessions && rec->session) {
        /* First: the reply's text is the slot's until the next request starts in it. */
        size_t len;
        int cut;
        const char *reply = client_done_reply(r->cl, &len, &cut);
        int sr = session_turn_done(r->sessions, rec, reply, len, cut);
        if (sr == LL_ENOMEM && !r->failed) {
            snprintf(r->err, sizeof r->err, "out of memory keeping a session's history");
            r->failed = 1;
            stop_scheduling(r, clock_now_ns());
        }
        if (sr != 1 && !r->open_loop && r->users_active > 0)
            r->users_active--; /* the session ended: its user begins the next one */
    }
    if (record_log_append(&r->res->records, rec, error_msg) != 0 && !r->failed) {
        snprintf(r->err, sizeof r->err, "out of memory storing request records");
        r->failed = 1;
        stop_scheduling(r, clock_now_ns());
    }
    if (r->tr)
        trace_tag(r, rec);
    if (rec->status == RECORD_OK) {
        r->completed++;
        atomic_fetch_add_explicit(&r->a_completed, 1, memory_order_relaxed);
    } else if (rec->status == RECORD_ERROR) {
        r->errors++;
        atomic_fetch_add_explicit(&r->a_errors, 1, memory_order_relaxed);
    }
    atomic_store_explicit(&r->a_in_flight, client_in_flight(r->cl), memory_order_relaxed);
    uint64_t now = clock_now_ns();
    if (r->cfg->respect_retry_after && rec->error_kind == RECORD_ERR_RATE_LIMITED && rec->retry_after_ms) {
        /* Capped so that a hostile or broken header cannot stall the run past its limits. */
        uint32_t ms = rec->retry_after_ms < 60000 ? rec->retry_after_ms : 60000;
        uint64_t until = now + (uint64_t)ms * CLOCK_NS_PER_MS;
        if (until > r->pause_until_ns) {
            if (r->pause_until_ns <= now)
                r->res->pauses++;
            r->res->paused_ns += until - (r->pause_until_ns > now ? r->pause_until_ns : now);
            r->pause_until_ns = until;
        }
    }
    if (r->scheduling) {
        if (r->open_loop) {
            if (r->waiting_slot || now < r->pause_until_ns)
                send_due(r, now);
            if (r->sessions)
                run_turns(r, now);
        } else if (r->sessions && rec->status == RECORD_ERROR && rec->error_kind == RECORD_ERR_CONNECT) {
            run_turns(r, now); /* other users' turns; this user begins again from on_tick */
        } else if (!(rec->status == RECORD_ERROR && rec->error_kind == RECORD_ERR_CONNECT)) {
            /* Closed loop: the next request's intended start is this completion. A refused
             * connection fails within microseconds, so restarting at once would spin the loop and
             * fill memory with connect errors while the server is down: on_tick refills instead. */
            fill_closed(r, now);
        }
    }
    finish_if_done(r);
}

static void print_progress(runner *r, uint64_t now, int final)
{
    if (r->progress_tty < 0)
        return;
    double elapsed = (double)(now - r->res->t0_ns) / 1e9;
    /* The send rate is over the time requests were being sent: it stops moving when that ends. */
    uint64_t until = r->scheduling || !r->res->sched_end_ns || r->res->sched_end_ns > now ? now : r->res->sched_end_ns;
    double sending = (double)(until - r->res->t0_ns) / 1e9;
    console_progress(stderr, r->progress_tty, r->plan->name, elapsed,
                     sending > 0 ? (double)r->res->started / sending : 0.0, client_in_flight(r->cl),
                     r->completed, r->errors, final);
}

/* --metrics-listen: brings the snapshot up to date from what the loop already keeps (new records,
 * counters, the ITL histogram) and hands it over. Called from the tick, never per request; the
 * ITL fold walks every histogram bucket, so it runs at most once a second. */
static void live_publish(runner *r, uint64_t now, int final)
{
    if (!r->live || !r->res)
        return;
    live_snapshot *s = &r->live_snap;
    const bench_result *res = r->res;
    for (; r->live_seen < res->records.len; r->live_seen++) {
        const record *rec = &res->records.items[r->live_seen];
        /* The aggregator's rule for ttft_ms: completed, scheduled inside the measured window. */
        if (rec->status == RECORD_OK && rec->first_token_ns >= rec->sent_ns && rec->sent_ns &&
            rec->scheduled_ns >= res->window_start_ns && rec->scheduled_ns < res->window_end_ns)
            live_ttft_add(s, rec->first_token_ns - rec->sent_ns);
    }
    s->started = res->started;
    s->completed = r->completed;
    s->errored = r->errors;
    s->in_flight = final ? 0 : client_in_flight(r->cl);
    if (final || now >= r->live_fold_ns + CLOCK_NS_PER_S) {
        live_itl_fold(s, res->itl);
        r->live_fold_ns = now;
    }
    live_slot_store(r->live, s);
}

static void on_tick(pacer *p, uint64_t now, void *ud)
{
    runner *r = ud;
    (void)p;
    uint64_t lag = now > r->next_tick_ns ? now - r->next_tick_ns : 0;
    /* The loop's health is judged inside the measured window: a ramp-up of thousands of
     * connections in the warmup is the client's cost, but not a measured one. */
    if (r->next_tick_ns >= r->res->window_start_ns && r->next_tick_ns < r->res->window_end_ns) {
        hist_record(r->res->loop_lag, lag);
        r->res->ticks++;
        r->res->late_ticks += lag > LATE_NS;
    }
    if (r->scheduling && limit_reached(r, now))
        stop_scheduling(r, now);
    /* --target-precision: once a second (it sorts the samples so far), stop starting requests
     * when the statistic's interval is tight enough; those in flight finish as at any limit. */
    if (r->scheduling && r->has_prec && now >= r->next_prec_ns) {
        double rel;
        r->next_prec_ns = now + CLOCK_NS_PER_S;
        if (precision_measure(&r->prec, &r->res->records, r->res->itl, r->res->window_start_ns,
                              r->res->window_end_ns, &rel) == 1 && rel <= r->prec.rel) {
            r->res->stop_reason = BENCH_STOP_TARGET_PRECISION;
            stop_scheduling(r, now);
        }
    }
    /* Early stop: the rules read per-second buckets this tick brings up to date (earlystop.h).
     * Requests in flight get --drain-seconds, as after a signal: past saturation they sit in the
     * server's queue, and waiting --grace-seconds for them is the GPU time the rule saves. */
    if (r->scheduling && r->es) {
        earlystop_evidence ev;
        if (earlystop_tick(r->es, now, client_in_flight(r->cl), &r->res->records, &ev)) {
            r->res->early = ev;
            r->res->stop_reason = ev.rule == EARLYSTOP_SATURATED ? BENCH_STOP_SATURATED : BENCH_STOP_MAX_ERROR_RATE;
            stop_scheduling(r, now);
            uint64_t deadline = now + (uint64_t)(r->cfg->drain_s * 1e9);
            if (!r->drain_deadline_ns || deadline < r->drain_deadline_ns)
                r->drain_deadline_ns = deadline;
        }
    }
    /* Closed loop with --ramp-up: the streams follow the ramp's curve (at least one). */
    if (r->scheduling && !r->open_loop && r->closed_full) {
        double share = arrival_ramp_share((arrival_ramp)r->plan->ramp, r->plan->ramp_s, (double)(now - r->res->t0_ns) / 1e9);
        long want = (long)floor((double)r->closed_full * share);
        r->closed_target = want < 1 ? 1 : want > r->closed_full ? r->closed_full : want;
    }
    /* The time limit holds whatever stopped the scheduling first (--max-requests): streams still
     * running at it get --grace-seconds, then are cut, as in a run the time limit ended. */
    const bench_plan *pl = r->plan;
    if (!r->scheduling && pl->max_seconds > 0) {
        uint64_t limit = r->res->t0_ns + (uint64_t)(pl->max_seconds * 1e9);
        uint64_t cut = limit + (uint64_t)(r->cfg->grace_s * 1e9);
        if (now >= limit && (!r->drain_deadline_ns || cut < r->drain_deadline_ns))
            r->drain_deadline_ns = cut;
    }
    client_check_timeouts(r->cl, now);
    /* Closed loop: streams left empty by connect failures are restarted here, at most once a tick. */
    if (r->scheduling && !r->open_loop)
        fill_closed(r, now);
    if (r->drain_deadline_ns && now >= r->drain_deadline_ns)
        client_cancel_all(r->cl);
    if (now >= r->next_progress_ns) {
        print_progress(r, now, 0);
        r->next_progress_ns = now + (r->progress_tty == 1 ? CLOCK_NS_PER_S : 5 * CLOCK_NS_PER_S);
    }
    live_publish(r, now, 0);
    /* Absolute deadlines: a late tick does not push later ticks back. */
    r->next_tick_ns += TICK_NS;
    if (r->next_tick_ns <= now)
        r->next_tick_ns = now + TICK_NS;
    pacer_arm(r->tick_pacer, r->next_tick_ns);
    finish_if_done(r);
}

static void on_signal(uv_signal_t *h, int signum)
{
    runner *r = h->data;
    r->signals_seen++;
    if (!r->first_signal)
        r->first_signal = signum;
    if (r->signals_seen > 1) {
        /* Second signal: the user wants out now, reports or not. */
        static const char msg[] = "\nllmload: second signal, exiting without reports\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(128 + signum);
    }
    if (!r->silent_signals)
        fprintf(stderr,
                "\nllmload: %s received: stopping, giving in-flight requests %.1f s, then writing partial reports\n",
                signum == SIGINT ? "SIGINT" : signum == SIGHUP ? "SIGHUP" : "SIGTERM", r->cfg->drain_s);
    if (r->res) {
        uint64_t now = clock_now_ns();
        r->res->interrupted = 1;
        r->res->stop_reason = BENCH_STOP_INTERRUPTED;
        stop_scheduling(r, now);
        uint64_t deadline = now + (uint64_t)(r->cfg->drain_s * 1e9);
        if (!r->drain_deadline_ns || deadline < r->drain_deadline_ns)
            r->drain_deadline_ns = deadline;
        if (r->drain_deadline_ns <= now)
            client_cancel_all(r->cl);
        finish_if_done(r);
    }
}

int runner_create(runner **out, const config *cfg, const char *model, size_t slots, char *err,
                  size_t errlen)
{
    int rc;
    runner *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    r->cfg = cfg;
    r->model = model;
    if (cfg->metrics_listen && (rc = live_slot_create(&r->live)) != 0) {
        free(r);
        snprintf(err, errlen, "cannot set up the live metrics: %s", ll_strerror(rc));
        return rc;
    }
    if (uv_loop_init(&r->loop) != 0) {
        live_slot_destroy(r->live);
        free(r);
        snprintf(err, errlen, "libuv: cannot create an event loop");
        return LL_ELIB;
    }
    r->loop_open = 1;
    /* Idle time inside uv's poll: the loop's busy share is the rest (the client's verdict). */
    if (uv_loop_configure(&r->loop, UV_METRICS_IDLE_TIME) != 0)
        fprintf(stderr, "llmload: libuv cannot measure loop idle time; loop_busy_percent will read 100\n");
    /* Timer slack defaults to 50 us; the schedule wants wake-ups as close to deadlines as the
     * kernel gives. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    if (cfg->target_precision) {
        if ((rc = precision_parse(cfg->target_precision, &r->prec, err, errlen)) != 0)
            goto fail;
        r->has_prec = 1;
    }
    if (cfg->max_error_rate > 0 || cfg->stop_when_saturated) {
        earlystop_opts eo = {.max_error_rate = cfg->max_error_rate, .error_window_s = cfg->error_window_s,
                             .saturated = cfg->stop_when_saturated, .saturation_window_s = cfg->saturation_window_s};
        if ((rc = earlystop_create(&r->es, &eo)) != 0) {
            snprintf(err, errlen, "cannot set up the early-stop rules: %s", ll_strerror(rc));
            goto fail;
        }
    }
    client_options co = {.cfg = cfg, .model = model, .slots = slots, .on_done = on_request_done, .ud = r,
                         .models = (const char *const *)cfg->models, .n_models = cfg->n_models};
    if ((rc = client_create(&r->cl, &r->loop, &co, err, errlen)) != 0)
        goto fail;
    if ((rc = pacer_create(&r->sched_pacer, &r->loop, on_sched, r)) != 0 ||
        (rc = pacer_create(&r->tick_pacer, &r->loop, on_tick, r)) != 0 ||
        (rc = pacer_create(&r->turn_pacer, &r->loop, on_turn, r)) != 0) {
        snprintf(err, errlen, "cannot create a timerfd: %s", ll_strerror(rc));
        goto fail;
    }
    if (uv_signal_init(&r->loop, &r->sigint) != 0 || uv_signal_init(&r->loop, &r->sigterm) != 0 ||
        uv_signal_init(&r->loop, &r->sighup) != 0) {
        snprintf(err, errlen, "libuv: cannot watch signals");
        rc = LL_ELIB;
        goto fail;
    }
    r->signals_open = 1;
    r->sigint.data = r->sigterm.data = r->sighup.data = r;
    uv_signal_start(&r->sigint, on_signal, SIGINT);
    uv_signal_start(&r->sigterm, on_signal, SIGTERM);
    uv_signal_start(&r->sighup, on_signal, SIGHUP);
    if (cfg->quiet || cfg->progress == 0)
        r->progress_tty = -1;
    else if (cfg->progress == 1)
        r->progress_tty = isatty(STDERR_FILENO) ? 1 : 0;
    else
        r->progress_tty = isatty(STDERR_FILENO) ? 1 : 0;
    *out = r;
    return 0;
fail:
    runner_destroy(r);
    return rc;
}

void runner_quiet(runner *r, int silence_signals)
{
    r->progress_tty = -1;
    r->silent_signals = silence_signals;
}

void runner_counts_read(const runner *r, runner_counts *out)
{
    out->started = atomic_load_explicit(&r->a_started, memory_order_relaxed);
    out->completed = atomic_load_explicit(&r->a_completed, memory_order_relaxed);
    out->errors = atomic_load_explicit(&r->a_errors, memory_order_relaxed);
    out->in_flight = atomic_load_explicit(&r->a_in_flight, memory_order_relaxed);
    out->sched_end_ns = atomic_load_explicit(&r->a_sched_end, memory_order_relaxed);
}

live_slot *runner_live(const runner *r)
{
    return r->live;
}

int runner_interrupted(const runner *r)
{
    return r->first_signal;
}

static int result_init(bench_result *res, const bench_plan *plan)
{
    memset(res, 0, sizeof *res);
    res->plan = *plan;
    if (hist_create(&res->itl) != 0 || hist_create(&res->itl_token) != 0 || hist_create(&res->loop_lag) != 0 ||
        hist_create(&res->read_wait) != 0)
        return LL_ENOMEM;
    return 0;
}

void bench_result_free(bench_result *res)
{
    record_log_free(&res->records);
    hist_destroy(res->itl);
    hist_destroy(res->itl_token);
    hist_destroy(res->loop_lag);
    hist_destroy(res->read_wait);
    res->itl = res->itl_token = res->loop_lag = res->read_wait = NULL;
}

void bench_result_add(bench_result *dst, const bench_result *src)
{
    if (src->itl)
        hist_merge(dst->itl, src->itl);
    if (src->itl_token)
        hist_merge(dst->itl_token, src->itl_token);
    if (src->loop_lag)
        hist_merge(dst->loop_lag, src->loop_lag);
    if (src->read_wait)
        hist_merge(dst->read_wait, src->read_wait);
    dst->cpu_s += src->cpu_s;
    dst->started += src->started;
    if (!dst->model_names) {
        dst->model_names = src->model_names;
        dst->n_model_names = src->n_model_names;
    }
    dst->pauses += src->pauses;
    /* Loops pause side by side, each for its own 429s: the longest, not the sum, so the figure
     * stays a stretch of the run's own time. */
    if (src->paused_ns > dst->paused_ns)
        dst->paused_ns = src->paused_ns;
    dst->slots += src->slots;
    dst->loops += src->loops;
    dst->interrupted |= src->interrupted;
    dst->ticks += src->ticks;
    dst->late_ticks += src->late_ticks;
    dst->sends += src->sends;
    dst->late_sends += src->late_sends;
    dst->slot_waits += src->slot_waits;
    /* Unknown on one loop is unknown for the sum. */
    dst->cpu_wait_s = dst->cpu_wait_s < 0 || src->cpu_wait_s < 0 ? -1 : dst->cpu_wait_s + src->cpu_wait_s;
    dst->busy_s += src->busy_s;
    dst->loop_stamps |= src->loop_stamps;
    dst->reads_sampled += src->reads_sampled;
    dst->reads_waited += src->reads_waited;
    dst->sessions += src->sessions;
    dst->sessions_completed += src->sessions_completed;
    dst->replies_cut += src->replies_cut;
    /* The loops' strongest reason (bench_stop's order), with its evidence. */
    if (src->stop_reason > dst->stop_reason) {
        dst->stop_reason = src->stop_reason;
        dst->early = src->early;
    }
}

int runner_run(runner *r, const bench_plan *plan, bench_result *res, char *err, size_t errlen)
{
    int rc = result_init(res, plan);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    res->slots = client_slots(r->cl);
    res->loops = 1;
    if (r->cfg->n_models >= 2) {
        res->model_names = (const char *const *)r->cfg->models;
        res->n_model_names = r->cfg->n_models;
    } else if (r->model) {
        res->model_names = &r->model;
        res->n_model_names = 1;
    }
    if (runner_interrupted(r)) {
        res->interrupted = 1;
        res->stop_reason = BENCH_STOP_INTERRUPTED;
        return 0;
    }
    if ((rc = source_create(&r->src, &r->cfg->data, plan->seed, err, errlen)) != 0)
        return rc;
    if (model_mix_init(&r->mix, r->cfg->n_models >= 2 ? r->cfg->model_weights : NULL,
                       r->cfg->n_models >= 2 ? r->cfg->n_models : 1, (model_mix_order)r->cfg->model_order,
                       plan->seed) != 0) {
        snprintf(err, errlen, "bad --model weights");
        source_destroy(r->src);
        r->src = NULL;
        return LL_EINVAL;
    }
    model_mix_coin_init(&r->cancel, r->cfg->cancel_rate, plan->seed);
    r->plan = plan;
    r->res = res;
    r->completed = r->errors = 0;
    r->failed = 0;
    r->waiting_slot = 0;
    r->held = HELD_NO;
    r->drain_deadline_ns = 0;
    r->pause_until_ns = 0;
    r->open_loop = plan->schedule == CONFIG_SCHED_CONSTANT || plan->schedule == CONFIG_SCHED_POISSON ||
                   plan->schedule == CONFIG_SCHED_TRACE;
    if (plan->schedule == CONFIG_SCHED_TRACE) {
        rc = 0;
        if (!(r->tr = r->cfg->trace_data) &&
            (rc = trace_load(&r->tr_own, r->cfg->trace, (trace_format)r->cfg->trace_format, err, errlen)) == 0)
            r->tr = r->tr_own;
        if (rc == 0 && (rc = trace_prompter_create(&r->tp, r->tr, r->cfg->data.costs, plan->seed)) != 0)
            snprintf(err, errlen, "out of memory preparing the trace's prompts");
        if (rc != 0 || !(plan->rate > 0)) {
            if (rc == 0) {
                snprintf(err, errlen, "trace speed %g is not positive", plan->rate);
                rc = LL_EINVAL;
            }
            trace_prompter_destroy(r->tp);
            trace_destroy(r->tr_own);
            r->tp = NULL;
            r->tr_own = NULL;
            r->tr = NULL;
            source_destroy(r->src);
            r->src = NULL;
            return rc;
        }
        r->next_offset_ns = next_offset(r);
    } else if (r->open_loop) {
        arrival_spec spec = {.kind = plan->schedule == CONFIG_SCHED_CONSTANT ? ARRIVAL_CONSTANT
                                     : plan->burstiness > 0 && plan->burstiness != 1 ? ARRIVAL_GAMMA
                                                                                     : ARRIVAL_POISSON,
                             .rate = plan->rate, .shape = plan->burstiness, .phase_ns = plan->phase_ns,
                             .seed = plan->deal_stride > 1 ? plan->deal_seed : plan->seed,
                             .ramp = (arrival_ramp)plan->ramp, .ramp_s = plan->ramp_s,
                             .deal_stride = plan->deal_stride, .deal_offset = plan->deal_offset};
        rc = arrival_create_spec(&r->arr, &spec);
        if (rc != 0) {
            snprintf(err, errlen, "bad arrival rate %g: %s", plan->rate, ll_strerror(rc));
            source_destroy(r->src);
            r->src = NULL;
            return rc;
        }
        r->next_offset_ns = arrival_next_ns(r->arr);
    }
    r->closed_target = (long)bench_plan_slots(plan, r->cfg);
    r->users_active = 0;
    if (r->cfg->data.turns > 1 || r->cfg->users > 0 || source_multi_turn(r->src)) {
        session_options so = {.api = r->cfg->api, .turns = r->cfg->data.turns, .think_s = r->cfg->data.think_time,
                              .think_stdev_s = r->cfg->data.think_time_stdev, .seed = plan->seed,
                              .id_first = plan->loop_index + 1, .id_stride = plan->loop_count,
                              .pick_model = pick_model, .pick_ud = r};
        if ((rc = session_set_create(&r->sessions, &so)) != 0 ||
            (rc = client_reply_buffers(r->cl, SESSION_REPLY_CAP)) != 0) {
            snprintf(err, errlen, "out of memory for sessions (%zu reply buffers of %u bytes)",
                     client_slots(r->cl), SESSION_REPLY_CAP);
            session_set_destroy(r->sessions);
            r->sessions = NULL;
            arrival_destroy(r->arr);
            r->arr = NULL;
            source_destroy(r->src);
            r->src = NULL;
            return rc;
        }
    }
    r->closed_full = 0;
    if (!r->open_loop && plan->ramp && plan->schedule == CONFIG_SCHED_CONCURRENT) {
        r->closed_full = r->closed_target;
        r->closed_target = 1; /* the tick raises it along the ramp */
    }
    atomic_store_explicit(&r->a_started, 0, memory_order_relaxed);
    atomic_store_explicit(&r->a_completed, 0, memory_order_relaxed);
    atomic_store_explicit(&r->a_errors, 0, memory_order_relaxed);
    atomic_store_explicit(&r->a_in_flight, 0, memory_order_relaxed);
    atomic_store_explicit(&r->a_sched_end, 0, memory_order_relaxed);

    /* Worker loops share one start time, so their schedules line up and merge exactly. A loop
     * whose thread got going after that instant (a loaded machine) keeps it all the same: its
     * arrivals already due go out at once and their lateness shows as schedule lag, where taking
     * its own later start would shift its whole share of the schedule against the others'. */
    uint64_t now0 = clock_now_ns();
    uint64_t t0 = plan->start_ns ? plan->start_ns : now0;
    res->t0_ns = t0;
    res->wall_start = clock_wall_s() + (double)(int64_t)(t0 - now0) / 1e9;
    res->window_start_ns = t0 + (uint64_t)(plan->warmup_s * 1e9);
    res->window_end_ns = plan->max_seconds > 0 ? t0 + (uint64_t)((plan->max_seconds - plan->cooldown_s) * 1e9)
                                               : UINT64_MAX;
    client_sinks sinks = {.itl = res->itl, .itl_token = res->itl_token,
                          .window_start_ns = res->window_start_ns, .window_end_ns = res->window_end_ns,
                          .read_wait = res->read_wait};
    client_set_sinks(r->cl, &sinks);
    if (r->live) {
        live_snapshot_begin(&r->live_snap, plan->name, config_schedule_name(plan->schedule),
                            plan->start_ns ? plan->start_ns : t0);
        r->live_seen = 0;
        r->live_fold_ns = now0;
        live_publish(r, now0, 0);
    }
    double cpu0 = clock_thread_cpu_s(), wait0 = clock_thread_wait_s();
    uint64_t idle0 = uv_metrics_idle_time(&r->loop), sampled0, waited0;
    client_read_waits(r->cl, &sampled0, &waited0);
    res->loop_stamps = config_transport(r->cfg) == CONFIG_HTTP_CLIENT_CURL;
    if (r->es)
        earlystop_begin(r->es, t0);
    r->scheduling = 1;
    r->next_tick_ns = t0 + TICK_NS;
    r->next_prec_ns = t0 + CLOCK_NS_PER_S;
    r->next_progress_ns = t0 + (r->progress_tty == 1 ? CLOCK_NS_PER_S : 5 * CLOCK_NS_PER_S);
    pacer_arm(r->tick_pacer, r->next_tick_ns);
    if (t0 > now0)
        pacer_arm(r->sched_pacer, t0); /* on_sched starts the load at t0 */
    else if (r->open_loop)
        send_due(r, clock_now_ns());
    else
        fill_closed(r, t0);
    finish_if_done(r);
    if (r->scheduling || client_in_flight(r->cl) > 0)
        uv_run(&r->loop, UV_RUN_DEFAULT);
    if (!res->end_ns)
        res->end_ns = clock_now_ns();
    if (!res->sched_end_ns)
        res->sched_end_ns = res->end_ns;
    /* A Retry-After longer than what was left of the run counted its whole length; only the part
     * inside the run was a pause (the pauses never overlap, so the total stays within the run). */
    if (r->pause_until_ns > res->end_ns) {
        uint64_t beyond = r->pause_until_ns - res->end_ns;
        res->paused_ns -= beyond < res->paused_ns ? beyond : res->paused_ns;
    }
    pacer_disarm(r->tick_pacer);
    pacer_disarm(r->sched_pacer);
    pacer_disarm(r->turn_pacer);
    if (r->sessions) {
        session_stats st;
        session_stats_get(r->sessions, &st);
        res->sessions = st.sessions;
        res->sessions_completed = st.completed;
        res->replies_cut = st.replies_cut;
        session_set_destroy(r->sessions);
        r->sessions = NULL;
    }
    print_progress(r, res->end_ns, 1);
    live_publish(r, res->end_ns, 1);
    res->cpu_s = clock_thread_cpu_s() - cpu0;
    double wait1 = clock_thread_wait_s();
    res->cpu_wait_s = wait0 >= 0 && wait1 >= wait0 ? wait1 - wait0 : -1;
    uint64_t idle = uv_metrics_idle_time(&r->loop) - idle0, span = res->end_ns > t0 ? res->end_ns - t0 : 0;
    res->busy_s = span > idle ? (double)(span - idle) / 1e9 : 0;
    client_read_waits(r->cl, &res->reads_sampled, &res->reads_waited);
    res->reads_sampled -= sampled0;
    res->reads_waited -= waited0;
    arrival_destroy(r->arr);
    r->arr = NULL;
    trace_prompter_destroy(r->tp);
    trace_destroy(r->tr_own);
    r->tp = NULL;
    r->tr_own = NULL;
    r->tr = NULL;
    source_destroy(r->src);
    r->src = NULL;
    r->res = NULL;
    r->plan = NULL;
    if (r->failed) {
        snprintf(err, errlen, "%s", r->err);
        return LL_EINTERNAL;
    }
    return 0;
}

void runner_destroy(runner *r)
{
    if (!r)
        return;
    if (r->cl)
        client_close(r->cl);
    pacer_close(r->sched_pacer);
    pacer_close(r->tick_pacer);
    pacer_close(r->turn_pacer);
    if (r->signals_open) {
        uv_close((uv_handle_t *)&r->sigint, NULL);
        uv_close((uv_handle_t *)&r->sigterm, NULL);
        uv_close((uv_handle_t *)&r->sighup, NULL);
    }
    if (r->loop_open) {
        /* Let the close callbacks run, then the loop can be closed. */
        uv_run(&r->loop, UV_RUN_DEFAULT);
        uv_loop_close(&r->loop);
    }
    client_free(r->cl);
    live_slot_destroy(r->live);
    earlystop_destroy(r->es);
    free(r);
}

const char *bench_stop_name(bench_stop s)
{
    switch (s) {
    case BENCH_STOP_TIME_LIMIT:
        return "time_limit";
    case BENCH_STOP_REQUEST_LIMIT:
        return "request_limit";
    case BENCH_STOP_TARGET_PRECISION:
        return "target_precision";
    case BENCH_STOP_SATURATED:
        return "saturated";
    case BENCH_STOP_MAX_ERROR_RATE:
        return "max_error_rate";
    case BENCH_STOP_INTERRUPTED:
        return "interrupted";
    case BENCH_STOP_NONE:
        break;
    }
    return "none";
}

bench_stop bench_result_stop(const bench_result *res)
{
    if (res->stop_reason != BENCH_STOP_NONE)
        return res->stop_reason;
    if (res->interrupted)
        return BENCH_STOP_INTERRUPTED;
    if (res->plan.max_requests > 0 && res->started >= (uint64_t)res->plan.max_requests)
        return BENCH_STOP_REQUEST_LIMIT;
    return BENCH_STOP_TIME_LIMIT;
}

int bench_stop_early(bench_stop s)
{
    return s == BENCH_STOP_SATURATED || s == BENCH_STOP_MAX_ERROR_RATE;
}
