/*
 * latency.c - log-scaled latency histograms in time slices: bucketing,
 * quantiles, the in-memory window, and the encoding of slices as Redis
 * hashes (commands appended to a store batch; no I/O here).
 *
 * Bucket scheme. A value v (microseconds, clamped to 2^32 - 1) below 8
 * has its own bucket. Above, with e = floor(log2 v), the power of two
 * [2^e, 2^(e+1)) is cut into 8 buckets of width 2^(e-3):
 *     bucket(v) = 8 * (e - 2) + ((v >> (e - 3)) & 7)
 * which gives 240 buckets for 0 .. 2^32 - 1. A bucket is reported as its
 * midpoint; since every value in a bucket is at least 8 widths, the
 * midpoint is within width/2 <= v/16 of it: a quantile is off by at most
 * 6.25 % of the true sample of that rank (merging slices adds no error:
 * counts add exactly).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "latency.h"
#include "keys.h"
#include "base/mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Buckets                                                             */

/* The bucket of 'value_us' (see the scheme above). */
unsigned
sy_latency_bucket(uint64_t value_us)
{
    uint64_t v = SY_MIN(value_us, SY_LATENCY_MAX_US);
    if (v < 8)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    return 8u * (e - 2u) + (unsigned)((v >> (e - 3u)) & 7u);
}

/* The smallest value of 'bucket'. */
uint64_t
sy_latency_bucket_low(unsigned bucket)
{
    if (bucket < 8)
        return bucket;
    unsigned e = bucket / 8u + 2u;
    return (uint64_t)(8u + bucket % 8u) << (e - 3u);
}

/* The value reported for 'bucket': its midpoint. */
uint64_t
sy_latency_bucket_mid(unsigned bucket)
{
    if (bucket < 16)
        return sy_latency_bucket_low(bucket);
    unsigned e = bucket / 8u + 2u;
    uint64_t width = UINT64_C(1) << (e - 3u);
    return sy_latency_bucket_low(bucket) + width / 2u;
}

const char *
sy_latency_metric_name(enum sy_latency_metric m)
{
    static const char *const names[SY_LATENCY__COUNT] = { "total", "ttft",
                                                          "tpot" };
    return (unsigned)m < SY_LATENCY__COUNT ? names[m] : "?";
}

/* Time per output token after the first one, so long and short answers
 * compare fairly; 0 (no sample) with fewer than two tokens. */
uint64_t
sy_latency_tpot_us(uint64_t total_us, uint64_t ttft_us, uint64_t output_tokens)
{
    if (output_tokens < 2 || ttft_us > total_us)
        return 0;
    return (total_us - ttft_us) / (output_tokens - 1);
}

/* ------------------------------------------------------------------ */
/* Histograms                                                          */

void
sy_latency_hist_clear(struct sy_latency_hist *h)
{
    memset(h, 0, sizeof(*h));
}

static void
add_count(struct sy_latency_hist *h, unsigned bucket, uint64_t n)
{
    uint64_t c = (uint64_t)h->counts[bucket] + n;
    h->counts[bucket] = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
    h->total = h->total + n < h->total ? UINT64_MAX : h->total + n;
}

/* Count 'n' samples of 'value_us'. */
void
sy_latency_hist_add(struct sy_latency_hist *h, uint64_t value_us, uint64_t n)
{
    add_count(h, sy_latency_bucket(value_us), n);
}

void
sy_latency_hist_merge(struct sy_latency_hist *into,
                      const struct sy_latency_hist *from)
{
    if (from->total == 0)
        return;
    for (unsigned i = 0; i < SY_LATENCY_BUCKETS; i++) {
        if (from->counts[i] != 0)
            add_count(into, i, from->counts[i]);
    }
}

/* The sample of 'rank' (1-based; at most the count) among those of 'h',
 * reported as its bucket's midpoint. */
static uint64_t
value_at_rank(const struct sy_latency_hist *h, uint64_t rank)
{
    uint64_t seen = 0;
    for (unsigned i = 0; i < SY_LATENCY_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            return sy_latency_bucket_mid(i);
    }
    return sy_latency_bucket_mid(SY_LATENCY_BUCKETS - 1);
}

