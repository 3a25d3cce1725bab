/*
 * test_metrics.c - unit tests for GET /metrics without a server: CIDR
 * ranges (base/cidr.c) and metrics.allow, the access rule, the text
 * format writer (serve/prom.c: escaping, histograms), the power-of-two
 * histogram slots (le includes its bound), the counter layout's field and
 * index translations (every counter, both ways; unknown names dropped),
 * and a whole render of this process's counters.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/buf.h"
#include "base/cidr.h"
#include "base/mem.h"
#include "config/config.h"
#include "router_fixture.h"
#include "serve/metrics.h"
#include "serve/prom.h"
#include "state/metrics.h"
#include "state/metrics_read.h"
#include "api/chat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct sy_config *
load(const char *extra)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "{" RF_PROVIDERS ","
             "\"deployments\":{\"d1\"" RF_ON_P ","
             "\"d2\"" RF_ON_P "},"
             "\"groups\":{\"g\":{\"deployments\":[\"d1\",\"d2\"]},"
             "\"h\":{\"deployments\":[\"d2\"]}}%s}",
             extra);
    struct sy_buf errs;
    sy_buf_init(&errs, 1 << 16);
    struct sy_config *cfg = NULL;
    sy_config_load_string(text, strlen(text), "t", &cfg, &errs);
    sy_buf_free(&errs);
    return cfg;
}

/* ------------------------------------------------------------------ */
/* CIDR                                                                */

static bool
in(const char *range, const char *addr)
{
    struct sy_cidr c;
    assert_true(sy_cidr_parse(range, &c));
    return sy_cidr_match_any(&c, 1, addr);
}

