/*
 * test_breaker.c - unit tests for core/state/breaker.c. The pure state machine
 * with an injected clock (sy_clock_set) and injected randomness; then the
 * Lua script against a real redis-server: failures from two workers open
 * the breaker once, one half-open probe for the cluster, a reopen never
 * shortens a deadline, transitions are published, and the script and the
 * C code agree step by step on a long random sequence. Uses the
 * redis-server harness of redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/breaker.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static struct redis_srv srv;
static uint64_t fake_us;

static uint64_t
fake_clock(void)
{
    return fake_us;
}

static void
advance_ms(uint64_t ms)
{
    fake_us += ms * 1000u;
}

static int
group_setup(void **state)
{
    (void)state;
    return redis_group_setup(&srv, "test_breaker");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

/* Each test starts at a fixed, epoch-like time on the fake clock. */
static int
setup_clock(void **state)
{
    (void)state;
    fake_us = UINT64_C(1700000000000) * 1000u;
    sy_clock_set(fake_clock);
    return 0;
}

static int
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

static uint32_t
fixed_rand(void *ud)
{
    struct fixed_rand *r = ud;
    uint32_t v = r->seq[r->next % r->n];
    r->next++;
    return v;
}

static uint64_t xs = 0x9e3779b97f4a7c15u;

static uint32_t
xorshift(void *ud)
{
    (void)ud;
    xs ^= xs << 13;
    xs ^= xs >> 7;
    xs ^= xs << 17;
    return (uint32_t)(xs >> 32);
}

static struct sy_breaker_conf
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

/* ------------------------------------------------------------------ */
/* Pure logic                                                          */

static void
test_classify(void **state)
{
    (void)state;
    assert_int_equal(sy_breaker_classify(SY_OK), SY_BREAKER_SUCCESS);
    static const enum sy_err fail[] = { SY_EUP_CONNECT, SY_EUP_TIMEOUT,
                                        SY_EUP_5XX, SY_EUP_PROTO };
    for (size_t i = 0; i < SY_ARRAY_LEN(fail); i++)
        assert_int_equal(sy_breaker_classify(fail[i]), SY_BREAKER_FAILURE);
    /* Own-key quota and auth, caller errors, caller gone, store trouble:
     * they say nothing about the deployment. */
    static const enum sy_err ignore[] = {
        SY_EUP_RATELIMIT, SY_EUP_AUTH, SY_EUP_BADREQ, SY_EBADREQ,  SY_ETOOBIG,
        SY_EGONE,         SY_ESTORE,   SY_EQUOTA,     SY_EINTERNAL
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(ignore); i++)
        assert_int_equal(sy_breaker_classify(ignore[i]), SY_BREAKER_IGNORE);
    assert_string_equal(sy_breaker_state_name(SY_BREAKER_HALF_OPEN),
                        "half-open");
}

static void
test_open_period(void **state)
{
    (void)state;
    struct sy_breaker_conf c = test_conf();
    c.jitter_pct = 0;
    assert_int_equal(sy_breaker_open_period_ms(&c, 0, 0), 1000);
    assert_int_equal(sy_breaker_open_period_ms(&c, 1, 0), 1000);
    assert_int_equal(sy_breaker_open_period_ms(&c, 2, 0), 2000);
    assert_int_equal(sy_breaker_open_period_ms(&c, 3, 0), 4000);
    assert_int_equal(sy_breaker_open_period_ms(&c, 4, 0), 8000);
    assert_int_equal(sy_breaker_open_period_ms(&c, 5, 0), 8000);
    assert_int_equal(sy_breaker_open_period_ms(&c, 4000000000u, 0), 8000);
    c.open_max_ms = 3000; /* not a power-of-two multiple: capped */
    assert_int_equal(sy_breaker_open_period_ms(&c, 3, 0), 3000);
    c = test_conf(); /* 50 % jitter */
    assert_int_equal(sy_breaker_open_period_ms(&c, 1, 0), 1000);
    assert_int_equal(sy_breaker_open_period_ms(&c, 1, 32768), 1250);
    assert_int_equal(sy_breaker_open_period_ms(&c, 1, 65535), 1499);
    assert_int_equal(sy_breaker_open_period_ms(&c, 9, 65535), 11999);
    /* Only the low 16 bits are used. */
    assert_int_equal(sy_breaker_open_period_ms(&c, 1, 0x18000u), 1250);
}

