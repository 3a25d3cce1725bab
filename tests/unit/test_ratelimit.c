/*
 * test_ratelimit.c - unit tests for core/state/ratelimit.c: the sliding window
 * estimate, all-or-nothing reservations, settling, parking and the retry
 * hint on the local windows (time is an argument); then the Lua script
 * against a real redis-server: two workers share limits, a refusal
 * charges nothing, settle and park, counters expire, and the script
 * agrees with the C code on a long random sequence. Uses the
 * redis-server harness of redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/ratelimit.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static struct redis_srv srv;

static int
group_setup(void **state)
{
    (void)state;
    return redis_group_setup(&srv, "test_ratelimit");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

static uint64_t xs = 0x2545f4914f6cdd1du;

static uint32_t
rnd(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 7;
    xs ^= xs << 17;
    return (uint32_t)(xs >> 32);
}

#define T0  UINT64_C(1700000040000) /* a window boundary for 60 s */
#define MIN 60000u

/* ------------------------------------------------------------------ */
/* Pure logic                                                          */

static void
test_estimate(void **state)
{
    (void)state;
    assert_int_equal(sy_ratelimit_estimate(100, 10, MIN, 0), 110);
    assert_int_equal(sy_ratelimit_estimate(100, 10, MIN, 30000), 60);
    assert_int_equal(sy_ratelimit_estimate(100, 10, MIN, 59999), 10);
    assert_int_equal(sy_ratelimit_estimate(100, 10, MIN, 60000), 10);
    assert_int_equal(sy_ratelimit_estimate(100, 10, 0, 5), 10);
    /* No overflow with absurd counters. */
    assert_true(sy_ratelimit_estimate(UINT64_MAX / 2, 0, MIN, 30000) >
                UINT64_MAX / 5);
    assert_int_equal(sy_ratelimit_local_limit(1000, 4), 250);
    assert_int_equal(sy_ratelimit_local_limit(3, 4), 1);
    assert_int_equal(sy_ratelimit_local_limit(0, 4), 0);
    assert_int_equal(sy_ratelimit_local_limit(7, 0), 7);
}

static void
test_local_all_or_nothing(void **state)
{
    (void)state;
    struct sy_ratelimit_window rpm = { 0 };
    struct sy_ratelimit_window tpm = { 0 };
    struct sy_ratelimit_window *w[2] = { &rpm, &tpm };
    struct sy_ratelimit_item it[2] = { { "k:rpm", 3, 1 },
                                       { "k:tpm", 1000, 400 } };
    struct sy_ratelimit_result r;
    uint64_t now = T0 + 1000;

    sy_ratelimit_local_reserve(w, it, 2, MIN, now, &r);
    assert_true(r.allowed);
    assert_int_equal(r.refused, -1);
    assert_int_equal(r.window_id, T0 / MIN);
    sy_ratelimit_local_reserve(w, it, 2, MIN, now, &r);
    assert_true(r.allowed);
    /* The third does not fit in tokens: nothing is charged. */
    sy_ratelimit_local_reserve(w, it, 2, MIN, now, &r);
    assert_false(r.allowed);
    assert_int_equal(r.refused, 1);
    assert_false(r.parked);
    assert_int_equal(rpm.cur, 2);
    assert_int_equal(tpm.cur, 800);
    /* No previous window to decay: wait for the window to end. */
    assert_int_equal(r.retry_after_ms, MIN - 1000);
    /* A smaller request still fits. */
    it[1].cost = 200;
    sy_ratelimit_local_reserve(w, it, 2, MIN, now, &r);
    assert_true(r.allowed);
    /* Now requests per minute refuse first. */
    sy_ratelimit_local_reserve(w, it, 2, MIN, now, &r);
    assert_false(r.allowed);
    assert_int_equal(r.refused, 0);
    /* Unlimited items are never refused nor charged. */
    struct sy_ratelimit_window free_w = { 0 };
    struct sy_ratelimit_window *wf[1] = { &free_w };
    struct sy_ratelimit_item unl = { "x", 0, 5 };
    sy_ratelimit_local_reserve(wf, &unl, 1, MIN, now, &r);
    assert_true(r.allowed);
    assert_int_equal(free_w.cur, 0);
}

/* The window slides: right after a full minute, the previous minute still
 * weighs almost fully; the retry hint is exact: one ms earlier the
 * request does not fit, at the hint it does. */
