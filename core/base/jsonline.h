/*
 * jsonline.h - build one bounded JSON line in a caller's fixed buffer:
 * the shared writer of the usage log (io/usagelog.c) and the access log
 * (io/accesslog.c). Appends past the capacity are lost and mark the line
 * 'full', so a caller checks once at the end. No allocation, no I/O.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_JSONLINE_H
#define SY_CORE_JSONLINE_H

#include "sy.h"

#define SY_JSONLINE_TIME_LEN 24 /* "2026-11-24T14:44:29.123Z" */

struct sy_jsonline {
    char *p;    /* borrowed: the caller's buffer */
    size_t len; /* bytes written */
    size_t cap;
    bool full; /* an append did not fit: the line is incomplete */
};

void sy_jsonline_init(struct sy_jsonline *o, char *buf, size_t cap);
void sy_jsonline_put(struct sy_jsonline *o, const char *s, size_t n);
void sy_jsonline_puts(struct sy_jsonline *o, const char *s);
void sy_jsonline_str(struct sy_jsonline *o, const char *s, size_t max);
void sy_jsonline_i64(struct sy_jsonline *o, int64_t v);
void sy_jsonline_u64(struct sy_jsonline *o, uint64_t v);
void sy_jsonline_key(struct sy_jsonline *o, const char *name);
void sy_jsonline_time(char out[64], uint64_t ms);

#endif
