/*
 * spend.c - spend per UTC day in Redis: the commands that add a settled
 * request's cost (integer micro-dollars, from cost.c) to the day's hash,
 * and the readers that sum a range of days, for one field (budgets) or
 * for every field (reports). Commands go into a struct sy_store_batch;
 * the caller runs it with sy_store_exec(). No I/O, no state here.
 *
 *   <prefix>spend:<yyyy-mm-dd>   hash, TTL SY_SPEND_TTL_S (refreshed)
 *       key:<caller key name>    micro-dollars (HINCRBY)
 *       team:<team>
 *       dep:<deployment>
 *       prov:<provider>
 *       total
 *       group:<group>            the group's real cost (as the others)
 *       base:<group>             what the group's first deployment would
 *                                have charged for the same usage
 *
 * A name may contain ':' (the field splits at the first one). Days are
 * UTC calendar days, numbered from 1970-01-01 (base/time.h).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "spend.h"
#include "keys.h"
#include "base/clock.h"
#include "base/mem.h"
#include "base/time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_PER_DAY UINT64_C(86400000)
#define FIELD_MAX  SY_SPEND_FIELD_MAX

/* ------------------------------------------------------------------ */
/* Days                                                                */

/* The UTC day of 'epoch_ms' (wall clock), as days since 1970-01-01. */
int64_t
sy_spend_day(uint64_t epoch_ms)
{
    return (int64_t)(epoch_ms / MS_PER_DAY);
}

/* Write 'day' as "yyyy-mm-dd" (NUL-terminated); days outside years
 * 0000 .. 9999 are clamped to them. */
void
sy_spend_day_format(int64_t day, char out[SY_SPEND_DAY_LEN + 1])
{
    int64_t lo = sy_time_days_from_civil(0, 1, 1);
    int64_t hi = sy_time_days_from_civil(9999, 12, 31);
    int64_t y;
    unsigned m;
    unsigned d;
    sy_time_civil_from_days(day < lo ? lo : day > hi ? hi : day, &y, &m, &d);
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%04" PRId64 "-%02u-%02u", y, m, d);
    memcpy(out, tmp, SY_SPEND_DAY_LEN);
    out[SY_SPEND_DAY_LEN] = '\0';
}

/* Parse "yyyy-mm-dd" (exactly, a real calendar date) into '*day'. */
bool
sy_spend_day_parse(const char *s, int64_t *day)
{
    int64_t ms;
    size_t n = strlen(s);
    if (n != SY_SPEND_DAY_LEN || !sy_time_parse(s, n, SY_TIME_LOOSE, &ms))
        return false;
    *day = ms / SY_TIME_MS_PER_DAY; /* midnight: exact, also before 1970 */
    return true;
}

/* The first day of the month 'day' is in (month-to-date budgets). */
int64_t
sy_spend_month_start(int64_t day)
{
    int64_t y;
    unsigned m;
    unsigned d;
    sy_time_civil_from_days(day, &y, &m, &d);
    return day - (int64_t)(d - 1);
}

/* ------------------------------------------------------------------ */
/* Names                                                               */

/* Field prefixes, by dimension ("total" is the whole field). */
static const char *const dim_names[SY_SPEND__COUNT] = {
    [SY_SPEND_KEY] = "key",     [SY_SPEND_TEAM] = "team",
    [SY_SPEND_DEP] = "dep",     [SY_SPEND_PROV] = "prov",
    [SY_SPEND_TOTAL] = "total", [SY_SPEND_GROUP] = "group",
    [SY_SPEND_BASE] = "base",
};

const char *
sy_spend_dim_name(enum sy_spend_dim d)
{
    return (unsigned)d < SY_SPEND__COUNT ? dim_names[d] : "?";
}

/* "<prefix>spend:<yyyy-mm-dd>" (sy_key_spend) into 'out'; snprintf's
 * return value. */
int
sy_spend_key(char *out, size_t outlen, const char *prefix, int64_t day)
{
    char ds[SY_SPEND_DAY_LEN + 1];
    sy_spend_day_format(day, ds);
    return sy_key_spend(out, outlen, prefix, ds);
}

/* "<dim>:<name>" ("total" for SY_SPEND_TOTAL) into 'out'; snprintf's
 * return value. */
