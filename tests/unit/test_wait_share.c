/*
 * test_wait_share.c - streams waiting for a first token seen across
 * processes (core/state/wait_share.c, inflight.c, state.c):
 *   - the value another process wrote, parsed: fresh or not, a minute
 *     off either way (deleted), malformed, an unknown deployment, a
 *     start from a clock ahead;
 *   - remote waits count in the signal (sy_inflight_wait_ms) and in the
 *     count of waits past a time, and only the oldest are kept;
 *   - two states ("processes", each with its state thread) on a real
 *     redis-server: one's slow waits raise the other's view of the
 *     deployment within a few refreshes when they are a quorum (two or
 *     more, half of its waiting streams or more), not otherwise, and are
 *     gone when they end, when the process stops and when Redis goes
 *     away; a dead or far-future field is ignored and deleted.
 * Uses redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/inflight.h"
#include "state/state.h"
#include "state/wait_share.h"
#include "state/hedge.h"
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
    struct sy_wait_entry e[8];
};

static void
on_entry(void *ud, const struct sy_wait_entry *e)
{
    struct seen *s = ud;
    if (s->n < 8)
        s->e[s->n++] = *e;
}

static bool
parse(const struct sy_config *cfg, const char *v, uint64_t wall, bool *stale,
      struct seen *s)
{
    memset(s, 0, sizeof(*s));
    return sy_wait_share_parse(cfg, v, strlen(v), wall, 1100, stale, on_entry,
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
    assert_true(parse(cfg, "100000 d1=3:2:97000,98000 gone=1:1:1 d2=2:1:100600",
                      100500, &stale, &s));
    assert_false(stale);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.e[0].dep, 0);
    assert_int_equal(s.e[0].waiting, 3);
    assert_int_equal(s.e[0].slow, 2);
    assert_int_equal(s.e[0].nstart, 2);
    assert_int_equal(s.e[0].start[0], 97000);
    assert_int_equal(s.e[0].start[1], 98000);
    assert_int_equal(s.e[1].dep, 1);
    assert_int_equal(s.e[1].nstart, 0);
    /* Only the time. */
    assert_true(parse(cfg, "100000", 100000, &stale, &s));
    assert_int_equal(s.n, 0);
    /* A little ahead of our clock: believed. */
    assert_true(parse(cfg, "100500 d1=1:1:99000", 100000, &stale, &s));
    assert_int_equal(s.n, 1);
    /* Not rewritten for longer than the fresh time, or written by a
     * clock further ahead: ignored; a minute off either way: stale. */
    assert_false(parse(cfg, "100000 d1=1:1:1", 101101, &stale, &s));
    assert_false(stale);
    assert_int_equal(s.n, 0);
    assert_false(parse(cfg, "102000 d1=1:1:1", 100000, &stale, &s));
    assert_false(stale);
    assert_false(parse(cfg, "100000 d1=1:1:1",
                       100000 + SY_WAIT_SHARE_STALE_MS + 1, &stale, &s));
    assert_true(stale);
    assert_false(parse(cfg, "9999999999999999 d1=2:2:1,2", 100000, &stale, &s));
    assert_true(stale);
    assert_int_equal(s.n, 0);
    /* Malformed. */
    static const char *const bad[] = { "",
                                       "x",
                                       "100000 d1",
                                       "100000 =1:1:1",
                                       "100000 d1=",
                                       "100000  d1=1:1:1",
                                       "100000 d1=1:1:1,",
                                       "100000 d1=a",
                                       "100000 d1=1:2:5",
                                       "100000 d1=1:1",
                                       "100000 d1=1:1:",
                                       "100000 d1=99999999999:1:1" };
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
    /* Past a time: this process's own only. */
    assert_int_equal(sy_inflight_here_longer(f, 0, now, 1000), 2);
    sy_inflight_set_remote(f, 0, many, 3);
    assert_int_equal(sy_inflight_here_longer(f, 0, now, 0), 3);
    assert_int_equal(sy_inflight_waiting_longer(f, 0, now, 0, -1), 6);
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
    /* -1 while the store is down (after Redis restarted, until the
     * store's gate lets it reconnect). */
    long long n = -1;
    if (sy_store_commandl(s, &a, &v, "HLEN", "ws:waits", NULL) == SY_OK &&
        v->type == SY_STORE_INT)
        n = v->i;
    sy_arena_cleanup(&a);
    return n;
}

/* HSET a raw field into the waits hash. */
static void
put_field(struct sy_store *s, const char *field, const char *value)
{
    struct sy_arena ar;
    sy_arena_init(&ar, 1024);
    struct sy_store_val *v;
    assert_int_equal(
        sy_store_commandl(s, &ar, &v, "HSET", "ws:waits", field, value, NULL),
        SY_OK);
    sy_arena_cleanup(&ar);
}

static bool
hlen_is(struct sy_store *s, long long want, uint64_t max_ms)
{
    uint64_t t0 = sy_now_ms();
    while (hlen(s) != want && sy_now_ms() - t0 < max_ms)
        usleep(10000);
    return hlen(s) == want;
}

/* Both processes know d1 and d2's TTFT p95 (about 50 ms): a's samples,
 * through Redis. */