static void
test_consecutive_rule(void **state)
{
    (void)state;
    struct sy_breaker_conf c = test_conf();
    c.failure_pct = 0; /* this test: only the consecutive rule */
    struct sy_breaker b;
    sy_breaker_init(&b);
    const uint32_t r[] = { 0 };
    struct fixed_rand fr = { r, 1, 0 };

    for (int i = 0; i < 4; i++) {
        assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()),
                         SY_BREAKER_PASS);
        assert_false(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE,
                                       false, fixed_rand, &fr));
        advance_ms(10);
    }
    /* A success in between resets the count. */
    assert_false(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_SUCCESS,
                                   false, fixed_rand, &fr));
    assert_int_equal(b.consecutive, 0);
    for (int i = 0; i < 4; i++)
        assert_false(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE,
                                       false, fixed_rand, &fr));
    /* Ignored outcomes do not break a run of failures either way. */
    assert_false(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_IGNORE,
                                   false, fixed_rand, &fr));
    assert_int_equal(b.consecutive, 4);
    assert_true(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE,
                                  false, fixed_rand, &fr));
    assert_int_equal(b.state, SY_BREAKER_OPEN);
    assert_int_equal(b.trips, 1);
    assert_int_equal(b.open_until_ms, sy_now_ms() + 1000);
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_DENY);
    assert_false(sy_breaker_is_candidate(&b, sy_now_ms() + 999));
    assert_true(sy_breaker_is_candidate(&b, sy_now_ms() + 1000));
    /* Late outcomes of requests sent before it opened: counted only. */
    assert_false(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE,
                                   false, fixed_rand, &fr));
    assert_false(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_SUCCESS,
                                   false, fixed_rand, &fr));
    assert_int_equal(b.state, SY_BREAKER_OPEN);
    assert_int_equal(b.trips, 1);
    advance_ms(999);
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_DENY);
}

static void
test_rate_rule(void **state)
{
    (void)state;
    struct sy_breaker_conf c = test_conf(); /* 10 requests, 50 %, 10 s */
    struct sy_breaker b;
    sy_breaker_init(&b);
    uint32_t total;
    uint32_t failed;

    /* Alternating: never 5 in a row, but half of them fail. */
    for (int i = 0; i < 9; i++) {
        assert_false(
            sy_breaker_report(&b, &c, sy_now_ms(),
                              i % 2 ? SY_BREAKER_FAILURE : SY_BREAKER_SUCCESS,
                              false, NULL, NULL));
        advance_ms(100);
    }
    sy_breaker_window(&b, &c, sy_now_ms(), &total, &failed);
    assert_int_equal(total, 9);
    assert_int_equal(failed, 4);
    /* The tenth makes 5 of 10. */
    assert_true(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE,
                                  false, NULL, NULL));
    assert_int_equal(b.state, SY_BREAKER_OPEN);

    /* Old outcomes leave the window: 4 failures then a long pause then
     * 6 successes and 4 failures is 40 %, not 8 of 14. */
    sy_breaker_init(&b);
    for (int i = 0; i < 4; i++)
        sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE, false, NULL,
                          NULL);
    sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_SUCCESS, false, NULL,
                      NULL);
    advance_ms(10000);
    sy_breaker_window(&b, &c, sy_now_ms(), &total, &failed);
    assert_int_equal(total, 0);
    for (int i = 0; i < 10; i++) {
        assert_false(
            sy_breaker_report(&b, &c, sy_now_ms(),
                              i < 6 ? SY_BREAKER_SUCCESS : SY_BREAKER_FAILURE,
                              false, NULL, NULL));
        advance_ms(50);
    }
    assert_int_equal(b.state, SY_BREAKER_CLOSED);
    /* Fewer than min_requests never opens, even at 100 %. */
    c.consecutive = 0;
    sy_breaker_init(&b);
    advance_ms(20000);
    for (int i = 0; i < 9; i++)
        assert_false(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE,
                                       false, NULL, NULL));
    assert_true(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE,
                                  false, NULL, NULL));
}

