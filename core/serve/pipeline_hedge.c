/*
 * pipeline_hedge.c - hedged requests: the first attempt of a request on
 * a group with "hedge" runs as a pair. When it has produced no first
 * token after the delay (the deployment's live p95 time to first token,
 * or a fixed one: state/hedge.c decides; asked again while the group's
 * share refuses and the first waits, and looked for again while the
 * plan's deployments have no samples for one yet), ONE second attempt
 * starts on the next candidate of the plan, on the same thread
 * (sy_upstream_perform_pair). The first of the two to write to the
 * caller wins: a streaming caller's first released event (the pipeline
 * holds opening events until content), a non-streaming caller's whole
 * reply. The other is cancelled at once: its connection is closed, it
 * records no latency and no breaker failure, and it is billed as the
 * provider may bill it (its input estimate, marked estimated).
 *
 * Each attempt has its own pipeline context: the hedge runs on a copy
 * of the request's (with its own buffers and stream state), and each
 * writes through a gate sink that lets only the winner through to the
 * caller. A failure of one before a token leaves the other running; when
 * both fail the request moves on like after any failed attempt.
 *
 * Both attempts are reserved before they start (the hedge: one more
 * worst case on the caller's budget, its provider key's rate limits)
 * and settled with the ledger (pipeline_settle.c), one usage-log line
 * each with "hedge" and "won".
 *
 * sy_pipeline_attempt, the entry of every chat attempt, is here: one
 * call (pipeline_attempt.c has the halves), or a pair.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "router.h"
#include "api/sink.h"
#include "base/clock.h"
#include "base/log.h"
#include "config/config.h"
#include "io/upstream.h"
#include "io/worker.h"
#include "state/budget.h"
#include "state/hedge.h"
#include "state/inflight.h"
#include "state/metrics.h"
#include "state/quota.h"
#include "state/state.h"
#include "state/vkeys.h"

#include <stdio.h>
#include <string.h>

/* An error reply held while the other attempt runs (its status line,
 * headers and body: an error document is small). */
#define HELD_ERROR_MAX 65536

struct sy_hedge_run;

/* The sink of one attempt of the pair. */
struct gate {
    struct sy_hedge_run *run;
    int idx; /* 0 the first attempt, 1 the hedge */
};

/* One hedged pair, in the request arena. */
struct sy_hedge_run {
    struct pctx *c;       /* the request's: the first attempt */
    struct sy_sink *real; /* the caller's sink */
    struct gate gate[2];
    struct sy_sink sink[2]; /* what each attempt writes to */
    struct sy_upstream_call *uc[2];
    struct sy_attempt *a[2];
    struct sy_failure *f[2];
    bool started[2];
    bool ended[2];
    enum sy_attempt_result ar[2];
    int winner;                /* -1: none yet */
    bool left;                 /* the caller went away: no one wins */
    uint32_t base_ms;          /* the unmoved delay: first asked then */
    uint32_t delay_ms;         /* the delay, moved and stretched */
    uint32_t first_p95_ms;     /* TTFT p95 of the first attempt's deployment */
    struct sy_dep_view *views; /* the state's views (delay 0: refreshed) */
    size_t route_len;          /* c->route before the hedge's note */
    /* an error reply of one attempt, held while the other still runs:
     * a failure never beats an attempt that may still answer */
    struct sy_buf held[2];
    int held_last;  /* the attempt that held last, or -1 */
    int key1;       /* the hedge's provider key, or -1 */
    int ended_last; /* the attempt that ended last */
    /* the hedge's own */
    struct pctx h;
    struct sy_http_out out;
    struct sy_upstream_call huc;
    struct sy_failure hf;
    struct sy_buf body;
};

/* Attempt 'i' writes first: it answers the caller, the other is cut. */
static void
win(struct sy_hedge_run *run, int i)
{
    run->winner = i;
    int o = 1 - i;
    if (run->started[o] && !run->ended[o])
        run->uc[o]->cancel = true;
}

