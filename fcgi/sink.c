/*
 * sink.c - response sinks over the FastCGI output stream and over stdout
 * (CGI mode). Each flush pushes a FastCGI record to the web server at
 * once, which is what makes SSE streaming work.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "request.h"

#include <stdio.h>

#include <fcgiapp.h>

static enum sy_err
fcgi_write(void *io, const char *p, size_t n)
{
    FCGX_Stream *out = io;
    while (n > 0) {
        int chunk = n > 1u << 30 ? 1 << 30 : (int)n;
        if (FCGX_PutStr(p, chunk, out) != chunk)
            return SY_EGONE;
        p += chunk;
        n -= (size_t)chunk;
    }
    return SY_OK;
}

static enum sy_err
fcgi_flush(void *io)
{
    return FCGX_FFlush(io) == 0 ? SY_OK : SY_EGONE;
}

const struct sy_sink_ops sy_sink_fcgi_ops = {
    .write = fcgi_write,
    .flush = fcgi_flush,
};

static enum sy_err
stdio_write(void *io, const char *p, size_t n)
{
    return fwrite(p, 1, n, io) == n ? SY_OK : SY_EGONE;
}

static enum sy_err
stdio_flush(void *io)
{
    return fflush(io) == 0 ? SY_OK : SY_EGONE;
}

const struct sy_sink_ops sy_sink_stdio_ops = {
    .write = stdio_write,
    .flush = stdio_flush,
};
