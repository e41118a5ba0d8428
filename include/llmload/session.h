/*
 * session.h - multi-turn sessions (source -> session -> scheduler -> client), docs/workloads.md.
 *
 * A session is a conversation of turns; turn k is sent with the whole history of turns 1..k-1:
 * their user prompts AND the replies the server actually streamed (the client captures them,
 * client_done_reply), as chat messages alternating user/assistant, or as one concatenated text
 * for the completions API. Turn k+1 is due a think time after turn k ended (seeded normal draw,
 * clamped at 0). A failed or cut turn ends its session.
 *
 * The set keeps its sessions in a pool whose objects, and their history buffers, are reused from
 * one session to the next, and the turns waiting for their think time in a binary heap by due
 * time; the scheduler (bench.c) asks for the earliest due turn, sends it, and reports its end.
 * Nothing here touches the event loop or the clock: times are given, so it is unit-testable.
 */
#ifndef LLMLOAD_SESSION_H
#define LLMLOAD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "llmload/config.h"
#include "llmload/record.h"
#include "llmload/source.h"

/* Bytes of reply text kept per turn (the client's per-slot capture buffer): a longer reply is kept
 * cut at this size (at an event boundary) and counted in session_stats.replies_cut. */
#define SESSION_REPLY_CAP (64u * 1024u)

typedef struct session_set session_set;

typedef struct session_options {
    config_api api;        /* chat: messages; completions: concatenated text */
    long turns;            /* turns of a synthetic session (>= 1); a dataset record has its own */
    double think_s;        /* mean think time between turns, seconds */
    double think_stdev_s;  /* its standard deviation (0: fixed) */
    uint64_t seed;
    /* Numbering (--workers): this set's sessions are id_first, id_first + id_stride, ... so that
     * loops sharing a run never give two sessions one number. 0 and 0 mean 1, 2, 3, ... */
    uint32_t id_first, id_stride;
    /* A --model mix: each session's model, drawn at its first turn and kept for all its turns (a
     * conversation talks to one model). NULL: model 0. */
    unsigned (*pick_model)(void *ud);
    void *pick_ud;
} session_options;

/* One turn ready to send: its conversation as JSON fragments for request_body_build_raw. */
typedef struct session_turn {
    const char *parts[2];  /* borrowed: valid until the session's turn ends (session_turn_done) */
    size_t lens[2];
    size_t n_parts;
    long prompt_tokens;    /* the words of the history and of this prompt (usage corrects it) */
    long max_tokens;
    uint64_t scheduled_ns; /* when it was due: the session began, or the think time ended */
    uint32_t session;      /* 1-based, in the order sessions began (numbered as id_first, id_stride say) */
    uint16_t turn;         /* 1-based */
    unsigned model;        /* the session's model (session_options.pick_model) */
} session_turn;

typedef struct session_stats {
    uint64_t sessions;     /* sessions begun */
    uint64_t completed;    /* sessions whose every turn completed */
    uint64_t replies_cut;  /* replies longer than SESSION_REPLY_CAP, kept cut */
} session_stats;

/* Creates an empty set. *out owned by caller (session_set_destroy). 0 or LL_ENOMEM. */
int session_set_create(session_set **out, const session_options *o);
void session_set_destroy(session_set *ss); /* NULL is fine */

/* Begins a session whose first turn is due at due_ns. 0 or LL_ENOMEM. */
int session_begin(session_set *ss, uint64_t due_ns);

/* When the earliest waiting turn is due; UINT64_MAX when none waits. */
uint64_t session_next_due(const session_set *ss);

/* Takes the earliest waiting turn if it is due at now_ns and builds its conversation (prompts come
 * from src: the dataset record's next user turn, or a new synthetic prompt). Returns 1 (out
 * filled), 0 (nothing due) or LL_ENOMEM. The turn is in flight until session_turn_done. */
int session_take(session_set *ss, source *src, uint64_t now_ns, session_turn *out);

/* A taken turn could not be sent after all (no slot): it waits again, first in line. */
void session_untake(session_set *ss, const session_turn *t);

/* The turn of rec (rec->session, rec->turn) ended at rec->end_ns; reply (JSON-escaped text,
 * borrowed for the call) is what the server streamed, cut when truncated. Returns 1 when the
 * session's next turn now waits for its think time, 0 when the session ended (all turns done, or
 * this one failed), LL_ENOMEM, or LL_ENOENT for a record of no session in flight. */
int session_turn_done(session_set *ss, const record *rec, const char *reply, size_t reply_len,
                      int truncated);

void session_stats_get(const session_set *ss, session_stats *out);

#endif
