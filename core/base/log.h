/*
 * log.h - levelled logging to stderr (which the web server or the process
 * supervisor collects), one line per call, written with a single write(2)
 * so lines from different threads and processes do not interleave.
 *
 * Never log secrets: provider keys, caller keys, Authorization headers or
 * message bodies. sy_log_redact() masks a key for diagnostics.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_LOG_H
#define SY_CORE_LOG_H

#include "sy.h"

enum sy_log_level { SY_LOG_ERROR, SY_LOG_WARN, SY_LOG_INFO, SY_LOG_DEBUG };

void sy_log_set_level(enum sy_log_level level);
bool sy_log_parse_level(const char *s, enum sy_log_level *out);
bool sy_log_enabled(enum sy_log_level level);
void sy_log(enum sy_log_level level, const char *req_id, const char *fmt, ...)
    SY_PRINTF(3, 4);
void sy_log_redact(const char *secret, char *out, size_t outlen);
/* The trace id of the request this thread serves, written in every line
 * the thread logs until cleared (NULL); copied, at most 32 bytes. */
void sy_log_set_trace(const char *trace_id);

#define sy_log_error(id, ...) sy_log(SY_LOG_ERROR, id, __VA_ARGS__)
#define sy_log_warn(id, ...)  sy_log(SY_LOG_WARN, id, __VA_ARGS__)
#define sy_log_info(id, ...)                      \
    do {                                          \
        if (sy_log_enabled(SY_LOG_INFO))          \
            sy_log(SY_LOG_INFO, id, __VA_ARGS__); \
    } while (0)
#define sy_log_debug(id, ...)                      \
    do {                                           \
        if (sy_log_enabled(SY_LOG_DEBUG))          \
            sy_log(SY_LOG_DEBUG, id, __VA_ARGS__); \
    } while (0)

#endif
