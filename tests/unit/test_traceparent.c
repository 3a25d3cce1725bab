/*
 * test_traceparent.c - unit tests for core/base/traceparent.c: every
 * malformed traceparent the W3C Trace Context specification names is
 * refused, valid ones (version 00 and later versions with extra fields)
 * are read, tracestate is checked and bounded, ids are random and never
 * all zero.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/traceparent.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SID "00f067aa0ba902b7"

static bool
parse(const char *s, struct sy_traceparent *tp)
{
    return sy_traceparent_parse(s, strlen(s), tp);
}

static void
test_valid(void **state)
{
    (void)state;
    struct sy_traceparent tp;
    assert_true(parse("00-" TID "-" SID "-01", &tp));
    assert_string_equal(tp.trace_id, TID);
    assert_string_equal(tp.parent_id, SID);
    assert_int_equal(tp.flags, 1);
    assert_true(parse("00-" TID "-" SID "-00", &tp));
    assert_int_equal(tp.flags, 0);
    /* Unknown flag bits are read (the caller keeps only "sampled"). */
    assert_true(parse("00-" TID "-" SID "-ff", &tp));
    assert_int_equal(tp.flags, 0xff);
    /* Spaces around a header value are not part of it. */
    assert_true(parse("  00-" TID "-" SID "-01\t", &tp));
    /* Not NUL-terminated at n. */
    char buf[80];
    snprintf(buf, sizeof(buf), "00-" TID "-" SID "-01xyz");
    assert_true(sy_traceparent_parse(buf, SY_TRACEPARENT_LEN, &tp));
}

static void
test_future_versions(void **state)
{
    (void)state;
    struct sy_traceparent tp;
    assert_true(parse("01-" TID "-" SID "-01", &tp));
    assert_true(parse("cc-" TID "-" SID "-01-what-the-future-holds", &tp));
    assert_string_equal(tp.trace_id, TID);
    assert_string_equal(tp.parent_id, SID);
    /* A later version still needs "-" after the flags. */
    assert_false(parse("cc-" TID "-" SID "-01x", &tp));
    /* Version 00 has nothing after the flags. */
    assert_false(parse("00-" TID "-" SID "-01-extra", &tp));
    assert_false(parse("00-" TID "-" SID "-01 x", &tp));
}

static void
test_malformed(void **state)
{
    (void)state;
    struct sy_traceparent tp;
    memset(&tp, 0x5a, sizeof(tp));
    const char *bad[] = {
        "",
        "ff-" TID "-" SID "-01",                           /* version ff */
        "00-00000000000000000000000000000000-" SID "-01",  /* zero trace */
        "00-" TID "-0000000000000000-01",                  /* zero parent */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01",  /* uppercase */
        "00-" TID "-00F067AA0BA902B7-01",                  /* uppercase */
        "00-" TID "-" SID "-0A",                           /* uppercase */
        "0A-" TID "-" SID "-01",                           /* uppercase */
        "00-4bf92f3577b34da6a3ce929d0e0e473-" SID "-01",   /* 31 digits */
        "00-4bf92f3577b34da6a3ce929d0e0e47366-" SID "-01", /* 33 */
        "00-" TID "-00f067aa0ba902b-01",                   /* 15 */
        "00-" TID "-00f067aa0ba902b77-01",                 /* 17 */
        "00-" TID "-" SID "-1",                            /* 1 flag digit */
        "00-" TID "-" SID "-011",                          /* 3 */
        "0-" TID "-" SID "-01",                            /* 1 version d. */
        "000-" TID "-" SID "-01",
        "00_" TID "-" SID "-01", /* separators */
        "00-" TID "_" SID "-01",
        "00-" TID "-" SID "_01",
        "00-" TID "-" SID, /* no flags */
        "00-" TID,
        "zz-" TID "-" SID "-01", /* not hex */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-" SID "-01",
        "00-" TID "-00f067aa0ba902bx-01",
        "00-" TID "-" SID "-0g",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        if (parse(bad[i], &tp))
            fail_msg("accepted: '%s'", bad[i]);
    }
    assert_false(sy_traceparent_parse(NULL, 0, &tp));
    /* An over-long future version is refused (bounded work). */
    char big[SY_TRACEPARENT_MAX + 8];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "01-" TID "-" SID "-01-", 56);
    assert_false(parse(big, &tp));
    /* 'tp' untouched by every refusal. */
    assert_int_equal((unsigned char)tp.trace_id[0], 0x5a);
}

static void
test_format_roundtrip(void **state)
{
    (void)state;
    char out[SY_TRACEPARENT_LEN + 1];
    sy_traceparent_format(TID, SID, 1, out);
    assert_string_equal(out, "00-" TID "-" SID "-01");
    struct sy_traceparent tp;
    assert_true(parse(out, &tp));
}

static void
test_tracestate(void **state)
{
    (void)state;
    assert_true(sy_tracestate_valid("congo=t61rcWkgMzE", 17));
    const char *ok = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
    assert_true(sy_tracestate_valid(ok, strlen(ok)));
    const char *tenant = "fw529a3039@dt=abc, a_b-c*d/e=x y";
    assert_true(sy_tracestate_valid(tenant, strlen(tenant)));
    const char *bad[] = { "",           "=x",      "Rojo=1",
                          "rojo",       "rojo=",   "rojo=a=b",
                          "rojo=a\x01", "ro jo=1", "rojo=\xc3\xa9" };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++)
        if (sy_tracestate_valid(bad[i], strlen(bad[i])))
            fail_msg("accepted tracestate: '%s'", bad[i]);
    /* 33 members: over the spec's 32. */
    char many[400] = "";
    for (int i = 0; i < 33; i++) {
        size_t n = strlen(many);
        snprintf(many + n, sizeof(many) - n, "%sk%d=v", i ? "," : "", i);
    }
    assert_false(sy_tracestate_valid(many, strlen(many)));
    /* Past 512 bytes: not passed on. */
    char longv[600];
    memset(longv, 'v', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    memcpy(longv, "k=", 2);
    assert_false(sy_tracestate_valid(longv, strlen(longv)));
    assert_false(sy_tracestate_valid(NULL, 0));
}

static void
test_random_ids(void **state)
{
    (void)state;
    char a[33], b[33];
    sy_trace_random_hex(a, 16);
    sy_trace_random_hex(b, 16);
    assert_int_equal(strlen(a), 32);
    assert_string_not_equal(a, b);
    for (int i = 0; i < 32; i++)
        assert_true((a[i] >= '0' && a[i] <= '9') ||
                    (a[i] >= 'a' && a[i] <= 'f'));
    /* Many ids: each a valid traceparent field. */
    for (int i = 0; i < 1000; i++) {
        char t[33], s[17], out[SY_TRACEPARENT_LEN + 1];
        sy_trace_random_hex(t, 16);
        sy_trace_random_hex(s, 8);
        sy_traceparent_format(t, s, 1, out);
        struct sy_traceparent tp;
        assert_true(parse(out, &tp));
    }
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_future_versions),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_format_roundtrip),
        cmocka_unit_test(test_tracestate),
        cmocka_unit_test(test_random_ids),
    };
    return cmocka_run_group_tests_name("traceparent", tests, NULL, NULL);
}
