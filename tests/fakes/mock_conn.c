/*
 * mock_conn.c - one client connection of the mock LLM provider's HTTP
 * server: reads and parses requests (Content-Length bodies, Expect:
 * 100-continue, keep-alive, pipelining), hands them to mock_app.c, and
 * plays the response plans it fills: delays, chunked streams, stalls,
 * drops and resets, all driven by the worker's timer heap (kept here),
 * never blocking a thread. The worker loop is in mock_http.c.
 * SPDX-License-Identifier: MIT
 */
#include "mock_http_int.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_IN_INIT  (16 * 1024)
#define HTTP_IN_MAX   (SY_MOCK_MAX_HEAD + SY_MOCK_MAX_BODY + 16 * 1024)
#define HTTP_IN_KEEP  (256 * 1024)  /* shrink the input buffer above */
#define HTTP_OUT_HIGH (1024 * 1024) /* stop taking requests above */
#define HTTP_OUT_KEEP (256 * 1024)  /* shrink the output buffer above */
#define HTTP_NO_TIMER ((size_t)-1)

enum http_parse {
    HTTP_PARSE_MORE = 0, /* need more bytes */
    HTTP_PARSE_OK,       /* "req" is complete */
    HTTP_PARSE_ERROR     /* error plan queued, close after it */
};

static void conn_drive(struct http_conn *c);

/* ---- status reasons ---------------------------------------------------- */

/* The reason phrase of "status" ("Unknown" for odd ones). */
const char *
sy_mock_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 529:
        return "Site Overloaded";
    default:
        return "Unknown";
    }
}

/* ---- timer heap -------------------------------------------------------- */

/* Swap heap entries "a" and "b", keeping heap_idx right. */
static void
heap_swap(struct http_worker *w, size_t a, size_t b)
{
    struct http_conn *t = w->heap[a];

    w->heap[a] = w->heap[b];
    w->heap[b] = t;
    w->heap[a]->heap_idx = a;
    w->heap[b]->heap_idx = b;
}

/* Is heap entry "a" due before entry "b"? */
static bool
heap_less(const struct http_worker *w, size_t a, size_t b)
{
    return w->heap[a]->deadline_ms < w->heap[b]->deadline_ms;
}

