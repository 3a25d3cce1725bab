/*
 * jsonline.c - a bounded JSON line writer (jsonline.h). Strings go
 * through the tree's one escaper (sy_buf_json_char, base/buf.c).
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "jsonline.h"
#include "buf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void
sy_jsonline_init(struct sy_jsonline *o, char *buf, size_t cap)
{
    o->p = buf;
    o->len = 0;
    o->cap = cap;
    o->full = false;
}

void
sy_jsonline_put(struct sy_jsonline *o, const char *s, size_t n)
{
    if (o->full || n > o->cap - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

void
sy_jsonline_puts(struct sy_jsonline *o, const char *s)
{
    sy_jsonline_put(o, s, strlen(s));
}

/* Append 's' as a JSON string (null for NULL), escaped by
 * sy_buf_json_char (quotes, backslashes and control characters escaped,
 * invalid UTF-8 bytes as \ufffd), cut after 'max' escaped bytes at a
 * character boundary. */
void
sy_jsonline_str(struct sy_jsonline *o, const char *s, size_t max)
{
    if (s == NULL) {
        sy_jsonline_puts(o, "null");
        return;
    }
    size_t n = strlen(s);
    size_t used = 0;
    sy_jsonline_put(o, "\"", 1);
    for (size_t i = 0; i < n;) {
        char esc[6];
        const char *piece;
        size_t adv;
        size_t plen = sy_buf_json_char(s + i, n - i, esc, &piece, &adv);
        if (used + plen > max)
            break;
        sy_jsonline_put(o, piece, plen);
        used += plen;
        i += adv;
    }
    sy_jsonline_put(o, "\"", 1);
}

void
sy_jsonline_i64(struct sy_jsonline *o, int64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRId64, v);
    sy_jsonline_puts(o, num);
}

void
sy_jsonline_u64(struct sy_jsonline *o, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRIu64, v);
    sy_jsonline_puts(o, num);
}

/* ',"name":' (no comma when the line holds only its opening brace). */
void
sy_jsonline_key(struct sy_jsonline *o, const char *name)
{
    if (o->len > 1)
        sy_jsonline_put(o, ",", 1);
    sy_jsonline_put(o, "\"", 1);
    sy_jsonline_puts(o, name);
    sy_jsonline_put(o, "\":", 2);
}

/* 'ms' since the epoch as RFC 3339 UTC with milliseconds
 * (SY_JSONLINE_TIME_LEN bytes and a NUL). 'out' has room for 64 bytes,
 * to keep the compiler's format-truncation check quiet about impossible
 * years. */
void
sy_jsonline_time(char out[64], uint64_t ms)
{
    time_t sec = (time_t)(ms / 1000u);
    struct tm tm;
    if (ms / 1000u > (uint64_t)253402300799u || gmtime_r(&sec, &tm) == NULL) {
        /* After 9999-12-31: not representable in RFC 3339. */
        memcpy(out, "9999-12-31T23:59:59.999Z", SY_JSONLINE_TIME_LEN + 1);
        return;
    }
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned)(ms % 1000u));
}
