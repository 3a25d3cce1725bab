/*
 * jsonschema.c - JSON Schema validation over json-c trees: the assertion
 * and applicator keywords that structured-output and tool schemas use,
 * their table, and sy_jsonschema_validate. The schema check is in
 * jsonschema_check.c, patterns in jsonschema_rx.c, the evaluation context
 * and value helpers in jsonschema_ctx.c (shared through jsonschema_int.h).
 * It parses nothing (contract.c does); it evaluates trees that the caller
 * keeps alive for the whole call.
 *
 * Keywords: type (integer accepts 1.0), enum, const, properties,
 * patternProperties, additionalProperties, required, propertyNames,
 * minProperties, maxProperties, items (schema, or the older array form
 * with additionalItems), prefixItems, minItems, maxItems, uniqueItems,
 * contains with minContains/maxContains, allOf, anyOf, oneOf, not,
 * if/then/else, minLength/maxLength (in code points), pattern, minimum,
 * maximum, exclusiveMinimum/exclusiveMaximum (numbers, or the draft-4
 * booleans), multipleOf, $ref to "#" or any JSON pointer in the same
 * document ("#/$defs/x", "#/definitions/x"), and boolean schemas. Other
 * keywords (title, description, format, $id, unevaluated*...) are ignored.
 * $ref is applied together with its siblings (2019-09 and later).
 * Patterns: see the dialect notes in jsonschema_rx.c.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "jsonschema.h"
#include "jsonschema_int.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Validation                                                          */

static bool validate(struct vctx *c, const struct json_object *s,
                     const struct json_object *v);

static bool
sibling(const struct json_object *s, const char *name,
        struct json_object **out)
{
    return json_object_object_get_ex(s, name, out) && *out != NULL;
}

/* The types a "type" keyword value admits, as a mask. */
static unsigned
type_mask(const struct json_object *k)
{
    if (!json_object_is_type(k, json_type_array))
        return jsonschema_type_bit(k);
    unsigned want = 0;
    size_t n = json_object_array_length(k);
    for (size_t i = 0; i < n; i++)
        want |= jsonschema_type_bit(json_object_array_get_idx(k, i));
    return want;
}

/* Not inlined: its message buffer would sit in every validate() frame. */
static __attribute__((noinline)) bool
kw_type(struct vctx *c, const struct json_object *s,
        const struct json_object *k, const struct json_object *v)
{
    (void)s;
    if ((jsonschema_type_of(v) & type_mask(k)) != 0)
        return true;
    size_t n = json_object_is_type(k, json_type_array)
                   ? json_object_array_length(k) : 1;
    char names[96];
    size_t len = 0;
    names[0] = '\0';
    for (size_t i = 0; i < n && len < sizeof(names); i++) {
        const struct json_object *t = json_object_is_type(k, json_type_array)
                                          ? json_object_array_get_idx(k, i)
                                          : k;
        if (jsonschema_type_bit(t) == 0)
            continue;
        int w = snprintf(names + len, sizeof(names) - len, "%s%s",
                         len == 0 ? "" : i + 1 == n ? " or " : ", ",
                         jsonschema_str_of(t));
        len += w > 0 ? (size_t)w : 0;
    }
    return jsonschema_fail(c, "must be %s (got %s)", names,
                           jsonschema_type_name(v));
}

/* A short, caller-safe list of the scalar values of an enum. */
static void
enum_brief(const struct json_object *k, char *buf, size_t len)
{
    size_t used = 0, n = json_object_array_length(k);
    buf[0] = '\0';
    for (size_t i = 0; i < n && used + 8 < len; i++) {
        const struct json_object *e = json_object_array_get_idx(k, i);
        char item[48];
        if (json_object_is_type(e, json_type_string)) {
            item[0] = '"';
            size_t m = 1 + jsonschema_safe_copy(item + 1,
                                                jsonschema_str_of(e), 40,
                                                false);
            item[m++] = '"';
            item[m] = '\0';
        } else if (jsonschema_is_number(e)) {
            struct num x;
            jsonschema_num_get(e, &x);
            jsonschema_num_fmt(&x, item, sizeof(item));
        } else if (json_object_is_type(e, json_type_boolean)) {
            snprintf(item, sizeof(item), "%s",
                     json_object_get_boolean(e) ? "true" : "false");
        } else if (e == NULL) {
            snprintf(item, sizeof(item), "null");
        } else {
            snprintf(item, sizeof(item), "...");
        }
        size_t need = strlen(item) + 2;
        if (used + need + 5 >= len) {
            snprintf(buf + used, len - used, "%s...", used ? ", " : "");
            return;
        }
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 used ? ", " : "", item);
    }
}

