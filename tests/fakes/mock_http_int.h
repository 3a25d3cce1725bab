/*
 * mock_http_int.h - what the two halves of the mock's HTTP server share:
 * the worker (mock_http.c: threads, epoll loop, listen sockets) and the
 * connection (mock_conn.c: parsing, timers, playing response plans).
 * Private to those two files; the rest of the mock sees only the
 * sy_mock_http_* calls of mock_llm.h.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_FAKES_MOCK_HTTP_INT_H
#define SY_FAKES_MOCK_HTTP_INT_H

#include "mock_llm.h"

#include <stdint.h>

enum http_phase {
    HTTP_IDLE = 0, /* no response in progress */
    HTTP_WAIT,     /* timer: delay before the head */
    HTTP_BODY,     /* timer: head sent, delay before the body */
    HTTP_STREAM,   /* timer: delay before the next event */
    HTTP_STALLED   /* silent until the peer closes */
};

struct http_worker;

/* One client connection, owned by its worker. */
struct http_conn {
    struct http_worker *w;  /* borrowed */
    struct http_conn *prev; /* worker's list */
    struct http_conn *next;
    int fd;
    char *in;        /* owned input buffer */
    size_t in_start; /* first unconsumed byte */
    size_t in_len;   /* bytes in "in" */
    size_t in_cap;
    size_t scan;        /* head end search resumes here */
    bool eof;           /* peer sent FIN (read returned 0) */
    bool rdhup;         /* epoll saw EPOLLRDHUP */
    bool closing;       /* close once "out" is flushed */
    bool dead;          /* closed; free after the handler */
    bool sent_continue; /* 100 Continue sent for this request */
    bool busy;          /* a plan is in progress */
    bool chunked;       /* the response in progress is chunked */
    bool http10;        /* the request in progress is HTTP/1.0 */
    enum http_phase phase;
    size_t next_ev;                  /* next plan event to send */
    struct sy_mock_buf out;          /* owned output buffer */
    size_t out_sent;                 /* bytes of "out" already sent */
    struct sy_mock_plan plan;        /* owned, reused */
    int64_t deadline_ms;             /* timer, monotonic ms */
    size_t heap_idx;                 /* position in the timer heap */
    char path[SY_MOCK_MAX_PATH + 1]; /* request target of "req" */
    struct sy_mock_header headers[SY_MOCK_MAX_HEADERS];
};

/* One worker thread with its epoll, listen socket and timer heap. */
struct http_worker {
    struct sy_mock_http *h; /* borrowed */
    pthread_t thread;
    bool running;            /* thread was started */
    int ep;                  /* epoll fd, owned */
    int lfd;                 /* listen socket, owned */
    struct sy_mock_rng rng;  /* delays of this worker */
    struct http_conn **heap; /* owned array, min-heap by deadline */
    size_t heap_n;
    size_t heap_cap;
    struct http_conn *conns; /* owned list of open connections */
    bool accept_warned;
};

struct sy_mock_http {
    struct sy_mock_server *srv; /* borrowed */
    int stop_fd;                /* eventfd in every worker's epoll */
    int n_workers;
    struct http_worker *workers; /* owned array */
};

/* mock_conn.c: the connections of a worker. */
void sy_mock_conn_open(struct http_worker *w, int fd);
void sy_mock_conn_free(struct http_conn *c);
void sy_mock_conn_on_event(struct http_conn *c, uint32_t events);
int sy_mock_conn_timeout_ms(const struct http_worker *w);
void sy_mock_conn_run_timers(struct http_worker *w);

#endif /* SY_FAKES_MOCK_HTTP_INT_H */
