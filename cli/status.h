/*
 * status.h - 'switchyard status': what the cluster's shared state in
 * Redis says about every deployment, provider key and caller key.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_FCGI_STATUS_H
#define SY_FCGI_STATUS_H

#include "base/sy.h"

/* The 'status' command; argv[0] is "status". Returns the exit status:
 * 0 printed, 1 no shared state configured / Redis unreachable / invalid
 * config, 2 usage error. */
int sy_status_main(int argc, char **argv);

#endif
