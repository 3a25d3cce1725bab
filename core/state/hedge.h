/*
 * hedge.h - hedged requests: the decision (a pure function, hedge.c),
 * the share of a group's requests that may be hedged, and the process's
 * counters (hedge_share.c).
 *
 * The share is counted over two 10-second windows of the wall clock
 * (the current and the last), cluster-wide when Redis is on: each
 * process adds its requests and hedges of every hedging group to a
 * counter pair per window in Redis from the state thread's batch
 * (sy_hedge_flush, about once per state.refresh_ms) and reads the
 * cluster's totals back in the same batch. A hedge is allowed when
 * (hedges + 1) <= max_share x requests + 1, counting the cluster's
 * totals as last read plus this process's own counts since (one hedge
 * per window pair for the whole cluster, so a quiet group can still
 * hedge). Between two batches, processes see each other's counts only
 * at the next batch, so the cluster can go past the cap by what the
 * processes take in one refresh period. When the totals are older
 * than two refresh periods plus a second (Redis down, or never read),
 * each process applies the rule to its own counts only, each with its
 * own allowance of one.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_HEDGE_H
#define SY_STATE_HEDGE_H

#include "base/sy.h"

struct sy_group;
struct sy_hedge_conf;
struct sy_dep_view;
struct sy_config;
struct sy_store_batch;
struct sy_store_val;

/* Length of a share window. */
#define SY_HEDGE_WINDOW_MS 10000u

enum sy_hedge_verdict {
    SY_HEDGE_NEVER,   /* no hedge for this request */
    SY_HEDGE_NOT_YET, /* ask again at the delay */
    SY_HEDGE_NOW      /* start the second attempt */
};

/* Samples a live window needs before its quantiles set a "p95" delay:
 * under it, its held p95 is its third-slowest sample, a guess from a
 * handful (in a group's first second, a few ms), and nearly every first
 * attempt would be hedged. */
#define SY_HEDGE_MIN_SAMPLES 10

/* The time-to-first-token picture a hedge decision reads of one
 * deployment: its live window once that has SY_HEDGE_MIN_SAMPLES and a
 * p95, else its last live picture (all 0 when it was never seen live, or
 * 'v' is NULL). Pure. */
struct sy_hedge_ttft {
    uint32_t p50_ms, p95_ms, p99_ms;
};
struct sy_hedge_ttft sy_hedge_ttft_of(const struct sy_dep_view *v);

/* The delay before a hedge, in ms: the fixed one, or the deployment's
 * live p95 time to first token (its last live one when it is quiet); 0
 * when there is none (under SY_HEDGE_MIN_SAMPLES samples and nothing
 * known: no hedge). */
uint32_t sy_hedge_delay_ms(const struct sy_hedge_conf *h,
                           const struct sy_dep_view *v);

/* The delay for a first attempt on the deployment 'first' when the
 * deployments 'peers' (the plan's other candidates known to meet the
 * group's thresholds) could answer instead: the shortest of their
 * sy_hedge_delay_ms. A request sent to a deployment that is itself slow
 * (a re-probe, a fallback) is hedged when the group's healthy ones
 * would have answered, not at that deployment's own, late, p95. */
uint32_t sy_hedge_delay_plan_ms(const struct sy_hedge_conf *h,
                                const struct sy_dep_view *first,
                                const struct sy_dep_view *const *peers,
                                size_t npeers);

/* The delay at a cold start, when none of the plan's deployments 'all'
 * has a picture yet (sy_hedge_ttft_of: live or last known; 0 when one
 * has, as a drained deployment can while the first and the healthy
 * ones have none, so sy_hedge_delay_plan_ms gave 0): twice the longest
 * held TTFT p95 among them (of a handful of samples, about their
 * slowest) once they have SY_HEDGE_MIN_SAMPLES together, else 0 (no
 * hedge). Without it a new group hedges nothing until one deployment
 * has a window of its own, and its first seconds, when the router still
 * learns which deployment is slow, are the likeliest to wait. Pure. */
