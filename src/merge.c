/*
 * merge.c - shards' report.json + requests.csv read back into bench_results and combined on one
 * timeline (see merge.h). The invariant: what comes out is what the aggregator would have been
 * given had one process sent every shard's requests, so nothing here computes a statistic.
 */
#include "llmload/merge.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llmload/error.h"
#include "llmload/infile.h"
#include "llmload/hist.h"
#include "llmload/record.h"
#include "llmload/report.h"

/* A shard's own clock origin for its rebuilt records: far from 0, since 0 means "never". */
#define MERGE_SHARD_T0_NS (1000ULL * 1000000000ULL)
#define MERGE_CSV_MAX_COLS 64

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static uint64_t u64(const cJSON *o, const char *k)
{
    double v = num(o, k);
    return v > 0 ? (uint64_t)llround(v) : 0;
}

/* A histogram from report.json's {"sub_bucket_bits", "buckets": [[index, count]...], min, max,
 * out_of_range}: exact, bucket for bucket. LL_EPARSE for another scheme or a bad table. */
static int hist_from_json(const cJSON *o, hist **out)
{
    if (hist_create(out) != 0)
        return LL_ENOMEM;
    if (!o)
        return 0;
    if ((int)num(o, "sub_bucket_bits") != HIST_SUB_BITS)
        return LL_EPARSE;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, cJSON_GetObjectItemCaseSensitive(o, "buckets"))
    {
        const cJSON *i = cJSON_GetArrayItem(pair, 0), *c = cJSON_GetArrayItem(pair, 1);
        if (!cJSON_IsNumber(i) || !cJSON_IsNumber(c) || i->valuedouble < 0 || c->valuedouble < 0 ||
            hist_add_bucket(*out, (size_t)i->valuedouble, (uint64_t)c->valuedouble) != 0)
            return LL_EPARSE;
    }
    hist_set_extremes(*out, u64(o, "min"), u64(o, "max"), u64(o, "out_of_range"));
    return 0;
}

/* Splits one CSV row in place (RFC 4180 quotes, as report_csv writes them) into fields; returns
 * how many, and moves *p past the row. */
static int csv_row(char **p, char **fields, int max)
{
    char *s = *p, *w;
    int n = 0;
    if (!*s)
        return 0;
    for (;;) {
        char *start = s;
        w = s;
        if (*s == '"') {
            s++;
            for (;;) {
                if (*s == '\0')
                    break;
                if (*s == '"') {
                    if (s[1] == '"') {
                        *w++ = '"';
                        s += 2;
                        continue;
                    }
                    s++;
                    break;
                }
                *w++ = *s++;
            }
            while (*s && *s != ',' && *s != '\n')
                s++;
        } else {
            while (*s && *s != ',' && *s != '\n' && *s != '\r')
                s++;
            w = s;
            if (*s == '\r')
                s++;
        }
        char end = *s;
        *w = '\0';
        if (n < max)
            fields[n++] = start;
        if (end == ',') {
            s++;
            continue;
        }
        if (end == '\n')
            s++;
        break;
    }
    *p = s;
    return n;
}

enum {
    C_BENCH, C_ID, C_SCHED, C_SENT, C_LAG, C_TTFB, C_TTFT, C_TTFOT, C_ITL_MEAN, C_ITL_MAX, C_E2E, C_PROMPT, C_OUTPUT,
    C_EVENTS, C_MAX_TOKENS, C_MEASURED, C_HTTP, C_STATUS, C_KIND, C_ERROR, C_RESENT, C_ASKED, C_FINISH, C_SP_N,
    C_SP_MS, C_SD_N, C_SD_MS, C_CONNECT, C_LAST, C_ITL_COUNT, C_USAGE, C_DONE, C_SHORT, C_RUNNING, C_NEWCONN, C__N
};

