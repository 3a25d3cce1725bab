/*
 * hmac.c - HMAC-SHA-256 by OpenSSL's libcrypto (HMAC() with EVP_sha256()).
 * With core/io/store_cmd.c (script SHA-1), the only files including
 * OpenSSL headers; link with pkg-config libcrypto.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "hmac.h"

#include <limits.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* out = HMAC-SHA-256(key, msg). An empty key is allowed (RFC 4231 does
 * not use one, but HMAC defines it); SY_EINTERNAL when libcrypto fails. */
enum sy_err
sy_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
               unsigned char out[SY_HMAC_SHA256_LEN])
{
    static const unsigned char empty[1] = { 0 };
    unsigned int len = 0;
    if (keylen > INT_MAX)
        return SY_EINTERNAL;
    if (key == NULL)
        key = empty;
    if (msg == NULL)
        msg = empty;
    if (HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &len) == NULL ||
        len != SY_HMAC_SHA256_LEN) {
        memset(out, 0, SY_HMAC_SHA256_LEN);
        return SY_EINTERNAL;
    }
    return SY_OK;
}

/* The same as 64 lowercase hex digits and a NUL. */
enum sy_err
sy_hmac_sha256_hex(const void *key, size_t keylen, const void *msg,
                   size_t msglen, char out[SY_HMAC_SHA256_HEXLEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[SY_HMAC_SHA256_LEN];
    enum sy_err e = sy_hmac_sha256(key, keylen, msg, msglen, mac);
    for (size_t i = 0; i < SY_HMAC_SHA256_LEN; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[SY_HMAC_SHA256_HEXLEN] = '\0';
    memset(mac, 0, sizeof(mac));
    return e;
}

/* Constant-time comparison, padded to the longer length so the time does
 * not depend on where the first difference is. */
bool
sy_const_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = (unsigned char)(alen != blen);
    size_t n = SY_MAX(alen, blen);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= (unsigned char)(x ^ y);
    }
    return diff == 0;
}
