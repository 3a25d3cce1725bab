/*
 * test_wait_share.c - streams waiting for a first token seen across
 * processes (core/state/wait_share.c, inflight.c, state.c):
 *   - the value another process wrote, parsed: fresh or not, a minute
 *     old (deleted), malformed, an unknown deployment, a clock ahead;
 *   - remote waits count in the signal (sy_inflight_wait_ms) and in the
 *     count of waits past a time, and only the oldest are kept;
 *   - two states ("processes", each with its state thread) on a real
 *     redis-server: one's waits raise the other's view of the
 *     deployment within a few refreshes and are gone when they end; a
 *     dead process's field is ignored, and deleted once a minute old.
 * Uses redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/inflight.h"
#include "state/state.h"
#include "state/wait_share.h"
#include "config/config.h"
#include "router_fixture.h"
#include "base/clock.h"

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
    return redis_group_setup(&srv, "test_wait_share");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

static struct sy_config *
two_dep_config(int port)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{" RF_PROVIDERS ",\"deployments\":{\"d1\"" RF_ON_P
             ",\"d2\"" RF_ON_P "},"
             "\"groups\":{\"g\":{\"deployments\":[\"d1\",\"d2\"]}},"
             "\"state\":{\"redis_url\":\"redis://127.0.0.1:%d\","
             "\"prefix\":\"ws:\",\"refresh_ms\":50}}",
             port);
    return rf_load_ok(text);
}

/* ------------------------------------------------------------------ */
/* The value, parsed (pure)                                            */

struct seen {
    size_t n;
    size_t dep[8];
    uint64_t start[8];
    uint32_t len[8];
};

static void
on_wait(void *ud, size_t dep, uint64_t ms, uint32_t len_ms)
{
    struct seen *s = ud;
    if (s->n < 8) {
        s->dep[s->n] = dep;
        s->len[s->n] = len_ms;
        s->start[s->n++] = ms;
    }
}

static bool
parse(const struct sy_config *cfg, const char *v, uint64_t wall, bool *stale,
      struct seen *s)
{
    memset(s, 0, sizeof(*s));
    return sy_wait_share_parse(cfg, v, strlen(v), wall, 1100, stale, on_wait,
                               s);
}

static void
test_parse(void **state)
{
    (void)state;
    struct sy_config *cfg = two_dep_config(1);
    struct seen s;
    bool stale;
    /* Fresh: both deployments, an unknown one skipped, a start after
     * now (a clock ahead) skipped. */
    assert_true(parse(cfg, "100000 d1=97000,98000 gone=1 d2=99000,100600",
                      100500, &stale, &s));
    assert_false(stale);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.dep[0], 0);
    assert_int_equal(s.start[0], 97000);
    assert_int_equal(s.start[1], 98000);
    assert_int_equal(s.dep[2], 1);
    assert_int_equal(s.start[2], 99000);
    /* Ended waits: "<end>+<length>", beside those in flight. */
    assert_true(parse(cfg, "100000 d2=99000,99500+10000,99900+150", 100000,
                      &stale, &s));
    assert_int_equal(s.n, 3);
    assert_int_equal(s.len[0], 0);
    assert_int_equal(s.start[1], 99500);
    assert_int_equal(s.len[1], 10000);
    assert_int_equal(s.dep[2], 1);
    assert_int_equal(s.len[2], 150);
    /* Only the time: a process with nothing waiting that wrote anyway. */
    assert_true(parse(cfg, "100000", 100000, &stale, &s));
    assert_int_equal(s.n, 0);
    /* Not rewritten for longer than the fresh time: ignored; a minute
     * old: stale too. */
    assert_false(parse(cfg, "100000 d1=1", 101101, &stale, &s));
    assert_false(stale);
    assert_int_equal(s.n, 0);
    assert_false(parse(cfg, "100000 d1=1", 100000 + SY_WAIT_SHARE_STALE_MS + 1,
                       &stale, &s));
    assert_true(stale);
    /* Malformed. */
    static const char *const bad[] = { "",
                                       "x",
                                       "100000 d1",
                                       "100000 =1",
                                       "100000 d1=",
                                       "100000  d1=1",
                                       "100000 d1=1,",
                                       "100000 d1=a" };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++)
        assert_false(parse(cfg, bad[i], 100000, &stale, &s));
    sy_config_free(cfg);
}

/* ------------------------------------------------------------------ */
/* Remote waits in the signal (pure)                                   */