static bool
kw_enum(struct vctx *c, const struct json_object *s,
        const struct json_object *k, const struct json_object *v)
{
    (void)s;
    if (!json_object_is_type(k, json_type_array))
        return jsonschema_fail(c, "invalid schema: enum must be an array");
    size_t n = json_object_array_length(k);
    for (size_t i = 0; i < n; i++) {
        if (jsonschema_equal(c, json_object_array_get_idx(k, i), v, 0))
            return true;
        if (c->aborted)
            return false;
    }
    char brief[120];
    enum_brief(k, brief, sizeof(brief));
    return jsonschema_fail(c, "must be one of: %s", brief);
}

static bool
kw_const(struct vctx *c, const struct json_object *s,
         const struct json_object *k, const struct json_object *v)
{
    (void)s;
    return jsonschema_equal(c, k, v, 0) ||
           (!c->aborted &&
            jsonschema_fail(c, "must be equal to the const value"));
}

static bool
kw_ref(struct vctx *c, const struct json_object *s,
       const struct json_object *k, const struct json_object *v)
{
    (void)s;
    const struct json_object *t =
        json_object_is_type(k, json_type_string)
            ? jsonschema_resolve_ref(c->root, jsonschema_str_of(k))
            : NULL;
    if (!jsonschema_is_schema(t))
        return jsonschema_fail(c, "invalid schema: cannot resolve $ref");
    return validate(c, t, v);
}

static bool
kw_all_of(struct vctx *c, const struct json_object *s,
          const struct json_object *k, const struct json_object *v)
{
    (void)s;
    size_t n = json_object_array_length(k);
    for (size_t i = 0; i < n; i++)
        if (!validate(c, json_object_array_get_idx(k, i), v))
            return false;
    return true;
}

/* How many of the schemas in 'k' match, quietly; stops at 'stop'. */
static size_t
count_matches(struct vctx *c, const struct json_object *k,
              const struct json_object *v, size_t stop)
{
    size_t n = json_object_array_length(k), hits = 0;
    c->quiet++;
    for (size_t i = 0; i < n && hits < stop && !c->aborted; i++)
        if (validate(c, json_object_array_get_idx(k, i), v))
            hits++;
    if (c->quiet > 0)
        c->quiet--;
    return hits;
}

/* No branch of anyOf or oneOf matched. If exactly one branch admits the
 * instance's type (the usual nullable or tagged shapes), report that
 * branch's own violation, which is deeper and more useful; true when it
 * did. Skipped when nothing would be reported anyway. */
static bool
explain_branch(struct vctx *c, const struct json_object *k,
               const struct json_object *v)
{
    if (c->quiet > 0 || c->aborted)
        return false;
    size_t n = json_object_array_length(k), pick = n;
    unsigned ty = jsonschema_type_of(v);
    for (size_t i = 0; i < n; i++) {
        const struct json_object *b = json_object_array_get_idx(k, i);
        struct json_object *t;
        bool admits = true;
        if (json_object_is_type(b, json_type_boolean))
            admits = json_object_get_boolean(b);
        else if (json_object_object_get_ex(b, "type", &t))
            admits = (type_mask(t) & ty) != 0;
        if (!admits)
            continue;
        if (pick != n)
            return false; /* two candidates: no guessing */
        pick = i;
    }
    if (pick == n)
        return false;
    validate(c, json_object_array_get_idx(k, pick), v);
    return c->have_err;
}

static bool
kw_any_of(struct vctx *c, const struct json_object *s,
          const struct json_object *k, const struct json_object *v)
{
    (void)s;
    if (count_matches(c, k, v, 1) == 1)
        return true;
    if (c->aborted || explain_branch(c, k, v))
        return false;
    return jsonschema_fail(c, "must match at least one schema in anyOf");
}

static bool
kw_one_of(struct vctx *c, const struct json_object *s,
          const struct json_object *k, const struct json_object *v)
{
    (void)s;
    size_t hits = count_matches(c, k, v, 2);
    if (c->aborted)
        return false;
    if (hits == 1)
        return true;
    if (hits == 0 && explain_branch(c, k, v))
        return false;
    return jsonschema_fail(c, "must match exactly one schema in oneOf "
                              "(matched %s)",
                           hits == 0 ? "none" : "more than one");
}

