/*
 * metrics.c - the host's metric counters (see metrics.h). The pool's
 * parent maps them once, shared and anonymous, before it forks: every
 * worker process adds to the same atomics (relaxed adds from request
 * threads), so a scrape without Redis, whichever process the kernel
 * hands it to, sees the whole host's counts, and a worker that dies or
 * is restarted takes nothing with it. Two arrays: 'total' (since the
 * pool started: what a scrape without Redis renders) and 'pending' (not
 * yet in Redis). The flush runs inside any process's state thread batch
 * (state.c): every pending counter that moved is taken (exchanged for 0)
 * and added to its Redis hash with one HINCRBY, and this process's
 * requests in flight are published in a sorted set. When the batch fails
 * the taken amounts are put back, so a Redis outage delays counts
 * instead of losing them, and each amount reaches Redis once whichever
 * process flushes it.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "metrics.h"
#include "keys.h"
#include "base/log.h"
#include "base/mem.h"
#include "api/chat.h"
#include "config/config.h"
#include "io/usagelog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FLUSH_EVERY_MS    1000u  /* at most one flush a second */
#define INFLIGHT_STALE_MS 10000u /* a process silent this long is gone */
#define INFLIGHT_TTL_MS   60000u /* the set itself, when every process is */

/* The head of the mapping; the arrays follow it. */
struct sy_metrics_shared {
    size_t n;     /* counters in each array (the layout's count) */
    size_t bytes; /* the mapping's length; 0: heap memory (no mapping
                     could be made: the counters are this process's) */
    /* Redis round trips (struct sy_store_gate.op_us_to) */
    _Atomic uint64_t op_us[SY_STORE_OP_SLOTS];
    _Atomic uint64_t c[]; /* total[n], then pending[n] */
};

struct sy_metrics {
    struct sy_metrics_layout lay;
    struct sy_metrics_shared *sh; /* the counters; owned when 'own_sh' */
    bool own_sh;
    _Atomic uint64_t *total;   /* in 'sh': since the pool started */
    _Atomic uint64_t *pending; /* in 'sh': not yet in Redis */
    /* owned; what this process's last flush took (state thread only) */
    uint64_t *taken;
    bool taken_live;                  /* 'taken' is in a batch not yet run */
    _Atomic int64_t inflight;         /* this process's requests */
    const struct sy_store_gate *gate; /* the process's Redis gate (its
                                         round-trip durations); borrowed */
    uint64_t last_flush_ms;
    char self[96];    /* "<host>:<pid>", this process in the in-flight set */
    char member[128]; /* the member last added, "<self>:<n>" */
};

static size_t
counter_count(const struct sy_config *cfg)
{
    struct sy_metrics_layout l;
    sy_metrics_layout_init(&l, cfg);
    size_t n = l.off[SY_MF__DENSE];
    sy_metrics_layout_cleanup(&l);
    return n;
}

/* Counters for config 'cfg' (the pool's for its whole life: a new config
 * is a new pool), all 0, in one MAP_SHARED anonymous mapping that the
 * processes forked after this call share. Never NULL: when no mapping
 * can be made, heap memory (each process's own after fork). */
struct sy_metrics_shared *
sy_metrics_shared_new(const struct sy_config *cfg)
{
    size_t n = counter_count(cfg);
    size_t bytes = sizeof(struct sy_metrics_shared) +
                   (2 * n + 1) * sizeof(_Atomic uint64_t);
    struct sy_metrics_shared *sh = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        sy_log_warn(NULL,
                    "metrics: no shared mapping (%s): each worker "
                    "process keeps its own counters",
                    strerror(errno));
        sh = sy_xcalloc(1, bytes);
        bytes = 0;
    }
    sh->n = n; /* a fresh mapping is zero-filled: every counter 0 */
    sh->bytes = bytes;
    return sh;
}

void
sy_metrics_shared_free(struct sy_metrics_shared *sh)
{
    if (sh == NULL)
        return;
    if (sh->bytes > 0)
        munmap(sh, sh->bytes);
    else
        free(sh);
}

/* This process's handle on counters 'sh' (made by sy_metrics_shared_new
 * with the same config; NULL: counters of its own) for 'cfg', which must
 * outlive it. 'gate' (may be NULL) is the process's Redis gate: its
 * round-trip durations are counted with the host's from now on. */
struct sy_metrics *
sy_metrics_new(const struct sy_config *cfg, struct sy_metrics_shared *sh,
               struct sy_store_gate *gate)
{
    struct sy_metrics *m = sy_xcalloc(1, sizeof(*m));
    m->gate = gate;
    sy_metrics_layout_init(&m->lay, cfg);
    size_t n = m->lay.off[SY_MF__DENSE];
    if (sh == NULL || sh->n != n) { /* not this config's: never shared */
        sh = sy_metrics_shared_new(cfg);
        m->own_sh = true;
    }
    m->sh = sh;
    m->total = sh->c;
    m->pending = sh->c + n;
    m->taken = sy_xcalloc(n + 1, sizeof(*m->taken));
    if (gate != NULL)
        gate->op_us_to = sh->op_us;
    atomic_init(&m->inflight, 0);
    char host[64] = "";
    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "host");
    snprintf(m->self, sizeof(m->self), "%s:%ld", host, (long)getpid());
    return m;
}