static void
test_remote_in_signal(void **state)
{
    (void)state;
    struct sy_inflight *f = sy_inflight_new(2);
    uint64_t now = 100000000; /* µs */
    /* One local wait of 3 s: one is not a signal. */
    int slot = sy_inflight_wait_begin(f, 0, now - 3000000);
    assert_true(slot >= 0);
    assert_int_equal(sy_inflight_wait_ms(f, 0, now), 0);
    /* A remote wait of 2 s makes two. */
    uint64_t r[1] = { now - 2000000 };
    sy_inflight_set_remote(f, 0, r, 1);
    assert_int_equal(sy_inflight_wait_ms(f, 0, now), 2000);
    assert_int_equal(sy_inflight_waiting_longer(f, 0, now, 1500, -1), 2);
    assert_int_equal(sy_inflight_waiting_longer(f, 0, now, 1500, slot), 1);
    assert_int_equal(sy_inflight_wait_ms(f, 1, now), 0);
    /* Replaced by the next read: none left. */
    sy_inflight_set_remote(f, 0, NULL, 0);
    assert_int_equal(sy_inflight_wait_ms(f, 0, now), 0);
    /* Another process's ended wait of 10 s, 1 s ago, counts as one of
     * its own would, until SY_INFLIGHT_HOLD_MS after its end; not as a
     * wait in flight. */
    uint64_t end_ms[1] = { now / 1000 - 1000 };
    uint32_t len_ms[1] = { 10000 };
    sy_inflight_set_remote_ended(f, 0, end_ms, len_ms, 1);
    assert_int_equal(sy_inflight_wait_ms(f, 0, now), 3000);
    assert_int_equal(sy_inflight_waiting_longer(f, 0, now, 1500, -1), 1);
    assert_int_equal(
        sy_inflight_wait_ms(f, 0, now + (SY_INFLIGHT_HOLD_MS - 1500) * 1000),
        10000);
    assert_int_equal(
        sy_inflight_wait_ms(f, 0, now + (SY_INFLIGHT_HOLD_MS - 500) * 1000), 0);
    sy_inflight_set_remote_ended(f, 0, NULL, NULL, 0);
    assert_int_equal(sy_inflight_wait_ms(f, 0, now), 0);
    /* More than kept: the oldest stay. */
    uint64_t many[SY_INFLIGHT_REMOTE + 4];
    for (size_t i = 0; i < SY_ARRAY_LEN(many); i++)
        many[i] = now - (i + 1) * 100000; /* 0.1 s, 0.2 s, ... */
    sy_inflight_set_remote(f, 1, many, SY_ARRAY_LEN(many));
    assert_int_equal(sy_inflight_waiting_longer(f, 1, now, 0, -1),
                     SY_INFLIGHT_REMOTE);
    assert_int_equal(sy_inflight_waiting_longer(
                         f, 1, now, (SY_ARRAY_LEN(many) - 1) * 100 - 1, -1),
                     2);
    /* The two oldest of this process's own, oldest first. */
    uint64_t out[2];
    assert_int_equal(sy_inflight_oldest(f, 0, now, 100, out), 1);
    assert_int_equal(out[0], now - 3000000);
    int s2 = sy_inflight_wait_begin(f, 0, now - 5000000);
    int s3 = sy_inflight_wait_begin(f, 0, now - 50000); /* too young */
    assert_int_equal(sy_inflight_oldest(f, 0, now, 100, out), 2);
    assert_int_equal(out[0], now - 5000000);
    assert_int_equal(out[1], now - 3000000);
    sy_inflight_wait_cancel(f, 0, slot);
    sy_inflight_wait_cancel(f, 0, s2);
    sy_inflight_wait_cancel(f, 0, s3);
    assert_int_equal(sy_inflight_oldest(f, 0, now, 100, out), 0);
    sy_inflight_free(f);
}

/* ------------------------------------------------------------------ */
/* Two processes on one Redis                                          */

static uint32_t
view_wait(const struct sy_config *cfg, struct sy_state *st, size_t dep)
{
    struct sy_dep_view v[3];
    assert_true(cfg->ndeployments < 3);
    sy_state_views(st, v);
    return v[dep].wait_ms;
}

/* Poll until 'st''s view of 'dep' has a wait signal of at least 'min'
 * (or of 0 when 'min' is 0), for at most 'max_ms'. */
static bool
wait_for(const struct sy_config *cfg, struct sy_state *st, size_t dep,
         uint32_t min, uint64_t max_ms)
{
    uint64_t start = sy_now_ms();
    while (sy_now_ms() - start < max_ms) {
        uint32_t w = view_wait(cfg, st, dep);
        if (min == 0 ? w == 0 : w >= min)
            return true;
        usleep(10000);
    }
    return false;
}

