/*
 * config_mix.c - the run options of the workload mixes (config, first box of config -> source ->
 * scheduler): --model as one name or a weighted/equal mix of several, --model-order, and how they
 * appear in report.json's config. The option rows live in config_opts.c's one table; their
 * setters are here. Invariant (config_opts.c's): a setter stores a checked value or leaves the
 * config as it was.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "llmload/error.h"
#include "llmload/model_mix.h"

int config__set_model(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    char **names;
    double *w;
    size_t n;
    int weighted;
    (void)o;
    if (!*val) {
        snprintf(why, whylen, "empty value");
        return LL_EUSAGE;
    }
    if (strlen(val) >= CONFIG__MAX_STRING) {
        snprintf(why, whylen, "value longer than %d bytes", CONFIG__MAX_STRING);
        return LL_EUSAGE;
    }
    int rc = model_mix_parse(val, &names, &w, &n, &weighted, why, whylen);
    if (rc)
        return rc;
    char *first = strdup(names[0]);
    if (!first) {
        model_mix_names_free(names, n);
        free(w);
        return LL_ENOMEM;
    }
    free(c->model);
    c->model = first;
    model_mix_names_free(c->models, c->n_models);
    free(c->model_weights);
    c->models = names;
    c->model_weights = w;
    c->n_models = n;
    c->model_weighted = weighted;
    return 0;
}

int config__set_model_order(config *c, const config__opt *o, const char *val, char *why, size_t whylen)
{
    (void)o;
    if (strcmp(val, "weighted") == 0)
        c->model_order = MODEL_MIX_WEIGHTED;
    else if (strcmp(val, "round-robin") == 0)
        c->model_order = MODEL_MIX_ROUND_ROBIN;
    else {
        snprintf(why, whylen, "\"%.64s\" is not a model order (weighted, round-robin)", val);
        return LL_EUSAGE;
    }
    return 0;
}

int config__mix_json(cJSON *o, const config *c)
{
    if (c->cancel_rate > 0 && (!cJSON_AddNumberToObject(o, "cancel_rate", c->cancel_rate) ||
                               !cJSON_AddNumberToObject(o, "cancel_after_ms", c->cancel_after_s * 1000.0)))
        return LL_ENOMEM;
    /* "models": [{"name": .., "weight": ..}] for a mix; a single model is "model" alone, as before. */
    if (c->n_models < 2)
        return 0;
    cJSON *a = cJSON_AddArrayToObject(o, "models");
    if (!a || !cJSON_AddStringToObject(o, "model_order", c->model_order == MODEL_MIX_ROUND_ROBIN ? "round-robin"
                                                                                                 : "weighted"))
        return LL_ENOMEM;
    for (size_t i = 0; i < c->n_models; i++) {
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddItemToArray(a, m)) {
            cJSON_Delete(m);
            return LL_ENOMEM;
        }
        if (!cJSON_AddStringToObject(m, "name", c->models[i]) ||
            !cJSON_AddNumberToObject(m, "weight", c->model_weights[i]))
            return LL_ENOMEM;
    }
    return 0;
}

int config__validate_mix(const config *c, char *err, size_t errlen)
{
    if (c->model_order == MODEL_MIX_ROUND_ROBIN && c->model_weighted) {
        snprintf(err, errlen, "--model-order round-robin takes models without weights (--model a,b), not \"%s=...\"",
                 c->models[0]);
        return LL_EUSAGE;
    }
    if (c->cancel_rate > 0 && !(c->cancel_after_s > 0)) {
        snprintf(err, errlen, "--cancel-rate %g needs --cancel-after-ms D (how long after its send a stream is abandoned)",
                 c->cancel_rate);
        return LL_EUSAGE;
    }
    return 0;
}
