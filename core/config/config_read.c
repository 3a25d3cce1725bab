/*
 * config_read.c - the reading toolkit of the config loader: JSON paths
 * for messages, the error list, type checks, ${VAR} interpolation and
 * the table-driven reading of an object's fields (struct field). The
 * section loaders (config.c, config_providers.c, config_groups.c,
 * config_state.c) all read through it; it calls none of them.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config.h"
#include "config_int.h"
#include "base/limits.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

void SY_PRINTF(4, 5) sy_config_fail(struct loader *l, const char *path,
                                    const char *hint, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    l->nerrors++;
    if (l->errors == NULL)
        return;
    sy_buf_printf(l->errors, "%s: %s: %s", l->cfg->origin,
                  path[0] ? path : "(top level)", msg);
    if (hint != NULL)
        sy_buf_printf(l->errors, " (hint: %s)", hint);
    sy_buf_puts(l->errors, "\n");
}

const char *
sy_config_jpath(struct loader *l, const char *parent, const char *key)
{
    if (parent == NULL || parent[0] == '\0')
        return sy_arena_strdup(&l->cfg->arena, key);
    return sy_arena_printf(&l->cfg->arena, "%s.%s", parent, key);
}

const char *
sy_config_type_name(json_type t)
{
    switch (t) {
    case json_type_null:
        return "null";
    case json_type_boolean:
        return "a boolean";
    case json_type_double:
        return "a number";
    case json_type_int:
        return "an integer";
    case json_type_object:
        return "an object";
    case json_type_array:
        return "an array";
    case json_type_string:
        return "a string";
    }
    return "unknown";
}

/* Expand ${NAME} and ${NAME:-default} in 's'. An unset variable without a
 * default expands to "". "$$" is a literal "$". */
const char *
sy_config_interpolate(struct loader *l, const char *path, const char *s)
{
    if (strchr(s, '$') == NULL)
        return sy_arena_strdup(&l->cfg->arena, s);
    struct sy_buf out;
    sy_buf_init(&out, SY_CONFIG_VALUE_MAX);
    const char *p = s;
    while (*p) {
        if (p[0] == '$' && p[1] == '$') {
            sy_buf_append(&out, "$", 1);
            p += 2;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            sy_buf_append(&out, p, 1);
            p++;
            continue;
        }
        const char *end = strchr(p, '}');
        if (end == NULL) {
            sy_config_fail(l, path, "write ${NAME} or ${NAME:-default}",
                           "unterminated ${ in \"%s\"", s);
            break;
        }
        const char *name = p + 2;
        const char *dflt = strstr(name, ":-");
        size_t nlen = (dflt != NULL && dflt < end) ? (size_t)(dflt - name)
                                                   : (size_t)(end - name);
        char var[128];
        if (nlen == 0 || nlen >= sizeof(var)) {
            sy_config_fail(l, path, "write ${NAME} or ${NAME:-default}",
                           "bad variable name in \"%s\"", s);
            break;
        }
        memcpy(var, name, nlen);
        var[nlen] = '\0';
        const char *val = getenv(var);
        if (val != NULL && val[0] != '\0')
            sy_buf_puts(&out, val);
        else if (dflt != NULL && dflt < end)
            sy_buf_append(&out, dflt + 2, (size_t)(end - dflt - 2));
        p = end + 1;
    }
    if (sy_buf_failed(&out)) {
        /* Never a cut value (a key or a URL that looks whole). */
        sy_config_fail(l, path, "use a shorter value",
                       "longer than %u bytes after ${} expansion",
                       SY_CONFIG_VALUE_MAX);
        sy_buf_clear(&out);
    }
    const char *r =
        sy_arena_strndup(&l->cfg->arena, sy_buf_cstr(&out), out.len);
    sy_buf_free(&out);
    return r;
}

const char *
sy_config_default_hint(json_type t)
{
    switch (t) {
    case json_type_object:
        return "write an object: {\"key\": value, ...}";
    case json_type_array:
        return "write a list: [\"a\", \"b\"]";
    case json_type_string:
        return "write a string in double quotes";
    case json_type_boolean:
        return "write true or false";
    default:
        return "see docs/configuration.md";
    }
}

