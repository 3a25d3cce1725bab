/*
 * test_fcgi_server.c - unit tests for fcgi/server.c against real libfcgi
 * over a real socket: a request body that trickles in a byte at a time is
 * cut at server.body_timeout_ms (FCGX_GetStr alone would wait for all of
 * it), closing a request whose body was left unread does not wait for
 * the rest, a body already buffered in libfcgi is read whole; and the
 * process hardening: --listen PORT binds 127.0.0.1, the unix socket has
 * mode 0660 from bind on (no chmod afterwards), the pid file is never
 * written through a symlink, core dumps are off. A connection whose body
 * was left unread goes to the drain thread: the answer is out at once,
 * the client's further bytes are swallowed, the connection closed at the
 * drain deadline.
 * fcgi/ is not in libswitchyard.a, so the .c files are included.
 * SPDX-License-Identifier: MIT
 */
#include <sys/stat.h>

/* Every chmod of server.c is recorded and does nothing: the socket's
 * mode must come from its creation. */
static int chmod_calls;
static int
test_chmod(const char *path, mode_t mode)
{
    (void)path;
    (void)mode;
    chmod_calls++;
    return 0;
}
#define chmod(p, m) test_chmod(p, m)

#include "fcgi/activation.c"
#include "fcgi/conn.c"
#include "fcgi/drain.c"
#include "fcgi/request.c"
#include "fcgi/server.c"
#include "fcgi/sink.c"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

static char dir[64];
static char sock_path[128];

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/sy-fcgi-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/s.sock", dir);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* ------------------------------------------------------------------ */
/* A FastCGI client (the "web server")                                 */

static size_t
record(unsigned char *out, int type, const void *body, size_t len)
{
    unsigned char pad = (unsigned char)((8 - len % 8) % 8);
    out[0] = 1;
    out[1] = (unsigned char)type;
    out[2] = 0;
    out[3] = 1; /* request id 1 */
    out[4] = (unsigned char)(len >> 8);
    out[5] = (unsigned char)len;
    out[6] = pad;
    out[7] = 0;
    memcpy(out + 8, body, len);
    memset(out + 8 + len, 0, pad);
    return 8 + len + pad;
}

static size_t
param(unsigned char *p, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    p[0] = (unsigned char)nl;
    p[1] = (unsigned char)vl;
    memcpy(p + 2, name, nl);
    memcpy(p + 2 + nl, value, vl);
    return 2 + nl + vl;
}

struct client {
    pthread_t tid;
    const char *content_length;
    const char *body;        /* sent at once, then EOF; or NULL */
    unsigned trickle_ms;     /* otherwise: one byte every trickle_ms */
    unsigned trickle_for_ms; /* for this long, then close */
    bool keep;               /* FCGI_KEEP_CONN, and a second request
                                  on the connection after 'pause_ms' */
    unsigned pause_ms;
    int fd;
    size_t sent;
    uint64_t t0;
    uint64_t send_failed_ms; /* when a send first failed (0: never) */
    bool got_end;            /* an END_REQUEST record came back */
};

