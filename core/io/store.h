/*
 * store.h - the shared-state connection to Redis. The only hiredis user:
 * no hiredis type or header appears here, and replies come back as plain
 * values (struct sy_store_val) copied into a caller's arena.
 *
 * One struct sy_store per thread (not thread-safe); the stores of a
 * process may share one struct sy_store_gate, so that when one thread
 * finds Redis dead or hung the others stop trying too. See
 * docs/shared-state.md for the failure behaviour and the key layout.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_STORE_H
#define SY_CORE_STORE_H

#include "base/sy.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/mem.h"

#include <stdatomic.h>

struct sy_store;      /* opaque; one per thread */
struct sy_state_conf; /* config/config.h: the "state" section */

/* ------------------------------------------------------------------ */
/* Configuration                                                       */

/* A parsed "redis://[[user]:password@]host[:port][/db]" or "host:port". */
struct sy_store_addr {
    char host[256];     /* name or address; IPv6 without brackets */
    int port;           /* 6379 when absent */
    char user[128];     /* "" = none (AUTH password only) */
    char password[256]; /* "" = no AUTH; never logged */
    unsigned db;        /* SELECT index, 0 = none */
};

#define SY_STORE_OP_SLOTS 34 /* see struct sy_store_gate.op_us */

/* The failure gate: consecutive errors, the backoff and the time until
 * which calls are refused without touching the network. One per store by
 * default; a process may give all its stores one shared gate (every field
 * is atomic). Touch it only through the store's files. */
struct sy_store_gate {
    _Atomic uint64_t down_until_ms; /* 0 = up; else no I/O before this
                                       (monotonic ms) */
    _Atomic uint32_t backoff_ms;    /* current backoff, 0 when up */
    _Atomic uint32_t errors;        /* consecutive errors */
    _Atomic uint64_t epoch;         /* bumped each time Redis goes down;
                                       older connections are dropped */
    /* Round trips by duration (GET /metrics): slot k counts those of
     * more than 2^(k-1) microseconds and at most 2^k (slot 0: at most 1),
     * k = 0 .. 32; the last slot is the sum of the microseconds. */
    _Atomic uint64_t op_us[SY_STORE_OP_SLOTS];
    _Atomic uint64_t *op_us_to; /* NULL: they are counted in 'op_us';
                                   else in this array of as many slots
                                   (the host's, state/metrics.c) */
};

struct sy_store_conf {
    const char *url;               /* "redis://..."; NULL with sentinels;
                                       borrowed */
    const char *const *sentinels;  /* "host:port" each; borrowed */
    size_t nsentinels;             /* 0 = use 'url' */
    const char *master_name;       /* Sentinel master name */
    const char *username;          /* with sentinels: data node ACL user */
    const char *password;          /* with sentinels: data node password */
    const char *sentinel_password; /* AUTH for the sentinels, or NULL */
    unsigned db;                   /* with sentinels: SELECT index */
    const char *prefix;            /* key prefix, e.g. "sy:"; copied */
    uint32_t connect_timeout_ms;   /* TCP connect to Redis or a sentinel */
    uint32_t command_timeout_ms;   /* each read or write on the socket */
    unsigned max_errors;           /* consecutive errors before backing
                                       off (a timeout backs off at once) */
    uint32_t backoff_min_ms;       /* first backoff */
    uint32_t backoff_max_ms;       /* the backoff doubles up to this */
    size_t max_reply_bytes;        /* cap on one converted reply */
    struct sy_store_gate *gate;    /* shared gate, or NULL for a private
                                       one; borrowed, must outlive */
};

/* ------------------------------------------------------------------ */
/* Replies as plain values                                             */

enum sy_store_type {
    SY_STORE_NIL,
    SY_STORE_INT,
    SY_STORE_STR,    /* bulk string */
    SY_STORE_STATUS, /* +OK and friends */
    SY_STORE_ERROR,  /* -ERR ...: an error reply (not a failed call) */
    SY_STORE_ARRAY
};

struct sy_store_val {
    enum sy_store_type type;
    int64_t i;                 /* SY_STORE_INT */
    const char *str;           /* STR, STATUS, ERROR: NUL-terminated,
                                  in the caller's arena */
    size_t len;                /* bytes in 'str' */
    struct sy_store_val *elem; /* SY_STORE_ARRAY: 'n' values, in the arena */
    size_t n;
};

/* A Lua script known by its text; the store computes its SHA-1, runs it
 * by EVALSHA and loads it (SCRIPT LOAD) the first time Redis answers
 * NOSCRIPT. Define them as static const in the module that owns them,
 * with the text given directly or by the function the build embeds it
 * as (core/state/lua/NAME.lua: sy_lua_NAME). */
struct sy_store_script {
    const char *name;                     /* for logs */
    const char *source;                   /* Lua text, or NULL: */
    const char *(*embedded)(size_t *len); /* ... the embedded file */
};

