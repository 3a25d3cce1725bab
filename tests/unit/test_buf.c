/*
 * test_buf.c - unit tests for core/base/buf.c: the hard maximum (and an
 * unchanged buffer after a refused append), sticky errors, JSON string
 * escaping, consume and printf.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/buf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

static void
test_empty(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 100);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 100);
    assert_string_equal(sy_buf_cstr(&b), "");
    sy_buf_clear(&b);
    sy_buf_consume(&b, 5);
    assert_string_equal(sy_buf_cstr(&b), "");
    sy_buf_free(&b);
    sy_buf_free(NULL);
    /* Appending nothing still gives a NUL-terminated buffer. */
    assert_int_equal(sy_buf_append(&b, "", 0), SY_OK);
    assert_non_null(b.data);
    assert_string_equal(sy_buf_cstr(&b), "");
    sy_buf_free(&b);
}

static void
test_append_and_grow(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 1u << 20);
    char expect[5000];
    for (size_t i = 0; i < 5000; i++) {
        char c = (char)('a' + i % 26);
        expect[i] = c;
        assert_int_equal(sy_buf_append(&b, &c, 1), SY_OK);
        assert_int_equal(b.len, i + 1);
        assert_int_equal(b.data[b.len], '\0');
        assert_true(b.cap > b.len);
    }
    assert_memory_equal(b.data, expect, 5000);
    assert_int_equal(sy_buf_puts(&b, "END"), SY_OK);
    assert_int_equal(b.len, 5003);
    assert_string_equal(b.data + 5000, "END");
    /* Embedded NUL bytes are data. */
    assert_int_equal(sy_buf_append(&b, "x\0y", 3), SY_OK);
    assert_int_equal(b.len, 5006);
    assert_memory_equal(b.data + 5003, "x\0y\0", 4);
    sy_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    /* Usable again after free. */
    assert_int_equal(sy_buf_puts(&b, "again"), SY_OK);
    assert_string_equal(sy_buf_cstr(&b), "again");
    sy_buf_free(&b);
}

static void
test_max_enforced(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 10);
    assert_int_equal(sy_buf_puts(&b, "0123456789"), SY_OK);
    assert_int_equal(b.len, 10);
    /* Storage never goes past max + 1 (the NUL). */
    assert_true(b.cap <= 11);
    char *before = b.data;
    /* One more byte is refused and changes nothing. */
    assert_int_equal(sy_buf_append(&b, "x", 1), SY_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_ptr_equal(b.data, before);
    assert_string_equal(b.data, "0123456789");
    assert_int_equal(sy_buf_puts(&b, "xyz"), SY_ETOOBIG);
    assert_int_equal(sy_buf_printf(&b, "%d", 7), SY_ETOOBIG);
    assert_string_equal(b.data, "0123456789");
    assert_int_equal(sy_buf_json_str(&b, "a", 1), SY_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    /* The buffer is failed: even an empty append reports it. */
    assert_true(sy_buf_failed(&b));
    assert_int_equal(sy_buf_append(&b, "", 0), SY_ETOOBIG);
    sy_buf_free(&b);
    /* Before any failure, zero bytes still fit at the maximum, and
     * consuming makes room again. */
    sy_buf_init(&b, 10);
    assert_int_equal(sy_buf_puts(&b, "0123456789"), SY_OK);
    assert_int_equal(sy_buf_append(&b, "", 0), SY_OK);
    sy_buf_consume(&b, 3);
    assert_int_equal(sy_buf_puts(&b, "abc"), SY_OK);
    assert_string_equal(b.data, "3456789abc");
    assert_false(sy_buf_failed(&b));
    sy_buf_free(&b);
}

static void
test_sticky_error(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 8);
    assert_false(sy_buf_failed(&b));
    assert_int_equal(sy_buf_err(&b), SY_OK);
    assert_int_equal(sy_buf_puts(&b, "abcdef"), SY_OK);
    /* One refused append fails the buffer... */
    assert_int_equal(sy_buf_puts(&b, "xyz"), SY_ETOOBIG);
    assert_true(sy_buf_failed(&b));
    assert_int_equal(sy_buf_err(&b), SY_ETOOBIG);
    /* ...and later appends that would fit are no-ops with the same
     * error, so a gap can never be hidden by what follows it. */
    assert_int_equal(sy_buf_puts(&b, "g"), SY_ETOOBIG);
    assert_int_equal(sy_buf_append(&b, "h", 1), SY_ETOOBIG);
    assert_int_equal(sy_buf_printf(&b, "%d", 1), SY_ETOOBIG);
    assert_int_equal(sy_buf_json_str(&b, "", 0), SY_ETOOBIG);
    assert_string_equal(sy_buf_cstr(&b), "abcdef");
    assert_int_equal(b.len, 6);
    /* Consuming keeps the error: the rest is still incomplete. */
    sy_buf_consume(&b, 2);
    assert_true(sy_buf_failed(&b));
    assert_int_equal(sy_buf_puts(&b, "x"), SY_ETOOBIG);
    assert_string_equal(sy_buf_cstr(&b), "cdef");
    /* Clear resets the error and the contents. */
    sy_buf_clear(&b);
    assert_false(sy_buf_failed(&b));
    assert_int_equal(sy_buf_puts(&b, "12345678"), SY_OK);
    assert_string_equal(sy_buf_cstr(&b), "12345678");
    /* So do free and init. */
    assert_int_equal(sy_buf_puts(&b, "9"), SY_ETOOBIG);
    sy_buf_free(&b);
    assert_false(sy_buf_failed(&b));
    assert_int_equal(sy_buf_puts(&b, "123456789"), SY_ETOOBIG);
    sy_buf_free(&b);
    sy_buf_init(&b, 8);
    assert_false(sy_buf_failed(&b));
    assert_int_equal(sy_buf_puts(&b, "ok"), SY_OK);
    sy_buf_free(&b);
}

