/*
 * request.c - copy the CGI parameters we use into the request arena
 * (libfcgi frees its own at the next accept), refusing a request with
 * one longer than we keep (431 a header, 414 the path or query string:
 * never a cut value used), and leave the body to be read on demand,
 * once the pipeline has authenticated the caller and routed the path
 * (core/api/req.h). The body has a size limit decided before any
 * allocation and a total deadline (server.body_timeout_ms) that no
 * single read can overrun.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "request.h"
#include "base/clock.h"
#include "base/limits.h"
#include "config/config.h"
#include "base/mem.h"
#include "api/mount.h"
#include "serve/pipeline.h"
#include "api/req.h"
#include "io/worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The deferred body read: everything the reader needs later. */
struct body_reader {
    const struct sy_fcgi_io *t; /* borrowed; outlives the request */
    size_t max_body;
    bool known;             /* CONTENT_LENGTH was given */
    unsigned long long len; /* ...and its value */
    uint64_t deadline_ms;   /* the whole body by then */
    bool called;            /* the pipeline asked for the body */
};

/* Refuse the request (the pipeline answers before anything else,
 * core/serve/pipeline_route.c): the first problem found is the one told.
 * 'what' names the parameter; its value is never quoted (it may be a
 * key). */
static void
refuse(struct sy_req *r, int status, const char *code, const char *what,
       size_t limit)
{
    if (r->refuse.status != 0)
        return;
    r->refuse.status = status;
    r->refuse.code = code;
    r->refuse.message =
        sy_arena_printf(r->arena, "%s is longer than %zu bytes", what, limit);
}

/* The longest parameter value kept: SY_CGI_PARAM_MAX with its NUL, as
 * core/serve/pipeline_responses.c `items_query` also counts it. */
#define PARAM_KEPT ((size_t)SY_CGI_PARAM_MAX - 1)

/* Copy parameter 'name' into the arena. A value longer than the gateway
 * keeps (PARAM_KEPT) is never cut and used: the request is refused (431
 * for a request header, whose name as the client wrote it is 'header';
 * 414 for the query string) and the field left NULL. */
static const char *
copy_param(const struct sy_fcgi_io *t, struct sy_req *r, const char *name,
           const char *header)
{
    const char *v = t->param(t->io, name);
    if (v == NULL)
        return NULL;
    size_t n = strnlen(v, PARAM_KEPT + 1);
    if (n <= PARAM_KEPT)
        return sy_arena_strndup(r->arena, v, n);
    if (header != NULL) {
        refuse(r, 431, "request_header_fields_too_large",
               sy_arena_printf(r->arena, "header '%s'", header), PARAM_KEPT);
    } else if (strcmp(name, "QUERY_STRING") == 0) {
        refuse(r, 414, "uri_too_long", "the query string", PARAM_KEPT);
    } else {
        refuse(r, 400, "invalid_request",
               sy_arena_printf(r->arena, "the %s parameter", name), PARAM_KEPT);
    }
    return NULL;
}

/* A header the gateway may do without: kept whole, or NULL when longer
 * than it keeps. */
static const char *
copy_hint(const struct sy_fcgi_io *t, struct sy_req *r, const char *name)
{
    const char *v = t->param(t->io, name);
    if (v == NULL)
        return NULL;
    size_t n = strnlen(v, PARAM_KEPT + 1);
    return n <= PARAM_KEPT ? sy_arena_strndup(r->arena, v, n) : NULL;
}

/* The path parameters sy_mount_req reads (core/api/mount.c): a path
 * longer than it looks at (SY_PATH_MAX of REQUEST_URI's path or of
 * PATH_INFO; half of it for each of SCRIPT_NAME and PATH_INFO when they
 * are joined without a REQUEST_URI) is refused with 414 rather than cut
 * into another path. */
static void
check_path(const struct sy_fcgi_io *t, struct sy_req *r)
{
    const char *uri = t->param(t->io, "REQUEST_URI");
    const char *sn = t->param(t->io, "SCRIPT_NAME");
    const char *pi = t->param(t->io, "PATH_INFO");
    size_t half = SY_PATH_MAX / 2;
    if ((uri != NULL && strcspn(uri, "?#") > SY_PATH_MAX) ||
        (pi != NULL && strnlen(pi, SY_PATH_MAX + 1) > SY_PATH_MAX))
        refuse(r, 414, "uri_too_long", "the request path", SY_PATH_MAX);
    else if (uri == NULL && ((sn != NULL && strnlen(sn, half + 1) > half) ||
                             (pi != NULL && strnlen(pi, half + 1) > half)))
        refuse(r, 414, "uri_too_long", "SCRIPT_NAME or PATH_INFO", half);
}

/* Read up to the declared length, or to EOF (bounded) when the web
 * server did not declare one. */
