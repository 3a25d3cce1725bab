/*
 * budget_retry.h - budget settles that failed (Redis unreachable, or
 * its answer lost), sent again by the state thread until Redis takes
 * them or their reservation has expired.
 *
 * Without it a request that ended while Redis was away kept its answer
 * and lost its cost: the reservation expired, released, and the caller
 * was never charged. A settle sent again goes through the budget
 * script's "resettle" (budget.h), which never counts a cost twice.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_BUDGET_RETRY_H
#define SY_STATE_BUDGET_RETRY_H

#include "base/sy.h"
#include "io/store.h"

struct sy_budget_retry;

/* What one deferred settle needs (the strings are copied). */
struct sy_budget_pending {
    const char *name;      /* the budget's (a caller key's) name */
    const char *period_id; /* as reserved */
    uint64_t id;           /* the reservation */
    int64_t cost;          /* micro-USD; 0 releases */
    uint64_t expires_ms;   /* the reservation's expiry, Redis' clock */
};

/* A queue of at most 'cap' settles (its memory is taken on first use). */
struct sy_budget_retry *sy_budget_retry_new(size_t cap);
/* Free the queue; what is still in it is logged as not recorded. */
void sy_budget_retry_free(struct sy_budget_retry *q);

/* Queue a settle. False (logged) when the queue is full or the strings
 * do not fit. Thread-safe. */
bool sy_budget_retry_push(struct sy_budget_retry *q,
                          const struct sy_budget_pending *p);

/* Send the queued settles again, in order, stopping at the first that
 * finds Redis unreachable (it and those after it stay queued). Returns
 * how many are still queued. The state thread's only. */
size_t sy_budget_retry_flush(struct sy_budget_retry *q, struct sy_store *s);

/* How many settles are queued now. Thread-safe. */
size_t sy_budget_retry_pending(struct sy_budget_retry *q);

#endif
