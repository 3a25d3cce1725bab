/*
 * test_budget.c - unit tests for core/state/budget.c: period ids and names, the
 * in-memory twin (reserve, refuse with the remaining amount, settle,
 * expired reservations released); then the Lua script against a real
 * redis-server: the same cases, the script agreeing with the C twin on a
 * long random sequence, and a race of 32 threads on one small budget
 * (never over budget, nothing admitted once it is exhausted, no leaked
 * reservation after settling, abandoned ones released after their
 * expiry). Uses the redis-server harness of redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/budget.c"

#include <pthread.h>
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
    return redis_group_setup(&srv, "test_budget");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

static uint64_t
xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

#define T0   UINT64_C(1795564799000) /* 2026-11-24 23:59:59 UTC */
#define MIN5 300000u

/* A store with generous timeouts (the race loads Redis). */
static struct sy_store *
store_slow(void)
{
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", srv.port);
    struct sy_store_conf c;
    sy_store_conf_defaults(&c);
    c.url = url;
    c.prefix = "t:";
    c.connect_timeout_ms = 2000;
    c.command_timeout_ms = 5000;
    struct sy_store *s = NULL;
    char err[128];
    assert_int_equal(sy_store_new(&c, &s, err, sizeof(err)), SY_OK);
    return s;
}

/* ------------------------------------------------------------------ */
/* Periods                                                             */

