/*
 * cidr.h - IPv4 and IPv6 address ranges ("10.0.0.0/8", "::1/128"):
 * parse a range once (the config loader), then test client addresses
 * against it (metrics.allow). Pure: no I/O, no allocation, no resolver;
 * an IPv4-mapped IPv6 address ("::ffff:1.2.3.4") is the IPv4 address.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_BASE_CIDR_H
#define SY_BASE_CIDR_H

#include "sy.h"

/* One range: the network address (host bits cleared) and prefix length.
 * IPv4 ranges are kept as IPv4-mapped IPv6 (::ffff:a.b.c.d, prefix
 * + 96), so one comparison serves both families. */
struct sy_cidr {
    uint8_t addr[16];
    unsigned bits; /* 0 .. 128 */
};

bool sy_cidr_parse(const char *s, struct sy_cidr *out);
bool sy_cidr_parse_addr(const char *s, uint8_t out[16]);
bool sy_cidr_contains(const struct sy_cidr *c, const uint8_t addr[16]);
bool sy_cidr_match_any(const struct sy_cidr *list, size_t n, const char *addr);

#endif
