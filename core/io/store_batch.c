/*
 * store_batch.c - pipelined batches of Redis commands: each command is
 * encoded by hiredis' own formatter (redisFormatCommandArgv) into one
 * buffer (sy_store_batch_*, no I/O), then the whole batch is sent in one
 * write and every reply read (sy_store_exec), reloading scripts Redis
 * answered NOSCRIPT for. Includes hiredis; the connection and the gate
 * are store.c's, reply conversion and scripts store_cmd.c's, through
 * store_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "store.h"
#include "store_int.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

/* Where one command of a batch sits in the encoded text. */
struct sy_store_batch_cmd {
    size_t off;                           /* start in 'resp' */
    size_t len;                           /* bytes in 'resp' */
    const struct sy_store_script *script; /* EVALSHA: reload on NOSCRIPT */
};

/* ------------------------------------------------------------------ */
/* Pipelined batches                                                   */

/* An empty batch whose encoded commands may take up to 'max_bytes'. */
void
sy_store_batch_init(struct sy_store_batch *b, size_t max_bytes)
{
    memset(b, 0, sizeof(*b));
    sy_buf_init(&b->resp, max_bytes);
}

void
sy_store_batch_cleanup(struct sy_store_batch *b)
{
    if (b == NULL)
        return;
    sy_buf_free(&b->resp);
    free(b->cmds);
    memset(b, 0, sizeof(*b));
}

/* Forget the commands, keep the memory. */
void
sy_store_batch_reset(struct sy_store_batch *b)
{
    sy_buf_clear(&b->resp);
    b->n = 0;
}

/* Keep only the first 'n' commands (to undo a group of appends that did
 * not fit). */
void
sy_store_batch_truncate(struct sy_store_batch *b, size_t n)
{
    if (n >= b->n)
        return;
    b->resp.len = b->cmds[n].off;
    b->resp.data[b->resp.len] = '\0';
    b->n = n;
}

/* Append one command, as RESP from hiredis, and remember where it sits.
 * SY_ETOOBIG, with 'b' unchanged, when it would pass the batch maximum. */
static enum sy_err
batch_append(struct sy_store_batch *b, int argc, const char **argv,
             const size_t *argvlen, const struct sy_store_script *script)
{
    if (argc <= 0)
        return SY_EINTERNAL;
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0 || cmd == NULL)
        sy_oom(0); /* hiredis fails only when malloc does */
    /* Size first: a full batch is left unchanged and usable (a refused
     * append would mark the buffer failed). */
    if ((size_t)len > b->resp.max - b->resp.len) {
        redisFreeCommand(cmd);
        return SY_ETOOBIG;
    }
    size_t off = b->resp.len;
    enum sy_err e = sy_buf_append(&b->resp, cmd, (size_t)len);
    redisFreeCommand(cmd);
    if (e != SY_OK)
        return e;
    if (b->n == b->cap) {
        b->cap = b->cap == 0 ? 16 : b->cap * 2;
        b->cmds = sy_xrealloc(b->cmds, b->cap * sizeof(*b->cmds));
    }
    b->cmds[b->n].off = off;
    b->cmds[b->n].len = b->resp.len - off;
    b->cmds[b->n].script = script;
    b->n++;
    return SY_OK;
}

/* Append one command to 'b' ('argvlen' NULL for NUL-terminated strings).
 * SY_ETOOBIG, with 'b' unchanged, when it would pass the batch maximum. */
enum sy_err
sy_store_batch_add(struct sy_store_batch *b, int argc, const char **argv,
                   const size_t *argvlen)
{
    return batch_append(b, argc, argv, argvlen, NULL);
}

/* sy_store_batch_add() with string arguments ending with a NULL. */
enum sy_err
sy_store_batch_addl(struct sy_store_batch *b, const char *arg0, ...)
{
    const char *argv[STORE_MAX_ARGS];
    va_list ap;
    va_start(ap, arg0);
    int argc = sy_store_argv(arg0, ap, argv);
    va_end(ap);
    if (argc < 0)
        return SY_EINTERNAL;
    return batch_append(b, argc, argv, NULL, NULL);
}

/* Append an EVALSHA of 'sc'; sy_store_exec() loads the script and runs
 * the command again if Redis answers NOSCRIPT. */
enum sy_err
sy_store_batch_eval(struct sy_store_batch *b, const struct sy_store_script *sc,
                    int nkeys, const char **keys, int nargs, const char **args)
{
    if (nkeys < 0 || nargs < 0 || nkeys + nargs > STORE_MAX_ARGS)
        return SY_EINTERNAL;
    if (b->last_script != sc) {
        sy_store_script_sha(sc, b->last_sha);
        b->last_script = sc;
    }
    const char *argv[STORE_MAX_ARGS + 3];
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    argv[0] = "EVALSHA";
    argv[1] = b->last_sha;
    argv[2] = nk;
    for (int i = 0; i < nkeys; i++)
        argv[3 + i] = keys[i];
    for (int i = 0; i < nargs; i++)
        argv[3 + nkeys + i] = args[i];
    return batch_append(b, 3 + nkeys + nargs, argv, NULL, sc);
}