static void
test_periods(void **state)
{
    (void)state;
    char id[SY_BUDGET_PERIOD_ID_LEN];
    sy_budget_period_id(SY_BUDGET_DAY, 1795564799, id);
    assert_string_equal(id, "2026-11-24");
    sy_budget_period_id(SY_BUDGET_DAY, 1795564800, id);
    assert_string_equal(id, "2026-11-25");
    sy_budget_period_id(SY_BUDGET_MONTH, 1795564799, id);
    assert_string_equal(id, "2026-11");
    sy_budget_period_id(SY_BUDGET_MONTH, 1796083200, id);
    assert_string_equal(id, "2026-12");
    sy_budget_period_id(SY_BUDGET_MONTH, 1796083199, id);
    assert_string_equal(id, "2026-11");
    sy_budget_period_id(SY_BUDGET_DAY, 1709208000, id);
    assert_string_equal(id, "2024-02-29");
    sy_budget_period_id(SY_BUDGET_DAY, 0, id);
    assert_string_equal(id, "1970-01-01");
    sy_budget_period_id(SY_BUDGET_TOTAL, 1709208000, id);
    assert_string_equal(id, "total");

    enum sy_budget_period p;
    assert_true(sy_budget_period_parse("day", &p));
    assert_int_equal(p, SY_BUDGET_DAY);
    assert_true(sy_budget_period_parse("month", &p));
    assert_int_equal(p, SY_BUDGET_MONTH);
    assert_true(sy_budget_period_parse("total", &p));
    assert_int_equal(p, SY_BUDGET_TOTAL);
    assert_false(sy_budget_period_parse("week", &p));
    assert_false(sy_budget_period_parse(NULL, &p));
    assert_string_equal(sy_budget_period_name(SY_BUDGET_DAY), "day");
    assert_string_equal(sy_budget_period_name(SY_BUDGET_MONTH), "month");
    assert_string_equal(sy_budget_period_name(SY_BUDGET_TOTAL), "total");

    assert_true(period_id_valid("2026-11-24"));
    assert_true(period_id_valid("2026-11"));
    assert_true(period_id_valid("total"));
    assert_false(period_id_valid("2026-1-24"));
    assert_false(period_id_valid("2026/11"));
    assert_false(period_id_valid(""));

    assert_true(sy_budget_name_valid("alice"));
    assert_true(sy_budget_name_valid("team:ml-ops_1.x"));
    assert_false(sy_budget_name_valid(""));
    assert_false(sy_budget_name_valid("a}b"));
    assert_false(sy_budget_name_valid("a b"));
    char big[SY_BUDGET_NAME_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_false(sy_budget_name_valid(big));
    big[SY_BUDGET_NAME_MAX] = '\0';
    assert_true(sy_budget_name_valid(big));
}

/* ------------------------------------------------------------------ */
/* The C twin                                                          */

static void
test_local(void **state)
{
    (void)state;
    struct sy_budget_local b;
    struct sy_budget_result r;
    sy_budget_local_init(&b);

    sy_budget_local_reserve(&b, 100, 60, MIN5, T0, &r);
    assert_true(r.allowed);
    assert_int_equal(r.id, T0 * 1000 + 1); /* ids start at now * 1000 */
    assert_int_equal(r.remaining, 40);
    assert_int_equal(r.reserved, 60);
    uint64_t a = r.id;

    sy_budget_local_reserve(&b, 100, 41, MIN5, T0, &r);
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 40);
    assert_int_equal(r.reserved, 60);

    sy_budget_local_reserve(&b, 100, 40, MIN5, T0 + 1, &r);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);
    uint64_t c = r.id;

    /* settle below the reservation: the difference comes back */
    sy_budget_local_settle(&b, a, 25, T0 + 2, &r);
    assert_true(r.allowed);
    assert_int_equal(r.spent, 25);
    assert_int_equal(r.reserved, 40);
    sy_budget_local_reserve(&b, 100, 35, MIN5, T0 + 3, &r);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);

    /* unknown id: still counted as spent, reported not found */
    sy_budget_local_settle(&b, 999, 5, T0 + 4, &r);
    assert_false(r.allowed);
    assert_int_equal(r.spent, 30);

    /* c expires at T0 + 1 + 5 min; the other at T0 + 3 + 5 min */
    sy_budget_local_reserve(&b, 100, 1, MIN5, T0 + MIN5, &r);
    assert_false(r.allowed);
    assert_int_equal(r.reserved, 75);
    sy_budget_local_reserve(&b, 100, 1, MIN5, T0 + 1 + MIN5, &r);
    assert_true(r.allowed);
    assert_int_equal(r.reserved, 36);
    /* settling an expired reservation still counts the money */
    sy_budget_local_settle(&b, c, 40, T0 + 2 + MIN5, &r);
    assert_false(r.allowed);
    assert_int_equal(r.spent, 70);
    assert_int_equal(r.reserved, 36);
    sy_budget_local_reserve(&b, 100, 0, MIN5, T0 + 10 * MIN5, &r);
    assert_true(r.allowed);
    assert_int_equal(r.reserved, 0);
    assert_int_equal(r.remaining, 30);
    assert_int_equal(b.n, 1); /* the zero-cost one */

    /* a real cost above its reservation pushes spent over the budget:
     * remaining is 0, never negative, and even a free request is
     * refused */
    sy_budget_local_reserve(&b, 100, 30, MIN5, T0 + 10 * MIN5, &r);
    assert_true(r.allowed);
    sy_budget_local_settle(&b, r.id, 45, T0 + 10 * MIN5, &r);
    assert_int_equal(r.spent, 115);
    sy_budget_local_reserve(&b, 100, 0, MIN5, T0 + 10 * MIN5, &r);
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 0);
    sy_budget_local_cleanup(&b);
}

/* ------------------------------------------------------------------ */
/* Redis                                                               */

static void
hash_check_clean(struct sy_store *s, const char *name, const char *pid)
{
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    char key[256];
    snprintf(key, sizeof(key), "t:budget:{%s}:%s", name, pid);
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(s, &a, &v, "HKEYS", key, NULL), SY_OK);
    assert_int_equal(v->type, SY_STORE_ARRAY);
    for (size_t i = 0; i < v->n; i++)
        if (strncmp(v->elem[i].str, "r:", 2) == 0)
            fail_msg("leaked reservation field %s", v->elem[i].str);
    char zkey[300];
    snprintf(zkey, sizeof(zkey), "%s:res", key);
    assert_int_equal(sy_store_commandl(s, &a, &v, "EXISTS", zkey, NULL), SY_OK);
    assert_int_equal(v->i, 0);
    sy_arena_cleanup(&a);
}