int
sy_spend_field(char *out, size_t outlen, enum sy_spend_dim d, const char *name)
{
    if (d == SY_SPEND_TOTAL)
        return snprintf(out, outlen, "total");
    return snprintf(out, outlen, "%s:%s", sy_spend_dim_name(d), name);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

/* The fields one record adds to, in the order written, with their
 * amounts: the cost to key_name, team, deployment, provider (each when
 * set: NULL or "" are left out), to "total" and to the group; the
 * baseline to "base:<group>". Fields whose amount is 0 are left out.
 * Returns the count; false in '*ok' when a field would exceed
 * SY_SPEND_FIELD_MAX (the record is then refused as a whole). */
size_t
sy_spend_record_fields(const struct sy_usage_record *r,
                       struct sy_spend_amount out[SY_SPEND__COUNT], bool *ok)
{
    static const enum sy_spend_dim order[SY_SPEND__COUNT] = {
        SY_SPEND_KEY,   SY_SPEND_TEAM,  SY_SPEND_DEP,  SY_SPEND_PROV,
        SY_SPEND_TOTAL, SY_SPEND_GROUP, SY_SPEND_BASE,
    };
    const char *names[SY_SPEND__COUNT] = {
        [SY_SPEND_KEY] = r->key_name,   [SY_SPEND_TEAM] = r->team,
        [SY_SPEND_DEP] = r->deployment, [SY_SPEND_PROV] = r->provider,
        [SY_SPEND_TOTAL] = "",          [SY_SPEND_GROUP] = r->group,
        [SY_SPEND_BASE] = r->group,
    };
    size_t n = 0;
    *ok = true;
    for (unsigned i = 0; i < SY_SPEND__COUNT; i++) {
        enum sy_spend_dim d = order[i];
        int64_t amount =
            d == SY_SPEND_BASE ? r->baseline_micro_usd : r->cost_micro_usd;
        if (amount == 0 || names[d] == NULL ||
            (names[d][0] == '\0' && d != SY_SPEND_TOTAL))
            continue;
        int fn =
            sy_spend_field(out[n].field, sizeof(out[n].field), d, names[d]);
        if (fn < 0 || (size_t)fn >= sizeof(out[n].field)) {
            *ok = false;
            return 0;
        }
        out[n++].amount = amount;
    }
    return n;
}

/* Append to 'b' the commands that add 'r->cost_micro_usd' to the hash of
 * the day of 'r->time_ms' (0 = now): one HINCRBY per dimension whose
 * name is set (key_name, team, deployment, provider, group; NULL or ""
 * are left out) and one for "total", one HINCRBY of
 * 'r->baseline_micro_usd' to "base:<group>", then EXPIRE SY_SPEND_TTL_S.
 * An amount of 0 is not written; a record without any appends nothing.
 * All or nothing: SY_ETOOBIG (batch unchanged) when it does not fit,
 * SY_EBADREQ when a key or field would exceed 512 bytes. Pipelined
 * increments are not transactional, and one sent again after a lost
 * reply counts twice: the state thread does not use this, but sends
 * its spend through spend_queue.c's script, which applies once. */
enum sy_err
sy_spend_write(struct sy_store_batch *b, const char *prefix,
               const struct sy_usage_record *r)
{
    if (r->cost_micro_usd == 0 && r->baseline_micro_usd == 0)
        return SY_OK;
    uint64_t ms = r->time_ms != 0 ? r->time_ms : sy_wall_ms();
    char key[FIELD_MAX];
    int kn = sy_spend_key(key, sizeof(key), prefix, sy_spend_day(ms));
    if (kn < 0 || (size_t)kn >= sizeof(key))
        return SY_EBADREQ;
    struct sy_spend_amount *f = sy_xcalloc(SY_SPEND__COUNT, sizeof(*f));
    bool ok;
    size_t nf = sy_spend_record_fields(r, f, &ok);
    if (!ok) {
        free(f);
        return SY_EBADREQ;
    }
    size_t mark = b->n;
    enum sy_err e = SY_OK;
    for (size_t i = 0; i < nf && e == SY_OK; i++) {
        char amount[24];
        snprintf(amount, sizeof(amount), "%" PRId64, f[i].amount);
        e = sy_store_batch_addl(b, "HINCRBY", key, f[i].field, amount, NULL);
    }
    free(f);
    if (e == SY_OK && nf > 0) {
        char ttl[16];
        snprintf(ttl, sizeof(ttl), "%u", SY_SPEND_TTL_S);
        e = sy_store_batch_addl(b, "EXPIRE", key, ttl, NULL);
    }
    if (e != SY_OK)
        sy_store_batch_truncate(b, mark);
    return e;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

static bool
range_ok(int64_t from_day, int64_t to_day)
{
    return from_day <= to_day &&
           (uint64_t)(to_day - from_day) < SY_SPEND_MAX_DAYS;
}

/* Append to 'b' one HGET of field ('d', 'name') per day from 'from_day'
 * to 'to_day' (inclusive, at most SY_SPEND_MAX_DAYS), oldest first; sum
 * the replies with sy_spend_sum_field(). All or nothing; SY_EBADREQ for
 * a bad range or an over-long name. */
enum sy_err
sy_spend_read_field(struct sy_store_batch *b, const char *prefix,
                    enum sy_spend_dim d, const char *name, int64_t from_day,
                    int64_t to_day)
{
    char field[FIELD_MAX];
    int fn = sy_spend_field(field, sizeof(field), d, name);
    if (!range_ok(from_day, to_day) || fn < 0 || (size_t)fn >= sizeof(field))
        return SY_EBADREQ;
    size_t mark = b->n;
    for (int64_t day = from_day; day <= to_day; day++) {
        char key[FIELD_MAX];
        int kn = sy_spend_key(key, sizeof(key), prefix, day);
        enum sy_err e = SY_EBADREQ;
        if (kn >= 0 && (size_t)kn < sizeof(key))
            e = sy_store_batch_addl(b, "HGET", key, field, NULL);
        if (e != SY_OK) {
            sy_store_batch_truncate(b, mark);
            return e;
        }
    }
    return SY_OK;
}

/* A decimal int64 in a reply string ("-12", "4720"). */
static bool
parse_i64(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    char buf[24];
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno != 0 || *end != '\0' ||
        (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9')))
        return false;
    *out = v;
    return true;
}

static int64_t
add_sat(int64_t a, int64_t b)
{
    int64_t s;
    if (__builtin_add_overflow(a, b, &s))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return s;
}

/* Sum the 'n' replies of sy_spend_read_field() into '*out_micro_usd'
 * (nil, a day without that field, counts 0). SY_ESTORE when a reply is
 * an error or not a number ('*out_micro_usd' is then 0). */
enum sy_err
sy_spend_sum_field(const struct sy_store_val *replies, size_t n,
                   int64_t *out_micro_usd)
{
    int64_t sum = 0;
    *out_micro_usd = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sy_store_val *v = &replies[i];
        int64_t x;
        if (v->type == SY_STORE_NIL)
            continue;
        if (v->type == SY_STORE_INT)
            x = v->i;
        else if (v->type != SY_STORE_STR || !parse_i64(v->str, v->len, &x))
            return SY_ESTORE;
        sum = add_sat(sum, x);
    }
    *out_micro_usd = sum;
    return SY_OK;
}

/* Append to 'b' one HGETALL per day from 'from_day' to 'to_day'
 * (inclusive, at most SY_SPEND_MAX_DAYS), oldest first; add each reply
 * to a struct sy_spend_totals with sy_spend_totals_add_reply(). All or
 * nothing; SY_EBADREQ for a bad range. */
enum sy_err
sy_spend_read_days(struct sy_store_batch *b, const char *prefix,
                   int64_t from_day, int64_t to_day)
{
    if (!range_ok(from_day, to_day))
        return SY_EBADREQ;
    size_t mark = b->n;
    for (int64_t day = from_day; day <= to_day; day++) {
        char key[FIELD_MAX];
        int kn = sy_spend_key(key, sizeof(key), prefix, day);
        enum sy_err e = SY_EBADREQ;
        if (kn >= 0 && (size_t)kn < sizeof(key))
            e = sy_store_batch_addl(b, "HGETALL", key, NULL);
        if (e != SY_OK) {
            sy_store_batch_truncate(b, mark);
            return e;
        }
    }
    return SY_OK;
}

/* ------------------------------------------------------------------ */
/* Totals: (dimension, name) -> sum, a small open-addressing table     */

void
sy_spend_totals_init(struct sy_spend_totals *t)
{
    memset(t, 0, sizeof(*t));
}

void
sy_spend_totals_cleanup(struct sy_spend_totals *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->entries[i].name);
    free(t->entries);
    free(t->index);
    memset(t, 0, sizeof(*t));
}

/* FNV-1a of the dimension and the name. */
static uint32_t
totals_hash(enum sy_spend_dim d, const char *name, size_t len)
{
    uint32_t h = 2166136261u;
    h = (h ^ (uint32_t)d) * 16777619u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 16777619u;
    return h;
}

/* The slot of (d, name) in the index: its entry or the empty slot where
 * it would go. The index is never full (load <= 1/2). */
static size_t
totals_slot(const struct sy_spend_totals *t, enum sy_spend_dim d,
            const char *name, size_t len)
{
    size_t mask = t->index_cap - 1;
    size_t i = totals_hash(d, name, len) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t at = t->index[i];
        if (at == 0)
            return i;
        const struct sy_spend_entry *e = &t->entries[at - 1];
        if (e->dim == d && strlen(e->name) == len &&
            memcmp(e->name, name, len) == 0)
            return i;
    }
}