/* Read one reply of a pipeline into 'vals[i]' (when 'vals' is set). */
static enum sy_err
read_one(struct sy_store *s, struct sy_arena *a, struct sy_store_val *vals,
         size_t i, size_t *budget, redisReply **keep)
{
    void *rv = NULL;
    errno = 0;
    if (redisGetReply(s->ctx, &rv) != REDIS_OK || rv == NULL)
        return sy_store_ctx_failed(s, "pipeline", errno);
    redisReply *r = rv;
    if (vals != NULL && !sy_store_convert(r, a, &vals[i], budget, 0)) {
        memset(&vals[i], 0, sizeof(vals[i]));
        vals[i].type = SY_STORE_ERROR;
        vals[i].str = "ERR reply too large";
        vals[i].len = strlen(vals[i].str);
    }
    *keep = r;
    return SY_OK;
}

/* Send every command of 'b' in one write and read all the replies. On
 * SY_OK, '*replies' (when 'replies' and 'a' are set) is an array of b->n
 * values in arena 'a', in order; a command that failed inside Redis has
 * an SY_STORE_ERROR value there. EVALSHA answered NOSCRIPT is retried once
 * after loading its script. SY_ESTORE when Redis is unavailable: then
 * some commands may have run and others not. 'b' is left as it is. */
enum sy_err
sy_store_exec(struct sy_store *s, struct sy_store_batch *b, struct sy_arena *a,
              struct sy_store_val **replies)
{
    if (replies != NULL)
        *replies = NULL;
    if (b->n == 0)
        return SY_OK;
    if (s->channel != NULL)
        return SY_EINTERNAL;
    enum sy_err e = sy_store_ensure(s);
    if (e != SY_OK)
        return e;
    s->stats.calls++;
    uint64_t t0 = sy_now_us();
    struct sy_store_val *vals = replies != NULL && a != NULL
                                    ? sy_arena_zalloc(a, b->n * sizeof(*vals))
                                    : NULL;
    size_t budget = s->max_reply_bytes;
    if (redisAppendFormattedCommand(s->ctx, b->resp.data, b->resp.len) !=
        REDIS_OK)
        return sy_store_ctx_failed(s, "pipeline", errno);
    bool *again = NULL;
    size_t nagain = 0;
    bool bad_node = false;
    char node_msg[sizeof(s->errstr)] = "";
    for (size_t i = 0; i < b->n; i++) {
        redisReply *r;
        e = read_one(s, a, vals, i, &budget, &r);
        if (e != SY_OK) {
            free(again);
            return e;
        }
        if (b->cmds[i].script != NULL && sy_store_is_noscript(r)) {
            if (again == NULL)
                again = sy_xcalloc(b->n, sizeof(*again));
            again[i] = true;
            nagain++;
        } else if (sy_store_node_error(r) && !bad_node) {
            bad_node = true;
            int n = (int)strcspn(r->str, "\r\n");
            snprintf(node_msg, sizeof(node_msg), "pipeline: %.*s",
                     SY_MIN(n, 150), r->str);
        }
        freeReplyObject(r);
    }
    if (bad_node) {
        free(again);
        sy_store_drop(s);
        return sy_store_failed(s, false, "%s", node_msg);
    }
    if (nagain > 0) {
        /* Load each missing script once, then send those commands again,
         * in their order. */
        for (size_t i = 0; i < b->n && e == SY_OK; i++) {
            if (!again[i])
                continue;
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = again[j] && b->cmds[j].script == b->cmds[i].script;
            if (!seen)
                e = sy_store_load_script(
                    s, b->cmds[i].script,
                    sy_store_cached_sha(s, b->cmds[i].script));
        }
        for (size_t i = 0; i < b->n && e == SY_OK; i++) {
            if (again[i] && redisAppendFormattedCommand(
                                s->ctx, b->resp.data + b->cmds[i].off,
                                b->cmds[i].len) != REDIS_OK)
                e = sy_store_ctx_failed(s, "pipeline", errno);
        }
        for (size_t i = 0; i < b->n && e == SY_OK; i++) {
            redisReply *r;
            if (!again[i])
                continue;
            e = read_one(s, a, vals, i, &budget, &r);
            if (e == SY_OK)
                freeReplyObject(r);
        }
        free(again);
        if (e != SY_OK)
            return e;
    }
    sy_store_gate_ok(s);
    sy_store_gate_time(s, t0);
    if (replies != NULL)
        *replies = vals;
    return SY_OK;
}