static void
test_redis_basics(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_slow();
    struct sy_budget_result r;
    const char *pid = "2026-11-24";

    assert_int_equal(sy_budget_reserve(s, "bad name", pid, 100, 1, 0, T0, &r),
                     SY_EBADREQ);
    assert_int_equal(sy_budget_reserve(s, "a", "2026-1", 100, 1, 0, T0, &r),
                     SY_EBADREQ);
    assert_int_equal(sy_budget_reserve(s, "a", pid, 100, -1, 0, T0, &r),
                     SY_EBADREQ);

    assert_int_equal(sy_budget_reserve(s, "basic", pid, 100, 60, 0, T0, &r),
                     SY_OK);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 40);
    assert_int_equal(r.now_ms, T0);
    uint64_t a = r.id;
    assert_int_equal(sy_budget_reserve(s, "basic", pid, 100, 41, 0, T0, &r),
                     SY_OK);
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 40);
    assert_int_equal(sy_budget_settle(s, "basic", pid, a, 50, T0, &r), SY_OK);
    assert_true(r.allowed);
    assert_int_equal(r.spent, 50);
    assert_int_equal(r.reserved, 0);
    assert_int_equal(sy_budget_reserve(s, "basic", pid, 100, 51, 0, T0, &r),
                     SY_OK);
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 50);
    /* settling twice does not release twice, but counts the money */
    assert_int_equal(sy_budget_settle(s, "basic", pid, a, 1, T0, &r), SY_OK);
    assert_false(r.allowed);
    assert_int_equal(r.spent, 51);
    hash_check_clean(s, "basic", pid);

    /* an abandoned reservation is released after its expiry */
    assert_int_equal(sy_budget_reserve(s, "basic", pid, 100, 49, 1000, T0, &r),
                     SY_OK);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 0);
    assert_int_equal(sy_budget_get(s, "basic", pid, T0 + 999, &r), SY_OK);
    assert_int_equal(r.reserved, 49);
    assert_int_equal(sy_budget_get(s, "basic", pid, T0 + 1000, &r), SY_OK);
    assert_int_equal(r.reserved, 0);
    assert_int_equal(r.spent, 51);
    hash_check_clean(s, "basic", pid);

    /* over budget after a settle above the reservation: remaining 0 */
    assert_int_equal(sy_budget_reserve(s, "over", pid, 100, 90, 0, T0, &r),
                     SY_OK);
    assert_true(r.allowed);
    assert_int_equal(sy_budget_settle(s, "over", pid, r.id, 130, T0, &r),
                     SY_OK);
    assert_int_equal(r.spent, 130);
    assert_int_equal(sy_budget_reserve(s, "over", pid, 100, 0, 0, T0, &r),
                     SY_OK);
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 0);
    /* another period is another counter */
    assert_int_equal(
        sy_budget_reserve(s, "over", "2026-11-25", 100, 100, 0, T0, &r), SY_OK);
    assert_true(r.allowed);
    assert_int_equal(r.spent, 0);

    /* Redis' clock and the default 5 minutes */
    assert_int_equal(sy_budget_reserve(s, "clock", "total", 10, 3, 0, 0, &r),
                     SY_OK);
    assert_true(r.allowed);
    assert_true(r.now_ms > T0 - 86400000ull * 3650 && r.now_ms > 0);
    struct sy_arena ar;
    sy_arena_init(&ar, 256);
    struct sy_store_val *v;
    char idstr[24];
    snprintf(idstr, sizeof(idstr), "%" PRIu64, r.id);
    assert_int_equal(sy_store_commandl(s, &ar, &v, "ZSCORE",
                                       "t:budget:{clock}:total:res", idstr,
                                       NULL),
                     SY_OK);
    int64_t score;
    assert_true(sy_store_val_int(v, &score) ||
                sscanf(v->str, "%" SCNd64, &score) == 1);
    assert_int_equal((uint64_t)score, r.now_ms + SY_BUDGET_DEFAULT_TTL_MS);
    /* total keys never expire; day keys do */
    assert_int_equal(
        sy_store_commandl(s, &ar, &v, "TTL", "t:budget:{clock}:total", NULL),
        SY_OK);
    assert_int_equal(v->i, -1);
    assert_int_equal(sy_store_commandl(s, &ar, &v, "TTL",
                                       "t:budget:{basic}:2026-11-24", NULL),
                     SY_OK);
    assert_true(v->i > 7 * 86400 && v->i <= 8 * 86400);
    sy_arena_cleanup(&ar);
    sy_store_free(s);
}

