/*
 * relay.c - a delaying TCP relay for the multi-host tests (build/relay):
 * accepts connections on one address, connects each to a target address
 * and forwards the bytes both ways, holding every chunk it reads for a
 * fixed delay before writing it on. With 2 ms each way it stands in for
 * the network between a gateway host and Redis (the test kernel has no
 * netem); with no delay it exposes a loopback-only server (the mock
 * provider) on a namespace's address.
 *
 * One thread: epoll for the sockets, a timerfd for the due times. Order
 * within a direction is kept, a half-close is passed on after the same
 * delay as the data before it, a reset or error on either side closes
 * both. A direction holding RELAY_QUEUE_MAX bytes stops reading until it
 * drains (backpressure). Test tool: IPv4 only, a concrete listen address
 * (never 0.0.0.0), a bounded lifetime (--max-lifetime, SIGALRM).
 * See tests/integration/README.md (multi-host) for how the tests use it.
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RELAY_READ      65536      /* bytes per read */
#define RELAY_QUEUE_MAX (4u << 20) /* bytes held per direction */
#define RELAY_EVENTS    64

/* Bytes read at one time, waiting until due_ns; len 0 is the end of the
 * stream (pass the half-close on). */
struct chunk {
    struct chunk *next;
    uint64_t due_ns;
    size_t len;
    size_t off; /* bytes of data already written */
    unsigned char data[];
};

/* One direction of a connection: what was read from ends[s] waits here
 * before it is written to ends[1 - s]. */
struct dir {
    struct chunk *head;
    struct chunk *tail;
    size_t queued;
    bool eof_read; /* the source said EOF: read no more */
    bool shut;     /* the EOF was passed on (shutdown SHUT_WR) */
    bool blocked;  /* the destination is full: wait for EPOLLOUT */
};

struct conn;

/* One socket of a connection; epoll's data.ptr points here. */
struct end {
    struct conn *conn;
    int fd;
    int side;      /* 0 = the accepted client, 1 = the target */
    uint32_t mask; /* events registered with epoll */
    bool polled;   /* registered with epoll */
};

struct conn {
    struct end ends[2];
    struct dir dirs[2]; /* dirs[s] is read from ends[s] */
    bool connecting;    /* the connect to the target is in progress */
    bool dead;
    struct conn *next;
};

struct relay {
    int ep;
    int lfd;
    int tfd;
    struct sockaddr_in to;
    uint64_t delay_ns;
    struct conn *conns;
    struct conn *graveyard; /* killed during this event batch */
    bool quiet;
    unsigned char buf[RELAY_READ];
};

/* epoll tags of the listening socket and the timer. */
static char tag_listen;
static char tag_timer;

static const char relay_usage[] =
    "usage: relay --listen ADDR:PORT --to ADDR:PORT [--delay-us N]\n"
    "             [--delay-ms N] [--port-file FILE] [--max-lifetime SECS]\n"
    "             [--quiet]\n"
    "Forwards TCP both ways, each chunk delayed by the given time.\n";

