/*
 * buf.h - a growable byte buffer with a hard maximum (like curl's dynbuf),
 * and helpers to append formatted text and JSON-escaped strings.
 *
 * The data is always NUL-terminated after 'len' bytes. An append that
 * would pass 'max' fails with SY_ETOOBIG and leaves the contents
 * unchanged. Errors are sticky (like a stdio stream's error flag): the
 * first failed append marks the buffer failed, and every later append is
 * a no-op returning the same error, so a sequence of appends can be
 * checked once, where the buffer is used (sy_buf_failed / sy_buf_err),
 * and a failed buffer is never sent as if it were whole. sy_buf_clear,
 * sy_buf_free and sy_buf_init reset the error.
 * Never keep a pointer into 'data' across an append: it may move.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_BUF_H
#define SY_CORE_BUF_H

#include "sy.h"
#include "err.h"

struct sy_buf {
    char *data;      /* owned; NULL until the first append */
    size_t len;      /* bytes in use, not counting the NUL */
    size_t cap;      /* bytes allocated */
    size_t max;      /* hard limit on len */
    enum sy_err err; /* SY_OK, or the first failed append's error */
};

void sy_buf_init(struct sy_buf *b, size_t max);
void sy_buf_free(struct sy_buf *b);
void sy_buf_clear(struct sy_buf *b);
enum sy_err sy_buf_append(struct sy_buf *b, const void *p, size_t n);
enum sy_err sy_buf_puts(struct sy_buf *b, const char *s);
enum sy_err sy_buf_printf(struct sy_buf *b, const char *fmt, ...)
    SY_PRINTF(2, 3);
enum sy_err sy_buf_json_str(struct sy_buf *b, const char *s, size_t n);
size_t sy_buf_json_char(const char *s, size_t n, char esc[6],
                        const char **piece, size_t *adv);
void sy_buf_consume(struct sy_buf *b, size_t n);
const char *sy_buf_cstr(const struct sy_buf *b);
bool sy_buf_failed(const struct sy_buf *b);
enum sy_err sy_buf_err(const struct sy_buf *b);

#endif
