/*
 * test_breaker_probe.c - the half-open probe and the consecutive rule
 * across processes (core/state/breaker.c, lua/breaker.lua,
 * core/state/state.c), against a real redis-server:
 *   - a probe whose outcome says nothing (a caller error, a broken output
 *     contract, a caller gone) is freed at once, cluster-wide;
 *   - the probe deadline is the one its holder's grant set: refreshes,
 *     events and denied requests never push it further, and a probe
 *     never moves the open deadline;
 *   - outcomes of two processes (two stores) reaching Redis out of order
 *     give the exact consecutive count.
 * The state-level tests run two struct sy_state (two "processes", each
 * with its state thread) on one Redis. Uses redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/breaker.h"
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

#define T0       UINT64_C(1700000000000) /* outcome times of the tests */
#define OPEN_MS  300
#define PROBE_MS 600

static int
group_setup(void **state)
{
    (void)state;
    return redis_group_setup(&srv, "test_breaker_probe");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

static struct sy_breaker_conf
probe_conf(unsigned consecutive)
{
    struct sy_breaker_conf c;
    sy_breaker_conf_defaults(&c);
    c.consecutive = consecutive;
    c.failure_pct = 0;
    c.open_ms = OPEN_MS;
    c.open_max_ms = OPEN_MS;
    c.jitter_pct = 0;
    c.probe_ms = PROBE_MS;
    return c;
}

static void
reset_dep(struct sy_store *s, const char *dep)
{
    char key[128];
    char pkey[140];
    snprintf(key, sizeof(key), "t:br:{%s}", dep);
    snprintf(pkey, sizeof(pkey), "%s:probe", key);
    assert_int_equal(sy_store_commandl(s, NULL, NULL, "DEL", key, pkey, NULL),
                     SY_OK);
}

/* The hash field 'field' of the breaker of 'dep' as a number. */
static long long
field(struct sy_store *s, const char *dep, const char *name)
{
    char key[128];
    snprintf(key, sizeof(key), "t:br:{%s}", dep);
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(s, &a, &v, "HGET", key, name, NULL),
                     SY_OK);
    long long x = v->type == SY_STORE_STR ? strtoll(v->str, NULL, 10) : -1;
    sy_arena_cleanup(&a);
    return x;
}

/* ------------------------------------------------------------------ */
/* Adopting the cluster's half-open state (pure)                       */

/* The local deadline is the holder's: adopting the same cluster state
 * at every refresh never pushes it; a freed probe makes the deployment a
 * candidate at once. */
static void
test_adopt_keeps_the_holders_deadline(void **state)
{
    (void)state;
    struct sy_breaker_conf c = probe_conf(5);
    struct sy_breaker b;
    sy_breaker_init(&b);
    uint64_t local = 500000;
    /* Redis' clock is elsewhere: the probe was granted 100 ms ago. */
    struct sy_breaker_shared sh = { .state = SY_BREAKER_HALF_OPEN,
                                    .open_until_ms = T0 - 200,
                                    .now_ms = T0,
                                    .trips = 1,
                                    .probe_until_ms = T0 + PROBE_MS - 100,
                                    .probe_known = true };
    sy_breaker_adopt(&b, &c, &sh, local);
    assert_int_equal(b.state, SY_BREAKER_HALF_OPEN);
    assert_int_equal(b.probe_until_ms, local + PROBE_MS - 100);
    /* Twenty refreshes, 20 ms apart, report the same holder: the local
     * deadline stays where the holder put it. */
    for (int i = 1; i <= 20; i++) {
        sh.now_ms = T0 + 20u * (unsigned)i;
        sy_breaker_adopt(&b, &c, &sh, local + 20u * (unsigned)i);
        assert_int_equal(b.probe_until_ms, local + PROBE_MS - 100);
        assert_false(sy_breaker_is_candidate(&b, local + 20u * (unsigned)i));
    }
    assert_true(sy_breaker_is_candidate(&b, local + PROBE_MS - 100));
    /* The probe is freed (an ignored outcome): a candidate at once. */
    sh.now_ms = T0 + 450;
    sh.probe_until_ms = 0;
    sy_breaker_adopt(&b, &c, &sh, local + 450);
    assert_true(sy_breaker_is_candidate(&b, local + 450));
    assert_int_equal(sy_breaker_allow(&b, &c, local + 450), SY_BREAKER_PROBE);
    /* An older version's event (no probe deadline): taken once on
     * entering half-open, never pushed by the next ones. */
    sy_breaker_init(&b);
    struct sy_breaker_shared old = { .state = SY_BREAKER_HALF_OPEN,
                                     .now_ms = T0,
                                     .trips = 1 };
    sy_breaker_adopt(&b, &c, &old, local);
    for (int i = 1; i <= 20; i++)
        sy_breaker_adopt(&b, &c, &old, local + 50u * (unsigned)i);
    assert_int_equal(b.probe_until_ms, local + PROBE_MS);
    assert_true(sy_breaker_is_candidate(&b, local + PROBE_MS));
}

