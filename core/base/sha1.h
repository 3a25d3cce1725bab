/*
 * sha1.h - SHA-1 (FIPS 180-1) as 40 hex digits, for the SHAs Redis gives
 * Lua scripts (EVALSHA without a round trip). Not for security: SHA-1 is
 * broken for that. No I/O; used by store.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_SHA1_H
#define SY_CORE_SHA1_H

#include "sy.h"

void sy_sha1_hex(const void *data, size_t n, char out[41]);

#endif
