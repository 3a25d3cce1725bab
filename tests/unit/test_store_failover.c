/*
 * test_store_failover.c - unit tests for the failure handling of
 * core/io/store.c against redis-server processes started here on free
 * 127.0.0.1 ports in temporary directories: Redis killed (fail fast,
 * backoff, recovery within 2 s on the same port), Redis hung (one
 * command timeout for a whole burst, the shared gate across stores and
 * threads), and Sentinel (master lookup, following a failover). Redis
 * tests are SKIPPED, loudly, when redis-server is not installed.
 * SY_TEST_LEAVE=1 keeps the temporary directories. Uses the harness of
 * redis_harness.h (which includes store.c).
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"

/* Every test starts its own servers: the group only checks for Redis. */
static int
group_setup(void **state)
{
    (void)state;
    return redis_group_setup(NULL, "test_store_failover");
}

/* Redis killed: the first call fails at once (no timeout to wait for), a
 * few more errors and the store backs off (no more connect attempts);
 * then Redis comes back on the same port and the store is usable again
 * within 2 s. */
static void
test_killed_then_back(void **state)
{
    (void)state;
    NEED_REDIS();
    struct redis_srv srv = { 0 };
    assert_true(redis_start(&srv, NULL));
    struct sy_store *s = store_on(srv.port, NULL);
    assert_int_equal(sy_store_connect(s), SY_OK);
    redis_stop(&srv);

    uint64_t t0 = sy_now_ms();
    assert_int_equal(sy_store_commandl(s, NULL, NULL, "PING", NULL), SY_ESTORE);
    assert_true(elapsed_ms(t0) < 150);
    assert_false(sy_store_is_up(s));
    /* A burst while down: refused connections, then the gate. */
    t0 = sy_now_ms();
    for (int i = 0; i < 100; i++)
        assert_int_equal(sy_store_commandl(s, NULL, NULL, "PING", NULL),
                         SY_ESTORE);
    assert_true(elapsed_ms(t0) < 200);
    struct sy_store_stats st;
    sy_store_get_stats(s, &st);
    assert_int_equal(st.failures, 3); /* max_errors, then back off */
    assert_int_equal(st.skipped, 100 - 2);
    assert_int_equal(st.timeouts, 0);
    /* Keep it down long enough for the backoff to reach its cap. */
    t0 = sy_now_ms();
    while (elapsed_ms(t0) < 2500) {
        sy_store_commandl(s, NULL, NULL, "PING", NULL);
        usleep(5000);
    }
    sy_store_get_stats(s, &st);
    assert_true(st.failures < 12); /* about one attempt per backoff */
    assert_int_equal(atomic_load(&s->gate->backoff_ms), 1000);

    /* Worst case: Redis returns just after a failed probe, so a whole
     * capped backoff (1 s) is still ahead. */
    uint64_t before = st.failures;
    while (st.failures == before) {
        sy_store_commandl(s, NULL, NULL, "PING", NULL);
        sy_store_get_stats(s, &st);
        usleep(1000);
    }
    assert_true(redis_start(&srv, NULL)); /* same port */
    t0 = sy_now_ms();
    while (sy_store_commandl(s, NULL, NULL, "PING", NULL) != SY_OK) {
        assert_true(elapsed_ms(t0) < 2000);
        usleep(5000);
    }
    assert_true(elapsed_ms(t0) > 500); /* the backoff was honoured */
    assert_true(sy_store_is_up(s));
    print_message("    back %u ms after Redis returned\n",
                  (unsigned)elapsed_ms(t0));
    sy_store_free(s);
    redis_cleanup(&srv);
}

/* Redis hung (SIGSTOP: the kernel still accepts connections, nothing
 * answers): a burst of 100 calls costs about one command timeout in
 * total, not one per call; a store sharing the gate does not even try;
 * after SIGCONT the store is back within 2 s. */
