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
 * minProperties, maxProperties, dependencies, dependentRequired,
 * dependentSchemas, items (schema, or the older array form with
 * additionalItems), prefixItems, minItems, maxItems, uniqueItems,
 * contains with minContains/maxContains, allOf, anyOf, oneOf, not,
 * if/then/else, minLength/maxLength (in code points), pattern, minimum,
 * maximum, exclusiveMinimum/exclusiveMaximum (numbers, or the draft-4
 * booleans), multipleOf, $ref to "#" or any JSON pointer in the same
 * document ("#/$defs/x", "#/definitions/x"), $defs/definitions, and
 * boolean schemas. $ref is applied together with its siblings (2019-09
 * and later) unless the root's $schema names draft 4, 6 or 7. Accepted
 * as annotations, never asserted: title, description, default, examples,
 * $comment, format, deprecated, readOnly, writeOnly, content*, x-*,
 * $schema, and $id at the root. Every other keyword ($anchor,
 * $dynamicRef, unevaluated*, remote $refs...) is refused by
 * sy_schema_compile (jsonschema_check.c), never silently ignored.
 * Patterns: see the dialect notes in jsonschema_rx.c.
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

/* ------------------------------------------------------------------ */
/* Validation                                                          */

static bool validate(struct vctx *c, const struct json_object *s,
                     const struct json_object *v);

static bool
sibling(const struct json_object *s, const char *name, struct json_object **out)
{
    return json_object_object_get_ex(s, name, out) && *out != NULL;
}

/* The types a "type" keyword value admits, as a mask. */
static unsigned
type_mask(const struct json_object *k)
{
    if (!json_object_is_type(k, json_type_array))
        return sy_jsonschema_type_bit(k);
    unsigned want = 0;
    size_t n = json_object_array_length(k);
    for (size_t i = 0; i < n; i++)
        want |= sy_jsonschema_type_bit(json_object_array_get_idx(k, i));
    return want;
}

/* Not inlined: its message buffer would sit in every validate() frame. */
static __attribute__((noinline)) bool
kw_type(struct vctx *c, const struct json_object *s,
        const struct json_object *k, const struct json_object *v)
{
    (void)s;
    if ((sy_jsonschema_type_of(v) & type_mask(k)) != 0)
        return true;
    size_t n = json_object_is_type(k, json_type_array)
                   ? json_object_array_length(k)
                   : 1;
    char names[96];
    size_t len = 0;
    names[0] = '\0';
    for (size_t i = 0; i < n && len < sizeof(names); i++) {
        const struct json_object *t = json_object_is_type(k, json_type_array)
                                          ? json_object_array_get_idx(k, i)
                                          : k;
        if (sy_jsonschema_type_bit(t) == 0)
            continue;
        int w = snprintf(names + len, sizeof(names) - len, "%s%s",
                         len == 0     ? ""
                         : i + 1 == n ? " or "
                                      : ", ",
                         sy_jsonschema_str_of(t));
        len += w > 0 ? (size_t)w : 0;
    }
    return sy_jsonschema_fail(c, "must be %s (got %s)", names,
                              sy_jsonschema_type_name(v));
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
            size_t m = 1 + sy_jsonschema_safe_copy(
                               item + 1, sy_jsonschema_str_of(e), 40, false);
            item[m++] = '"';
            item[m] = '\0';
        } else if (sy_jsonschema_is_number(e)) {
            struct num x;
            sy_jsonschema_num_get(e, &x);
            sy_jsonschema_num_fmt(&x, item, sizeof(item));
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
        return sy_jsonschema_fail(c, "invalid schema: enum must be an array");
    size_t n = json_object_array_length(k);
    for (size_t i = 0; i < n; i++) {
        if (sy_jsonschema_equal(c, json_object_array_get_idx(k, i), v, 0))
            return true;
        if (c->aborted)
            return false;
    }
    char brief[120];
    enum_brief(k, brief, sizeof(brief));
    return sy_jsonschema_fail(c, "must be one of: %s", brief);
}

