/*
 * target_http.c - blocking requests to the target for the preflight and the calibration (see
 * target_http.h). The easy handle is configured once (headers, key, TLS, connect timeout) and
 * reused, so the calibration's few dozen requests share one connection.
 */
#include "llmload/target_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

struct target_http {
    const config *cfg;
    CURL *h;
    struct curl_slist *hdrs;
    char curl_err[CURL_ERROR_SIZE];
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    target_http_response *b = ud;
    size_t n = size * nmemb;
    if (b->len + n + 1 > TARGET_HTTP_MAX_BODY) {
        b->overflow = 1;
        return 0;
    }
    char *d = realloc(b->body, b->len + n + 1);
    if (!d)
        return 0;
    b->body = d;
    memcpy(b->body + b->len, p, n);
    b->len += n;
    b->body[b->len] = '\0';
    return n;
}

static int append_header(struct curl_slist **list, const char *h)
{
    struct curl_slist *t = curl_slist_append(*list, h);
    if (!t)
        return LL_ENOMEM;
    *list = t;
    return 0;
}

int target_http_create(target_http **out, const config *cfg, char *err, size_t errlen)
{
    *out = NULL;
    target_http *t = calloc(1, sizeof *t);
    if (!t || !(t->h = curl_easy_init())) {
        free(t);
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    t->cfg = cfg;
    int rc = append_header(&t->hdrs, "Content-Type: application/json");
    if (rc == 0 && cfg->api_key && cfg->api_key[0]) {
        size_t n = strlen(cfg->api_key) + 32;
        char *auth = malloc(n);
        if (!auth) {
            rc = LL_ENOMEM;
        } else {
            snprintf(auth, n, "Authorization: Bearer %s", cfg->api_key);
            rc = append_header(&t->hdrs, auth);
            /* curl copied it: the key does not linger in freed memory. */
            memset(auth, 0, n);
            free(auth);
        }
    }
    for (size_t i = 0; rc == 0 && i < cfg->n_headers; i++)
        rc = append_header(&t->hdrs, cfg->headers[i]);
    if (rc != 0) {
        target_http_destroy(t);
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    long connect_ms = (long)(cfg->connect_timeout_s * 1000.0);
    if (connect_ms < 1)
        connect_ms = 1;
    if (curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, t->hdrs) != CURLE_OK ||
        curl_easy_setopt(t->h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
        curl_easy_setopt(t->h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        /* A connection per request: a few dozen requests do not need reuse, and libcurl 7.88
         * never resets its resend count on a reused handle, so a server that closes after each
         * response (llama-server) failed calibration with "tried 5 times" (docs/http-client.md). */
        curl_easy_setopt(t->h, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK ||
        curl_easy_setopt(t->h, CURLOPT_ERRORBUFFER, t->curl_err) != CURLE_OK ||
        curl_easy_setopt(t->h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK ||
        curl_easy_setopt(t->h, CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L) != CURLE_OK ||
        curl_easy_setopt(t->h, CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L) != CURLE_OK ||
        (cfg->ca_cert && curl_easy_setopt(t->h, CURLOPT_CAINFO, cfg->ca_cert) != CURLE_OK)) {
        target_http_destroy(t);
        snprintf(err, errlen, "curl: cannot configure a request to the target");
        return LL_ELIB;
    }
    *out = t;
    return 0;
}

void target_http_destroy(target_http *t)
{
    if (!t)
        return;
    if (t->h)
        curl_easy_cleanup(t->h);
    curl_slist_free_all(t->hdrs);
    free(t);
}

void target_http_response_free(target_http_response *res)
{
    free(res->body);
    memset(res, 0, sizeof *res);
}

int target_http_request(target_http *t, const char *path, const char *json_body, long timeout_ms,
                        const char *timeout_name, target_http_response *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    const config *cfg = t->cfg;
    size_t ulen = strlen(cfg->target) + strlen(path) + 2;
    char *url = malloc(ulen);
    if (!url) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    config_target_url(cfg->target, path, url, ulen);
    t->curl_err[0] = '\0';
    if (curl_easy_setopt(t->h, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(t->h, CURLOPT_WRITEDATA, res) != CURLE_OK ||
        curl_easy_setopt(t->h, CURLOPT_TIMEOUT_MS, timeout_ms < 1 ? 1L : timeout_ms) != CURLE_OK ||
        (json_body ? curl_easy_setopt(t->h, CURLOPT_POSTFIELDS, json_body) != CURLE_OK
                   : curl_easy_setopt(t->h, CURLOPT_HTTPGET, 1L) != CURLE_OK)) {
        free(url);
        snprintf(err, errlen, "curl: cannot configure a request to the target");
        return LL_ELIB;
    }
    free(url);
    CURLcode rc = curl_easy_perform(t->h);
    curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &res->status);
    if (rc != CURLE_OK && !(res->overflow && res->status)) {
        const char *why = t->curl_err[0] ? t->curl_err : curl_easy_strerror(rc);
        char shown[512];
        config_redact_url(cfg->target, shown, sizeof shown);
        if (rc == CURLE_OPERATION_TIMEDOUT)
            snprintf(err, errlen, "cannot reach target %s: no answer to %s %s within %s%gs", shown,
                     json_body ? "POST" : "GET", path, timeout_name, (double)timeout_ms / 1000.0);
        else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
            snprintf(err, errlen, "cannot reach target %s: TLS certificate check failed (%s): trust its CA with --ca-cert FILE, or skip the check with --insecure",
                     shown, why);
        else
            snprintf(err, errlen, "cannot reach target %s: %s", shown, why);
        target_http_response_free(res);
        return LL_ECONNECT;
    }
    return 0;
}
