/*
 * test_router_spread.c - the latency strategy spreads load over the
 * deployments within the group's thresholds and drains a clearly slower
 * one (core/serve/router_latency.c), and a deployment known to be slow
 * is never relearned as new when its window goes quiet: it is re-probed
 * within the exploration share only (the known picture:
 * core/state/state_known.c). Thousands of plans with a seeded generator.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config/config.h"
#include "router_fixture.h"
#include "serve/router.h"
#include "state/latency.h"
#include "state/state.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define N 12000

static struct sy_config *
load(const char *extra)
{
    return rf_load_latency(10, 5, extra);
}

/* A live window: learned, with recent samples. */
static void
live(struct sy_dep_view *v, uint32_t p50, uint32_t p99)
{
    memset(v, 0, sizeof(*v));
    v->samples = 200;
    v->recent_samples = 20;
    v->p50_ms = p50;
    v->p99_ms = p99;
    v->ttft_p50_ms = p50 / 3;
    v->ttft_p95_ms = p99 / 3;
}

/* How many of N plans (request numbers 1..N, seeded draws) put each of
 * a, b, c first; 'hold' > 0 simulates attempts in flight (in
 * struct sy_dep_view.inflight) that end 'hold' requests later. */
static void
shares(const struct sy_config *cfg, struct sy_dep_view *v, unsigned out[3],
       unsigned hold)
{
    struct sy_route_req rq = { 500, 200 };
    unsigned ring[64] = { 0 };
    memset(out, 0, 3 * sizeof(out[0]));
    uint32_t seed = 12345;
    for (uint64_t seq = 1; seq <= N; seq++) {
        seed = seed * 1664525u + 1013904223u;
        struct sy_route_plan p;
        sy_router_plan_seq(&cfg->groups[0], v, &rq, seq, seed, &p);
        assert_true(p.ncand > 0);
        unsigned k = (unsigned)(p.cand[0].d->name[0] - 'a');
        out[k]++;
        /* a plan never names a deployment twice */
        for (size_t x = 0; x < p.ncand; x++)
            for (size_t y = x + 1; y < p.ncand; y++)
                assert_ptr_not_equal(p.cand[x].d, p.cand[y].d);
        if (hold == 0)
            continue;
        /* The attempt started now ends 'hold' requests later. */
        unsigned slot = (unsigned)(seq % hold);
        if (seq > hold)
            v[ring[slot]].inflight--;
        ring[slot] = k;
        v[k].inflight++;
    }
    for (int i = 0; i < 3 && hold > 0; i++)
        v[i].inflight = 0;
}

static void
assert_share(unsigned n, double lo, double hi, const char *what)
{
    double f = (double)n / N;
    if (f < lo || f > hi)
        fail_msg("%s: share %.3f not in [%.2f, %.2f]", what, f, lo, hi);
}

/* Equal deployments share the traffic, with no load and under load. */
static void
test_equal_deployments_share(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_dep_view v[3];
    for (int i = 0; i < 3; i++)
        live(&v[i], 150, 600);
    unsigned n[3];
    for (unsigned hold = 0; hold <= 16; hold += 16) {
        shares(cfg, v, n, hold);
        for (int i = 0; i < 3; i++)
            assert_share(n[i], 0.25, 0.42, "equal");
    }
    /* Measured a little apart (histogram buckets, noise): still shared. */
    live(&v[0], 140, 560);
    live(&v[1], 150, 600);
    live(&v[2], 160, 640);
    shares(cfg, v, n, 0);
    for (int i = 0; i < 3; i++)
        assert_share(n[i], 0.25, 0.42, "near-equal, idle");
    shares(cfg, v, n, 16);
    for (int i = 0; i < 3; i++)
        assert_share(n[i], 0.25, 0.42, "near-equal, loaded");
    sy_config_free(cfg);
}

/* A deployment twice as slow as the others drains, idle or loaded. */
static void
test_slower_drains(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_dep_view v[3];
    live(&v[0], 150, 600);
    live(&v[1], 150, 600);
    live(&v[2], 300, 1200);
    unsigned n[3];
    shares(cfg, v, n, 0);
    assert_share(n[2], 0.0, 0.10, "2x slower, idle");
    assert_share(n[0], 0.40, 0.60, "fast a");
    shares(cfg, v, n, 16);
    assert_share(n[2], 0.0, 0.10, "2x slower, loaded");
    /* 1.5x slower: a small share, not a third. */
    live(&v[2], 225, 900);
    shares(cfg, v, n, 0);
    assert_share(n[2], 0.0, 0.10, "1.5x slower");
    /* Over the group's thresholds: nothing first. */
    sy_config_free(cfg);
    cfg = load(",\"thresholds\":{\"max_p99_ms\":1000}");
    live(&v[2], 160, 1500);
    shares(cfg, v, n, 0);
    assert_int_equal(n[2], 0);
    sy_config_free(cfg);
}