/* Open: one probe after the deadline; a lost probe is replaced after
 * probe_ms; an ignored probe frees the slot; the probe's success closes
 * and resets; its failure reopens longer, with jitter. */
static void
test_half_open(void **state)
{
    (void)state;
    struct sy_breaker_conf c = test_conf();
    struct sy_breaker b;
    sy_breaker_init(&b);
    const uint32_t r[] = { 0, 0x80000000u, 0xffffffffu };
    struct fixed_rand fr = { r, 3, 0 };

    for (int i = 0; i < 5; i++)
        sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE, false,
                          fixed_rand, &fr);
    assert_int_equal(b.state, SY_BREAKER_OPEN);
    assert_int_equal(b.open_until_ms, sy_now_ms() + 1000); /* r = 0 */
    advance_ms(1000);
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_PROBE);
    assert_int_equal(b.state, SY_BREAKER_HALF_OPEN);
    for (int i = 0; i < 10; i++)
        assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()),
                         SY_BREAKER_DENY);
    /* Outcomes of others while half-open change nothing. */
    assert_false(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_SUCCESS,
                                   false, fixed_rand, &fr));
    assert_int_equal(b.state, SY_BREAKER_HALF_OPEN);
    /* The probe is lost (its worker died): after probe_ms another goes. */
    advance_ms(2999);
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_DENY);
    advance_ms(1);
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_PROBE);
    /* This probe's caller went away: the slot is free at once. */
    assert_false(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_IGNORE, true,
                                   fixed_rand, &fr));
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_PROBE);
    /* It fails: reopen for 2 s plus half of 50 % (r = 0x8000....). */
    assert_true(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE, true,
                                  fixed_rand, &fr));
    assert_int_equal(b.state, SY_BREAKER_OPEN);
    assert_int_equal(b.trips, 2);
    assert_int_equal(b.open_until_ms, sy_now_ms() + 2500);
    advance_ms(2500);
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_PROBE);
    assert_true(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE, true,
                                  fixed_rand, &fr));
    assert_int_equal(b.open_until_ms, sy_now_ms() + 4000 + 1999);
    /* Growth stops at the cap (8 s + up to 50 %). */
    for (int i = 0; i < 10; i++) {
        advance_ms(b.open_until_ms - sy_now_ms());
        assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()),
                         SY_BREAKER_PROBE);
        sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE, true,
                          fixed_rand, &fr);
        assert_true(b.open_until_ms - sy_now_ms() <= 12000);
    }
    assert_int_equal(b.trips, 13);
    /* Success closes and forgets everything. */
    advance_ms(b.open_until_ms - sy_now_ms());
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_PROBE);
    assert_true(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_SUCCESS, true,
                                  fixed_rand, &fr));
    assert_int_equal(b.state, SY_BREAKER_CLOSED);
    assert_int_equal(b.trips, 0);
    assert_int_equal(b.open_until_ms, 0);
    uint32_t total;
    uint32_t failed;
    sy_breaker_window(&b, &c, sy_now_ms(), &total, &failed);
    assert_int_equal(total, 0);
    /* So the next opening starts again from open_ms. */
    for (int i = 0; i < 5; i++)
        sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE, false, NULL,
                          NULL);
    assert_int_equal(b.open_until_ms, sy_now_ms() + 1000);
}

/* Whatever state the breaker is in, a reopen never moves the deadline
 * earlier (here: a half-open breaker adopted from the cluster with a
 * deadline still ahead, and a failing probe computing a shorter one). */
