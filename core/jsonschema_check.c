/*
 * jsonschema_check.c - sy_jsonschema_check: walks a schema once and
 * tells whether sy_jsonschema_validate (jsonschema.c) can apply it:
 * keyword values of the right shapes (per the keyword table), patterns
 * that jsonschema_rx.c translates and compiles, $refs that resolve in the
 * document. Validates no instance. Shares jsonschema_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "jsonschema.h"
#include "jsonschema_int.h"

#include <math.h>
#include <regex.h>

#include <json-c/json.h>

static bool check_schema(struct vctx *c, const struct json_object *s);

static bool
check_list(struct vctx *c, const struct json_object *k, bool empty_ok)
{
    if (!json_object_is_type(k, json_type_array) ||
        (!empty_ok && json_object_array_length(k) == 0))
        return jsonschema_fail(c, "must be a non-empty array of schemas");
    size_t n = json_object_array_length(k);
    for (size_t i = 0; i < n; i++) {
        size_t saved = jsonschema_path_index(c, i);
        bool ok = check_schema(c, json_object_array_get_idx(k, i));
        jsonschema_path_pop(c, saved);
        if (!ok)
            return false;
    }
    return true;
}

static bool
check_map(struct vctx *c, const struct json_object *k, bool patterns)
{
    if (!json_object_is_type(k, json_type_object))
        return jsonschema_fail(c, "must be an object of schemas");
    json_object_object_foreach(k, key, sub) {
        size_t saved = jsonschema_path_key(c, key);
        regex_t re;
        const char *why;
        bool ok = true;
        if (patterns) {
            ok = jsonschema_rx_compile(c, key, &re, &why) ||
                 jsonschema_fail(c, "unsupported pattern: %s", why);
            if (ok)
                regfree(&re);
        }
        ok = ok && check_schema(c, sub);
        jsonschema_path_pop(c, saved);
        if (!ok)
            return false;
    }
    return true;
}

static bool
check_value(struct vctx *c, const struct kw *kw, const struct json_object *k)
{
    regex_t re;
    const char *why;
    switch (kw->arg) {
    case K_SCHEMA:
        return check_schema(c, k);
    case K_SCHEMA_MAP:
        return check_map(c, k, false);
    case K_PATTERN_MAP:
        return check_map(c, k, true);
    case K_SCHEMA_LIST:
        return check_list(c, k, false);
    case K_ITEMS:
        return json_object_is_type(k, json_type_array) ? check_list(c, k, true)
                                                       : check_schema(c, k);
    case K_COUNT:
        if (!jsonschema_is_integral(k) || json_object_get_double(k) < 0)
            return jsonschema_fail(c, "must be a non-negative integer");
        return true;
    case K_BOUND:
        if (json_object_is_type(k, json_type_boolean))
            return true;
        /* fall through */
    case K_NUMBER:
        if (!jsonschema_is_number(k) || !isfinite(json_object_get_double(k)))
            return jsonschema_fail(c, "must be a number");
        return true;
    case K_POSITIVE:
        if (!jsonschema_is_number(k) || !isfinite(json_object_get_double(k)) ||
            !(json_object_get_double(k) > 0))
            return jsonschema_fail(c, "must be a number greater than 0");
        return true;
    case K_TYPE: {
        bool list = json_object_is_type(k, json_type_array);
        size_t n = list ? json_object_array_length(k) : 1;
        if (n == 0)
            return jsonschema_fail(c, "must not be empty");
        for (size_t i = 0; i < n; i++)
            if (jsonschema_type_bit(list ? json_object_array_get_idx(k, i)
                                         : k) == 0)
                return jsonschema_fail(c, "must be a type name (null, "
                                          "boolean, object, array, number, "
                                          "integer, string) or an array of "
                                          "them");
        return true;
    }
    case K_NAMES: {
        size_t n = json_object_is_type(k, json_type_array)
                       ? json_object_array_length(k) : 0;
        if (!json_object_is_type(k, json_type_array))
            return jsonschema_fail(c, "must be an array of strings");
        for (size_t i = 0; i < n; i++)
            if (!json_object_is_type(json_object_array_get_idx(k, i),
                                     json_type_string))
                return jsonschema_fail(c, "must be an array of strings");
        return true;
    }
    case K_ARRAY:
        return json_object_is_type(k, json_type_array) ||
               jsonschema_fail(c, "must be an array");
    case K_ANY:
        return true;
    case K_BOOL:
        return json_object_is_type(k, json_type_boolean) ||
               jsonschema_fail(c, "must be a boolean");
    case K_PATTERN:
        if (!json_object_is_type(k, json_type_string))
            return jsonschema_fail(c, "must be a string");
        if (!jsonschema_rx_compile(c, jsonschema_str_of(k), &re, &why))
            return jsonschema_fail(c, "unsupported pattern: %s", why);
        regfree(&re);
        return true;
    case K_REF:
        if (!json_object_is_type(k, json_type_string))
            return jsonschema_fail(c, "must be a string");
        if (!jsonschema_is_schema(
                jsonschema_resolve_ref(c->root, jsonschema_str_of(k))))
            return jsonschema_fail(c, "cannot resolve (only references "
                                      "inside this schema, such as "
                                      "\"#/$defs/name\", are supported)");
        return true;
    }
    return true;
}

static bool
check_schema(struct vctx *c, const struct json_object *s)
{
    if (json_object_is_type(s, json_type_boolean))
        return true;
    if (!json_object_is_type(s, json_type_object))
        return jsonschema_fail(c, "must be a schema (an object or a boolean)");
    if (c->depth >= SY_JSONSCHEMA_MAX_DEPTH)
        return jsonschema_fail(c, "the schema is nested too deeply");
    c->depth++;
    bool ok = true;
    json_object_object_foreach(s, name, val) {
        const struct kw *kw = jsonschema_kw_find(name);
        if (kw == NULL)
            continue; /* annotations and unknown keywords */
        size_t saved = jsonschema_path_key(c, name);
        ok = check_value(c, kw, val);
        jsonschema_path_pop(c, saved);
        if (!ok)
            break;
    }
    c->depth--;
    return ok;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */

/* Check that 'schema' (borrowed) is a schema this validator can apply:
 * keyword values have the right shapes, patterns translate and compile,
 * $refs resolve inside the document. Unknown keywords are allowed. Not
 * a meta-schema validation. On failure 'err' gets "<schema pointer>:
 * <problem>", e.g. "#/properties/a/minimum: must be a number". */
bool
sy_jsonschema_check(const struct json_object *schema, char *err,
                    size_t errlen)
{
    struct vctx c;
    jsonschema_ctx_init(&c, schema, err, errlen, true);
    bool ok = check_schema(&c, schema);
    jsonschema_ctx_cleanup(&c);
    return ok;
}
