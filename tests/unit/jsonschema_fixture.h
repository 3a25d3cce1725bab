/*
 * jsonschema_fixture.h - what the JSON Schema tests share: parse() reads
 * a schema or instance written with ' for " (a JSON backslash is \\\\
 * in C), and check_pair() validates one instance against one schema.
 * Included by test_jsonschema.c and test_jsonschema_check.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_TESTS_UNIT_JSONSCHEMA_FIXTURE_H
#define SY_TESTS_UNIT_JSONSCHEMA_FIXTURE_H

#include "base/sy.h"
#include "contract/jsonschema.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

/* Parse 'text' (with ' for ") as the one element of an array, so that
 * scalars and null need no special handling; '*holder' owns the tree. */
SY_UNUSED static struct json_object *
parse(const char *text, struct json_object **holder)
{
    size_t n = strlen(text);
    char *buf = malloc(n + 3);
    assert_non_null(buf);
    buf[0] = '[';
    for (size_t i = 0; i < n; i++)
        buf[i + 1] = text[i] == '\'' ? '"' : text[i];
    buf[n + 1] = ']';
    buf[n + 2] = '\0';
    struct json_tokener *tok = json_tokener_new_ex(256);
    assert_non_null(tok);
    *holder = json_tokener_parse_ex(tok, buf, (int)(n + 2));
    json_tokener_free(tok);
    free(buf);
    if (*holder == NULL || json_object_array_length(*holder) != 1)
        fail_msg("test JSON does not parse: %s", text);
    return json_object_array_get_idx(*holder, 0);
}

/* Validate one pair; return the verdict, message in 'err'. */
SY_UNUSED static bool
check_pair(const char *schema, const char *instance, char *err, size_t errlen)
{
    struct json_object *hs, *hi;
    struct json_object *s = parse(schema, &hs);
    struct json_object *v = parse(instance, &hi);
    bool ok = sy_jsonschema_validate(s, v, err, errlen);
    json_object_put(hs);
    json_object_put(hi);
    return ok;
}

#endif
