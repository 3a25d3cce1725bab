/*
 * metrics.h - the gateway's Prometheus counters: the host's in one shared
 * anonymous mapping that the pool's parent makes before it forks the
 * workers (relaxed atomic adds on the request path, nothing else), a
 * flush that adds what is not yet in Redis to Redis hashes with HINCRBY
 * from any process's state thread batch, at most once a second per
 * process, and the scrape's read of the cluster's sums back
 * (metrics_read.c). Rendering the text is the serve layer's
 * (core/serve/metrics*.c).
 *
 * Every label set is bounded by the config: counters are dense arrays
 * indexed by (surface, group, deployment, ...) position, laid out by
 * struct sy_metrics_layout; the Redis fields spell the names, and a field
 * whose names are not in this config is dropped when read back. Only
 * cost and baseline carry caller key names (a virtual key is not in the
 * config): they are written with the spend, once, by the spend queue's
 * batches (spend_queue.c add_metrics). docs/shared-state.md has the
 * key layout.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_METRICS_H
#define SY_STATE_METRICS_H

#include "base/sy.h"
#include "base/err.h"
#include "io/store.h"

#include <stdatomic.h>

/* The client API of a request (label "surface"). */
enum sy_metrics_surface {
    SY_MS_CHAT,
    SY_MS_RESPONSES,
    SY_MS_MESSAGES,
    SY_MS_EMBEDDINGS,
    SY_MS_COUNT_TOKENS,
    SY_MS_MODELS,
    SY_MS_OTHER,
    SY_MS__COUNT
};

/* Token kinds (label gen_ai_token_type). */
enum sy_metrics_token {
    SY_MT_INPUT,
    SY_MT_OUTPUT,
    SY_MT_CACHED_READ,
    SY_MT_CACHE_WRITE,
    SY_MT_REASONING,
    SY_MT__COUNT
};

/* Routing events per group (family "routing"): hedges started and won
 * (serve/pipeline_hedge.c), prompt-cache affinity results
 * (serve/affinity.c; requests that name no conversation are not
 * counted). */
enum sy_metrics_route_event {
    SY_MR_HEDGE_STARTED,
    SY_MR_HEDGE_WON,
    SY_MR_AFFINITY_HIT,
    SY_MR_AFFINITY_MOVED,
    SY_MR_AFFINITY_MISS,
    SY_MR__COUNT
};

/* Histograms have one bucket per power of two: slot k counts values v
 * with 2^(k-1) < v <= 2^k (slot 0: v <= 1), k = 0 .. 32, so that slot k
 * is exactly Prometheus' le="2^k" (values past 2^32 are counted in slot
 * 32); then the sum of the values. */
#define SY_METRICS_POW2    33
#define SY_METRICS_SUM     SY_METRICS_POW2 /* the slot after the buckets */
#define SY_METRICS_HSLOTS  (SY_METRICS_POW2 + 1)
#define SY_METRICS_CLASSES 3 /* status classes 2xx, 4xx, 5xx */

/* The metric families: one Redis hash each ("<prefix>metrics:<name>"),
 * in the order of their counters in the layout. */
enum sy_metrics_family {
    SY_MF_REQUESTS,            /* surface|group|deployment|class */
    SY_MF_ATTEMPTS,            /* group|deployment|outcome */
    SY_MF_FAILOVERS,           /* group|reason */
    SY_MF_BREAKER,             /* deployment|to */
    SY_MF_TOKENS,              /* deployment|type */
    SY_MF_LAT_TOTAL,           /* deployment|slot */
    SY_MF_LAT_TTFT,            /* deployment|slot */
    SY_MF_LAT_TPOT,            /* deployment|slot */
    SY_MF_OVERHEAD,            /* surface|slot */
    SY_MF_TOKEN_USAGE,         /* deployment|input or output|slot */
    SY_MF_ROUTING,             /* group|event */
    SY_MF__DENSE,              /* the families above are dense counters */
    SY_MF_COST = SY_MF__DENSE, /* key|team|group|deployment */
    SY_MF_BASELINE,            /* key|team|group */
    SY_MF__COUNT
};

/* Where each family's counters sit in one flat array, for one config.
 * A "pair" is a (group, deployment) slot: each group's deployments
 * (then its offline ones), then "none"; the last pair is (none, none). */
struct sy_metrics_layout {
    const struct sy_config *cfg; /* borrowed */
    size_t ngroups;              /* group index ngroups = none */
    size_t ndeps;                /* deployment index ndeps = none */
    size_t npairs;
    size_t *pair_base; /* owned; first pair of each group, ngroups + 1 */
    size_t *pair_dep;  /* owned; deployment index of each pair */
    size_t *pair_grp;  /* owned; group index of each pair */
    size_t off[SY_MF__DENSE + 1]; /* first counter of each family; the
                                     last is the total count */
};

