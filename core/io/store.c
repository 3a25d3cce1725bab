/*
 * store.c - the Redis connection of one thread: connect with timeouts
 * (through Sentinel when configured), authenticate, select the database,
 * subscribe; the failure gate that keeps a dead or hung Redis from
 * costing more than one timeout; and reading published messages.
 * Commands, replies and scripts are store_cmd.c, pipelined batches
 * store_batch.c, configuration and URL parsing store_conf.c.
 *
 * Includes hiredis (with store_cmd.c and store_batch.c, the only files
 * that do). Redis errors are translated to SY_ESTORE in these files and
 * nowhere else. The process must ignore SIGPIPE (hiredis writes with
 * write(2)); fcgi/server.c does.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "store.h"
#include "store_int.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

/* ------------------------------------------------------------------ */
/* The store                                                           */

/* Close the connection, if any (a subscribed store subscribes again on
 * the next connection). The close is abortive (SO_LINGER 0: a reset):
 * what a timed-out command still has unsent in this socket is dropped
 * rather than retransmitted to Redis later, after the caller took it as
 * failed and acted on that (a budget settle sent again, budget_retry.h).
 * Bytes Redis's host already received are not recalled. */
void
sy_store_drop(struct sy_store *s)
{
    if (s->ctx != NULL && s->ctx->fd >= 0) {
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(s->ctx->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    if (s->ctx != NULL)
        redisFree(s->ctx);
    s->ctx = NULL;
    s->subscribed = false;
}

/* Close the connection and free 's'. NULL-safe. */
void
sy_store_free(struct sy_store *s)
{
    if (s == NULL)
        return;
    sy_store_drop(s);
    free(s->prefix);
    free(s->channel);
    free(s);
}

const char *
sy_store_prefix(const struct sy_store *s)
{
    return s->prefix;
}

/* The last failure's description (no secrets), "" when none yet. The
 * pointer is valid until the next call on 's'. */
const char *
sy_store_last_error(const struct sy_store *s)
{
    return s->errstr;
}

void
sy_store_get_stats(const struct sy_store *s, struct sy_store_stats *out)
{
    *out = s->stats;
}

/* Connected and not backing off: shared state is in use. */
bool
sy_store_is_up(const struct sy_store *s)
{
    return s->ctx != NULL && atomic_load(&s->gate->down_until_ms) == 0;
}

/* ------------------------------------------------------------------ */
/* The failure gate                                                    */

/* A gate with Redis up: no errors, no backoff, epoch 0. */
void
sy_store_gate_init(struct sy_store_gate *g)
{
    atomic_init(&g->down_until_ms, 0);
    atomic_init(&g->backoff_ms, 0);
    atomic_init(&g->errors, 0);
    atomic_init(&g->epoch, 0);
    for (size_t i = 0; i < SY_STORE_OP_SLOTS; i++)
        atomic_init(&g->op_us[i], 0);
    g->op_us_to = NULL;
}

/* Count one round trip that began at 'start_us' (sy_now_us) in the
 * gate's durations. */
void
sy_store_gate_time(struct sy_store *s, uint64_t start_us)
{
    uint64_t now = sy_now_us();
    uint64_t us = now > start_us ? now - start_us : 0;
    unsigned k = us <= 1 ? 0 : 64u - (unsigned)__builtin_clzll(us - 1);
    _Atomic uint64_t *op =
        s->gate->op_us_to != NULL ? s->gate->op_us_to : s->gate->op_us;
    atomic_fetch_add_explicit(&op[SY_MIN(k, 32u)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&op[SY_STORE_OP_SLOTS - 1], us,
                              memory_order_relaxed);
}

/* Copy the gate's round-trip durations (see struct sy_store_gate). */
void
sy_store_gate_durations(const struct sy_store_gate *g,
                        uint64_t out[SY_STORE_OP_SLOTS])
{
    const _Atomic uint64_t *op = g->op_us_to != NULL ? g->op_us_to : g->op_us;
    for (size_t i = 0; i < SY_STORE_OP_SLOTS; i++)
        out[i] = atomic_load_explicit(&op[i], memory_order_relaxed);
}

/* How long a caller that probes a dead Redis may take (connect, AUTH,
 * SELECT, ROLE and the command), during which others keep skipping. */
static uint64_t
probe_hold_ms(const struct sy_store *s)
{
    return (uint64_t)s->connect_timeout_ms + 4u * s->command_timeout_ms;
}

/* May this call touch the network? While backing off, no; when the
 * backoff is over, exactly one caller among those sharing the gate wins
 * the right to probe, and the others keep skipping until it reports. */
static bool
gate_pass(struct sy_store *s, uint64_t now_ms)
{
    struct sy_store_gate *g = s->gate;
    uint64_t until = atomic_load(&g->down_until_ms);
    if (until == 0)
        return true;
    if (now_ms < until)
        return false;
    return atomic_compare_exchange_strong(&g->down_until_ms, &until,
                                          now_ms + probe_hold_ms(s));
}

/* Redis answered: clear the error count and, if we were backing off,
 * say once that shared state is back. */
void
sy_store_gate_ok(struct sy_store *s)
{
    struct sy_store_gate *g = s->gate;
    if (atomic_load(&g->errors) != 0)
        atomic_store(&g->errors, 0);
    uint64_t until = atomic_load(&g->down_until_ms);
    if (until != 0 &&
        atomic_compare_exchange_strong(&g->down_until_ms, &until, 0)) {
        atomic_store(&g->backoff_ms, 0);
        sy_log_warn(NULL, "store: Redis is reachable again; shared state "
                          "back in use");
    }
}

/* A call failed. A timeout (dead or hung Redis: the next call would wait
 * as long), 'max_errors' errors in a row, or a failed probe start or
 * lengthen the backoff (doubling, capped). Going down bumps the epoch so
 * every thread drops its old connection before using Redis again. */
static void
gate_fail(struct sy_store *s, bool timeout)
{
    struct sy_store_gate *g = s->gate;
    uint32_t errors = atomic_fetch_add(&g->errors, 1) + 1;
    uint64_t until = atomic_load(&g->down_until_ms);
    if (!timeout && errors < s->max_errors && until == 0)
        return;
    uint32_t b = atomic_load(&g->backoff_ms);
    if (b == 0)
        b = s->backoff_min_ms;
    else
        b = b >= s->backoff_max_ms / 2 ? s->backoff_max_ms : b * 2;
    atomic_store(&g->backoff_ms, b);
    atomic_store(&g->down_until_ms, sy_now_ms() + b);
    if (until == 0) {
        atomic_fetch_add(&g->epoch, 1);
        sy_log_warn(NULL,
                    "store: Redis unavailable (%s); degraded mode, "
                    "next try in %u ms",
                    s->errstr, (unsigned)b);
    } else {
        sy_log_debug(NULL,
                     "store: Redis still unavailable (%s); next try "
                     "in %u ms",
                     s->errstr, (unsigned)b);
    }
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

static struct timeval
tv_ms(uint32_t ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000u);
    tv.tv_usec = (suseconds_t)((ms % 1000u) * 1000u);
    return tv;
}

/* Did the failure on 'c' come from one of our timeouts? hiredis 1.x says
 * so; 0.14 reports an I/O error with errno EAGAIN (SO_RCVTIMEO) or
 * ETIMEDOUT (connect). */
static bool
is_timeout(const redisContext *c, int saved_errno)
{
#ifdef REDIS_ERR_TIMEOUT
    if (c->err == REDIS_ERR_TIMEOUT)
        return true;
#endif
    if (c->err != REDIS_ERR_IO)
        return false;
    if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
        saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS)
        return true;
    return strstr(c->errstr, "temporarily unavailable") != NULL ||
           strstr(c->errstr, "timed out") != NULL;
}

/* Record a failure described by 'fmt' and feed the gate. */
enum sy_err
sy_store_failed(struct sy_store *s, bool timeout, const char *fmt, ...)
{
    char msg[sizeof(s->errstr)]; /* the arguments may point into errstr */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    memcpy(s->errstr, msg, sizeof(msg));
    s->stats.failures++;
    if (timeout)
        s->stats.timeouts++;
    gate_fail(s, timeout);
    return SY_ESTORE;
}

/* The connection broke during 'what': it cannot be reused (hiredis). */
enum sy_err
sy_store_ctx_failed(struct sy_store *s, const char *what, int saved_errno)
{
    bool timeout = is_timeout(s->ctx, saved_errno);
    char detail[sizeof(s->ctx->errstr)];
    memcpy(detail, s->ctx->errstr, sizeof(detail));
    detail[sizeof(detail) - 1] = '\0';
    sy_store_drop(s);
    return sy_store_failed(s, timeout, "%s: %s%s", what, detail,
                           timeout ? " (timeout)" : "");
}

/* Connect to host:port with our timeouts; NULL with 's->errstr' and
 * '*timeout' set on failure. */
static redisContext *
open_tcp(struct sy_store *s, const char *host, int port, bool *timeout)
{
    errno = 0;
    redisContext *c =
        redisConnectWithTimeout(host, port, tv_ms(s->connect_timeout_ms));
    int saved = errno;
    if (c == NULL)
        sy_oom(sizeof(redisContext));
    if (c->err == 0 &&
        redisSetTimeout(c, tv_ms(s->command_timeout_ms)) != REDIS_OK)
        saved = errno;
    if (c->err != 0) {
        *timeout = *timeout || is_timeout(c, saved);
        snprintf(s->errstr, sizeof(s->errstr), "connect %s:%d: %s", host, port,
                 c->errstr);
        redisFree(c);
        return NULL;
    }
    redisEnableKeepAlive(c);
    return c;
}

/* One command on 'c' (which may not be s->ctx yet); NULL with
 * 's->errstr' and '*timeout' set when the connection failed. */
static redisReply *
raw_call(struct sy_store *s, redisContext *c, int argc, const char **argv,
         const size_t *argvlen, bool *timeout)
{
    errno = 0;
    redisReply *r = redisCommandArgv(c, argc, argv, argvlen);
    int saved = errno;
    if (r == NULL) {
        *timeout = *timeout || is_timeout(c, saved);
        snprintf(s->errstr, sizeof(s->errstr), "%s: %s", argv[0], c->errstr);
    }
    return r;
}

/* Copy an error reply's first line into 's->errstr' after 'what'. */
void
sy_store_note_error(struct sy_store *s, const char *what, const redisReply *r)
{
    int n = (int)strcspn(r->str != NULL ? r->str : "", "\r\n");
    snprintf(s->errstr, sizeof(s->errstr), "%s: %.*s", what, SY_MIN(n, 150),
             r->str != NULL ? r->str : "");
}

/* A command on a fresh connection that must answer 'want' (a status
 * string, or NULL for any non-error reply). */
static bool
setup_call(struct sy_store *s, redisContext *c, int argc, const char **argv,
           const char *want, bool *timeout)
{
    redisReply *r = raw_call(s, c, argc, argv, NULL, timeout);
    if (r == NULL)
        return false;
    bool ok = r->type != REDIS_REPLY_ERROR;
    if (!ok)
        sy_store_note_error(s, argv[0], r);
    else if (want != NULL &&
             (r->str == NULL || strcasecmp(r->str, want) != 0)) {
        snprintf(s->errstr, sizeof(s->errstr), "%s: unexpected reply", argv[0]);
        ok = false;
    }
    freeReplyObject(r);
    return ok;
}

/* AUTH and SELECT on a fresh data connection. */
static bool
hello(struct sy_store *s, redisContext *c, bool *timeout)
{
    if (s->addr.password[0] != '\0') {
        /* AUTH [user] password (the user form needs Redis 6 ACLs). */
        const char *argv[3] = { "AUTH", s->addr.user, s->addr.password };
        int argc = 3;
        if (s->addr.user[0] == '\0') {
            argv[1] = s->addr.password;
            argc = 2;
        }
        if (!setup_call(s, c, argc, argv, "OK", timeout))
            return false;
    }
    if (s->addr.db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%u", s->addr.db);
        const char *argv[2] = { "SELECT", db };
        if (!setup_call(s, c, 2, argv, "OK", timeout))
            return false;
    }
    return true;
}

/* With Sentinel, confirm that the node we reached is the master (it may
 * have been demoted since the sentinel answered). */
static bool
check_master(struct sy_store *s, redisContext *c, bool *timeout)
{
    const char *argv[1] = { "ROLE" };
    redisReply *r = raw_call(s, c, 1, argv, NULL, timeout);
    if (r == NULL)
        return false;
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
              r->element[0]->type == REDIS_REPLY_STRING &&
              strcmp(r->element[0]->str, "master") == 0;
    if (!ok)
        snprintf(s->errstr, sizeof(s->errstr),
                 "the node Sentinel named for '%s' is not a master",
                 s->master_name);
    freeReplyObject(r);
    return ok;
}

/* Ask the sentinels, the last one that answered first, where the master
 * is. False with 's->errstr' set when none knows. */
static bool
resolve_master(struct sy_store *s, char *host, size_t hostlen, int *port,
               bool *timeout)
{
    s->stats.sentinel_lookups++;
    for (size_t k = 0; k < s->nsentinels; k++) {
        size_t i = (s->sentinel_first + k) % s->nsentinels;
        const struct sy_store_addr *sa = &s->sentinels[i];
        redisContext *c = open_tcp(s, sa->host, sa->port, timeout);
        if (c == NULL)
            continue;
        bool ok = true;
        if (s->sentinel_password[0] != '\0') {
            const char *auth[2] = { "AUTH", s->sentinel_password };
            ok = setup_call(s, c, 2, auth, "OK", timeout);
        }
        redisReply *r = NULL;
        if (ok) {
            const char *argv[3] = { "SENTINEL", "get-master-addr-by-name",
                                    s->master_name };
            r = raw_call(s, c, 3, argv, NULL, timeout);
            ok = false;
        }
        if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_STRING &&
            r->element[1]->type == REDIS_REPLY_STRING &&
            r->element[0]->len < hostlen) {
            char *end;
            long p = strtol(r->element[1]->str, &end, 10);
            if (*end == '\0' && p > 0 && p <= 65535) {
                memcpy(host, r->element[0]->str, r->element[0]->len + 1);
                *port = (int)p;
                s->sentinel_first = i;
                ok = true;
            }
        }
        if (r != NULL && !ok) {
            if (r->type == REDIS_REPLY_ERROR)
                sy_store_note_error(s, "SENTINEL", r);
            else
                snprintf(s->errstr, sizeof(s->errstr),
                         "sentinel %s:%d does not know master '%s'", sa->host,
                         sa->port, s->master_name);
        }
        if (r != NULL)
            freeReplyObject(r);
        redisFree(c);
        if (ok)
            return true;
    }
    return false;
}

static bool
subscribe_on(struct sy_store *s, redisContext *c, bool *timeout)
{
    const char *argv[2] = { "SUBSCRIBE", s->channel };
    redisReply *r = raw_call(s, c, 2, argv, NULL, timeout);
    if (r == NULL)
        return false;
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
              r->element[0]->type == REDIS_REPLY_STRING &&
              strcmp(r->element[0]->str, "subscribe") == 0;
    if (!ok)
        snprintf(s->errstr, sizeof(s->errstr), "SUBSCRIBE refused");
    freeReplyObject(r);
    return ok;
}

/* Open a new connection (through Sentinel when configured), authenticate,
 * select the database, and subscribe again if this store listens. */
static enum sy_err
do_connect(struct sy_store *s)
{
    sy_store_drop(s);
    bool timeout = false;
    char host[256];
    int port;
    if (s->nsentinels > 0) {
        if (!resolve_master(s, host, sizeof(host), &port, &timeout))
            return sy_store_failed(s, timeout, "%s", s->errstr);
    } else {
        memcpy(host, s->addr.host, sizeof(host));
        port = s->addr.port;
    }
    redisContext *c = open_tcp(s, host, port, &timeout);
    if (c == NULL)
        return sy_store_failed(s, timeout, "%s", s->errstr);
    if (!hello(s, c, &timeout) ||
        (s->nsentinels > 0 && !check_master(s, c, &timeout)) ||
        (s->channel != NULL && !subscribe_on(s, c, &timeout))) {
        redisFree(c);
        return sy_store_failed(s, timeout, "%s%s", s->errstr,
                               timeout ? " (timeout)" : "");
    }
    s->ctx = c;
    s->ctx_epoch = atomic_load(&s->gate->epoch);
    s->subscribed = s->channel != NULL;
    s->stats.connects++;
    sy_log_debug(NULL, "store: connected to %s:%d", host, port);
    return SY_OK;
}

/* The preamble of every call: refuse without I/O while backing off, drop
 * a connection older than the last outage, connect when needed. */
enum sy_err
sy_store_ensure(struct sy_store *s)
{
    if (!gate_pass(s, sy_now_ms())) {
        s->stats.skipped++;
        return SY_ESTORE;
    }
    if (s->ctx != NULL && s->ctx_epoch != atomic_load(&s->gate->epoch))
        sy_store_drop(s);
    if (s->ctx == NULL)
        return do_connect(s);
    return SY_OK;
}

/* ------------------------------------------------------------------ */
/* Publish/subscribe                                                   */

/* Make 's' a subscriber of 'channel' (a full name: add the prefix
 * yourself). From now on 's' only reads messages; it subscribes again by
 * itself after every reconnection (messages sent in between are lost:
 * refresh the state you follow when sy_store_stats.connects moves). The
 * subscription is remembered even when this first attempt fails. */
enum sy_err
sy_store_subscribe(struct sy_store *s, const char *channel)
{
    free(s->channel);
    s->channel = sy_xstrdup(channel);
    sy_store_drop(s);
    return sy_store_ensure(s);
}

/* Wait up to 'timeout_ms' for one message on the subscribed channel. On
 * SY_OK '*msg' is NULL when none came, else the payload ('*msglen'
 * bytes, NUL-terminated) and '*channel' its channel, both in arena 'a'.
 * SY_ESTORE when the connection failed or the store is backing off (the
 * caller sleeps a little and calls again; reconnection is automatic). */
enum sy_err
sy_store_read_message(struct sy_store *s, uint32_t timeout_ms,
                      struct sy_arena *a, const char **channel,
                      const char **msg, size_t *msglen)
{
    *channel = NULL;
    *msg = NULL;
    *msglen = 0;
    if (s->channel == NULL)
        return SY_EINTERNAL;
    enum sy_err e = sy_store_ensure(s);
    if (e != SY_OK)
        return e;
    void *rv = NULL;
    if (redisGetReplyFromReader(s->ctx, &rv) != REDIS_OK)
        return sy_store_ctx_failed(s, "read", errno);
    if (rv == NULL) {
        struct pollfd pfd = { .fd = s->ctx->fd, .events = POLLIN };
        int n = poll(&pfd, 1, (int)SY_MIN(timeout_ms, (uint32_t)INT_MAX));
        if (n <= 0)
            return SY_OK;
        errno = 0;
        if (redisBufferRead(s->ctx) != REDIS_OK)
            return sy_store_ctx_failed(s, "read", errno);
        if (redisGetReplyFromReader(s->ctx, &rv) != REDIS_OK)
            return sy_store_ctx_failed(s, "read", errno);
        if (rv == NULL)
            return SY_OK;
    }
    sy_store_gate_ok(s);
    redisReply *r = rv;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(r->element[0]->str, "message") == 0 &&
        r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[2]->type == REDIS_REPLY_STRING &&
        r->element[2]->len <= s->max_reply_bytes) {
        *channel = sy_arena_strndup(a, r->element[1]->str, r->element[1]->len);
        *msg = sy_arena_strndup(a, r->element[2]->str, r->element[2]->len);
        *msglen = r->element[2]->len;
    }
    freeReplyObject(r);
    return SY_OK;
}
