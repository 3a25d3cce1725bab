/*
 * cli_common.h - what the commands that read shared state (status, spend,
 * keys) share: load the config, open its Redis store, and report a
 * failure the same way ("switchyard <command>: <why>" on stderr, exit
 * status 1).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CLI_COMMON_H
#define SY_CLI_COMMON_H

#include "base/sy.h"

struct sy_config;
struct sy_store;

/* One command's config and store. Zero it, then sy_cli_load(). */
struct sy_cli {
    const char *cmd;        /* "status": messages start with
                                "switchyard status: " */
    struct sy_config *cfg;  /* owned; NULL until loaded */
    struct sy_store *store; /* owned; NULL until sy_cli_open_store() */
    const char *prefix;     /* the state prefix (borrowed from cfg) */
    char where[600];        /* the Redis address, never its password */
    char err[1200];         /* why the store is not usable, or "" */
};

/* Load the config from 'path' (NULL: $SWITCHYARD_CONFIG, else the
 * embedded default) for command 'cmd' (a static string). False, with the
 * loader's errors and a line of ours on stderr, when it is invalid. */
bool sy_cli_load(struct sy_cli *c, const char *cmd, const char *path);

/* Connect to the config's Redis (state.redis_url or its sentinels) with
 * the workers' settings, given more patience: a person waits at a
 * terminal. False with c->err set when the config has no shared state or
 * the store cannot be set up. */
bool sy_cli_open_store(struct sy_cli *c);

/* After a failed call on c->store: "cannot reach Redis at <where>:
 * <why>" into c->err. */
void sy_cli_store_failed(struct sy_cli *c);

/* Print "switchyard <cmd>: <c->err>" on stderr; returns 1, the exit
 * status. */
int sy_cli_fail(const struct sy_cli *c);

/* Flush stdout: 0, or 1 with a message when the output could not be
 * written (a full disk, a closed pipe). */
int sy_cli_flush(const struct sy_cli *c);

/* Free the store and the config. */
void sy_cli_close(struct sy_cli *c);

#endif
