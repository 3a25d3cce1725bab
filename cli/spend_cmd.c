/*
 * spend_cmd.c - 'switchyard spend [--config FILE] [--from DAY] [--to DAY]
 * [--by key|team|deployment|provider|group|day] [--json] [--from-log
 * FILE]': what the traffic of a range of UTC days cost, per chosen
 * dimension, in USD, and the total.
 *
 * The source is the daily spend hashes in Redis (state.redis_url of the
 * config; one pipeline of HGETALL, one per day, built and summed by
 * core/state/spend.c), or with --from-log the local usage log
 * (core/io/usagelog.c), each record added with
 * sy_spend_totals_add_record(), the same fields and amounts the workers
 * write to Redis. With --from-log and Redis reachable, a reconciliation
 * follows (spend_out.c): per day and field, the log's sum, Redis' sum and
 * the difference (after a Redis failover or a lost batch the log is the
 * truth).
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
#include "spend_int.h"
#include "api/chat.h"
#include "base/clock.h"
#include "config/config.h"
#include "config/cost.h"
#include "base/mem.h"
#include "base/limits.h"
#include "state/spend.h"
#include "io/store.h"
#include "io/usagelog.h"

#include <getopt.h>
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

static const struct by bys[] = {
    { "key", "CALLER KEY", SY_SPEND_KEY },
    { "team", "TEAM", SY_SPEND_TEAM },
    { "deployment", "DEPLOYMENT", SY_SPEND_DEP },
    { "provider", "PROVIDER", SY_SPEND_PROV },
    { "group", "GROUP", SY_SPEND_GROUP },
    { "day", "DAY", SY_SPEND_TOTAL },
};

/* ------------------------------------------------------------------ */
/* Config and Redis                                                    */

/* Sum the replies (one HGETALL per day) into rep->redis_days; false with
 * rep->cli->err set when Redis answered an error for a day. */
static bool
add_days(struct report *rep, const struct sy_store_val *r, size_t n)
{
    rep->redis_days = sy_xcalloc(rep->ndays, sizeof(*rep->redis_days));
    bool ok = true;
    for (size_t i = 0; i < rep->ndays; i++) {
        sy_spend_totals_init(&rep->redis_days[i]);
        if (i < n &&
            sy_spend_totals_add_reply(&rep->redis_days[i], &r[i]) != SY_OK &&
            ok) {
            snprintf(rep->cli->err, sizeof(rep->cli->err),
                     "Redis at %s answered an error for %s: %.200s", rep->where,
                     rep->day_names[i], r[i].str ? r[i].str : "?");
            ok = false;
        }
    }
    if (!ok) {
        for (size_t i = 0; i < rep->ndays; i++)
            sy_spend_totals_cleanup(&rep->redis_days[i]);
        free(rep->redis_days);
        rep->redis_days = NULL;
    }
    return ok;
}

/* Read the days' hashes into rep->redis_days; false with rep->cli->err
 * set when Redis is not configured or fails. */
static bool
read_redis(struct report *rep)
{
    struct sy_cli *c = rep->cli;
    if (!sy_cli_open_store(c))
        return false;
    struct sy_store_batch b;
    sy_store_batch_init(&b, SY_CLI_OUTPUT_MAX);
    struct sy_arena arena;
    sy_arena_init(&arena, 65536);
    struct sy_store_val *r = NULL;
    bool ok = false;
    enum sy_err e =
        sy_spend_read_days(&b, sy_store_prefix(c->store), rep->from, rep->to);
    if (e != SY_OK)
        snprintf(c->err, sizeof(c->err), "cannot build the query (%s)",
                 sy_err_name(e));
    else if (sy_store_exec(c->store, &b, &arena, &r) != SY_OK)
        sy_cli_store_failed(c);
    else
        ok = add_days(rep, r, b.n);
    sy_arena_cleanup(&arena);
    sy_store_batch_cleanup(&b);
    return ok;
}

/* ------------------------------------------------------------------ */
/* The usage log                                                       */

/* Whether 'r' is the line of the attempt that answered a successful
 * request: the one line the server gives a baseline
 * (core/serve/pipeline_settle.c). The log has one line per provider
 * attempt, and the failed attempts before the answer, though charged,
 * are not what the caller was served. A log written before lines were
 * per attempt (attempt 0) has one line per request. */
static bool
answering_line(const struct sy_usage_record *r)
{
    if (r->status != 200)
        return false;
    if (r->attempt == 0)
        return true;
    return r->outcome != NULL && strcmp(r->outcome, "ok") == 0;
}

