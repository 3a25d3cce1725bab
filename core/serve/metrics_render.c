/*
 * metrics_render.c - a scrape's numbers (core/state/metrics_read.h) as
 * Prometheus text: the cluster's counters and histograms, the live
 * state read at scrape time (breakers, window quantiles, error ratios,
 * quota use, budgets left), and this process's own gauges. Names and
 * labels follow the contract in docs/operations.md ("Metrics"); a
 * counter series that is still 0 is left out, a family never is.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "metrics.h"
#include "prom.h"
#include "base/buf.h"
#include "config/config.h"
#include "state/metrics_read.h"
#include "state/state.h"

#include <string.h>

#define US 1e-6 /* microseconds to seconds */

static const char *const class_names[SY_METRICS_CLASSES] = { "2xx", "4xx",
                                                             "5xx" };
static const char *const breaker_to[3] = { "closed", "open", "half_open" };

static const char *
dep_name(const struct sy_config *cfg, size_t d)
{
    return d < cfg->ndeployments ? cfg->deployments[d].name : "";
}

static const char *
dep_provider(const struct sy_config *cfg, size_t d)
{
    return d < cfg->ndeployments ? cfg->deployments[d].provider->name : "";
}

static const char *
group_name(const struct sy_config *cfg, size_t g)
{
    return g < cfg->ngroups ? cfg->groups[g].name : "";
}

/* Hedged requests and prompt-cache affinity results, per group. */
static void
routing(struct sy_buf *b, const struct sy_metrics_view *v,
        const struct sy_config *cfg)
{
    static const struct {
        const char *name, *label, *help;
        unsigned first, n;
    } fam[2] = {
        { "switchyard_hedges_total", "outcome",
          "Hedged attempts started, and those that answered first.",
          SY_MR_HEDGE_STARTED, 2 },
        { "switchyard_cache_affinity_total", "result",
          "Requests of a conversation: on its deployment (hit), moved off "
          "it (moved) or in the strategy's order (miss).",
          SY_MR_AFFINITY_HIT, 3 },
    };
    static const char *const words[SY_MR__COUNT] = { "started", "won", "hit",
                                                     "moved", "miss" };
    const struct sy_metrics_layout *l = v->lay;
    for (int f = 0; f < 2; f++) {
        sy_prom_head(b, fam[f].name, "counter", fam[f].help);
        for (size_t g = 0; v->have_totals && g <= l->ngroups; g++)
            for (unsigned e = fam[f].first; e < fam[f].first + fam[f].n; e++) {
                uint64_t x = v->tot[sy_metrics_rev(l, g, e)];
                if (x == 0)
                    continue;
                struct sy_prom_label lb[] = {
                    { "group", group_name(cfg, g) },
                    { fam[f].label, words[e] },
                };
                sy_prom_sample(b, fam[f].name, lb, 2, (double)x);
            }
    }
}

/* The cluster's counters of requests, attempts, failovers, breaker
 * transitions and tokens. */
