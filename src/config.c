/*
 * config.c - defaults, cross-field validation and the redacted JSON view of a resolved `run`
 * config (the first box: config -> source -> scheduler ...). The option table and its setters
 * live in config_opts.c, argv and --help in config_cli.c, profile files in config_profile.c, the
 * --data spec in config_data.c.
 * Invariant: the api key and header values never leave this struct except as "<redacted>";
 * no error line or JSON written here contains them.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_internal.h"
#include "llmload/error.h"
#include "llmload/trace.h"

static const char *const api_names[] = {"chat", "completions"};
static const char *const schedule_names[] = {"synchronous", "concurrent", "throughput",
                                             "constant",    "poisson",    "sweep",
                                             "slo-search",  "trace"};

const char *config_api_name(config_api a)
{
    if ((unsigned)a < sizeof api_names / sizeof api_names[0])
        return api_names[a];
    return "unknown";
}

static const char *const http_client_names[] = {"auto", "builtin", "curl"};

const char *config_http_client_name(config_http_client h)
{
    if ((unsigned)h < sizeof http_client_names / sizeof http_client_names[0])
        return http_client_names[h];
    return "unknown";
}

config_http_client config_transport(const config *c)
{
    if (c->http_client != CONFIG_HTTP_CLIENT_AUTO)
        return c->http_client;
    /* curl for what the built-in client does not speak: TLS, and proxies from the environment. */
    if (c->proxy_env || !c->target || strncasecmp(c->target, "http://", 7) != 0)
        return CONFIG_HTTP_CLIENT_CURL;
    return CONFIG_HTTP_CLIENT_BUILTIN;
}

const char *config_schedule_name(config_schedule s)
{
    if ((unsigned)s < sizeof schedule_names / sizeof schedule_names[0])
        return schedule_names[s];
    return "unknown";
}

void config__strip_slashes(char *url)
{
    /* Never into the "scheme://" itself: "http://" stays as it is (and fails the URL check). */
    const char *sep = strstr(url, "://");
    size_t floor_len = sep ? (size_t)(sep - url) + 3 : 0;
    size_t n = strlen(url);
    while (n > floor_len && url[n - 1] == '/')
        url[--n] = '\0';
}

int config_init(config *c)
{
    memset(c, 0, sizeof *c);
    c->api = CONFIG_API_CHAT;
    c->schedule = CONFIG_SCHED_SYNCHRONOUS;
    c->max_seconds = 30;
    c->max_concurrency = 512;
    config_data_init(&c->data);
    c->seed = 42;
    c->shard_index = 0;
    c->shard_count = 1;
    c->request_timeout_s = 600;
    c->stream_timeout_s = 60;
    c->connect_timeout_s = 5;
    c->drain_s = 5;
    c->grace_s = 60;
    c->workers = 1;
    c->stream_usage = 1;
    c->ignore_eos = 1;
    c->progress = -1;
    c->calibrate = 1;
    c->server_metrics_interval_s = 1;
    c->repeat = 1;
    c->search_precision = 0.05;
    c->burstiness = 1;
    c->error_window_s = 10;
    c->saturation_window_s = 10;
    c->trace_speed = 1;

    c->rates = calloc(1, sizeof *c->rates);
    c->n_rates = 1;
    c->job = strdup("llmload");
    if (!c->rates || !c->job)
        goto nomem;
    static const char *const proxy_vars[] = {"http_proxy", "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof proxy_vars / sizeof proxy_vars[0]; i++) {
        const char *v = getenv(proxy_vars[i]);
        if (v && *v)
            c->proxy_env = 1;
    }
    const char *k = getenv("OPENAI_API_KEY");
    if (k && *k) {
        c->api_key_env = strdup("OPENAI_API_KEY");
        c->api_key = strdup(k);
        if (!c->api_key_env || !c->api_key)
            goto nomem;
    }
    return 0;
nomem:
    config_free(c);
    return LL_ENOMEM;
}

