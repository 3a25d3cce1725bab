/*
 * test_affinity.c - prompt-cache affinity: the rendezvous choice
 * (core/serve/affinity.c) is stable, spreads conversations, moves only
 * the conversations of a deployment that leaves (and they come back when
 * it does), and leaves the strategy's order alone when nothing is
 * eligible; the conversation key of a request (core/api/chat_affinity.c)
 * and the group's "affinity" key (core/config/config_affinity.c).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/chat.h"
#include "api/chat_affinity.h"
#include "config/config.h"
#include "router_fixture.h"
#include "serve/affinity.h"
#include "serve/router.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define KEYS 20000

static struct sy_config *
load(const char *affinity, struct sy_buf *errs_out)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "{" RF_PROVIDERS ","
             "\"deployments\":{" RF_DEPS_ABC ",\"d\"" RF_ON_P "},"
             "\"groups\":{\"g\":{\"deployments\":[\"a\",\"b\",\"c\",\"d\"],"
             "\"strategy\":\"priority\"%s}}}",
             affinity);
    struct sy_config *cfg = NULL;
    struct sy_buf errs;
    sy_buf_init(&errs, 65536);
    enum sy_err e = sy_config_load_string(text, strlen(text), "t", &cfg, &errs);
    if (errs_out != NULL) {
        sy_buf_append(errs_out, errs.data ? errs.data : "", errs.len);
    } else if (e != SY_OK) {
        fprintf(stderr, "%s", sy_buf_cstr(&errs));
        fail();
    }
    sy_buf_free(&errs);
    return cfg;
}

static uint64_t
key_of(unsigned i)
{
    uint64_t x = (uint64_t)i * UINT64_C(0x9e3779b97f4a7c15) + 1;
    return x ^ (x >> 29);
}

/* Stable: the same key picks the same deployment whatever the order the
 * deployments are listed in; and keys spread evenly. */
static void
test_stable_and_even(void **state)
{
    (void)state;
    struct sy_config *cfg = load(",\"affinity\":true", NULL);
    const struct sy_group *g = &cfg->groups[0];
    const struct sy_deployment *rev[4] = { g->route[3], g->route[2],
                                           g->route[1], g->route[0] };
    unsigned per[4] = { 0 };
    for (unsigned i = 0; i < KEYS; i++) {
        size_t k = sy_affinity_pick(key_of(i), g->route, NULL, 4);
        assert_true(k < 4);
        assert_ptr_equal(g->route[k],
                         rev[sy_affinity_pick(key_of(i), rev, NULL, 4)]);
        assert_int_equal(k, sy_affinity_pick(key_of(i), g->route, NULL, 4));
        per[k]++;
    }
    for (int i = 0; i < 4; i++)
        assert_true(per[i] > KEYS * 20 / 100 && per[i] < KEYS * 30 / 100);
    sy_config_free(cfg);
}

/* A deployment that leaves moves only its own conversations, spread
 * over the others; they come back when it does. */
static void
test_minimal_movement(void **state)
{
    (void)state;
    struct sy_config *cfg = load(",\"affinity\":true", NULL);
    const struct sy_group *g = &cfg->groups[0];
    bool ok[4] = { true, false, true, true }; /* b left */
    unsigned moved = 0, to[4] = { 0 };
    for (unsigned i = 0; i < KEYS; i++) {
        size_t all = sy_affinity_pick(key_of(i), g->route, NULL, 4);
        size_t now = sy_affinity_pick(key_of(i), g->route, ok, 4);
        assert_true(now != 1);
        if (all != 1) {
            assert_int_equal(now, all); /* not b's: untouched */
        } else {
            moved++;
            to[now]++;
        }
    }
    assert_true(moved > KEYS * 20 / 100 && moved < KEYS * 30 / 100);
    for (int i = 0; i < 4; i++)
        if (i != 1)
            assert_true(to[i] > moved / 5 && to[i] < moved / 2);
    bool none[4] = { false, false, false, false };
    assert_int_equal(sy_affinity_pick(1, g->route, none, 4), SIZE_MAX);
    sy_config_free(cfg);
}