void
sy_metrics_free(struct sy_metrics *m)
{
    if (m == NULL)
        return;
    sy_metrics_layout_cleanup(&m->lay);
    if (m->own_sh)
        sy_metrics_shared_free(m->sh);
    free(m->taken);
    free(m);
}

const struct sy_store_gate *
sy_metrics_gate(const struct sy_metrics *m)
{
    return m->gate;
}

const struct sy_metrics_layout *
sy_metrics_layout(const struct sy_metrics *m)
{
    return &m->lay;
}

/* ------------------------------------------------------------------ */
/* The request path: adds only                                         */

static inline void
add(struct sy_metrics *m, size_t i, uint64_t n)
{
    atomic_fetch_add_explicit(&m->total[i], n, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->pending[i], n, memory_order_relaxed);
}

/* One value into the histogram whose slot 0 is counter 'first'. */
static inline void
hist_add(struct sy_metrics *m, size_t first, uint64_t v)
{
    add(m, first + sy_metrics_pow2(v), 1);
    add(m, first + SY_METRICS_SUM, v);
}

/* A request started (requests in flight). NULL-safe, as all below. */
void
sy_metrics_begin(struct sy_metrics *m)
{
    if (m != NULL)
        atomic_fetch_add_explicit(&m->inflight, 1, memory_order_relaxed);
}

/* A request that sy_metrics_begin counted ended with 'status', answered
 * by deployment 'd' of group 'g' (either NULL: none), having spent
 * 'overhead_us' outside provider calls. */
void
sy_metrics_request(struct sy_metrics *m, enum sy_metrics_surface s,
                   const struct sy_group *g, const struct sy_deployment *d,
                   int status, uint64_t overhead_us)
{
    if (m == NULL)
        return;
    atomic_fetch_sub_explicit(&m->inflight, 1, memory_order_relaxed);
    unsigned cls = status < 400 ? 0 : status < 500 ? 1 : 2;
    if ((unsigned)s >= SY_MS__COUNT)
        s = SY_MS_OTHER;
    size_t pair = sy_metrics_pair(&m->lay, g, d);
    add(m, sy_metrics_req(&m->lay, s, pair, cls), 1);
    hist_add(m, sy_metrics_hovh(&m->lay, s, 0), overhead_us);
}

/* One provider attempt on 'd' for group 'g' ended with 'outcome', using
 * 'u' (NULL or not present: nothing reported); 'failover': the request
 * moved on to another attempt after it. */
void
sy_metrics_attempt(struct sy_metrics *m, const struct sy_group *g,
                   const struct sy_deployment *d, enum sy_err outcome,
                   const struct sy_usage *u, bool failover)
{
    if (m == NULL || d == NULL || (unsigned)outcome >= SY_ERR__COUNT)
        return;
    const struct sy_metrics_layout *l = &m->lay;
    add(m, sy_metrics_att(l, sy_metrics_pair(l, g, d), outcome), 1);
    if (failover)
        add(m, sy_metrics_fail(l, sy_metrics_group_index(l, g), outcome), 1);
    if (u == NULL || !u->present)
        return;
    const int64_t amounts[SY_MT__COUNT] = {
        [SY_MT_INPUT] = u->prompt_tokens,
        [SY_MT_OUTPUT] = u->completion_tokens,
        [SY_MT_CACHED_READ] = u->cached_tokens,
        [SY_MT_CACHE_WRITE] = u->cache_write_tokens,
        [SY_MT_REASONING] = u->reasoning_tokens,
    };
    for (unsigned t = 0; t < SY_MT__COUNT; t++)
        if (amounts[t] > 0)
            add(m, sy_metrics_tok(l, d->index, t), (uint64_t)amounts[t]);
    hist_add(m, sy_metrics_htok(l, d->index, 0, 0),
             (uint64_t)SY_MAX(u->prompt_tokens, 0));
    hist_add(m, sy_metrics_htok(l, d->index, 1, 0),
             (uint64_t)SY_MAX(u->completion_tokens, 0));
}

/* A routing event of group 'g' (a hedge, an affinity result). */
void
sy_metrics_route(struct sy_metrics *m, const struct sy_group *g,
                 enum sy_metrics_route_event ev)
{
    if (m == NULL || (unsigned)ev >= SY_MR__COUNT)
        return;
    const struct sy_metrics_layout *l = &m->lay;
    add(m, sy_metrics_rev(l, sy_metrics_group_index(l, g), ev), 1);
}

/* A successful call to 'd', in the same microseconds the latency
 * window is given (state.c); 'tpot_us' 0 = no sample. */
