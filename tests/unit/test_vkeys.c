/*
 * test_vkeys.c - unit tests for core/base/hmac.c and core/state/vkeys.c: HMAC-SHA-256
 * against RFC 4231, key generation, validation of names and model lists;
 * then against a real redis-server: create (a name is unique), list,
 * show, update, revoke, lookup; unknown, revoked, expired and malformed
 * keys give exactly the same answer; a tampered index or another server
 * secret finds nothing; and no key (nor the server secret) appears in any
 * Redis key name or value. Uses the redis-server harness of redis_harness.h.
 * SPDX-License-Identifier: MIT
 */
#include "redis_harness.h"
#include "state/vkeys.c"

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
    return redis_group_setup(&srv, "test_vkeys");
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

/* ------------------------------------------------------------------ */
/* HMAC                                                                */

static void
unhex(const char *h, unsigned char *out, size_t *n)
{
    *n = 0;
    for (; h[0] != '\0' && h[1] != '\0'; h += 2) {
        unsigned x;
        sscanf(h, "%2x", &x);
        out[(*n)++] = (unsigned char)x;
    }
}

static void
test_hmac_rfc4231(void **state)
{
    (void)state;
    static const struct {
        const char *key_hex;
        const char *data;
        const char *mac;
    } cases[] = {
        /* 1 */
        { "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        /* 2 */
        { "4a656665", "what do ya want for nothing?",
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        /* 6: a key longer than the block */
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          "Test Using Larger Than Block-Size Key - Hash Key First",
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        unsigned char key[256];
        size_t klen;
        unhex(cases[i].key_hex, key, &klen);
        char hex[SY_HMAC_SHA256_HEXLEN + 1];
        assert_int_equal(sy_hmac_sha256_hex(key, klen, cases[i].data,
                                            strlen(cases[i].data), hex),
                         SY_OK);
        assert_string_equal(hex, cases[i].mac);
        unsigned char raw[SY_HMAC_SHA256_LEN], want[64];
        size_t wlen;
        unhex(cases[i].mac, want, &wlen);
        assert_int_equal(sy_hmac_sha256(key, klen, cases[i].data,
                                        strlen(cases[i].data), raw),
                         SY_OK);
        assert_memory_equal(raw, want, SY_HMAC_SHA256_LEN);
    }
    /* vkey_hmac refuses a short secret */
    char hex[65];
    assert_int_equal(sy_vkey_hmac("short", 5, "sk-sy-x", hex), SY_EINTERNAL);
    assert_int_equal(sy_vkey_hmac(SECRET, SECRET_LEN, "k", hex), SY_OK);
    assert_true(hex_ok(hex, strlen(hex)));
}

/* ------------------------------------------------------------------ */
/* Keys and validation                                                 */

static void
test_generate(void **state)
{
    (void)state;
    enum { N = 2000 };
    static char keys[N][SY_VKEY_KEY_LEN + 1];
    unsigned counts[128] = { 0 };
    for (int i = 0; i < N; i++) {
        assert_int_equal(sy_vkey_generate(keys[i]), SY_OK);
        assert_int_equal(strlen(keys[i]), SY_VKEY_KEY_LEN);
        assert_true(key_shape_ok(keys[i], strlen(keys[i])));
        for (int j = 6; j < SY_VKEY_KEY_LEN; j++)
            counts[(unsigned char)keys[i][j]]++;
        for (int j = 0; j < i; j++)
            assert_string_not_equal(keys[i], keys[j]);
    }
    /* every base62 character shows up, none other */
    unsigned distinct = 0;
    for (int c = 0; c < 128; c++)
        if (counts[c] > 0)
            distinct++;
    assert_int_equal(distinct, 62);
    assert_false(key_shape_ok("sk-sy-short", 11));
    assert_false(
        key_shape_ok("sk-xx-0123456789012345678901234567890123456789", 46));
    assert_false(
        key_shape_ok("sk-sy-012345678901234567890123456789012345678!", 46));
}

static void
test_validate(void **state)
{
    (void)state;
    assert_true(sy_vkey_name_valid("alice"));
    assert_true(sy_vkey_name_valid("team-a.svc_1"));
    assert_false(sy_vkey_name_valid(""));
    assert_false(sy_vkey_name_valid("a b"));
    assert_false(sy_vkey_name_valid("a:b"));
    assert_false(sy_vkey_name_valid("a{b}"));
    assert_false(sy_vkey_name_valid(NULL));
    char n65[66];
    memset(n65, 'x', 65);
    n65[65] = '\0';
    assert_false(sy_vkey_name_valid(n65));
    n65[64] = '\0';
    assert_true(sy_vkey_name_valid(n65));
    /* "." and "..": dot segments no URL reaches (/admin/keys/..); valid
     * names of keys made before (show, revoke), never of a new key */
    assert_true(sy_vkey_name_valid(".."));
    assert_false(sy_vkey_name_creatable("."));
    assert_false(sy_vkey_name_creatable(".."));
    assert_false(sy_vkey_name_creatable(NULL));
    assert_true(sy_vkey_name_creatable("..."));
    assert_true(sy_vkey_name_creatable(".a"));
    assert_true(sy_vkey_name_creatable("a.."));
    {
        struct sy_vkey dot = { .budget_period = SY_BUDGET_MONTH };
        snprintf(dot.name, sizeof(dot.name), "%s", "..");
        char key[SY_VKEY_KEY_LEN + 1], err[128] = "";
        struct sy_vkey made;
        assert_int_equal(sy_vkey_create(NULL, "0123456789abcdef", 16, &dot, 0,
                                        key, &made, err, sizeof(err)),
                         SY_EBADREQ);
        assert_non_null(strstr(err, "/admin/keys/"));
    }

    assert_true(sy_vkey_models_valid(""));
    assert_true(sy_vkey_models_valid("fast,smart"));
    assert_true(sy_vkey_models_valid("openai/gpt-4o"));
    assert_false(sy_vkey_models_valid("fast,"));
    assert_false(sy_vkey_models_valid(",fast"));
    assert_false(sy_vkey_models_valid("fast,,smart"));
    assert_false(sy_vkey_models_valid("fast smart"));

    struct sy_vkey v;
    memset(&v, 0, sizeof(v));
    strcpy(v.models, "fast,smart");
    assert_true(sy_vkey_model_allowed(&v, "fast"));
    assert_true(sy_vkey_model_allowed(&v, "smart"));
    assert_false(sy_vkey_model_allowed(&v, "fas"));
    assert_false(sy_vkey_model_allowed(&v, "smarter"));
    v.models[0] = '\0';
    assert_true(sy_vkey_model_allowed(&v, "anything"));

    char err[128];
    strcpy(v.name, "ok");
    assert_int_equal(sy_vkey_validate(&v, err, sizeof(err)), SY_OK);
    v.budget_micro_usd = -1;
    assert_int_equal(sy_vkey_validate(&v, err, sizeof(err)), SY_EBADREQ);
    assert_non_null(strstr(err, "budget"));
    v.budget_micro_usd = 0;
    strcpy(v.team, "bad team");
    assert_int_equal(sy_vkey_validate(&v, err, sizeof(err)), SY_EBADREQ);
    assert_non_null(strstr(err, "team"));
}

/* ------------------------------------------------------------------ */
/* Redis                                                               */

static struct sy_vkey
spec(const char *name)
{
    struct sy_vkey v;
    memset(&v, 0, sizeof(v));
    snprintf(v.name, sizeof(v.name), "%s", name);
    strcpy(v.team, "research");
    v.budget_micro_usd = 5000000;
    v.budget_period = SY_BUDGET_MONTH;
    v.rpm = 60;
    v.tpm = 100000;
    strcpy(v.models, "fast,smart");
    return v;
}

#define NOW 1795564799

/* CRUD: create alice and bob, checking that a name is unique and a bad
 * spec or a short secret is refused; their keys in 'key' and 'key2'. */
static void
crud_create(struct sy_store *s, char *key, char *key2, struct sy_vkey *created)
{
    char err[128] = "";
    struct sy_vkey a = spec("alice");

    assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &a, NOW, key,
                                    created, err, sizeof(err)),
                     SY_OK);
    assert_true(key_shape_ok(key, strlen(key)));
    assert_string_equal(created->name, "alice");
    assert_int_equal(created->created_at, NOW);
    assert_true(hex_ok(created->hmac, 64));

    /* the name is unique; a bad spec is refused */
    assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &a, NOW, key2, NULL,
                                    err, sizeof(err)),
                     SY_EBADREQ);
    assert_non_null(strstr(err, "taken"));
    assert_int_equal(key2[0], '\0');
    struct sy_vkey bad = spec("bad name");
    assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &bad, NOW, key2,
                                    NULL, err, sizeof(err)),
                     SY_EBADREQ);
    assert_int_equal(
        sy_vkey_create(s, "short", 5, &a, NOW, key2, NULL, err, sizeof(err)),
        SY_EINTERNAL);

    struct sy_vkey b = spec("bob");
    b.team[0] = '\0';
    b.models[0] = '\0';
    b.budget_period = SY_BUDGET_DAY;
    b.fail_open = true;
    b.expires_at = NOW + 3600;
    assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &b, NOW, key2, NULL,
                                    err, sizeof(err)),
                     SY_OK);
    assert_string_not_equal(key, key2);
}

