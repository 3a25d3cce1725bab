/*
 * mock_llm.c - main of the mock LLM provider (build/mock-llm): reads the
 * flags, loads --config, binds a loopback port, writes --port-file, runs
 * the workers of mock_http.c and exits on SIGTERM/SIGINT or when
 * --max-lifetime is over. See README.md in this directory for usage.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Parsed command line; strings are borrowed from argv. */
struct mock_opts {
    const char *host;
    long port;
    const char *port_file;
    long threads;
    long max_lifetime_s; /* 0 = no limit */
    const char *config;
    bool quiet;
    bool common_draws;
    long seed;
};

static const char mock_usage[] =
    "usage: mock-llm [--host 127.0.0.1] [--port N] [--port-file FILE]\n"
    "                [--threads N] [--max-lifetime SECS] [--config FILE]\n"
    "                [--seed N] [--common-draws] [--quiet]\n"
    "A mock OpenAI-style LLM provider for tests; see tests/fakes/README.md.\n";

enum mock_flag_kind {
    MOCK_FLAG_STR,  /* const char * */
    MOCK_FLAG_LONG, /* long within [min, max] */
    MOCK_FLAG_BOOL  /* bool, takes no value */
};

/*
 * The flags. Columns: name, kind, offset of the field in struct
 * mock_opts, and the range of MOCK_FLAG_LONG values.
 */
static const struct mock_flag {
    const char *name;
    enum mock_flag_kind kind;
    size_t offset;
    long min;
    long max;
} mock_flags[] = {
    { "--host", MOCK_FLAG_STR, offsetof(struct mock_opts, host), 0, 0 },
    { "--port", MOCK_FLAG_LONG, offsetof(struct mock_opts, port), 0, 65535 },
    { "--port-file", MOCK_FLAG_STR, offsetof(struct mock_opts, port_file), 0,
      0 },
    { "--threads", MOCK_FLAG_LONG, offsetof(struct mock_opts, threads), 1, 64 },
    { "--max-lifetime", MOCK_FLAG_LONG,
      offsetof(struct mock_opts, max_lifetime_s), 0, 365L * 86400 },
    { "--config", MOCK_FLAG_STR, offsetof(struct mock_opts, config), 0, 0 },
    { "--seed", MOCK_FLAG_LONG, offsetof(struct mock_opts, seed), 0,
      0x7fffffffL },
    { "--common-draws", MOCK_FLAG_BOOL,
      offsetof(struct mock_opts, common_draws), 0, 0 },
    { "--quiet", MOCK_FLAG_BOOL, offsetof(struct mock_opts, quiet), 0, 0 },
};

#define MOCK_NFLAGS (sizeof(mock_flags) / sizeof(mock_flags[0]))

/* Print "msg" and the usage, exit with status 2. */
static void
mock_die_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "mock-llm: %s '%s'\n%s", msg, arg, mock_usage);
    exit(2);
}

/* Store the value "v" of flag "f" in "o"; exits when it is invalid. */
static void
mock_set_flag(const struct mock_flag *f, const char *v, struct mock_opts *o)
{
    char *field = (char *)o + f->offset;
    long l;

    switch (f->kind) {
    case MOCK_FLAG_STR:
        memcpy(field, &v, sizeof(v));
        break;
    case MOCK_FLAG_LONG:
        if (!sy_mock_parse_long(v, f->min, f->max, &l)) {
            fprintf(stderr,
                    "mock-llm: %s wants a number in %ld..%ld, "
                    "not '%s'\n",
                    f->name, f->min, f->max, v);
            exit(2);
        }
        memcpy(field, &l, sizeof(l));
        break;
    case MOCK_FLAG_BOOL:
        *(bool *)(void *)field = true;
        break;
    }
}

/* Fill "o" from the command line ("--flag V" or "--flag=V"); exits on
 * errors and on --help. */
static void
mock_parse_args(int argc, char **argv, struct mock_opts *o)
{
    int i;

    memset(o, 0, sizeof(*o)); /* every flag not given is off */
    o->host = "127.0.0.1";
    o->port = 0;
    o->port_file = NULL;
    o->threads = 2;
    o->max_lifetime_s = 3600;
    o->config = NULL;
    o->quiet = false;
    o->seed = 1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t n = eq != NULL ? (size_t)(eq - a) : strlen(a);
        const struct mock_flag *f = NULL;
        size_t k;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(mock_usage, stdout);
            exit(0);
        }
        for (k = 0; k < MOCK_NFLAGS; k++) {
            if (strlen(mock_flags[k].name) == n &&
                strncmp(a, mock_flags[k].name, n) == 0) {
                f = &mock_flags[k];
                break;
            }
        }
        if (f == NULL) {
            mock_die_usage("unknown argument", a);
        } else if (f->kind == MOCK_FLAG_BOOL) {
            if (eq != NULL) {
                mock_die_usage("flag takes no value", a);
            }
            mock_set_flag(f, "", o);
        } else if (eq != NULL) {
            mock_set_flag(f, eq + 1, o);
        } else if (i + 1 < argc) {
            mock_set_flag(f, argv[++i], o);
        } else {
            mock_die_usage("flag needs a value", a);
        }
    }
    if (strcmp(o->host, "localhost") == 0) {
        o->host = "127.0.0.1";
    }
}