static void
test_sticky_error_json_str(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 6);
    /* A literal that does not fit leaves a part behind, but the buffer
     * says so: it is never taken for a whole document. */
    assert_int_equal(sy_buf_json_str(&b, "ab\ncd", 5), SY_ETOOBIG);
    assert_true(sy_buf_failed(&b));
    assert_int_equal(sy_buf_puts(&b, "\""), SY_ETOOBIG);
    sy_buf_free(&b);
}

static void
test_max_refuses_huge_sizes(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 64);
    assert_int_equal(sy_buf_puts(&b, "abc"), SY_OK);
    /* Sizes that would overflow len + n must be refused, not wrapped
     * (each on a fresh buffer: the first refusal fails the buffer). */
    static const size_t huge[] = { SIZE_MAX, SIZE_MAX - 2, 62 };
    for (size_t i = 0; i < SY_ARRAY_LEN(huge); i++) {
        sy_buf_clear(&b);
        assert_int_equal(sy_buf_puts(&b, "abc"), SY_OK);
        assert_int_equal(sy_buf_append(&b, "z", huge[i]), SY_ETOOBIG);
        assert_int_equal(b.len, 3);
        assert_string_equal(b.data, "abc");
    }
    /* A printf bigger than the whole maximum. */
    sy_buf_clear(&b);
    assert_int_equal(sy_buf_puts(&b, "abc"), SY_OK);
    char big[200];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(sy_buf_printf(&b, "%s", big), SY_ETOOBIG);
    assert_string_equal(b.data, "abc");
    sy_buf_free(&b);
    /* max 0: only empty appends. */
    sy_buf_init(&b, 0);
    assert_int_equal(sy_buf_append(&b, "", 0), SY_OK);
    assert_string_equal(sy_buf_cstr(&b), "");
    assert_int_equal(sy_buf_append(&b, "a", 1), SY_ETOOBIG);
    assert_string_equal(sy_buf_cstr(&b), "");
    sy_buf_free(&b);
}