static void
plan_of(const struct sy_group *g, struct sy_route_plan *p)
{
    memset(p, 0, sizeof(*p));
    p->strategy = g->strategy;
    for (size_t i = 0; i < g->nroute; i++) {
        p->cand[i].d = g->route[i];
        p->cand[i].score = (double)i;
    }
    p->ncand = g->nroute;
}

/* In a plan: the pick goes first, the rest keep their order; slow ones
 * are not eligible; with none eligible, or no key, nothing moves. */
static void
test_apply_to_plan(void **state)
{
    (void)state;
    struct sy_config *cfg = load(",\"affinity\":true", NULL);
    const struct sy_group *g = &cfg->groups[0];
    /* A key whose home is c. */
    uint64_t key = 0;
    for (unsigned i = 0; key == 0; i++)
        if (sy_affinity_pick(key_of(i), g->route, NULL, 4) == 2)
            key = key_of(i);
    struct sy_route_plan p;
    plan_of(g, &p);
    assert_int_equal(sy_affinity_apply(&p, g, true, key), SY_AFFINITY_HIT);
    char order[5] = { 0 };
    for (size_t i = 0; i < 4; i++)
        order[i] = p.cand[i].d->name[0];
    assert_string_equal(order, "cabd");
    char buf[256];
    sy_router_explain(&p, buf, sizeof(buf));
    assert_string_equal(buf, "priority; c a b d; affinity=hit");

    /* c is slow now: the next by weight, "moved"; c keeps its place. */
    plan_of(g, &p);
    p.cand[2].slow = true;
    assert_int_equal(sy_affinity_apply(&p, g, true, key), SY_AFFINITY_MOVED);
    assert_true(p.cand[0].d->name[0] != 'c');
    size_t expect =
        sy_affinity_pick(key, g->route, (bool[]){ true, true, false, true }, 4);
    assert_ptr_equal(p.cand[0].d, g->route[expect]);

    /* Nothing eligible: the strategy's order, "miss". */
    plan_of(g, &p);
    for (size_t i = 0; i < 4; i++)
        p.cand[i].slow = true;
    assert_int_equal(sy_affinity_apply(&p, g, true, key), SY_AFFINITY_MISS);
    for (size_t i = 0; i < 4; i++)
        assert_ptr_equal(p.cand[i].d, g->route[i]);
    sy_router_explain(&p, buf, sizeof(buf));
    assert_non_null(strstr(buf, "; affinity=miss"));

    /* No key: "none", order untouched. */
    plan_of(g, &p);
    assert_int_equal(sy_affinity_apply(&p, g, false, 0), SY_AFFINITY_NONE);
    assert_ptr_equal(p.cand[0].d, g->route[0]);
    assert_string_equal(p.affinity, "none");
    uint64_t before = sy_affinity_total(SY_AFFINITY_HIT);
    sy_affinity_count(SY_AFFINITY_HIT);
    assert_int_equal(sy_affinity_total(SY_AFFINITY_HIT), before + 1);
    sy_config_free(cfg);
}

static bool
key_scoped(const char *body, const char *session, const char *scope, size_t min,
           uint64_t *key, const char **from)
{
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_chat_req r;
    struct sy_chat_error err;
    assert_int_equal(sy_chat_req_parse(body, strlen(body), 64, &a, &r, &err),
                     SY_OK);
    bool ok = sy_chat_affinity_key(&r, session, scope, min, key, from);
    sy_arena_cleanup(&a);
    return ok;
}

static bool
key_for(const char *body, const char *session, size_t min, uint64_t *key,
        const char **from)
{
    return key_scoped(body, session, "ck-1", min, key, from);
}