/* Add one record of the log to its day: its cost to its deployment,
 * provider, key, team, group and total (every attempt is charged), and
 * on the answering line only the baseline, recomputed from the config
 * (the log does not keep it) as the server computes it: the group's
 * first deployment at the answer's usage. */
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
    if (answering_line(&x)) {
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
                .cache_write_tokens = x.cache_write_tokens,
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
        if (!redis_ok)
            return sy_cli_fail(rep->cli);
    }
    const struct sy_spend_totals *days =
        rep->log_days != NULL ? rep->log_days : rep->redis_days;
    struct sy_spend_totals sum;
    sum_days(days, rep->ndays, &sum);
    struct row *rows;
    size_t n = build_rows(rep, days, &sum, &rows);
    int64_t total = sy_spend_totals_get(&sum, SY_SPEND_TOTAL, "");
    if (json) {
        if (!sy_spendcmd_print_json(rep, rows, n, total, redis_ok))
            rc = 1;
    } else {
        sy_spendcmd_print_text(rep, rows, n, total);
        if (rep->log_days != NULL && redis_ok)
            sy_spendcmd_print_recon(rep);
        else if (rep->log_days != NULL)
            printf("\nno reconciliation: %s\n", rep->redis_error);
    }
    rc |= sy_cli_flush(rep->cli);
    free(rows);
    sy_spend_totals_cleanup(&sum);
    return rc;
}

/* The command line. */
struct spend_args {
    const char *config;
    const char *from;
    const char *to;
    const char *by;
    const char *log_path;
    bool json;
};

/* Parse the options; -1 to go on, else the exit status. */
static int
parse_options(struct spend_args *a, int argc, char **argv)
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
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:f:t:b:l:jh", opts, NULL)) != -1) {
        if (c == 'c') {
            a->config = optarg;
        } else if (c == 'f') {
            a->from = optarg;
        } else if (c == 't') {
            a->to = optarg;
        } else if (c == 'b') {
            a->by = optarg;
        } else if (c == 'l') {
            a->log_path = optarg;
        } else if (c == 'j') {
            a->json = true;
        } else if (c == 'h') {
            fputs(usage_spend, stdout);
            return 0;
        } else {
            fputs(usage_spend, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "switchyard spend: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    return -1;
}

/* --by, --from and --to into the report; -1 when valid, else 2. */
static int
check_args(const struct spend_args *a, struct report *rep)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(bys) && rep->by == NULL; i++)
        if (strcmp(a->by, bys[i].name) == 0)
            rep->by = &bys[i];
    if (rep->by == NULL) {
        fprintf(stderr,
                "switchyard spend: --by takes key, team, deployment, "
                "provider, group or day, not '%s'\n",
                a->by);
        return 2;
    }
    rep->to = sy_spend_day(sy_wall_ms());
    if (a->to != NULL && !sy_spend_day_parse(a->to, &rep->to)) {
        fprintf(stderr,
                "switchyard spend: --to takes a day yyyy-mm-dd, not '%s'\n",
                a->to);
        return 2;
    }
    rep->from = rep->to;
    if (a->from != NULL && !sy_spend_day_parse(a->from, &rep->from)) {
        fprintf(stderr,
                "switchyard spend: --from takes a day yyyy-mm-dd, not '%s'\n",
                a->from);
        return 2;
    }
    if (rep->from > rep->to) {
        fprintf(stderr, "switchyard spend: --from %s is after --to\n", a->from);
        return 2;
    }
    if ((uint64_t)(rep->to - rep->from) >= SY_SPEND_MAX_DAYS) {
        fprintf(stderr, "switchyard spend: at most %u days at a time\n",
                SY_SPEND_MAX_DAYS);
        return 2;
    }
    return -1;
}

int
sy_spend_main(int argc, char **argv)
{
    struct spend_args a = { .by = "group" };
    struct report rep;
    memset(&rep, 0, sizeof(rep));
    int rc = parse_options(&a, argc, argv);
    if (rc < 0)
        rc = check_args(&a, &rep);
    if (rc >= 0)
        return rc;
    struct sy_cli cli;
    if (!sy_cli_load(&cli, "spend", a.config))
        return 1;
    rep.cli = &cli;
    rep.cfg = cli.cfg;
    rep.where = cli.where;
    rep.prefix = cli.prefix;
    rep.redis_error = cli.err;
    rep.ndays = (size_t)(rep.to - rep.from + 1);
    rep.log_path = a.log_path;
    rep.day_names = sy_xcalloc(rep.ndays, sizeof(*rep.day_names));
    for (size_t i = 0; i < rep.ndays; i++)
        sy_spend_day_format(rep.from + (int64_t)i, rep.day_names[i]);
    rc = run(&rep, a.json);
    for (size_t i = 0; rep.redis_days && i < rep.ndays; i++)
        sy_spend_totals_cleanup(&rep.redis_days[i]);
    for (size_t i = 0; rep.log_days && i < rep.ndays; i++)
        sy_spend_totals_cleanup(&rep.log_days[i]);
    free(rep.redis_days);
    free(rep.log_days);
    free(rep.day_names);
    sy_cli_close(&cli);
    return rc;
}