static const char *const csv_names[C__N] = {
    "benchmark", "request_id", "scheduled_s", "sent_s", "schedule_lag_ms", "ttfb_ms", "ttft_ms", "ttfot_ms",
    "itl_mean_ms", "itl_max_ms", "e2e_ms", "prompt_tokens", "output_tokens", "token_events", "max_tokens",
    "measured", "http_status", "status", "error_kind", "error", "resent", "prompt_tokens_asked", "finish_reason",
    "server_prompt_n", "server_prompt_ms", "server_predicted_n", "server_predicted_ms", "connect_ms",
    "last_token_ms", "itl_count", "usage_seen", "done_seen", "short_output", "usage_running", "new_connection"};

static int64_t ms_ns(const char *s)
{
    return *s ? (int64_t)llround(strtod(s, NULL) * 1e6) : -1;
}

static uint64_t after(uint64_t base, int64_t d)
{
    return base && d >= 0 ? base + (uint64_t)d : 0;
}

static int name_index(const char *s, const char *(*name)(int), int count)
{
    for (int k = 0; k < count; k++)
        if (strcmp(s, name(k)) == 0)
            return k;
    return -1;
}

static const char *kind_name(int k) { return record_error_kind_name(k); }
static const char *resend_name(int k) { return record_resend_reason_name(k); }
static const char *finish_name(int k) { return record_finish_name(k); }

/* One requests.csv row back into the record it was written from. t0 is the shard's origin for
 * the benchmark, t0_from_run its start in the CSV's time base. Times printed as ms with 6
 * decimals are whole nanoseconds again; scheduled and sent seconds carry microseconds, so sent is
 * taken from them and scheduled from sent less the exact lag. */
static int row_record(char **f, uint64_t t0, uint64_t t0_from_run, record *r)
{
    memset(r, 0, sizeof *r);
    r->id = strtoull(f[C_ID], NULL, 10);
    int64_t sched = (int64_t)llround(strtod(f[C_SCHED], NULL) * 1e9) - (int64_t)t0_from_run;
    r->scheduled_ns = t0 + (uint64_t)(sched > -(int64_t)t0 ? sched : 0);
    if (*f[C_SENT]) {
        int64_t sent = (int64_t)llround(strtod(f[C_SENT], NULL) * 1e9) - (int64_t)t0_from_run;
        r->sent_ns = t0 + (uint64_t)(sent > -(int64_t)t0 ? sent : 0);
        int64_t lag = ms_ns(f[C_LAG]);
        if (lag >= 0 && (uint64_t)lag < r->sent_ns)
            r->scheduled_ns = r->sent_ns - (uint64_t)lag;
    }
    r->first_byte_ns = after(r->sent_ns, ms_ns(f[C_TTFB]));
    r->first_token_ns = after(r->sent_ns, ms_ns(f[C_TTFT]));
    r->first_output_ns = after(r->sent_ns, ms_ns(f[C_TTFOT]));
    r->end_ns = after(r->sent_ns, ms_ns(f[C_E2E]));
    r->last_token_ns = after(r->sent_ns, ms_ns(f[C_LAST]));
    r->itl_count = (uint32_t)strtoul(f[C_ITL_COUNT], NULL, 10);
    if (*f[C_ITL_MEAN])
        r->itl_sum_ns = (uint64_t)llround(strtod(f[C_ITL_MEAN], NULL) * 1e6 * r->itl_count);
    if (*f[C_ITL_MAX])
        r->itl_max_ns = (uint64_t)ms_ns(f[C_ITL_MAX]);
    r->prompt_tokens = (int32_t)strtol(f[C_PROMPT], NULL, 10);
    r->output_tokens = (int32_t)strtol(f[C_OUTPUT], NULL, 10);
    r->token_events = (uint32_t)strtoul(f[C_EVENTS], NULL, 10);
    r->max_tokens = (int32_t)strtol(f[C_MAX_TOKENS], NULL, 10);
    r->measured = (uint8_t)(strcmp(f[C_MEASURED], "1") == 0);
    r->http_status = (int16_t)strtol(f[C_HTTP], NULL, 10);
    r->status = strcmp(f[C_STATUS], "ok") == 0 ? RECORD_OK : strcmp(f[C_STATUS], "error") == 0 ? RECORD_ERROR
                : strcmp(f[C_STATUS], "incomplete") == 0                                      ? RECORD_INCOMPLETE
                : strcmp(f[C_STATUS], "cancelled") == 0                                       ? RECORD_CANCELLED
                                                                                              : 255;
    if (r->status == 255)
        return LL_EPARSE;
    int k = *f[C_KIND] ? name_index(f[C_KIND], kind_name, RECORD_ERR_COUNT_) : 0;
    int rs = *f[C_RESENT] ? name_index(f[C_RESENT], resend_name, RECORD_RESEND_COUNT_) : 0;
    int fin = name_index(f[C_FINISH], finish_name, RECORD_FINISH_COUNT_);
    if (k < 0 || rs < 0 || fin < 0)
        return LL_EPARSE;
    r->error_kind = (uint8_t)k;
    r->resent = (uint8_t)rs;
    r->finish_reason = (uint8_t)fin;
    r->prompt_tokens_asked = (int32_t)strtol(f[C_ASKED], NULL, 10);
    if (*f[C_SP_N]) {
        r->has_timings = 1;
        r->server_prompt_n = (int32_t)strtol(f[C_SP_N], NULL, 10);
        r->server_prompt_ms = (float)strtod(f[C_SP_MS], NULL);
        r->server_predicted_n = (int32_t)strtol(f[C_SD_N], NULL, 10);
        r->server_predicted_ms = (float)strtod(f[C_SD_MS], NULL);
    }
    if (*f[C_CONNECT])
        r->connect_us = (uint32_t)llround(strtod(f[C_CONNECT], NULL) * 1e3);
    r->usage_seen = (uint8_t)(f[C_USAGE][0] == '1');
    r->done_seen = (uint8_t)(f[C_DONE][0] == '1');
    r->short_output = (uint8_t)(f[C_SHORT][0] == '1');
    r->usage_running = (uint8_t)(f[C_RUNNING][0] == '1');
    r->new_connection = (uint8_t)(f[C_NEWCONN][0] == '1');
    return 0;
}

