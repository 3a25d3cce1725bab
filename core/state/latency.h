/*
 * latency.h - per-deployment latency statistics: log-scaled bucket
 * histograms of total latency, time to first token and time per output
 * token, kept in time slices so that the last W seconds can be merged
 * into p50/p95/p99. Pure functions: time is an argument, nothing here
 * does I/O.
 *
 * The same slices live in memory (struct sy_latency_window, used alone
 * when Redis is down) and in Redis (one hash per deployment, metric and
 * slice; see sy_latency_write / sy_latency_read and docs/shared-state.md).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_LATENCY_H
#define SY_CORE_LATENCY_H

#include "base/sy.h"
#include "base/err.h"
#include "io/store.h"

/* Bucket scheme (see latency.c): values in microseconds; exact below 8,
 * then 8 linear sub-buckets per power of two, so a bucket's midpoint is
 * within 1/16 (6.25 %) of every value in it. Values from 2^32 us
 * (about 71 minutes) up are counted in the last bucket. */
#define SY_LATENCY_SUB_BITS 3
#define SY_LATENCY_BUCKETS  240
#define SY_LATENCY_MAX_US   ((UINT64_C(1) << 32) - 1)
#define SY_LATENCY_SCHEME   1 /* part of the Redis key: bump on change */

enum sy_latency_metric {
    SY_LATENCY_TOTAL, /* request start to the last byte, us */
    SY_LATENCY_TTFT,  /* request start to the first token, us */
    SY_LATENCY_TPOT,  /* time per output token after the first, us */
    SY_LATENCY__COUNT
};

struct sy_latency_hist {
    uint32_t counts[SY_LATENCY_BUCKETS]; /* samples per bucket (saturate) */
    uint64_t total;                      /* samples in all buckets */
};

/* One time slice of one deployment: the three histograms. */
struct sy_latency_slice {
    uint64_t id; /* now_ms / slice_ms */
    struct sy_latency_hist h[SY_LATENCY__COUNT];
};

/* The in-memory window: a ring of the last 'nslices' slices. */
struct sy_latency_window {
    uint32_t slice_ms;             /* length of a slice */
    unsigned nslices;              /* slices merged into a quantile */
    struct sy_latency_slice *ring; /* owned; 'nslices' entries */
};

struct sy_latency_stats {
    uint64_t count;  /* samples in the window */
    uint64_t p50_us; /* 0 when count is 0 */
    uint64_t p95_us;
    uint64_t p99_us;
    /* The same tail quantiles as a threshold judges them: never above
     * the third-slowest sample (sy_latency_hist_quantile_held). */
    uint64_t p95_held_us;
    uint64_t p99_held_us;
};

/* Buckets */
unsigned sy_latency_bucket(uint64_t value_us);
uint64_t sy_latency_bucket_low(unsigned bucket);
uint64_t sy_latency_bucket_mid(unsigned bucket);
const char *sy_latency_metric_name(enum sy_latency_metric m);
uint64_t sy_latency_tpot_us(uint64_t total_us, uint64_t ttft_us,
                            uint64_t output_tokens);

/* Histograms */
void sy_latency_hist_clear(struct sy_latency_hist *h);
void sy_latency_hist_add(struct sy_latency_hist *h, uint64_t value_us,
                         uint64_t n);
void sy_latency_hist_merge(struct sy_latency_hist *into,
                           const struct sy_latency_hist *from);
uint64_t sy_latency_hist_quantile(const struct sy_latency_hist *h,
                                  unsigned permille);
uint64_t sy_latency_hist_quantile_held(const struct sy_latency_hist *h,
                                       unsigned permille);
void sy_latency_hist_stats(const struct sy_latency_hist *h,
                           struct sy_latency_stats *out);
/* A value for a sample known only to exceed 'above_us' (a call cut
 * before it ended: a censored observation), drawn by 'rnd' from the
 * samples of 'h' in buckets past its own: Efron's redistribution to the
 * right, the Kaplan-Meier estimate, so the quantiles stay unbiased where
 * recording 'above_us' itself would pull the tail in. 'above_us' when
 * no sample lies past it. */
uint64_t sy_latency_hist_draw_above(const struct sy_latency_hist *h,
                                    uint64_t above_us, uint32_t rnd);

/* Slices and the in-memory window */
uint64_t sy_latency_slice_id(uint64_t now_ms, uint32_t slice_ms);
void sy_latency_slice_init(struct sy_latency_slice *sl, uint64_t id);
bool sy_latency_slice_is_empty(const struct sy_latency_slice *sl);
void sy_latency_window_init(struct sy_latency_window *w, uint32_t slice_ms,
                            uint32_t window_ms);
void sy_latency_window_cleanup(struct sy_latency_window *w);
void sy_latency_window_add(struct sy_latency_window *w, uint64_t now_ms,
                           enum sy_latency_metric m, uint64_t value_us);
void sy_latency_window_merge(const struct sy_latency_window *w, uint64_t now_ms,
                             enum sy_latency_metric m,
                             struct sy_latency_hist *out);
/* sy_latency_hist_draw_above over the window's samples of metric 'm'. */
uint64_t sy_latency_window_draw_above(const struct sy_latency_window *w,
                                      uint64_t now_ms, enum sy_latency_metric m,
                                      uint64_t above_us, uint32_t rnd);
void sy_latency_window_merge_last(const struct sy_latency_window *w,
                                  uint64_t now_ms, enum sy_latency_metric m,
                                  unsigned n, struct sy_latency_hist *out);

/* Redis: <prefix>lat<scheme>:{<deployment>}:<metric>:<slice id> */
int sy_latency_key(char *out, size_t outlen, const char *prefix,
                   const char *deployment, enum sy_latency_metric m,
                   uint64_t slice_id);
uint32_t sy_latency_ttl_ms(uint32_t slice_ms, unsigned nslices);
enum sy_err sy_latency_write(struct sy_store_batch *b, const char *prefix,
                             const char *deployment,
                             const struct sy_latency_slice *sl,
                             uint32_t ttl_ms);
enum sy_err sy_latency_read(struct sy_store_batch *b, const char *prefix,
                            const char *deployment, enum sy_latency_metric m,
                            uint64_t now_ms, uint32_t slice_ms,
                            unsigned nslices);
enum sy_err sy_latency_merge_reply(struct sy_latency_hist *into,
                                   const struct sy_store_val *v);

#endif
