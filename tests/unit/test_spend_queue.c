/*
 * test_spend_queue.c - unit tests for core/state/spend_queue.c and its
 * script (lua/spend.lua) against a real redis-server: a batch whose
 * pipeline failed, or whose reply is an error (WRONGTYPE), is kept and
 * sent again unchanged; one that ran but whose reply was lost is not
 * counted twice; a batch never overtakes the one before it; an outage
 * grows one batch, not one per flush. Uses redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
/* The queue itself, with a backlog small enough to fill in a test. */
#define SY_SPEND_BACKLOG_BYTES (64u << 10)
#include "state/spend_queue.c"
#include "state/spend.h"
#include "base/limits.h"

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
    return redis_group_setup(&srv, "test_spend_queue");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&srv);
    return 0;
}

/* A fresh database and a store on it. */
static struct sy_store *
fresh(void)
{
    struct sy_store *s = store_on(srv.port, NULL);
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(s, &a, &v, "FLUSHALL", NULL), SY_OK);
    sy_arena_cleanup(&a);
    return s;
}

/* A record of 'cost' for key 'key' on group g, deployment d. */
static struct sy_usage_record
rec(const char *key, int64_t cost)
{
    struct sy_usage_record r;
    memset(&r, 0, sizeof(r));
    r.key_name = key;
    r.group = "g";
    r.deployment = "d";
    r.provider = "p";
    r.cost_micro_usd = cost;
    r.baseline_micro_usd = cost;
    return r;
}

/* One flush as the state thread does it: write, exec on 's', report.
 * 'lose': the pipeline ran but its reply is reported lost. Returns the
 * script calls sent; '*replied' the first one's integer reply (-1: no
 * integer). */
static size_t
flush(struct sy_spend_queue *q, struct sy_store *s, bool last, bool lose,
      int64_t *replied)
{
    struct sy_store_batch b;
    sy_store_batch_init(&b, SY_STATE_BATCH_MAX);
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    size_t n = sy_spend_queue_write(q, &b, "t:", last);
    struct sy_store_val *v = NULL;
    enum sy_err e = b.n > 0 ? sy_store_exec(s, &b, &a, &v) : SY_ESTORE;
    if (replied != NULL)
        *replied = e == SY_OK && v[0].type == SY_STORE_INT ? v[0].i : -1;
    sy_spend_queue_done(q, e == SY_OK && !lose ? v : NULL, b.n);
    sy_arena_cleanup(&a);
    sy_store_batch_cleanup(&b);
    return n;
}

/* An integer field of a hash, -1 when absent or not a hash. */
static long long
hget(struct sy_store *s, const char *key, const char *field)
{
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    struct sy_store_val *v = NULL;
    enum sy_err e = sy_store_commandl(s, &a, &v, "HGET", key, field, NULL);
    long long x =
        e == SY_OK && v->type == SY_STORE_STR ? strtoll(v->str, NULL, 10) : -1;
    sy_arena_cleanup(&a);
    return x;
}

static long long
total(struct sy_store *s)
{
    char key[128];
    sy_spend_key(key, sizeof(key), "t:", sy_spend_day(sy_wall_ms()));
    return hget(s, key, "total");
}

static void
command(struct sy_store *s, const char *a0, const char *a1, const char *a2)
{
    struct sy_arena a;
    sy_arena_init(&a, 1024);
    struct sy_store_val *v;
    assert_int_equal(sy_store_commandl(s, &a, &v, a0, a1, a2, NULL), SY_OK);
    sy_arena_cleanup(&a);
}

/* A batch that ran but whose reply was lost is sent again, unchanged,
 * and Redis recognises it: counted once, then forgotten. */
static void
test_lost_reply_counted_once(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = fresh();
    struct sy_spend_queue *q = sy_spend_queue_new(16);
    struct sy_usage_record r = rec("k1", 1000);
    sy_spend_queue_push(q, &r);
    sy_spend_queue_push(q, &r);
    int64_t rep;
    assert_int_equal(flush(q, s, false, true, &rep), 1);
    assert_int_equal(rep, 1); /* applied... */
    assert_int_equal(total(s), 2000);
    assert_int_equal(sy_spend_queue_backlog(q, NULL), 1); /* ...not known */
    assert_int_equal(flush(q, s, false, false, &rep), 1);
    assert_int_equal(rep, 0); /* recognised: nothing done */
    assert_int_equal(total(s), 2000);
    assert_int_equal(hget(s, "t:metrics:cost", "k1||g|d"), 2000);
    assert_int_equal(hget(s, "t:metrics:baseline", "k1||g"), 2000);
    assert_int_equal(sy_spend_queue_backlog(q, NULL), 0);
    assert_int_equal(flush(q, s, false, false, NULL), 0);
    sy_spend_queue_free(q);
    sy_store_free(s);
}

/* WRONGTYPE on the day's hash: the batch is refused as a whole (no
 * metric written either), kept, and one sealed behind it waits for it;
 * once the key is fixed both land, each once. */
