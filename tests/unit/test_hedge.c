/*
 * test_hedge.c - hedged requests: the "hedge" key of a group
 * (core/config/config_hedge.c), the delay and the decision, and the
 * share of a group's requests that may be hedged (core/state/hedge.c).
 * SPDX-License-Identifier: MIT
 */
#include "config_fixture.h"
#include "io/store.h"
#include "state/hedge.h"
#include "state/state.h"

static void
test_config_default_off(void **state)
{
    (void)state;
    load_ok(with_groups("'g':{'deployments':['d','e']}"));
    const struct sy_group *g = sy_config_find_group(cfg, "g");
    assert_false(g->hedge.on);
    assert_int_equal(sy_hedge_delay_ms(&g->hedge, NULL), 0);
}

static void
test_config_values(void **state)
{
    (void)state;
    load_ok(with_groups("'a':{'deployments':['d','e'],'hedge':{'after_ms':"
                        "150,'max_share':0.2}},"
                        "'b':{'deployments':['d','e'],'hedge':{'after_ms':"
                        "'p95'}},"
                        "'c':{'deployments':['d','e'],'hedge':true},"
                        "'f':{'deployments':['d','e'],'hedge':false}"));
    const struct sy_group *a = sy_config_find_group(cfg, "a");
    assert_true(a->hedge.on);
    assert_false(a->hedge.after_p95);
    assert_int_equal(a->hedge.after_ms, 150);
    assert_true(a->hedge.max_share > 0.19 && a->hedge.max_share < 0.21);
    const struct sy_group *b = sy_config_find_group(cfg, "b");
    assert_true(b->hedge.on);
    assert_true(b->hedge.after_p95);
    assert_true(b->hedge.max_share > 0.049 && b->hedge.max_share < 0.051);
    assert_true(sy_config_find_group(cfg, "c")->hedge.on);
    assert_true(sy_config_find_group(cfg, "c")->hedge.after_p95);
    assert_false(sy_config_find_group(cfg, "f")->hedge.on);
}

static void
test_config_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{'after_ms':9}",     "{'after_ms':60001}", "{'after_ms':'p99'}",
        "{'after_ms':1.5}",   "{'max_share':0.6}",  "{'max_share':-0.1}",
        "{'max_share':'5%'}", "{'other':1}",        "'yes'",
        "{'after_ms':null}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        load_bad(JF("{'providers':{" PROV_LOCAL "},'deployments':{" DEP_D
                    "},'groups':{'g':{'deployments':['d'],'hedge':%s}}}",
                    bad[i]));
        if (strstr(sy_buf_cstr(&errs), "groups.g.hedge") == NULL)
            fail_msg("%s: error does not name the key:\n%s", bad[i],
                     sy_buf_cstr(&errs));
    }
    load_ok(with_groups("'g':{'deployments':['d'],'hedge':{'after_ms':10,"
                        "'max_share':0}},'h':{'deployments':['e'],'hedge':{"
                        "'after_ms':60000,'max_share':0.5}}"));
}

static void
test_delay(void **state)
{
    (void)state;
    struct sy_hedge_conf h = { .on = true,
                               .after_p95 = true,
                               .max_share = 0.05 };
    struct sy_dep_view v;
    memset(&v, 0, sizeof(v));
    /* No samples: no hedge. */
    assert_int_equal(sy_hedge_delay_ms(&h, &v), 0);
    assert_int_equal(sy_hedge_delay_ms(&h, NULL), 0);
    v.samples = SY_HEDGE_MIN_SAMPLES - 1; /* a "p95" of nine samples */
    v.ttft_p95_ms = 420;
    assert_int_equal(sy_hedge_delay_ms(&h, &v), 0);
    v.samples = 20;
    assert_int_equal(sy_hedge_delay_ms(&h, &v), 420);
    v.ttft_p95_ms = 2; /* never below the minimum */
    assert_int_equal(sy_hedge_delay_ms(&h, &v), 10);
    /* A quiet deployment: its last live picture. */
    memset(&v, 0, sizeof(v));
    v.known.samples = 50;
    v.known.ttft_p95_ms = 800;
    assert_int_equal(sy_hedge_delay_ms(&h, &v), 800);
    /* A fixed delay needs no samples. */
    h.after_p95 = false;
    h.after_ms = 150;
    memset(&v, 0, sizeof(v));
    assert_int_equal(sy_hedge_delay_ms(&h, &v), 150);
    h.on = false;
    assert_int_equal(sy_hedge_delay_ms(&h, &v), 0);
}

