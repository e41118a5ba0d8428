/*
 * report_push.c - the Pushgateway push (report stage, after the files): metrics.prom's exact text,
 * rendered into memory by report_write_prometheus, sent with one blocking curl PUT to
 * <base>/metrics/job/<job>. What we send is what the Pushgateway accepts: no job/instance label in
 * the payload, no timestamps, one TYPE per family (report_prom.c guarantees those).
 * Invariant: no error line carries the URL's user:password (it may hold the gateway's credentials).
 */
#include "llmload/report_push.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/config.h"
#include "llmload/error.h"
#include "llmload/report.h"
#include "llmload/text.h"

/* The whole transfer after connecting: a push is a few KiB, so this only bounds a gateway that
 * accepts the connection and then hangs. */
#define PUSH_TRANSFER_MS 30000L
/* What is kept of the gateway's answer: its explanation of a 400 fits in one line. */
#define PUSH_REPLY_MAX 512

static int plain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

int report_push_url(const char *base, const char *job, char **out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    *out = NULL;
    if (!job || !*job)
        return LL_EINVAL;
    size_t n = strlen(job), blen = strlen(base);
    int plain = 1;
    for (size_t i = 0; i < n; i++)
        plain &= plain_char((unsigned char)job[i]);
    /* base + "/metrics/job@base64/" + 4/3 of the job, padded, + NUL */
    size_t cap = blen + 32 + (n + 2) / 3 * 4;
    char *url = malloc(cap);
    if (!url)
        return LL_ENOMEM;
    int k = snprintf(url, cap, "%s/metrics/job%s/", base, plain ? "" : "@base64");
    char *o = url + k;
    if (plain) {
        memcpy(o, job, n + 1);
    } else {
        const unsigned char *s = (const unsigned char *)job;
        size_t i = 0;
        for (; i + 2 < n; i += 3) {
            *o++ = b64[s[i] >> 2];
            *o++ = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
            *o++ = b64[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
            *o++ = b64[s[i + 2] & 63];
        }
        if (n - i == 1) {
            *o++ = b64[s[i] >> 2];
            *o++ = b64[(s[i] & 3) << 4];
            *o++ = '=';
            *o++ = '=';
        } else if (n - i == 2) {
            *o++ = b64[s[i] >> 2];
            *o++ = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
            *o++ = b64[(s[i + 1] & 15) << 2];
            *o++ = '=';
        }
        *o = '\0';
    }
    *out = url;
    return 0;
}

typedef struct reply {
    char text[PUSH_REPLY_MAX];
    size_t len;
} reply;

static size_t on_reply(char *data, size_t size, size_t nmemb, void *ud)
{
    reply *r = ud;
    size_t n = size * nmemb, room = sizeof r->text - 1 - r->len;
    memcpy(r->text + r->len, data, n < room ? n : room);
    r->len += n < room ? n : room;
    r->text[r->len] = '\0';
    return n; /* the rest is dropped, not an error */
}

/* The first line of the gateway's answer, control characters made spaces. */
/* The reply's first line, as clean text (the gateway's bytes reach the user's terminal). */
static void first_line(reply *r, char *out, size_t cap)
{
    text_sanitize(out, cap, r->text, strcspn(r->text, "\r\n"));
}

int report_push(const config *cfg, const struct cJSON *doc, char *err, size_t errlen)
{
    char shown[600];
    char *body = NULL, *url = NULL;
    size_t body_len = 0;
    CURL *h = NULL;
    struct curl_slist *hdrs = NULL;
    reply rep = {.len = 0};
    char curl_err[CURL_ERROR_SIZE] = "";
    int rc = report_push_url(cfg->pushgateway, cfg->job, &url);
    if (rc != 0) {
        snprintf(err, errlen, rc == LL_EINVAL ? "--job: the Pushgateway needs a non-empty job name" : "out of memory");
        return rc;
    }
    config_redact_url(url, shown, sizeof shown);
    FILE *mem = open_memstream(&body, &body_len);
    if (!mem) {
        snprintf(err, errlen, "out of memory rendering the push");
        rc = LL_ENOMEM;
        goto out;
    }
    rc = report_write_prometheus(doc, mem);
    if (fclose(mem) != 0 && rc == 0)
        rc = LL_ENOMEM;
    if (rc != 0) {
        snprintf(err, errlen, "cannot render the Prometheus text to push: %s", ll_strerror(rc));
        goto out;
    }
    long connect_ms = (long)(cfg->connect_timeout_s * 1000.0);
    if (connect_ms < 1)
        connect_ms = 1;
    if (!(h = curl_easy_init()) ||
        !(hdrs = curl_slist_append(NULL, "Content-Type: text/plain; version=0.0.4; charset=utf-8"))) {
        snprintf(err, errlen, "curl: cannot set up the push");
        rc = LL_ELIB;
        goto out;
    }
    /* PUT replaces the whole group (POST would keep families this run no longer has). The body is
     * sent with POSTFIELDS under a custom method, so curl sends Content-Length, not chunks. */
    if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT") != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_reply) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &rep) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, connect_ms + PUSH_TRANSFER_MS) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L) != CURLE_OK ||
        (cfg->ca_cert && curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_cert) != CURLE_OK)) {
        snprintf(err, errlen, "curl: cannot configure the push");
        rc = LL_ELIB;
        goto out;
    }
    CURLcode res = curl_easy_perform(h);
    if (res != CURLE_OK) {
        if (res == CURLE_OPERATION_TIMEDOUT)
            snprintf(err, errlen, "--pushgateway: push to %s timed out (--connect-timeout %gs)", shown,
                     cfg->connect_timeout_s);
        else if (res == CURLE_PEER_FAILED_VERIFICATION || res == CURLE_SSL_CACERT_BADFILE)
            snprintf(err, errlen, "--pushgateway: push to %s: TLS certificate check failed (%s): trust its CA with --ca-cert FILE, or skip the check with --insecure",
                     shown, curl_err[0] ? curl_err : curl_easy_strerror(res));
        else
            snprintf(err, errlen, "--pushgateway: cannot push to %s: %s", shown,
                     curl_err[0] ? curl_err : curl_easy_strerror(res));
        rc = LL_ECONNECT;
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        char said[301];
        first_line(&rep, said, sizeof said);
        snprintf(err, errlen, "--pushgateway: %s answered HTTP %ld%s%s", shown, status, said[0] ? ": " : "", said);
        rc = LL_EPROTO;
    }
out:
    curl_slist_free_all(hdrs);
    if (h)
        curl_easy_cleanup(h);
    free(body);
    free(url);
    return rc;
}