static bool
is_known(const struct field *fields, size_t n, const char *key,
         const char *const *extra)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i].name, key) == 0)
            return true;
    for (; extra != NULL && *extra != NULL; extra++)
        if (strcmp(*extra, key) == 0)
            return true;
    return false;
}

static void
known_list(const struct field *fields, size_t n, const char *const *extra,
           char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n + 16; i++) {
        const char *name;
        if (i < n)
            name = fields[i].name;
        else if (extra != NULL && extra[i - n] != NULL)
            name = extra[i - n];
        else
            break;
        int w =
            snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", name);
        if (w < 0 || (size_t)w >= outlen - used)
            break;
        used += (size_t)w;
    }
}

/* Report every key of 'obj' that no field and no 'extra' name: a typo
 * must not silently fall back to a default. */
static void
report_unknown_keys(struct loader *l, const char *path, struct json_object *obj,
                    const struct field *fields, size_t n,
                    const char *const *extra)
{
    json_object_object_foreach(obj, key, val)
    {
        (void)val;
        if (is_known(fields, n, key, extra))
            continue;
        char hint[512];
        char known[400];
        known_list(fields, n, extra, known, sizeof(known));
        snprintf(hint, sizeof(hint), "known keys here: %s", known);
        sy_config_fail(l, sy_config_jpath(l, path, key), hint,
                       "unknown key \"%s\"", key);
    }
}

/* F_DOUBLE: any JSON number within the field's range. The negated test
 * also refuses a NaN. */
static void
read_double(struct loader *l, const char *p, const struct field *f,
            struct json_object *v, void *dst)
{
    json_type t = json_object_get_type(v);
    if (t != json_type_int && t != json_type_double) {
        sy_config_fail(l, p, "a number", "must be a number, not %s",
                       sy_config_type_name(t));
        return;
    }
    double x = json_object_get_double(v);
    if (!(x >= (double)f->min && x <= (double)f->max)) {
        char hint[96];
        snprintf(hint, sizeof(hint), "allowed range %lld..%lld", f->min,
                 f->max);
        sy_config_fail(l, p, hint, "value %g out of range", x);
        return;
    }
    *(double *)dst = x;
}

/* F_UINT, F_SIZE and F_MS: a JSON integer within the field's range,
 * stored in the field's own C type. errno is cleared first so that a
 * conversion error json-c reports is not taken for a value. */
static void
read_integer(struct loader *l, const char *p, const struct field *f,
             struct json_object *v, void *dst)
{
    json_type t = json_object_get_type(v);
    if (t != json_type_int) {
        char hint[96];
        snprintf(hint, sizeof(hint), "an integer from %lld to %lld", f->min,
                 f->max);
        sy_config_fail(l, p, hint, "must be an integer, not %s",
                       sy_config_type_name(t));
        return;
    }
    errno = 0;
    int64_t x = json_object_get_int64(v);
    if (errno != 0 || x < f->min || x > f->max) {
        char hint[96];
        snprintf(hint, sizeof(hint), "allowed range %lld..%lld", f->min,
                 f->max);
        sy_config_fail(l, p, hint, "value %lld out of range", (long long)x);
        return;
    }
    if (f->type == F_UINT)
        *(unsigned *)dst = (unsigned)x;
    else if (f->type == F_MS)
        *(uint32_t *)dst = (uint32_t)x;
    else
        *(size_t *)dst = (size_t)x;
}

/* Read value 'v' of field 'f' (path 'p') into 'dst', its place in the
 * target struct; a value of the wrong type or range is reported and
 * leaves the default in place. */
static void
read_field(struct loader *l, const char *p, const struct field *f,
           struct json_object *v, void *dst)
{
    json_type t = json_object_get_type(v);
    switch (f->type) {
    case F_STR:
        if (t != json_type_string) {
            sy_config_fail(l, p,
                           f->hint ? f->hint
                                   : sy_config_default_hint(json_type_string),
                           "must be a string, not %s", sy_config_type_name(t));
            return;
        }
        *(const char **)dst =
            sy_config_interpolate(l, p, json_object_get_string(v));
        return;
    case F_LOGLEVEL: {
        enum sy_log_level lv;
        if (t != json_type_string ||
            !sy_log_parse_level(
                sy_config_interpolate(l, p, json_object_get_string(v)), &lv)) {
            sy_config_fail(l, p, "one of error, warn, info, debug",
                           "not a log level");
            return;
        }
        *(enum sy_log_level *)dst = lv;
        return;
    }
    case F_DOUBLE:
        read_double(l, p, f, v, dst);
        return;
    case F_BOOL:
        if (t != json_type_boolean) {
            sy_config_fail(l, p, "write true or false",
                           "must be true or false, not %s",
                           sy_config_type_name(t));
            return;
        }
        *(bool *)dst = json_object_get_boolean(v);
        return;
    case F_UINT:
    case F_SIZE:
    case F_MS:
        read_integer(l, p, f, v, dst);
        return;
    }
}

