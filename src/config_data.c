/*
 * config_data.c - the --data value: a synthetic spec "prompt_tokens=256,output_tokens=128,..." or
 * a dataset path (config -> source). Keys not named in a spec keep the values d already has
 * (config_data_init's defaults, or a profile's), so a flag can change one key of a profile's spec.
 * Invariant after a successful parse: every count is finite, within [0, CONFIG__MAX_TOKENS], and
 * each min <= its max.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_internal.h"
#include "llmload/error.h"

/* The spec keys and where they go; a double field takes fractions, a long field whole numbers. */
static const struct {
    const char *key;
    size_t off;
    int is_long;
} data_keys[] = {
    {"prompt_tokens", offsetof(config_data, prompt_tokens), 0},
    {"prompt_tokens_stdev", offsetof(config_data, prompt_tokens_stdev), 0},
    {"prompt_tokens_min", offsetof(config_data, prompt_tokens_min), 1},
    {"prompt_tokens_max", offsetof(config_data, prompt_tokens_max), 1},
    {"output_tokens", offsetof(config_data, output_tokens), 0},
    {"output_tokens_stdev", offsetof(config_data, output_tokens_stdev), 0},
    {"output_tokens_min", offsetof(config_data, output_tokens_min), 1},
    {"output_tokens_max", offsetof(config_data, output_tokens_max), 1},
    {"prefix_tokens", offsetof(config_data, prefix_tokens), 1},
    {"turns", offsetof(config_data, turns), 1},
    {"think_time", offsetof(config_data, think_time), 0},
    {"think_time_stdev", offsetof(config_data, think_time_stdev), 0},
    {"turn_prompt_tokens", offsetof(config_data, turn_prompt_tokens), 1},
    {"prefix_count", offsetof(config_data, prefix_count), 1},
};

void config_data_init(config_data *d)
{
    memset(d, 0, sizeof *d);
    d->prompt_tokens = 256;
    d->prompt_tokens_min = 1;
    d->prompt_tokens_max = 1000000;
    d->output_tokens = 128;
    d->output_tokens_min = 1;
    d->output_tokens_max = 1000000;
    d->turns = 1;
    d->prefix_count = 1;
}

void config_data_free(config_data *d)
{
    free(d->path);
    d->path = NULL;
}

int config__data_set(config_data *d, const char *key, const char *val, char *why, size_t whylen)
{
    size_t i;
    for (i = 0; i < sizeof data_keys / sizeof data_keys[0]; i++)
        if (strcmp(key, data_keys[i].key) == 0)
            break;
    if (i == sizeof data_keys / sizeof data_keys[0]) {
        snprintf(why, whylen,
                 "unknown key \"%.64s\" in data spec (keys: prompt_tokens, output_tokens, "
                 "prefix_tokens, prefix_count, turns, think_time, think_time_stdev, turn_prompt_tokens, and *_stdev, *_min, *_max of the "
                 "first two)",
                 key);
        return LL_EUSAGE;
    }
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (end == val || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        snprintf(why, whylen, "%s: \"%.64s\" is not a number", key, val);
        return LL_EUSAGE;
    }
    if (v < 0) {
        snprintf(why, whylen, "%s: %.64s is negative", key, val);
        return LL_EUSAGE;
    }
    if (v > (double)CONFIG__MAX_TOKENS) {
        snprintf(why, whylen, "%s: %.64s is larger than %ld", key, val, CONFIG__MAX_TOKENS);
        return LL_EUSAGE;
    }
    char *field = (char *)d + data_keys[i].off;
    if (data_keys[i].is_long) {
        if (v != floor(v)) {
            snprintf(why, whylen, "%s: %.64s is not a whole number", key, val);
            return LL_EUSAGE;
        }
        *(long *)(void *)field = (long)v;
    } else {
        *(double *)(void *)field = v;
    }
    return 0;
}

