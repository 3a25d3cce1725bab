/*
 * usagelog.c - the append-only usage log: formats a settled request as
 * one JSON line, appends it with one write(2) on an O_APPEND descriptor,
 * and reads a log back for reports. Works with cost.c (the amounts) and
 * the pipeline (which fills the records); no json-c, no locks.
 *
 * Line format, one object per line, members in this order:
 *
 *   {"v":1,"time":"2026-11-24T14:44:29.123Z","request_id":"r-1",
 *    "key":"ci-bot","team":"ml","group":"chat","deployment":"gpt4o-east",
 *    "provider":"openai","prompt_tokens":1200,"completion_tokens":300,
 *    "cached_tokens":1024,"reasoning_tokens":0,"cost_micro_usd":4280,
 *    "status":200,"error":null,"attempts":1}
 *
 * "time" is RFC 3339 UTC with milliseconds; a string member may be null;
 * strings are valid UTF-8 (an invalid byte is written as \ufffd) cut to
 * SY_USAGELOG_FIELD_MAX escaped bytes at a character boundary, so that a
 * line never exceeds SY_USAGELOG_LINE_MAX (4 KiB) bytes.
 *
 * Concurrency. Every line is one write(2) of the whole line on a
 * descriptor opened with O_APPEND: the kernel picks the offset and
 * copies the line as one piece, so the threads of a process and the
 * processes of a host may share one file and no line interleaves with
 * another (Linux serialises writes to a regular file; a pipe or FIFO
 * guarantees it below PIPE_BUF = 4 KiB, which a line never reaches). A
 * short write (disk full) leaves a torn line: the writer ends it with a
 * newline and the reader skips it, or finds the whole record that
 * another process appended right after the torn part (it restarts at the
 * last '{"v":', which never occurs inside a string because quotes are
 * escaped there).
 *
 * Rotation: rename the file, then sy_usagelog_reopen() (for example on
 * SIGHUP), or copy-and-truncate it (O_APPEND writes follow the truncation).
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "usagelog.h"
#include "clock.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sy_usagelog {
    int fd;                  /* O_APPEND; the number never changes (reopen
                                replaces the file under it with dup2) */
    char *path;              /* owned */
    _Atomic uint64_t written;
    _Atomic uint64_t failed;
    atomic_bool failing;     /* the last write failed (log once per spell) */
};

/* ------------------------------------------------------------------ */
/* The members of a line                                               */

enum field_type {
    F_TIME, /* uint64_t ms, as an RFC 3339 string */
    F_STR,  /* const char *, or null */
    F_I64,  /* int64_t */
    F_INT,  /* int */
    F_UINT  /* unsigned */
};

/* The members after "v", in the order written. Columns: the JSON name,
 * how the value is encoded, where it lives in struct sy_usage_record. */
static const struct field {
    const char *name;
    enum field_type type;
    size_t off;
} fields[] = {
    {"time", F_TIME, offsetof(struct sy_usage_record, time_ms)},
    {"request_id", F_STR, offsetof(struct sy_usage_record, request_id)},
    {"key", F_STR, offsetof(struct sy_usage_record, key_name)},
    {"team", F_STR, offsetof(struct sy_usage_record, team)},
    {"group", F_STR, offsetof(struct sy_usage_record, group)},
    {"deployment", F_STR, offsetof(struct sy_usage_record, deployment)},
    {"provider", F_STR, offsetof(struct sy_usage_record, provider)},
    {"prompt_tokens", F_I64,
     offsetof(struct sy_usage_record, prompt_tokens)},
    {"completion_tokens", F_I64,
     offsetof(struct sy_usage_record, completion_tokens)},
    {"cached_tokens", F_I64,
     offsetof(struct sy_usage_record, cached_tokens)},
    {"reasoning_tokens", F_I64,
     offsetof(struct sy_usage_record, reasoning_tokens)},
    {"cost_micro_usd", F_I64,
     offsetof(struct sy_usage_record, cost_micro_usd)},
    {"status", F_INT, offsetof(struct sy_usage_record, status)},
    {"error", F_STR, offsetof(struct sy_usage_record, error)},
    {"attempts", F_UINT, offsetof(struct sy_usage_record, attempts)},
};

#define TIME_LEN 24 /* "2026-11-24T14:44:29.123Z" */

/* ------------------------------------------------------------------ */
/* Writing a line                                                      */

/* A bounded output buffer: appends past 'cap' set 'full' and are lost. */
struct out {
    char *p;
    size_t len;
    size_t cap;
    bool full;
};

