/*
 * test_auth.c - caller keys: constant-time comparison, Bearer parsing,
 * unknown keys, and the per-key model allow-list (core/serve/auth.c).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "serve/auth.h"
#include "base/hmac.h"
#include "config/config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct sy_config *
load(void)
{
    setenv("SY_TEST_KEY_A", "sk-aaaaaaaaaaaaaaaaaaaa", 1);
    setenv("SY_TEST_KEY_B", "sk-bbbbbbbbbbbbbbbbbbbbbbbb", 1);
    const char *text =
        "{\"keys\":{\"a\":{\"key_env\":\"SY_TEST_KEY_A\"},"
        "\"b\":{\"key_env\":\"SY_TEST_KEY_B\",\"models\":[\"g\"]}},"
        "\"providers\":{\"p\":{\"type\":\"openai\","
        "\"base_url\":\"http://127.0.0.1:1\",\"auth\":\"none\"}},"
        "\"deployments\":{\"d\":{\"provider\":\"p\",\"model\":\"m\"}},"
        "\"groups\":{\"g\":{\"deployments\":[\"d\"]},"
        "\"h\":{\"deployments\":[\"d\"]}}}";
    struct sy_config *cfg = NULL;
    assert_int_equal(sy_config_load_string(text, strlen(text), "t", &cfg, NULL),
                     SY_OK);
    return cfg;
}

static void
test_equal(void **state)
{
    (void)state;
    assert_true(sy_const_equal("abc", 3, "abc", 3));
    assert_false(sy_const_equal("abc", 3, "abd", 3));
    assert_false(sy_const_equal("abc", 3, "abcd", 4));
    assert_false(sy_const_equal("abcd", 4, "abc", 3));
    assert_false(sy_const_equal("", 0, "a", 1));
    assert_true(sy_const_equal("", 0, "", 0));
}

static void
test_check(void **state)
{
    (void)state;
    struct sy_config *cfg = load();
    const struct sy_caller_key *k =
        sy_auth_check(cfg, "Bearer sk-bbbbbbbbbbbbbbbbbbbbbbbb");
    assert_non_null(k);
    assert_string_equal(k->name, "b");
    assert_non_null(sy_auth_check(cfg, "bearer sk-aaaaaaaaaaaaaaaaaaaa"));
    assert_null(sy_auth_check(cfg, NULL));
    assert_null(sy_auth_check(cfg, "sk-aaaaaaaaaaaaaaaaaaaa"));
    assert_null(sy_auth_check(cfg, "Bearer sk-aaaaaaaaaaaaaaaaaaa"));
    assert_null(sy_auth_check(cfg, "Bearer sk-aaaaaaaaaaaaaaaaaaaaa"));
    assert_null(sy_auth_check(cfg, "Bearer "));
    assert_null(sy_auth_check(cfg, "Basic c2stYWFh"));
    sy_config_free(cfg);
}

static void
test_models(void **state)
{
    (void)state;
    struct sy_config *cfg = load();
    const struct sy_caller_key *a = &cfg->keys[0], *b = &cfg->keys[1];
    assert_true(sy_auth_model_allowed(a, "g"));
    assert_true(sy_auth_model_allowed(a, "h"));
    assert_true(sy_auth_model_allowed(b, "g"));
    assert_false(sy_auth_model_allowed(b, "h"));
    sy_config_free(cfg);
}

static void
test_short_key_refused(void **state)
{
    (void)state;
    setenv("SY_TEST_KEY_SHORT", "short", 1);
    const char *text =
        "{\"keys\":{\"s\":{\"key_env\":\"SY_TEST_KEY_SHORT\"}},"
        "\"providers\":{\"p\":{\"type\":\"openai\","
        "\"base_url\":\"http://127.0.0.1:1\",\"auth\":\"none\"}},"
        "\"deployments\":{\"d\":{\"provider\":\"p\",\"model\":\"m\"}},"
        "\"groups\":{\"g\":{\"deployments\":[\"d\"]}}}";
    struct sy_config *cfg = NULL;
    struct sy_buf errs;
    sy_buf_init(&errs, 4096);
    assert_int_equal(
        sy_config_load_string(text, strlen(text), "t", &cfg, &errs),
        SY_EBADREQ);
    assert_non_null(strstr(sy_buf_cstr(&errs), "keys.s.key_env"));
    /* The message names the variable, never its value. */
    assert_null(strstr(sy_buf_cstr(&errs), "short\""));
    sy_buf_free(&errs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_models),
        cmocka_unit_test(test_short_key_refused),
    };
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