static void
test_printf(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 1u << 16);
    assert_int_equal(sy_buf_printf(&b, "%s=%d", "a", 42), SY_OK);
    assert_int_equal(sy_buf_printf(&b, ",%05.1f", 2.25), SY_OK);
    assert_int_equal(sy_buf_printf(&b, "%s", ""), SY_OK);
    assert_string_equal(b.data, "a=42,002.2");
    assert_int_equal(b.len, strlen("a=42,002.2"));
    /* Growth inside printf: longer than the initial capacity. */
    char big[1000];
    memset(big, 'p', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(sy_buf_printf(&b, "[%s]", big), SY_OK);
    assert_int_equal(b.len, 10 + 1 + 999 + 1);
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(b.data[b.len], '\0');
    sy_buf_free(&b);
    /* Exactly up to the maximum. */
    sy_buf_init(&b, 5);
    assert_int_equal(sy_buf_printf(&b, "%d", 12345), SY_OK);
    assert_string_equal(b.data, "12345");
    assert_int_equal(sy_buf_printf(&b, "%s", ""), SY_OK);
    assert_int_equal(sy_buf_printf(&b, "%d", 6), SY_ETOOBIG);
    assert_string_equal(b.data, "12345");
    sy_buf_free(&b);
}

/* The literal sy_buf_json_str writes for 'n' bytes of 's'. */
static char *
json_lit(const char *s, size_t n)
{
    static char out[4096];
    struct sy_buf b;
    sy_buf_init(&b, sizeof(out) - 1);
    assert_int_equal(sy_buf_json_str(&b, s, n), SY_OK);
    memcpy(out, sy_buf_cstr(&b), b.len + 1);
    sy_buf_free(&b);
    return out;
}

static void
test_json_str_escapes(void **state)
{
    (void)state;
    assert_string_equal(json_lit("", 0), "\"\"");
    assert_string_equal(json_lit("plain", 5), "\"plain\"");
    assert_string_equal(json_lit("say \"hi\"", 8), "\"say \\\"hi\\\"\"");
    assert_string_equal(json_lit("a\\b", 3), "\"a\\\\b\"");
    assert_string_equal(json_lit("\\", 1), "\"\\\\\"");
    assert_string_equal(json_lit("\"", 1), "\"\\\"\"");
    assert_string_equal(json_lit("l1\nl2\r\tx", 8), "\"l1\\nl2\\r\\tx\"");
    assert_string_equal(json_lit("\x01", 1), "\"\\u0001\"");
    assert_string_equal(json_lit("\x1f", 1), "\"\\u001f\"");
    assert_string_equal(json_lit("\b\f", 2), "\"\\u0008\\u000c\"");
    assert_string_equal(json_lit("a\0b", 3), "\"a\\u0000b\"");
    /* Not escaped: space, slash, DEL. */
    assert_string_equal(json_lit(" /\x7f", 3), "\" /\x7f\"");
    /* Only 'n' bytes are read. */
    assert_string_equal(json_lit("abcdef", 3), "\"abc\"");
    /* Escapes at both ends and back to back. */
    assert_string_equal(json_lit("\"\"\n", 3), "\"\\\"\\\"\\n\"");
}

static void
test_json_str_utf8_passthrough(void **state)
{
    (void)state;
    /* é, →, 😀 and a CJK character are copied byte for byte. */
    const char *s = "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80 \xe4\xb8\xad";
    char want[128];
    snprintf(want, sizeof(want), "\"%s\"", s);
    assert_string_equal(json_lit(s, strlen(s)), want);
}

static void
test_json_str_invalid_utf8(void **state)
{
    (void)state;
    /* Each byte outside well-formed UTF-8 becomes \ufffd (a caller's path
     * echoed in an error must not make the body invalid JSON): a stray
     * continuation byte, a cut sequence, an overlong form, a surrogate,
     * a code point above U+10FFFF, 0xff. */
    assert_string_equal(json_lit("a\x80"
                                 "b",
                                 3),
                        "\"a\\ufffdb\"");
    assert_string_equal(json_lit("\xc3", 1), "\"\\ufffd\"");
    assert_string_equal(json_lit("\xe2\x82", 2), "\"\\ufffd\\ufffd\"");
    assert_string_equal(json_lit("\xc0\xaf", 2), "\"\\ufffd\\ufffd\"");
    assert_string_equal(json_lit("\xed\xa0\x80", 3),
                        "\"\\ufffd\\ufffd\\ufffd\"");
    assert_string_equal(json_lit("\xf4\x90\x80\x80", 4),
                        "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    assert_string_equal(json_lit("\xff\xc3\xa9", 3), "\"\\ufffd\xc3\xa9\"");
    /* The largest code point and the last before the surrogates pass. */
    assert_string_equal(json_lit("\xf4\x8f\xbf\xbf\xed\x9f\xbf", 7),
                        "\"\xf4\x8f\xbf\xbf\xed\x9f\xbf\"");
}

