/*
 * router_latency.c - the latency and cost strategies.
 *
 * Each deployment is judged by a latency picture: its live window (a
 * learned window with enough samples in its last two slices); else, when
 * the window is quiet, what was last known of it live (state_known.c),
 * so a deployment that drained is never taken for fast by the older
 * samples left in its window, nor for new once they expire; a window
 * that holds only samples newer than that, and enough of them, is used
 * as it is. A deployment never seen is still being learned; while
 * none meets the thresholds, those being learned go first, in a drawn
 * order (latency: they learn together) or cheapest first (cost).
 *
 * - latency: the deployments that meet the group's thresholds (max p99,
 *   max time to first token) share the traffic: the first to try is
 *   drawn by power of two choices, two deployments drawn in proportion to
 *   a weight that falls steeply with expected latency (expected time to
 *   first token, the mean of its fitted tail, + time per output token x
 *   expected output tokens) against the
 *   best one's (1 up to about 10 % slower, 1/2 at 25 %, none from 2x:
 *   drained), the one with fewer attempts in flight in this process
 *   taking it (ties: the first drawn). Equal deployments get equal
 *   shares; a clearly slower one gets nothing but fallbacks. The rest
 *   follow by expected latency, then those over a threshold. A stream in
 *   flight here that has waited for its first token longer than the
 *   deployment's p95 raises its expected latency to that wait (before
 *   any slow sample has finished: state/inflight.h).
 * - cost: the same judgement; cheapest first within the thresholds.
 *
 * Exploration: explore_pct percent of requests put one deployment first
 * that is still being learned, or one known to be slow (or drained)
 * whose window has run thin (fewer than min_samples) or that a stream's
 * wait drained, and that has no attempt in flight here: a slow deployment is re-probed within that
 * share only, a few requests per window, never relearned as new. It is
 * paced by the request's number in its group (every 100 / explore_pct-th,
 * those waiting taking turns), so the share holds second by second, not
 * only on average. Pure functions, used through router.c.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "router.h"
#include "router_int.h"

#include <math.h>
#include <string.h>

#define SPREAD_FLOOR_MS \
    25.0 /* added to both latencies compared: a few ms
                                apart is noise, not a slower deployment */
#define SPREAD_HALF \
    1.25                 /* this much slower than the best: half the
                                weight */
#define SPREAD_DRAIN 2.0 /* this much slower: no weight (drained) */
/* A tail fitted wider than this (a p95 above 27 times the p50) counts
 * as this wide: the mean stays within 7.4 times the median. */
#define TTFT_SIGMA_MAX 2.0

/* One deployment as the strategy judges it. */
struct judged {
    const struct sy_deployment *d;
    struct sy_dep_known pic; /* the latency picture it is judged by */
    bool learning;           /* never seen live: being learned */
    bool stale;              /* judged by its last known picture */
    bool thin;               /* its window holds fewer than min_samples */
    bool waited;             /* its score raised by a stream's wait */
    bool lost;               /* its last two streams lost to hedges */
    uint64_t started;        /* attempts this process started on it */
    uint32_t wait_ms;        /* struct sy_dep_view.wait_ms */
    bool good;               /* meets the group's thresholds */
    double score;            /* expected ms (latency) or USD (cost) */
    double weight;           /* latency: its spread weight; 0 drained */
    unsigned inflight;
};

static struct sy_dep_known
live_picture(const struct sy_dep_view *v)
{
    struct sy_dep_known k;
    memset(&k, 0, sizeof(k));
    k.samples = v->samples;
    k.p50_ms = v->p50_ms;
    k.p99_ms = v->p99_ms;
    k.ttft_p50_ms = v->ttft_p50_ms;
    k.ttft_p95_ms = v->ttft_p95_ms;
    k.ttft_p99_ms = v->ttft_p99_ms;
    k.tpot_p50_us = v->tpot_p50_us;
    return k;
}

/* The expected time to first token: the mean of a log-normal through
 * the picture's TTFT p50 and p95, p50 x e^(sigma^2 / 2) (1.645: the
 * standard normal's 95th percentile). By its median alone, a deployment
 * with a good median and a terrible tail would be ranked first, and its
 * tail would land on the callers it gets; light tails change little
 * (x1.09 for a p95 at twice the p50). */
