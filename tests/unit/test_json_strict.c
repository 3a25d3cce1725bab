/*
 * test_json_strict.c - unit tests for core/base/json_strict.c: RFC 8259 only
 * (what json-c's own strict mode lets through is refused), depth, the
 * memory estimate that refuses a body of many tiny containers before
 * json-c allocates it, and the caller-safe messages.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/json_strict.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>
#include <json-c/json.h>

static enum sy_json_status
parse(const char *s, unsigned depth, char *msg, size_t msglen)
{
    struct sy_json_limits lim = { depth, 0 };
    struct sy_json_result res;
    struct json_object *o = NULL;
    enum sy_json_status st = sy_json_parse_strict(s, strlen(s), &lim, &o, &res);
    assert_int_equal(st, res.status);
    if (st != SY_JSON_OK)
        assert_null(o);
    json_object_put(o);
    if (msg != NULL)
        sy_json_describe(&res, "the body", false, msg, msglen);
    return st;
}

static void
test_accepts_json(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{}",
        " [1, 2.5, -0, 1e3, 1E-3, true, false, null] ",
        "\"\\u00e9\\n\"",
        "0",
        "{\"a\":{\"b\":[{}]}}",
        "\t{\"k\" : \"v\"}\r\n",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(ok); i++)
        assert_int_equal(parse(ok[i], 0, NULL, 0), SY_JSON_OK);
}

/* Each of these json-c takes in JSON_TOKENER_STRICT mode. */
static void
test_refuses_what_json_c_lets_through(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum sy_json_status st;
    } bad[] = {
        { "{\"a\":1.}", SY_JSON_BAD },
        { "{\"a\":\"tab\there\"}", SY_JSON_BAD },
        { "{\"a\":NaN}", SY_JSON_BAD },
        { "{\"a\":Infinity}", SY_JSON_BAD },
        { "{'a':1}", SY_JSON_BAD },
        { "[1,2,]", SY_JSON_BAD },
        { "{\"a\":1,}", SY_JSON_BAD },
        { "{\"a\":01}", SY_JSON_BAD },
        { "{\"a\":\"\\x41\"}", SY_JSON_BAD },
        { "{\"a\":1e999}", SY_JSON_NONFINITE },
        { "{\"a\":-1E+999}", SY_JSON_NONFINITE },
        { "{\"a\":1} {}", SY_JSON_TRAILING },
        { "{\"a\":", SY_JSON_EOF },
        { "   ", SY_JSON_EMPTY },
        { "{\"a\":\"\xff\"}", SY_JSON_UTF8 },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        char msg[256];
        enum sy_json_status st = parse(bad[i].text, 0, msg, sizeof(msg));
        if (st != bad[i].st)
            fail_msg("%s: status %d, want %d (%s)", bad[i].text, st, bad[i].st,
                     msg);
        assert_non_null(strstr(msg, "the body"));
    }
}

static void
test_depth(void **state)
{
    (void)state;
    char deep[2 * 70 + 1];
    memset(deep, '[', 70);
    memset(deep + 70, ']', 70);
    deep[140] = '\0';
    char msg[128];
    assert_int_equal(parse(deep, 64, msg, sizeof(msg)), SY_JSON_DEPTH);
    assert_string_equal(msg, "the body is nested deeper than 64 levels");
    assert_int_equal(parse(deep, 70, NULL, 0), SY_JSON_OK);
}

/* The depth of the text is reported, and a tokener kept by the thread
 * for one depth bound serves the next parse with another bound right. */
static void
test_depth_reported_and_tokeners_reused(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned max_depth, depth;
        enum sy_json_status st;
    } cases[] = {
        { "1", 64, 0, SY_JSON_OK },
        { "[[1],{\"a\":[{}]}]", 64, 4, SY_JSON_OK },
        { "[[[[1]]]]", 3, 0, SY_JSON_DEPTH },
        { "[[[1]]]", 3, 3, SY_JSON_OK },
        { "{\"a\":[1,", 64, 0, SY_JSON_EOF },
        { "[[1],{\"a\":[{}]}]", 5, 4, SY_JSON_OK },
        { "[1,2]", 128, 1, SY_JSON_OK },
        { "{\"a\":1.5}", 64, 1, SY_JSON_OK },
    };
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < SY_ARRAY_LEN(cases); i++) {
            struct sy_json_limits lim = { cases[i].max_depth, 0 };
            struct sy_json_result res;
            struct json_object *o = NULL;
            enum sy_json_status st = sy_json_parse_strict(
                cases[i].text, strlen(cases[i].text), &lim, &o, &res);
            assert_int_equal(st, cases[i].st);
            if (st == SY_JSON_OK) {
                assert_int_equal(res.depth, cases[i].depth);
                if (i == 0)
                    assert_int_equal(json_object_get_int(o), 1);
            }
            json_object_put(o);
        }
    }
}