/* The picture every hedge decision reads: the live window from
 * SY_HEDGE_MIN_SAMPLES samples on, else the last live one, else none. */
static void
test_ttft_of(void **state)
{
    (void)state;
    struct sy_hedge_ttft t = sy_hedge_ttft_of(NULL);
    assert_int_equal(t.p50_ms + t.p95_ms + t.p99_ms, 0);
    struct sy_dep_view v;
    memset(&v, 0, sizeof(v));
    t = sy_hedge_ttft_of(&v);
    assert_int_equal(t.p50_ms + t.p95_ms + t.p99_ms, 0);
    v.known = (struct sy_dep_known){ .samples = 40,
                                     .ttft_p50_ms = 300,
                                     .ttft_p95_ms = 900,
                                     .ttft_p99_ms = 1500 };
    v.samples = SY_HEDGE_MIN_SAMPLES - 1;
    v.ttft_p50_ms = 100;
    v.ttft_p95_ms = 200;
    v.ttft_p99_ms = 250;
    t = sy_hedge_ttft_of(&v); /* nine live samples: the known picture */
    assert_int_equal(t.p50_ms, 300);
    assert_int_equal(t.p95_ms, 900);
    assert_int_equal(t.p99_ms, 1500);
    v.samples = SY_HEDGE_MIN_SAMPLES;
    t = sy_hedge_ttft_of(&v);
    assert_int_equal(t.p50_ms, 100);
    assert_int_equal(t.p95_ms, 200);
    assert_int_equal(t.p99_ms, 250);
    v.ttft_p95_ms = 0; /* samples without a time to first token */
    t = sy_hedge_ttft_of(&v);
    assert_int_equal(t.p95_ms, 900);
    v.known.samples = 0; /* never seen live: nothing */
    t = sy_hedge_ttft_of(&v);
    assert_int_equal(t.p50_ms + t.p95_ms + t.p99_ms, 0);
}

/* A first attempt on a slow deployment is hedged at the p95 of the
 * healthy ones that could answer instead, not at its own late one. */
static void
test_delay_plan(void **state)
{
    (void)state;
    struct sy_hedge_conf h = { .on = true,
                               .after_p95 = true,
                               .max_share = 0.05 };
    struct sy_dep_view slow, b, c, none;
    memset(&slow, 0, sizeof(slow));
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    memset(&none, 0, sizeof(none));
    slow.samples = b.samples = c.samples = 40;
    slow.ttft_p95_ms = 2600; /* +2 s: a re-probe or a fallback */
    b.ttft_p95_ms = 450;
    c.ttft_p95_ms = 380;
    const struct sy_dep_view *peers[3] = { &b, &c, &none };
    assert_int_equal(sy_hedge_delay_plan_ms(&h, &slow, peers, 3), 380);
    assert_int_equal(sy_hedge_delay_plan_ms(&h, &slow, peers, 0), 2600);
    /* The first one's own when it is the quickest. */
    slow.ttft_p95_ms = 200;
    assert_int_equal(sy_hedge_delay_plan_ms(&h, &slow, peers, 3), 200);
    /* A first one without samples: the healthy peers' delay. */
    assert_int_equal(sy_hedge_delay_plan_ms(&h, &none, peers, 2), 380);
    assert_int_equal(sy_hedge_delay_plan_ms(&h, &none, peers + 2, 1), 0);
    /* A fixed delay stays fixed. */
    h.after_p95 = false;
    h.after_ms = 700;
    assert_int_equal(sy_hedge_delay_plan_ms(&h, &slow, peers, 3), 700);
}

