/*
 * test_router.c - ranking strategies of core/serve/router.c: priority order,
 * latency with thresholds and exploration, cost, weighted shares, breaker
 * exclusions, and the x-switchyard-route explanation.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config/config.h"
#include "router_fixture.h"
#include "serve/router.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct sy_config *
load(const char *strategy, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "{" RF_PROVIDERS ","
             "\"deployments\":{"
             "\"a\":{\"provider\":\"p\",\"model\":\"m\",\"weight\":1,"
             "\"price\":{\"input_per_mtok\":3,\"output_per_mtok\":15}},"
             "\"b\":{\"provider\":\"p\",\"model\":\"m\",\"weight\":3,"
             "\"price\":{\"input_per_mtok\":0.15,\"output_per_mtok\":0.6}},"
             "\"c\":{\"provider\":\"p\",\"model\":\"m\",\"weight\":0,"
             "\"price\":{\"input_per_mtok\":1,\"output_per_mtok\":2}}},"
             "\"groups\":{\"g\":{\"deployments\":[\"a\",\"b\",\"c\"],"
             "\"strategy\":\"%s\"%s}}}",
             strategy, extra);
    return rf_load_ok(text);
}

static void
learned(struct sy_dep_view *v, uint32_t p50, uint32_t p99, uint32_t ttft95)
{
    memset(v, 0, sizeof(*v));
    v->samples = 100;
    v->p50_ms = p50;
    v->p99_ms = p99;
    v->ttft_p50_ms = p50 / 2;
    v->ttft_p95_ms = ttft95;
    v->tpot_p50_us = 0;
}

static const char *
name_at(const struct sy_route_plan *p, size_t i)
{
    return i < p->ncand ? p->cand[i].d->name : "(none)";
}

static void
test_priority_skips_open_breaker(void **state)
{
    (void)state;
    struct sy_config *cfg = load("priority", "");
    struct sy_dep_view v[3] = { { 0 } };
    v[0].breaker_open = true;
    struct sy_route_req rq = { 100, 100 };
    struct sy_route_plan p;
    sy_router_plan(&cfg->groups[0], v, &rq, 1, &p);
    assert_int_equal(p.ncand, 2);
    assert_string_equal(name_at(&p, 0), "b");
    assert_string_equal(name_at(&p, 1), "c");
    assert_int_equal(p.nexcl, 1);
    assert_string_equal(p.excl[0].d->name, "a");
    char buf[256];
    sy_router_explain(&p, buf, sizeof(buf));
    assert_non_null(strstr(buf, "priority;"));
    assert_non_null(strstr(buf, "excluded a(breaker open)"));
    sy_config_free(cfg);
}

static void
test_latency_ranks_and_thresholds(void **state)
{
    (void)state;
    struct sy_config *cfg =
        load("latency", ",\"thresholds\":{\"max_p99_ms\":1000}");
    struct sy_dep_view v[3];
    learned(&v[0], 300, 900, 100); /* a: meets, slower */
    learned(&v[1], 100, 2500, 50); /* b: fastest p50 but p99 too high */
    learned(&v[2], 200, 800, 80);  /* c: meets, faster than a */
    struct sy_route_req rq = { 100, 100 };
    struct sy_route_plan p;
    sy_router_plan(&cfg->groups[0], v, &rq, 1, &p);
    assert_int_equal(p.ncand, 3);
    assert_string_equal(name_at(&p, 0), "c");
    assert_string_equal(name_at(&p, 1), "a");
    assert_string_equal(name_at(&p, 2), "b");
    assert_string_equal(p.cand[2].why, "over threshold");
    sy_config_free(cfg);
}

static void
test_latency_uses_tokens(void **state)
{
    (void)state;
    struct sy_config *cfg = load("latency", "");
    struct sy_dep_view v[3];
    learned(&v[0], 0, 0, 0);
    learned(&v[1], 0, 0, 0);
    learned(&v[2], 0, 0, 0);
    /* a: quick first token, slow per token; b: the reverse. */
    v[0].ttft_p50_ms = 100;
    v[0].tpot_p50_us = 40000;
    v[1].ttft_p50_ms = 800;
    v[1].tpot_p50_us = 5000;
    v[2].breaker_open = true;
    struct sy_route_req shortq = { 10, 5 }, longq = { 10, 1000 };
    struct sy_route_plan p;
    sy_router_plan(&cfg->groups[0], v, &shortq, 1, &p);
    assert_string_equal(name_at(&p, 0), "a");
    sy_router_plan(&cfg->groups[0], v, &longq, 1, &p);
    assert_string_equal(name_at(&p, 0), "b");
    assert_true(sy_router_expected_ms(&v[0], &longq) > 40000.0);
    sy_config_free(cfg);
}

