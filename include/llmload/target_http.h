/*
 * target_http.h - blocking one-off HTTP requests to the target, outside the event loop: the
 * preflight (discover.h) and the prompt calibration (calibrate.h). One curl easy handle carries
 * the run's headers, API key, TLS settings and URL rule (config_target_url: trailing /v1 dropped,
 * query string kept), and keeps its connection between requests. Never on the hot path.
 */
#ifndef LLMLOAD_TARGET_HTTP_H
#define LLMLOAD_TARGET_HTTP_H

#include <stddef.h>

#include "llmload/config.h"

typedef struct target_http target_http;

/* An answer: any HTTP status counts (the caller judges it). body is owned by the response and
 * NUL-terminated (NULL when empty); free it with target_http_response_free. */
typedef struct target_http_response {
    long status;
    char *body;
    size_t len;
    int overflow;  /* the body passed TARGET_HTTP_MAX_BODY and was cut */
} target_http_response;

#define TARGET_HTTP_MAX_BODY (4u << 20)

/* *out owned by caller (target_http_destroy); cfg is borrowed and must outlive it. 0, LL_ENOMEM,
 * or LL_ELIB, with one line in err. */
int target_http_create(target_http **out, const config *cfg, char *err, size_t errlen);
void target_http_destroy(target_http *h);

/* GET path (json_body NULL) or POST json_body to path on the target, within timeout_ms in all
 * (connecting within --connect-timeout); timeout_name is the option that set timeout_ms, for the
 * error line (e.g. "--connect-timeout ", or ""). 0 when the server answered (res filled, caller frees);
 * LL_ECONNECT when it did not, with one line in err naming the target and the path. */
int target_http_request(target_http *h, const char *path, const char *json_body, long timeout_ms,
                        const char *timeout_name, target_http_response *res, char *err, size_t errlen);
void target_http_response_free(target_http_response *res);

#endif