static void
test_cidr_parse(void **state)
{
    (void)state;
    struct sy_cidr c;
    static const char *const good[] = {
        "127.0.0.1/32", "10.0.0.0/8",     "0.0.0.0/0",
        "::1/128",      "fd00::/8",       "::/0",
        "1.2.3.4",      "::ffff:1.2.3.4", "2001:db8::/32",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(good); i++)
        assert_true(sy_cidr_parse(good[i], &c));
    static const char *const bad[] = {
        "1.2.3.4/33", "::1/129",    "1.2.3/8",      "1.2.3.4/",
        "/8",         "",           "garbage",      "1.2.3.4/-1",
        "1.2.3.4/+8", "1.2.3.4/ 8", " 1.2.3.4",     "1.2.3.4/8/8",
        "01.2.3.4",   "1.2.3.256",  "fe80::1%eth0", "1.2.3.4/0008",
        "::1/1x",     "localhost",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++)
        assert_false(sy_cidr_parse(bad[i], &c));
    assert_false(sy_cidr_parse(NULL, &c));
    char longs[200];
    memset(longs, '1', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    assert_false(sy_cidr_parse(longs, &c));
}

static void
test_cidr_match(void **state)
{
    (void)state;
    assert_true(in("127.0.0.1/32", "127.0.0.1"));
    assert_false(in("127.0.0.1/32", "127.0.0.2"));
    assert_true(in("10.0.0.0/8", "10.255.1.2"));
    assert_false(in("10.0.0.0/8", "11.0.0.1"));
    assert_true(in("10.1.2.3/8", "10.9.9.9")); /* host bits cleared */
    assert_true(in("192.168.1.0/25", "192.168.1.127"));
    assert_false(in("192.168.1.0/25", "192.168.1.128"));
    assert_true(in("0.0.0.0/0", "8.8.8.8"));
    assert_true(in("::1/128", "::1"));
    assert_false(in("::1/128", "::2"));
    assert_true(in("fd00::/8", "fdab::1"));
    assert_false(in("fd00::/8", "fe00::1"));
    /* IPv4-mapped clients are their IPv4 address, both ways */
    assert_true(in("127.0.0.1/32", "::ffff:127.0.0.1"));
    assert_true(in("::ffff:1.2.3.4", "1.2.3.4"));
    assert_false(in("127.0.0.0/8", "::1"));
    /* garbage, NULL and empty lists match nothing */
    assert_false(in("0.0.0.0/0", "garbage"));
    assert_false(in("0.0.0.0/0", ""));
    struct sy_cidr c;
    sy_cidr_parse("0.0.0.0/0", &c);
    assert_false(sy_cidr_match_any(&c, 1, NULL));
    assert_false(sy_cidr_match_any(&c, 0, "1.2.3.4"));
}

static void
test_config_allow(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    assert_non_null(cfg);
    assert_int_equal(cfg->metrics.nallow, 2);
    assert_true(sy_cidr_match_any(cfg->metrics.allow, 2, "127.0.0.1"));
    assert_true(sy_cidr_match_any(cfg->metrics.allow, 2, "::1"));
    assert_false(sy_cidr_match_any(cfg->metrics.allow, 2, "10.0.0.1"));
    sy_config_free(cfg);
    cfg = load(",\"metrics\":{\"allow\":[\"10.0.0.0/8\",\"fd00::/8\"]}");
    assert_non_null(cfg);
    assert_int_equal(cfg->metrics.nallow, 2);
    assert_true(sy_cidr_match_any(cfg->metrics.allow, 2, "10.1.1.1"));
    assert_false(sy_cidr_match_any(cfg->metrics.allow, 2, "127.0.0.1"));
    sy_config_free(cfg);
    cfg = load(",\"metrics\":{\"allow\":[]}");
    assert_non_null(cfg);
    assert_int_equal(cfg->metrics.nallow, 0);
    sy_config_free(cfg);
    assert_null(load(",\"metrics\":{\"allow\":[\"1.2.3.4/33\"]}"));
    assert_null(load(",\"metrics\":{\"allow\":\"127.0.0.1\"}"));
    assert_null(load(",\"metrics\":{\"allowed\":[]}"));
    assert_null(load(",\"metrics\":[]"));
}

static void
test_access(void **state)
{
    (void)state;
    struct sy_config *cfg = load(",\"metrics\":{\"allow\":[\"10.0.0.0/8\"]}");
    assert_non_null(cfg);
    /* no admin key configured */
    assert_int_equal(sy_metrics_access(cfg, NULL, "10.0.0.1"),
                     SY_METRICS_ALLOWED);
    assert_int_equal(sy_metrics_access(cfg, NULL, "127.0.0.1"),
                     SY_METRICS_FORBIDDEN);
    assert_int_equal(sy_metrics_access(cfg, NULL, NULL), SY_METRICS_FORBIDDEN);
    assert_int_equal(sy_metrics_access(cfg, "Bearer x", "10.0.0.1"),
                     SY_METRICS_UNAUTHORIZED);
    cfg->server.admin_key = "admin-key-0123456789";
    cfg->server.admin_key_len = strlen(cfg->server.admin_key);
    assert_int_equal(
        sy_metrics_access(cfg, "Bearer admin-key-0123456789", "1.1.1.1"),
        SY_METRICS_ALLOWED);
    assert_int_equal(
        sy_metrics_access(cfg, "bearer admin-key-0123456789", NULL),
        SY_METRICS_ALLOWED);
    assert_int_equal(
        sy_metrics_access(cfg, "Bearer admin-key-012345678", "1.1.1.1"),
        SY_METRICS_UNAUTHORIZED);
    assert_int_equal(sy_metrics_access(cfg, "Basic abc", "10.0.0.1"),
                     SY_METRICS_UNAUTHORIZED);
    assert_int_equal(sy_metrics_access(cfg, NULL, "1.1.1.1"),
                     SY_METRICS_UNAUTHORIZED);
    cfg->server.admin_key = NULL;
    sy_config_free(cfg);
}

/* The default list (the local host) counts only while no admin key is
 * configured: a proxy on the same host makes every client 127.0.0.1. An
 * explicit list is taken as written, key or not. */
static void
test_access_default(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    assert_non_null(cfg);
    assert_int_equal(sy_metrics_access(cfg, NULL, "127.0.0.1"),
                     SY_METRICS_ALLOWED);
    assert_int_equal(sy_metrics_access(cfg, NULL, "::1"), SY_METRICS_ALLOWED);
    cfg->server.admin_key = "admin-key-0123456789";
    cfg->server.admin_key_len = strlen(cfg->server.admin_key);
    assert_int_equal(sy_metrics_access(cfg, NULL, "127.0.0.1"),
                     SY_METRICS_UNAUTHORIZED);
    assert_int_equal(
        sy_metrics_access(cfg, "Bearer admin-key-0123456789", "127.0.0.1"),
        SY_METRICS_ALLOWED);
    cfg->server.admin_key = NULL;
    sy_config_free(cfg);
    cfg = load(",\"metrics\":{\"allow\":[\"127.0.0.1/32\"]}");
    assert_non_null(cfg);
    cfg->server.admin_key = "admin-key-0123456789";
    cfg->server.admin_key_len = strlen(cfg->server.admin_key);
    assert_int_equal(sy_metrics_access(cfg, NULL, "127.0.0.1"),
                     SY_METRICS_ALLOWED);
    cfg->server.admin_key = NULL;
    sy_config_free(cfg);
}

/* ------------------------------------------------------------------ */
/* The text format                                                     */

static void
test_prom_escape(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 4096);
    struct sy_prom_label l[] = { { "key", "a\"b\\c\nd" }, { "team", NULL } };
    sy_prom_sample(&b, "x_total", l, 2, 3);
    assert_string_equal(sy_buf_cstr(&b),
                        "x_total{key=\"a\\\"b\\\\c\\nd\",team=\"\"} 3\n");
    sy_buf_clear(&b);
    sy_prom_head(&b, "x", "gauge", "back\\slash\nnew");
    assert_string_equal(sy_buf_cstr(&b),
                        "# HELP x back\\\\slash\\nnew\n# TYPE x gauge\n");
    sy_buf_clear(&b);
    sy_prom_sample(&b, "y", NULL, 0, 0.25);
    sy_prom_sample(&b, "y", NULL, 0, 1e15);
    assert_string_equal(sy_buf_cstr(&b), "y 0.25\ny 1000000000000000\n");
    sy_buf_free(&b);
}

