/*
 * request.h - build a struct sy_req from a transport (FastCGI or CGI), and
 * the response sinks over their output streams. fcgiapp.h stays in the
 * .c files of fcgi/.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_FCGI_REQUEST_H
#define SY_FCGI_REQUEST_H

#include "../core/sy.h"
#include "../core/err.h"
#include "../core/sink.h"

/* How to read one request's parameters and body, whatever the transport. */
struct sy_fcgi_io {
    const char *(*param)(void *io, const char *name);
    long (*read)(void *io, char *buf, size_t n); /* <0 error, 0 EOF */
    void *io;
};

void sy_fcgi_read_request(const struct sy_fcgi_io *t, size_t max_body,
                          struct sy_arena *a, struct sy_req *r);
void sy_fcgi_serve_one(struct sy_worker *w, const struct sy_fcgi_io *t,
                       struct sy_sink *s);

extern const struct sy_sink_ops sy_sink_fcgi_ops;
extern const struct sy_sink_ops sy_sink_stdio_ops;

#endif
