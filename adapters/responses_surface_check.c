/*
 * responses_surface_check.c - the checking helpers of the Responses
 * surface's request side (responses_surface.c, _in.c, _tools.c):
 * members of the caller's body read with their JSON types checked, and
 * refusals in OpenAI's words ("Missing required parameter: 'input[1].
 * call_id'.", "Invalid type for ...", "Invalid value: ...") whose param
 * is the parameter's path.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "responses_surface_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

enum sy_err
sy_rsurf_fail(struct rsurf_tr *t, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err->message, sizeof(t->err->message), fmt, ap);
    va_end(ap);
    t->err->param = param;
    return SY_EBADREQ;
}

const char *
sy_rsurf_path(struct rsurf_tr *t, const char *at, const char *key)
{
    if (at == NULL)
        return key;
    if (key == NULL)
        return at;
    return sy_arena_printf(t->a, "%s.%s", at, key);
}

static const char *
type_words(json_type type)
{
    switch (type) {
    case json_type_string:
        return "a string";
    case json_type_int:
        return "an integer";
    case json_type_double:
        return "a decimal";
    case json_type_boolean:
        return "a boolean";
    case json_type_array:
        return "an array";
    case json_type_null:
        return "null";
    default:
        return "an object";
    }
}

enum sy_err
sy_rsurf_bad_type(struct rsurf_tr *t, const char *param, const char *expected,
                  struct json_object *got)
{
    return sy_rsurf_fail(t, param,
                         "Invalid type for '%s': expected %s, but got %s "
                         "instead.",
                         param, expected,
                         type_words(json_object_get_type(got)));
}

enum sy_err
sy_rsurf_member(struct rsurf_tr *t, struct json_object *o, const char *at,
                const char *key, json_type type, bool required,
                struct json_object **v)
{
    *v = sy_adapter_get(o, key);
    if (*v == NULL) {
        if (!required)
            return SY_OK;
        const char *p = sy_rsurf_path(t, at, key);
        return sy_rsurf_fail(t, p, "Missing required parameter: '%s'.", p);
    }
    if (json_object_is_type(*v, type) ||
        (type == json_type_double && json_object_is_type(*v, json_type_int)))
        return SY_OK;
    struct json_object *got = *v;
    *v = NULL;
    return sy_rsurf_bad_type(t, sy_rsurf_path(t, at, key), type_words(type),
                             got);
}

enum sy_err
sy_rsurf_str_member(struct rsurf_tr *t, struct json_object *o, const char *at,
                    const char *key, bool required, const char **s)
{
    struct json_object *v;
    enum sy_err e =
        sy_rsurf_member(t, o, at, key, json_type_string, required, &v);
    *s = v ? json_object_get_string(v) : NULL;
    return e;
}

enum sy_err
sy_rsurf_bad_value(struct rsurf_tr *t, const char *param, const char *value,
                   const char *expected)
{
    return sy_rsurf_fail(t, param,
                         "Invalid value: '%.60s'. Supported values are: %s.",
                         value, expected);
}
