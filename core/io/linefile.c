/*
 * linefile.c - O_APPEND log files written one line per write(2)
 * (linefile.h). Why one write is enough: see the "Concurrency" note at
 * the top of usagelog.c.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "linefile.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* Open 'path' for appending (created 0640). O_NOFOLLOW: a symlink
 * planted at the path (e.g. to a file the gateway's user may write) is
 * refused (ELOOP), not written through. -1 with errno on failure. */
int
sy_linefile_open(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                0640);
}

/* Append 'line' ('len' bytes, its newline included) with one write(2),
 * retried on EINTR. A short write is ended with a newline so that the
 * next line starts on its own. */
enum sy_linefile_res
sy_linefile_write(int fd, const char *line, size_t len)
{
    ssize_t w;
    do {
        w = write(fd, line, len);
    } while (w < 0 && errno == EINTR);
    if (w < 0)
        return SY_LINEFILE_ERROR;
    if ((size_t)w < len) {
        ssize_t nl SY_UNUSED = write(fd, "\n", 1);
        return SY_LINEFILE_SHORT;
    }
    return SY_LINEFILE_OK;
}
