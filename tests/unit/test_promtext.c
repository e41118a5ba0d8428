/*
 * Unit tests for the Prometheus text parser: exposition samples in the shape vLLM, SGLang, TGI,
 * llama.cpp and NVIDIA's DCGM exporter serve (tests/fixtures/prom/) parse with no bad line and the
 * figures a scraper needs; every prefix of each is parsed again just before a PROT_NONE page so an
 * over-read faults; then the grammar's corners, each bad line counted and skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "llmload/promtext.h"

#define FIXDIR "tests/fixtures/prom/"

/* ---- collecting samples ---- */

#define MAXS 128
typedef struct got {
    size_t n;
    struct {
        char name[128], family[128], labels[512];
        promtext_type type;
        promtext_role role;
        double bound, value;
        int has_ts;
        int64_t ts;
    } s[MAXS];
    const char *lo;
    size_t lo_n;
    int stop_at;
} got;

static void check_in(const got *g, promtext_str s)
{
    if (s.n)
        assert_true(s.p >= g->lo && s.p + s.n <= g->lo + g->lo_n);
}

static int collect(void *ud, const promtext_sample *s)
{
    got *g = ud;
    check_in(g, s->name);
    check_in(g, s->family);
    if (g->n < MAXS) {
        snprintf(g->s[g->n].name, 128, "%.*s", (int)s->name.n, s->name.p);
        snprintf(g->s[g->n].family, 128, "%.*s", (int)s->family.n, s->family.p);
        size_t k = 0;
        g->s[g->n].labels[0] = '\0';
        for (size_t i = 0; i < s->n_labels; i++) {
            check_in(g, s->labels[i].name);
            check_in(g, s->labels[i].value);
            char v[256];
            promtext_unescape(s->labels[i].value, v, sizeof v);
            k += (size_t)snprintf(g->s[g->n].labels + k, 512 - k, "%s%.*s=%s", i ? "," : "",
                                  (int)s->labels[i].name.n, s->labels[i].name.p, v);
            if (k >= 512)
                k = 511;
        }
        g->s[g->n].type = s->type;
        g->s[g->n].role = s->role;
        g->s[g->n].bound = s->bound;
        g->s[g->n].value = s->value;
        g->s[g->n].has_ts = s->has_timestamp;
        g->s[g->n].ts = s->timestamp_ms;
    }
    g->n++;
    return g->stop_at && (int)g->n == g->stop_at ? 7 : 0;
}

static int parse(const char *text, size_t len, got *g, promtext_stats *st)
{
    memset(g, 0, sizeof *g);
    g->lo = text;
    g->lo_n = len;
    return promtext_parse(text, len, collect, g, st);
}

static int parse_str(const char *text, got *g, promtext_stats *st)
{
    return parse(text, strlen(text), g, st);
}

