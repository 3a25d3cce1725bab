/*
 * cli_common.c - load the config and open the Redis store for a CLI
 * command (see cli_common.h). The store settings come from the config
 * through sy_store_conf_from_state(), as the workers' do; only the timeouts
 * and the reply cap are raised, because a report may read a month of
 * spend hashes from a Redis across the world.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "cli_common.h"
#include "base/limits.h"
#include "config/config.h"
#include "io/store.h"
#include "state/snapshot.h"
#include "state/state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CLI_CONNECT_MIN_MS 1000u
#define CLI_COMMAND_MIN_MS 5000u

bool
sy_cli_load(struct sy_cli *c, const char *cmd, const char *path)
{
    memset(c, 0, sizeof(*c));
    c->cmd = cmd;
    c->cfg = sy_config_load_default(path);
    if (c->cfg == NULL) {
        fprintf(stderr, "switchyard %s: invalid configuration\n", cmd);
        return false;
    }
    c->prefix = c->cfg->state.prefix ? c->cfg->state.prefix : "";
    return true;
}

bool
sy_cli_open_store(struct sy_cli *c)
{
    const struct sy_state_conf *sc = &c->cfg->state;
    if (sc->redis_url == NULL && sc->nsentinels == 0) {
        snprintf(c->err, sizeof(c->err),
                 "%s has no shared state (state.redis_url is not set)",
                 c->cfg->origin);
        return false;
    }
    sy_state_describe_redis(sc, c->where, sizeof(c->where));
    struct sy_store_conf conf;
    sy_store_conf_from_state(&conf, sc);
    conf.connect_timeout_ms =
        SY_MAX(conf.connect_timeout_ms, CLI_CONNECT_MIN_MS);
    conf.command_timeout_ms =
        SY_MAX(conf.command_timeout_ms, CLI_COMMAND_MIN_MS);
    conf.max_reply_bytes =
        SY_MAX(conf.max_reply_bytes, (size_t)SY_CLI_SPEND_MAX);
    char err[256];
    if (sy_store_new(&conf, &c->store, err, sizeof(err)) != SY_OK) {
        /* the message names no password (store_conf.c strips it) */
        snprintf(c->err, sizeof(c->err), "redis %s: %s", c->where, err);
        c->store = NULL;
        return false;
    }
    return true;
}

void
sy_cli_store_failed(struct sy_cli *c)
{
    const char *why = c->store ? sy_store_last_error(c->store) : NULL;
    snprintf(c->err, sizeof(c->err), "cannot reach Redis at %s: %s", c->where,
             why && why[0] ? why : "no answer");
}

int
sy_cli_fail(const struct sy_cli *c)
{
    fprintf(stderr, "switchyard %s: %s\n", c->cmd, c->err);
    return 1;
}

int
sy_cli_flush(const struct sy_cli *c)
{
    if (fflush(stdout) == 0)
        return 0;
    fprintf(stderr, "switchyard %s: writing the output: %s\n", c->cmd,
            strerror(errno));
    return 1;
}

void
sy_cli_close(struct sy_cli *c)
{
    sy_store_free(c->store);
    c->store = NULL;
    sy_config_free(c->cfg);
    c->cfg = NULL;
}
