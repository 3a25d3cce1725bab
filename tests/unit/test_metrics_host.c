/*
 * test_metrics_host.c - unit tests for the host-wide metric counters
 * (core/state/metrics.c): a child process forked after the pool's
 * mapping adds and the parent sees it (counters and Redis round trips);
 * two processes flushing the same pending counters, one of them after a
 * failed batch, send each amount to Redis once; the last flush of a
 * stopping state thread; the busy time of overlapping attempts (the
 * overhead histogram); and, against a real redis-server, that a scrape
 * keeps cost series only for the config's caller keys and the listed
 * virtual keys (revoked ones included). Uses redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "base/clock.h"
#include "config/config.h"
#include "router_fixture.h"
#include "serve/ledger.h"
#include "serve/metrics.h"
#include "state/metrics.h"
#include "state/metrics_read.h"
#include "state/state.h"
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
    return redis_group_setup(&srv, "test_metrics_host");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

/* Two deployments in group g, a caller key "ck"; 'state' is the config's
 * "state" object ("" for none). */
static struct sy_config *
load(const char *state)
{
    setenv("SY_T_MH_KEY", "sk-mhmhmhmhmhmhmhmhmhmhmh", 1);
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"keys\":{\"ck\":{\"key_env\":\"SY_T_MH_KEY\"}}," RF_PROVIDERS
             ",\"deployments\":{\"d1\"" RF_ON_P ","
             "\"d2\"" RF_ON_P "},"
             "\"groups\":{\"g\":{\"deployments\":[\"d1\",\"d2\"]}}%s}",
             state);
    return rf_load_ok(text);
}

/* The counter of chat requests of g answered by d2 with a 2xx. */
static size_t
chat_ok(const struct sy_config *cfg, const struct sy_metrics *m)
{
    const struct sy_metrics_layout *l = sy_metrics_layout(m);
    return sy_metrics_req(
        l, SY_MS_CHAT,
        sy_metrics_pair(l, &cfg->groups[0], &cfg->deployments[1]), 0);
}

static void
one_request(const struct sy_config *cfg, struct sy_metrics *m)
{
    sy_metrics_request(m, SY_MS_CHAT, &cfg->groups[0], &cfg->deployments[1],
                       200, 5);
}

/* ------------------------------------------------------------------ */
/* One mapping for the pool                                            */

static void
test_fork_shares(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_metrics_shared *sh = sy_metrics_shared_new(cfg);
    struct sy_store_gate gate;
    sy_store_gate_init(&gate);
    struct sy_metrics *m = sy_metrics_new(cfg, sh, &gate);
    one_request(cfg, m);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* a worker: its own handle on the pool's counters */
        struct sy_store_gate g2;
        sy_store_gate_init(&g2);
        struct sy_metrics *mc = sy_metrics_new(cfg, sh, &g2);
        one_request(cfg, mc);
        one_request(cfg, mc);
        if (have_redis) { /* one Redis round trip, counted host-wide */
            struct sy_store *s = store_on(srv.port, &g2);
            struct sy_arena a;
            sy_arena_init(&a, 4096);
            struct sy_store_val *r;
            sy_store_commandl(s, &a, &r, "PING", NULL);
            sy_arena_cleanup(&a);
            sy_store_free(s);
        }
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct sy_metrics_view v;
    sy_metrics_read(&v, m, cfg, NULL, false, 0);
    assert_true(v.have_totals);
    assert_int_equal(v.tot[chat_ok(cfg, m)], 3);
    sy_metrics_view_cleanup(&v);
    if (have_redis) {
        uint64_t op[SY_STORE_OP_SLOTS];
        sy_store_gate_durations(&gate, op);
        uint64_t n = 0;
        for (unsigned k = 0; k + 1 < SY_STORE_OP_SLOTS; k++)
            n += op[k];
        assert_true(n >= 1); /* the child's PING (and its connect) */
    }
    sy_metrics_free(m);
    sy_metrics_shared_free(sh);
    sy_config_free(cfg);
}

/* How many times the batch adds 'amount' to the chat|g|d2|2xx field. */
static int
hincrs(const struct sy_store_batch *b, const char *amount)
{
    char want[128];
    snprintf(want, sizeof(want), "chat|g|d2|2xx\r\n$%zu\r\n%s\r\n",
             strlen(amount), amount);
    int n = 0;
    const char *p = sy_buf_cstr(&b->resp);
    while ((p = strstr(p, want)) != NULL) {
        n++;
        p++;
    }
    return n;
}

static int
any_hincr(const struct sy_store_batch *b)
{
    return strstr(sy_buf_cstr(&b->resp), "chat|g|d2|2xx") != NULL;
}

/* Two processes flush the same pending counters: what one took is not
 * the other's; what a failed batch took goes out once, with what was
 * added meanwhile, from whichever process flushes next. */