/* The rank of quantile 'permille' among 'n' samples: ceil(n * q), at
 * least 1; n < 2^40 so this cannot wrap. */
static uint64_t
quantile_rank(uint64_t n, unsigned permille)
{
    if (permille > 1000)
        permille = 1000;
    uint64_t rank = (n * permille + 999u) / 1000u;
    return rank > 0 ? rank : 1;
}

/* The value below which 'permille'/1000 of the samples lie (the sample of
 * rank ceil(n * q), reported as its bucket's midpoint); 0 when empty. */
uint64_t
sy_latency_hist_quantile(const struct sy_latency_hist *h, unsigned permille)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < SY_LATENCY_BUCKETS; i++)
        n += h->counts[i];
    if (n == 0)
        return 0;
    return value_at_rank(h, quantile_rank(n, permille));
}

/* The quantile as a threshold may judge it: never closer to the top than
 * the third-slowest sample. Below 200 samples the p99 is the slowest one
 * or the one before it, and one slow answer of a deployment whose true
 * p99 is within the threshold would put it over (at 86 samples, one in
 * two such windows holds one). A quantile read here is over a threshold
 * only when three samples are. 0 when empty. */
uint64_t
sy_latency_hist_quantile_held(const struct sy_latency_hist *h,
                              unsigned permille)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < SY_LATENCY_BUCKETS; i++)
        n += h->counts[i];
    if (n == 0)
        return 0;
    uint64_t rank = quantile_rank(n, permille);
    if (n >= 3 && rank > n - 2)
        rank = n - 2;
    else if (n < 3)
        rank = 1;
    return value_at_rank(h, rank);
}

uint64_t
sy_latency_hist_draw_above(const struct sy_latency_hist *h, uint64_t above_us,
                           uint32_t rnd)
{
    unsigned b0 = sy_latency_bucket(above_us);
    uint64_t n = 0;
    for (unsigned i = b0 + 1; i < SY_LATENCY_BUCKETS; i++)
        n += h->counts[i];
    if (n == 0)
        return above_us;
    uint64_t k = rnd % n;
    for (unsigned i = b0 + 1; i < SY_LATENCY_BUCKETS; i++) {
        if (k < h->counts[i])
            return SY_MAX(sy_latency_bucket_mid(i), above_us);
        k -= h->counts[i];
    }
    return above_us;
}

void
sy_latency_hist_stats(const struct sy_latency_hist *h,
                      struct sy_latency_stats *out)
{
    out->count = h->total;
    out->p50_us = sy_latency_hist_quantile(h, 500);
    out->p95_us = sy_latency_hist_quantile(h, 950);
    out->p99_us = sy_latency_hist_quantile(h, 990);
    out->p95_held_us = sy_latency_hist_quantile_held(h, 950);
    out->p99_held_us = sy_latency_hist_quantile_held(h, 990);
}

/* ------------------------------------------------------------------ */
/* Slices and the in-memory window                                     */

uint64_t
sy_latency_slice_id(uint64_t now_ms, uint32_t slice_ms)
{
    return now_ms / (slice_ms > 0 ? slice_ms : 1);
}

void
sy_latency_slice_init(struct sy_latency_slice *sl, uint64_t id)
{
    memset(sl, 0, sizeof(*sl));
    sl->id = id;
}

bool
sy_latency_slice_is_empty(const struct sy_latency_slice *sl)
{
    for (unsigned m = 0; m < SY_LATENCY__COUNT; m++) {
        if (sl->h[m].total != 0)
            return false;
    }
    return true;
}

/* A window of slices of 'slice_ms' covering at least 'window_ms' (the
 * current, partial slice included). Free with
 * sy_latency_window_cleanup(). */