/* A benchmark's result without its records, from report.json (t0 at the shard's origin). */
static int bench_from_json(const cJSON *b, bench_result *res, double *wall)
{
    const cJSON *mb = cJSON_GetObjectItemCaseSensitive(b, "merge_basis");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(b, "histograms");
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(b, "limits");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
    if (!mb || !cJSON_IsString(name))
        return LL_EPARSE;
    memset(res, 0, sizeof *res);
    snprintf(res->plan.name, sizeof res->plan.name, "%s", name->valuestring);
    const cJSON *sched = cJSON_GetObjectItemCaseSensitive(b, "schedule");
    /* Every schedule with a name (the list grows at its end: trace, ...). */
    for (int k = CONFIG_SCHED_SYNCHRONOUS; strcmp(config_schedule_name((config_schedule)k), "unknown") != 0; k++)
        if (cJSON_IsString(sched) && strcmp(sched->valuestring, config_schedule_name((config_schedule)k)) == 0)
            res->plan.schedule = (config_schedule)k;
    res->plan.rate = num(mb, "plan_rate");
    res->plan.max_requests = (long)num(mb, "plan_max_requests");
    res->plan.max_seconds = num(lim, "max_seconds");
    res->plan.warmup_s = num(lim, "warmup_s");
    res->plan.cooldown_s = num(lim, "cooldown_s");
    uint64_t t0 = MERGE_SHARD_T0_NS;
    res->t0_ns = t0;
    res->window_start_ns = t0 + u64(mb, "window_start_ns");
    res->window_end_ns = t0 + u64(mb, "window_end_ns");
    res->sched_end_ns = t0 + u64(mb, "sched_end_ns");
    res->end_ns = t0 + u64(mb, "end_ns");
    res->cpu_s = num(mb, "cpu_s");
    res->started = u64(mb, "started");
    res->slots = (size_t)u64(mb, "slots");
    res->loops = (size_t)u64(mb, "loops");
    res->pauses = u64(mb, "pauses");
    res->paused_ns = u64(mb, "paused_ns");
    res->interrupted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(mb, "interrupted"));
    /* Why the shard's benchmark stopped (older reports have none: bench_result_stop derives it);
     * bench_result_add keeps the shards' strongest. The early-stop evidence is not carried. */
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(b, "stop_reason");
    for (int k = BENCH_STOP_TIME_LIMIT; cJSON_IsString(why) && k <= BENCH_STOP_INTERRUPTED; k++)
        if (strcmp(why->valuestring, bench_stop_name((bench_stop)k)) == 0)
            res->stop_reason = (bench_stop)k;
    /* The client's evidence about itself (absent from reports written before it existed: zero). */
    res->ticks = u64(mb, "ticks");
    res->late_ticks = u64(mb, "late_ticks");
    res->sends = u64(mb, "sends");
    res->late_sends = u64(mb, "late_sends");
    res->slot_waits = u64(mb, "slot_waits");
    res->cpu_wait_s = cJSON_GetObjectItemCaseSensitive(mb, "cpu_wait_s") ? num(mb, "cpu_wait_s") : -1;
    res->busy_s = num(mb, "busy_s");
    res->loop_stamps = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(mb, "loop_stamps"));
    res->reads_sampled = u64(mb, "reads_sampled");
    res->reads_waited = u64(mb, "reads_waited");
    *wall = num(b, "start_time");
    int rc;
    if ((rc = hist_from_json(cJSON_GetObjectItemCaseSensitive(h, "itl_ms"), &res->itl)) != 0 ||
        (rc = hist_from_json(cJSON_GetObjectItemCaseSensitive(h, "itl_token_ms"), &res->itl_token)) != 0 ||
        (rc = hist_from_json(cJSON_GetObjectItemCaseSensitive(mb, "loop_lag"), &res->loop_lag)) != 0 ||
        (rc = hist_from_json(cJSON_GetObjectItemCaseSensitive(mb, "read_wait"), &res->read_wait)) != 0)
        return rc;
    return 0;
}