/* CRUD: lookup by key gives back every field; then list and show. */
static void
crud_lookup_list_show(struct sy_store *s, const char *key, const char *key2,
                      const struct sy_vkey *created)
{
    struct sy_vkey got;

    assert_int_equal(sy_vkey_lookup(s, SECRET, SECRET_LEN, key, NOW, &got),
                     SY_OK);
    assert_string_equal(got.name, "alice");
    assert_string_equal(got.team, "research");
    assert_int_equal(got.budget_micro_usd, 5000000);
    assert_int_equal(got.budget_period, SY_BUDGET_MONTH);
    assert_int_equal(got.rpm, 60);
    assert_int_equal(got.tpm, 100000);
    assert_string_equal(got.models, "fast,smart");
    assert_int_equal(got.expires_at, 0);
    assert_false(got.revoked);
    assert_false(got.fail_open);
    assert_int_equal(got.created_at, NOW);
    assert_string_equal(got.hmac, created->hmac);
    assert_int_equal(sy_vkey_lookup(s, SECRET, SECRET_LEN, key2, NOW, &got),
                     SY_OK);
    assert_string_equal(got.name, "bob");
    assert_true(got.fail_open);
    assert_int_equal(got.budget_period, SY_BUDGET_DAY);
    assert_string_equal(got.team, "");

    /* list, sorted by name */
    struct sy_vkey *list;
    size_t n;
    assert_int_equal(sy_vkey_list(s, &list, &n), SY_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "alice");
    assert_string_equal(list[1].name, "bob");
    assert_int_equal(list[1].expires_at, NOW + 3600);
    free(list);

    /* show */
    assert_int_equal(sy_vkey_show(s, "bob", &got), SY_OK);
    assert_string_equal(got.name, "bob");
    assert_int_equal(sy_vkey_show(s, "carol", &got), SY_ENOTFOUND);
    assert_int_equal(sy_vkey_show(s, "bad name", &got), SY_ENOTFOUND);
}

