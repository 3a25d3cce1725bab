/*
 * test_hedge_pair.c - the hedged pair's own rules
 * (core/serve/pipeline_hedge.c): a first attempt that started before
 * any delay could be known is asked again while it waits
 * (sy_hedge_next_ask_ms; it was asked never, its delay looked for once,
 * at its start), and a first attempt on a deployment still being
 * learned has its delay moved on the picture of the learned one the
 * hedge would go to (sy_hedge_delay_moved_ms; it was hedged at the
 * base, a learned peer's p95, and such hedges mostly lost).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "serve/router.h"
#include "state/hedge.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

static struct sy_dep_view
ttft(uint32_t samples, uint32_t p50, uint32_t p95, uint32_t p99)
{
    struct sy_dep_view v;
    memset(&v, 0, sizeof(v));
    v.samples = samples;
    v.ttft_p50_ms = p50;
    v.ttft_p95_ms = p95;
    v.ttft_p99_ms = p99;
    return v;
}

/* A first deployment with no picture (under SY_HEDGE_MIN_SAMPLES, never
 * seen before) is fitted on the next one's: a light tail there (p50
 * 220, p95 395, p99 500), so a wait at the base (its p95) is hedged
 * only from the fit's 99.9th percentile, about 660 ms, not at 395. */
static void
test_moved_learning(void **state)
{
    (void)state;
    struct sy_dep_view next = ttft(200, 220, 395, 500);
    struct sy_dep_view none = ttft(0, 0, 0, 0);
    struct sy_dep_view few = ttft(SY_HEDGE_MIN_SAMPLES - 1, 120, 300, 300);
    uint32_t light = sy_hedge_delay_tail_ms(395, &next, 220);
    assert_true(light >= 650 && light <= 670);
    assert_int_equal(sy_hedge_delay_moved_ms(395, &none, &next), light);
    assert_int_equal(sy_hedge_delay_moved_ms(395, &few, &next), light);
    assert_int_equal(sy_hedge_delay_moved_ms(395, NULL, &next), light);
    /* Its last live picture is a picture: its own. */
    struct sy_dep_view quiet = none;
    quiet.known = (struct sy_dep_known){ .samples = 90,
                                         .ttft_p50_ms = 120,
                                         .ttft_p95_ms = 1440,
                                         .ttft_p99_ms = 4000 };
    assert_int_equal(sy_hedge_delay_moved_ms(395, &quiet, &next), 395);
}

/* A first deployment with a picture: moved on its own, as
 * sy_hedge_delay_tail_ms (a heavy tail at the base, a light one
 * later); no next candidate: the base. */
static void
test_moved_known(void **state)
{
    (void)state;
    struct sy_dep_view next = ttft(200, 220, 395, 500);
    struct sy_dep_view heavy = ttft(200, 120, 1440, 4000);
    struct sy_dep_view light = ttft(200, 200, 380, 480);
    assert_int_equal(sy_hedge_delay_moved_ms(395, &heavy, &next), 395);
    assert_int_equal(sy_hedge_delay_moved_ms(395, &light, &next),
                     sy_hedge_delay_tail_ms(395, &light, 220));
    assert_int_equal(sy_hedge_delay_moved_ms(395, &light, NULL), 395);
    struct sy_dep_view none = ttft(0, 0, 0, 0);
    assert_int_equal(sy_hedge_delay_moved_ms(395, &none, NULL), 395);
    assert_int_equal(sy_hedge_delay_moved_ms(0, &light, &next), 0);
}

/* No delay yet: asked again after as long as it has waited (at least
 * SY_HEDGE_PENDING_ASK_MS, at most SY_HEDGE_PENDING_ASK_MAX_MS). */
static void
test_pending(void **state)
{
    (void)state;
    assert_int_equal(sy_hedge_next_ask_ms(0, 0, 0), SY_HEDGE_PENDING_ASK_MS);
    assert_int_equal(sy_hedge_next_ask_ms(0, 0, 100), 200);
    assert_int_equal(sy_hedge_next_ask_ms(0, 0, 400), 800);
    assert_int_equal(sy_hedge_next_ask_ms(0, 0, 1234),
                     1234 + SY_HEDGE_PENDING_ASK_MAX_MS);
    /* A wait of 1.6 s (the benchmark's bad-tail, a heavy-tailed
     * deployment's first streams) is asked at 0.1, 0.2, 0.4 and 0.8 s
     * while it waits, not never; a wait of 60 s some 64 times, not 600
     * (each look copies the state's views under its lock). */
    unsigned asks = 0;
    for (uint64_t t = sy_hedge_next_ask_ms(0, 0, 0); t > 0 && t < 1600;
         t = sy_hedge_next_ask_ms(0, 0, t))
        asks++;
    assert_int_equal(asks, 4);
    asks = 0;
    for (uint64_t t = sy_hedge_next_ask_ms(0, 0, 0); t > 0;
         t = sy_hedge_next_ask_ms(0, 0, t))
        asks++;
    assert_true(asks >= 60 && asks <= 65);
    /* Up to 60 s, as for a refused hedge. */
    assert_int_equal(sy_hedge_next_ask_ms(0, 0, 59000), 60000);
    assert_int_equal(sy_hedge_next_ask_ms(0, 0, 59001), 0);
}

/* A delay known: as sy_hedge_again_ms (asked at the delay, then a base
 * later each time). */
static void
test_known(void **state)
{
    (void)state;
    static const uint32_t cases[][3] = {
        { 400, 900, 400 }, { 400, 900, 900 }, { 400, 900, 1300 },
        { 0, 500, 500 },   { 20, 20, 20 },    { 400, 900, 59601 },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++)
        assert_int_equal(
            sy_hedge_next_ask_ms(cases[i][0], cases[i][1], cases[i][2]),
            sy_hedge_again_ms(cases[i][0], cases[i][1], cases[i][2]));
    assert_int_equal(sy_hedge_next_ask_ms(400, 900, 400), 900);
    assert_int_equal(sy_hedge_next_ask_ms(400, 900, 900), 1300);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending),
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_moved_learning),
        cmocka_unit_test(test_moved_known),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
