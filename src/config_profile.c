/*
 * config_profile.c - profile files: a JSON object whose keys are the long option names ('-' or
 * '_'), applied through the same setters as the flags (config, first box of the data flow).
 * Every JSON value is turned into the text a flag would carry, so a profile key and its flag are
 * checked by the same code. Errors are one line: `profile FILE: key "K": what is wrong`.
 * Invariant: the file is read whole, at most CONFIG__MAX_PROFILE_BYTES, and never kept.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "llmload/error.h"

/* The shortest decimal that reads back as v; whole numbers without an exponent (seeds, counts). */
static void format_number(double v, char *buf, size_t n)
{
    if (v == floor(v) && fabs(v) < 1e18) {
        snprintf(buf, n, "%.0f", v);
        return;
    }
    snprintf(buf, n, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, n, "%.17g", v);
}

static unsigned json_kind(const cJSON *v)
{
    if (cJSON_IsString(v))
        return CONFIG__J_STR;
    if (cJSON_IsNumber(v))
        return CONFIG__J_NUM;
    if (cJSON_IsBool(v))
        return CONFIG__J_BOOL;
    if (cJSON_IsObject(v))
        return CONFIG__J_OBJ;
    if (cJSON_IsArray(v)) {
        /* An empty array counts as either: no headers, or an empty (refused) rate list. */
        unsigned kind = CONFIG__J_NUMS | CONFIG__J_STRS;
        for (const cJSON *e = v->child; e; e = e->next) {
            if (!cJSON_IsNumber(e))
                kind &= ~(unsigned)CONFIG__J_NUMS;
            if (!cJSON_IsString(e))
                kind &= ~(unsigned)CONFIG__J_STRS;
        }
        return kind;
    }
    return 0; /* null */
}

/* {"prompt_tokens": 256, ...}: each member through the spec's own key setter, on a copy. */
static int apply_data_object(config *c, const cJSON *v, char *why, size_t whylen)
{
    config_data tmp = c->data;
    tmp.path = NULL;
    for (const cJSON *m = v->child; m; m = m->next) {
        char key[64];
        snprintf(key, sizeof key, "%s", m->string ? m->string : "");
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = '_';
        if (!cJSON_IsNumber(m)) {
            snprintf(why, whylen, "member \"%.64s\" must be a number", key);
            return LL_EUSAGE;
        }
        char num[64];
        format_number(m->valuedouble, num, sizeof num);
        int rc = config__data_set(&tmp, key, num, why, whylen);
        if (rc != 0)
            return rc;
    }
    int rc = config__data_check(&tmp, why, whylen);
    if (rc != 0)
        return rc;
    config_data_free(&c->data);
    c->data = tmp;
    return 0;
}

static int apply_value(config *c, const config__opt *o, const cJSON *v, char *why, size_t whylen)
{
    char num[64];
    switch (json_kind(v) & o->json) {
    case CONFIG__J_STR:
        return o->set(c, o, v->valuestring, why, whylen);
    case CONFIG__J_NUM:
        format_number(v->valuedouble, num, sizeof num);
        return o->set(c, o, num, why, whylen);
    case CONFIG__J_BOOL:
        return o->set(c, o, cJSON_IsTrue(v) ? "1" : "0", why, whylen);
    case CONFIG__J_OBJ:
        return apply_data_object(c, v, why, whylen);
    case CONFIG__J_STRS:
        for (const cJSON *e = v->child; e; e = e->next) {
            int rc = o->set(c, o, e->valuestring, why, whylen);
            if (rc != 0)
                return rc;
        }
        return 0;
    case CONFIG__J_NUMS: {
        /* Joined into the flag's comma list; bounded by the rates limit before any formatting. */
        int n = cJSON_GetArraySize(v);
        if (n > CONFIG__MAX_RATES) {
            snprintf(why, whylen, "more than %d values", CONFIG__MAX_RATES);
            return LL_EUSAGE;
        }
        size_t cap = (size_t)n * sizeof num + 1, len = 0;
        char *list = malloc(cap);
        if (!list)
            return LL_ENOMEM;
        list[0] = '\0';
        for (const cJSON *e = v->child; e; e = e->next) {
            format_number(e->valuedouble, num, sizeof num);
            len += (size_t)snprintf(list + len, cap - len, "%s%s", len ? "," : "", num);
        }
        int rc = o->set(c, o, list, why, whylen);
        free(list);
        return rc;
    }
    default:
        snprintf(why, whylen, "expected %s", o->expect);
        return LL_EUSAGE;
    }
}

