/*
 * fuzz_usagelog.c - libFuzzer target for the usage-log reader and the
 * spend sums built from it and from Redis replies.
 *
 * The input is a usage-log file. Each line goes through
 * sy_usagelog_parse with a scratch of exactly len + 1 bytes (what the
 * header promises suffices, so ASan sees any overrun); a parsed record
 * is written back with sy_usagelog_format and must parse again, and is
 * added to spend totals. The lines, as Redis bulk strings, are also one
 * HGETALL reply (sy_spend_totals_add_reply) and a list of GET replies
 * (sy_spend_sum_field). Then the whole input is read as a file through
 * sy_usagelog_read (torn lines, a missing last newline).
 * SPDX-License-Identifier: MIT
 */
#include "fuzz.h"

#include "state/spend.h"
#include "io/store.h"
#include "io/usagelog.h"

#include <fcntl.h>
#include <unistd.h>

static char path[256];

static void
remove_file(void)
{
    unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof(path), "%s/sy-fuzz-usagelog-%d", dir, (int)getpid());
    atexit(remove_file);
    return 0;
}

static bool
on_record(const struct sy_usage_record *r, void *ctx)
{
    sy_spend_totals_add_record(ctx, r);
    return true;
}

static void
one_line(const char *line, size_t len, struct sy_spend_totals *t)
{
    char *scratch = sy_xmalloc(len + 1);
    struct sy_usage_record rec;
    if (sy_usagelog_parse(line, len, scratch, len + 1, &rec)) {
        sy_spend_totals_add_record(t, &rec);
        char out[SY_USAGELOG_LINE_MAX + 1];
        size_t n = sy_usagelog_format(&rec, out, sizeof(out));
        if (n == 0 || n > SY_USAGELOG_LINE_MAX)
            abort();
        while (n > 0 && out[n - 1] == '\n')
            n--;
        char *s2 = sy_xmalloc(n + 1);
        struct sy_usage_record again;
        if (!sy_usagelog_parse(out, n, s2, n + 1, &again)) {
            fprintf(stderr,
                    "fuzz: a formatted record does not parse: "
                    "%.*s\n",
                    (int)n, out);
            abort();
        }
        free(s2);
    }
    free(scratch);
}

static void
as_replies(const char *p, size_t size, struct sy_spend_totals *t)
{
    struct sy_store_val vals[64];
    char *owned[64];
    size_t n = 0;
    const char *end = p + size;
    while (p < end && n < SY_ARRAY_LEN(vals)) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        memset(&vals[n], 0, sizeof(vals[n]));
        vals[n].type = len == 0 ? SY_STORE_NIL : SY_STORE_STR;
        owned[n] = sy_xstrndup(p, len);
        vals[n].str = owned[n];
        vals[n].len = len;
        n++;
        p += len + (nl != NULL);
    }
    struct sy_store_val arr = { .type = SY_STORE_ARRAY, .elem = vals, .n = n };
    sy_spend_totals_add_reply(t, &arr);
    int64_t sum;
    sy_spend_sum_field(vals, n, &sum);
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct sy_spend_totals t;
    sy_spend_totals_init(&t);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        one_line(p, len, &t);
        p += len + (nl != NULL);
    }
    as_replies((const char *)data, size, &t);
    const struct sy_spend_entry **sorted;
    sy_spend_totals_sorted(&t, SY_SPEND_KEY, &sorted);
    free(sorted);

    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        bool ok = write(fd, data, size) == (ssize_t)size;
        close(fd);
        struct sy_spend_totals t2;
        sy_spend_totals_init(&t2);
        struct sy_usagelog_read_stats st;
        char err[256];
        if (ok)
            sy_usagelog_read(path, on_record, &t2, &st, err, sizeof(err));
        sy_spend_totals_cleanup(&t2);
    }
    sy_spend_totals_cleanup(&t);
    return 0;
}
