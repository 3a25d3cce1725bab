/*
 * base64.h - standard base64 (RFC 4648, with padding) through OpenSSL's
 * libcrypto (EVP_EncodeBlock), which the gateway links already for HMAC;
 * its header stays in base64.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_BASE64_H
#define SY_CORE_BASE64_H

#include "sy.h"

/* Bytes sy_base64_encode() writes for 'n' input bytes, NUL included. */
#define SY_BASE64_LEN(n) (4 * (((n) + 2) / 3) + 1)

/* Encode 'n' bytes of 'in' into 'out' (at least SY_BASE64_LEN(n) bytes,
 * NUL-terminated). Returns the length written, NUL excluded. 'n' must be
 * below INT_MAX / 4 * 3 (what libcrypto takes in one call). */
size_t sy_base64_encode(const void *in, size_t n, char *out);

#endif
