/*
 * store.c - the Redis connection of one thread: connect with timeouts
 * (through Sentinel when configured), commands, Lua scripts by SHA,
 * publish/subscribe, and the failure gate that keeps a dead or hung Redis
 * from costing more than one timeout. Pipelined batches are
 * store_batch.c, configuration and URL parsing store_conf.c.
 *
 * Includes hiredis (with store_batch.c, the only files that do);
 * redisReply is converted into struct sy_store_val (in the caller's
 * arena) and freed here. Redis errors are translated to SY_ESTORE here
 * and nowhere else. The process must ignore SIGPIPE (hiredis writes with
 * write(2)); fcgi/server.c does.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "store.h"
#include "store_int.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sha1.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#define STORE_MAX_DEPTH 8 /* nesting of a converted reply */

/* ------------------------------------------------------------------ */
/* The store                                                           */

/* Close the connection, if any (a subscribed store subscribes again on
 * the next connection). */
void
store_drop(struct sy_store *s)
{
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
    store_drop(s);
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
store_gate_ok(struct sy_store *s)
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

/* Error replies that mean this node cannot serve us (a replica after a
 * failover, still loading, lost its master, wrong credentials): drop the
 * connection so the next one asks Sentinel again. */
bool
store_node_error(const redisReply *r)
{
    static const char *const prefixes[] = { "READONLY",   "LOADING",
                                            "MASTERDOWN", "NOAUTH",
                                            "WRONGPASS",  "NOPERM" };
    if (r->type != REDIS_REPLY_ERROR || r->str == NULL)
        return false;
    for (size_t i = 0; i < SY_ARRAY_LEN(prefixes); i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(r->str, prefixes[i], n) == 0)
            return true;
    }
    return false;
}

/* Is 'r' the NOSCRIPT error (Redis does not have the script)? */
bool
store_is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->str != NULL &&
           strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* Record a failure described by 'fmt' and feed the gate. */
