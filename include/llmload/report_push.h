/*
 * report_push.h - `--pushgateway URL --job NAME`: PUT the finished report's Prometheus exposition
 * (exactly metrics.prom, rendered by report_write_prometheus) to a Prometheus Pushgateway, the last
 * step of the report stage, after the files are on disk.
 *
 * The group is {job="NAME"} and nothing else: PUT replaces it, so each run of a job supersedes the
 * previous one instead of leaving stale groups behind (docs/prometheus.md says why there is no
 * instance label). Blocking (one curl easy transfer); called once, after the load has stopped.
 */
#ifndef LLMLOAD_REPORT_PUSH_H
#define LLMLOAD_REPORT_PUSH_H

#include <stddef.h>

#include "llmload/config.h"

struct cJSON;

/* The group's URL: base + "/metrics/job/NAME", or "/metrics/job@base64/..." (RFC 4648 URL-safe
 * alphabet) when NAME has a character other than [A-Za-z0-9_.-] (a '/' could not be sent plainly).
 * base is used as given (no trailing '/'). *out: caller frees with free(). 0, LL_EINVAL (empty
 * job: the Pushgateway refuses it) or LL_ENOMEM. */
int report_push_url(const char *base, const char *job, char **out);

/* PUTs doc's exposition to cfg->pushgateway for cfg->job, honouring --connect-timeout (plus 30 s for
 * the whole transfer), --insecure and --ca-cert. Only the Pushgateway URL's own credentials are
 * sent (never the target's API key or --header values). Returns 0 on a 2xx answer; otherwise
 * LL_ECONNECT (unreachable, timeout, TLS), LL_EPROTO (non-2xx: the Pushgateway's first line of
 * explanation is quoted), LL_ENOMEM or LL_ELIB, with one line in err (credentials redacted). */
int report_push(const config *cfg, const struct cJSON *doc, char *err, size_t errlen);

#endif