/* Is "host" an IPv4 loopback address (127.0.0.0/8)? */
static bool
mock_is_loopback(const char *host)
{
    struct in_addr a;

    return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* Write "port" to "file" atomically (a temporary file, then rename). */
static bool
mock_write_port_file(const char *file, int port)
{
    char tmp[4096];
    FILE *fp;
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", file, (long)getpid());

    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        sy_mock_log("--port-file name too long");
        return false;
    }
    fp = fopen(tmp, "w");
    if (fp == NULL) {
        sy_mock_log("cannot write %s: %s", tmp, strerror(errno));
        return false;
    }
    fprintf(fp, "%d\n", port);
    if (fclose(fp) != 0 || rename(tmp, file) != 0) {
        sy_mock_log("cannot write %s: %s", file, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

/* Wait for SIGTERM, SIGINT or SIGHUP, or until "lifetime_s" is over (0:
 * forever). Returns a word for the log. */
static const char *
mock_wait(const sigset_t *set, long lifetime_s)
{
    int64_t deadline = sy_mock_now_ms() + (int64_t)lifetime_s * 1000;

    for (;;) {
        struct timespec ts = { 3600, 0 };
        int64_t left = deadline - sy_mock_now_ms();
        int sig;

        if (lifetime_s > 0) {
            if (left <= 0) {
                return "max lifetime reached";
            }
            ts.tv_sec = (time_t)(left / 1000);
            ts.tv_nsec = (long)(left % 1000) * 1000000L;
        }
        sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGTERM) {
            return "SIGTERM";
        }
        if (sig == SIGINT) {
            return "SIGINT";
        }
        if (sig == SIGHUP) {
            return "SIGHUP";
        }
    }
}

/* Run the mock until a signal or the end of --max-lifetime; exit status
 * 0 then, 1 when the server could not start, 2 for bad flags or config. */
int
main(int argc, char **argv)
{
    struct mock_opts o;
    struct sy_mock_server srv;
    struct sy_mock_http *h;
    sigset_t set;
    const char *why;
    int port = 0;
    int rc = 1;

    mock_parse_args(argc, argv, &o);
    if (!mock_is_loopback(o.host)) {
        fprintf(stderr,
                "mock-llm: --host must be an IPv4 loopback address "
                "(127.x.y.z), not '%s'\n",
                o.host);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    memset(&srv, 0, sizeof(srv));
    srv.seed = (uint64_t)o.seed;
    srv.quiet = o.quiet;
    if (o.common_draws) {
        srv.draws = sy_mock_draws_new();
    }
    atomic_init(&srv.next_id, 1);
    atomic_init(&srv.next_call_id, 1);
    srv.state = sy_mock_state_new(srv.seed);
    srv.tally = sy_mock_tally_new();
    if (o.config != NULL && !sy_mock_app_load_config(&srv, o.config)) {
        sy_mock_draws_free(srv.draws);
        sy_mock_tally_free(srv.tally);
        sy_mock_state_free(srv.state);
        return 2;
    }
    h = sy_mock_http_new(&srv, o.host, (int)o.port, (int)o.threads, &port);
    if (h == NULL) {
        sy_mock_draws_free(srv.draws);
        sy_mock_tally_free(srv.tally);
        sy_mock_state_free(srv.state);
        return 1;
    }
    if (!sy_mock_http_start(h)) {
        goto out;
    }
    if (o.port_file != NULL && !mock_write_port_file(o.port_file, port)) {
        goto out;
    }
    printf("mock-llm listening on %s:%d\n", o.host, port);
    fflush(stdout);
    why = mock_wait(&set, o.max_lifetime_s);
    if (!o.quiet) {
        sy_mock_log("exiting: %s", why);
    }
    rc = 0;
out:
    sy_mock_http_stop(h);
    sy_mock_http_free(h);
    sy_mock_draws_free(srv.draws);
    sy_mock_tally_free(srv.tally);
    sy_mock_state_free(srv.state);
    return rc;
}
