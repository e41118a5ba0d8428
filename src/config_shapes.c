/*
 * config_shapes.c - the cross-field rules of the arrival shapes (--burstiness, --ramp-up,
 * --stages) and the early-stop options (--max-error-rate, --stop-when-saturated), and their keys
 * in the report's config (config stage; the setters live in config_opts.c's one table).
 * Invariant: a config that passes here gives every plan an arrival spec arrival_create_spec
 * accepts, and no early-stop rule that a single loop could not judge alone.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "config_internal.h"
#include "llmload/error.h"
#include "llmload/stages.h"

static const char *const ramp_names[] = {"none", "linear", "exponential"};

static int stages_rules(const config *c, char *err, size_t errlen)
{
    char why[256];
    size_t n = 0;
    if (stages_parse(c->stages, NULL, 0, &n, why, sizeof why) != 0) {
        snprintf(err, errlen, "--stages: %s", why);
        return LL_EUSAGE;
    }
    if (c->schedule_given && c->schedule != CONFIG_SCHED_POISSON && c->schedule != CONFIG_SCHED_CONSTANT) {
        snprintf(err, errlen, "--stages runs open-loop stages: --schedule poisson (the default) or constant, not %s",
                 config_schedule_name(c->schedule));
        return LL_EUSAGE;
    }
    if (c->n_rates > 1 || (c->n_rates == 1 && c->rates[0] != 0)) {
        snprintf(err, errlen, "--stages gives each stage its rate: leave out --rate");
        return LL_EUSAGE;
    }
    stage *st = malloc(n * sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    stages_parse(c->stages, st, n, &n, why, sizeof why);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        /* The ramp leads into the first stage only, and counts as its warmup. */
        double lead = c->warmup_s + c->cooldown_s + (i == 0 && c->ramp_up != CONFIG_RAMP_NONE ? c->ramp_up_s : 0);
        if (lead >= st[i].seconds) {
            snprintf(err, errlen, "--stages: stage %zu lasts %gs, not more than its --warmup + --cooldown%s (%gs): "
                                  "nothing left to measure", i + 1, st[i].seconds,
                     i == 0 && c->ramp_up != CONFIG_RAMP_NONE ? " + --ramp-up-seconds" : "", lead);
            rc = LL_EUSAGE;
        }
    }
    free(st);
    return rc;
}

int config__check_shapes(const config *c, char *err, size_t errlen)
{
    int rc;
    if (c->stages && (rc = stages_rules(c, err, errlen)) != 0)
        return rc;
    int poisson = c->stages ? c->schedule != CONFIG_SCHED_CONSTANT
                            : c->schedule == CONFIG_SCHED_POISSON ||
                                  (c->schedule == CONFIG_SCHED_SWEEP && c->sweep_poisson);
    if (!(c->burstiness > 0) || !isfinite(c->burstiness)) {
        snprintf(err, errlen, "--burstiness: %g is not a positive number", c->burstiness);
        return LL_EUSAGE;
    }
    if (c->burstiness != 1 && !poisson) {
        snprintf(err, errlen, "--burstiness shapes Poisson arrivals: use it with --schedule poisson, --stages, or a "
                              "sweep with --sweep-arrivals poisson (not --schedule %s)",
                 config_schedule_name(c->schedule));
        return LL_EUSAGE;
    }
    if ((c->ramp_up != CONFIG_RAMP_NONE) != (c->ramp_up_s > 0)) {
        snprintf(err, errlen, c->ramp_up != CONFIG_RAMP_NONE ? "--ramp-up needs --ramp-up-seconds S (the ramp's length)"
                                                             : "--ramp-up-seconds needs --ramp-up linear|exponential");
        return LL_EUSAGE;
    }
    if (c->ramp_up != CONFIG_RAMP_NONE) {
        if (!c->stages && c->schedule != CONFIG_SCHED_CONSTANT && c->schedule != CONFIG_SCHED_POISSON &&
            c->schedule != CONFIG_SCHED_CONCURRENT) {
            snprintf(err, errlen, "--ramp-up applies to --schedule constant, poisson or concurrent, and --stages "
                                  "(not %s)", config_schedule_name(c->schedule));
            return LL_EUSAGE;
        }
        if (!c->stages && c->max_seconds > 0 && c->ramp_up_s + c->warmup_s + c->cooldown_s >= c->max_seconds) {
            snprintf(err, errlen, "--ramp-up-seconds %gs + --warmup %gs + --cooldown %gs must be less than "
                                  "--max-seconds %gs (the ramp counts as warmup: nothing left to measure)",
                     c->ramp_up_s, c->warmup_s, c->cooldown_s, c->max_seconds);
            return LL_EUSAGE;
        }
    }
    /* One loop judges its own share: it would stop alone, and the others run on. */
    if ((c->max_error_rate > 0 || c->stop_when_saturated) && c->workers > 1) {
        snprintf(err, errlen, "--max-error-rate and --stop-when-saturated are not available with --workers above 1 yet");
        return LL_EUSAGE;
    }
    return 0;
}

int config__shapes_to_json(cJSON *o, const config *c)
{
    int ok = cJSON_AddNumberToObject(o, "burstiness", c->burstiness) &&
             cJSON_AddStringToObject(o, "ramp_up", ramp_names[(unsigned)c->ramp_up < 3 ? c->ramp_up : 0]) &&
             cJSON_AddNumberToObject(o, "ramp_up_s", c->ramp_up_s) &&
             (c->stages ? cJSON_AddStringToObject(o, "stages", c->stages) != NULL
                        : cJSON_AddNullToObject(o, "stages") != NULL) &&
             cJSON_AddNumberToObject(o, "max_error_rate", c->max_error_rate) &&
             cJSON_AddNumberToObject(o, "error_window_s", c->error_window_s) &&
             cJSON_AddBoolToObject(o, "stop_when_saturated", c->stop_when_saturated != 0) &&
             cJSON_AddNumberToObject(o, "saturation_window_s", c->saturation_window_s);
    return ok ? 0 : LL_ENOMEM;
}
