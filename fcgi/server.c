/*
 * server.c - the process and thread model of "switchyard serve".
 *
 * The parent opens (or inherits) the listening socket, forks P worker
 * processes and restarts any that dies. Each worker runs T threads, each
 * in its own FCGX_Accept_r loop with its own struct sy_worker. SIGTERM
 * (or SIGINT) drains: the parent forwards it, workers stop accepting,
 * finish in-flight requests within server.drain_timeout_ms, and exit.
 * fcgiapp.h is included only in fcgi/.
 * SPDX-License-Identifier: MIT
 */
#include "../core/sy.h"
#include "server.h"
#include "request.h"
#include "../core/clock.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/quota.h"
#include "../core/state.h"
#include "../core/usagelog.h"
#include "../core/upstream.h"
#include "../core/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

/* Set by the signal handlers; read by the loops. */
static volatile sig_atomic_t stop_requested;
static volatile int draining;

enum thread_state { T_IDLE, T_BUSY, T_DONE };

struct thread_slot {
    pthread_t tid;
    struct sy_worker w;
    int listen_fd;
    volatile int state;  /* enum thread_state, atomic access */
};

static void
on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void
on_wake(int sig)
{
    (void)sig; /* only interrupts accept() */
}

/* Is fd 0 a listening socket handed over by a web server (lighttpd
 * bin-path, spawn-fcgi, mod_fcgid)? */
bool
sy_fcgi_fd0_is_listener(void)
{
    int acc = 0;
    socklen_t len = sizeof(acc);
    return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && acc;
}

static int
open_listener(const char *spec)
{
    char addr[512];
    if (strncmp(spec, "unix:", 5) == 0) {
        snprintf(addr, sizeof(addr), "%s", spec + 5);
        unlink(addr); /* a stale socket from a previous run */
    } else if (strchr(spec, ':') == NULL) {
        snprintf(addr, sizeof(addr), ":%s", spec);
    } else {
        snprintf(addr, sizeof(addr), "%s", spec);
    }
    int fd = FCGX_OpenSocket(addr, 1024);
    if (fd < 0)
        return -1;
    if (strncmp(spec, "unix:", 5) == 0)
        chmod(addr, 0660);
    return fd;
}

static const char *
fcgi_param(void *io, const char *name)
{
    FCGX_Request *r = io;
    return FCGX_GetParam(name, r->envp);
}

static long
fcgi_read(void *io, char *buf, size_t n)
{
    FCGX_Request *r = io;
    int want = n > 1u << 20 ? 1 << 20 : (int)n;
    return FCGX_GetStr(buf, want, r->in);
}