void
sy_metrics_latency(struct sy_metrics *m, const struct sy_deployment *d,
                   uint64_t total_us, uint64_t ttft_us, uint64_t tpot_us)
{
    if (m == NULL || d == NULL || d->index >= m->lay.ndeps)
        return;
    hist_add(m, sy_metrics_hlat(&m->lay, d->index, 0, 0), total_us);
    hist_add(m, sy_metrics_hlat(&m->lay, d->index, 1, 0), ttft_us);
    if (tpot_us > 0)
        hist_add(m, sy_metrics_hlat(&m->lay, d->index, 2, 0), tpot_us);
}

/* Deployment 'dep''s breaker went to state 'to' (enum sy_breaker_state:
 * 0 closed, 1 open, 2 half-open). */
void
sy_metrics_breaker(struct sy_metrics *m, size_t dep, unsigned to)
{
    if (m != NULL && dep < m->lay.ndeps && to < 3)
        add(m, sy_metrics_trans(&m->lay, dep, to), 1);
}

int64_t
sy_metrics_in_flight(const struct sy_metrics *m)
{
    return m != NULL ? atomic_load(&m->inflight) : 0;
}

/* Copy the host's totals since the pool started into 'out'
 * (lay.off[SY_MF__DENSE] values): what a scrape renders when no Redis is
 * configured. */
void
sy_metrics_snapshot(const struct sy_metrics *m, uint64_t *out)
{
    size_t n = m->lay.off[SY_MF__DENSE];
    for (size_t i = 0; i < n; i++)
        out[i] = atomic_load_explicit(&m->total[i], memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* The flush (state thread)                                            */

static void
add_inflight(struct sy_metrics *m, struct sy_store_batch *b, const char *prefix,
             uint64_t now_ms)
{
    char key[SY_KEY_MAX], min[32], score[32];
    if (!sy_key_fits(sy_key_metrics_inflight(key, sizeof(key), prefix),
                     sizeof(key)))
        return;
    snprintf(min, sizeof(min), "%" PRIu64,
             now_ms > INFLIGHT_STALE_MS ? now_ms - INFLIGHT_STALE_MS : 0);
    snprintf(score, sizeof(score), "%" PRIu64, now_ms);
    sy_store_batch_addl(b, "ZREMRANGEBYSCORE", key, "-inf", min, NULL);
    if (m->member[0] != '\0')
        sy_store_batch_addl(b, "ZREM", key, m->member, NULL);
    snprintf(m->member, sizeof(m->member), "%s:%" PRId64, m->self,
             (int64_t)atomic_load(&m->inflight));
    sy_store_batch_addl(b, "ZADD", key, score, m->member, NULL);
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%u", INFLIGHT_TTL_MS);
    sy_store_batch_addl(b, "PEXPIRE", key, ttl, NULL);
}

/* Append the pending counters (those not yet in Redis, whichever
 * process added them) to 'b' (HINCRBY each), and this process's requests
 * in flight; at most once every FLUSH_EVERY_MS of 'now_ms' (wall clock,
 * ms) unless 'force' (the last flush of a process that stops). The
 * amounts are taken now: call sy_metrics_flush_failed() if 'b' does not
 * run. */
void
sy_metrics_flush(struct sy_metrics *m, struct sy_store_batch *b,
                 const char *prefix, uint64_t now_ms, bool force)
{
    if (m == NULL)
        return;
    m->taken_live = false;
    if (!force && now_ms >= m->last_flush_ms &&
        now_ms - m->last_flush_ms < FLUSH_EVERY_MS)
        return;
    m->last_flush_ms = now_ms;
    size_t n = m->lay.off[SY_MF__DENSE];
    char key[SY_KEY_MAX], field[600], amount[24];
    for (size_t i = 0; i < n; i++) {
        m->taken[i] = 0;
        if (atomic_load_explicit(&m->pending[i], memory_order_relaxed) == 0)
            continue;
        uint64_t v = atomic_exchange(&m->pending[i], 0);
        enum sy_metrics_family f;
        snprintf(amount, sizeof(amount), "%" PRIu64, v);
        if (v == 0 || /* another process took it meanwhile */
            !sy_metrics_field(&m->lay, i, &f, field, sizeof(field)) ||
            !sy_key_fits(sy_key_metrics(key, sizeof(key), prefix,
                                        sy_metrics_family_name(f)),
                         sizeof(key)) ||
            sy_store_batch_addl(b, "HINCRBY", key, field, amount, NULL) !=
                SY_OK) {
            /* keep it for the next flush */
            atomic_fetch_add_explicit(&m->pending[i], v, memory_order_relaxed);
            continue;
        }
        m->taken[i] = v;
    }
    m->taken_live = true;
    add_inflight(m, b, prefix, now_ms);
}

/* The batch of the last sy_metrics_flush() did not run: put back what
 * it took, for the next flush of any process. */
void
sy_metrics_flush_failed(struct sy_metrics *m)
{
    if (m == NULL || !m->taken_live)
        return;
    size_t n = m->lay.off[SY_MF__DENSE];
    for (size_t i = 0; i < n; i++)
        if (m->taken[i] != 0)
            atomic_fetch_add_explicit(&m->pending[i], m->taken[i],
                                      memory_order_relaxed);
    m->taken_live = false;
}
