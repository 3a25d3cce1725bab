/*
 * accesslog.c - the access log (accesslog.h). One object per line,
 * members in this order:
 *
 *   {"time":"2026-11-24T14:44:29.123Z","request_id":"req_1a2b",
 *    "trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",
 *    "remote_addr":"10.0.0.7","method":"POST",
 *    "path":"/v1/chat/completions","surface":"chat","key":"ci-bot",
 *    "group":"chat","deployment":"gpt4o-east","attempts":1,"status":200,
 *    "error":null,"total_ms":812.4,"provider_ms":790.1,
 *    "input_tokens":1200,"output_tokens":300,"cost_micro_usd":4280}
 *
 * The line is built by the same writer as the usage log (base/jsonline.c)
 * and appended the same way (linefile.c). "trace_id" is also in the
 * traceparent response header, which the web server can log: that joins
 * its access log to this one (docs/operations.md, Access log).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "accesslog.h"
#include "linefile.h"
#include "base/clock.h"
#include "base/jsonline.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sy_accesslog {
    int fd;              /* O_APPEND, or 2 for "stderr" (not ours to close);
                            reopen keeps the number (dup3) */
    char *path;          /* owned */
    atomic_bool failing; /* the last write failed (log once per spell) */
};

/* Open the access log 'target': "stderr", or a file path (created 0640,
 * never through a symlink). On failure SY_EINTERNAL, '*out' NULL and a
 * message in 'err'. */
enum sy_err
sy_accesslog_open(const char *target, struct sy_accesslog **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    int fd = strcmp(target, "stderr") == 0 ? 2 : sy_linefile_open(target);
    if (fd < 0) {
        snprintf(err, errlen, "access log %s: %s", target,
                 errno == ELOOP ? "is a symbolic link; refusing to follow it"
                                : strerror(errno));
        return SY_EINTERNAL;
    }
    struct sy_accesslog *l = sy_xcalloc(1, sizeof(*l));
    l->fd = fd;
    l->path = sy_xstrdup(target);
    atomic_init(&l->failing, false);
    *out = l;
    return SY_OK;
}

static void
put_str(struct sy_jsonline *o, const char *k, const char *v)
{
    sy_jsonline_key(o, k);
    sy_jsonline_str(o, v, SY_ACCESSLOG_FIELD_MAX);
}

static void
put_ms(struct sy_jsonline *o, const char *k, uint64_t us)
{
    char num[32];
    snprintf(num, sizeof(num), "%llu.%u", (unsigned long long)(us / 1000),
             (unsigned)(us % 1000 / 100));
    sy_jsonline_key(o, k);
    sy_jsonline_puts(o, num);
}

/* Format 'r' as one line, newline included, into 'out' ('outlen' bytes,
 * not NUL-terminated). Returns the length, or 0 when it does not fit
 * (never with outlen >= SY_ACCESSLOG_LINE_MAX). */
size_t
sy_accesslog_format(const struct sy_access_record *r, char *out, size_t outlen)
{
    struct sy_jsonline o;
    sy_jsonline_init(&o, out, outlen);
    char t[64];
    sy_jsonline_time(t, r->time_ms);
    sy_jsonline_put(&o, "{", 1);
    put_str(&o, "time", t);
    put_str(&o, "request_id", r->request_id);
    put_str(&o, "trace_id", r->trace_id);
    put_str(&o, "remote_addr", r->remote_addr);
    put_str(&o, "method", r->method);
    put_str(&o, "path", r->path);
    put_str(&o, "surface", r->surface);
    put_str(&o, "key", r->key_name);
    put_str(&o, "group", r->group);
    put_str(&o, "deployment", r->deployment);
    sy_jsonline_key(&o, "attempts");
    sy_jsonline_u64(&o, r->attempts);
    sy_jsonline_key(&o, "status");
    sy_jsonline_i64(&o, r->status);
    put_str(&o, "error", r->error);
    put_ms(&o, "total_ms", r->total_us);
    put_ms(&o, "provider_ms", r->provider_us);
    sy_jsonline_key(&o, "input_tokens");
    sy_jsonline_i64(&o, r->input_tokens);
    sy_jsonline_key(&o, "output_tokens");
    sy_jsonline_i64(&o, r->output_tokens);
    sy_jsonline_key(&o, "cost_micro_usd");
    sy_jsonline_i64(&o, r->cost_micro_usd);
    sy_jsonline_put(&o, "}\n", 2);
    return o.full ? 0 : o.len;
}

/* Append 'r' as one line (time 0 = now). Thread-safe, no lock; a
 * failure is logged once per spell, never returned. 'l' NULL (no access
 * log) does nothing. */
void
sy_accesslog_write(struct sy_accesslog *l, const struct sy_access_record *r)
{
    if (l == NULL)
        return;
    struct sy_access_record rec = *r;
    if (rec.time_ms == 0)
        rec.time_ms = sy_wall_ms();
    char line[SY_ACCESSLOG_LINE_MAX];
    size_t len = sy_accesslog_format(&rec, line, sizeof(line));
    enum sy_linefile_res res =
        len > 0 ? sy_linefile_write(l->fd, line, len) : SY_LINEFILE_ERROR;
    if (res == SY_LINEFILE_OK) {
        atomic_store(&l->failing, false);
        return;
    }
    if (!atomic_exchange(&l->failing, true) && l->fd != 2)
        sy_log_error(NULL, "access log %s: %s (lines are being lost)", l->path,
                     res == SY_LINEFILE_SHORT ? "short write"
                                              : strerror(errno));
}

/* Open the path again and put the new file under the same descriptor,
 * for rotation by rename (SIGHUP, docs/operations.md). dup3 swaps
 * atomically: a concurrent write lands wholly in the old file or wholly
 * in the new one. On failure the old file stays in use and 'err' says
 * why. "stderr" and NULL: nothing to do. */
enum sy_err
sy_accesslog_reopen(struct sy_accesslog *l, char *err, size_t errlen)
{
    if (l == NULL || l->fd == 2)
        return SY_OK;
    int fd = sy_linefile_open(l->path);
    if (fd < 0) {
        snprintf(err, errlen, "access log %s: %s", l->path, strerror(errno));
        return SY_EINTERNAL;
    }
    int rc = dup3(fd, l->fd, O_CLOEXEC);
    int saved = errno;
    close(fd);
    if (rc < 0) {
        snprintf(err, errlen, "access log %s: %s", l->path, strerror(saved));
        return SY_EINTERNAL;
    }
    return SY_OK;
}

/* Close the log ('l' may be NULL). No thread may be writing. */
void
sy_accesslog_close(struct sy_accesslog *l)
{
    if (l == NULL)
        return;
    if (l->fd != 2)
        close(l->fd);
    free(l->path);
    free(l);
}
