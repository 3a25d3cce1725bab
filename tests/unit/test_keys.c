/*
 * test_keys.c - unit tests for core/state/keys.c, the one module that
 * names Redis keys: every name exactly, truncation reported; then, on a
 * real redis-server, that what the writers store (the rate-limit, budget
 * and virtual-key scripts, which extend the names they are given) is
 * found under the names the readers ('switchyard status', spend, keys)
 * build from keys.h. Uses the redis-server harness of redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/budget.h"
#include "state/keys.h"
#include "state/ratelimit.h"
#include "state/vkeys.h"

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
    return redis_group_setup(&srv, "test_keys");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

/* Check one name: its text and the returned length. */
#define NAME_IS(call, want)                      \
    do {                                         \
        char out_[SY_KEY_MAX];                   \
        char *out = out_;                        \
        size_t outlen = sizeof(out_);            \
        int n_ = (call);                         \
        assert_string_equal(out_, want);         \
        assert_int_equal(n_, (int)strlen(want)); \
        assert_true(sy_key_fits(n_, outlen));    \
    } while (0)

/* ------------------------------------------------------------------ */
/* The names                                                           */

static void
test_names(void **state)
{
    (void)state;
    NAME_IS(sy_key_provider_label(out, outlen, "openai", 0), "openai#1");
    NAME_IS(sy_key_limit_caller(out, outlen, "ci-bot", SY_KEY_RPM),
            "ck:ci-bot:rpm");
    NAME_IS(sy_key_limit_caller(out, outlen, "ci-bot", SY_KEY_TPM),
            "ck:ci-bot:tpm");
    NAME_IS(sy_key_limit_provider(out, outlen, "openai", 1, SY_KEY_RPM),
            "pk:openai#2:rpm");
    NAME_IS(sy_key_limit_provider(out, outlen, "openai", 1, SY_KEY_TPM),
            "pk:openai#2:tpm");
    NAME_IS(sy_key_ratelimit(out, outlen, "sy:", "ck:a:rpm"),
            "sy:rl:{ck:a:rpm}");
    NAME_IS(sy_key_ratelimit_window(out, outlen, "sy:", "ck:a:rpm",
                                    UINT64_C(28333334)),
            "sy:rl:{ck:a:rpm}:28333334");
    NAME_IS(sy_key_ratelimit_park(out, outlen, "sy:", "pk:p#1:rpm"),
            "sy:rl:{pk:p#1:rpm}:park");
    NAME_IS(sy_key_budget(out, outlen, "sy:", "alice", "2026-03"),
            "sy:budget:{alice}:2026-03");
    NAME_IS(sy_key_budget_res(out, outlen, "sy:", "alice", "2026-03"),
            "sy:budget:{alice}:2026-03:res");
    NAME_IS(sy_key_spend(out, outlen, "sy:", "2026-12-01"),
            "sy:spend:2026-12-01");
    NAME_IS(sy_key_vkey_index(out, outlen, "sy:"), "sy:vkname");
    NAME_IS(sy_key_vkey_base(out, outlen, "sy:"), "sy:vk:");
    NAME_IS(sy_key_vkey(out, outlen, "sy:", "ab12"), "sy:vk:ab12");
    NAME_IS(sy_key_latency(out, outlen, "sy:", "gpt-4o@azure", "ttft", 42),
            "sy:lat1:{gpt-4o@azure}:ttft:42");
    NAME_IS(sy_key_breaker(out, outlen, "sy:", "fast"), "sy:br:{fast}");
    NAME_IS(sy_key_breaker_probe(out, outlen, "sy:", "fast"),
            "sy:br:{fast}:probe");
    NAME_IS(sy_key_breaker_channel(out, outlen, "sy:"), "sy:breaker");
    NAME_IS(sy_key_contract(out, outlen, "sy:"), "sy:contract");
    NAME_IS(sy_key_metrics(out, outlen, "sy:", "requests"),
            "sy:metrics:requests");
    NAME_IS(sy_key_metrics_inflight(out, outlen, "sy:"), "sy:metrics:inflight");
    /* an empty prefix is allowed */
    NAME_IS(sy_key_contract(out, outlen, ""), "contract");
}

static void
test_truncation(void **state)
{
    (void)state;
    char small[8];
    int n = sy_key_breaker(small, sizeof(small), "sy:", "deployment");
    assert_int_equal(n, (int)strlen("sy:br:{deployment}"));
    assert_false(sy_key_fits(n, sizeof(small)));
    assert_int_equal(strlen(small), sizeof(small) - 1); /* still a string */
    assert_true(sy_key_fits(7, sizeof(small)));
    assert_false(sy_key_fits(-1, sizeof(small)));
}