static void
out_put(struct out *o, const char *s, size_t n)
{
    if (o->full || n > o->cap - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void
out_puts(struct out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

/* The length of the valid UTF-8 sequence at 's' ('n' bytes left), or 0
 * when it is not one (overlong forms and surrogates included). */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return len;
}

/* Append 's' as a JSON string (null for NULL): quotes, backslashes and
 * control characters escaped, invalid UTF-8 bytes as \ufffd, cut after
 * SY_USAGELOG_FIELD_MAX escaped bytes at a character boundary. */
static void
out_json_str(struct out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (s == NULL) {
        out_puts(o, "null");
        return;
    }
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    size_t used = 0;
    out_put(o, "\"", 1);
    for (size_t i = 0; i < n;) {
        char esc[8];
        const char *piece = esc;
        size_t plen;
        size_t adv = 1;
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            plen = 2;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            plen = 2;
        } else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            plen = 6;
        } else {
            adv = utf8_len(u + i, n - i);
            if (adv == 0) {
                piece = "\\ufffd";
                plen = 6;
                adv = 1;
            } else {
                piece = s + i;
                plen = adv;
            }
        }
        if (used + plen > SY_USAGELOG_FIELD_MAX)
            break;
        out_put(o, piece, plen);
        used += plen;
        i += adv;
    }
    out_put(o, "\"", 1);
}

/* 'out' has room for 64 bytes (more than TIME_LEN + 1, to keep the
 * compiler's format-truncation check quiet about impossible years). */
static void
format_time(uint64_t ms, char *out)
{
    time_t sec = (time_t)(ms / 1000u);
    struct tm tm;
    if (ms / 1000u > (uint64_t)253402300799u || gmtime_r(&sec, &tm) == NULL) {
        /* After 9999-12-31: not representable in RFC 3339. */
        memcpy(out, "9999-12-31T23:59:59.999Z", TIME_LEN + 1);
        return;
    }
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000u));
}

/* Format 'r' as one line, newline included, into 'out' ('outlen'
 * bytes; not NUL-terminated). Returns the length, or 0 when it does not
 * fit (never with outlen >= SY_USAGELOG_LINE_MAX). 'r->time_ms' is
 * written as it is (0 is 1970-01-01T00:00:00.000Z). */
size_t
sy_usagelog_format(const struct sy_usage_record *r, char *out,
                   size_t outlen)
{
    struct out o = {.p = out, .len = 0, .cap = outlen, .full = false};
    char num[32];
    snprintf(num, sizeof(num), "{\"v\":%d", SY_USAGELOG_VERSION);
    out_puts(&o, num);
    for (size_t i = 0; i < SY_ARRAY_LEN(fields); i++) {
        const struct field *f = &fields[i];
        const char *base = (const char *)r + f->off;
        out_puts(&o, ",\"");
        out_puts(&o, f->name);
        out_puts(&o, "\":");
        switch (f->type) {
        case F_TIME: {
            char t[64];
            uint64_t ms;
            memcpy(&ms, base, sizeof(ms));
            format_time(ms, t);
            out_put(&o, "\"", 1);
            out_put(&o, t, TIME_LEN);
            out_put(&o, "\"", 1);
            break;
        }
        case F_STR: {
            const char *s;
            memcpy(&s, base, sizeof(s));
            out_json_str(&o, s);
            break;
        }
        case F_I64: {
            int64_t v;
            memcpy(&v, base, sizeof(v));
            snprintf(num, sizeof(num), "%" PRId64, v);
            out_puts(&o, num);
            break;
        }
        case F_INT: {
            int v;
            memcpy(&v, base, sizeof(v));
            snprintf(num, sizeof(num), "%d", v);
            out_puts(&o, num);
            break;
        }
        case F_UINT: {
            unsigned v;
            memcpy(&v, base, sizeof(v));
            snprintf(num, sizeof(num), "%u", v);
            out_puts(&o, num);
            break;
        }
        }
    }
    out_put(&o, "}\n", 2);
    return o.full ? 0 : o.len;
}

/* ------------------------------------------------------------------ */
/* The log file                                                        */

static int
open_append(const char *path)
{
    /* O_NOFOLLOW: a symlink planted at the path (e.g. to a file the
     * gateway's user may write) is refused, not written through. */
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                0640);
}

/* Open (creating it, mode 0640) the log at 'path' for appending. Returns
 * the log, owned by the caller (sy_usagelog_close), or NULL with a
 * message in 'err' when the file cannot be opened. */
