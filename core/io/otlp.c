/*
 * otlp.c - the span exporter of one process: a bounded ring of spans
 * under a mutex, and one thread that sends them in batches to the
 * configured collector (OTLP/HTTP JSON, otlp_json.c) with its own
 * libcurl handle (io/upstream_post.c).
 *
 * The request path only copies a span into the ring (sy_otlp_submit):
 * when the ring is full the span is dropped and counted, so a slow or
 * hung collector never slows a request. A batch leaves when it is full
 * or tracing.interval_ms after its first span; a failed POST loses its
 * batch (counted, logged once per spell; no retry queue to grow).
 *
 * Start it in each worker process after fork (threads do not survive
 * fork); sy_otlp_stop flushes what is queued within a short deadline.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "otlp.h"
#include "upstream.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/url_redact.h"
#include "config/config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An export body: a batch's spans are about 1 KiB each as JSON. */
#define OTLP_BODY_MAX (64u << 20)

struct sy_otlp {
    const struct sy_tracing_conf *conf; /* borrowed; outlives us */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct sy_span *ring; /* owned; conf->queue_size slots */
    size_t head, count;
    bool stop;
    uint64_t stop_deadline_ms; /* flush until then (sy_now_ms clock) */
    pthread_t tid;
    struct sy_poster *poster; /* owned by the thread */
    struct sy_span *batch;    /* owned; conf->batch_size slots */
    struct sy_buf body;
    bool failing; /* the last POST failed (log once per spell) */
    /* The endpoint as log lines show it: no user info, no query (a
     * token may be in either). */
    char endpoint_log[SY_URL_REDACT_MAX];
    _Atomic uint64_t queued, dropped, sent, failed;
};

/* Copy 's' into the ring, or drop it when the ring is full. Never waits
 * for the exporter beyond the mutex it holds for a copy. 'o' NULL (no
 * export) does nothing. */
void
sy_otlp_submit(struct sy_otlp *o, const struct sy_span *s)
{
    if (o == NULL)
        return;
    pthread_mutex_lock(&o->mu);
    size_t cap = o->conf->queue_size;
    bool ok = o->count < cap && !o->stop;
    if (ok) {
        o->ring[(o->head + o->count) % cap] = *s;
        o->count++;
        /* Wake the exporter for a first span (it starts the batch's
         * clock) and for a full batch. */
        if (o->count == 1 || o->count == o->conf->batch_size)
            pthread_cond_signal(&o->cv);
    }
    pthread_mutex_unlock(&o->mu);
    atomic_fetch_add(ok ? &o->queued : &o->dropped, 1);
}

/* Take up to batch_size spans off the ring (mutex held). */
static size_t
take_batch(struct sy_otlp *o)
{
    size_t cap = o->conf->queue_size;
    size_t n = SY_MIN(o->count, (size_t)o->conf->batch_size);
    for (size_t i = 0; i < n; i++)
        o->batch[i] = o->ring[(o->head + i) % cap];
    o->head = (o->head + n) % cap;
    o->count -= n;
    return n;
}

static void
send_batch(struct sy_otlp *o, size_t n)
{
    const struct sy_tracing_conf *t = o->conf;
    if (sy_otlp_encode(o->batch, n, t->service_name, &o->body) != SY_OK) {
        atomic_fetch_add(&o->failed, n);
        return;
    }
    char err[160] = "";
    int status = sy_poster_post(o->poster, t->otlp_endpoint, "application/json",
                                t->headers, t->nheaders, sy_buf_cstr(&o->body),
                                o->body.len, t->timeout_ms, err, sizeof(err));
    bool ok = status >= 200 && status < 300;
    atomic_fetch_add(ok ? &o->sent : &o->failed, n);
    if (!ok && !o->failing) {
        /* The endpoint is logged redacted, never the headers. */
        if (status != 0)
            sy_log_warn(NULL, "trace export to %s: HTTP %d (spans are lost)",
                        o->endpoint_log, status);
        else
            sy_log_warn(NULL, "trace export to %s: %s (spans are lost)",
                        o->endpoint_log, err);
    } else if (ok && o->failing) {
        sy_log_info(NULL, "trace export to %s: sending again", o->endpoint_log);
    }
    o->failing = !ok;
}

