/*
 * jsonschema_scalar.c - the JSON Schema keywords on strings and numbers:
 * minLength/maxLength (code points), pattern (jsonschema_rx.c matches),
 * minimum, maximum and their exclusive forms (with the draft-4 booleans),
 * multipleOf; minItems, maxItems, minProperties, maxProperties and the
 * reader of count keywords. Rows of the keyword table
 * in jsonschema.c; see jsonschema_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "jsonschema.h"
#include "jsonschema_int.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* A count keyword's value: a non-negative integer, maybe written 2.0;
 * -1 when it is not one. */
int64_t
sy_jsonschema_count_of(const struct json_object *k)
{
    if (json_object_is_type(k, json_type_int))
        return json_object_get_int64(k);
    if (!sy_jsonschema_is_integral(k) || json_object_get_double(k) < 0)
        return -1;
    double d = json_object_get_double(k);
    return d >= 9.0e18 ? INT64_MAX : (int64_t)d;
}

/* Code points in valid UTF-8: the bytes that are not continuations. */
static size_t
utf8_count(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            k++;
    return k;
}

static bool
length_kw(struct vctx *c, const struct json_object *k,
          const struct json_object *v, bool at_least)
{
    size_t have = utf8_count(sy_jsonschema_str_of(v),
                             (size_t)json_object_get_string_len(v));
    int64_t lim = sy_jsonschema_count_of(k);
    if (lim < 0 || (at_least ? (uint64_t)have >= (uint64_t)lim
                             : (uint64_t)have <= (uint64_t)lim))
        return true;
    return sy_jsonschema_fail(c, "must be at %s %" PRId64 " character%s long",
                              at_least ? "least" : "most", lim,
                              lim == 1 ? "" : "s");
}

bool
sy_jsonschema_kw_min_len(struct vctx *c, const struct json_object *s,
                         const struct json_object *k,
                         const struct json_object *v)
{
    (void)s;
    return length_kw(c, k, v, true);
}

bool
sy_jsonschema_kw_max_len(struct vctx *c, const struct json_object *s,
                         const struct json_object *k,
                         const struct json_object *v)
{
    (void)s;
    return length_kw(c, k, v, false);
}

bool
sy_jsonschema_kw_pattern(struct vctx *c, const struct json_object *s,
                         const struct json_object *k,
                         const struct json_object *v)
{
    (void)s;
    if (!json_object_is_type(k, json_type_string))
        return sy_jsonschema_fail(c,
                                  "invalid schema: pattern must be a string");
    int m = sy_jsonschema_rx_match(c, sy_jsonschema_str_of(k),
                                   sy_jsonschema_str_of(v),
                                   (size_t)json_object_get_string_len(v));
    if (m > 0)
        return true;
    if (m == -2)
        return false; /* the regex budget: recorded, everything fails */
    if (m < 0)
        return sy_jsonschema_fail(c, "cannot apply the pattern (not a "
                                     "compiled schema, or not UTF-8)");
    char safe[72];
    safe[sy_jsonschema_safe_copy(safe, sy_jsonschema_str_of(k), 64, false)] =
        '\0';
    return sy_jsonschema_fail(c, "must match the pattern \"%s\"", safe);
}

/* minimum, maximum and the exclusive forms: 'dir' > 0 for lower bounds;
 * draft-4 booleans make the sibling bound exclusive. */
static bool
bound_kw(struct vctx *c, const struct json_object *s,
         const struct json_object *k, const struct json_object *v, int dir,
         bool exclusive)
{
    if (!sy_jsonschema_is_number(k))
        return true; /* a draft-4 boolean: read by the sibling */
    struct json_object *flag;
    if (!exclusive &&
        json_object_object_get_ex(
            s, dir > 0 ? "exclusiveMinimum" : "exclusiveMaximum", &flag) &&
        json_object_is_type(flag, json_type_boolean))
        exclusive = json_object_get_boolean(flag);
    struct num x, b;
    sy_jsonschema_num_get(v, &x);
    sy_jsonschema_num_get(k, &b);
    if (!isfinite(x.d))
        return sy_jsonschema_fail(c, "must be a finite number");
    int r = sy_jsonschema_num_cmp(&x, &b) * dir;
    if (r > 0 || (r == 0 && !exclusive))
        return true;
    char buf[40];
    sy_jsonschema_num_fmt(&b, buf, sizeof(buf));
    return sy_jsonschema_fail(c, "must be %s%s %s", dir > 0 ? ">" : "<",
                              exclusive ? "" : "=", buf);
}

