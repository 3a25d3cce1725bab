/*
 * store_cmd.c - commands on a thread's Redis connection: one command
 * (sy_store_command and friends), replies classified and copied into the
 * caller's arena as struct sy_store_val, and Lua scripts run by their
 * SHA-1 (libcrypto) with SCRIPT LOAD after NOSCRIPT. The connection and
 * the failure gate are store.c's (through store_int.h); pipelined batches
 * are store_batch.c. Includes hiredis.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "store.h"
#include "store_int.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#define STORE_MAX_DEPTH 8 /* nesting of a converted reply */

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* Error replies that mean this node cannot serve us (a replica after a
 * failover, still loading, lost its master, wrong credentials): drop the
 * connection so the next one asks Sentinel again. */
bool
sy_store_node_error(const redisReply *r)
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
sy_store_is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->str != NULL &&
           strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* Copy 'r' into 'v' (arena 'a'), spending at most '*budget' bytes. */
bool
sy_store_convert(const redisReply *r, struct sy_arena *a,
                 struct sy_store_val *v, size_t *budget, int depth)
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
            if (!sy_store_convert(r->element[i], a, &v->elem[i], budget,
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
        sy_store_note_error(s, "reply", r);
        e = SY_ESTORE;
    }
    if (out != NULL && a != NULL) {
        struct sy_store_val *v = sy_arena_zalloc(a, sizeof(*v));
        size_t budget = s->max_reply_bytes;
        if (sy_store_convert(r, a, v, &budget, 0)) {
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
        return sy_store_ctx_failed(s, what, saved_errno);
    if (sy_store_node_error(r)) {
        sy_store_note_error(s, what, r);
        freeReplyObject(r);
        sy_store_drop(s);
        return sy_store_failed(s, false, "%s", s->errstr);
    }
    sy_store_gate_ok(s);
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
    enum sy_err e = sy_store_ensure(s);
    if (e != SY_OK)
        return e;
    s->stats.calls++;
    errno = 0;
    uint64_t t0 = sy_now_us();
    redisReply *reply = redisCommandArgv(s->ctx, argc, argv, argvlen);
    sy_store_gate_time(s, t0);
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
    va_list ap;
    va_start(ap, arg0);
    int argc = sy_store_argv(arg0, ap, argv);
    va_end(ap);
    if (argc < 0)
        return SY_EINTERNAL;
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

/* Connect now (and check with PING) instead of at the first call. */
enum sy_err
sy_store_connect(struct sy_store *s)
{
    if (s->channel != NULL)
        return sy_store_ensure(s);
    return sy_store_commandl(s, NULL, NULL, "PING", NULL);
}

/* ------------------------------------------------------------------ */
/* Scripts                                                             */

/* The SHA-1 Redis will give 'sc' (what EVALSHA needs), into 'out' as 40
 * hex digits, by libcrypto (not for security: SHA-1 only names the
 * script). If libcrypto fails, '0' x 40: Redis then answers NOSCRIPT and
 * the load reports the mismatch. */
void
sy_store_script_sha(const struct sy_store_script *sc, char out[41])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const char *text = sy_store_script_text(sc);
    if (EVP_Digest(text, strlen(text), md, &n, EVP_sha1(), NULL) != 1 ||
        n != 20) {
        memset(out, '0', 40);
        out[40] = '\0';
        return;
    }
    for (unsigned i = 0; i < 20; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
}

/* The SHA of 'sc', computed once per store. */
const char *
sy_store_cached_sha(struct sy_store *s, const struct sy_store_script *sc)
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
sy_store_load_script(struct sy_store *s, const struct sy_store_script *sc,
                     const char *sha)
{
    const char *argv[3] = { "SCRIPT", "LOAD", sy_store_script_text(sc) };
    s->stats.script_loads++;
    errno = 0;
    redisReply *r = redisCommandArgv(s->ctx, 3, argv, NULL);
    enum sy_err e = settle(s, r, errno, "SCRIPT LOAD");
    if (e != SY_OK)
        return e;
    if (r->type == REDIS_REPLY_ERROR) {
        sy_store_note_error(s, "SCRIPT LOAD", r);
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
    const char *sha = sy_store_cached_sha(s, sc);
    enum sy_err e = sy_store_ensure(s);
    if (e != SY_OK)
        return e;
    s->stats.calls++;
    return sy_store_load_script(s, sc, sha);
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
    argv[1] = sy_store_cached_sha(s, sc);
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
    if (sy_store_is_noscript(r)) {
        freeReplyObject(r);
        e = sy_store_load_script(s, sc, argv[1]);
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

/* A script's Lua text: given, or embedded at build time. */
const char *
sy_store_script_text(const struct sy_store_script *sc)
{
    size_t len;
    return sc->source != NULL ? sc->source : sc->embedded(&len);
}

/* Collect the NULL-terminated string arguments that follow 'arg0' into
 * 'argv' (STORE_MAX_ARGS of them at most): their count, or -1 when there
 * are more. The variadic command helpers share it. */
int
sy_store_argv(const char *arg0, va_list ap, const char **argv)
{
    int argc = 0;
    for (const char *p = arg0; p != NULL; p = va_arg(ap, const char *)) {
        if (argc == STORE_MAX_ARGS)
            return -1;
        argv[argc++] = p;
    }
    return argc;
}
