/*
 * request.h - build a struct sy_req from a transport (FastCGI or CGI), and
 * the response sinks over their output streams. fcgiapp.h stays in the
 * .c files of fcgi/.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_FCGI_REQUEST_H
#define SY_FCGI_REQUEST_H

#include "base/sy.h"
#include "base/err.h"
#include "api/sink.h"

/* What a transport's read returns besides a byte count (>0) or EOF (0). */
#define SY_FCGI_READ_ERROR   (-1L) /* the connection broke */
#define SY_FCGI_READ_TIMEOUT (-2L) /* nothing arrived before the deadline */

/* How to read one request's parameters and body, whatever the transport.
 * 'read' returns at most 'n' bytes and must never block past
 * 'deadline_ms' (the sy_now_ms clock): a client that trickles its body
 * one byte at a time cannot hold the thread beyond the deadline. */
struct sy_fcgi_io {
    const char *(*param)(void *io, const char *name);
    long (*read)(void *io, char *buf, size_t n, uint64_t deadline_ms);
    /* Optional (FastCGI only; CGI must not read past CONTENT_LENGTH):
     * after a body of the declared length, look for the end of input
     * without blocking for long. */
    void (*read_end)(void *io);
    void *io;
};

void sy_fcgi_read_request(const struct sy_fcgi_io *t, size_t max_body,
                          uint32_t body_timeout_ms, struct sy_arena *a,
                          struct sy_req *r);
bool sy_fcgi_body_left(const struct sy_req *r);
bool sy_fcgi_serve_one(struct sy_worker *w, const struct sy_fcgi_io *t,
                       struct sy_sink *s);

extern const struct sy_sink_ops sy_sink_fcgi_ops;
extern const struct sy_sink_ops sy_sink_stdio_ops;

#endif
