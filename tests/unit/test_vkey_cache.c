/*
 * test_vkey_cache.c - unit tests for core/state/vkey_cache.c, the
 * records of virtual keys a worker process keeps for a Redis outage:
 * bounded (a set holds SY_VKEY_CACHE_WAYS, the least recently used goes),
 * a record older than the bound is not used, and against a real
 * redis-server: a key found is served from the cache only while Redis
 * cannot be reached, a key Redis calls unknown or revoked is dropped, an
 * unknown key stays "unavailable", a script error is never taken for
 * an outage, and no caller key is ever in the cache's memory. Uses the redis-server harness of redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/vkey_cache.h"
#include "state/keys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static struct redis_srv srv;

static int
group_setup(void **state)
{
    (void)state;
    return redis_group_setup(&srv, "test_vkey_cache");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

static const char SECRET[] = "0123456789abcdef-server-secret-for-tests";
#define SECRET_LEN (sizeof(SECRET) - 1)
#define NOW        1795532874
#define AGE_MS     1000u

/* A record named "k<i>" whose HMAC starts with 'set' (8 hex digits, so
 * its set is chosen) and ends with 'i'. */
static struct sy_vkey
rec(uint32_t set, unsigned i)
{
    struct sy_vkey v;
    memset(&v, 0, sizeof(v));
    snprintf(v.name, sizeof(v.name), "k%u", i);
    snprintf(v.hmac, sizeof(v.hmac), "%08x%056x", set, i);
    return v;
}

static size_t
held(struct sy_vkey_cache *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nsets * SY_VKEY_CACHE_WAYS; i++)
        n += c->slot[i].v.hmac[0] != '\0' && !c->slot[i].dropped;
    return n;
}

/* Never more than its slots; in a full set the least recently used (by
 * store or read) is the one replaced. */
static void
test_bounded_lru(void **state)
{
    (void)state;
    struct sy_vkey_cache c;
    sy_vkey_cache_init(&c, 2 * SY_VKEY_CACHE_WAYS, AGE_MS);
    assert_int_equal(c.nsets, 2);
    for (unsigned i = 0; i < 100; i++) {
        struct sy_vkey v = rec(i, i);
        sy_vkey_cache_put(&c, &v, 10);
    }
    assert_int_equal(held(&c), 2 * SY_VKEY_CACHE_WAYS);

    struct sy_vkey_cache one;
    sy_vkey_cache_init(&one, 1, AGE_MS); /* one set */
    struct sy_vkey got;
    for (unsigned i = 0; i < SY_VKEY_CACHE_WAYS; i++) {
        struct sy_vkey v = rec(7, i);
        sy_vkey_cache_put(&one, &v, 10);
    }
    struct sy_vkey first = rec(7, 0), second = rec(7, 1);
    assert_true(sy_vkey_cache_get(&one, first.hmac, 20, &got)); /* used */
    struct sy_vkey extra = rec(7, 99);
    sy_vkey_cache_put(&one, &extra, 30);
    assert_int_equal(held(&one), SY_VKEY_CACHE_WAYS);
    assert_true(sy_vkey_cache_get(&one, first.hmac, 30, &got));
    assert_string_equal(got.name, "k0");
    assert_false(sy_vkey_cache_get(&one, second.hmac, 30, &got));
    assert_true(sy_vkey_cache_get(&one, extra.hmac, 30, &got));
    /* storing a held key again refreshes it in place */
    extra.rpm = 5;
    sy_vkey_cache_put(&one, &extra, 40);
    assert_int_equal(held(&one), SY_VKEY_CACHE_WAYS);
    assert_true(sy_vkey_cache_get(&one, extra.hmac, 40, &got));
    assert_int_equal(got.rpm, 5);
    /* not 64 hex digits: neither stored nor found */
    assert_false(sy_vkey_cache_get(&one, "abc", 40, &got));
    sy_vkey_cache_cleanup(&one);
    sy_vkey_cache_cleanup(&c);
}