static void
test_prom_hist(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 4096);
    const uint64_t pow2[3] = { 1, 0, 2 };
    struct sy_prom_label l[] = { { "d", "x" } };
    sy_prom_hist(&b, "h", l, 1, pow2, 3, 6, 1.0);
    assert_string_equal(sy_buf_cstr(&b), "h_bucket{d=\"x\",le=\"1\"} 1\n"
                                         "h_bucket{d=\"x\",le=\"2\"} 1\n"
                                         "h_bucket{d=\"x\",le=\"4\"} 3\n"
                                         "h_bucket{d=\"x\",le=\"+Inf\"} 3\n"
                                         "h_sum{d=\"x\"} 6\n"
                                         "h_count{d=\"x\"} 3\n");
    sy_buf_clear(&b);
    sy_prom_hist(&b, "s", NULL, 0, pow2, 2, 3, 1e-6);
    assert_string_equal(sy_buf_cstr(&b), "s_bucket{le=\"1e-06\"} 1\n"
                                         "s_bucket{le=\"2e-06\"} 1\n"
                                         "s_bucket{le=\"+Inf\"} 1\n"
                                         "s_sum 3e-06\n"
                                         "s_count 1\n");
    sy_buf_free(&b);
}

/* Slot k holds exactly the values above 2^(k-1) and at most 2^k (slot
 * 0: at most 1), so that slot k is Prometheus' le="2^k": a value of
 * exactly 2^k is counted there, not one bucket up. */
static void
test_pow2_slots(void **state)
{
    (void)state;
    assert_int_equal(sy_metrics_pow2(0), 0);
    assert_int_equal(sy_metrics_pow2(1), 0);
    assert_int_equal(sy_metrics_pow2(2), 1);
    assert_int_equal(sy_metrics_pow2(3), 2);
    assert_int_equal(sy_metrics_pow2(4), 2);
    assert_int_equal(sy_metrics_pow2(5), 3);
    assert_int_equal(sy_metrics_pow2(1023), 10);
    assert_int_equal(sy_metrics_pow2(1024), 10);
    assert_int_equal(sy_metrics_pow2(1025), 11);
    assert_int_equal(sy_metrics_pow2(UINT64_C(1) << 32), 32);
    assert_int_equal(sy_metrics_pow2((UINT64_C(1) << 32) + 1), 32);
    assert_int_equal(sy_metrics_pow2(UINT64_MAX), 32);
    for (unsigned k = 1; k < 32; k++) {
        uint64_t p = UINT64_C(1) << k;
        assert_int_equal(sy_metrics_pow2(p), k);
        assert_int_equal(sy_metrics_pow2(p / 2 + 1), k);
        assert_int_equal(sy_metrics_pow2(p + 1), k + 1);
    }
}

