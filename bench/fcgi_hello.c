/*
 * fcgi_hello.c - the smallest FastCGI responder worth measuring: the bare
 * cost of "web server -> FastCGI -> libfcgi worker", without Switchyard.
 *
 * Same process and thread model as 'switchyard serve' (P forked processes
 * x T threads, each thread in its own FCGX_Accept_r loop on one shared
 * listening socket), the same libfcgi calls per request (accept, read
 * the body to its CONTENT_LENGTH, a few FCGX_GetParam, write a head and
 * a body, FCGX_Finish_r), and a canned chat.completion reply of about
 * the size the mock provider sends. No routing, no JSON, no upstream.
 *
 * usage: fcgi-hello --listen unix:/path.sock [--processes P] [--threads T]
 *                   [--lifetime SECS]
 * SIGTERM/SIGINT stop it (the children die with the parent).
 * Build: cc -O2 -o fcgi-hello bench/fcgi_hello.c -lfcgi -lpthread
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char head[] = "Status: 200 OK\r\n"
                           "Content-Type: application/json\r\n"
                           "x-request-id: req_0000000000000000\r\n"
                           "\r\n";

static const char body[] =
    "{\"id\":\"chatcmpl-mock-1\",\"object\":\"chat.completion\","
    "\"created\":1700000000,\"model\":\"mock-model\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"Hello from dep-a.\","
    "\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,"
    "\"total_tokens\":12}}";

static int listen_fd = -1;

static void *
serve(void *arg)
{
    (void)arg;
    FCGX_Request req;
    char buf[65536];
    FCGX_InitRequest(&req, listen_fd, 0);
    for (;;) {
        if (FCGX_Accept_r(&req) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        /* What a real application reads: method, path, type, auth. */
        const char *m = FCGX_GetParam("REQUEST_METHOD", req.envp);
        const char *u = FCGX_GetParam("REQUEST_URI", req.envp);
        const char *a = FCGX_GetParam("HTTP_AUTHORIZATION", req.envp);
        const char *cl = FCGX_GetParam("CONTENT_LENGTH", req.envp);
        (void)m;
        (void)u;
        (void)a;
        long want = cl != NULL ? strtol(cl, NULL, 10) : 0;
        while (want > 0) {
            int n = FCGX_GetStr(
                buf, want > (long)sizeof(buf) ? (int)sizeof(buf) : (int)want,
                req.in);
            if (n <= 0)
                break;
            want -= n;
        }
        FCGX_PutStr(head, (int)sizeof(head) - 1, req.out);
        FCGX_PutStr(body, (int)sizeof(body) - 1, req.out);
        FCGX_FFlush(req.out);
        FCGX_Finish_r(&req);
    }
    return NULL;
}

static void
worker(unsigned nthreads)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t *t = calloc(nthreads, sizeof(*t));
    for (unsigned i = 0; i < nthreads; i++)
        if (pthread_create(&t[i], &attr, serve, NULL) != 0) {
            perror("fcgi-hello: pthread_create");
            _exit(1);
        }
    for (unsigned i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    _exit(0);
}

static void
usage(void)
{
    fprintf(stderr, "usage: fcgi-hello --listen unix:/path.sock "
                    "[--processes P] [--threads T] [--lifetime SECS]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    const char *listen = NULL;
    unsigned procs = 2, threads = 64, lifetime = 3600;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--listen") == 0)
            listen = argv[++i];
        else if (strcmp(argv[i], "--processes") == 0)
            procs = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--lifetime") == 0)
            lifetime = (unsigned)atoi(argv[++i]);
        else
            usage();
    }
    if (listen == NULL || strncmp(listen, "unix:", 5) != 0 || procs == 0 ||
        threads == 0)
        usage();
    unlink(listen + 5);
    if (FCGX_Init() != 0)
        return 1;
    listen_fd = FCGX_OpenSocket(listen + 5, 1024);
    if (listen_fd < 0) {
        perror("fcgi-hello: listen");
        return 1;
    }
    chmod(listen + 5, 0666);
    pid_t *kids = calloc(procs, sizeof(*kids));
    for (unsigned i = 0; i < procs; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            worker(threads);
    }
    /* The parent only waits: for a stop signal or the end of its
     * lifetime, then takes its children along. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    alarm(lifetime);
    int sig;
    sigwait(&set, &sig);
    for (unsigned i = 0; i < procs; i++)
        kill(kids[i], SIGKILL);
    while (wait(NULL) > 0)
        ;
    unlink(listen + 5);
    return 0;
}
