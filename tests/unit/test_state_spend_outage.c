/*
 * test_state_spend_outage.c - costs queued for the state thread
 * (sy_state_spend, core/state/state.c) while its flushes fail still
 * reach the day's spend hash, once, when Redis is back: a flush that
 * found Redis down, or whose spend got an error reply (WRONGTYPE on the
 * day's hash), used to drop them without a word. Uses the public state
 * API only, so it runs against the code before the fix too (and fails
 * there). Uses redis_harness.h.
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
    return redis_group_setup(&srv, "test_state_spend_outage");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

static struct sy_config *
outage_config(void)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{" RF_PROVIDERS ",\"deployments\":{\"d1\"" RF_ON_P "},"
             "\"groups\":{\"g\":{\"deployments\":[\"d1\"]}},"
             "\"state\":{\"redis_url\":\"redis://127.0.0.1:%d\","
             "\"prefix\":\"so:\",\"refresh_ms\":50,"
             "\"connect_timeout_ms\":100,\"command_timeout_ms\":200}}",
             srv.port);
    return rf_load_ok(text);
}

/* Today's spend hash's key. */
static void
today_key(char *out, size_t outlen)
{
    sy_spend_key(out, outlen, "so:", sy_spend_day(sy_wall_ms()));
}

/* Run one command on a short-lived store; its reply's integer or -1. */
static long long
cmd(const char *a0, const char *a1, const char *a2, const char *a3)
{
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    struct sy_store_val *v = NULL;
    long long x = -1;
    if (sy_store_commandl(s, &a, &v, a0, a1, a2, a3, NULL) == SY_OK) {
        if (v->type == SY_STORE_STR)
            x = strtoll(v->str, NULL, 10);
        else if (v->type == SY_STORE_INT)
            x = v->i;
    }
    sy_arena_cleanup(&a);
    sy_store_free(s);
    return x;
}

/* The day's total once it reaches 'want', or what it is after 10 s. */
static long long
total_wait(long long want)
{
    char key[128];
    today_key(key, sizeof(key));
    uint64_t start = sy_now_ms();
    long long t;
    while ((t = cmd("HGET", key, "total", NULL)) < want &&
           sy_now_ms() - start < 10000)
        usleep(20000);
    return t;
}

static void
spend(struct sy_state *st, const struct sy_config *cfg, int64_t cost)
{
    struct sy_usage_record r;
    memset(&r, 0, sizeof(r));
    r.group = cfg->groups[0].name;
    r.deployment = cfg->deployments[0].name;
    r.provider = cfg->deployments[0].provider->name;
    r.key_name = "k";
    r.cost_micro_usd = cost;
    sy_state_spend(st, &r);
}

/* Redis down for a while: what was queued meanwhile is written once it
 * is back (a restart on the same port, empty), and only once. */
static void
test_redis_down(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_config *cfg = outage_config();
    struct sy_state *st;
    assert_int_equal(sy_state_start(cfg, NULL, &st), SY_OK);
    usleep(200000);
    redis_stop(&srv);
    usleep(150000);
    for (int i = 0; i < 4; i++) {
        spend(st, cfg, 250 + i);
        usleep(120000); /* a failed flush or two each */
    }
    assert_true(redis_start(&srv, NULL));
    assert_int_equal(total_wait(1006), 1006);
    usleep(300000); /* nothing more comes */
    assert_int_equal(total_wait(1007), 1006);
    sy_state_stop(st);
    sy_config_free(cfg);
}

/* A string planted on the day's spend hash: every write of spend is
 * refused (WRONGTYPE); once it is removed, the spend queued meanwhile
 * lands. */
static void
test_wrongtype(void **state)
{
    (void)state;
    NEED_REDIS();
    char key[128];
    today_key(key, sizeof(key));
    cmd("DEL", key, NULL, NULL);
    cmd("SET", key, "planted", NULL);
    struct sy_config *cfg = outage_config();
    struct sy_state *st;
    assert_int_equal(sy_state_start(cfg, NULL, &st), SY_OK);
    spend(st, cfg, 1200);
    usleep(300000);
    spend(st, cfg, 34);
    usleep(300000);
    cmd("DEL", key, NULL, NULL);
    assert_int_equal(total_wait(1234), 1234);
    sy_state_stop(st);
    sy_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_down),
        cmocka_unit_test(test_wrongtype),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
