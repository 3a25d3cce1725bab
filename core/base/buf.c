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
    b->err = SY_OK;
}

/* Free the storage; the buffer is empty, not failed, and usable again.
 * NULL-safe. */
void
sy_buf_free(struct sy_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = SY_OK;
}

/* Forget the contents and any error, but keep the storage. */
void
sy_buf_clear(struct sy_buf *b)
{
    b->len = 0;
    b->err = SY_OK;
    if (b->data != NULL)
        b->data[0] = '\0';
}

/* Mark 'b' failed with 'e' (the first error wins) and return its error. */
static enum sy_err
fail(struct sy_buf *b, enum sy_err e)
{
    if (b->err == SY_OK)
        b->err = e;
    return b->err;
}

/* Room for 'n' more bytes and the NUL, or the buffer's (sticky) error. */
static enum sy_err
reserve(struct sy_buf *b, size_t n)
{
    if (b->err != SY_OK)
        return b->err;
    if (n > b->max || b->len > b->max - n)
        return fail(b, SY_ETOOBIG);
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

/* Append 'n' bytes. On SY_ETOOBIG the contents are unchanged and the
 * buffer is failed; on a failed buffer, nothing happens and its error is
 * returned. */
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

/* Append the C string 's' (see sy_buf_append). */
enum sy_err
sy_buf_puts(struct sy_buf *b, const char *s)
{
    return sy_buf_append(b, s, strlen(s));
}

/* Append formatted text (see sy_buf_append); a format error fails the
 * buffer with SY_EINTERNAL. */
enum sy_err
sy_buf_printf(struct sy_buf *b, const char *fmt, ...)
{
    if (b->err != SY_OK)
        return b->err;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return fail(b, SY_EINTERNAL);
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

/* The JSON string form of the character at 's' ('n' > 0 bytes left),
 * the one escaping rule of the tree: quotes, backslashes and control
 * characters are escaped, well-formed UTF-8 is kept as it is, and each
 * byte that is not part of it becomes \ufffd. '*piece' gets the form
 * ('s' itself when kept, else 'esc') and its length is returned; '*adv'
 * gets the bytes of 's' it stands for. Used by sy_buf_json_str and by
 * writers that cut a string at a character boundary (the usage log). */
size_t
sy_buf_json_char(const char *s, size_t n, char esc[6], const char **piece,
                 size_t *adv)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = (unsigned char)s[0];
    *piece = esc;
    *adv = 1;
    if (c == '"' || c == '\\') {
        esc[0] = '\\';
        esc[1] = (char)c;
        return 2;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
        esc[0] = '\\';
        esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        return 2;
    }
    if (c < 0x20) {
        memcpy(esc, "\\u00", 4);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        return 6;
    }
    size_t len = c < 0x80 ? 1 : utf8_seq((const unsigned char *)s, n);
    if (len == 0) {
        memcpy(esc, "\\ufffd", 6);
        return 6;
    }
    *piece = s;
    *adv = len;
    return len;
}

/* Append 's' (n bytes) as a JSON string literal, quotes included, by
 * sy_buf_json_char(): the document stays valid JSON for strict clients
 * even when 's' echoes what a caller sent (a path in an error message:
 * found by tests/fuzz/fuzz_request.c). On SY_ETOOBIG part of the literal
 * may have been appended, and the buffer is failed. */
enum sy_err
sy_buf_json_str(struct sy_buf *b, const char *s, size_t n)
{
    enum sy_err e = sy_buf_append(b, "\"", 1);
    size_t start = 0; /* bytes from here to 'i' are kept as they are */
    for (size_t i = 0; i < n && e == SY_OK;) {
        char esc[6];
        const char *piece;
        size_t adv;
        size_t plen = sy_buf_json_char(s + i, n - i, esc, &piece, &adv);
        if (piece == esc) {
            e = sy_buf_append(b, s + start, i - start);
            if (e == SY_OK)
                e = sy_buf_append(b, esc, plen);
            start = i + adv;
        }
        i += adv;
    }
    if (e == SY_OK)
        e = sy_buf_append(b, s + start, n - start);
    if (e == SY_OK)
        e = sy_buf_append(b, "\"", 1);
    return e;
}

/* Drop the first 'n' bytes (a consumed prefix), keeping the rest and
 * any error. */
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

/* The contents as a C string ("" when nothing was appended). On a failed
 * buffer these are only what fitted: check sy_buf_failed first wherever
 * the contents leave the process or are parsed. */
const char *
sy_buf_cstr(const struct sy_buf *b)
{
    return b->data != NULL ? b->data : "";
}

/* Did an append fail since the last init, clear or free? */
bool
sy_buf_failed(const struct sy_buf *b)
{
    return b->err != SY_OK;
}

/* The first failed append's error (SY_ETOOBIG past 'max', SY_EINTERNAL
 * for a format error), or SY_OK. */
enum sy_err
sy_buf_err(const struct sy_buf *b)
{
    return b->err;
}