static int load_csv(merge_shard *s, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text;
    int rd = infile_read(path, INFILE_MAX, &text, &len, err, errlen);
    if (rd != 0)
        return rd;
    char *p = text, *f[MERGE_CSV_MAX_COLS];
    int col[C__N], rc = 0;
    int nf = csv_row(&p, f, MERGE_CSV_MAX_COLS);
    for (int c = 0; c < C__N; c++) {
        col[c] = -1;
        for (int i = 0; i < nf; i++)
            if (strcmp(f[i], csv_names[c]) == 0)
                col[c] = i;
        if (col[c] < 0) {
            snprintf(err, errlen, "%s: no column %s (written by an older llmload?)", path, csv_names[c]);
            free(text);
            return LL_EPARSE;
        }
    }
    /* Optional (older files lack them): which session and turn a request was, and which model of a
     * --model mix it asked (docs/workloads.md). */
    int col_session = -1, col_turn = -1, col_model = -1;
    for (int i = 0; i < nf; i++) {
        if (strcmp(f[i], "session") == 0)
            col_session = i;
        else if (strcmp(f[i], "turn") == 0)
            col_turn = i;
        else if (strcmp(f[i], "model") == 0)
            col_model = i;
    }
    const cJSON *benches = cJSON_GetObjectItemCaseSensitive(s->doc, "benchmarks");
    size_t bi = 0, line = 1;
    while (rc == 0 && *p) {
        line++;
        int n = csv_row(&p, f, MERGE_CSV_MAX_COLS);
        if (n == 1 && !*f[0])
            continue;
        if (n < nf) {
            snprintf(err, errlen, "%s line %zu: %d fields, the header has %d", path, line, n, nf);
            rc = LL_EPARSE;
            break;
        }
        char *v[C__N];
        for (int c = 0; c < C__N; c++)
            v[c] = f[col[c]];
        /* Rows come in benchmark order: move on when the name changes, or (a list that repeats a
         * rate, so a name) when the row was scheduled after the next benchmark of that name began. */
        while (bi < s->n && strcmp(v[C_BENCH], s->results[bi].plan.name) != 0)
            bi++;
        while (bi + 1 < s->n && strcmp(v[C_BENCH], s->results[bi + 1].plan.name) == 0 &&
               strtod(v[C_SCHED], NULL) * 1e9 + 1000 >= /* scheduled_s is rounded to the microsecond */
                   num(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(benches, (int)bi + 1), "merge_basis"),
                       "t0_ns"))
            bi++;
        if (bi >= s->n) {
            snprintf(err, errlen, "%s line %zu: benchmark \"%.64s\" is not in report.json's order", path, line,
                     v[C_BENCH]);
            rc = LL_EPARSE;
            break;
        }
        const cJSON *mb = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(benches, (int)bi), "merge_basis");
        record r;
        if (row_record(v, s->results[bi].t0_ns, u64(mb, "t0_ns"), &r) != 0) {
            snprintf(err, errlen, "%s line %zu: a status, error kind, resend or finish reason not known", path, line);
            rc = LL_EPARSE;
            break;
        }
        if (col_session >= 0 && col_turn >= 0) {
            unsigned long sess = strtoul(f[col_session], NULL, 10), turn = strtoul(f[col_turn], NULL, 10);
            r.session = sess <= UINT32_MAX ? (uint32_t)sess : 0;
            r.turn = turn <= UINT16_MAX ? (uint16_t)turn : 0;
        }
        for (size_t m = 0; col_model >= 0 && m < s->n_models; m++)
            if (strcmp(f[col_model], s->model_names[m]) == 0) {
                r.model = (uint8_t)m;
                break;
            }
        if (record_log_append(&s->results[bi].records, &r, r.status == RECORD_ERROR ? v[C_ERROR] : "") != 0) {
            snprintf(err, errlen, "out of memory reading %s", path);
            rc = LL_ENOMEM;
        }
    }
    free(text);
    return rc;
}