static void
totals_grow(struct sy_spend_totals *t)
{
    size_t cap = t->index_cap == 0 ? 64 : t->index_cap * 2;
    free(t->index);
    t->index = sy_xcalloc(cap, sizeof(*t->index));
    t->index_cap = cap;
    for (size_t k = 0; k < t->n; k++) {
        const struct sy_spend_entry *e = &t->entries[k];
        size_t i = totals_slot(t, e->dim, e->name, strlen(e->name));
        t->index[i] = (uint32_t)(k + 1);
    }
}

/* Add 'micro_usd' to (d, name) ('namelen' bytes, need not be
 * NUL-terminated), creating the entry at 0 first. Sums saturate. */
void
sy_spend_totals_add(struct sy_spend_totals *t, enum sy_spend_dim d,
                    const char *name, size_t namelen, int64_t micro_usd)
{
    if (2 * (t->n + 1) > t->index_cap)
        totals_grow(t);
    size_t i = totals_slot(t, d, name, namelen);
    if (t->index[i] == 0) {
        if (t->n == t->cap) {
            t->cap = t->cap == 0 ? 32 : t->cap * 2;
            t->entries = sy_xrealloc(t->entries, t->cap * sizeof(*t->entries));
        }
        struct sy_spend_entry *e = &t->entries[t->n];
        e->dim = d;
        e->name = sy_xstrndup(name, namelen);
        e->micro_usd = 0;
        t->index[i] = (uint32_t)(++t->n);
    }
    struct sy_spend_entry *e = &t->entries[t->index[i] - 1];
    e->micro_usd = add_sat(e->micro_usd, micro_usd);
}

