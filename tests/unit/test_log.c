/*
 * test_log.c - unit tests for core/base/log.c: redaction never reveals a
 * secret's beginning, level parsing and thresholds, and the one-line
 * record format (captured from file descriptor 2).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------------------------------------ */
/* Capturing stderr                                                    */

static int saved_fd = -1;
static FILE *capture;

static void
capture_start(void)
{
    fflush(stderr);
    capture = tmpfile();
    assert_non_null(capture);
    saved_fd = dup(2);
    assert_true(saved_fd >= 0);
    assert_true(dup2(fileno(capture), 2) >= 0);
}

/* Stop capturing; return what was written (static storage). */
static const char *
capture_stop(size_t *len)
{
    static char text[16384];
    fflush(stderr);
    assert_true(dup2(saved_fd, 2) >= 0);
    close(saved_fd);
    saved_fd = -1;
    rewind(capture);
    size_t n = fread(text, 1, sizeof(text) - 1, capture);
    text[n] = '\0';
    fclose(capture);
    capture = NULL;
    if (len != NULL)
        *len = n;
    return text;
}

static int
reset_level(void **state)
{
    (void)state;
    /* A failed assertion may have left stderr captured. */
    if (saved_fd >= 0) {
        dup2(saved_fd, 2);
        close(saved_fd);
        saved_fd = -1;
    }
    if (capture != NULL) {
        fclose(capture);
        capture = NULL;
    }
    sy_log_set_level(SY_LOG_INFO);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Redaction                                                           */

static void
test_redact_never_shows_prefix(void **state)
{
    (void)state;
    /* Keys of every length from 0 to 80, shaped like real ones. */
    char secret[128];
    char out[128];
    for (size_t n = 0; n <= 80; n++) {
        for (size_t i = 0; i < n; i++)
            secret[i] = "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
                        "rstuvwxyz0123456789_QWERTYUIOPqwertyuiop"[i];
        secret[n] = '\0';
        sy_log_redact(secret, out, sizeof(out));
        /* The first characters never show, for any length. */
        size_t k = n < 6 ? n : 6;
        /* cppcheck-suppress knownConditionTrueFalse ; n runs up to 80,
         * so k reaches 6 (cppcheck looks only at n == 0) */
        if (k >= 2) {
            char prefix[8];
            memcpy(prefix, secret, k);
            prefix[k] = '\0';
            if (strstr(out, prefix) != NULL)
                fail_msg("redact(%zu chars) = '%s' shows '%s'", n, out, prefix);
        }
        /* At most the last four characters of the key appear. */
        if (n >= 5 && strstr(out, secret + n - 5) != NULL)
            fail_msg("redact(%zu chars) = '%s' shows 5 characters", n, out);
        /* The length is always there. */
        char len[32];
        snprintf(len, sizeof(len), "%zu chars", n);
        assert_non_null(strstr(out, len));
    }
}

static void
test_redact_format(void **state)
{
    (void)state;
    char out[128];
    sy_log_redact(NULL, out, sizeof(out));
    assert_string_equal(out, "[redacted, 0 chars]");
    sy_log_redact("", out, sizeof(out));
    assert_string_equal(out, "[redacted, 0 chars]");
    /* Short secrets show nothing at all. */
    sy_log_redact("sk-12345678", out, sizeof(out));
    assert_string_equal(out, "[redacted, 11 chars]");
    /* Long ones show the last four, to tell two keys apart. */
    sy_log_redact("sk-proj-0123456789abcd", out, sizeof(out));
    assert_string_equal(out, "[redacted, 22 chars, ...abcd]");
}

static void
test_redact_small_output(void **state)
{
    (void)state;
    /* A small output buffer is truncated, NUL-terminated, never overrun
     * (the sentinel after it stays). */
    char out[12];
    memset(out, 'Z', sizeof(out));
    sy_log_redact("sk-proj-0123456789abcdef", out, 8);
    assert_int_equal(out[7], '\0');
    assert_int_equal(strlen(out), 7);
    assert_int_equal(out[8], 'Z');
    assert_null(strstr(out, "sk-"));
    sy_log_redact("sk-proj-0123456789abcdef", out, 1);
    assert_string_equal(out, "");
}

/* ------------------------------------------------------------------ */
/* Levels                                                              */

static void
test_parse_level(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        enum sy_log_level level;
    } ok[] = {
        { "error", SY_LOG_ERROR },
        { "warn", SY_LOG_WARN },
        { "info", SY_LOG_INFO },
        { "debug", SY_LOG_DEBUG },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(ok); i++) {
        enum sy_log_level l = (enum sy_log_level)99;
        assert_true(sy_log_parse_level(ok[i].s, &l));
        assert_int_equal(l, ok[i].level);
    }
    static const char *const bad[] = { "",       "warning", "err",   "infos",
                                       "debug ", " info",   "trace", "4" };
    for (size_t i = 0; i < SY_ARRAY_LEN(bad); i++) {
        enum sy_log_level l = SY_LOG_DEBUG;
        assert_false(sy_log_parse_level(bad[i], &l));
        /* Output untouched on failure. */
        assert_int_equal(l, SY_LOG_DEBUG);
    }
}

