/*
 * config_env.c - the LLMLOAD_* environment layer of `llmload run` (config, first box of the data
 * flow). Every row of the option table (config_opts.c) has a variable named from it, so the two
 * cannot drift: --max-seconds is LLMLOAD_MAX_SECONDS. A pod is configured by a ConfigMap and a
 * Secret through these. Layers: default < profile < variable < flag (config_cli.c applies them).
 * Invariant: a variable's value goes through the same setter as the flag's, so both are checked
 * alike; an error names the variable, never the flag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <getopt.h>

#include "config_internal.h"
#include "llmload/error.h"

void config__env_name(const config__opt *o, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "LLMLOAD_");
    for (const char *p = o->name; *p && n + 1 < outlen; p++)
        out[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    if (n < outlen)
        out[n] = '\0';
}

/* On/off words for options without an argument: 1 or 0, -1 for anything else. */
static int parse_onoff(const char *v)
{
    static const char *const on[] = {"1", "true", "yes", "on"};
    static const char *const off[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, on[i]) == 0)
            return 1;
        if (strcasecmp(v, off[i]) == 0)
            return 0;
    }
    return -1;
}

/* Applies one value (one line of a repeatable option's variable). */
static int apply_one(config *c, const config__opt *o, const char *var, const char *val, char *err,
                     size_t errlen)
{
    char why[320];
    int rc;
    if (o->has_arg == no_argument) {
        int b = parse_onoff(val);
        if (b < 0) {
            snprintf(err, errlen, "%s: \"%.64s\" is not on or off (1, true, yes, on / 0, false, no, off)",
                     var, val);
            return LL_EUSAGE;
        }
        rc = o->set(c, o, b ? "1" : "0", why, sizeof why);
    } else if (o->has_arg == optional_argument && parse_onoff(val) == 1) {
        rc = o->set(c, o, NULL, why, sizeof why); /* "on": the option given without its value */
    } else {
        rc = o->set(c, o, val, why, sizeof why);
    }
    if (rc == LL_EUSAGE || rc == LL_ENOENT || rc == LL_EIO)
        snprintf(err, errlen, "%s: %s", var, why);
    return rc;
}

int config__apply_env(config *c, int *set_key_env, char *err, size_t errlen)
{
    for (size_t i = 0; i < config__n_opts; i++) {
        const config__opt *o = &config__opts[i];
        if (!o->name || !o->set) /* headings and --help */
            continue;
        char var[96];
        config__env_name(o, var, sizeof var);
        const char *v = getenv(var);
        if (!v || !*v) /* an empty variable counts as unset, as LLMLOAD_TARGET always has */
            continue;
        int rc;
        if (o->json & CONFIG__J_STRS) {
            /* Repeatable options (--header, --server-metrics): one value per line, so a
             * ConfigMap's multi-line value carries several; blank lines are skipped. */
            char *copy = strdup(v);
            if (!copy)
                return LL_ENOMEM;
            rc = 0;
            for (char *save = NULL, *line = strtok_r(copy, "\n", &save); rc == 0 && line;
                 line = strtok_r(NULL, "\n", &save)) {
                size_t n = strlen(line);
                if (n && line[n - 1] == '\r')
                    line[--n] = '\0';
                if (n)
                    rc = apply_one(c, o, var, line, err, errlen);
            }
            free(copy);
        } else {
            rc = apply_one(c, o, var, v, err, errlen);
        }
        if (rc != 0)
            return rc;
        if (strcmp(o->name, "api-key-env") == 0)
            *set_key_env = 1;
    }
    return 0;
}