/* Restore the heap order around entry "i". */
static void
heap_fix(struct http_worker *w, size_t i)
{
    while (i > 0 && heap_less(w, i, (i - 1) / 2)) {
        heap_swap(w, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1;
        size_t r = l + 1;
        size_t m = i;

        if (l < w->heap_n && heap_less(w, l, m)) {
            m = l;
        }
        if (r < w->heap_n && heap_less(w, r, m)) {
            m = r;
        }
        if (m == i) {
            return;
        }
        heap_swap(w, i, m);
        i = m;
    }
}

/* Cancel the timer of "c", if any. */
static void
timer_cancel(struct http_conn *c)
{
    struct http_worker *w = c->w;
    size_t i = c->heap_idx;

    if (i == HTTP_NO_TIMER) {
        return;
    }
    c->heap_idx = HTTP_NO_TIMER;
    w->heap_n--;
    if (i != w->heap_n) {
        w->heap[i] = w->heap[w->heap_n];
        w->heap[i]->heap_idx = i;
        heap_fix(w, i);
    }
}

/* Arm the timer of "c" to fire "ms" from now. */
static void
timer_set(struct http_conn *c, long ms)
{
    struct http_worker *w = c->w;

    timer_cancel(c);
    if (w->heap_n == w->heap_cap) {
        w->heap_cap = w->heap_cap ? w->heap_cap * 2 : 64;
        w->heap = sy_mock_xrealloc(w->heap, w->heap_cap * sizeof(*w->heap));
    }
    c->deadline_ms = sy_mock_now_ms() + ms;
    c->heap_idx = w->heap_n;
    w->heap[w->heap_n++] = c;
    heap_fix(w, c->heap_idx);
}

/* ---- connection teardown ----------------------------------------------- */

/*
 * Close "c" now: with an RST when "rst", else a normal close. Ends the
 * request in progress (in_flight). "c" is freed later by sy_mock_conn_free; every
 * caller returns at once when c->dead is set.
 */
static void
conn_kill(struct http_conn *c, bool rst)
{
    if (c->dead) {
        return;
    }
    if (rst) {
        struct linger lg = { 1, 0 };

        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    epoll_ctl(c->w->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    timer_cancel(c);
    if (c->busy) {
        sy_mock_app_finish(&c->plan);
        c->busy = false;
    }
    c->dead = true;
}

/* Close "c" politely: stop sending, read what the peer still sends so
 * the close does not turn into an RST that eats our last response. */
static void
conn_close_gracefully(struct http_conn *c)
{
    char sink[4096];
    int i;

    shutdown(c->fd, SHUT_WR);
    for (i = 0; i < 64; i++) {
        if (recv(c->fd, sink, sizeof(sink), 0) <= 0) {
            break;
        }
    }
    conn_kill(c, false);
}

/* Unlink and free a dead (or, at shutdown, live) connection. */
void
sy_mock_conn_free(struct http_conn *c)
{
    struct http_worker *w = c->w;

    conn_kill(c, false);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        w->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    free(c->in);
    sy_mock_buf_cleanup(&c->out);
    sy_mock_plan_cleanup(&c->plan);
    free(c);
}

/* ---- output ------------------------------------------------------------ */

/* Send what "out" holds; on a hard error the connection dies. When
 * "closing" and everything went out, close. */
static void
conn_flush(struct http_conn *c)
{
    while (c->out_sent < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_sent,
                         c->out.len - c->out_sent, MSG_NOSIGNAL);

        if (n > 0) {
            c->out_sent += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            conn_kill(c, false);
            return;
        }
    }
    c->out_sent = 0;
    sy_mock_buf_reset(&c->out, HTTP_OUT_KEEP);
    if (c->closing && !c->busy) {
        conn_close_gracefully(c);
    }
}

/* Append the status line and headers of the plan to "out". */
static void
conn_write_head(struct http_conn *c, size_t body_len)
{
    struct sy_mock_plan *p = &c->plan;

    sy_mock_buf_printf(&c->out, "HTTP/1.1 %d %s\r\n", p->status,
                       sy_mock_http_reason(p->status));
    if (p->content_type[0] != '\0') {
        sy_mock_buf_printf(&c->out, "Content-Type: %s\r\n", p->content_type);
    }
    if (!p->is_stream) {
        sy_mock_buf_printf(&c->out, "Content-Length: %zu\r\n", body_len);
    } else {
        sy_mock_buf_puts(&c->out, "Cache-Control: no-cache\r\n");
        if (c->chunked) {
            sy_mock_buf_puts(&c->out, "Transfer-Encoding: chunked\r\n");
        }
    }
    if (p->retry_after >= 0) {
        sy_mock_buf_printf(&c->out, "Retry-After: %ld\r\n", p->retry_after);
    }
    if (p->must_close) {
        sy_mock_buf_puts(&c->out, "Connection: close\r\n");
    } else if (c->http10) {
        sy_mock_buf_puts(&c->out, "Connection: keep-alive\r\n");
    }
    sy_mock_buf_puts(&c->out, "\r\n");
}

/* The plan is played to its end: account it, go back to idle. */
static void
conn_finish(struct http_conn *c)
{
    sy_mock_app_finish(&c->plan);
    c->busy = false;
    c->phase = HTTP_IDLE;
    c->sent_continue = false;
    if (c->plan.must_close) {
        c->closing = true;
    }
}

/* Send stream events until a timer is needed or the plan's end. */
static void
conn_stream_step(struct http_conn *c)
{
    struct sy_mock_plan *p = &c->plan;

    while (c->next_ev < p->ev_limit) {
        size_t from = c->next_ev ? p->ev.end[c->next_ev - 1] : 0;
        size_t len = p->ev.end[c->next_ev] - from;

        if (c->chunked) {
            sy_mock_buf_printf(&c->out, "%zx\r\n", len);
        }
        sy_mock_buf_append(&c->out, p->ev.buf.data + from, len);
        if (c->chunked) {
            sy_mock_buf_append(&c->out, "\r\n", 2);
        }
        c->next_ev++;
        p->ev_sent = c->next_ev; /* for the tally (mock_app.c) */
        if (p->chunk_delay_ms > 0 && c->next_ev < p->ev_limit) {
            c->phase = HTTP_STREAM;
            timer_set(c, p->chunk_delay_ms);
            return;
        }
    }
    switch (p->end) {
    case SY_MOCK_END_DONE:
        if (c->chunked) {
            sy_mock_buf_append(&c->out, "0\r\n\r\n", 5);
        }
        conn_finish(c);
        break;
    case SY_MOCK_END_STALL:
        c->phase = HTTP_STALLED;
        if (c->rdhup) {
            conn_kill(c, false);
        }
        break;
    case SY_MOCK_END_DROP:
        p->must_close = true;
        conn_finish(c);
        break;
    }
}

/* Queue the whole body of a response that is not streamed, and end it. */
static void
conn_send_body(struct http_conn *c)
{
    struct sy_mock_plan *p = &c->plan;

    c->phase = HTTP_IDLE;
    sy_mock_buf_append(&c->out, p->ev.buf.data, p->ev.buf.len);
    p->ev_sent = 1;
    conn_finish(c);
}

/* The delay is over: reset, or send the head and the body or stream
 * (after "head_stall_ms" of silence when it is set). */
static void
conn_respond(struct http_conn *c)
{
    struct sy_mock_plan *p = &c->plan;

    c->phase = HTTP_IDLE;
    if (p->reset) {
        conn_kill(c, true);
        return;
    }
    p->head_sent = true;
    if (!p->is_stream) {
        conn_write_head(c, p->ev.buf.len);
        if (p->head_stall_ms > 0) {
            c->phase = HTTP_BODY;
            timer_set(c, p->head_stall_ms);
            return;
        }
        conn_send_body(c);
        return;
    }
    conn_write_head(c, 0);
    c->next_ev = 0;
    if (p->head_stall_ms > 0) {
        c->phase = HTTP_STREAM; /* the timer sends event 0 */
        timer_set(c, p->head_stall_ms);
        return;
    }
    conn_stream_step(c);
}

/* Start playing the plan that was just filled. */
static void
conn_start_plan(struct http_conn *c, bool http10)
{
    struct sy_mock_plan *p = &c->plan;

    c->busy = true;
    c->http10 = http10;
    c->chunked = p->is_stream && !http10;
    if (p->is_stream && http10) {
        p->must_close = true;
    }
    if (p->stall) {
        c->phase = HTTP_STALLED;
        if (c->rdhup) {
            conn_kill(c, false);
        }
        return;
    }
    if (p->delay_ms > 0) {
        c->phase = HTTP_WAIT;
        timer_set(c, p->delay_ms);
        return;
    }
    conn_respond(c);
}

/* Queue an error answer from the HTTP layer, then close. */
static void
conn_fail(struct http_conn *c, int status, const char *message)
{
    sy_mock_plan_reset(&c->plan);
    sy_mock_app_error(status, message, &c->plan);
    c->plan.must_close = true;
    conn_start_plan(c, false);
}

/* ---- request parsing --------------------------------------------------- */

/*
 * Try to parse one complete request at c->in + c->in_start into "req".
 * HTTP_PARSE_OK: "req" is filled, "*used" bytes belong to it, "*keep"
 * says whether the connection may stay open and "*http10" the version.
 * HTTP_PARSE_ERROR: an error plan was started (close after it).
 */
static enum http_parse
conn_parse(struct http_conn *c, struct sy_mock_req *req, size_t *used,
           bool *keep, bool *http10)
{
    struct sy_mock_parse r;
    const char *p;
    size_t avail;

    while (c->in_start < c->in_len &&
           (c->in[c->in_start] == '\r' || c->in[c->in_start] == '\n')) {
        c->in_start++; /* empty lines before a request are allowed */
        c->scan = 0;
    }
    p = c->in + c->in_start;
    avail = c->in_len - c->in_start;
    /* cppcheck-suppress knownConditionTrueFalse ; the loop above also
     * stops at a byte that is not CR or LF, which leaves avail > 0 */
    if (avail == 0) {
        c->scan = 0;
        return HTTP_PARSE_MORE;
    }
    switch (
        sy_mock_parse_head(p, avail, &c->scan, c->path, c->headers, req, &r)) {
    case SY_MOCK_PARSE_MORE:
        return HTTP_PARSE_MORE;
    case SY_MOCK_PARSE_ERROR:
        conn_fail(c, r.status, r.message);
        return HTTP_PARSE_ERROR;
    case SY_MOCK_PARSE_HEAD:
        break;
    }
    c->scan = 0; /* the buffer may move before the next try */
    if (avail < r.head_len + r.body_len) {
        if (r.expect_continue && !r.http10 && !c->sent_continue) {
            sy_mock_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
            c->sent_continue = true;
        }
        return HTTP_PARSE_MORE;
    }
    *keep = r.keep_alive;
    *http10 = r.http10;
    req->body = p + r.head_len;
    req->body_len = r.body_len;
    *used = r.head_len + r.body_len;
    return HTTP_PARSE_OK;
}

/* ---- input ------------------------------------------------------------- */

/* Read what the socket has. True when bytes arrived or EOF was seen. */
static bool
conn_read(struct http_conn *c)
{
    bool got = false;

    for (;;) {
        size_t room;
        ssize_t n;

        if (c->in_start > 0 &&
            (c->in_start == c->in_len || c->in_cap - c->in_len < 4096)) {
            memmove(c->in, c->in + c->in_start, c->in_len - c->in_start);
            c->in_len -= c->in_start;
            c->in_start = 0;
            c->scan = 0;
        }
        if (c->in_len == c->in_cap) {
            if (c->in_cap >= HTTP_IN_MAX) {
                return got; /* full: parse (and fail) first */
            }
            c->in_cap =
                c->in_cap * 2 < HTTP_IN_MAX ? c->in_cap * 2 : HTTP_IN_MAX;
            c->in = sy_mock_xrealloc(c->in, c->in_cap);
        }
        room = c->in_cap - c->in_len;
        n = recv(c->fd, c->in + c->in_len, room, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            got = true;
            if ((size_t)n < room) {
                return got; /* drained; the next byte re-arms ET */
            }
        } else if (n == 0) {
            c->eof = true;
            return true;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return got;
        } else {
            conn_kill(c, false);
            return false;
        }
    }
}

/* Parse and answer buffered requests one after the other, reading more
 * when needed, until a response has to wait or nothing is left. */
static void
conn_drive(struct http_conn *c)
{
    while (!c->dead && !c->busy && !c->closing &&
           c->out.len - c->out_sent < HTTP_OUT_HIGH) {
        struct sy_mock_req req;
        size_t used = 0;
        bool keep = true;
        bool http10 = false;
        enum http_parse r = conn_parse(c, &req, &used, &keep, &http10);

        if (r == HTTP_PARSE_ERROR) {
            break;
        }
        if (r == HTTP_PARSE_OK) {
            sy_mock_app_handle(c->w->h->srv, &c->w->rng, &req, &c->plan);
            c->in_start += used;
            if (!keep) {
                c->plan.must_close = true;
            }
            conn_start_plan(c, http10);
            continue;
        }
        if (c->out.len > c->out_sent) {
            conn_flush(c); /* e.g. 100 Continue */
            if (c->dead) {
                return;
            }
        }
        if (c->eof) {
            c->closing = true;
            break;
        }
        if (!conn_read(c)) {
            break;
        }
    }
    if (c->dead) {
        return;
    }
    if (c->in_start == c->in_len && c->in_cap > HTTP_IN_KEEP && !c->busy) {
        free(c->in);
        c->in_cap = HTTP_IN_INIT;
        c->in = sy_mock_xmalloc(c->in_cap);
        c->in_start = 0;
        c->in_len = 0;
    }
    conn_flush(c);
}

/* ---- events ------------------------------------------------------------ */

/* Handle epoll "events" on "c". */
static void
conn_on_event(struct http_conn *c, uint32_t events)
{
    if (events & EPOLLERR) {
        conn_kill(c, false);
        return;
    }
    if (events & (EPOLLRDHUP | EPOLLHUP)) {
        /* the client is gone (or half-closed, which we treat alike, as
         * nginx does for proxied requests): drop a delayed, streaming or
         * stalled response at once, so in_flight falls */
        c->rdhup = true;
        if (c->busy) {
            conn_kill(c, false);
            return;
        }
    }
    if ((events & EPOLLHUP) && !(events & EPOLLIN)) {
        conn_kill(c, false);
        return;
    }
    if (events & EPOLLOUT) {
        conn_flush(c);
        if (c->dead) {
            return;
        }
    }
    conn_drive(c);
}

/* The timer of "c" fired. */
static void
conn_on_timer(struct http_conn *c)
{
    if (c->phase == HTTP_WAIT) {
        conn_respond(c);
    } else if (c->phase == HTTP_BODY) {
        conn_send_body(c);
    } else if (c->phase == HTTP_STREAM) {
        conn_stream_step(c);
    }
    if (c->dead) {
        return;
    }
    conn_flush(c);
    if (!c->dead && !c->busy) {
        conn_drive(c);
    }
}

/* ---- the worker's side ------------------------------------------------- */

/* Take over the accepted socket "fd" as a new connection of "w"; on
 * failure the socket is closed. */
void
sy_mock_conn_open(struct http_worker *w, int fd)
{
    struct epoll_event ev;
    struct http_conn *c;
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c = sy_mock_xcalloc(1, sizeof(*c));
    c->w = w;
    c->fd = fd;
    c->heap_idx = HTTP_NO_TIMER;
    c->in_cap = HTTP_IN_INIT;
    c->in = sy_mock_xmalloc(c->in_cap);
    sy_mock_plan_reset(&c->plan);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        free(c->in);
        free(c);
        return;
    }
    c->next = w->conns;
    if (w->conns != NULL) {
        w->conns->prev = c;
    }
    w->conns = c;
}

/* Handle epoll "events" on "c"; frees "c" when it died. */
void
sy_mock_conn_on_event(struct http_conn *c, uint32_t events)
{
    conn_on_event(c, events);
    if (c->dead) {
        sy_mock_conn_free(c);
    }
}

/* Milliseconds until the first timer of "w" is due (0 when overdue),
 * -1 when no timer is armed: the epoll_wait timeout. */
int
sy_mock_conn_timeout_ms(const struct http_worker *w)
{
    int64_t d;

    if (w->heap_n == 0) {
        return -1;
    }
    d = w->heap[0]->deadline_ms - sy_mock_now_ms();
    return d <= 0 ? 0 : (d > INT_MAX ? INT_MAX : (int)d);
}

/* Fire every timer of "w" that is due, freeing connections that died. */
void
sy_mock_conn_run_timers(struct http_worker *w)
{
    int64_t now = w->heap_n > 0 ? sy_mock_now_ms() : 0;

    while (w->heap_n > 0 && w->heap[0]->deadline_ms <= now) {
        struct http_conn *c = w->heap[0];

        timer_cancel(c);
        conn_on_timer(c);
        if (c->dead) {
            sy_mock_conn_free(c);
        }
    }
}
