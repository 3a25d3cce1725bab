/*
 * log.c - one-line, one-write logging with a process-wide level.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "log.h"
#include "limits.h" /* core/base/limits.h, not <limits.h> */

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Process-wide level: written at start-up, read by every thread. A
 * threshold orders nothing else, so relaxed accesses are enough. */
static atomic_int log_level = SY_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
sy_log_set_level(enum sy_log_level level)
{
    atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

bool
sy_log_parse_level(const char *s, enum sy_log_level *out)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(level_names); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum sy_log_level)i;
            return true;
        }
    }
    return false;
}

bool
sy_log_enabled(enum sy_log_level level)
{
    return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

/* getpid() is a system call since glibc 2.25: remember it per thread,
 * forgotten in the child of a fork. */
static __thread pid_t cached_pid;

static void
forget_pid(void)
{
    cached_pid = 0;
}

__attribute__((constructor)) static void
log_init_pid(void)
{
    pthread_atfork(NULL, NULL, forget_pid);
}

static int
log_pid(void)
{
    if (cached_pid == 0)
        cached_pid = getpid();
    return (int)cached_pid;
}

/* The trace id of the request being served by this thread ("" when
 * none): set at request start and cleared at its end by the pipeline,
 * so lines logged deep inside (store, state) carry it too. */
static __thread char log_trace[33];

void
sy_log_set_trace(const char *trace_id)
{
    size_t n = trace_id != NULL ? strnlen(trace_id, sizeof(log_trace) - 1) : 0;
    memcpy(log_trace, trace_id != NULL ? trace_id : "", n);
    log_trace[n] = '\0';
}

/* Log one line: "<utc time> [level] pid <pid> req <id> trace <trace id>:
 * message" (req and trace only when known). */
void
sy_log(enum sy_log_level level, const char *req_id, const char *fmt, ...)
{
    if (!sy_log_enabled(level))
        return;
    char line[SY_LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n =
        snprintf(line, sizeof(line),
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] pid %d%s%s%s%s: ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[level],
                 log_pid(), req_id ? " req " : "", req_id ? req_id : "",
                 log_trace[0] ? " trace " : "", log_trace);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
    va_end(ap);
    if (m > 0)
        len +=
            (size_t)m < sizeof(line) - len ? (size_t)m : sizeof(line) - len - 1;
    /* Keep one line per record, and keep a provider's or caller's text
     * from driving the operator's terminal: every control byte (newlines,
     * ESC sequences, DEL) becomes a space. */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = ' ';
    if (len >= sizeof(line) - 1)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(2, line, len);
    (void)w;
}

/* Write a masked form of 'secret' into 'out': its length and last four
 * characters only ("[redacted, 51 chars, ...abcd]"), enough to tell two
 * keys apart in a log without revealing either. */
void
sy_log_redact(const char *secret, char *out, size_t outlen)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n < 12)
        snprintf(out, outlen, "[redacted, %zu chars]", n);
    else
        snprintf(out, outlen, "[redacted, %zu chars, ...%s]", n,
                 secret + n - 4);
}