static void
test_local_sliding_and_hint(void **state)
{
    (void)state;
    struct sy_ratelimit_window tpm = { 0 };
    struct sy_ratelimit_window *w[1] = { &tpm };
    struct sy_ratelimit_item it = { "k:tpm", 1000, 100 };
    struct sy_ratelimit_result r;
    uint64_t now = T0;
    for (int i = 0; i < 10; i++) {
        sy_ratelimit_local_reserve(w, &it, 1, MIN, now + (uint64_t)i, &r);
        assert_true(r.allowed);
    }
    sy_ratelimit_local_reserve(w, &it, 1, MIN, now + 10, &r);
    assert_false(r.allowed);
    /* Next window, 5 s in: the previous 1000 still count 916; 100 more
     * fit once they count 900, i.e. at 5.941 s. */
    now = T0 + MIN + 5000;
    sy_ratelimit_local_reserve(w, &it, 1, MIN, now, &r);
    assert_false(r.allowed);
    assert_int_equal(r.refused, 0);
    uint32_t hint = r.retry_after_ms;
    assert_int_equal(hint, 941);
    sy_ratelimit_local_reserve(w, &it, 1, MIN, now + hint - 1, &r);
    assert_false(r.allowed);
    sy_ratelimit_local_reserve(w, &it, 1, MIN, now + hint, &r);
    assert_true(r.allowed);
    /* Random checks of the same property. */
    for (int k = 0; k < 200; k++) {
        struct sy_ratelimit_window x = { 0 };
        struct sy_ratelimit_window *wx[1] = { &x };
        struct sy_ratelimit_item ix = { "r", 500 + rnd() % 5000, 0 };
        uint64_t base = T0 + (uint64_t)k * 10 * MIN;
        x.id = base / MIN - 1;
        x.cur = ix.limit / 2 + rnd() % ix.limit; /* the previous window */
        uint64_t t = base + rnd() % MIN;
        ix.cost = 1 + rnd() % (ix.limit / 2);
        sy_ratelimit_local_reserve(wx, &ix, 1, MIN, t, &r);
        if (r.allowed)
            continue;
        uint64_t at = t + r.retry_after_ms;
        if (at / MIN == base / MIN) {
            struct sy_ratelimit_window y = x;
            struct sy_ratelimit_window *wy[1] = { &y };
            sy_ratelimit_local_reserve(wy, &ix, 1, MIN, at, &r);
            assert_true(r.allowed);
            y = x;
            sy_ratelimit_local_reserve(wy, &ix, 1, MIN, at - 1, &r);
            assert_false(r.allowed);
        }
    }
    /* A request bigger than the whole limit goes only into an empty
     * window. */
    struct sy_ratelimit_window e = { 0 };
    struct sy_ratelimit_window *we[1] = { &e };
    struct sy_ratelimit_item huge = { "h", 1000, 5000 };
    sy_ratelimit_local_reserve(we, &huge, 1, MIN, T0, &r);
    assert_true(r.allowed);
    sy_ratelimit_local_reserve(we, &huge, 1, MIN, T0 + 1, &r);
    assert_false(r.allowed);
}

static void
test_local_settle_and_park(void **state)
{
    (void)state;
    struct sy_ratelimit_window tpm = { 0 };
    struct sy_ratelimit_window *w[1] = { &tpm };
    struct sy_ratelimit_item it = { "k:tpm", 10000, 400 };
    struct sy_ratelimit_result r;
    sy_ratelimit_local_reserve(w, &it, 1, MIN, T0 + 5, &r);
    uint64_t wid = r.window_id;
    uint64_t used = 650;
    sy_ratelimit_local_settle(w, &it, &used, 1, wid);
    assert_int_equal(tpm.cur, 650);
    sy_ratelimit_local_reserve(w, &it, 1, MIN, T0 + 6, &r);
    used = 100;
    sy_ratelimit_local_settle(w, &it, &used, 1, wid);
    assert_int_equal(tpm.cur, 750);
    /* Settled after the window rolled: the previous counter moves. */
    sy_ratelimit_local_reserve(w, &it, 1, MIN, T0 + MIN, &r);
    used = 0;
    sy_ratelimit_local_settle(w, &it, &used, 1, wid);
    assert_int_equal(tpm.prev, 350);
    assert_int_equal(tpm.cur, 400);
    /* Never below zero; windows long gone are left alone. */
    used = 0;
    it.cost = 100000;
    sy_ratelimit_local_settle(w, &it, &used, 1, wid + 1);
    assert_int_equal(tpm.cur, 0);
    sy_ratelimit_local_settle(w, &it, &used, 1, wid - 5);
    assert_int_equal(tpm.prev, 350);

    /* Park: refused with the time left; never shortened. */
    struct sy_ratelimit_window key = { 0 };
    struct sy_ratelimit_window *wk[1] = { &key };
    struct sy_ratelimit_item unl = { "pk", 0, 1 };
    sy_ratelimit_local_park(&key, T0, 30000);
    sy_ratelimit_local_park(&key, T0, 1000);
    sy_ratelimit_local_reserve(wk, &unl, 1, MIN, T0 + 10000, &r);
    assert_false(r.allowed);
    assert_true(r.parked);
    assert_int_equal(r.refused, 0);
    assert_int_equal(r.retry_after_ms, 20000);
    sy_ratelimit_local_reserve(wk, &unl, 1, MIN, T0 + 30000, &r);
    assert_true(r.allowed);
}

