/*
 * conn.h - one FastCGI connection as a request thread sees it (conn.c):
 * its parameters and body read within deadlines, its writes bounded in
 * time, watched for the caller leaving while a provider answers, and
 * ended. fcgiapp.h stays in the .c files of fcgi/.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_FCGI_CONN_H
#define SY_FCGI_CONN_H

#include "base/sy.h"
#include "request.h"

struct FCGX_Request;
struct sy_drain;

struct sy_fcgi_conn {
    struct FCGX_Request *req;
    struct sy_sink *sink; /* where the answer goes; 'gone' set here too */
    bool timeo_set;       /* SO_RCVTIMEO was set for a body read */
    bool end_seen;        /* the web server's end-of-input record was read */
};

/* Start serving the request just accepted on 'req': fill 'io' (the
 * reader) and 'sink' (the writer) for it. A write that cannot go on for
 * 'write_timeout_ms' (a caller that stopped reading) fails, and the
 * caller is taken as gone. */
void sy_fcgi_conn_begin(struct sy_fcgi_conn *fc, struct FCGX_Request *req,
                        uint32_t write_timeout_ms, struct sy_fcgi_io *io,
                        struct sy_sink *sink);

/* The upstream watch (io/upstream.h sy_upstream_watch): called when the
 * connection turned readable while a provider call waits. 1: the caller
 * left (the sink is marked gone); 0: it did not (a late end-of-input
 * record was read); -1: unknown, stop watching. */
int sy_fcgi_conn_left(void *fc);

/* End the request (conn.c says how each case closes). */
void sy_fcgi_conn_finish(struct sy_fcgi_conn *fc, bool unread,
                         struct sy_drain *drain, uint64_t drain_deadline_ms);

#endif