/* Layout (metrics_layout.c) */
void sy_metrics_layout_init(struct sy_metrics_layout *l,
                            const struct sy_config *cfg);
void sy_metrics_layout_cleanup(struct sy_metrics_layout *l);
const char *sy_metrics_family_name(enum sy_metrics_family f);
const char *sy_metrics_surface_name(enum sy_metrics_surface s);
const char *sy_metrics_token_name(enum sy_metrics_token t);
const char *sy_metrics_outcome_name(unsigned outcome);
unsigned sy_metrics_pow2(uint64_t v);
size_t sy_metrics_pair(const struct sy_metrics_layout *l,
                       const struct sy_group *g, const struct sy_deployment *d);
size_t sy_metrics_group_index(const struct sy_metrics_layout *l,
                              const struct sy_group *g);
size_t sy_metrics_req(const struct sy_metrics_layout *l, unsigned surface,
                      size_t pair, unsigned cls);
size_t sy_metrics_att(const struct sy_metrics_layout *l, size_t pair,
                      unsigned outcome);
size_t sy_metrics_fail(const struct sy_metrics_layout *l, size_t group,
                       unsigned reason);
size_t sy_metrics_trans(const struct sy_metrics_layout *l, size_t dep,
                        unsigned to);
size_t sy_metrics_tok(const struct sy_metrics_layout *l, size_t dep,
                      unsigned type);
size_t sy_metrics_hlat(const struct sy_metrics_layout *l, size_t dep,
                       unsigned metric, unsigned slot);
size_t sy_metrics_hovh(const struct sy_metrics_layout *l, unsigned surface,
                       unsigned slot);
size_t sy_metrics_rev(const struct sy_metrics_layout *l, size_t group,
                      unsigned event);
const char *sy_metrics_route_event_name(unsigned event);
size_t sy_metrics_htok(const struct sy_metrics_layout *l, size_t dep,
                       unsigned io, unsigned slot);
bool sy_metrics_field(const struct sy_metrics_layout *l, size_t i,
                      enum sy_metrics_family *fam, char *out, size_t outlen);
bool sy_metrics_index(const struct sy_metrics_layout *l,
                      enum sy_metrics_family fam, const char *field,
                      size_t *out);
size_t sy_metrics_escape(char *out, size_t outlen, const char *name);
bool sy_metrics_unescape(char *s);

/* The host's counters (metrics.c): made by the pool's parent before it
 * forks, shared by every worker process; free after the last worker. */
struct sy_metrics_shared;
struct sy_metrics_shared *sy_metrics_shared_new(const struct sy_config *cfg);
void sy_metrics_shared_free(struct sy_metrics_shared *sh);

/* A process's handle on them (metrics.c) */
struct sy_metrics;
struct sy_usage;
struct sy_usage_record;
struct sy_metrics *sy_metrics_new(const struct sy_config *cfg,
                                  struct sy_metrics_shared *sh,
                                  struct sy_store_gate *gate);
const struct sy_store_gate *sy_metrics_gate(const struct sy_metrics *m);
void sy_metrics_free(struct sy_metrics *m);
const struct sy_metrics_layout *sy_metrics_layout(const struct sy_metrics *m);
void sy_metrics_begin(struct sy_metrics *m);
void sy_metrics_request(struct sy_metrics *m, enum sy_metrics_surface s,
                        const struct sy_group *g, const struct sy_deployment *d,
                        int status, uint64_t overhead_us);
void sy_metrics_attempt(struct sy_metrics *m, const struct sy_group *g,
                        const struct sy_deployment *d, enum sy_err outcome,
                        const struct sy_usage *u, bool failover);
void sy_metrics_latency(struct sy_metrics *m, const struct sy_deployment *d,
                        uint64_t total_us, uint64_t ttft_us, uint64_t tpot_us);
void sy_metrics_breaker(struct sy_metrics *m, size_t dep, unsigned to);
void sy_metrics_route(struct sy_metrics *m, const struct sy_group *g,
                      enum sy_metrics_route_event ev);
int64_t sy_metrics_in_flight(const struct sy_metrics *m);
void sy_metrics_snapshot(const struct sy_metrics *m, uint64_t *out);
void sy_metrics_flush(struct sy_metrics *m, struct sy_store_batch *b,
                      const char *prefix, uint64_t now_ms, bool force);
void sy_metrics_flush_failed(struct sy_metrics *m);

#endif