struct sy_usagelog *
sy_usagelog_open(const char *path, char *err, size_t errlen)
{
    int fd = open_append(path);
    if (fd < 0) {
        snprintf(err, errlen, "usage log %s: %s", path,
                 errno == ELOOP ? "is a symbolic link; refusing to follow it"
                                : strerror(errno));
        return NULL;
    }
    struct sy_usagelog *l = sy_xcalloc(1, sizeof(*l));
    l->fd = fd;
    l->path = sy_xstrdup(path);
    atomic_init(&l->written, 0);
    atomic_init(&l->failed, 0);
    atomic_init(&l->failing, false);
    return l;
}

/* Open the path again and put the new file under the same descriptor
 * (dup2 is atomic: a concurrent write goes wholly to the old file or
 * wholly to the new one). For rotation by rename. On failure the log
 * keeps writing to the old file and 'err' says why (SY_EINTERNAL). */
enum sy_err
sy_usagelog_reopen(struct sy_usagelog *l, char *err, size_t errlen)
{
    int fd = open_append(l->path);
    if (fd < 0) {
        snprintf(err, errlen, "usage log %s: %s", l->path, strerror(errno));
        return SY_EINTERNAL;
    }
    int rc = dup3(fd, l->fd, O_CLOEXEC);
    int saved = errno;
    close(fd);
    if (rc < 0) {
        snprintf(err, errlen, "usage log %s: %s", l->path, strerror(saved));
        return SY_EINTERNAL;
    }
    return SY_OK;
}

static void
note_failure(struct sy_usagelog *l, const char *why)
{
    atomic_fetch_add(&l->failed, 1);
    if (!atomic_exchange(&l->failing, true))
        sy_log_error(NULL, "usage log %s: %s (lines are being lost)",
                     l->path, why);
}

/* Append record 'r' as one line (time 0 = now). Thread-safe; never
 * blocks on a lock; a failure is counted and logged once per spell of
 * failures, never returned: usage logging must not fail a request.
 * 'l' NULL (no log configured) does nothing. */
void
sy_usagelog_write(struct sy_usagelog *l, const struct sy_usage_record *r)
{
    if (l == NULL)
        return;
    struct sy_usage_record rec = *r;
    if (rec.time_ms == 0)
        rec.time_ms = sy_wall_ms();
    char line[SY_USAGELOG_LINE_MAX];
    size_t len = sy_usagelog_format(&rec, line, sizeof(line));
    if (len == 0) {
        note_failure(l, "line too long"); /* cannot happen: see FIELD_MAX */
        return;
    }
    ssize_t w;
    do {
        w = write(l->fd, line, len);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        note_failure(l, strerror(errno));
        return;
    }
    if ((size_t)w < len) {
        /* Torn line: end it so that the next one starts on its own. */
        ssize_t nl SY_UNUSED = write(l->fd, "\n", 1);
        note_failure(l, "short write");
        return;
    }
    atomic_fetch_add(&l->written, 1);
    if (atomic_load(&l->failing) && atomic_exchange(&l->failing, false))
        sy_log_info(NULL, "usage log %s: writing again", l->path);
}

void
sy_usagelog_get_stats(const struct sy_usagelog *l,
                      struct sy_usagelog_stats *out)
{
    out->written = atomic_load(&l->written);
    out->failed = atomic_load(&l->failed);
}

/* Close the log ('l' may be NULL). No thread may be writing. */
void
sy_usagelog_close(struct sy_usagelog *l)
{
    if (l == NULL)
        return;
    close(l->fd);
    free(l->path);
    free(l);
}

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
            case '"': case '\\': case '/':
                cp = (unsigned char)e;
                break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                if (!read_hex4(c, &cp))
                    return false;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    unsigned lo;
                    struct cur save = *c;
                    if (c->end - c->p >= 2 && c->p[0] == '\\' &&
                        c->p[1] == 'u') {
                        c->p += 2;
                        if (read_hex4(c, &lo) && lo >= 0xdc00 &&
                            lo <= 0xdfff) {
                            cp = 0x10000 + ((cp - 0xd800) << 10) +
                                 (lo - 0xdc00);
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
    struct cur c = {line, line + len};
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
        const struct field *f = NULL;
        for (size_t i = 0; i < SY_ARRAY_LEN(fields) && key[0] != '\0'; i++) {
            if (strcmp(fields[i].name, key) == 0)
                f = &fields[i];
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
                 struct sy_usagelog_read_stats *stats, char *err,
                 size_t errlen)
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
    struct reader rd = {.fn = fn, .ctx = ctx, .st = st, .stop = false};
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