static void
test_json_str_round_trip(void **state)
{
    (void)state;
    /* Every byte 1..127 plus some UTF-8, parsed back by json-c. */
    char in[200];
    size_t n = 0;
    for (int c = 1; c < 128; c++)
        in[n++] = (char)c;
    memcpy(in + n, "\xc3\xa9\xe2\x82\xac", 5);
    n += 5;
    struct sy_buf b;
    sy_buf_init(&b, 4096);
    assert_int_equal(sy_buf_puts(&b, "{\"k\":"), SY_OK);
    assert_int_equal(sy_buf_json_str(&b, in, n), SY_OK);
    assert_int_equal(sy_buf_puts(&b, "}"), SY_OK);
    struct json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    struct json_object *root = json_tokener_parse_ex(tok, b.data, (int)b.len);
    assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
    json_tokener_free(tok);
    assert_non_null(root);
    struct json_object *k;
    assert_true(json_object_object_get_ex(root, "k", &k));
    assert_int_equal(json_object_get_string_len(k), n);
    assert_memory_equal(json_object_get_string(k), in, n);
    json_object_put(root);
    /* No raw control character is left in the literal. */
    for (size_t i = 0; i < b.len; i++)
        assert_true((unsigned char)b.data[i] >= 0x20);
    sy_buf_free(&b);
}

static void
test_json_str_too_big(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 8);
    /* "abcdef" needs 8 bytes: fits exactly. */
    assert_int_equal(sy_buf_json_str(&b, "abcdef", 6), SY_OK);
    assert_string_equal(b.data, "\"abcdef\"");
    sy_buf_clear(&b);
    /* The escape makes it 9 bytes. */
    assert_int_equal(sy_buf_json_str(&b, "abcde\n", 6), SY_ETOOBIG);
    assert_true(b.len <= 8);
    sy_buf_free(&b);
}

static void
test_consume(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 100);
    assert_int_equal(sy_buf_puts(&b, "line1\nline2\nrest"), SY_OK);
    sy_buf_consume(&b, 0);
    assert_string_equal(b.data, "line1\nline2\nrest");
    sy_buf_consume(&b, 6);
    assert_string_equal(b.data, "line2\nrest");
    assert_int_equal(b.len, 10);
    sy_buf_consume(&b, 6);
    assert_string_equal(b.data, "rest");
    assert_int_equal(b.len, 4);
    /* Appending after consume continues at the end. */
    assert_int_equal(sy_buf_puts(&b, "+more"), SY_OK);
    assert_string_equal(b.data, "rest+more");
    sy_buf_consume(&b, b.len);
    assert_int_equal(b.len, 0);
    assert_string_equal(sy_buf_cstr(&b), "");
    assert_int_equal(sy_buf_puts(&b, "xy"), SY_OK);
    sy_buf_consume(&b, 1000);
    assert_int_equal(b.len, 0);
    assert_string_equal(sy_buf_cstr(&b), "");
    sy_buf_free(&b);
}

static void
test_clear_keeps_storage(void **state)
{
    (void)state;
    struct sy_buf b;
    sy_buf_init(&b, 1000);
    assert_int_equal(sy_buf_puts(&b, "something"), SY_OK);
    char *data = b.data;
    size_t cap = b.cap;
    sy_buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_string_equal(sy_buf_cstr(&b), "");
    sy_buf_free(&b);
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_max_enforced),
        cmocka_unit_test(test_max_refuses_huge_sizes),
        cmocka_unit_test(test_sticky_error),
        cmocka_unit_test(test_sticky_error_json_str),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_json_str_escapes),
        cmocka_unit_test(test_json_str_utf8_passthrough),
        cmocka_unit_test(test_json_str_invalid_utf8),
        cmocka_unit_test(test_json_str_round_trip),
        cmocka_unit_test(test_json_str_too_big),
        cmocka_unit_test(test_consume),
        cmocka_unit_test(test_clear_keeps_storage),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
