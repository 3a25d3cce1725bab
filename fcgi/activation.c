/*
 * activation.c - which listening socket a supervisor handed over.
 *
 * systemd socket activation (switchyard.socket) passes the socket as fd 3
 * and says so in LISTEN_PID and LISTEN_FDS (sd_listen_fds(3)); lighttpd's
 * bin-path, spawn-fcgi and mod_fcgid pass it as fd 0. The variables are
 * checked against our own pid because an environment is inherited: a
 * process started by a socket-activated one must not take fd 3 for a
 * listener it never got.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "activation.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* A decimal number made of digits only (no sign, no spaces), or -1. */
static long
parse_count(const char *s)
{
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno == 0 && *end == '\0' ? v : -1;
}

int
sy_fcgi_systemd_fd(const char *listen_pid, const char *listen_fds, pid_t self)
{
    long pid = parse_count(listen_pid);
    if (pid <= 0 || pid != (long)self)
        return SY_INHERIT_NONE;
    return parse_count(listen_fds) == 1 ? SY_SYSTEMD_FD : SY_INHERIT_BAD;
}

static bool
is_listener(int fd)
{
    int acc = 0;
    socklen_t len = sizeof(acc);
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && acc;
}

int
sy_fcgi_inherited_fd(void)
{
    int fd = sy_fcgi_systemd_fd(getenv("LISTEN_PID"), getenv("LISTEN_FDS"),
                                getpid());
    if (fd == SY_SYSTEMD_FD)
        return is_listener(fd) ? fd : SY_INHERIT_BAD;
    if (fd == SY_INHERIT_BAD)
        return fd;
    return is_listener(0) ? 0 : SY_INHERIT_NONE;
}