void config_free(config *c)
{
    free(c->profile_path);
    free(c->target);
    free(c->model);
    for (size_t i = 0; i < c->n_models; i++)
        free(c->models[i]);
    free(c->models);
    free(c->model_weights);
    free(c->api_key_env);
    if (c->api_key) /* do not leave the secret in freed memory */
        explicit_bzero(c->api_key, strlen(c->api_key));
    free(c->api_key);
    for (size_t i = 0; i < c->n_headers; i++)
        free(c->headers[i]);
    free(c->headers);
    free(c->rates);
    config_data_free(&c->data);
    free(c->out_dir);
    free(c->slo);
    free(c->pushgateway);
    free(c->job);
    free(c->metrics_listen);
    free(c->server_metrics);
    free(c->ca_cert);
    for (size_t i = 0; i < c->n_server_metrics_extra; i++)
        free(c->server_metrics_extra[i]);
    free(c->server_metrics_extra);
    free(c->server_metrics_keep);
    free(c->target_precision);
    free(c->stages);
    free(c->trace);
    memset(c, 0, sizeof *c);
}

int config__resolve_api_key(config *c, const char *origin, char *err, size_t errlen)
{
    if (!c->api_key_env || c->api_key)
        return 0;
    const char *v = getenv(c->api_key_env);
    if (!v || !*v) {
        snprintf(err, errlen, "%s: variable \"%.128s\" is %s", origin, c->api_key_env,
                 v ? "empty" : "not set");
        return LL_EUSAGE;
    }
    if (!(c->api_key = strdup(v)))
        return LL_ENOMEM;
    return 0;
}

int config__check_url(const char *url, char *why, size_t whylen)
{
    const char *p;
    char shown[256]; /* messages show the URL with any password redacted */
    config_redact_url(url, shown, sizeof shown);
    if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8;
    else {
        snprintf(why, whylen, "\"%.200s\" is not an http:// or https:// URL", shown);
        return LL_EUSAGE;
    }
    for (const char *q = url; *q; q++) {
        if (isspace((unsigned char)*q) || iscntrl((unsigned char)*q)) {
            snprintf(why, whylen, "URL \"%.200s\" contains a space or control character", shown);
            return LL_EUSAGE;
        }
    }
    size_t auth = strcspn(p, "/?#");
    const char *at = memchr(p, '@', auth);
    const char *host = at ? at + 1 : p;
    size_t hostlen = auth - (size_t)(host - p);
    const char *port = NULL;
    if (hostlen > 0 && host[0] == '[') {
        const char *close = memchr(host, ']', hostlen);
        if (!close || close == host + 1) {
            snprintf(why, whylen, "URL \"%.200s\" has a malformed IPv6 host", shown);
            return LL_EUSAGE;
        }
        if ((size_t)(close + 1 - host) < hostlen) {
            if (close[1] != ':') {
                snprintf(why, whylen, "URL \"%.200s\" has a malformed IPv6 host", shown);
                return LL_EUSAGE;
            }
            port = close + 2;
        }
        hostlen = (size_t)(close + 1 - host);
    } else {
        const char *colon = memchr(host, ':', hostlen);
        if (colon) {
            port = colon + 1;
            hostlen = (size_t)(colon - host);
        }
    }
    if (hostlen == 0) {
        snprintf(why, whylen, "URL \"%.200s\" has no host", shown);
        return LL_EUSAGE;
    }
    if (port) {
        size_t plen = (size_t)(p + auth - port);
        long v = 0;
        for (size_t i = 0; i < plen; i++) {
            if (!isdigit((unsigned char)port[i]) || (v = v * 10 + (port[i] - '0')) > 65535) {
                v = -1;
                break;
            }
        }
        if (plen == 0 || v < 1) {
            snprintf(why, whylen, "URL \"%.200s\" has a bad port", shown);
            return LL_EUSAGE;
        }
    }
    return 0;
}

static int rates_given(const config *c)
{
    return c->n_rates > 1 || (c->n_rates == 1 && c->rates[0] != 0);
}