static enum sy_err
gate_write(void *io, const char *p, size_t n)
{
    struct gate *g = io;
    struct sy_hedge_run *run = g->run;
    int o = 1 - g->idx;
    if (run->winner < 0 && run->sink[g->idx].status >= 400 && run->started[o] &&
        !run->ended[o]) {
        /* An error reply while the other still runs: held, sent only
         * if the other fails too. */
        if (run->held[g->idx].max == 0)
            sy_buf_init(&run->held[g->idx], HELD_ERROR_MAX);
        sy_buf_append(&run->held[g->idx], p, n);
        run->held_last = g->idx;
        return SY_OK;
    }
    if (run->winner < 0)
        win(run, g->idx);
    if (g->run->winner != g->idx)
        return SY_EGONE; /* the loser's bytes go nowhere */
    return sy_sink_write(g->run->real, p, n);
}

static enum sy_err
gate_flush(void *io)
{
    struct gate *g = io;
    if (g->run->winner != g->idx)
        return g->run->winner < 0 ? SY_OK : SY_EGONE;
    return sy_sink_flush(g->run->real);
}

static const struct sy_sink_ops gate_ops = { gate_write, gate_flush };

/* Both ended and neither answered: the held error reply (the later, if
 * both held one) answers the caller. */
static void
release_held(struct sy_hedge_run *run)
{
    int i = run->held_last;
    if (run->winner >= 0 || i < 0)
        return;
    run->winner = i;
    if (!sy_buf_failed(&run->held[i]))
        sy_sink_write(run->real, run->held[i].data, run->held[i].len);
}

static void
gate_init(struct sy_hedge_run *run, int i)
{
    run->gate[i].run = run;
    run->gate[i].idx = i;
    memset(&run->sink[i], 0, sizeof(run->sink[i]));
    run->sink[i].ops = &gate_ops;
    run->sink[i].io = &run->gate[i];
}

/* Whether this attempt may be hedged: the first of a request on a
 * hedging group, with another candidate in the plan. */
static bool
hedge_wanted(const struct pctx *c)
{
    const struct sy_group *g = c->group;
    if (g == NULL || !g->hedge.on || c->attempt_fn != NULL || c->plan == NULL ||
        c->attempts != 1 || c->plan_i != 0)
        return false;
    /* The group's share counts every request that reaches its first
     * attempt. */
    sy_hedge_note_request(g, sy_wall_ms());
    /* A test's in-process upstream cannot run two calls at once. */
    return c->w->perform == sy_upstream_perform && !c->s->headers_sent &&
           c->plan->ncand > c->plan_i + 1;
}

/* Is plan entry 'e' one the group knows to be healthy: within the
 * thresholds, learned, not drained, not an exploring probe? */
static bool
healthy(const struct sy_route_entry *e)
{
    return e->why == NULL && !e->slow;
}

/* Is plan entry 'e' a hedge's peer: healthy, or still being learned
 * when the plan was made but with a latency picture in 'views' now (the
 * state's, refreshed by a pair that looks again for its delay:
 * delay_known)? The delay is fitted on the first peer, and the hedge
 * goes to a peer before any other candidate. */
static bool
peer(const struct sy_route_entry *e, const struct sy_dep_view *views)
{
    return healthy(e) ||
           (views != NULL && e->learning && !e->exploring && !e->slow &&
            sy_hedge_ttft_of(&views[e->d->index]).p95_ms > 0);
}

/* The next candidate of the plan its breaker lets through (a half-open
 * one's probe is left to a request of its own), a peer before the
 * others, or NULL. */
static const struct sy_deployment *
next_candidate(struct pctx *c, const struct sy_dep_view *views)
{
    struct sy_worker *w = c->w;
    const char *token = sy_arena_printf(&w->arena, "req_%s%08xh", w->id_prefix,
                                        (unsigned)w->seq);
    /* A peer first: a hedge on a deployment known to be slow (or still
     * unknown) would rarely beat the first attempt. */
    for (size_t k = 0; k < 2 * c->plan->ncand; k++) {
        size_t j = k % c->plan->ncand;
        if (j <= c->plan_i ||
            peer(&c->plan->cand[j], views) != (k < c->plan->ncand))
            continue;
        const struct sy_deployment *d = c->plan->cand[j].d;
        if (w->state == NULL)
            return d;
        enum sy_breaker_verdict v =
            sy_state_allow(w->state, w->store, d, token);
        if (v == SY_BREAKER_PASS)
            return d;
        if (v == SY_BREAKER_PROBE)
            sy_state_probe_done(w->state, d, token);
    }
    return NULL;
}