static void
test_exploration_is_bounded(void **state)
{
    (void)state;
    struct sy_config *cfg = load("latency", ",\"explore_pct\":10");
    struct sy_dep_view v[3];
    learned(&v[0], 100, 200, 50);
    learned(&v[1], 150, 300, 60);
    /* c: known slow, its window run thin */
    memset(&v[2], 0, sizeof(v[2]));
    v[2].known.samples = 100;
    v[2].known.p50_ms = 900;
    v[2].known.p99_ms = 1800;
    struct sy_route_req rq = { 100, 100 };
    unsigned first_c = 0, first_a = 0;
    for (uint32_t r = 1; r <= 10000; r++) {
        struct sy_route_plan p;
        sy_router_plan(&cfg->groups[0], v, &rq, r * 2654435761u, &p);
        assert_int_equal(p.ncand, 3);
        if (strcmp(name_at(&p, 0), "c") == 0)
            first_c++;
        else if (strcmp(name_at(&p, 0), "a") == 0)
            first_a++;
    }
    /* About 10% of requests probe c; never the majority. The others go
     * mostly to a, b being 40 % slower (router_spread tests the shares). */
    assert_true(first_c > 500);
    assert_true(first_c < 1600);
    assert_true(first_a > 7000);
    sy_config_free(cfg);
}

static void
test_cost_cheapest_within_thresholds(void **state)
{
    (void)state;
    struct sy_config *cfg =
        load("cost", ",\"thresholds\":{\"max_ttft_ms\":500}");
    struct sy_dep_view v[3];
    learned(&v[0], 100, 200, 100);
    learned(&v[1], 100, 200, 900); /* b: cheapest but too slow to start */
    learned(&v[2], 100, 200, 100);
    struct sy_route_req rq = { 1000, 1000 };
    struct sy_route_plan p;
    sy_router_plan(&cfg->groups[0], v, &rq, 1, &p);
    assert_string_equal(name_at(&p, 0), "c");
    assert_string_equal(name_at(&p, 1), "a");
    assert_string_equal(name_at(&p, 2), "b");
    /* 1000 in x $3 + 1000 out x $15 per million. */
    double cost_a = sy_router_cost_usd(p.cand[1].d, &rq);
    assert_true(cost_a > 0.01799 && cost_a < 0.01801);
    sy_config_free(cfg);
}

static void
test_cost_without_samples(void **state)
{
    (void)state;
    /* No thresholds: the cheapest goes first even before any sample. */
    struct sy_config *cfg = load("cost", "");
    struct sy_dep_view v[3] = { { 0 } };
    struct sy_route_req rq = { 1000, 1000 };
    struct sy_route_plan p;
    sy_router_plan(&cfg->groups[0], v, &rq, 1, &p);
    assert_string_equal(name_at(&p, 0), "b");
    assert_string_equal(name_at(&p, 1), "c");
    assert_string_equal(name_at(&p, 2), "a");
    sy_config_free(cfg);
}

/* A cold start (none learned): latency draws the order of those being
 * learned, so they learn together instead of one taking everything; and
 * one learned first does not take everything either. */
static void
test_latency_cold_start_spreads(void **state)
{
    (void)state;
    struct sy_config *cfg =
        load("latency", ",\"thresholds\":{\"max_p99_ms\":4000}");
    struct sy_dep_view v[3] = { { 0 } };
    struct sy_route_req rq = { 100, 100 };
    unsigned first[3] = { 0, 0, 0 };
    for (uint32_t r = 1; r <= 3000; r++) {
        struct sy_route_plan p;
        sy_router_plan_seq(&cfg->groups[0], v, &rq, r, r * 2654435761u, &p);
        assert_int_equal(p.ncand, 3);
        assert_string_equal(p.cand[0].why, "learning");
        first[p.cand[0].d->name[0] - 'a']++;
    }
    for (int i = 0; i < 3; i++)
        assert_true(first[i] > 800 && first[i] < 1200);
    /* Once one is learned, the others still share as if as fast as it
     * (an optimistic start), not left to the exploration share. */
    learned(&v[0], 150, 600, 200);
    memset(first, 0, sizeof(first));
    for (uint32_t r = 1; r <= 3000; r++) {
        struct sy_route_plan p;
        sy_router_plan_seq(&cfg->groups[0], v, &rq, r, r * 2654435761u, &p);
        first[p.cand[0].d->name[0] - 'a']++;
    }
    for (int i = 0; i < 3; i++)
        assert_true(first[i] > 800 && first[i] < 1200);
    sy_config_free(cfg);
}