enum sy_err
store_failed(struct sy_store *s, bool timeout, const char *fmt, ...)
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
store_ctx_failed(struct sy_store *s, const char *what, int saved_errno)
{
    bool timeout = is_timeout(s->ctx, saved_errno);
    char detail[sizeof(s->ctx->errstr)];
    memcpy(detail, s->ctx->errstr, sizeof(detail));
    detail[sizeof(detail) - 1] = '\0';
    store_drop(s);
    return store_failed(s, timeout, "%s: %s%s", what, detail,
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
static void
note_error_reply(struct sy_store *s, const char *what, const redisReply *r)
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
        note_error_reply(s, argv[0], r);
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
                note_error_reply(s, "SENTINEL", r);
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
    store_drop(s);
    bool timeout = false;
    char host[256];
    int port;
    if (s->nsentinels > 0) {
        if (!resolve_master(s, host, sizeof(host), &port, &timeout))
            return store_failed(s, timeout, "%s", s->errstr);
    } else {
        memcpy(host, s->addr.host, sizeof(host));
        port = s->addr.port;
    }
    redisContext *c = open_tcp(s, host, port, &timeout);
    if (c == NULL)
        return store_failed(s, timeout, "%s", s->errstr);
    if (!hello(s, c, &timeout) ||
        (s->nsentinels > 0 && !check_master(s, c, &timeout)) ||
        (s->channel != NULL && !subscribe_on(s, c, &timeout))) {
        redisFree(c);
        return store_failed(s, timeout, "%s%s", s->errstr,
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
store_ensure(struct sy_store *s)
{
    if (!gate_pass(s, sy_now_ms())) {
        s->stats.skipped++;
        return SY_ESTORE;
    }
    if (s->ctx != NULL && s->ctx_epoch != atomic_load(&s->gate->epoch))
        store_drop(s);
    if (s->ctx == NULL)
        return do_connect(s);
    return SY_OK;
}

/* Connect now (and check with PING) instead of at the first call. */
enum sy_err
sy_store_connect(struct sy_store *s)
{
    if (s->channel != NULL)
        return store_ensure(s);
    return sy_store_commandl(s, NULL, NULL, "PING", NULL);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* Copy 'r' into 'v' (arena 'a'), spending at most '*budget' bytes. */
bool
store_convert(const redisReply *r, struct sy_arena *a, struct sy_store_val *v,
              size_t *budget, int depth)
{
    memset(v, 0, sizeof(*v));
    switch (r->type) {
    case REDIS_REPLY_INTEGER:
        v->type = SY_STORE_INT;
        v->i = (int64_t)r->integer;
        return true;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        if (r->len > *budget)
            return false;
        *budget -= r->len;
        v->type = r->type == REDIS_REPLY_STRING   ? SY_STORE_STR
                  : r->type == REDIS_REPLY_STATUS ? SY_STORE_STATUS
                                                  : SY_STORE_ERROR;
        v->str = sy_arena_strndup(a, r->str != NULL ? r->str : "", r->len);
        v->len = r->len;
        return true;
    case REDIS_REPLY_ARRAY:
        if (depth >= STORE_MAX_DEPTH ||
            r->elements > *budget / sizeof(struct sy_store_val))
            return false;
        *budget -= r->elements * sizeof(struct sy_store_val);
        v->type = SY_STORE_ARRAY;
        v->n = r->elements;
        v->elem = r->elements > 0
                      ? sy_arena_zalloc(a, r->elements * sizeof(*v->elem))
                      : NULL;
        for (size_t i = 0; i < r->elements; i++) {
            if (!store_convert(r->element[i], a, &v->elem[i], budget,
                               depth + 1))
                return false;
        }
        return true;
    default:
        /* NIL, and RESP3 types we never ask for (no HELLO 3). */
        v->type = SY_STORE_NIL;
        return true;
    }
}

/* Hand reply 'r' (freed here) to the caller as '*out' in arena 'a'.
 * SY_ESTORE for an error reply ('*out' then holds it) or a reply larger
 * than max_reply_bytes ('*out' NULL). */
static enum sy_err
deliver(struct sy_store *s, redisReply *r, struct sy_arena *a,
        struct sy_store_val **out)
{
    enum sy_err e = SY_OK;
    if (r->type == REDIS_REPLY_ERROR) {
        note_error_reply(s, "reply", r);
        e = SY_ESTORE;
    }
    if (out != NULL && a != NULL) {
        struct sy_store_val *v = sy_arena_zalloc(a, sizeof(*v));
        size_t budget = s->max_reply_bytes;
        if (store_convert(r, a, v, &budget, 0)) {
            *out = v;
        } else {
            snprintf(s->errstr, sizeof(s->errstr),
                     "reply larger than %zu bytes", s->max_reply_bytes);
            e = SY_ESTORE;
        }
    }
    freeReplyObject(r);
    return e;
}

/* Account for the reply of a call on s->ctx: a broken connection or a
 * node that cannot serve us feeds the gate (and frees 'r'); anything else
 * means Redis is fine. */
static enum sy_err
settle(struct sy_store *s, redisReply *r, int saved_errno, const char *what)
{
    if (r == NULL)
        return store_ctx_failed(s, what, saved_errno);
    if (store_node_error(r)) {
        note_error_reply(s, what, r);
        freeReplyObject(r);
        store_drop(s);
        return store_failed(s, false, "%s", s->errstr);
    }
    store_gate_ok(s);
    return SY_OK;
}

/* One command on the connection, connecting first if needed; '*r' is the
 * reply to free on SY_OK. */
static enum sy_err
call(struct sy_store *s, int argc, const char **argv, const size_t *argvlen,
     redisReply **r)
{
    *r = NULL;
    if (s->channel != NULL) {
        snprintf(s->errstr, sizeof(s->errstr), "%s on a subscribed store",
                 argv[0]);
        return SY_EINTERNAL;
    }
    enum sy_err e = store_ensure(s);
    if (e != SY_OK)
        return e;
    s->stats.calls++;
    errno = 0;
    redisReply *reply = redisCommandArgv(s->ctx, argc, argv, argvlen);
    e = settle(s, reply, errno, argv[0]);
    if (e == SY_OK)
        *r = reply;
    return e;
}

/* Run one command ('argc' arguments; 'argvlen' NULL for NUL-terminated
 * strings). On SY_OK '*out' (when 'out' is not NULL) is the reply in
 * arena 'a'. SY_ESTORE when Redis is unavailable (at once while backing
 * off), for an error reply (then '*out' holds it), or for a reply over
 * the size limit. */
enum sy_err
sy_store_command(struct sy_store *s, struct sy_arena *a,
                 struct sy_store_val **out, int argc, const char **argv,
                 const size_t *argvlen)
{
    if (out != NULL)
        *out = NULL;
    redisReply *r;
    enum sy_err e = call(s, argc, argv, argvlen, &r);
    if (e != SY_OK)
        return e;
    return deliver(s, r, a, out);
}

/* sy_store_command() with NUL-terminated string arguments ending with a
 * NULL, e.g. sy_store_commandl(s, a, &v, "GET", key, NULL). */
enum sy_err
sy_store_commandl(struct sy_store *s, struct sy_arena *a,
                  struct sy_store_val **out, const char *arg0, ...)
{
    const char *argv[STORE_MAX_ARGS];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *p = arg0; p != NULL; p = va_arg(ap, const char *)) {
        if (argc == STORE_MAX_ARGS) {
            va_end(ap);
            return SY_EINTERNAL;
        }
        argv[argc++] = p;
    }
    va_end(ap);
    if (argc == 0)
        return SY_EINTERNAL;
    return sy_store_command(s, a, out, argc, argv, NULL);
}

/* Redis' clock (TIME) in milliseconds since the epoch: one clock for
 * every host of the cluster. */
enum sy_err
sy_store_time_ms(struct sy_store *s, uint64_t *out)
{
    const char *argv[1] = { "TIME" };
    redisReply *r;
    *out = 0;
    enum sy_err e = call(s, 1, argv, NULL, &r);
    if (e != SY_OK)
        return e;
    e = SY_ESTORE;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        unsigned long long sec = strtoull(r->element[0]->str, NULL, 10);
        unsigned long long usec = strtoull(r->element[1]->str, NULL, 10);
        *out = (uint64_t)sec * 1000u + (uint64_t)usec / 1000u;
        e = SY_OK;
    }
    freeReplyObject(r);
    return e;
}

/* ------------------------------------------------------------------ */
/* Scripts                                                             */

/* The SHA-1 Redis will give 'sc' (what EVALSHA needs), into 'out'. */
void
sy_store_script_sha(const struct sy_store_script *sc, char out[41])
{
    sy_sha1_hex(sc->source, strlen(sc->source), out);
}

/* The SHA of 'sc', computed once per store. */
const char *
store_script_sha(struct sy_store *s, const struct sy_store_script *sc)
{
    for (size_t i = 0; i < s->nscripts; i++) {
        if (s->scripts[i].sc == sc)
            return s->scripts[i].sha;
    }
    /* Full (more scripts than any module has): recycle the last slot. */
    struct store_script_slot *slot =
        s->nscripts < SY_STORE_MAX_SCRIPTS
            ? &s->scripts[s->nscripts++]
            : &s->scripts[SY_STORE_MAX_SCRIPTS - 1];
    slot->sc = sc;
    sy_store_script_sha(sc, slot->sha);
    return slot->sha;
}

/* SCRIPT LOAD on the current connection. A script Redis refuses (a Lua
 * syntax error) is a bug: logged loudly, SY_EINTERNAL. */
enum sy_err
store_load_script(struct sy_store *s, const struct sy_store_script *sc,
                  const char *sha)
{
    const char *argv[3] = { "SCRIPT", "LOAD", sc->source };
    s->stats.script_loads++;
    errno = 0;
    redisReply *r = redisCommandArgv(s->ctx, 3, argv, NULL);
    enum sy_err e = settle(s, r, errno, "SCRIPT LOAD");
    if (e != SY_OK)
        return e;
    if (r->type == REDIS_REPLY_ERROR) {
        note_error_reply(s, "SCRIPT LOAD", r);
        sy_log_error(NULL, "store: script %s does not load: %s", sc->name,
                     s->errstr);
        e = SY_EINTERNAL;
    } else if (r->type != REDIS_REPLY_STRING || strcmp(r->str, sha) != 0) {
        snprintf(s->errstr, sizeof(s->errstr),
                 "script %s: Redis computed another SHA", sc->name);
        sy_log_error(NULL, "store: %s", s->errstr);
        e = SY_EINTERNAL;
    }
    freeReplyObject(r);
    return e;
}

/* Load 'sc' now (at start-up, to find a broken script early). */
enum sy_err
sy_store_script_load(struct sy_store *s, const struct sy_store_script *sc)
{
    if (s->channel != NULL)
        return SY_EINTERNAL;
    const char *sha = store_script_sha(s, sc);
    enum sy_err e = store_ensure(s);
    if (e != SY_OK)
        return e;
    s->stats.calls++;
    return store_load_script(s, sc, sha);
}

/* Run script 'sc' with 'nkeys' keys and 'nargs' arguments by EVALSHA;
 * when Redis does not have it (NOSCRIPT: restarted, failed over, SCRIPT
 * FLUSH), load it and run it again, once. Results as for
 * sy_store_command(); SY_EINTERNAL when the script does not load. */
enum sy_err
sy_store_eval(struct sy_store *s, const struct sy_store_script *sc, int nkeys,
              const char **keys, int nargs, const char **args,
              struct sy_arena *a, struct sy_store_val **out)
{
    if (out != NULL)
        *out = NULL;
    if (nkeys < 0 || nargs < 0 || nkeys + nargs > STORE_MAX_ARGS)
        return SY_EINTERNAL;
    const char *argv[STORE_MAX_ARGS + 3];
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[0] = "EVALSHA";
    argv[1] = store_script_sha(s, sc);
    argv[2] = nk;
    for (int i = 0; i < nkeys; i++)
        argv[3 + i] = keys[i];
    for (int i = 0; i < nargs; i++)
        argv[3 + nkeys + i] = args[i];
    int argc = 3 + nkeys + nargs;
    redisReply *r;
    enum sy_err e = call(s, argc, argv, NULL, &r);
    if (e != SY_OK)
        return e;
    if (store_is_noscript(r)) {
        freeReplyObject(r);
        e = store_load_script(s, sc, argv[1]);
        if (e != SY_OK)
            return e;
        errno = 0;
        r = redisCommandArgv(s->ctx, argc, argv, NULL);
        e = settle(s, r, errno, "EVALSHA");
        if (e != SY_OK)
            return e;
    }
    return deliver(s, r, a, out);
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
    store_drop(s);
    return store_ensure(s);
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
    enum sy_err e = store_ensure(s);
    if (e != SY_OK)
        return e;
    void *rv = NULL;
    if (redisGetReplyFromReader(s->ctx, &rv) != REDIS_OK)
        return store_ctx_failed(s, "read", errno);
    if (rv == NULL) {
        struct pollfd pfd = { .fd = s->ctx->fd, .events = POLLIN };
        int n = poll(&pfd, 1, (int)SY_MIN(timeout_ms, (uint32_t)INT_MAX));
        if (n <= 0)
            return SY_OK;
        errno = 0;
        if (redisBufferRead(s->ctx) != REDIS_OK)
            return store_ctx_failed(s, "read", errno);
        if (redisGetReplyFromReader(s->ctx, &rv) != REDIS_OK)
            return store_ctx_failed(s, "read", errno);
        if (rv == NULL)
            return SY_OK;
    }
    store_gate_ok(s);
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
