/*
 * test_breaker.c - unit tests for core/state/breaker.c, the pure state
 * machine with an injected clock (sy_clock_set) and injected randomness:
 * failure classes, the open period and its jitter, the consecutive and
 * rate rules, half-open probes, a reopen never shortens a deadline,
 * adopting shared state, and the transition events. The Lua script
 * against a real redis-server is in test_breaker_script.c.
 * SPDX-License-Identifier: MIT
 */
#include "breaker_fixture.h"

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

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_clock, restore_clock)
    const struct CMUnitTest tests[] = {
        T(test_classify),  T(test_open_period), T(test_consecutive_rule),
        T(test_rate_rule), T(test_half_open),   T(test_reopen_never_shortens),
        T(test_adopt),     T(test_parse_event),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
