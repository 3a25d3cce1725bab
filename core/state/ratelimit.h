/*
 * ratelimit.h - RPM/TPM windows for caller keys and provider keys.
 *
 * A request reserves its estimated cost on several limits at once, all or
 * nothing (one Lua script in Redis, or the local windows when Redis is
 * down), and settles with the real usage afterwards. A provider key that
 * answered 429 is parked until its Retry-After. Windows are sliding
 * (two fixed windows, the previous one weighted by how much of it still
 * overlaps), so a reservation never outlives two windows: nothing leaks
 * when a worker dies between reserve and settle.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_RATELIMIT_H
#define SY_CORE_RATELIMIT_H

#include "base/sy.h"
#include "base/err.h"
#include "base/limits.h"
#include "io/store.h"

/* Largest amount sent to the script: Redis turns a Lua number into a
 * command argument with 14 significant digits ("%.14g"), so INCRBY of
 * 1e14 or more would get "9.2233720368548e+18" and fail. A larger cost
 * is charged as this; it still fills any limit. */
#define SY_RATELIMIT_MAX_COST UINT64_C(1000000000000)

/* One limit a request is checked and charged against. */
struct sy_ratelimit_item {
    const char *name; /* e.g. "vk:<sha>:tpm", "pk:openai#2:rpm"; borrowed */
    uint64_t limit;   /* per window; 0 = unlimited (only parking applies) */
    uint64_t cost;    /* this request: 1 for RPM, estimated tokens for TPM */
};

struct sy_ratelimit_result {
    bool allowed;            /* reserved on every item */
    int refused;             /* index of the item that refused, or -1 */
    bool parked;             /* ... because it is parked (429) */
    bool failed;             /* ... because the limit could not be checked
                                (the script failed on a reply from Redis):
                                a refusal, never a fallback */
    uint32_t retry_after_ms; /* when refused: when to try again (a hint) */
    uint64_t window_id;      /* the window charged; keep it to settle */
    uint64_t now_ms;         /* the clock used (Redis' for the script) */
};

/* The local fallback: one per limit, in memory. Not locked; the caller
 * serialises (a mutex per process, or one set per thread). */
struct sy_ratelimit_window {
    uint64_t id;              /* current window: now_ms / window_ms */
    uint64_t cur;             /* charged in the current window */
    uint64_t prev;            /* charged in the one before */
    uint64_t parked_until_ms; /* 0, or refused until this time */
};

/* Pure logic */
uint64_t sy_ratelimit_estimate(uint64_t prev, uint64_t cur, uint32_t window_ms,
                               uint64_t elapsed_ms);
uint64_t sy_ratelimit_local_limit(uint64_t limit, unsigned workers);
void sy_ratelimit_local_reserve(struct sy_ratelimit_window *const *w,
                                const struct sy_ratelimit_item *items, size_t n,
                                uint32_t window_ms, uint64_t now_ms,
                                struct sy_ratelimit_result *out);
void sy_ratelimit_local_settle(struct sy_ratelimit_window *const *w,
                               const struct sy_ratelimit_item *items,
                               const uint64_t *used, size_t n,
                               uint64_t window_id);
void sy_ratelimit_local_park(struct sy_ratelimit_window *w, uint64_t now_ms,
                             uint32_t ms);

/* Redis side (one Lua script, lua/ratelimit.lua; keys named by keys.h) */
enum sy_err sy_ratelimit_reserve(struct sy_store *s,
                                 const struct sy_ratelimit_item *items,
                                 size_t n, uint32_t window_ms, uint64_t now_ms,
                                 struct sy_ratelimit_result *out);
enum sy_err sy_ratelimit_settle(struct sy_store *s,
                                const struct sy_ratelimit_item *items,
                                const uint64_t *used, size_t n,
                                uint32_t window_ms, uint64_t window_id);
enum sy_err sy_ratelimit_park(struct sy_store *s, const char *name,
                              uint32_t ms);

#endif
