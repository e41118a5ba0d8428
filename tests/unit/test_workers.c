/* Unit tests for splitting a plan between worker loops: the shares add up to the plan, and the
 * union of the workers' constant-rate schedules is the one schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/arrival.h"
#include "llmload/workers.h"

static config cfg_with(long max_concurrency)
{
    config c;
    memset(&c, 0, sizeof c);
    c.max_concurrency = max_concurrency;
    return c;
}

static bench_plan plan_of(config_schedule s, double rate, long max_requests)
{
    bench_plan p;
    memset(&p, 0, sizeof p);
    p.schedule = s;
    p.rate = rate;
    p.max_requests = max_requests;
    p.seed = 7;
    return p;
}

static void test_closed_loop_shares(void **state)
{
    (void)state;
    config c = cfg_with(100);
    bench_plan p = plan_of(CONFIG_SCHED_CONCURRENT, 10, 0), out;
    long total = 0;
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(workers_split(&p, &c, 3, k, &out), 1);
        assert_in_range(out.concurrency, 3, 4); /* 4, 3, 3 */
        total += out.concurrency;
    }
    assert_int_equal(total, 10);
    /* Fewer streams than loops: the extra loops sit out. */
    p.rate = 2;
    assert_int_equal(workers_split(&p, &c, 3, 2, &out), 0);
    /* Throughput deals out max_concurrency. */
    p = plan_of(CONFIG_SCHED_THROUGHPUT, 0, 0);
    total = 0;
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(workers_split(&p, &c, 4, k, &out), 1);
        total += out.concurrency;
    }
    assert_int_equal(total, 100);
    /* Synchronous is one loop's job. */
    p = plan_of(CONFIG_SCHED_SYNCHRONOUS, 0, 0);
    assert_int_equal(workers_split(&p, &c, 2, 0, &out), 1);
    assert_int_equal(workers_split(&p, &c, 2, 1, &out), 0);
    /* ... with the whole request limit (not the first loop's share of it). */
    p = plan_of(CONFIG_SCHED_SYNCHRONOUS, 0, 5);
    assert_int_equal(workers_split(&p, &c, 2, 0, &out), 1);
    assert_int_equal(out.max_requests, 5);
}

static void test_request_limit_shares(void **state)
{
    (void)state;
    config c = cfg_with(64);
    bench_plan p = plan_of(CONFIG_SCHED_POISSON, 30, 10), out;
    long total = 0;
    uint64_t seeds[3];
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(workers_split(&p, &c, 3, k, &out), 1);
        total += out.max_requests;
        assert_float_equal(out.rate, 10.0, 1e-12);
        seeds[k] = out.seed;
    }
    assert_int_equal(total, 10);
    assert_true(seeds[0] != seeds[1] && seeds[1] != seeds[2]); /* independent processes */
    p.max_requests = 2;
    assert_int_equal(workers_split(&p, &c, 3, 2, &out), 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Three workers at rate 40/3 each, shifted by k/40, send exactly the arrivals k/40 of one loop. */
static void test_constant_union_is_the_schedule(void **state)
{
    (void)state;
    config c = cfg_with(64);
    bench_plan p = plan_of(CONFIG_SCHED_CONSTANT, 40, 0), out;
    enum { PER = 50, N = 3 };
    uint64_t all[PER * N];
    size_t n = 0;
    for (size_t k = 0; k < N; k++) {
        assert_int_equal(workers_split(&p, &c, N, k, &out), 1);
        arrival *a;
        assert_int_equal(arrival_create(&a, ARRIVAL_CONSTANT, out.rate, out.seed), 0);
        for (int i = 0; i < PER; i++)
            all[n++] = arrival_next_ns(a) + out.phase_ns;
        arrival_destroy(a);
    }
    qsort(all, n, sizeof all[0], cmp_u64);
    for (size_t i = 0; i < n; i++) {
        double want = (double)i * 1e9 / 40.0;
        if (all[i] + 2 < want || all[i] > want + 2) /* nanosecond rounding only */
            fail_msg("arrival %zu at %llu ns, want %.0f", i, (unsigned long long)all[i], want);
    }
}

/* --shard splits a plan the same way one level up, and --workers splits the shard's share again:
 * 2 shards of 2 loops each at 40/s must still send exactly the arrivals k/40 of one loop (each
 * loop's phase adds to its shard's), and the open-loop in-flight cap is divided twice, not reset
 * to the config's at the second split. */
static void test_shards_of_workers_union_is_the_schedule(void **state)
{
    (void)state;
    config c = cfg_with(64);
    bench_plan p = plan_of(CONFIG_SCHED_CONSTANT, 40, 0), shard, out;
    enum { PER = 40, S = 2, W = 2 };
    uint64_t all[PER * S * W];
    size_t n = 0;
    long cap = 0;
    for (size_t i = 0; i < S; i++) {
        assert_int_equal(workers_split(&p, &c, S, i, &shard), 1);
        for (size_t k = 0; k < W; k++) {
            assert_int_equal(workers_split(&shard, &c, W, k, &out), 1);
            cap += out.concurrency;
            arrival *a;
            assert_int_equal(arrival_create(&a, ARRIVAL_CONSTANT, out.rate, out.seed), 0);
            for (int j = 0; j < PER; j++)
                all[n++] = arrival_next_ns(a) + out.phase_ns;
            arrival_destroy(a);
        }
    }
    assert_int_equal(cap, 64);
    qsort(all, n, sizeof all[0], cmp_u64);
    for (size_t i = 0; i < n; i++) {
        double want = (double)i * 1e9 / 40.0;
        if (all[i] + 2 < want || all[i] > want + 2)
            fail_msg("arrival %zu at %llu ns, want %.0f", i, (unsigned long long)all[i], want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_loop_shares),
        cmocka_unit_test(test_request_limit_shares),
        cmocka_unit_test(test_constant_union_is_the_schedule),
        cmocka_unit_test(test_shards_of_workers_union_is_the_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
