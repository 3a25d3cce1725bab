/*
 * test_state_spend.c - costs queued for the state thread
 * (sy_state_spend, core/state/state.c) reach the day's spend hash in a
 * real redis-server under the names they were queued with: a virtual
 * key's name and team live in the request's arena, which the next
 * request reuses before the state thread writes, so the queue must keep
 * its own copies. Uses redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/spend.h"
#include "state/state.h"
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
    return redis_group_setup(&srv, "test_state_spend");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

static struct sy_config *
spend_config(void)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{" RF_PROVIDERS ",\"deployments\":{\"d1\"" RF_ON_P "},"
             "\"groups\":{\"g\":{\"deployments\":[\"d1\"]}},"
             "\"state\":{\"redis_url\":\"redis://127.0.0.1:%d\","
             "\"prefix\":\"sp:\",\"refresh_ms\":50}}",
             srv.port);
    return rf_load_ok(text);
}

/* Field 'dim:name' of today's spend hash, or -1 when absent. */
static long long
spent(struct sy_store *s, enum sy_spend_dim dim, const char *name)
{
    char key[128], field[160];
    sy_spend_key(key, sizeof(key), "sp:", sy_spend_day(sy_wall_ms()));
    sy_spend_field(field, sizeof(field), dim, name);
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(s, &a, &v, "HGET", key, field, NULL),
                     SY_OK);
    long long x = v->type == SY_STORE_STR ? strtoll(v->str, NULL, 10) : -1;
    sy_arena_cleanup(&a);
    return x;
}

/* Two keys take turns; each record's name and team are in one buffer
 * that the next record overwrites (as the next request reuses the
 * arena), and the flush comes after all of them. Each key and team is
 * charged its own records, and nothing goes to a name never queued. */
static void
test_names_outlive_the_caller(void **state)
{
    (void)state;
    if (!have_redis)
        skip();
    struct sy_config *cfg = spend_config();
    struct sy_state *st;
    assert_int_equal(sy_state_start(cfg, NULL, &st), SY_OK);
    struct sy_store *store = sy_state_new_store(st);
    assert_non_null(store);
    const struct sy_deployment *d = &cfg->deployments[0];

    static const char *const names[2] = { "alpha-key-long-name", "zz" };
    static const char *const teams[2] = { "team-alpha-long", "team-zz" };
    char name_buf[SY_SPEND_NAME_CAP], team_buf[SY_SPEND_NAME_CAP];
    for (int i = 0; i < 12; i++) {
        snprintf(name_buf, sizeof(name_buf), "%s", names[i % 2]);
        snprintf(team_buf, sizeof(team_buf), "%s", teams[i % 2]);
        struct sy_usage_record r;
        memset(&r, 0, sizeof(r));
        r.key_name = name_buf;
        r.team = team_buf;
        r.group = cfg->groups[0].name;
        r.deployment = d->name;
        r.provider = d->provider->name;
        r.cost_micro_usd = i % 2 == 0 ? 1000 : 7;
        sy_state_spend(st, &r);
    }
    /* The queue holds them until the state thread's next flush. */
    memset(name_buf, 'x', sizeof(name_buf) - 1);
    name_buf[sizeof(name_buf) - 1] = '\0';
    memset(team_buf, 'y', 8);
    team_buf[8] = '\0';

    uint64_t start = sy_now_ms();
    while (spent(store, SY_SPEND_TOTAL, "") < 6042 &&
           sy_now_ms() - start < 3000)
        usleep(10000);
    assert_int_equal(spent(store, SY_SPEND_TOTAL, ""), 6042);
    assert_int_equal(spent(store, SY_SPEND_KEY, names[0]), 6000);
    assert_int_equal(spent(store, SY_SPEND_KEY, names[1]), 42);
    assert_int_equal(spent(store, SY_SPEND_TEAM, teams[0]), 6000);
    assert_int_equal(spent(store, SY_SPEND_TEAM, teams[1]), 42);
    assert_int_equal(spent(store, SY_SPEND_KEY, name_buf), -1);
    assert_int_equal(spent(store, SY_SPEND_TEAM, team_buf), -1);

    sy_store_free(store);
    sy_state_stop(st);
    sy_config_free(cfg);
}

/* A record without a caller key (no keys configured) charges no key
 * and no team, only the total and the deployment. */
static void
test_no_key_no_name(void **state)
{
    (void)state;
    if (!have_redis)
        skip();
    struct sy_config *cfg = spend_config();
    struct sy_state *st;
    assert_int_equal(sy_state_start(cfg, NULL, &st), SY_OK);
    struct sy_store *store = sy_state_new_store(st);
    assert_non_null(store);
    const struct sy_deployment *d = &cfg->deployments[0];
    long long before = spent(store, SY_SPEND_DEP, d->name);
    if (before < 0)
        before = 0;
    struct sy_usage_record r;
    memset(&r, 0, sizeof(r));
    r.group = cfg->groups[0].name;
    r.deployment = d->name;
    r.provider = d->provider->name;
    r.cost_micro_usd = 5;
    sy_state_spend(st, &r);
    uint64_t start = sy_now_ms();
    while (spent(store, SY_SPEND_DEP, d->name) < before + 5 &&
           sy_now_ms() - start < 3000)
        usleep(10000);
    assert_int_equal(spent(store, SY_SPEND_DEP, d->name), before + 5);
    assert_int_equal(spent(store, SY_SPEND_KEY, ""), -1);
    assert_int_equal(spent(store, SY_SPEND_TEAM, ""), -1);
    sy_store_free(store);
    sy_state_stop(st);
    sy_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_outlive_the_caller),
        cmocka_unit_test(test_no_key_no_name),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
