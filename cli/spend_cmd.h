/*
 * spend_cmd.h - 'switchyard spend': what traffic cost over a range of UTC
 * days, per caller key, team, deployment, provider, group or day, from
 * the spend hashes in Redis or from the local usage log (with a
 * reconciliation of the two).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_FCGI_SPEND_CMD_H
#define SY_FCGI_SPEND_CMD_H

#include "base/sy.h"

/* The 'spend' command; argv[0] is "spend". Returns the exit status:
 * 0 printed, 1 Redis unreachable or not configured (without --from-log),
 * an unreadable log or an invalid config, 2 usage error. */
int sy_spend_main(int argc, char **argv);

#endif
