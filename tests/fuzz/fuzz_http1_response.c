/*
 * fuzz_http1_response.c - libFuzzer target for the built-in client's response path: status line,
 * headers, chunked or sized or read-to-close bodies and the SSE scan behind them, fed through the
 * real http-parser callbacks and client.c's receive path (client__http1_feed), no socket. Input:
 * byte 0 = number of cuts (mod 8), then that many cut positions, then the response; it arrives in
 * those pieces, as reads would. Invariant: exactly one done callback, a sane record.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/client_internal.h"
#include "llmload/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int done_calls;

static void on_done(void *ud, const record *r, const char *msg)
{
    (void)ud;
    done_calls++;
    assert(r->status <= RECORD_INCOMPLETE && r->error_kind < RECORD_ERR_COUNT_);
    assert(strlen(msg) < RECORD_ERROR_MSG_MAX && (r->status == RECORD_OK) == (r->error_kind == RECORD_ERR_NONE));
    assert(!r->first_byte_ns || r->first_byte_ns >= r->sent_ns);
    assert(!r->first_token_ns || (r->first_byte_ns && r->first_token_ns >= r->first_byte_ns));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uv_loop_t loop;
    static config cfg;
    static client *c;
    if (!c) { /* one client for the process: never freed, as libFuzzer runs until killed */
        client_options o = {.cfg = &cfg, .model = "fake", .slots = 1, .on_done = on_done};
        char err[256];
        if (uv_loop_init(&loop) != 0 || config_init(&cfg) != 0)
            abort();
        free(cfg.target);
        cfg.target = strdup("http://127.0.0.1:9");
        cfg.http_client = CONFIG_HTTP_CLIENT_BUILTIN;
        if (!cfg.target || client_create(&c, &loop, &o, err, sizeof err) != 0)
            abort();
    }
    size_t cuts = size ? data[0] % 8u : 0, at = 1 + cuts, prev = at;
    const char *parts[9];
    size_t lens[9], n = 0;
    for (size_t i = 0; i < cuts && at <= size; i++) {
        size_t cut = at + (size > at ? data[1 + i] % (size - at + 1) : 0);
        if (cut < prev)
            cut = prev;
        parts[n] = (const char *)data + prev, lens[n++] = cut - prev, prev = cut;
    }
    if (prev <= size)
        parts[n] = (const char *)data + prev, lens[n++] = size - prev;
    done_calls = 0;
    int rc = client__http1_feed(c, parts, lens, n); /* outside assert: it must run under NDEBUG too */
    assert(rc == 0 && done_calls == 1 && client_in_flight(c) == 0);
    (void)rc;
    return 0;
}
