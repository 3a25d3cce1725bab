/*
 * test_router_pacing.c - a deployment known to be slow whose window ran
 * thin gets its exploration share second by second, not in bursts: core/serve/router.c paces exploration by the
 * request's number in its group (sy_router_plan_seq); and the local
 * latency view's "recent slices" (sy_latency_window_merge_last, used by
 * core/state/state.c when Redis is unreachable).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config/config.h"
#include "router_fixture.h"
#include "serve/router.h"
#include "state/latency.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct sy_config *
load(unsigned explore_pct)
{
    return rf_load_latency(3, explore_pct, "");
}

static void
learned(struct sy_dep_view *v, uint32_t p50)
{
    memset(v, 0, sizeof(*v));
    v->samples = 100;
    v->p50_ms = p50;
    v->p99_ms = p50 * 2;
}

/* Known slow (its last picture 'p50' ms, against 150 and 100 for the
 * learned ones: drained), its window run thin: it waits for a probe. */
static void
gone_slow(struct sy_dep_view *v, uint32_t p50)
{
    memset(v, 0, sizeof(*v));
    v->known.samples = 100;
    v->known.p50_ms = p50;
    v->known.p99_ms = p50 * 2;
}

/* The deployment first in the plan of request 'seq'. */
static char
first(const struct sy_config *cfg, const struct sy_dep_view *v, uint64_t seq)
{
    struct sy_route_req rq = { 100, 100 };
    struct sy_route_plan p;
    sy_router_plan_seq(&cfg->groups[0], v, &rq, seq,
                       (uint32_t)seq * 2654435761u, &p);
    assert_int_equal(p.ncand, 3);
    return p.cand[0].d->name[0];
}

/* b is learned and fast; a and c were slow and their windows ran thin:
 * 5 % of requests explore, one in every 20 exactly, a and c taking
 * turns; never two in a row. */
static void
test_exploration_is_paced(void **state)
{
    (void)state;
    struct sy_config *cfg = load(5);
    struct sy_dep_view v[3];
    gone_slow(&v[0], 1000);
    learned(&v[1], 150);
    gone_slow(&v[2], 2000);
    unsigned on_a = 0, on_c = 0;
    int last_explored = -100;
    for (uint64_t seq = 1; seq <= 2000; seq++) {
        char f = first(cfg, v, seq);
        if (f == 'b')
            continue;
        assert_true(f == 'a' || f == 'c');
        on_a += f == 'a';
        on_c += f == 'c';
        /* Evenly spaced: every 20th request of the group. */
        assert_int_equal(seq % 20, 0);
        assert_true((int)seq - last_explored == 20 || last_explored < 0);
        last_explored = (int)seq;
    }
    assert_int_equal(on_a + on_c, 100);
    assert_int_equal(on_a, 50);
    assert_int_equal(on_c, 50);
    /* In any 20 requests in a row (a second at 20 a second), one. */
    for (uint64_t s0 = 1; s0 + 20 <= 2000; s0 += 7) {
        unsigned n = 0;
        for (uint64_t seq = s0; seq < s0 + 20; seq++)
            n += first(cfg, v, seq) != 'b';
        assert_int_equal(n, 1);
    }
    sy_config_free(cfg);
}

/* A share that does not divide 100 is still exact per 100 requests. */
static void
test_exploration_share_exact(void **state)
{
    (void)state;
    for (unsigned pct = 1; pct <= 50; pct += 7) {
        struct sy_config *cfg = load(pct);
        struct sy_dep_view v[3];
        learned(&v[0], 100);
        learned(&v[1], 150);
        gone_slow(&v[2], 1000);
        unsigned n = 0;
        for (uint64_t seq = 1; seq <= 1000; seq++)
            n += first(cfg, v, seq) == 'c';
        assert_int_equal(n, pct * 10);
        sy_config_free(cfg);
    }
}

/* Without a number (sy_router_plan), the random draw is kept. */
static void
test_unnumbered_draws(void **state)
{
    (void)state;
    struct sy_config *cfg = load(10);
    struct sy_dep_view v[3];
    learned(&v[0], 100);
    learned(&v[1], 150);
    gone_slow(&v[2], 1000);
    struct sy_route_req rq = { 100, 100 };
    unsigned n = 0;
    for (uint32_t r = 1; r <= 10000; r++) {
        struct sy_route_plan p;
        sy_router_plan(&cfg->groups[0], v, &rq, r * 2654435761u, &p);
        n += p.cand[0].d->name[0] == 'c';
    }
    assert_true(n > 700 && n < 1300);
    sy_config_free(cfg);
}

/* The local view's recent slices: the last n slices only. */
static void
test_window_merge_last(void **state)
{
    (void)state;
    struct sy_latency_window w;
    sy_latency_window_init(&w, 1000, 6000);
    uint64_t t = 1700000000000u;
    for (int s = 0; s < 6; s++)
        for (int k = 0; k <= s; k++)
            sy_latency_window_add(&w, t + (uint64_t)s * 1000u, SY_LATENCY_TOTAL,
                                  1000u * (unsigned)(s + 1));
    struct sy_latency_hist h;
    uint64_t now = t + 5000u;
    sy_latency_window_merge_last(&w, now, SY_LATENCY_TOTAL, 2, &h);
    assert_int_equal(h.total, 6 + 5);
    sy_latency_window_merge_last(&w, now, SY_LATENCY_TOTAL, 1, &h);
    assert_int_equal(h.total, 6);
    sy_latency_window_merge_last(&w, now, SY_LATENCY_TOTAL, 99, &h);
    assert_int_equal(h.total, 21);
    sy_latency_window_merge_last(&w, now + 10000u, SY_LATENCY_TOTAL, 2, &h);
    assert_int_equal(h.total, 0);
    sy_latency_window_cleanup(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exploration_is_paced),
        cmocka_unit_test(test_exploration_share_exact),
        cmocka_unit_test(test_unnumbered_draws),
        cmocka_unit_test(test_window_merge_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
