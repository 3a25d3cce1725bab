/*
 * metrics_read.h - what a scrape of GET /metrics reads: the cluster's
 * counter sums from Redis (or, with no Redis configured, the host's:
 * every worker process's), the live state of core/state/snapshot.h, requests in flight and
 * the virtual keys' budgets left. Two Redis round trips whatever the
 * number of deployments or keys: one pipeline for everything, then one
 * for the budgets of the keys it listed. core/serve/metrics*.c renders.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_METRICS_READ_H
#define SY_STATE_METRICS_READ_H

#include "base/sy.h"
#include "metrics.h"
#include "snapshot.h"
#include "base/mem.h"

/* A cost or baseline series: names from Redis, in the view's arena. */
struct sy_metrics_money {
    const char *key;
    const char *team;
    const char *group;
    const char *deployment; /* NULL for a baseline */
    int64_t micro_usd;
};

struct sy_metrics_budget {
    const char *key; /* virtual key name, in the arena */
    int64_t remaining_micro_usd;
};

struct sy_metrics_view {
    const struct sy_metrics_layout *lay; /* borrowed */
    struct sy_arena arena;               /* owns the strings below */
    bool redis_on;                       /* shared state configured */
    bool redis_up;                       /* the scrape's reads worked */
    unsigned redis_calls;                /* round trips this scrape made */
    bool have_totals; /* 'tot' holds counters (cluster or host) */
    uint64_t *tot;    /* owned; lay->off[SY_MF__DENSE] sums */
    bool have_snap;   /* 'snap' was read */
    struct sy_snapshot snap;
    struct sy_metrics_money *money[2]; /* owned; cost, baseline */
    size_t nmoney[2];
    struct sy_metrics_budget *budgets; /* owned */
    size_t nbudgets;
    int64_t in_flight;  /* the cluster's, else this process's */
    bool have_redis_op; /* the host's Redis round trips: */
    uint64_t redis_op[SY_STORE_OP_SLOTS];
};

void sy_metrics_read(struct sy_metrics_view *v, struct sy_metrics *m,
                     const struct sy_config *cfg, struct sy_store *store,
                     bool redis_on, uint64_t now_ms);
void sy_metrics_view_cleanup(struct sy_metrics_view *v);

#endif