static void
test_wrongtype_keeps_batches_in_order(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = fresh();
    char key[128];
    sy_spend_key(key, sizeof(key), "t:", sy_spend_day(sy_wall_ms()));
    command(s, "SET", key, "planted");
    struct sy_spend_queue *q = sy_spend_queue_new(16);
    struct sy_usage_record r1 = rec("k1", 300), r2 = rec("k2", 40);
    sy_spend_queue_push(q, &r1);
    assert_int_equal(flush(q, s, false, false, NULL), 1);
    assert_int_equal(sy_spend_queue_backlog(q, NULL), 1);
    assert_int_equal(hget(s, "t:metrics:cost", "k1||g|d"), -1);
    sy_spend_queue_push(q, &r2);
    assert_int_equal(flush(q, s, true, false, NULL), 2); /* 2 behind 1 */
    int64_t cost;
    assert_int_equal(sy_spend_queue_backlog(q, &cost), 2);
    assert_int_equal(cost, 340);
    assert_int_equal(hget(s, "t:metrics:cost", "k2||g|d"), -1);
    command(s, "DEL", key, NULL);
    assert_int_equal(flush(q, s, false, false, NULL), 2);
    assert_int_equal(sy_spend_queue_backlog(q, NULL), 0);
    assert_int_equal(total(s), 340);
    assert_int_equal(hget(s, "t:metrics:cost", "k1||g|d"), 300);
    assert_int_equal(hget(s, "t:metrics:cost", "k2||g|d"), 40);
    sy_spend_queue_free(q);
    sy_store_free(s);
}

/* Redis unreachable: the batch is kept; what comes meanwhile is summed
 * into one open batch (not one per flush), sent once the first is in. */
static void
test_down_keeps_one_growing_batch(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = fresh();
    struct sy_store *down = store_on(free_port(), NULL);
    struct sy_spend_queue *q = sy_spend_queue_new(16);
    struct sy_usage_record r = rec("k1", 7);
    sy_spend_queue_push(q, &r);
    assert_int_equal(flush(q, down, false, false, NULL), 1);
    for (int i = 0; i < 5; i++) {
        sy_spend_queue_push(q, &r);
        assert_int_equal(flush(q, down, false, false, NULL), 1);
    }
    int64_t cost;
    assert_int_equal(sy_spend_queue_backlog(q, &cost), 2);
    assert_int_equal(cost, 42);
    assert_int_equal(flush(q, s, false, false, NULL), 1);
    assert_int_equal(total(s), 7);
    assert_int_equal(flush(q, s, false, false, NULL), 1);
    assert_int_equal(total(s), 42);
    assert_int_equal(hget(s, "t:metrics:cost", "k1||g|d"), 42);
    assert_int_equal(sy_spend_queue_backlog(q, NULL), 0);
    sy_spend_queue_free(q);
    sy_store_free(down);
    sy_store_free(s);
}

/* Another process's batches (its own mark) are not taken for ours, and
 * a mark Redis lost does not block a process: it goes on from what it
 * knows is done. */
static void
test_marks_per_process(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = fresh();
    struct sy_spend_queue *q1 = sy_spend_queue_new(16);
    struct sy_spend_queue *q2 = sy_spend_queue_new(16);
    struct sy_usage_record r = rec("k1", 5);
    sy_spend_queue_push(q1, &r);
    sy_spend_queue_push(q2, &r);
    assert_int_equal(flush(q1, s, false, false, NULL), 1);
    assert_int_equal(flush(q2, s, false, false, NULL), 1);
    assert_int_equal(total(s), 10);
    command(s, "FLUSHALL", NULL, NULL); /* Redis lost everything */
    sy_spend_queue_push(q1, &r);
    int64_t rep;
    assert_int_equal(flush(q1, s, false, false, &rep), 1);
    assert_int_equal(rep, 1);
    assert_int_equal(total(s), 5);
    sy_spend_queue_free(q1);
    sy_spend_queue_free(q2);
    sy_store_free(s);
}

/* A backlog past its cap gives up its oldest batch (logged with the
 * money it held), not the newest spend. */
static void
test_backlog_cap_drops_oldest(void **state)
{
    (void)state;
    struct sy_store *down = store_on(free_port(), NULL);
    struct sy_spend_queue *q = sy_spend_queue_new(1024);
    struct sy_usage_record r = rec("old", 999);
    sy_spend_queue_push(q, &r);
    flush(q, down, false, false, NULL); /* batch 1 sealed, not taken */
    char name[64];
    for (int i = 0; i < 1000; i++) { /* distinct fields: ~300 KiB */
        snprintf(name, sizeof(name), "key-%04d-%040d", i, 0);
        r = rec(name, 1);
        sy_spend_queue_push(q, &r);
    }
    assert_int_equal(flush(q, down, false, false, NULL), 1); /* batch 2 */
    int64_t cost;
    assert_int_equal(sy_spend_queue_backlog(q, &cost), 1);
    assert_int_equal(cost, 1000); /* batch 1's 999 given up */
    assert_int_equal(q->kept[0]->seq, 2);
    sy_spend_queue_free(q);
    sy_store_free(down);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_reply_counted_once),
        cmocka_unit_test(test_wrongtype_keeps_batches_in_order),
        cmocka_unit_test(test_down_keeps_one_growing_batch),
        cmocka_unit_test(test_marks_per_process),
        cmocka_unit_test(test_backlog_cap_drops_oldest),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