/* Events carry the probe deadline after the deployment name; an older
 * version's events (no deadline) still parse. */
static void
test_event_probe_field(void **state)
{
    (void)state;
    char dep[64];
    struct sy_breaker_shared sh;
    const char *m =
        "2 1700000005000 1700000006000 3 gpt-4o@azure 1700000006600";
    assert_true(sy_breaker_parse_event(m, strlen(m), dep, sizeof(dep), &sh));
    assert_string_equal(dep, "gpt-4o@azure");
    assert_int_equal(sh.state, SY_BREAKER_HALF_OPEN);
    assert_true(sh.probe_known);
    assert_int_equal(sh.probe_until_ms, UINT64_C(1700000006600));
    m = "2 1700000005000 1700000006000 3 d 0";
    assert_true(sy_breaker_parse_event(m, strlen(m), dep, sizeof(dep), &sh));
    assert_string_equal(dep, "d");
    assert_true(sh.probe_known);
    assert_int_equal(sh.probe_until_ms, 0);
    m = "1 1700000005000 1700000001000 2 d";
    assert_true(sy_breaker_parse_event(m, strlen(m), dep, sizeof(dep), &sh));
    assert_string_equal(dep, "d");
    assert_false(sh.probe_known);
    m = "1 1 2 3 123";
    assert_true(sy_breaker_parse_event(m, strlen(m), dep, sizeof(dep), &sh));
    assert_string_equal(dep, "123"); /* a name of digits, no deadline */
    assert_false(sh.probe_known);
}

/* ------------------------------------------------------------------ */
/* The script                                                          */

/* Open 'dep' with 'c.consecutive' failures at 'now' (0: Redis' clock). */
static void
open_dep(struct sy_store *s, const char *dep, const struct sy_breaker_conf *c,
         uint64_t now)
{
    struct sy_breaker_shared sh;
    for (unsigned i = 0; i < c->consecutive; i++)
        assert_int_equal(sy_breaker_shared_report(s, dep, c, SY_BREAKER_FAILURE,
                                                  NULL, 0, now ? now + i : 0,
                                                  &sh),
                         SY_OK);
    assert_int_equal(sh.state, SY_BREAKER_OPEN);
}

/* An ignored probe outcome frees the probe at once and says so on the
 * channel; other outcomes with the token of a probe no longer held
 * change nothing. */