static bool
kw_not(struct vctx *c, const struct json_object *s,
       const struct json_object *k, const struct json_object *v)
{
    (void)s;
    c->quiet++;
    bool ok = validate(c, k, v);
    if (c->quiet > 0)
        c->quiet--;
    if (c->aborted)
        return false;
    return !ok || jsonschema_fail(c, "must not match the schema in not");
}

static bool
kw_if(struct vctx *c, const struct json_object *s,
      const struct json_object *k, const struct json_object *v)
{
    struct json_object *branch;
    c->quiet++;
    bool ok = validate(c, k, v);
    if (c->quiet > 0)
        c->quiet--;
    if (c->aborted)
        return false;
    if (!json_object_object_get_ex(s, ok ? "then" : "else", &branch))
        return true;
    return validate(c, branch, v);
}

static bool
kw_properties(struct vctx *c, const struct json_object *s,
              const struct json_object *k, const struct json_object *v)
{
    (void)s;
    json_object_object_foreach(k, key, sub) {
        struct json_object *pv;
        if (!json_object_object_get_ex(v, key, &pv))
            continue;
        size_t saved = jsonschema_path_key(c, key);
        bool ok = validate(c, sub, pv);
        jsonschema_path_pop(c, saved);
        if (!ok)
            return false;
    }
    return true;
}

/* Instance keys that match a pattern of patternProperties; -1 when a
 * pattern is unusable. */
static int
pattern_props(struct vctx *c, const struct json_object *pp, const char *key,
              const struct json_object *pv, bool apply)
{
    int matched = 0;
    json_object_object_foreach(pp, pat, sub) {
        int m = jsonschema_rx_match(c, pat, key, strlen(key));
        if (m < 0) {
            jsonschema_fail(c, "invalid schema: unusable patternProperties "
                               "pattern");
            return -1;
        }
        if (m == 0)
            continue;
        matched = 1;
        if (!apply)
            return 1;
        size_t saved = jsonschema_path_key(c, key);
        bool ok = validate(c, sub, pv);
        jsonschema_path_pop(c, saved);
        if (!ok)
            return -1;
    }
    return matched;
}

static bool
kw_pattern_properties(struct vctx *c, const struct json_object *s,
                      const struct json_object *k,
                      const struct json_object *v)
{
    (void)s;
    json_object_object_foreach(v, key, pv) {
        if (pattern_props(c, k, key, pv, true) < 0)
            return false;
    }
    return true;
}

static bool
kw_additional(struct vctx *c, const struct json_object *s,
              const struct json_object *k, const struct json_object *v)
{
    struct json_object *props = NULL, *pp = NULL, *tmp;
    sibling(s, "properties", &props);
    sibling(s, "patternProperties", &pp);
    json_object_object_foreach(v, key, pv) {
        if (props != NULL && json_object_object_get_ex(props, key, &tmp))
            continue;
        if (pp != NULL) {
            int m = pattern_props(c, pp, key, pv, false);
            if (m < 0)
                return false;
            if (m > 0)
                continue;
        }
        size_t saved = jsonschema_path_key(c, key);
        bool ok = json_object_is_type(k, json_type_boolean) &&
                          !json_object_get_boolean(k)
                      ? jsonschema_fail(c, "property is not allowed")
                      : validate(c, k, pv);
        jsonschema_path_pop(c, saved);
        if (!ok)
            return false;
    }
    return true;
}

static bool
kw_required(struct vctx *c, const struct json_object *s,
            const struct json_object *k, const struct json_object *v)
{
    (void)s;
    size_t n = json_object_array_length(k);
    for (size_t i = 0; i < n; i++) {
        const struct json_object *name = json_object_array_get_idx(k, i);
        struct json_object *pv;
        if (!json_object_is_type(name, json_type_string) ||
            json_object_object_get_ex(v, jsonschema_str_of(name), &pv))
            continue;
        char safe[64];
        safe[jsonschema_safe_copy(safe, jsonschema_str_of(name), 48,
                                  false)] = '\0';
        return jsonschema_fail(c, "missing required property \"%s\"", safe);
    }
    return true;
}

