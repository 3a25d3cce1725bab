/*
 * sink.h - where a response goes: a CGI-style byte stream ("Status:" and
 * header lines, a blank line, then the body) with an explicit flush for
 * streaming. fcgi/ implements it on the FastCGI and CGI output streams;
 * tests implement it into a buffer.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_SINK_H
#define SY_CORE_SINK_H

#include "base/sy.h"
#include "base/err.h"

struct sy_sink_ops {
    /* Write 'n' bytes; SY_EGONE when the client (or the web server) has
     * gone away. */
    enum sy_err (*write)(void *io, const char *p, size_t n);
    /* Push what was written so far to the web server now. */
    enum sy_err (*flush)(void *io);
};

struct sy_sink {
    const struct sy_sink_ops *ops;
    void *io;            /* the transport's stream; borrowed */
    bool headers_sent;   /* status and headers are out: no more failover */
    bool gone;           /* a write failed: the client is gone */
    int status;          /* the status that was sent */
    uint64_t body_bytes; /* body bytes written */
};

/* Write through the sink, remembering a failure so later writes are
 * skipped cheaply. */
static inline enum sy_err
sy_sink_write(struct sy_sink *s, const char *p, size_t n)
{
    if (s->gone)
        return SY_EGONE;
    enum sy_err e = s->ops->write(s->io, p, n);
    if (e != SY_OK)
        s->gone = true;
    return e;
}

static inline enum sy_err
sy_sink_flush(struct sy_sink *s)
{
    if (s->gone)
        return SY_EGONE;
    enum sy_err e = s->ops->flush(s->io);
    if (e != SY_OK)
        s->gone = true;
    return e;
}

#endif