static void
test_script_ignored_probe_frees_at_once(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_breaker_conf c = probe_conf(3);
    struct sy_store *w1 = store_on(srv.port, NULL);
    struct sy_store *w2 = store_on(srv.port, NULL);
    struct sy_store *sub = store_on(srv.port, NULL);
    assert_int_equal(sy_store_subscribe(sub, "t:breaker"), SY_OK);
    reset_dep(w1, "ig");
    uint64_t now = T0;
    open_dep(w1, "ig", &c, now);
    struct sy_breaker_shared sh;
    now += 2 + OPEN_MS;
    assert_int_equal(sy_breaker_shared_allow(w1, "ig", &c, "p1", now, &sh),
                     SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_PROBE);
    assert_true(sh.probe_until_ms > now && sh.probe_until_ms <= now + PROBE_MS);
    assert_int_equal(sy_breaker_shared_allow(w2, "ig", &c, "p2", now, &sh),
                     SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_DENY);
    /* The probe's caller made an error: nothing about the deployment. */
    const struct sy_breaker_outcome_at ign = { SY_BREAKER_IGNORE, now, now, 1,
                                               "p1" };
    assert_int_equal(
        sy_breaker_shared_report_many(w1, "ig", &c, &ign, 1, 0, now, &sh),
        SY_OK);
    assert_int_equal(sh.state, SY_BREAKER_HALF_OPEN);
    assert_int_equal(sh.probe_until_ms, 0);
    assert_false(sh.changed);
    /* Every process hears it: opened, probe taken, probe freed. */
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    struct sy_breaker_shared ev;
    char dep[32];
    int n = 0;
    for (;;) {
        const char *chan, *msg;
        size_t len;
        assert_int_equal(
            sy_store_read_message(sub, n < 3 ? 500 : 50, &a, &chan, &msg, &len),
            SY_OK);
        if (msg == NULL)
            break;
        assert_true(sy_breaker_parse_event(msg, len, dep, sizeof(dep), &ev));
        n++;
    }
    assert_int_equal(n, 3);
    assert_string_equal(dep, "ig");
    assert_int_equal(ev.state, SY_BREAKER_HALF_OPEN);
    assert_true(ev.probe_known);
    assert_int_equal(ev.probe_until_ms, 0);
    sy_arena_cleanup(&a);
    /* The next caller gets it. */
    assert_int_equal(sy_breaker_shared_allow(w2, "ig", &c, "p2", now, &sh),
                     SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_PROBE);
    /* p1 reporting again (a failure, say) is not the probe any more. */
    assert_int_equal(sy_breaker_shared_report(w1, "ig", &c, SY_BREAKER_FAILURE,
                                              "p1", 0, now + 5, &sh),
                     SY_OK);
    assert_int_equal(sh.state, SY_BREAKER_HALF_OPEN);
    assert_false(sh.changed);
    assert_true(sh.probe_until_ms > 0);
    sy_store_free(sub);
    sy_store_free(w1);
    sy_store_free(w2);
}

/* The probe's hold is set by the grant alone: denied requests, reads
 * and reports never extend it (the deadline Redis reports never grows),
 * and taking the probe leaves the open deadline where it was. */