/* The hedge's record in the ledger with its provider key reserved, or
 * NULL (no room, no key with quota). '*key' the key's index or -1. */
static struct sy_attempt *
reserve_attempt(struct pctx *c, const struct sy_deployment *d, int *key)
{
    struct sy_worker *w = c->w;
    struct sy_ledger *l = &c->led;
    struct sy_attempt *a = sy_ledger_add(l, &w->arena);
    if (a == NULL)
        return NULL;
    *key = -1;
    if (w->quota != NULL) {
        *key =
            sy_quota_provider_key(w->quota, w->store, d->provider,
                                  sy_pipeline_estimate_tokens(c), &a->key_res);
        if (*key < 0) {
            l->natt--;
            return NULL;
        }
        a->key_held = true;
    }
    return a;
}

/* Give back the last extra budget reservation (a hedge that did not
 * go out). */
static void
release_budget(struct pctx *c)
{
    struct sy_ledger *l = &c->led;
    if (!l->budget_held || l->nextra == 0)
        return;
    sy_pipeline_settle_budget(c, l->extra_id[--l->nextra], 0);
}

/* A 429 on the hedge's key parks that key, by its own Retry-After, as
 * the run parks the first attempt's (pipeline_chat.c). */
static void
park_hedge_key(struct sy_hedge_run *run)
{
    struct sy_worker *w = run->c->w;
    const struct sy_provider *p = run->h.dep->provider;
    if (run->h.result != SY_EUP_RATELIMIT || w->quota == NULL || run->key1 < 0)
        return;
    sy_quota_park(w->quota, w->store, p, (unsigned)run->key1,
                  run->a[1]->retry_after_ms);
}

/* The hedge's context: the request's, with buffers and stream state of
 * its own, writing through gate 1. */
static void
hedge_context(struct sy_hedge_run *run, const struct sy_deployment *d)
{
    struct pctx *c = run->c, *h = &run->h;
    *h = *c;
    h->s = &run->sink[1];
    h->dep = d;
    h->probe_token = NULL;
    h->wait_slot = -1; /* the first attempt's slot stays its own */
    h->uc = NULL;
    h->as = NULL;
    h->attempts = ++c->attempts;
    sy_buf_init(&run->body, c->w->upbody.max);
    h->upbody = &run->body;
    sy_buf_init(&h->why, 4096);
    sy_buf_init(&h->held, SY_MAX_HELD_EVENT);
    sy_buf_init(&h->pending, 0);
    sy_buf_init(&h->ev, SY_SURFACE_EVENT_MAX);
    sy_buf_init(&h->unf_text, SY_STREAM_TEXT_MAX);
    sy_buf_init(&h->unf_event, SY_SURFACE_EVENT_MAX);
    sy_buf_init(&h->native_tail, 2 * SY_SSE_MAX_EVENT);
    sy_buf_init(&h->final_obj, SY_SSE_MAX_EVENT);
    sy_stream_answer_init(&h->answer);
    h->sst = c->surface->stream_state_size > 0
                 ? sy_arena_zalloc(&c->w->arena, c->surface->stream_state_size)
                 : NULL;
    /* x-switchyard-route: whichever answers names the pair's outcome. */
    c->route[run->route_len] = '\0';
    h->route[run->route_len] = '\0';
    size_t n = sizeof(c->route) - run->route_len;
    snprintf(c->route + run->route_len, n, "; hedge=lost:%s", d->name);
    snprintf(h->route + run->route_len, n, "; hedge=won:%s", d->name);
}