uint32_t sy_hedge_delay_cold_ms(const struct sy_hedge_conf *h,
                                const struct sy_dep_view *const *all, size_t n);

/* The delay 'base_ms' (sy_hedge_delay_plan_ms) moved to when a hedge is
 * likely to answer first. A hedge started after t answers at about t +
 * 'peer_p50_ms' (the TTFT p50 of the deployment it would go to); the
 * first attempt, having waited t, is still waiting then with probability
 * S(t + peer) / S(t), S the survival of a log-normal fitted to the first
 * deployment's TTFT p50 and p95 (live, else its last live picture). The
 * delay is the first t from 'base_ms' on where that reaches
 * SY_HEDGE_WIN_MIN: at once for a heavy tail or a deployment slower than
 * the peers, never for a light tail, whose waits past the base almost
 * all end before a hedge could answer. Such a deployment is hedged from
 * its own TTFT p99 and the fit's 99.9th percentile on, where a wait is
 * a stall rather than its distribution. Without a picture of the first deployment, or
 * 'peer_p50_ms' 0: 'base_ms'. Pure. */
#define SY_HEDGE_WIN_MIN 0.5
uint32_t sy_hedge_delay_tail_ms(uint32_t base_ms,
                                const struct sy_dep_view *first,
                                uint32_t peer_p50_ms);

/* Whether to hedge the first attempt now. 'delay_ms' from
 * sy_hedge_delay_ms (0: never); 'elapsed_ms' since the first attempt
 * started; 'first_token': it has produced one (or finished);
 * 'has_next': the plan has another eligible candidate; 'share_ok': the
 * group's share allows one more hedge. */
enum sy_hedge_verdict sy_hedge_decide(uint32_t delay_ms, uint64_t elapsed_ms,
                                      bool first_token, bool has_next,
                                      bool share_ok);

/* When a first attempt with no hedge yet is asked again, in ms since it
 * started ('elapsed_ms' now; 0: never again). Asked early, before its
 * 'delay_ms' (the pipeline asks first at 'base_ms', the unmoved delay
 * of sy_hedge_delay_plan_ms, for a deployment that stalls now): at the
 * delay. Refused by the share at or past the delay: 'base_ms' later (at
 * least SY_HEDGE_AGAIN_MIN_MS), and so on while it waits (the share may
 * have room by then), up to 60 s. Pure. */
#define SY_HEDGE_AGAIN_MIN_MS 100
uint64_t sy_hedge_again_ms(uint32_t base_ms, uint32_t delay_ms,
                           uint64_t elapsed_ms);

/* The delay 'delay_ms' (after_ms "p95") stretched as the group's share
 * fills, so that the hedges go to the slowest first attempts rather than
 * to the first ones past the delay: with 'hedges' taken of the allowance
 * (max_share x 'requests' + 1), unchanged up to SY_HEDGE_STRETCH_FROM of
 * it, then growing linearly to SY_HEDGE_STRETCH_MAX times at the full
 * allowance (and beyond). At most 60 s. Pure. */
#define SY_HEDGE_STRETCH_FROM 0.75
#define SY_HEDGE_STRETCH_MAX  3.0
uint32_t sy_hedge_delay_stretched(uint32_t delay_ms, uint64_t requests,
                                  uint64_t hedges, double max_share);

/* Whether 'hedges' + 1 stays within 'max_share' of 'requests' (plus the
 * allowance of one). Pure. */
bool sy_hedge_share_allows(uint64_t requests, uint64_t hedges,
                           double max_share);
/* The same with 'extra' more allowed. */
bool sy_hedge_share_allows_extra(uint64_t requests, uint64_t hedges,
                                 double max_share, unsigned extra);

/* The share windows of group 'g' ('now_ms' the wall clock, so every
 * host numbers the windows alike): count a request of the group; take
 * one hedge when the share allows it (true: counted); give back one
 * taken for a hedge that never went out (a reservation or its adapter
 * refused). Thread-safe. */
