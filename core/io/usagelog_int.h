/*
 * usagelog_int.h - what the writer (usagelog.c) and the reader
 * (usagelog_read.c) of the usage log share: the members of a line, in
 * the order written, and the length of its time stamp.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_USAGELOG_INT_H
#define SY_CORE_USAGELOG_INT_H

#include "base/sy.h"

#include <stddef.h>

enum sy_usagelog_ftype {
    F_TIME, /* uint64_t ms, as an RFC 3339 string */
    F_STR,  /* const char *, or null */
    F_I64,  /* int64_t */
    F_INT,  /* int */
    F_UINT  /* unsigned */
};

/* The members after "v": the JSON name, how the value is encoded, where
 * it lives in struct sy_usage_record. */
struct sy_usagelog_field {
    const char *name;
    enum sy_usagelog_ftype type;
    size_t off;
};

extern const struct sy_usagelog_field sy_usagelog_fields[];
extern const size_t sy_usagelog_nfields;

#define TIME_LEN 24 /* "2026-11-24T14:44:29.123Z" */

#endif