int config__data_check(const config_data *d, char *why, size_t whylen)
{
    if (d->turns < 1 || d->turns > 10000) {
        snprintf(why, whylen, "turns %ld must be from 1 to 10000", d->turns);
        return LL_EUSAGE;
    }
    if (d->think_time > 86400 || d->think_time_stdev > 86400) {
        snprintf(why, whylen, "think_time and think_time_stdev must be at most 86400 seconds");
        return LL_EUSAGE;
    }
    if (d->path)
        return 0;
    if (d->prompt_tokens_min > d->prompt_tokens_max) {
        snprintf(why, whylen, "prompt_tokens_min %ld is larger than prompt_tokens_max %ld",
                 d->prompt_tokens_min, d->prompt_tokens_max);
        return LL_EUSAGE;
    }
    if (d->output_tokens_min > d->output_tokens_max) {
        snprintf(why, whylen, "output_tokens_min %ld is larger than output_tokens_max %ld",
                 d->output_tokens_min, d->output_tokens_max);
        return LL_EUSAGE;
    }
    /* A prompt is the shared prefix, then one unique word, then filler (source.h), so it needs at
     * least prefix_tokens + 1 words; a prefix as long as the prompt itself is a mistake. */
    if (d->prefix_tokens > 0 && ((double)d->prefix_tokens >= d->prompt_tokens ||
                                 d->prefix_tokens >= d->prompt_tokens_max)) {
        snprintf(why, whylen,
                 "prefix_tokens %ld must be less than prompt_tokens (%g) and prompt_tokens_max (%ld)",
                 d->prefix_tokens, d->prompt_tokens, d->prompt_tokens_max);
        return LL_EUSAGE;
    }
    /* Each prefix is its own passage held in memory for the run: K is kept to what a cache study needs. */
    if (d->prefix_count < 1 || d->prefix_count > 1000) {
        snprintf(why, whylen, "prefix_count %ld must be from 1 to 1000", d->prefix_count);
        return LL_EUSAGE;
    }
    if (d->prefix_count > 1 && d->prefix_tokens == 0) {
        snprintf(why, whylen, "prefix_count %ld needs prefix_tokens > 0 (the length of each prefix)",
                 d->prefix_count);
        return LL_EUSAGE;
    }
    return 0;
}

static int has_dataset_suffix(const char *s)
{
    static const char *const suffixes[] = {".jsonl", ".json", ".csv", ".txt"};
    size_t n = strlen(s);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(s + n - k, suffixes[i]) == 0)
            return 1;
    }
    return 0;
}

static int set_path(config_data *d, const char *spec, char *err, size_t errlen)
{
    struct stat st;
    if (stat(spec, &st) != 0) {
        snprintf(err, errlen, "dataset file \"%.200s\": %s", spec, strerror(errno));
        return LL_EUSAGE;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "dataset file \"%.200s\" is not a regular file", spec);
        return LL_EUSAGE;
    }
    char *p = strdup(spec);
    if (!p)
        return LL_ENOMEM;
    free(d->path);
    d->path = p;
    return 0;
}

int config_parse_data(config_data *d, const char *spec, char *err, size_t errlen)
{
    size_t n = strlen(spec);
    if (n == 0) {
        snprintf(err, errlen, "empty data spec (give key=value pairs or a dataset file)");
        return LL_EUSAGE;
    }
    if (n >= CONFIG__MAX_STRING) {
        snprintf(err, errlen, "data spec longer than %d bytes", CONFIG__MAX_STRING);
        return LL_EUSAGE;
    }
    struct stat st;
    if (has_dataset_suffix(spec) || (strchr(spec, '=') == NULL && stat(spec, &st) == 0))
        return set_path(d, spec, err, errlen);

    /* Apply to a copy so a spec that fails halfway leaves d as it was. */
    config_data tmp = *d;
    char buf[CONFIG__MAX_STRING];
    memcpy(buf, spec, n + 1);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        size_t len = strlen(item);
        while (len > 0 && item[len - 1] == ' ')
            item[--len] = '\0';
        char *eq = strchr(item, '=');
        if (!eq) {
            if (strchr(spec, '=') == NULL)
                snprintf(err, errlen, "\"%.200s\" is neither a data spec (key=value,...) nor an existing file",
                         spec);
            else
                snprintf(err, errlen, "\"%.64s\" in data spec has no '=' (expected key=value)", item);
            return LL_EUSAGE;
        }
        *eq = '\0';
        char *val = eq + 1;
        while (*val == ' ')
            val++;
        size_t klen = strlen(item);
        while (klen > 0 && item[klen - 1] == ' ')
            item[--klen] = '\0';
        int rc = config__data_set(&tmp, item, val, err, errlen);
        if (rc != 0)
            return rc;
    }
    /* An empty item list (",,,") changes nothing; accept it only if something was set. */
    if (strspn(spec, ", ") == n) {
        snprintf(err, errlen, "empty data spec \"%.64s\"", spec);
        return LL_EUSAGE;
    }
    tmp.path = NULL;
    int rc = config__data_check(&tmp, err, errlen);
    if (rc != 0)
        return rc;
    free(d->path);
    *d = tmp;
    return 0;
}
