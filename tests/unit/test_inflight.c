/*
 * test_inflight.c - this process's attempts in flight per deployment and
 * the waits of its streams for a first token (core/state/inflight.c):
 * the signal is the second-longest of the waits in flight and the last
 * two ended ones (one slow stream is not enough), cancelled waits do not
 * count, lost races are counted, ended waits are held up to
 * SY_INFLIGHT_HOLD_MS, slots are given back, a full row, and threads
 * racing for slots.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "state/inflight.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define MS 1000ull /* µs */

static void
test_counts(void **state)
{
    (void)state;
    struct sy_inflight *f = sy_inflight_new(2);
    sy_inflight_add(f, 1, 1);
    sy_inflight_add(f, 1, 1);
    sy_inflight_add(f, 1, -1);
    assert_int_equal(sy_inflight_count(f, 0), 0);
    assert_int_equal(sy_inflight_count(f, 1), 1);
    assert_int_equal(sy_inflight_started(f, 1), 2);
    /* out of range and NULL: nothing, no crash */
    sy_inflight_add(f, 2, 1);
    assert_int_equal(sy_inflight_count(f, 2), 0);
    sy_inflight_add(NULL, 0, 1);
    assert_int_equal(sy_inflight_count(NULL, 0), 0);
    assert_int_equal(sy_inflight_wait_begin(NULL, 0, 5), -1);
    assert_int_equal(sy_inflight_wait_ms(NULL, 0, 5), 0);
    sy_inflight_wait_cancel(NULL, 0, 0);
    sy_inflight_free(f);
}