/* Split a field into its dimension and name; false when unknown. */
static bool
parse_field(const char *f, size_t len, enum sy_spend_dim *d, const char **name,
            size_t *namelen)
{
    if (len == 5 && memcmp(f, "total", 5) == 0) {
        *d = SY_SPEND_TOTAL;
        *name = f + len;
        *namelen = 0;
        return true;
    }
    const char *colon = memchr(f, ':', len);
    if (colon == NULL)
        return false;
    size_t plen = (size_t)(colon - f);
    for (unsigned k = 0; k < SY_SPEND__COUNT; k++) {
        if (k != SY_SPEND_TOTAL && strlen(dim_names[k]) == plen &&
            memcmp(f, dim_names[k], plen) == 0) {
            *d = (enum sy_spend_dim)k;
            *name = colon + 1;
            *namelen = len - plen - 1;
            return true;
        }
    }
    return false;
}

/* Add one HGETALL reply of a day's hash to 't' (an empty array: a day
 * without spend). Unknown fields and values that are not integers are
 * skipped (a later version may add some); a reply that is not an array
 * (an error) is SY_ESTORE and adds nothing. */
enum sy_err
sy_spend_totals_add_reply(struct sy_spend_totals *t,
                          const struct sy_store_val *v)
{
    if (v == NULL || v->type != SY_STORE_ARRAY)
        return SY_ESTORE;
    for (size_t i = 0; i + 1 < v->n; i += 2) {
        const struct sy_store_val *f = &v->elem[i];
        const struct sy_store_val *x = &v->elem[i + 1];
        enum sy_spend_dim d;
        const char *name;
        size_t namelen;
        int64_t amount;
        if (f->type != SY_STORE_STR || x->type != SY_STORE_STR ||
            !parse_field(f->str, f->len, &d, &name, &namelen) ||
            !parse_i64(x->str, x->len, &amount) ||
            memchr(name, '\0', namelen) != NULL)
            continue;
        sy_spend_totals_add(t, d, name, namelen, amount);
    }
    return SY_OK;
}

