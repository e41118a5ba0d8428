/*
 * pacer.h - an absolute-deadline timer with sub-millisecond precision on a libuv loop (scheduler).
 *
 * uv_timer counts in milliseconds against a loop time cached once per tick, which is too coarse
 * to send 1,000+ requests a second within 1 ms of their schedule. A pacer is a CLOCK_MONOTONIC
 * timerfd armed with TFD_TIMER_ABSTIME and watched by a uv_poll: deadlines are absolute, so
 * lateness never accumulates, and the callback is told the clock when it woke.
 */
#ifndef LLMLOAD_PACER_H
#define LLMLOAD_PACER_H

#include <stdint.h>
#include <uv.h>

typedef struct pacer pacer;

/* Called on the loop when the armed deadline has passed; now_ns read on wake-up. The pacer is
 * disarmed when this runs: arm it again from inside the callback to keep going. */
typedef void (*pacer_fn)(pacer *p, uint64_t now_ns, void *ud);

/* *out is owned by the caller and released with pacer_close. 0, LL_ENOMEM or LL_EIO. */
int pacer_create(pacer **out, uv_loop_t *loop, pacer_fn fn, void *ud);
/* Fire at deadline_ns (clock_now_ns scale); a deadline in the past fires on the next loop tick. */
int pacer_arm(pacer *p, uint64_t deadline_ns);
int pacer_disarm(pacer *p);
/* Stops and releases the pacer; the memory is freed from uv_close's callback, so the loop must
 * run once more (uv_run) before it is gone. NULL is fine. */
void pacer_close(pacer *p);

#endif
