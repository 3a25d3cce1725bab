/*
 * time.h - calendar time in UTC: civil dates <-> day numbers (proleptic
 * Gregorian, days since 1970-01-01) and the one parser of written dates
 * and times (RFC 3339, and the looser ISO 8601 shapes people type). No
 * clock here (clock.h) and no time zone other than a numeric offset.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_TIME_H
#define SY_CORE_TIME_H

#include "sy.h"

#define SY_TIME_MS_PER_DAY INT64_C(86400000)

/* What sy_time_parse() accepts. Both take years 0000 to 9999, refuse a
 * date that does not exist (2026-02-31), and allow second 60 (a leap
 * second, counted as the first second of the next minute). */
enum sy_time_form {
    /* RFC 3339 date-time: "2026-11-24T14:44:29[.123...](Z|+hh:mm|-hh:mm)"
     * ('T' and 'Z' in either case). */
    SY_TIME_RFC3339,
    /* RFC 3339, or a bare date "2026-11-24" (midnight), ' ' for 'T',
     * minutes without seconds ("2026-11-24T14:44"), no zone (UTC). */
    SY_TIME_LOOSE
};

int64_t sy_time_days_from_civil(int64_t y, unsigned m, unsigned d);
void sy_time_civil_from_days(int64_t day, int64_t *y, unsigned *m, unsigned *d);
bool sy_time_parse(const char *s, size_t n, enum sy_time_form form,
                   int64_t *out_ms);

#endif
