/*
 * fuzz_profile.c - libFuzzer target for profile files: config_load_profile_text on the input.
 * Invariants on success: the rate list is never empty and the config serialises (redacted).
 */
#include <assert.h>
#include <cjson/cJSON.h>
#include <stdint.h>

#include "llmload/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config c;
    char err[512];
    if (config_init(&c) != 0)
        return 0;
    if (config_load_profile_text(&c, (const char *)data, size, "fuzz.json", err, sizeof err) == 0) {
        assert(c.n_rates >= 1 && c.rates != NULL);
        assert(c.data.path || c.data.prompt_tokens_min <= c.data.prompt_tokens_max);
        cJSON *j = NULL;
        if (config_to_json(&c, &j) == 0)
            cJSON_Delete(j);
        config_validate(&c, err, sizeof err);
    }
    config_free(&c);
    return 0;
}