static void
test_reopen_never_shortens(void **state)
{
    (void)state;
    struct sy_breaker_conf c = test_conf();
    struct sy_breaker b;
    sy_breaker_init(&b);
    uint64_t far = sy_now_ms() + 60000;
    b.state = SY_BREAKER_HALF_OPEN;
    b.open_until_ms = far;
    b.trips = 1;
    assert_true(sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE, true,
                                  NULL, NULL));
    assert_int_equal(b.state, SY_BREAKER_OPEN);
    assert_int_equal(b.open_until_ms, far);
    assert_int_equal(b.trips, 2);
    /* Adopting an earlier deadline from the cluster does not shorten. */
    struct sy_breaker_shared sh = { .state = SY_BREAKER_OPEN,
                                    .open_until_ms = 5000,
                                    .now_ms = 4000,
                                    .trips = 2 };
    sy_breaker_adopt(&b, &c, &sh, sy_now_ms());
    assert_int_equal(b.open_until_ms, far);
    /* A later one is taken. */
    sh.open_until_ms = 4000 + 90000;
    sy_breaker_adopt(&b, &c, &sh, sy_now_ms());
    assert_int_equal(b.open_until_ms, sy_now_ms() + 90000);
}

static void
test_adopt(void **state)
{
    (void)state;
    struct sy_breaker_conf c = test_conf();
    struct sy_breaker b;
    sy_breaker_init(&b);
    sy_breaker_report(&b, &c, sy_now_ms(), SY_BREAKER_FAILURE, false, NULL,
                      NULL);
    /* Redis' clock is far from ours: only the time left matters. */
    struct sy_breaker_shared sh = { .state = SY_BREAKER_OPEN,
                                    .open_until_ms = 77000,
                                    .now_ms = 75000,
                                    .trips = 3 };
    sy_breaker_adopt(&b, &c, &sh, sy_now_ms());
    assert_int_equal(b.state, SY_BREAKER_OPEN);
    assert_int_equal(b.open_until_ms, sy_now_ms() + 2000);
    assert_int_equal(b.trips, 3);
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_DENY);
    /* Half-open in the cluster: someone holds the probe; locally we wait
     * probe_ms before we would try one ourselves. */
    sh.state = SY_BREAKER_HALF_OPEN;
    sy_breaker_adopt(&b, &c, &sh, sy_now_ms());
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_DENY);
    advance_ms(3000);
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_PROBE);
    /* Closed in the cluster: closed here, counts forgotten. */
    sh.state = SY_BREAKER_CLOSED;
    sh.trips = 0;
    sy_breaker_adopt(&b, &c, &sh, sy_now_ms());
    assert_int_equal(b.state, SY_BREAKER_CLOSED);
    assert_int_equal(b.trips, 0);
    assert_int_equal(sy_breaker_allow(&b, &c, sy_now_ms()), SY_BREAKER_PASS);
    /* An open deadline already passed in the cluster: probe candidate. */
    sh.state = SY_BREAKER_OPEN;
    sh.open_until_ms = 100;
    sh.now_ms = 200;
    sy_breaker_adopt(&b, &c, &sh, sy_now_ms());
    assert_true(sy_breaker_is_candidate(&b, sy_now_ms()));
}

static void
test_parse_event(void **state)
{
    (void)state;
    char dep[32];
    struct sy_breaker_shared sh;
    const char *m = "1 1700000005000 1700000001000 2 gpt 4o@azure";
    assert_true(sy_breaker_parse_event(m, strlen(m), dep, sizeof(dep), &sh));
    assert_string_equal(dep, "gpt 4o@azure");
    assert_int_equal(sh.state, SY_BREAKER_OPEN);
    assert_int_equal(sh.open_until_ms, UINT64_C(1700000005000));
    assert_int_equal(sh.now_ms, UINT64_C(1700000001000));
    assert_int_equal(sh.trips, 2);
    static const char *const bad[] = {
        "",
        "1",
        "1 2 3 4",
        "1 2 3 4 ",
        "3 2 3 4 d",
        "x 2 3 4 d",
        "1  2 3 4 d",
        "1 2 3 99999999999999999999999 d",
        "1 2 3 4 a-name-that-is-longer-than-the-buffer-we-gave"
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        if (sy_breaker_parse_event(bad[i], strlen(bad[i]), dep, sizeof(dep),
                                   &sh))
            fail_msg("accepted '%s'", bad[i]);
    }
    char ch[64];
    sy_breaker_channel(ch, sizeof(ch), "sy:");
    assert_string_equal(ch, "sy:breaker");
}