bool
sy_jsonschema_kw_minimum(struct vctx *c, const struct json_object *s,
                         const struct json_object *k,
                         const struct json_object *v)
{
    return bound_kw(c, s, k, v, 1, false);
}

bool
sy_jsonschema_kw_maximum(struct vctx *c, const struct json_object *s,
                         const struct json_object *k,
                         const struct json_object *v)
{
    return bound_kw(c, s, k, v, -1, false);
}

bool
sy_jsonschema_kw_ex_minimum(struct vctx *c, const struct json_object *s,
                            const struct json_object *k,
                            const struct json_object *v)
{
    return bound_kw(c, s, k, v, 1, true);
}

bool
sy_jsonschema_kw_ex_maximum(struct vctx *c, const struct json_object *s,
                            const struct json_object *k,
                            const struct json_object *v)
{
    return bound_kw(c, s, k, v, -1, true);
}

/* 'x' is a multiple of 'm' (> 0). Integers are exact, and so is fmod for
 * an integral divisor. A fractional divisor such as 0.01 has no exact
 * double, so the quotient is accepted within a few ulps of an integer
 * (0.3 / 0.01 = 29.999999999999996); a quotient past 2^53 cannot be
 * told apart from an integer and is accepted. */
static bool
is_multiple(const struct num *x, const struct num *m)
{
    if (x->is_int && m->is_int && m->i > 0)
        return x->i % m->i == 0;
    if (floor(m->d) == m->d)
        return fmod(x->d, m->d) == 0;
    double q = x->d / m->d;
    if (!isfinite(q) || fabs(q) >= 9007199254740992.0)
        return true;
    return fabs(q - nearbyint(q)) <= 64 * DBL_EPSILON * fmax(1.0, fabs(q));
}

bool
sy_jsonschema_kw_multiple_of(struct vctx *c, const struct json_object *s,
                             const struct json_object *k,
                             const struct json_object *v)
{
    (void)s;
    struct num x, m;
    sy_jsonschema_num_get(v, &x);
    sy_jsonschema_num_get(k, &m);
    if (!(m.d > 0))
        return sy_jsonschema_fail(c, "invalid schema: multipleOf must be > 0");
    if (is_multiple(&x, &m))
        return true;
    char buf[40];
    sy_jsonschema_num_fmt(&m, buf, sizeof(buf));
    return sy_jsonschema_fail(c, "must be a multiple of %s", buf);
}

/* minItems, maxItems, minProperties, maxProperties. */
static bool
count_kw(struct vctx *c, const struct json_object *k, size_t have,
         bool at_least, const char *what)
{
    int64_t lim = sy_jsonschema_count_of(k);
    if (lim < 0 || (at_least ? (uint64_t)have >= (uint64_t)lim
                             : (uint64_t)have <= (uint64_t)lim))
        return true;
    return sy_jsonschema_fail(c, "must have at %s %" PRId64 " %s%s",
                              at_least ? "least" : "most", lim, what,
                              lim == 1 ? "" : "s");
}

bool
sy_jsonschema_kw_min_props(struct vctx *c, const struct json_object *s,
                           const struct json_object *k,
                           const struct json_object *v)
{
    (void)s;
    return count_kw(c, k, (size_t)json_object_object_length(v), true,
                    "property");
}

bool
sy_jsonschema_kw_max_props(struct vctx *c, const struct json_object *s,
                           const struct json_object *k,
                           const struct json_object *v)
{
    (void)s;
    return count_kw(c, k, (size_t)json_object_object_length(v), false,
                    "property");
}

bool
sy_jsonschema_kw_min_items(struct vctx *c, const struct json_object *s,
                           const struct json_object *k,
                           const struct json_object *v)
{
    (void)s;
    return count_kw(c, k, json_object_array_length(v), true, "item");
}

bool
sy_jsonschema_kw_max_items(struct vctx *c, const struct json_object *s,
                           const struct json_object *k,
                           const struct json_object *v)
{
    (void)s;
    return count_kw(c, k, json_object_array_length(v), false, "item");
}