static bool
kw_const(struct vctx *c, const struct json_object *s,
         const struct json_object *k, const struct json_object *v)
{
    (void)s;
    return sy_jsonschema_equal(c, k, v, 0) ||
           (!c->aborted &&
            sy_jsonschema_fail(c, "must be equal to the const value"));
}

static bool
kw_ref(struct vctx *c, const struct json_object *s, const struct json_object *k,
       const struct json_object *v)
{
    (void)s;
    const struct json_object *t =
        json_object_is_type(k, json_type_string)
            ? sy_jsonschema_resolve_ref(c->root, sy_jsonschema_str_of(k))
            : NULL;
    if (!sy_jsonschema_is_schema(t))
        return sy_jsonschema_fail(c, "invalid schema: cannot resolve $ref");
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
    unsigned ty = sy_jsonschema_type_of(v);
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
    return sy_jsonschema_fail(c, "must match at least one schema in anyOf");
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
    return sy_jsonschema_fail(c,
                              "must match exactly one schema in oneOf "
                              "(matched %s)",
                              hits == 0 ? "none" : "more than one");
}

static bool
kw_not(struct vctx *c, const struct json_object *s, const struct json_object *k,
       const struct json_object *v)
{
    (void)s;
    c->quiet++;
    bool ok = validate(c, k, v);
    if (c->quiet > 0)
        c->quiet--;
    if (c->aborted)
        return false;
    return !ok || sy_jsonschema_fail(c, "must not match the schema in not");
}

static bool
kw_if(struct vctx *c, const struct json_object *s, const struct json_object *k,
      const struct json_object *v)
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
    json_object_object_foreach(k, key, sub)
    {
        struct json_object *pv;
        if (!json_object_object_get_ex(v, key, &pv))
            continue;
        size_t saved = sy_jsonschema_path_key(c, key);
        bool ok = validate(c, sub, pv);
        sy_jsonschema_path_pop(c, saved);
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
    json_object_object_foreach(pp, pat, sub)
    {
        int m = sy_jsonschema_rx_match(c, pat, key, strlen(key));
        if (m == -2)
            return -1; /* the regex budget: recorded */
        if (m < 0) {
            sy_jsonschema_fail(c, "cannot apply a patternProperties pattern");
            return -1;
        }
        if (m == 0)
            continue;
        matched = 1;
        if (!apply)
            return 1;
        size_t saved = sy_jsonschema_path_key(c, key);
        bool ok = validate(c, sub, pv);
        sy_jsonschema_path_pop(c, saved);
        if (!ok)
            return -1;
    }
    return matched;
}

static bool
kw_pattern_properties(struct vctx *c, const struct json_object *s,
                      const struct json_object *k, const struct json_object *v)
{
    (void)s;
    json_object_object_foreach(v, key, pv)
    {
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
    json_object_object_foreach(v, key, pv)
    {
        if (props != NULL && json_object_object_get_ex(props, key, &tmp))
            continue;
        if (pp != NULL) {
            int m = pattern_props(c, pp, key, pv, false);
            if (m < 0)
                return false;
            if (m > 0)
                continue;
        }
        size_t saved = sy_jsonschema_path_key(c, key);
        bool ok = json_object_is_type(k, json_type_boolean) &&
                          !json_object_get_boolean(k)
                      ? sy_jsonschema_fail(c, "property is not allowed")
                      : validate(c, k, pv);
        sy_jsonschema_path_pop(c, saved);
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
            json_object_object_get_ex(v, sy_jsonschema_str_of(name), &pv))
            continue;
        char safe[64];
        safe[sy_jsonschema_safe_copy(safe, sy_jsonschema_str_of(name), 48,
                                     false)] = '\0';
        return sy_jsonschema_fail(c, "missing required property \"%s\"", safe);
    }
    return true;
}

