/*
 * main.c - the switchyard command: argument parsing, config loading and
 * the subcommands (serve, check-config, status, spend, keys). The only
 * main().
 *
 * Run without arguments under a web server's CGI environment
 * (GATEWAY_INTERFACE set) it serves one request as a plain CGI program;
 * spawned by a web server with a listening socket on fd 0 it serves
 * FastCGI on that socket.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "keys_cmd.h"
#include "fcgi/activation.h"
#include "fcgi/server.h"
#include "spend_cmd.h"
#include "status.h"
#include "base/buf.h"
#include "config/config.h"
#include "base/log.h"
#include "base/limits.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_main[] =
    "usage: switchyard <command> [options]\n"
    "\n"
    "An OpenAI-compatible LLM routing gateway served over FastCGI.\n"
    "\n"
    "commands:\n"
    "  serve          run the FastCGI worker pool\n"
    "  check-config   validate a configuration file\n"
    "  status         show the shared state in Redis: latency, errors,\n"
    "                 breakers, provider and caller key usage\n"
    "  spend          what traffic cost per key, team, deployment, provider,\n"
    "                 group or day (Redis or the usage log), and savings\n"
    "                 against each group's first deployment\n"
    "  keys           virtual keys in Redis: create, list, show, update,\n"
    "                 revoke (the key is shown once, at create)\n"
    "\n"
    "options:\n"
    "  -h, --help     this text; 'switchyard <command> --help' for a command\n"
    "  -V, --version  print the version\n"
    "\n"
    "Without a command, under a CGI environment (GATEWAY_INTERFACE set), it\n"
    "answers one request as a CGI program; with a listening socket on fd 0\n"
    "(lighttpd bin-path, spawn-fcgi) it serves FastCGI on it.\n"
    "The config is --config FILE, else $SWITCHYARD_CONFIG, else the\n"
    "embedded default (conf/switchyard.json at build time).\n";

static const char usage_serve[] =
    "usage: switchyard serve [options]\n"
    "\n"
    "Run P worker processes x T threads, each thread in its own FastCGI\n"
    "accept loop. SIGTERM or SIGINT drains in-flight requests (bounded by\n"
    "server.drain_timeout_ms) and exits; a worker that dies is restarted.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE     configuration (default: $SWITCHYARD_CONFIG or\n"
    "                        the embedded default)\n"
    "  -l, --listen ADDR     unix:/path/to.sock, HOST:PORT or PORT (default:\n"
    "                        a socket handed over by systemd (fd 3,\n"
    "                        LISTEN_FDS) or a web server (fd 0), else\n"
    "                        server.listen); a\n"
    "                        bare PORT binds 127.0.0.1 only, other\n"
    "                        interfaces take a host (0.0.0.0:PORT)\n"
    "  -p, --processes N     worker processes (default: server.processes)\n"
    "  -t, --threads N       threads per process (default: server.threads)\n"
    "      --pid-file FILE   write the parent's pid there\n"
    "  -h, --help            this text\n";

static const char usage_check[] =
    "usage: switchyard check-config [FILE]\n"
    "\n"
    "Validate FILE (default: $SWITCHYARD_CONFIG or the embedded default)\n"
    "and print every error with its JSON path and a hint. Exit status 0\n"
    "when valid, 1 otherwise. Also says which deployments are inactive\n"
    "because their provider has no API key in the environment.\n";

static bool
parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || s[0] == '\0' || s[0] == '-' || v == 0 ||
        v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

static int
cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "listen", required_argument, NULL, 'l' },
        { "processes", required_argument, NULL, 'p' },
        { "threads", required_argument, NULL, 't' },
        { "pid-file", required_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL;
    struct sy_serve_opts so = { 0 };
    unsigned procs = 0, threads = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:l:p:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'l':
            so.listen = optarg;
            break;
        case 'P':
            so.pid_file = optarg;
            break;
        case 'p':
            if (!parse_uint(optarg, SY_SERVER_MAX_PROCESSES, &procs)) {
                fprintf(stderr, "switchyard serve: --processes takes 1..%u\n",
                        SY_SERVER_MAX_PROCESSES);
                return 2;
            }
            break;
        case 't':
            if (!parse_uint(optarg, SY_SERVER_MAX_THREADS, &threads)) {
                fprintf(stderr, "switchyard serve: --threads takes 1..%u\n",
                        SY_SERVER_MAX_THREADS);
                return 2;
            }
            break;
        case 'h':
            fputs(usage_serve, stdout);
            return 0;
        default:
            fputs(usage_serve, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "switchyard serve: unexpected argument '%s'\n",
                argv[optind]);
        return 2;
    }
    struct sy_config *cfg = sy_config_load_default(config);
    if (cfg == NULL) {
        fprintf(stderr, "switchyard serve: invalid configuration; not "
                        "starting\n");
        return 1;
    }
    sy_log_set_level(cfg->server.log_level);
    /* A socket handed over (systemd, or a web server on fd 0) wins over
     * server.listen; only --listen overrides it. */
    if (so.listen == NULL && sy_fcgi_inherited_fd() == SY_INHERIT_NONE)
        so.listen = cfg->server.listen;
    so.processes = procs ? procs : cfg->server.processes;
    so.threads = threads ? threads : cfg->server.threads;
    for (size_t i = 0; i < cfg->ndeployments; i++)
        if (!cfg->deployments[i].active)
            sy_log_info(NULL,
                        "deployment %s is inactive: provider %s has "
                        "no API key in its environment variables",
                        cfg->deployments[i].name,
                        cfg->deployments[i].provider->name);
    int rc = sy_fcgi_serve(cfg, &so);
    sy_config_free(cfg);
    return rc;
}

