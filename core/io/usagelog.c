/*
 * usagelog.c - the append-only usage log: formats a provider attempt of
 * a settled request as one JSON line and appends it with one write(2) on
 * an O_APPEND descriptor (the reader is usagelog_read.c). Works with
 * cost.c (the amounts) and the pipeline (which fills the records); no
 * locks.
 *
 * Line format, one object per line, members in this order:
 *
 *   {"v":1,"time":"2026-11-24T14:44:29.123Z","request_id":"r-1",
 *    "key":"ci-bot","team":"ml","group":"chat","deployment":"gpt4o-east",
 *    "provider":"openai","prompt_tokens":1200,"completion_tokens":300,
 *    "cached_tokens":1024,"reasoning_tokens":0,"cost_micro_usd":4280,
 *    "status":200,"error":null,"attempts":1,"attempt":1,"outcome":"ok",
 *    "estimated":0,"cache_write_tokens":0,"surface":"chat",
 *    "trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
 *
 * One line per provider attempt: "attempt" of "attempts", its "outcome"
 * and cost; "status" and "error" are the request's. "estimated" 1 marks
 * tokens the gateway estimated because the provider reported none.
 * "trace_id" is the request's W3C trace id (docs/operations.md, Traces).
 * "hedge" ("primary" or "hedge", else null) and "won" (1: answered the
 * caller) mark the two attempts of a hedged request.
 * Members are only ever added (readers skip unknown ones and take a
 * missing one as null or 0), so "v" stays 1.
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
#include "base/sy.h"
#include "usagelog.h"
#include "linefile.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/jsonline.h"
#include "base/log.h"
#include "base/mem.h"

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
    int fd;     /* O_APPEND; the number never changes (reopen
                                replaces the file under it with dup2) */
    char *path; /* owned */
    _Atomic uint64_t written;
    _Atomic uint64_t failed;
    atomic_bool failing; /* the last write failed (log once per spell) */
};

#include "usagelog_int.h"

/* The members after "v", in the order written. Columns: the JSON name,
 * how the value is encoded, where it lives in struct sy_usage_record. */
const struct sy_usagelog_field sy_usagelog_fields[] = {
    { "time", F_TIME, offsetof(struct sy_usage_record, time_ms) },
    { "request_id", F_STR, offsetof(struct sy_usage_record, request_id) },
    { "key", F_STR, offsetof(struct sy_usage_record, key_name) },
    { "team", F_STR, offsetof(struct sy_usage_record, team) },
    { "group", F_STR, offsetof(struct sy_usage_record, group) },
    { "deployment", F_STR, offsetof(struct sy_usage_record, deployment) },
    { "provider", F_STR, offsetof(struct sy_usage_record, provider) },
    { "prompt_tokens", F_I64, offsetof(struct sy_usage_record, prompt_tokens) },
    { "completion_tokens", F_I64,
      offsetof(struct sy_usage_record, completion_tokens) },
    { "cached_tokens", F_I64, offsetof(struct sy_usage_record, cached_tokens) },
    { "reasoning_tokens", F_I64,
      offsetof(struct sy_usage_record, reasoning_tokens) },
    { "cost_micro_usd", F_I64,
      offsetof(struct sy_usage_record, cost_micro_usd) },
    { "status", F_INT, offsetof(struct sy_usage_record, status) },
    { "error", F_STR, offsetof(struct sy_usage_record, error) },
    { "attempts", F_UINT, offsetof(struct sy_usage_record, attempts) },
    { "attempt", F_UINT, offsetof(struct sy_usage_record, attempt) },
    { "outcome", F_STR, offsetof(struct sy_usage_record, outcome) },
    { "estimated", F_UINT, offsetof(struct sy_usage_record, estimated) },
    { "cache_write_tokens", F_I64,
      offsetof(struct sy_usage_record, cache_write_tokens) },
    { "surface", F_STR, offsetof(struct sy_usage_record, surface) },
    { "trace_id", F_STR, offsetof(struct sy_usage_record, trace_id) },
    { "hedge", F_STR, offsetof(struct sy_usage_record, hedge) },
    { "won", F_UINT, offsetof(struct sy_usage_record, won) },
};
const size_t sy_usagelog_nfields = SY_ARRAY_LEN(sy_usagelog_fields);

