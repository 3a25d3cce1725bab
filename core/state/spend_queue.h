/*
 * spend_queue.h - request costs waiting for the state thread, which adds
 * them to the day's spend hash and the metrics' per-key cost counters in
 * Redis (spend.h, metrics.h) exactly once. A request queues its cost and
 * goes on; each flush of the state thread gathers what came into a
 * numbered batch that one script call applies (core/state/lua/spend.lua)
 * and that is kept, unchanged, and sent again at the next flush until
 * Redis answers it: a failed pipeline, an error reply (OOM, WRONGTYPE)
 * or a lost answer delay spend, they neither lose it nor count it twice.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_SPEND_QUEUE_H
#define SY_STATE_SPEND_QUEUE_H

#include "base/sy.h"
#include "io/store.h"
#include "io/usagelog.h"

/* Kept batches, about, in bytes: past it the oldest are given up (and
 * logged with the money they held). Batches of one process aggregate
 * by field, and during an outage only one grows, so this is reached by
 * many distinct keys, not by a long outage. */
#ifndef SY_SPEND_BACKLOG_BYTES /* a test may set a smaller one */
#define SY_SPEND_BACKLOG_BYTES (32u << 20)
#endif

struct sy_spend_queue;

/* A queue of at most 'cap' records between two flushes. */
struct sy_spend_queue *sy_spend_queue_new(size_t cap);
/* Free it; spend not yet written to Redis is logged as not recorded. */
void sy_spend_queue_free(struct sy_spend_queue *q);

/* Queue a copy of 'r'. Its group, deployment and provider must be the
 * config's (they outlive the queue); the caller key's name and team are
 * copied (a virtual key's live in the request's arena, reused by the
 * next request long before the flush); the request id, trace id and
 * error are not kept. False when the queue is full (the record is
 * dropped). Thread-safe. */
bool sy_spend_queue_push(struct sy_spend_queue *q,
                         const struct sy_usage_record *r);

/* Take every queued record into this process's batches and append to
 * 'b' one script call per batch to send now, the oldest first. A new
 * batch is sent only when none is still waiting for Redis (or 'last':
 * the process stops), so an outage grows one batch instead of adding
 * one per flush. Returns how many calls; report their replies with
 * sy_spend_queue_done(). The state thread's only. */
size_t sy_spend_queue_write(struct sy_spend_queue *q, struct sy_store_batch *b,
                            const char *prefix, bool last);

/* The replies of the pipeline sy_spend_queue_write() appended to
 * ('replies', 'n' of them, indexed as 'b'), or NULL when it failed: the
 * batches answered are forgotten, the others kept for the next flush.
 * Logs a warning when spend starts failing, an info line once it is all
 * written again. The state thread's only. */
void sy_spend_queue_done(struct sy_spend_queue *q,
                         const struct sy_store_val *replies, size_t n);

/* Batches waiting for Redis (sent or not) and the cost they hold, in
 * micro-dollars ('cost' may be NULL). The state thread's only. */
size_t sy_spend_queue_backlog(const struct sy_spend_queue *q, int64_t *cost);

#endif
