/*
 * hedge.h - hedged requests: the decision (a pure function), the share
 * of a group's requests that may be hedged, and the process's counters.
 *
 * The share is counted in this process only, over two 10-second
 * windows (the current and the last): an in-process approximation of
 * the cluster-wide cap. Each process keeps its own hedges within
 * max_share of its own requests (plus one hedge a window, so a quiet
 * process can still hedge), so the cluster as a whole stays within
 * max_share of all requests plus that allowance, without a Redis call.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_HEDGE_H
#define SY_STATE_HEDGE_H

#include "base/sy.h"

struct sy_group;
struct sy_hedge_conf;
struct sy_dep_view;

/* Length of a share window. */
#define SY_HEDGE_WINDOW_MS 10000u

enum sy_hedge_verdict {
    SY_HEDGE_NEVER,   /* no hedge for this request */
    SY_HEDGE_NOT_YET, /* ask again at the delay */
    SY_HEDGE_NOW      /* start the second attempt */
};

/* The delay before a hedge, in ms: the fixed one, or the deployment's
 * live p95 time to first token (its last live one when it is quiet); 0
 * when there is none (no samples: no hedge). */
uint32_t sy_hedge_delay_ms(const struct sy_hedge_conf *h,
                           const struct sy_dep_view *v);

/* Whether to hedge the first attempt now. 'delay_ms' from
 * sy_hedge_delay_ms (0: never); 'elapsed_ms' since the first attempt
 * started; 'first_token': it has produced one (or finished);
 * 'has_next': the plan has another eligible candidate; 'share_ok': the
 * group's share allows one more hedge. */
enum sy_hedge_verdict sy_hedge_decide(uint32_t delay_ms, uint64_t elapsed_ms,
                                      bool first_token, bool has_next,
                                      bool share_ok);

/* Whether 'hedges' + 1 stays within 'max_share' of 'requests' (plus the
 * allowance of one). Pure. */
bool sy_hedge_share_allows(uint64_t requests, uint64_t hedges,
                           double max_share);

/* The process-wide share windows of group 'g' ('now_ms' a monotonic
 * clock): count a request of the group; take one hedge when the share
 * allows it (true: counted). Thread-safe. */
void sy_hedge_note_request(const struct sy_group *g, uint64_t now_ms);
bool sy_hedge_take(const struct sy_group *g, uint64_t now_ms);

/* Per-process counters, for /metrics: hedges started, and those whose
 * hedge attempt answered the caller. */
struct sy_hedge_stats {
    uint64_t started;
    uint64_t won;
};
void sy_hedge_count_won(void);
void sy_hedge_stats(struct sy_hedge_stats *out);

#endif