/* A record serves for max_age_ms after its last store, not after. */
static void
test_expiry_and_drop(void **state)
{
    (void)state;
    struct sy_vkey_cache c;
    sy_vkey_cache_init(&c, 64, AGE_MS);
    struct sy_vkey v = rec(1, 1), got;
    sy_vkey_cache_put(&c, &v, 5000);
    assert_true(sy_vkey_cache_get(&c, v.hmac, 5000 + AGE_MS, &got));
    assert_false(sy_vkey_cache_get(&c, v.hmac, 5001 + AGE_MS, &got));
    sy_vkey_cache_put(&c, &v, 9000); /* a lookup refreshes it */
    assert_true(sy_vkey_cache_get(&c, v.hmac, 9000 + AGE_MS, &got));
    sy_vkey_cache_drop(&c, v.hmac);
    assert_false(sy_vkey_cache_get(&c, v.hmac, 9000, &got));
    assert_int_equal(held(&c), 0);
    sy_vkey_cache_cleanup(&c);
}

static struct sy_vkey
spec(const char *name, int64_t expires_at)
{
    struct sy_vkey v;
    memset(&v, 0, sizeof(v));
    snprintf(v.name, sizeof(v.name), "%s", name);
    v.budget_micro_usd = 5000000;
    v.budget_period = SY_BUDGET_MONTH;
    v.fail_open = true;
    v.expires_at = expires_at;
    return v;
}

static bool
memory_holds(const struct sy_vkey_cache *c, const char *needle)
{
    const size_t len = strlen(needle);
    const char *p = (const char *)c->slot;
    size_t n = c->nsets * SY_VKEY_CACHE_WAYS * sizeof(*c->slot);
    for (size_t i = 0; i + len <= n; i++)
        if (memcmp(p + i, needle, len) == 0)
            return true;
    return false;
}

static enum sy_err
look(struct sy_vkey_cache *c, struct sy_store *s, const char *key,
     int64_t now_s, uint64_t now_ms, struct sy_vkey *got, bool *cached)
{
    return sy_vkey_cache_lookup(c, s, SECRET, SECRET_LEN, key, now_s, now_ms,
                                got, cached);
}

/* Keys created in Redis; then the same lookups with Redis reachable and
 * with a store on a port where nothing listens. */
static void
test_lookup_through_redis(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_store *dead = store_on(free_port(), NULL);
    char err[128], live[SY_VKEY_KEY_LEN + 1], gone[SY_VKEY_KEY_LEN + 1],
        soon[SY_VKEY_KEY_LEN + 1], unknown[SY_VKEY_KEY_LEN + 1];
    struct sy_vkey v = spec("c-live", 0), got;
    assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &v, NOW, live, NULL,
                                    err, sizeof(err)),
                     SY_OK);
    v = spec("c-gone", 0);
    assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &v, NOW, gone, NULL,
                                    err, sizeof(err)),
                     SY_OK);
    v = spec("c-soon", NOW + 100);
    assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &v, NOW, soon, NULL,
                                    err, sizeof(err)),
                     SY_OK);
    assert_int_equal(sy_vkey_generate(unknown), SY_OK);

    struct sy_vkey_cache c;
    sy_vkey_cache_init(&c, 64, AGE_MS);
    bool cached = true;
    /* Redis down, nothing found yet: unavailable, never "unknown" */
    assert_int_equal(look(&c, dead, live, NOW, 100, &got, &cached), SY_ESTORE);
    assert_int_equal(look(&c, NULL, live, NOW, 100, &got, &cached), SY_ESTORE);
    const char *keys[] = { live, gone, soon };
    for (size_t i = 0; i < SY_ARRAY_LEN(keys); i++) {
        assert_int_equal(look(&c, s, keys[i], NOW, 100, &got, &cached), SY_OK);
        assert_false(cached);
    }
    assert_int_equal(look(&c, s, unknown, NOW, 100, &got, &cached),
                     SY_ENOTFOUND);
    assert_int_equal(held(&c), 3);

    /* no caller key in the cache's memory, only HMACs */
    for (size_t i = 0; i < SY_ARRAY_LEN(keys); i++) {
        assert_false(memory_holds(&c, keys[i]));
        assert_false(memory_holds(&c, keys[i] + 6)); /* nor its random part */
    }
    assert_false(memory_holds(&c, SECRET));

    /* Redis down: the records found serve, as they were */
    assert_int_equal(look(&c, dead, live, NOW, 200, &got, &cached), SY_OK);
    assert_true(cached);
    assert_string_equal(got.name, "c-live");
    assert_true(got.fail_open);
    assert_int_equal(got.budget_micro_usd, 5000000);
    assert_int_equal(look(&c, dead, unknown, NOW, 200, &got, &cached),
                     SY_ESTORE);
    assert_false(cached);
    /* its expiry still counts */
    assert_int_equal(look(&c, dead, soon, NOW + 100, 200, &got, &cached),
                     SY_ENOTFOUND);
    assert_false(cached);
    /* past the age bound: unavailable */
    assert_int_equal(look(&c, dead, live, NOW, 101 + AGE_MS, &got, &cached),
                     SY_ESTORE);

    /* revoked: Redis says not found, the record goes at once */
    assert_int_equal(sy_vkey_revoke(s, "c-gone"), SY_OK);
    assert_int_equal(look(&c, s, gone, NOW, 300, &got, &cached), SY_ENOTFOUND);
    assert_int_equal(look(&c, dead, gone, NOW, 300, &got, &cached), SY_ESTORE);
    assert_int_equal(held(&c), 2);

    /* Redis answers with a script error (the key's hash is a string):
     * a refusal, not an outage, so the record is not used */
    char hex[65], k[SY_KEY_MAX];
    assert_int_equal(sy_vkey_hmac(SECRET, SECRET_LEN, live, hex), SY_OK);
    int n = sy_key_vkey_base(k, sizeof(k), "t:");
    assert_true(sy_key_fits(n, sizeof(k)));
    snprintf(k + n, sizeof(k) - (size_t)n, "%s", hex);
    struct sy_arena a;
    sy_arena_init(&a, 256);
    struct sy_store_val *r;
    assert_int_equal(sy_store_commandl(s, &a, &r, "DEL", k, NULL), SY_OK);
    assert_int_equal(sy_store_commandl(s, &a, &r, "SET", k, "x", NULL), SY_OK);
    sy_arena_cleanup(&a);
    assert_int_equal(look(&c, s, live, NOW, 300, &got, &cached), SY_EINTERNAL);
    assert_false(cached);

    sy_vkey_cache_cleanup(&c);
    sy_store_free(dead);
    sy_store_free(s);
}

