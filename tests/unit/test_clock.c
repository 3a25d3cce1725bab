/*
 * test_clock.c - unit tests for core/base/clock.c: an injected clock replaces
 * the monotonic one for sy_now_us/sy_now_ms, NULL restores it.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/clock.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

static uint64_t fake_us;
static unsigned fake_calls;

static uint64_t
fake_clock(void)
{
    fake_calls++;
    return fake_us;
}

static int
restore_clock(void **state)
{
    (void)state;
    sy_clock_set(NULL);
    return 0;
}

static void
test_injected_clock(void **state)
{
    (void)state;
    fake_us = 1234567;
    fake_calls = 0;
    sy_clock_set(fake_clock);
    assert_int_equal(sy_now_us(), 1234567);
    assert_int_equal(sy_now_ms(), 1234);
    assert_int_equal(fake_calls, 2);
    /* Time moves only when the test says so. */
    assert_int_equal(sy_now_us(), 1234567);
    fake_us += 999;
    assert_int_equal(sy_now_us(), 1235566);
    assert_int_equal(sy_now_ms(), 1235);
    fake_us = 0;
    assert_int_equal(sy_now_ms(), 0);
    /* Large values (a long-running host) do not wrap. */
    fake_us = UINT64_C(1) << 60;
    assert_true(sy_now_ms() == (UINT64_C(1) << 60) / 1000u);
}

static void
test_restore_real_clock(void **state)
{
    (void)state;
    fake_us = 42;
    sy_clock_set(fake_clock);
    assert_int_equal(sy_now_us(), 42);
    sy_clock_set(NULL);
    fake_calls = 0;
    uint64_t a = sy_now_us();
    /* The real clock is CLOCK_MONOTONIC, in microseconds. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ref =
        (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    uint64_t b = sy_now_us();
    assert_int_equal(fake_calls, 0);
    assert_true(a <= ref + 1);
    assert_true(ref <= b);
    assert_true(b - a < 5000000u);
    /* Monotonic: never goes back. */
    uint64_t prev = sy_now_us();
    for (int i = 0; i < 1000; i++) {
        uint64_t now = sy_now_us();
        assert_true(now >= prev);
        prev = now;
    }
    assert_true(sy_now_ms() >= b / 1000u);
}

static void
test_wall_clock(void **state)
{
    (void)state;
    /* sy_wall_s is wall time (for "created"), not the injected clock. */
    fake_us = 5;
    sy_clock_set(fake_clock);
    time_t before = time(NULL);
    uint64_t w = sy_wall_s();
    time_t after = time(NULL);
    assert_true(w >= (uint64_t)before);
    assert_true(w <= (uint64_t)after);
    assert_true(w > 1600000000u);
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_injected_clock, restore_clock),
        cmocka_unit_test_teardown(test_restore_real_clock, restore_clock),
        cmocka_unit_test_teardown(test_wall_clock, restore_clock),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