static void
die(const char *what)
{
    fprintf(stderr, "relay: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n);

    if (p == NULL) {
        fprintf(stderr, "relay: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* "A.B.C.D:PORT" into "out"; false when malformed. */
static bool
parse_addr(const char *s, struct sockaddr_in *out)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    char *end = NULL;

    if (colon == NULL || (size_t)(colon - s) >= sizeof(host)) {
        return false;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || port > 65535) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

/* ---- connections --------------------------------------------------- */

/* Register, change or drop the epoll events of "e" to what its state
 * needs: input while its direction reads and has room, output while
 * connecting or while writes to it are blocked. */
static void
end_update(struct relay *r, struct end *e)
{
    struct conn *c = e->conn;
    const struct dir *in = &c->dirs[e->side];
    const struct dir *out = &c->dirs[1 - e->side];
    uint32_t mask = 0;

    if (!in->eof_read && in->queued < RELAY_QUEUE_MAX) {
        mask |= EPOLLIN;
    }
    if ((e->side == 1 && c->connecting) || out->blocked) {
        mask |= EPOLLOUT;
    }
    /* Read to the end and told the end: nothing more to wait for (and
     * its EPOLLHUP would be reported for ever). */
    bool done = in->eof_read && out->shut;
    if (done) {
        if (e->polled) {
            epoll_ctl(r->ep, EPOLL_CTL_DEL, e->fd, NULL);
            e->polled = false;
        }
        return;
    }
    if (e->polled && mask == e->mask) {
        return;
    }
    struct epoll_event ev = { .events = mask, .data.ptr = e };
    if (epoll_ctl(r->ep, e->polled ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, e->fd,
                  &ev) != 0) {
        die("epoll_ctl");
    }
    e->polled = true;
    e->mask = mask;
}

/* Close both sockets, drop what is queued; freed after the event batch
 * (later events of the batch may still point at it). */
static void
conn_kill(struct relay *r, struct conn *c, const char *why)
{
    if (c->dead) {
        return;
    }
    if (why != NULL && !r->quiet) {
        fprintf(stderr, "relay: connection closed: %s\n", why);
    }
    for (int s = 0; s < 2; s++) {
        close(c->ends[s].fd);
        struct chunk *k = c->dirs[s].head;
        while (k != NULL) {
            struct chunk *next = k->next;
            free(k);
            k = next;
        }
        c->dirs[s].head = c->dirs[s].tail = NULL;
    }
    c->dead = true;
    struct conn **pp = &r->conns;
    while (*pp != c) {
        pp = &(*pp)->next;
    }
    *pp = c->next;
    c->next = r->graveyard;
    r->graveyard = c;
}

/* Queue "len" bytes (0: the end of the stream) read from side "s". */
static void
dir_push(struct relay *r, struct conn *c, int s, const void *p, size_t len)
{
    struct chunk *k = xmalloc(sizeof(*k) + len);
    struct dir *d = &c->dirs[s];

    k->next = NULL;
    k->due_ns = now_ns() + r->delay_ns;
    k->len = len;
    k->off = 0;
    if (len > 0) {
        memcpy(k->data, p, len);
    }
    if (d->tail != NULL) {
        d->tail->next = k;
    } else {
        d->head = k;
    }
    d->tail = k;
    d->queued += len;
}

/* Write what is due of direction "s"; false when the connection died. */
static bool
dir_flush(struct relay *r, struct conn *c, int s, uint64_t now)
{
    struct dir *d = &c->dirs[s];
    struct end *dst = &c->ends[1 - s];

    if (d->blocked || (s == 0 && c->connecting)) {
        return true;
    }
    while (d->head != NULL && d->head->due_ns <= now) {
        struct chunk *k = d->head;
        if (k->len == 0) {
            shutdown(dst->fd, SHUT_WR);
            d->shut = true;
        } else {
            ssize_t n =
                send(dst->fd, k->data + k->off, k->len - k->off, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                d->blocked = true;
                break;
            }
            if (n < 0) {
                conn_kill(r, c, strerror(errno));
                return false;
            }
            k->off += (size_t)n;
            if (k->off < k->len) {
                d->blocked = true;
                break;
            }
            d->queued -= k->len;
        }
        d->head = k->next;
        if (d->head == NULL) {
            d->tail = NULL;
        }
        free(k);
    }
    return true;
}

/* Read from end "e" until it would block, the queue is full or EOF. */
static void
end_read(struct relay *r, struct end *e)
{
    struct conn *c = e->conn;
    struct dir *d = &c->dirs[e->side];

    while (!d->eof_read && d->queued < RELAY_QUEUE_MAX) {
        ssize_t n = recv(e->fd, r->buf, sizeof(r->buf), 0);
        if (n > 0) {
            dir_push(r, c, e->side, r->buf, (size_t)n);
        } else if (n == 0) {
            dir_push(r, c, e->side, NULL, 0);
            d->eof_read = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno != EINTR) {
            conn_kill(r, c, strerror(errno));
            return;
        }
    }
}

/* The target's connect finished (or failed). */
static void
conn_connected(struct relay *r, struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->ends[1].fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        err = errno;
    }
    if (err != 0) {
        conn_kill(r, c, strerror(err));
        return;
    }
    c->connecting = false;
}

static void
sock_tune(int fd)
{
    int one = 1;

    /* Small request/reply traffic (Redis): no Nagle delay on top. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A new client: connect it to the target. */
static void
conn_open(struct relay *r, int cfd)
{
    int tfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (tfd < 0) {
        close(cfd);
        return;
    }
    sock_tune(cfd);
    sock_tune(tfd);
    bool connecting = false;
    if (connect(tfd, (const struct sockaddr *)&r->to, sizeof(r->to)) != 0) {
        if (errno != EINPROGRESS) {
            if (!r->quiet) {
                fprintf(stderr, "relay: connect: %s\n", strerror(errno));
            }
            close(cfd);
            close(tfd);
            return;
        }
        connecting = true;
    }
    struct conn *c = xmalloc(sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->connecting = connecting;
    for (int s = 0; s < 2; s++) {
        c->ends[s].conn = c;
        c->ends[s].fd = s == 0 ? cfd : tfd;
        c->ends[s].side = s;
    }
    c->next = r->conns;
    r->conns = c;
    end_update(r, &c->ends[0]);
    end_update(r, &c->ends[1]);
}

static void
relay_accept(struct relay *r)
{
    for (;;) {
        int cfd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED && !r->quiet) {
                fprintf(stderr, "relay: accept: %s\n", strerror(errno));
            }
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return;
        }
        conn_open(r, cfd);
    }
}

/* ---- the loop ------------------------------------------------------ */

/* One epoll event on a connection's socket. */
static void
end_event(struct relay *r, struct end *e, uint32_t ev)
{
    struct conn *c = e->conn;

    if (c->dead) {
        return;
    }
    if (e->side == 1 && c->connecting && (ev & (EPOLLOUT | EPOLLERR))) {
        conn_connected(r, c);
        if (c->dead) {
            return;
        }
    }
    if (ev & EPOLLOUT) {
        c->dirs[1 - e->side].blocked = false;
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        end_read(r, e);
    }
    /* A hang-up is normal once this side is read to its end and was told
     * ours; before that (a reset) or any error ends the connection. */
    bool done = c->dirs[e->side].eof_read && c->dirs[1 - e->side].shut;
    if (!c->dead && ((ev & EPOLLERR) || ((ev & EPOLLHUP) && !done))) {
        conn_kill(r, c, "reset by peer");
    }
}

/* Write everything due, refresh the epoll masks, end finished
 * connections; returns the earliest due time still waiting (0: none). */
static uint64_t
relay_flush(struct relay *r)
{
    uint64_t now = now_ns();
    uint64_t next = 0;
    struct conn *c = r->conns;

    while (c != NULL) {
        struct conn *following = c->next;
        bool alive = dir_flush(r, c, 0, now) && dir_flush(r, c, 1, now);
        if (alive && c->dirs[0].shut && c->dirs[1].shut) {
            conn_kill(r, c, NULL);
            alive = false;
        }
        if (alive) {
            end_update(r, &c->ends[0]);
            end_update(r, &c->ends[1]);
            for (int s = 0; s < 2; s++) {
                const struct dir *d = &c->dirs[s];
                bool waiting = d->head != NULL && !d->blocked &&
                               !(s == 0 && c->connecting);
                if (waiting && (next == 0 || d->head->due_ns < next)) {
                    next = d->head->due_ns;
                }
            }
        }
        c = following;
    }
    return next;
}

static void
timer_arm(struct relay *r, uint64_t due_ns)
{
    struct itimerspec its;

    memset(&its, 0, sizeof(its));
    if (due_ns != 0) {
        its.it_value.tv_sec = (time_t)(due_ns / 1000000000u);
        its.it_value.tv_nsec = (long)(due_ns % 1000000000u);
    }
    if (timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) {
        die("timerfd_settime");
    }
}

static void
relay_run(struct relay *r)
{
    struct epoll_event evs[RELAY_EVENTS];

    for (;;) {
        uint64_t due = relay_flush(r);
        while (r->graveyard != NULL) {
            struct conn *c = r->graveyard;
            r->graveyard = c->next;
            free(c);
        }
        /* Already due (a zero delay): flush again before sleeping. */
        if (due != 0 && due <= now_ns()) {
            continue;
        }
        timer_arm(r, due);
        int n = epoll_wait(r->ep, evs, RELAY_EVENTS, -1);
        if (n < 0 && errno != EINTR) {
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == &tag_listen) {
                relay_accept(r);
            } else if (tag == &tag_timer) {
                uint64_t ticks;
                ssize_t rd = read(r->tfd, &ticks, sizeof(ticks));
                (void)rd;
            } else {
                end_event(r, tag, evs[i].events);
            }
        }
    }
}

/* ---- start-up ------------------------------------------------------ */

struct relay_opts {
    const char *listen;
    const char *to;
    const char *port_file;
    unsigned long delay_us;
    unsigned long max_lifetime_s;
    bool quiet;
};

static unsigned long
num_arg(const char *flag, const char *v, unsigned long max)
{
    char *end = NULL;

    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n > max || v[0] == '-') {
        fprintf(stderr, "relay: bad value for %s: '%s'\n%s", flag, v,
                relay_usage);
        exit(2);
    }
    return n;
}

static void
parse_opts(int argc, char **argv, struct relay_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_lifetime_s = 3600;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (strcmp(f, "--quiet") == 0) {
            o->quiet = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "relay: '%s' needs a value\n%s", f, relay_usage);
            exit(2);
        }
        const char *v = argv[++i];
        if (strcmp(f, "--listen") == 0) {
            o->listen = v;
        } else if (strcmp(f, "--to") == 0) {
            o->to = v;
        } else if (strcmp(f, "--port-file") == 0) {
            o->port_file = v;
        } else if (strcmp(f, "--delay-us") == 0) {
            o->delay_us = num_arg(f, v, 10000000);
        } else if (strcmp(f, "--delay-ms") == 0) {
            o->delay_us = num_arg(f, v, 10000) * 1000u;
        } else if (strcmp(f, "--max-lifetime") == 0) {
            o->max_lifetime_s = num_arg(f, v, 86400);
        } else {
            fprintf(stderr, "relay: unknown flag '%s'\n%s", f, relay_usage);
            exit(2);
        }
    }
    if (o->listen == NULL || o->to == NULL) {
        fprintf(stderr, "%s", relay_usage);
        exit(2);
    }
}