void sy_hedge_note_request(const struct sy_group *g, uint64_t now_ms);
bool sy_hedge_take(const struct sy_group *g, uint64_t now_ms);
/* sy_hedge_take for a first attempt on a deployment that stalls now
 * (two other streams on it in this process waiting past its TTFT p95):
 * SY_HEDGE_STALL_EXTRA
 * more hedges per window pair. A stall's onset finds several first
 * attempts in flight at once, after steady-state hedges may have taken
 * the share; a slowdown of every deployment does not double the load
 * by this. */
#define SY_HEDGE_STALL_EXTRA 2
bool sy_hedge_take_stalled(const struct sy_group *g, uint64_t now_ms);
/* Which of the share's rules a hedge is taken under (pure): with the
 * "p95" delay ('p95'), an exploration probe's the probe rule, a first
 * attempt on a deployment where 'others_stalled' other streams here
 * wait past its TTFT p95 (two or more: it stalls now) the stall rule;
 * else, and always with a fixed delay, the share alone. */
enum sy_hedge_rule {
    SY_HEDGE_RULE_SHARE,
    SY_HEDGE_RULE_STALL,
    SY_HEDGE_RULE_PROBE
};
enum sy_hedge_rule sy_hedge_rule_of(bool p95, bool exploring,
                                    unsigned others_stalled);
/* Take one hedge of 'g' under 'rule' (the three below). */
bool sy_hedge_take_by(const struct sy_group *g, uint64_t now_ms,
                      enum sy_hedge_rule rule);
/* Whether sy_hedge_take_by would take one now, taking nothing: the
 * cheap check before looking for a deployment to hedge on. */
bool sy_hedge_may_take(const struct sy_group *g, uint64_t now_ms,
                       enum sy_hedge_rule rule);
/* Whether a hedge asked after 'elapsed_ms' is due: at or past its
 * 'delay_ms', or earlier (asked at the unmoved delay) for a first
 * attempt on a deployment that stalls now (SY_HEDGE_RULE_STALL). Pure. */
bool sy_hedge_due(uint64_t elapsed_ms, uint32_t delay_ms,
                  enum sy_hedge_rule rule);

/* sy_hedge_take for an exploration probe (router.h: a deployment known
 * slow, or being learned, put first for explore_pct requests in a
 * hundred): the share widened by the group's exploration share, so
 * that hedges stay within max_share + explore_pct of the requests. A
 * probe must not cost its caller the slowness it goes to look at. */
bool sy_hedge_take_probe(const struct sy_group *g, uint64_t now_ms);
void sy_hedge_give_back(const struct sy_group *g, uint64_t now_ms);
/* The requests and hedges the share rule of 'g' counts now (what
 * sy_hedge_take would compare), for sy_hedge_delay_stretched. */
void sy_hedge_share_counts(const struct sy_group *g, uint64_t now_ms,
                           uint64_t *requests, uint64_t *hedges);

/* The cluster's share (state thread): append to 'b' this process's
 * counts not yet written of every hedging group of 'cfg' and the reads
 * of the cluster's totals (HINCRBY on "<prefix>hedge:{<group>}:<window>",
 * fields "r" and "h"); returns how many commands. When 'b' ran, pass its
 * 'n' replies (all of the batch) to sy_hedge_flush_done: the totals are
 * trusted for 2 x state.refresh_ms + 1 s. A batch that did not run:
 * sy_hedge_flush_failed, or nothing (the next flush writes its counts
 * again). */
size_t sy_hedge_flush(struct sy_store_batch *b, const char *prefix,
                      const struct sy_config *cfg, uint64_t wall_ms);
void sy_hedge_flush_done(const struct sy_store_val *replies, size_t n,
                         uint64_t wall_ms);
void sy_hedge_flush_failed(void);

/* Per-process counters, for /metrics: hedges started, and those whose
 * hedge attempt answered the caller. */
struct sy_hedge_stats {
    uint64_t started;
    uint64_t won;
};
void sy_hedge_count_won(void);
void sy_hedge_stats(struct sy_hedge_stats *out);

#endif