/* ------------------------------------------------------------------ */
/* The Lua script against redis-server                                 */

static void
reset_dep(struct sy_store *s, const char *dep)
{
    char key[128];
    char pkey[140];
    snprintf(key, sizeof(key), "t:br:{%s}", dep);
    snprintf(pkey, sizeof(pkey), "%s:probe", key);
    assert_int_equal(sy_store_commandl(s, NULL, NULL, "DEL", key, pkey, NULL),
                     SY_OK);
}

/* Read every pending event from 'sub' (waiting up to 'wait_ms' for the
 * first); returns how many, the last in '*last'. */
static int
drain_events(struct sy_store *sub, uint32_t wait_ms,
             struct sy_breaker_shared *last, char *dep, size_t deplen)
{
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    int n = 0;
    for (;;) {
        const char *chan;
        const char *msg;
        size_t len;
        assert_int_equal(sy_store_read_message(sub, n == 0 ? wait_ms : 50, &a,
                                               &chan, &msg, &len),
                         SY_OK);
        if (msg == NULL)
            break;
        assert_string_equal(chan, "t:breaker");
        assert_true(sy_breaker_parse_event(msg, len, dep, deplen, last));
        n++;
    }
    sy_arena_cleanup(&a);
    return n;
}

/* Five provider failures reported by two workers, interleaved, open the
 * breaker exactly once (one transition, one message); later failures
 * change nothing; only one worker gets the half-open probe. */
static void
test_script_two_workers(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_breaker_conf c = test_conf();
    c.failure_pct = 0;
    struct sy_store *w1 = store_on(srv.port, NULL);
    struct sy_store *w2 = store_on(srv.port, NULL);
    struct sy_store *sub = store_on(srv.port, NULL);
    assert_int_equal(sy_store_subscribe(sub, "t:breaker"), SY_OK);
    reset_dep(w1, "d1");
    uint64_t now = UINT64_C(1700000000000);
    struct sy_breaker_shared sh;
    int transitions = 0;

    /* Ignored outcomes count for nothing. */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(sy_breaker_shared_report(i % 2 ? w1 : w2, "d1", &c,
                                                  SY_BREAKER_IGNORE, NULL, 0,
                                                  now, &sh),
                         SY_OK);
        assert_int_equal(sh.window_total, 0);
    }
    for (int i = 0; i < 9; i++) {
        struct sy_store *w = i % 2 ? w1 : w2;
        assert_int_equal(sy_breaker_shared_report(w, "d1", &c,
                                                  SY_BREAKER_FAILURE, NULL, 0,
                                                  now + (uint64_t)i, &sh),
                         SY_OK);
        transitions += sh.changed;
        if (i < 4)
            assert_int_equal(sh.state, SY_BREAKER_CLOSED);
        else
            assert_int_equal(sh.state, SY_BREAKER_OPEN);
    }
    assert_int_equal(transitions, 1);
    assert_int_equal(sh.trips, 1);
    assert_int_equal(sh.open_until_ms, now + 4 + 1000);
    assert_int_equal(sh.window_total, 9);
    assert_int_equal(sh.window_failed, 9);
    char dep[64];
    struct sy_breaker_shared ev;
    assert_int_equal(drain_events(sub, 500, &ev, dep, sizeof(dep)), 1);
    assert_string_equal(dep, "d1");
    assert_int_equal(ev.state, SY_BREAKER_OPEN);
    assert_int_equal(ev.open_until_ms, now + 4 + 1000);
    /* A worker that heard the event honours it locally. */
    struct sy_breaker local;
    sy_breaker_init(&local);
    sy_breaker_adopt(&local, &c, &ev, sy_now_ms());
    assert_int_equal(sy_breaker_allow(&local, &c, sy_now_ms()),
                     SY_BREAKER_DENY);

    /* Before the deadline: nobody passes. */
    assert_int_equal(
        sy_breaker_shared_allow(w1, "d1", &c, "req-1", now + 500, &sh), SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_DENY);
    /* After it: one probe for the whole cluster. */
    now += 1004;
    assert_int_equal(sy_breaker_shared_allow(w2, "d1", &c, "req-2", now, &sh),
                     SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_PROBE);
    assert_int_equal(sh.state, SY_BREAKER_HALF_OPEN);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(sy_breaker_shared_allow(i % 2 ? w1 : w2, "d1", &c,
                                                 "req-x", now + 10, &sh),
                         SY_OK);
        assert_int_equal(sh.verdict, SY_BREAKER_DENY);
    }
    assert_int_equal(drain_events(sub, 500, &ev, dep, sizeof(dep)), 1);
    assert_int_equal(ev.state, SY_BREAKER_HALF_OPEN);
    /* Other workers' outcomes, or a report with another token, change
     * nothing; the probe's own success closes. */
    assert_int_equal(sy_breaker_shared_report(w1, "d1", &c, SY_BREAKER_SUCCESS,
                                              "req-x", 0, now + 20, &sh),
                     SY_OK);
    assert_int_equal(sh.state, SY_BREAKER_HALF_OPEN);
    assert_false(sh.changed);
    assert_int_equal(sy_breaker_shared_report(w2, "d1", &c, SY_BREAKER_SUCCESS,
                                              "req-2", 0, now + 30, &sh),
                     SY_OK);
    assert_true(sh.changed);
    assert_int_equal(sh.state, SY_BREAKER_CLOSED);
    assert_int_equal(sh.trips, 0);
    assert_int_equal(sh.window_total, 0);
    assert_int_equal(drain_events(sub, 500, &ev, dep, sizeof(dep)), 1);
    assert_int_equal(ev.state, SY_BREAKER_CLOSED);
    assert_int_equal(
        sy_breaker_shared_allow(w1, "d1", &c, "req-3", now + 40, &sh), SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_PASS);
    sy_store_free(w1);
    sy_store_free(w2);
    sy_store_free(sub);
}