static enum sy_body_status
read_body(struct sy_req *r)
{
    struct body_reader *br = r->body_io;
    struct sy_arena *a = r->arena;
    br->called = true;
    size_t limit = br->known ? (size_t)br->len : br->max_body + 1;
    size_t cap = br->known ? limit : SY_MIN(limit, (size_t)65536);
    char *buf = sy_arena_alloc(a, cap + 1);
    size_t got = 0;
    for (;;) {
        if (got == cap) {
            if (br->known || cap == limit)
                break;
            size_t ncap = SY_MIN(cap * 2, limit);
            char *nb = sy_arena_alloc(a, ncap + 1);
            memcpy(nb, buf, got);
            buf = nb;
            cap = ncap;
        }
        long n = br->t->read(br->t->io, buf + got, cap - got, br->deadline_ms);
        if (n == SY_FCGI_READ_TIMEOUT)
            return SY_BODY_TIMEOUT;
        if (n < 0) {
            /* The web server broke the connection mid-body: serve what
             * arrived; the JSON parser will refuse a truncated body. */
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (!br->known && got > br->max_body) {
        r->body_too_big = true;
        return SY_BODY_TOO_BIG;
    }
    if (br->known && got == limit && br->t->read_end != NULL)
        br->t->read_end(br->t->io);
    buf[got] = '\0';
    r->body = buf;
    r->body_len = got;
    return SY_BODY_OK;
}

/* Fill 'r' from transport 't': the parameters now, the body later
 * (r->read_body, through sy_req_body). A declared length over
 * 'max_body' sets r->body_too_big at once, and the pipeline answers 413
 * without reading anything. */
void
sy_fcgi_read_request(const struct sy_fcgi_io *t, size_t max_body,
                     uint32_t body_timeout_ms, struct sy_arena *a,
                     struct sy_req *r)
{
    uint64_t start_ms = sy_now_ms();
    memset(r, 0, sizeof(*r));
    r->arena = a;
    check_path(t, r);
    r->method = copy_param(t, r, "REQUEST_METHOD", NULL);
    r->query = copy_param(t, r, "QUERY_STRING", NULL);
    r->content_type = copy_param(t, r, "CONTENT_TYPE", "Content-Type");
    r->authorization = copy_param(t, r, "HTTP_AUTHORIZATION", "Authorization");
    r->x_api_key = copy_param(t, r, "HTTP_X_API_KEY", "x-api-key");
    r->anthropic_version =
        copy_param(t, r, "HTTP_ANTHROPIC_VERSION", "anthropic-version");
    r->anthropic_beta =
        copy_param(t, r, "HTTP_ANTHROPIC_BETA", "anthropic-beta");
    /* Hints the gateway goes without when they are bad (a request id of
     * its own, no affinity, a new trace): too long is dropped, not
     * refused. */
    r->request_id_in = copy_hint(t, r, "HTTP_X_REQUEST_ID");
    r->session_id = copy_hint(t, r, "HTTP_X_CLAUDE_CODE_SESSION_ID");
    r->traceparent = copy_hint(t, r, "HTTP_TRACEPARENT");
    r->tracestate = copy_hint(t, r, "HTTP_TRACESTATE");
    r->remote_addr = copy_param(t, r, "REMOTE_ADDR", NULL);

    /* REQUEST_URI is what the client asked for; where the web server
     * mounted us (SCRIPT_NAME / PATH_INFO) decides the part we route on
     * (core/api/mount.c). sy_fcgi_serve_one applies server.base_path. */
    sy_mount_req(t->param, t->io, NULL, sy_pipeline_is_route, r);

    const char *cl = t->param(t->io, "CONTENT_LENGTH");
    unsigned long long len = 0;
    bool known = false;
    if (cl != NULL && cl[0] != '\0') {
        char *end;
        errno = 0;
        len = strtoull(cl, &end, 10);
        known = errno == 0 && *end == '\0' && cl[0] != '-';
        if (!known)
            len = 0;
    }
    struct body_reader *br = sy_arena_zalloc(a, sizeof(*br));
    br->t = t;
    br->max_body = max_body;
    br->known = known;
    br->len = len;
    br->deadline_ms = start_ms + body_timeout_ms;
    r->body_io = br;
    if (known && len > max_body) {
        r->body_too_big = true;
        return;
    }
    /* GET and HEAD without a declared length have no body. */
    if (known && len == 0)
        return;
    if (!known && r->method != NULL &&
        (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0))
        return;
    r->read_body = read_body;
}

/* Is input of this request still unread (the pipeline answered without
 * the body, or gave up on it)? The transport must then not wait for the
 * rest of it before closing. */
bool
sy_fcgi_body_left(const struct sy_req *r)
{
    const struct body_reader *br = r->body_io;
    if (br == NULL)
        return false;
    if (r->read_body != NULL || (r->body_too_big && !br->called))
        return true;
    return br->called && r->body_status != SY_BODY_OK;
}

/* Read one request from 't', serve it into 's'. Returns true when input
 * was left unread (see sy_fcgi_body_left). What the answer left buffered
 * in 's' is the transport's to send as it ends the request: FastCGI's
 * FCGX_Finish_r writes it with the end-of-request record in one write,
 * so the web server wakes once for a whole non-streamed answer; CGI
 * flushes stdout. */
bool
sy_fcgi_serve_one(struct sy_worker *w, const struct sy_fcgi_io *t,
                  struct sy_sink *s)
{
    struct sy_req r;
    sy_fcgi_read_request(t, w->cfg->server.max_body_bytes,
                         w->cfg->server.body_timeout_ms, &w->arena, &r);
    if (w->cfg->server.base_path != NULL)
        sy_mount_req(t->param, t->io, w->cfg->server.base_path,
                     sy_pipeline_is_route, &r);
    sy_pipeline_handle(w, &r, s);
    return sy_fcgi_body_left(&r);
}