/* Line and column of a byte offset, for a JSON syntax error. */
static void where(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int config__load_profile_text(config *c, const char *text, size_t len, const char *name,
                              int *set_key_env, char *err, size_t errlen)
{
    *set_key_env = 0;
    if (len > CONFIG__MAX_PROFILE_BYTES) {
        snprintf(err, errlen, "profile %.200s: larger than %d bytes", name, CONFIG__MAX_PROFILE_BYTES);
        return LL_EUSAGE;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        /* cJSON only reports a position, and a failed allocation looks the same as bad input;
         * at this size the input is by far the likelier cause. */
        int line, col;
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        where(text, off, &line, &col);
        snprintf(err, errlen, "profile %.200s: not valid JSON (line %d, column %d)", name, line, col);
        return LL_EUSAGE;
    }
    int rc = 0;
    while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end < text + len) {
        int line, col;
        where(text, (size_t)(end - text), &line, &col);
        snprintf(err, errlen, "profile %.200s: unexpected text after the JSON object (line %d, column %d)",
                 name, line, col);
        rc = LL_EUSAGE;
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "profile %.200s: expected a JSON object {\"key\": value, ...}", name);
        rc = LL_EUSAGE;
        goto out;
    }
    for (const cJSON *m = root->child; m; m = m->next) {
        const char *key = m->string ? m->string : "";
        if (strcmp(key, "description") == 0)
            continue; /* for people reading the file; not a setting */
        const config__opt *o = config__find_opt(key);
        if (!o || !o->json || !o->set) {
            snprintf(err, errlen, "profile %.200s: unknown key \"%.64s\"", name, key);
            rc = LL_EUSAGE;
            goto out;
        }
        char why[320];
        rc = apply_value(c, o, m, why, sizeof why);
        if (rc == LL_EUSAGE || rc == LL_ENOENT || rc == LL_EIO)
            snprintf(err, errlen, "profile %.200s: key \"%.64s\": %s", name, key, why);
        else if (rc != 0)
            snprintf(err, errlen, "profile %.200s: %s", name, "out of memory");
        if (rc != 0)
            goto out;
        if (strcmp(o->name, "api-key-env") == 0)
            *set_key_env = 1;
    }
out:
    cJSON_Delete(root);
    return rc;
}

int config__load_profile_file(config *c, const char *path, int *set_key_env, char *err,
                              size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "profile %.200s: %s", path, strerror(e));
        return e == ENOENT ? LL_ENOENT : LL_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "profile %.200s: not a regular file", path);
        close(fd);
        return LL_EIO;
    }
    /* Read one byte past the cap so an oversized file is told apart from one exactly at it. */
    char *buf = malloc(CONFIG__MAX_PROFILE_BYTES + 1);
    if (!buf) {
        close(fd);
        return LL_ENOMEM;
    }
    size_t len = 0;
    int rc = 0;
    while (len <= CONFIG__MAX_PROFILE_BYTES) {
        ssize_t n = read(fd, buf + len, CONFIG__MAX_PROFILE_BYTES + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "profile %.200s: %s", path, strerror(errno));
            rc = LL_EIO;
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (rc == 0)
        rc = config__load_profile_text(c, buf, len, path, set_key_env, err, errlen);
    free(buf);
    if (rc == 0) {
        char *p = strdup(path);
        if (!p)
            return LL_ENOMEM;
        free(c->profile_path);
        c->profile_path = p;
    }
    return rc;
}

int config_load_profile_text(config *c, const char *text, size_t len, const char *name, char *err,
                             size_t errlen)
{
    int set_key_env;
    err[0] = '\0';
    int rc = config__load_profile_text(c, text, len, name, &set_key_env, err, errlen);
    if (rc == 0 && set_key_env) {
        char origin[300];
        snprintf(origin, sizeof origin, "profile %.200s: key \"api-key-env\"", name);
        rc = config__resolve_api_key(c, origin, err, errlen);
    }
    return rc;
}

int config_load_profile(config *c, const char *path, char *err, size_t errlen)
{
    int set_key_env;
    err[0] = '\0';
    int rc = config__load_profile_file(c, path, &set_key_env, err, errlen);
    if (rc == 0 && set_key_env) {
        char origin[300];
        snprintf(origin, sizeof origin, "profile %.200s: key \"api-key-env\"", path);
        rc = config__resolve_api_key(c, origin, err, errlen);
    }
    return rc;
}
