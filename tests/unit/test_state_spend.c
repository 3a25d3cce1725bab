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

/* A state thread on spend_config() and a store to read what it wrote. */
struct spend_env {
    struct sy_config *cfg;
    struct sy_state *st;
    struct sy_store *store;
    const struct sy_deployment *d;
};

static void
env_start(struct spend_env *e)
{
    e->cfg = spend_config();
    assert_int_equal(sy_state_start(e->cfg, NULL, &e->st), SY_OK);
    e->store = sy_state_new_store(e->st);
    assert_non_null(e->store);
    e->d = &e->cfg->deployments[0];
}

static void
env_stop(struct spend_env *e)
{
    sy_store_free(e->store);
    sy_state_stop(e->st);
    sy_config_free(e->cfg);
}

/* A record of 'cost' on the env's group and deployment, with no key. */
static struct sy_usage_record
record_of(const struct spend_env *e, int64_t cost)
{
    struct sy_usage_record r;
    memset(&r, 0, sizeof(r));
    r.group = e->cfg->groups[0].name;
    r.deployment = e->d->name;
    r.provider = e->d->provider->name;
    r.cost_micro_usd = cost;
    return r;
}

/* Field 'dim:name' once it reaches 'want' (the state thread flushes in
 * its own time), or what it holds after 3 s. */
static long long
spent_wait(struct sy_store *s, enum sy_spend_dim dim, const char *name,
           long long want)
{
    uint64_t start = sy_now_ms();
    while (spent(s, dim, name) < want && sy_now_ms() - start < 3000)
        usleep(10000);
    return spent(s, dim, name);
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
    struct spend_env e;
    env_start(&e);

    static const char *const names[2] = { "alpha-key-long-name", "zz" };
    static const char *const teams[2] = { "team-alpha-long", "team-zz" };
    char name_buf[SY_SPEND_NAME_CAP], team_buf[SY_SPEND_NAME_CAP];
    for (int i = 0; i < 12; i++) {
        snprintf(name_buf, sizeof(name_buf), "%s", names[i % 2]);
        snprintf(team_buf, sizeof(team_buf), "%s", teams[i % 2]);
        struct sy_usage_record r = record_of(&e, i % 2 == 0 ? 1000 : 7);
        r.key_name = name_buf;
        r.team = team_buf;
        sy_state_spend(e.st, &r);
    }
    /* The queue holds them until the state thread's next flush. */
    memset(name_buf, 'x', sizeof(name_buf) - 1);
    name_buf[sizeof(name_buf) - 1] = '\0';
    memset(team_buf, 'y', 8);
    team_buf[8] = '\0';

    assert_int_equal(spent_wait(e.store, SY_SPEND_TOTAL, "", 6042), 6042);
    assert_int_equal(spent(e.store, SY_SPEND_KEY, names[0]), 6000);
    assert_int_equal(spent(e.store, SY_SPEND_KEY, names[1]), 42);
    assert_int_equal(spent(e.store, SY_SPEND_TEAM, teams[0]), 6000);
    assert_int_equal(spent(e.store, SY_SPEND_TEAM, teams[1]), 42);
    assert_int_equal(spent(e.store, SY_SPEND_KEY, name_buf), -1);
    assert_int_equal(spent(e.store, SY_SPEND_TEAM, team_buf), -1);
    env_stop(&e);
}

/* A record without a caller key (no keys configured) charges no key
 * and no team, only the total and the deployment. */
static void
test_no_key_no_name(void **state)
{
    (void)state;
    if (!have_redis)
        skip();
    struct spend_env e;
    env_start(&e);
    long long before = spent(e.store, SY_SPEND_DEP, e.d->name);
    if (before < 0)
        before = 0;
    struct sy_usage_record r = record_of(&e, 5);
    sy_state_spend(e.st, &r);
    assert_int_equal(spent_wait(e.store, SY_SPEND_DEP, e.d->name, before + 5),
                     before + 5);
    assert_int_equal(spent(e.store, SY_SPEND_KEY, ""), -1);
    assert_int_equal(spent(e.store, SY_SPEND_TEAM, ""), -1);
    env_stop(&e);
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
