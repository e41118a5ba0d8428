/*
 * fuzz_data_spec.c - libFuzzer target for the --data value: config_parse_data on a NUL-terminated
 * copy of the input. Invariants on success: a path, or counts with min <= max.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    if (!spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    config_data d;
    char err[256];
    config_data_init(&d);
    if (config_parse_data(&d, spec, err, sizeof err) == 0)
        assert(d.path || (d.prompt_tokens_min <= d.prompt_tokens_max &&
                          d.output_tokens_min <= d.output_tokens_max && d.prompt_tokens >= 0));
    config_data_free(&d);
    free(spec);
    return 0;
}
