/*
 * req.h - the transport-neutral inbound request. fcgi/request.c fills it
 * from FastCGI or CGI parameters (copied into the arena, because libfcgi
 * frees its parameters at the next accept); tests fill it directly.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_REQ_H
#define SY_CORE_REQ_H

#include "sy.h"
#include "mem.h"

struct sy_req {
    struct sy_arena *arena;   /* the request arena; owns every string here */
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* without the query string */
    const char *content_type; /* may be NULL */
    const char *authorization; /* may be NULL; never logged */
    const char *request_id_in; /* the client's X-Request-Id, or NULL */
    const char *remote_addr;  /* may be NULL */
    const char *body;         /* NUL-terminated; NULL when there is none */
    size_t body_len;
    bool body_too_big;        /* longer than server.max_body_bytes: the body
                                 was not read */
};

#endif