static void
test_script_deadline_set_once(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_breaker_conf c = probe_conf(3);
    struct sy_store *w1 = store_on(srv.port, NULL);
    struct sy_store *w2 = store_on(srv.port, NULL);
    reset_dep(w1, "once");
    struct sy_breaker_shared sh;
    open_dep(w1, "once", &c, 0);
    uint64_t till = 0;
    assert_int_equal(sy_breaker_shared_get(w1, "once", &c, &sh), SY_OK);
    till = sh.open_until_ms;
    assert_true(till > sh.now_ms && till - sh.now_ms <= OPEN_MS);
    usleep((OPEN_MS + 20) * 1000);
    assert_int_equal(sy_breaker_shared_allow(w1, "once", &c, "h", 0, &sh),
                     SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_PROBE);
    uint64_t granted = sh.now_ms;
    uint64_t deadline = sh.probe_until_ms;
    assert_true(deadline > granted && deadline <= granted + PROBE_MS);
    assert_int_equal(sh.open_until_ms, till); /* the probe moved nothing */
    uint64_t start = sy_now_ms();
    int asks = 0;
    while (sy_now_ms() - start < PROBE_MS - 150) {
        assert_int_equal(sy_breaker_shared_allow(w2, "once", &c, "x", 0, &sh),
                         SY_OK);
        assert_int_equal(sh.verdict, SY_BREAKER_DENY);
        assert_true(sh.probe_until_ms <= deadline + 1);
        assert_int_equal(sy_breaker_shared_get(w1, "once", &c, &sh), SY_OK);
        assert_true(sh.probe_until_ms <= deadline + 1);
        assert_int_equal(sh.open_until_ms, till);
        /* Others' outcomes while half-open do not touch it either. */
        assert_int_equal(sy_breaker_shared_report(w2, "once", &c,
                                                  SY_BREAKER_FAILURE, NULL, 0,
                                                  0, &sh),
                         SY_OK);
        assert_true(sh.probe_until_ms <= deadline + 1);
        asks++;
        usleep(30000);
    }
    assert_true(asks > 5);
    /* The holder never reports: at its deadline the next caller goes. */
    while (sy_now_ms() - start < PROBE_MS + 100) {
        assert_int_equal(sy_breaker_shared_allow(w2, "once", &c, "y", 0, &sh),
                         SY_OK);
        if (sh.verdict == SY_BREAKER_PROBE)
            break;
        usleep(10000);
    }
    assert_int_equal(sh.verdict, SY_BREAKER_PROBE);
    assert_true(sh.now_ms + 2 >= deadline);
    /* Its failure reopens, never earlier than the old deadline. */
    assert_int_equal(sy_breaker_shared_report(
                         w2, "once", &c, SY_BREAKER_FAILURE, "y", 0, 0, &sh),
                     SY_OK);
    assert_int_equal(sh.state, SY_BREAKER_OPEN);
    assert_true(sh.open_until_ms >= till);
    assert_int_equal(sh.probe_until_ms, 0);
    sy_store_free(w1);
    sy_store_free(w2);
}

/* One process's outcomes, each at T0 + the given offset ('F' failure,
 * 'S' success), reported as one atomic batch from 's'. */
static void
report_seq(struct sy_store *s, const char *dep, const struct sy_breaker_conf *c,
           const char *kinds, const unsigned *at, struct sy_breaker_shared *sh)
{
    struct sy_breaker_outcome_at ev[SY_BREAKER_BATCH_MAX];
    size_t n = strlen(kinds);
    assert_true(n <= SY_BREAKER_BATCH_MAX);
    for (size_t i = 0; i < n; i++) {
        ev[i].o = kinds[i] == 'F' ? SY_BREAKER_FAILURE : SY_BREAKER_SUCCESS;
        ev[i].from_ms = T0 + at[i];
        ev[i].at_ms = T0 + at[i];
        ev[i].count = 1;
        ev[i].token = NULL;
    }
    assert_int_equal(sy_breaker_shared_report_many(s, dep, c, ev, n, 0, 0, sh),
                     SY_OK);
}

/* Two processes, in time order:
 *   P1: F10 F20 F30       S60 F70 F80
 *   P2:             F40 F50            F90 F100
 * i.e. F10..F50 (5 in a row), S60, F70..F100 (4 in a row). Whichever
 * batch reaches Redis first, the count is the same: with the rule at 6
 * nothing opens and the last run is 4; at 5 it opens. */
static void
run_two_processes(struct sy_store *p1, struct sy_store *p2, bool p1_first,
                  unsigned rule, const char *dep, struct sy_breaker_shared *sh)
{
    static const unsigned at1[] = { 10, 20, 30, 60, 70, 80 };
    static const unsigned at2[] = { 40, 50, 90, 100 };
    struct sy_breaker_conf c = probe_conf(rule);
    reset_dep(p1, dep);
    if (p1_first) {
        report_seq(p1, dep, &c, "FFFSFF", at1, sh);
        report_seq(p2, dep, &c, "FFFF", at2, sh);
    } else {
        report_seq(p2, dep, &c, "FFFF", at2, sh);
        report_seq(p1, dep, &c, "FFFSFF", at1, sh);
    }
}