/* The first sample named name, or fail. */
static size_t find(const got *g, const char *name, const char *labels)
{
    for (size_t i = 0; i < g->n && i < MAXS; i++)
        if (strcmp(g->s[i].name, name) == 0 && (!labels || strstr(g->s[i].labels, labels)))
            return i;
    fail_msg("no sample %s %s", name, labels ? labels : "");
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* ---- the engines' own exposition ---- */

static void fixture(const char *name, got *g, promtext_stats *st, uint64_t samples)
{
    char path[256];
    snprintf(path, sizeof path, FIXDIR "%s.prom", name);
    size_t len;
    char *text = slurp(path, &len);
    assert_int_equal(parse(text, len, g, st), 0);
    assert_int_equal(st->bad, 0);
    assert_int_equal(st->samples, samples);
    free(text);
}

static void test_vllm(void **state)
{
    static got g;
    promtext_stats st;
    fixture("vllm", &g, &st, 30);
    size_t i = find(&g, "vllm:num_requests_running", NULL);
    assert_int_equal(g.s[i].type, PROMTEXT_GAUGE);
    assert_true(g.s[i].value == 12.0);
    assert_string_equal(g.s[i].labels, "engine=0,model_name=meta-llama/Llama-3.1-8B-Instruct");
    i = find(&g, "vllm:kv_cache_usage_perc", NULL);
    assert_true(g.s[i].value == 0.4375);
    i = find(&g, "vllm:prefix_cache_hits_total", NULL);
    assert_int_equal(g.s[i].type, PROMTEXT_COUNTER);
    assert_true(g.s[i].value == 5120.0);
    i = find(&g, "vllm:time_to_first_token_seconds_bucket", "le=0.04");
    assert_int_equal(g.s[i].type, PROMTEXT_HISTOGRAM);
    assert_int_equal(g.s[i].role, PROMTEXT_BUCKET);
    assert_string_equal(g.s[i].family, "vllm:time_to_first_token_seconds");
    assert_true(g.s[i].bound == 0.04 && g.s[i].value == 100.0);
    i = find(&g, "vllm:time_to_first_token_seconds_bucket", "le=+Inf");
    assert_true(isinf(g.s[i].bound) && g.s[i].bound > 0);
    i = find(&g, "vllm:time_to_first_token_seconds_sum", NULL);
    assert_int_equal(g.s[i].role, PROMTEXT_SUM);
    assert_true(g.s[i].value == 12.25);
    i = find(&g, "vllm:time_to_first_token_seconds_count", NULL);
    assert_int_equal(g.s[i].role, PROMTEXT_COUNT);
    /* A histogram family whose name ends in _total (iteration tokens) is still a histogram. */
    i = find(&g, "vllm:iteration_tokens_total_bucket", "le=8.0");
    assert_string_equal(g.s[i].family, "vllm:iteration_tokens_total");
    assert_true(g.s[i].bound == 8.0);
    i = find(&g, "process_start_time_seconds", NULL);
    assert_true(g.s[i].value == 1.76466303597e+09);
}

static void test_sglang(void **state)
{
    static got g;
    promtext_stats st;
    fixture("sglang", &g, &st, 12);
    assert_true(g.s[find(&g, "sglang:token_usage", NULL)].value == 0.97);
    assert_true(g.s[find(&g, "sglang:cache_hit_rate", NULL)].value == 0.25);
    assert_true(g.s[find(&g, "sglang:prompt_tokens_total", NULL)].value == 8.128e6);
}

static void test_tgi(void **state)
{
    static got g;
    promtext_stats st;
    fixture("tgi", &g, &st, 18);
    size_t i = find(&g, "tgi_queue_size", NULL);
    assert_true(g.s[i].value == 4 && g.s[i].type == PROMTEXT_GAUGE);
    i = find(&g, "tgi_batch_inference_duration", "quantile=0.9");
    assert_int_equal(g.s[i].type, PROMTEXT_SUMMARY);
    assert_int_equal(g.s[i].role, PROMTEXT_QUANTILE);
    assert_true(g.s[i].bound == 0.9 && g.s[i].value == 0.023);
    i = find(&g, "tgi_batch_inference_duration", "quantile=1");
    assert_true(isnan(g.s[i].value));
    i = find(&g, "tgi_batch_inference_duration_count", NULL);
    assert_int_equal(g.s[i].role, PROMTEXT_COUNT);
    assert_true(g.s[i].value == 9800);
    i = find(&g, "tgi_request_queue_duration_bucket", "le=0.00001");
    assert_true(g.s[i].bound == 0.00001);
}

static void test_llamacpp(void **state)
{
    static got g;
    promtext_stats st;
    fixture("llamacpp", &g, &st, 10);
    size_t i = find(&g, "llamacpp:requests_deferred", NULL);
    assert_true(g.s[i].value == 1 && g.s[i].type == PROMTEXT_GAUGE && g.s[i].labels[0] == '\0');
    assert_true(g.s[find(&g, "llamacpp:tokens_predicted_total", NULL)].type == PROMTEXT_COUNTER);
}

static void test_dcgm(void **state)
{
    static got g;
    promtext_stats st;
    fixture("dcgm", &g, &st, 12);
    size_t i = find(&g, "DCGM_FI_DEV_GPU_UTIL", "gpu=1");
    assert_true(g.s[i].value == 94);
    assert_non_null(strstr(g.s[i].labels, "modelName=NVIDIA A100-SXM4-80GB"));
    i = find(&g, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "gpu=0");
    assert_int_equal(g.s[i].type, PROMTEXT_COUNTER);
    assert_true(g.s[i].value == 2617838261.0);
    assert_true(g.s[find(&g, "DCGM_FI_PROF_SM_ACTIVE", "gpu=0")].value == 0.912345);
}

/* Every prefix of every fixture, ending where an inaccessible page begins: the parser never
 * reads past len, whatever line it is cut in. */
static void test_prefixes_guarded(void **state)
{
    static const char *const names[] = {"vllm", "sglang", "tgi", "llamacpp", "dcgm", "trtllm"};
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t usable = 2 * pg;
    char *base = mmap(NULL, usable + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(base != MAP_FAILED);
    assert_int_equal(mprotect(base + usable, pg, PROT_NONE), 0);
    static got g;
    for (size_t f = 0; f < sizeof names / sizeof names[0]; f++) {
        char path[256];
        snprintf(path, sizeof path, FIXDIR "%s.prom", names[f]);
        size_t len;
        char *text = slurp(path, &len);
        assert_true(len <= usable);
        for (size_t k = 0; k <= len; k++) {
            char *p = base + usable - k;
            memcpy(p, text, k);
            promtext_stats st;
            assert_int_equal(parse(p, k, &g, &st), 0);
            /* Only the cut line may be bad. */
            assert_true(st.bad <= 1);
        }
        free(text);
    }
    munmap(base, usable + pg);
}

/* ---- grammar ---- */

static void test_values_and_timestamps(void **state)
{
    static got g;
    promtext_stats st;
    assert_int_equal(parse_str("a 1\nb +Inf\nc -Inf\nd NaN\ne 1.5e-3 1700000000000\nf -2 -5\n"
                               "g\t3\t \n  h 4\ni 0x10\nj inf\n",
                               &g, &st),
                     0);
    assert_int_equal(st.bad, 0);
    assert_int_equal(g.n, 10);
    assert_true(g.s[0].value == 1 && !g.s[0].has_ts && g.s[0].type == PROMTEXT_UNTYPED);
    assert_true(isinf(g.s[1].value) && g.s[1].value > 0);
    assert_true(isinf(g.s[2].value) && g.s[2].value < 0);
    assert_true(isnan(g.s[3].value));
    assert_true(g.s[4].value == 1.5e-3 && g.s[4].has_ts && g.s[4].ts == 1700000000000LL);
    assert_true(g.s[5].value == -2 && g.s[5].ts == -5);
    assert_true(g.s[6].value == 3);
    assert_string_equal(g.s[7].name, "h");
    assert_true(g.s[8].value == 16); /* Go's ParseFloat takes hex too */
    assert_true(isinf(g.s[9].value));
}

static void test_labels_and_escapes(void **state)
{
    static got g;
    promtext_stats st;
    assert_int_equal(parse_str("m{a=\"x\\\"y\",b=\"back\\\\slash\",c=\"two\\nlines\"} 1\n"
                               "m{ a = \"1\" , b=\"2\", } 2\n"
                               "m{} 3\n"
                               "m{path=\"C:\\\\dir{}\",u=\"\xc3\xa9t\xc3\xa9\"} 4\n"
                               "ns:sub:name_x{_l9=\"\"} 5\n",
                               &g, &st),
                     0);
    assert_int_equal(st.bad, 0);
    assert_int_equal(g.n, 5);
    assert_string_equal(g.s[0].labels, "a=x\"y,b=back\\slash,c=two\nlines");
    assert_string_equal(g.s[1].labels, "a=1,b=2");
    assert_string_equal(g.s[2].labels, "");
    assert_string_equal(g.s[3].labels, "path=C:\\dir{},u=\xc3\xa9t\xc3\xa9");
    assert_string_equal(g.s[4].name, "ns:sub:name_x");
    assert_string_equal(g.s[4].labels, "_l9=");
    char small[4];
    promtext_str v = {"abcdef", 6};
    assert_int_equal(promtext_unescape(v, small, sizeof small), 6);
    assert_string_equal(small, "abc");
}

static void test_help_type_comments(void **state)
{
    static got g;
    promtext_stats st;
    assert_int_equal(parse_str("# a comment\n#\n# HELP x doc with \\\\ and \\n escapes\n"
                               "# HELP y\n# TYPE x counter\nx_total 4\nx 5\n"
                               "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                               "h_sum 3\nh_count 2\nh_other 9\n"
                               "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n"
                               "# TYPE u untyped\nu 1\n# TYPE g gauge\ng 2\nother 3\n# TYPE\tt\tgauge\nt 1\n",
                               &g, &st),
                     0);
    assert_int_equal(st.bad, 0);
    assert_int_equal(g.n, 14);
    assert_true(g.s[0].type == PROMTEXT_COUNTER && strcmp(g.s[0].family, "x") == 0);
    assert_true(g.s[1].type == PROMTEXT_COUNTER);
    assert_true(g.s[2].role == PROMTEXT_BUCKET && g.s[2].bound == 1);
    assert_true(g.s[4].role == PROMTEXT_SUM && g.s[5].role == PROMTEXT_COUNT);
    /* Not of the family: its own untyped series. */
    assert_true(g.s[6].type == PROMTEXT_UNTYPED && strcmp(g.s[6].family, "h_other") == 0);
    assert_true(g.s[7].role == PROMTEXT_QUANTILE && g.s[7].bound == 0.5);
    assert_true(g.s[8].role == PROMTEXT_SUM && g.s[9].role == PROMTEXT_COUNT);
    assert_true(g.s[10].type == PROMTEXT_UNTYPED && g.s[11].type == PROMTEXT_GAUGE);
    assert_true(g.s[12].type == PROMTEXT_UNTYPED);
    assert_true(g.s[13].type == PROMTEXT_GAUGE);
    assert_int_equal(st.lines, 24);
}

/* Each bad line is counted once and skipped; the good line after it still arrives. */
static void test_bad_lines(void **state)
{
    static const char *const bad[] = {
        "1abc 1",                 /* name starts with a digit */
        "abc",                    /* no value */
        "abc{} ",                 /* no value after the braces */
        "abc 1 2 3",              /* too many fields */
        "abc one",                /* not a number */
        "abc 1 1.5",              /* timestamp not an integer */
        "abc 1 99999999999999999999", /* timestamp overflows int64 */
        "abc{a=\"1\"",            /* unclosed labels */
        "abc{a=\"1} 1",           /* unclosed quote */
        "abc{a=1} 1",             /* unquoted value */
        "abc{a:b=\"1\"} 1",       /* colon in a label name */
        "abc{a=\"1\",a=\"2\"} 1", /* label named twice */
        "abc{a=\"\\x\"} 1",       /* unknown escape */
        "abc{a=\"1\"}1",          /* no blank before the value */
        "abc{,} 1",               /* empty pair */
        "abc nan(1)",             /* strtod's nan(...) form */
        "# TYPE abc",             /* no type */
        "# TYPE abc meter",       /* unknown type */
        "# TYPE abc gauge extra", /* junk after the type */
        "# HELP abc bad \\q escape",
        "# TYPE h histogram\nh 1",          /* a histogram has no bare series */
        "# TYPE h histogram\nh_bucket 1",   /* bucket without le */
        "# TYPE h histogram\nh_bucket{le=\"x\"} 1",
        "# TYPE s summary\ns 1",            /* quantile missing */
        "abc 1234567890123456789012345678901234567890123456789012345678901234567890",
    };
    static got g;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s\nok_after 1\n", bad[i]);
        promtext_stats st;
        assert_int_equal(parse_str(text, &g, &st), 0);
        if (st.bad != 1 || g.n != 1 || strcmp(g.s[0].name, "ok_after") != 0)
            fail_msg("line %zu \"%s\": bad=%llu samples=%zu", i, bad[i], (unsigned long long)st.bad, g.n);
        assert_true(st.first_bad >= 1);
    }
    /* Too many labels. */
    char text[4096];
    size_t k = (size_t)snprintf(text, sizeof text, "m{");
    for (int i = 0; i <= PROMTEXT_MAX_LABELS; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "l%d=\"v\",", i);
    snprintf(text + k, sizeof text - k, "} 1\n");
    promtext_stats st;
    parse_str(text, &g, &st);
    assert_int_equal(st.bad, 1);
    assert_int_equal(g.n, 0);
}

static void test_crlf_last_line_nul(void **state)
{
    static got g;
    promtext_stats st;
    assert_int_equal(parse_str("a 1\r\nb 2\r\nc 3", &g, &st), 0);
    assert_int_equal(st.bad, 0);
    assert_int_equal(g.n, 3);
    assert_true(g.s[2].value == 3);
    /* A NUL byte inside a label value is data; one in a name breaks the line. */
    static const char withnul[] = "a{x=\"1\0002\"} 1\nb\0c 2\nd 3\n";
    assert_int_equal(parse(withnul, sizeof withnul - 1, &g, &st), 0);
    assert_int_equal(st.bad, 1);
    assert_int_equal(g.n, 2);
    assert_int_equal(promtext_parse("", 0, NULL, NULL, &st), 0);
    assert_int_equal(st.lines, 0);
}

static void test_callback_stops(void **state)
{
    static got g;
    promtext_stats st;
    memset(&g, 0, sizeof g);
    g.stop_at = 2;
    const char *t = "a 1\nb 2\nc 3\n";
    g.lo = t;
    g.lo_n = strlen(t);
    assert_int_equal(promtext_parse(t, strlen(t), collect, &g, &st), 7);
    assert_int_equal(g.n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vllm),
        cmocka_unit_test(test_sglang),
        cmocka_unit_test(test_tgi),
        cmocka_unit_test(test_llamacpp),
        cmocka_unit_test(test_dcgm),
        cmocka_unit_test(test_prefixes_guarded),
        cmocka_unit_test(test_values_and_timestamps),
        cmocka_unit_test(test_labels_and_escapes),
        cmocka_unit_test(test_help_type_comments),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_crlf_last_line_nul),
        cmocka_unit_test(test_callback_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