/* Where a request's conversation key comes from, in order. */
static void
test_conversation_key(void **state)
{
    (void)state;
    uint64_t k1 = 0, k2 = 0, k3 = 0;
    const char *from = NULL;
    const char *pck = "{\"model\":\"g\",\"prompt_cache_key\":\"conv-1\","
                      "\"user\":\"u\",\"messages\":[{\"role\":\"user\","
                      "\"content\":\"hi\"}]}";
    assert_true(key_for(pck, "sess", 0, &k1, &from));
    assert_string_equal(from, "prompt_cache_key");
    const char *user = "{\"model\":\"g\",\"user\":\"u-7\",\"messages\":"
                       "[{\"role\":\"user\",\"content\":\"hi\"}]}";
    assert_true(key_for(user, "sess-1", 0, &k2, &from));
    assert_string_equal(from, "session");
    assert_true(key_for(user, "sess-2", 0, &k3, &from));
    assert_true(k2 != k3);
    assert_true(key_for(user, NULL, 0, &k2, &from));
    assert_string_equal(from, "user");
    const char *shortp = "{\"model\":\"g\",\"messages\":[{\"role\":\"user\","
                         "\"content\":\"hi\"}]}";
    assert_false(key_for(shortp, NULL, 1024, &k1, &from));
    assert_false(key_for(shortp, "", 0, &k1, &from));

    /* A long prompt start: the same start, later turns apart, same key;
     * another opening, another key. */
    char sys[3000];
    memset(sys, 'x', sizeof(sys) - 1);
    sys[sizeof(sys) - 1] = '\0';
    char body[8000];
    snprintf(body, sizeof(body),
             "{\"model\":\"g\",\"messages\":[{\"role\":\"system\","
             "\"content\":\"%s\"},{\"role\":\"user\",\"content\":\"q1\"}]}",
             sys);
    assert_true(key_for(body, NULL, 1024, &k1, &from));
    assert_string_equal(from, "prefix");
    snprintf(body, sizeof(body),
             "{\"model\":\"g\",\"messages\":[{\"role\":\"system\","
             "\"content\":\"%s\"},{\"role\":\"user\",\"content\":\"q1\"},"
             "{\"role\":\"assistant\",\"content\":\"a1\"},"
             "{\"role\":\"user\",\"content\":\"q2\"}]}",
             sys);
    assert_true(key_for(body, NULL, 1024, &k2, &from));
    assert_true(k1 == k2);
    snprintf(body, sizeof(body),
             "{\"model\":\"g\",\"messages\":[{\"role\":\"system\","
             "\"content\":\"%s\"},{\"role\":\"user\",\"content\":\"other\"}]}",
             sys);
    assert_true(key_for(body, NULL, 1024, &k3, &from));
    assert_true(k1 != k3);
    assert_false(key_for(body, NULL, 0, &k3, &from)); /* keys only */
}

/* Every key is the caller key's: a constant "user" ("anonymous", as an
 * SDK sends for everyone), or the same prompt start, of two callers are
 * two conversations; one caller's stays one. */
static void
test_key_scoped_by_caller(void **state)
{
    (void)state;
    const char *anon = "{\"model\":\"g\",\"user\":\"anonymous\","
                       "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    uint64_t a1 = 0, a2 = 0, b1 = 0, n1 = 0;
    const char *from = NULL;
    assert_true(key_scoped(anon, NULL, "team-a", 0, &a1, &from));
    assert_true(key_scoped(anon, NULL, "team-a", 0, &a2, &from));
    assert_true(key_scoped(anon, NULL, "team-b", 0, &b1, &from));
    assert_true(key_scoped(anon, NULL, NULL, 0, &n1, &from));
    assert_true(a1 == a2);
    assert_true(a1 != b1);
    assert_true(a1 != n1);
    /* The session header and prompt_cache_key win over a user. */
    assert_true(key_scoped(anon, "s-1", "team-a", 0, &a2, &from));
    assert_string_equal(from, "session");
    const char *pck = "{\"model\":\"g\",\"user\":\"anonymous\","
                      "\"metadata\":{\"user_id\":\"u\"},"
                      "\"prompt_cache_key\":\"p\",\"messages\":[{\"role\":"
                      "\"user\",\"content\":\"hi\"}]}";
    assert_true(key_scoped(pck, "s-1", "team-a", 0, &a2, &from));
    assert_string_equal(from, "prompt_cache_key");
    /* The prompt start too. */
    char sys[2000];
    memset(sys, 'y', sizeof(sys) - 1);
    sys[sizeof(sys) - 1] = '\0';
    char body[4000];
    snprintf(body, sizeof(body),
             "{\"model\":\"g\",\"messages\":[{\"role\":\"system\","
             "\"content\":\"%s\"},{\"role\":\"user\",\"content\":\"q\"}]}",
             sys);
    assert_true(key_scoped(body, NULL, "team-a", 1024, &a1, &from));
    assert_true(key_scoped(body, NULL, "team-b", 1024, &b1, &from));
    assert_string_equal(from, "prefix");
    assert_true(a1 != b1);
}