static int check_rates(const config *c, char *err, size_t errlen)
{
    const char *s = config_schedule_name(c->schedule);
    switch (c->schedule) {
    case CONFIG_SCHED_SYNCHRONOUS:
    case CONFIG_SCHED_THROUGHPUT:
    case CONFIG_SCHED_SLO_SEARCH:
    case CONFIG_SCHED_TRACE:
        if (rates_given(c)) {
            snprintf(err, errlen, "--rate: schedule \"%s\" takes no rate", s);
            return LL_EUSAGE;
        }
        return 0;
    case CONFIG_SCHED_SWEEP:
        if (!rates_given(c)) {
            snprintf(err, errlen, "schedule \"sweep\" needs --rate N (the number of points, >= 2)");
            return LL_EUSAGE;
        }
        if (c->n_rates != 1 || c->rates[0] < 2 || c->rates[0] != floor(c->rates[0]) ||
            c->rates[0] > CONFIG__MAX_SWEEP_POINTS) {
            snprintf(err, errlen,
                     "--rate: schedule \"sweep\" takes one whole number of points from 2 to %d",
                     CONFIG__MAX_SWEEP_POINTS);
            return LL_EUSAGE;
        }
        return 0;
    case CONFIG_SCHED_CONCURRENT:
    case CONFIG_SCHED_CONSTANT:
    case CONFIG_SCHED_POISSON:
        if (!rates_given(c)) {
            snprintf(err, errlen, "schedule \"%s\" needs --rate (%s)", s,
                     c->schedule == CONFIG_SCHED_CONCURRENT ? "streams in flight" : "requests per second");
            return LL_EUSAGE;
        }
        for (size_t i = 0; i < c->n_rates; i++) {
            double r = c->rates[i];
            if (!(r > 0) || r > CONFIG__MAX_RATE) {
                snprintf(err, errlen, "--rate: %g is not a positive number up to %g", r, CONFIG__MAX_RATE);
                return LL_EUSAGE;
            }
            if (c->schedule == CONFIG_SCHED_CONCURRENT && r != floor(r)) {
                snprintf(err, errlen,
                         "--rate: %g is not a whole number (schedule \"concurrent\" counts streams)", r);
                return LL_EUSAGE;
            }
        }
        return 0;
    }
    snprintf(err, errlen, "unknown schedule %d", (int)c->schedule);
    return LL_EUSAGE;
}

int config__apply_users(config *c, char *err, size_t errlen)
{
    if (c->users <= 0)
        return 0;
    if ((c->schedule != CONFIG_SCHED_SYNCHRONOUS && c->schedule != CONFIG_SCHED_CONCURRENT) || rates_given(c)) {
        snprintf(err, errlen, "--users %ld is a closed loop of %ld users (--schedule concurrent --rate %ld): "
                 "give it without --schedule %s%s (open-loop schedules start sessions at --rate)",
                 c->users, c->users, c->users, config_schedule_name(c->schedule), rates_given(c) ? " and --rate" : "");
        return LL_EUSAGE;
    }
    c->schedule = CONFIG_SCHED_CONCURRENT;
    c->rates[0] = (double)c->users;
    c->n_rates = 1;
    return 0;
}

/* --trace and the schedule agree (giving --trace sets it; a later --schedule would not replay it). */
static int trace_check(const config *c, char *err, size_t errlen)
{
    if (c->schedule == CONFIG_SCHED_TRACE && !c->trace) {
        snprintf(err, errlen, "schedule \"trace\" needs --trace FILE");
        return LL_EUSAGE;
    }
    if (c->trace && c->schedule != CONFIG_SCHED_TRACE) {
        snprintf(err, errlen, "--trace replays the trace's own times: drop --schedule %s", config_schedule_name(c->schedule));
        return LL_EUSAGE;
    }
    if (c->trace && c->data.path) {
        snprintf(err, errlen, "--trace and --data %.200s: the trace gives the requests; drop --data", c->data.path);
        return LL_EUSAGE;
    }
    return 0;
}