/* sy_hedge_delay_cold_ms over the plan of 'a', 'b' and 'c'. */
static uint32_t
cold(const struct sy_hedge_conf *h, const struct sy_dep_view *a,
     const struct sy_dep_view *b, const struct sy_dep_view *c)
{
    const struct sy_dep_view *all[3] = { a, b, c };
    return sy_hedge_delay_cold_ms(h, all, 3);
}

/* A cold start: no deployment has a picture; the pooled samples of the
 * plan's deployments give a cautious delay once there are enough. */
static void
test_delay_cold(void **state)
{
    (void)state;
    struct sy_hedge_conf h = { .on = true,
                               .after_p95 = true,
                               .max_share = 0.05 };
    struct sy_dep_view a, b, c;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    /* Nothing seen: no hedge. */
    assert_int_equal(cold(&h, &a, &b, &c), 0);
    /* Four, three and two samples: nine, one short. */
    a.samples = 4;
    a.ttft_p95_ms = 140;
    b.samples = 3;
    b.ttft_p95_ms = 260;
    c.samples = 2;
    c.ttft_p95_ms = 230;
    assert_int_equal(cold(&h, &a, &b, &c), 0);
    /* Ten: twice the longest held p95. */
    c.samples = 3;
    assert_int_equal(cold(&h, &a, &b, &c), 520);
    /* One with a picture of its own (a drained one, say): not a cold
     * start, so not this. */
    b.samples = 12;
    assert_int_equal(cold(&h, &a, &b, &c), 0);
    b.samples = 3;
    b.known.samples = 40;
    b.known.ttft_p95_ms = 900;
    assert_int_equal(cold(&h, &a, &b, &c), 0);
    b.known.samples = 0;
    assert_int_equal(cold(&h, &a, &b, &c), 520);
    /* Each within the delay's bounds. */
    b.ttft_p95_ms = c.ttft_p95_ms = 0;
    a.ttft_p95_ms = 2;
    assert_int_equal(cold(&h, &a, &b, &c), 10);
    a.ttft_p95_ms = 45000;
    assert_int_equal(cold(&h, &a, &b, &c), 60000);
    /* Samples without a first token (no p95): no hedge. */
    a.ttft_p95_ms = 0;
    assert_int_equal(cold(&h, &a, &b, &c), 0);
    /* A fixed delay, or hedging off: never this. */
    a.ttft_p95_ms = 300;
    h.after_p95 = false;
    h.after_ms = 700;
    assert_int_equal(cold(&h, &a, &b, &c), 0);
    h.after_p95 = true;
    h.on = false;
    assert_int_equal(cold(&h, &a, &b, &c), 0);
    assert_int_equal(cold(NULL, &a, &b, &c), 0);
}

static struct sy_dep_view
ttft(uint32_t p50, uint32_t p95, uint32_t p99)
{
    struct sy_dep_view v;
    memset(&v, 0, sizeof(v));
    v.samples = 200;
    v.ttft_p50_ms = p50;
    v.ttft_p95_ms = p95;
    v.ttft_p99_ms = p99;
    return v;
}

