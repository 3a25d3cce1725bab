/*
 * sse.h - the core's side of provider event streams: the SSE splitter
 * (server-sent events out of any split of the byte stream, with bounded
 * sizes) and the one stream-feed loop that hands each event to the
 * adapter's stream_event slot. Adapters only translate events; the core
 * owns the framing. core/api/sse.c implements both.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_SSE_H
#define SY_CORE_SSE_H

#include "base/sy.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/mem.h"
#include "adapter.h"

/* SY_SSE_MAX_EVENT (base/limits.h): the largest line, and largest data of
 * one event, accepted from a provider. */

/* One complete event of a provider stream. Borrowed: valid only during
 * the call it is passed to. */
struct sy_sse_event {
    const char *name; /* the "event:" field (at most 63 bytes), "" if none */
    const char *data; /* its data lines joined by LF, NUL-terminated */
    size_t len;       /* of 'data' */
};

/* The splitter's state (opaque; core/api/sse.c). */
struct sy_sse;

/* Called per complete event; any result other than SY_OK stops the feed
 * and is returned by it. */
typedef enum sy_err (*sy_sse_event_fn)(void *ud, const struct sy_sse_event *ev);

struct sy_sse *sy_sse_new(struct sy_arena *a);
enum sy_err sy_sse_feed(struct sy_sse *s, const char *p, size_t n,
                        sy_sse_event_fn fn, void *ud);
enum sy_err sy_sse_finish(struct sy_sse *s, sy_sse_event_fn fn, void *ud);

/* The shared stream-feed loop: feed any piece of the 2xx stream body of
 * 'call' to adapter 'ad'; 'len' == 0 means the upstream closed it. */
enum sy_err sy_sse_stream_feed(const struct sy_adapter *ad,
                               struct sy_adapter_call *call, const char *p,
                               size_t len, sy_emit_fn emit, void *ud,
                               struct sy_failure *f);

#endif
