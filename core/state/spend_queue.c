/*
 * spend_queue.c - request costs waiting for the state thread's flush
 * (spend_queue.h).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "spend_queue.h"
#include "base/clock.h"
#include "base/limits.h"
#include "base/mem.h"
#include "metrics.h"
#include "spend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A queued record and the caller key's strings it points at once it is
 * read (entries are copied between the two buffers, so the pointers are
 * set again then). */
struct entry {
    struct sy_usage_record r;
    char key_name[SY_SPEND_NAME_CAP];
    char team[SY_SPEND_NAME_CAP];
};

struct sy_spend_queue {
    pthread_mutex_t lock; /* guards 'in' and 'nin' */
    struct entry *in;     /* filled by requests */
    size_t nin;
    struct entry *out; /* the flush's copy */
    size_t cap;
};

struct sy_spend_queue *
sy_spend_queue_new(size_t cap)
{
    struct sy_spend_queue *q = sy_xcalloc(1, sizeof(*q));
    pthread_mutex_init(&q->lock, NULL);
    q->in = sy_xcalloc(cap, sizeof(*q->in));
    q->out = sy_xcalloc(cap, sizeof(*q->out));
    q->cap = cap;
    return q;
}

void
sy_spend_queue_free(struct sy_spend_queue *q)
{
    if (q == NULL)
        return;
    pthread_mutex_destroy(&q->lock);
    free(q->in);
    free(q->out);
    free(q);
}

/* 'src' (NULL: none) into 'dst', as the record will name it. */
static const char *
keep(char *dst, const char *src)
{
    if (src == NULL)
        return NULL;
    snprintf(dst, SY_SPEND_NAME_CAP, "%s", src);
    return dst;
}

bool
sy_spend_queue_push(struct sy_spend_queue *q, const struct sy_usage_record *r)
{
    pthread_mutex_lock(&q->lock);
    bool room = q->nin < q->cap;
    if (room) {
        struct entry *e = &q->in[q->nin++];
        e->r = *r;
        e->r.request_id = NULL;
        e->r.trace_id = NULL;
        e->r.error = NULL;
        e->r.key_name = keep(e->key_name, r->key_name);
        e->r.team = keep(e->team, r->team);
        if (e->r.time_ms == 0)
            e->r.time_ms = sy_wall_ms();
    }
    pthread_mutex_unlock(&q->lock);
    return room;
}

size_t
sy_spend_queue_write(struct sy_spend_queue *q, struct sy_store_batch *b,
                     const char *prefix)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->nin;
    memcpy(q->out, q->in, n * sizeof(*q->out));
    q->nin = 0;
    pthread_mutex_unlock(&q->lock);
    for (size_t i = 0; i < n; i++) {
        struct entry *e = &q->out[i];
        e->r.key_name = e->r.key_name != NULL ? e->key_name : NULL;
        e->r.team = e->r.team != NULL ? e->team : NULL;
        sy_spend_write(b, prefix, &e->r);
        sy_metrics_spend_write(b, prefix, &e->r);
    }
    return n;
}
