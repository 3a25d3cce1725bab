/*
 * server.c - the process and thread model of "switchyard serve".
 *
 * The parent opens (or inherits) the listening socket, forks P worker
 * processes and restarts any that dies. Each worker runs T threads, each
 * in its own FCGX_Accept_r loop with its own struct sy_worker. SIGTERM
 * (or SIGINT) drains: the parent forwards it, workers stop accepting,
 * finish in-flight requests within server.drain_timeout_ms, and exit.
 * SIGHUP reopens the usage and access logs (rotation by rename): the
 * parent forwards it, each worker's main thread reopens its files.
 * fcgiapp.h is included only in fcgi/.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "server.h"
#include "activation.h"
#include "conn.h"
#include "drain.h"
#include "request.h"
#include "base/clock.h"
#include "config/config.h"
#include "base/log.h"
#include "state/metrics.h"
#include "state/quota.h"
#include "state/state.h"
#include "io/usagelog.h"
#include "io/accesslog.h"
#include "io/otlp.h"
#include "io/upstream.h"
#include "io/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

/* Set by the parent's signal handler, read by its loop. The one place
 * for 'volatile': a handler may only write a volatile sig_atomic_t
 * (C11 7.14.1.1); every flag shared between threads is an atomic. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reopen_requested; /* SIGHUP, to forward */
/* Set by the worker's main thread on SIGTERM, read by the request
 * threads (and /healthz through struct sy_worker). */
static atomic_bool draining;

enum thread_state { T_IDLE, T_BUSY, T_DONE };

struct thread_slot {
    pthread_t tid;
    struct sy_worker w;
    int listen_fd;
    struct sy_drain *drain; /* borrowed; the process's drain thread */
    atomic_int state;       /* enum thread_state */
    /* The connection of the request being served (-1: none), for the
     * drain's cut; the lock keeps the number from being reused under it
     * by a close on this thread. */
    pthread_mutex_t conn_lock;
    int conn_fd;
};

/* How long requests cut at the drain deadline get to settle (bill their
 * provider calls, release reservations) before the process exits. The
 * parent waits drain_timeout_ms + 2 s before it kills a worker. */
#define CUT_GRACE_MS 1500

static void
slot_conn(struct thread_slot *t, int fd)
{
    pthread_mutex_lock(&t->conn_lock);
    t->conn_fd = fd;
    pthread_mutex_unlock(&t->conn_lock);
}

/* At the drain deadline: shut the request's connection down. A provider
 * call waiting sees it at once (the connection is watched: the caller
 * left), a write fails at once, and the request ends as one whose caller
 * went away: its calls billed, its reservations settled. */
static void
slot_cut(struct thread_slot *t)
{
    pthread_mutex_lock(&t->conn_lock);
    if (t->conn_fd >= 0)
        shutdown(t->conn_fd, SHUT_RDWR);
    pthread_mutex_unlock(&t->conn_lock);
}

static void
on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void
on_reopen(int sig)
{
    (void)sig;
    reopen_requested = 1;
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

/* Open the listening socket. A bare port ("9000" or ":9000") binds
 * 127.0.0.1: FastCGI has no authentication, so whoever reaches the port
 * can spend provider credit; listening beyond the host takes an explicit
 * host ("0.0.0.0:9000"). A unix socket gets mode 0660 at bind (umask
 * around it), so it is never open to others, not even until a chmod. */
static int
open_listener(const char *spec)
{
    char addr[512];
    bool local = strncmp(spec, "unix:", 5) == 0;
    if (local) {
        snprintf(addr, sizeof(addr), "%s", spec + 5);
        unlink(addr); /* a stale socket from a previous run */
    } else if (spec[0] == ':') {
        snprintf(addr, sizeof(addr), "127.0.0.1%s", spec);
    } else if (strchr(spec, ':') == NULL) {
        snprintf(addr, sizeof(addr), "127.0.0.1:%s", spec);
    } else {
        snprintf(addr, sizeof(addr), "%s", spec);
    }
    /* Only the main thread runs yet, so the process-wide umask is ours. */
    mode_t old = local ? umask(0117) : 0;
    int fd = FCGX_OpenSocket(addr, 1024);
    int saved = errno;
    if (local)
        umask(old);
    errno = saved;
    return fd;
}

/* The pid file, never through a symlink someone planted at its path. */
static bool
write_pid_file(const char *path)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "switchyard: cannot write the pid file %s: %s\n", path,
                errno == ELOOP ? "it is a symbolic link; refusing to follow it"
                               : strerror(errno));
        return false;
    }
    char line[32];
    int n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
    bool ok = write(fd, line, (size_t)n) == (ssize_t)n;
    if (close(fd) != 0 || !ok) {
        fprintf(stderr, "switchyard: cannot write the pid file %s\n", path);
        return false;
    }
    return true;
}

