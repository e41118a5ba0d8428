/*
 * discover.c - preflight GET /v1/models: reachability within --connect-timeout, and the default
 * model (the first listed id). Runs before the event loop, so a blocking curl easy call is right.
 */
#include "llmload/discover.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"
#include "llmload/secret.h"

#define DISCOVER_MAX_BODY (4u << 20)

typedef struct body {
    char *data;
    size_t len, cap;
    int overflow;
} body;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    body *b = ud;
    size_t n = size * nmemb;
    if (b->len + n + 1 > DISCOVER_MAX_BODY) {
        b->overflow = 1;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

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
    int rc = 0;
    body b = {0};
    struct curl_slist *hdrs = NULL, *t;
    char *auth = NULL;
    size_t ulen = strlen(cfg->target) + sizeof "/v1/models" + 1;
    char *url = malloc(ulen);
    char shown[512]; /* the target as messages show it: credentials redacted */
    CURL *h = curl_easy_init();
    if (!url || !h) {
        snprintf(err, errlen, "out of memory");
        rc = LL_ENOMEM;
        goto out;
    }
    config_target_url(cfg->target, "/v1/models", url, ulen);
    config_redact_url(cfg->target, shown, sizeof shown);
    if (cfg->api_key && cfg->api_key[0]) {
        size_t n = strlen(cfg->api_key) + 32;
        if (!(auth = malloc(n))) {
            rc = LL_ENOMEM;
            goto out;
        }
        snprintf(auth, n, "Authorization: Bearer %s", cfg->api_key);
        if (!(t = curl_slist_append(hdrs, auth))) {
            rc = LL_ENOMEM;
            goto out;
        }
        hdrs = t;
    }
    for (size_t i = 0; i < cfg->n_headers; i++) {
        if (!(t = curl_slist_append(hdrs, cfg->headers[i]))) {
            rc = LL_ENOMEM;
            goto out;
        }
        hdrs = t;
    }
    long connect_ms = (long)(cfg->connect_timeout_s * 1000.0);
    if (connect_ms < 1)
        connect_ms = 1;
    /* The whole preflight is the reachability check: a server that accepts the connection but
     * never answers must fail as fast as one that refuses it. */
    long total_ms = connect_ms;
    char curl_err[CURL_ERROR_SIZE] = "";
    if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L) != CURLE_OK ||
        (cfg->ca_cert && curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_cert) != CURLE_OK)) {
        snprintf(err, errlen, "curl: cannot configure the preflight request");
        rc = LL_ELIB;
        goto out;
    }
    CURLcode res = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (res != CURLE_OK && !(b.overflow && status)) {
        const char *why = curl_err[0] ? curl_err : curl_easy_strerror(res);
        if (res == CURLE_OPERATION_TIMEDOUT)
            snprintf(err, errlen, "cannot reach target %s: no answer to GET /v1/models within --connect-timeout %gs",
                     shown, cfg->connect_timeout_s);
        else if (res == CURLE_PEER_FAILED_VERIFICATION || res == CURLE_SSL_CACERT_BADFILE)
            snprintf(err, errlen, "cannot reach target %s: TLS certificate check failed (%s): trust its CA with --ca-cert FILE, or skip the check with --insecure",
                     shown, why);
        else
            snprintf(err, errlen, "cannot reach target %s: %s", shown, why);
        rc = LL_ECONNECT;
        goto out;
    }
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
        config_redact_url(url, shown, sizeof shown);
        snprintf(err, errlen, "target: GET %s answered HTTP 404: check the target's path, or name the model with --model if the server has no /v1/models",
                 shown);
        rc = LL_EPROTO;
        goto out;
    }
    if (status != 200) {
        config_redact_url(url, shown, sizeof shown);
        snprintf(err, errlen, "target: GET %s answered HTTP %ld%s%.160s", shown, status, b.data ? ": " : "",
                 b.data ? b.data : "");
        for (char *p = err; *p; p++) /* the server's body on one line */
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        /* A server may quote the request's headers back: never print the key. */
        secret_set *secrets = NULL;
        if (secret_set_create(&secrets, cfg) != 0) {
            snprintf(err, errlen, "target: GET %s answered HTTP %ld", shown, status);
        } else {
            secret_redact(secrets, err, errlen);
            secret_set_destroy(secrets);
        }
        rc = LL_EPROTO;
        goto out;
    }
    if (!b.data) {
        snprintf(err, errlen, "target %s: GET /v1/models answered an empty body; name the model with --model", shown);
        rc = LL_EPROTO;
        goto out;
    }
    if (!(*model = first_model_id(b.data))) {
        snprintf(err, errlen, "target %s: /v1/models lists no model id; name the model with --model", shown);
        rc = LL_EPROTO;
    }
out:
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    curl_slist_free_all(hdrs);
    if (h)
        curl_easy_cleanup(h);
    free(url);
    free(b.data);
    return rc;
}