const char *sy_store_script_text(const struct sy_store_script *sc);

/* A pipelined batch of commands (RESP text built in memory, no I/O until
 * sy_store_exec). */
struct sy_store_batch_cmd;
struct sy_store_batch {
    struct sy_buf resp;              /* owned; the encoded commands */
    struct sy_store_batch_cmd *cmds; /* owned; one per command */
    size_t n;                        /* commands in the batch */
    size_t cap;
    const struct sy_store_script *last_script; /* SHA cache for adds */
    char last_sha[41];
};

struct sy_store_stats {
    uint64_t calls;        /* calls that reached the network */
    uint64_t failures;     /* calls that failed (I/O, timeout, refused) */
    uint64_t skipped;      /* calls refused by the gate without I/O */
    uint64_t timeouts;     /* failures that were timeouts */
    uint64_t connects;     /* successful connections */
    uint64_t script_loads; /* SCRIPT LOAD after NOSCRIPT (or a preload) */
    uint64_t sentinel_lookups;
};

/* ------------------------------------------------------------------ */
/* API                                                                 */

/* Setup */
void sy_store_conf_defaults(struct sy_store_conf *conf);
void sy_store_conf_from_state(struct sy_store_conf *conf,
                              const struct sy_state_conf *sc);
enum sy_err sy_store_parse_url(const char *url, struct sy_store_addr *out,
                               char *err, size_t errlen);
enum sy_err sy_store_parse_hostport(const char *s, struct sy_store_addr *out,
                                    char *err, size_t errlen);
void sy_store_gate_init(struct sy_store_gate *g);
void sy_store_gate_durations(const struct sy_store_gate *g,
                             uint64_t out[SY_STORE_OP_SLOTS]);
enum sy_err sy_store_new(const struct sy_store_conf *conf,
                         struct sy_store **out, char *err, size_t errlen);
void sy_store_free(struct sy_store *s);

/* State */
enum sy_err sy_store_connect(struct sy_store *s);
bool sy_store_is_up(const struct sy_store *s);
const char *sy_store_prefix(const struct sy_store *s);
const char *sy_store_last_error(const struct sy_store *s);
void sy_store_get_stats(const struct sy_store *s, struct sy_store_stats *out);

/* Single commands */
enum sy_err sy_store_command(struct sy_store *s, struct sy_arena *a,
                             struct sy_store_val **out, int argc,
                             const char **argv, const size_t *argvlen);
enum sy_err sy_store_commandl(struct sy_store *s, struct sy_arena *a,
                              struct sy_store_val **out, const char *arg0, ...);
enum sy_err sy_store_time_ms(struct sy_store *s, uint64_t *out);

/* Scripts */
void sy_store_script_sha(const struct sy_store_script *sc, char out[41]);
enum sy_err sy_store_script_load(struct sy_store *s,
                                 const struct sy_store_script *sc);
enum sy_err sy_store_eval(struct sy_store *s, const struct sy_store_script *sc,
                          int nkeys, const char **keys, int nargs,
                          const char **args, struct sy_arena *a,
                          struct sy_store_val **out);

/* Pipelined batches */
void sy_store_batch_init(struct sy_store_batch *b, size_t max_bytes);
void sy_store_batch_cleanup(struct sy_store_batch *b);
void sy_store_batch_reset(struct sy_store_batch *b);
void sy_store_batch_truncate(struct sy_store_batch *b, size_t n);
enum sy_err sy_store_batch_add(struct sy_store_batch *b, int argc,
                               const char **argv, const size_t *argvlen);
enum sy_err sy_store_batch_addl(struct sy_store_batch *b, const char *arg0,
                                ...);
enum sy_err sy_store_batch_eval(struct sy_store_batch *b,
                                const struct sy_store_script *sc, int nkeys,
                                const char **keys, int nargs,
                                const char **args);
enum sy_err sy_store_exec(struct sy_store *s, struct sy_store_batch *b,
                          struct sy_arena *a, struct sy_store_val **replies);

/* Publish/subscribe (a subscribed store runs no other command) */
enum sy_err sy_store_subscribe(struct sy_store *s, const char *channel);
enum sy_err sy_store_read_message(struct sy_store *s, uint32_t timeout_ms,
                                  struct sy_arena *a, const char **channel,
                                  const char **msg, size_t *msglen);

/* Reply helpers */
bool sy_store_val_int(const struct sy_store_val *v, int64_t *out);
bool sy_store_val_is_error(const struct sy_store_val *v, const char *prefix);
/* A script's error reply that is a refusal, not "Redis unavailable". */
bool sy_store_script_failed(const struct sy_store_val *v);
bool sy_store_writes_refused(const struct sy_store_val *replies, size_t n);

#endif
