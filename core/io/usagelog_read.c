/*
 * usagelog_read.c - reading the usage log back (switchyard spend): a
 * strict parser of the one-line JSON records usagelog.c writes (no
 * json-c: bounded fields, unknown members skipped) and a reader that
 * skips and counts lines it cannot use.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "usagelog.h"
#include "usagelog_int.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Parsing a line                                                      */

struct cur {
    const char *p;
    const char *end;
};

static void
skip_ws(struct cur *c)
{
    while (c->p < c->end &&
           (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static bool
eat(struct cur *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static bool
read_hex4(struct cur *c, unsigned *out)
{
    if (c->end - c->p < 4)
        return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = sy_hexval(c->p[i]);
        if (h < 0)
            return false;
        v = v << 4 | (unsigned)h;
    }
    c->p += 4;
    *out = v;
    return true;
}

/* Append code point 'cp' as UTF-8 to dst (room is checked by the
 * caller: 4 bytes). */
static size_t
put_utf8(char *dst, unsigned cp)
{
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xc0 | cp >> 6);
        dst[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xe0 | cp >> 12);
        dst[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        dst[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    dst[0] = (char)(0xf0 | cp >> 18);
    dst[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    dst[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    dst[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parse a JSON string at the cursor, decoding it into 'dst' ('cap'
 * bytes, NUL-terminated; 'dst' NULL only validates). '*len' gets the
 * decoded length. False on a syntax error or when 'dst' is too small.
 * \u0000 and lone surrogates decode as U+FFFD. */
static bool
parse_string(struct cur *c, char *dst, size_t cap, size_t *len)
{
    size_t n = 0;
    if (!eat(c, '"'))
        return false;
    while (c->p < c->end) {
        char tmp[4];
        size_t k;
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"') {
            if (dst != NULL) {
                if (n + 1 > cap)
                    return false;
                dst[n] = '\0';
            }
            *len = n;
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch != '\\') {
            tmp[0] = (char)ch;
            k = 1;
        } else {
            if (c->p >= c->end)
                return false;
            char e = *c->p++;
            unsigned cp;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                cp = (unsigned char)e;
                break;
            case 'b':
                cp = '\b';
                break;
            case 'f':
                cp = '\f';
                break;
            case 'n':
                cp = '\n';
                break;
            case 'r':
                cp = '\r';
                break;
            case 't':
                cp = '\t';
                break;
            case 'u':
                if (!read_hex4(c, &cp))
                    return false;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    unsigned lo;
                    struct cur save = *c;
                    if (c->end - c->p >= 2 && c->p[0] == '\\' &&
                        c->p[1] == 'u') {
                        c->p += 2;
                        if (read_hex4(c, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                            cp =
                                0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        } else {
                            *c = save;
                            cp = 0xfffd;
                        }
                    } else {
                        cp = 0xfffd;
                    }
                } else if (cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
                    cp = 0xfffd;
                }
                break;
            default:
                return false;
            }
            k = put_utf8(tmp, cp);
        }
        if (dst != NULL) {
            if (n + k + 1 > cap)
                return false;
            memcpy(dst + n, tmp, k);
        }
        n += k;
    }
    return false;
}

/* A JSON integer (no fraction, no exponent) in [min, max]. */
static bool
parse_int(struct cur *c, int64_t min, int64_t max, int64_t *out)
{
    skip_ws(c);
    const char *s = c->p;
    if (s < c->end && *s == '-')
        s++;
    if (s >= c->end || *s < '0' || *s > '9')
        return false;
    while (s < c->end && *s >= '0' && *s <= '9')
        s++;
    if (s < c->end && (*s == '.' || *s == 'e' || *s == 'E'))
        return false;
    char buf[24];
    size_t n = (size_t)(s - c->p);
    if (n >= sizeof(buf))
        return false;
    memcpy(buf, c->p, n);
    buf[n] = '\0';
    errno = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    c->p = s;
    *out = v;
    return true;
}

static bool
eat_word(struct cur *c, const char *w)
{
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* Skip any JSON value (a member a later version added). Containers are
 * skipped by counting brackets outside strings, up to 32 deep. */
static bool
skip_value(struct cur *c)
{
    size_t len;
    skip_ws(c);
    if (c->p >= c->end)
        return false;
    char ch = *c->p;
    if (ch == '"')
        return parse_string(c, NULL, 0, &len);
    if (ch == 't')
        return eat_word(c, "true");
    if (ch == 'f')
        return eat_word(c, "false");
    if (ch == 'n')
        return eat_word(c, "null");
    if (ch == '{' || ch == '[') {
        int depth = 0;
        while (c->p < c->end) {
            ch = *c->p;
            if (ch == '"') {
                if (!parse_string(c, NULL, 0, &len))
                    return false;
                continue;
            }
            c->p++;
            if (ch == '{' || ch == '[') {
                if (++depth > 32)
                    return false;
            } else if (ch == '}' || ch == ']') {
                if (--depth == 0)
                    return true;
            }
        }
        return false;
    }
    const char *s = c->p;
    while (c->p < c->end && strchr("+-.eE0123456789", *c->p) != NULL)
        c->p++;
    return c->p > s;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" to ms since the epoch. */
static bool
parse_time(const char *s, size_t len, uint64_t *out)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (len != TIME_LEN)
        return false;
    for (size_t i = 0; i < TIME_LEN; i++) {
        bool digit = s[i] >= '0' && s[i] <= '9';
        if (shape[i] == 'd' ? !digit : s[i] != shape[i])
            return false;
    }
#define NUM2(i) ((s[i] - '0') * 10 + (s[(i) + 1] - '0'))
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = NUM2(0) * 100 + NUM2(2) - 1900;
    tm.tm_mon = NUM2(5) - 1;
    tm.tm_mday = NUM2(8);
    tm.tm_hour = NUM2(11);
    tm.tm_min = NUM2(14);
    tm.tm_sec = NUM2(17);
    int ms = NUM2(20) * 10 + (s[22] - '0');
#undef NUM2
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    time_t t = timegm(&tm);
    if (t < 0)
        return false;
    *out = (uint64_t)t * 1000u + (uint64_t)ms;
    return true;
}

/* Parse one line ('len' bytes, without the newline) into '*out'. The
 * strings are decoded into 'scratch' ('scratchlen' >= len + 1 always
 * suffices) and borrowed from it. Members may come in any order;
 * unknown members are skipped; "v" and "time" are required. False when
 * the line is not such an object ('*out' is then unspecified). */
bool
sy_usagelog_parse(const char *line, size_t len, char *scratch,
                  size_t scratchlen, struct sy_usage_record *out)
{
    struct cur c = { line, line + len };
    size_t used = 0;
    bool have_v = false;
    bool have_time = false;
    memset(out, 0, sizeof(*out));
    if (!eat(&c, '{'))
        return false;
    if (eat(&c, '}'))
        return false;
    do {
        char key[32];
        size_t klen;
        struct cur kc = c;
        if (!parse_string(&kc, key, sizeof(key), &klen)) {
            /* A long unknown name, or a syntax error. */
            if (!parse_string(&c, NULL, 0, &klen))
                return false;
            key[0] = '\0';
        } else {
            c = kc;
        }
        if (!eat(&c, ':'))
            return false;
        const struct sy_usagelog_field *f = NULL;
        for (size_t i = 0; i < sy_usagelog_nfields && key[0] != '\0'; i++) {
            if (strcmp(sy_usagelog_fields[i].name, key) == 0)
                f = &sy_usagelog_fields[i];
        }
        int64_t v;
        if (strcmp(key, "v") == 0) {
            if (!parse_int(&c, 1, INT32_MAX, &v))
                return false;
            have_v = true;
            continue;
        }
        if (f == NULL) {
            if (!skip_value(&c))
                return false;
            continue;
        }
        char *base = (char *)out + f->off;
        switch (f->type) {
        case F_TIME:
        case F_STR: {
            size_t slen;
            if (f->type == F_STR && eat_word(&c, "null")) {
                const char *nul = NULL;
                memcpy(base, &nul, sizeof(nul));
                break;
            }
            char *dst = scratch + used;
            if (!parse_string(&c, dst, scratchlen - used, &slen))
                return false;
            if (f->type == F_TIME) {
                uint64_t ms;
                if (!parse_time(dst, slen, &ms))
                    return false;
                memcpy(base, &ms, sizeof(ms));
                have_time = true;
                break;
            }
            const char *s = dst;
            memcpy(base, &s, sizeof(s));
            used += slen + 1;
            break;
        }
        case F_I64:
            if (!parse_int(&c, INT64_MIN, INT64_MAX, &v))
                return false;
            memcpy(base, &v, sizeof(v));
            break;
        case F_INT: {
            if (!parse_int(&c, INT32_MIN, INT32_MAX, &v))
                return false;
            int x = (int)v;
            memcpy(base, &x, sizeof(x));
            break;
        }
        case F_UINT: {
            if (!parse_int(&c, 0, UINT32_MAX, &v))
                return false;
            unsigned x = (unsigned)v;
            memcpy(base, &x, sizeof(x));
            break;
        }
        }
    } while (eat(&c, ','));
    if (!eat(&c, '}'))
        return false;
    skip_ws(&c);
    return c.p == c.end && have_v && have_time;
}

/* ------------------------------------------------------------------ */
/* Reading a log                                                       */

#define READ_LINE_MAX (64 * 1024) /* longer lines are skipped as bad */

/* The last '{"v":' in [line, line + len) after position 0, or NULL. */
static const char *
last_record_start(const char *line, size_t len)
{
    static const char mark[] = "{\"v\":";
    const size_t mlen = sizeof(mark) - 1;
    for (size_t i = len >= mlen ? len - mlen : 0; i > 0; i--) {
        if (memcmp(line + i, mark, mlen) == 0)
            return line + i;
    }
    return NULL;
}

struct reader {
    sy_usagelog_fn fn;
    void *ctx;
    struct sy_usagelog_read_stats *st;
    char *scratch; /* READ_LINE_MAX + 1 bytes */
    bool stop;
};

static void
read_line(struct reader *rd, const char *line, size_t len)
{
    struct sy_usage_record rec;
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (len == 0)
        return; /* empty line (after a torn one): nothing lost */
    if (sy_usagelog_parse(line, len, rd->scratch, READ_LINE_MAX + 1, &rec)) {
        rd->st->records++;
        rd->stop = !rd->fn(&rec, rd->ctx);
        return;
    }
    /* A torn line followed by a whole record from another writer. */
    const char *start = last_record_start(line, len);
    if (start != NULL &&
        sy_usagelog_parse(start, len - (size_t)(start - line), rd->scratch,
                          READ_LINE_MAX + 1, &rec)) {
        rd->st->records++;
        rd->st->recovered++;
        rd->st->bad_lines++; /* the torn prefix was a lost line */
        rd->stop = !rd->fn(&rec, rd->ctx);
        return;
    }
    rd->st->bad_lines++;
}

/* Read the log at 'path' and call 'fn' (with 'ctx') for every record, in
 * file order, until it returns false. Complete lines that do not parse
 * are skipped and counted; so is an unfinished last line (a writer may
 * be appending it right now). 'stats' (may be NULL) gets the counts.
 * Returns SY_OK, SY_ENOTFOUND when the file does not exist, or
 * SY_EINTERNAL on an I/O error (with 'err' set; records before the error
 * have been passed to 'fn'). Record strings live until 'fn' returns. */
enum sy_err
sy_usagelog_read(const char *path, sy_usagelog_fn fn, void *ctx,
                 struct sy_usagelog_read_stats *stats, char *err, size_t errlen)
{
    struct sy_usagelog_read_stats local;
    struct sy_usagelog_read_stats *st = stats != NULL ? stats : &local;
    memset(st, 0, sizeof(*st));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "usage log %s: %s", path, strerror(e));
        return e == ENOENT ? SY_ENOTFOUND : SY_EINTERNAL;
    }
    struct reader rd = { .fn = fn, .ctx = ctx, .st = st, .stop = false };
    rd.scratch = sy_xmalloc(READ_LINE_MAX + 1);
    char *buf = sy_xmalloc(READ_LINE_MAX);
    size_t len = 0;
    bool discard = false; /* inside an over-long line */
    enum sy_err rc = SY_OK;
    while (!rd.stop) {
        ssize_t n = read(fd, buf + len, READ_LINE_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "usage log %s: %s", path, strerror(errno));
            rc = SY_EINTERNAL;
            break;
        }
        if (n == 0) {
            if (len > 0 || discard)
                st->truncated_tail = true;
            break;
        }
        len += (size_t)n;
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', len - start);
            if (nl == NULL)
                break;
            size_t end = (size_t)(nl - buf);
            if (discard) {
                discard = false;
                st->bad_lines++;
            } else {
                read_line(&rd, buf + start, end - start);
            }
            start = end + 1;
            if (rd.stop)
                break;
        }
        memmove(buf, buf + start, len - start);
        len -= start;
        if (len == READ_LINE_MAX) {
            discard = true; /* no newline in a full buffer */
            len = 0;
        }
    }
    free(buf);
    free(rd.scratch);
    close(fd);
    return rc;
}
