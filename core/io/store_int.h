/*
 * store_int.h - private to the Redis store: store.c (connection, gate,
 * pub/sub), store_cmd.c (commands, replies, scripts), store_batch.c
 * (pipelined batches) and store_conf.c (configuration, URL parsing).
 * Other modules see store.h. Includes no hiredis header: hiredis types
 * are named by struct tag only, and only the files that include hiredis
 * look inside them.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_STORE_INT_H
#define SY_CORE_STORE_INT_H

#include "base/sy.h"
#include "base/err.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct redisContext; /* hiredis; complete where hiredis is included */
struct redisReply;

#define STORE_MAX_ARGS 128 /* arguments of one command we build */

/* A script whose SHA this store has computed. */
struct store_script_slot {
    const struct sy_store_script *sc; /* borrowed; static in its module */
    char sha[41];                     /* hex SHA-1 of sc->source */
};

/* One thread's store. Built by sy_store_new() (store_conf.c), freed by
 * sy_store_free() (store.c); the connection fields are store.c's
 * business, used by store_cmd.c and store_batch.c through the functions
 * below. */
struct sy_store {
    struct redisContext *ctx;  /* owned; NULL while not connected */
    uint64_t ctx_epoch;        /* gate epoch when 'ctx' was opened */
    bool subscribed;           /* 'ctx' is subscribed to 'channel' */
    struct sy_store_addr addr; /* data node: from the URL, or credentials
                                  and db for Sentinel (host and port come
                                  from the sentinels) */
    struct sy_store_addr sentinels[SY_STORE_MAX_SENTINELS];
    size_t nsentinels;     /* 0: connect to 'addr' directly */
    size_t sentinel_first; /* the sentinel that answered last */
    char master_name[128];
    char sentinel_password[256]; /* never logged */
    char *prefix;                /* owned */
    char *channel;               /* owned; subscribed channel or NULL */
    uint32_t connect_timeout_ms;
    uint32_t command_timeout_ms;
    unsigned max_errors;
    uint32_t backoff_min_ms;
    uint32_t backoff_max_ms;
    size_t max_reply_bytes;
    struct sy_store_gate own_gate;
    struct sy_store_gate *gate; /* &own_gate or the process's shared one */
    struct store_script_slot scripts[SY_STORE_MAX_SCRIPTS];
    size_t nscripts;
    struct sy_store_stats stats;
    char errstr[192]; /* last failure; no secrets */
};

/* ------------------------------------------------------------------ */
/* Between the store's files (contracts above each definition)         */

/* Connection and gate (store.c) */
void sy_store_drop(struct sy_store *s);
enum sy_err sy_store_ensure(struct sy_store *s);
void sy_store_gate_ok(struct sy_store *s);
void sy_store_gate_time(struct sy_store *s, uint64_t start_us);
enum sy_err sy_store_failed(struct sy_store *s, bool timeout, const char *fmt,
                            ...) SY_PRINTF(3, 4);
enum sy_err sy_store_ctx_failed(struct sy_store *s, const char *what,
                                int saved_errno);
void sy_store_note_error(struct sy_store *s, const char *what,
                         const struct redisReply *r);

/* Replies (store_cmd.c) */
bool sy_store_node_error(const struct redisReply *r);
bool sy_store_is_noscript(const struct redisReply *r);
bool sy_store_convert(const struct redisReply *r, struct sy_arena *a,
                      struct sy_store_val *v, size_t *budget, int depth);

/* Scripts (store_cmd.c) */
const char *sy_store_cached_sha(struct sy_store *s,
                                const struct sy_store_script *sc);
enum sy_err sy_store_load_script(struct sy_store *s,
                                 const struct sy_store_script *sc,
                                 const char *sha);

#include <stdarg.h>
int sy_store_argv(const char *arg0, va_list ap, const char **argv);

#endif
