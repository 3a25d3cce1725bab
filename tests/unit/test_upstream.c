/*
 * test_upstream.c - unit tests for core/io/upstream.c without a network:
 * Retry-After parsing (seconds, milliseconds, HTTP dates), CURLcode
 * mapping, the header and body callbacks (with an injected clock), and
 * one call to a closed loopback port. Includes upstream.c to reach its
 * static functions.
 * SPDX-License-Identifier: MIT
 */
#include "io/upstream.c"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static uint64_t fake_us;

static uint64_t
fake_clock(void)
{
    return fake_us;
}

static int
group_setup(void **state)
{
    (void)state;
    sy_log_set_level(SY_LOG_ERROR);
    return sy_upstream_global_init() == SY_OK ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    sy_upstream_global_cleanup();
    return 0;
}

static int
restore_clock(void **state)
{
    (void)state;
    sy_clock_set(NULL);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Retry-After                                                         */

static void
test_retry_after_seconds(void **state)
{
    (void)state;
    assert_int_equal(parse_retry_after("5", false), 5000);
    assert_int_equal(parse_retry_after("  \t7", false), 7000);
    assert_int_equal(parse_retry_after("0", false), 0);
    assert_int_equal(parse_retry_after("1.5", false), 1500);
    assert_int_equal(parse_retry_after("0.001", false), 1);
    assert_int_equal(parse_retry_after("120", false), 120000);
    /* Capped at one day. */
    assert_int_equal(parse_retry_after("86400", false), 86400000);
    assert_int_equal(parse_retry_after("999999999", false), 86400000);
    assert_int_equal(parse_retry_after("1e300", false), 86400000);
    /* Nonsense and negative values: no hint. */
    assert_int_equal(parse_retry_after("", false), 0);
    assert_int_equal(parse_retry_after("soon", false), 0);
    assert_int_equal(parse_retry_after("-5", false), 0);
}

static void
test_retry_after_ms(void **state)
{
    (void)state;
    assert_int_equal(parse_retry_after("250", true), 250);
    assert_int_equal(parse_retry_after(" 20.7", true), 20);
    assert_int_equal(parse_retry_after("0", true), 0);
    assert_int_equal(parse_retry_after("90000000", true), 86400000);
    /* retry-after-ms is never a date. */
    assert_int_equal(parse_retry_after("Wed, 21 Oct 2037 07:28:00 GMT", true),
                     0);
    assert_int_equal(parse_retry_after("x", true), 0);
    assert_int_equal(parse_retry_after("-1", true), 0);
}

static void
http_date(time_t t, char *out, size_t outlen)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void
test_retry_after_http_date(void **state)
{
    (void)state;
    char date[64];
    /* Wall-clock time (HTTP dates are absolute); allow for a second
     * boundary passing during the test. */
    time_t now = time(NULL);
    http_date(now + 120, date, sizeof(date));
    uint32_t ms = parse_retry_after(date, false);
    assert_in_range(ms, 118000, 120000);
    http_date(now + 3 * 86400, date, sizeof(date));
    assert_int_equal(parse_retry_after(date, false), 86400000);
    /* A date in the past, or now: no wait. */
    http_date(now - 60, date, sizeof(date));
    assert_int_equal(parse_retry_after(date, false), 0);
    assert_int_equal(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", false),
                     0);
}

/* ------------------------------------------------------------------ */
/* CURLcode mapping                                                    */

static void
test_map_curl(void **state)
{
    (void)state;
    struct sy_upstream_call c;
    struct transfer t;
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    t.c = &c;
    assert_int_equal(map_curl(CURLE_OK, &t), SY_OK);
    assert_int_equal(map_curl(CURLE_COULDNT_CONNECT, &t), SY_EUP_CONNECT);
    assert_int_equal(map_curl(CURLE_COULDNT_RESOLVE_HOST, &t), SY_EUP_CONNECT);
    assert_int_equal(map_curl(CURLE_COULDNT_RESOLVE_PROXY, &t), SY_EUP_CONNECT);
    assert_int_equal(map_curl(CURLE_SSL_CONNECT_ERROR, &t), SY_EUP_CONNECT);
    assert_int_equal(map_curl(CURLE_PEER_FAILED_VERIFICATION, &t),
                     SY_EUP_CONNECT);
    assert_int_equal(map_curl(CURLE_OPERATION_TIMEDOUT, &t), SY_EUP_TIMEOUT);
    /* Closed before any byte: connect class (safe to retry). */
    assert_int_equal(map_curl(CURLE_GOT_NOTHING, &t), SY_EUP_CONNECT);
    assert_int_equal(map_curl(CURLE_SEND_ERROR, &t), SY_EUP_CONNECT);
    assert_int_equal(map_curl(CURLE_RECV_ERROR, &t), SY_EUP_CONNECT);
    /* After bytes (or a status): a broken reply. */
    t.last_byte_us = 1;
    assert_int_equal(map_curl(CURLE_RECV_ERROR, &t), SY_EUP_PROTO);
    assert_int_equal(map_curl(CURLE_GOT_NOTHING, &t), SY_EUP_PROTO);
    t.last_byte_us = 0;
    c.status = 200;
    assert_int_equal(map_curl(CURLE_SEND_ERROR, &t), SY_EUP_PROTO);
    /* cppcheck-suppress redundantAssignment ; map_curl read the 200
     * through t.c */
    c.status = 0;
    /* A write error carries the callback's own reason. */
    assert_int_equal(map_curl(CURLE_WRITE_ERROR, &t), SY_EUP_PROTO);
    t.cb_err = SY_EGONE;
    assert_int_equal(map_curl(CURLE_WRITE_ERROR, &t), SY_EGONE);
    t.cb_err = SY_EUP_5XX;
    assert_int_equal(map_curl(CURLE_WRITE_ERROR, &t), SY_EUP_5XX);
    t.cb_err = SY_OK;
    /* Everything else: a protocol failure. */
    assert_int_equal(map_curl(CURLE_PARTIAL_FILE, &t), SY_EUP_PROTO);
    assert_int_equal(map_curl(CURLE_UNSUPPORTED_PROTOCOL, &t), SY_EUP_PROTO);
    assert_int_equal(map_curl(CURLE_BAD_CONTENT_ENCODING, &t), SY_EUP_PROTO);
    /* Every code maps to something retryable or OK, never a caller
     * error. */
    for (int rc = 0; rc < CURL_LAST; rc++) {
        enum sy_err e = map_curl((CURLcode)rc, &t);
        assert_true(e == SY_OK || sy_err_retry(e));
    }
}

/* ------------------------------------------------------------------ */
/* Callbacks                                                           */

static size_t
header(struct transfer *t, const char *line)
{
    char buf[512];
    size_t n = strlen(line);
    assert_true(n < sizeof(buf));
    memcpy(buf, line, n);
    return on_header(buf, 1, n, t);
}

static void
test_on_header(void **state)
{
    (void)state;
    struct sy_upstream_call c;
    struct transfer t;
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    t.c = &c;
    fake_us = 777;
    sy_clock_set(fake_clock);
    assert_int_equal(header(&t, "HTTP/1.1 429 Too Many\r\n"), 23);
    assert_int_equal(t.last_byte_us, 777);
    header(&t, "Content-Type:   application/json; charset=utf-8  \r\n");
    assert_string_equal(c.content_type, "application/json; charset=utf-8");
    header(&t, "retry-after: 3\r\n");
    assert_int_equal(c.retry_after_ms, 3000);
    /* retry-after-ms is more precise and wins, whatever the order. */
    header(&t, "Retry-After-Ms: 250\r\n");
    assert_int_equal(c.retry_after_ms, 250);
    header(&t, "Retry-After: 9\r\n");
    assert_int_equal(c.retry_after_ms, 250);
    /* Lines without a colon, and other headers, are ignored. */
    header(&t, "garbage\r\n");
    header(&t, "X-Content-Type: text/plain\r\n");
    header(&t, "\r\n");
    assert_string_equal(c.content_type, "application/json; charset=utf-8");
    /* A new status line (100 Continue, redirect) forgets the old one. */
    header(&t, "HTTP/1.1 200 OK\r\n");
    assert_string_equal(c.content_type, "");
    assert_int_equal(c.retry_after_ms, 0);
    /* An over-long value is cut, not overflowed. */
    char line[300];
    memset(line, 'a', sizeof(line));
    memcpy(line, "content-type: ", 14);
    memcpy(line + 250, "\r\n", 3);
    header(&t, line);
    assert_int_equal(strlen(c.content_type), sizeof(c.content_type) - 1);
    assert_int_equal(c.content_type[0], 'a');
    /* Empty value. */
    header(&t, "Content-Type:\r\n");
    assert_string_equal(c.content_type, "");
}

static void
test_on_body_buffers_with_limit(void **state)
{
    (void)state;
    struct sy_upstream_call c;
    struct transfer t;
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    c.max_body_bytes = 10;
    sy_buf_init(&c.body, c.max_body_bytes);
    t.c = &c;
    t.easy = curl_easy_init();
    assert_non_null(t.easy);
    sy_clock_set(fake_clock);
    fake_us = 1000;
    t.start_us = 400;
    char p1[] = "hello";
    assert_int_equal(on_body(p1, 1, 5, &t), 5);
    /* First byte time measured with the injected clock. */
    assert_int_equal(c.first_byte_us, 600);
    assert_int_equal(t.last_byte_us, 1000);
    fake_us = 5000;
    char p2[] = "world";
    assert_int_equal(on_body(p2, 5, 1, &t), 5);
    assert_int_equal(c.first_byte_us, 600);
    assert_int_equal(t.last_byte_us, 5000);
    assert_int_equal(c.body_bytes, 10);
    assert_string_equal(sy_buf_cstr(&c.body), "helloworld");
    /* Over the cap: the transfer is stopped with a protocol error. */
    char p3[] = "!";
    assert_int_equal(on_body(p3, 1, 1, &t), 0);
    assert_int_equal(t.cb_err, SY_EUP_PROTO);
    assert_string_equal(c.errmsg, "response body larger than 10 bytes");
    assert_int_equal(map_curl(CURLE_WRITE_ERROR, &t), SY_EUP_PROTO);
    assert_string_equal(sy_buf_cstr(&c.body), "helloworld");
    sy_upstream_call_cleanup(&c);
    assert_null(c.body.data);
    sy_upstream_call_cleanup(NULL);
    curl_easy_cleanup(t.easy);
}

/* ------------------------------------------------------------------ */
/* A real call to a closed loopback port                               */

static void
test_perform_connect_refused(void **state)
{
    (void)state;
    struct sy_upstream *u = sy_upstream_new();
    struct sy_buf body;
    sy_buf_init(&body, 1024);
    sy_buf_puts(&body, "{}");
    struct sy_http_out out;
    memset(&out, 0, sizeof(out));
    out.method = "POST";
    out.url = "http://127.0.0.1:1/v1/chat/completions";
    out.headers[out.nheaders++] = "Content-Type: application/json";
    out.body = &body;
    struct sy_upstream_call c;
    memset(&c, 0, sizeof(c));
    c.req = &out;
    c.timeouts.connect_ms = 2000;
    c.timeouts.first_byte_ms = 5000;
    c.timeouts.idle_ms = 5000;
    c.timeouts.total_ms = 5000;
    c.max_body_bytes = 1024;
    /* Twice on the same handle: state does not leak between calls. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sy_upstream_perform(u, &c), SY_EUP_CONNECT);
        assert_int_equal(c.status, 0);
        assert_string_equal(c.content_type, "");
        assert_true(c.errmsg[0] != '\0');
        assert_int_equal(c.body.len, 0);
        sy_upstream_call_cleanup(&c);
    }
    /* Not an HTTP URL: refused by curl, mapped to a protocol error. */
    out.url = "ftp://127.0.0.1:1/x";
    assert_int_equal(sy_upstream_perform(u, &c), SY_EUP_PROTO);
    assert_true(c.errmsg[0] != '\0');
    sy_upstream_call_cleanup(&c);
    sy_buf_free(&body);
    sy_upstream_free(u);
    sy_upstream_free(NULL);
}

/* total_ms is checked as data comes: a stream relayed to a caller that
 * reads slowly spends it inside the callback, read after read, where
 * libcurl's own check (between reads) does not see it. */
static void
test_on_body_total_ms(void **state)
{
    (void)state;
    struct sy_upstream_call c;
    struct transfer t;
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    c.max_body_bytes = 100;
    c.timeouts.total_ms = 2;
    sy_buf_init(&c.body, c.max_body_bytes);
    t.c = &c;
    t.easy = curl_easy_init();
    assert_non_null(t.easy);
    sy_clock_set(fake_clock);
    t.start_us = 1000;
    fake_us = 1500;
    char p1[] = "first";
    assert_int_equal(on_body(p1, 1, 5, &t), 5);
    fake_us = 2900; /* 1.9 ms in: within */
    assert_int_equal(on_body(p1, 1, 5, &t), 5);
    fake_us = 3100; /* 2.1 ms in: past total_ms */
    assert_int_equal(on_body(p1, 1, 5, &t), 0);
    assert_int_equal(t.cb_err, SY_EUP_TOOLONG);
    assert_string_equal(c.errmsg, "total time limit reached");
    curl_easy_cleanup(t.easy);
    sy_buf_free(&c.body);
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_ms),
        cmocka_unit_test(test_retry_after_http_date),
        cmocka_unit_test(test_map_curl),
        cmocka_unit_test_teardown(test_on_header, restore_clock),
        cmocka_unit_test_teardown(test_on_body_buffers_with_limit,
                                  restore_clock),
        cmocka_unit_test_teardown(test_on_body_total_ms, restore_clock),
        cmocka_unit_test(test_perform_connect_refused),
    };
    return cmocka_run_group_tests_name("upstream", tests, group_setup,
                                       group_teardown);
}
