/*
 * pipeline_route.c - the entry of the pipeline: the routing table of the
 * gateway's own paths and sy_pipeline_handle, which sets up the request
 * context and dispatches. Part of the pipeline; see pipeline_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "auth.h"
#include "metrics.h"
#include "dashboard.h"
#include "state/budget.h"
#include "api/caps.h"
#include "api/chat.h"
#include "base/clock.h"
#include "config/config.h"
#include "contract/contract.h"
#include "config/cost.h"
#include "base/err.h"
#include "base/log.h"
#include "state/quota.h"
#include "api/req.h"
#include "router.h"
#include "state/state.h"
#include "io/usagelog.h"
#include "state/vkeys.h"
#include "api/sink.h"
#include "io/upstream.h"
#include "io/worker.h"
#include "api/adapter.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Routing table                                                       */

/* How a route's path matches. */
enum route_match {
    ROUTE_EXACT,  /* the path itself */
    ROUTE_PREFIX, /* "path" followed by anything (a model id may hold '/') */
    ROUTE_ID,     /* "path" followed by one segment: "/v1/responses/{id}" */
    ROUTE_ITEMS,  /* "path" + one segment + "/input_items" */
};

struct route {
    const char *path;
    enum route_match match;
    const char *method;
    void (*fn)(struct pctx *c);
    const struct sy_surface *surface; /* the client API; NULL: chat's */
    const struct sy_surface_hooks *hooks;
};

/* The Responses API keeps conversations (pipeline_responses.c). */
static const struct sy_surface_hooks responses_hooks = {
    .prepare = sy_pipeline_responses_prepare,
    .keep = sy_pipeline_responses_keep,
};

static const struct route routes[] = {
    { "/v1/chat/completions", ROUTE_EXACT, "POST", sy_pipeline_handle_chat,
      NULL, NULL },
    { "/v1/messages", ROUTE_EXACT, "POST", sy_pipeline_handle_chat,
      &sy_surface_messages, NULL },
    { "/v1/messages/count_tokens", ROUTE_EXACT, "POST",
      sy_pipeline_handle_count_tokens, &sy_surface_messages, NULL },
    { "/v1/embeddings", ROUTE_EXACT, "POST", sy_pipeline_handle_embeddings,
      NULL, NULL },
    { "/v1/models", ROUTE_EXACT, "GET", sy_pipeline_handle_models, NULL, NULL },
    { "/v1/models/", ROUTE_PREFIX, "GET", sy_pipeline_handle_model, NULL,
      NULL },
    { "/v1/responses", ROUTE_EXACT, "POST", sy_pipeline_handle_chat,
      &sy_surface_responses, &responses_hooks },
    { "/v1/responses/", ROUTE_ID, "GET", sy_pipeline_handle_response_get, NULL,
      NULL },
    { "/v1/responses/", ROUTE_ID, "DELETE", sy_pipeline_handle_response_delete,
      NULL, NULL },
    { "/v1/responses/", ROUTE_ITEMS, "GET", sy_pipeline_handle_response_get,
      NULL, NULL },
    { "/healthz", ROUTE_EXACT, "GET", sy_pipeline_handle_health, NULL, NULL },
    { "/metrics", ROUTE_EXACT, "GET", sy_pipeline_handle_metrics, NULL, NULL },
    { "/dashboard", ROUTE_EXACT, "GET", sy_pipeline_handle_dashboard, NULL,
      NULL },
};

/* Does 'p' begin with "/v1/messages" ending at a segment boundary? An
 * encoded slash ("%2F") counts as one in a path mount.c refused. */
static bool
under_messages(const char *p, bool refused)
{
    if (strncmp(p, "/v1/messages", 12) != 0)
        return false;
    p += 12;
    return *p == '\0' || *p == '/' ||
           (refused && strncasecmp(p, "%2f", 3) == 0);
}

/* The surface whose error shape a path gets before (or without) a route:
 * Anthropic's under /v1/messages, OpenAI's elsewhere. A path mount.c
 * refused reads "(why) raw path": the raw path counts, where
 * "/v1/messages" is in it (after a mount prefix, or with "//" or dot
 * segments after it). */
static const struct sy_surface *
path_surface(const char *path)
{
    const char *raw = path[0] == '(' ? strstr(path, ") ") : NULL;
    if (raw == NULL)
        return under_messages(path, false) ? &sy_surface_messages
                                           : &sy_surface_chat;
    for (const char *p = strstr(raw, "/v1/"); p != NULL;
         p = strstr(p + 1, "/v1/"))
        if (under_messages(p, true))
            return &sy_surface_messages;
    return &sy_surface_chat;
}

static bool
valid_request_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
            return false;
    }
    return n > 0 && n <= 64;
}