/* CRUD: update changes only the fields named (alice's key is 'key'). */
static void
crud_update(struct sy_store *s, const char *key)
{
    char err[128] = "";
    struct sy_vkey got;
    struct sy_vkey u;
    memset(&u, 0, sizeof(u));
    u.rpm = 5;
    strcpy(u.models, "fast");
    u.budget_micro_usd = 1; /* not in the mask: unchanged */
    assert_int_equal(sy_vkey_update(s, "alice", &u,
                                    SY_VKEY_F_RPM | SY_VKEY_F_MODELS, err,
                                    sizeof(err)),
                     SY_OK);
    assert_int_equal(sy_vkey_show(s, "alice", &got), SY_OK);
    assert_int_equal(got.rpm, 5);
    assert_string_equal(got.models, "fast");
    assert_int_equal(got.budget_micro_usd, 5000000);
    assert_int_equal(got.tpm, 100000);
    strcpy(u.models, "bad,,list");
    assert_int_equal(
        sy_vkey_update(s, "alice", &u, SY_VKEY_F_MODELS, err, sizeof(err)),
        SY_EBADREQ);
    /* only the named fields are checked: the bad list is not sent */
    assert_int_equal(
        sy_vkey_update(s, "alice", &u, SY_VKEY_F_RPM, err, sizeof(err)), SY_OK);
    assert_int_equal(
        sy_vkey_update(s, "carol", &u, SY_VKEY_F_RPM, err, sizeof(err)),
        SY_ENOTFOUND);
    u.fail_open = true;
    u.budget_period = SY_BUDGET_TOTAL;
    assert_int_equal(sy_vkey_update(s, "alice", &u,
                                    SY_VKEY_F_FAIL_OPEN | SY_VKEY_F_PERIOD, err,
                                    sizeof(err)),
                     SY_OK);
    assert_int_equal(sy_vkey_lookup(s, SECRET, SECRET_LEN, key, NOW, &got),
                     SY_OK);
    assert_true(got.fail_open);
    assert_int_equal(got.budget_period, SY_BUDGET_TOTAL);
}