static void
test_script_out_of_order_exact(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *p1 = store_on(srv.port, NULL);
    struct sy_store *p2 = store_on(srv.port, NULL);
    struct sy_breaker_shared sh;
    for (int first = 0; first < 2; first++) {
        run_two_processes(p1, p2, first, 6, "oo", &sh);
        assert_int_equal(sh.state, SY_BREAKER_CLOSED);
        assert_int_equal(field(p1, "oo", "consecutive"), 4);
        assert_int_equal(sh.window_failed, 9);
        run_two_processes(p1, p2, first, 5, "oo", &sh);
        assert_int_equal(sh.state, SY_BREAKER_OPEN);
        assert_int_equal(sh.trips, 1);
    }
    struct sy_breaker_conf c = probe_conf(5);
    /* A late success never resets the failures that came after it. */
    reset_dep(p1, "late");
    static const unsigned f4[] = { 10, 20, 30, 40 };
    static const unsigned s5[] = { 5 };
    static const unsigned f50[] = { 50 };
    report_seq(p1, "late", &c, "FFFF", f4, &sh);
    report_seq(p2, "late", &c, "S", s5, &sh);
    assert_int_equal(field(p1, "late", "consecutive"), 4);
    assert_int_equal(sh.state, SY_BREAKER_CLOSED);
    report_seq(p1, "late", &c, "F", f50, &sh);
    assert_int_equal(sh.state, SY_BREAKER_OPEN);
    /* A late failure never adds to a run that a newer success ended. */
    reset_dep(p1, "late");
    static const unsigned fsf[] = { 10, 20, 30, 40 };
    static const unsigned f25[] = { 25 };
    report_seq(p1, "late", &c, "FFSF", fsf, &sh);
    assert_int_equal(field(p1, "late", "consecutive"), 1);
    report_seq(p2, "late", &c, "F", f25, &sh);
    assert_int_equal(field(p1, "late", "consecutive"), 1);
    assert_int_equal(sh.state, SY_BREAKER_CLOSED);
    /* A run of successes of one process (sent as first..last) splits a
     * run of another's failures that it overlaps in time. */
    reset_dep(p1, "late");
    static const unsigned f3[] = { 10, 20, 30 };
    static const unsigned f2[] = { 60, 70 };
    report_seq(p1, "late", &c, "FFF", f3, &sh);
    struct sy_breaker_outcome_at run = { SY_BREAKER_SUCCESS, T0 + 15, T0 + 45,
                                         30, NULL };
    assert_int_equal(
        sy_breaker_shared_report_many(p2, "late", &c, &run, 1, 0, 0, &sh),
        SY_OK);
    report_seq(p1, "late", &c, "FF", f2, &sh);
    assert_int_equal(field(p1, "late", "consecutive"), 2);
    assert_int_equal(sh.state, SY_BREAKER_CLOSED);
    /* Failures from before the breaker last closed do not count. */
    reset_dep(p1, "late");
    uint64_t now = T0 + 1000;
    open_dep(p1, "late", &c, now);
    now += OPEN_MS + 10;
    assert_int_equal(sy_breaker_shared_allow(p1, "late", &c, "pr", now, &sh),
                     SY_OK);
    assert_int_equal(sh.verdict, SY_BREAKER_PROBE);
    assert_int_equal(sy_breaker_shared_report(
                         p1, "late", &c, SY_BREAKER_SUCCESS, "pr", 0, now, &sh),
                     SY_OK);
    assert_int_equal(sh.state, SY_BREAKER_CLOSED);
    static const unsigned old[] = { 900, 910, 920, 930, 940, 950 };
    report_seq(p2, "late", &c, "FFFFFF", old, &sh);
    assert_int_equal(sh.state, SY_BREAKER_CLOSED);
    assert_int_equal(field(p1, "late", "consecutive"), 0);
    sy_store_free(p1);
    sy_store_free(p2);
}

/* ------------------------------------------------------------------ */
/* Two processes: the state of each, with its thread                    */

