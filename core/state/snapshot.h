/*
 * snapshot.h - one read of the cluster's shared state for reports: per
 * deployment its latency window (total, time to first token, time per
 * output token), cluster breaker and output contract violations; per
 * provider key and caller key its use of the current rate window. The
 * commands go into a caller's batch (one round trip together with
 * whatever else it reads), so 'switchyard status' (cli/status.c) and
 * GET /metrics (core/serve/metrics.c) read the same things the same way,
 * by the names of keys.h. Read only: no key is created or changed.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_SNAPSHOT_H
#define SY_STATE_SNAPSHOT_H

#include "base/sy.h"
#include "breaker.h"
#include "latency.h"
#include "base/err.h"
#include "io/store.h"

/* One limit's counters: the current and previous fixed windows. */
struct sy_rate_use {
    uint64_t cur;
    uint64_t prev;
    uint64_t limit;
    uint64_t used; /* sliding estimate, as the limiter computes it */
};

struct sy_snap_dep {
    struct sy_latency_stats lat[SY_LATENCY__COUNT]; /* total, ttft, tpot */
    struct sy_breaker_shared br;
    bool br_known;
    uint64_t contract; /* output contract violations, all time */
    /* positions of its replies in the batch */
    size_t at_lat[SY_LATENCY__COUNT]; /* first HGETALL of each metric */
    size_t nslices;
    size_t at_breaker;
    size_t at_contract; /* HGET <contract hash> <deployment> */
};

/* A provider key or a caller key. */
struct sy_snap_key {
    char name[200];       /* "<provider>#<n>" or the caller key name */
    const char *provider; /* NULL for caller keys */
    char rl_rpm[240];     /* limit names (sy_key_limit_*) */
    char rl_tpm[240];
    struct sy_rate_use rpm;
    struct sy_rate_use tpm;
    int64_t parked_ms; /* provider keys: park time left, 0 none */
    size_t at_rpm;     /* GET current window, GET previous */
    size_t at_tpm;
    size_t at_park; /* PTTL, provider keys only */
};

struct sy_snapshot {
    const struct sy_config *cfg; /* borrowed */
    const char *prefix;          /* the store's key prefix; borrowed */
    uint64_t now_ms;             /* the clock the windows are read at
                                    (wall, ms since the epoch) */
    struct sy_snap_dep *deps;    /* owned; one per deployment */
    struct sy_snap_key *pkeys;   /* owned */
    size_t npkeys;
    struct sy_snap_key *ckeys; /* owned; one per configured caller key */
};

void sy_snapshot_init(struct sy_snapshot *s, const struct sy_config *cfg,
                      const char *prefix, uint64_t now_ms);
void sy_snapshot_cleanup(struct sy_snapshot *s);
enum sy_err sy_snapshot_queue(struct sy_snapshot *s, struct sy_store_batch *b);
void sy_snapshot_read(struct sy_snapshot *s, const struct sy_store_val *r);

struct sy_state_conf;
void sy_state_describe_redis(const struct sy_state_conf *sc, char *out,
                             size_t outlen);

#endif
