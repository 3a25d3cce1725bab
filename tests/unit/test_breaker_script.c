/*
 * test_breaker_script.c - unit tests for the Lua script of
 * core/state/breaker.c against a real redis-server: failures from two
 * workers open the breaker once, one half-open probe for the cluster, a
 * reopen never shortens a deadline, transitions are published, the
 * script and the C code agree step by step on a long random sequence,
 * and a store that is down fails fast. Uses the redis-server harness of
 * redis_harness.h and the clock and randomness of breaker_fixture.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "breaker_fixture.h"

static struct redis_srv srv;

static int
group_setup(void **state)
{
    (void)state;
    return redis_group_setup(&srv, "test_breaker_script");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
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
        T(test_script_two_workers),
        T(test_script_probe_and_reopen),
        T(test_script_matches_c),
        T(test_script_store_down),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