static bool
route_hit(const struct route *rt, const char *path)
{
    size_t n = strlen(rt->path);
    if (rt->match == ROUTE_EXACT)
        return strcmp(path, rt->path) == 0;
    if (strncmp(path, rt->path, n) != 0 || path[n] == '\0')
        return false;
    if (rt->match == ROUTE_PREFIX)
        return true;
    const char *slash = strchr(path + n, '/');
    switch (rt->match) {
    case ROUTE_ID:
        return slash == NULL;
    default: /* ROUTE_ITEMS */
        return slash != NULL && slash > path + n &&
               strcmp(slash, "/input_items") == 0;
    }
}

/* Is 'path' one of the gateway's own paths, whatever the method? The
 * mount logic (core/api/mount.c) asks, to tell a sub-path mount from a web
 * server's own split of a root mount. Everything under "/v1/" counts,
 * routes or not: lighttpd at "/" splits "/v1/messages/nope" into
 * SCRIPT_NAME "/v1" and PATH_INFO "/messages/nope", and the unknown path
 * must get the 404 of the API it belongs to (Anthropic's shape under
 * /v1/messages), not be routed as "/messages/nope". */
bool
sy_pipeline_is_route(const char *path)
{
    if (strncmp(path, "/v1/", 4) == 0)
        return true;
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++)
        if (route_hit(&routes[i], path))
            return true;
    return strcmp(path, "/admin/keys") == 0 ||
           strncmp(path, "/admin/keys/", 12) == 0;
}

/* Serve request 'r' into sink 's'. Everything allocated for the request
 * comes from w->arena, which the caller resets afterwards. */
void
sy_pipeline_handle(struct sy_worker *w, struct sy_req *r, struct sy_sink *s)
{
    struct pctx c;
    memset(&c, 0, sizeof(c));
    c.wait_slot = -1; /* slot 0 is another request's */
    c.w = w;
    c.r = r;
    c.s = s;
    c.start_us = sy_now_us();
    sy_metrics_begin(sy_state_metrics(w->state));
    w->seq++;
    if (w->cfg->server.trust_request_id && r->request_id_in != NULL &&
        valid_request_id(r->request_id_in))
        c.request_id = r->request_id_in;
    else
        c.request_id = sy_arena_printf(&w->arena, "req_%s%08x", w->id_prefix,
                                       (unsigned)w->seq);
    sy_pipeline_trace_begin(&c);

    const char *path = r->path ? r->path : "/";
    const char *method = r->method ? r->method : "GET";
    const struct route *match = NULL;
    char allow[48] = ""; /* the methods of every route the path hits */
    c.surface = path_surface(path);
    for (size_t i = 0; i < SY_ARRAY_LEN(routes); i++) {
        const struct route *rt = &routes[i];
        if (!route_hit(rt, path))
            continue;
        size_t al = strlen(allow);
        snprintf(allow + al, sizeof(allow) - al, "%s%s", al ? ", " : "",
                 rt->method);
        if (strcmp(method, rt->method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0)) {
            match = rt;
            break;
        }
    }
    bool admin = strcmp(path, "/admin/keys") == 0 ||
                 strncmp(path, "/admin/keys/", 12) == 0;
    if (r->refuse.status != 0) {
        /* fcgi/request.c could not keep a parameter whole. */
        sy_pipeline_send_error(&c, r->refuse.status, r->refuse.message,
                               "invalid_request_error", NULL, r->refuse.code,
                               NULL);
    } else if (admin) {
        sy_pipeline_handle_admin(&c);
    } else if (match != NULL) {
        if (match->surface != NULL)
            c.surface = match->surface;
        c.hooks = match->hooks;
        match->fn(&c);
    } else if (allow[0] != '\0') {
        char msg[160], extra[64];
        snprintf(msg, sizeof(msg), "method %.16s is not allowed on %.100s",
                 method, path);
        snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
        sy_pipeline_send_error(&c, sy_err_status(SY_EMETHOD), msg,
                               sy_err_type(SY_EMETHOD), NULL,
                               sy_err_code(SY_EMETHOD), extra);
    } else {
        char msg[240];
        snprintf(msg, sizeof(msg),
                 "unknown path %.120s; this gateway serves "
                 "/v1/chat/completions, /v1/responses, /v1/messages, "
                 "/v1/embeddings and /v1/models",
                 path);
        sy_pipeline_send_err(&c, SY_ENOTFOUND, msg, NULL);
    }
    sy_metrics_request_done(&c);
    /* The path is logged redacted: a client that pastes a key into a URL
     * must not put it in our log (sy_pipeline_log_path). */
    char logged[160];
    sy_pipeline_log_path(path, s->status, logged, sizeof(logged));
    sy_log_info(c.request_id, "%.16s %s %d dep=%s attempts=%u %.1fms", method,
                logged, s->status, c.dep ? c.dep->name : "-", c.attempts,
                (double)(sy_now_us() - c.start_us) / 1000.0);
    sy_pipeline_trace_end(&c, method, logged);
}
