/*
 * clock.c - monotonic clock with a test hook.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "clock.h"

#include <time.h>

static uint64_t
monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Set once at start-up (or by a test); read by every thread. */
static sy_clock_fn clock_fn = monotonic_us;

uint64_t
sy_now_us(void)
{
    return clock_fn();
}

uint64_t
sy_now_ms(void)
{
    return clock_fn() / 1000u;
}

/* Replace the clock ('fn' = NULL restores the real one). Tests only. */
void
sy_clock_set(sy_clock_fn fn)
{
    clock_fn = fn ? fn : monotonic_us;
}

/* Wall-clock milliseconds: for what several hosts must agree on (the
 * latency slices shared in Redis), never for durations. */
uint64_t
sy_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wall-clock seconds, for timestamps shown to people ("created"), never
 * for durations. */
uint64_t
sy_wall_s(void)
{
    return (uint64_t)time(NULL);
}
