/*
 * keys_cmd.h - 'switchyard keys create|list|show|update|revoke': virtual
 * keys in Redis from the command line, through the same code as the
 * admin HTTP API (core/serve/admin.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_FCGI_KEYS_CMD_H
#define SY_FCGI_KEYS_CMD_H

#include "base/sy.h"

/* The 'keys' command; argv[0] is "keys". Returns the exit status: 0 done,
 * 1 refused (unknown name, name taken, Redis unreachable or not
 * configured, virtual keys not enabled, invalid config), 2 usage error. */
int sy_keys_main(int argc, char **argv);

#endif