/* ------------------------------------------------------------------ */
/* Layout                                                              */

static void
test_layout_roundtrip(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_metrics_layout l;
    sy_metrics_layout_init(&l, cfg);
    /* g: d1, d2, none; h: d2, none; none */
    assert_int_equal(l.npairs, 6);
    char field[600];
    for (size_t i = 0; i < l.off[SY_MF__DENSE]; i++) {
        enum sy_metrics_family f;
        size_t back = SIZE_MAX;
        assert_true(sy_metrics_field(&l, i, &f, field, sizeof(field)));
        assert_true(sy_metrics_index(&l, f, field, &back));
        assert_int_equal(back, i);
    }
    size_t at;
    assert_true(sy_metrics_index(&l, SY_MF_REQUESTS, "chat|g|d1|2xx", &at));
    assert_int_equal(at, sy_metrics_req(&l, SY_MS_CHAT, 0, 0));
    /* names the config does not have, a deployment not of the group,
     * malformed fields: no series */
    static const char *const bad[] = {
        "chat|g|d9|2xx", "chat|x|d1|2xx",  "chat|h|d1|2xx", "chat|g|d1|3xx",
        "chat|g|d1",     "chat|g|d1|2xx|", "nope|g|d1|2xx", "",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++)
        assert_false(sy_metrics_index(&l, SY_MF_REQUESTS, bad[i], &at));
    assert_false(sy_metrics_index(&l, SY_MF_LAT_TOTAL, "d1|33", &at));
    assert_false(sy_metrics_index(&l, SY_MF_LAT_TOTAL, "|sum", &at));
    assert_false(sy_metrics_index(&l, SY_MF_ATTEMPTS, "g|d1|bogus", &at));
    assert_false(sy_metrics_index(&l, SY_MF_COST, "a|b|g|d1", &at));
    sy_metrics_layout_cleanup(&l);
    sy_config_free(cfg);
}

static void
test_escape_names(void **state)
{
    (void)state;
    char out[64];
    sy_metrics_escape(out, sizeof(out), "a|b%c");
    assert_string_equal(out, "a%7Cb%25c");
    assert_true(sy_metrics_unescape(out));
    assert_string_equal(out, "a|b%c");
    char badesc[] = "x%zz";
    assert_false(sy_metrics_unescape(badesc));
}

/* ------------------------------------------------------------------ */
/* A whole render of this process's counters (no Redis)                */