/* dependentRequired, and the names form of draft 4-7 dependencies. */
static bool
dep_names(struct vctx *c, const char *key, const struct json_object *names,
          const struct json_object *v)
{
    size_t n = json_object_array_length(names);
    for (size_t i = 0; i < n; i++) {
        const struct json_object *name = json_object_array_get_idx(names, i);
        struct json_object *pv;
        if (!json_object_is_type(name, json_type_string) ||
            json_object_object_get_ex(v, sy_jsonschema_str_of(name), &pv))
            continue;
        char a[64], b[64];
        a[sy_jsonschema_safe_copy(a, key, 48, false)] = '\0';
        b[sy_jsonschema_safe_copy(b, sy_jsonschema_str_of(name), 48, false)] =
            '\0';
        return sy_jsonschema_fail(c,
                                  "property \"%s\" requires property "
                                  "\"%s\"",
                                  a, b);
    }
    return true;
}

/* dependencies (names or a schema per property), dependentRequired,
 * dependentSchemas: apply when the instance has the property. */
static bool
kw_dependencies(struct vctx *c, const struct json_object *s,
                const struct json_object *k, const struct json_object *v)
{
    (void)s;
    json_object_object_foreach(k, key, dep)
    {
        struct json_object *pv;
        if (!json_object_object_get_ex(v, key, &pv))
            continue;
        bool ok = json_object_is_type(dep, json_type_array)
                      ? dep_names(c, key, dep, v)
                      : validate(c, dep, v);
        if (!ok)
            return false;
    }
    return true;
}

static bool
kw_property_names(struct vctx *c, const struct json_object *s,
                  const struct json_object *k, const struct json_object *v)
{
    (void)s;
    json_object_object_foreach(v, key, pv)
    {
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
            size_t saved = sy_jsonschema_path_key(c, key);
            sy_jsonschema_fail(c, "property name does not match propertyNames");
            sy_jsonschema_path_pop(c, saved);
            return false;
        }
    }
    return true;
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
        size_t saved = sy_jsonschema_path_index(c, i);
        bool ok = validate(c, sub, json_object_array_get_idx(v, i));
        sy_jsonschema_path_pop(c, saved);
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
kw_unique(struct vctx *c, const struct json_object *s,
          const struct json_object *k, const struct json_object *v)
{
    (void)s;
    if (!json_object_get_boolean(k))
        return true;
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (sy_jsonschema_equal(c, json_object_array_get_idx(v, i),
                                    json_object_array_get_idx(v, j), 0))
                return sy_jsonschema_fail(c,
                                          "items must be unique ([%zu] "
                                          "equals [%zu])",
                                          i, j);
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
    if (sibling(s, "minContains", &t) && sy_jsonschema_count_of(t) >= 0)
        lo = sy_jsonschema_count_of(t);
    if (sibling(s, "maxContains", &t))
        hi = sy_jsonschema_count_of(t);
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
        return sy_jsonschema_fail(
            c, "must contain at least %" PRId64 " matching item%s", lo,
            lo == 1 ? "" : "s");
    if (hi >= 0 && (uint64_t)hits > (uint64_t)hi)
        return sy_jsonschema_fail(
            c, "must contain at most %" PRId64 " matching item%s", hi,
            hi == 1 ? "" : "s");
    return true;
}

/* The keyword table. Columns: name; the instance types it applies to
 * (others pass it); its validator (NULL: checked but read by a sibling
 * or a container of subschemas); what sy_jsonschema_check requires of
 * its value. "type" is evaluated first; the rest in schema order. */