static void
counters(struct sy_buf *b, const struct sy_metrics_view *v,
         const struct sy_config *cfg)
{
    const struct sy_metrics_layout *l = v->lay;
    const uint64_t *t = v->tot;
    sy_prom_head(b, "switchyard_requests_total", "counter",
                 "Requests answered, by client API, group, deployment that "
                 "answered and status class.");
    for (unsigned s = 0; v->have_totals && s < SY_MS__COUNT; s++)
        for (size_t p = 0; p < l->npairs; p++)
            for (unsigned k = 0; k < SY_METRICS_CLASSES; k++) {
                uint64_t x = t[sy_metrics_req(l, s, p, k)];
                if (x == 0)
                    continue;
                struct sy_prom_label lb[] = {
                    { "surface", sy_metrics_surface_name(s) },
                    { "group", group_name(cfg, l->pair_grp[p]) },
                    { "deployment", dep_name(cfg, l->pair_dep[p]) },
                    { "provider", dep_provider(cfg, l->pair_dep[p]) },
                    { "status_class", class_names[k] },
                };
                sy_prom_sample(b, "switchyard_requests_total", lb, 5,
                               (double)x);
            }
    sy_prom_head(b, "switchyard_attempts_total", "counter",
                 "Provider attempts, by outcome (ok or the failure reason).");
    for (size_t p = 0; v->have_totals && p < l->npairs; p++)
        for (unsigned o = 0; o < SY_ERR__COUNT; o++) {
            uint64_t x = t[sy_metrics_att(l, p, o)];
            if (x == 0)
                continue;
            struct sy_prom_label lb[] = {
                { "group", group_name(cfg, l->pair_grp[p]) },
                { "deployment", dep_name(cfg, l->pair_dep[p]) },
                { "provider", dep_provider(cfg, l->pair_dep[p]) },
                { "outcome", sy_metrics_outcome_name(o) },
            };
            sy_prom_sample(b, "switchyard_attempts_total", lb, 4, (double)x);
        }
    sy_prom_head(b, "switchyard_failovers_total", "counter",
                 "Moves to another attempt, by the failed attempt's reason.");
    for (size_t g = 0; v->have_totals && g <= l->ngroups; g++)
        for (unsigned o = 0; o < SY_ERR__COUNT; o++) {
            uint64_t x = t[sy_metrics_fail(l, g, o)];
            if (x == 0)
                continue;
            struct sy_prom_label lb[] = {
                { "group", group_name(cfg, g) },
                { "reason", sy_metrics_outcome_name(o) },
            };
            sy_prom_sample(b, "switchyard_failovers_total", lb, 2, (double)x);
        }
    routing(b, v, cfg);
    sy_prom_head(b, "switchyard_breaker_transitions_total", "counter",
                 "Circuit breaker transitions, by the state entered.");
    for (size_t d = 0; v->have_totals && d < l->ndeps; d++)
        for (unsigned k = 0; k < 3; k++) {
            uint64_t x = t[sy_metrics_trans(l, d, k)];
            if (x == 0)
                continue;
            struct sy_prom_label lb[] = { { "deployment", dep_name(cfg, d) },
                                          { "to", breaker_to[k] } };
            sy_prom_sample(b, "switchyard_breaker_transitions_total", lb, 2,
                           (double)x);
        }
    sy_prom_head(b, "switchyard_tokens_total", "counter",
                 "Tokens used by provider attempts, by type.");
    for (size_t d = 0; v->have_totals && d < l->ndeps; d++)
        for (unsigned k = 0; k < SY_MT__COUNT; k++) {
            uint64_t x = t[sy_metrics_tok(l, d, k)];
            if (x == 0)
                continue;
            struct sy_prom_label lb[] = {
                { "deployment", dep_name(cfg, d) },
                { "provider", dep_provider(cfg, d) },
                { "gen_ai_token_type", sy_metrics_token_name(k) },
            };
            sy_prom_sample(b, "switchyard_tokens_total", lb, 3, (double)x);
        }
}

/* One histogram series whose slot 0 is tot[first], when it has data. */
static void
hist(struct sy_buf *b, const struct sy_metrics_view *v, const char *name,
     const struct sy_prom_label *lb, size_t n, size_t first, double scale)
{
    const uint64_t *s = &v->tot[first];
    uint64_t count = 0;
    for (unsigned k = 0; k < SY_METRICS_POW2; k++)
        count += s[k];
    if (count > 0)
        sy_prom_hist(b, name, lb, n, s, SY_METRICS_POW2, s[SY_METRICS_SUM],
                     scale);
}

