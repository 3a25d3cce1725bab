/*
 * golden_util.c - the golden runner's file and JSON helpers: read a
 * case file, parse it, and compare JSON structurally ("%ANY%" in the
 * expected side matches anything), printing both sides on a difference.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "golden.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole of file 'dir'/'name' (malloc'd, NUL-terminated; length in
 * 'len' if not NULL), or NULL when it cannot be opened. */
char *
golden_read_file(const char *dir, const char *name, size_t *len)
{
    char path[1400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    struct sy_buf b;
    sy_buf_init(&b, 64u << 20);
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
        sy_buf_append(&b, tmp, n);
    fclose(fp);
    if (len != NULL)
        *len = b.len;
    if (b.data == NULL)
        return sy_xstrdup("");
    return b.data;
}

/* File 'dir'/'name' parsed as JSON (the caller puts it), NULL when it
 * does not exist; invalid JSON fails the test. */
struct json_object *
golden_read_json(const char *dir, const char *name)
{
    size_t len;
    char *text = golden_read_file(dir, name, &len);
    if (text == NULL)
        return NULL;
    struct json_object *o = sy_adapter_json_parse(text, len);
    if (o == NULL)
        fail_msg("%s/%s is not valid JSON", dir, name);
    free(text);
    return o;
}

static const char *
js(struct json_object *o)
{
    return json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Whether JSON strings 'a' and 'b' are equal by length and bytes: a
 * JSON string may hold NUL ("\u0000"), and strcmp would stop there and
 * miss a difference (or a cut) after it. */
static bool
str_same(struct json_object *a, struct json_object *b)
{
    int n = json_object_get_string_len(a);
    return n == json_object_get_string_len(b) &&
           memcmp(json_object_get_string(a), json_object_get_string(b),
                  (size_t)n) == 0;
}

/* Whether 'o' is the string "%ANY%" (exactly: not a prefix before a NUL). */
static bool
is_any(struct json_object *o)
{
    return json_object_is_type(o, json_type_string) &&
           json_object_get_string_len(o) == 5 &&
           memcmp(json_object_get_string(o), "%ANY%", 5) == 0;
}

/* Structural comparison; "%ANY%" in 'want' matches anything. On a
 * difference, 'path' receives where. */
static bool
json_same(struct json_object *want, struct json_object *got, char *path,
          size_t plen)
{
    if (is_any(want))
        return true;
    json_type wt = json_object_get_type(want);
    json_type gt = json_object_get_type(got);
    bool wnum = wt == json_type_int || wt == json_type_double;
    bool gnum = gt == json_type_int || gt == json_type_double;
    if (wnum && gnum)
        return json_object_get_double(want) == json_object_get_double(got);
    if (wt != gt)
        return false;
    switch (wt) {
    case json_type_null:
        return true;
    case json_type_boolean:
        return json_object_get_boolean(want) == json_object_get_boolean(got);
    case json_type_string:
        return str_same(want, got);
    case json_type_array: {
        size_t n = json_object_array_length(want);
        if (n != json_object_array_length(got))
            return false;
        for (size_t i = 0; i < n; i++) {
            size_t used = strlen(path);
            snprintf(path + used, plen - used, "[%zu]", i);
            if (!json_same(json_object_array_get_idx(want, i),
                           json_object_array_get_idx(got, i), path, plen))
                return false;
            path[used] = '\0';
        }
        return true;
    }
    case json_type_object: {
        if (json_object_object_length(want) != json_object_object_length(got)) {
            size_t used = strlen(path);
            snprintf(path + used, plen - used, " (member count)");
            return false;
        }
        json_object_object_foreach(want, k, v)
        {
            struct json_object *g;
            size_t used = strlen(path);
            snprintf(path + used, plen - used, ".%s", k);
            if (!json_object_object_get_ex(got, k, &g))
                return false;
            if (!json_same(v, g, path, plen))
                return false;
            path[used] = '\0';
        }
        return true;
    }
    default:
        return false;
    }
}

/* Fail the test, printing both sides, unless 'got' matches 'want'. */
void
golden_expect_json(const char *what, struct json_object *want,
                   struct json_object *got)
{
    char path[512] = "$";
    if (json_same(want, got, path, sizeof(path)))
        return;
    print_error("%s differs at %s\n--- expected:\n%s\n", what, path, js(want));
    print_error("--- got:\n%s\n", js(got));
    fail_msg("%s differs at %s", what, path);
}