/* The base delay moves to where a hedge is likely to answer first. */
static void
test_delay_tail(void **state)
{
    (void)state;
    /* A light tail (p50 220, p95 395, p99 500): a wait at the peers' p95
     * almost always ends before a hedge could answer; hedged from the
     * fit's 99.9th percentile (220 ms x e^(3.09 x 0.356) = 660 ms), past
     * the window's p99. */
    struct sy_dep_view light = ttft(220, 395, 500);
    uint32_t l = sy_hedge_delay_tail_ms(395, &light, 220);
    assert_true(l >= 650 && l <= 670);
    /* A tail that shows only past the p95 (occasional stalls, p99 2 s)
     * is a heavy tail: hedged at the base. */
    light.ttft_p99_ms = 2000;
    assert_int_equal(sy_hedge_delay_tail_ms(395, &light, 220), 395);
    /* A little past (p99 900): later than the base, at most the fit's
     * 99.9th percentile (220 ms x e^(3.09 x 0.606) = 1428 ms). */
    light.ttft_p99_ms = 900;
    l = sy_hedge_delay_tail_ms(395, &light, 220);
    assert_true(l > 395 && l <= 1430);
    light.ttft_p99_ms = 500;
    l = sy_hedge_delay_tail_ms(395, &light, 220);
    /* A heavy tail (p50 120, p99 4 s): a wait at 395 ms still waits at
     * 615 ms two times in three; hedged at the base. */
    struct sy_dep_view heavy = ttft(120, 1440, 4000);
    assert_int_equal(sy_hedge_delay_tail_ms(395, &heavy, 220), 395);
    /* A deployment slower than the peers (a re-probe): at the base. */
    struct sy_dep_view slow = ttft(2150, 2500, 2600);
    assert_int_equal(sy_hedge_delay_tail_ms(400, &slow, 150), 400);
    /* In between (p50 150, p95 600): later than the base, before the
     * p99. */
    struct sy_dep_view mid = ttft(150, 600, 1100);
    uint32_t d = sy_hedge_delay_tail_ms(300, &mid, 150);
    assert_true(d > 330 && d < 600);
    /* No spread at all: only a stall is hedged. */
    struct sy_dep_view flat = ttft(200, 200, 0);
    assert_int_equal(sy_hedge_delay_tail_ms(150, &flat, 100), 200);
    assert_int_equal(sy_hedge_delay_tail_ms(250, &flat, 100), 250);
    /* The last live picture of a quiet deployment. */
    struct sy_dep_view quiet;
    memset(&quiet, 0, sizeof(quiet));
    quiet.known = (struct sy_dep_known){ .samples = 90,
                                         .ttft_p50_ms = 220,
                                         .ttft_p95_ms = 395,
                                         .ttft_p99_ms = 500 };
    assert_int_equal(sy_hedge_delay_tail_ms(395, &quiet, 220), l);
    /* Nothing known of the first, or of the peer: the base. */
    struct sy_dep_view none;
    memset(&none, 0, sizeof(none));
    assert_int_equal(sy_hedge_delay_tail_ms(395, &none, 220), 395);
    assert_int_equal(sy_hedge_delay_tail_ms(395, NULL, 220), 395);
    assert_int_equal(sy_hedge_delay_tail_ms(395, &light, 0), 395);
    assert_int_equal(sy_hedge_delay_tail_ms(0, &light, 220), 0);
    /* Never past the longest delay, from the scan or as a stall. */
    struct sy_dep_view huge = ttft(3000, 9000, 120000);
    assert_true(sy_hedge_delay_tail_ms(6000, &huge, 8000) <= 60000);
    huge = ttft(10000, 58000, 0);
    assert_true(sy_hedge_delay_tail_ms(6000, &huge, 60000) <= 60000);
    huge = ttft(100000, 200000, 300000);
    assert_int_equal(sy_hedge_delay_tail_ms(60000, &huge, 10), 60000);
}

static void
test_decide(void **state)
{
    (void)state;
    /* delay, elapsed, first token, next candidate, share */
    assert_int_equal(sy_hedge_decide(150, 200, false, true, true),
                     SY_HEDGE_NOW);
    assert_int_equal(sy_hedge_decide(150, 150, false, true, true),
                     SY_HEDGE_NOW);
    assert_int_equal(sy_hedge_decide(150, 100, false, true, true),
                     SY_HEDGE_NOT_YET);
    /* Not yet even when the share is used: it may free up. */
    assert_int_equal(sy_hedge_decide(150, 100, false, true, false),
                     SY_HEDGE_NOT_YET);
    assert_int_equal(sy_hedge_decide(150, 200, false, true, false),
                     SY_HEDGE_NEVER);
    assert_int_equal(sy_hedge_decide(150, 200, true, true, true),
                     SY_HEDGE_NEVER);
    assert_int_equal(sy_hedge_decide(150, 200, false, false, true),
                     SY_HEDGE_NEVER);
    assert_int_equal(sy_hedge_decide(0, 99999, false, true, true),
                     SY_HEDGE_NEVER);
}

