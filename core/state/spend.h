/*
 * spend.h - the shared side of spend: what requests cost, per UTC day,
 * in Redis hashes "<prefix>spend:<yyyy-mm-dd>" with one integer field
 * of micro-dollars per caller key, team, deployment, provider and group,
 * the day's total, and per group what its first deployment would have
 * charged (the baseline of savings reports). Commands are appended to a store batch (no I/O here);
 * replies are summed over a range of days. The local record of each
 * request is the usage log (usagelog.h); amounts come from cost.h.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_SPEND_H
#define SY_CORE_SPEND_H

#include "base/sy.h"
#include "base/err.h"
#include "base/limits.h"
#include "io/store.h"
#include "io/usagelog.h"

#define SY_SPEND_TTL_S   (400u * 86400u) /* a day's hash lives ~13 months */
#define SY_SPEND_DAY_LEN 10              /* "yyyy-mm-dd" */
#define SY_SPEND_FIELD_MAX \
    512 /* longest field ("team:<name>") written or read */

/* The dimensions of a day's hash, and their field prefixes. */
enum sy_spend_dim {
    SY_SPEND_KEY,   /* "key:<caller key name>" */
    SY_SPEND_TEAM,  /* "team:<team>" */
    SY_SPEND_DEP,   /* "dep:<deployment>" */
    SY_SPEND_PROV,  /* "prov:<provider>" */
    SY_SPEND_TOTAL, /* "total": every request of the day */
    SY_SPEND_GROUP, /* "group:<group>": real cost of the group's traffic */
    SY_SPEND_BASE,  /* "base:<group>": what the group's first deployment
                       would have cost for the same usage */
    SY_SPEND__COUNT
};

/* One summed (dimension, name), e.g. (SY_SPEND_TEAM, "ml"). */
struct sy_spend_entry {
    enum sy_spend_dim dim;
    char *name;        /* owned by the totals; "" for SY_SPEND_TOTAL */
    int64_t micro_usd; /* sum over the days read */
};

/* Sums over days, per dimension and name. Iterate entries[0 .. n). */
struct sy_spend_totals {
    struct sy_spend_entry *entries; /* owned; in order of first sight */
    size_t n;
    size_t cap;
    uint32_t *index;  /* owned; open addressing: entry + 1,
                                       0 = empty */
    size_t index_cap; /* a power of two, > 2 n */
};

/* Days: numbers of days since 1970-01-01 (UTC) */
int64_t sy_spend_day(uint64_t epoch_ms);
void sy_spend_day_format(int64_t day, char out[SY_SPEND_DAY_LEN + 1]);
bool sy_spend_day_parse(const char *s, int64_t *day);
int64_t sy_spend_month_start(int64_t day);

/* Names */
const char *sy_spend_dim_name(enum sy_spend_dim d);
int sy_spend_key(char *out, size_t outlen, const char *prefix, int64_t day);
int sy_spend_field(char *out, size_t outlen, enum sy_spend_dim d,
                   const char *name);

/* Writing (commands appended to a batch) */
struct sy_spend_amount {
    char field[SY_SPEND_FIELD_MAX]; /* "<dim>:<name>" or "total" */
    int64_t amount;                 /* micro-dollars */
};
size_t sy_spend_record_fields(const struct sy_usage_record *r,
                              struct sy_spend_amount out[SY_SPEND__COUNT],
                              bool *ok);
enum sy_err sy_spend_write(struct sy_store_batch *b, const char *prefix,
                           const struct sy_usage_record *r);

/* Reading one field over days (a budget check) */
enum sy_err sy_spend_read_field(struct sy_store_batch *b, const char *prefix,
                                enum sy_spend_dim d, const char *name,
                                int64_t from_day, int64_t to_day);
enum sy_err sy_spend_sum_field(const struct sy_store_val *replies, size_t n,
                               int64_t *out_micro_usd);

/* Reading every field over days (a report) */
enum sy_err sy_spend_read_days(struct sy_store_batch *b, const char *prefix,
                               int64_t from_day, int64_t to_day);
void sy_spend_totals_init(struct sy_spend_totals *t);
void sy_spend_totals_cleanup(struct sy_spend_totals *t);
void sy_spend_totals_add(struct sy_spend_totals *t, enum sy_spend_dim d,
                         const char *name, size_t namelen, int64_t micro_usd);
enum sy_err sy_spend_totals_add_reply(struct sy_spend_totals *t,
                                      const struct sy_store_val *v);
int64_t sy_spend_totals_get(const struct sy_spend_totals *t,
                            enum sy_spend_dim d, const char *name);

/* Reports: the same sums from the usage log, ordering, reconciliation */
void sy_spend_totals_add_record(struct sy_spend_totals *t,
                                const struct sy_usage_record *r);
size_t sy_spend_totals_sorted(const struct sy_spend_totals *t,
                              enum sy_spend_dim d,
                              const struct sy_spend_entry ***out);

/* One (dimension, name) seen in either of two totals (log vs Redis). */
struct sy_spend_diff {
    enum sy_spend_dim dim;
    const char *name; /* borrowed from the totals */
    int64_t a;        /* 0 when absent there */
    int64_t b;
    int64_t diff; /* a - b, saturated */
};
size_t sy_spend_totals_diff(const struct sy_spend_totals *a,
                            const struct sy_spend_totals *b, unsigned dim_mask,
                            struct sy_spend_diff **out);
int64_t sy_spend_sub_sat(int64_t a, int64_t b);

#endif