/* ------------------------------------------------------------------ */
/* The Lua script against redis-server                                 */

static void
flush(struct sy_store *s)
{
    assert_int_equal(sy_store_commandl(s, NULL, NULL, "FLUSHDB", NULL), SY_OK);
}

static int64_t
counter(struct sy_store *s, const char *name, uint64_t wid)
{
    char key[256];
    snprintf(key, sizeof(key), "t:rl:{%s}:%llu", name, (unsigned long long)wid);
    struct sy_arena a;
    sy_arena_init(&a, 256);
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(s, &a, &v, "GET", key, NULL), SY_OK);
    int64_t x = 0;
    if (v->type != SY_STORE_NIL)
        assert_true(sy_store_val_int(v, &x));
    sy_arena_cleanup(&a);
    return x;
}

static void
test_script_two_workers(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *w1 = store_on(srv.port, NULL);
    struct sy_store *w2 = store_on(srv.port, NULL);
    flush(w1);
    struct sy_ratelimit_item it[2] = { { "vk:a:rpm", 5, 1 },
                                       { "pk:openai#1:tpm", 100000, 10 } };
    struct sy_ratelimit_result r;
    int allowed = 0;
    for (int i = 0; i < 8; i++) {
        assert_int_equal(
            sy_ratelimit_reserve(i % 2 ? w1 : w2, it, 2, MIN, T0 + 100, &r),
            SY_OK);
        allowed += r.allowed;
        if (!r.allowed) {
            assert_int_equal(r.refused, 0);
            assert_int_equal(r.retry_after_ms, MIN - 100);
        }
    }
    assert_int_equal(allowed, 5);
    uint64_t wid = T0 / MIN;
    assert_int_equal(r.window_id, wid);
    assert_int_equal(r.now_ms, T0 + 100);
    assert_int_equal(counter(w1, "vk:a:rpm", wid), 5);
    /* Refusals charged nothing anywhere. */
    assert_int_equal(counter(w1, "pk:openai#1:tpm", wid), 50);

    /* All or nothing the other way round: tokens refuse, requests are
     * not charged. */
    struct sy_ratelimit_item it2[2] = { { "vk:b:rpm", 100, 1 },
                                        { "pk:openai#2:tpm", 1000, 600 } };
    assert_int_equal(sy_ratelimit_reserve(w1, it2, 2, MIN, T0 + 100, &r),
                     SY_OK);
    assert_true(r.allowed);
    assert_int_equal(sy_ratelimit_reserve(w2, it2, 2, MIN, T0 + 100, &r),
                     SY_OK);
    assert_false(r.allowed);
    assert_int_equal(r.refused, 1);
    assert_int_equal(counter(w1, "vk:b:rpm", wid), 1);
    assert_int_equal(counter(w1, "pk:openai#2:tpm", wid), 600);

    /* Settle: the first used 250 tokens, not 600. */
    uint64_t used[2] = { 1, 250 };
    assert_int_equal(sy_ratelimit_settle(w1, it2, used, 2, MIN, wid), SY_OK);
    assert_int_equal(counter(w1, "pk:openai#2:tpm", wid), 250);
    assert_int_equal(sy_ratelimit_reserve(w2, it2, 2, MIN, T0 + 100, &r),
                     SY_OK);
    assert_true(r.allowed);
    /* Settling more than was charged never goes below zero. */
    it2[1].cost = 100000;
    used[1] = 0;
    assert_int_equal(sy_ratelimit_settle(w1, it2, used, 2, MIN, wid), SY_OK);
    assert_int_equal(counter(w1, "pk:openai#2:tpm", wid), 0);
    /* Nothing to correct: no round trip. */
    struct sy_store_stats st0;
    struct sy_store_stats st1;
    sy_store_get_stats(w1, &st0);
    it2[1].cost = 5;
    used[1] = 5;
    assert_int_equal(sy_ratelimit_settle(w1, it2, used, 2, MIN, wid), SY_OK);
    sy_store_get_stats(w1, &st1);
    assert_int_equal(st1.calls, st0.calls);

    /* Counters expire by themselves (an unsettled reservation leaks for
     * two windows at most). */
    char key[128];
    snprintf(key, sizeof(key), "t:rl:{vk:a:rpm}:%llu", (unsigned long long)wid);
    struct sy_arena a;
    sy_arena_init(&a, 256);
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(w1, &a, &v, "PTTL", key, NULL), SY_OK);
    assert_in_range(v->i, 2 * MIN, 2 * MIN + 1000);
    sy_arena_cleanup(&a);
    /* With Redis' own clock. */
    assert_int_equal(sy_ratelimit_reserve(w1, it2, 1, MIN, 0, &r), SY_OK);
    assert_true(r.allowed);
    assert_true(r.now_ms > UINT64_C(1600000000000));
    sy_store_free(w1);
    sy_store_free(w2);
}

