/*
 * breaker.h - circuit breaker per deployment: closed, open, half-open.
 *
 * The decision logic is pure (time and randomness are arguments) and is
 * used alone when Redis is down. The same logic, as one Lua script, keeps
 * a cluster-wide breaker in Redis: counts from every worker of every
 * host, one half-open probe for the whole cluster, transitions published
 * on a channel. Only provider failures count (sy_err_breaker()).
 * See docs/shared-state.md.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_BREAKER_H
#define SY_CORE_BREAKER_H

#include "base/sy.h"
#include "base/err.h"
#include "io/store.h"
#include "config/config.h" /* struct sy_breaker_conf */

#define SY_BREAKER_BUCKETS 10 /* the rolling window is cut in this many */

enum sy_breaker_state {
    SY_BREAKER_CLOSED,
    SY_BREAKER_OPEN,
    SY_BREAKER_HALF_OPEN
};

enum sy_breaker_verdict {
    SY_BREAKER_DENY, /* do not send (open, or the probe is out) */
    SY_BREAKER_PASS, /* closed: send */
    SY_BREAKER_PROBE /* send as the one half-open probe; report it with
                         probe = true (or the token) */
};

enum sy_breaker_outcome {
    SY_BREAKER_IGNORE, /* says nothing about the deployment */
    SY_BREAKER_SUCCESS,
    SY_BREAKER_FAILURE /* a provider failure */
};

/* Uniform random 32-bit value (tests inject their own). */
typedef uint32_t (*sy_breaker_rand_fn)(void *ud);

struct sy_breaker_bucket {
    uint64_t id;   /* now_ms / bucket length */
    uint32_t ok;   /* successes */
    uint32_t fail; /* provider failures */
};

/* One deployment's breaker in this process. Not locked: the owner (the
 * state thread, or a test) serialises access. */
struct sy_breaker {
    enum sy_breaker_state state;
    uint64_t open_until_ms;  /* OPEN: nothing goes before this */
    uint64_t probe_until_ms; /* HALF_OPEN: a probe is out until this */
    unsigned trips;          /* opens since the last close; drives the
                                exponential open period */
    unsigned consecutive;    /* provider failures in a row */
    struct sy_breaker_bucket win[SY_BREAKER_BUCKETS];
};

/* The cluster-wide state as the script reports it (times are Redis'
 * clock, ms since the epoch). */
struct sy_breaker_shared {
    enum sy_breaker_state state;
    uint64_t open_until_ms;
    unsigned trips;
    uint64_t now_ms;                 /* Redis time of the evaluation */
    enum sy_breaker_verdict verdict; /* sy_breaker_shared_allow only */
    bool changed;                    /* this call made a transition */
    uint32_t window_total;           /* outcomes in the window */
    uint32_t window_failed;
    uint64_t probe_until_ms; /* when the half-open probe's hold ends (set
                                once, by the holder's grant); 0: no
                                probe is out */
    bool probe_known;        /* probe_until_ms was reported (false for
                                events of older versions) */
};

/* One outcome for the cluster's breaker. A process reports its outcomes
 * in the order they happened, each with its time, so that outcomes of
 * different processes reaching Redis out of order are still counted in
 * the order they happened (see lua/breaker.lua). */
struct sy_breaker_outcome_at {
    enum sy_breaker_outcome o;
    uint64_t from_ms;  /* a run of successes: when the first was (0: at
                          at_ms) */
    uint64_t at_ms;    /* when (the last of a run): wall clock, ms since
                          the epoch (0: Redis' clock at the report) */
    unsigned count;    /* outcomes it stands for (a run of successes) */
    const char *token; /* the probe token when it was the probe, else NULL
                          (an ignored probe outcome frees the probe) */
};

#define SY_BREAKER_BATCH_MAX 20 /* outcomes in one script call */

/* Pure logic */
void sy_breaker_init(struct sy_breaker *b);
enum sy_breaker_outcome sy_breaker_classify(enum sy_err e);
uint64_t sy_breaker_open_period_ms(const struct sy_breaker_conf *c,
                                   unsigned trips, uint32_t r16);
enum sy_breaker_verdict sy_breaker_allow(struct sy_breaker *b,
                                         const struct sy_breaker_conf *c,
                                         uint64_t now_ms);
bool sy_breaker_is_candidate(const struct sy_breaker *b, uint64_t now_ms);
bool sy_breaker_report(struct sy_breaker *b, const struct sy_breaker_conf *c,
                       uint64_t now_ms, enum sy_breaker_outcome o, bool probe,
                       sy_breaker_rand_fn rnd, void *rnd_ud);
void sy_breaker_window(const struct sy_breaker *b,
                       const struct sy_breaker_conf *c, uint64_t now_ms,
                       uint32_t *total, uint32_t *failed);
void sy_breaker_adopt(struct sy_breaker *b, const struct sy_breaker_conf *c,
                      const struct sy_breaker_shared *sh,
                      uint64_t local_now_ms);
const char *sy_breaker_state_name(enum sy_breaker_state s);

/* Redis side (one Lua script, lua/breaker.lua; keys under the store's
 * prefix) */
enum sy_err sy_breaker_shared_allow(struct sy_store *s, const char *dep,
                                    const struct sy_breaker_conf *c,
                                    const char *token, uint64_t now_ms,
                                    struct sy_breaker_shared *out);
enum sy_err sy_breaker_shared_report(struct sy_store *s, const char *dep,
                                     const struct sy_breaker_conf *c,
                                     enum sy_breaker_outcome o,
                                     const char *token, uint32_t r16,
                                     uint64_t now_ms,
                                     struct sy_breaker_shared *out);
enum sy_err sy_breaker_shared_report_many(
    struct sy_store *s, const char *dep, const struct sy_breaker_conf *c,
    const struct sy_breaker_outcome_at *ev, size_t n, uint32_t r16,
    uint64_t now_ms, struct sy_breaker_shared *out);
enum sy_err sy_breaker_shared_get(struct sy_store *s, const char *dep,
                                  const struct sy_breaker_conf *c,
                                  struct sy_breaker_shared *out);
enum sy_err sy_breaker_batch_get(struct sy_store_batch *b, const char *prefix,
                                 const char *dep,
                                 const struct sy_breaker_conf *c);
enum sy_err sy_breaker_batch_report(struct sy_store_batch *b,
                                    const char *prefix, const char *dep,
                                    const struct sy_breaker_conf *c,
                                    const struct sy_breaker_outcome_at *ev,
                                    size_t n, uint32_t r16);
size_t sy_breaker_batch_reports(struct sy_store_batch *b, const char *prefix,
                                const struct sy_config *cfg,
                                const unsigned *dep,
                                const struct sy_breaker_outcome_at *ev,
                                size_t n, sy_breaker_rand_fn rnd, void *rnd_ud,
                                unsigned *report_dep);
bool sy_breaker_parse_shared(const struct sy_store_val *v,
                             struct sy_breaker_shared *out);
int sy_breaker_channel(char *out, size_t outlen, const char *prefix);
bool sy_breaker_parse_event(const char *msg, size_t len, char *dep,
                            size_t deplen, struct sy_breaker_shared *out);

#endif