static void
deadline_in(struct timespec *ts, uint32_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *
exporter_main(void *arg)
{
    struct sy_otlp *o = arg;
    pthread_mutex_lock(&o->mu);
    for (;;) {
        if (o->count == 0 && !o->stop)
            pthread_cond_wait(&o->cv, &o->mu);
        /* Spans are waiting: give the batch interval_ms to fill. */
        if (o->count > 0 && o->count < o->conf->batch_size && !o->stop) {
            struct timespec ts;
            deadline_in(&ts, o->conf->interval_ms);
            while (o->count < o->conf->batch_size && !o->stop &&
                   pthread_cond_timedwait(&o->cv, &o->mu, &ts) == 0)
                ;
        }
        if (o->stop && (o->count == 0 || sy_now_ms() >= o->stop_deadline_ms))
            break;
        size_t n = take_batch(o);
        pthread_mutex_unlock(&o->mu);
        if (n > 0)
            send_batch(o, n);
        pthread_mutex_lock(&o->mu);
    }
    atomic_fetch_add(&o->failed, o->count); /* not flushed in time */
    o->count = 0;
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

/* The exporter of tracing conf 't', its thread started; NULL when no
 * collector is configured or the thread cannot start (logged). The
 * process must have run sy_upstream_global_init(). */
struct sy_otlp *
sy_otlp_start(const struct sy_tracing_conf *t)
{
    if (t == NULL || t->otlp_endpoint == NULL)
        return NULL;
    struct sy_otlp *o = sy_xcalloc(1, sizeof(*o));
    o->conf = t;
    sy_url_redact(t->otlp_endpoint, o->endpoint_log, sizeof(o->endpoint_log));
    o->ring = sy_xcalloc(t->queue_size, sizeof(*o->ring));
    o->batch = sy_xcalloc(t->batch_size, sizeof(*o->batch));
    sy_buf_init(&o->body, OTLP_BODY_MAX);
    o->poster = sy_poster_new();
    pthread_mutex_init(&o->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&o->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&o->tid, NULL, exporter_main, o) != 0) {
        sy_log_error(NULL, "trace export: cannot start its thread");
        sy_poster_free(o->poster);
        sy_buf_free(&o->body);
        free(o->batch);
        free(o->ring);
        free(o);
        return NULL;
    }
    return o;
}

void
sy_otlp_get_stats(struct sy_otlp *o, struct sy_otlp_stats *out)
{
    out->queued = atomic_load(&o->queued);
    out->dropped = atomic_load(&o->dropped);
    out->sent = atomic_load(&o->sent);
    out->failed = atomic_load(&o->failed);
}

/* Send what is queued within 'flush_ms' (a POST still running then is
 * abandoned), stop the thread and free 'o' (NULL: nothing). No thread
 * may submit any more. */
void
sy_otlp_stop(struct sy_otlp *o, uint32_t flush_ms)
{
    if (o == NULL)
        return;
    uint64_t deadline = sy_now_ms() + flush_ms;
    sy_poster_abort_at(o->poster, deadline);
    pthread_mutex_lock(&o->mu);
    o->stop = true;
    o->stop_deadline_ms = deadline;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
    pthread_join(o->tid, NULL);
    struct sy_otlp_stats st;
    sy_otlp_get_stats(o, &st);
    if (st.dropped > 0 || st.failed > 0)
        sy_log_warn(NULL,
                    "trace export: %llu span(s) sent, %llu dropped (queue "
                    "full), %llu lost (collector)",
                    (unsigned long long)st.sent, (unsigned long long)st.dropped,
                    (unsigned long long)st.failed);
    sy_poster_free(o->poster);
    sy_buf_free(&o->body);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o->batch);
    free(o->ring);
    free(o);
}
