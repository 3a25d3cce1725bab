/*
 * activation.h - the listening socket a supervisor hands over: systemd
 * socket activation (fd 3, LISTEN_PID / LISTEN_FDS) or a web server's
 * spawn mode (fd 0).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_FCGI_ACTIVATION_H
#define SY_FCGI_ACTIVATION_H

#include "base/sy.h"

#include <sys/types.h>

/* The first descriptor systemd passes (SD_LISTEN_FDS_START). */
#define SY_SYSTEMD_FD 3

enum {
    SY_INHERIT_NONE = -1, /* nothing handed over: open server.listen */
    SY_INHERIT_BAD = -2,  /* systemd's variables are ours but unusable */
};

/* Decide from the values of LISTEN_PID and LISTEN_FDS (either may be
 * NULL) whether systemd handed this process (pid 'self') one socket:
 * SY_SYSTEMD_FD when LISTEN_PID is exactly 'self' and LISTEN_FDS exactly
 * 1; SY_INHERIT_NONE when the variables are absent or meant for another
 * process (a parent that did not clear them); SY_INHERIT_BAD when they
 * name this process but not exactly one descriptor. Pure. */
int sy_fcgi_systemd_fd(const char *listen_pid, const char *listen_fds,
                       pid_t self);

/* The inherited listening socket: systemd's fd 3 (checked to be a
 * listening socket), else fd 0 when it is one, else SY_INHERIT_NONE; or
 * SY_INHERIT_BAD when systemd's variables name this process but do not
 * hand over exactly one listening socket (the caller refuses to start
 * rather than listen elsewhere). Reads the environment; changes nothing. */
int sy_fcgi_inherited_fd(void);

#endif
