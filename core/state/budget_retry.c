/*
 * budget_retry.c - failed budget settles sent again by the state thread
 * (budget_retry.h).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "budget_retry.h"
#include "budget.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char name[SY_BUDGET_NAME_MAX + 1];
    char pid[SY_BUDGET_PERIOD_ID_LEN];
    uint64_t id;
    int64_t cost;
    uint64_t expires_ms;
};

struct sy_budget_retry {
    pthread_mutex_t lock; /* guards 'e' and 'n' */
    struct entry *e;      /* queued, oldest first; NULL until first use */
    size_t n, cap;
    struct entry *work; /* the flush's copy (state thread only) */
};

struct sy_budget_retry *
sy_budget_retry_new(size_t cap)
{
    struct sy_budget_retry *q = sy_xcalloc(1, sizeof(*q));
    pthread_mutex_init(&q->lock, NULL);
    q->cap = cap;
    return q;
}

static void
log_lost(const struct entry *x, const char *why)
{
    sy_log_warn(NULL,
                "budget of key %s not settled (%s): %lld micro-USD not "
                "recorded",
                x->name, why, (long long)x->cost);
}

void
sy_budget_retry_free(struct sy_budget_retry *q)
{
    if (q == NULL)
        return;
    for (size_t i = 0; i < q->n; i++)
        log_lost(&q->e[i], "state store unreachable until shutdown");
    free(q->e);
    free(q->work);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

bool
sy_budget_retry_push(struct sy_budget_retry *q,
                     const struct sy_budget_pending *p)
{
    struct entry x;
    memset(&x, 0, sizeof(x));
    size_t nl = strlen(p->name), pl = strlen(p->period_id);
    if (nl >= sizeof(x.name) || pl >= sizeof(x.pid))
        return false;
    memcpy(x.name, p->name, nl);
    memcpy(x.pid, p->period_id, pl);
    x.id = p->id;
    x.cost = p->cost;
    x.expires_ms = p->expires_ms;
    pthread_mutex_lock(&q->lock);
    if (q->e == NULL && q->cap > 0)
        q->e = sy_xcalloc(q->cap, sizeof(*q->e));
    bool ok = q->n < q->cap;
    if (ok)
        q->e[q->n++] = x;
    pthread_mutex_unlock(&q->lock);
    if (!ok)
        log_lost(&x, "retry queue full");
    return ok;
}

size_t
sy_budget_retry_pending(struct sy_budget_retry *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->n;
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* Put 'n' entries that could not be sent back in front of those queued
 * meanwhile; past the capacity the newest are dropped (logged). */
static void
requeue(struct sy_budget_retry *q, const struct entry *x, size_t n)
{
    pthread_mutex_lock(&q->lock);
    size_t keep = SY_MIN(q->n, q->cap - n); /* n <= cap: they came from it */
    for (size_t i = keep; i < q->n; i++)
        log_lost(&q->e[i], "retry queue full");
    memmove(q->e + n, q->e, keep * sizeof(*q->e));
    memcpy(q->e, x, n * sizeof(*x));
    q->n = keep + n;
    pthread_mutex_unlock(&q->lock);
}

size_t
sy_budget_retry_flush(struct sy_budget_retry *q, struct sy_store *s)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->n;
    if (n > 0) {
        if (q->work == NULL)
            q->work = sy_xcalloc(q->cap, sizeof(*q->work));
        memcpy(q->work, q->e, n * sizeof(*q->e));
        q->n = 0;
    }
    pthread_mutex_unlock(&q->lock);
    size_t i = 0;
    for (; i < n; i++) {
        const struct entry *x = &q->work[i];
        struct sy_budget_result r;
        enum sy_err e = sy_budget_resettle(s, x->name, x->pid, x->id, x->cost,
                                           x->expires_ms, 0, &r);
        if (e == SY_ESTORE)
            break; /* still away: this one and the rest wait */
        if (e != SY_OK)
            log_lost(x, sy_err_name(e));
        else if (r.resettled == SY_BUDGET_RESETTLED_TOO_LATE && x->cost > 0)
            log_lost(x, "its reservation expired first");
        else if (r.resettled == SY_BUDGET_RESETTLED_NOW && x->cost > 0)
            sy_log_info(NULL, "budget of key %s settled late: %lld micro-USD",
                        x->name, (long long)x->cost);
        else if (x->cost > 0)
            /* Before its expiry a reservation goes only by a settle:
             * the first try's, whose answer was lost; or Redis lost it
             * (a restart without persistence), and the spent with it. */
            sy_log_info(NULL,
                        "budget of key %s: reservation already gone, %lld "
                        "micro-USD not added again (the first try was "
                        "recorded, or Redis lost the budget's data)",
                        x->name, (long long)x->cost);
    }
    if (i < n)
        requeue(q, &q->work[i], n - i);
    return sy_budget_retry_pending(q);
}
