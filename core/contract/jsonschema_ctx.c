/*
 * jsonschema_ctx.c - the evaluation context that validation (jsonschema.c)
 * and the schema check (jsonschema_check.c) share: its set-up, the first
 * error message and the path it names, the step budget; and the readers
 * of json-c values both need (numbers, types, equality, $ref pointers).
 * Patterns are jsonschema_rx.c's; see jsonschema_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "jsonschema.h"
#include "jsonschema_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Context                                                             */

/* Start a call over the schema document 'root' (borrowed); 'err' (may be
 * NULL) is emptied; 'pointer_paths' picks "#/a/b" (check) over "$.a.b"
 * (validate). */
void
sy_jsonschema_ctx_init(struct vctx *c, const struct json_object *root,
                       char *err, size_t errlen, bool pointer_paths)
{
    memset(c, 0, sizeof(*c));
    c->root = root;
    c->err = err;
    c->errlen = errlen;
    c->pointer_paths = pointer_paths;
    c->path[0] = pointer_paths ? '#' : '$';
    c->plen = 1;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
}

/* ------------------------------------------------------------------ */
/* Messages and paths                                                  */

/* json_object_get_string takes a non-const pointer but only reads a
 * string object; call it on strings only. */
const char *
sy_jsonschema_str_of(const struct json_object *o)
{
    return json_object_get_string((struct json_object *)(uintptr_t)o);
}

/* Record the first violation as "<path>: <message>" in the caller's
 * buffer, unless quiet or one is recorded already. Always false, so that
 * a validator can return it. */
bool SY_PRINTF(2, 3) sy_jsonschema_fail(struct vctx *c, const char *fmt, ...)
{
    if (c->quiet > 0 || c->have_err || c->err == NULL || c->errlen == 0)
        return false;
    c->have_err = true;
    int n = snprintf(c->err, c->errlen, "%s: ", c->path);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* A bound was hit: report it even inside anyOf or not, and make every
 * enclosing keyword fail at once (no exponential retries). 'at_root':
 * where it happened means nothing, report it at "$". */
bool
sy_jsonschema_abort_eval(struct vctx *c, const char *why, bool at_root)
{
    if (!c->aborted) {
        c->aborted = true;
        c->quiet = 0;
        c->have_err = false;
        if (at_root)
            c->path[1] = '\0';
        sy_jsonschema_fail(c, "%s", why);
    }
    return false;
}

/* Append to the path; past PATH_LIMIT it ends in "..." once. */
static void
path_put(struct vctx *c, const char *s, size_t n)
{
    if (c->plen + n <= PATH_LIMIT) {
        memcpy(c->path + c->plen, s, n);
        c->plen += n;
    } else if (c->plen < 3 || memcmp(c->path + c->plen - 3, "...", 3) != 0) {
        memcpy(c->path + c->plen, "...", 3);
        c->plen += 3;
    }
    c->path[c->plen] = '\0';
}

void
sy_jsonschema_path_pop(struct vctx *c, size_t saved)
{
    c->plen = saved;
    c->path[saved] = '\0';
}

static bool
is_ident(const char *k)
{
    if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_'))
        return false;
    for (; *k != '\0'; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
              (*k >= '0' && *k <= '9') || *k == '_'))
            return false;
    return true;
}

/* Append a caller-safe rendering of 'k': printable ASCII only, at most
 * 'max' bytes, with '~' and '/' escaped when 'pointer' is set. */
size_t
sy_jsonschema_safe_copy(char *out, const char *k, size_t max, bool pointer)
{
    size_t n = 0;
    for (; *k != '\0' && n + 5 <= max; k++) {
        unsigned char ch = (unsigned char)*k;
        if (pointer && (ch == '~' || ch == '/')) {
            out[n++] = '~';
            out[n++] = ch == '~' ? '0' : '1';
        } else if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
            out[n++] = '?';
        } else {
            out[n++] = (char)ch;
        }
    }
    if (*k != '\0') {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    return n;
}

