/*
 * config_cli.c - `llmload run` arguments: getopt_long over the option table (config_opts.c), the
 * positional PROFILE.json, and the generated --help (config, first box of the data flow).
 * Layers apply in a fixed order whatever the order on the command line: defaults (config_init),
 * then the profile, then the LLMLOAD_* variables (config_env.c), then the flags, then the api key
 * is read, then config_validate. Errors are one line naming the flag (or file and key) and the value.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "llmload/error.h"

/* getopt_long's `val` for table row i; above any short option character. */
#define OPT_VAL_BASE 256

typedef struct pending {
    const config__opt *opt;
    const char *val; /* borrowed from argv */
} pending;

#define HELP_INDENT 31
#define HELP_WIDTH 100

/* Prints text from column HELP_INDENT, wrapped at spaces to HELP_WIDTH columns. */
static void print_wrapped(FILE *f, const char *text)
{
    size_t col = HELP_INDENT;
    const char *p = text;
    while (*p) {
        size_t w = strcspn(p, " ");
        if (col > HELP_INDENT && col + 1 + w > HELP_WIDTH) {
            fprintf(f, "\n%*s", HELP_INDENT, "");
            col = HELP_INDENT;
        } else if (col > HELP_INDENT) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", (int)w, p);
        col += w;
        p += w;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

void config_print_run_help(FILE *f)
{
    fprintf(f, "usage: llmload run [PROFILE.json] [options]\n\n"
               "Runs one benchmark, one per --rate value, a sweep, or an SLO search (the highest\n"
               "rate meeting --slo) against an OpenAI-compatible server. PROFILE.json sets the\n"
               "same keys as the long options (\"max-seconds\" or \"max_seconds\"); options\n"
               "override it whatever their order. Durations take plain\n"
               "seconds or a suffix: 250ms, 30s, 5m, 1h.\n"
               "Every option can also come from an LLMLOAD_* environment variable named after it\n"
               "(--max-seconds: LLMLOAD_MAX_SECONDS; on/off options take 1/0); a flag beats the\n"
               "variable, the variable beats the profile. The api key still comes only from the\n"
               "variable --api-key-env names.\n");
    for (size_t i = 0; i < config__n_opts; i++) {
        const config__opt *o = &config__opts[i];
        if (!o->name) {
            fprintf(f, "\n%s:\n", o->help);
            continue;
        }
        char left[64];
        if (o->has_arg == no_argument)
            snprintf(left, sizeof left, "--%s", o->name);
        else
            snprintf(left, sizeof left, "--%s %s", o->name, o->metavar);
        if (strlen(left) > 28)
            fprintf(f, "  %s\n  %-28s ", left, "");
        else
            fprintf(f, "  %-28s ", left);
        char text[512];
        if (o->dflt)
            snprintf(text, sizeof text, "%s [default: %s]", o->help, o->dflt);
        else
            snprintf(text, sizeof text, "%s", o->help);
        print_wrapped(f, text);
    }
    fprintf(f, "\nExit codes: 0 success, 1 runtime failure, 2 usage error, 3 a gate (--slo) failed.\n");
}

/* Names the offending argument without its "=value" part. */
static void bad_option(const char *arg, const char *what, char *err, size_t errlen)
{
    size_t n = strcspn(arg, "=");
    snprintf(err, errlen, "%s option \"%.*s\" (see llmload run --help)", what, (int)(n < 80 ? n : 80),
             arg);
}

/* Walks argv once, collecting flags (not applied yet: the profile comes first) and positionals. */
static int scan(int argc, char **argv, struct option *longopts, pending *flags, size_t *n_flags,
                const char **profile, int *help, char *err, size_t errlen)
{
    int rc = 0;
    optind = 0; /* GNU: reinitialise, so config_parse_run can be called more than once */
    opterr = 0;
    /* '+': stop at each non-option instead of permuting argv, so positionals are seen in place
     * and "--server-metrics URL" can take the next word; ':' reports a missing value apart. */
    while (optind < argc || optind == 0) {
        int before = optind ? optind : 1;
        int ch = getopt_long(argc, argv, "+:h", longopts, NULL);
        if (ch == -1) {
            if (optind >= argc)
                break;
            int rest_all = optind == before + 1 && strcmp(argv[before], "--") == 0;
            do {
                if (*profile) {
                    if (rc == 0)
                        snprintf(err, errlen, "unexpected argument \"%.80s\" (only one PROFILE.json)",
                                 argv[optind]);
                    rc = LL_EUSAGE;
                } else {
                    *profile = argv[optind];
                }
                optind++;
            } while (rest_all && optind < argc);
            continue;
        }
        if (ch == 'h') {
            *help = 1;
            continue;
        }
        if (ch == '?' || ch == ':') {
            if (rc == 0) {
                const char *arg = argv[optind - 1];
                if (ch == ':' && optopt >= OPT_VAL_BASE)
                    snprintf(err, errlen, "--%s needs a value", config__opts[optopt - OPT_VAL_BASE].name);
                else if (ch == '?' && optopt >= OPT_VAL_BASE)
                    snprintf(err, errlen, "--%s takes no value", config__opts[optopt - OPT_VAL_BASE].name);
                else if (optopt > 0 && optopt < OPT_VAL_BASE)
                    snprintf(err, errlen, "unknown option \"-%c\" (see llmload run --help)", optopt);
                else
                    bad_option(arg, "unknown or ambiguous", err, errlen);
            }
            rc = LL_EUSAGE;
            continue;
        }
        const config__opt *o = &config__opts[ch - OPT_VAL_BASE];
        if (strcmp(o->name, "help") == 0) {
            *help = 1;
            continue;
        }
        const char *val = optarg;
        if (o->has_arg == no_argument)
            val = "1";
        else if (o->has_arg == optional_argument && !val && optind < argc &&
                 (strncmp(argv[optind], "http://", 7) == 0 || strncmp(argv[optind], "https://", 8) == 0))
            val = argv[optind++];
        flags[*n_flags].opt = o;
        flags[*n_flags].val = val;
        (*n_flags)++;
    }
    return rc;
}

int config_parse_run(config *c, int argc, char **argv, char *err, size_t errlen)
{
    err[0] = '\0';
    struct option *longopts = calloc(config__n_opts + 1, sizeof *longopts);
    pending *flags = calloc((size_t)(argc > 0 ? argc : 1), sizeof *flags);
    int rc = LL_ENOMEM;
    if (!longopts || !flags)
        goto out;
    size_t n_long = 0;
    for (size_t i = 0; i < config__n_opts; i++) {
        if (!config__opts[i].name)
            continue;
        longopts[n_long].name = config__opts[i].name;
        longopts[n_long].has_arg = config__opts[i].has_arg;
        longopts[n_long].val = OPT_VAL_BASE + (int)i;
        n_long++;
    }

    const char *profile = NULL;
    size_t n_flags = 0;
    int help = 0;
    rc = scan(argc, argv, longopts, flags, &n_flags, &profile, &help, err, errlen);
    if (help) {
        config_print_run_help(stdout);
        err[0] = '\0';
        rc = 1;
        goto out;
    }
    if (rc != 0)
        goto out;

    int key_from_profile = 0, key_from_flag = 0, key_from_env = 0;
    if (profile) {
        rc = config__load_profile_file(c, profile, &key_from_profile, err, errlen);
        if (rc != 0)
            goto out;
    }
    /* Variables beat the profile (a pod refines the shared profile of its ConfigMap) and lose to
     * flags (what a person types last wins). */
    rc = config__apply_env(c, &key_from_env, err, errlen);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < n_flags; i++) {
        const config__opt *o = flags[i].opt;
        char why[320];
        rc = o->set(c, o, flags[i].val, why, sizeof why);
        if (rc == LL_EUSAGE || rc == LL_ENOENT || rc == LL_EIO)
            snprintf(err, errlen, "--%s: %s", o->name, why);
        if (rc != 0)
            goto out;
        if (strcmp(o->name, "api-key-env") == 0)
            key_from_flag = 1;
    }

    char origin[300];
    if (key_from_flag)
        snprintf(origin, sizeof origin, "--api-key-env");
    else if (key_from_env)
        snprintf(origin, sizeof origin, "LLMLOAD_API_KEY_ENV");
    else if (key_from_profile)
        snprintf(origin, sizeof origin, "profile %.200s: key \"api-key-env\"", profile);
    else
        snprintf(origin, sizeof origin, "api key");
    rc = config__resolve_api_key(c, origin, err, errlen);
    if (rc != 0)
        goto out;

    if ((rc = config__apply_users(c, err, errlen)) != 0)
        goto out;
    rc = config_validate(c, err, errlen);
out:
    if (rc == LL_ENOMEM && err[0] == '\0')
        snprintf(err, errlen, "out of memory");
    free(longopts);
    free(flags);
    return rc;
}
