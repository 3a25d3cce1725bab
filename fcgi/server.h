/*
 * server.h - the FastCGI worker pool (processes x threads) and the plain
 * CGI mode.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_FCGI_SERVER_H
#define SY_FCGI_SERVER_H

#include "base/sy.h"

struct sy_serve_opts {
    const char *listen; /* NULL: inherited socket on fd 0 */
    unsigned processes;
    unsigned threads;
    const char *pid_file; /* may be NULL */
};

int sy_fcgi_serve(const struct sy_config *cfg,
                  const struct sy_serve_opts *opts);
int sy_fcgi_cgi(const struct sy_config *cfg);
bool sy_fcgi_fd0_is_listener(void);
void sy_fcgi_no_core_dumps(void);

#endif