static int
cmd_check(int argc, char **argv)
{
    if (argc > 1 &&
        (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(usage_check, stdout);
        return 0;
    }
    if (argc > 2) {
        fputs(usage_check, stderr);
        return 2;
    }
    const char *path = argc > 1 ? argv[1] : NULL;
    struct sy_config *cfg = sy_config_load_default(path);
    if (cfg == NULL)
        return 1;
    printf("%s: OK: %zu provider(s), %zu deployment(s), %zu group(s)\n",
           cfg->origin, cfg->nproviders, cfg->ndeployments, cfg->ngroups);
    for (size_t i = 0; i < cfg->ndeployments; i++) {
        const struct sy_deployment *d = &cfg->deployments[i];
        if (!d->active) {
            printf("  note: deployment %s is inactive: set ", d->name);
            for (size_t k = 0; k < d->provider->nkey_envs; k++)
                printf("%s%s", k ? " or " : "", d->provider->key_envs[k]);
            printf("\n");
        }
    }
    for (size_t i = 0; i < cfg->ngroups; i++) {
        const struct sy_group *g = &cfg->groups[i];
        printf("  model %s ->", g->name);
        for (size_t k = 0; k < g->nroute; k++)
            printf(" %s", g->route[k]->name);
        printf("%s\n", g->nroute ? "" : " (no active deployment)");
    }
    sy_config_free(cfg);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        if (getenv("GATEWAY_INTERFACE") != NULL) {
            struct sy_config *cfg = sy_config_load_default(NULL);
            if (cfg == NULL) {
                fputs("Status: 500 Internal Server Error\r\n"
                      "Content-Type: application/json\r\n\r\n"
                      "{\"error\":{\"message\":\"gateway configuration is "
                      "invalid\",\"type\":\"server_error\",\"param\":null,"
                      "\"code\":\"config_invalid\"}}",
                      stdout);
                return 0;
            }
            sy_log_set_level(cfg->server.log_level);
            int rc = sy_fcgi_cgi(cfg);
            sy_config_free(cfg);
            return rc;
        }
        if (sy_fcgi_fd0_is_listener()) {
            char *args[] = { argv[0], NULL };
            return cmd_serve(1, args);
        }
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("switchyard %s\n", SY_VERSION);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "check-config") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return sy_status_main(argc - 1, argv + 1);
    if (strcmp(cmd, "spend") == 0)
        return sy_spend_main(argc - 1, argv + 1);
    if (strcmp(cmd, "keys") == 0)
        return sy_keys_main(argc - 1, argv + 1);
    fprintf(stderr, "switchyard: unknown command '%s'\n\n%s", cmd, usage_main);
    return 2;
}
