/*
 * client_gate.c - the connect gate of one client loop (scheduler -> client -> [gate] -> transport).
 * Opening hundreds of connections at once overflows a server's listen backlog (llama-server's is
 * 5): the kernel drops the SYNs and each connect waits for a retransmit, a second or more. And a
 * server that is down refuses connects within microseconds, which a closed loop of 1,000 streams
 * turned into over a million failed attempts (each a record) in seconds. So a request that needs
 * a new connection passes the gate: at most max_connecting connects are outstanding, the rest wait
 * in order; after a failed connect nothing starts for a backoff, then one round of probes goes
 * out, and each round that fails doubles the backoff (CLIENT__GATE_BACKOFF_MIN_MS to _MAX_MS). The
 * first success opens the gate for everyone. Invariant: a slot is on the queue iff gate_queued.
 */
#include <stdio.h>

#include "client_internal.h"
#include "llmload/clock.h"

static uint64_t backoff_ns(unsigned streak)
{
    uint64_t ms = CLIENT__GATE_BACKOFF_MIN_MS;
    for (unsigned i = 1; i < streak && ms < CLIENT__GATE_BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > CLIENT__GATE_BACKOFF_MAX_MS)
        ms = CLIENT__GATE_BACKOFF_MAX_MS;
    return ms * CLOCK_NS_PER_MS;
}

static void pop(client__gate *g, client__slot *s)
{
    if (!s->gate_queued)
        return;
    if (s->gate_prev)
        s->gate_prev->gate_next = s->gate_next;
    else
        g->head = s->gate_next;
    if (s->gate_next)
        s->gate_next->gate_prev = s->gate_prev;
    else
        g->tail = s->gate_prev;
    s->gate_next = s->gate_prev = NULL;
    s->gate_queued = 0;
    g->queued--;
}

static void release(client *c);

static void on_timer(uv_timer_t *t)
{
    client *c = t->data;
    c->stamp_ns = clock_now_ns();
    release(c);
}

static void arm(client *c, uint64_t at_ns)
{
    client__gate *g = &c->gate;
    if (!g->timer_open || c->closing)
        return;
    uint64_t now = clock_now_ns();
    uint64_t ms = at_ns > now ? (at_ns - now + CLOCK_NS_PER_MS - 1) / CLOCK_NS_PER_MS : 0;
    uv_timer_start(&g->timer, on_timer, ms, 0);
}

/* Lets queued slots go while the gate is open and has room. */
static void release(client *c)
{
    client__gate *g = &c->gate;
    uint64_t now = clock_now_ns();
    if (c->closing || !g->head)
        return;
    if (now < g->open_at_ns) {
        arm(c, g->open_at_ns);
        return;
    }
    /* After failures, a round of probes: as many as the limit allows (or a few for curl), and no
     * more until one of them answers or the round's deadline passes. */
    size_t round = g->streak ? (g->max_connecting ? g->max_connecting : CLIENT__GATE_CONNECTING) : SIZE_MAX;
    if (g->streak) {
        g->probing = 1;
        /* Every probe ends by --connect-timeout at the latest; should none report (cancelled),
         * the next round goes out then. */
        g->open_at_ns = now + (uint64_t)(c->cfg->connect_timeout_s * 1e9) + backoff_ns(g->streak);
        arm(c, g->open_at_ns);
    }
    while (g->head && round-- > 0 && (!g->max_connecting || g->connecting < g->max_connecting)) {
        client__slot *s = g->head;
        pop(g, s);
        c->tp->gate_go(c, s); /* counts itself in `connecting` while its connect is out */
    }
}

int client__gate_init(client *c, size_t max_connecting, int sync_go)
{
    client__gate *g = &c->gate;
    g->max_connecting = max_connecting;
    g->sync_go = sync_go;
    if (uv_timer_init(c->loop, &g->timer) != 0)
        return -1;
    g->timer.data = c;
    g->timer_open = 1;
    return 0;
}

int client__gate_enter(client *c, client__slot *s)
{
    client__gate *g = &c->gate;
    /* In order: nobody overtakes a queued request. */
    if (!g->head && !g->probing && !g->streak && (!g->max_connecting || g->connecting < g->max_connecting))
        return 1;
    s->gate_queued = 1;
    s->gate_since_ns = clock_now_ns();
    s->gate_next = NULL;
    s->gate_prev = g->tail;
    if (g->tail)
        g->tail->gate_next = s;
    else
        g->head = s;
    g->tail = s;
    g->queued++;
    /* The timer only ever aims at open_at_ns (now, a backoff's end, or a round's deadline), so
     * arming it again is harmless; without it a lone queued request would wait for a connect
     * outcome that never comes. */
    arm(c, g->open_at_ns);
    return 0;
}

void client__gate_done(client *c, int ok)
{
    client__gate *g = &c->gate;
    uint64_t now = clock_now_ns();
    if (ok) {
        if (g->streak || g->probing) {
            g->streak = 0;
            g->probing = 0;
            g->open_at_ns = 0;
        }
    } else {
        g->failures++;
        /* The first failure of a round (or of a healthy gate) closes it; the others of the same
         * round, already out, say nothing new. */
        if (g->probing || (!g->streak && now >= g->open_at_ns)) {
            g->streak++;
            g->probing = 0;
            g->open_at_ns = now + backoff_ns(g->streak);
        }
    }
    if (!g->head)
        return;
    if (g->sync_go && now >= g->open_at_ns)
        release(c);
    else
        arm(c, g->open_at_ns);
}

void client__gate_kick(client *c)
{
    if (c->gate.head)
        arm(c, c->gate.open_at_ns);
}

void client__gate_leave(client *c, client__slot *s)
{
    if (s->gate_queued)
        pop(&c->gate, s);
}

void client__gate_check(client *c, uint64_t now_ns)
{
    client__gate *g = &c->gate;
    uint64_t limit = (uint64_t)(c->cfg->connect_timeout_s * 1e9);
    /* Oldest first: the first one still within its time ends the scan. */
    while (g->head && now_ns > g->head->gate_since_ns && now_ns - g->head->gate_since_ns > limit) {
        client__slot *s = g->head;
        char why[160];
        if (g->streak)
            snprintf(why, sizeof why,
                     "no connection within --connect-timeout %gs: backing off after failed connects (%u rounds)",
                     c->cfg->connect_timeout_s, g->streak);
        else
            snprintf(why, sizeof why, "no connection within --connect-timeout %gs: waited for a connect slot",
                     c->cfg->connect_timeout_s);
        /* The transport's release takes it off the queue (client__gate_leave). */
        client__finish(c, s, RECORD_OK, RECORD_ERR_CONNECT, why);
        if (s->gate_queued) /* a transport that did not: never loop on the same slot */
            pop(g, s);
    }
}

void client__gate_close(client *c)
{
    client__gate *g = &c->gate;
    while (g->head)
        pop(g, g->head);
    if (g->timer_open) {
        uv_timer_stop(&g->timer);
        uv_close((uv_handle_t *)&g->timer, NULL);
        g->timer_open = 0;
    }
}