int config_validate(const config *c, char *err, size_t errlen)
{
    char why[256];
    if (!c->target) {
        snprintf(err, errlen,
                 "no target: give --target URL, \"target\" in the profile, or set LLMLOAD_TARGET");
        return LL_EUSAGE;
    }
    if (config__check_url(c->target, why, sizeof why) != 0) {
        snprintf(err, errlen, "target: %s", why);
        return LL_EUSAGE;
    }
    if (c->http_client == CONFIG_HTTP_CLIENT_BUILTIN && strncasecmp(c->target, "http://", 7) != 0) {
        snprintf(err, errlen, "--http-client builtin speaks plain http:// only; use curl (or auto) for %.64s",
                 c->target);
        return LL_EUSAGE;
    }
    if (c->api_key_env && !c->api_key) {
        snprintf(err, errlen, "--api-key-env: variable \"%.128s\" is not set", c->api_key_env);
        return LL_EUSAGE;
    }
    /* --stages gives each stage its rate (config__check_shapes checks it with the schedule). */
    int rc = c->stages ? 0 : check_rates(c, err, errlen);
    if (rc != 0)
        return rc;
    if (!(c->max_seconds >= 0) || c->max_requests < 0) {
        snprintf(err, errlen, "--max-seconds and --max-requests cannot be negative");
        return LL_EUSAGE;
    }
    if (c->max_seconds > 0 && c->max_seconds < 0.001) {
        /* Under a millisecond no request can even be sent: a typo for ms, not a benchmark. */
        snprintf(err, errlen, "--max-seconds %gs is under the 1 ms minimum (0 means no time limit)", c->max_seconds);
        return LL_EUSAGE;
    }
    /* --trace: the trace gives the schedule, the requests and (its last entry) an end. */
    if (trace_check(c, err, errlen) != 0)
        return LL_EUSAGE;
    if (c->max_seconds == 0 && c->max_requests == 0 && !c->stages && !c->trace) { /* a stage has its duration */
        snprintf(err, errlen,
                 "no end: --max-seconds 0 and --max-requests 0 would run forever; set one of them");
        return LL_EUSAGE;
    }
    if (!(c->warmup_s >= 0) || !(c->cooldown_s >= 0)) {
        snprintf(err, errlen, "--warmup and --cooldown cannot be negative");
        return LL_EUSAGE;
    }
    if (c->max_seconds > 0 && !c->stages && c->warmup_s + c->cooldown_s >= c->max_seconds) {
        snprintf(err, errlen,
                 "--warmup %gs + --cooldown %gs must be less than --max-seconds %gs (nothing left to measure)",
                 c->warmup_s, c->cooldown_s, c->max_seconds);
        return LL_EUSAGE;
    }
    if (c->shard_count < 1 || c->shard_index < 0 || c->shard_index >= c->shard_count) {
        snprintf(err, errlen, "--shard: %d/%d needs 0 <= I < N", c->shard_index, c->shard_count);
        return LL_EUSAGE;
    }
    /* A sweep's middle rates come from the throughput point each process measures alone: shards
     * would each pick their own and drift apart. Rate lists keep every shard on the same points. */
    if (c->shard_count > 1 && c->schedule == CONFIG_SCHED_SWEEP) {
        snprintf(err, errlen, "--shard: a sweep cannot be sharded (each shard would derive its own points); "
                              "give the points: --schedule constant|poisson --rate R1,R2,...");
        return LL_EUSAGE;
    }
    /* The search picks its probes from the verdicts (docs/gate.md "SLO search"): it needs rules to
     * judge by, and like a sweep it derives its points from what this one process measured. */
    if (c->schedule == CONFIG_SCHED_SLO_SEARCH) {
        const char *why_not = !c->slo                ? "needs --slo (the rules it searches for)"
                              : c->shard_count > 1   ? "cannot be sharded (each shard would search on its own)"
                              : c->repeat > 1        ? "does not take --repeat yet (an undecided probe is rerun longer)"
                                                     : NULL;
        if (why_not) {
            snprintf(err, errlen, "schedule \"slo-search\" %s", why_not);
            return LL_EUSAGE;
        }
    }
    if (c->max_concurrency < 1) {
        snprintf(err, errlen, "--max-concurrency: %ld is less than 1", c->max_concurrency);
        return LL_EUSAGE;
    }
    if (c->workers < 1) {
        snprintf(err, errlen, "--workers: %d is less than 1", c->workers);
        return LL_EUSAGE;
    }
    if (!(c->request_timeout_s > 0) || !(c->stream_timeout_s > 0) || !(c->connect_timeout_s > 0)) {
        snprintf(err, errlen, "--request-timeout, --stream-timeout and --connect-timeout must be positive");
        return LL_EUSAGE;
    }
    if (!(c->drain_s >= 0) || !(c->grace_s >= 0) || !(c->start_at >= 0)) {
        snprintf(err, errlen, "--drain-seconds, --grace-seconds and --start-at cannot be negative");
        return LL_EUSAGE;
    }
    if (config__data_check(&c->data, why, sizeof why) != 0) {
        snprintf(err, errlen, "--data: %s", why);
        return LL_EUSAGE;
    }
    /* Each loop would judge its own share's interval, not the merged one: not done yet. */
    if (c->target_precision && c->workers > 1) {
        snprintf(err, errlen, "--target-precision is not available with --workers above 1 yet");
        return LL_EUSAGE;
    }
    if (c->server_metrics_keep && !c->server_metrics) {
        snprintf(err, errlen, "--server-metrics-keep needs --server-metrics (which URL to scrape)");
        return LL_EUSAGE;
    }
    int rc_shapes = config__check_shapes(c, err, errlen);
    return rc_shapes ? rc_shapes : config__validate_mix(c, err, errlen);
}

