/*
 * mount.h - the path the gateway routes on, derived from what the client
 * asked for (REQUEST_URI) and where the web server mounted the gateway
 * (server.base_path, else SCRIPT_NAME / PATH_INFO as CGI defines them).
 * The rule and why it is safe are in core/api/mount.c and docs/deployment.md.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_MOUNT_H
#define SY_CORE_MOUNT_H

#include "base/sy.h"
#include "base/mem.h"
#include "api/req.h"

/* Which rule produced the path. */
enum sy_mount_how {
    SY_MOUNT_RAW = 0, /* REQUEST_URI's path, percent-decoded */
    SY_MOUNT_BASE,    /* REQUEST_URI's path with server.base_path cut off */
    SY_MOUNT_SPLIT,   /* PATH_INFO below the SCRIPT_NAME mount */
    SY_MOUNT_OUTSIDE, /* not under server.base_path: 404 */
    SY_MOUNT_BAD,     /* not canonical (dot segments, "//", bad escapes,
                          control characters): 404 */
};

/* What the web server handed over; any may be NULL. */
struct sy_mount_in {
    const char *request_uri; /* raw, with the query string */
    const char *script_name; /* decoded by the web server */
    const char *path_info;   /* decoded by the web server */
    const char *base_path;   /* server.base_path, or NULL */
};

/* Is 'path' one of the gateway's own paths (any method)? */
typedef bool (*sy_mount_route_fn)(const char *path);

/* Derive the routing path of 'in' into '*out' (allocated in 'a'). For
 * SY_MOUNT_OUTSIDE and SY_MOUNT_BAD '*out' is a description starting with
 * '(' that no route matches, so the pipeline answers its JSON 404 with it.
 * 'is_route' tells a root mount that the web server split on its own (a
 * REQUEST_URI that is itself a gateway path) from a real sub-path mount. */
enum sy_mount_how sy_mount_path(const struct sy_mount_in *in,
                                sy_mount_route_fn is_route, struct sy_arena *a,
                                const char **out);

/* Why 'base' is not a usable server.base_path, or NULL when it is. */
const char *sy_mount_base_problem(const char *base);

/* Transport glue: read the CGI parameters through 'param' and set
 * r->path; 'is_route' tells a known route (the transport passes the
 * pipeline's sy_pipeline_is_route: api does not know the routes). */
typedef const char *(*sy_mount_param_fn)(void *io, const char *name);
void sy_mount_req(sy_mount_param_fn param, void *io, const char *base_path,
                  sy_mount_route_fn is_route, struct sy_req *r);

#endif