/* A settle sent again (resettle) counts the cost once: when the first
 * try had run (its answer lost), when it had not, and never past the
 * reservation's expiry, where the two cannot be told apart. */
static void
test_redis_resettle(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_slow();
    struct sy_budget_result r;
    const char *pid = "total";
    const uint64_t exp = T0 + MIN5;

    /* the first try never reached Redis: the live reservation settles */
    assert_int_equal(sy_budget_reserve(s, "again", pid, 1000, 100, 0, T0, &r),
                     SY_OK);
    uint64_t a = r.id;
    assert_int_equal(
        sy_budget_resettle(s, "again", pid, a, 70, exp, T0 + 5, &r), SY_OK);
    assert_int_equal(r.resettled, SY_BUDGET_RESETTLED_NOW);
    assert_int_equal(r.spent, 70);
    assert_int_equal(r.reserved, 0);
    /* sent once more (say the resettle's own answer was lost): nothing */
    assert_int_equal(
        sy_budget_resettle(s, "again", pid, a, 70, exp, T0 + 6, &r), SY_OK);
    assert_int_equal(r.resettled, SY_BUDGET_RESETTLED_BEFORE);
    assert_int_equal(r.spent, 70);

    /* the first try ran and its answer was lost: not counted twice */
    assert_int_equal(sy_budget_reserve(s, "again", pid, 1000, 100, 0, T0, &r),
                     SY_OK);
    uint64_t b = r.id;
    assert_int_equal(sy_budget_settle(s, "again", pid, b, 30, T0 + 1, &r),
                     SY_OK);
    assert_int_equal(r.spent, 100);
    assert_int_equal(
        sy_budget_resettle(s, "again", pid, b, 30, exp, T0 + 2, &r), SY_OK);
    assert_int_equal(r.resettled, SY_BUDGET_RESETTLED_BEFORE);
    assert_int_equal(r.spent, 100);

    /* the first try hung on its way and arrives after the resettle
     * charged: the resettle's mark stops it */
    assert_int_equal(sy_budget_reserve(s, "again", pid, 1000, 100, 0, T0, &r),
                     SY_OK);
    uint64_t d = r.id;
    assert_int_equal(
        sy_budget_resettle(s, "again", pid, d, 20, exp, T0 + 3, &r), SY_OK);
    assert_int_equal(r.resettled, SY_BUDGET_RESETTLED_NOW);
    assert_int_equal(r.spent, 120);
    assert_int_equal(sy_budget_settle(s, "again", pid, d, 20, T0 + 4, &r),
                     SY_OK);
    assert_false(r.allowed);
    assert_int_equal(r.spent, 120);
    /* ... and the mark goes with the reservation's expiry */
    assert_int_equal(sy_budget_get(s, "again", pid, exp, &r), SY_OK);
    assert_int_equal(r.spent, 120);
    hash_check_clean(s, "again", pid);

    /* past the expiry: released, and nothing is added */
    assert_int_equal(sy_budget_reserve(s, "again", pid, 1000, 100, 0, T0, &r),
                     SY_OK);
    uint64_t c = r.id;
    assert_int_equal(sy_budget_resettle(s, "again", pid, c, 40, exp, exp, &r),
                     SY_OK);
    assert_int_equal(r.resettled, SY_BUDGET_RESETTLED_TOO_LATE);
    assert_int_equal(r.spent, 120);
    assert_int_equal(r.reserved, 0);
    hash_check_clean(s, "again", pid);

    /* input the script must not see */
    assert_int_equal(sy_budget_resettle(s, "again", pid, c, -1, exp, T0, &r),
                     SY_EBADREQ);
    assert_int_equal(
        sy_budget_resettle(s, "again", pid, c, 1, UINT64_MAX, T0, &r),
        SY_EBADREQ);
    sy_store_free(s);
}