/* A --model mix's names from config.models (report.json's [{name, weight}...]), for requests.csv's
 * model column to index and every result to name (report.json's by_model). 0 or LL_ENOMEM. */
static int model_names(merge_shard *s)
{
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s->doc, "config"), "models");
    size_t n = (size_t)cJSON_GetArraySize(models);
    if (n < 2)
        return 0;
    if (n > 256)
        n = 256; /* record.model is one byte */
    if (!(s->model_names = calloc(n, sizeof *s->model_names)))
        return LL_ENOMEM;
    for (size_t m = 0; m < n; m++) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(models, (int)m), "name");
        s->model_names[m] = cJSON_IsString(name) ? name->valuestring : "";
    }
    s->n_models = n;
    for (size_t i = 0; i < s->n; i++) {
        s->results[i].model_names = s->model_names;
        s->results[i].n_model_names = n;
    }
    return 0;
}

int merge_shard_load(const char *path, merge_shard **out, char *err, size_t errlen)
{
    merge_shard *s = calloc(1, sizeof *s);
    struct stat st;
    int rc = 0;
    size_t plen = strlen(path);
    if (!s || !(s->source = malloc(plen + sizeof "/report.json"))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    int is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    snprintf(s->source, plen + sizeof "/report.json", "%s%s", path, is_dir ? "/report.json" : "");
    if ((rc = report_load(s->source, &s->doc, err, errlen)) != 0)
        goto fail;
    const cJSON *shard = cJSON_GetObjectItemCaseSensitive(s->doc, "shard");
    const cJSON *benches = cJSON_GetObjectItemCaseSensitive(s->doc, "benchmarks");
    if (!shard || !cJSON_IsArray(benches)) {
        snprintf(err, errlen, "%s: no \"shard\" block (written by an llmload without --shard?)", s->source);
        rc = LL_EPARSE;
        goto fail;
    }
    s->index = (int)num(shard, "index");
    s->count = (int)num(shard, "count");
    s->n = (size_t)cJSON_GetArraySize(benches);
    s->results = calloc(s->n ? s->n : 1, sizeof *s->results);
    s->wall_starts = calloc(s->n ? s->n : 1, sizeof *s->wall_starts);
    if (!s->results || !s->wall_starts) {
        snprintf(err, errlen, "out of memory");
        rc = LL_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < s->n; i++)
        if ((rc = bench_from_json(cJSON_GetArrayItem(benches, (int)i), &s->results[i], &s->wall_starts[i])) != 0) {
            if (rc == LL_ENOMEM)
                snprintf(err, errlen, "out of memory");
            else
                snprintf(err, errlen, "%s: benchmark %zu has no merge_basis or histograms of another scheme", s->source,
                         i);
            goto fail;
        }
    if ((rc = model_names(s)) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* requests.csv beside report.json */
    char *csv = malloc(strlen(s->source) + sizeof "requests.csv");
    if (!csv) {
        snprintf(err, errlen, "out of memory");
        rc = LL_ENOMEM;
        goto fail;
    }
    strcpy(csv, s->source);
    char *slash = strrchr(csv, '/');
    strcpy(slash ? slash + 1 : csv, "requests.csv");
    rc = load_csv(s, csv, err, errlen);
    free(csv);
    if (rc)
        goto fail;
    *out = s;
    return 0;
fail:
    merge_shard_free(s);
    return rc;
}

void merge_shard_free(merge_shard *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->results && i < s->n; i++)
        bench_result_free(&s->results[i]);
    free(s->results);
    free(s->wall_starts);
    free(s->model_names);
    cJSON_Delete(s->doc);
    free(s->source);
    free(s);
}

/* Config keys that differ between the shards of one run by design. */
static int key_may_differ(const char *k)
{
    static const char *const keys[] = {"shard_index", "start_at", "out", "metrics_listen"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(k, keys[i]) == 0)
            return 1;
    return 0;
}

static const char *diff_key(const cJSON *a, const cJSON *b)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        if (key_may_differ(x->string))
            continue;
        if (!cJSON_Compare(x, cJSON_GetObjectItemCaseSensitive(b, x->string), 1))
            return x->string;
    }
    cJSON_ArrayForEach(x, b)
        if (!key_may_differ(x->string) && !cJSON_GetObjectItemCaseSensitive(a, x->string))
            return x->string;
    return NULL;
}

