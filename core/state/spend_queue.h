/*
 * spend_queue.h - request costs waiting for the state thread's next
 * flush, which adds them to the day's spend hash and the metrics'
 * per-key counters in Redis (spend.h, metrics.h). A request queues its
 * cost and goes on; the flush writes them all in its one pipeline.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_SPEND_QUEUE_H
#define SY_STATE_SPEND_QUEUE_H

#include "base/sy.h"
#include "io/store.h"
#include "io/usagelog.h"

struct sy_spend_queue;

/* A queue of at most 'cap' records between two flushes. */
struct sy_spend_queue *sy_spend_queue_new(size_t cap);
void sy_spend_queue_free(struct sy_spend_queue *q);

/* Queue a copy of 'r'. Its group, deployment and provider must be the
 * config's (they outlive the queue); the caller key's name and team are
 * copied (a virtual key's live in the request's arena, reused by the
 * next request long before the flush); the request id, trace id and
 * error are not kept. False when the queue is full (the record is
 * dropped). Thread-safe. */
bool sy_spend_queue_push(struct sy_spend_queue *q,
                         const struct sy_usage_record *r);

/* Take every queued record and append its spend and metrics commands
 * to 'b'. Returns how many. The state thread's only. */
size_t sy_spend_queue_write(struct sy_spend_queue *q, struct sy_store_batch *b,
                            const char *prefix);

#endif