/* The probe key expires with Redis' own clock: a probe lost for
 * probe_ms is replaced; an ignored probe frees the slot at once; a
 * failed probe reopens with a longer period and never a shorter
 * deadline than the one stored. */
static void
test_script_probe_and_reopen(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_breaker_conf c = test_conf();
    c.probe_ms = 150;
    struct sy_store *w1 = store_on(srv.port, NULL);
    struct sy_store *w2 = store_on(srv.port, NULL);
    reset_dep(w1, "d2");
    uint64_t now = UINT64_C(1700000000000);
    struct sy_breaker_shared sh;
    for (int i = 0; i < 5; i++)
        assert_int_equal(sy_breaker_shared_report(w1, "d2", &c,
                                                  SY_BREAKER_FAILURE, NULL, 0,
                                                  now, &sh),
                         SY_OK);
    assert_int_equal(sh.state, SY_BREAKER_OPEN);
    now += 1000;
    assert_int_equal(sy_breaker_shared_allow(w1, "d2", &c, "p1", now, &sh),
                     SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_PROBE);
    assert_int_equal(sy_breaker_shared_allow(w2, "d2", &c, "p2", now, &sh),
                     SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_DENY);
    usleep(250000); /* p1's worker died: its probe expires */
    assert_int_equal(sy_breaker_shared_allow(w2, "d2", &c, "p2", now, &sh),
                     SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_PROBE);
    /* p1 finally reports: not the probe any more, nothing changes. */
    assert_int_equal(sy_breaker_shared_report(w1, "d2", &c, SY_BREAKER_FAILURE,
                                              "p1", 0, now, &sh),
                     SY_OK);
    assert_false(sh.changed);
    assert_int_equal(sh.state, SY_BREAKER_HALF_OPEN);
    /* p2's caller went away: the slot is free at once. */
    assert_int_equal(sy_breaker_shared_report(w2, "d2", &c, SY_BREAKER_IGNORE,
                                              "p2", 0, now, &sh),
                     SY_OK);
    assert_int_equal(sy_breaker_shared_allow(w1, "d2", &c, "p3", now, &sh),
                     SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_PROBE);
    /* p3 fails: trip 2, 2 s plus jitter (r16 = 32768: +25 %). */
    assert_int_equal(sy_breaker_shared_report(w1, "d2", &c, SY_BREAKER_FAILURE,
                                              "p3", 32768, now, &sh),
                     SY_OK);
    assert_true(sh.changed);
    assert_int_equal(sh.state, SY_BREAKER_OPEN);
    assert_int_equal(sh.trips, 2);
    assert_int_equal(sh.open_until_ms, now + 2500);

    /* A stored deadline further out than what a reopen computes (clocks,
     * a config change, an operator): the reopen keeps it. */
    char far[32];
    uint64_t far_ms = now + 3600000;
    snprintf(far, sizeof(far), "%llu", (unsigned long long)far_ms);
    assert_int_equal(sy_store_commandl(w1, NULL, NULL, "HSET", "t:br:{d2}",
                                       "state", "2", "open_until", far, NULL),
                     SY_OK);
    assert_int_equal(
        sy_store_commandl(w1, NULL, NULL, "SET", "t:br:{d2}:probe", "p4", NULL),
        SY_OK);
    assert_int_equal(sy_breaker_shared_report(w2, "d2", &c, SY_BREAKER_FAILURE,
                                              "p4", 0, now + 2600, &sh),
                     SY_OK);
    assert_true(sh.changed);
    assert_int_equal(sh.state, SY_BREAKER_OPEN);
    assert_int_equal(sh.trips, 3);
    assert_int_equal(sh.open_until_ms, far_ms);
    /* Reads: the state, one by one or for many deployments at once. */
    assert_int_equal(sy_breaker_shared_get(w1, "d2", &c, &sh), SY_OK);
    assert_int_equal(sh.state, SY_BREAKER_OPEN);
    assert_int_equal(sh.open_until_ms, far_ms);
    assert_true(sh.now_ms > UINT64_C(1600000000000)); /* Redis' clock */
    struct sy_store_batch b;
    sy_store_batch_init(&b, 1 << 16);
    assert_int_equal(sy_breaker_batch_get(&b, "t:", "d2", &c), SY_OK);
    assert_int_equal(sy_breaker_batch_get(&b, "t:", "never-seen", &c), SY_OK);
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_store_val *r;
    assert_int_equal(sy_store_exec(w2, &b, &a, &r), SY_OK);
    assert_true(sy_breaker_parse_shared(&r[0], &sh));
    assert_int_equal(sh.trips, 3);
    assert_true(sy_breaker_parse_shared(&r[1], &sh));
    assert_int_equal(sh.state, SY_BREAKER_CLOSED);
    assert_false(sy_breaker_parse_shared(NULL, &sh));
    /* "get" writes nothing: an unknown deployment leaves no key. */
    assert_int_equal(
        sy_store_commandl(w2, &a, &r, "EXISTS", "t:br:{never-seen}", NULL),
        SY_OK);
    assert_int_equal(r->i, 0);
    /* The state hash expires by itself. */
    assert_int_equal(sy_store_commandl(w2, &a, &r, "PTTL", "t:br:{d2}", NULL),
                     SY_OK);
    assert_true(r->i > 0);
    sy_arena_cleanup(&a);
    sy_store_batch_cleanup(&b);
    sy_store_free(w1);
    sy_store_free(w2);
}

