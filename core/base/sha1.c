/*
 * sha1.c - SHA-1 (FIPS 180-1) of a buffer as lower-case hex, which is
 * what Redis names a script by (SCRIPT LOAD, EVALSHA). Self-contained: no
 * I/O, no allocation; store.c computes script SHAs with it.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "sha1.h"

#include <string.h>

struct sha1 {
    uint32_t h[5];
    uint64_t bytes;
    unsigned char block[64];
    size_t used;
};

static uint32_t
rol32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static void
sha1_block(struct sha1 *c, const unsigned char *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = c->h[0], b = c->h[1], d = c->h[3], e = c->h[4];
    uint32_t cc = c->h[2];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & cc) | (~b & d);
            k = 0x5a827999u;
        } else if (i < 40) {
            f = b ^ cc ^ d;
            k = 0x6ed9eba1u;
        } else if (i < 60) {
            f = (b & cc) | (b & d) | (cc & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ cc ^ d;
            k = 0xca62c1d6u;
        }
        uint32_t t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = cc;
        cc = rol32(b, 30);
        b = a;
        a = t;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
}

static void
sha1_update(struct sha1 *c, const void *data, size_t n)
{
    const unsigned char *p = data;
    c->bytes += n;
    while (n > 0) {
        size_t take = SY_MIN(n, 64 - c->used);
        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        n -= take;
        if (c->used == 64) {
            sha1_block(c, c->block);
            c->used = 0;
        }
    }
}

/* Hex SHA-1 of 'n' bytes at 'data' into 'out' (40 lower-case digits and
 * a NUL). */
void
sy_sha1_hex(const void *data, size_t n, char out[41])
{
    struct sha1 c = { { 0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u,
                        0xc3d2e1f0u },
                      0,
                      { 0 },
                      0 };
    sha1_update(&c, data, n);
    uint64_t bits = c.bytes * 8u;
    unsigned char pad = 0x80;
    sha1_update(&c, &pad, 1);
    pad = 0;
    while (c.used != 56)
        sha1_update(&c, &pad, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha1_update(&c, len, 8);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        unsigned char byte = (unsigned char)(c.h[i / 4] >> (24 - 8 * (i % 4)));
        out[2 * i] = hex[byte >> 4];
        out[2 * i + 1] = hex[byte & 15];
    }
    out[40] = '\0';
}