static void
test_script_park(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *w1 = store_on(srv.port, NULL);
    struct sy_store *w2 = store_on(srv.port, NULL);
    flush(w1);
    struct sy_ratelimit_item it[2] = { { "vk:c:rpm", 100, 1 },
                                       { "pk:anthropic#1:rpm", 0, 1 } };
    struct sy_ratelimit_result r;
    assert_int_equal(sy_ratelimit_park(w1, "pk:anthropic#1:rpm", 300), SY_OK);
    assert_int_equal(sy_ratelimit_park(w1, "pk:anthropic#1:rpm", 10), SY_OK);
    assert_int_equal(sy_ratelimit_reserve(w2, it, 2, MIN, 0, &r), SY_OK);
    assert_false(r.allowed);
    assert_true(r.parked);
    assert_int_equal(r.refused, 1);
    assert_in_range(r.retry_after_ms, 200, 300);
    assert_int_equal(counter(w1, "vk:c:rpm", r.window_id), 0);
    usleep(350000);
    assert_int_equal(sy_ratelimit_reserve(w2, it, 2, MIN, 0, &r), SY_OK);
    assert_true(r.allowed);
    sy_store_free(w1);
    sy_store_free(w2);
}

/* The script and the local windows, fed the same random reservations and
 * settlements at the same times, decide the same every step. */
static void
test_script_matches_c(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *w = store_on(srv.port, NULL);
    flush(w);
    const uint32_t win = 1000;
    struct sy_ratelimit_window rpm = { 0 };
    struct sy_ratelimit_window tpm = { 0 };
    struct sy_ratelimit_window *lw[2] = { &rpm, &tpm };
    uint64_t now = T0;
    int allowed = 0;
    int refused = 0;
    for (int step = 0; step < 1500; step++) {
        now += rnd() % 60;
        struct sy_ratelimit_item it[2] = {
            { "eq:rpm", 40, 1 }, { "eq:tpm", 5000, 1 + rnd() % 600 }
        };
        struct sy_ratelimit_result lr;
        struct sy_ratelimit_result rr;
        sy_ratelimit_local_reserve(lw, it, 2, win, now, &lr);
        assert_int_equal(sy_ratelimit_reserve(w, it, 2, win, now, &rr), SY_OK);
        if (lr.allowed != rr.allowed || lr.refused != rr.refused ||
            lr.retry_after_ms != rr.retry_after_ms ||
            lr.window_id != rr.window_id)
            fail_msg("step %d: local %d/%d/%u, script %d/%d/%u", step,
                     lr.allowed, lr.refused, lr.retry_after_ms, rr.allowed,
                     rr.refused, rr.retry_after_ms);
        allowed += lr.allowed;
        refused += !lr.allowed;
        if (lr.allowed && rnd() % 2 == 0) {
            uint64_t used[2] = { 1, rnd() % 900 };
            sy_ratelimit_local_settle(lw, it, used, 2, lr.window_id);
            assert_int_equal(
                sy_ratelimit_settle(w, it, used, 2, win, lr.window_id), SY_OK);
        }
    }
    print_message("    1500 steps: %d allowed, %d refused, identical\n",
                  allowed, refused);
    assert_true(allowed > 100);
    assert_true(refused > 100);
    sy_store_free(w);
}

static void
test_script_store_down(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *w = store_on(free_port(), NULL);
    struct sy_ratelimit_item it = { "x", 10, 1 };
    struct sy_ratelimit_result r;
    assert_int_equal(sy_ratelimit_reserve(w, &it, 1, MIN, 0, &r), SY_ESTORE);
    assert_false(r.allowed);
    assert_int_equal(sy_ratelimit_park(w, "x", 100), SY_ESTORE);
    /* Too many items is a programming error. */
    struct sy_ratelimit_item many[SY_RATELIMIT_MAX_ITEMS + 1];
    for (size_t i = 0; i < SY_ARRAY_LEN(many); i++)
        many[i] = it;
    assert_int_equal(
        sy_ratelimit_reserve(w, many, SY_ARRAY_LEN(many), MIN, 0, &r),
        SY_EINTERNAL);
    sy_store_free(w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimate),
        cmocka_unit_test(test_local_all_or_nothing),
        cmocka_unit_test(test_local_sliding_and_hint),
        cmocka_unit_test(test_local_settle_and_park),
        cmocka_unit_test(test_script_two_workers),
        cmocka_unit_test(test_script_park),
        cmocka_unit_test(test_script_matches_c),
        cmocka_unit_test(test_script_store_down),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