uint64_t
sy_hedge_next_ask_ms(uint32_t base_ms, uint32_t delay_ms, uint64_t elapsed_ms)
{
    if (delay_ms > 0)
        return sy_hedge_again_ms(base_ms, delay_ms, elapsed_ms);
    uint64_t step =
        SY_MIN(SY_MAX(elapsed_ms, (uint64_t)SY_HEDGE_PENDING_ASK_MS),
               (uint64_t)SY_HEDGE_PENDING_ASK_MAX_MS);
    uint64_t again = elapsed_ms + step;
    return again <= 60000 ? again : 0;
}

/* When to ask for the hedge again (sy_now_us; 0: never), its first
 * attempt not hedged after 'elapsed_ms'. */
static uint64_t
ask_again_us(const struct sy_hedge_run *run, uint64_t elapsed_ms)
{
    uint64_t again =
        sy_hedge_next_ask_ms(run->base_ms, run->delay_ms, elapsed_ms);
    return again > 0 ? run->c->attempt_start_us + again * 1000ull : 0;
}

static uint32_t hedge_delay(struct pctx *c, const struct sy_dep_view *views,
                            const struct sy_dep_view *first, uint32_t *base_ms);

/* A pair started with no delay known (a cold start): look for one again
 * in the state's views as they are now. False while there is none. */
static bool
delay_known(struct sy_hedge_run *run)
{
    struct pctx *c = run->c;
    if (run->delay_ms > 0)
        return true;
    if (run->views == NULL)
        return false;
    sy_state_views(c->w->state, run->views);
    const struct sy_dep_view *v = &run->views[c->dep->index];
    uint32_t base = 0;
    uint32_t delay = hedge_delay(c, run->views, v, &base);
    if (delay == 0)
        return false;
    run->delay_ms = delay;
    run->base_ms = SY_MIN(base, delay);
    run->first_p95_ms = sy_hedge_ttft_of(v).p95_ms;
    return true;
}

/* At the unmoved delay, the delay, and after a refusal: the hedge's
 * call, or NULL for none now ('*again_us': when to ask again). */