static void
test_two_slow_streams(void **state)
{
    (void)state;
    uint64_t t0 = 1000000 * MS;
    struct sy_inflight *f = sy_inflight_new(2);
    assert_int_equal(sy_inflight_wait_ms(f, 0, t0), 0);
    int a = sy_inflight_wait_begin(f, 0, t0);
    /* one slow stream alone: no signal */
    assert_int_equal(sy_inflight_wait_ms(f, 0, t0 + 900 * MS), 0);
    int b = sy_inflight_wait_begin(f, 0, t0 + 300 * MS);
    assert_true(a >= 0 && b >= 0 && a != b);
    assert_int_equal(sy_inflight_waiting(f, 0), 2);
    /* two: the shorter of them; the other deployment has none */
    assert_int_equal(sy_inflight_wait_ms(f, 0, t0 + 900 * MS), 600);
    /* waiting longer than 500 ms: both; a's own left out: b; than 700
     * ms: a only */
    assert_int_equal(sy_inflight_waiting_longer(f, 0, t0 + 900 * MS, 500, -1),
                     2);
    assert_int_equal(sy_inflight_waiting_longer(f, 0, t0 + 900 * MS, 500, a),
                     1);
    assert_int_equal(sy_inflight_waiting_longer(f, 0, t0 + 900 * MS, 700, -1),
                     1);
    assert_int_equal(sy_inflight_waiting_longer(f, 1, t0 + 900 * MS, 0, -1), 0);
    assert_int_equal(sy_inflight_waiting_longer(NULL, 0, t0, 0, -1), 0);
    assert_int_equal(sy_inflight_wait_ms(f, 1, t0 + 900 * MS), 0);
    /* a's first token at 2 s: held, with b still waiting */
    sy_inflight_wait_end(f, 0, a, t0 + 2000 * MS, false);
    assert_int_equal(sy_inflight_wait_ms(f, 0, t0 + 2100 * MS), 1800);
    /* b times out at 2.4 s (2.1 s): both ended, both held */
    sy_inflight_wait_end(f, 0, b, t0 + 2400 * MS, false);
    assert_int_equal(sy_inflight_waiting(f, 0), 0);
    assert_int_equal(sy_inflight_wait_ms(f, 0, t0 + 5000 * MS), 2000);
    assert_int_equal(sy_inflight_lost(f, 0, t0 + 5000 * MS), 0);
    /* a fast error cancelled: says nothing, changes nothing */
    int c = sy_inflight_wait_begin(f, 0, t0 + 5000 * MS);
    sy_inflight_wait_cancel(f, 0, c);
    assert_int_equal(sy_inflight_wait_ms(f, 0, t0 + 5100 * MS), 2000);
    /* a fast first token (a probe) replaces the older (a's): cleared */
    c = sy_inflight_wait_begin(f, 0, t0 + 6000 * MS);
    sy_inflight_wait_end(f, 0, c, t0 + 6040 * MS, false);
    assert_int_equal(sy_inflight_wait_ms(f, 0, t0 + 6100 * MS), 40);
    /* two first attempts their hedges beat (cut at 600 and 700 ms):
     * two lost races; then a first token: the last two are a lost race
     * and that token, so one */
    for (int i = 0; i < 2; i++) {
        int l = sy_inflight_wait_begin(f, 0, t0 + 7000 * MS);
        sy_inflight_wait_end(f, 0, l, t0 + (7600 + 100 * (uint64_t)i) * MS,
                             true);
    }
    assert_int_equal(sy_inflight_lost(f, 0, t0 + 7800 * MS), 2);
    assert_int_equal(sy_inflight_wait_ms(f, 0, t0 + 7800 * MS), 600);
    c = sy_inflight_wait_begin(f, 0, t0 + 8000 * MS);
    sy_inflight_wait_end(f, 0, c, t0 + 8050 * MS, false);
    assert_int_equal(sy_inflight_lost(f, 0, t0 + 8100 * MS), 1);
    /* long waits are forgotten SY_INFLIGHT_HOLD_MS after they ended */
    uint64_t end = t0 + 10000 * MS;
    for (int i = 0; i < 2; i++) {
        int d = sy_inflight_wait_begin(f, 0, end - 3000 * MS);
        sy_inflight_wait_end(f, 0, d, end, false);
    }
    assert_int_equal(
        sy_inflight_wait_ms(f, 0, end + (SY_INFLIGHT_HOLD_MS - 1) * MS), 3000);
    assert_int_equal(sy_inflight_wait_ms(f, 0, end + SY_INFLIGHT_HOLD_MS * MS),
                     0);
    /* an expired long wait does not keep out the next ones: two lost
     * races after it are both held */
    uint64_t later = end + 40000 * MS;
    for (int i = 0; i < 2; i++) {
        int l = sy_inflight_wait_begin(f, 0, later - 600 * MS);
        sy_inflight_wait_end(f, 0, l, later + (uint64_t)i * MS, true);
    }
    assert_int_equal(sy_inflight_lost(f, 0, later + 10 * MS), 2);
    /* ending a slot twice, or a bad one, changes nothing */
    sy_inflight_wait_end(f, 0, c, later + 20 * MS, false);
    sy_inflight_wait_end(f, 0, -1, later + 20 * MS, false);
    sy_inflight_wait_end(f, 0, SY_INFLIGHT_WAIT_SLOTS, later + 20 * MS, true);
    sy_inflight_wait_cancel(f, 0, SY_INFLIGHT_WAIT_SLOTS);
    assert_int_equal(sy_inflight_lost(f, 0, later + 30 * MS), 2);
    sy_inflight_free(f);
}

/* A full row: the next stream is not tracked, the tracked ones still
 * show, and a freed slot is taken again. */
static void
test_full_row(void **state)
{
    (void)state;
    uint64_t t0 = 5000 * MS;
    struct sy_inflight *f = sy_inflight_new(1);
    int slot[SY_INFLIGHT_WAIT_SLOTS];
    for (int k = 0; k < SY_INFLIGHT_WAIT_SLOTS; k++) {
        slot[k] = sy_inflight_wait_begin(f, 0, t0 + (uint64_t)k * MS);
        assert_true(slot[k] >= 0);
    }
    assert_int_equal(sy_inflight_wait_begin(f, 0, t0 + 100 * MS), -1);
    assert_int_equal(sy_inflight_waiting(f, 0), SY_INFLIGHT_WAIT_SLOTS);
    /* the two oldest: 100 and 99 ms */
    assert_int_equal(sy_inflight_wait_ms(f, 0, t0 + 100 * MS), 99);
    sy_inflight_wait_cancel(f, 0, slot[0]);
    assert_int_equal(sy_inflight_wait_begin(f, 0, t0 + 100 * MS), slot[0]);
    sy_inflight_free(f);
}