int merge_check(merge_shard *const *shards, size_t n, char *err, size_t errlen)
{
    const merge_shard *a = shards[0];
    const cJSON *ta = cJSON_GetObjectItemCaseSensitive(a->doc, "tool");
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(a->doc, "config");
    for (size_t i = 0; i < n; i++) {
        const merge_shard *b = shards[i];
        const cJSON *tb = cJSON_GetObjectItemCaseSensitive(b->doc, "tool");
        const char *k;
        if (i > 0 && (k = diff_key(ta, tb)) != NULL) {
            snprintf(err, errlen, "%s and %s were written by different llmload builds (tool.%s)", a->source,
                     b->source, k);
            return LL_EUSAGE;
        }
        if (i > 0 && (k = diff_key(ca, cJSON_GetObjectItemCaseSensitive(b->doc, "config"))) != NULL) {
            snprintf(err, errlen, "%s and %s are not shards of one run: config.%s differs", a->source, b->source, k);
            return LL_EUSAGE;
        }
        if (b->count != (int)n || b->index != (int)i) {
            if (b->count != (int)n)
                snprintf(err, errlen, "%s is shard %d/%d, but %zu shard%s given: every shard is needed once",
                         b->source, b->index, b->count, n, n == 1 ? " was" : "s were");
            else
                snprintf(err, errlen, "shard %d/%d is given twice (%s), shard %zu is missing", b->index, b->count,
                         b->source, i);
            return LL_EUSAGE;
        }
        if (b->n != a->n) {
            snprintf(err, errlen, "%s has %zu benchmarks, %s has %zu (was one interrupted?)", a->source, a->n,
                     b->source, b->n);
            return LL_EUSAGE;
        }
        for (size_t j = 0; j < b->n; j++)
            if (strcmp(a->results[j].plan.name, b->results[j].plan.name) != 0) {
                snprintf(err, errlen, "%s and %s differ in benchmark %zu (%s, %s)", a->source, b->source, j,
                         a->results[j].plan.name, b->results[j].plan.name);
                return LL_EUSAGE;
            }
    }
    return 0;
}

