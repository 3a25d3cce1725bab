/*
 * hmac.h - HMAC-SHA-256 (RFC 2104, FIPS 180-4) through OpenSSL's
 * libcrypto, and the constant-time comparison of secrets. OpenSSL headers
 * are included here (hmac.c) and for script SHAs in core/io/store_cmd.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_HMAC_H
#define SY_CORE_HMAC_H

#include "sy.h"
#include "err.h"

#define SY_HMAC_SHA256_LEN    32 /* bytes of a MAC */
#define SY_HMAC_SHA256_HEXLEN 64 /* lowercase hex digits, NUL excluded */

enum sy_err sy_hmac_sha256(const void *key, size_t keylen, const void *msg,
                           size_t msglen,
                           unsigned char out[SY_HMAC_SHA256_LEN]);
enum sy_err sy_hmac_sha256_hex(const void *key, size_t keylen, const void *msg,
                               size_t msglen,
                               char out[SY_HMAC_SHA256_HEXLEN + 1]);
bool sy_const_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