const char *config_redact_url(const char *url, char *buf, size_t len)
{
    const char *sep = strstr(url, "://");
    const char *auth = sep ? sep + 3 : url;
    size_t alen = strcspn(auth, "/?#");
    const char *at = NULL;
    for (const char *q = auth; q < auth + alen; q++)
        if (*q == '@')
            at = q;
    if (at)
        snprintf(buf, len, "%.*s<redacted>%s", (int)(auth - url), url, at);
    else
        snprintf(buf, len, "%s", url);
    return buf;
}

size_t config_target_url(const char *target, const char *path, char *buf, size_t len)
{
    const char *sep = strstr(target, "://");
    const char *auth = sep ? sep + 3 : target;
    const char *rest = auth + strcspn(auth, "/?#"); /* the path prefix, query and fragment */
    size_t base = (size_t)(rest - target) + strcspn(rest, "?#");
    const char *query = target[base] == '?' ? target + base + 1 : NULL;
    size_t qlen = query ? strcspn(query, "#") : 0;
    while (base > (size_t)(rest - target) && target[base - 1] == '/')
        base--;
    if (base >= (size_t)(rest - target) + 3 && memcmp(target + base - 3, "/v1", 3) == 0)
        base -= 3;
    while (base > (size_t)(rest - target) && target[base - 1] == '/')
        base--;
    int n = qlen ? snprintf(buf, len, "%.*s%s?%.*s", (int)base, target, path, (int)qlen, query)
                 : snprintf(buf, len, "%.*s%s", (int)base, target, path);
    return n < 0 ? 0 : (size_t)n;
}

/* Credentials can ride in URLs: a report shows them redacted. */
static int add_url(cJSON *o, const char *key, const char *url)
{
    if (!url)
        return cJSON_AddNullToObject(o, key) ? 0 : LL_ENOMEM;
    size_t n = strlen(url) + sizeof "<redacted>";
    char *buf = malloc(n);
    if (!buf)
        return LL_ENOMEM;
    int rc = cJSON_AddStringToObject(o, key, config_redact_url(url, buf, n)) ? 0 : LL_ENOMEM;
    free(buf);
    return rc;
}

static int add_str(cJSON *o, const char *key, const char *s)
{
    if (!s)
        return cJSON_AddNullToObject(o, key) ? 0 : LL_ENOMEM;
    return cJSON_AddStringToObject(o, key, s) ? 0 : LL_ENOMEM;
}

