/*
 * vkey_cache.h - the virtual keys a worker process found in Redis, kept
 * so that they still authenticate while Redis cannot be reached.
 *
 * Without it every virtual key got 503 key_store_unavailable during an
 * outage, before any budget or rate-limit logic ran: a key's fail_open,
 * and the outage rules of docs/keys.md, never took effect. Now each
 * successful lookup stores the key's record here (refreshing it), a
 * lookup that Redis answers "unknown, revoked or expired" removes it,
 * and only a lookup that cannot reach Redis (SY_ESTORE: not a script
 * error, never "not found") reads it, and only a record stored within
 * max_age_ms (SY_VKEY_CACHE_MAX_AGE_MS for the process's cache): the
 * rest of the request then runs as for any outage (budget.c, quota.c).
 *
 * Records are found by their HMAC (struct sy_vkey's hmac): the caller's
 * key itself is never stored. The cache is set-associative: the HMAC
 * (uniform, and keyed by the server secret, so no caller can aim at a
 * set) picks a set of SY_VKEY_CACHE_WAYS slots, and a new record
 * replaces the least recently used of its set. One mutex guards it:
 * a lookup holds it for a scan of one set and one copy.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_VKEY_CACHE_H
#define SY_STATE_VKEY_CACHE_H

#include "base/sy.h"
#include "vkeys.h"

#include <pthread.h>

/* The process's cache: 5.4 MB of address space, taken once and
 * resident only as records fill it. */
#define SY_VKEY_CACHE_SLOTS 4096
#define SY_VKEY_CACHE_WAYS  8
/* How long a record may serve an outage after the last lookup that
 * found it in Redis: a key revoked or changed elsewhere meanwhile (a
 * partition that leaves the admin API its Redis) keeps its old record
 * here for at most this long. */
#define SY_VKEY_CACHE_MAX_AGE_MS (10u * 60u * 1000u)

struct sy_vkey_cache_slot {
    struct sy_vkey v;   /* v.hmac[0] == '\0': free */
    uint64_t stored_ms; /* local monotonic clock of the last store */
    uint64_t used;      /* the cache's tick at the last store or read */
    uint64_t ticket;    /* of the lookup whose answer is held */
    bool dropped;       /* that answer: no such key (only the HMAC kept) */
};

struct sy_vkey_cache {
    pthread_mutex_t mu;              /* guards everything below */
    struct sy_vkey_cache_slot *slot; /* owned; nsets * SY_VKEY_CACHE_WAYS */
    size_t nsets;
    uint64_t tick;
    uint64_t max_age_ms;
    uint64_t tickets; /* the last ticket handed out */
};

/* A cache of at least 'slots' records (rounded up to whole sets). */
void sy_vkey_cache_init(struct sy_vkey_cache *c, size_t slots,
                        uint64_t max_age_ms);
void sy_vkey_cache_cleanup(struct sy_vkey_cache *c);

/* The worker process's cache (SY_VKEY_CACHE_SLOTS, _MAX_AGE_MS), made
 * on first use and kept until exit. */
struct sy_vkey_cache *sy_vkey_cache_process(void);

/* Answers are held in the order their lookups began: a lookup takes a
 * ticket before it asks Redis, and an answer is not stored over that of
 * a lookup that began later (a thread answered "live" just before a
 * revocation must not store the record after another thread's "not
 * found" dropped it). */
uint64_t sy_vkey_cache_ticket(struct sy_vkey_cache *c);
/* Store 'v' (by v->hmac), stamped 'now_ms', as the answer of the lookup
 * of 'ticket'. */
void sy_vkey_cache_put_at(struct sy_vkey_cache *c, const struct sy_vkey *v,
                          uint64_t now_ms, uint64_t ticket);
/* Forget the record of HMAC 'hex': no such key, as the lookup of
 * 'ticket' was told (remembered so that an older answer is not stored
 * over it). */
void sy_vkey_cache_drop_at(struct sy_vkey_cache *c, const char *hex,
                           uint64_t ticket);
/* The same, as the latest answer. */
void sy_vkey_cache_put(struct sy_vkey_cache *c, const struct sy_vkey *v,
                       uint64_t now_ms);
void sy_vkey_cache_drop(struct sy_vkey_cache *c, const char *hex);
/* The record of HMAC 'hex' when held and stored within max_age_ms of
 * 'now_ms': true with '*out' filled. */
bool sy_vkey_cache_get(struct sy_vkey_cache *c, const char *hex,
                       uint64_t now_ms, struct sy_vkey *out);

/* sy_vkey_lookup() for a request, through cache 'c': Redis first (store
 * 's', NULL counts as unreachable), and the cache only when it cannot
 * be reached; '*cached' says the record came from the cache (a record
 * whose expires_at has passed is SY_ENOTFOUND there too). */
enum sy_err sy_vkey_cache_lookup(struct sy_vkey_cache *c, struct sy_store *s,
                                 const void *secret, size_t secret_len,
                                 const char *key, int64_t now_s,
                                 uint64_t now_ms, struct sy_vkey *out,
                                 bool *cached);

#endif
