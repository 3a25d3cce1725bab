/*
 * quota.h - rate limits of caller keys and of provider API keys, reserved
 * before a call and settled with the real usage after it: cluster-wide
 * through the rate-limit script in Redis, or on local windows capped at
 * limit / state.cluster_workers while Redis is unavailable. Also the key
 * pool of a provider: pick a key that has quota and is not parked.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_QUOTA_H
#define SY_CORE_QUOTA_H

#include "base/sy.h"
#include "config/config.h"
#include "ratelimit.h"
#include "io/store.h"

#define SY_QUOTA_WINDOW_MS   60000u /* RPM and TPM: per minute */
#define SY_QUOTA_PARK_MAX_MS 60000u /* the longest a 429 parks a key */

/* One reservation: what to settle after the call. */
struct sy_reservation {
    bool active;
    bool local;         /* made on the local windows */
    bool lease;         /* taken from this process's lease */
    unsigned lease_idx; /* caller key index of the lease */
    size_t n;
    struct sy_ratelimit_item items[2];
    char names[2][200];
    unsigned slot[2]; /* local window index per item */
    uint64_t window_id;
    uint32_t wait_ms;  /* no key could take it: the shortest hint of when
                          one may (sy_quota_provider_key) */
    bool check_failed; /* ... and a limit could not be checked (the
                          script failed): no key is known to be limited */
};

struct sy_quota;

struct sy_quota *sy_quota_new(const struct sy_config *cfg);
void sy_quota_free(struct sy_quota *q);
enum sy_err sy_quota_caller(struct sy_quota *q, struct sy_store *s,
                            const struct sy_caller_key *k, uint64_t est_tokens,
                            struct sy_reservation *r,
                            struct sy_ratelimit_result *res);
int sy_quota_provider_key(struct sy_quota *q, struct sy_store *s,
                          const struct sy_provider *p, uint64_t est_tokens,
                          struct sy_reservation *r);
void sy_quota_park(struct sy_quota *q, struct sy_store *s,
                   const struct sy_provider *p, unsigned key, uint32_t ms);
void sy_quota_settle(struct sy_quota *q, struct sy_store *s,
                     struct sy_reservation *r, uint64_t used_tokens);
void sy_quota_format_reset(uint32_t ms, char *out, size_t outlen);
void sy_quota_key_name(const struct sy_provider *p, unsigned key, char *out,
                       size_t outlen);

#endif