/* A first attempt with no hedge is asked again while it waits. */
static void
test_again(void **state)
{
    (void)state;
    /* base, delay, elapsed: asked early (at the base) for a stall, then
     * at the delay. */
    assert_int_equal(sy_hedge_again_ms(400, 900, 400), 900);
    assert_int_equal(sy_hedge_again_ms(400, 900, 899), 900);
    /* Refused at or past the delay: a base later, each time. */
    assert_int_equal(sy_hedge_again_ms(400, 900, 900), 1300);
    assert_int_equal(sy_hedge_again_ms(400, 900, 1300), 1700);
    /* Steps of the smaller of the two (the pipeline never passes a base
     * over the delay), never under 100 ms: a short p95 does not make a
     * long wait ask a hundred times a second. */
    assert_int_equal(sy_hedge_again_ms(700, 500, 500), 1000);
    assert_int_equal(sy_hedge_again_ms(0, 500, 500), 600);
    assert_int_equal(sy_hedge_again_ms(20, 20, 20), 120);
    assert_int_equal(sy_hedge_again_ms(20, 20, 120), 220);
    /* Up to 60 s; no delay, never. */
    assert_int_equal(sy_hedge_again_ms(400, 900, 59600), 60000);
    assert_int_equal(sy_hedge_again_ms(400, 900, 59601), 0);
    assert_int_equal(sy_hedge_again_ms(400, 0, 1000), 0);
}

/* Before its delay (asked at the unmoved one) a first attempt is
 * hedged only when its deployment stalls now. */
static void
test_due(void **state)
{
    (void)state;
    assert_false(sy_hedge_due(400, 900, SY_HEDGE_RULE_SHARE));
    assert_false(sy_hedge_due(899, 900, SY_HEDGE_RULE_PROBE));
    assert_true(sy_hedge_due(400, 900, SY_HEDGE_RULE_STALL));
    assert_true(sy_hedge_due(900, 900, SY_HEDGE_RULE_SHARE));
    assert_true(sy_hedge_due(5000, 900, SY_HEDGE_RULE_PROBE));
}

static void
test_share_allows(void **state)
{
    (void)state;
    /* One hedge always; then max_share of the requests. */
    assert_true(sy_hedge_share_allows(0, 0, 0.05));
    assert_false(sy_hedge_share_allows(1, 1, 0.05));
    assert_true(sy_hedge_share_allows(100, 5, 0.05));
    assert_false(sy_hedge_share_allows(100, 6, 0.05));
    assert_false(sy_hedge_share_allows(100, 0, 0.0));
    assert_true(sy_hedge_share_allows(10, 5, 0.5));
    assert_false(sy_hedge_share_allows(10, 6, 0.5));
    /* A stall's allowance: two more, never with no share at all. */
    assert_true(sy_hedge_share_allows_extra(100, 7, 0.05, 2));
    assert_false(sy_hedge_share_allows_extra(100, 8, 0.05, 2));
    assert_false(sy_hedge_share_allows_extra(100, 0, 0.0, 2));
}

/* The "p95" delay stretches as the share fills: the hedges the share
 * still has go to the slowest first attempts. */
static void
test_delay_stretched(void **state)
{
    (void)state;
    /* Allowance 0.04 x 100 + 1 = 5: unchanged up to 3.75 used. */
    assert_int_equal(sy_hedge_delay_stretched(400, 100, 0, 0.04), 400);
    assert_int_equal(sy_hedge_delay_stretched(400, 100, 3, 0.04), 400);
    /* 4 of 5: a fifth of the way from 3/4 to full, 1.4 x. */
    assert_int_equal(sy_hedge_delay_stretched(400, 100, 4, 0.04), 560);
    /* Full, and past it: three times. */
    assert_int_equal(sy_hedge_delay_stretched(400, 100, 5, 0.04), 1200);
    assert_int_equal(sy_hedge_delay_stretched(400, 100, 50, 0.04), 1200);
    /* At most 60 s; no delay stays none; no share, unchanged. */
    assert_int_equal(sy_hedge_delay_stretched(50000, 0, 1, 0.04), 60000);
    assert_int_equal(sy_hedge_delay_stretched(0, 100, 5, 0.04), 0);
    assert_int_equal(sy_hedge_delay_stretched(400, 100, 5, 0.0), 400);
}

