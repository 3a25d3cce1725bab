/*
 * cidr.c - parse and match IPv4/IPv6 address ranges (see cidr.h). The
 * text is read with inet_pton, which takes only the strict dotted-quad
 * and RFC 4291 forms (no "1.2.3", no octal, no zone "%eth0"); the prefix
 * length is decimal digits only and must fit the family. A bare address
 * is the range of that one address.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "cidr.h"

#include <arpa/inet.h>
#include <string.h>

#define CIDR_TEXT_MAX 64 /* longer than any address with its prefix */

/* 'a' as the IPv4-mapped form when it is an IPv4 address. */
static bool
parse_ip(const char *s, uint8_t out[16], bool *v4)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = 0xff;
        out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        *v4 = true;
        return true;
    }
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        memcpy(out, &a6, 16);
        *v4 = false;
        return true;
    }
    return false;
}

/* Parse address 's' (IPv4 or IPv6) into 16 bytes, IPv4 mapped. */
bool
sy_cidr_parse_addr(const char *s, uint8_t out[16])
{
    bool v4;
    return s != NULL && strlen(s) < CIDR_TEXT_MAX && parse_ip(s, out, &v4);
}

/* Parse "address[/bits]" into 'out'. False for anything else: a prefix
 * longer than the family (/33 on IPv4), signs, spaces, empty parts. The
 * host bits of the address are cleared ("10.1.2.3/8" is 10.0.0.0/8). */
bool
sy_cidr_parse(const char *s, struct sy_cidr *out)
{
    char text[CIDR_TEXT_MAX];
    size_t n = s != NULL ? strlen(s) : CIDR_TEXT_MAX;
    if (n == 0 || n >= sizeof(text))
        return false;
    memcpy(text, s, n + 1);
    char *slash = strchr(text, '/');
    long bits = -1;
    if (slash != NULL) {
        const char *p = slash + 1;
        if (*p == '\0' || strlen(p) > 3)
            return false;
        bits = 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return false;
            bits = bits * 10 + (*p - '0');
        }
        *slash = '\0';
    }
    bool v4;
    if (!parse_ip(text, out->addr, &v4))
        return false;
    long max = v4 ? 32 : 128;
    if (bits < 0)
        bits = max;
    if (bits > max)
        return false;
    out->bits = (unsigned)(v4 ? bits + 96 : bits);
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = out->bits > i * 8 ? out->bits - i * 8 : 0;
        if (keep < 8)
            out->addr[i] &= (uint8_t)(0xff00u >> keep);
    }
    return true;
}

/* Is 'addr' (16 bytes, IPv4 mapped) inside 'c'? */
bool
sy_cidr_contains(const struct sy_cidr *c, const uint8_t addr[16])
{
    unsigned full = c->bits / 8;
    unsigned rest = c->bits % 8;
    if (memcmp(c->addr, addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (addr[full] & mask) == c->addr[full];
}

/* Is the textual address 'addr' inside one of the 'n' ranges? False
 * for NULL, an empty list or text that is no address. */
bool
sy_cidr_match_any(const struct sy_cidr *list, size_t n, const char *addr)
{
    uint8_t a[16];
    if (n == 0 || !sy_cidr_parse_addr(addr, a))
        return false;
    for (size_t i = 0; i < n; i++)
        if (sy_cidr_contains(&list[i], a))
            return true;
    return false;
}
