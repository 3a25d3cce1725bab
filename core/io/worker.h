/*
 * worker.h - struct sy_worker: everything one request thread owns (its
 * upstream handle, its arena and scratch buffers), plus borrowed pointers
 * to what the threads of a process share on purpose (the immutable config
 * and the drain flag). Passed explicitly instead of globals.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_WORKER_H
#define SY_CORE_WORKER_H

#include "base/sy.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"

#include <stdatomic.h>

struct sy_upstream_call;
/* How a worker performs a provider call: sy_upstream_perform (libcurl),
 * or a test's fake upstream that plays a reply in-process. */
typedef enum sy_err (*sy_upstream_perform_fn)(struct sy_upstream *u,
                                              struct sy_upstream_call *c);

struct sy_worker {
    const struct sy_config *cfg;    /* borrowed; immutable, shared */
    struct sy_upstream *up;         /* owned */
    sy_upstream_perform_fn perform; /* the seam to the provider:
                                       sy_upstream_perform by default */
    struct sy_arena arena;          /* owned; reset after each request */
    struct sy_buf out;              /* owned; response body scratch */
    struct sy_buf upbody;           /* owned; provider request body */
    unsigned id;                    /* thread number within the process */
    uint64_t seq;                   /* requests served by this thread */
    char id_prefix[24];             /* request id prefix: boot+pid+thread */
    const atomic_bool *draining;    /* borrowed; true after SIGTERM */
    struct sy_state *state;         /* borrowed; process-wide live state, or
                                      NULL (tests) */
    struct sy_quota *quota;         /* borrowed; process-wide, or NULL */
    struct sy_store *store;         /* owned; this thread's Redis connection,
                                      or NULL without shared state */
    struct sy_usagelog *usagelog;   /* borrowed; process-wide, or NULL */
    struct sy_accesslog *accesslog; /* borrowed; process-wide, or NULL */
    struct sy_otlp *otlp;           /* borrowed; the process's span
                                      exporter, or NULL (no export) */
};

void sy_worker_init(struct sy_worker *w, const struct sy_config *cfg,
                    unsigned id, const atomic_bool *draining);
void sy_worker_cleanup(struct sy_worker *w);

#endif
