/*
 * linefile.h - append whole lines to a log file shared by threads and
 * processes: open with O_APPEND (never through a symlink), and one
 * write(2) per line, a torn line ended with a newline. Used by the usage
 * log (usagelog.c) and the access log (accesslog.c).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_LINEFILE_H
#define SY_CORE_LINEFILE_H

#include "base/sy.h"

/* What a line write did. */
enum sy_linefile_res {
    SY_LINEFILE_OK,    /* the whole line is in the file */
    SY_LINEFILE_ERROR, /* nothing written; errno says why */
    SY_LINEFILE_SHORT  /* torn (disk full): ended with a newline */
};

int sy_linefile_open(const char *path);
enum sy_linefile_res sy_linefile_write(int fd, const char *line, size_t len);

#endif