static struct sy_config *
state_config(void)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "{" RF_PROVIDERS ","
             "\"deployments\":{\"d1\"" RF_ON_P ","
             "\"d2\"" RF_ON_P ","
             "\"d3\"" RF_ON_P "},"
             "\"groups\":{\"g\":{\"deployments\":[\"d1\",\"d2\",\"d3\"]}},"
             "\"state\":{\"redis_url\":\"redis://127.0.0.1:%d\","
             "\"prefix\":\"t:\",\"refresh_ms\":50,"
             "\"breaker\":{\"consecutive\":3,\"failure_pct\":0,"
             "\"open_ms\":%d,\"open_max_ms\":%d,\"jitter_pct\":0,"
             "\"probe_ms\":%d}}}",
             srv.port, OPEN_MS, OPEN_MS, PROBE_MS);
    return rf_load_ok(text);
}

struct proc {
    struct sy_state *st;
    struct sy_store *store;
};

static void
procs_start(const struct sy_config *cfg, struct proc *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sy_state_start(cfg, NULL, &p[i].st), SY_OK);
        p[i].store = sy_state_new_store(p[i].st);
        assert_non_null(p[i].store);
    }
}

static void
procs_stop(struct proc *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sy_store_free(p[i].store);
        sy_state_stop(p[i].st);
    }
}

static bool
view_open(const struct sy_config *cfg, struct sy_state *st, size_t dep)
{
    struct sy_dep_view v[4];
    assert_true(cfg->ndeployments < 4);
    sy_state_views(st, v);
    return v[dep].breaker_open;
}

/* Poll allow() on 'p' until it grants the probe (or 'max_ms' passes);
 * returns the milliseconds waited, or -1. */
static long
wait_probe(struct proc *p, const struct sy_deployment *d, const char *token,
           uint64_t max_ms)
{
    uint64_t start = sy_now_ms();
    while (sy_now_ms() - start < max_ms) {
        if (sy_state_allow(p->st, p->store, d, token) == SY_BREAKER_PROBE)
            return (long)(sy_now_ms() - start);
        usleep(5000);
    }
    return -1;
}

/* Open 'd' through process 'p' (three provider failures) and wait until
 * process 'q' sees it open and its open period is over. */
static void
open_via(const struct sy_config *cfg, struct proc *p, struct proc *q,
         const struct sy_deployment *d)
{
    reset_dep(p->store, d->name);
    for (int i = 0; i < 3; i++)
        sy_state_record(p->st, d, SY_EUP_5XX, 1000, 0, 0, NULL);
    uint64_t start = sy_now_ms();
    while (!view_open(cfg, q->st, d->index) && sy_now_ms() - start < 2000)
        usleep(5000);
    assert_true(view_open(cfg, q->st, d->index));
    usleep((OPEN_MS + 50) * 1000);
}

/* The probe's outcome says nothing (a caller error; a caller gone, seen
 * as no outcome at all): the other process gets the next probe at once,
 * not after probe_ms. */
static void
test_state_ignored_probe_released(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_config *cfg = state_config();
    struct proc p[2];
    procs_start(cfg, p, 2);
    const struct sy_deployment *d = &cfg->deployments[0];
    open_via(cfg, &p[0], &p[1], d);
    assert_true(wait_probe(&p[0], d, "tok-a", 1000) >= 0);
    assert_int_equal(sy_state_allow(p[1].st, p[1].store, d, "tok-b"),
                     SY_BREAKER_DENY);
    assert_true(view_open(cfg, p[1].st, d->index));
    /* A caller error: ignored, and the probe is freed everywhere. */
    sy_state_record(p[0].st, d, SY_EUP_BADREQ, 1000, 0, 0, "tok-a");
    sy_state_probe_done(p[0].st, d, "tok-a");
    long waited = wait_probe(&p[1], d, "tok-b", PROBE_MS - 100);
    print_message("    caller error: the other process got the probe after "
                  "%ld ms (probe_ms %d)\n",
                  waited, PROBE_MS);
    assert_true(waited >= 0 && waited < 300);
    /* Its caller went away: nothing recorded, the request is done. */
    sy_state_probe_done(p[1].st, d, "tok-b");
    waited = wait_probe(&p[0], d, "tok-c", PROBE_MS - 100);
    print_message("    caller gone: the other process got the probe after "
                  "%ld ms\n",
                  waited);
    assert_true(waited >= 0 && waited < 300);
    /* A broken output contract, then success by the next probe closes. */
    sy_state_record(p[0].st, d, SY_EUP_CONTRACT, 1000, 0, 0, "tok-c");
    sy_state_probe_done(p[0].st, d, "tok-c");
    assert_true(wait_probe(&p[1], d, "tok-d", 300) >= 0);
    sy_state_record(p[1].st, d, SY_OK, 1000, 0, 0, "tok-d");
    sy_state_probe_done(p[1].st, d, "tok-d");
    uint64_t start = sy_now_ms();
    while (sy_state_allow(p[0].st, p[0].store, d, "tok-e") != SY_BREAKER_PASS &&
           sy_now_ms() - start < 1000)
        usleep(5000);
    assert_int_equal(sy_state_allow(p[0].st, p[0].store, d, "tok-e"),
                     SY_BREAKER_PASS);
    assert_false(view_open(cfg, p[0].st, d->index));
    procs_stop(p, 2);
    sy_config_free(cfg);
}