static void shift(uint64_t *t, int64_t d)
{
    if (*t)
        *t = (uint64_t)((int64_t)*t + d);
}

static int record_cmp(const void *a, const void *b)
{
    const record *x = a, *y = b;
    if (x->scheduled_ns != y->scheduled_ns)
        return x->scheduled_ns < y->scheduled_ns ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int merge_results(const bench_result *parts, const double *wall_starts, size_t n, uint64_t base_ns,
                  bench_result *out)
{
    memset(out, 0, sizeof *out);
    out->plan = parts[0].plan;
    out->measured_given = 1;
    if (hist_create(&out->itl) != 0 || hist_create(&out->itl_token) != 0 || hist_create(&out->loop_lag) != 0 ||
        hist_create(&out->read_wait) != 0)
        return LL_ENOMEM;
    /* The earliest start among the parts that sent anything is the merged benchmark's start. */
    double w0 = 0;
    int any = 0;
    for (size_t k = 0; k < n; k++)
        if (parts[k].loops > 0 && (!any || wall_starts[k] < w0)) {
            w0 = wall_starts[k];
            any = 1;
        }
    out->t0_ns = out->window_start_ns = out->window_end_ns = out->sched_end_ns = out->end_ns = base_ns;
    out->wall_start = any ? w0 : wall_starts[0];
    int first = 1;
    for (size_t k = 0; k < n; k++) {
        const bench_result *p = &parts[k];
        if (p->loops == 0)
            continue;
        /* report.json's start times are whole microseconds: subtracted as integers, not as doubles
         * near 2e9 (whose step is 240 ns), the offset is exact. */
        int64_t off_ns = (llround(wall_starts[k] * 1e6) - llround(w0 * 1e6)) * 1000;
        int64_t d = (int64_t)base_ns + off_ns - (int64_t)p->t0_ns;
        size_t from = out->records.len;
        if (record_log_extend(&out->records, &p->records) != 0)
            return LL_ENOMEM;
        for (size_t i = from; i < out->records.len; i++) {
            record *r = &out->records.items[i];
            r->id = r->id * n + k;
            shift(&r->scheduled_ns, d);
            shift(&r->sent_ns, d);
            shift(&r->first_byte_ns, d);
            shift(&r->first_token_ns, d);
            shift(&r->first_output_ns, d);
            shift(&r->last_token_ns, d);
            shift(&r->end_ns, d);
        }
        bench_result_add(out, p);
        uint64_t ws = p->window_start_ns + (uint64_t)d, we = p->window_end_ns + (uint64_t)d;
        uint64_t se = p->sched_end_ns + (uint64_t)d, e = p->end_ns + (uint64_t)d;
        if (first || ws < out->window_start_ns)
            out->window_start_ns = ws;
        if (first || we > out->window_end_ns)
            out->window_end_ns = we;
        if (first || se > out->sched_end_ns)
            out->sched_end_ns = se;
        if (first || e > out->end_ns)
            out->end_ns = e;
        first = 0;
    }
    qsort(out->records.items, out->records.len, sizeof *out->records.items, record_cmp);
    return 0;
}