static bool
kw_property_names(struct vctx *c, const struct json_object *s,
                  const struct json_object *k, const struct json_object *v)
{
    (void)s;
    json_object_object_foreach(v, key, pv) {
        (void)pv;
        struct json_object *name = json_object_new_string(key);
        c->quiet++;
        bool ok = validate(c, k, name);
        if (c->quiet > 0)
            c->quiet--;
        json_object_put(name);
        if (c->aborted)
            return false;
        if (!ok) {
            size_t saved = jsonschema_path_key(c, key);
            jsonschema_fail(c, "property name does not match propertyNames");
            jsonschema_path_pop(c, saved);
            return false;
        }
    }
    return true;
}

/* A count keyword's value: a non-negative integer, maybe written 2.0;
 * -1 when it is not one. */
static int64_t
count_of(const struct json_object *k)
{
    if (json_object_is_type(k, json_type_int))
        return json_object_get_int64(k);
    if (!jsonschema_is_integral(k) || json_object_get_double(k) < 0)
        return -1;
    double d = json_object_get_double(k);
    return d >= 9.0e18 ? INT64_MAX : (int64_t)d;
}

/* minItems, maxItems, minProperties, maxProperties. */
static bool
count_kw(struct vctx *c, const struct json_object *k, size_t have,
         bool at_least, const char *what)
{
    int64_t lim = count_of(k);
    if (lim < 0 || (at_least ? (uint64_t)have >= (uint64_t)lim
                             : (uint64_t)have <= (uint64_t)lim))
        return true;
    return jsonschema_fail(c, "must have at %s %" PRId64 " %s%s",
                           at_least ? "least" : "most", lim, what,
                           lim == 1 ? "" : "s");
}

static bool
kw_min_props(struct vctx *c, const struct json_object *s,
             const struct json_object *k, const struct json_object *v)
{
    (void)s;
    return count_kw(c, k, (size_t)json_object_object_length(v), true,
                    "property");
}

static bool
kw_max_props(struct vctx *c, const struct json_object *s,
             const struct json_object *k, const struct json_object *v)
{
    (void)s;
    return count_kw(c, k, (size_t)json_object_object_length(v), false,
                    "property");
}

static bool
kw_items(struct vctx *c, const struct json_object *s,
         const struct json_object *k, const struct json_object *v)
{
    (void)k;
    struct json_object *prefix = NULL, *items = NULL, *rest = NULL, *t;
    if (sibling(s, "prefixItems", &t) &&
        json_object_is_type(t, json_type_array))
        prefix = t;
    sibling(s, "items", &items);
    if (json_object_is_type(items, json_type_array)) {
        if (prefix == NULL)
            prefix = items;
        sibling(s, "additionalItems", &rest);
    } else {
        rest = items;
    }
    size_t n = json_object_array_length(v);
    size_t np = prefix != NULL ? json_object_array_length(prefix) : 0;
    for (size_t i = 0; i < n; i++) {
        const struct json_object *sub =
            i < np ? json_object_array_get_idx(prefix, i) : rest;
        if (sub == NULL)
            break;
        size_t saved = jsonschema_path_index(c, i);
        bool ok = validate(c, sub, json_object_array_get_idx(v, i));
        jsonschema_path_pop(c, saved);
        if (!ok)
            return false;
    }
    return true;
}

static bool
kw_prefix_items(struct vctx *c, const struct json_object *s,
                const struct json_object *k, const struct json_object *v)
{
    struct json_object *items;
    if (json_object_object_get_ex(s, "items", &items))
        return true; /* kw_items does both */
    return kw_items(c, s, k, v);
}

static bool
kw_min_items(struct vctx *c, const struct json_object *s,
             const struct json_object *k, const struct json_object *v)
{
    (void)s;
    return count_kw(c, k, json_object_array_length(v), true, "item");
}

static bool
kw_max_items(struct vctx *c, const struct json_object *s,
             const struct json_object *k, const struct json_object *v)
{
    (void)s;
    return count_kw(c, k, json_object_array_length(v), false, "item");
}

static bool
kw_unique(struct vctx *c, const struct json_object *s,
          const struct json_object *k, const struct json_object *v)
{
    (void)s;
    if (!json_object_get_boolean(k))
        return true;
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (jsonschema_equal(c, json_object_array_get_idx(v, i),
                                 json_object_array_get_idx(v, j), 0))
                return jsonschema_fail(c, "items must be unique ([%zu] "
                                          "equals [%zu])", i, j);
            if (c->aborted)
                return false;
        }
    return true;
}

