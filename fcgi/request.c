/*
 * request.c - copy the CGI parameters we use into the request arena
 * (libfcgi frees its own at the next accept) and read the body with a
 * hard size limit decided before any allocation.
 * SPDX-License-Identifier: MIT
 */
#include "../core/sy.h"
#include "request.h"
#include "../core/config.h"
#include "../core/mem.h"
#include "../core/pipeline.h"
#include "../core/req.h"
#include "../core/worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *
copy_param(const struct sy_fcgi_io *t, struct sy_arena *a, const char *name)
{
    const char *v = t->param(t->io, name);
    return v != NULL ? sy_arena_strndup(a, v, strnlen(v, 8192)) : NULL;
}

/* Fill 'r' from transport 't'. The body is read only when its declared
 * length fits 'max_body'; otherwise r->body_too_big is set and the
 * pipeline answers 413 without reading it. */
void
sy_fcgi_read_request(const struct sy_fcgi_io *t, size_t max_body,
                     struct sy_arena *a, struct sy_req *r)
{
    memset(r, 0, sizeof(*r));
    r->arena = a;
    r->method = copy_param(t, a, "REQUEST_METHOD");
    r->content_type = copy_param(t, a, "CONTENT_TYPE");
    r->authorization = copy_param(t, a, "HTTP_AUTHORIZATION");
    r->request_id_in = copy_param(t, a, "HTTP_X_REQUEST_ID");
    r->remote_addr = copy_param(t, a, "REMOTE_ADDR");

    /* REQUEST_URI is what the client asked for, whatever the web server's
     * script mapping; fall back to SCRIPT_NAME + PATH_INFO. */
    const char *uri = t->param(t->io, "REQUEST_URI");
    if (uri != NULL) {
        size_t n = strcspn(uri, "?#");
        r->path = sy_arena_strndup(a, uri, SY_MIN(n, (size_t)4096));
    } else {
        const char *sn = t->param(t->io, "SCRIPT_NAME");
        const char *pi = t->param(t->io, "PATH_INFO");
        r->path = sy_arena_printf(a, "%.2048s%.2048s", sn ? sn : "",
                                  pi ? pi : "");
    }

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
    if (known && len > max_body) {
        r->body_too_big = true;
        return;
    }
    /* Read up to the declared length, or to EOF (bounded) when the web
     * server did not declare one (GET and HEAD have no body). */
    size_t limit = known ? (size_t)len : max_body + 1;
    if (known && len == 0)
        return;
    if (!known && r->method != NULL &&
        (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0))
        return;
    size_t cap = known ? limit : SY_MIN(limit, (size_t)65536);
    char *buf = sy_arena_alloc(a, cap + 1);
    size_t got = 0;
    for (;;) {
        if (got == cap) {
            if (known || cap == limit)
                break;
            size_t ncap = SY_MIN(cap * 2, limit);
            char *nb = sy_arena_alloc(a, ncap + 1);
            memcpy(nb, buf, got);
            buf = nb;
            cap = ncap;
        }
        long n = t->read(t->io, buf + got, cap - got);
        if (n < 0) {
            /* The web server broke the connection mid-body: serve what
             * arrived; the JSON parser will refuse a truncated body. */
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (!known && got > max_body) {
        r->body_too_big = true;
        return;
    }
    buf[got] = '\0';
    r->body = buf;
    r->body_len = got;
}

/* Read one request from 't', serve it into 's'. */
void
sy_fcgi_serve_one(struct sy_worker *w, const struct sy_fcgi_io *t,
                  struct sy_sink *s)
{
    struct sy_req r;
    sy_fcgi_read_request(t, w->cfg->server.max_body_bytes, &w->arena, &r);
    sy_pipeline_handle(w, &r, s);
    sy_sink_flush(s);
}
