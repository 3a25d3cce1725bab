/*
 * accesslog.h - the access log: one JSON line per request the gateway
 * answered (refusals before routing included), to stderr or to a file
 * shared by every thread and process (O_APPEND, one write(2) per line,
 * io/linefile.c). Never a key, a header value or a body: the caller is
 * named by its configured key name. accesslog.c describes the line.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_ACCESSLOG_H
#define SY_CORE_ACCESSLOG_H

#include "base/sy.h"
#include "base/err.h"

/* Longest line written, newline included (strings are cut to
 * SY_ACCESSLOG_FIELD_MAX escaped bytes, so every line fits). */
#define SY_ACCESSLOG_LINE_MAX  4096
#define SY_ACCESSLOG_FIELD_MAX 256

/* One request. Strings are borrowed for the call; NULL is written as
 * null. */
struct sy_access_record {
    uint64_t time_ms; /* wall clock at the end; 0 = now */
    const char *request_id;
    const char *trace_id;    /* W3C trace id, 32 hex digits */
    const char *remote_addr; /* as the web server gave it */
    const char *method;
    const char *path;     /* redacted (serve/pipeline_caller.c) */
    const char *surface;  /* the client API: "chat", "messages", ... */
    const char *key_name; /* the caller key's configured name */
    const char *group;
    const char *deployment; /* the one tried last */
    unsigned attempts;      /* provider calls made */
    int status;             /* HTTP status returned */
    const char *error;      /* error code name, NULL on success */
    uint64_t total_us;      /* the whole request inside the gateway */
    uint64_t provider_us;   /* of which waiting on providers */
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cost_micro_usd;
};

struct sy_accesslog; /* opaque; one per process */

enum sy_err sy_accesslog_open(const char *target, struct sy_accesslog **out,
                              char *err, size_t errlen);
size_t sy_accesslog_format(const struct sy_access_record *r, char *out,
                           size_t outlen);
void sy_accesslog_write(struct sy_accesslog *l,
                        const struct sy_access_record *r);
enum sy_err sy_accesslog_reopen(struct sy_accesslog *l, char *err,
                                size_t errlen);
void sy_accesslog_close(struct sy_accesslog *l);

#endif