static bool
kw_contains(struct vctx *c, const struct json_object *s,
            const struct json_object *k, const struct json_object *v)
{
    struct json_object *t;
    int64_t lo = 1, hi = -1;
    if (sibling(s, "minContains", &t) && count_of(t) >= 0)
        lo = count_of(t);
    if (sibling(s, "maxContains", &t))
        hi = count_of(t);
    size_t n = json_object_array_length(v), hits = 0;
    c->quiet++;
    for (size_t i = 0; i < n && !c->aborted; i++)
        if (validate(c, k, json_object_array_get_idx(v, i)))
            hits++;
    if (c->quiet > 0)
        c->quiet--;
    if (c->aborted)
        return false;
    if (lo > 0 && (uint64_t)hits < (uint64_t)lo)
        return jsonschema_fail(c, "must contain at least %" PRId64
                                  " matching item%s", lo, lo == 1 ? "" : "s");
    if (hi >= 0 && (uint64_t)hits > (uint64_t)hi)
        return jsonschema_fail(c, "must contain at most %" PRId64
                                  " matching item%s", hi, hi == 1 ? "" : "s");
    return true;
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
    size_t have = utf8_count(jsonschema_str_of(v),
                             (size_t)json_object_get_string_len(v));
    int64_t lim = count_of(k);
    if (lim < 0 || (at_least ? (uint64_t)have >= (uint64_t)lim
                             : (uint64_t)have <= (uint64_t)lim))
        return true;
    return jsonschema_fail(c, "must be at %s %" PRId64 " character%s long",
                           at_least ? "least" : "most", lim,
                           lim == 1 ? "" : "s");
}

static bool
kw_min_len(struct vctx *c, const struct json_object *s,
           const struct json_object *k, const struct json_object *v)
{
    (void)s;
    return length_kw(c, k, v, true);
}

static bool
kw_max_len(struct vctx *c, const struct json_object *s,
           const struct json_object *k, const struct json_object *v)
{
    (void)s;
    return length_kw(c, k, v, false);
}

static bool
kw_pattern(struct vctx *c, const struct json_object *s,
           const struct json_object *k, const struct json_object *v)
{
    (void)s;
    if (!json_object_is_type(k, json_type_string))
        return jsonschema_fail(c, "invalid schema: pattern must be a string");
    int m = jsonschema_rx_match(c, jsonschema_str_of(k),
                                jsonschema_str_of(v),
                                (size_t)json_object_get_string_len(v));
    if (m > 0)
        return true;
    if (m < 0)
        return jsonschema_fail(c, "invalid schema: unsupported pattern");
    char safe[72];
    safe[jsonschema_safe_copy(safe, jsonschema_str_of(k), 64, false)] = '\0';
    return jsonschema_fail(c, "must match the pattern \"%s\"", safe);
}

/* minimum, maximum and the exclusive forms: 'dir' > 0 for lower bounds;
 * draft-4 booleans make the sibling bound exclusive. */
static bool
bound_kw(struct vctx *c, const struct json_object *s,
         const struct json_object *k, const struct json_object *v, int dir,
         bool exclusive)
{
    if (!jsonschema_is_number(k))
        return true; /* a draft-4 boolean: read by the sibling */
    struct json_object *flag;
    if (!exclusive &&
        json_object_object_get_ex(s, dir > 0 ? "exclusiveMinimum"
                                             : "exclusiveMaximum", &flag) &&
        json_object_is_type(flag, json_type_boolean))
        exclusive = json_object_get_boolean(flag);
    struct num x, b;
    jsonschema_num_get(v, &x);
    jsonschema_num_get(k, &b);
    if (!isfinite(x.d))
        return jsonschema_fail(c, "must be a finite number");
    int r = jsonschema_num_cmp(&x, &b) * dir;
    if (r > 0 || (r == 0 && !exclusive))
        return true;
    char buf[40];
    jsonschema_num_fmt(&b, buf, sizeof(buf));
    return jsonschema_fail(c, "must be %s%s %s", dir > 0 ? ">" : "<",
                           exclusive ? "" : "=", buf);
}

static bool
kw_minimum(struct vctx *c, const struct json_object *s,
           const struct json_object *k, const struct json_object *v)
{
    return bound_kw(c, s, k, v, 1, false);
}

