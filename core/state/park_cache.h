/*
 * park_cache.h - the cluster's parks of provider keys, as last read by
 * the state thread, so that a request on a key with no RPM/TPM limit of
 * its own makes no Redis call before its provider call.
 *
 * A 429 parks the key that got it in Redis (sy_ratelimit_park) and in
 * its process's local window (quota.c). Before this table, every attempt
 * on a key ran the rate-limit script only to learn whether the key was
 * parked: one synchronous round trip on the request's path even when
 * the key has no limits to count. Now the state thread reads the park
 * of every such key (one PTTL each, in the batch it sends about every
 * state.refresh_ms) and the pick (sy_quota_provider_key) reads it here.
 * A park made by another process is seen here within one refresh
 * period; until then this process may send that key a few requests, and
 * the first 429 among them parks it here at once. A table older than two
 * refresh periods plus a second (Redis down, never read, a key it does
 * not hold) is not used: the pick asks Redis as before.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_PARK_CACHE_H
#define SY_STATE_PARK_CACHE_H

#include "base/sy.h"

struct sy_config;
struct sy_provider;
struct sy_store_batch;
struct sy_store_val;

/* Does a key of 'p' take its park from the table (no limits of its
 * own: nothing to count in Redis)? */
bool sy_park_cache_covers(const struct sy_provider *p);

/* Append a PTTL of the park of each covered key of 'cfg' to 'b' (all
 * of them or none); returns how many. Their 'n' replies, from where the
 * first went in the batch, go to sy_park_cache_flush_done() (0: none,
 * the table is not used until the next). */
size_t sy_park_cache_flush(struct sy_store_batch *b, const char *prefix,
                           const struct sy_config *cfg);
/* 'sent_ms': the local clock when the batch went out (a park's time
 * left counts from there, never from after the round trip). */
void sy_park_cache_flush_done(const struct sy_config *cfg,
                              const struct sy_store_val *replies, size_t n,
                              uint64_t sent_ms);

/* The cluster's park of key 'key' of 'p' as last read: true with
 * '*until_ms' (local clock; 0 or past: not parked) when the table holds
 * it and is fresh, false when Redis must be asked. */
bool sy_park_cache_get(const struct sy_provider *p, unsigned key,
                       uint64_t now_ms, uint64_t *until_ms);

#endif
