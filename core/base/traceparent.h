/*
 * traceparent.h - W3C Trace Context (https://www.w3.org/TR/trace-context/):
 * parse and check the `traceparent` and `tracestate` request headers,
 * format a traceparent, and make random trace and span ids. Pure
 * functions apart from the random source (getrandom(2)); no allocation.
 * The pipeline (serve/pipeline_trace.c) decides what to keep.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_TRACEPARENT_H
#define SY_CORE_TRACEPARENT_H

#include "sy.h"

#define SY_TRACE_ID_HEX    32 /* 16 bytes as lowercase hex */
#define SY_SPAN_ID_HEX     16 /* 8 bytes as lowercase hex */
#define SY_TRACEPARENT_LEN 55 /* "00-" trace "-" span "-" flags */
#define SY_TRACEPARENT_MAX \
    512                           /* longest header accepted (a future
                                  version may append fields) */
#define SY_TRACESTATE_MAX     512 /* the spec's limit on what must be kept */
#define SY_TRACESTATE_MEMBERS 32

/* A parsed traceparent. The ids are NUL-terminated lowercase hex. */
struct sy_traceparent {
    char trace_id[SY_TRACE_ID_HEX + 1];
    char parent_id[SY_SPAN_ID_HEX + 1];
    uint8_t flags; /* bit 0: sampled */
};

bool sy_traceparent_parse(const char *s, size_t n, struct sy_traceparent *out);
bool sy_tracestate_valid(const char *s, size_t n);
void sy_traceparent_format(const char *trace_id, const char *span_id,
                           uint8_t flags, char out[SY_TRACEPARENT_LEN + 1]);
void sy_trace_random_hex(char *out, size_t nbytes);

#endif