static void
test_render_local(void **state)
{
    (void)state;
    struct sy_config *cfg = load("");
    struct sy_metrics *m = sy_metrics_new(cfg, NULL, NULL);
    const struct sy_group *g = &cfg->groups[0];
    const struct sy_deployment *d1 = &cfg->deployments[0];
    struct sy_usage u = { .present = true,
                          .prompt_tokens = 10,
                          .completion_tokens = 5,
                          .total_tokens = 15 };
    sy_metrics_begin(m);
    sy_metrics_attempt(m, g, d1, SY_EUP_5XX, NULL, true);
    sy_metrics_attempt(m, g, &cfg->deployments[1], SY_OK, &u, false);
    sy_metrics_latency(m, &cfg->deployments[1], 1500, 700, 100);
    sy_metrics_request(m, SY_MS_CHAT, g, &cfg->deployments[1], 200, 3);
    sy_metrics_begin(m);
    sy_metrics_request(m, SY_MS_OTHER, NULL, NULL, 404, 1);
    sy_metrics_breaker(m, 0, 1);
    /* exactly 2^10: counted at le 2^10, not the bucket above */
    struct sy_usage u1024 = { .present = true, .prompt_tokens = 1024 };
    sy_metrics_attempt(m, g, d1, SY_OK, &u1024, false);
    sy_metrics_latency(m, d1, 1024, 1024, 0);
    struct sy_metrics_view v;
    sy_metrics_read(&v, m, cfg, NULL, false, 0);
    struct sy_buf b;
    sy_buf_init(&b, 1 << 20);
    sy_metrics_render(&b, &v, cfg, NULL);
    const char *t = sy_buf_cstr(&b);
    static const char *const want[] = {
        "switchyard_requests_total{surface=\"chat\",group=\"g\","
        "deployment=\"d2\",provider=\"p\",status_class=\"2xx\"} 1\n",
        "switchyard_requests_total{surface=\"other\",group=\"\","
        "deployment=\"\",provider=\"\",status_class=\"4xx\"} 1\n",
        "switchyard_failovers_total{group=\"g\",reason=\"",
        "switchyard_attempts_total{group=\"g\",deployment=\"d2\","
        "provider=\"p\",outcome=\"ok\"} 1\n",
        "switchyard_breaker_transitions_total{deployment=\"d1\",to=\"open\"} "
        "1\n",
        "switchyard_tokens_total{deployment=\"d2\",provider=\"p\","
        "gen_ai_token_type=\"input\"} 10\n",
        "gen_ai_server_request_duration_seconds_bucket{"
        "gen_ai_provider_name=\"p\",gen_ai_request_model=\"m\","
        "deployment=\"d2\",le=\"0.002048\"} 1\n",
        "gen_ai_server_request_duration_seconds_sum{"
        "gen_ai_provider_name=\"p\",gen_ai_request_model=\"m\","
        "deployment=\"d2\"} 0.0015\n",
        "gen_ai_client_token_usage_count{gen_ai_provider_name=\"p\","
        "gen_ai_request_model=\"m\",gen_ai_token_type=\"output\"} 2\n",
        "switchyard_overhead_seconds_count{surface=\"chat\"} 1\n",
        "switchyard_requests_in_flight 0\n",
        "switchyard_redis_up 0\n",
        "switchyard_scrape_redis_calls 0\n",
        "# TYPE switchyard_breaker_state gauge\n",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(want); i++)
        if (strstr(t, want[i]) == NULL)
            fail_msg("missing: %s\nin:\n%s", want[i], t);
    static const char *const exact[] = {
        "gen_ai_client_token_usage_bucket{gen_ai_provider_name=\"p\","
        "gen_ai_request_model=\"m\",gen_ai_token_type=\"input\","
        "le=\"512\"} 1\n",
        "gen_ai_client_token_usage_bucket{gen_ai_provider_name=\"p\","
        "gen_ai_request_model=\"m\",gen_ai_token_type=\"input\","
        "le=\"1024\"} 2\n",
        "gen_ai_server_request_duration_seconds_bucket{"
        "gen_ai_provider_name=\"p\",gen_ai_request_model=\"m\","
        "deployment=\"d1\",le=\"0.000512\"} 0\n",
        "gen_ai_server_request_duration_seconds_bucket{"
        "gen_ai_provider_name=\"p\",gen_ai_request_model=\"m\","
        "deployment=\"d1\",le=\"0.001024\"} 1\n",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(exact); i++)
        if (strstr(t, exact[i]) == NULL)
            fail_msg("missing: %s\nin:\n%s", exact[i], t);
    /* one bucket below the sample stays empty */
    assert_non_null(strstr(t, "gen_ai_server_request_duration_seconds_bucket{"
                              "gen_ai_provider_name=\"p\","
                              "gen_ai_request_model=\"m\",deployment=\"d2\","
                              "le=\"0.001024\"} 0\n"));
    sy_buf_free(&b);
    sy_metrics_view_cleanup(&v);
    sy_metrics_free(m);
    sy_config_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_cidr_match),
        cmocka_unit_test(test_config_allow),
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_access_default),
        cmocka_unit_test(test_prom_escape),
        cmocka_unit_test(test_prom_hist),
        cmocka_unit_test(test_pow2_slots),
        cmocka_unit_test(test_layout_roundtrip),
        cmocka_unit_test(test_escape_names),
        cmocka_unit_test(test_render_local),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
