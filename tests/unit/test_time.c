/*
 * test_time.c - unit tests for core/base/time.c: civil dates round-trip
 * over four centuries and against the C library, leap years, the RFC 3339
 * and loose parse forms, impossible dates and the bounds of each field.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/time.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static bool
parse(const char *s, enum sy_time_form form, int64_t *ms)
{
    return sy_time_parse(s, strlen(s), form, ms);
}

static void
test_civil_round_trip(void **state)
{
    (void)state;
    assert_int_equal(sy_time_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(sy_time_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(sy_time_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(sy_time_days_from_civil(0, 1, 1), -719528);
    /* Every day from 1600 to 2400 round-trips and agrees with gmtime. */
    int64_t from = sy_time_days_from_civil(1600, 1, 1);
    int64_t to = sy_time_days_from_civil(2400, 12, 31);
    int64_t y;
    unsigned m;
    unsigned d;
    for (int64_t day = from; day <= to; day++) {
        sy_time_civil_from_days(day, &y, &m, &d);
        assert_int_equal(sy_time_days_from_civil(y, m, d), day);
        if (day % 97 == 0) {
            time_t t = (time_t)(day * 86400);
            struct tm tm;
            assert_non_null(gmtime_r(&t, &tm));
            assert_int_equal(tm.tm_year + 1900, y);
            assert_int_equal(tm.tm_mon + 1, m);
            assert_int_equal(tm.tm_mday, d);
        }
    }
}

static void
test_leap_years(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(parse("2024-02-29", SY_TIME_LOOSE, &ms));
    assert_true(parse("2000-02-29", SY_TIME_LOOSE, &ms));
    assert_int_equal(ms, INT64_C(951782400000));
    assert_true(parse("1600-02-29", SY_TIME_LOOSE, &ms));
    assert_false(parse("2026-02-29", SY_TIME_LOOSE, &ms));
    assert_false(parse("1900-02-29", SY_TIME_LOOSE, &ms));
    assert_false(parse("2100-02-29", SY_TIME_LOOSE, &ms));
    /* The day after Feb 29 is Mar 1. */
    int64_t y;
    unsigned m;
    unsigned d;
    sy_time_civil_from_days(sy_time_days_from_civil(2024, 2, 29) + 1, &y, &m,
                            &d);
    assert_int_equal(y, 2024);
    assert_int_equal(m, 3);
    assert_int_equal(d, 1);
}

static void
test_impossible_dates(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "2026-02-31",  "2026-04-31",  "2026-13-01", "2026-00-10", "2026-01-00",
        "2026-01-32",  "2026-1-05",   "26-01-05",   "2026/01/05", "2026-01-05x",
        " 2026-01-05", "2026-01-05 ", "",           "2026-01",    "+026-01-05",
    };
    int64_t ms = 42;
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        if (parse(bad[i], SY_TIME_LOOSE, &ms))
            fail_msg("accepted: '%s'", bad[i]);
    }
    assert_int_equal(ms, 42); /* untouched */
    assert_false(sy_time_parse(NULL, 10, SY_TIME_LOOSE, &ms));
}