/* ------------------------------------------------------------------ */
/* Writing a line                                                      */

/* Format 'r' as one line, newline included, into 'out' ('outlen'
 * bytes; not NUL-terminated). Returns the length, or 0 when it does not
 * fit (never with outlen >= SY_USAGELOG_LINE_MAX). 'r->time_ms' is
 * written as it is (0 is 1970-01-01T00:00:00.000Z). */
size_t
sy_usagelog_format(const struct sy_usage_record *r, char *out, size_t outlen)
{
    struct sy_jsonline o;
    sy_jsonline_init(&o, out, outlen);
    char num[32];
    snprintf(num, sizeof(num), "{\"v\":%d", SY_USAGELOG_VERSION);
    sy_jsonline_puts(&o, num);
    for (size_t i = 0; i < sy_usagelog_nfields; i++) {
        const struct sy_usagelog_field *f = &sy_usagelog_fields[i];
        const char *base = (const char *)r + f->off;
        sy_jsonline_key(&o, f->name);
        switch (f->type) {
        case F_TIME: {
            char t[64];
            uint64_t ms;
            memcpy(&ms, base, sizeof(ms));
            sy_jsonline_time(t, ms);
            sy_jsonline_put(&o, "\"", 1);
            sy_jsonline_put(&o, t, TIME_LEN);
            sy_jsonline_put(&o, "\"", 1);
            break;
        }
        case F_STR: {
            const char *s;
            memcpy(&s, base, sizeof(s));
            sy_jsonline_str(&o, s, SY_USAGELOG_FIELD_MAX);
            break;
        }
        case F_I64: {
            int64_t v;
            memcpy(&v, base, sizeof(v));
            sy_jsonline_i64(&o, v);
            break;
        }
        case F_INT: {
            int v;
            memcpy(&v, base, sizeof(v));
            sy_jsonline_i64(&o, v);
            break;
        }
        case F_UINT: {
            unsigned v;
            memcpy(&v, base, sizeof(v));
            sy_jsonline_u64(&o, v);
            break;
        }
        }
    }
    sy_jsonline_put(&o, "}\n", 2);
    return o.full ? 0 : o.len;
}

/* ------------------------------------------------------------------ */
/* The log file                                                        */

/* Open (creating it, mode 0640) the log at 'path' for appending into
 * '*out', owned by the caller (sy_usagelog_close). When the file cannot
 * be opened: SY_EINTERNAL, '*out' NULL and a message in 'err'. */
enum sy_err
sy_usagelog_open(const char *path, struct sy_usagelog **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    int fd = sy_linefile_open(path);
    if (fd < 0) {
        snprintf(err, errlen, "usage log %s: %s", path,
                 errno == ELOOP ? "is a symbolic link; refusing to follow it"
                                : strerror(errno));
        return SY_EINTERNAL;
    }
    struct sy_usagelog *l = sy_xcalloc(1, sizeof(*l));
    l->fd = fd;
    l->path = sy_xstrdup(path);
    atomic_init(&l->written, 0);
    atomic_init(&l->failed, 0);
    atomic_init(&l->failing, false);
    *out = l;
    return SY_OK;
}

/* Open the path again and put the new file under the same descriptor
 * (dup2 is atomic: a concurrent write goes wholly to the old file or
 * wholly to the new one). For rotation by rename. On failure the log
 * keeps writing to the old file and 'err' says why (SY_EINTERNAL). */
enum sy_err
sy_usagelog_reopen(struct sy_usagelog *l, char *err, size_t errlen)
{
    int fd = sy_linefile_open(l->path);
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
        sy_log_error(NULL, "usage log %s: %s (lines are being lost)", l->path,
                     why);
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
    enum sy_linefile_res res = sy_linefile_write(l->fd, line, len);
    if (res == SY_LINEFILE_ERROR) {
        note_failure(l, strerror(errno));
        return;
    }
    if (res == SY_LINEFILE_SHORT) {
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