static bool
kw_maximum(struct vctx *c, const struct json_object *s,
           const struct json_object *k, const struct json_object *v)
{
    return bound_kw(c, s, k, v, -1, false);
}

static bool
kw_ex_minimum(struct vctx *c, const struct json_object *s,
              const struct json_object *k, const struct json_object *v)
{
    return bound_kw(c, s, k, v, 1, true);
}

static bool
kw_ex_maximum(struct vctx *c, const struct json_object *s,
              const struct json_object *k, const struct json_object *v)
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

static bool
kw_multiple_of(struct vctx *c, const struct json_object *s,
               const struct json_object *k, const struct json_object *v)
{
    (void)s;
    struct num x, m;
    jsonschema_num_get(v, &x);
    jsonschema_num_get(k, &m);
    if (!(m.d > 0))
        return jsonschema_fail(c, "invalid schema: multipleOf must be > 0");
    if (is_multiple(&x, &m))
        return true;
    char buf[40];
    jsonschema_num_fmt(&m, buf, sizeof(buf));
    return jsonschema_fail(c, "must be a multiple of %s", buf);
}

/* The keyword table. Columns: name; the instance types it applies to
 * (others pass it); its validator (NULL: checked but read by a sibling
 * or a container of subschemas); what sy_jsonschema_check requires of
 * its value. "type" is evaluated first; the rest in schema order. */
static const struct kw keywords[] = {
    {"type", TY_ANY, NULL, K_TYPE},
    {"enum", TY_ANY, kw_enum, K_ARRAY},
    {"const", TY_ANY, kw_const, K_ANY},
    {"$ref", TY_ANY, kw_ref, K_REF},
    {"allOf", TY_ANY, kw_all_of, K_SCHEMA_LIST},
    {"anyOf", TY_ANY, kw_any_of, K_SCHEMA_LIST},
    {"oneOf", TY_ANY, kw_one_of, K_SCHEMA_LIST},
    {"not", TY_ANY, kw_not, K_SCHEMA},
    {"if", TY_ANY, kw_if, K_SCHEMA},
    {"then", TY_ANY, NULL, K_SCHEMA},
    {"else", TY_ANY, NULL, K_SCHEMA},
    {"$defs", TY_ANY, NULL, K_SCHEMA_MAP},
    {"definitions", TY_ANY, NULL, K_SCHEMA_MAP},
    {"properties", TY_OBJ, kw_properties, K_SCHEMA_MAP},
    {"patternProperties", TY_OBJ, kw_pattern_properties, K_PATTERN_MAP},
    {"additionalProperties", TY_OBJ, kw_additional, K_SCHEMA},
    {"required", TY_OBJ, kw_required, K_NAMES},
    {"propertyNames", TY_OBJ, kw_property_names, K_SCHEMA},
    {"minProperties", TY_OBJ, kw_min_props, K_COUNT},
    {"maxProperties", TY_OBJ, kw_max_props, K_COUNT},
    {"items", TY_ARR, kw_items, K_ITEMS},
    {"prefixItems", TY_ARR, kw_prefix_items, K_SCHEMA_LIST},
    {"additionalItems", TY_ARR, NULL, K_SCHEMA},
    {"minItems", TY_ARR, kw_min_items, K_COUNT},
    {"maxItems", TY_ARR, kw_max_items, K_COUNT},
    {"uniqueItems", TY_ARR, kw_unique, K_BOOL},
    {"contains", TY_ARR, kw_contains, K_SCHEMA},
    {"minContains", TY_ARR, NULL, K_COUNT},
    {"maxContains", TY_ARR, NULL, K_COUNT},
    {"minLength", TY_STR, kw_min_len, K_COUNT},
    {"maxLength", TY_STR, kw_max_len, K_COUNT},
    {"pattern", TY_STR, kw_pattern, K_PATTERN},
    {"minimum", TY_NUM, kw_minimum, K_BOUND},
    {"maximum", TY_NUM, kw_maximum, K_BOUND},
    {"exclusiveMinimum", TY_NUM, kw_ex_minimum, K_BOUND},
    {"exclusiveMaximum", TY_NUM, kw_ex_maximum, K_BOUND},
    {"multipleOf", TY_NUM, kw_multiple_of, K_POSITIVE},
};

/* The row of 'name', or NULL (annotations and unknown keywords). */
const struct kw *
jsonschema_kw_find(const char *name)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(keywords); i++)
        if (strcmp(name, keywords[i].name) == 0)
            return &keywords[i];
    return NULL;
}