/* sy_hedge_share_counts sees what sy_hedge_take compares. */
/* 'g' zeroed, hedging on with 'max_share' and 'explore_pct'. Groups are
 * static in these tests: a group's address keys its share windows. */
static void
hedging_group(struct sy_group *g, double max_share, unsigned explore_pct)
{
    memset(g, 0, sizeof(*g));
    g->hedge.on = true;
    g->hedge.max_share = max_share;
    g->explore_pct = explore_pct;
}

static void
test_share_counts(void **state)
{
    (void)state;
    static struct sy_group g;
    hedging_group(&g, 0.1, 0);
    uint64_t t = 4000ull * SY_HEDGE_WINDOW_MS, req = 9, hedges = 9;
    sy_hedge_share_counts(&g, t, &req, &hedges);
    assert_int_equal(req, 0);
    assert_int_equal(hedges, 0);
    for (unsigned i = 0; i < 20; i++)
        sy_hedge_note_request(&g, t + i);
    assert_true(sy_hedge_take(&g, t + 20));
    sy_hedge_share_counts(&g, t + SY_HEDGE_WINDOW_MS, &req, &hedges);
    assert_int_equal(req, 20); /* the last window still counts */
    assert_int_equal(hedges, 1);
    sy_hedge_share_counts(&g, t + 2 * SY_HEDGE_WINDOW_MS, &req, &hedges);
    assert_int_equal(req, 0);
}

static void
test_share_windows(void **state)
{
    (void)state;
    static struct sy_group g; /* its address is the key */
    hedging_group(&g, 0.1, 0);
    uint64_t t = 1000ull * SY_HEDGE_WINDOW_MS;
    struct sy_hedge_stats s0, s1;
    sy_hedge_stats(&s0);
    /* A general slowdown: every request would hedge; 10 % (+1) do. */
    unsigned taken = 0;
    for (unsigned i = 0; i < 100; i++) {
        sy_hedge_note_request(&g, t + i);
        if (sy_hedge_take(&g, t + i))
            taken++;
    }
    assert_true(taken >= 10 && taken <= 11);
    sy_hedge_stats(&s1);
    assert_int_equal(s1.started - s0.started, taken);
    /* The next window still sees the last one. */
    sy_hedge_note_request(&g, t + SY_HEDGE_WINDOW_MS);
    assert_false(sy_hedge_take(&g, t + SY_HEDGE_WINDOW_MS));
    /* Two windows later, a fresh start. */
    assert_true(sy_hedge_take(&g, t + 3 * SY_HEDGE_WINDOW_MS));
    sy_hedge_count_won();
    sy_hedge_stats(&s1);
    assert_int_equal(s1.won - s0.won, 1);
}

/* A hedge that never went out gives its share back: the next may go. */
static void
test_share_give_back(void **state)
{
    (void)state;
    static struct sy_group g;
    hedging_group(&g, 0.1, 0);
    uint64_t t = 2000ull * SY_HEDGE_WINDOW_MS;
    struct sy_hedge_stats s0, s1;
    sy_hedge_stats(&s0);
    sy_hedge_note_request(&g, t);
    /* Looking takes nothing, however often. */
    for (int i = 0; i < 3; i++)
        assert_true(sy_hedge_may_take(&g, t, SY_HEDGE_RULE_SHARE));
    assert_true(sy_hedge_take(&g, t)); /* the allowance of one */
    assert_false(sy_hedge_may_take(&g, t, SY_HEDGE_RULE_SHARE));
    assert_true(sy_hedge_may_take(&g, t, SY_HEDGE_RULE_STALL));
    assert_false(sy_hedge_take(&g, t));
    sy_hedge_give_back(&g, t);
    sy_hedge_stats(&s1);
    assert_int_equal(s1.started, s0.started);
    assert_true(sy_hedge_take(&g, t));
    /* A stalled deployment's first attempts: SY_HEDGE_STALL_EXTRA more
     * in the same window pair, and no more. */
    assert_false(sy_hedge_take(&g, t));
    for (int i = 0; i < SY_HEDGE_STALL_EXTRA; i++)
        assert_true(sy_hedge_take_stalled(&g, t));
    assert_false(sy_hedge_take_stalled(&g, t));
    assert_false(sy_hedge_take(&g, t));
}