/* Every deployment over a threshold (a p99 of long answers): they
 * share by expected latency, none takes all the traffic. */
static void
test_latency_all_over_threshold_share(void **state)
{
    (void)state;
    struct sy_config *cfg =
        load("latency", ",\"thresholds\":{\"max_p99_ms\":4000}");
    struct sy_dep_view v[3];
    learned(&v[0], 500, 4600, 300);
    learned(&v[1], 500, 4300, 300);
    learned(&v[2], 500, 5100, 300);
    struct sy_route_req rq = { 100, 100 };
    unsigned first[3] = { 0, 0, 0 };
    for (uint32_t r = 1; r <= 3000; r++) {
        struct sy_route_plan p;
        sy_router_plan(&cfg->groups[0], v, &rq, r * 2654435761u, &p);
        assert_int_equal(p.ncand, 3);
        assert_string_equal(p.cand[2].why, "over threshold");
        first[p.cand[0].d->name[0] - 'a']++;
    }
    for (int i = 0; i < 3; i++)
        assert_true(first[i] > 800 && first[i] < 1200);
    sy_config_free(cfg);
}

/* A cold start with thresholds: cost learns the cheapest first (b, then
 * c, then a), not the configured order's head. */
static void
test_cost_cold_start_cheapest(void **state)
{
    (void)state;
    struct sy_config *cfg =
        load("cost", ",\"thresholds\":{\"max_p99_ms\":4000}");
    struct sy_dep_view v[3] = { { 0 } };
    struct sy_route_req rq = { 1000, 1000 };
    struct sy_route_plan p;
    sy_router_plan(&cfg->groups[0], v, &rq, 7, &p);
    assert_string_equal(name_at(&p, 0), "b");
    assert_string_equal(name_at(&p, 1), "c");
    assert_string_equal(name_at(&p, 2), "a");
    assert_string_equal(p.cand[0].why, "learning");
    /* a over the threshold, b and c learning: still b first. */
    learned(&v[0], 100, 9000, 100);
    sy_router_plan(&cfg->groups[0], v, &rq, 7, &p);
    assert_string_equal(name_at(&p, 0), "b");
    assert_string_equal(name_at(&p, 2), "a");
    sy_config_free(cfg);
}

static void
test_weighted_shares(void **state)
{
    (void)state;
    struct sy_config *cfg = load("weighted", "");
    struct sy_dep_view v[3] = { { 0 } };
    struct sy_route_req rq = { 1, 1 };
    unsigned first[2] = { 0, 0 };
    for (uint32_t r = 1; r <= 8000; r++) {
        struct sy_route_plan p;
        sy_router_plan(&cfg->groups[0], v, &rq, r * 2246822519u, &p);
        assert_int_equal(p.ncand, 2); /* c has weight 0 */
        assert_int_equal(p.nexcl, 1);
        first[strcmp(name_at(&p, 0), "a") == 0 ? 0 : 1]++;
    }
    /* Weights 1:3 -> about 25% / 75%. */
    assert_true(first[0] > 1600 && first[0] < 2400);
    sy_config_free(cfg);
}

static void
test_exclude_and_explain(void **state)
{
    (void)state;
    struct sy_config *cfg = load("priority", "");
    struct sy_dep_view v[3] = { { 0 } };
    struct sy_route_req rq = { 1, 1 };
    struct sy_route_plan p;
    sy_router_plan(&cfg->groups[0], v, &rq, 1, &p);
    sy_router_exclude(&p, cfg->groups[0].route[1], "no key with quota");
    assert_int_equal(p.ncand, 2);
    assert_string_equal(name_at(&p, 1), "c");
    char small[16];
    size_t n = sy_router_explain(&p, small, sizeof(small));
    assert_true(n < sizeof(small));
    char buf[256];
    sy_router_explain(&p, buf, sizeof(buf));
    assert_string_equal(buf, "priority; a c; excluded b(no key with quota)");
    sy_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priority_skips_open_breaker),
        cmocka_unit_test(test_latency_ranks_and_thresholds),
        cmocka_unit_test(test_latency_uses_tokens),
        cmocka_unit_test(test_exploration_is_bounded),
        cmocka_unit_test(test_cost_cheapest_within_thresholds),
        cmocka_unit_test(test_cost_without_samples),
        cmocka_unit_test(test_latency_cold_start_spreads),
        cmocka_unit_test(test_latency_all_over_threshold_share),
        cmocka_unit_test(test_cost_cold_start_cheapest),
        cmocka_unit_test(test_weighted_shares),
        cmocka_unit_test(test_exclude_and_explain),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
