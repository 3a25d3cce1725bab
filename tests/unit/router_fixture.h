/*
 * router_fixture.h - what the tests that route over a small group share:
 * the provider "p" (OpenAI type, port 1: never called) and deployments of
 * model "m" on it, as config text, rf_load_ok() (a config that must
 * load) and rf_load_latency() (a latency group of three). Included by
 * test_router*.c, test_affinity.c, test_breaker_probe.c, test_metrics.c
 * and test_metrics_host.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_TESTS_UNIT_ROUTER_FIXTURE_H
#define SY_TESTS_UNIT_ROUTER_FIXTURE_H

#include "base/sy.h"
#include "base/buf.h"
#include "config/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* The "providers" member: "p", which nothing behind it answers. */
#define RF_PROVIDERS                             \
    "\"providers\":{\"p\":{\"type\":\"openai\"," \
    "\"base_url\":\"http://127.0.0.1:1\",\"auth\":\"none\"}}"
/* What follows a deployment's name for model "m" on "p":
 * "\"a\"" RF_ON_P is deployment "a". */
#define RF_ON_P ":{\"provider\":\"p\",\"model\":\"m\"}"
/* Deployments "a", "b" and "c" (members of "deployments"). */
#define RF_DEPS_ABC "\"a\"" RF_ON_P ",\"b\"" RF_ON_P ",\"c\"" RF_ON_P
/* A config of group "g" over a, b and c, up to the group's own members:
 * the text that follows has them and then closes with "}}}". */
#define RF_GROUP_ABC                                       \
    "{" RF_PROVIDERS ",\"deployments\":{" RF_DEPS_ABC "}," \
    "\"groups\":{\"g\":{\"deployments\":[\"a\",\"b\",\"c\"],"

/* The config of JSON 'text', which must load: its errors are printed
 * and the test fails. */
static SY_UNUSED struct sy_config *
rf_load_ok(const char *text)
{
    struct sy_config *cfg = NULL;
    struct sy_buf errs;
    sy_buf_init(&errs, 65536);
    enum sy_err e = sy_config_load_string(text, strlen(text), "t", &cfg, &errs);
    if (e != SY_OK)
        fprintf(stderr, "%s", sy_buf_cstr(&errs));
    sy_buf_free(&errs);
    assert_int_equal(e, SY_OK);
    return cfg;
}

/* Group "g" over a, b and c with the latency strategy, 'min_samples'
 * and 'explore_pct', then 'extra' (more members of the group, each
 * after a comma; "" for none). */
static SY_UNUSED struct sy_config *
rf_load_latency(unsigned min_samples, unsigned explore_pct, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof(text),
             RF_GROUP_ABC "\"strategy\":\"latency\",\"min_samples\":%u,"
                          "\"explore_pct\":%u%s}}}",
             min_samples, explore_pct, extra);
    return rf_load_ok(text);
}

#endif