static const struct kw keywords[] = {
    { "type", TY_ANY, NULL, K_TYPE },
    { "enum", TY_ANY, kw_enum, K_ARRAY },
    { "const", TY_ANY, kw_const, K_ANY },
    { "$ref", TY_ANY, kw_ref, K_REF },
    { "allOf", TY_ANY, kw_all_of, K_SCHEMA_LIST },
    { "anyOf", TY_ANY, kw_any_of, K_SCHEMA_LIST },
    { "oneOf", TY_ANY, kw_one_of, K_SCHEMA_LIST },
    { "not", TY_ANY, kw_not, K_SCHEMA },
    { "if", TY_ANY, kw_if, K_SCHEMA },
    { "then", TY_ANY, NULL, K_SCHEMA },
    { "else", TY_ANY, NULL, K_SCHEMA },
    { "$defs", TY_ANY, NULL, K_SCHEMA_MAP },
    { "definitions", TY_ANY, NULL, K_SCHEMA_MAP },
    { "properties", TY_OBJ, kw_properties, K_SCHEMA_MAP },
    { "patternProperties", TY_OBJ, kw_pattern_properties, K_PATTERN_MAP },
    { "additionalProperties", TY_OBJ, kw_additional, K_SCHEMA },
    { "required", TY_OBJ, kw_required, K_NAMES },
    { "propertyNames", TY_OBJ, kw_property_names, K_SCHEMA },
    { "dependencies", TY_OBJ, kw_dependencies, K_DEPS },
    { "dependentRequired", TY_OBJ, kw_dependencies, K_DEPS },
    { "dependentSchemas", TY_OBJ, kw_dependencies, K_SCHEMA_MAP },
    { "minProperties", TY_OBJ, sy_jsonschema_kw_min_props, K_COUNT },
    { "maxProperties", TY_OBJ, sy_jsonschema_kw_max_props, K_COUNT },
    { "items", TY_ARR, kw_items, K_ITEMS },
    { "prefixItems", TY_ARR, kw_prefix_items, K_SCHEMA_LIST },
    { "additionalItems", TY_ARR, NULL, K_SCHEMA },
    { "minItems", TY_ARR, sy_jsonschema_kw_min_items, K_COUNT },
    { "maxItems", TY_ARR, sy_jsonschema_kw_max_items, K_COUNT },
    { "uniqueItems", TY_ARR, kw_unique, K_BOOL },
    { "contains", TY_ARR, kw_contains, K_SCHEMA },
    { "minContains", TY_ARR, NULL, K_COUNT },
    { "maxContains", TY_ARR, NULL, K_COUNT },
    { "minLength", TY_STR, sy_jsonschema_kw_min_len, K_COUNT },
    { "maxLength", TY_STR, sy_jsonschema_kw_max_len, K_COUNT },
    { "pattern", TY_STR, sy_jsonschema_kw_pattern, K_PATTERN },
    { "minimum", TY_NUM, sy_jsonschema_kw_minimum, K_BOUND },
    { "maximum", TY_NUM, sy_jsonschema_kw_maximum, K_BOUND },
    { "exclusiveMinimum", TY_NUM, sy_jsonschema_kw_ex_minimum, K_BOUND },
    { "exclusiveMaximum", TY_NUM, sy_jsonschema_kw_ex_maximum, K_BOUND },
    { "multipleOf", TY_NUM, sy_jsonschema_kw_multiple_of, K_POSITIVE },
};

/* The row of 'name', or NULL (annotations and unknown keywords). */
const struct kw *
sy_jsonschema_kw_find(const char *name)
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
        return sy_jsonschema_is_schema(k);
    case K_SCHEMA_MAP:
    case K_PATTERN_MAP:
    case K_DEPS:
        return json_object_is_type(k, json_type_object);
    case K_SCHEMA_LIST:
    case K_NAMES:
    case K_ARRAY:
        return json_object_is_type(k, json_type_array);
    case K_ITEMS:
        return sy_jsonschema_is_schema(k) ||
               json_object_is_type(k, json_type_array);
    case K_COUNT:
        return sy_jsonschema_count_of(k) >= 0;
    case K_BOUND:
        return sy_jsonschema_is_number(k) ||
               json_object_is_type(k, json_type_boolean);
    case K_NUMBER:
        return sy_jsonschema_is_number(k);
    case K_POSITIVE:
        return sy_jsonschema_is_number(k) && json_object_get_double(k) > 0;
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
 * sy_jsonschema_fail() recorded unless quiet. */
