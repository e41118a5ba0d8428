/*
 * config_internal.h - what the config_*.c files share and nobody else may use (the `config__`
 * prefix marks it internal, as libuv's `uv__`). The public face is include/llmload/config.h.
 *
 * The option table is the single description of every `run` setting: getopt_long's long options,
 * the profile keys, the value checks and `llmload run --help` are all generated from it. Setters
 * take text (a flag's argument, or a profile value turned into text) so a flag and a profile key
 * can never be checked differently.
 */
#ifndef LLMLOAD_CONFIG_INTERNAL_H
#define LLMLOAD_CONFIG_INTERNAL_H

#include <stddef.h>

#include "llmload/config.h"

struct cJSON;

/* Every limit of the config layer, in one place (style.md item 8). */
#define CONFIG__MAX_PROFILE_BYTES (1024 * 1024) /* a profile file larger than this is refused */
#define CONFIG__MAX_STRING 4096                 /* any single string value (URL, path, header) */
#define CONFIG__MAX_RATES 1000                  /* items in --rate */
#define CONFIG__MAX_HEADERS 64                  /* --header occurrences */
#define CONFIG__MAX_SWEEP_POINTS 1000
#define CONFIG__MAX_RATE 1e6                    /* req/s or streams: past what one client sends */
#define CONFIG__MAX_DURATION_S 1e7              /* about 115 days */
#define CONFIG__MAX_TOKENS 10000000L            /* any token count in a data spec */
#define CONFIG__MAX_SERVER_METRICS 16           /* --server-metrics URLs */

/* What a profile value may be (bit mask). */
enum {
    CONFIG__J_STR = 1,   /* string: passed to the setter as is */
    CONFIG__J_NUM = 2,   /* number: formatted as the shortest exact decimal */
    CONFIG__J_BOOL = 4,  /* only for options without an argument */
    CONFIG__J_NUMS = 8,  /* array of numbers: joined with ',' */
    CONFIG__J_STRS = 16, /* array of strings: the setter runs once per item */
    CONFIG__J_OBJ = 32   /* object: only "data" (handled by config_profile.c) */
};

typedef struct config__opt config__opt;

/* Applies one value. val is the flag's argument, or "1"/"0" for an option without one (on/off),
 * or NULL for an optional argument left out. On a bad value writes the reason, without the
 * option's name, to why (e.g. `"abc" is not a positive number`) and returns LL_EUSAGE. */
typedef int (*config__set_fn)(config *c, const config__opt *o, const char *val, char *why,
                              size_t whylen);

struct config__opt {
    const char *name;    /* long flag without "--"; also the profile key. NULL: a --help heading */
    const char *alias;   /* another profile key ("headers" for "header"), or NULL */
    int has_arg;         /* getopt_long's no_argument / required_argument / optional_argument */
    const char *metavar; /* shown in --help */
    config__set_fn set;
    size_t off;          /* offsetof(config, field) the setter writes */
    double lo, hi;       /* inclusive bounds for numeric kinds */
    int on;              /* for no_argument options: the value written when the flag is given */
    unsigned json;       /* CONFIG__J_* accepted in a profile; 0 = command line only */
    const char *expect;  /* profile type error: `expected <expect>` */
    const char *dflt;    /* default shown in --help, or NULL */
    const char *help;
};

/* The table (config_opts.c); borrowed, static storage. */
extern const config__opt config__opts[];
extern const size_t config__n_opts;

/* The entry whose name or alias equals key, with '_' and '-' treated alike; NULL if none. */
const config__opt *config__find_opt(const char *key);

/* Profile loading without resolving the api key (config_parse_run resolves once, after flags).
 * *set_key_env is set to 1 when the profile named an api-key-env. */
int config__load_profile_text(config *c, const char *text, size_t len, const char *name,
                              int *set_key_env, char *err, size_t errlen);
int config__load_profile_file(config *c, const char *path, int *set_key_env, char *err,
                              size_t errlen);

/* Reads the key from the variable c->api_key_env names when it is not read yet. origin names
 * where the variable's name came from, for the error line. LL_EUSAGE when unset or empty. */
int config__resolve_api_key(config *c, const char *origin, char *err, size_t errlen);

/* config_mix.c: --model (a name, or a mix "a=0.7,b=0.3" / "a,b") and --model-order setters, the
 * mix's entries in report.json's config, and the mix's cross-field checks. */
int config__set_model(config *c, const config__opt *o, const char *val, char *why, size_t whylen);
int config__set_model_order(config *c, const config__opt *o, const char *val, char *why, size_t whylen);
int config__mix_json(struct cJSON *o, const config *c);
int config__validate_mix(const config *c, char *err, size_t errlen);

/* Checks an http:// or https:// URL with a host. 0, or LL_EUSAGE with the reason in why. */
int config__check_url(const char *url, char *why, size_t whylen);

/* Removes trailing '/' from a URL, never eating into "scheme://". */
void config__strip_slashes(char *url);

/* Data spec pieces (config_data.c), shared with the profile's "data" object form. */
int config__data_set(config_data *d, const char *key, const char *val, char *why, size_t whylen);
int config__data_check(const config_data *d, char *why, size_t whylen);

/* The environment layer (config_env.c). config__env_name writes the option's variable name,
 * "LLMLOAD_" + its long name upper-cased with '-' as '_', to out. config__apply_env applies every
 * LLMLOAD_* variable that is set and not empty, in table order; *set_key_env is set to 1 when
 * LLMLOAD_API_KEY_ENV was applied. Errors name the variable (LL_EUSAGE, LL_ENOENT, LL_EIO). */
void config__env_name(const config__opt *o, char *out, size_t outlen);
int config__apply_env(config *c, int *set_key_env, char *err, size_t errlen);

/* --users N: makes the run a closed loop of N users (concurrent@N), before config_validate.
 * LL_EUSAGE with err when --users meets a schedule or a --rate it cannot stand beside. */
int config__apply_users(config *c, char *err, size_t errlen);
/* Arrival shapes and early stop (config_shapes.c): the cross-field rules config_validate applies
 * (0, or LL_EUSAGE with one line in err), and their keys in the report's config (0 or LL_ENOMEM). */
int config__check_shapes(const config *c, char *err, size_t errlen);
int config__shapes_to_json(struct cJSON *o, const config *c);

#endif
