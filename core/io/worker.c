/*
 * worker.c - set up and tear down a request thread's private state.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "worker.h"
#include "base/limits.h"
#include "config/config.h"
#include "store.h"
#include "upstream.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* Initialise 'w' for thread 'id'. 'cfg' and 'draining' (may be NULL:
 * never draining) are borrowed and must outlive the worker. */
void
sy_worker_init(struct sy_worker *w, const struct sy_config *cfg, unsigned id,
               const atomic_bool *draining)
{
    memset(w, 0, sizeof(*w));
    w->cfg = cfg;
    w->id = id;
    w->draining = draining;
    w->up = sy_upstream_new();
    w->perform = sy_upstream_perform;
    sy_arena_init(&w->arena, 16384);
    sy_buf_init(&w->out, SY_RESPONSE_MAX);
    sy_buf_init(&w->upbody,
                cfg->server.max_body_bytes * 2 + SY_PROVIDER_BODY_SLACK);
    /* Request ids are "<8 random hex><8 hex counter>": unique across
     * processes and hosts without coordination. */
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint32_t)getpid() * 2654435761u + id;
    snprintf(w->id_prefix, sizeof(w->id_prefix), "%08x", r);
}

void
sy_worker_cleanup(struct sy_worker *w)
{
    sy_upstream_free(w->up);
    w->up = NULL;
    sy_store_free(w->store);
    w->store = NULL;
    sy_arena_cleanup(&w->arena);
    sy_buf_free(&w->out);
    sy_buf_free(&w->upbody);
}