static void *
thread_main(void *arg)
{
    struct thread_slot *t = arg;
    FCGX_Request req;
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, SIGUSR1);
    FCGX_InitRequest(&req, t->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
    while (!draining) {
        __atomic_store_n(&t->state, T_IDLE, __ATOMIC_SEQ_CST);
        if (draining)
            break;
        /* The drain wake-up (SIGUSR1) may interrupt accept() only: it
         * stays blocked while a request is served, so it can never cut a
         * provider call or a client write short. A signal that arrives
         * just before accept() is repeated by the drain loop. */
        pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
        int rc = FCGX_Accept_r(&req);
        pthread_sigmask(SIG_BLOCK, &wake, NULL);
        __atomic_store_n(&t->state, T_BUSY, __ATOMIC_SEQ_CST);
        if (rc < 0) {
            if (draining)
                break;
            if (errno == EINVAL) {
                /* The parent shut the listener down: a drain is on its
                 * way (the stop signal may still be in flight). */
                usleep(20000);
            } else if (errno != EINTR) {
                sy_log_error(NULL, "accept failed: %s", strerror(errno));
                usleep(100000);
            }
            continue;
        }
        struct sy_fcgi_io io = {
            .param = fcgi_param, .read = fcgi_read, .io = &req,
        };
        struct sy_sink sink = {.ops = &sy_sink_fcgi_ops, .io = req.out};
        sy_fcgi_serve_one(&t->w, &io, &sink);
        FCGX_Finish_r(&req);
        sy_arena_reset(&t->w.arena);
    }
    FCGX_Free(&req, 1);
    __atomic_store_n(&t->state, T_DONE, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Body of one worker process; never returns. */
static SY_NORETURN void
worker_main(const struct sy_config *cfg, int listen_fd, unsigned nthreads)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* Threads start with SIGTERM/SIGINT/SIGUSR1 blocked; request threads
     * unblock SIGUSR1 (the accept wake-up), the main thread waits for the
     * stop signals. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_wake; /* no SA_RESTART: accept() returns EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (sy_upstream_global_init() != SY_OK) {
        sy_log_error(NULL, "libcurl initialisation failed");
        _exit(1);
    }
    /* Shared state: one state thread and quota table per process, one
     * Redis connection per request thread. */
    struct sy_state *state = NULL;
    sy_state_start(cfg, &state);
    struct sy_quota *quota = sy_quota_new(cfg);
    struct sy_usagelog *usagelog = NULL;
    if (cfg->server.usage_log != NULL && cfg->server.usage_log[0] != '\0') {
        char err[256];
        usagelog = sy_usagelog_open(cfg->server.usage_log, err, sizeof(err));
        if (usagelog == NULL)
            sy_log_error(NULL, "usage log: %s", err);
    }
    struct thread_slot *slots = sy_xcalloc(nthreads, sizeof(*slots));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, cfg->server.thread_stack_kb * 1024);
    unsigned started = 0;
    for (unsigned i = 0; i < nthreads; i++) {
        slots[i].listen_fd = listen_fd;
        sy_worker_init(&slots[i].w, cfg, i, &draining);
        slots[i].w.state = state;
        slots[i].w.quota = quota;
        slots[i].w.store = sy_state_new_store(state);
        slots[i].w.usagelog = usagelog;
        if (pthread_create(&slots[i].tid, &attr, thread_main, &slots[i]) !=
            0) {
            sy_log_error(NULL, "cannot start thread %u: %s", i,
                         strerror(errno));
            sy_worker_cleanup(&slots[i].w);
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);
    if (started == 0)
        _exit(1);

    sigset_t stopset;
    sigemptyset(&stopset);
    sigaddset(&stopset, SIGTERM);
    sigaddset(&stopset, SIGINT);
    int sig = 0;
    sigwait(&stopset, &sig);

    /* Drain: stop accepting, let in-flight requests finish. */
    draining = 1;
    FCGX_ShutdownPending();
    uint64_t deadline = sy_now_ms() + cfg->server.drain_timeout_ms;
    for (;;) {
        unsigned done = 0;
        for (unsigned i = 0; i < started; i++) {
            int st = __atomic_load_n(&slots[i].state, __ATOMIC_SEQ_CST);
            if (st == T_DONE)
                done++;
            else if (st == T_IDLE)
                pthread_kill(slots[i].tid, SIGUSR1);
        }
        if (done == started)
            break;
        if (sy_now_ms() >= deadline) {
            sy_log_warn(NULL, "drain timeout: %u request(s) still running "
                              "are cut off", started - done);
            _exit(0);
        }
        usleep(20000);
    }
    for (unsigned i = 0; i < started; i++) {
        pthread_join(slots[i].tid, NULL);
        sy_worker_cleanup(&slots[i].w);
    }
    free(slots);
    sy_state_stop(state);
    sy_quota_free(quota);
    sy_usagelog_close(usagelog);
    sy_upstream_global_cleanup();
    _exit(0);
}

struct child {
    pid_t pid;
    uint64_t started_ms;
    unsigned quick_deaths;   /* consecutive deaths soon after start */
};

static pid_t
spawn(const struct sy_config *cfg, int listen_fd, unsigned nthreads)
{
    pid_t pid = fork();
    if (pid == 0)
        worker_main(cfg, listen_fd, nthreads);
    return pid;
}

/* Run the pool until SIGTERM/SIGINT; returns the exit status. */
int
sy_fcgi_serve(const struct sy_config *cfg, const struct sy_serve_opts *o)
{
    int listen_fd;
    if (o->listen != NULL) {
        listen_fd = open_listener(o->listen);
        if (listen_fd < 0) {
            fprintf(stderr, "switchyard: cannot listen on %s: %s\n",
                    o->listen, strerror(errno));
            return 1;
        }
    } else if (sy_fcgi_fd0_is_listener()) {
        listen_fd = 0;
    } else {
        fprintf(stderr, "switchyard: no listen address: use --listen, "
                        "server.listen in the config, or let the web server "
                        "spawn switchyard with a socket on fd 0\n");
        return 1;
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "switchyard: FCGX_Init failed\n");
        return 1;
    }
    if (o->pid_file != NULL) {
        FILE *f = fopen(o->pid_file, "w");
        if (f != NULL) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    sy_log_info(NULL, "serving on %s: %u process(es) x %u thread(s)",
                o->listen ? o->listen : "inherited socket", o->processes,
                o->threads);
    struct child *kids = sy_xcalloc(o->processes, sizeof(*kids));
    for (unsigned i = 0; i < o->processes; i++) {
        kids[i].pid = spawn(cfg, listen_fd, o->threads);
        kids[i].started_ms = sy_now_ms();
    }
    while (!stop_requested) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (unsigned i = 0; i < o->processes; i++) {
            if (kids[i].pid != pid)
                continue;
            if (stop_requested) {
                kids[i].pid = 0;
                break;
            }
            uint64_t now = sy_now_ms();
            bool quick = now - kids[i].started_ms < 1000;
            kids[i].quick_deaths = quick ? kids[i].quick_deaths + 1 : 0;
            sy_log_error(NULL, "worker %d %s %d; restarting", (int)pid,
                         WIFSIGNALED(status) ? "killed by signal"
                                             : "exited with status",
                         WIFSIGNALED(status) ? WTERMSIG(status)
                                             : WEXITSTATUS(status));
            /* A worker that keeps dying at start-up is restarted with a
             * growing pause, not in a tight loop. */
            if (kids[i].quick_deaths > 1)
                usleep(SY_MIN(kids[i].quick_deaths * 200000u, 5000000u));
            kids[i].pid = spawn(cfg, listen_fd, o->threads);
            kids[i].started_ms = sy_now_ms();
            break;
        }
    }
    /* Drain: forward the stop, stop accepting at once (new connections
     * are refused, so the web server answers or moves on immediately
     * instead of queueing behind the drain), wait for the workers, then
     * give up on stragglers a little after their own drain deadline. */
    for (unsigned i = 0; i < o->processes; i++)
        if (kids[i].pid > 0)
            kill(kids[i].pid, SIGTERM);
    if (o->listen != NULL && strncmp(o->listen, "unix:", 5) == 0)
        unlink(o->listen + 5);
    shutdown(listen_fd, SHUT_RDWR);
    uint64_t deadline = sy_now_ms() + cfg->server.drain_timeout_ms + 2000;
    unsigned left = 0;
    for (unsigned i = 0; i < o->processes; i++)
        left += kids[i].pid > 0;
    while (left > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (unsigned i = 0; i < o->processes; i++)
                if (kids[i].pid == pid) {
                    kids[i].pid = 0;
                    left--;
                }
            continue;
        }
        if (pid < 0 && errno == ECHILD)
            break;
        if (sy_now_ms() >= deadline) {
            for (unsigned i = 0; i < o->processes; i++)
                if (kids[i].pid > 0)
                    kill(kids[i].pid, SIGKILL);
            deadline = UINT64_MAX;
        }
        usleep(20000);
    }
    free(kids);
    if (o->listen != NULL && strncmp(o->listen, "unix:", 5) == 0)
        unlink(o->listen + 5);
    if (o->pid_file != NULL)
        unlink(o->pid_file);
    sy_log_info(NULL, "stopped");
    return 0;
}