/* A double whose integer part alone overflows is caught without an
 * exponent; long but finite numbers pass. */
static void
test_long_numbers(void **state)
{
    (void)state;
    char text[1000];
    strcpy(text, "[");
    memset(text + 1, '9', 400);
    strcpy(text + 401, ".5]");
    assert_int_equal(parse(text, 0, NULL, 0), SY_JSON_NONFINITE);
    memset(text + 1, '9', 290);
    strcpy(text + 291, ".5]");
    assert_int_equal(parse(text, 0, NULL, 0), SY_JSON_OK);
    assert_int_equal(parse("[1.7976931348623157e308]", 0, NULL, 0), SY_JSON_OK);
    assert_int_equal(parse("[1.8e308]", 0, NULL, 0), SY_JSON_NONFINITE);
}

/* Peak memory of this process, in KiB. */
static long
max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* 4 MiB of "{}," is what made json-c take a gigabyte: refused by the
 * estimate, with nothing like that allocated. */
static void
test_tiny_containers_refused(void **state)
{
    (void)state;
    size_t n = 4u << 20;
    char *s = malloc(n + 16);
    assert_non_null(s);
    size_t len = 0;
    s[len++] = '[';
    while (len + 4 < n) {
        memcpy(s + len, "{},", 3);
        len += 3;
    }
    memcpy(s + len, "{}]", 3);
    len += 3;
    long before = max_rss_kb();
    struct sy_json_result res;
    struct json_object *o = NULL;
    assert_int_equal(sy_json_parse_strict(s, len, NULL, &o, &res),
                     SY_JSON_COMPLEX);
    assert_null(o);
    assert_true(res.tree_bytes > 48 * len);
    /* The refusal allocated next to nothing (json-c would take ~1 GB). */
    assert_true(max_rss_kb() - before < 16 * 1024);
    char msg[200];
    sy_json_describe(&res, "the request body", false, msg, sizeof(msg));
    assert_non_null(strstr(msg, "too complex"));

    /* The same size of text is fine. */
    s[0] = '"';
    memset(s + 1, 'a', len - 2);
    s[len - 1] = '"';
    assert_int_equal(sy_json_parse_strict(s, len, NULL, &o, &res), SY_JSON_OK);
    json_object_put(o);

    /* An explicit limit wins over the default rule. */
    struct sy_json_limits lim = { 0, 1000 };
    assert_int_equal(sy_json_parse_strict("[{},{}]", 7, &lim, &o, &res),
                     SY_JSON_COMPLEX);
    free(s);
}

/* A realistic request of many messages stays well within the rule. */
static void
test_realistic_body_accepted(void **state)
{
    (void)state;
    char *s = malloc(1u << 20);
    assert_non_null(s);
    size_t len = (size_t)snprintf(s, 64, "{\"model\":\"m\",\"messages\":[");
    for (int i = 0; i < 2000; i++)
        len += (size_t)snprintf(s + len, 256,
                                "%s{\"role\":\"user\",\"content\":[{\"type\":"
                                "\"text\",\"text\":\"turn %d\"}]}",
                                i ? "," : "", i);
    len += (size_t)snprintf(s + len, 8, "]}");
    struct sy_json_result res;
    struct json_object *o = NULL;
    assert_int_equal(sy_json_parse_strict(s, len, NULL, &o, &res), SY_JSON_OK);
    json_object_put(o);
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_json),
        cmocka_unit_test(test_refuses_what_json_c_lets_through),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_depth_reported_and_tokeners_reused),
        cmocka_unit_test(test_long_numbers),
        cmocka_unit_test(test_tiny_containers_refused),
        cmocka_unit_test(test_realistic_body_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
