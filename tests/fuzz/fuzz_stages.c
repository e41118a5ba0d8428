/*
 * fuzz_stages.c - libFuzzer target for the --stages value (a flag, a profile key, an LLMLOAD_
 * variable): stages_parse on a NUL-terminated copy of the input. Invariants: success gives one
 * stage per comma-separated item, each rate in (0, 1e6] and duration in [1 ms, 1e7 s]; failure is
 * LL_EUSAGE with one line of reason.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/stages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    if (!spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    stage st[8];
    size_t n = 99, items = 1;
    char why[256] = "";
    for (size_t i = 0; spec[i]; i++)
        items += spec[i] == ',';
    int rc = stages_parse(spec, st, 8, &n, why, sizeof why);
    if (rc == 0) {
        assert(n == items && n >= 1);
        for (size_t i = 0; i < n && i < 8; i++)
            assert(st[i].rate > 0 && st[i].rate <= 1e6 && st[i].seconds >= 0.001 && st[i].seconds <= 1e7);
    } else {
        assert(rc == LL_EUSAGE && n == 0 && why[0] && !strchr(why, '\n'));
    }
    free(spec);
    return 0;
}
