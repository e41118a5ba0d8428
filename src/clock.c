/*
 * clock.c - CLOCK_MONOTONIC in nanoseconds; see include/llmload/clock.h for why one clock.
 */
#define _POSIX_C_SOURCE 200809L
#include "llmload/clock.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

uint64_t clock_now_ns(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * CLOCK_NS_PER_S + (uint64_t)ts.tv_nsec;
}

double clock_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int clock_wait_wall(double epoch_s)
{
    if (clock_wall_s() >= epoch_s)
        return 1;
    struct timespec ts;
    ts.tv_sec = (time_t)floor(epoch_s);
    ts.tv_nsec = (long)((epoch_s - floor(epoch_s)) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    int rc = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL);
    return rc == EINTR ? 2 : 0;
}

uint64_t clock_mono_from_real(int64_t sec, long nsec, uint64_t now_ns)
{
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    int64_t age = ((int64_t)real.tv_sec - sec) * 1000000000LL + (real.tv_nsec - nsec);
    if (age <= 0)
        return now_ns;
    return (uint64_t)age >= now_ns ? 0 : now_ns - (uint64_t)age;
}

double clock_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clock_thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clock_thread_wait_s(void)
{
    /* /proc/thread-self/schedstat: "cpu_ns runqueue_wait_ns timeslices" (CONFIG_SCHED_INFO).
     * Read at the start and end of a benchmark, never per request. */
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (!f)
        return -1;
    unsigned long long cpu = 0, wait = 0;
    int got = fscanf(f, "%llu %llu", &cpu, &wait);
    fclose(f);
    return got == 2 ? (double)wait / 1e9 : -1;
}
