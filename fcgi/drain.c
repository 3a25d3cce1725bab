/*
 * drain.c - empty the connections of requests answered without reading
 * their whole body (a 401, a 404, a 413, a 415, a 408), off the request
 * threads.
 *
 * Why not just close: Apache's mod_proxy_fcgi forwards a body as it
 * arrives and reads the gateway's answer only between two pieces of it;
 * if the gateway has closed by then, httpd fails writing the next piece
 * and the client gets a bare 503 instead of the gateway's answer. And
 * libfcgi's own close reads the rest of the body first (2 s per read, no
 * total limit), which would hold the request thread for as long as the
 * client trickles. So the request thread hands the connection here and
 * goes back to accept(): one thread per process reads and discards what
 * arrives until the web server closes (it does once it has the answer)
 * or the deadline passes, whichever is first. At most 'max_conns' are
 * held; beyond that a connection is closed at once.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "drain.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct held {
    int fd;
    uint64_t deadline_ms;
};

struct sy_drain {
    pthread_t tid;
    int ep;             /* epoll set of the held connections */
    pthread_mutex_t mu; /* guards held/nheld */
    struct held *held;
    unsigned nheld;
    unsigned max;
    atomic_bool stop; /* set by sy_drain_stop */
};

/* Forget and close held connection 'fd' (mutex held). */
static void
drop_locked(struct sy_drain *d, int fd)
{
    for (unsigned i = 0; i < d->nheld; i++)
        if (d->held[i].fd == fd) {
            epoll_ctl(d->ep, EPOLL_CTL_DEL, fd, NULL);
            close(fd);
            d->held[i] = d->held[--d->nheld];
            return;
        }
}

/* Read and discard what 'fd' has; false at EOF or on an error. */
static bool
discard(int fd)
{
    char trash[16384];
    for (int i = 0; i < 64; i++) {
        ssize_t k = recv(fd, trash, sizeof(trash), MSG_DONTWAIT);
        if (k > 0)
            continue;
        return k < 0 &&
               (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
    return true; /* more to come: the next round */
}

static void *
drain_main(void *arg)
{
    struct sy_drain *d = arg;
    struct epoll_event ev[64];
    while (!atomic_load_explicit(&d->stop, memory_order_acquire)) {
        /* A short wait, so deadlines and the stop flag are seen soon. */
        int n = epoll_wait(d->ep, ev, SY_ARRAY_LEN(ev), 100);
        pthread_mutex_lock(&d->mu);
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (!discard(fd))
                drop_locked(d, fd);
        }
        uint64_t now = sy_now_ms();
        for (unsigned i = 0; i < d->nheld;) {
            if (d->held[i].deadline_ms <= now)
                drop_locked(d, d->held[i].fd); /* moves the last to i */
            else
                i++;
        }
        pthread_mutex_unlock(&d->mu);
    }
    return NULL;
}

/* Start the drain thread; NULL when it cannot run (connections are then
 * closed at once by the caller). */
struct sy_drain *
sy_drain_start(unsigned max_conns)
{
    struct sy_drain *d = sy_xcalloc(1, sizeof(*d));
    atomic_init(&d->stop, false);
    d->max = max_conns;
    d->held = sy_xcalloc(max_conns ? max_conns : 1, sizeof(*d->held));
    d->ep = epoll_create1(EPOLL_CLOEXEC);
    pthread_mutex_init(&d->mu, NULL);
    if (d->ep < 0 || pthread_create(&d->tid, NULL, drain_main, d) != 0) {
        sy_log_error(NULL, "cannot start the drain thread: %s",
                     strerror(errno));
        if (d->ep >= 0)
            close(d->ep);
        pthread_mutex_destroy(&d->mu);
        free(d->held);
        free(d);
        return NULL;
    }
    return d;
}

/* Hand connection 'fd' over (it is ours to close from now on): emptied
 * until the peer closes it or 'deadline_ms' (sy_now_ms clock). Returns
 * false, and closes it, when it cannot be held. */
bool
sy_drain_add(struct sy_drain *d, int fd, uint64_t deadline_ms)
{
    if (d == NULL) {
        close(fd);
        return false;
    }
    pthread_mutex_lock(&d->mu);
    bool ok = d->nheld < d->max &&
              !atomic_load_explicit(&d->stop, memory_order_acquire);
    if (ok) {
        struct epoll_event e = { .events = EPOLLIN | EPOLLRDHUP,
                                 .data.fd = fd };
        ok = epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &e) == 0;
    }
    if (ok)
        d->held[d->nheld++] = (struct held){ fd, deadline_ms };
    pthread_mutex_unlock(&d->mu);
    if (!ok)
        close(fd);
    return ok;
}

/* How many connections are held now. */
unsigned
sy_drain_count(struct sy_drain *d)
{
    if (d == NULL)
        return 0;
    pthread_mutex_lock(&d->mu);
    unsigned n = d->nheld;
    pthread_mutex_unlock(&d->mu);
    return n;
}

/* Stop the thread and close whatever is still held. */
void
sy_drain_stop(struct sy_drain *d)
{
    if (d == NULL)
        return;
    atomic_store_explicit(&d->stop, true, memory_order_release);
    pthread_join(d->tid, NULL);
    for (unsigned i = 0; i < d->nheld; i++)
        close(d->held[i].fd);
    close(d->ep);
    pthread_mutex_destroy(&d->mu);
    free(d->held);
    free(d);
}
