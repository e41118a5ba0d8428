/*
 * pacer.c - timerfd + uv_poll absolute-deadline timer; see include/llmload/pacer.h for why not
 * uv_timer. The scheduler and the client's housekeeping tick both run on one of these.
 */
#include "llmload/pacer.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "llmload/clock.h"
#include "llmload/error.h"

struct pacer {
    uv_poll_t poll; /* first: the close callback gets the pacer from the handle */
    int fd;
    pacer_fn fn;
    void *ud;
};

static void pacer_on_readable(uv_poll_t *h, int status, int events)
{
    pacer *p = h->data;
    uint64_t expirations;
    (void)events;
    /* Drain the expiration count; EAGAIN means a re-arm raced the wake-up: nothing is due. */
    if (read(p->fd, &expirations, sizeof expirations) != (ssize_t)sizeof expirations && status >= 0)
        return;
    p->fn(p, clock_now_ns(), p->ud);
}

int pacer_create(pacer **out, uv_loop_t *loop, pacer_fn fn, void *ud)
{
    pacer *p = calloc(1, sizeof *p);
    if (!p)
        return LL_ENOMEM;
    p->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (p->fd < 0) {
        free(p);
        return LL_EIO;
    }
    if (uv_poll_init(loop, &p->poll, p->fd) != 0) {
        close(p->fd);
        free(p);
        return LL_EIO;
    }
    p->poll.data = p;
    p->fn = fn;
    p->ud = ud;
    if (uv_poll_start(&p->poll, UV_READABLE, pacer_on_readable) != 0) {
        pacer_close(p);
        return LL_EIO;
    }
    *out = p;
    return 0;
}

int pacer_arm(pacer *p, uint64_t deadline_ns)
{
    struct itimerspec its = {0};
    /* A zero it_value disarms a timerfd, so a deadline at the origin becomes 1 ns. */
    if (deadline_ns == 0)
        deadline_ns = 1;
    its.it_value.tv_sec = (time_t)(deadline_ns / CLOCK_NS_PER_S);
    its.it_value.tv_nsec = (long)(deadline_ns % CLOCK_NS_PER_S);
    if (timerfd_settime(p->fd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        return LL_EIO;
    return 0;
}

int pacer_disarm(pacer *p)
{
    struct itimerspec its = {0};
    return timerfd_settime(p->fd, 0, &its, NULL) == 0 ? 0 : LL_EIO;
}

static void pacer_on_close(uv_handle_t *h)
{
    pacer *p = h->data;
    close(p->fd);
    free(p);
}

void pacer_close(pacer *p)
{
    if (!p)
        return;
    uv_poll_stop(&p->poll);
    uv_close((uv_handle_t *)&p->poll, pacer_on_close);
}