/* The sum for (d, name), 0 when never seen. */
int64_t
sy_spend_totals_get(const struct sy_spend_totals *t, enum sy_spend_dim d,
                    const char *name)
{
    if (t->index_cap == 0)
        return 0;
    if (d == SY_SPEND_TOTAL)
        name = "";
    size_t i = totals_slot(t, d, name, strlen(name));
    return t->index[i] == 0 ? 0 : t->entries[t->index[i] - 1].micro_usd;
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */

/* Add one usage-log record to 't' exactly as sy_spend_write() would add
 * it to Redis (the same fields, amounts and refusals), so that sums of
 * the log and of Redis compare field by field. The day is the caller's
 * business (one totals per day). */
void
sy_spend_totals_add_record(struct sy_spend_totals *t,
                           const struct sy_usage_record *r)
{
    struct sy_spend_amount *f = sy_xcalloc(SY_SPEND__COUNT, sizeof(*f));
    bool ok;
    size_t nf = sy_spend_record_fields(r, f, &ok);
    for (size_t i = 0; i < nf; i++) {
        enum sy_spend_dim d;
        const char *name;
        size_t namelen;
        if (parse_field(f[i].field, strlen(f[i].field), &d, &name, &namelen))
            sy_spend_totals_add(t, d, name, namelen, f[i].amount);
    }
    free(f);
}

/* a - b, saturated. */
int64_t
sy_spend_sub_sat(int64_t a, int64_t b)
{
    int64_t s;
    if (__builtin_sub_overflow(a, b, &s))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return s;
}

static int
cmp_amount_desc(const void *pa, const void *pb)
{
    const struct sy_spend_entry *a = *(const struct sy_spend_entry *const *)pa;
    const struct sy_spend_entry *b = *(const struct sy_spend_entry *const *)pb;
    if (a->micro_usd != b->micro_usd)
        return a->micro_usd > b->micro_usd ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* The entries of dimension 'd' in '*out' (allocated; free() it, even
 * when empty), the largest amount first, then by name. Returns how many.
 * The entries stay owned by 't'. */
size_t
sy_spend_totals_sorted(const struct sy_spend_totals *t, enum sy_spend_dim d,
                       const struct sy_spend_entry ***out)
{
    const struct sy_spend_entry **v = sy_xcalloc(t->n + 1, sizeof(*v));
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->entries[i].dim == d)
            v[n++] = &t->entries[i];
    qsort(v, n, sizeof(*v), cmp_amount_desc);
    *out = v;
    return n;
}

static int
cmp_diff(const void *pa, const void *pb)
{
    const struct sy_spend_diff *a = pa;
    const struct sy_spend_diff *b = pb;
    if (a->dim != b->dim)
        return a->dim < b->dim ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Every (dimension, name) of 'a' or 'b' whose dimension is in 'dim_mask'
 * (bit 1u << dim), with both sums and a - b, in '*out' (allocated; free()
 * it), ordered by dimension then name. Returns how many. */
size_t
sy_spend_totals_diff(const struct sy_spend_totals *a,
                     const struct sy_spend_totals *b, unsigned dim_mask,
                     struct sy_spend_diff **out)
{
    struct sy_spend_diff *v = sy_xcalloc(a->n + b->n + 1, sizeof(*v));
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        const struct sy_spend_totals *t = pass == 0 ? a : b;
        for (size_t i = 0; i < t->n; i++) {
            const struct sy_spend_entry *e = &t->entries[i];
            if ((dim_mask & (1u << e->dim)) == 0)
                continue;
            if (pass == 1 && a->index_cap != 0 &&
                a->index[totals_slot(a, e->dim, e->name, strlen(e->name))] != 0)
                continue; /* already listed from 'a' */
            struct sy_spend_diff *df = &v[n++];
            df->dim = e->dim;
            df->name = e->name;
            df->a = pass == 0 ? e->micro_usd : 0;
            df->b = pass == 0 ? sy_spend_totals_get(b, e->dim, e->name)
                              : e->micro_usd;
            df->diff = sy_spend_sub_sat(df->a, df->b);
        }
    }
    qsort(v, n, sizeof(*v), cmp_diff);
    *out = v;
    return n;
}