/* The value of a keyword has the shape its validator reads (the cheap
 * part of check_value in jsonschema_check.c), so that an unchecked
 * schema cannot make json-c read an object as an array. */
static bool
shape_ok(enum kw_arg arg, const struct json_object *k)
{
    switch (arg) {
    case K_SCHEMA:
        return jsonschema_is_schema(k);
    case K_SCHEMA_MAP:
    case K_PATTERN_MAP:
        return json_object_is_type(k, json_type_object);
    case K_SCHEMA_LIST:
    case K_NAMES:
    case K_ARRAY:
        return json_object_is_type(k, json_type_array);
    case K_ITEMS:
        return jsonschema_is_schema(k) ||
               json_object_is_type(k, json_type_array);
    case K_COUNT:
        return count_of(k) >= 0;
    case K_BOUND:
        return jsonschema_is_number(k) ||
               json_object_is_type(k, json_type_boolean);
    case K_NUMBER:
        return jsonschema_is_number(k);
    case K_POSITIVE:
        return jsonschema_is_number(k) && json_object_get_double(k) > 0;
    case K_TYPE:
        return json_object_is_type(k, json_type_string) ||
               json_object_is_type(k, json_type_array);
    case K_ANY:
        return true;
    case K_BOOL:
        return json_object_is_type(k, json_type_boolean);
    case K_PATTERN:
    case K_REF:
        return json_object_is_type(k, json_type_string);
    }
    return false;
}

/* Apply schema 's' to instance 'v'. False on the first violation, which
 * jsonschema_fail() recorded unless quiet. */
static bool
validate(struct vctx *c, const struct json_object *s,
         const struct json_object *v)
{
    if (json_object_is_type(s, json_type_boolean))
        return json_object_get_boolean(s) ||
               jsonschema_fail(c, "no value is allowed here");
    if (!json_object_is_type(s, json_type_object))
        return jsonschema_fail(c, "invalid schema: not an object or a "
                                  "boolean");
    if (!jsonschema_step(c))
        return false;
    if (c->depth >= SY_JSONSCHEMA_MAX_DEPTH)
        return jsonschema_abort_eval(c, "the schema is nested too deeply "
                                        "(a $ref loop?)", false);
    c->depth++;
    bool ok = true;
    struct json_object *k;
    if (json_object_object_get_ex(s, "type", &k))
        ok = shape_ok(K_TYPE, k)
                 ? kw_type(c, s, k, v)
                 : jsonschema_fail(c, "invalid schema: bad \"type\"");
    unsigned ty = jsonschema_type_of(v);
    json_object_object_foreach(s, name, val) {
        if (!ok)
            break;
        const struct kw *kw = jsonschema_kw_find(name);
        if (kw == NULL || kw->fn == NULL || (kw->types & ty) == 0)
            continue;
        if (!shape_ok(kw->arg, val))
            ok = jsonschema_fail(c, "invalid schema: bad \"%s\"", kw->name);
        else
            ok = kw->fn(c, s, val, v);
    }
    c->depth--;
    return ok && !c->aborted;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */

/* Validate 'instance' against 'schema' (both borrowed, unchanged; JSON
 * null is a NULL pointer, as in json-c). True when it matches, and 'err'
 * is then empty. False on the first violation: 'err' (may be NULL) gets
 * "<instance path>: <problem>", short and safe to show to the caller (no
 * instance values; key names sanitized to printable ASCII). Run
 * sy_jsonschema_check on the schema first: validation fails, with an
 * "invalid schema" message, where it meets something it cannot use.
 * Never loops: SY_JSONSCHEMA_MAX_DEPTH and _MAX_STEPS bound the work.
 * Thread-safe for a schema shared read-only between threads. */
bool
sy_jsonschema_validate(const struct json_object *schema,
                       const struct json_object *instance, char *err,
                       size_t errlen)
{
    struct vctx c;
    jsonschema_ctx_init(&c, schema, err, errlen, false);
    bool ok = validate(&c, schema, instance);
    jsonschema_ctx_cleanup(&c);
    if (!ok && err != NULL && errlen > 0 && err[0] == '\0')
        snprintf(err, errlen, "$: does not match the schema");
    if (ok && err != NULL && errlen > 0)
        err[0] = '\0';
    return ok;
}
