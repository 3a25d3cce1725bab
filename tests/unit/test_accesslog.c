/*
 * test_accesslog.c - unit tests for core/io/accesslog.c: the line's
 * members and order, null for absent strings, escaping and cutting of
 * hostile strings, the line bound, and one line per write to a file.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "io/accesslog.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

static void
record(struct sy_access_record *r)
{
    memset(r, 0, sizeof(*r));
    r->time_ms = 1764000000123ull;
    r->request_id = "req_1";
    r->trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    r->remote_addr = "10.0.0.7";
    r->method = "POST";
    r->path = "/v1/chat/completions";
    r->surface = "chat";
    r->key_name = "ci-bot";
    r->group = "chat";
    r->deployment = "east";
    r->attempts = 2;
    r->status = 200;
    r->total_us = 812456;
    r->provider_us = 790100;
    r->input_tokens = 1200;
    r->output_tokens = 300;
    r->cost_micro_usd = 4280;
}

static void
test_format(void **state)
{
    (void)state;
    struct sy_access_record r;
    record(&r);
    char line[SY_ACCESSLOG_LINE_MAX];
    size_t n = sy_accesslog_format(&r, line, sizeof(line));
    assert_true(n > 0);
    assert_int_equal(line[n - 1], '\n');
    line[n] = '\0';
    assert_string_equal(
        line,
        "{\"time\":\"2025-11-24T16:00:00.123Z\",\"request_id\":\"req_1\","
        "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
        "\"remote_addr\":\"10.0.0.7\",\"method\":\"POST\","
        "\"path\":\"/v1/chat/completions\",\"surface\":\"chat\","
        "\"key\":\"ci-bot\",\"group\":\"chat\",\"deployment\":\"east\","
        "\"attempts\":2,\"status\":200,\"error\":null,\"total_ms\":812.4,"
        "\"provider_ms\":790.1,\"input_tokens\":1200,\"output_tokens\":300,"
        "\"cost_micro_usd\":4280}\n");
}

static void
test_refused_and_hostile(void **state)
{
    (void)state;
    struct sy_access_record r;
    memset(&r, 0, sizeof(r));
    r.time_ms = 1;
    r.status = 401;
    r.error = "unauthorized";
    char hostile[2000];
    memset(hostile, '"', sizeof(hostile) - 1);
    hostile[sizeof(hostile) - 1] = '\0';
    r.path = hostile;
    r.remote_addr = "a\nb\x01";
    char line[SY_ACCESSLOG_LINE_MAX];
    size_t n = sy_accesslog_format(&r, line, sizeof(line));
    assert_true(n > 0 && n < sizeof(line));
    line[n] = '\0';
    assert_ptr_equal(strchr(line, '\n'), line + n - 1);
    struct json_object *o = json_tokener_parse(line);
    assert_non_null(o);
    assert_null(json_object_object_get(o, "key"));
    assert_true(json_object_object_get_ex(o, "key", NULL));
    assert_int_equal(json_object_get_int(json_object_object_get(o, "status")),
                     401);
    assert_string_equal(
        json_object_get_string(json_object_object_get(o, "remote_addr")),
        "a\nb\x01");
    assert_true(strlen(json_object_get_string(json_object_object_get(
                    o, "path"))) <= SY_ACCESSLOG_FIELD_MAX / 2);
    json_object_put(o);
    /* Too small a buffer: 0, never a cut line. */
    assert_int_equal(sy_accesslog_format(&r, line, 40), 0);
}

static void
test_file(void **state)
{
    (void)state;
    char path[] = "/tmp/sy_accesslog_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct sy_accesslog *l = NULL;
    char err[200];
    assert_int_equal(sy_accesslog_open(path, &l, err, sizeof(err)), SY_OK);
    struct sy_access_record r;
    record(&r);
    sy_accesslog_write(l, &r);
    r.status = 404;
    sy_accesslog_write(l, &r);
    sy_accesslog_write(NULL, &r); /* off: nothing */
    sy_accesslog_close(l);
    FILE *f = fopen(path, "r");
    char buf[8192];
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[got] = '\0';
    unsigned lines = 0;
    for (char *p = buf; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    assert_int_equal(lines, 2);
    assert_non_null(strstr(buf, "\"status\":404"));
    unlink(path);
    assert_int_not_equal(
        sy_accesslog_open("/nonexistent/dir/x", &l, err, sizeof(err)), SY_OK);
    assert_null(l);
}

/* The whole content of 'path' in 'buf' (NUL-terminated). */
static void
slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t got = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[got] = '\0';
}

/* Rotation by rename: lines go to the old file until the reopen (what
 * SIGHUP does in the pool), to a new file at the path after it. */
static void
test_reopen(void **state)
{
    (void)state;
    char dir[] = "/tmp/sy_accesslog_rot_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], old[128], err[200];
    snprintf(path, sizeof(path), "%s/access.log", dir);
    snprintf(old, sizeof(old), "%s/access.log.1", dir);
    struct sy_accesslog *l = NULL;
    assert_int_equal(sy_accesslog_open(path, &l, err, sizeof(err)), SY_OK);
    struct sy_access_record r;
    record(&r);
    r.request_id = "before";
    sy_accesslog_write(l, &r);
    assert_int_equal(rename(path, old), 0);
    r.request_id = "still-old";
    sy_accesslog_write(l, &r);
    assert_int_equal(sy_accesslog_reopen(l, err, sizeof(err)), SY_OK);
    r.request_id = "after";
    sy_accesslog_write(l, &r);
    sy_accesslog_close(l);
    char buf[8192];
    slurp(old, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"before\""));
    assert_non_null(strstr(buf, "\"still-old\""));
    assert_null(strstr(buf, "\"after\""));
    slurp(path, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"after\""));
    assert_null(strstr(buf, "\"before\""));
    /* The directory gone: the reopen fails, the old file stays in use. */
    assert_int_equal(sy_accesslog_open(path, &l, err, sizeof(err)), SY_OK);
    unlink(path);
    unlink(old);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(sy_accesslog_reopen(l, err, sizeof(err)), SY_EINTERNAL);
    assert_non_null(strstr(err, "access.log"));
    sy_accesslog_write(l, &r); /* still writes (to the unlinked file) */
    sy_accesslog_close(l);
    /* "stderr" and no log: nothing to reopen. */
    assert_int_equal(sy_accesslog_open("stderr", &l, err, sizeof(err)), SY_OK);
    assert_int_equal(sy_accesslog_reopen(l, err, sizeof(err)), SY_OK);
    sy_accesslog_close(l);
    assert_int_equal(sy_accesslog_reopen(NULL, err, sizeof(err)), SY_OK);
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_refused_and_hostile),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_reopen),
    };
    return cmocka_run_group_tests_name("accesslog", tests, NULL, NULL);
}
