/*
 * discover.c - preflight GET /v1/models: reachability within --connect-timeout, and the default
 * model (the first listed id). Runs before the event loop, so a blocking request (target_http) is right.
 */
#include "llmload/discover.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/secret.h"
#include "llmload/target_http.h"
#include "llmload/text.h"

static char *first_model_id(const char *text)
{
    cJSON *doc = cJSON_Parse(text);
    cJSON *data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    cJSON *first = cJSON_IsArray(data) ? cJSON_GetArrayItem(data, 0) : NULL;
    cJSON *id = cJSON_GetObjectItemCaseSensitive(first, "id");
    char *out = cJSON_IsString(id) && id->valuestring[0] ? strdup(id->valuestring) : NULL;
    cJSON_Delete(doc);
    return out;
}

int discover_model(const config *cfg, char **model, char *err, size_t errlen)
{
    target_http *h = NULL;
    target_http_response b = {0};
    char shown[512]; /* the target as messages show it: credentials redacted */
    int rc = target_http_create(&h, cfg, err, errlen);
    if (rc != 0)
        return rc;
    config_redact_url(cfg->target, shown, sizeof shown);
    long connect_ms = (long)(cfg->connect_timeout_s * 1000.0);
    /* The whole preflight is the reachability check: a server that accepts the connection but
     * never answers must fail as fast as one that refuses it. */
    if ((rc = target_http_request(h, "/v1/models", NULL, connect_ms, "--connect-timeout ", &b, err, errlen)) != 0)
        goto out;
    long status = b.status;
    if (status == 401 || status == 403) {
        snprintf(err, errlen, "target %s refused the request to /v1/models with HTTP %ld: check the API key (--api-key-env)",
                 shown, status);
        rc = LL_EPROTO;
        goto out;
    }
    if (cfg->model) {
        /* A server without /v1/models is fine when the model is named. */
        if (!(*model = strdup(cfg->model)))
            rc = LL_ENOMEM;
        goto out;
    }
    /* Only a server that answered 404 (no /v1/models at all) or listed nothing usable is helped
     * by naming the model; a 5xx or another status is the server's problem, not the model's. */
    if (status == 404) {
        snprintf(err, errlen, "target %s: GET /v1/models answered HTTP 404: check the target's path, or name the "
                 "model with --model if the server has no /v1/models", shown);
        rc = LL_EPROTO;
        goto out;
    }
    if (status != 200) {
        char text[200] = "";
        if (b.body)
            text_sanitize(text, sizeof text, b.body, b.len); /* the server's body on one clean line */
        snprintf(err, errlen, "target %s: GET /v1/models answered HTTP %ld%s%s", shown, status, text[0] ? ": " : "",
                 text);
        /* A server may quote the request's headers back: never print the key. */
        secret_set *secrets = NULL;
        if (secret_set_create(&secrets, cfg) != 0) {
            snprintf(err, errlen, "target %s: GET /v1/models answered HTTP %ld", shown, status);
        } else {
            secret_redact(secrets, err, errlen);
            secret_set_destroy(secrets);
        }
        rc = LL_EPROTO;
        goto out;
    }
    if (!b.body) {
        snprintf(err, errlen, "target %s: GET /v1/models answered an empty body; name the model with --model", shown);
        rc = LL_EPROTO;
        goto out;
    }
    if (!(*model = first_model_id(b.body))) {
        snprintf(err, errlen, "target %s: /v1/models lists no model id; name the model with --model", shown);
        rc = LL_EPROTO;
    } else if (!text_is_clean(*model, strlen(*model))) {
        /* The name goes into every request and every report: a server's escape sequences or
         * invalid UTF-8 must reach neither, and a cleaned-up name would ask for another model. */
        char name[120];
        text_sanitize(name, sizeof name, *model, strlen(*model));
        snprintf(err, errlen,
                 "target %s: /v1/models lists a model id with control characters or invalid UTF-8 (\"%s\"); "
                 "name the model with --model", shown, name);
        free(*model);
        *model = NULL;
        rc = LL_EPROTO;
    }
out:
    target_http_response_free(&b);
    target_http_destroy(h);
    return rc;
}