void
sy_latency_window_init(struct sy_latency_window *w, uint32_t slice_ms,
                       uint32_t window_ms)
{
    w->slice_ms = slice_ms > 0 ? slice_ms : 1;
    w->nslices = (unsigned)((window_ms + w->slice_ms - 1) / w->slice_ms);
    if (w->nslices == 0)
        w->nslices = 1;
    w->ring = sy_xcalloc(w->nslices, sizeof(*w->ring));
}

void
sy_latency_window_cleanup(struct sy_latency_window *w)
{
    if (w == NULL)
        return;
    free(w->ring);
    w->ring = NULL;
    w->nslices = 0;
}

/* Count one sample of metric 'm' at 'now_ms'. */
void
sy_latency_window_add(struct sy_latency_window *w, uint64_t now_ms,
                      enum sy_latency_metric m, uint64_t value_us)
{
    uint64_t id = sy_latency_slice_id(now_ms, w->slice_ms);
    struct sy_latency_slice *sl = &w->ring[id % w->nslices];
    if (sl->id != id)
        sy_latency_slice_init(sl, id);
    sy_latency_hist_add(&sl->h[m], value_us, 1);
}

/* Merge the slices of metric 'm' still in the window at 'now_ms' into
 * 'out' (cleared first). */
void
sy_latency_window_merge(const struct sy_latency_window *w, uint64_t now_ms,
                        enum sy_latency_metric m, struct sy_latency_hist *out)
{
    uint64_t cur = sy_latency_slice_id(now_ms, w->slice_ms);
    sy_latency_hist_clear(out);
    for (unsigned i = 0; i < w->nslices; i++) {
        const struct sy_latency_slice *sl = &w->ring[i];
        if (sl->id <= cur && cur - sl->id < w->nslices)
            sy_latency_hist_merge(out, &sl->h[m]);
    }
}

uint64_t
sy_latency_window_draw_above(const struct sy_latency_window *w, uint64_t now_ms,
                             enum sy_latency_metric m, uint64_t above_us,
                             uint32_t rnd)
{
    struct sy_latency_hist h;
    sy_latency_window_merge(w, now_ms, m, &h);
    return sy_latency_hist_draw_above(&h, above_us, rnd);
}

/* Merge the last 'n' slices of metric 'm' at 'now_ms' (the current one
 * and the n - 1 before it) into 'out' (cleared first). */
void
sy_latency_window_merge_last(const struct sy_latency_window *w, uint64_t now_ms,
                             enum sy_latency_metric m, unsigned n,
                             struct sy_latency_hist *out)
{
    uint64_t cur = sy_latency_slice_id(now_ms, w->slice_ms);
    sy_latency_hist_clear(out);
    for (unsigned i = 0; i < w->nslices; i++) {
        const struct sy_latency_slice *sl = &w->ring[i];
        if (sl->id <= cur && cur - sl->id < SY_MIN(n, w->nslices))
            sy_latency_hist_merge(out, &sl->h[m]);
    }
}

/* ------------------------------------------------------------------ */
/* Redis encoding                                                      */

/* The key of one slice (sy_key_latency): "<prefix>lat1:{<deployment>}:
 * <metric>:<id>" (the braces keep a deployment's keys in one Redis
 * Cluster slot). Returns
 * what snprintf returns: the length, truncated when >= 'outlen'. */
int
sy_latency_key(char *out, size_t outlen, const char *prefix,
               const char *deployment, enum sy_latency_metric m,
               uint64_t slice_id)
{
    return sy_key_latency(out, outlen, prefix, deployment,
                          sy_latency_metric_name(m), slice_id);
}

/* How long a slice key must live: the window plus one slice of margin
 * for clock differences between hosts (refreshed at every write). */
uint32_t
sy_latency_ttl_ms(uint32_t slice_ms, unsigned nslices)
{
    uint64_t ttl = ((uint64_t)nslices + 1u) * slice_ms;
    return ttl > UINT32_MAX ? UINT32_MAX : (uint32_t)ttl;
}

/* Append to 'b' the commands that add slice 'sl' of 'deployment' to
 * Redis: per metric with samples, one HINCRBY per non-empty bucket (field
 * = bucket number, value = count) and a PEXPIRE of 'ttl_ms'. All or
 * nothing: SY_ETOOBIG (batch unchanged) when it does not fit,
 * SY_EBADREQ when the key would be too long. */
