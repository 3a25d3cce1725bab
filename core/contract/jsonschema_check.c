/*
 * jsonschema_check.c - sy_schema_compile: walks a schema once, before any
 * instance is seen, and refuses what sy_schema_validate (jsonschema.c)
 * could not apply exactly: keywords it does not implement (only the
 * annotations in jsonschema.c's list pass unasserted), keyword values of
 * the wrong shape (per the keyword table), patterns PCRE2 will not
 * compile within the limits (jsonschema_rx.c compiles and keeps them),
 * and $refs that do not name a schema the walk checked. Every refusal
 * names the schema location as a JSON pointer. Shares jsonschema_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "jsonschema.h"
#include "jsonschema_int.h"
#include "base/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* A $ref seen by the walk, checked once every schema is known. */
struct pending_ref {
    const void *target;
    char path[PATH_CAP];
};

static bool check_schema(struct vctx *c, const struct json_object *s);

/* Keywords accepted and not asserted. "format" is an annotation, as in
 * the 2019-09 and 2020-12 default vocabularies: the gateway does not
 * judge dates or e-mail addresses, and a caller who needs that checked
 * can add a pattern. "x-" extensions are annotations too. */
static const char *const annotations[] = {
    "title",     "description",      "default",         "examples",
    "$comment",  "format",           "deprecated",      "readOnly",
    "writeOnly", "contentMediaType", "contentEncoding", "contentSchema",
};

/* 'name' is an annotation this validator accepts and does not assert. */
static bool
is_annotation(const char *name)
{
    if (strncmp(name, "x-", 2) == 0)
        return true;
    for (size_t i = 0; i < SY_ARRAY_LEN(annotations); i++)
        if (strcmp(name, annotations[i]) == 0)
            return true;
    return false;
}

static void
remember_walked(struct compile_state *st, const void *s)
{
    if (st->nwalked == st->cwalked) {
        st->cwalked = st->cwalked ? st->cwalked * 2 : 32;
        st->walked = sy_xrealloc(st->walked, st->cwalked * sizeof(*st->walked));
    }
    st->walked[st->nwalked++] = s;
}

static bool
check_list(struct vctx *c, const struct json_object *k, bool empty_ok)
{
    if (!json_object_is_type(k, json_type_array) ||
        (!empty_ok && json_object_array_length(k) == 0))
        return sy_jsonschema_fail(c, "must be a non-empty array of schemas");
    size_t n = json_object_array_length(k);
    for (size_t i = 0; i < n; i++) {
        size_t saved = sy_jsonschema_path_index(c, i);
        bool ok = check_schema(c, json_object_array_get_idx(k, i));
        sy_jsonschema_path_pop(c, saved);
        if (!ok)
            return false;
    }
    return true;
}

static bool
check_pattern(struct vctx *c, const char *src, size_t len)
{
    char why[160];
    return sy_jsonschema_rx_add(c, src, len, why, sizeof(why)) ||
           sy_jsonschema_fail(c, "unsupported pattern: %s", why);
}

static bool
check_map(struct vctx *c, const struct json_object *k, bool patterns)
{
    if (!json_object_is_type(k, json_type_object))
        return sy_jsonschema_fail(c, "must be an object of schemas");
    json_object_object_foreach(k, key, sub)
    {
        size_t saved = sy_jsonschema_path_key(c, key);
        bool ok = !patterns || check_pattern(c, key, strlen(key));
        ok = ok && check_schema(c, sub);
        sy_jsonschema_path_pop(c, saved);
        if (!ok)
            return false;
    }
    return true;
}

static bool
check_names(struct vctx *c, const struct json_object *k)
{
    size_t n = json_object_is_type(k, json_type_array)
                   ? json_object_array_length(k)
                   : 0;
    if (!json_object_is_type(k, json_type_array))
        return sy_jsonschema_fail(c, "must be an array of strings");
    for (size_t i = 0; i < n; i++)
        if (!json_object_is_type(json_object_array_get_idx(k, i),
                                 json_type_string))
            return sy_jsonschema_fail(c, "must be an array of strings");
    return true;
}

/* dependencies (draft 4-7): per property, names or a schema;
 * dependentRequired: names; dependentSchemas: a schema (K_SCHEMA_MAP). */
static bool
check_deps(struct vctx *c, const struct json_object *k)
{
    if (!json_object_is_type(k, json_type_object))
        return sy_jsonschema_fail(c, "must be an object");
    json_object_object_foreach(k, key, sub)
    {
        size_t saved = sy_jsonschema_path_key(c, key);
        bool ok = json_object_is_type(sub, json_type_array)
                      ? check_names(c, sub)
                      : check_schema(c, sub);
        sy_jsonschema_path_pop(c, saved);
        if (!ok)
            return false;
    }
    return true;
}