/* Redis loses the hash, or goes back to an older copy of it: a new
 * reservation never takes an id that a queued settle may name. */
static void
test_redis_ids_not_reused(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_slow();
    struct sy_budget_result r;
    const char *pid = "total";
    const uint64_t exp = T0 + MIN5;
    assert_int_equal(sy_budget_reserve(s, "lost", pid, 1000, 100, 0, T0, &r),
                     SY_OK);
    uint64_t a = r.id, c = r.id;
    /* Redis loses the hash (a restart without persistence): a new
     * reservation does not take an id a settle on its way may name */
    struct sy_arena ar;
    sy_arena_init(&ar, 256);
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(s, &ar, &v, "DEL",
                                       "t:budget:{lost}:total",
                                       "t:budget:{lost}:total:res", NULL),
                     SY_OK);
    sy_arena_cleanup(&ar);
    assert_int_equal(
        sy_budget_reserve(s, "lost", pid, 1000, 100, 0, T0 + 60000, &r), SY_OK);
    assert_true(r.id > c);
    assert_int_equal(r.id, (T0 + 60000) * 1000 + 1);
    uint64_t last = r.id;
    assert_int_equal(
        sy_budget_resettle(s, "lost", pid, a, 70, exp, T0 + 60001, &r), SY_OK);
    assert_int_equal(r.resettled, SY_BUDGET_RESETTLED_BEFORE);
    assert_int_equal(r.reserved, 100); /* the new one's hold is untouched */

    /* Redis goes back to an older copy (a snapshot, a lagging replica):
     * seq went back, and still no id is given twice (the restart takes
     * longer than the millisecond of the last id) */
    sy_arena_init(&ar, 256);
    assert_int_equal(sy_store_commandl(s, &ar, &v, "HSET",
                                       "t:budget:{lost}:total", "seq", "5",
                                       NULL),
                     SY_OK);
    sy_arena_cleanup(&ar);
    assert_int_equal(
        sy_budget_reserve(s, "lost", pid, 1000, 100, 0, T0 + 61000, &r), SY_OK);
    assert_true(r.id > last);
    assert_int_equal(r.id, (T0 + 61000) * 1000 + 1);

    sy_store_free(s);
}

