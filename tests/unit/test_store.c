/*
 * test_store.c - unit tests for core/io/store*.c: URL parsing and script
 * SHAs without a network; then against a real redis-server started here on a
 * free 127.0.0.1 port in a temporary directory: commands and reply
 * conversion, scripts (EVALSHA, NOSCRIPT reload), pipelined batches,
 * publish/subscribe, AUTH and SELECT. Failure handling and Sentinel are
 * in test_store_failover.c. Redis tests are SKIPPED, loudly, when
 * redis-server is not installed. SY_TEST_LEAVE=1 keeps the temporary
 * directories. The harness (redis_harness.h) includes store.c to reach
 * its static functions.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */

static struct redis_srv main_srv; /* shared by the tests that keep it up */

static int
group_setup(void **state)
{
    (void)state;
    return redis_group_setup(&main_srv, "test_store");
}

static int
group_teardown(void **state)
{
    (void)state;
    redis_cleanup(&main_srv);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Without a network                                                   */

static void
test_parse_url(void **state)
{
    (void)state;
    struct sy_store_addr a;
    char err[128];
    assert_int_equal(
        sy_store_parse_url("redis://localhost", &a, err, sizeof(err)), SY_OK);
    assert_string_equal(a.host, "localhost");
    assert_int_equal(a.port, 6379);
    assert_string_equal(a.password, "");
    assert_int_equal(a.db, 0);

    assert_int_equal(sy_store_parse_url("redis://:s%40cret@10.0.0.5:6380/3", &a,
                                        err, sizeof(err)),
                     SY_OK);
    assert_string_equal(a.host, "10.0.0.5");
    assert_int_equal(a.port, 6380);
    assert_string_equal(a.user, "");
    assert_string_equal(a.password, "s@cret");
    assert_int_equal(a.db, 3);

    assert_int_equal(
        sy_store_parse_url("REDIS://app:pw@[::1]:7000/", &a, err, sizeof(err)),
        SY_OK);
    assert_string_equal(a.host, "::1");
    assert_int_equal(a.port, 7000);
    assert_string_equal(a.user, "app");
    assert_string_equal(a.password, "pw");
    assert_int_equal(a.db, 0);

    /* A password with '@' and ':' inside, unencoded: the last '@' wins. */
    assert_int_equal(
        sy_store_parse_url("redis://u:a@b:c@h", &a, err, sizeof(err)), SY_OK);
    assert_string_equal(a.user, "u");
    assert_string_equal(a.password, "a@b:c");
    assert_string_equal(a.host, "h");

    /* "redis://password@host", as redis-cli accepts it. */
    assert_int_equal(
        sy_store_parse_url("redis://only@h:1", &a, err, sizeof(err)), SY_OK);
    assert_string_equal(a.user, "");
    assert_string_equal(a.password, "only");

    static const char *const bad[] = {
        "rediss://h",    "http://h",       "redis://",        "redis://:p@",
        "redis://h:",    "redis://h:0",    "redis://h:65536", "redis://h:6x",
        "redis://h/x",   "redis://h/-1",   "redis://[::1",    "redis://:%zz@h",
        "redis://:%4@h", "redis://[::1]x",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        err[0] = '\0';
        if (sy_store_parse_url(bad[i], &a, err, sizeof(err)) != SY_EBADREQ)
            fail_msg("accepted %s", bad[i]);
        assert_true(err[0] != '\0');
    }
    /* The message never repeats the password. */
    assert_int_equal(
        sy_store_parse_url("redis://:hunter2%@h", &a, err, sizeof(err)),
        SY_EBADREQ);
    assert_null(strstr(err, "hunter2"));
}

static void
test_parse_hostport(void **state)
{
    (void)state;
    struct sy_store_addr a;
    char err[128];
    assert_int_equal(sy_store_parse_hostport("10.1.1.1", &a, err, sizeof(err)),
                     SY_OK);
    assert_string_equal(a.host, "10.1.1.1");
    assert_int_equal(a.port, 26379);
    assert_int_equal(sy_store_parse_hostport("s1:5000", &a, err, sizeof(err)),
                     SY_OK);
    assert_int_equal(a.port, 5000);
    assert_int_equal(
        sy_store_parse_hostport("[fe80::1]:26380", &a, err, sizeof(err)),
        SY_OK);
    assert_string_equal(a.host, "fe80::1");
    assert_int_equal(a.port, 26380);
    assert_int_equal(sy_store_parse_hostport("", &a, err, sizeof(err)),
                     SY_EBADREQ);
    assert_int_equal(sy_store_parse_hostport(":1", &a, err, sizeof(err)),
                     SY_EBADREQ);
}

/* Script SHAs come from libcrypto's SHA-1: the FIPS 180-1 vectors, and
 * the SHA Redis gives a script. */
static void
test_script_sha(void **state)
{
    (void)state;
    char out[41];
    struct sy_store_script sc = { .name = "t", .source = "" };
    sy_store_script_sha(&sc, out);
    assert_string_equal(out, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    sc.source = "abc";
    sy_store_script_sha(&sc, out);
    assert_string_equal(out, "a9993e364706816aba3e25717850c26c9cd0d89d");
    sc.source = "abcdbcdecdefdefgefghfghighijhijkijkljklm"
                "klmnlmnomnopnopq";
    sy_store_script_sha(&sc, out);
    assert_string_equal(out, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    char *m = sy_xmalloc(1000001);
    memset(m, 'a', 1000000);
    m[1000000] = '\0';
    sc.source = m;
    sy_store_script_sha(&sc, out);
    assert_string_equal(out, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(m);
    sc.source = "return 1";
    sy_store_script_sha(&sc, out);
    assert_string_equal(out, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

static void
test_new_rejects_bad_conf(void **state)
{
    (void)state;
    struct sy_store_conf c;
    struct sy_store *s = (struct sy_store *)1;
    char err[128];
    sy_store_conf_defaults(&c);
    assert_int_equal(sy_store_new(&c, &s, err, sizeof(err)), SY_EBADREQ);
    assert_null(s);
    assert_non_null(strstr(err, "neither"));
    c.url = "redis://h:1";
    c.command_timeout_ms = 0;
    assert_int_equal(sy_store_new(&c, &s, err, sizeof(err)), SY_EBADREQ);
    sy_store_conf_defaults(&c);
    const char *sents[] = { "a:1", "b:x" };
    c.sentinels = sents;
    c.nsentinels = 2;
    c.master_name = "m";
    assert_int_equal(sy_store_new(&c, &s, err, sizeof(err)), SY_EBADREQ);
    assert_non_null(strstr(err, "sentinel 2"));
    c.nsentinels = 1;
    c.master_name = NULL;
    assert_int_equal(sy_store_new(&c, &s, err, sizeof(err)), SY_EBADREQ);
    c.master_name = "m";
    assert_int_equal(sy_store_new(&c, &s, err, sizeof(err)), SY_OK);
    assert_non_null(s);
    /* Nothing connects before the first call. */
    assert_false(sy_store_is_up(s));
    sy_store_free(s);
    sy_store_free(NULL);
}

static void
test_batch_encoding(void **state)
{
    (void)state;
    struct sy_store_batch b;
    sy_store_batch_init(&b, 64);
    assert_int_equal(sy_store_batch_addl(&b, "SET", "k", "v", NULL), SY_OK);
    assert_string_equal(b.resp.data,
                        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    size_t len = b.resp.len;
    /* Binary-safe arguments. */
    const char *argv[2] = { "GET", "a\0b" };
    const size_t lens[2] = { 3, 3 };
    assert_int_equal(sy_store_batch_add(&b, 2, argv, lens), SY_OK);
    assert_int_equal(b.n, 2);
    assert_memory_equal(b.resp.data + len, "*2\r\n$3\r\nGET\r\n$3\r\na\0b\r\n",
                        22);
    /* Too big: refused, batch unchanged. */
    len = b.resp.len;
    assert_int_equal(sy_store_batch_addl(&b, "SET", "kkkkkkkkkkkk",
                                         "vvvvvvvvvvvvvvvvvvvvvvv", NULL),
                     SY_ETOOBIG);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.resp.len, len);
    sy_store_batch_truncate(&b, 1);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.resp.data,
                        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    sy_store_batch_reset(&b);
    assert_int_equal(b.n, 0);
    assert_int_equal(b.resp.len, 0);
    sy_store_batch_cleanup(&b);
    sy_store_batch_cleanup(NULL);
}

/* ------------------------------------------------------------------ */
/* Against redis-server                                                */

static void
test_commands(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(main_srv.port, NULL);
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_store_val *v;

    assert_int_equal(sy_store_connect(s), SY_OK);
    assert_true(sy_store_is_up(s));
    assert_string_equal(sy_store_prefix(s), "t:");
    assert_int_equal(sy_store_commandl(s, &a, &v, "SET", "t:k", "hello", NULL),
                     SY_OK);
    assert_int_equal(v->type, SY_STORE_STATUS);
    assert_string_equal(v->str, "OK");
    assert_int_equal(sy_store_commandl(s, &a, &v, "GET", "t:k", NULL), SY_OK);
    assert_int_equal(v->type, SY_STORE_STR);
    assert_string_equal(v->str, "hello");
    assert_int_equal(v->len, 5);
    assert_int_equal(sy_store_commandl(s, &a, &v, "GET", "t:none", NULL),
                     SY_OK);
    assert_int_equal(v->type, SY_STORE_NIL);
    assert_int_equal(sy_store_commandl(s, &a, &v, "INCRBY", "t:n", "41", NULL),
                     SY_OK);
    assert_int_equal(v->type, SY_STORE_INT);
    assert_int_equal(v->i, 41);
    int64_t x;
    assert_true(sy_store_val_int(v, &x));
    assert_int_equal(x, 41);
    /* A number in a string converts too. */
    assert_int_equal(sy_store_commandl(s, &a, &v, "GET", "t:n", NULL), SY_OK);
    assert_true(sy_store_val_int(v, &x));
    assert_int_equal(x, 41);
    assert_int_equal(sy_store_commandl(s, &a, &v, "GET", "t:k", NULL), SY_OK);
    assert_false(sy_store_val_int(v, &x));
    /* Nested arrays. */
    assert_int_equal(sy_store_commandl(s, &a, &v, "EVAL",
                                       "return {1, {'a', 'bc'}, 3}", "0", NULL),
                     SY_OK);
    assert_int_equal(v->type, SY_STORE_ARRAY);
    assert_int_equal(v->n, 3);
    assert_int_equal(v->elem[1].type, SY_STORE_ARRAY);
    assert_string_equal(v->elem[1].elem[1].str, "bc");
    /* An error reply: SY_ESTORE, the reply is kept, Redis stays "up". */
    assert_int_equal(sy_store_commandl(s, &a, &v, "HGET", "t:k", "f", NULL),
                     SY_ESTORE);
    assert_true(sy_store_val_is_error(v, "WRONGTYPE"));
    assert_false(sy_store_val_is_error(v, "ERR"));
    assert_true(sy_store_is_up(s));
    assert_non_null(strstr(sy_store_last_error(s), "WRONGTYPE"));
    /* The reply size limit. */
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(sy_store_commandl(s, &a, NULL, "SET", "t:big", big, NULL),
                     SY_OK);
    s->max_reply_bytes = 1000;
    assert_int_equal(sy_store_commandl(s, &a, &v, "GET", "t:big", NULL),
                     SY_ESTORE);
    assert_null(v);
    s->max_reply_bytes = 4u << 20;
    /* Redis' clock. */
    uint64_t t;
    assert_int_equal(sy_store_time_ms(s, &t), SY_OK);
    assert_true(t > UINT64_C(1600000000000));

    struct sy_store_stats st;
    sy_store_get_stats(s, &st);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.failures, 0);
    assert_true(st.calls >= 10);
    sy_arena_cleanup(&a);
    sy_store_free(s);
}

static const struct sy_store_script script_add = {
    .name = "add",
    .source = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
};

static void
test_scripts(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(main_srv.port, NULL);
    struct sy_store *other = store_on(main_srv.port, NULL);
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_store_val *v;
    const char *keys[1] = { "t:script" };
    const char *args[1] = { "5" };
    struct sy_store_stats st;

    assert_int_equal(
        sy_store_commandl(other, NULL, NULL, "SCRIPT", "FLUSH", NULL), SY_OK);
    assert_int_equal(
        sy_store_commandl(other, NULL, NULL, "DEL", "t:script", NULL), SY_OK);
    /* First run: NOSCRIPT, loaded, run again. */
    assert_int_equal(sy_store_eval(s, &script_add, 1, keys, 1, args, &a, &v),
                     SY_OK);
    assert_int_equal(v->i, 5);
    sy_store_get_stats(s, &st);
    assert_int_equal(st.script_loads, 1);
    /* The SHA we computed is the one Redis knows. */
    char sha[41];
    sy_store_script_sha(&script_add, sha);
    assert_int_equal(
        sy_store_commandl(other, &a, &v, "SCRIPT", "EXISTS", sha, NULL), SY_OK);
    assert_int_equal(v->elem[0].i, 1);
    /* Second run: no load. */
    assert_int_equal(sy_store_eval(s, &script_add, 1, keys, 1, args, &a, &v),
                     SY_OK);
    assert_int_equal(v->i, 10);
    sy_store_get_stats(s, &st);
    assert_int_equal(st.script_loads, 1);
    /* Scripts flushed behind our back (restart, failover): reloaded. */
    assert_int_equal(
        sy_store_commandl(other, NULL, NULL, "SCRIPT", "FLUSH", NULL), SY_OK);
    assert_int_equal(sy_store_eval(s, &script_add, 1, keys, 1, args, &a, &v),
                     SY_OK);
    assert_int_equal(v->i, 15);
    sy_store_get_stats(s, &st);
    assert_int_equal(st.script_loads, 2);
    assert_int_equal(st.failures, 0);
    /* A preload. */
    assert_int_equal(sy_store_script_load(other, &script_add), SY_OK);
    /* A script with a syntax error: SY_EINTERNAL, logged, Redis fine. */
    static const struct sy_store_script broken = { .name = "broken",
                                                   .source = "return (" };
    assert_int_equal(sy_store_eval(s, &broken, 0, NULL, 0, NULL, &a, &v),
                     SY_EINTERNAL);
    assert_true(sy_store_is_up(s));
    /* A runtime error inside a script is an error reply. */
    static const struct sy_store_script boom = {
        .name = "boom", .source = "return redis.call('NOPE')"
    };
    assert_int_equal(sy_store_eval(s, &boom, 0, NULL, 0, NULL, &a, &v),
                     SY_ESTORE);
    assert_true(sy_store_val_is_error(v, NULL));
    assert_true(sy_store_is_up(s));
    sy_arena_cleanup(&a);
    sy_store_free(s);
    sy_store_free(other);
}

static void
test_batch_exec(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(main_srv.port, NULL);
    struct sy_arena a;
    sy_arena_init(&a, 1 << 16);
    struct sy_store_batch b;
    sy_store_batch_init(&b, 1 << 20);
    struct sy_store_val *r;

    assert_int_equal(sy_store_exec(s, &b, &a, &r), SY_OK); /* empty */
    assert_null(r);
    assert_int_equal(
        sy_store_commandl(s, NULL, NULL, "DEL", "t:h", "t:script", NULL),
        SY_OK);
    assert_int_equal(sy_store_commandl(s, NULL, NULL, "SCRIPT", "FLUSH", NULL),
                     SY_OK);
    /* 1000 writes and three script runs (not loaded yet) in one go. */
    for (int i = 0; i < 1000; i++) {
        char field[16];
        snprintf(field, sizeof(field), "f%d", i % 10);
        assert_int_equal(
            sy_store_batch_addl(&b, "HINCRBY", "t:h", field, "1", NULL), SY_OK);
        if (i % 400 == 0) {
            const char *keys[1] = { "t:script" };
            const char *args[1] = { "2" };
            assert_int_equal(
                sy_store_batch_eval(&b, &script_add, 1, keys, 1, args), SY_OK);
        }
    }
    assert_int_equal(sy_store_batch_addl(&b, "HGET", "t:nothash", "x", NULL),
                     SY_OK);
    assert_int_equal(
        sy_store_commandl(s, NULL, NULL, "SET", "t:nothash", "1", NULL), SY_OK);
    assert_int_equal(b.n, 1004);
    uint64_t calls0;
    struct sy_store_stats st;
    sy_store_get_stats(s, &st);
    calls0 = st.calls;
    assert_int_equal(sy_store_exec(s, &b, &a, &r), SY_OK);
    sy_store_get_stats(s, &st);
    assert_int_equal(st.calls, calls0 + 1);
    assert_int_equal(st.script_loads, 1);
    /* Replies in order; the script runs were retried after the load. */
    assert_int_equal(r[0].type, SY_STORE_INT);
    assert_int_equal(r[0].i, 1);
    assert_int_equal(r[1].type, SY_STORE_INT);
    assert_int_equal(r[1].i, 2);
    assert_int_equal(r[402].i, 4); /* second script run */
    assert_int_equal(r[803].i, 6); /* third */
    assert_int_equal(r[1003].type, SY_STORE_ERROR);
    assert_int_equal(sy_store_commandl(s, &a, &r, "HGET", "t:h", "f3", NULL),
                     SY_OK);
    assert_string_equal(r->str, "100");
    /* Replies can be dropped. */
    sy_store_batch_reset(&b);
    assert_int_equal(sy_store_batch_addl(&b, "INCR", "t:script", NULL), SY_OK);
    assert_int_equal(sy_store_exec(s, &b, NULL, NULL), SY_OK);
    assert_int_equal(sy_store_commandl(s, &a, &r, "GET", "t:script", NULL),
                     SY_OK);
    assert_string_equal(r->str, "7");
    sy_store_batch_cleanup(&b);
    sy_arena_cleanup(&a);
    sy_store_free(s);
}

static void
test_pubsub(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *sub = store_on(main_srv.port, NULL);
    struct sy_store *pub = store_on(main_srv.port, NULL);
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    const char *chan;
    const char *msg;
    size_t len;

    assert_int_equal(sy_store_read_message(sub, 10, &a, &chan, &msg, &len),
                     SY_EINTERNAL); /* not subscribed */
    assert_int_equal(sy_store_subscribe(sub, "t:events"), SY_OK);
    /* A subscriber runs no other command. */
    assert_int_equal(sy_store_commandl(sub, NULL, NULL, "PING", NULL),
                     SY_EINTERNAL);
    uint64_t t0 = sy_now_ms();
    assert_int_equal(sy_store_read_message(sub, 50, &a, &chan, &msg, &len),
                     SY_OK);
    assert_null(msg);
    assert_in_range(elapsed_ms(t0), 40, 500);
    struct sy_store_val *v;
    assert_int_equal(
        sy_store_commandl(pub, &a, &v, "PUBLISH", "t:events", "one", NULL),
        SY_OK);
    assert_int_equal(v->i, 1);
    assert_int_equal(
        sy_store_commandl(pub, &a, &v, "PUBLISH", "t:events", "two", NULL),
        SY_OK);
    assert_int_equal(sy_store_read_message(sub, 1000, &a, &chan, &msg, &len),
                     SY_OK);
    assert_non_null(msg);
    assert_string_equal(chan, "t:events");
    assert_string_equal(msg, "one");
    assert_int_equal(len, 3);
    /* The second came in the same read: no wait. */
    t0 = sy_now_ms();
    assert_int_equal(sy_store_read_message(sub, 1000, &a, &chan, &msg, &len),
                     SY_OK);
    assert_string_equal(msg, "two");
    assert_true(elapsed_ms(t0) < 500);
    /* After a lost connection it subscribes again by itself. */
    assert_int_equal(sy_store_commandl(pub, NULL, NULL, "CLIENT", "KILL",
                                       "TYPE", "pubsub", NULL),
                     SY_OK);
    struct sy_store_stats st;
    enum sy_err e = SY_ESTORE;
    for (int i = 0; i < 50 && e != SY_OK; i++) {
        /* The first read sees the EOF; the next reconnects. */
        e = sy_store_read_message(sub, 10, &a, &chan, &msg, &len);
        if (e == SY_OK && sub->ctx == NULL)
            e = SY_ESTORE;
    }
    sy_store_get_stats(sub, &st);
    assert_int_equal(st.connects, 2);
    assert_int_equal(
        sy_store_commandl(pub, &a, &v, "PUBLISH", "t:events", "three", NULL),
        SY_OK);
    assert_int_equal(v->i, 1);
    assert_int_equal(sy_store_read_message(sub, 1000, &a, &chan, &msg, &len),
                     SY_OK);
    assert_string_equal(msg, "three");
    sy_arena_cleanup(&a);
    sy_store_free(sub);
    sy_store_free(pub);
}

static void
test_auth_and_db(void **state)
{
    (void)state;
    NEED_REDIS();
    struct redis_srv srv = { 0 };
    const char *extra[] = { "--requirepass", "s3cret:x", NULL };
    assert_true(redis_start(&srv, extra));
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_store_val *v;
    char url[128];
    char err[128];
    struct sy_store_conf c;

    sy_store_conf_defaults(&c);
    c.url = url;
    struct sy_store *s;
    snprintf(url, sizeof(url), "redis://:s3cret%%3Ax@127.0.0.1:%d/2", srv.port);
    assert_int_equal(sy_store_new(&c, &s, err, sizeof(err)), SY_OK);
    assert_int_equal(
        sy_store_commandl(s, NULL, NULL, "SET", "k", "in-db-2", NULL), SY_OK);
    snprintf(url, sizeof(url), "redis://default:s3cret%%3Ax@127.0.0.1:%d",
             srv.port);
    struct sy_store *s0;
    assert_int_equal(sy_store_new(&c, &s0, err, sizeof(err)), SY_OK);
    assert_int_equal(sy_store_commandl(s0, &a, &v, "GET", "k", NULL), SY_OK);
    assert_int_equal(v->type, SY_STORE_NIL);
    assert_int_equal(sy_store_commandl(s0, NULL, NULL, "SELECT", "2", NULL),
                     SY_OK);
    assert_int_equal(sy_store_commandl(s0, &a, &v, "GET", "k", NULL), SY_OK);
    assert_string_equal(v->str, "in-db-2");
    /* A wrong password: a failure, and the message has no password. */
    snprintf(url, sizeof(url), "redis://:wrong-pw@127.0.0.1:%d", srv.port);
    struct sy_store *bad;
    assert_int_equal(sy_store_new(&c, &bad, err, sizeof(err)), SY_OK);
    assert_int_equal(sy_store_commandl(bad, NULL, NULL, "PING", NULL),
                     SY_ESTORE);
    assert_false(sy_store_is_up(bad));
    assert_null(strstr(sy_store_last_error(bad), "wrong-pw"));
    /* No password at all: NOAUTH is a failure of the node, not a reply. */
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", srv.port);
    struct sy_store *none;
    assert_int_equal(sy_store_new(&c, &none, err, sizeof(err)), SY_OK);
    assert_int_equal(sy_store_commandl(none, NULL, NULL, "PING", NULL),
                     SY_ESTORE);
    struct sy_store_stats st;
    sy_store_get_stats(none, &st);
    assert_int_equal(st.failures, 1);
    sy_store_free(none);
    sy_store_free(bad);
    sy_store_free(s0);
    sy_store_free(s);
    sy_arena_cleanup(&a);
    redis_cleanup(&srv);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_url),
        cmocka_unit_test(test_parse_hostport),
        cmocka_unit_test(test_script_sha),
        cmocka_unit_test(test_new_rejects_bad_conf),
        cmocka_unit_test(test_batch_encoding),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_scripts),
        cmocka_unit_test(test_batch_exec),
        cmocka_unit_test(test_pubsub),
        cmocka_unit_test(test_auth_and_db),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
