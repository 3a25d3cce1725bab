/*
 * spend_int.h - what the two halves of 'switchyard spend' share: the
 * report (spend_cmd.c reads the sources and builds the rows) and its
 * output as tables or JSON (spend_out.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CLI_SPEND_INT_H
#define SY_CLI_SPEND_INT_H

#include "base/sy.h"
#include "cli_common.h"
#include "config/config.h"
#include "state/spend.h"
#include "io/usagelog.h"

/* What --by chose: a dimension of the hashes, or days. */
struct by {
    const char *name;      /* as typed */
    const char *title;     /* column title */
    enum sy_spend_dim dim; /* SY_SPEND_TOTAL for "day" */
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
    uint64_t log_in_range;   /* records of the days asked */
    uint64_t log_no_base;    /* successes whose group is not in the
                                config (no baseline) */
    struct sy_cli *cli;      /* the config and the store */
    const char *where;       /* redis, for messages (cli->where) */
    const char *prefix;      /* the state prefix (cli->prefix) */
    const char *redis_error; /* why Redis was not read (cli->err) */
};

/* The report as tables: the rows and the total, then (with --from-log
 * and Redis read) the reconciliation of the log against Redis. */
void sy_spendcmd_print_text(const struct report *rep, const struct row *rows,
                            size_t n, int64_t total);
void sy_spendcmd_print_recon(const struct report *rep);
/* The report as one JSON object ('recon': Redis was read, so the
 * reconciliation is included). False (and nothing printed) when the
 * document did not fit. */
bool sy_spendcmd_print_json(const struct report *rep, const struct row *rows,
                            size_t n, int64_t total, bool recon);

#endif