static struct sy_upstream_call *
hedge_start(void *ud, uint64_t *again_us)
{
    struct sy_hedge_run *run = ud;
    struct pctx *c = run->c;
    uint64_t now = sy_now_us();
    /* The first token: the first chunk past the opening (pipeline.c). */
    bool first = run->winner >= 0 || run->ended[0] || c->first_event_us != 0;
    uint64_t elapsed = (now - c->attempt_start_us) / 1000;
    if (!first && !delay_known(run)) {
        *again_us = ask_again_us(run, elapsed); /* no delay yet */
        return NULL;
    }
    /* Asked at start + base_ms on the same clock: never before it (a
     * delay found late: asked again then). */
    enum sy_hedge_verdict when =
        sy_hedge_decide(run->base_ms, elapsed, first, true, true);
    if (when == SY_HEDGE_NOT_YET)
        *again_us = c->attempt_start_us + run->base_ms * 1000ull;
    if (when != SY_HEDGE_NOW)
        return NULL;
    unsigned stalled = 0;
    if (run->first_p95_ms > 0 && c->w->state != NULL)
        stalled = sy_inflight_waiting_longer(sy_state_inflight(c->w->state),
                                             c->dep->index, now,
                                             run->first_p95_ms, c->wait_slot);
    /* The group's share first: a hedge it refuses reserves nothing. With
     * the "p95" delay, an exploration probe may also use the exploration
     * share, and a deployment that stalls now (two other streams here
     * waiting past its p95) the stall allowance (state/hedge.h); only
     * such a one is hedged at the unmoved delay (its picture,
     * light-tailed until its window learns the stall, moved the delay
     * late). A wait not due yet or refused is asked again as it grows;
     * the share is looked at before a candidate is (which may take a
     * half-open breaker's probe). */
    enum sy_hedge_rule rule = sy_hedge_rule_of(
        c->group->hedge.after_p95, c->plan->cand[c->plan_i].exploring, stalled);
    uint64_t wall = sy_wall_ms();
    if (!sy_hedge_due(elapsed, run->delay_ms, rule) ||
        !sy_hedge_may_take(c->group, wall, rule)) {
        *again_us = ask_again_us(run, elapsed);
        return NULL;
    }
    const struct sy_deployment *d = next_candidate(c, run->views);
    if (d == NULL)
        return NULL;
    if (!sy_hedge_take_by(c->group, wall, rule)) {
        *again_us = ask_again_us(run, elapsed);
        return NULL;
    }
    int key;
    struct sy_attempt *a = NULL;
    /* One more worst case on the caller's budget for the second attempt
     * (released at settle: the whole cost goes on the first). */
    bool budget = sy_pipeline_reserve_extra(c) == SY_OK;
    if (!budget || (a = reserve_attempt(c, d, &key)) == NULL) {
        if (budget)
            release_budget(c);
        sy_hedge_give_back(c->group, wall);
        return NULL;
    }
    run->key1 = key;
    hedge_context(run, d);
    const struct sy_provider *p = d->provider;
    const char *api_key =
        key >= 0 && p->nkeys > 0 ? p->keys[key] : sy_config_next_key(p);
    sy_log_info(c->request_id,
                "hedge: %s has no first token after %u ms; "
                "also trying %s",
                c->dep->name, (unsigned)elapsed, d->name);
    run->a[1] = a;
    run->f[1] = &run->hf;
    run->uc[1] = &run->huc;
    if (!sy_pipeline_attempt_open(&run->h, api_key, a, &run->out, &run->huc,
                                  &run->hf)) {
        /* Refused by its adapter: closed, nothing sent, no hedge
         * counted; the first stays a plain attempt. */
        snprintf(c->route + run->route_len, sizeof(c->route) - run->route_len,
                 "; hedge=none");
        sy_hedge_give_back(c->group, wall);
        return NULL;
    }
    a->hedge = SY_ATTEMPT_HEDGE;
    run->a[0]->hedge = SY_ATTEMPT_PRIMARY;
    run->started[1] = true;
    sy_metrics_route(sy_state_metrics(c->w->state), c->group,
                     SY_MR_HEDGE_STARTED);
    return &run->huc;
}

/* One of the pair ended: its answer or failure, as for a lone attempt;
 * an answer (or a caller that left) cuts the other. */
static void
hedge_done(void *ud, struct sy_upstream_call *call, enum sy_err e)
{
    struct sy_hedge_run *run = ud;
    int i = call == run->uc[0] ? 0 : 1;
    struct pctx *x = i == 0 ? run->c : &run->h;
    run->ar[i] = sy_pipeline_attempt_end(x, run->a[i], call, e, run->f[i]);
    run->ended[i] = true;
    run->ended_last = i;
    if (i == 1)
        park_hedge_key(run);
    if (run->ar[i] == SY_ATTEMPT_DONE && x->result == SY_EGONE &&
        run->winner < 0) {
        /* The caller left: the other is cut, and neither answered (the
         * usage log must not credit a winner). */
        run->left = true;
        int o = 1 - i;
        if (run->started[o] && !run->ended[o])
            run->uc[o]->cancel = true;
    } else if (run->ar[i] == SY_ATTEMPT_DONE && run->winner < 0 &&
               run->held[i].len == 0 && !run->left)
        win(run, i);
    else if (run->winner >= 0)
        win(run, run->winner); /* cut the other if still running */
}

/* The caller's sink as the winner left it (or the first attempt, when
 * neither answered). */
static void
sink_sync(struct sy_hedge_run *run)
{
    const struct sy_sink *g = &run->sink[run->winner > 0 ? 1 : 0];
    run->c->s = run->real;
    run->real->headers_sent = run->real->headers_sent || g->headers_sent;
    if (g->headers_sent)
        run->real->status = g->status;
    run->real->body_bytes += g->body_bytes;
}

/* After the pair: the request's context takes the hedge's outcome when
 * it answered, and its failure notes either way. */