/* An exploration probe may also use the exploration share; a stall's
 * allowance and the probes' are counted with the others. */
static void
test_share_probe(void **state)
{
    (void)state;
    static struct sy_group g;
    hedging_group(&g, 0.05, 5);
    uint64_t t = 3000ull * SY_HEDGE_WINDOW_MS;
    for (int i = 0; i < 100; i++)
        sy_hedge_note_request(&g, t);
    /* 0.05 x 100 + 1 = 6 */
    for (int i = 0; i < 6; i++)
        assert_true(sy_hedge_take(&g, t));
    assert_false(sy_hedge_take(&g, t));
    /* (0.05 + 0.05) x 100 + 1 = 11: five more for probes */
    for (int i = 0; i < 5; i++)
        assert_true(sy_hedge_take_probe(&g, t));
    assert_false(sy_hedge_take_probe(&g, t));
    /* 6 + 2 = 8 < 11 taken: no stall allowance left */
    assert_false(sy_hedge_take_stalled(&g, t));
    /* A group that never hedges never hedges a probe. */
    g.hedge.max_share = 0;
    assert_false(sy_hedge_take_probe(&g, t + 5 * SY_HEDGE_WINDOW_MS));
    assert_false(sy_hedge_take_stalled(&g, t + 5 * SY_HEDGE_WINDOW_MS));
}

/* The rule a hedge is taken under: a fixed delay keeps the share alone,
 * whatever the plan or the streams say; one other stalled stream is not
 * a stall. */
static void
test_rule_of(void **state)
{
    (void)state;
    assert_int_equal(sy_hedge_rule_of(false, true, 5), SY_HEDGE_RULE_SHARE);
    assert_int_equal(sy_hedge_rule_of(false, false, 5), SY_HEDGE_RULE_SHARE);
    assert_int_equal(sy_hedge_rule_of(true, true, 0), SY_HEDGE_RULE_PROBE);
    assert_int_equal(sy_hedge_rule_of(true, true, 3), SY_HEDGE_RULE_PROBE);
    assert_int_equal(sy_hedge_rule_of(true, false, 2), SY_HEDGE_RULE_STALL);
    assert_int_equal(sy_hedge_rule_of(true, false, 1), SY_HEDGE_RULE_SHARE);
    assert_int_equal(sy_hedge_rule_of(true, false, 0), SY_HEDGE_RULE_SHARE);
    /* sy_hedge_take_by applies the rule it is given. */
    static struct sy_group g;
    hedging_group(&g, 0.05, 50);
    uint64_t t = 4000ull * SY_HEDGE_WINDOW_MS;
    for (int i = 0; i < 10; i++)
        sy_hedge_note_request(&g, t);
    /* 0.05 x 10 + 1 = 1.5: one by the share, two more by a stall, then
     * (0.05 + 0.5) x 10 + 1 = 6.5: three more probes */
    assert_true(sy_hedge_take_by(&g, t, SY_HEDGE_RULE_SHARE));
    assert_false(sy_hedge_take_by(&g, t, SY_HEDGE_RULE_SHARE));
    assert_true(sy_hedge_take_by(&g, t, SY_HEDGE_RULE_STALL));
    assert_true(sy_hedge_take_by(&g, t, SY_HEDGE_RULE_STALL));
    assert_false(sy_hedge_take_by(&g, t, SY_HEDGE_RULE_STALL));
    for (int i = 0; i < 3; i++)
        assert_true(sy_hedge_take_by(&g, t, SY_HEDGE_RULE_PROBE));
    assert_false(sy_hedge_take_by(&g, t, SY_HEDGE_RULE_PROBE));
}