/* A deployment with the best median and a terrible tail (TTFT p50 40,
 * p95 480 ms: a mean of about 112 ms) is ranked by its expected time,
 * not its median: the steady ones (TTFT p50 60, p95 90 ms) take most
 * of the traffic; with a light tail the faster median wins its share. */
static void
test_heavy_tail_by_mean(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_dep_view v[3];
    live(&v[0], 150, 600);
    v[0].ttft_p50_ms = 40;
    v[0].ttft_p95_ms = 480;
    live(&v[1], 150, 600);
    live(&v[2], 150, 600);
    for (int i = 1; i < 3; i++) {
        v[i].ttft_p50_ms = 60;
        v[i].ttft_p95_ms = 90;
    }
    for (int i = 0; i < 3; i++)
        v[i].tpot_p50_us = 100; /* 20 ms for the 200 tokens of shares() */
    unsigned n[3];
    shares(cfg, v, n, 0);
    assert_share(n[0], 0.0, 0.10, "heavy tail");
    assert_share(n[1], 0.40, 0.60, "steady b");
    v[0].ttft_p95_ms = 60; /* the same median, a light tail */
    shares(cfg, v, n, 0);
    assert_share(n[0], 0.25, 0.60, "light tail");
    sy_config_free(cfg);
}

/* The deployment with fewer attempts in flight wins a tie: a burst does
 * not pile onto one deployment. */
static void
test_inflight_breaks_ties(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_dep_view v[3];
    for (int i = 0; i < 3; i++)
        live(&v[i], 150, 600);
    v[0].inflight = 9;
    v[1].inflight = 9;
    unsigned n[3];
    shares(cfg, v, n, 0);
    /* c wins every pair it is in: two pairs in three. */
    assert_share(n[2], 0.55, 0.80, "least loaded");
    sy_config_free(cfg);
}

/* a slowed down: it is known slow; its window went quiet (no recent
 * samples; older fast samples, then none). It must not come back above
 * the exploration share, and every time it is tried it is exploring. */
static void
test_known_slow_no_relapse(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_dep_view v[3];
    live(&v[1], 150, 600);
    live(&v[2], 150, 600);
    /* The last live picture of a: slow. */
    struct sy_dep_known slow = { .samples = 50,
                                 .p50_ms = 2150,
                                 .p99_ms = 2600,
                                 .ttft_p50_ms = 700,
                                 .ttft_p95_ms = 900,
                                 .age_ms = 3000 };
    /* 1: old fast samples still in the window, none recent. */
    live(&v[0], 150, 600);
    v[0].recent_samples = 0;
    v[0].known = slow;
    unsigned n[3];
    shares(cfg, v, n, 0);
    assert_int_equal(n[0], 0); /* the window is full: no probe yet */
    /* 2: the window ran thin (a few old samples, or none). */
    for (uint64_t left = 0; left < 10; left += 4) {
        v[0].samples = left;
        v[0].known.outlived = left == 0;
        shares(cfg, v, n, 0);
        assert_true(n[0] <= N * 5 / 100);
        assert_true(n[0] >= N * 4 / 100);
        /* Every plan that puts it first says it explores. */
        struct sy_route_req rq = { 500, 200 };
        for (uint64_t seq = 1; seq <= 200; seq++) {
            struct sy_route_plan p;
            sy_router_plan_seq(&cfg->groups[0], v, &rq, seq, (uint32_t)seq, &p);
            if (strcmp(p.cand[0].d->name, "a") == 0)
                assert_string_equal(p.cand[0].why, "exploring");
            assert_true(p.cand[0].slow == (p.cand[0].d->name[0] == 'a'));
        }
    }
    /* 3: a probe is out in this process: no second one. */
    v[0].inflight = 1;
    shares(cfg, v, n, 0);
    assert_int_equal(n[0], 0);
    v[0].inflight = 0;
    /* 4: the window holds only samples newer than the known picture,
     * enough of them, and they are fast: a is back. */
    live(&v[0], 150, 600);
    v[0].recent_samples = 1;
    v[0].known = slow;
    v[0].known.outlived = true;
    shares(cfg, v, n, 0);
    assert_share(n[0], 0.25, 0.42, "recovered");
    sy_config_free(cfg);
}