static double
expected_ttft_ms(const struct sy_dep_known *k)
{
    double p50 = (double)k->ttft_p50_ms;
    if (k->ttft_p50_ms == 0 || k->ttft_p95_ms <= k->ttft_p50_ms)
        return p50;
    double sigma =
        SY_MIN(log((double)k->ttft_p95_ms / p50) / 1.645, TTFT_SIGMA_MAX);
    return p50 * exp(sigma * sigma / 2.0);
}

static double
expected_ms(const struct sy_dep_known *k, const struct sy_route_req *rq)
{
    if (k->tpot_p50_us > 0)
        return expected_ttft_ms(k) +
               (double)k->tpot_p50_us * (double)rq->output_tokens / 1000.0;
    return (double)k->p50_ms;
}

/* Expected total time of this request on a deployment, in ms, from its
 * window. */
double
sy_router_expected_ms(const struct sy_dep_view *v,
                      const struct sy_route_req *rq)
{
    struct sy_dep_known k = live_picture(v);
    return expected_ms(&k, rq);
}

/* Estimated price of this request on a deployment, in USD. */
double
sy_router_cost_usd(const struct sy_deployment *d, const struct sy_route_req *rq)
{
    return ((double)rq->input_tokens * d->price.input_per_mtok +
            (double)rq->output_tokens * d->price.output_per_mtok) /
           1e6;
}

static bool
meets_thresholds(const struct sy_group *g, const struct sy_dep_known *k)
{
    if (g->max_p99_ms > 0 && k->p99_ms > g->max_p99_ms)
        return false;
    if (g->max_ttft_ms > 0 && k->ttft_p95_ms > g->max_ttft_ms)
        return false;
    return true;
}

/* Which picture judges 'v' (see the top), and what it says. */
static void
judge(const struct sy_group *g, const struct sy_dep_view *v,
      const struct sy_route_req *rq, struct judged *j)
{
    bool cost = g->strategy == SY_STRATEGY_COST;
    /* Cheapest-first needs no latency knowledge unless the group sets
     * thresholds that a deployment must be seen to meet. */
    bool needs_learning = !cost || g->max_p99_ms > 0 || g->max_ttft_ms > 0;
    bool learned = v->samples >= g->min_samples;
    bool live = learned && v->recent_samples >= SY_STATE_RECENT_MIN;
    j->pic = live_picture(v);
    j->inflight = v->inflight;
    j->started = v->started;
    j->wait_ms = v->wait_ms;
    j->thin = !learned;
    if (needs_learning && !live && v->known.samples > 0 &&
        (!v->known.outlived || !learned)) {
        j->pic = v->known;
        j->stale = true;
    } else if (needs_learning && !learned) {
        j->learning = true;
    }
    j->good = !j->learning && meets_thresholds(g, &j->pic);
    j->score = cost ? sy_router_cost_usd(j->d, rq) : expected_ms(&j->pic, rq);
    /* Its last two streams here lost the race to their hedges: slower
     * now than a fresh call elsewhere. Out of the first place until a
     * probe's first token (or SY_INFLIGHT_HOLD_MS) says otherwise. */
    if (!cost && v->lost >= 2) {
        j->good = false;
        j->waited = true;
        j->lost = true;
    }
    /* Streams here that have waited past the p95 time to first token
     * show that the deployment is slower now than its window knows: a
     * new request would wait at least as long for its first token. */
    if (!cost && j->pic.ttft_p95_ms > 0 && v->wait_ms > j->pic.ttft_p95_ms) {
        double now = j->score - expected_ttft_ms(&j->pic) + (double)v->wait_ms;
        if (now > j->score) {
            j->score = now;
            j->waited = true;
        }
    }
}

/* The spread weight of expected latency 'ms' against the best 'best'. */
static double
spread_weight(double ms, double best)
{
    double r = (ms + SPREAD_FLOOR_MS) / (best + SPREAD_FLOOR_MS);
    if (r >= SPREAD_DRAIN)
        return 0;
    double x = (r - 1.0) / (SPREAD_HALF - 1.0);
    return 1.0 / (1.0 + x * x * x * x);
}

/* One index of 'j' drawn in proportion to the weights; SIZE_MAX when
 * every weight is 0. */
static size_t
draw(const struct judged *j, const size_t *idx, size_t n, size_t skip,
     uint32_t *st)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        if (idx[i] != skip)
            total += j[idx[i]].weight;
    if (total <= 0)
        return SIZE_MAX;
    double x = (double)(sy_route_rand(st) % 1000000u) / 1e6 * total;
    size_t last = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        const struct judged *e = &j[idx[i]];
        if (idx[i] == skip || e->weight <= 0)
            continue;
        last = idx[i];
        if (x < e->weight)
            break;
        x -= e->weight;
    }
    return last;
}