static void
test_hung_costs_one_timeout(void **state)
{
    (void)state;
    NEED_REDIS();
    struct redis_srv srv = { 0 };
    assert_true(redis_start(&srv, NULL));
    struct sy_store_gate gate;
    sy_store_gate_init(&gate);
    struct sy_store *s = store_on(srv.port, &gate);
    struct sy_store *peer = store_on(srv.port, &gate);
    assert_int_equal(sy_store_connect(s), SY_OK);
    assert_int_equal(sy_store_connect(peer), SY_OK);
    kill(srv.pid, SIGSTOP);

    uint64_t t0 = sy_now_ms();
    int failures = 0;
    for (int i = 0; i < 100; i++)
        failures += sy_store_commandl(s, NULL, NULL, "PING", NULL) != SY_OK;
    uint64_t cost = elapsed_ms(t0);
    print_message("    100 calls against a hung Redis: %u ms (timeout "
                  "200 ms)\n",
                  (unsigned)cost);
    assert_int_equal(failures, 100);
    assert_true(cost >= 190);
    assert_true(cost < 350);
    struct sy_store_stats st;
    sy_store_get_stats(s, &st);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.skipped, 99);
    /* The other thread's store: refused by the shared gate, no I/O. */
    t0 = sy_now_ms();
    assert_int_equal(sy_store_commandl(peer, NULL, NULL, "PING", NULL),
                     SY_ESTORE);
    assert_true(elapsed_ms(t0) < 20);
    sy_store_get_stats(peer, &st);
    assert_int_equal(st.skipped, 1);
    assert_int_equal(st.calls, 1); /* only the PING of sy_store_connect */

    /* A second outage period: one probe per backoff, each costing one
     * timeout; the peer never waits. */
    t0 = sy_now_ms();
    while (elapsed_ms(t0) < 1200) {
        sy_store_commandl(s, NULL, NULL, "PING", NULL);
        sy_store_commandl(peer, NULL, NULL, "PING", NULL);
        usleep(2000);
    }
    struct sy_store_stats ps;
    sy_store_get_stats(s, &st);
    sy_store_get_stats(peer, &ps);
    assert_true(st.timeouts + ps.timeouts <= 8);

    kill(srv.pid, SIGCONT);
    t0 = sy_now_ms();
    while (sy_store_commandl(s, NULL, NULL, "PING", NULL) != SY_OK) {
        assert_true(elapsed_ms(t0) < 2000);
        usleep(5000);
    }
    print_message("    back %u ms after Redis resumed\n",
                  (unsigned)elapsed_ms(t0));
    /* The peer's old connection predates the outage: it is replaced, not
     * reused (its stale replies would be out of step). */
    uint64_t before = ps.connects;
    assert_int_equal(sy_store_commandl(peer, NULL, NULL, "PING", NULL), SY_OK);
    sy_store_get_stats(peer, &ps);
    assert_int_equal(ps.connects, before + 1);
    sy_store_free(s);
    sy_store_free(peer);
    redis_cleanup(&srv);
}

struct burst {
    struct sy_store *s;
    pthread_barrier_t *start;
    uint64_t cost_ms;
};

static void *
burst_thread(void *ud)
{
    struct burst *b = ud;
    pthread_barrier_wait(b->start);
    uint64_t t0 = sy_now_ms();
    for (int i = 0; i < 50; i++)
        sy_store_commandl(b->s, NULL, NULL, "PING", NULL);
    b->cost_ms = elapsed_ms(t0);
    return NULL;
}

/* Eight threads of one process, each with its own store on one shared
 * gate, hit a hung Redis at the same moment: each pays at most one
 * timeout (the calls already in flight), then all skip together. */
static void
test_gate_threads(void **state)
{
    (void)state;
    NEED_REDIS();
    enum { T = 8 };
    struct redis_srv srv = { 0 };
    assert_true(redis_start(&srv, NULL));
    struct sy_store_gate gate;
    sy_store_gate_init(&gate);
    struct burst b[T];
    pthread_t th[T];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, T);
    for (int i = 0; i < T; i++) {
        b[i].s = store_on(srv.port, &gate);
        b[i].start = &start;
        assert_int_equal(sy_store_connect(b[i].s), SY_OK);
    }
    kill(srv.pid, SIGSTOP);
    for (int i = 0; i < T; i++)
        pthread_create(&th[i], NULL, burst_thread, &b[i]);
    uint64_t timeouts = 0;
    uint64_t worst = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        struct sy_store_stats st;
        sy_store_get_stats(b[i].s, &st);
        timeouts += st.timeouts;
        assert_true(st.timeouts <= 1);
        worst = SY_MAX(worst, b[i].cost_ms);
    }
    print_message("    %d threads x 50 calls: %u timeouts, slowest thread "
                  "%u ms\n",
                  T, (unsigned)timeouts, (unsigned)worst);
    assert_true(worst < 350);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < T; i++)
        sy_store_free(b[i].s);
    redis_cleanup(&srv);
}

/* Sentinel test helpers. Point the sentinel behind 'rs' at the master
 * on 'port' (name "m"), as a failover would. */
static void
sentinel_names(struct sy_store *rs, int port)
{
    char p[16];
    snprintf(p, sizeof(p), "%d", port);
    assert_int_equal(
        sy_store_commandl(rs, NULL, NULL, "SENTINEL", "REMOVE", "m", NULL),
        SY_OK);
    assert_int_equal(sy_store_commandl(rs, NULL, NULL, "SENTINEL", "MONITOR",
                                       "m", "127.0.0.1", p, "1", NULL),
                     SY_OK);
}

/* SET where 'value' through 's' until it succeeds, within 2 s. */
static void
set_where_within_2s(struct sy_store *s, const char *value)
{
    uint64_t t0 = sy_now_ms();
    while (sy_store_commandl(s, NULL, NULL, "SET", "where", value, NULL) !=
           SY_OK) {
        assert_true(elapsed_ms(t0) < 2000);
        usleep(5000);
    }
}