static void
learn(const struct sy_config *cfg, struct sy_state *a, struct sy_state *b)
{
    for (int i = 0; i < 30; i++)
        for (size_t d = 0; d < 2; d++)
            sy_state_record(a, &cfg->deployments[d], SY_OK, 200000,
                            40000 + (uint64_t)i * 500, 10, NULL);
    uint64_t t0 = sy_now_ms();
    struct sy_dep_view va[3], vb[3];
    for (;;) {
        sy_state_views(a, va);
        sy_state_views(b, vb);
        if (sy_hedge_ttft_of(&va[0]).p95_ms > 0 &&
            sy_hedge_ttft_of(&vb[0]).p95_ms > 0 &&
            sy_hedge_ttft_of(&vb[1]).p95_ms > 0)
            break;
        assert_true(sy_now_ms() - t0 < 5000);
        usleep(20000);
    }
    assert_true(sy_hedge_ttft_of(&vb[0]).p95_ms < 1000);
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
    learn(cfg, a, b);

    /* A dead process's field, and one from a clock far ahead. */
    char v[96];
    snprintf(
        v, sizeof(v), "%llu d1=2:2:1,2",
        (unsigned long long)(sy_wall_ms() - SY_WAIT_SHARE_STALE_MS - 5000));
    put_field(s, "gone:1:00000000", v);
    snprintf(v, sizeof(v), "%llu d1=2:2:%llu,%llu",
             (unsigned long long)(sy_wall_ms() + 10 * SY_WAIT_SHARE_STALE_MS),
             (unsigned long long)(sy_wall_ms() - 9000),
             (unsigned long long)(sy_wall_ms() - 8000));
    put_field(s, "ahead:1:00000000", v);

    /* Process a: two streams on d1 waiting 3 s and 2 s, well past its
     * p95. Process b, with nothing of its own, sees them. */
    struct sy_inflight *fa = sy_state_inflight(a);
    uint64_t now = sy_now_us();
    int w1 = sy_inflight_wait_begin(fa, 0, now - 3000000);
    int w2 = sy_inflight_wait_begin(fa, 0, now - 2000000);
    assert_true(w1 >= 0 && w2 >= 0);
    assert_true(view_wait(cfg, a, 0) >= 2000);
    assert_true(wait_for(cfg, b, 0, 2000, 3000));
    assert_int_equal(view_wait(cfg, b, 1), 0);
    assert_int_equal(sy_inflight_waiting_longer(sy_state_inflight(b), 0,
                                                sy_now_us(), 1500, -1),
                     2);
    /* The two bad fields were ignored, and are deleted: only a's is
     * left. */
    assert_true(hlen_is(s, 1, 3000));

    /* Three more streams of a's on d1 that just started: two slow of
     * five waiting is no quorum (a healthy deployment's few slow ones in
     * a busy cluster), and b lets go. */
    int y[3];
    for (int i = 0; i < 3; i++)
        y[i] = sy_inflight_wait_begin(fa, 0, sy_now_us());
    assert_true(wait_for(cfg, b, 0, 0, 3000));
    for (int i = 0; i < 3; i++)
        sy_inflight_wait_cancel(fa, 0, y[i]);
    assert_true(wait_for(cfg, b, 0, 2000, 3000));

    /* a's streams get their first tokens: b's signal goes, and a's
     * field with it (ended waits stay a's own). */
    sy_inflight_wait_end(fa, 0, w1, sy_now_us(), false);
    sy_inflight_wait_end(fa, 0, w2, sy_now_us(), false);
    assert_true(view_wait(cfg, a, 0) >= 2000);
    assert_true(wait_for(cfg, b, 0, 0, 3000));
    assert_true(hlen_is(s, 0, 3000));

    /* One slow stream here and one there: two in the cluster make the
     * quorum, and each process's signal has both. */
    struct sy_inflight *fb = sy_state_inflight(b);
    int lb = sy_inflight_wait_begin(fb, 1, sy_now_us() - 2500000);
    int la = sy_inflight_wait_begin(fa, 1, sy_now_us() - 3000000);
    assert_true(lb >= 0 && la >= 0);
    assert_true(wait_for(cfg, b, 1, 2400, 3000));
    assert_true(wait_for(cfg, a, 1, 2400, 3000));
    sy_inflight_wait_cancel(fb, 1, lb);
    sy_inflight_wait_cancel(fa, 1, la);
    assert_true(wait_for(cfg, b, 1, 0, 3000));

    /* A process that stops takes its waits with it. */
    int w3 = sy_inflight_wait_begin(fa, 1, sy_now_us() - 4000000);
    int w4 = sy_inflight_wait_begin(fa, 1, sy_now_us() - 4000000);
    assert_true(w3 >= 0 && w4 >= 0);
    assert_true(wait_for(cfg, b, 1, 3000, 3000));
    sy_state_stop(a);
    assert_int_equal(hlen(s), 0);
    assert_true(wait_for(cfg, b, 1, 0, 3000));

    /* Redis goes away: b forgets the waits of a third process at once,
     * though it never said they ended. */
    struct sy_state *c;
    assert_int_equal(sy_state_start(cfg, NULL, &c), SY_OK);
    struct sy_inflight *fc = sy_state_inflight(c);
    assert_true(sy_inflight_wait_begin(fc, 1, sy_now_us() - 4000000) >= 0);
    assert_true(sy_inflight_wait_begin(fc, 1, sy_now_us() - 4000000) >= 0);
    assert_true(wait_for(cfg, b, 1, 3000, 3000));
    redis_stop(&srv);
    assert_true(wait_for(cfg, b, 1, 0, 3000));
    assert_true(redis_start(&srv, NULL));
    assert_true(wait_for(cfg, b, 1, 3000, 5000));
    sy_state_stop(c);

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
