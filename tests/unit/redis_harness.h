/*
 * redis_harness.h - a throwaway redis-server for unit tests: started on a
 * free 127.0.0.1 port in a temporary directory, killed, hung, restarted
 * on the same port, and stopped at the end; loudly SKIPPED when
 * redis-server is not installed. Included (once) by the test files that
 * talk to Redis; it includes core/io/store.c so they can reach its static
 * functions.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_TESTS_UNIT_REDIS_HARNESS_H
#define SY_TESTS_UNIT_REDIS_HARNESS_H

#include "io/store.c"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------------------------------------ */
/* A throwaway redis-server                                            */

struct redis_srv {
    pid_t pid;
    int port;
    char dir[64];
    bool sentinel;
};

static bool have_redis; /* set by redis_group_setup() */

SY_UNUSED static bool
redis_installed(void)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        return false;
    char *copy = sy_xstrdup(path);
    bool found = false;
    for (char *save = NULL, *d = strtok_r(copy, ":", &save);
         d != NULL && !found; d = strtok_r(NULL, ":", &save)) {
        char p[512];
        snprintf(p, sizeof(p), "%s/redis-server", d);
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

SY_UNUSED static int
free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Does something answer RESP on 'port' (+PONG, or -NOAUTH)? */
SY_UNUSED static bool
redis_answers(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    struct timeval tv = { 0, 200000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    bool ok = false;
    char buf[64];
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        write(fd, "PING\r\n", 6) == 6 && read(fd, buf, sizeof(buf)) > 0)
        ok = buf[0] == '+' || buf[0] == '-';
    close(fd);
    return ok;
}

/* Start redis-server (or a sentinel, when r->sentinel: 'extra' is then
 * its config text) on r->port (0: a free one), in r->dir (created when
 * empty). Waits until it answers. */
SY_UNUSED static bool
redis_start(struct redis_srv *r, const char *const *extra)
{
    if (r->dir[0] == '\0') {
        snprintf(r->dir, sizeof(r->dir), "/tmp/sy-redis-XXXXXX");
        if (mkdtemp(r->dir) == NULL)
            return false;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        int port = r->port > 0 ? r->port : free_port();
        char portstr[16];
        snprintf(portstr, sizeof(portstr), "%d", port);
        char conf[160];
        const char *args[40];
        int n = 0;
        args[n++] = "redis-server";
        if (r->sentinel) {
            snprintf(conf, sizeof(conf), "%s/sentinel-%d.conf", r->dir, port);
            FILE *f = fopen(conf, "w");
            if (f == NULL)
                return false;
            fprintf(f, "port %d\nbind 127.0.0.1\ndir %s\n%s\n", port, r->dir,
                    extra != NULL ? extra[0] : "");
            fclose(f);
            args[n++] = conf;
            args[n++] = "--sentinel";
        } else {
            const char *base[] = { "--port",       portstr,  "--bind",
                                   "127.0.0.1",    "--save", "",
                                   "--appendonly", "no",     "--daemonize",
                                   "no",           "--dir",  r->dir };
            for (size_t i = 0; i < SY_ARRAY_LEN(base); i++)
                args[n++] = base[i];
            for (int i = 0; extra != NULL && extra[i] != NULL && n < 38; i++)
                args[n++] = extra[i];
        }
        args[n] = NULL;
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
            return false;
        if (pid == 0) {
            /* A test process that dies without stopping its server (a
             * sanitizer's abort, a crash, a kill) takes the server
             * with it: it must not outlive the test. */
            if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
                _exit(127);
            char log[128];
            snprintf(log, sizeof(log), "%s/redis-%d.log", r->dir, port);
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            char *argv[40];
            for (int i = 0; i <= n; i++)
                argv[i] = args[i] != NULL ? strdup(args[i]) : NULL;
            execvp("redis-server", argv);
            _exit(127);
        }
        for (int i = 0; i < 250; i++) {
            if (redis_answers(port)) {
                r->pid = pid;
                r->port = port;
                return true;
            }
            if (waitpid(pid, NULL, WNOHANG) == pid)
                break;
            usleep(20000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        if (r->port > 0)
            return false; /* a fixed port: do not move it */
    }
    return false;
}

SY_UNUSED static void
redis_stop(struct redis_srv *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGCONT);
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
    }
    r->pid = 0;
}

SY_UNUSED static void
redis_cleanup(struct redis_srv *r)
{
    redis_stop(r);
    if (r->dir[0] == '\0')
        return;
    const char *leave = getenv("SY_TEST_LEAVE");
    if (leave != NULL && strcmp(leave, "1") == 0) {
        fprintf(stderr, "SY_TEST_LEAVE: kept %s\n", r->dir);
        return;
    }
    DIR *d = opendir(r->dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[512];
            snprintf(p, sizeof(p), "%s/%s", r->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(r->dir);
    r->dir[0] = '\0';
}

#define NEED_REDIS()     \
    do {                 \
        if (!have_redis) \
            skip();      \
    } while (0)

/* Group setup for every file that uses the harness: ignore SIGPIPE,
 * quiet logs, and start 'srv' (unless NULL: files whose tests start
 * their own servers) when redis-server is installed; when it is not, say
 * so loudly: the Redis tests then skip. */
SY_UNUSED static int
redis_group_setup(struct redis_srv *srv, const char *group)
{
    signal(SIGPIPE, SIG_IGN);
    sy_log_set_level(SY_LOG_ERROR);
    have_redis = redis_installed();
    if (!have_redis) {
        fprintf(stderr,
                "\n*** SKIPPED: redis-server not found in PATH; "
                "the Redis tests of %s are skipped ***\n\n",
                group);
        return 0;
    }
    if (srv != NULL && !redis_start(srv, NULL)) {
        fprintf(stderr, "%s: redis-server does not start\n", group);
        return -1;
    }
    return 0;
}

/* A store on 'port' with 200 ms timeouts and the prefix "t:". */
SY_UNUSED static struct sy_store *
store_on(int port, struct sy_store_gate *gate)
{
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    struct sy_store_conf c;
    sy_store_conf_defaults(&c);
    c.url = url;
    c.prefix = "t:";
    c.connect_timeout_ms = 200;
    c.command_timeout_ms = 200;
    c.gate = gate;
    struct sy_store *s = NULL;
    char err[128];
    assert_int_equal(sy_store_new(&c, &s, err, sizeof(err)), SY_OK);
    return s;
}

SY_UNUSED static uint64_t
elapsed_ms(uint64_t since_ms)
{
    return sy_now_ms() - since_ms;
}

#endif