/* A stream in flight that has waited past a deployment's p95 time to
 * first token drains it at once, before any slow sample has finished
 * (struct sy_dep_view.wait_ms); a wait within the p95 changes nothing. */
static void
test_stalled_stream_drains(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_dep_view v[3];
    for (int i = 0; i < 3; i++)
        live(&v[i], 150, 600); /* TTFT p50 50 ms, p95 200 ms */
    unsigned n[3];
    v[0].wait_ms = 190;
    shares(cfg, v, n, 0);
    assert_share(n[0], 0.25, 0.42, "a wait within the p95");
    v[0].wait_ms = 2000;
    shares(cfg, v, n, 0);
    /* drained, and re-probed within the exploration share only (5 %,
     * one at a time: none while an attempt is out there) */
    assert_int_equal(n[0], N * 5 / 100);
    assert_share(n[1], 0.40, 0.60, "b beside a stalled a");
    v[0].inflight = 1;
    shares(cfg, v, n, 0);
    assert_int_equal(n[0], 0);
    /* Its last two streams lost the race to hedges (their waits, cut
     * short, are no longer than the p95): the same. */
    v[0].inflight = 0;
    v[0].wait_ms = 0;
    v[0].lost = 2;
    shares(cfg, v, n, 0);
    assert_int_equal(n[0], N * 5 / 100);
    v[0].lost = 1;
    shares(cfg, v, n, 0);
    assert_share(n[0], 0.25, 0.42, "one race lost");
    sy_config_free(cfg);
}

/* Never seen, beside two learned ones: it joins the spread as if as
 * fast as the best (an optimistic start), so it learns in seconds rather
 * than at the exploration share; a slow one then drains like any other. */
static void
test_unknown_joins_spread(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_dep_view v[3];
    live(&v[0], 150, 600);
    live(&v[1], 150, 600);
    memset(&v[2], 0, sizeof(v[2]));
    unsigned n[3];
    shares(cfg, v, n, 0);
    for (int i = 0; i < 3; i++)
        assert_share(n[i], 0.25, 0.42, "unknown beside equals");
    /* Learned and twice as slow: drained. */
    live(&v[2], 400, 1200);
    shares(cfg, v, n, 0);
    assert_true(n[2] <= N * 5 / 100);
    /* Still unlearned after min_samples attempts here (its calls give
     * no latency sample, say): left to the exploration share. */
    memset(&v[2], 0, sizeof(v[2]));
    v[2].started = 10;
    shares(cfg, v, n, 0);
    assert_int_equal(n[2], N * 5 / 100);
    /* Nor one that already shows it is slow: its streams lost to hedges,
     * or two of them wait past the best one's p95 (200 ms here). */
    v[2].started = 0;
    v[2].lost = 2;
    shares(cfg, v, n, 0);
    assert_int_equal(n[2], N * 5 / 100);
    v[2].lost = 0;
    v[2].wait_ms = 5000;
    shares(cfg, v, n, 0);
    assert_int_equal(n[2], N * 5 / 100);
    v[2].wait_ms = 0;
    sy_config_free(cfg);
    /* A group that does not explore has no optimistic start either. */
    cfg = rf_load_latency(10, 0, "");
    v[2].started = 0;
    shares(cfg, v, n, 0);
    assert_int_equal(n[2], 0);
    sy_config_free(cfg);
}

/* An idle group (every window quiet) keeps its known picture: the
 * deployments still share, none is relearned. */
static void
test_idle_group_keeps_picture(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_dep_view v[3];
    for (int i = 0; i < 3; i++) {
        memset(&v[i], 0, sizeof(v[i]));
        v[i].known = (struct sy_dep_known){ .samples = 100,
                                            .p50_ms = 150,
                                            .p99_ms = 600,
                                            .ttft_p50_ms = 50,
                                            .ttft_p95_ms = 200,
                                            .age_ms = 120000,
                                            .outlived = true };
    }
    unsigned n[3];
    shares(cfg, v, n, 0);
    for (int i = 0; i < 3; i++)
        assert_share(n[i], 0.25, 0.42, "idle");
    sy_config_free(cfg);
}