/* The C breaker and the script, fed the same random sequence of allows
 * and outcomes with the same times and jitter, end every step in the
 * same state, deadline and trip count. (probe_ms is long so that Redis'
 * real-time expiry of the probe key plays no part.) */
static void
test_script_matches_c(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_breaker_conf c = test_conf();
    c.probe_ms = 3600000;
    c.consecutive = 4;
    c.min_requests = 6;
    struct sy_store *w = store_on(srv.port, NULL);
    reset_dep(w, "d3");
    struct sy_breaker b;
    sy_breaker_init(&b);
    uint64_t now = UINT64_C(1700000000000);
    bool holding = false;
    char token[32] = "";
    int opens = 0;
    int probes = 0;
    for (int step = 0; step < 1500; step++) {
        now += xorshift(NULL) % 700;
        struct sy_breaker_shared sh;
        uint32_t roll = xorshift(NULL) % 100;
        if (roll < 30) {
            enum sy_breaker_verdict v = sy_breaker_allow(&b, &c, now);
            char try[32];
            snprintf(try, sizeof(try), "t%d", step);
            assert_int_equal(
                sy_breaker_shared_allow(w, "d3", &c, try, now, &sh), SY_OK);
            assert_int_equal(sh.verdict, v);
            if (v == SY_BREAKER_PROBE) {
                memcpy(token, try, sizeof(token));
                holding = true;
                probes++;
            }
        } else {
            enum sy_breaker_outcome o = roll < 55   ? SY_BREAKER_SUCCESS
                                        : roll < 95 ? SY_BREAKER_FAILURE
                                                    : SY_BREAKER_IGNORE;
            bool probe = holding && xorshift(NULL) % 3 == 0;
            uint32_t r = xorshift(NULL);
            uint32_t r16 = r >> 16;
            struct fixed_rand fr = { &r, 1, 0 };
            bool changed =
                sy_breaker_report(&b, &c, now, o, probe, fixed_rand, &fr);
            assert_int_equal(sy_breaker_shared_report(w, "d3", &c, o,
                                                      probe ? token : NULL, r16,
                                                      now, &sh),
                             SY_OK);
            assert_int_equal(sh.changed, changed);
            if (probe)
                holding = false;
            opens += changed && b.state == SY_BREAKER_OPEN;
        }
        if (sh.state != b.state || sh.open_until_ms != b.open_until_ms ||
            sh.trips != b.trips)
            fail_msg("step %d: script %s/%llu/%u, C %s/%llu/%u", step,
                     sy_breaker_state_name(sh.state),
                     (unsigned long long)sh.open_until_ms, sh.trips,
                     sy_breaker_state_name(b.state),
                     (unsigned long long)b.open_until_ms, b.trips);
        uint32_t total;
        uint32_t failed;
        sy_breaker_window(&b, &c, now, &total, &failed);
        assert_int_equal(sh.window_total, total);
        assert_int_equal(sh.window_failed, failed);
    }
    print_message("    1500 steps: %d openings, %d probes, identical\n", opens,
                  probes);
    assert_true(opens > 5);
    assert_true(probes > 5);
    sy_store_free(w);
}