/* Power of two choices among the good deployments 'idx' (sorted by
 * expected latency): the index of 'j' to try first, or SIZE_MAX. */
static size_t
spread_pick(struct judged *j, const size_t *idx, size_t n, uint32_t rnd)
{
    if (n == 0)
        return SIZE_MAX;
    double best = j[idx[0]].score;
    for (size_t i = 0; i < n; i++)
        j[idx[i]].weight = spread_weight(j[idx[i]].score, best);
    uint32_t st = rnd ^ 0x5bd1e995u;
    size_t a = draw(j, idx, n, SIZE_MAX, &st);
    if (a == SIZE_MAX)
        return SIZE_MAX;
    size_t b = draw(j, idx, n, a, &st);
    if (b == SIZE_MAX)
        return a;
    return j[b].inflight < j[a].inflight ? b : a;
}

/* Does this request explore, and which of the 'npool' waiting
 * deployments (SIZE_MAX: none)? Request number 'seq' of the group in
 * this process explores when seq * pct / 100 steps up: exactly pct of
 * every 100 requests, evenly spaced, those waiting taking turns. A coin
 * per request gives the same share on average but in bursts (at 5 % of
 * 20 requests a second, 3 or more land in one second 7.5 % of the
 * time). Without a number (seq 0), the coin: 'rnd'. */
static size_t
explore_pick(unsigned pct, uint64_t seq, uint32_t rnd, size_t npool)
{
    if (seq > 0) {
        uint64_t before = (seq - 1) * pct / 100u;
        if (seq * pct / 100u == before)
            return SIZE_MAX;
        return (size_t)(before % npool);
    }
    uint32_t st = rnd;
    if (sy_route_rand(&st) % 100u >= pct)
        return SIZE_MAX;
    return sy_route_rand(&st) % npool;
}

/* Is 'j' known to be slow: over a threshold, or drained by the spread
 * (latency)? Not one still being learned. */
static bool
known_slow(const struct judged *j, bool latency)
{
    return !j->learning && (!j->good || (latency && j->weight <= 0));
}

/* May 'j' be explored: still learned, or known slow (or drained) with a
 * thin window or by a stream's wait, and nothing in flight here? */
static bool
waits_for_probe(const struct judged *j, bool latency)
{
    if (j->learning)
        return true;
    /* Drained by a stream's wait: only a probe's first token tells
     * whether it is still slow (state/inflight.h). */
    return (j->waited || (j->stale && j->thin)) && known_slow(j, latency) &&
           j->inflight == 0;
}

/* Append the entries of 'j' selected by 'idx' in order, but for the
 * ones already placed ('skip1', 'skip2'); 'why' overrides the reason. */
static void
emit(struct sy_route_plan *out, const struct judged *j, const size_t *idx,
     size_t n, size_t skip1, size_t skip2, const char *why0, bool latency)
{
    for (size_t i = 0; i < n; i++) {
        const struct judged *e = &j[idx[i]];
        if (idx[i] == skip1 || idx[i] == skip2)
            continue;
        const char *why = why0          ? why0
                          : e->learning ? "learning"
                          : e->lost     ? "lost to hedges"
                          : !e->good    ? "over threshold"
                                        : NULL;
        size_t at = out->ncand;
        sy_route_add(out->cand, &out->ncand, e->d, e->score, why);
        if (at < out->ncand) {
            out->cand[at].slow = known_slow(e, latency);
            out->cand[at].learning = e->learning; /* for affinity.c */
            out->cand[at].exploring = why0 != NULL;
        }
    }
}

/* Sort 'idx' by the score of 'j' (stable). */
static void
sort_idx(const struct judged *j, size_t *idx, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        size_t x = idx[i], k = i;
        while (k > 0 && j[idx[k - 1]].score > j[x].score) {
            idx[k] = idx[k - 1];
            k--;
        }
        idx[k] = x;
    }
}

/* With none known to meet the thresholds (a cold start), the ones
 * still being learned come first, all of them for a while: in the
 * configured order, one of them would take all of that traffic and be
 * the only one learned, the others left to the exploration share (at
 * 5 %, split between them, ten samples take most of a window), so the
 * group would herd on it. So latency draws their order per request
 * (they learn together, then share); cost puts the cheapest first (it
 * is the one the strategy wants, if it meets the thresholds). */