static void
histograms(struct sy_buf *b, const struct sy_metrics_view *v,
           const struct sy_config *cfg)
{
    static const char *const names[3] = {
        "gen_ai_server_request_duration_seconds",
        "gen_ai_server_time_to_first_token_seconds",
        "gen_ai_server_time_per_output_token_seconds",
    };
    static const char *const helps[3] = {
        "Provider calls that answered, and those cut or timed out before "
        "answering (their elapsed time): start to last byte.",
        "Provider calls that answered, and those cut or timed out before "
        "the first token (their elapsed time): start to first token.",
        "Provider calls that answered: time per output token after the "
        "first.",
    };
    const struct sy_metrics_layout *l = v->lay;
    for (unsigned m = 0; m < 3; m++) {
        sy_prom_head(b, names[m], "histogram", helps[m]);
        for (size_t d = 0; v->have_totals && d < l->ndeps; d++) {
            struct sy_prom_label lb[] = {
                { "gen_ai_provider_name", dep_provider(cfg, d) },
                { "gen_ai_request_model", cfg->deployments[d].model },
                { "deployment", dep_name(cfg, d) },
            };
            hist(b, v, names[m], lb, 3, sy_metrics_hlat(l, d, m, 0), US);
        }
    }
    sy_prom_head(b, "switchyard_overhead_seconds", "histogram",
                 "Time of a request not spent waiting on a provider.");
    for (unsigned s = 0; v->have_totals && s < SY_MS__COUNT; s++) {
        struct sy_prom_label lb[] = { { "surface",
                                        sy_metrics_surface_name(s) } };
        hist(b, v, "switchyard_overhead_seconds", lb, 1,
             sy_metrics_hovh(l, s, 0), US);
    }
}

/* Tokens per attempt, by (provider, upstream model): deployments that
 * share both are one series. */
static void
token_usage(struct sy_buf *b, const struct sy_metrics_view *v,
            const struct sy_config *cfg)
{
    const struct sy_metrics_layout *l = v->lay;
    static const char *const io[2] = { "input", "output" };
    sy_prom_head(b, "gen_ai_client_token_usage", "histogram",
                 "Tokens per provider attempt, input and output.");
    for (size_t d = 0; v->have_totals && d < l->ndeps; d++) {
        const struct sy_deployment *dp = &cfg->deployments[d];
        bool seen = false;
        for (size_t e = 0; e < d && !seen; e++)
            seen = cfg->deployments[e].provider == dp->provider &&
                   strcmp(cfg->deployments[e].model, dp->model) == 0;
        for (unsigned k = 0; k < 2 && !seen; k++) {
            uint64_t s[SY_METRICS_HSLOTS] = { 0 };
            uint64_t count = 0;
            for (size_t e = d; e < l->ndeps; e++) {
                const struct sy_deployment *ep = &cfg->deployments[e];
                if (ep->provider != dp->provider ||
                    strcmp(ep->model, dp->model) != 0)
                    continue;
                for (unsigned j = 0; j < SY_METRICS_HSLOTS; j++)
                    s[j] += v->tot[sy_metrics_htok(l, e, k, j)];
            }
            for (unsigned j = 0; j < SY_METRICS_POW2; j++)
                count += s[j];
            if (count == 0)
                continue;
            struct sy_prom_label lb[] = {
                { "gen_ai_provider_name", dp->provider->name },
                { "gen_ai_request_model", dp->model },
                { "gen_ai_token_type", io[k] },
            };
            sy_prom_hist(b, "gen_ai_client_token_usage", lb, 3, s,
                         SY_METRICS_POW2, s[SY_METRICS_SUM], 1.0);
        }
    }
}

/* Breaker state: 0 closed, 1 half-open, 2 open. */
static double
breaker_value(enum sy_breaker_state s)
{
    return s == SY_BREAKER_OPEN ? 2 : s == SY_BREAKER_HALF_OPEN ? 1 : 0;
}

