/*
 * pipeline.h - one request end to end: route the path, parse and
 * validate, pick deployments, call them through their adapters with
 * failover, and write the response (JSON or SSE) to the sink.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_PIPELINE_H
#define SY_CORE_PIPELINE_H

#include "base/sy.h"

void sy_pipeline_handle(struct sy_worker *w, struct sy_req *r,
                        struct sy_sink *s);
/* Is 'path' one of the gateway's own paths, whatever the method? */
bool sy_pipeline_is_route(const char *path);

#endif