/* Provider and caller keys live in this process's memory: keep them out
 * of core dumps (and /proc/<pid>/mem of other users). Inherited by the
 * forked workers. */
void
sy_fcgi_no_core_dumps(void)
{
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        sy_log_warn(NULL, "cannot disable core dumps: %s", strerror(errno));
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
    while (!atomic_load(&draining)) {
        atomic_store(&t->state, T_IDLE);
        if (atomic_load(&draining))
            break;
        /* The drain wake-up (SIGUSR1) may interrupt accept() only: it
         * stays blocked while a request is served, so it can never cut a
         * provider call or a client write short. A signal that arrives
         * just before accept() is repeated by the drain loop. */
        pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
        int rc = FCGX_Accept_r(&req);
        pthread_sigmask(SIG_BLOCK, &wake, NULL);
        atomic_store(&t->state, T_BUSY);
        if (rc < 0) {
            if (atomic_load(&draining))
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
        struct sy_fcgi_conn fc;
        struct sy_fcgi_io io;
        struct sy_sink sink;
        sy_fcgi_conn_begin(&fc, &req, t->w.cfg->server.write_timeout_ms, &io,
                           &sink);
        sy_upstream_watch(t->w.up, req.ipcFd, sy_fcgi_conn_left, &fc);
        slot_conn(t, req.ipcFd);
        bool unread = sy_fcgi_serve_one(&t->w, &io, &sink);
        slot_conn(t, -1);
        sy_upstream_watch(t->w.up, -1, NULL, NULL);
        /* httpd reads the answer only after forwarding up to two more
         * pieces of the body, each within its own client read timeout
         * (mod_reqtimeout, Timeout): held a minute, the connection stays
         * open long enough for the answer to reach the client. */
        sy_fcgi_conn_finish(
            &fc, unread, t->drain,
            sy_now_ms() + SY_MAX(t->w.cfg->server.body_timeout_ms, 60000u));
        sy_arena_reset(&t->w.arena);
    }
    FCGX_Free(&req, 1);
    atomic_store(&t->state, T_DONE);
    return NULL;
}

/* The process's usage log, or NULL (none configured, or it cannot be
 * opened: requests are still served, and the reason is logged). */
static struct sy_usagelog *
open_usage_log(const struct sy_config *cfg)
{
    if (cfg->server.usage_log == NULL || cfg->server.usage_log[0] == '\0')
        return NULL;
    char err[256];
    struct sy_usagelog *l = NULL;
    if (sy_usagelog_open(cfg->server.usage_log, &l, err, sizeof(err)) != SY_OK)
        sy_log_error(NULL, "usage log: %s", err);
    return l;
}

/* The process's access log, or NULL (none configured, or it cannot be
 * opened: requests are still served, and the reason is logged). */
static struct sy_accesslog *
open_access_log(const struct sy_config *cfg)
{
    if (cfg->server.access_log == NULL || cfg->server.access_log[0] == '\0')
        return NULL;
    char err[256];
    struct sy_accesslog *l = NULL;
    if (sy_accesslog_open(cfg->server.access_log, &l, err, sizeof(err)) !=
        SY_OK)
        sy_log_error(NULL, "%s", err);
    return l;
}

/* How long the span exporter may flush at exit: short, a drain must not
 * wait on a slow collector. */
#define OTLP_FLUSH_MS 1000u

/* What a process writes about its requests besides the log: the usage
 * log, the access log, the span exporter (each NULL when off). */
struct proc_out {
    struct sy_usagelog *usagelog;
    struct sy_accesslog *accesslog;
    struct sy_otlp *otlp;
};

/* Open them; the exporter's thread starts here, so call this in each
 * worker process after fork (threads do not survive it). */
static void
proc_out_open(const struct sy_config *cfg, struct proc_out *po)
{
    po->usagelog = open_usage_log(cfg);
    po->accesslog = open_access_log(cfg);
    po->otlp = sy_otlp_start(&cfg->tracing);
}

static void
proc_out_attach(const struct proc_out *po, struct sy_worker *w)
{
    w->usagelog = po->usagelog;
    w->accesslog = po->accesslog;
    w->otlp = po->otlp;
}

/* SIGHUP: the usage and access logs opened again at their paths, after
 * a rotation by rename (docs/operations.md, Log rotation). A failure
 * keeps the old file in use. */
static void
proc_out_reopen(struct proc_out *po)
{
    char err[256];
    if (po->usagelog != NULL &&
        sy_usagelog_reopen(po->usagelog, err, sizeof(err)) != SY_OK)
        sy_log_error(NULL, "%s (still writing to the old file)", err);
    if (sy_accesslog_reopen(po->accesslog, err, sizeof(err)) != SY_OK)
        sy_log_error(NULL, "%s (still writing to the old file)", err);
    sy_log_info(NULL, "SIGHUP: log files reopened");
}

/* Once no request thread runs: flush the spans (briefly), close. */
static void
proc_out_close(struct proc_out *po)
{
    sy_otlp_stop(po->otlp, OTLP_FLUSH_MS);
    sy_accesslog_close(po->accesslog);
    sy_usagelog_close(po->usagelog);
}

/* The drain thread for connections whose body was left unread
 * (drain.c): it holds at most a quarter of the descriptors the process
 * may open, so held connections never starve accept(). */
static struct sy_drain *
start_drain(unsigned nthreads)
{
    struct rlimit nofile = { 1024, 1024 };
    getrlimit(RLIMIT_NOFILE, &nofile);
    unsigned held = SY_MIN(SY_MAX(256u, 2 * nthreads), 4096u);
    if (nofile.rlim_cur != RLIM_INFINITY)
        held = (unsigned)SY_MIN((rlim_t)held, nofile.rlim_cur / 4);
    return sy_drain_start(held);
}

/* Body of one worker process; never returns. */
/* Wait for the request threads to end: idle ones are woken from
 * accept(), busy ones get 'drain_timeout_ms' to finish and are then cut
 * (slot_cut) and given CUT_GRACE_MS to settle; past that the process
 * exits without them. */
static void
drain_threads(struct thread_slot *slots, unsigned started,
              uint32_t drain_timeout_ms)
{
    uint64_t deadline = sy_now_ms() + drain_timeout_ms;
    bool cut = false;
    for (;;) {
        unsigned done = 0;
        for (unsigned i = 0; i < started; i++) {
            int st = atomic_load(&slots[i].state);
            if (st == T_DONE)
                done++;
            else if (st == T_IDLE)
                pthread_kill(slots[i].tid, SIGUSR1);
        }
        if (done == started)
            break;
        if (sy_now_ms() >= deadline && !cut) {
            sy_log_warn(NULL,
                        "drain timeout: %u request(s) still running "
                        "are cut off (their provider calls are billed)",
                        started - done);
            for (unsigned i = 0; i < started; i++)
                slot_cut(&slots[i]);
            cut = true;
            deadline = sy_now_ms() + CUT_GRACE_MS;
        } else if (sy_now_ms() >= deadline) {
            sy_log_warn(NULL,
                        "drain: %u request(s) did not end when cut; "
                        "exiting without them",
                        started - done);
            _exit(0);
        }
        usleep(20000);
    }
}

static SY_NORETURN void
worker_main(const struct sy_config *cfg, int listen_fd, unsigned nthreads,
            struct sy_metrics_shared *counters)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* Threads start with SIGTERM/SIGINT/SIGUSR1/SIGHUP blocked; request
     * threads unblock SIGUSR1 (the accept wake-up), the main thread waits
     * for the stop signals and SIGHUP (reopen the logs). */
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
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (sy_upstream_global_init() != SY_OK) {
        sy_log_error(NULL, "libcurl initialisation failed");
        _exit(1);
    }
    /* Shared state: one state thread and quota table per process, one
     * Redis connection per request thread. */
    struct sy_state *state = NULL;
    sy_state_start(cfg, counters, &state);
    struct sy_quota *quota = sy_quota_new(cfg);
    struct proc_out po;
    proc_out_open(cfg, &po);
    struct sy_drain *drain = start_drain(nthreads);
    struct thread_slot *slots = sy_xcalloc(nthreads, sizeof(*slots));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, cfg->server.thread_stack_kb * 1024);
    unsigned started = 0;
    for (unsigned i = 0; i < nthreads; i++) {
        slots[i].listen_fd = listen_fd;
        slots[i].drain = drain;
        atomic_init(&slots[i].state, T_IDLE);
        pthread_mutex_init(&slots[i].conn_lock, NULL);
        slots[i].conn_fd = -1;
        sy_worker_init(&slots[i].w, cfg, i, &draining);
        slots[i].w.state = state;
        slots[i].w.quota = quota;
        slots[i].w.store = sy_state_new_store(state);
        proc_out_attach(&po, &slots[i].w);
        if (pthread_create(&slots[i].tid, &attr, thread_main, &slots[i]) != 0) {
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
    sigaddset(&stopset, SIGHUP);
    int sig = 0;
    while (sigwait(&stopset, &sig) == 0 && sig == SIGHUP)
        proc_out_reopen(&po);

    /* Drain: stop accepting, let in-flight requests finish. */
    atomic_store(&draining, true);
    FCGX_ShutdownPending();
    drain_threads(slots, started, cfg->server.drain_timeout_ms);
    for (unsigned i = 0; i < started; i++) {
        pthread_join(slots[i].tid, NULL);
        sy_worker_cleanup(&slots[i].w);
    }
    free(slots);
    proc_out_close(&po);
    sy_state_stop(state);
    sy_quota_free(quota);
    sy_drain_stop(drain);
    sy_upstream_global_cleanup();
    _exit(0);
}

struct child {
    pid_t pid;
    uint64_t started_ms;
    unsigned quick_deaths; /* consecutive deaths soon after start */
};

static pid_t
spawn(const struct sy_config *cfg, int listen_fd, unsigned nthreads,
      struct sy_metrics_shared *counters)
{
    pid_t pid = fork();
    if (pid == 0)
        worker_main(cfg, listen_fd, nthreads, counters);
    return pid;
}

/* Wait for the workers to finish their drain; kill stragglers a little
 * after their own deadline. */
static void
reap_children(const struct sy_config *cfg, struct child *kids, unsigned n)
{
    uint64_t deadline = sy_now_ms() + cfg->server.drain_timeout_ms + 2000;
    unsigned left = 0;
    for (unsigned i = 0; i < n; i++)
        left += kids[i].pid > 0;
    while (left > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            for (unsigned i = 0; i < n; i++)
                if (kids[i].pid == pid) {
                    kids[i].pid = 0;
                    left--;
                }
            continue;
        }
        if (pid < 0 && errno == ECHILD)
            break;
        if (sy_now_ms() >= deadline) {
            for (unsigned i = 0; i < n; i++)
                if (kids[i].pid > 0)
                    kill(kids[i].pid, SIGKILL);
            deadline = UINT64_MAX;
        }
        usleep(20000);
    }
}