static bool
check_ref(struct vctx *c, const struct json_object *k)
{
    if (!json_object_is_type(k, json_type_string))
        return sy_jsonschema_fail(c, "must be a string");
    const struct json_object *t =
        sy_jsonschema_resolve_ref(c->root, sy_jsonschema_str_of(k));
    if (!sy_jsonschema_is_schema(t))
        return sy_jsonschema_fail(c, "cannot resolve (only references "
                                     "inside this schema, such as "
                                     "\"#/$defs/name\", are supported)");
    struct compile_state *st = c->cst;
    if (st->nrefs == st->crefs) {
        st->crefs = st->crefs ? st->crefs * 2 : 8;
        st->refs = sy_xrealloc(st->refs, st->crefs * sizeof(*st->refs));
    }
    st->refs[st->nrefs].target = t;
    snprintf(st->refs[st->nrefs].path, PATH_CAP, "%s", c->path);
    st->nrefs++;
    return true;
}

static bool
check_number(struct vctx *c, const struct json_object *k, bool positive)
{
    double d = json_object_get_double(k);
    if (!sy_jsonschema_is_number(k) || !isfinite(d))
        return sy_jsonschema_fail(c, "must be a number");
    if (positive && !(d > 0))
        return sy_jsonschema_fail(c, "must be a number greater than 0");
    return true;
}

static bool
check_type(struct vctx *c, const struct json_object *k)
{
    bool list = json_object_is_type(k, json_type_array);
    size_t n = list ? json_object_array_length(k) : 1;
    if (n == 0)
        return sy_jsonschema_fail(c, "must not be empty");
    for (size_t i = 0; i < n; i++)
        if (sy_jsonschema_type_bit(list ? json_object_array_get_idx(k, i)
                                        : k) == 0)
            return sy_jsonschema_fail(c, "must be a type name (null, boolean, "
                                         "object, array, number, integer, "
                                         "string) or an array of them");
    return true;
}

static bool
check_value(struct vctx *c, const struct kw *kw, const struct json_object *k)
{
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
        if (!sy_jsonschema_is_integral(k) || json_object_get_double(k) < 0)
            return sy_jsonschema_fail(c, "must be a non-negative integer");
        return true;
    case K_BOUND:
        if (json_object_is_type(k, json_type_boolean))
            return true;
        return check_number(c, k, false);
    case K_NUMBER:
        return check_number(c, k, false);
    case K_POSITIVE:
        return check_number(c, k, true);
    case K_TYPE:
        return check_type(c, k);
    case K_NAMES:
        return check_names(c, k);
    case K_ARRAY:
        return json_object_is_type(k, json_type_array) ||
               sy_jsonschema_fail(c, "must be an array");
    case K_ANY:
        return true;
    case K_BOOL:
        return json_object_is_type(k, json_type_boolean) ||
               sy_jsonschema_fail(c, "must be a boolean");
    case K_PATTERN:
        if (!json_object_is_type(k, json_type_string))
            return sy_jsonschema_fail(c, "must be a string");
        return check_pattern(c, sy_jsonschema_str_of(k),
                             (size_t)json_object_get_string_len(k));
    case K_REF:
        return check_ref(c, k);
    case K_DEPS:
        return check_deps(c, k);
    }
    return true;
}

/* Keywords that are not in the table: annotations pass (their values
 * unchecked), "$schema" must be a string, "$id" (draft 4: "id") is
 * allowed at the root only (elsewhere it would change what "#..."
 * refers to). */
static bool
check_other(struct vctx *c, const char *name, const struct json_object *val)
{
    if (strcmp(name, "$schema") == 0)
        return json_object_is_type(val, json_type_string) ||
               sy_jsonschema_fail(c, "must be a string");
    if (strcmp(name, "$id") == 0 || strcmp(name, "id") == 0) {
        if (c->depth != 1)
            return sy_jsonschema_fail(c,
                                      "\"%s\" is only supported at the "
                                      "root of the schema",
                                      name);
        return json_object_is_type(val, json_type_string) ||
               sy_jsonschema_fail(c, "must be a string");
    }
    if (is_annotation(name))
        return true;
    return sy_jsonschema_fail(c, "unsupported keyword (this gateway refuses "
                                 "keywords it cannot enforce)");
}