/* Read every field of 'fields' from 'obj' into 'target'; report unknown
 * keys (a typo must not silently fall back to a default). */
void
sy_config_read_fields(struct loader *l, const char *path,
                      struct json_object *obj, const struct field *fields,
                      size_t n, const char *const *extra, void *target)
{
    char *base = target;
    report_unknown_keys(l, path, obj, fields, n, extra);
    for (size_t i = 0; i < n; i++) {
        const struct field *f = &fields[i];
        const char *p = sy_config_jpath(l, path, f->name);
        struct json_object *v;
        if (!json_object_object_get_ex(obj, f->name, &v) || v == NULL) {
            if (f->required)
                sy_config_fail(l, p, f->hint, "missing required key");
            continue;
        }
        read_field(l, p, f, v, base + f->offset);
    }
}

struct json_object *
sy_config_want(struct loader *l, const char *path, struct json_object *v,
               json_type t, const char *hint)
{
    if (hint == NULL)
        hint = sy_config_default_hint(t);
    if (v == NULL || json_object_get_type(v) != t) {
        sy_config_fail(
            l, path, hint, "must be %s, not %s", sy_config_type_name(t),
            sy_config_type_name(v ? json_object_get_type(v) : json_type_null));
        return NULL;
    }
    return v;
}

const char **
sy_config_string_list(struct loader *l, const char *path, struct json_object *v,
                      size_t *count)
{
    *count = 0;
    if (sy_config_want(l, path, v, json_type_array, NULL) == NULL)
        return NULL;
    size_t n = json_object_array_length(v);
    const char **out = sy_arena_zalloc(&l->cfg->arena, (n + 1) * sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        const char *ep = sy_arena_printf(&l->cfg->arena, "%s[%zu]", path, i);
        if (sy_config_want(l, ep, e, json_type_string, NULL) != NULL)
            out[(*count)++] =
                sy_config_interpolate(l, ep, json_object_get_string(e));
    }
    return out;
}

const struct sy_header_kv *
sy_config_headers(struct loader *l, const char *path, struct json_object *v,
                  bool empty_name_ok, size_t *count)
{
    *count = 0;
    if (sy_config_want(l, path, v, json_type_object,
                       "an object of header name to value") == NULL)
        return NULL;
    size_t n = (size_t)json_object_object_length(v);
    struct sy_header_kv *h =
        sy_arena_zalloc(&l->cfg->arena, (n + 1) * sizeof(*h));
    size_t i = 0;
    json_object_object_foreach(v, hk, hv)
    {
        const char *ep = sy_config_jpath(l, path, hk);
        if (sy_config_want(l, ep, hv, json_type_string, NULL) == NULL)
            continue;
        if ((hk[0] == '\0' && !empty_name_ok) ||
            strpbrk(hk, ": \r\n") != NULL ||
            strpbrk(json_object_get_string(hv), "\r\n") != NULL) {
            sy_config_fail(l, ep,
                           "header names have no spaces or colons, "
                           "values no line breaks",
                           "invalid header name or value");
            continue;
        }
        /* Checked again after ${VAR} expansion: a line break from the
         * environment would add headers too (the message never shows the
         * value: it may be a secret). */
        const char *val =
            sy_config_interpolate(l, ep, json_object_get_string(hv));
        if (strpbrk(val, "\r\n") != NULL) {
            sy_config_fail(l, ep,
                           "set the variable to the value alone, without "
                           "line breaks",
                           "the value has a line break after ${} expansion");
            continue;
        }
        h[i].name = sy_arena_strdup(&l->cfg->arena, hk);
        h[i].value = val;
        i++;
    }
    *count = i;
    return h;
}
