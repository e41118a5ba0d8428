/* Unit tests for the clock: a kernel receive timestamp (wall clock) lands on the monotonic clock at
 * now minus its age, never after now and never below 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <time.h>

#include "llmload/clock.h"

#define MS 1000000LL

/* The wall clock `ago_ns` before now, as the kernel would stamp it. */
static struct timespec wall_ago(int64_t ago_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec - ago_ns;
    ts.tv_sec = (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return ts;
}

static void test_age_is_kept(void **state)
{
    (void)state;
    for (int64_t ago = 0; ago <= 50 * MS; ago += 5 * MS) {
        struct timespec ts = wall_ago(ago);
        uint64_t now = clock_now_ns();
        uint64_t got = clock_mono_from_real(ts.tv_sec, ts.tv_nsec, now);
        assert_true(got <= now);
        /* The two clocks are read microseconds apart; a 1 ms margin holds on a busy machine. */
        int64_t err = (int64_t)(now - got) - ago;
        if (err < -MS || err > MS)
            fail_msg("%lld ns ago came out %lld ns ago", (long long)ago, (long long)(now - got));
    }
}

static void test_future_and_ancient_are_clamped(void **state)
{
    (void)state;
    struct timespec future = wall_ago(-10 * MS);
    uint64_t now = clock_now_ns();
    assert_int_equal(clock_mono_from_real(future.tv_sec, future.tv_nsec, now), now);
    /* Older than the monotonic clock's origin: 0, not a wrapped-around huge value. */
    struct timespec ancient = {.tv_sec = 0, .tv_nsec = 0};
    assert_int_equal(clock_mono_from_real(ancient.tv_sec, ancient.tv_nsec, 1000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_age_is_kept),
        cmocka_unit_test(test_future_and_ancient_are_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