size_t
sy_jsonschema_path_key(struct vctx *c, const char *key)
{
    size_t saved = c->plen;
    char tmp[64];
    size_t n = 0;
    if (c->pointer_paths) {
        tmp[n++] = '/';
        n += sy_jsonschema_safe_copy(tmp + n, key, 48, true);
    } else if (is_ident(key) && strlen(key) <= 40) {
        tmp[n++] = '.';
        n += sy_jsonschema_safe_copy(tmp + n, key, 48, false);
    } else {
        tmp[n++] = '[';
        tmp[n++] = '"';
        n += sy_jsonschema_safe_copy(tmp + n, key, 40, false);
        tmp[n++] = '"';
        tmp[n++] = ']';
    }
    path_put(c, tmp, n);
    return saved;
}

size_t
sy_jsonschema_path_index(struct vctx *c, size_t i)
{
    size_t saved = c->plen;
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), c->pointer_paths ? "/%zu" : "[%zu]", i);
    path_put(c, tmp, (size_t)n);
    return saved;
}

/* Count a step; false (and abort) past the budget. */
bool
sy_jsonschema_step(struct vctx *c)
{
    if (c->aborted)
        return false;
    if (++c->steps > SY_JSONSCHEMA_MAX_STEPS)
        return sy_jsonschema_abort_eval(c,
                                        "the schema is too complex to "
                                        "evaluate",
                                        true);
    return true;
}

/* ------------------------------------------------------------------ */
/* Numbers, types and equality                                         */

void
sy_jsonschema_num_get(const struct json_object *o, struct num *n)
{
    n->is_int = false;
    n->i = 0;
    if (json_object_is_type(o, json_type_int)) {
        n->i = json_object_get_int64(o);
        if (n->i == INT64_MAX && json_object_get_uint64(o) > INT64_MAX) {
            n->d = (double)json_object_get_uint64(o);
            return;
        }
        n->is_int = true;
        n->d = (double)n->i;
        return;
    }
    n->d = json_object_get_double(o);
}

int
sy_jsonschema_num_cmp(const struct num *a, const struct num *b)
{
    if (a->is_int && b->is_int)
        return (a->i > b->i) - (a->i < b->i);
    long double x = a->is_int ? (long double)a->i : (long double)a->d;
    long double y = b->is_int ? (long double)b->i : (long double)b->d;
    return (x > y) - (x < y);
}

void
sy_jsonschema_num_fmt(const struct num *n, char *buf, size_t len)
{
    if (n->is_int) {
        snprintf(buf, len, "%" PRId64, n->i);
        return;
    }
    snprintf(buf, len, "%.15g", n->d);
    if (strtod(buf, NULL) != n->d)
        snprintf(buf, len, "%.17g", n->d);
}

bool
sy_jsonschema_is_number(const struct json_object *o)
{
    return json_object_is_type(o, json_type_int) ||
           json_object_is_type(o, json_type_double);
}

/* JSON Schema integers are mathematical: 1.0 and 1e2 are integers. */
bool
sy_jsonschema_is_integral(const struct json_object *o)
{
    if (json_object_is_type(o, json_type_int))
        return true;
    if (!json_object_is_type(o, json_type_double))
        return false;
    double d = json_object_get_double(o);
    return isfinite(d) && floor(d) == d;
}

static const struct {
    const char *name;
    unsigned bit;
} type_names[] = {
    { "null", TY_NULL },   { "boolean", TY_BOOL }, { "object", TY_OBJ },
    { "array", TY_ARR },   { "number", TY_NUM },   { "string", TY_STR },
    { "integer", TY_INT },
};

unsigned
sy_jsonschema_type_bit(const struct json_object *name)
{
    if (!json_object_is_type(name, json_type_string))
        return 0;
    for (size_t i = 0; i < SY_ARRAY_LEN(type_names); i++)
        if (strcmp(sy_jsonschema_str_of(name), type_names[i].name) == 0)
            return type_names[i].bit;
    return 0;
}

/* The instance's type as a mask: an integral number is both. */
unsigned
sy_jsonschema_type_of(const struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return TY_NULL;
    case json_type_boolean:
        return TY_BOOL;
    case json_type_object:
        return TY_OBJ;
    case json_type_array:
        return TY_ARR;
    case json_type_string:
        return TY_STR;
    case json_type_int:
    case json_type_double:
        return sy_jsonschema_is_integral(v) ? (TY_NUM | TY_INT) : TY_NUM;
    }
    return 0;
}

