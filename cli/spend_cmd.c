/*
 * spend_cmd.c - 'switchyard spend [--config FILE] [--from DAY] [--to DAY]
 * [--by key|team|deployment|provider|group|day] [--json] [--from-log
 * FILE]': what the traffic of a range of UTC days cost, per chosen
 * dimension, in USD, and the total.
 *
 * The source is the daily spend hashes in Redis (state.redis_url of the
 * config; one pipeline of HGETALL, one per day, built and summed by
 * core/state/spend.c), or with --from-log the local usage log (core/io/usagelog.c),
 * each record added with sy_spend_totals_add_record(), the same fields
 * and amounts the workers write to Redis. With --from-log and Redis
 * reachable, a reconciliation follows: per day and field, the log's sum,
 * Redis' sum and the difference (after a Redis failover or a lost batch
 * the log is the truth).
 *
 * --by group adds, per group, its baseline: what the group's first
 * deployment would have charged for the same usage ("base:<group>" in
 * Redis, written by the workers at the prices of the day; from the log it
 * is recomputed with the config's current prices, as the log does not
 * keep it), and the difference: "saved" when the traffic cost less than
 * on the first deployment, "extra" when more.
 *
 * Names only: caller keys appear by their configured name (what the
 * hashes hold), never a secret; the Redis address is shown without its
 * password. Read only.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "spend_cmd.h"
#include "base/buf.h"
#include "api/chat.h"
#include "base/clock.h"
#include "config/config.h"
#include "state/state.h"
#include "config/cost.h"
#include "base/mem.h"
#include "state/spend.h"
#include "io/store.h"
#include "io/usagelog.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_spend[] =
    "usage: switchyard spend [--config FILE] [--from DAY] [--to DAY]\n"
    "                        [--by key|team|deployment|provider|group|day]\n"
    "                        [--json] [--from-log FILE]\n"
    "\n"
    "Print what the traffic of UTC days DAY (yyyy-mm-dd) cost, per caller\n"
    "key name, team, deployment, provider, group (model) or day, in USD,\n"
    "and the total. The source is the daily spend hashes in Redis\n"
    "(state.redis_url of the config). --by group also shows each group's\n"
    "baseline, what its first deployment would have charged for the same\n"
    "usage, and the difference: \"saved\" (cheaper than the first\n"
    "deployment, e.g. direct deployments after an aggregator) or \"extra\".\n"
    "\n"
    "options:\n"
    "  -c, --config FILE    configuration (default: $SWITCHYARD_CONFIG or\n"
    "                       the embedded default)\n"
    "  -f, --from DAY       first day (default: the --to day)\n"
    "  -t, --to DAY         last day (default: today, UTC)\n"
    "  -b, --by DIM         key, team, deployment, provider, group or day\n"
    "                       (default: group)\n"
    "  -l, --from-log FILE  sum the usage log (server.usage_log) instead;\n"
    "                       when Redis is reachable, also reconcile: per\n"
    "                       day and field, log vs Redis and the difference.\n"
    "                       Group baselines from the log use the config's\n"
    "                       current prices\n"
    "  -j, --json           one JSON object instead of tables\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit status: 0 printed; 1 Redis not configured or unreachable\n"
    "(without --from-log), an unreadable log or an invalid config; 2 usage\n"
    "error.\n";

/* What --by chose: a dimension of the hashes, or days. */
struct by {
    const char *name;      /* as typed */
    const char *title;     /* column title */
    enum sy_spend_dim dim; /* SY_SPEND_TOTAL for "day" */
};

static const struct by bys[] = {
    { "key", "CALLER KEY", SY_SPEND_KEY },
    { "team", "TEAM", SY_SPEND_TEAM },
    { "deployment", "DEPLOYMENT", SY_SPEND_DEP },
    { "provider", "PROVIDER", SY_SPEND_PROV },
    { "group", "GROUP", SY_SPEND_GROUP },
    { "day", "DAY", SY_SPEND_TOTAL },
};

/* One line of the report. */
struct row {
    const char *name; /* borrowed (totals, config or the day names) */
    int64_t cost;
    int64_t base;      /* groups: the baseline */
    const char *first; /* groups: the first deployment, NULL if unknown */
};