static void
test_crud(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(srv.port, NULL);
    char key[SY_VKEY_KEY_LEN + 1], key2[SY_VKEY_KEY_LEN + 1];
    struct sy_vkey got, created;

    crud_create(s, key, key2, &created);
    crud_lookup_list_show(s, key, key2, &created);
    crud_update(s, key);

    /* revoke */
    assert_int_equal(sy_vkey_revoke(s, "alice"), SY_OK);
    assert_int_equal(sy_vkey_revoke(s, "carol"), SY_ENOTFOUND);
    assert_int_equal(sy_vkey_lookup(s, SECRET, SECRET_LEN, key, NOW, &got),
                     SY_ENOTFOUND);
    assert_int_equal(sy_vkey_show(s, "alice", &got), SY_OK);
    assert_true(got.revoked);
    struct sy_vkey *list;
    size_t n;
    assert_int_equal(sy_vkey_list(s, &list, &n), SY_OK);
    assert_int_equal(n, 2);
    assert_true(list[0].revoked);
    free(list);
    sy_store_free(s);
}

static void
assert_zero(const struct sy_vkey *v)
{
    struct sy_vkey z;
    memset(&z, 0, sizeof(z));
    assert_memory_equal(v, &z, sizeof(z));
}

/* Unknown, revoked, expired, malformed keys, another secret, a tampered
 * index: one answer, SY_ENOTFOUND with a zeroed struct. */
static void
test_lookup_not_found_alike(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(srv.port, NULL);
    char err[128];
    char live[SY_VKEY_KEY_LEN + 1], revoked[SY_VKEY_KEY_LEN + 1],
        expired[SY_VKEY_KEY_LEN + 1], unknown[SY_VKEY_KEY_LEN + 1],
        moved[SY_VKEY_KEY_LEN + 1];
    struct sy_vkey v = spec("nf-live");
    assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &v, NOW, live, NULL,
                                    err, sizeof(err)),
                     SY_OK);
    v = spec("nf-revoked");
    assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &v, NOW, revoked,
                                    NULL, err, sizeof(err)),
                     SY_OK);
    assert_int_equal(sy_vkey_revoke(s, "nf-revoked"), SY_OK);
    v = spec("nf-expired");
    v.expires_at = NOW + 10;
    assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &v, NOW, expired,
                                    NULL, err, sizeof(err)),
                     SY_OK);
    v = spec("nf-moved");
    assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &v, NOW, moved, NULL,
                                    err, sizeof(err)),
                     SY_OK);
    assert_int_equal(sy_vkey_generate(unknown), SY_OK);

    struct sy_vkey got;
    /* the expired one is live until its second */
    assert_int_equal(
        sy_vkey_lookup(s, SECRET, SECRET_LEN, expired, NOW + 9, &got), SY_OK);

    /* the index of nf-moved now points elsewhere: its old hash is stale */
    struct sy_arena a;
    sy_arena_init(&a, 256);
    struct sy_store_val *r;
    assert_int_equal(sy_store_commandl(s, &a, &r, "HSET", "t:vkname",
                                       "nf-moved", "00", NULL),
                     SY_OK);
    sy_arena_cleanup(&a);

    const char *cases[] = {
        unknown,       revoked,
        expired,       moved,
        "sk-sy-short", "",
        "Bearer x",    "sk-sy-0123456789012345678901234567890123456789"
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
        memset(&got, 0x5a, sizeof(got));
        assert_int_equal(
            sy_vkey_lookup(s, SECRET, SECRET_LEN, cases[i], NOW + 10, &got),
            SY_ENOTFOUND);
        assert_zero(&got);
    }
    memset(&got, 0x5a, sizeof(got));
    assert_int_equal(sy_vkey_lookup(s, SECRET, SECRET_LEN, NULL, NOW, &got),
                     SY_ENOTFOUND);
    assert_zero(&got);
    /* another server secret finds nothing */
    static const char other[] = "another-secret-of-enough-bytes";
    assert_int_equal(
        sy_vkey_lookup(s, other, sizeof(other) - 1, live, NOW, &got),
        SY_ENOTFOUND);
    assert_zero(&got);
    assert_int_equal(
        sy_vkey_lookup(s, SECRET, SECRET_LEN, live, NOW + 10, &got), SY_OK);

    /* Redis unavailable: SY_ESTORE, not "not found" */
    struct sy_store *dead = store_on(free_port(), NULL);
    assert_int_equal(sy_vkey_lookup(dead, SECRET, SECRET_LEN, live, NOW, &got),
                     SY_ESTORE);
    assert_zero(&got);
    sy_store_free(dead);
    sy_store_free(s);
}

