/*
 * usagelog_read.c - reading the usage log back (switchyard spend): each
 * one-line JSON record usagelog.c writes goes through the strict JSON
 * parse and json-c into a struct sy_usage_record (unknown members
 * skipped), and a reader skips and counts lines it cannot use.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "usagelog.h"
#include "usagelog_int.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/json_strict.h"
#include "base/limits.h"
#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Parsing a line                                                      */

/* A JSON integer (not a number with a fraction or an exponent) within
 * [min, max]. json-c reads a value past INT64_MAX as INT64_MAX (and
 * keeps the true value as unsigned): refused. */
static bool
get_int(struct json_object *v, int64_t min, int64_t max, int64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return false;
    int64_t x = json_object_get_int64(v);
    if (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
        return false;
    if (x < min || x > max)
        return false;
    *out = x;
    return true;
}

/* Copy string 'v' into 'scratch' at '*used' ('cap' bytes in all) as a C
 * string: a \u0000 inside becomes U+FFFD, so that nothing is cut. */
static bool
get_str(struct json_object *v, char *scratch, size_t cap, size_t *used,
        const char **out)
{
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    size_t need = n + 1;
    for (size_t i = 0; i < n; i++)
        need += s[i] == '\0' ? 2 : 0;
    if (need > cap - *used)
        return false;
    char *dst = scratch + *used;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0') {
            memcpy(dst + o, "\xef\xbf\xbd", 3);
            o += 3;
        } else {
            dst[o++] = s[i];
        }
    }
    dst[o] = '\0';
    *used += need;
    *out = dst;
    return true;
}

/* Member 'v' of field 'f' into the record. */
static bool
get_field(const struct sy_usagelog_field *f, struct json_object *v,
          char *scratch, size_t cap, size_t *used, struct sy_usage_record *out)
{
    char *base = (char *)out + f->off;
    int64_t x;
    switch (f->type) {
    case F_TIME: {
        int64_t ms;
        if (!json_object_is_type(v, json_type_string) ||
            json_object_get_string_len(v) != TIME_LEN ||
            !sy_time_parse(json_object_get_string(v), TIME_LEN, SY_TIME_RFC3339,
                           &ms) ||
            ms < 0)
            return false;
        uint64_t t = (uint64_t)ms;
        memcpy(base, &t, sizeof(t));
        return true;
    }
    case F_STR: {
        const char *s = NULL;
        if (v != NULL && !get_str(v, scratch, cap, used, &s))
            return false;
        memcpy(base, &s, sizeof(s));
        return true;
    }
    case F_I64:
        if (!get_int(v, INT64_MIN, INT64_MAX, &x))
            return false;
        memcpy(base, &x, sizeof(x));
        return true;
    case F_INT: {
        if (!get_int(v, INT32_MIN, INT32_MAX, &x))
            return false;
        int i = (int)x;
        memcpy(base, &i, sizeof(i));
        return true;
    }
    case F_UINT: {
        if (!get_int(v, 0, UINT32_MAX, &x))
            return false;
        unsigned u = (unsigned)x;
        memcpy(base, &u, sizeof(u));
        return true;
    }
    }
    return false;
}

/* Parse one line ('len' bytes, without the newline) into '*out' with the
 * strict JSON parse (base/json_strict.h) and json-c. The strings are
 * copied into 'scratch' ('scratchlen' >= len + 1 always suffices) and
 * borrowed from it. Members may come in any order; unknown members are
 * skipped; "v" and "time" are required. False when the line is not such
 * an object ('*out' is then unspecified). */
bool
sy_usagelog_parse(const char *line, size_t len, char *scratch,
                  size_t scratchlen, struct sy_usage_record *out)
{
    const struct sy_json_limits lim = { .max_depth = 32 };
    struct sy_json_result res;
    struct json_object *root = NULL;
    struct json_object *v;
    int64_t version;
    size_t used = 0;
    memset(out, 0, sizeof(*out));
    if (sy_json_parse_strict(line, len, &lim, &root, &res) != SY_JSON_OK)
        return false;
    bool ok = json_object_is_type(root, json_type_object) &&
              json_object_object_get_ex(root, "v", &v) &&
              get_int(v, 1, INT32_MAX, &version) &&
              json_object_object_get_ex(root, "time", &v);
    for (size_t i = 0; ok && i < sy_usagelog_nfields; i++) {
        const struct sy_usagelog_field *f = &sy_usagelog_fields[i];
        if (json_object_object_get_ex(root, f->name, &v))
            ok = get_field(f, v, scratch, scratchlen, &used, out);
    }
    json_object_put(root);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Reading a log                                                       */

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
    char *scratch; /* SY_USAGELOG_READ_LINE_MAX + 1 bytes */
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
    if (sy_usagelog_parse(line, len, rd->scratch, SY_USAGELOG_READ_LINE_MAX + 1,
                          &rec)) {
        rd->st->records++;
        rd->stop = !rd->fn(&rec, rd->ctx);
        return;
    }
    /* A torn line followed by a whole record from another writer. */
    const char *start = last_record_start(line, len);
    if (start != NULL &&
        sy_usagelog_parse(start, len - (size_t)(start - line), rd->scratch,
                          SY_USAGELOG_READ_LINE_MAX + 1, &rec)) {
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
    /* cppcheck-suppress uninitvar ; cleared by the memset below */
    struct sy_usagelog_read_stats *st = stats != NULL ? stats : &local;
    memset(st, 0, sizeof(*st));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "usage log %s: %s", path, strerror(e));
        return e == ENOENT ? SY_ENOTFOUND : SY_EINTERNAL;
    }
    struct reader rd = { .fn = fn, .ctx = ctx, .st = st, .stop = false };
    rd.scratch = sy_xmalloc(SY_USAGELOG_READ_LINE_MAX + 1);
    char *buf = sy_xmalloc(SY_USAGELOG_READ_LINE_MAX);
    size_t len = 0;
    bool discard = false; /* inside an over-long line */
    enum sy_err rc = SY_OK;
    while (!rd.stop) {
        ssize_t n = read(fd, buf + len, SY_USAGELOG_READ_LINE_MAX - len);
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
        if (len == SY_USAGELOG_READ_LINE_MAX) {
            discard = true; /* no newline in a full buffer */
            len = 0;
        }
    }
    free(buf);
    free(rd.scratch);
    close(fd);
    return rc;
}
