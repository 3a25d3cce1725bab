/*
 * metrics.h - GET /metrics: who may read it (the admin key, or a client
 * address inside metrics.allow; GET /dashboard uses the same check), the
 * handler, the per-request hook of the route table, and the rendering of
 * a scrape's numbers (metrics_render.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_SERVE_METRICS_H
#define SY_SERVE_METRICS_H

#include "base/sy.h"
#include "state/metrics.h"

struct pctx;
struct sy_metrics_view;
struct sy_dep_view;

/* What the access rule says of a request. */
enum sy_metrics_access {
    SY_METRICS_ALLOWED,
    SY_METRICS_UNAUTHORIZED, /* 401: a wrong admin key, or none where one
                                would let the caller in */
    SY_METRICS_FORBIDDEN     /* 403: outside metrics.allow, and no admin
                                key is configured */
};

enum sy_metrics_access sy_metrics_access(const struct sy_config *cfg,
                                         const char *authorization,
                                         const char *remote_addr);
bool sy_metrics_allowed(struct pctx *c);
void sy_pipeline_handle_metrics(struct pctx *c);
enum sy_metrics_surface sy_metrics_surface_of(const char *path);
void sy_metrics_request_done(struct pctx *c);
struct sy_attempt;
uint64_t sy_metrics_attempts_us(const struct sy_attempt *const *att,
                                unsigned n);

/* metrics_render.c; 'views' (may be NULL) is this process's live view
 * of each deployment, used when the cluster's could not be read. */
void sy_metrics_render(struct sy_buf *b, const struct sy_metrics_view *v,
                       const struct sy_config *cfg,
                       const struct sy_dep_view *views);

#endif
