/*
 * buf.c - bounded growable byte buffer.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "buf.h"
#include "mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Initialise an empty buffer that may hold at most 'max' bytes. */
void
sy_buf_init(struct sy_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

/* Free the storage; the buffer is empty and usable again. NULL-safe. */
void
sy_buf_free(struct sy_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

/* Forget the contents but keep the storage. */
void
sy_buf_clear(struct sy_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static enum sy_err
reserve(struct sy_buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return SY_ETOOBIG;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return SY_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    b->data = sy_xrealloc(b->data, cap);
    b->cap = cap;
    return SY_OK;
}

/* Append 'n' bytes. On SY_ETOOBIG the buffer is unchanged. */
enum sy_err
sy_buf_append(struct sy_buf *b, const void *p, size_t n)
{
    enum sy_err e = reserve(b, n);
    if (e != SY_OK)
        return e;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SY_OK;
}

enum sy_err
sy_buf_puts(struct sy_buf *b, const char *s)
{
    return sy_buf_append(b, s, strlen(s));
}

enum sy_err
sy_buf_printf(struct sy_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SY_EINTERNAL;
    enum sy_err e = reserve(b, (size_t)n);
    if (e != SY_OK)
        return e;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SY_OK;
}

/* Length of the well-formed UTF-8 sequence at 'p' (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || p[0] > 0xf4 || len > n)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
        return 0;
    return len;
}

/* Append 's' (n bytes) as a JSON string literal, quotes included. Control
 * characters are escaped; well-formed UTF-8 is copied as it is, and each
 * byte that is not part of it becomes \ufffd, so the document stays
 * valid JSON for strict clients even when 's' echoes what a caller sent
 * (a path in an error message: found by tests/fuzz/fuzz_request.c). On
 * SY_ETOOBIG part of the literal may have been appended. */
enum sy_err
sy_buf_json_str(struct sy_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    enum sy_err e = sy_buf_append(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n && e == SY_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t elen = 0;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            elen = 2;
        } else if (c == '\r') {
            memcpy(esc, "\\r", 2);
            elen = 2;
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2);
            elen = 2;
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        } else if (c >= 0x80) {
            size_t ulen = utf8_seq((const unsigned char *)s + i, n - i);
            if (ulen > 0) {
                i += ulen - 1;
                continue;
            }
            memcpy(esc, "\\ufffd", 6);
            elen = 6;
        } else {
            continue;
        }
        e = sy_buf_append(b, s + start, i - start);
        if (e == SY_OK)
            e = sy_buf_append(b, esc, elen);
        start = i + 1;
    }
    if (e == SY_OK)
        e = sy_buf_append(b, s + start, n - start);
    if (e == SY_OK)
        e = sy_buf_append(b, "\"", 1);
    return e;
}

/* Drop the first 'n' bytes (a consumed prefix), keeping the rest. */
void
sy_buf_consume(struct sy_buf *b, size_t n)
{
    if (n >= b->len) {
        sy_buf_clear(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

/* The contents as a C string ("" when nothing was appended). */
const char *
sy_buf_cstr(const struct sy_buf *b)
{
    return b->data != NULL ? b->data : "";
}