static bool
validate(struct vctx *c, const struct json_object *s,
         const struct json_object *v)
{
    if (json_object_is_type(s, json_type_boolean))
        return json_object_get_boolean(s) ||
               sy_jsonschema_fail(c, "no value is allowed here");
    if (!json_object_is_type(s, json_type_object))
        return sy_jsonschema_fail(c, "invalid schema: not an object or a "
                                     "boolean");
    if (!sy_jsonschema_step(c))
        return false;
    if (c->depth >= SY_JSONSCHEMA_MAX_DEPTH)
        return sy_jsonschema_abort_eval(c,
                                        "the schema is nested too deeply "
                                        "(a $ref loop?)",
                                        false);
    c->depth++;
    bool ok = true;
    struct json_object *k;
    if (c->cs != NULL && c->cs->legacy_ref &&
        json_object_object_get_ex(s, "$ref", &k)) {
        /* drafts 4 to 7: "$ref" replaces its siblings */
        ok = shape_ok(K_REF, k) ? kw_ref(c, s, k, v)
                                : sy_jsonschema_fail(c, "invalid schema");
        c->depth--;
        return ok && !c->aborted;
    }
    if (json_object_object_get_ex(s, "type", &k))
        ok = shape_ok(K_TYPE, k)
                 ? kw_type(c, s, k, v)
                 : sy_jsonschema_fail(c, "invalid schema: bad \"type\"");
    unsigned ty = sy_jsonschema_type_of(v);
    json_object_object_foreach(s, name, val)
    {
        if (!ok)
            break;
        const struct kw *kw = sy_jsonschema_kw_find(name);
        if (kw == NULL || kw->fn == NULL || (kw->types & ty) == 0)
            continue;
        if (!shape_ok(kw->arg, val))
            ok = sy_jsonschema_fail(c, "invalid schema: bad \"%s\"", kw->name);
        else
            ok = kw->fn(c, s, val, v);
    }
    c->depth--;
    return ok && !c->aborted;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */

/* Validate 'instance' against the compiled schema 'cs' (the tree it
 * borrows and 'instance' unchanged; JSON null is a NULL pointer, as in
 * json-c). True when it matches, and 'err' is then empty. False on the
 * first violation: 'err' (may be NULL) gets "<instance path>: <problem>",
 * short and safe to show to the caller (no instance values; key names
 * sanitized to printable ASCII). Never loops: SY_JSONSCHEMA_MAX_DEPTH and
 * _MAX_STEPS bound the schema work, 'budget' the regex work of the whole
 * request. Thread-safe for a schema shared read-only between threads,
 * each with its own budget. */
bool
sy_schema_validate(const struct sy_schema *cs,
                   const struct json_object *instance,
                   struct sy_rx_budget *budget, char *err, size_t errlen)
{
    struct sy_rx_budget local;
    if (budget == NULL) {
        sy_rx_budget_init(&local);
        budget = &local;
    }
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cs == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "$: the schema was not compiled");
        return false;
    }
    if (budget->spent) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen,
                     "$: too much regex work (the request's "
                     "budget is spent)");
        return false;
    }
    struct vctx c;
    sy_jsonschema_ctx_init(&c, cs->root, err, errlen, false);
    c.cs = (struct sy_schema *)(uintptr_t)cs; /* read only here */
    c.budget = budget;
    budget->t_enter = sy_jsonschema_cpu_ns();
    budget->wall_last = sy_jsonschema_wall_ns();
    bool ok = validate(&c, cs->root, instance);
    uint64_t now = sy_jsonschema_cpu_ns();
    if (now > budget->t_enter)
        budget->cpu_ns += now - budget->t_enter;
    sy_jsonschema_rx_cleanup(&c);
    if (!ok && err != NULL && errlen > 0 && err[0] == '\0')
        snprintf(err, errlen, "$: does not match the schema");
    if (ok && err != NULL && errlen > 0)
        err[0] = '\0';
    return ok;
}