static int add_num(cJSON *o, const char *key, double v)
{
    return cJSON_AddNumberToObject(o, key, v) ? 0 : LL_ENOMEM;
}

static int add_bool(cJSON *o, const char *key, int v)
{
    return cJSON_AddBoolToObject(o, key, v != 0) ? 0 : LL_ENOMEM;
}

static int add_data(cJSON *o, const config_data *d)
{
    cJSON *j = cJSON_AddObjectToObject(o, "data");
    if (!j)
        return LL_ENOMEM;
    static const char *const sampling[] = {"shuffle", "sequential", "random"};
    int rc = 0;
    if (d->turns > 1 || d->think_time > 0) {
        rc |= add_num(j, "turns", (double)d->turns);
        rc |= add_num(j, "think_time", d->think_time);
        rc |= add_num(j, "think_time_stdev", d->think_time_stdev);
        rc |= add_num(j, "turn_prompt_tokens", (double)d->turn_prompt_tokens);
    }
    if (d->path) {
        rc |= add_str(j, "path", d->path);
        rc |= add_str(j, "sampling", sampling[d->sampling % 3]);
        rc |= add_num(j, "max_records", (double)d->max_records);
        return rc ? LL_ENOMEM : 0;
    }
    rc |= add_num(j, "prompt_tokens", d->prompt_tokens);
    rc |= add_num(j, "prompt_tokens_stdev", d->prompt_tokens_stdev);
    rc |= add_num(j, "prompt_tokens_min", (double)d->prompt_tokens_min);
    rc |= add_num(j, "prompt_tokens_max", (double)d->prompt_tokens_max);
    rc |= add_num(j, "output_tokens", d->output_tokens);
    rc |= add_num(j, "output_tokens_stdev", d->output_tokens_stdev);
    rc |= add_num(j, "output_tokens_min", (double)d->output_tokens_min);
    rc |= add_num(j, "output_tokens_max", (double)d->output_tokens_max);
    rc |= add_num(j, "prefix_tokens", (double)d->prefix_tokens);
    rc |= add_num(j, "prefix_count", (double)d->prefix_count);
    return rc ? LL_ENOMEM : 0;
}

static int add_headers(cJSON *o, const config *c)
{
    cJSON *a = cJSON_AddArrayToObject(o, "headers");
    if (!a)
        return LL_ENOMEM;
    for (size_t i = 0; i < c->n_headers; i++) {
        /* Keep the name so the report says which headers were sent; the value may be a secret. */
        const char *h = c->headers[i];
        size_t nlen = strcspn(h, ":");
        size_t n = nlen + sizeof ": <redacted>";
        char *buf = malloc(n);
        if (!buf)
            return LL_ENOMEM;
        snprintf(buf, n, "%.*s: <redacted>", (int)nlen, h);
        cJSON *s = cJSON_CreateString(buf);
        free(buf);
        if (!s || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            return LL_ENOMEM;
        }
    }
    return 0;
}

