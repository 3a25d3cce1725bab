/*
 * test_budget_retry.c - unit tests for core/state/budget_retry.c against
 * a real redis-server: settles that found Redis unreachable stay queued
 * (in order, within the capacity) and are recorded once Redis answers;
 * one whose reservation expired meanwhile is dropped, not counted.
 * Uses the redis-server harness of redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/budget.h"
#include "state/budget_retry.h"

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
    return redis_group_setup(&srv, "test_budget_retry");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

static void
test_waits_for_redis(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *live = store_on(srv.port, NULL);
    struct sy_store *away = store_on(free_port(), NULL);
    struct sy_budget_result r;
    struct sy_budget_retry *q = sy_budget_retry_new(3);

    /* Two requests' reservations, whose settles found Redis away. */
    uint64_t id[2], exp[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            sy_budget_reserve(live, "late", "total", 100000, 500, 0, 0, &r),
            SY_OK);
        assert_true(r.allowed);
        id[i] = r.id;
        exp[i] = r.now_ms + SY_BUDGET_DEFAULT_TTL_MS;
    }
    struct sy_budget_pending p = { .name = "late", .period_id = "total" };
    p.id = id[0], p.cost = 120, p.expires_ms = exp[0];
    assert_true(sy_budget_retry_push(q, &p));
    p.id = id[1], p.cost = 0, p.expires_ms = exp[1]; /* a release */
    assert_true(sy_budget_retry_push(q, &p));

    /* (free_port: bound, then closed; nothing listens there) */
    /* Redis still away: both stay, and so does one queued meanwhile. */
    assert_int_equal(sy_budget_retry_flush(q, away), 2);
    assert_int_equal(sy_budget_get(live, "late", "total", 0, &r), SY_OK);
    assert_int_equal(r.spent, 0);
    assert_int_equal(r.reserved, 1000);
    /* A third whose reservation expired before Redis came back. */
    assert_int_equal(
        sy_budget_reserve(live, "late", "total", 100000, 500, 1, 0, &r), SY_OK);
    p.id = r.id, p.cost = 300, p.expires_ms = r.now_ms + 1;
    assert_true(sy_budget_retry_push(q, &p));
    /* the capacity is 3: a fourth is refused (and logged as lost) */
    assert_false(sy_budget_retry_push(q, &p));
    assert_int_equal(sy_budget_retry_pending(q), 3);
    usleep(5000);

    /* Redis back: the cost is recorded once, the release released, the
     * expired one not counted. */
    assert_int_equal(sy_budget_retry_flush(q, live), 0);
    assert_int_equal(sy_budget_get(live, "late", "total", 0, &r), SY_OK);
    assert_int_equal(r.spent, 120);
    assert_int_equal(r.reserved, 0);
    /* flushing again changes nothing */
    assert_int_equal(sy_budget_retry_flush(q, live), 0);
    assert_int_equal(sy_budget_get(live, "late", "total", 0, &r), SY_OK);
    assert_int_equal(r.spent, 120);

    /* Names and period ids that do not fit are refused, not cut. */
    char longname[SY_BUDGET_NAME_MAX + 2];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    p.name = longname;
    assert_false(sy_budget_retry_push(q, &p));

    /* Freed with a settle left: logged, no leak (ASan says). */
    p.name = "late";
    assert_true(sy_budget_retry_push(q, &p));
    sy_budget_retry_free(q);
    sy_store_free(live);
    sy_store_free(away);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waits_for_redis),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