/* What the snapshot read of each deployment right now. */
static void
live_deployments(struct sy_buf *b, const struct sy_metrics_view *v,
                 const struct sy_config *cfg, const struct sy_dep_view *views)
{
    static const char *const qn[3] = { "0.5", "0.95", "0.99" };
    sy_prom_head(b, "switchyard_breaker_state", "gauge",
                 "Circuit breaker: 0 closed, 1 half-open, 2 open.");
    for (size_t d = 0; d < cfg->ndeployments; d++) {
        if (!v->have_snap && views == NULL)
            continue;
        double x = 0;
        if (v->have_snap && v->snap.deps[d].br_known)
            x = breaker_value(v->snap.deps[d].br.state);
        else if (!v->have_snap)
            x = views[d].breaker_open ? 2 : views[d].half_open ? 1 : 0;
        struct sy_prom_label lb[] = { { "deployment", dep_name(cfg, d) },
                                      { "provider", dep_provider(cfg, d) } };
        sy_prom_sample(b, "switchyard_breaker_state", lb, 2, x);
    }
    /* A summary, not the gauge it would otherwise be: the quantiles of
     * a sliding window are what a Prometheus summary is, and a gauge may
     * not carry a "quantile" label (promtool check metrics). */
    sy_prom_head(b, "switchyard_deployment_latency_seconds", "summary",
                 "Quantiles of the live latency window.");
    for (size_t d = 0; v->have_snap && d < cfg->ndeployments; d++)
        for (int m = 0; m < SY_LATENCY__COUNT; m++) {
            const struct sy_latency_stats *st = &v->snap.deps[d].lat[m];
            const uint64_t us[3] = { st->p50_us, st->p95_us, st->p99_us };
            for (unsigned k = 0; k < 3 && st->count > 0; k++) {
                struct sy_prom_label lb[] = {
                    { "deployment", dep_name(cfg, d) },
                    { "provider", dep_provider(cfg, d) },
                    { "metric",
                      sy_latency_metric_name((enum sy_latency_metric)m) },
                    { "quantile", qn[k] },
                };
                sy_prom_sample(b, "switchyard_deployment_latency_seconds", lb,
                               4, (double)us[k] * US);
            }
        }
    for (int pass = 0; pass < 2; pass++) {
        const char *name = pass ? "switchyard_deployment_error_ratio"
                                : "switchyard_deployment_window_samples";
        sy_prom_head(b, name, "gauge",
                     pass ? "Provider failures over outcomes in the breaker "
                            "window."
                          : "Successful calls in the live latency window.");
        for (size_t d = 0; v->have_snap && d < cfg->ndeployments; d++) {
            const struct sy_snap_dep *sd = &v->snap.deps[d];
            struct sy_prom_label lb[] = { { "deployment", dep_name(cfg, d) },
                                          { "provider",
                                            dep_provider(cfg, d) } };
            double x = (double)sd->lat[SY_LATENCY_TOTAL].count;
            if (pass)
                x = sd->br_known && sd->br.window_total > 0
                        ? (double)sd->br.window_failed / sd->br.window_total
                        : 0;
            sy_prom_sample(b, name, lb, 2, x);
        }
    }
    sy_prom_head(b, "switchyard_contract_violations_total", "counter",
                 "Replies that broke the requested output format.");
    for (size_t d = 0; v->have_snap && d < cfg->ndeployments; d++) {
        if (v->snap.deps[d].contract == 0)
            continue;
        struct sy_prom_label lb[] = { { "deployment", dep_name(cfg, d) } };
        sy_prom_sample(b, "switchyard_contract_violations_total", lb, 1,
                       (double)v->snap.deps[d].contract);
    }
}