static bool
check_schema(struct vctx *c, const struct json_object *s)
{
    if (json_object_is_type(s, json_type_boolean)) {
        remember_walked(c->cst, s);
        return true;
    }
    if (!json_object_is_type(s, json_type_object))
        return sy_jsonschema_fail(c,
                                  "must be a schema (an object or a boolean)");
    if (c->depth >= SY_JSONSCHEMA_MAX_DEPTH)
        return sy_jsonschema_fail(c, "the schema is nested too deeply");
    if (!sy_jsonschema_step(c))
        return false;
    remember_walked(c->cst, s);
    c->depth++;
    bool ok = true;
    json_object_object_foreach(s, name, val)
    {
        const struct kw *kw = sy_jsonschema_kw_find(name);
        size_t saved = sy_jsonschema_path_key(c, name);
        ok = kw != NULL ? check_value(c, kw, val) : check_other(c, name, val);
        sy_jsonschema_path_pop(c, saved);
        if (!ok)
            break;
    }
    c->depth--;
    return ok;
}

static int
ptr_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (const void *const *)a;
    uintptr_t y = (uintptr_t) * (const void *const *)b;
    return (x > y) - (x < y);
}

/* Every $ref must land on a schema the walk checked: a reference into
 * "enum", "default" or an unknown place would apply a schema nobody
 * checked (and whose patterns are not compiled). */
static bool
check_refs(struct vctx *c)
{
    struct compile_state *st = c->cst;
    if (st->nwalked > 1)
        qsort(st->walked, st->nwalked, sizeof(*st->walked), ptr_cmp);
    for (size_t i = 0; i < st->nrefs; i++) {
        const void *t = st->refs[i].target;
        if (bsearch(&t, st->walked, st->nwalked, sizeof(*st->walked),
                    ptr_cmp) != NULL)
            continue;
        snprintf(c->path, PATH_CAP, "%s", st->refs[i].path);
        c->plen = strlen(c->path);
        return sy_jsonschema_fail(c, "does not point to a subschema of this "
                                     "schema");
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */

/* See jsonschema.h. The root's "$schema" picks the dialect: drafts 4 to
 * 7 ignore the siblings of "$ref"; later ones (and no "$schema") apply
 * them. */
struct sy_schema *
sy_schema_compile(const struct json_object *schema, char *err, size_t errlen)
{
    return sy_schema_compile_ex(schema, 0, err, errlen);
}

struct sy_schema *
sy_schema_compile_ex(const struct json_object *schema, unsigned flags,
                     char *err, size_t errlen)
{
    struct vctx c;
    struct compile_state st;
    memset(&st, 0, sizeof(st));
    struct sy_schema *cs = sy_xcalloc(1, sizeof(*cs));
    cs->root = schema;
    struct json_object *v;
    if (json_object_is_type(schema, json_type_object) &&
        json_object_object_get_ex(schema, "$schema", &v) &&
        json_object_is_type(v, json_type_string)) {
        const char *d = json_object_get_string(v);
        cs->legacy_ref = strstr(d, "draft-04") != NULL ||
                         strstr(d, "draft-06") != NULL ||
                         strstr(d, "draft-07") != NULL;
    }
    if (flags & SY_SCHEMA_LEGACY)
        cs->legacy_ref = true;
    sy_jsonschema_ctx_init(&c, schema, err, errlen, true);
    c.cs = cs;
    c.cst = &st;
    bool ok = check_schema(&c, schema) && check_refs(&c);
    if (!ok && err != NULL && errlen > 0 && err[0] == '\0')
        snprintf(err, errlen, "#: the schema cannot be used");
    sy_jsonschema_rx_cleanup(&c);
    free(st.walked);
    free(st.refs);
    if (!ok) {
        sy_schema_free(cs);
        return NULL;
    }
    sy_jsonschema_rx_finish(cs);
    return cs;
}

void
sy_schema_free(struct sy_schema *cs)
{
    if (cs == NULL)
        return;
    sy_jsonschema_rx_free(cs);
    free(cs);
}

void
sy_schema_free_cb(void *cs)
{
    sy_schema_free(cs);
}

/* Check that 'schema' (borrowed) compiles; 'err' as sy_schema_compile. */
bool
sy_jsonschema_check(const struct json_object *schema, char *err, size_t errlen)
{
    struct sy_schema *cs = sy_schema_compile(schema, err, errlen);
    sy_schema_free(cs);
    return cs != NULL;
}

/* Compile, validate, free: 'err' gets the compile error ("#/...") when
 * the schema is refused, else as sy_schema_validate. */
bool
sy_jsonschema_validate(const struct json_object *schema,
                       const struct json_object *instance, char *err,
                       size_t errlen)
{
    struct sy_schema *cs = sy_schema_compile(schema, err, errlen);
    if (cs == NULL)
        return false;
    bool ok = sy_schema_validate(cs, instance, NULL, err, errlen);
    sy_schema_free(cs);
    return ok;
}