/* The strategy's exploring entry keeps its place (affinity would cancel
 * the re-probe of a slow deployment for every conversation), and one
 * still being learned gets no conversation. */
static void
test_apply_exploring_and_learning(void **state)
{
    (void)state;
    struct sy_config *cfg = load(",\"affinity\":true", NULL);
    const struct sy_group *g = &cfg->groups[0];
    struct sy_route_plan p;
    unsigned homes_d = 0;
    for (unsigned i = 0; i < 400; i++) {
        uint64_t key = key_of(i);
        size_t home = sy_affinity_pick(key, g->route, NULL, 4);
        /* d explores (slow, put first); the others as they were. */
        plan_of(g, &p);
        struct sy_route_entry d = p.cand[3];
        memmove(&p.cand[1], &p.cand[0], 3 * sizeof(p.cand[0]));
        p.cand[0] = d;
        p.cand[0].slow = true;
        p.cand[0].exploring = true;
        enum sy_affinity_result r = sy_affinity_apply(&p, g, true, key);
        assert_ptr_equal(p.cand[0].d, g->route[3]);
        if (home != 3) {
            assert_int_equal(r, SY_AFFINITY_HIT);
            assert_ptr_equal(p.cand[1].d, g->route[home]);
        } else {
            homes_d++;
            assert_int_equal(r, SY_AFFINITY_MOVED);
        }
        /* b is being learned: no conversation goes to it. */
        plan_of(g, &p);
        p.cand[1].learning = true;
        r = sy_affinity_apply(&p, g, true, key);
        assert_true(p.cand[0].d != g->route[1]);
        assert_int_equal(r, home == 1 ? SY_AFFINITY_MOVED : SY_AFFINITY_HIT);
    }
    assert_true(homes_d > 0);
    /* Every one being learned: the strategy's order. */
    plan_of(g, &p);
    for (size_t i = 0; i < 4; i++)
        p.cand[i].learning = true;
    assert_int_equal(sy_affinity_apply(&p, g, true, 7), SY_AFFINITY_MISS);
    assert_ptr_equal(p.cand[0].d, g->route[0]);
    sy_config_free(cfg);
}

/* The group key: off by default, true, an object, errors. */
static void
test_config_key(void **state)
{
    (void)state;
    struct sy_config *cfg = load("", NULL);
    assert_false(cfg->groups[0].affinity);
    sy_config_free(cfg);
    cfg = load(",\"affinity\":true", NULL);
    assert_true(cfg->groups[0].affinity);
    assert_int_equal(cfg->groups[0].affinity_prefix_min, 1024);
    sy_config_free(cfg);
    cfg = load(",\"affinity\":{\"min_prefix_bytes\":4096}", NULL);
    assert_true(cfg->groups[0].affinity);
    assert_int_equal(cfg->groups[0].affinity_prefix_min, 4096);
    sy_config_free(cfg);
    cfg = load(",\"affinity\":{\"min_prefix_bytes\":65536}", NULL);
    assert_int_equal(cfg->groups[0].affinity_prefix_min,
                     SY_AFFINITY_PREFIX_MAX);
    sy_config_free(cfg);
    /* Past what is hashed of a start, a minimum is never met: refused,
     * not a silent end of prefix keying. */
    const char *bad[] = { ",\"affinity\":1", ",\"affinity\":{\"min_prefix\":1}",
                          ",\"affinity\":{\"min_prefix_bytes\":-1}",
                          ",\"affinity\":{\"min_prefix_bytes\":65537}" };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        struct sy_buf errs;
        sy_buf_init(&errs, 65536);
        cfg = load(bad[i], &errs);
        assert_null(cfg);
        assert_non_null(strstr(sy_buf_cstr(&errs), "groups.g.affinity"));
        sy_buf_free(&errs);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stable_and_even),
        cmocka_unit_test(test_minimal_movement),
        cmocka_unit_test(test_apply_to_plan),
        cmocka_unit_test(test_conversation_key),
        cmocka_unit_test(test_key_scoped_by_caller),
        cmocka_unit_test(test_apply_exploring_and_learning),
        cmocka_unit_test(test_config_key),
    };
    return cmocka_run_group_tests_name("affinity", tests, NULL, NULL);
}