/* A probe that is lost (its holder never reports): the other process
 * may probe again when the holder's deadline passes, however many
 * refreshes and events happened meanwhile. */
static void
test_state_deadline_set_once(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_config *cfg = state_config();
    struct proc p[2];
    procs_start(cfg, p, 2);
    const struct sy_deployment *d = &cfg->deployments[1];
    open_via(cfg, &p[0], &p[1], d);
    assert_true(wait_probe(&p[0], d, "lost", 1000) >= 0);
    uint64_t granted = sy_now_ms();
    /* Meanwhile: refreshes every 50 ms, others' outcomes, denied asks. */
    while (sy_now_ms() - granted < PROBE_MS - 150) {
        assert_int_equal(sy_state_allow(p[1].st, p[1].store, d, "other"),
                         SY_BREAKER_DENY);
        assert_true(view_open(cfg, p[1].st, d->index));
        sy_state_record(p[1].st, d, SY_OK, 1000, 0, 0, NULL);
        usleep(25000);
    }
    long waited = wait_probe(&p[1], d, "next", PROBE_MS + 1000);
    long after = (long)(sy_now_ms() - granted);
    print_message("    lost probe: the next one went %ld ms after the grant "
                  "(probe_ms %d)\n",
                  after, PROBE_MS);
    assert_true(waited >= 0);
    assert_true(after >= PROBE_MS - 20 && after < PROBE_MS + 250);
    procs_stop(p, 2);
    sy_config_free(cfg);
}

/* While the cluster is half-open, a process never takes a probe of its
 * own: the one it asks for is the cluster's, and being denied it keeps
 * the deployment out only until the holder's deadline. */
static void
test_state_no_local_probe_while_shared(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_config *cfg = state_config();
    struct proc p[2];
    procs_start(cfg, p, 2);
    const struct sy_deployment *d = &cfg->deployments[2];
    open_via(cfg, &p[0], &p[1], d);
    int probes = 0;
    for (int i = 0; i < 40; i++) {
        char tok[16];
        snprintf(tok, sizeof(tok), "t%d", i);
        probes += sy_state_allow(p[i % 2].st, p[i % 2].store, d, tok) ==
                  SY_BREAKER_PROBE;
    }
    assert_int_equal(probes, 1);
    procs_stop(p, 2);
    sy_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adopt_keeps_the_holders_deadline),
        cmocka_unit_test(test_event_probe_field),
        cmocka_unit_test(test_script_ignored_probe_frees_at_once),
        cmocka_unit_test(test_script_deadline_set_once),
        cmocka_unit_test(test_script_out_of_order_exact),
        cmocka_unit_test(test_state_ignored_probe_released),
        cmocka_unit_test(test_state_deadline_set_once),
        cmocka_unit_test(test_state_no_local_probe_while_shared),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
