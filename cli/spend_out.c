/*
 * spend_out.c - the output of 'switchyard spend' (see spend_int.h): the
 * report as tables, the reconciliation of the usage log against Redis,
 * or everything as one JSON object. Amounts are integer micro-dollars,
 * printed in USD by sy_cost_format_usd().
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "spend_int.h"
#include "base/buf.h"
#include "config/cost.h"
#include "base/mem.h"
#include "base/limits.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
            printf("note: %" PRIu64 " successful requests name a group that "
                   "is not in the config: no baseline for them\n",
                   rep->log_no_base);
    } else {
        printf("source: redis %s, prefix \"%s\"\n", rep->where, rep->prefix);
    }
}

void
sy_spendcmd_print_text(const struct report *rep, const struct row *rows,
                       size_t n, int64_t total)
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

void
sy_spendcmd_print_recon(const struct report *rep)
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
json_source(struct sy_buf *b, const struct report *rep)
{
    if (rep->log_days != NULL) {
        sy_buf_puts(b, "{\"type\":\"usage_log\",\"path\":");
        sy_buf_json_str(b, rep->log_path, strlen(rep->log_path));
        sy_buf_printf(
            b,
            ",\"records_in_range\":%" PRIu64 ",\"records\":%" PRIu64
            ",\"bad_lines\":%" PRIu64
            ",\"truncated_tail\":%s,\"no_baseline\":%" PRIu64 "}",
            rep->log_in_range, rep->log_stats.records, rep->log_stats.bad_lines,
            rep->log_stats.truncated_tail ? "true" : "false", rep->log_no_base);
    } else {
        sy_buf_puts(b, "{\"type\":\"redis\",\"address\":");
        sy_buf_json_str(b, rep->where, strlen(rep->where));
        sy_buf_puts(b, ",\"prefix\":");
        sy_buf_json_str(b, rep->prefix, strlen(rep->prefix));
        sy_buf_puts(b, "}");
    }
}

/* The reconciliation (with --from-log): per day and field, the log,
 * Redis and the difference; or why Redis could not be read. */
static void
json_recon(struct sy_buf *b, const struct report *rep, bool recon)
{
    sy_buf_puts(b, ",\"reconciliation\":");
    if (!recon) {
        sy_buf_puts(b, "{\"redis\":null,\"error\":");
        sy_buf_json_str(b, rep->redis_error, strlen(rep->redis_error));
        sy_buf_puts(b, "}");
    } else {
        sy_buf_puts(b, "{\"redis\":");
        sy_buf_json_str(b, rep->where, strlen(rep->where));
        sy_buf_puts(b, ",\"rows\":[");
        unsigned mask = recon_mask(rep);
        size_t rows_out = 0;
        size_t differ = 0;
        for (size_t i = 0; i < rep->ndays; i++) {
            struct sy_spend_diff *per;
            size_t cnt = sy_spend_totals_diff(&rep->log_days[i],
                                              &rep->redis_days[i], mask, &per);
            for (size_t k = 0; k < cnt; k++) {
                char f[600];
                field_name(&per[k], f, sizeof(f));
                sy_buf_printf(b,
                              "%s{\"day\":\"%s\",\"dim\":\"%s\","
                              "\"name\":",
                              rows_out ? "," : "", rep->day_names[i],
                              sy_spend_dim_name(per[k].dim));
                sy_buf_json_str(b, per[k].name, strlen(per[k].name));
                sy_buf_puts(b, ",\"field\":");
                sy_buf_json_str(b, f, strlen(f));
                sy_buf_puts(b, ",");
                json_usd(b, "log", per[k].a);
                sy_buf_puts(b, ",");
                json_usd(b, "redis", per[k].b);
                sy_buf_puts(b, ",");
                json_usd(b, "diff", per[k].diff);
                sy_buf_puts(b, "}");
                rows_out++;
                differ += per[k].diff != 0;
            }
            free(per);
        }
        sy_buf_printf(b, "],\"rows_differing\":%zu}", differ);
    }
}

bool
sy_spendcmd_print_json(const struct report *rep, const struct row *rows,
                       size_t n, int64_t total, bool recon)
{
    struct sy_buf b;
    sy_buf_init(&b, SY_CLI_SPEND_MAX);
    char d0[SY_SPEND_DAY_LEN + 1];
    char d1[SY_SPEND_DAY_LEN + 1];
    sy_spend_day_format(rep->from, d0);
    sy_spend_day_format(rep->to, d1);
    sy_buf_printf(&b,
                  "{\"from\":\"%s\",\"to\":\"%s\",\"by\":\"%s\","
                  "\"source\":",
                  d0, d1, rep->by->name);
    json_source(&b, rep);
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
    if (rep->log_days != NULL)
        json_recon(&b, rep, recon);
    sy_buf_puts(&b, "}\n");
    bool ok = !sy_buf_failed(&b);
    if (ok)
        fputs(sy_buf_cstr(&b), stdout);
    else
        fprintf(stderr,
                "switchyard spend: the report is larger than %zu "
                "bytes\n",
                b.max);
    sy_buf_free(&b);
    return ok;
}