static void
order_learning(const struct judged *j, size_t *idx, size_t n, bool latency,
               uint32_t rnd)
{
    if (!latency) {
        sort_idx(j, idx, n);
        return;
    }
    uint32_t st = rnd ^ 0x27d4eb2fu;
    for (size_t i = n; i > 1; i--) {
        size_t k = sy_route_rand(&st) % i, x = idx[i - 1];
        idx[i - 1] = idx[k];
        idx[k] = x;
    }
}

/* Rank 'g' for request 'rq' by latency or cost into 'out' (whose
 * exclusions router.c has filled). */
void
sy_router_plan_ranked(const struct sy_group *g, const struct sy_dep_view *views,
                      const struct sy_route_req *rq, uint64_t seq, uint32_t rnd,
                      struct sy_route_plan *out)
{
    struct judged j[SY_ROUTE_MAX];
    size_t good[SY_ROUTE_MAX], learning[SY_ROUTE_MAX], slow[SY_ROUTE_MAX],
        pool[SY_ROUTE_MAX];
    size_t n = 0, ngood = 0, nlearning = 0, nslow = 0, npool = 0;
    bool latency = g->strategy == SY_STRATEGY_LATENCY;
    memset(j, 0, sizeof(j));
    for (size_t i = 0; i < g->nroute && n < SY_ROUTE_MAX; i++) {
        const struct sy_deployment *d = g->route[i];
        if (views[d->index].breaker_open)
            continue;
        j[n].d = d;
        judge(g, &views[d->index], rq, &j[n]);
        if (j[n].learning)
            learning[nlearning++] = n;
        else if (j[n].good)
            good[ngood++] = n;
        else
            slow[nslow++] = n;
        n++;
    }
    sort_idx(j, good, ngood);
    sort_idx(j, slow, nslow);
    if (ngood == 0)
        order_learning(j, learning, nlearning, latency, rnd);
    size_t first = SIZE_MAX;
    size_t spread[SY_ROUTE_MAX], nspread = 0;
    if (latency && ngood > 0 && g->explore_pct > 0) {
        /* Those still being learned share the first place as if as fast
         * as the best good one (an optimistic start) for their first
         * min_samples attempts in this process: at the exploration share
         * alone they would take a minute to learn while the first one
         * learned took all the traffic. After that (a deployment whose
         * calls give no latency sample, a bad key; a group too quiet to
         * fill a window) they are left to exploration as before. */
        for (size_t i = 0; i < ngood; i++)
            spread[nspread++] = good[i];
        for (size_t i = 0; i < nlearning; i++) {
            const struct judged *e = &j[learning[i]];
            /* Not one that already shows it is slow: its streams lost to
             * hedges, or two of them wait longer than the best one's p95
             * (it has no p95 of its own yet). */
            if (e->started >= g->min_samples || e->lost ||
                (j[good[0]].pic.ttft_p95_ms > 0 &&
                 e->wait_ms > j[good[0]].pic.ttft_p95_ms))
                continue;
            j[learning[i]].score = j[good[0]].score;
            spread[nspread++] = learning[i];
        }
    }
    if (nspread > ngood)
        first = spread_pick(j, spread, nspread, rnd);
    else if (latency && (ngood > 0 || nlearning > 0))
        first = spread_pick(j, good, ngood, rnd);
    else if (latency)
        /* Every one over a threshold: the thresholds tell none apart,
         * so they share by expected latency rather than herd. */
        first = spread_pick(j, slow, nslow, rnd);
    else if (ngood > 0)
        first = good[0];
    /* Exploration: a bounded share of requests tries a waiting
     * deployment first; the rest of the time it keeps its place. With
     * nothing good to compare with, the learning ones lead anyway. */
    for (size_t i = 0; i < n; i++)
        if (waits_for_probe(&j[i], latency))
            pool[npool++] = i;
    size_t probe = SIZE_MAX;
    if (npool > 0 && first != SIZE_MAX)
        probe = explore_pick(g->explore_pct, seq, rnd, npool);
    size_t ex = probe != SIZE_MAX ? pool[probe] : SIZE_MAX;
    if (ex != SIZE_MAX)
        emit(out, j, &ex, 1, SIZE_MAX, SIZE_MAX, "exploring", latency);
    if (first != SIZE_MAX)
        emit(out, j, &first, 1, ex, SIZE_MAX, NULL, latency);
    emit(out, j, good, ngood, first, ex, NULL, latency);
    emit(out, j, learning, nlearning, ex, first, NULL, latency);
    emit(out, j, slow, nslow, ex, first, NULL, latency);
}