static void
test_flush_once(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_metrics_shared *sh = sy_metrics_shared_new(cfg);
    struct sy_metrics *m1 = sy_metrics_new(cfg, sh, NULL);
    struct sy_metrics *m2 = sy_metrics_new(cfg, sh, NULL);
    struct sy_store_batch b[4];
    for (int i = 0; i < 4; i++)
        sy_store_batch_init(&b[i], 1 << 20);
    one_request(cfg, m1);
    sy_metrics_flush(m1, &b[0], "t:", 10000, false);
    assert_int_equal(hincrs(&b[0], "1"), 1);
    sy_metrics_flush(m2, &b[1], "t:", 10000, false);
    assert_false(any_hincr(&b[1])); /* m1 holds it */
    sy_metrics_flush_failed(m1);    /* b[0] did not run */
    one_request(cfg, m2);
    sy_metrics_flush(m2, &b[2], "t:", 10500, false); /* too soon */
    assert_false(any_hincr(&b[2]));
    sy_store_batch_reset(&b[2]);
    sy_metrics_flush(m2, &b[2], "t:", 11000, false);
    assert_int_equal(hincrs(&b[2], "2"), 1);
    sy_metrics_flush(m1, &b[3], "t:", 10100, true); /* forced: stopping */
    assert_false(any_hincr(&b[3]));
    /* the totals a scrape without Redis renders were never taken */
    uint64_t *tot =
        sy_xcalloc(sy_metrics_layout(m1)->off[SY_MF__DENSE], sizeof(*tot));
    sy_metrics_snapshot(m2, tot);
    assert_int_equal(tot[chat_ok(cfg, m1)], 2);
    free(tot);
    for (int i = 0; i < 4; i++)
        sy_store_batch_cleanup(&b[i]);
    sy_metrics_free(m1);
    sy_metrics_free(m2);
    sy_metrics_shared_free(sh);
    sy_config_free(cfg);
}

/* A handle for a config of another layout gets counters of its own,
 * never a mis-sized share. */
static void
test_layout_mismatch(void **state)
{
    (void)state;
    struct sy_config *a = load("");
    const char *text = "{" RF_PROVIDERS ","
                       "\"deployments\":{\"d1\"" RF_ON_P "},"
                       "\"groups\":{\"g\":{\"deployments\":[\"d1\"]}}}";
    struct sy_config *c = NULL;
    assert_int_equal(sy_config_load_string(text, strlen(text), "t", &c, NULL),
                     SY_OK);
    struct sy_metrics_shared *sh = sy_metrics_shared_new(a);
    struct sy_metrics *ma = sy_metrics_new(a, sh, NULL);
    struct sy_metrics *mc = sy_metrics_new(c, sh, NULL); /* smaller */
    size_t n = sy_metrics_layout(mc)->off[SY_MF__DENSE];
    assert_true(n < sy_metrics_layout(ma)->off[SY_MF__DENSE]);
    for (int i = 0; i < 50; i++)
        one_request(a, ma);
    uint64_t *tot = sy_xcalloc(n + 1, sizeof(*tot));
    sy_metrics_snapshot(mc, tot);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tot[i], 0);
    free(tot);
    sy_metrics_free(ma);
    sy_metrics_free(mc);
    sy_metrics_shared_free(sh);
    sy_config_free(a);
    sy_config_free(c);
}

/* ------------------------------------------------------------------ */
/* Overhead: the union of the attempts' intervals                      */

/* sy_metrics_attempts_us over the first 'n' of 'a' (it takes the
 * ledger's attempt pointers). */
static uint64_t
union_us(const struct sy_attempt *a, unsigned n)
{
    const struct sy_attempt *p[8];
    for (unsigned i = 0; i < n && i < 8; i++)
        p[i] = &a[i];
    return sy_metrics_attempts_us(p, n);
}

static void
test_attempts_union(void **state)
{
    (void)state;
    struct sy_attempt a[4];
    memset(a, 0, sizeof(a));
    /* a hedged pair: [1000, 3000] and [2000, 3500] overlap */
    a[0].end_us = 3000;
    a[0].total_us = 2000;
    a[1].end_us = 3500;
    a[1].total_us = 1500;
    assert_int_equal(union_us(a, 2), 2500);
    /* listed in the other order; then a failover after a gap */
    struct sy_attempt r[3] = { a[1], a[0], a[0] };
    r[2].end_us = 5000;
    r[2].total_us = 500;
    assert_int_equal(union_us(r, 3), 3000);
    /* one inside another; an attempt never sent (no time) */
    a[2].end_us = 2500;
    a[2].total_us = 100;
    a[3].end_us = 9000;
    assert_int_equal(union_us(a, 4), 2500);
    assert_int_equal(union_us(a, 0), 0);
    /* back to back: no gap, no double count */
    struct sy_attempt s[2];
    memset(s, 0, sizeof(s));
    s[0].end_us = 100;
    s[0].total_us = 100;
    s[1].end_us = 300;
    s[1].total_us = 200;
    assert_int_equal(union_us(s, 2), 300);
}

/* ------------------------------------------------------------------ */
/* Redis                                                               */

static struct sy_config *
load_redis(void)
{
    char st[256];
    snprintf(st, sizeof(st),
             ",\"state\":{\"redis_url\":\"redis://127.0.0.1:%d\","
             "\"prefix\":\"t:\",\"refresh_ms\":60000}",
             srv.port);
    return load(st);
}

