/*
 * drain.h - connections whose request body was left unread, kept open
 * and emptied by one thread per worker process until the web server
 * closes them or a deadline passes, so a request thread never waits on a
 * slow client's body (see drain.c for why closing at once is wrong).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_FCGI_DRAIN_H
#define SY_FCGI_DRAIN_H

#include "base/sy.h"

struct sy_drain;

struct sy_drain *sy_drain_start(unsigned max_conns);
bool sy_drain_add(struct sy_drain *d, int fd, uint64_t deadline_ms);
unsigned sy_drain_count(struct sy_drain *d);
void sy_drain_stop(struct sy_drain *d);

#endif