static void
test_rfc3339(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(parse("1970-01-01T00:00:00Z", SY_TIME_RFC3339, &ms));
    assert_int_equal(ms, 0);
    assert_true(parse("2026-11-24T14:44:29.123Z", SY_TIME_RFC3339, &ms));
    assert_int_equal(ms, INT64_C(1795531469123));
    assert_true(parse("2026-11-24t14:44:29.1z", SY_TIME_RFC3339, &ms));
    assert_int_equal(ms, INT64_C(1795531469100));
    /* Digits past milliseconds are dropped, not rounded. */
    assert_true(parse("2026-11-24T14:44:29.123999999Z", SY_TIME_RFC3339, &ms));
    assert_int_equal(ms, INT64_C(1795531469123));
    /* Offsets: the same instant three ways. */
    assert_true(parse("2026-11-24T16:44:29+02:00", SY_TIME_RFC3339, &ms));
    assert_int_equal(ms, INT64_C(1795531469000));
    assert_true(parse("2026-11-24T09:14:29-05:30", SY_TIME_RFC3339, &ms));
    assert_int_equal(ms, INT64_C(1795531469000));
    /* A leap second is the next minute's first second. */
    assert_true(parse("2016-12-31T23:59:60Z", SY_TIME_RFC3339, &ms));
    assert_int_equal(ms, INT64_C(1483228800000));
    static const char *const bad[] = {
        "2026-11-24",                /* no time */
        "2026-11-24T14:44Z",         /* no seconds */
        "2026-11-24T14:44:29",       /* no zone */
        "2026-11-24 14:44:29Z",      /* space */
        "2026-11-24T24:00:00Z",      /* hour */
        "2026-11-24T14:60:00Z",      /* minute */
        "2026-11-24T14:44:61Z",      /* second */
        "2026-11-24T14:44:29.Z",     /* empty fraction */
        "2026-11-24T14:44:29+24:00", /* offset hour */
        "2026-11-24T14:44:29+02:60", /* offset minute */
        "2026-11-24T14:44:29+0200",  /* offset without ':' */
        "2026-11-24T14:44:29ZZ",     /* trailing */
        "2026-02-31T00:00:00Z",      /* no such day */
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        if (parse(bad[i], SY_TIME_RFC3339, &ms))
            fail_msg("accepted: '%s'", bad[i]);
    }
    /* Only the 'n' bytes given are read. */
    assert_true(
        sy_time_parse("2026-11-24T14:44:29Zjunk", 20, SY_TIME_RFC3339, &ms));
}

static void
test_loose(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(parse("2026-11-24", SY_TIME_LOOSE, &ms));
    assert_int_equal(ms, INT64_C(1795478400000));
    assert_true(parse("2026-11-24T14:44", SY_TIME_LOOSE, &ms));
    assert_int_equal(ms, INT64_C(1795531440000));
    assert_true(parse("2026-11-24 14:44:29", SY_TIME_LOOSE, &ms));
    assert_int_equal(ms, INT64_C(1795531469000));
    assert_true(parse("2026-11-24T14:44Z", SY_TIME_LOOSE, &ms));
    assert_true(parse("2026-11-24T14:44:29.5+01:00", SY_TIME_LOOSE, &ms));
    assert_int_equal(ms, INT64_C(1795527869500));
    assert_false(parse("2026-11-24T", SY_TIME_LOOSE, &ms));
    assert_false(parse("2026-11-24T14", SY_TIME_LOOSE, &ms));
    assert_false(parse("2026-11-24T14:44.5", SY_TIME_LOOSE, &ms));
    assert_false(parse("2026-11-24Z", SY_TIME_LOOSE, &ms));
}

static void
test_bounds(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(parse("0000-01-01T00:00:00Z", SY_TIME_RFC3339, &ms));
    assert_int_equal(ms, INT64_C(-62167219200000));
    assert_true(parse("9999-12-31T23:59:59.999Z", SY_TIME_RFC3339, &ms));
    assert_int_equal(ms, INT64_C(253402300799999));
    assert_true(parse("9999-12-31T23:59:60+00:00", SY_TIME_RFC3339, &ms));
    assert_true(parse("1969-12-31T23:59:59.999Z", SY_TIME_RFC3339, &ms));
    assert_int_equal(ms, -1);
    assert_true(parse("1970-01-01T00:59:59+01:00", SY_TIME_RFC3339, &ms));
    assert_int_equal(ms, -1000);
    assert_false(parse("10000-01-01", SY_TIME_LOOSE, &ms));
    assert_false(parse("-001-01-01", SY_TIME_LOOSE, &ms));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_round_trip),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_impossible_dates),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_loose),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests_name("time", tests, NULL, NULL);
}