/* Provider-key and caller-key use of the current rate window. */
static void
quotas(struct sy_buf *b, const struct sy_metrics_view *v)
{
    for (int lim = 0; lim < 2; lim++) {
        const char *name =
            lim ? "switchyard_quota_limit" : "switchyard_quota_used";
        sy_prom_head(b, name, "gauge",
                     lim ? "Per-minute limit of a provider or caller key."
                         : "Reserved in the current minute's window of a "
                           "provider or caller key (worker processes "
                           "reserve caller-key requests in blocks, so "
                           "this runs ahead of requests served).");
        for (int kind = 0; v->have_snap && kind < 2; kind++) {
            const struct sy_snap_key *k =
                kind == 0 ? v->snap.pkeys : v->snap.ckeys;
            size_t n = kind == 0 ? v->snap.npkeys : v->snap.cfg->nkeys;
            for (size_t i = 0; i < n; i++)
                for (int u = 0; u < 2; u++) {
                    const struct sy_rate_use *ru = u ? &k[i].tpm : &k[i].rpm;
                    struct sy_prom_label lb[] = {
                        { "kind", kind == 0 ? "provider_key" : "caller_key" },
                        { "name", k[i].name },
                        { "unit", u ? "tokens" : "requests" },
                    };
                    if (!lim)
                        sy_prom_sample(b, name, lb, 3, (double)ru->used);
                    else if (ru->limit > 0)
                        sy_prom_sample(b, name, lb, 3, (double)ru->limit);
                }
        }
    }
}

/* Cost, baseline and budgets left, by caller key. */
static void
money(struct sy_buf *b, const struct sy_metrics_view *v)
{
    static const char *const names[2] = {
        "switchyard_cost_microdollars_total",
        "switchyard_baseline_cost_microdollars_total",
    };
    static const char *const helps[2] = {
        "What requests cost, in micro-dollars.",
        "What the group's first deployment would have cost, in "
        "micro-dollars.",
    };
    for (int w = 0; w < 2; w++) {
        sy_prom_head(b, names[w], "counter", helps[w]);
        for (size_t i = 0; i < v->nmoney[w]; i++) {
            const struct sy_metrics_money *mo = &v->money[w][i];
            struct sy_prom_label lb[] = { { "key", mo->key },
                                          { "team", mo->team },
                                          { "group", mo->group },
                                          { "deployment", mo->deployment } };
            sy_prom_sample(b, names[w], lb, w == 0 ? 4 : 3,
                           (double)mo->micro_usd);
        }
    }
    sy_prom_head(b, "switchyard_budget_remaining_microdollars", "gauge",
                 "Money budget left in the current period, by virtual key.");
    for (size_t i = 0; i < v->nbudgets; i++) {
        struct sy_prom_label lb[] = { { "key", v->budgets[i].key } };
        sy_prom_sample(b, "switchyard_budget_remaining_microdollars", lb, 1,
                       (double)v->budgets[i].remaining_micro_usd);
    }
}

/* This process's gauges. */
static void
process(struct sy_buf *b, const struct sy_metrics_view *v)
{
    sy_prom_head(b, "switchyard_requests_in_flight", "gauge",
                 "Requests being served (the cluster's while Redis is up, "
                 "else this process's).");
    sy_prom_sample(b, "switchyard_requests_in_flight", NULL, 0,
                   (double)v->in_flight);
    sy_prom_head(b, "switchyard_redis_up", "gauge",
                 "1 when this process's scrape read Redis, else 0.");
    sy_prom_sample(b, "switchyard_redis_up", NULL, 0, v->redis_up ? 1 : 0);
    sy_prom_head(b, "switchyard_redis_operation_duration_seconds", "histogram",
                 "This process's Redis round trips.");
    if (v->have_redis_op)
        sy_prom_hist(b, "switchyard_redis_operation_duration_seconds", NULL, 0,
                     v->redis_op, SY_STORE_OP_SLOTS - 1,
                     v->redis_op[SY_STORE_OP_SLOTS - 1], US);
    sy_prom_head(b, "switchyard_scrape_redis_calls", "gauge",
                 "Redis round trips this scrape made.");
    sy_prom_sample(b, "switchyard_scrape_redis_calls", NULL, 0,
                   (double)v->redis_calls);
}

/* The whole scrape into 'b'. */
void
sy_metrics_render(struct sy_buf *b, const struct sy_metrics_view *v,
                  const struct sy_config *cfg, const struct sy_dep_view *views)
{
    counters(b, v, cfg);
    histograms(b, v, cfg);
    token_usage(b, v, cfg);
    live_deployments(b, v, cfg, views);
    quotas(b, v);
    money(b, v);
    process(b, v);
}
