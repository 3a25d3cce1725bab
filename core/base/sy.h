/*
 * sy.h - first include of every Switchyard .c file.
 *
 * Feature macros, the standard headers every file needs, attribute macros
 * and forward declarations of the project's structs, so that headers can
 * name each other's types without including each other.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_SY_H
#define SY_CORE_SY_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SY_VERSION "0.1.0"

#define SY_UNUSED       __attribute__((unused))
#define SY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SY_NORETURN     __attribute__((noreturn))
#define SY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SY_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define SY_MAX(a, b)    ((a) > (b) ? (a) : (b))

/* The value of hex digit 'ch', or -1 (percent-escapes, \\uHHHH). */
static inline int
sy_hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Forward declarations: every project struct, so headers stay small. */
struct sy_arena;
struct sy_buf;
struct sy_config;
struct sy_provider;
struct sy_deployment;
struct sy_group;
struct sy_req;
struct sy_sink;
struct sy_chat_req;
struct sy_chat_resp;
struct sy_chunk;
struct sy_usage;
struct sy_upstream;
struct sy_upstream_call;
struct sy_adapter;
struct sy_http_out;
struct sy_worker;
struct sy_failure;

#endif