static void
hedge_merge(struct sy_hedge_run *run)
{
    struct pctx *c = run->c, *h = &run->h;
    if (h->why.len > 0) {
        sy_buf_puts(&c->why, c->why.len > 0 ? "; " : "");
        sy_buf_append(&c->why, sy_buf_cstr(&h->why), h->why.len);
    }
    c->all_ratelimited = c->all_ratelimited && h->all_ratelimited;
    if (h->min_retry_after_ms > 0 &&
        (c->min_retry_after_ms == 0 ||
         h->min_retry_after_ms < c->min_retry_after_ms))
        c->min_retry_after_ms = h->min_retry_after_ms;
    if (run->winner == 1) {
        c->dep = h->dep;
        c->result = h->result;
        c->usage = h->usage;
        c->cost_micro_usd = h->cost_micro_usd;
        c->tr = h->tr;
    } else if (run->winner < 0 && run->ended[0] && run->ended[1] &&
               run->ended_last == 1) {
        c->last = h->last; /* the later failure names the request's */
    }
    /* Tried once: the run goes on past it (an entry after the current
     * one leaves the run's index where it is). */
    if (run->winner != 1)
        sy_router_exclude(c->plan, h->dep,
                          run->started[1] ? "tried as a hedge"
                                          : "refused as a hedge");
    sy_buf_free(&h->why);
    sy_buf_free(&h->held);
    sy_buf_free(&h->pending);
    sy_buf_free(&h->ev);
    sy_buf_free(&h->unf_text);
    sy_buf_free(&h->unf_event);
    sy_buf_free(&h->native_tail);
    sy_buf_free(&h->final_obj);
    sy_stream_answer_free(&h->answer);
    sy_buf_free(&run->body);
}

uint32_t
sy_hedge_delay_moved_ms(uint32_t base_ms, const struct sy_dep_view *first,
                        const struct sy_dep_view *next)
{
    if (next == NULL)
        return base_ms;
    const struct sy_dep_view *fit =
        first != NULL && sy_hedge_ttft_of(first).p95_ms > 0 ? first : next;
    return sy_hedge_delay_tail_ms(base_ms, fit, sy_hedge_ttft_of(next).p50_ms);
}

/* The hedge delay of the first attempt (on 'first', 'views' NULL
 * without state): the shortest p95 of it and of the plan's peers after
 * it (peer()), moved to where a hedge on the first of those
 * (where the hedge goes unless its breaker refuses it then) would likely
 * answer first (sy_hedge_delay_moved_ms: a first deployment with no
 * picture yet is fitted on that one's), stretched as the group's share
 * fills (state/hedge.c);
 * an exploration probe's is neither moved nor stretched. At a cold start
 * (no picture in the plan), the pooled one of sy_hedge_delay_cold_ms.
 * '*base_ms': the delay before it was moved, when the pair asks first. */
static uint32_t
hedge_delay(struct pctx *c, const struct sy_dep_view *views,
            const struct sy_dep_view *first, uint32_t *base_ms)
{
    const struct sy_dep_view *peers[SY_ROUTE_MAX] = { 0 };
    size_t n = 0;
    for (size_t j = c->plan_i + 1; views != NULL && j < c->plan->ncand; j++)
        if (peer(&c->plan->cand[j], views))
            peers[n++] = &views[c->plan->cand[j].d->index];
    const struct sy_hedge_conf *h = &c->group->hedge;
    uint32_t ms = sy_hedge_delay_plan_ms(h, first, peers, n);
    if (ms == 0 && views != NULL) {
        const struct sy_dep_view *all[SY_ROUTE_MAX];
        for (size_t j = 0; j < c->plan->ncand; j++)
            all[j] = &views[c->plan->cand[j].d->index];
        ms = sy_hedge_delay_cold_ms(h, all, c->plan->ncand);
    }
    *base_ms = ms;
    /* A probe is hedged when the healthy ones would have answered. */
    if (ms > 0 && h->after_p95 && !c->plan->cand[c->plan_i].exploring) {
        ms = sy_hedge_delay_moved_ms(ms, first, n > 0 ? peers[0] : NULL);
        uint64_t req, hedges;
        sy_hedge_share_counts(c->group, sy_wall_ms(), &req, &hedges);
        ms = sy_hedge_delay_stretched(ms, req, hedges, h->max_share);
    }
    return ms;
}