/* 'where' on the server behind 'r' is 'want'. */
static void
assert_where(struct sy_store *r, struct sy_arena *ar, const char *want)
{
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(r, ar, &v, "GET", "where", NULL), SY_OK);
    assert_string_equal(v->str, want);
}

/* A store configured with 'sentinels' for master "m", quick to give up
 * on a dead one; 'c' keeps the configuration (for the caller to vary). */
static struct sy_store *
sentinel_store(struct sy_store_conf *c, const char **sentinels)
{
    sy_store_conf_defaults(c);
    c->sentinels = sentinels;
    c->nsentinels = 2;
    c->master_name = "m";
    c->max_errors = 1;
    c->backoff_min_ms = 10;
    c->backoff_max_ms = 50;
    struct sy_store *s;
    char err[128];
    assert_int_equal(sy_store_new(c, &s, err, sizeof(err)), SY_OK);
    return s;
}

/* A master name no sentinel knows: the call fails and says which. */
static void
sentinel_unknown_master(struct sy_store_conf *c)
{
    struct sy_store *unknown;
    char err[128];
    c->master_name = "nope";
    assert_int_equal(sy_store_new(c, &unknown, err, sizeof(err)), SY_OK);
    assert_int_equal(sy_store_commandl(unknown, NULL, NULL, "PING", NULL),
                     SY_ESTORE);
    assert_non_null(strstr(sy_store_last_error(unknown), "nope"));
    sy_store_free(unknown);
}

/* Sentinel: the store asks a sentinel for the master, and follows the
 * master when Sentinel names another one (after the old one dies, or
 * when it answers READONLY because it was demoted). */
static void
test_sentinel(void **state)
{
    (void)state;
    NEED_REDIS();
    struct redis_srv a = { 0 };
    struct redis_srv b = { 0 };
    struct redis_srv sent = { 0 };
    assert_true(redis_start(&a, NULL));
    assert_true(redis_start(&b, NULL));
    char conf[128];
    snprintf(conf, sizeof(conf), "sentinel monitor m 127.0.0.1 %d 1", a.port);
    const char *sconf[] = { conf, NULL };
    sent.sentinel = true;
    assert_true(redis_start(&sent, sconf));

    char dead[32];
    char live[32];
    snprintf(dead, sizeof(dead), "127.0.0.1:%d", free_port());
    snprintf(live, sizeof(live), "127.0.0.1:%d", sent.port);
    const char *sentinels[] = { dead, live }; /* the first one is down */
    struct sy_store_conf c;
    struct sy_store *s = sentinel_store(&c, sentinels);
    struct sy_arena ar;
    sy_arena_init(&ar, 4096);
    assert_int_equal(
        sy_store_commandl(s, NULL, NULL, "SET", "where", "a", NULL), SY_OK);
    struct sy_store *ra = store_on(a.port, NULL);
    struct sy_store *rb = store_on(b.port, NULL);
    struct sy_store *rs = store_on(sent.port, NULL);
    assert_where(ra, &ar, "a");

    /* Failover 1: Sentinel now names b, and a is demoted to a replica of
     * b: the next write gets READONLY, the store asks Sentinel again. */
    char bport[16];
    snprintf(bport, sizeof(bport), "%d", b.port);
    sentinel_names(rs, b.port);
    assert_int_equal(sy_store_commandl(ra, NULL, NULL, "REPLICAOF", "127.0.0.1",
                                       bport, NULL),
                     SY_OK);
    set_where_within_2s(s, "b");
    assert_where(rb, &ar, "b");

    /* Failover 2: b dies, Sentinel names a again (promoted back). */
    assert_int_equal(
        sy_store_commandl(ra, NULL, NULL, "REPLICAOF", "NO", "ONE", NULL),
        SY_OK);
    sentinel_names(rs, a.port);
    redis_stop(&b);
    set_where_within_2s(s, "a2");
    assert_where(ra, &ar, "a2");
    struct sy_store_stats st;
    sy_store_get_stats(s, &st);
    assert_int_equal(st.connects, 3);
    assert_true(st.sentinel_lookups >= 3);
    /* The sentinel that answered is asked first from now on. */
    assert_int_equal(s->sentinel_first, 1);

    sentinel_unknown_master(&c);

    sy_store_free(s);
    sy_store_free(ra);
    sy_store_free(rb);
    sy_store_free(rs);
    sy_arena_cleanup(&ar);
    redis_cleanup(&sent);
    redis_cleanup(&a);
    redis_cleanup(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_then_back),
        cmocka_unit_test(test_hung_costs_one_timeout),
        cmocka_unit_test(test_gate_threads),
        cmocka_unit_test(test_sentinel),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