struct report {
    const struct sy_config *cfg;
    const struct by *by;
    int64_t from;
    int64_t to;
    size_t ndays;
    char (*day_names)[SY_SPEND_DAY_LEN + 1];
    /* sources: per day, and summed */
    struct sy_spend_totals *redis_days; /* NULL when not read */
    struct sy_spend_totals *log_days;   /* NULL without --from-log */
    const char *log_path;
    struct sy_usagelog_read_stats log_stats;
    uint64_t log_in_range; /* records of the days asked */
    uint64_t log_no_base;  /* successes whose group is not in
                                           the config (no baseline) */
    char where[600];       /* redis, for messages */
    const char *prefix;
    char redis_error[1200]; /* why Redis was not read, or "" */
};

/* ------------------------------------------------------------------ */
/* Config and Redis                                                    */

/* Read the days' hashes into rep->redis_days; false with
 * rep->redis_error set when Redis is not configured or fails. */
static bool
read_redis(struct report *rep)
{
    const struct sy_state_conf *sc = &rep->cfg->state;
    if (sc->redis_url == NULL && sc->nsentinels == 0) {
        snprintf(rep->redis_error, sizeof(rep->redis_error),
                 "%s has no shared state (state.redis_url is not set)",
                 rep->cfg->origin);
        return false;
    }
    sy_state_describe_redis(sc, rep->where, sizeof(rep->where));
    struct sy_store_conf conf;
    sy_store_conf_defaults(&conf);
    conf.url = sc->redis_url;
    conf.sentinels = sc->sentinels;
    conf.nsentinels = sc->nsentinels;
    conf.master_name = sc->master;
    conf.prefix = sc->prefix;
    conf.connect_timeout_ms = SY_MAX(sc->connect_timeout_ms, 1000u);
    conf.command_timeout_ms = SY_MAX(sc->command_timeout_ms, 5000u);
    conf.max_reply_bytes = SY_MAX(conf.max_reply_bytes, (size_t)256 << 20);
    struct sy_store *s = NULL;
    char err[256];
    if (sy_store_new(&conf, &s, err, sizeof(err)) != SY_OK) {
        snprintf(rep->redis_error, sizeof(rep->redis_error), "redis %s: %s",
                 rep->where, err);
        return false;
    }
    rep->prefix = sc->prefix;
    struct sy_store_batch b;
    sy_store_batch_init(&b, 64u << 20);
    struct sy_arena arena;
    sy_arena_init(&arena, 65536);
    struct sy_store_val *r = NULL;
    bool ok = false;
    enum sy_err e =
        sy_spend_read_days(&b, sy_store_prefix(s), rep->from, rep->to);
    if (e != SY_OK) {
        snprintf(rep->redis_error, sizeof(rep->redis_error),
                 "cannot build the query (%s)", sy_err_name(e));
    } else if (sy_store_exec(s, &b, &arena, &r) != SY_OK) {
        const char *why = sy_store_last_error(s);
        snprintf(rep->redis_error, sizeof(rep->redis_error),
                 "cannot reach Redis at %s: %s", rep->where,
                 why && why[0] ? why : "no answer");
    } else {
        rep->redis_days = sy_xcalloc(rep->ndays, sizeof(*rep->redis_days));
        ok = true;
        for (size_t i = 0; i < rep->ndays; i++) {
            sy_spend_totals_init(&rep->redis_days[i]);
            if (i < b.n &&
                sy_spend_totals_add_reply(&rep->redis_days[i], &r[i]) !=
                    SY_OK &&
                ok) {
                snprintf(rep->redis_error, sizeof(rep->redis_error),
                         "Redis at %s answered an error for %s: %.200s",
                         rep->where, rep->day_names[i],
                         r[i].str ? r[i].str : "?");
                ok = false;
            }
        }
        if (!ok) {
            for (size_t i = 0; i < rep->ndays; i++)
                sy_spend_totals_cleanup(&rep->redis_days[i]);
            free(rep->redis_days);
            rep->redis_days = NULL;
        }
    }
    sy_arena_cleanup(&arena);
    sy_store_batch_cleanup(&b);
    sy_store_free(s);
    return ok;
}

/* ------------------------------------------------------------------ */
/* The usage log                                                       */

/* Add one record of the log to its day; the baseline is recomputed from
 * the config (the log does not keep it), as core/serve/pipeline.c computes it:
 * successes only, on the group's first deployment. */