static bool
contains(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0 || len < n)
        return false;
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

static void
check_val(const struct sy_store_val *v, char (*keys)[SY_VKEY_KEY_LEN + 1],
          size_t nkeys, const char *where)
{
    if (v->type == SY_STORE_ARRAY) {
        for (size_t i = 0; i < v->n; i++)
            check_val(&v->elem[i], keys, nkeys, where);
        return;
    }
    if (v->type != SY_STORE_STR && v->type != SY_STORE_STATUS)
        return;
    for (size_t k = 0; k < nkeys; k++) {
        /* the key, or just its random part */
        if (contains(v->str, v->len, keys[k]) ||
            contains(v->str, v->len, keys[k] + 6))
            fail_msg("key %zu found in %s", k, where);
    }
    if (contains(v->str, v->len, SECRET))
        fail_msg("server secret found in %s", where);
}

/* Scan every key and every value in Redis for any key created here. */
static void
test_secret_never_stored(void **state)
{
    (void)state;
    NEED_REDIS();
    struct sy_store *s = store_on(srv.port, NULL);
    char err[128];
    enum { N = 20 };
    char keys[N][SY_VKEY_KEY_LEN + 1];
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "scan-%d", i);
        struct sy_vkey v = spec(name);
        v.expires_at = i % 2 ? NOW + 100 : 0;
        assert_int_equal(sy_vkey_create(s, SECRET, SECRET_LEN, &v, NOW, keys[i],
                                        NULL, err, sizeof(err)),
                         SY_OK);
        if (i % 3 == 0)
            assert_int_equal(sy_vkey_revoke(s, name), SY_OK);
        struct sy_vkey got;
        assert_int_equal(
            sy_vkey_lookup(s, SECRET, SECRET_LEN, keys[i], NOW, &got),
            i % 3 == 0 ? SY_ENOTFOUND : SY_OK);
    }
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_store_val *r;
    char cursor[32] = "0";
    size_t seen = 0;
    do {
        assert_int_equal(
            sy_store_commandl(s, &a, &r, "SCAN", cursor, "COUNT", "100", NULL),
            SY_OK);
        assert_int_equal(r->type, SY_STORE_ARRAY);
        snprintf(cursor, sizeof(cursor), "%s", r->elem[0].str);
        const struct sy_store_val *names = &r->elem[1];
        for (size_t i = 0; i < names->n; i++) {
            const char *k = names->elem[i].str;
            seen++;
            check_val(&names->elem[i], keys, N, "a key name");
            struct sy_store_val *t, *val = NULL;
            assert_int_equal(sy_store_commandl(s, &a, &t, "TYPE", k, NULL),
                             SY_OK);
            if (strcmp(t->str, "hash") == 0)
                sy_store_commandl(s, &a, &val, "HGETALL", k, NULL);
            else if (strcmp(t->str, "string") == 0)
                sy_store_commandl(s, &a, &val, "GET", k, NULL);
            else if (strcmp(t->str, "set") == 0)
                sy_store_commandl(s, &a, &val, "SMEMBERS", k, NULL);
            else if (strcmp(t->str, "zset") == 0)
                sy_store_commandl(s, &a, &val, "ZRANGE", k, "0", "-1",
                                  "WITHSCORES", NULL);
            else if (strcmp(t->str, "list") == 0)
                sy_store_commandl(s, &a, &val, "LRANGE", k, "0", "-1", NULL);
            else
                fail_msg("unexpected type %s of %s", t->str, k);
            assert_non_null(val);
            check_val(val, keys, N, k);
        }
    } while (strcmp(cursor, "0") != 0);
    assert_true(seen >= N + 1);
    sy_arena_cleanup(&a);
    sy_store_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_crud),
        cmocka_unit_test(test_lookup_not_found_alike),
        cmocka_unit_test(test_secret_never_stored),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
