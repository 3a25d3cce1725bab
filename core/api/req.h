/*
 * req.h - the transport-neutral inbound request. fcgi/request.c fills it
 * from FastCGI or CGI parameters (copied into the arena, because libfcgi
 * frees its parameters at the next accept); tests fill it directly.
 *
 * The body is read on demand: the transport leaves a reader in
 * 'read_body', and the pipeline calls sy_req_body() only once the caller
 * is authenticated and the path routed, so a caller without a valid key
 * (or a request for an unknown path) never holds a thread while its body
 * trickles in. A request filled directly (tests) has no reader: its
 * body/body_len are used as they are.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_REQ_H
#define SY_CORE_REQ_H

#include "base/sy.h"
#include "base/mem.h"

/* What became of the body. */
enum sy_body_status {
    SY_BODY_OK = 0,  /* body/body_len hold it (maybe empty) */
    SY_BODY_TOO_BIG, /* longer than server.max_body_bytes */
    SY_BODY_TIMEOUT, /* not complete within server.body_timeout_ms */
    SY_BODY_ERROR,   /* the web server broke the connection mid-body */
};

struct sy_req {
    struct sy_arena *arena;    /* the request arena; owns every string here */
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* without the query string */
    const char *query;         /* the query string (after '?'), or NULL */
    const char *content_type;  /* may be NULL */
    const char *authorization; /* may be NULL; never logged */
    const char *x_api_key;     /* the x-api-key header (Anthropic SDKs send
                                  the key there); may be NULL; never logged */
    const char *anthropic_version; /* the caller's anthropic-version, or
                                      NULL */
    const char *anthropic_beta;    /* the caller's anthropic-beta, or NULL */
    const char *request_id_in;     /* the client's X-Request-Id, or NULL */
    const char *traceparent;       /* the W3C traceparent header, or NULL */
    const char *tracestate;        /* the W3C tracestate header, or NULL */
    const char *remote_addr;       /* may be NULL */
    const char *body;              /* NUL-terminated; NULL when there is none */
    size_t body_len;
    /* 'body' parsed already (an object the arena owns), or NULL: the
     * Responses conversation store reads it before the surface does
     * (core/serve/pipeline_responses.c), which then parses it no more. */
    struct json_object *body_tree;
    bool body_too_big; /* longer than server.max_body_bytes: the body
                                 was not read */
    /* The deferred body: the transport's reader (NULL once called, or
     * when there is nothing to read) and what it found. */
    enum sy_body_status (*read_body)(struct sy_req *r);
    void *body_io; /* the reader's state; borrowed */
    enum sy_body_status body_status;
    /* X-Claude-Code-Session-Id, the conversation for prompt-cache
     * affinity, or NULL */
    const char *session_id;
    /* A parameter longer than the transport keeps (fcgi/request.c),
     * whose field is then NULL: the pipeline refuses the request with
     * this before anything else (431 a header, 414 the path or query
     * string). The message names the parameter, never quotes it. Status
     * 0: every parameter was kept whole. */
    struct {
        int status;
        const char *code;    /* the error code, e.g. "uri_too_long" */
        const char *message; /* "header 'x-api-key' is longer than ..." */
    } refuse;
};

/* Read the body now, once; later calls return the same status. */
static inline enum sy_body_status
sy_req_body(struct sy_req *r)
{
    if (r->read_body != NULL) {
        enum sy_body_status (*fn)(struct sy_req *) = r->read_body;
        r->read_body = NULL;
        r->body_status = fn(r);
    }
    if (r->body_too_big)
        return SY_BODY_TOO_BIG;
    return r->body_status;
}

#endif