enum sy_err
sy_latency_write(struct sy_store_batch *b, const char *prefix,
                 const char *deployment, const struct sy_latency_slice *sl,
                 uint32_t ttl_ms)
{
    size_t mark = b->n;
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%" PRIu32, ttl_ms);
    for (unsigned m = 0; m < SY_LATENCY__COUNT; m++) {
        const struct sy_latency_hist *h = &sl->h[m];
        if (h->total == 0)
            continue;
        char key[512];
        int n = sy_latency_key(key, sizeof(key), prefix, deployment,
                               (enum sy_latency_metric)m, sl->id);
        if (n < 0 || (size_t)n >= sizeof(key)) {
            sy_store_batch_truncate(b, mark);
            return SY_EBADREQ;
        }
        for (unsigned i = 0; i < SY_LATENCY_BUCKETS; i++) {
            if (h->counts[i] == 0)
                continue;
            char field[8];
            char count[16];
            snprintf(field, sizeof(field), "%u", i);
            snprintf(count, sizeof(count), "%" PRIu32, h->counts[i]);
            enum sy_err e =
                sy_store_batch_addl(b, "HINCRBY", key, field, count, NULL);
            if (e != SY_OK) {
                sy_store_batch_truncate(b, mark);
                return e;
            }
        }
        enum sy_err e = sy_store_batch_addl(b, "PEXPIRE", key, ttl, NULL);
        if (e != SY_OK) {
            sy_store_batch_truncate(b, mark);
            return e;
        }
    }
    return SY_OK;
}

/* Append to 'b' one HGETALL per slice of metric 'm' of 'deployment' in
 * the window at 'now_ms' ('nslices' of 'slice_ms', newest first); merge
 * the replies with sy_latency_merge_reply(). All or nothing, as
 * sy_latency_write(). */
enum sy_err
sy_latency_read(struct sy_store_batch *b, const char *prefix,
                const char *deployment, enum sy_latency_metric m,
                uint64_t now_ms, uint32_t slice_ms, unsigned nslices)
{
    size_t mark = b->n;
    uint64_t cur = sy_latency_slice_id(now_ms, slice_ms);
    for (unsigned k = 0; k < nslices && k <= cur; k++) {
        char key[512];
        int n =
            sy_latency_key(key, sizeof(key), prefix, deployment, m, cur - k);
        enum sy_err e = SY_EBADREQ;
        if (n >= 0 && (size_t)n < sizeof(key))
            e = sy_store_batch_addl(b, "HGETALL", key, NULL);
        if (e != SY_OK) {
            sy_store_batch_truncate(b, mark);
            return e;
        }
    }
    return SY_OK;
}

static bool
parse_u64(const struct sy_store_val *v, uint64_t max, uint64_t *out)
{
    if (v->type != SY_STORE_STR || v->len == 0 || v->len > 20 ||
        v->str[0] < '0' || v->str[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v->str, &end, 10);
    if (errno != 0 || end != v->str + v->len || x > max)
        return false;
    *out = x;
    return true;
}

/* Add an HGETALL reply of a slice key to 'into'. Unknown fields and bad
 * counts are skipped (a newer scheme writes another key anyway); a reply
 * that is not an array (an error) is SY_ESTORE. */
enum sy_err
sy_latency_merge_reply(struct sy_latency_hist *into,
                       const struct sy_store_val *v)
{
    if (v == NULL || v->type != SY_STORE_ARRAY)
        return SY_ESTORE;
    for (size_t i = 0; i + 1 < v->n; i += 2) {
        uint64_t bucket;
        uint64_t count;
        if (parse_u64(&v->elem[i], SY_LATENCY_BUCKETS - 1, &bucket) &&
            parse_u64(&v->elem[i + 1], UINT32_MAX, &count) && count > 0)
            add_count(into, (unsigned)bucket, count);
    }
    return SY_OK;
}