#define RACERS 6
#define HOLD   8 /* slots each racer holds at once: 48 > 32 */

struct racer {
    struct sy_inflight *f;
    unsigned refused;
};

static void *
race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < 3000; i++) {
        int held[HOLD];
        for (int k = 0; k < HOLD; k++) {
            held[k] = sy_inflight_wait_begin(r->f, 0, 1000 * MS + (uint64_t)i);
            r->refused += held[k] < 0;
        }
        for (int k = 0; k < HOLD; k++) {
            if (k % 2)
                sy_inflight_wait_end(r->f, 0, held[k], 1001 * MS + (uint64_t)i,
                                     k % 4 == 1);
            else
                sy_inflight_wait_cancel(r->f, 0, held[k]);
        }
    }
    return NULL;
}

/* Threads taking more slots than there are and giving them back (some
 * may be refused): none is lost or taken twice (every slot is free at the
 * end, so a full row takes exactly all of them again). */
static void
test_threads(void **state)
{
    (void)state;
    struct sy_inflight *f = sy_inflight_new(1);
    struct racer r[RACERS];
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i].f = f;
        r[i].refused = 0;
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(sy_inflight_waiting(f, 0), 0);
    for (int k = 0; k < SY_INFLIGHT_WAIT_SLOTS; k++)
        assert_true(sy_inflight_wait_begin(f, 0, 9000 * MS) >= 0);
    assert_int_equal(sy_inflight_wait_begin(f, 0, 9000 * MS), -1);
    sy_inflight_free(f);
}

/* A probe given up early ends its wait no shorter than what the waits
 * before it said: two 2 s waits drained the deployment; a probe cut at
 * 1.2 s keeps the signal at 2 s, where a plain end would have lowered
 * it to 1.2 s (and given the deployment traffic back). */
static void
test_wait_end_min(void **state)
{
    (void)state;
    struct sy_inflight *f = sy_inflight_new(1);
    uint64_t t0 = 1000000 * MS;
    int a = sy_inflight_wait_begin(f, 0, t0);
    int b = sy_inflight_wait_begin(f, 0, t0);
    sy_inflight_wait_end(f, 0, a, t0 + 2000 * MS, false);
    sy_inflight_wait_end(f, 0, b, t0 + 2000 * MS, false);
    assert_int_equal(sy_inflight_wait_ms(f, 0, t0 + 3000 * MS), 2000);
    uint64_t p0 = t0 + 3000 * MS, p1 = p0 + 1200 * MS;
    int p = sy_inflight_wait_begin(f, 0, p0);
    sy_inflight_wait_end_min(f, 0, p, p1, false, sy_inflight_wait_ms(f, 0, p1));
    assert_int_equal(sy_inflight_wait_ms(f, 0, p1), 2000);
    /* Unlike a plain end. */
    int q = sy_inflight_wait_begin(f, 0, p1);
    sy_inflight_wait_end(f, 0, q, p1 + 1200 * MS, false);
    assert_int_equal(sy_inflight_wait_ms(f, 0, p1 + 1200 * MS), 1200);
    /* A longer wait than the minimum keeps its own length. */
    int r = sy_inflight_wait_begin(f, 0, p1);
    sy_inflight_wait_end_min(f, 0, r, p1 + 5000 * MS, false, 100);
    assert_int_equal(sy_inflight_wait_ms(f, 0, p1 + 5000 * MS), 1200);
    sy_inflight_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_two_slow_streams),
        cmocka_unit_test(test_full_row),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_wait_end_min),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