static long long
hlen(struct sy_store *s)
{
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(s, &a, &v, "HLEN", "ws:waits", NULL),
                     SY_OK);
    long long n = v->type == SY_STORE_INT ? v->i : -1;
    sy_arena_cleanup(&a);
    return n;
}

static void
test_two_processes(void **state)
{
    (void)state;
    if (!have_redis)
        skip();
    struct sy_config *cfg = two_dep_config(srv.port);
    struct sy_state *a, *b;
    assert_int_equal(sy_state_start(cfg, NULL, &a), SY_OK);
    assert_int_equal(sy_state_start(cfg, NULL, &b), SY_OK);
    struct sy_store *s = sy_state_new_store(b);
    assert_non_null(s);

    /* A dead process's field: a minute old. */
    char dead[64];
    snprintf(
        dead, sizeof(dead), "%llu d1=1,2",
        (unsigned long long)(sy_wall_ms() - SY_WAIT_SHARE_STALE_MS - 5000));
    struct sy_arena ar;
    sy_arena_init(&ar, 1024);
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(s, &ar, &v, "HSET", "ws:waits",
                                       "gone:1:00000000", dead, NULL),
                     SY_OK);
    sy_arena_cleanup(&ar);

    /* Process a: two streams on d1 waiting 3 s and 2 s. */
    struct sy_inflight *fa = sy_state_inflight(a);
    uint64_t now = sy_now_us();
    int w1 = sy_inflight_wait_begin(fa, 0, now - 3000000);
    int w2 = sy_inflight_wait_begin(fa, 0, now - 2000000);
    assert_true(w1 >= 0 && w2 >= 0);
    assert_true(view_wait(cfg, a, 0) >= 2000);
    /* Process b, with nothing of its own, sees them. */
    assert_true(wait_for(cfg, b, 0, 2000, 3000));
    assert_int_equal(view_wait(cfg, b, 1), 0);
    assert_int_equal(sy_inflight_waiting_longer(sy_state_inflight(b), 0,
                                                sy_now_us(), 1500, -1),
                     2);
    /* The dead field was ignored, and is deleted: only a's is left. */
    uint64_t t0 = sy_now_ms();
    while (hlen(s) != 1 && sy_now_ms() - t0 < 3000)
        usleep(10000);
    assert_int_equal(hlen(s), 1);

    /* a's streams get their first tokens: b's signal goes, and a's
     * field with it (its two ended waits stay a's own). */
    sy_inflight_wait_cancel(fa, 0, w1);
    sy_inflight_wait_cancel(fa, 0, w2);
    assert_true(wait_for(cfg, b, 0, 0, 3000));
    t0 = sy_now_ms();
    while (hlen(s) != 0 && sy_now_ms() - t0 < 3000)
        usleep(10000);
    assert_int_equal(hlen(s), 0);

    /* Two of a's streams on d1 end after 2.5 s and 2 s without a token
     * (a time-out): b counts them as a does, though none is in flight. */
    uint64_t t1 = sy_now_us();
    int w5 = sy_inflight_wait_begin(fa, 0, t1 - 2500000);
    int w6 = sy_inflight_wait_begin(fa, 0, t1 - 2000000);
    sy_inflight_wait_end(fa, 0, w5, t1, false);
    sy_inflight_wait_end(fa, 0, w6, t1, false);
    assert_int_equal(view_wait(cfg, a, 0), 2000);
    assert_true(wait_for(cfg, b, 0, 2000, 3000));
    assert_int_equal(sy_inflight_waiting_longer(sy_state_inflight(b), 0,
                                                sy_now_us(), 1500, -1),
                     0);

    /* A process that stops takes its waits with it. */
    int w3 = sy_inflight_wait_begin(fa, 1, sy_now_us() - 4000000);
    int w4 = sy_inflight_wait_begin(fa, 1, sy_now_us() - 4000000);
    assert_true(w3 >= 0 && w4 >= 0);
    assert_true(wait_for(cfg, b, 1, 3000, 3000));
    sy_state_stop(a);
    assert_int_equal(hlen(s), 0);
    assert_true(wait_for(cfg, b, 1, 0, 3000));
    assert_int_equal(view_wait(cfg, b, 0), 0);

    sy_store_free(s);
    sy_state_stop(b);
    sy_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_remote_in_signal),
        cmocka_unit_test(test_two_processes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