/* A fake reply of integers. */
static void
ints(struct sy_store_val *r, const int64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].type = SY_STORE_INT;
        r[i].i = v[i];
    }
}

/* With Redis, the share is the cluster's: this process's counts go out
 * in the state thread's batch (one counter pair per group and window),
 * the cluster's totals come back, and a decision counts them plus what
 * this process did since. Stale totals (Redis down): its own counts. */
static void
test_share_cluster(void **state)
{
    (void)state;
    static struct sy_group g;
    hedging_group(&g, 0.1, 0);
    g.name = "gc";
    static struct sy_config c;
    memset(&c, 0, sizeof(c));
    c.groups = &g;
    c.ngroups = 1;
    c.state.refresh_ms = 1000; /* totals trusted for 3 s */
    uint64_t w = 3000, t = w * SY_HEDGE_WINDOW_MS + 10;
    struct sy_store_batch b;
    sy_store_batch_init(&b, 65536);
    struct sy_store_val r[6];

    /* Alone: one request, the allowance of one, no more. */
    sy_hedge_note_request(&g, t);
    assert_true(sy_hedge_take(&g, t));
    assert_false(sy_hedge_take(&g, t));
    assert_int_equal(sy_hedge_flush(&b, "sy:", &c, t), 6);
    char key[64];
    snprintf(key, sizeof(key), "sy:hedge:{gc}:%llu", (unsigned long long)w);
    assert_non_null(memmem(b.resp.data, b.resp.len, key, strlen(key)));
    /* The cluster had 1000 requests and 1 hedge (ours) this window. */
    ints(r, (const int64_t[]){ 1000, 1, 1, 0, 0, 1 }, 6);
    sy_hedge_flush_done(r, 6, t);
    unsigned taken = 0;
    for (unsigned i = 0; i < 500; i++)
        taken += sy_hedge_take(&g, t + 1);
    assert_int_equal(taken, 100); /* 1 + 100 <= 0.1 x 1000 + 1 */
    /* A batch that did not run: its counts are written next time, and
     * count meanwhile. */
    sy_store_batch_reset(&b);
    assert_int_equal(sy_hedge_flush(&b, "sy:", &c, t + 2), 6);
    sy_hedge_flush_failed();
    assert_false(sy_hedge_take(&g, t + 3));
    /* The cluster grew: 4000 requests, other processes 50 hedges. */
    sy_store_batch_reset(&b);
    assert_int_equal(sy_hedge_flush(&b, "sy:", &c, t + 4), 6);
    assert_non_null(memmem(b.resp.data, b.resp.len, "$3\r\n100\r\n", 9));
    ints(r, (const int64_t[]){ 4000, 151, 1, 0, 0, 1 }, 6);
    sy_hedge_flush_done(r, 6, t + 4);
    taken = 0;
    for (unsigned i = 0; i < 500; i++)
        taken += sy_hedge_take(&g, t + 5);
    assert_int_equal(taken, 250); /* 401 - 151 */
    /* Totals too old (Redis down): this process's own counts, of which
     * 351 hedges for 1 request: none. */
    assert_false(sy_hedge_take(&g, t + 3005));
    /* A window pair later, a fresh start (the allowance). */
    assert_true(sy_hedge_take(&g, t + 2 * SY_HEDGE_WINDOW_MS + 3005));
    sy_store_batch_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_default_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
        cmocka_unit_test(test_delay),
        cmocka_unit_test(test_ttft_of),
        cmocka_unit_test(test_delay_plan),
        cmocka_unit_test(test_delay_tail),
        cmocka_unit_test(test_delay_cold),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_again),
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_share_allows),
        cmocka_unit_test(test_delay_stretched),
        cmocka_unit_test(test_share_counts),
        cmocka_unit_test(test_share_windows),
        cmocka_unit_test(test_share_give_back),
        cmocka_unit_test(test_share_probe),
        cmocka_unit_test(test_rule_of),
        cmocka_unit_test(test_share_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