/* ------------------------------------------------------------------ */
/* Writers and readers agree (real Redis)                              */

/* The integer value of 'cmd key' (GET, PTTL, EXISTS, ZCARD, ...); -99
 * when the reply is not an integer. */
static int64_t
int_of(struct sy_store *s, const char *cmd, const char *key)
{
    struct sy_arena a;
    sy_arena_init(&a, 512);
    struct sy_store_val *v = NULL;
    int64_t x = -99;
    assert_int_equal(sy_store_commandl(s, &a, &v, cmd, key, NULL), SY_OK);
    if (!sy_store_val_int(v, &x))
        x = -99;
    sy_arena_cleanup(&a);
    return x;
}

/* The rate-limit script counts under sy_key_ratelimit_window() and parks
 * under sy_key_ratelimit_park(): what 'switchyard status' reads. */
static void
test_ratelimit_names(void **state)
{
    (void)state;
    if (!have_redis)
        skip();
    struct sy_store *s = store_on(srv.port, NULL);
    char limit[200], key[SY_KEY_MAX];
    sy_key_limit_caller(limit, sizeof(limit), "main", SY_KEY_TPM);
    struct sy_ratelimit_item it = { limit, 1000, 7 };
    struct sy_ratelimit_result r;
    assert_int_equal(sy_ratelimit_reserve(s, &it, 1, 60000, 0, &r), SY_OK);
    assert_true(r.allowed);
    sy_key_ratelimit_window(key, sizeof(key), sy_store_prefix(s), limit,
                            r.window_id);
    assert_int_equal(int_of(s, "GET", key), 7);

    sy_key_limit_provider(limit, sizeof(limit), "p", 0, SY_KEY_RPM);
    assert_int_equal(sy_ratelimit_park(s, limit, 5000), SY_OK);
    sy_key_ratelimit_park(key, sizeof(key), sy_store_prefix(s), limit);
    int64_t pt = int_of(s, "PTTL", key);
    assert_true(pt > 0 && pt <= 5000);
    sy_store_free(s);
}

/* The budget script keeps its hash and reservations under
 * sy_key_budget() and sy_key_budget_res(). */
static void
test_budget_names(void **state)
{
    (void)state;
    if (!have_redis)
        skip();
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_budget_result r;
    assert_int_equal(
        sy_budget_reserve(s, "alice", "2026-03", 1000, 10, 0, 0, &r), SY_OK);
    assert_true(r.allowed);
    char key[SY_KEY_MAX];
    sy_key_budget(key, sizeof(key), sy_store_prefix(s), "alice", "2026-03");
    assert_int_equal(int_of(s, "EXISTS", key), 1);
    sy_key_budget_res(key, sizeof(key), sy_store_prefix(s), "alice", "2026-03");
    assert_int_equal(int_of(s, "ZCARD", key), 1);
    sy_store_free(s);
}

/* The virtual-key script indexes a key under sy_key_vkey_index() and
 * keeps it under sy_key_vkey(<hmac>). */
static void
test_vkey_names(void **state)
{
    (void)state;
    if (!have_redis)
        skip();
    static const char secret[] = "0123456789abcdef-server-secret";
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_vkey spec, made;
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.name, sizeof(spec.name), "named");
    spec.budget_period = SY_BUDGET_MONTH;
    char key[SY_VKEY_KEY_LEN + 1], err[128];
    assert_int_equal(sy_vkey_create(s, secret, sizeof(secret) - 1, &spec,
                                    1795564799, key, &made, err, sizeof(err)),
                     SY_OK);
    memset(key, 0, sizeof(key));

    char idx[SY_KEY_MAX], hash[SY_KEY_MAX];
    sy_key_vkey_index(idx, sizeof(idx), sy_store_prefix(s));
    sy_key_vkey(hash, sizeof(hash), sy_store_prefix(s), made.hmac);
    struct sy_arena a;
    sy_arena_init(&a, 512);
    struct sy_store_val *v = NULL;
    assert_int_equal(sy_store_commandl(s, &a, &v, "HGET", idx, "named", NULL),
                     SY_OK);
    assert_int_equal(v->type, SY_STORE_STR);
    assert_string_equal(v->str, made.hmac);
    assert_int_equal(sy_store_commandl(s, &a, &v, "HGET", hash, "name", NULL),
                     SY_OK);
    assert_int_equal(v->type, SY_STORE_STR);
    assert_string_equal(v->str, "named");
    sy_arena_cleanup(&a);
    sy_store_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_ratelimit_names),
        cmocka_unit_test(test_budget_names),
        cmocka_unit_test(test_vkey_names),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