/* The script and the twin agree on a long random sequence. */
static void
test_redis_matches_local(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_slow();
    struct sy_budget_local b;
    sy_budget_local_init(&b);
    uint64_t x = 0x9e3779b97f4a7c15u;
    uint64_t now = T0;
    uint64_t ids[64];
    size_t nids = 0;
    for (int step = 0; step < 3000; step++) {
        now += xorshift(&x) % 300;
        struct sy_budget_result rl, rr;
        if (xorshift(&x) % 3 != 0 || nids == 0) {
            int64_t cost = (int64_t)(xorshift(&x) % 60);
            uint32_t ttl = 100 + (uint32_t)(xorshift(&x) % 3000);
            sy_budget_local_reserve(&b, 500, cost, ttl, now, &rl);
            assert_int_equal(sy_budget_reserve(s, "twin", "2026-11", 500, cost,
                                               ttl, now, &rr),
                             SY_OK);
            if (rl.allowed && nids < SY_ARRAY_LEN(ids))
                ids[nids++] = rl.id;
        } else {
            size_t k = xorshift(&x) % nids;
            uint64_t id = xorshift(&x) % 10 == 0 ? 424242 : ids[k];
            ids[k] = ids[--nids];
            int64_t real = (int64_t)(xorshift(&x) % 70);
            sy_budget_local_settle(&b, id, real, now, &rl);
            assert_int_equal(
                sy_budget_settle(s, "twin", "2026-11", id, real, now, &rr),
                SY_OK);
        }
        if (rl.allowed != rr.allowed || rl.id != rr.id ||
            rl.remaining != rr.remaining || rl.spent != rr.spent ||
            rl.reserved != rr.reserved || rr.now_ms != now)
            fail_msg("step %d: local {%d %" PRIu64 " %" PRId64 " %" PRId64
                     " %" PRId64 "} redis {%d %" PRIu64 " %" PRId64 " %" PRId64
                     " %" PRId64 "}",
                     step, rl.allowed, rl.id, rl.remaining, rl.spent,
                     rl.reserved, rr.allowed, rr.id, rr.remaining, rr.spent,
                     rr.reserved);
    }
    sy_budget_local_cleanup(&b);
    sy_store_free(s);
}

/* ------------------------------------------------------------------ */
/* The race                                                            */

#define THREADS  32
#define ATTEMPTS 150
#define BUDGET   20000
#define MAX_COST 200

struct attempt {
    uint64_t seq;
    int64_t cost;
    int64_t remaining;
    int64_t spent;
    int64_t reserved;
    int64_t real;
    bool allowed;
    bool settled;
    bool abandoned;
};

struct racer {
    pthread_t th;
    struct sy_store *s;
    const char *name;
    int mode; /* 0: settle the full cost; 1: settle less, or
                          abandon one in eight (fixed clock) */
    uint64_t seed;
    struct attempt at[ATTEMPTS];
    int errors;
};

static void *
race_main(void *arg)
{
    struct racer *r = arg;
    uint64_t x = r->seed;
    for (int i = 0; i < ATTEMPTS; i++) {
        struct attempt *a = &r->at[i];
        a->cost =
            xorshift(&x) % 4 == 0 ? 1 : 1 + (int64_t)(xorshift(&x) % MAX_COST);
        uint64_t now = r->mode == 0 ? 0 : T0;
        struct sy_budget_result res;
        if (sy_budget_reserve(r->s, r->name, "total", BUDGET, a->cost, 0, now,
                              &res) != SY_OK) {
            r->errors++;
            continue;
        }
        a->seq = res.id;
        a->allowed = res.allowed;
        a->remaining = res.remaining;
        a->spent = res.spent;
        a->reserved = res.reserved;
        if (!res.allowed)
            continue;
        if (r->mode == 1 && xorshift(&x) % 8 == 0) {
            a->abandoned = true;
            continue;
        }
        a->real = r->mode == 0
                      ? a->cost
                      : (int64_t)(xorshift(&x) % (uint64_t)(a->cost + 1));
        if (sy_budget_settle(r->s, r->name, "total", res.id, a->real, now,
                             &res) != SY_OK) {
            r->errors++;
            continue;
        }
        a->settled = res.allowed;
    }
    return NULL;
}

static struct racer *
race(const char *name, int mode)
{
    struct racer *rs = sy_xcalloc(THREADS, sizeof(*rs));
    for (int t = 0; t < THREADS; t++) {
        rs[t].s = store_slow();
        assert_int_equal(sy_store_connect(rs[t].s), SY_OK);
        rs[t].name = name;
        rs[t].mode = mode;
        rs[t].seed = 0x1234567u + 7919u * (uint64_t)t;
    }
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&rs[t].th, NULL, race_main, &rs[t]), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(rs[t].th, NULL);
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(rs[t].errors, 0);
        sy_store_free(rs[t].s);
        rs[t].s = NULL;
    }
    return rs;
}

