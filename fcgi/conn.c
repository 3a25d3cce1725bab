/*
 * conn.c - one FastCGI connection as a request thread sees it (conn.h).
 *
 * Reads never block past their deadline (SO_RCVTIMEO set to the time
 * left), writes never past server.write_timeout_ms (SO_SNDTIMEO): a
 * caller that stops reading a stream fills the web server's buffers,
 * and a write without a bound would hold the thread, and the provider
 * call inside it, for as long as the caller pleases, past every
 * deadline of the call. While a provider call waits, the connection is
 * watched: lighttpd closes it as soon as its client goes, so a caller
 * that left before the first byte of the answer is seen at once (the
 * provider call is cut, nothing fails over, nothing is hedged) instead
 * of at the first write. httpd keeps the connection until the answer:
 * behind it a departure is seen at the first write, as before.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "conn.h"
#include "drain.h"
#include "base/clock.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fcgiapp.h>

static const char *
fcgi_param(void *io, const char *name)
{
    struct sy_fcgi_conn *fc = io;
    return FCGX_GetParam(name, fc->req->envp);
}

/* Read what the FastCGI stream holds, never blocking past 'deadline_ms'.
 * FCGX_GetStr loops until it has all it was asked for, so it is asked
 * only for what is already buffered, or for one byte with SO_RCVTIMEO on
 * the socket set to the time left: a body trickling in a byte every few
 * seconds cannot hold the thread beyond the deadline. */
static long
fcgi_read(void *io, char *buf, size_t n, uint64_t deadline_ms)
{
    struct sy_fcgi_conn *fc = io;
    FCGX_Stream *in = fc->req->in;
    size_t avail = (size_t)(in->stop - in->rdNext);
    int want;
    if (avail > 0 || in->isClosed) {
        want = (int)SY_MIN(SY_MIN(n, avail), (size_t)1 << 20);
    } else {
        uint64_t now = sy_now_ms();
        if (now >= deadline_ms)
            return SY_FCGI_READ_TIMEOUT;
        uint64_t left = deadline_ms - now;
        struct timeval tv = { .tv_sec = (time_t)(left / 1000),
                              .tv_usec = (suseconds_t)(left % 1000) * 1000 };
        if (setsockopt(fc->req->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv,
                       sizeof(tv)) != 0)
            return SY_FCGI_READ_ERROR;
        fc->timeo_set = true;
        want = 1;
    }
    int got = want > 0 ? FCGX_GetStr(buf, want, in) : 0;
    if (got > 0)
        return got;
    int err = FCGX_GetError(in);
    if (err == EAGAIN || err == EWOULDBLOCK)
        return SY_FCGI_READ_TIMEOUT;
    return err != 0 ? SY_FCGI_READ_ERROR : 0;
}

/* Read the end-of-input record, waiting at most until 'deadline_ms';
 * true when it was read (the stream closed without error). */
static bool
read_end_by(struct sy_fcgi_conn *fc, uint64_t deadline_ms)
{
    FCGX_Stream *in = fc->req->in;
    char c;
    long n = fcgi_read(fc, &c, 1, deadline_ms);
    fc->end_seen = n == 0 && in->isClosed && FCGX_GetError(in) == 0;
    return fc->end_seen;
}

/* read_end: a web server not keeping the connection sends its end of
 * input right after the body. A second at most; else lingering close. */
static void
fcgi_read_end(void *io)
{
    struct sy_fcgi_conn *fc = io;
    if (fc->req->keepConnection || fc->req->in->isClosed)
        return;
    read_end_by(fc, sy_now_ms() + 1000);
}

void
sy_fcgi_conn_begin(struct sy_fcgi_conn *fc, FCGX_Request *req,
                   uint32_t write_timeout_ms, struct sy_fcgi_io *io,
                   struct sy_sink *sink)
{
    *fc = (struct sy_fcgi_conn){ .req = req, .sink = sink };
    *io = (struct sy_fcgi_io){ fcgi_param, fcgi_read, fcgi_read_end, fc };
    *sink = (struct sy_sink){ .ops = &sy_sink_fcgi_ops, .io = req->out };
    struct timeval tv = { .tv_sec = (time_t)(write_timeout_ms / 1000),
                          .tv_usec =
                              (suseconds_t)(write_timeout_ms % 1000) * 1000 };
    /* Failing, writes block as before: nothing to lose by going on. */
    (void)setsockopt(req->ipcFd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int
sy_fcgi_conn_left(void *ud)
{
    struct sy_fcgi_conn *fc = ud;
    int fd = fc->req->ipcFd;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n > 0 && !fc->req->in->isClosed) {
        /* httpd may send its end-of-input record after the body, late:
         * that is no departure. Anything else is not the end. */
        if (read_end_by(fc, sy_now_ms() + 100))
            return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
                           (errno == EAGAIN || errno == EWOULDBLOCK)
                       ? 0
                       : -1;
        return -1;
    }
    /* End of file or a reset (the web server dropped the request when
     * its client went), or a record after the end of input (an abort):
     * the caller is gone. */
    fc->sink->gone = true;
    return 1;
}

/* End the request. When its body was left unread (refused before it was
 * needed, or too slow), the connection goes to the drain thread
 * (drain.c says why it is neither closed at once nor left to libfcgi,
 * whose close would read the rest of the body on this thread). When the
 * caller is gone (a write failed or timed out, or it left), nothing more
 * can reach it, and libfcgi's close would write the end records and
 * block again on a caller that does not read: the socket is shut down
 * first, so those writes fail at once and libfcgi closes it. */
void
sy_fcgi_conn_finish(struct sy_fcgi_conn *fc, bool unread,
                    struct sy_drain *drain, uint64_t drain_deadline_ms)
{
    FCGX_Request *req = fc->req;
    if (fc->sink->gone && req->ipcFd >= 0)
        shutdown(req->ipcFd, SHUT_RDWR); /* libfcgi's writes fail at once */
    if (!unread) {
        if (fc->timeo_set && req->keepConnection && req->ipcFd >= 0) {
            /* A kept connection waits for its next request unbounded. */
            struct timeval tv = { 0, 0 };
            setsockopt(req->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        }
        fc->timeo_set = false;
        /* libfcgi closes with a lingering close (shutdown, poll up to
         * 2 s, read) lest late input reset the answer. Once the end of
         * input was read and nothing is left unread, nothing can come:
         * close plainly (FCGX_Detach). Not before: httpd's end-of-input
         * record may follow the answer, and would fail with a 503. */
        int pending = 0;
        if (!req->keepConnection && req->ipcFd >= 0 && fc->end_seen &&
            ioctl(req->ipcFd, FIONREAD, &pending) == 0 && pending == 0)
            FCGX_Detach(req);
        FCGX_Finish_r(req);
        return;
    }
    fc->timeo_set = false;
    /* The answer and the end-of-request record go out; libfcgi keeps the
     * socket (no close, no read-to-EOF), and we take it over. A web
     * server that wanted to reuse the connection cannot: closed now. */
    bool web_keeps = req->keepConnection != 0;
    FCGX_ClearError(req->in);
    req->keepConnection = 1;
    FCGX_Finish_r(req);
    int fd = req->ipcFd;
    if (fd < 0)
        return;
    req->ipcFd = -1;
    if (web_keeps || drain == NULL) {
        shutdown(fd, SHUT_RDWR);
        close(fd);
        return;
    }
    sy_drain_add(drain, fd, drain_deadline_ms);
}