static void
test_enabled_threshold(void **state)
{
    (void)state;
    sy_log_set_level(SY_LOG_ERROR);
    assert_true(sy_log_enabled(SY_LOG_ERROR));
    assert_false(sy_log_enabled(SY_LOG_WARN));
    sy_log_set_level(SY_LOG_WARN);
    assert_true(sy_log_enabled(SY_LOG_WARN));
    assert_false(sy_log_enabled(SY_LOG_INFO));
    sy_log_set_level(SY_LOG_INFO);
    assert_true(sy_log_enabled(SY_LOG_INFO));
    assert_false(sy_log_enabled(SY_LOG_DEBUG));
    sy_log_set_level(SY_LOG_DEBUG);
    assert_true(sy_log_enabled(SY_LOG_DEBUG));
    assert_true(sy_log_enabled(SY_LOG_ERROR));
}

/* ------------------------------------------------------------------ */
/* Records                                                             */

static void
test_record_format(void **state)
{
    (void)state;
    sy_log_set_level(SY_LOG_INFO);
    capture_start();
    sy_log_warn("req_abc", "deployment %s failed: %d", "dep-1", 502);
    sy_log(SY_LOG_ERROR, NULL, "no request id");
    sy_log_debug("req_x", "not shown at info");
    sy_log(SY_LOG_DEBUG, "req_x", "not shown either");
    size_t len;
    const char *t = capture_stop(&len);
    /* Two records, each one line. */
    const char *nl = strchr(t, '\n');
    assert_non_null(nl);
    assert_non_null(strchr(nl + 1, '\n'));
    assert_int_equal(t[len - 1], '\n');
    assert_null(strchr(strchr(nl + 1, '\n') + 1, '\n'));
    /* "YYYY-MM-DDTHH:MM:SS.mmmZ [warn] pid N req req_abc: message" */
    assert_int_equal(t[4], '-');
    assert_int_equal(t[10], 'T');
    assert_int_equal(t[23], 'Z');
    assert_non_null(strstr(t, " [warn] pid "));
    assert_non_null(strstr(t, " req req_abc: deployment dep-1 failed: 502\n"));
    assert_non_null(strstr(t, " [error] pid "));
    assert_non_null(strstr(t, ": no request id\n"));
    assert_null(strstr(t, "not shown"));
}

static void
test_record_folds_newlines(void **state)
{
    (void)state;
    capture_start();
    sy_log_error("r1", "line one\nline two\r\nline three");
    const char *t = capture_stop(NULL);
    assert_non_null(strstr(t, "line one line two  line three\n"));
    /* Exactly one newline: the end of the record. */
    assert_ptr_equal(strchr(t, '\n'), t + strlen(t) - 1);
    /* A provider's text cannot send terminal escapes or backspaces. */
    capture_start();
    sy_log_error("r2", "a\x1b[31mred\x1b]0;title\x07"
                       "b\x7f\bc\td");
    t = capture_stop(NULL);
    assert_non_null(strstr(t, "a [31mred ]0;title b  c d\n"));
    for (const char *p = t; *p; p++)
        assert_true(*p == '\n' || ((unsigned char)*p >= 0x20 && *p != 0x7f));
}

static void
test_record_truncated(void **state)
{
    (void)state;
    char *big = malloc(10000);
    assert_non_null(big);
    memset(big, 'L', 9999);
    big[9999] = '\0';
    capture_start();
    sy_log_error("r2", "%s", big);
    sy_log_error("r3", "after");
    size_t len;
    const char *t = capture_stop(&len);
    free(big);
    /* The long record is cut but still one line, then the next record. */
    const char *nl = strchr(t, '\n');
    assert_non_null(nl);
    assert_true((size_t)(nl - t) < 2048);
    assert_true((size_t)(nl - t) > 1900);
    assert_int_equal(nl[-1], 'L');
    assert_non_null(strstr(nl + 1, "req r3: after\n"));
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_never_shows_prefix),
        cmocka_unit_test(test_redact_format),
        cmocka_unit_test(test_redact_small_output),
        cmocka_unit_test(test_parse_level),
        cmocka_unit_test_teardown(test_enabled_threshold, reset_level),
        cmocka_unit_test_teardown(test_record_format, reset_level),
        cmocka_unit_test_teardown(test_record_folds_newlines, reset_level),
        cmocka_unit_test_teardown(test_record_truncated, reset_level),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