const char *
sy_jsonschema_type_name(const struct json_object *v)
{
    if (json_object_is_type(v, json_type_int))
        return "integer";
    unsigned t = sy_jsonschema_type_of(v) & ~(unsigned)TY_INT;
    for (size_t i = 0; i < SY_ARRAY_LEN(type_names); i++)
        if (type_names[i].bit == t)
            return type_names[i].name;
    return "unknown";
}

bool
sy_jsonschema_equal(struct vctx *c, const struct json_object *a,
                    const struct json_object *b, unsigned depth)
{
    if (!sy_jsonschema_step(c))
        return false;
    if (depth > SY_JSONSCHEMA_MAX_DEPTH)
        return sy_jsonschema_abort_eval(c,
                                        "a value is nested too deeply to "
                                        "compare",
                                        false);
    if (sy_jsonschema_is_number(a) && sy_jsonschema_is_number(b)) {
        struct num x, y;
        sy_jsonschema_num_get(a, &x);
        sy_jsonschema_num_get(b, &y);
        return sy_jsonschema_num_cmp(&x, &y) == 0;
    }
    json_type t = json_object_get_type(a);
    if (t != json_object_get_type(b))
        return false;
    switch (t) {
    case json_type_boolean:
        return json_object_get_boolean(a) == json_object_get_boolean(b);
    case json_type_string: {
        int n = json_object_get_string_len(a);
        return n == json_object_get_string_len(b) &&
               memcmp(sy_jsonschema_str_of(a), sy_jsonschema_str_of(b),
                      (size_t)n) == 0;
    }
    case json_type_array: {
        size_t n = json_object_array_length(a);
        if (n != json_object_array_length(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!sy_jsonschema_equal(c, json_object_array_get_idx(a, i),
                                     json_object_array_get_idx(b, i),
                                     depth + 1))
                return false;
        return true;
    }
    case json_type_object: {
        if (json_object_object_length(a) != json_object_object_length(b))
            return false;
        json_object_object_foreach(a, key, va)
        {
            struct json_object *vb;
            if (!json_object_object_get_ex(b, key, &vb) ||
                !sy_jsonschema_equal(c, va, vb, depth + 1))
                return false;
        }
        return true;
    }
    default:
        return true; /* null */
    }
}

/* ------------------------------------------------------------------ */
/* $ref                                                                */

/* The schema that 'ref' names inside 'root': "#" or "#" followed by a
 * JSON pointer (~0 ~1 and %XX decoded). NULL when unsupported (remote
 * refs, anchors) or not found. Borrowed from 'root'. */
const struct json_object *
sy_jsonschema_resolve_ref(const struct json_object *root, const char *ref)
{
    if (ref[0] != '#')
        return NULL;
    const char *p = ref + 1;
    const struct json_object *cur = root;
    while (*p == '/') {
        char seg[256];
        size_t n = 0;
        for (p++; *p != '\0' && *p != '/'; p++) {
            char ch = *p;
            if (ch == '~') {
                if (p[1] != '0' && p[1] != '1')
                    return NULL;
                ch = p[1] == '0' ? '~' : '/';
                p++;
            } else if (ch == '%') {
                int h = sy_hexval((unsigned char)p[1]);
                int l = h < 0 ? -1 : sy_hexval((unsigned char)p[2]);
                if (l < 0 || h * 16 + l == 0)
                    return NULL;
                ch = (char)(h * 16 + l);
                p += 2;
            }
            if (n + 1 >= sizeof(seg))
                return NULL;
            seg[n++] = ch;
        }
        seg[n] = '\0';
        struct json_object *next = NULL;
        if (json_object_is_type(cur, json_type_object)) {
            if (!json_object_object_get_ex(cur, seg, &next))
                return NULL;
        } else if (json_object_is_type(cur, json_type_array)) {
            char *end;
            if (n == 0 || n > 9 || (seg[0] == '0' && n > 1))
                return NULL;
            unsigned long idx = strtoul(seg, &end, 10);
            if (*end != '\0' || idx >= json_object_array_length(cur))
                return NULL;
            next = json_object_array_get_idx(cur, idx);
        } else {
            return NULL;
        }
        cur = next;
    }
    return *p == '\0' ? cur : NULL;
}

bool
sy_jsonschema_is_schema(const struct json_object *s)
{
    return json_object_is_type(s, json_type_object) ||
           json_object_is_type(s, json_type_boolean);
}