/* The known picture is kept when live and handed to the view. */
static void
test_known_keep(void **state)
{
    (void)state;
    struct sy_dep_known k;
    memset(&k, 0, sizeof(k));
    uint64_t at = 0;
    struct sy_dep_view v;
    live(&v, 2000, 2500);
    sy_known_keep(&k, &at, &v, 1000, 10, 60000);
    assert_int_equal(k.p50_ms, 2000);
    assert_int_equal(at, 1000);
    /* Quiet: the window decays to old fast samples; the picture stays. */
    live(&v, 150, 600);
    v.recent_samples = 0;
    sy_known_keep(&k, &at, &v, 21000, 10, 60000);
    assert_int_equal(v.known.p50_ms, 2000);
    assert_int_equal(v.known.age_ms, 20000);
    assert_false(v.known.outlived);
    memset(&v, 0, sizeof(v));
    sy_known_keep(&k, &at, &v, 61000, 10, 60000);
    assert_true(v.known.outlived);
    assert_int_equal(v.known.samples, 200);
    /* Too few samples to be learned: not kept. */
    live(&v, 100, 200);
    v.samples = 5;
    sy_known_keep(&k, &at, &v, 62000, 10, 60000);
    assert_int_equal(k.p50_ms, 2000);
}

/* The last two slices raise the median from a few samples, p95 only
 * from 40 and p99 only from 200 (below that the recent "p99" is one slow
 * answer), and never lower anything. */
static void
test_raise_by_recent(void **state)
{
    (void)state;
    struct sy_latency_stats s[SY_LATENCY__COUNT], r[SY_LATENCY__COUNT];
    memset(r, 0, sizeof(r));
    for (int m = 0; m < SY_LATENCY__COUNT; m++)
        s[m] = (struct sy_latency_stats){ 500, 100, 200, 300, 200, 300 };
    /* Too few recent samples: nothing moves. */
    r[0] = (struct sy_latency_stats){
        SY_STATE_RECENT_MIN - 1, 900, 900, 900, 900, 900
    };
    sy_known_raise_by_recent(s, r);
    assert_int_equal(s[0].p50_us, 100);
    /* A few dozen: the median rises, the tail does not. */
    r[0] = (struct sy_latency_stats){ 39, 150, 5000, 8000, 4000, 7000 };
    sy_known_raise_by_recent(s, r);
    assert_int_equal(s[0].p50_us, 150);
    assert_int_equal(s[0].p95_us, 200);
    assert_int_equal(s[0].p99_us, 300);
    /* The held tails (what thresholds judge) rise by the same rule. */
    assert_int_equal(s[0].p95_held_us, 200);
    assert_int_equal(s[0].p99_held_us, 300);
    /* 40 hold a p95, not yet a p99. */
    r[0].count = 40;
    sy_known_raise_by_recent(s, r);
    assert_int_equal(s[0].p95_us, 5000);
    assert_int_equal(s[0].p99_us, 5000); /* not from its own 40, but at
                                            least the p95 */
    assert_int_equal(s[0].p95_held_us, 4000);
    assert_int_equal(s[0].p99_held_us, 4000);
    r[0].count = 200;
    sy_known_raise_by_recent(s, r);
    assert_int_equal(s[0].p99_us, 8000);
    assert_int_equal(s[0].p99_held_us, 7000);
    /* Faster recent samples never lower the window's figures. */
    r[0] = (struct sy_latency_stats){ 1000, 1, 1, 1, 1, 1 };
    sy_known_raise_by_recent(s, r);
    assert_int_equal(s[0].p50_us, 150);
    assert_int_equal(s[0].p99_us, 8000);
    /* Each metric on its own. */
    assert_int_equal(s[1].p50_us, 100);
    /* A median raised above the tail lifts the tail: still in order. */
    r[1] = (struct sy_latency_stats){ 5, 900, 900, 900, 900, 900 };
    sy_known_raise_by_recent(s, r);
    assert_int_equal(s[1].p50_us, 900);
    assert_int_equal(s[1].p95_us, 900);
    assert_int_equal(s[1].p99_us, 900);
    assert_int_equal(s[1].p99_held_us, 900);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_deployments_share),
        cmocka_unit_test(test_slower_drains),
        cmocka_unit_test(test_heavy_tail_by_mean),
        cmocka_unit_test(test_inflight_breaks_ties),
        cmocka_unit_test(test_known_slow_no_relapse),
        cmocka_unit_test(test_stalled_stream_drains),
        cmocka_unit_test(test_unknown_joins_spread),
        cmocka_unit_test(test_idle_group_keeps_picture),
        cmocka_unit_test(test_known_keep),
        cmocka_unit_test(test_raise_by_recent),
    };
    return cmocka_run_group_tests_name("router_spread", tests, NULL, NULL);
}