static bool
on_record(const struct sy_usage_record *r, void *ctx)
{
    struct report *rep = ctx;
    if (r->time_ms == 0)
        return true;
    int64_t day = sy_spend_day(r->time_ms);
    if (day < rep->from || day > rep->to)
        return true;
    rep->log_in_range++;
    struct sy_usage_record x = *r;
    x.baseline_micro_usd = 0;
    if (x.status == 200) {
        const struct sy_group *g =
            x.group ? sy_config_find_group(rep->cfg, x.group) : NULL;
        if (g != NULL && g->ndeployments > 0) {
            const struct sy_deployment *d0 = g->deployments[0];
            struct sy_usage u = {
                .present = true,
                .prompt_tokens = x.prompt_tokens,
                .completion_tokens = x.completion_tokens,
                .total_tokens = x.prompt_tokens + x.completion_tokens,
                .cached_tokens = x.cached_tokens,
                .reasoning_tokens = x.reasoning_tokens,
            };
            x.baseline_micro_usd =
                sy_cost_micro_usd(&d0->price, &u, d0->provider->markup_bp);
        } else if (x.group != NULL) {
            rep->log_no_base++;
        }
    }
    sy_spend_totals_add_record(&rep->log_days[day - rep->from], &x);
    return true;
}

static bool
read_log(struct report *rep)
{
    rep->log_days = sy_xcalloc(rep->ndays, sizeof(*rep->log_days));
    for (size_t i = 0; i < rep->ndays; i++)
        sy_spend_totals_init(&rep->log_days[i]);
    char err[512] = "";
    if (sy_usagelog_read(rep->log_path, on_record, rep, &rep->log_stats, err,
                         sizeof(err)) != SY_OK) {
        fprintf(stderr, "switchyard spend: %s\n", err);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Rows                                                                */

/* Sum per-day totals into one. */
static void
sum_days(const struct sy_spend_totals *days, size_t ndays,
         struct sy_spend_totals *out)
{
    sy_spend_totals_init(out);
    for (size_t i = 0; i < ndays; i++)
        for (size_t k = 0; k < days[i].n; k++) {
            const struct sy_spend_entry *e = &days[i].entries[k];
            sy_spend_totals_add(out, e->dim, e->name, strlen(e->name),
                                e->micro_usd);
        }
}

static const char *
first_deployment(const struct sy_config *cfg, const char *group)
{
    const struct sy_group *g = sy_config_find_group(cfg, group);
    if (g == NULL || g->ndeployments == 0)
        return NULL;
    return g->deployments[0]->name;
}

/* The rows of the report into '*out' (allocated); returns how many. The
 * total is sy_spend_totals_get(sum, SY_SPEND_TOTAL). For dimensions that
 * need not cover all traffic (keys, teams, groups), a "(none)" row holds
 * the rest when it is not 0. */
static size_t
build_rows(const struct report *rep, const struct sy_spend_totals *days,
           const struct sy_spend_totals *sum, struct row **out)
{
    const struct by *by = rep->by;
    size_t cap = sum->n + rep->ndays + 2;
    struct row *rows = sy_xcalloc(cap, sizeof(*rows));
    size_t n = 0;
    if (by->dim == SY_SPEND_TOTAL) {
        for (size_t i = 0; i < rep->ndays; i++) {
            rows[n].name = rep->day_names[i];
            rows[n].cost = sy_spend_totals_get(&days[i], SY_SPEND_TOTAL, "");
            n++;
        }
        *out = rows;
        return n;
    }
    const struct sy_spend_entry **v;
    size_t nv = sy_spend_totals_sorted(sum, by->dim, &v);
    int64_t covered = 0;
    for (size_t i = 0; i < nv; i++) {
        rows[n].name = v[i]->name;
        rows[n].cost = v[i]->micro_usd;
        covered += v[i]->micro_usd;
        if (by->dim == SY_SPEND_GROUP) {
            rows[n].base = sy_spend_totals_get(sum, SY_SPEND_BASE, v[i]->name);
            rows[n].first = first_deployment(rep->cfg, v[i]->name);
        }
        n++;
    }
    free(v);
    if (by->dim == SY_SPEND_GROUP) {
        /* Groups with a baseline and no cost (free traffic). */
        size_t nb = sy_spend_totals_sorted(sum, SY_SPEND_BASE, &v);
        for (size_t i = 0; i < nb; i++) {
            bool seen = false;
            for (size_t k = 0; k < n && !seen; k++)
                seen = strcmp(rows[k].name, v[i]->name) == 0;
            if (seen || n + 1 >= cap)
                continue;
            rows[n].name = v[i]->name;
            rows[n].base = v[i]->micro_usd;
            rows[n].first = first_deployment(rep->cfg, v[i]->name);
            n++;
        }
        free(v);
    }
    int64_t rest =
        sy_spend_sub_sat(sy_spend_totals_get(sum, SY_SPEND_TOTAL, ""), covered);
    if (rest != 0 && n < cap) {
        rows[n].name = NULL; /* "(none)" */
        rows[n].cost = rest;
        n++;
    }
    *out = rows;
    return n;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

static void
usd(int64_t micro, char out[SY_COST_USD_STRLEN])
{
    sy_cost_format_usd(micro, out, SY_COST_USD_STRLEN);
}

/* "saved 0.001234", "extra 0.000100", "same" (baseline - cost). */
static void
vs_first(int64_t cost, int64_t base, char *out, size_t outlen)
{
    int64_t d = sy_spend_sub_sat(base, cost);
    char u[SY_COST_USD_STRLEN];
    if (d == 0) {
        snprintf(out, outlen, "same");
        return;
    }
    usd(d > 0 ? d : sy_spend_sub_sat(0, d), u);
    snprintf(out, outlen, "%s %s", d > 0 ? "saved" : "extra", u);
}

static int
max_width(int w, const char *s)
{
    int n = (int)strlen(s);
    return n > w ? n : w;
}

static void
print_source(const struct report *rep)
{
    if (rep->log_days != NULL) {
        printf("source: usage log %s (%" PRIu64 " records in range",
               rep->log_path, rep->log_in_range);
        if (rep->log_stats.bad_lines > 0)
            printf(", %" PRIu64 " bad lines skipped", rep->log_stats.bad_lines);
        if (rep->log_stats.truncated_tail)
            printf(", a torn last line skipped");
        printf(")\n");
        if (rep->log_no_base > 0)
            printf("note: %" PRIu64 " successful records name a group that "
                   "is not in the config: no baseline for them\n",
                   rep->log_no_base);
    } else {
        printf("source: redis %s, prefix \"%s\"\n", rep->where, rep->prefix);
    }
}

static void
print_text(const struct report *rep, const struct row *rows, size_t n,
           int64_t total)
{
    char d0[SY_SPEND_DAY_LEN + 1];
    char d1[SY_SPEND_DAY_LEN + 1];
    sy_spend_day_format(rep->from, d0);
    sy_spend_day_format(rep->to, d1);
    printf("spend %s .. %s (UTC), by %s, in USD\n", d0, d1, rep->by->name);
    print_source(rep);
    printf("\n");
    bool groups = rep->by->dim == SY_SPEND_GROUP;
    int wn = max_width((int)strlen(rep->by->title), "TOTAL");
    wn = max_width(wn, "(none)");
    int wf = (int)strlen("FIRST DEPLOYMENT");
    for (size_t i = 0; i < n; i++) {
        if (rows[i].name)
            wn = max_width(wn, rows[i].name);
        if (rows[i].first)
            wf = max_width(wf, rows[i].first);
    }
    char c[SY_COST_USD_STRLEN], b[SY_COST_USD_STRLEN], vs[64];
    if (groups)
        printf("%-*s  %14s  %14s  %-*s  %s\n", wn, rep->by->title, "COST",
               "BASELINE", wf, "FIRST DEPLOYMENT", "VS FIRST DEPLOYMENT");
    else
        printf("%-*s  %14s\n", wn, rep->by->title, "COST");
    int64_t sum_cost = 0;
    int64_t sum_base = 0;
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        usd(r->cost, c);
        if (groups && r->name != NULL) {
            usd(r->base, b);
            vs_first(r->cost, r->base, vs, sizeof(vs));
            printf("%-*s  %14s  %14s  %-*s  %s\n", wn, r->name, c, b, wf,
                   r->first ? r->first : "(not in config)", vs);
            sum_cost += r->cost;
            sum_base += r->base;
        } else {
            printf("%-*s  %14s\n", wn, r->name ? r->name : "(none)", c);
        }
    }
    usd(total, c);
    if (groups) {
        usd(sum_base, b);
        vs_first(sum_cost, sum_base, vs, sizeof(vs));
        usd(sum_cost, c);
        printf("%-*s  %14s  %14s  %-*s  %s\n", wn, "GROUPS", c, b, wf, "", vs);
        usd(total, c);
    }
    printf("%-*s  %14s\n", wn, "TOTAL", c);
}

static void
json_usd(struct sy_buf *b, const char *field, int64_t micro)
{
    char u[SY_COST_USD_STRLEN];
    usd(micro, u);
    sy_buf_printf(b, "\"%s_micro_usd\":%" PRId64 ",\"%s_usd\":%s", field, micro,
                  field, u);
}

static void
json_str_or_null(struct sy_buf *b, const char *s)
{
    if (s == NULL)
        sy_buf_puts(b, "null");
    else
        sy_buf_json_str(b, s, strlen(s));
}

/* The reconciliation rows of day 'i' (log vs Redis). */
static unsigned
recon_mask(const struct report *rep)
{
    unsigned m = 1u << SY_SPEND_TOTAL;
    if (rep->by->dim == SY_SPEND_GROUP)
        m |= 1u << SY_SPEND_BASE;
    return m | (1u << rep->by->dim);
}

static void
field_name(const struct sy_spend_diff *d, char *out, size_t outlen)
{
    sy_spend_field(out, outlen, d->dim, d->name);
}

static void
print_recon_text(const struct report *rep)
{
    unsigned mask = recon_mask(rep);
    printf("\nreconciliation: usage log vs redis %s, prefix \"%s\" (after a "
           "failover the log is the truth)\n",
           rep->where, rep->prefix);
    if (rep->by->dim == SY_SPEND_GROUP)
        printf("base: from the log at the config's current prices, in "
               "Redis at the prices of the day\n");
    printf("\n");
    struct sy_spend_diff **per = sy_xcalloc(rep->ndays, sizeof(*per));
    size_t *cnt = sy_xcalloc(rep->ndays, sizeof(*cnt));
    int wf = (int)strlen("FIELD");
    for (size_t i = 0; i < rep->ndays; i++) {
        cnt[i] = sy_spend_totals_diff(&rep->log_days[i], &rep->redis_days[i],
                                      mask, &per[i]);
        for (size_t k = 0; k < cnt[i]; k++) {
            char f[600];
            field_name(&per[i][k], f, sizeof(f));
            wf = max_width(wf, f);
        }
    }
    printf("%-10s  %-*s  %14s  %14s  %14s\n", "DAY", wf, "FIELD", "LOG",
           "REDIS", "LOG - REDIS");
    size_t rows = 0;
    size_t differ = 0;
    for (size_t i = 0; i < rep->ndays; i++) {
        for (size_t k = 0; k < cnt[i]; k++) {
            const struct sy_spend_diff *d = &per[i][k];
            char f[600], a[SY_COST_USD_STRLEN], b[SY_COST_USD_STRLEN],
                df[SY_COST_USD_STRLEN];
            field_name(d, f, sizeof(f));
            usd(d->a, a);
            usd(d->b, b);
            usd(d->diff, df);
            printf("%-10s  %-*s  %14s  %14s  %14s%s\n", rep->day_names[i], wf,
                   f, a, b, df, d->diff != 0 ? "  *" : "");
            rows++;
            differ += d->diff != 0;
        }
        free(per[i]);
    }
    free(per);
    free(cnt);
    if (rows == 0)
        printf("(no spend in either on these days)\n");
    printf("%zu of %zu rows differ\n", differ, rows);
}

static void
print_json(const struct report *rep, const struct row *rows, size_t n,
           int64_t total, bool recon)
{
    struct sy_buf b;
    sy_buf_init(&b, 256u << 20);
    char d0[SY_SPEND_DAY_LEN + 1];
    char d1[SY_SPEND_DAY_LEN + 1];
    sy_spend_day_format(rep->from, d0);
    sy_spend_day_format(rep->to, d1);
    sy_buf_printf(&b,
                  "{\"from\":\"%s\",\"to\":\"%s\",\"by\":\"%s\","
                  "\"source\":",
                  d0, d1, rep->by->name);
    if (rep->log_days != NULL) {
        sy_buf_puts(&b, "{\"type\":\"usage_log\",\"path\":");
        sy_buf_json_str(&b, rep->log_path, strlen(rep->log_path));
        sy_buf_printf(
            &b,
            ",\"records_in_range\":%" PRIu64 ",\"records\":%" PRIu64
            ",\"bad_lines\":%" PRIu64
            ",\"truncated_tail\":%s,\"no_baseline\":%" PRIu64 "}",
            rep->log_in_range, rep->log_stats.records, rep->log_stats.bad_lines,
            rep->log_stats.truncated_tail ? "true" : "false", rep->log_no_base);
    } else {
        sy_buf_puts(&b, "{\"type\":\"redis\",\"address\":");
        sy_buf_json_str(&b, rep->where, strlen(rep->where));
        sy_buf_puts(&b, ",\"prefix\":");
        sy_buf_json_str(&b, rep->prefix, strlen(rep->prefix));
        sy_buf_puts(&b, "}");
    }
    sy_buf_puts(&b, ",\"rows\":[");
    bool groups = rep->by->dim == SY_SPEND_GROUP;
    int64_t sum_cost = 0;
    int64_t sum_base = 0;
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        sy_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        json_str_or_null(&b, r->name);
        sy_buf_puts(&b, ",");
        json_usd(&b, "cost", r->cost);
        if (groups && r->name != NULL) {
            sy_buf_puts(&b, ",");
            json_usd(&b, "baseline", r->base);
            sy_buf_puts(&b, ",");
            json_usd(&b, "saved", sy_spend_sub_sat(r->base, r->cost));
            sy_buf_puts(&b, ",\"first_deployment\":");
            json_str_or_null(&b, r->first);
            sum_cost += r->cost;
            sum_base += r->base;
        }
        sy_buf_puts(&b, "}");
    }
    sy_buf_puts(&b, "],");
    if (groups) {
        sy_buf_puts(&b, "\"groups\":{");
        json_usd(&b, "cost", sum_cost);
        sy_buf_puts(&b, ",");
        json_usd(&b, "baseline", sum_base);
        sy_buf_puts(&b, ",");
        json_usd(&b, "saved", sy_spend_sub_sat(sum_base, sum_cost));
        sy_buf_puts(&b, "},");
    }
    json_usd(&b, "total", total);
    if (rep->log_days != NULL) {
        sy_buf_puts(&b, ",\"reconciliation\":");
        if (!recon) {
            sy_buf_puts(&b, "{\"redis\":null,\"error\":");
            sy_buf_json_str(&b, rep->redis_error, strlen(rep->redis_error));
            sy_buf_puts(&b, "}");
        } else {
            sy_buf_puts(&b, "{\"redis\":");
            sy_buf_json_str(&b, rep->where, strlen(rep->where));
            sy_buf_puts(&b, ",\"rows\":[");
            unsigned mask = recon_mask(rep);
            size_t rows_out = 0;
            size_t differ = 0;
            for (size_t i = 0; i < rep->ndays; i++) {
                struct sy_spend_diff *per;
                size_t cnt = sy_spend_totals_diff(
                    &rep->log_days[i], &rep->redis_days[i], mask, &per);
                for (size_t k = 0; k < cnt; k++) {
                    char f[600];
                    field_name(&per[k], f, sizeof(f));
                    sy_buf_printf(&b,
                                  "%s{\"day\":\"%s\",\"dim\":\"%s\","
                                  "\"name\":",
                                  rows_out ? "," : "", rep->day_names[i],
                                  sy_spend_dim_name(per[k].dim));
                    sy_buf_json_str(&b, per[k].name, strlen(per[k].name));
                    sy_buf_puts(&b, ",\"field\":");
                    sy_buf_json_str(&b, f, strlen(f));
                    sy_buf_puts(&b, ",");
                    json_usd(&b, "log", per[k].a);
                    sy_buf_puts(&b, ",");
                    json_usd(&b, "redis", per[k].b);
                    sy_buf_puts(&b, ",");
                    json_usd(&b, "diff", per[k].diff);
                    sy_buf_puts(&b, "}");
                    rows_out++;
                    differ += per[k].diff != 0;
                }
                free(per);
            }
            sy_buf_printf(&b, "],\"rows_differing\":%zu}", differ);
        }
    }
    sy_buf_puts(&b, "}\n");
    fputs(sy_buf_cstr(&b), stdout);
    sy_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* The command                                                         */

static int
run(struct report *rep, bool json)
{
    int rc = 0;
    bool redis_ok = false;
    if (rep->log_path != NULL) {
        if (!read_log(rep))
            return 1;
        redis_ok = read_redis(rep);
    } else {
        redis_ok = read_redis(rep);
        if (!redis_ok) {
            fprintf(stderr, "switchyard spend: %s\n", rep->redis_error);
            return 1;
        }
    }
    const struct sy_spend_totals *days =
        rep->log_days != NULL ? rep->log_days : rep->redis_days;
    struct sy_spend_totals sum;
    sum_days(days, rep->ndays, &sum);
    struct row *rows;
    size_t n = build_rows(rep, days, &sum, &rows);
    int64_t total = sy_spend_totals_get(&sum, SY_SPEND_TOTAL, "");
    if (json) {
        print_json(rep, rows, n, total, redis_ok);
    } else {
        print_text(rep, rows, n, total);
        if (rep->log_days != NULL && redis_ok)
            print_recon_text(rep);
        else if (rep->log_days != NULL)
            printf("\nno reconciliation: %s\n", rep->redis_error);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "switchyard spend: writing the output: %s\n",
                strerror(errno));
        rc = 1;
    }
    free(rows);
    sy_spend_totals_cleanup(&sum);
    return rc;
}

int
sy_spend_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },
        { "by", required_argument, NULL, 'b' },
        { "from-log", required_argument, NULL, 'l' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL;
    const char *from_s = NULL;
    const char *to_s = NULL;
    const char *by_s = "group";
    const char *log_path = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:f:t:b:l:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'f':
            from_s = optarg;
            break;
        case 't':
            to_s = optarg;
            break;
        case 'b':
            by_s = optarg;
            break;
        case 'l':
            log_path = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            fputs(usage_spend, stdout);
            return 0;
        default:
            fputs(usage_spend, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "switchyard spend: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    const struct by *by = NULL;
    for (size_t i = 0; i < SY_ARRAY_LEN(bys) && by == NULL; i++)
        if (strcmp(by_s, bys[i].name) == 0)
            by = &bys[i];
    if (by == NULL) {
        fprintf(stderr,
                "switchyard spend: --by takes key, team, deployment, "
                "provider, group or day, not '%s'\n",
                by_s);
        return 2;
    }
    int64_t to = sy_spend_day(sy_wall_ms());
    if (to_s != NULL && !sy_spend_day_parse(to_s, &to)) {
        fprintf(stderr,
                "switchyard spend: --to takes a day yyyy-mm-dd, not "
                "'%s'\n",
                to_s);
        return 2;
    }
    int64_t from = to;
    if (from_s != NULL && !sy_spend_day_parse(from_s, &from)) {
        fprintf(stderr,
                "switchyard spend: --from takes a day yyyy-mm-dd, "
                "not '%s'\n",
                from_s);
        return 2;
    }
    if (from > to) {
        fprintf(stderr, "switchyard spend: --from %s is after --to\n", from_s);
        return 2;
    }
    if ((uint64_t)(to - from) >= SY_SPEND_MAX_DAYS) {
        fprintf(stderr, "switchyard spend: at most %u days at a time\n",
                SY_SPEND_MAX_DAYS);
        return 2;
    }
    struct sy_config *cfg = sy_config_load_default(config);
    if (cfg == NULL) {
        fprintf(stderr, "switchyard spend: invalid configuration\n");
        return 1;
    }
    struct report rep;
    memset(&rep, 0, sizeof(rep));
    rep.cfg = cfg;
    rep.by = by;
    rep.from = from;
    rep.to = to;
    rep.ndays = (size_t)(to - from + 1);
    rep.log_path = log_path;
    rep.prefix = cfg->state.prefix ? cfg->state.prefix : "";
    rep.day_names = sy_xcalloc(rep.ndays, sizeof(*rep.day_names));
    for (size_t i = 0; i < rep.ndays; i++)
        sy_spend_day_format(from + (int64_t)i, rep.day_names[i]);
    int rc = run(&rep, json);
    for (size_t i = 0; rep.redis_days && i < rep.ndays; i++)
        sy_spend_totals_cleanup(&rep.redis_days[i]);
    for (size_t i = 0; rep.log_days && i < rep.ndays; i++)
        sy_spend_totals_cleanup(&rep.log_days[i]);
    free(rep.redis_days);
    free(rep.log_days);
    free(rep.day_names);
    sy_config_free(cfg);
    return rc;
}
