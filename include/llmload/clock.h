/*
 * clock.h - the one clock every llmload timestamp comes from.
 *
 * CLOCK_MONOTONIC in nanoseconds: it never jumps with NTP and has the resolution token timing
 * needs. Never use uv_now() (cached per loop tick, milliseconds) or the wall clock for latency.
 * clock_wall_s() exists only for labelling reports with a start time.
 */
#ifndef LLMLOAD_CLOCK_H
#define LLMLOAD_CLOCK_H

#include <stdint.h>

/* Monotonic time in nanoseconds since an arbitrary origin. */
uint64_t clock_now_ns(void);
/* Wall-clock seconds since the epoch, for report labels only. */
double clock_wall_s(void);
/* Sleeps until the wall clock reads epoch_s (CLOCK_REALTIME, absolute, so a clock step moves the
 * wake-up with it: this is the meeting time of --start-at, never a measurement). 0 when it woke at
 * the instant, 1 when the instant had already passed (no sleep), 2 when a signal cut the wait short. */
int clock_wait_wall(double epoch_s);
/* A kernel receive timestamp (CLOCK_REALTIME, as SO_TIMESTAMPNS gives it) on this clock, given
 * now_ns = clock_now_ns() read just after it: now minus its age on the wall clock. Clamped to
 * [0, now_ns], so a wall-clock step can make it early or late by the step, never in the future. */
uint64_t clock_mono_from_real(int64_t sec, long nsec, uint64_t now_ns);
/* Seconds of CPU this process has used (user + system). */
double clock_cpu_s(void);
/* Seconds of CPU the calling thread has used (one worker loop's cost). */
double clock_thread_cpu_s(void);
/* Seconds the calling thread has waited on a runqueue for a CPU (the kernel's schedstat), or -1
 * when the kernel does not say. A thread on a core shared with a busy process waits here. */
double clock_thread_wait_s(void);

#define CLOCK_NS_PER_MS 1000000ULL
#define CLOCK_NS_PER_S 1000000000ULL

#endif