/* The process's cache is one, made once, of SY_VKEY_CACHE_SLOTS. */
static void
test_process_cache(void **state)
{
    (void)state;
    struct sy_vkey_cache *c = sy_vkey_cache_process();
    assert_ptr_equal(c, sy_vkey_cache_process());
    assert_int_equal(c->nsets * SY_VKEY_CACHE_WAYS, SY_VKEY_CACHE_SLOTS);
    assert_int_equal(c->max_age_ms, SY_VKEY_CACHE_MAX_AGE_MS);
}

/* Answers are held in the order their lookups began: a lookup that
 * found the key live before another found it revoked cannot store the
 * record after the revocation was seen (two threads, the first slower:
 * a revoked key was served from the cache through an outage). */
static void
test_answers_in_lookup_order(void **state)
{
    (void)state;
    struct sy_vkey_cache c;
    sy_vkey_cache_init(&c, 64, AGE_MS);
    struct sy_vkey v = rec(1, 1), got;
    sy_vkey_cache_put(&c, &v, 100); /* held from an earlier lookup */
    uint64_t before = sy_vkey_cache_ticket(&c); /* answered "live" */
    uint64_t after = sy_vkey_cache_ticket(&c);  /* answered "not found" */
    sy_vkey_cache_drop_at(&c, v.hmac, after);
    sy_vkey_cache_put_at(&c, &v, 200, before); /* late, and older */
    assert_false(sy_vkey_cache_get(&c, v.hmac, 200, &got));
    assert_int_equal(held(&c), 0);
    /* The same when nothing was held for the key before the drop (its
     * first lookups race the revocation). */
    struct sy_vkey w = rec(2, 1);
    uint64_t t1 = sy_vkey_cache_ticket(&c), t2 = sy_vkey_cache_ticket(&c);
    sy_vkey_cache_drop_at(&c, w.hmac, t2);
    sy_vkey_cache_put_at(&c, &w, 200, t1);
    assert_false(sy_vkey_cache_get(&c, w.hmac, 200, &got));
    /* A later lookup's "live" is held again. */
    sy_vkey_cache_put_at(&c, &v, 300, sy_vkey_cache_ticket(&c));
    assert_true(sy_vkey_cache_get(&c, v.hmac, 300, &got));
    sy_vkey_cache_cleanup(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounded_lru),
        cmocka_unit_test(test_expiry_and_drop),
        cmocka_unit_test(test_answers_in_lookup_order),
        cmocka_unit_test(test_lookup_through_redis),
        cmocka_unit_test(test_process_cache),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