static const char *
cgi_param(void *io, const char *name)
{
    (void)io;
    return getenv(name);
}

static long
cgi_read(void *io, char *buf, size_t n)
{
    (void)io;
    ssize_t r;
    do {
        r = read(0, buf, n);
    } while (r < 0 && errno == EINTR);
    return (long)r;
}

/* Plain CGI: one request from the environment and stdin, answered on
 * stdout. */
int
sy_fcgi_cgi(const struct sy_config *cfg)
{
    int draining_never = 0;
    if (sy_upstream_global_init() != SY_OK)
        return 1;
    struct sy_worker w;
    sy_worker_init(&w, cfg, 0, &draining_never);
    struct sy_state *state = NULL;
    sy_state_start(cfg, &state);
    w.state = state;
    w.quota = sy_quota_new(cfg);
    w.store = sy_state_new_store(state);
    struct sy_fcgi_io io = {.param = cgi_param, .read = cgi_read, .io = NULL};
    struct sy_sink sink = {.ops = &sy_sink_stdio_ops, .io = stdout};
    sy_fcgi_serve_one(&w, &io, &sink);
    struct sy_quota *quota = w.quota;
    sy_worker_cleanup(&w);
    sy_state_stop(state);
    sy_quota_free(quota);
    sy_upstream_global_cleanup();
    return 0;
}