static bool
key_exists(struct sy_store *s, const char *key)
{
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_store_val *r = NULL;
    int64_t n = 0;
    bool ok = sy_store_commandl(s, &a, &r, "EXISTS", key, NULL) == SY_OK &&
              sy_store_val_int(r, &n) && n == 1;
    sy_arena_cleanup(&a);
    return ok;
}

static int64_t
hget(struct sy_store *s, const char *key, const char *field)
{
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_store_val *r = NULL;
    int64_t n = -1;
    if (sy_store_commandl(s, &a, &r, "HGET", key, field, NULL) != SY_OK ||
        !sy_store_val_int(r, &n))
        n = -1;
    sy_arena_cleanup(&a);
    return n;
}

/* A state thread that stops sends what it counted since its last flush:
 * nothing is left for a flush that never comes (refresh_ms is a minute
 * here, and a CGI process lives one request). */
static void
test_last_flush(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_config *cfg = load_redis();
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_store_val *r;
    sy_store_commandl(s, &a, &r, "DEL", "t:metrics:requests",
                      "t:metrics:inflight", NULL);
    struct sy_state *st = NULL;
    assert_int_equal(sy_state_start(cfg, NULL, &st), SY_OK);
    /* the thread's first flush (it publishes the in-flight member) */
    uint64_t t0 = sy_now_ms();
    while (!key_exists(s, "t:metrics:inflight") && elapsed_ms(t0) < 5000)
        usleep(10000);
    assert_true(key_exists(s, "t:metrics:inflight"));
    one_request(cfg, sy_state_metrics(st));
    sy_state_stop(st);
    assert_int_equal(hget(s, "t:metrics:requests", "chat|g|d2|2xx"), 1);
    sy_arena_cleanup(&a);
    sy_store_free(s);
    sy_config_free(cfg);
}

static const char SECRET[] = "0123456789abcdef-server-secret-for-tests";

static void
create_vkey(struct sy_store *s, const char *name)
{
    struct sy_vkey v;
    memset(&v, 0, sizeof(v));
    snprintf(v.name, sizeof(v.name), "%s", name);
    char key[SY_VKEY_KEY_LEN + 1], err[128];
    assert_int_equal(sy_vkey_create(s, SECRET, sizeof(SECRET) - 1, &v,
                                    1795564799, key, NULL, err, sizeof(err)),
                     SY_OK);
}

static bool
has_money(const struct sy_metrics_view *v, int which, const char *key)
{
    for (size_t i = 0; i < v->nmoney[which]; i++)
        if (strcmp(v->money[which][i].key, key) == 0)
            return true;
    return false;
}

/* Cost series only for the config's caller keys, "" and the virtual keys
 * of the list (a revoked one keeps its series), whatever valid-looking
 * names a writer put in the hash; still one round trip without budgets. */
static void
test_scrape_key_names(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_config *cfg = load_redis();
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_store_val *r;
    sy_store_commandl(s, &a, &r, "FLUSHDB", NULL);
    create_vkey(s, "alice");
    create_vkey(s, "bob");
    assert_int_equal(sy_vkey_revoke(s, "bob"), SY_OK);
    static const char *const fields[] = {
        "alice||g|d1", "bob||g|d1",     "ck|t|g|d2",
        "||g|d1",      "mallory||g|d1", "zed.x-1||g|d2",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(fields); i++)
        sy_store_commandl(s, &a, &r, "HINCRBY", "t:metrics:cost", fields[i],
                          "7", NULL);
    sy_store_commandl(s, &a, &r, "HINCRBY", "t:metrics:baseline", "eve||g", "3",
                      NULL);
    sy_store_commandl(s, &a, &r, "HINCRBY", "t:metrics:baseline", "alice||g",
                      "3", NULL);
    struct sy_metrics *m = sy_metrics_new(cfg, NULL, NULL);
    struct sy_metrics_view v;
    sy_metrics_read(&v, m, cfg, s, true, sy_wall_ms());
    assert_true(v.redis_up);
    assert_int_equal(v.redis_calls, 1);
    assert_int_equal(v.nmoney[0], 4);
    assert_true(has_money(&v, 0, "alice"));
    assert_true(has_money(&v, 0, "bob"));
    assert_true(has_money(&v, 0, "ck"));
    assert_true(has_money(&v, 0, ""));
    assert_false(has_money(&v, 0, "mallory"));
    assert_int_equal(v.nmoney[1], 1);
    assert_true(has_money(&v, 1, "alice"));
    sy_metrics_view_cleanup(&v);
    sy_metrics_free(m);
    sy_arena_cleanup(&a);
    sy_store_free(s);
    sy_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fork_shares),
        cmocka_unit_test(test_flush_once),
        cmocka_unit_test(test_layout_mismatch),
        cmocka_unit_test(test_attempts_union),
        cmocka_unit_test(test_last_flush),
        cmocka_unit_test(test_scrape_key_names),
    };
    return cmocka_run_group_tests_name("metrics_host", tests, group_setup,
                                       group_teardown);
}
