/*
 * usagelog.h - the local usage log: one JSON line per provider attempt
 * of a settled request, appended to a file that every thread and every
 * worker process of a host may share (O_APPEND, one write(2) per line of
 * at most SY_USAGELOG_LINE_MAX bytes), and a reader for reports that
 * skips a torn or truncated line (usagelog_read.c, on the strict json-c
 * parse). usagelog.c describes the line format.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_USAGELOG_H
#define SY_CORE_USAGELOG_H

#include "base/sy.h"
#include "base/err.h"
#include "base/limits.h"

/* SY_USAGELOG_LINE_MAX (base/limits.h) is the longest line written,
 * newline included; every line fits (strings are cut to
 * SY_USAGELOG_FIELD_MAX escaped bytes, at a character boundary). */
/* Format version, the first member of every line: {"v":1,... */
#define SY_USAGELOG_VERSION 1

struct sy_usagelog; /* opaque; one per process, shared by its threads */

/* One provider attempt of a settled request. Strings are borrowed for the call (writing) or
 * for the callback (reading); NULL is written as null and read back as
 * NULL. */
struct sy_usage_record {
    uint64_t time_ms; /* wall clock, ms since the epoch; 0 when
                                  writing = now */
    const char *request_id;
    const char *key_name;   /* the caller key's configured NAME, never
                                  the key itself */
    const char *team;       /* or NULL */
    const char *group;      /* the "model" the client asked for */
    const char *deployment; /* the one that served (or failed last) */
    const char *provider;
    int64_t prompt_tokens;     /* OpenAI meaning: includes cached */
    int64_t completion_tokens; /* includes reasoning */
    int64_t cached_tokens;
    int64_t reasoning_tokens;
    int64_t cost_micro_usd;     /* core/config/cost.h */
    int64_t baseline_micro_usd; /* what the group's first deployment would
                                  have charged for the same usage (spend
                                  reports); not written to the log, read
                                  back as 0 */
    int status;                 /* HTTP status returned to the client */
    const char *error;          /* error code name, NULL on success */
    unsigned attempts;          /* upstream calls made (retries included) */
    unsigned attempt;           /* which of them this line is (1-based;
                                  one line per provider call, 0 in logs
                                  written before lines were per attempt) */
    const char *outcome;        /* this attempt's: "ok" or an error name */
    unsigned estimated;         /* 1: the provider reported no usage and
                                  the tokens are the gateway's estimate */
    int64_t cache_write_tokens; /* prompt tokens written to the provider's
                                  cache (in prompt_tokens) */
    const char *surface;        /* the client API: "chat", "messages" */
    const char *trace_id;       /* the request's W3C trace id (32 hex
                                  digits), or NULL */
    const char *hedge;          /* a hedged request's attempts: "primary"
                                  or "hedge"; NULL otherwise */
    unsigned won;               /* 1: this attempt of a hedged pair
                                  answered the caller */
};

struct sy_usagelog_stats {
    uint64_t written; /* lines written whole */
    uint64_t failed;  /* lines lost (I/O error, disk full, short write) */
};

/* What a read met besides the records handed to the callback. */
struct sy_usagelog_read_stats {
    uint64_t records;    /* lines parsed and passed to the callback */
    uint64_t bad_lines;  /* complete lines that did not parse (skipped) */
    uint64_t recovered;  /* records found after a torn prefix in a line */
    bool truncated_tail; /* the file ended inside a line (skipped) */
};

/* Called once per record, in file order; return false to stop. */
typedef bool (*sy_usagelog_fn)(const struct sy_usage_record *r, void *ctx);

/* Writing (thread-safe; sy_usagelog_write(NULL, r) does nothing) */
enum sy_err sy_usagelog_open(const char *path, struct sy_usagelog **out,
                             char *err, size_t errlen);
enum sy_err sy_usagelog_reopen(struct sy_usagelog *l, char *err, size_t errlen);
void sy_usagelog_write(struct sy_usagelog *l, const struct sy_usage_record *r);
void sy_usagelog_get_stats(const struct sy_usagelog *l,
                           struct sy_usagelog_stats *out);
void sy_usagelog_close(struct sy_usagelog *l);

/* The line format (no I/O) */
size_t sy_usagelog_format(const struct sy_usage_record *r, char *out,
                          size_t outlen);
bool sy_usagelog_parse(const char *line, size_t len, char *scratch,
                       size_t scratchlen, struct sy_usage_record *out);

/* Reading */
enum sy_err sy_usagelog_read(const char *path, sy_usagelog_fn fn, void *ctx,
                             struct sy_usagelog_read_stats *stats, char *err,
                             size_t errlen);

#endif
