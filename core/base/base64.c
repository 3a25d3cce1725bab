/*
 * base64.c - standard base64 encoding by OpenSSL's libcrypto (see
 * base64.h). The only user of EVP_EncodeBlock.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "base64.h"

#include <limits.h>

#include <openssl/evp.h>

size_t
sy_base64_encode(const void *in, size_t n, char *out)
{
    if (n == 0 || n > (size_t)INT_MAX / 4 * 3) {
        out[0] = '\0';
        return 0;
    }
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return len > 0 ? (size_t)len : 0;
}