/* The listening socket: --listen's (or server.listen's), else the one
 * systemd (fd 3) or a web server (fd 0) handed over, with *systemd set for
 * systemd's; -1 after saying why there is none. */
static int
open_or_inherit(const struct sy_serve_opts *o, bool *systemd)
{
    *systemd = false;
    if (o->listen != NULL) {
        int fd = open_listener(o->listen);
        if (fd < 0)
            fprintf(stderr, "switchyard: cannot listen on %s: %s\n", o->listen,
                    strerror(errno));
        return fd;
    }
    int fd = sy_fcgi_inherited_fd();
    if (fd == SY_INHERIT_BAD)
        fprintf(stderr, "switchyard: LISTEN_PID/LISTEN_FDS name this process "
                        "but do not hand over exactly one listening socket "
                        "(one ListenStream= in the socket unit)\n");
    else if (fd < 0)
        fprintf(stderr, "switchyard: no listen address: use --listen, "
                        "server.listen in the config, or let the web server "
                        "spawn switchyard with a socket on fd 0\n");
    *systemd = fd == SY_SYSTEMD_FD;
    return fd < 0 ? -1 : fd;
}

/* Run the pool until SIGTERM/SIGINT; returns the exit status. */
int
sy_fcgi_serve(const struct sy_config *cfg, const struct sy_serve_opts *o)
{
    sy_fcgi_no_core_dumps();
    bool systemd;
    int listen_fd = open_or_inherit(o, &systemd);
    if (listen_fd < 0)
        return 1;
    if (FCGX_Init() != 0) {
        fprintf(stderr, "switchyard: FCGX_Init failed\n");
        return 1;
    }
    if (o->pid_file != NULL && !write_pid_file(o->pid_file)) {
        if (o->listen != NULL && strncmp(o->listen, "unix:", 5) == 0)
            unlink(o->listen + 5);
        close(listen_fd);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_reopen; /* no SA_RESTART: waitpid() returns EINTR */
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *where = o->listen != NULL ? o->listen
                        : systemd         ? "the systemd socket (fd 3)"
                                          : "inherited socket";
    sy_log_info(NULL, "serving on %s: %u process(es) x %u thread(s)", where,
                o->processes, o->threads);
    /* The host's metric counters, shared by every worker (a restarted
     * one too: the config, so their layout, is the pool's for life). */
    struct sy_metrics_shared *counters = sy_metrics_shared_new(cfg);
    struct child *kids = sy_xcalloc(o->processes, sizeof(*kids));
    for (unsigned i = 0; i < o->processes; i++) {
        kids[i].pid = spawn(cfg, listen_fd, o->threads, counters);
        kids[i].started_ms = sy_now_ms();
    }
    while (!stop_requested) {
        if (reopen_requested) {
            reopen_requested = 0;
            sy_log_info(NULL, "SIGHUP: the workers reopen their log files");
            for (unsigned i = 0; i < o->processes; i++)
                if (kids[i].pid > 0)
                    kill(kids[i].pid, SIGHUP);
        }
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
            sy_log_error(
                NULL, "worker %d %s %d; restarting", (int)pid,
                WIFSIGNALED(status) ? "killed by signal" : "exited with status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            /* A worker that keeps dying at start-up is restarted with a
             * growing pause, not in a tight loop. */
            if (kids[i].quick_deaths > 1)
                usleep(SY_MIN(kids[i].quick_deaths * 200000u, 5000000u));
            kids[i].pid = spawn(cfg, listen_fd, o->threads, counters);
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
    /* systemd keeps its socket across restarts of the service: shutting it
     * down would refuse connections for every later start too. Workers
     * stop accepting on the stop signal alone; connections that arrive
     * meanwhile wait in the backlog for the next start. */
    if (!systemd)
        shutdown(listen_fd, SHUT_RDWR);
    reap_children(cfg, kids, o->processes);
    free(kids);
    sy_metrics_shared_free(counters);
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

/* stdin with the same deadline as the FastCGI stream. */
static long
cgi_read(void *io, char *buf, size_t n, uint64_t deadline_ms)
{
    (void)io;
    for (;;) {
        uint64_t now = sy_now_ms();
        if (now >= deadline_ms)
            return SY_FCGI_READ_TIMEOUT;
        struct pollfd p = { .fd = 0, .events = POLLIN, .revents = 0 };
        int k = poll(&p, 1, (int)SY_MIN(deadline_ms - now, (uint64_t)INT_MAX));
        if (k == 0)
            return SY_FCGI_READ_TIMEOUT;
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return SY_FCGI_READ_ERROR;
        }
        ssize_t r = read(0, buf, n);
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 ? SY_FCGI_READ_ERROR : (long)r;
    }
}

/* How long a CGI process may flush its spans after the answer: the
 * answer is complete by then (stdout closed), this only bounds how long
 * the process lingers when the collector is slow. */
#define CGI_OTLP_FLUSH_MS 500u

/* End the CGI answer: the web server sees the end of the response when
 * stdout closes, not when the process exits, so the answer never waits
 * for the span export. fd 1 becomes /dev/null (a stray write cannot
 * reach another file that reuses the number). */
static void
cgi_end_response(void)
{
    fflush(stdout);
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, 1);
        close(fd);
    } else {
        close(1);
    }
}

/* Plain CGI: one request from the environment and stdin, answered on
 * stdout. */
int
sy_fcgi_cgi(const struct sy_config *cfg)
{
    sy_fcgi_no_core_dumps();
    if (sy_upstream_global_init() != SY_OK)
        return 1;
    struct sy_worker w;
    sy_worker_init(&w, cfg, 0, NULL); /* one request: never draining */
    struct sy_state *state = NULL;
    sy_state_start(cfg, NULL, &state);
    w.state = state;
    w.quota = sy_quota_new(cfg);
    w.store = sy_state_new_store(state);
    /* The same usage log as FastCGI mode: a CGI request is billed too
     * (and logged, and traced). */
    struct proc_out po;
    proc_out_open(cfg, &po);
    proc_out_attach(&po, &w);
    struct sy_fcgi_io io = { .param = cgi_param, .read = cgi_read, .io = NULL };
    struct sy_sink sink = { .ops = &sy_sink_stdio_ops, .io = stdout };
    sy_fcgi_serve_one(&w, &io, &sink);
    cgi_end_response();
    struct sy_quota *quota = w.quota;
    sy_worker_cleanup(&w);
    sy_otlp_stop(po.otlp, CGI_OTLP_FLUSH_MS);
    po.otlp = NULL; /* stopped: proc_out_close closes the logs */
    proc_out_close(&po);
    sy_state_stop(state);
    sy_quota_free(quota);
    sy_upstream_global_cleanup();
    return 0;
}
