/*
 * mock_http.c - the epoll HTTP/1.1 server of the mock LLM provider: one
 * thread per worker, each with its own epoll, its own SO_REUSEPORT listen
 * socket and its own timer heap. This file runs the workers (accept, the
 * event loop, start and stop); mock_conn.c parses each connection's
 * requests and plays the response plans that mock_app.c fills.
 * SPDX-License-Identifier: MIT
 */
#include "mock_http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- workers ----------------------------------------------------------- */

/* Accept every pending connection of the worker's listen socket. */
static void
worker_accept(struct http_worker *w)
{
    for (;;) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && !w->accept_warned) {
                sy_mock_log("accept: %s", strerror(errno));
                w->accept_warned = true;
            }
            return;
        }
        sy_mock_conn_open(w, fd);
    }
}

/* A worker thread: serve its connections until the stop event. */
static void *
worker_main(void *arg)
{
    struct http_worker *w = arg;
    struct epoll_event evs[256];

    for (;;) {
        int n = epoll_wait(w->ep, evs, 256, sy_mock_conn_timeout_ms(w));
        int i;

        if (n < 0 && errno != EINTR) {
            sy_mock_log("epoll_wait: %s", strerror(errno));
            break;
        }
        for (i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;

            if (ptr == &w->h->stop_fd) {
                goto out;
            }
            if (ptr == &w->lfd) {
                worker_accept(w);
                continue;
            }
            sy_mock_conn_on_event(ptr, evs[i].events);
        }
        sy_mock_conn_run_timers(w);
    }
out:
    while (w->conns != NULL) {
        sy_mock_conn_free(w->conns);
    }
    return NULL;
}

/* ---- server ------------------------------------------------------------ */

/* A listening TCP socket on "addr" with SO_REUSEPORT; -1 on error. */
static int
http_listen(const struct sockaddr_in *addr)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 ||
        listen(fd, 1024) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Add "fd" to "ep" for input, tagged with "tag"; -1 on error. */
static int
worker_watch(int ep, int fd, void *tag)
{
    struct epoll_event ev;

    ev.events = EPOLLIN;
    ev.data.ptr = tag;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * Bind "threads" listen sockets to "host" (an IPv4 loopback address) and
 * "port" (0: the kernel picks one) and set up the workers, without
 * starting them. Returns NULL after logging why; "*bound_port" is the
 * port. Free with sy_mock_http_free.
 */
struct sy_mock_http *
sy_mock_http_new(struct sy_mock_server *srv, const char *host, int port,
                 int threads, int *bound_port)
{
    struct sy_mock_http *h = sy_mock_xcalloc(1, sizeof(*h));
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);
    int i;

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        sy_mock_log("bad --host %s", host);
        free(h);
        return NULL;
    }
    h->srv = srv;
    h->n_workers = threads;
    h->workers = sy_mock_xcalloc((size_t)threads, sizeof(*h->workers));
    h->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (i = 0; i < threads; i++) {
        h->workers[i].lfd = -1;
        h->workers[i].ep = -1;
    }
    if (h->stop_fd < 0) {
        sy_mock_log("eventfd: %s", strerror(errno));
        sy_mock_http_free(h);
        return NULL;
    }
    for (i = 0; i < threads; i++) {
        struct http_worker *w = &h->workers[i];

        w->h = h;
        sy_mock_rng_seed(&w->rng, srv->seed * 1000003u + (uint64_t)i);
        w->lfd = http_listen(&addr);
        if (w->lfd < 0) {
            sy_mock_log("cannot listen on %s:%d: %s", host,
                        ntohs(addr.sin_port), strerror(errno));
            sy_mock_http_free(h);
            return NULL;
        }
        if (i == 0) {
            getsockname(w->lfd, (struct sockaddr *)&addr, &alen);
        }
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (w->ep < 0 || worker_watch(w->ep, w->lfd, &w->lfd) < 0 ||
            worker_watch(w->ep, h->stop_fd, &h->stop_fd) < 0) {
            sy_mock_log("epoll: %s", strerror(errno));
            sy_mock_http_free(h);
            return NULL;
        }
    }
    *bound_port = ntohs(addr.sin_port);
    return h;
}

/* Start the worker threads; false when one could not be started (the
 * ones already started are stopped by sy_mock_http_stop). */
bool
sy_mock_http_start(struct sy_mock_http *h)
{
    int i;

    for (i = 0; i < h->n_workers; i++) {
        struct http_worker *w = &h->workers[i];

        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            sy_mock_log("cannot start worker thread %d", i);
            return false;
        }
        w->running = true;
    }
    return true;
}

/* Make every worker close its connections and exit, and wait for them. */
void
sy_mock_http_stop(struct sy_mock_http *h)
{
    uint64_t one = 1;
    int i;

    if (write(h->stop_fd, &one, sizeof(one)) < 0) {
        sy_mock_log("cannot signal the workers: %s", strerror(errno));
    }
    for (i = 0; i < h->n_workers; i++) {
        if (h->workers[i].running) {
            pthread_join(h->workers[i].thread, NULL);
            h->workers[i].running = false;
        }
    }
}

/* Free the server; the workers must be stopped. Accepts NULL. */
void
sy_mock_http_free(struct sy_mock_http *h)
{
    int i;

    if (h == NULL) {
        return;
    }
    for (i = 0; i < h->n_workers; i++) {
        struct http_worker *w = &h->workers[i];

        if (w->lfd >= 0) {
            close(w->lfd);
        }
        if (w->ep >= 0) {
            close(w->ep);
        }
        free(w->heap);
    }
    if (h->stop_fd >= 0) {
        close(h->stop_fd);
    }
    free(h->workers);
    free(h);
}
