/*
 * breaker_fixture.h - what the breaker tests share: the injected clock
 * (sy_clock_set to a fake that tests advance by hand), injected
 * randomness (a fixed sequence, or a xorshift stream) and the breaker
 * configuration of every test. Included by test_breaker.c and
 * test_breaker_script.c; it includes core/state/breaker.c so they can
 * reach its static functions.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_TESTS_UNIT_BREAKER_FIXTURE_H
#define SY_TESTS_UNIT_BREAKER_FIXTURE_H

#include "state/breaker.c"
#include "base/clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static uint64_t fake_us;

SY_UNUSED static uint64_t
fake_clock(void)
{
    return fake_us;
}

SY_UNUSED static void
advance_ms(uint64_t ms)
{
    fake_us += ms * 1000u;
}

/* Each test starts at a fixed, epoch-like time on the fake clock. */
SY_UNUSED static int
setup_clock(void **state)
{
    (void)state;
    fake_us = UINT64_C(1700000000000) * 1000u;
    sy_clock_set(fake_clock);
    return 0;
}

SY_UNUSED static int
restore_clock(void **state)
{
    (void)state;
    sy_clock_set(NULL);
    return 0;
}

/* Injected randomness: returns the values of 'seq' in turn. */
struct fixed_rand {
    const uint32_t *seq;
    size_t n;
    size_t next;
};

SY_UNUSED static uint32_t
fixed_rand(void *ud)
{
    struct fixed_rand *r = ud;
    uint32_t v = r->seq[r->next % r->n];
    r->next++;
    return v;
}

static uint64_t xs = 0x9e3779b97f4a7c15u;

SY_UNUSED static uint32_t
xorshift(void *ud)
{
    (void)ud;
    xs ^= xs << 13;
    xs ^= xs >> 7;
    xs ^= xs << 17;
    return (uint32_t)(xs >> 32);
}

SY_UNUSED static struct sy_breaker_conf
test_conf(void)
{
    struct sy_breaker_conf c;
    sy_breaker_conf_defaults(&c);
    c.consecutive = 5;
    c.min_requests = 10;
    c.failure_pct = 50;
    c.window_ms = 10000;
    c.open_ms = 1000;
    c.open_max_ms = 8000;
    c.jitter_pct = 50;
    c.probe_ms = 3000;
    return c;
}

#endif