/* Read what comes back until EOF; note an END_REQUEST record. */
static void
client_read_back(struct client *c)
{
    static unsigned char in[1u << 16];
    size_t n = 0;
    struct timeval tv = { 3, 0 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (;;) {
        ssize_t k = recv(c->fd, in + n, sizeof(in) - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    for (size_t i = 0; i + 8 <= n;) {
        if (in[i + 1] == 3)
            c->got_end = true;
        i += 8 + (size_t)(in[i + 4] << 8 | in[i + 5]) + in[i + 6];
    }
}

static void
send_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

static void *
client_main(void *arg)
{
    struct client *c = arg;
    static unsigned char buf[1u << 17];
    unsigned char body[512];
    size_t n = 0, bl = 0;
    const unsigned char begin[8] = { 0, 1, c->keep ? 1 : 0, 0, 0, 0, 0, 0 };
    n += record(buf + n, 1, begin, 8);
    bl += param(body + bl, "REQUEST_METHOD", "POST");
    bl += param(body + bl, "REQUEST_URI", "/v1/chat/completions");
    bl += param(body + bl, "CONTENT_TYPE", "application/json");
    bl += param(body + bl, "CONTENT_LENGTH", c->content_length);
    n += record(buf + n, 4, body, bl);
    n += record(buf + n, 4, "", 0);
    if (c->body != NULL) {
        /* Many small records in one write: libfcgi buffers what follows
         * the record it is in. */
        size_t len = strlen(c->body);
        for (size_t i = 0; i < len; i += 100)
            n += record(buf + n, 5, c->body + i, SY_MIN((size_t)100, len - i));
        n += record(buf + n, 5, "", 0);
        send_all(c->fd, buf, n);
        if (c->keep) {
            /* The same request again, later, on the same connection. */
            usleep(c->pause_ms * 1000);
            send_all(c->fd, buf, n);
        }
        return NULL;
    }
    send_all(c->fd, buf, n);
    c->t0 = sy_now_ms();
    uint64_t end = c->t0 + c->trickle_for_ms;
    while (sy_now_ms() < end) {
        unsigned char one[16];
        size_t k = record(one, 5, "x", 1);
        if (send(c->fd, one, k, MSG_NOSIGNAL) != (ssize_t)k) {
            c->send_failed_ms = sy_now_ms() - c->t0;
            break;
        }
        c->sent++;
        usleep(c->trickle_ms * 1000);
    }
    shutdown(c->fd, SHUT_WR);
    client_read_back(c);
    return NULL;
}

static void
client_start(struct client *c)
{
    c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", sock_path);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(pthread_create(&c->tid, NULL, client_main, c), 0);
}

static void
client_stop(struct client *c)
{
    pthread_join(c->tid, NULL);
    close(c->fd);
}

/* Accept one request on 'lfd' and read its parameters. */
static void
accept_one(int lfd, FCGX_Request *req, struct sy_fcgi_conn *fc,
           struct sy_fcgi_io *io, struct sy_arena *a, struct sy_req *r,
           uint32_t body_timeout_ms)
{
    assert_int_equal(FCGX_InitRequest(req, lfd, 0), 0);
    assert_int_equal(FCGX_Accept_r(req), 0);
    static struct sy_sink sink; /* one request at a time */
    sy_fcgi_conn_begin(fc, req, 30000, io, &sink);
    sy_fcgi_read_request(io, 1u << 20, body_timeout_ms, a, r);
}

/* ------------------------------------------------------------------ */
/* Body deadline                                                       */

static void
test_trickle_cut_at_deadline(void **state)
{
    (void)state;
    assert_int_equal(FCGX_Init(), 0);
    char spec[160];
    snprintf(spec, sizeof(spec), "unix:%s", sock_path);
    int lfd = open_listener(spec);
    assert_true(lfd >= 0);
    struct client c = { .content_length = "1000",
                        .trickle_ms = 200,
                        .trickle_for_ms = 4000 };
    client_start(&c);
    FCGX_Request req;
    struct sy_fcgi_conn fc;
    struct sy_fcgi_io io;
    struct sy_arena a;
    struct sy_req r;
    sy_arena_init(&a, 0);
    uint64_t t0 = sy_now_ms();
    accept_one(lfd, &req, &fc, &io, &a, &r, 1000);
    assert_string_equal(r.path, "/v1/chat/completions");
    assert_int_equal(sy_req_body(&r), SY_BODY_TIMEOUT);
    uint64_t took = sy_now_ms() - t0;
    /* One byte every 200 ms never lets a 1,000-byte body finish; the
     * deadline cuts it, not the client giving up after 4 s. */
    assert_true(took >= 950);
    assert_true(took < 1600);
    assert_true(sy_fcgi_body_left(&r));
    /* Ending the request does not wait for the rest of the trickle. */
    uint64_t t1 = sy_now_ms();
    sy_fcgi_conn_finish(&fc, true, NULL, 0);
    assert_true(sy_now_ms() - t1 < 500);
    client_stop(&c);
    FCGX_Free(&req, 1);
    sy_arena_cleanup(&a);
    close(lfd);
}

static void
test_unread_body_goes_to_drain(void **state)
{
    (void)state;
    char spec[160];
    snprintf(spec, sizeof(spec), "unix:%s", sock_path);
    int lfd = open_listener(spec);
    assert_true(lfd >= 0);
    struct sy_drain *drain = sy_drain_start(4);
    assert_non_null(drain);
    struct client c = { .content_length = "100000",
                        .trickle_ms = 100,
                        .trickle_for_ms = 4000 };
    client_start(&c);
    FCGX_Request req;
    struct sy_fcgi_conn fc;
    struct sy_fcgi_io io;
    struct sy_arena a;
    struct sy_req r;
    sy_arena_init(&a, 0);
    accept_one(lfd, &req, &fc, &io, &a, &r, 30000);
    /* Refused before the body (a 401, say): never read. */
    assert_true(sy_fcgi_body_left(&r));
    FCGX_PutS("Status: 401 Unauthorized\r\n\r\n", req.out);
    uint64_t t1 = sy_now_ms();
    sy_fcgi_conn_finish(&fc, true, drain, t1 + 1000);
    /* libfcgi alone would read on, 2 s per read, while the client sends;
     * here the thread is free at once, the drain holds the connection. */
    assert_true(sy_now_ms() - t1 < 200);
    assert_int_equal(req.ipcFd, -1);
    assert_int_equal(sy_drain_count(drain), 1);
    client_stop(&c);
    /* The client could go on sending until the drain deadline (1 s), and
     * got the answer with its end record. */
    assert_true(c.send_failed_ms > 700);
    assert_true(c.send_failed_ms < 2000);
    assert_true(c.got_end);
    assert_int_equal(sy_drain_count(drain), 0);
    sy_drain_stop(drain);
    FCGX_Free(&req, 1);
    sy_arena_cleanup(&a);
    close(lfd);
}

static void
test_drain_limits(void **state)
{
    (void)state;
    int sv[2][2];
    struct sy_drain *d = sy_drain_start(1);
    assert_non_null(d);
    for (int i = 0; i < 2; i++)
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
    assert_true(sy_drain_add(d, sv[0][0], sy_now_ms() + 10000));
    /* Full: closed at once. */
    assert_false(sy_drain_add(d, sv[1][0], sy_now_ms() + 10000));
    char ch;
    assert_int_equal(recv(sv[1][1], &ch, 1, 0), 0);
    /* The peer closes: dropped at once, not at the deadline. */
    assert_int_equal(send(sv[0][1], "abc", 3, MSG_NOSIGNAL), 3);
    close(sv[0][1]);
    uint64_t t0 = sy_now_ms();
    while (sy_drain_count(d) > 0 && sy_now_ms() - t0 < 2000)
        usleep(10000);
    assert_int_equal(sy_drain_count(d), 0);
    assert_true(sy_now_ms() - t0 < 500);
    close(sv[1][1]);
    sy_drain_stop(d);
    /* Without a drain thread a connection is simply closed. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[0]), 0);
    assert_false(sy_drain_add(NULL, sv[0][0], 0));
    assert_int_equal(recv(sv[0][1], &ch, 1, 0), 0);
    close(sv[0][1]);
}

static void
test_buffered_body_read_whole(void **state)
{
    (void)state;
    char spec[160];
    snprintf(spec, sizeof(spec), "unix:%s", sock_path);
    int lfd = open_listener(spec);
    assert_true(lfd >= 0);
    char *body = sy_xmalloc(5001);
    for (size_t i = 0; i < 5000; i++)
        body[i] = (char)('a' + i % 26);
    body[5000] = '\0';
    struct client c = { .content_length = "5000", .body = body };
    client_start(&c);
    FCGX_Request req;
    struct sy_fcgi_conn fc;
    struct sy_fcgi_io io;
    struct sy_arena a;
    struct sy_req r;
    sy_arena_init(&a, 0);
    uint64_t t0 = sy_now_ms();
    accept_one(lfd, &req, &fc, &io, &a, &r, 2000);
    assert_int_equal(sy_req_body(&r), SY_BODY_OK);
    assert_true(sy_now_ms() - t0 < 1000);
    assert_int_equal(r.body_len, 5000);
    assert_memory_equal(r.body, body, 5000);
    assert_false(sy_fcgi_body_left(&r));
    sy_fcgi_conn_finish(&fc, false, NULL, 0);
    client_stop(&c);
    FCGX_Free(&req, 1);
    sy_arena_cleanup(&a);
    free(body);
    close(lfd);
}

static void
test_kept_connection_outlives_deadline(void **state)
{
    (void)state;
    char spec[160];
    snprintf(spec, sizeof(spec), "unix:%s", sock_path);
    int lfd = open_listener(spec);
    assert_true(lfd >= 0);
    struct client c = { .content_length = "300",
                        .keep = true,
                        .pause_ms = 900 };
    char body[301];
    memset(body, 'k', 300);
    body[300] = '\0';
    c.body = body;
    client_start(&c);
    FCGX_Request req;
    struct sy_fcgi_conn fc;
    struct sy_fcgi_io io;
    struct sy_arena a;
    struct sy_req r;
    sy_arena_init(&a, 0);
    /* Were the receive timeout left on, libfcgi would drop the
     * connection and wait for another forever: the alarm ends that. */
    alarm(10);
    accept_one(lfd, &req, &fc, &io, &a, &r, 500);
    assert_int_equal(req.keepConnection, 1);
    assert_int_equal(sy_req_body(&r), SY_BODY_OK);
    int fd = req.ipcFd;
    sy_fcgi_conn_finish(&fc, false, NULL, 0);
    /* The connection waits for its next request longer than the body
     * deadline was: the receive timeout of the body read is gone. */
    assert_int_equal(req.ipcFd, fd);
    assert_int_equal(FCGX_Accept_r(&req), 0);
    assert_int_equal(req.ipcFd, fd);
    sy_arena_reset(&a);
    sy_fcgi_read_request(&io, 1u << 20, 500, &a, &r);
    assert_int_equal(sy_req_body(&r), SY_BODY_OK);
    assert_int_equal(r.body_len, 300);
    alarm(0);
    req.keepConnection = 0;
    sy_fcgi_conn_finish(&fc, false, NULL, 0);
    client_stop(&c);
    FCGX_Free(&req, 1);
    sy_arena_cleanup(&a);
    close(lfd);
}

/* ------------------------------------------------------------------ */
/* Process hardening                                                   */

static void
test_unix_socket_mode_from_bind(void **state)
{
    (void)state;
    char spec[160];
    snprintf(spec, sizeof(spec), "unix:%s", sock_path);
    (void)test_chmod;
    mode_t old = umask(0);
    chmod_calls = 0;
    int lfd = open_listener(spec);
    mode_t now = umask(old);
    assert_true(lfd >= 0);
    /* The process umask is restored. */
    assert_int_equal(now, 0);
    struct stat st;
    assert_int_equal(stat(sock_path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_int_equal(chmod_calls, 0);
    close(lfd);
}

static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void
bound_to(const char *host, int port, uint32_t want)
{
    char spec[64];
    snprintf(spec, sizeof(spec), "%s%d", host, port);
    int lfd = open_listener(spec);
    assert_true(lfd >= 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(sa.sin_family, AF_INET);
    assert_int_equal(ntohs(sa.sin_port), port);
    if (sa.sin_addr.s_addr != htonl(want))
        fail_msg("--listen %s bound %s", spec, inet_ntoa(sa.sin_addr));
    close(lfd);
}

static void
test_listen_port_is_loopback(void **state)
{
    (void)state;
    bound_to("", free_port(), INADDR_LOOPBACK);
    bound_to(":", free_port(), INADDR_LOOPBACK);
    bound_to("127.0.0.1:", free_port(), INADDR_LOOPBACK);
    /* Every interface only when asked for. */
    bound_to("0.0.0.0:", free_port(), INADDR_ANY);
}

static void
test_pid_file_no_symlink(void **state)
{
    (void)state;
    char target[128], link_path[128], buf[64];
    snprintf(target, sizeof(target), "%s/victim", dir);
    snprintf(link_path, sizeof(link_path), "%s/sy.pid", dir);
    FILE *f = fopen(target, "w");
    assert_non_null(f);
    fputs("precious\n", f);
    fclose(f);
    assert_int_equal(symlink(target, link_path), 0);
    assert_false(write_pid_file(link_path));
    f = fopen(target, "r");
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "precious\n");
    /* A plain path works, and holds our pid. */
    unlink(link_path);
    assert_true(write_pid_file(link_path));
    f = fopen(link_path, "r");
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_int_equal(strtol(buf, NULL, 10), (long)getpid());
}

static void
test_no_core_dumps(void **state)
{
    (void)state;
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    sy_fcgi_no_core_dumps();
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    sy_log_set_level(SY_LOG_ERROR);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_trickle_cut_at_deadline),
        T(test_unread_body_goes_to_drain),
        T(test_drain_limits),
        T(test_buffered_body_read_whole),
        T(test_kept_connection_outlives_deadline),
        T(test_unix_socket_mode_from_bind),
        T(test_listen_port_is_loopback),
        T(test_pid_file_no_symlink),
        T(test_no_core_dumps),
#undef T
    };
    return cmocka_run_group_tests_name("fcgi_server", tests, NULL, NULL);
}