/* Write the port to "path" through a temporary file and a rename, so a
 * reader never sees half of it. */
static void
write_port_file(const char *path, unsigned port)
{
    char tmp[4096];

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        fprintf(stderr, "relay: --port-file path too long\n");
        exit(2);
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 ||
        rename(tmp, path) != 0) {
        die(path);
    }
}

/* Bind and listen on "addr" (a concrete address, port 0 = any free). */
static int
listen_on(struct sockaddr_in *addr)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        die("socket");
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0) {
        die("bind");
    }
    if (listen(fd, 512) != 0) {
        die("listen");
    }
    socklen_t len = sizeof(*addr);
    if (getsockname(fd, (struct sockaddr *)addr, &len) != 0) {
        die("getsockname");
    }
    return fd;
}

int
main(int argc, char **argv)
{
    static struct relay r;
    struct relay_opts o;
    struct sockaddr_in la;

    parse_opts(argc, argv, &o);
    if (!parse_addr(o.listen, &la) || !parse_addr(o.to, &r.to)) {
        fprintf(stderr, "relay: addresses are A.B.C.D:PORT\n%s", relay_usage);
        return 2;
    }
    if (la.sin_addr.s_addr == htonl(INADDR_ANY)) {
        fprintf(stderr, "relay: listen on a concrete address, not 0.0.0.0\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (o.max_lifetime_s > 0) {
        alarm((unsigned)o.max_lifetime_s); /* SIGALRM ends the process */
    }
    r.delay_ns = (uint64_t)o.delay_us * 1000u;
    r.quiet = o.quiet;
    r.lfd = listen_on(&la);
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    r.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (r.ep < 0 || r.tfd < 0) {
        die("epoll/timerfd");
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tag_listen };
    struct epoll_event tev = { .events = EPOLLIN, .data.ptr = &tag_timer };
    if (epoll_ctl(r.ep, EPOLL_CTL_ADD, r.lfd, &ev) != 0 ||
        epoll_ctl(r.ep, EPOLL_CTL_ADD, r.tfd, &tev) != 0) {
        die("epoll_ctl");
    }
    if (o.port_file != NULL) {
        write_port_file(o.port_file, ntohs(la.sin_port));
    }
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &la.sin_addr, host, sizeof(host));
    printf("relay listening on %s:%u -> %s, delay %lu us each way\n", host,
           (unsigned)ntohs(la.sin_port), o.to, o.delay_us);
    fflush(stdout);
    relay_run(&r);
    return 0;
}