int config_to_json(const config *c, struct cJSON **out)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return LL_ENOMEM;
    int rc = 0;
    rc |= add_str(o, "profile", c->profile_path);
    rc |= add_url(o, "target", c->target);
    rc |= add_str(o, "api", config_api_name(c->api));
    rc |= add_str(o, "model", c->model);
    rc |= config__mix_json(o, c);
    rc |= add_str(o, "api_key_env", c->api_key_env);
    if (c->api_key)
        rc |= add_str(o, "api_key", "<redacted>");
    rc |= add_headers(o, c) ? 1 : 0;
    rc |= add_str(o, "schedule", config_schedule_name(c->schedule));
    cJSON *rates = cJSON_AddArrayToObject(o, "rates");
    if (!rates)
        rc = 1;
    for (size_t i = 0; rates && i < c->n_rates; i++) {
        cJSON *n = cJSON_CreateNumber(c->rates[i]);
        if (!n || !cJSON_AddItemToArray(rates, n)) {
            cJSON_Delete(n);
            rc = 1;
        }
    }
    rc |= add_str(o, "sweep_arrivals", c->sweep_poisson ? "poisson" : "constant");
    if (c->users > 0)
        rc |= add_num(o, "users", (double)c->users);
    rc |= add_num(o, "max_seconds", c->max_seconds);
    rc |= add_num(o, "max_requests", (double)c->max_requests);
    rc |= add_num(o, "warmup_s", c->warmup_s);
    rc |= add_num(o, "cooldown_s", c->cooldown_s);
    rc |= add_num(o, "max_concurrency", (double)c->max_concurrency);
    rc |= add_data(o, &c->data) ? 1 : 0;
    /* A seed above 2^53 would lose digits as a JSON number; write it as a string then. */
    if (c->seed <= (1ULL << 53)) {
        rc |= add_num(o, "seed", (double)c->seed);
    } else {
        char s[24];
        snprintf(s, sizeof s, "%llu", (unsigned long long)c->seed);
        rc |= add_str(o, "seed", s);
    }
    rc |= add_str(o, "out", c->out_dir);
    rc |= add_str(o, "slo", c->slo);
    rc |= add_url(o, "pushgateway", c->pushgateway);
    rc |= add_str(o, "job", c->job);
    rc |= add_str(o, "metrics_listen", c->metrics_listen);
    rc |= add_url(o, "server_metrics", c->server_metrics);
    rc |= add_num(o, "shard_index", c->shard_index);
    rc |= add_num(o, "shard_count", c->shard_count);
    rc |= add_num(o, "start_at", c->start_at);
    rc |= add_num(o, "request_timeout_s", c->request_timeout_s);
    rc |= add_num(o, "stream_timeout_s", c->stream_timeout_s);
    rc |= add_num(o, "connect_timeout_s", c->connect_timeout_s);
    rc |= add_num(o, "drain_s", c->drain_s);
    rc |= add_num(o, "grace_s", c->grace_s);
    rc |= add_bool(o, "respect_retry_after", c->respect_retry_after);
    rc |= add_bool(o, "insecure", c->insecure);
    rc |= add_str(o, "ca_cert", c->ca_cert);
    rc |= add_str(o, "http_client", config_http_client_name(config_transport(c)));
    rc |= add_num(o, "workers", c->workers);
    rc |= add_bool(o, "stream_usage", c->stream_usage);
    rc |= add_bool(o, "continuous_usage", c->continuous_usage);
    rc |= add_bool(o, "ignore_eos", c->ignore_eos);
    rc |= add_bool(o, "calibrate", c->calibrate);
    rc |= add_bool(o, "require_done", c->require_done);
    cJSON *more = cJSON_AddArrayToObject(o, "server_metrics_extra");
    if (!more)
        rc = 1;
    for (size_t i = 0; more && i < c->n_server_metrics_extra; i++) {
        size_t n = strlen(c->server_metrics_extra[i]) + sizeof "<redacted>";
        char *buf = malloc(n);
        cJSON *u = buf ? cJSON_CreateString(config_redact_url(c->server_metrics_extra[i], buf, n)) : NULL;
        free(buf);
        if (!u || !cJSON_AddItemToArray(more, u)) {
            cJSON_Delete(u);
            rc = 1;
        }
    }
    rc |= add_num(o, "server_metrics_interval_s", c->server_metrics_interval_s);
    rc |= add_str(o, "server_metrics_keep", c->server_metrics_keep);
    rc |= add_num(o, "repeat", c->repeat);
    rc |= add_str(o, "target_precision", c->target_precision);
    rc |= add_str(o, "search_over", c->search_concurrency ? "concurrency" : "rate");
    rc |= add_num(o, "search_precision", c->search_precision);
    rc |= config__shapes_to_json(o, c) ? 1 : 0;
    if (c->trace) {
        rc |= add_str(o, "trace", c->trace);
        rc |= add_str(o, "trace_format", trace_format_name((trace_format)c->trace_format));
        rc |= add_num(o, "trace_speed", c->trace_speed);
    }
    if (rc) {
        cJSON_Delete(o);
        return LL_ENOMEM;
    }
    *out = o;
    return 0;
}