/* Redis down: the calls fail fast with SY_ESTORE and the caller falls
 * back to its local breaker. */
static void
test_script_store_down(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_breaker_conf c = test_conf();
    struct sy_store *w = store_on(free_port(), NULL);
    struct sy_breaker_shared sh;
    assert_int_equal(sy_breaker_shared_allow(w, "d4", &c, "x", 0, &sh),
                     SY_ESTORE);
    assert_int_equal(sy_breaker_shared_report(w, "d4", &c, SY_BREAKER_FAILURE,
                                              NULL, 0, 0, &sh),
                     SY_ESTORE);
    /* A deployment name too long for a key. */
    struct sy_store *ok = store_on(srv.port, NULL);
    char longname[600];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(sy_breaker_shared_get(ok, longname, &c, &sh), SY_EBADREQ);
    sy_store_free(ok);
    sy_store_free(w);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_clock, restore_clock)
    const struct CMUnitTest tests[] = {
        T(test_classify),
        T(test_open_period),
        T(test_consecutive_rule),
        T(test_rate_rule),
        T(test_half_open),
        T(test_reopen_never_shortens),
        T(test_adopt),
        T(test_parse_event),
        T(test_script_two_workers),
        T(test_script_probe_and_reopen),
        T(test_script_matches_c),
        T(test_script_store_down),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