static void
test_race_exhaustion(void **state)
{
    (void)state;
    NEED_REDIS();
    struct racer *rs = race("race", 0);
    int64_t admitted = 0, max_cost = 0;
    uint64_t exhausted_at = UINT64_MAX;
    size_t nadmit = 0;
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < ATTEMPTS; i++) {
            const struct attempt *a = &rs[t].at[i];
            max_cost = SY_MAX(max_cost, a->cost);
            if (a->allowed) {
                assert_true(a->settled);
                admitted += a->cost;
                nadmit++;
                /* the state right after admission fits the budget */
                assert_true(a->spent + a->reserved <= BUDGET);
            } else {
                /* a refusal is justified, and says what is left */
                assert_true(a->cost > a->remaining);
                assert_int_equal(a->remaining,
                                 SY_MAX(0, BUDGET - a->spent - a->reserved));
                if (a->spent >= BUDGET && a->seq < exhausted_at)
                    exhausted_at = a->seq;
            }
        }
    }
    /* the budget was exhausted during the race ... */
    assert_true(exhausted_at != UINT64_MAX);
    /* ... and nothing was admitted after that */
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < ATTEMPTS; i++)
            if (rs[t].at[i].allowed && rs[t].at[i].seq > exhausted_at)
                fail_msg("admitted #%" PRIu64 " after exhaustion at #%" PRIu64,
                         rs[t].at[i].seq, exhausted_at);

    struct sy_store *s = store_slow();
    struct sy_budget_result r;
    assert_int_equal(sy_budget_get(s, "race", "total", 0, &r), SY_OK);
    assert_int_equal(r.spent, admitted);
    assert_true(r.spent <= BUDGET + max_cost);
    assert_int_equal(r.spent, BUDGET);
    assert_int_equal(r.reserved, 0);
    hash_check_clean(s, "race", "total");
    assert_int_equal(sy_budget_reserve(s, "race", "total", BUDGET, 1, 0, 0, &r),
                     SY_OK);
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 0);
    print_message("race: %zu of %d admitted, spent %" PRId64 " of %d\n", nadmit,
                  THREADS * ATTEMPTS, admitted, BUDGET);
    sy_store_free(s);
    free(rs);
}

static void
test_race_abandoned(void **state)
{
    (void)state;
    NEED_REDIS();
    struct racer *rs = race("race2", 1);
    int64_t real = 0, abandoned = 0, max_cost = 0;
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < ATTEMPTS; i++) {
            const struct attempt *a = &rs[t].at[i];
            max_cost = SY_MAX(max_cost, a->cost);
            if (!a->allowed)
                continue;
            assert_true(a->spent + a->reserved <= BUDGET);
            if (a->abandoned)
                abandoned += a->cost;
            else {
                assert_true(a->settled);
                real += a->real;
            }
        }
    }
    assert_true(abandoned > 0);
    struct sy_store *s = store_slow();
    struct sy_budget_result r;
    /* at the race's clock the abandoned reservations still hold */
    assert_int_equal(sy_budget_get(s, "race2", "total", T0 + MIN5 - 1, &r),
                     SY_OK);
    assert_int_equal(r.spent, real);
    assert_int_equal(r.reserved, abandoned);
    assert_true(r.spent + r.reserved <= BUDGET);
    assert_true(r.spent <= BUDGET + max_cost);
    /* five minutes later they are released */
    assert_int_equal(sy_budget_get(s, "race2", "total", T0 + MIN5, &r), SY_OK);
    assert_int_equal(r.spent, real);
    assert_int_equal(r.reserved, 0);
    hash_check_clean(s, "race2", "total");
    sy_store_free(s);
    free(rs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_local),
        cmocka_unit_test(test_redis_basics),
        cmocka_unit_test(test_redis_resettle),
        cmocka_unit_test(test_redis_ids_not_reused),
        cmocka_unit_test(test_redis_matches_local),
        cmocka_unit_test(test_race_exhaustion),
        cmocka_unit_test(test_race_abandoned),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