/* The attempt as a pair: its call, and a hedge if it is slow. */
static enum sy_attempt_result
hedge_run(struct pctx *c, struct sy_attempt *a, struct sy_upstream_call *uc,
          struct sy_failure *f)
{
    struct sy_worker *w = c->w;
    const struct sy_dep_view *v = NULL;
    struct sy_dep_view *views = NULL;
    if (w->state != NULL) {
        views = sy_arena_zalloc(&w->arena,
                                (w->cfg->ndeployments + 1) * sizeof(*views));
        sy_state_views(w->state, views);
        v = &views[c->dep->index];
    }
    uint32_t base = 0;
    uint32_t delay = hedge_delay(c, views, v, &base);
    if (delay == 0 && views == NULL) {
        /* No delay, no state to find one in later: no hedge; the route
         * says so. */
        size_t n = strlen(c->route);
        snprintf(c->route + n, sizeof(c->route) - n, "; hedge=none");
        return sy_pipeline_attempt_end(c, a, uc, w->perform(w->up, uc), f);
    }
    struct sy_hedge_run *run = sy_arena_zalloc(&w->arena, sizeof(*run));
    run->c = c;
    run->real = c->s;
    run->winner = -1;
    run->delay_ms = delay;
    run->base_ms = SY_MIN(base, delay);
    run->first_p95_ms = sy_hedge_ttft_of(v).p95_ms;
    run->views = views; /* refreshed when a delay is looked for again */
    run->uc[0] = uc;
    run->a[0] = a;
    run->f[0] = f;
    run->started[0] = true;
    run->route_len = strlen(c->route);
    snprintf(c->route + run->route_len, sizeof(c->route) - run->route_len,
             "; hedge=none");
    run->held_last = -1;
    run->key1 = -1;
    gate_init(run, 0);
    gate_init(run, 1);
    c->s = &run->sink[0];
    struct sy_upstream_pair p = { hedge_start, hedge_done, run };
    uint64_t ask_ms = delay > 0 ? run->base_ms : SY_HEDGE_PENDING_ASK_MS;
    sy_upstream_perform_pair(w->up, uc, c->attempt_start_us + ask_ms * 1000ull,
                             &p);
    release_held(run);
    sy_buf_free(&run->held[0]);
    sy_buf_free(&run->held[1]);
    sink_sync(run);
    if (run->started[1]) {
        a->won = run->winner == 0;
        run->a[1]->won = run->winner == 1;
        if (run->winner == 1 && run->h.result == SY_OK) {
            sy_hedge_count_won();
            sy_metrics_route(sy_state_metrics(c->w->state), c->group,
                             SY_MR_HEDGE_WON);
        }
        hedge_merge(run);
    } else if (run->a[1] != NULL) {
        hedge_merge(run); /* a hedge its adapter refused */
    }
    if (run->winner >= 0 || run->left)
        return SY_ATTEMPT_DONE;
    return SY_ATTEMPT_NEXT;
}

/* One try on deployment c->dep with 'api_key', recorded in 'a'.
 * SY_ATTEMPT_DONE when the caller has been answered (success, caller
 * error, a stream that had started, a caller that left). A group that
 * hedges runs the first attempt of a request as a pair. */
enum sy_attempt_result
sy_pipeline_attempt(struct pctx *c, const char *api_key, struct sy_attempt *a)
{
    struct sy_failure f;
    struct sy_http_out out;
    struct sy_upstream_call uc;
    if (!sy_pipeline_attempt_open(c, api_key, a, &out, &uc, &f))
        return SY_ATTEMPT_NEXT;
    if (hedge_wanted(c))
        return hedge_run(c, a, &uc, &f);
    enum sy_err e = c->w->perform(c->w->up, &uc);
    return sy_pipeline_attempt_end(c, a, &uc, e, &f);
}
