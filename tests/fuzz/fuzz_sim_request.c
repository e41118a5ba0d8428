/*
 * fuzz_sim_request.c - libFuzzer target for the simulator's request handling: the bytes after the
 * first are a client's stream on one connection (requests, pipelined or not), the first byte
 * chooses how it is split into reads. They go through the real http-parser callbacks, router,
 * auth, JSON body parse and engine (sim_server__feed): no crash, no leak, no read outside them.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>

#include "../../src/sim/sim_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sim_config cfg;
    static int ready;
    static size_t lens[4096];
    if (!ready) {
        /* Short outputs keep each input fast; every fault and engine mode is on so its code runs too. */
        char *argv[] = {"sim", "--max-model-len", "512", "--output-tokens", "3", "--tokens-per-event", "2",
                        "--reasoning-tokens", "1", "--api-key", "k", "--max-body-bytes", "4096",
                        "--error-rate", "0.1", "--rate-limit-rate", "0.1", "--disconnect-rate", "0.1",
                        "--malformed-rate", "0.1", "--stall-rate", "0.1", "--early-eos-rate", "0.2",
                        /* the prefix cache walks every parsed prompt; a small KV budget preempts */
                        "--prefix-cache-tokens", "64", "--preemption", "--kv-cache-tokens", "600", "--gpu-metrics",
                        /* two models, one with its own clock, so per-model steps and preemption mix */
                        "--model", "llmload-sim", "--model", "m2:1:0.5"};
        int rc = sim_config_parse(&cfg, (int)(sizeof argv / sizeof argv[0]), argv, stdout, stderr);
        assert(rc == 0);
        (void)rc;
        ready = 1;
    }
    if (size < 1)
        return 0;
    unsigned step = data[0];
    size_t n = 0, off = 0;
    for (size--, data++; off < size && n < sizeof lens / sizeof lens[0] - 1; n++) {
        size_t k = step ? 1 + (step * 31 + n * 7) % (step % 64 + 1) : size;
        lens[n] = k < size - off ? k : size - off;
        off += lens[n];
    }
    if (off < size)
        lens[n - 1] += size - off;
    int rc = sim_server__feed(&cfg, (const char *)data, lens, n);
    assert(rc == 0);
    (void)rc;
    return 0;
}
