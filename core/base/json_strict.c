/*
 * json_strict.c - the strict JSON parse (see json_strict.h): an RFC 8259
 * scan that also counts containers and scalars, a memory estimate checked
 * against the caller's limit, then json-c with UTF-8 validation, then a
 * check that no number overflowed to infinity (only when the scan saw a
 * number that can).
 *
 * Hot path (every client body and every provider stream event): each
 * thread keeps its json-c tokeners (reset, not reallocated), and a parse
 * runs under the thread's own "C" locale object. json-c switches the
 * numeric locale around every parse (duplocale, newlocale, freelocale);
 * from the global locale that takes glibc's process-wide locale lock and
 * allocates, from the C locale object it does neither. The program never
 * sets a locale, so the numbers read are the same.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "json_strict.h"
#include "mem.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#define DEFAULT_DEPTH 64

static bool
is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* json-c's strict mode still takes 'single quotes', "1.", raw control
 * characters in strings, NaN and Infinity, so an RFC 8259 scan runs
 * first; json-c then builds the tree (and checks UTF-8). */
enum scan_res {
    SCAN_OK,
    SCAN_EOF,
    SCAN_BAD,
    SCAN_DEPTH,
    SCAN_TRAILING,
    SCAN_VALUES
};

#define SCAN_MAX_DEPTH 1024 /* bits in the container stack */

struct scan {
    const unsigned char *s;
    size_t len;
    size_t i;        /* where the scan stopped */
    const char *why; /* static, for SCAN_BAD */
    size_t objects;  /* counted for the memory estimate */
    size_t arrays;
    size_t scalars;
    size_t strings;    /* of the scalars */
    size_t max_values; /* 0: no bound on objects + arrays + strings */
    unsigned deepest;  /* containers open at once, at most */
    bool maybe_inf;    /* a number with an exponent or 300+ digits */
};

static void
scan_ws(struct scan *sc)
{
    while (sc->i < sc->len && is_ws((char)sc->s[sc->i]))
        sc->i++;
}

static enum scan_res
scan_bad(struct scan *sc, const char *why)
{
    if (sc->i >= sc->len)
        return SCAN_EOF;
    sc->why = why;
    return SCAN_BAD;
}

static bool
scan_digits(struct scan *sc)
{
    size_t from = sc->i;
    while (sc->i < sc->len && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
        sc->i++;
    return sc->i > from;
}

static enum scan_res
scan_string(struct scan *sc)
{
    for (sc->i++; sc->i < sc->len; sc->i++) {
        unsigned char ch = sc->s[sc->i];
        if (ch == '"') {
            sc->i++;
            return SCAN_OK;
        }
        if (ch < 0x20)
            return scan_bad(sc, "control character in a string");
        if (ch != '\\')
            continue;
        sc->i++;
        if (sc->i >= sc->len)
            return SCAN_EOF;
        ch = sc->s[sc->i];
        if (ch == 'u') {
            for (int k = 0; k < 4; k++) {
                sc->i++;
                if (sc->i >= sc->len)
                    return SCAN_EOF;
                ch = sc->s[sc->i];
                if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                      (ch >= 'A' && ch <= 'F')))
                    return scan_bad(sc, "invalid \\u escape");
            }
        } else if (strchr("\"\\/bfnrt", ch) == NULL || ch == '\0') {
            return scan_bad(sc, "invalid escape in a string");
        }
    }
    return SCAN_EOF;
}

static enum scan_res
scan_number(struct scan *sc)
{
    if (sc->s[sc->i] == '-')
        sc->i++;
    size_t digits_at = sc->i;
    if (sc->i < sc->len && sc->s[sc->i] == '0')
        sc->i++;
    else if (!scan_digits(sc))
        return scan_bad(sc, "invalid number");
    if (sc->i < sc->len && sc->s[sc->i] == '.') {
        sc->i++;
        if (!scan_digits(sc))
            return scan_bad(sc, "invalid number");
    }
    /* Below 10^300 and without an exponent, no double overflows. */
    if (sc->i - digits_at > 300)
        sc->maybe_inf = true;
    if (sc->i < sc->len && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
        sc->maybe_inf = true;
        sc->i++;
        if (sc->i < sc->len && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
            sc->i++;
        if (!scan_digits(sc))
            return scan_bad(sc, "invalid number");
    }
    return SCAN_OK;
}

/* One scalar, or the opening of a container (pushed on 'stack'). */
static enum scan_res
scan_value(struct scan *sc, uint64_t *stack, unsigned *depth,
           unsigned max_depth)
{
    if (sc->i >= sc->len)
        return SCAN_EOF;
    unsigned char ch = sc->s[sc->i];
    /* One more counted value (a container or a string: numbers and
     * literals cost json-c the least, and embeddings' token arrays are
     * made of them; the tree estimate bounds them by bytes); the scan
     * stops at the first one over the bound. */
    if (sc->max_values != 0 && (ch == '{' || ch == '[' || ch == '"') &&
        sc->objects + sc->arrays + sc->strings >= sc->max_values)
        return SCAN_VALUES;
    if (ch == '{' || ch == '[') {
        if (*depth >= max_depth)
            return SCAN_DEPTH;
        if (ch == '{') {
            stack[*depth / 64] |= (uint64_t)1 << (*depth % 64);
            sc->objects++;
        } else {
            stack[*depth / 64] &= ~((uint64_t)1 << (*depth % 64));
            sc->arrays++;
        }
        (*depth)++;
        if (*depth > sc->deepest)
            sc->deepest = *depth;
        sc->i++;
        return SCAN_OK;
    }
    sc->scalars++;
    if (ch == '"') {
        sc->strings++;
        return scan_string(sc);
    }
    if (ch == '-' || (ch >= '0' && ch <= '9'))
        return scan_number(sc);
    static const char *const words[] = { "true", "false", "null" };
    for (size_t k = 0; k < SY_ARRAY_LEN(words); k++) {
        size_t n = strlen(words[k]);
        if (ch != (unsigned char)words[k][0])
            continue;
        if (sc->len - sc->i < n &&
            memcmp(sc->s + sc->i, words[k], sc->len - sc->i) == 0) {
            sc->i = sc->len;
            return SCAN_EOF;
        }
        if (sc->len - sc->i < n || memcmp(sc->s + sc->i, words[k], n) != 0)
            break;
        sc->i += n;
        return SCAN_OK;
    }
    return scan_bad(sc, "unexpected character");
}

/* Scan exactly one JSON value, whitespace around it allowed. */
static enum scan_res
scan_json(struct scan *sc, unsigned max_depth)
{
    uint64_t stack[SCAN_MAX_DEPTH / 64];
    unsigned depth = 0;
    enum scan_res r;
    bool want_key = false; /* just after '{' or ',' inside an object */
    memset(stack, 0, sizeof(stack));
    scan_ws(sc);
    for (;;) {
        /* A value (or, in an object, a key and its colon first). */
        if (want_key) {
            if (sc->i >= sc->len)
                return SCAN_EOF;
            if (sc->s[sc->i] != '"')
                return scan_bad(sc, "expected a quoted property name");
            r = scan_string(sc);
            if (r != SCAN_OK)
                return r;
            scan_ws(sc);
            if (sc->i >= sc->len)
                return SCAN_EOF;
            if (sc->s[sc->i] != ':')
                return scan_bad(sc, "expected ':'");
            sc->i++;
            scan_ws(sc);
        }
        unsigned before = depth;
        r = scan_value(sc, stack, &depth, max_depth);
        if (r != SCAN_OK)
            return r;
        scan_ws(sc);
        if (depth > before) { /* opened a container: empty? */
            bool obj = stack[(depth - 1) / 64] >> ((depth - 1) % 64) & 1;
            if (sc->i < sc->len && sc->s[sc->i] == (obj ? '}' : ']')) {
                sc->i++;
                depth--;
                scan_ws(sc);
            } else {
                want_key = obj;
                continue;
            }
        }
        /* After a value: ',' or the end of the enclosing containers. */
        for (;;) {
            if (depth == 0)
                return sc->i == sc->len ? SCAN_OK : SCAN_TRAILING;
            bool obj = stack[(depth - 1) / 64] >> ((depth - 1) % 64) & 1;
            if (sc->i >= sc->len)
                return SCAN_EOF;
            if (sc->s[sc->i] == ',') {
                sc->i++;
                scan_ws(sc);
                want_key = obj;
                break;
            }
            if (sc->s[sc->i] != (obj ? '}' : ']'))
                return scan_bad(sc, obj ? "expected ',' or '}'"
                                        : "expected ',' or ']'");
            sc->i++;
            depth--;
            scan_ws(sc);
        }
    }
}

/* No NaN or Infinity can pass the scan, but 1e999 overflows to one. */
static bool
all_finite(const struct json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_double:
        return isfinite(json_object_get_double(o));
    case json_type_array: {
        size_t n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++)
            if (!all_finite(json_object_array_get_idx(o, i)))
                return false;
        return true;
    }
    case json_type_object: {
        json_object_object_foreach(o, k, v)
        {
            (void)k;
            if (!all_finite(v))
                return false;
        }
        return true;
    }
    default:
        return true;
    }
}

/* What the tree will cost, saturating. */
static size_t
tree_estimate(const struct scan *sc)
{
    unsigned __int128 t = (unsigned __int128)sc->objects * SY_JSON_COST_OBJECT +
                          (unsigned __int128)sc->arrays * SY_JSON_COST_ARRAY +
                          (unsigned __int128)sc->scalars * SY_JSON_COST_SCALAR +
                          sc->len;
    return t > SIZE_MAX ? SIZE_MAX : (size_t)t;
}

/* Ordinary JSON (chat turns of a few short fields) costs json-c about 30
 * times its size; a text of nothing but tiny containers 250 times. */
static size_t
default_tree_limit(size_t len)
{
    return len > (SIZE_MAX - (2u << 20)) / 48 ? SIZE_MAX
                                              : len * 48 + (2u << 20);
}

/* The thread's tokeners, one per depth bound in use (a thread parses
 * client bodies and provider events, whose bounds may differ). */
#define TOKENERS 2

struct tokeners {
    struct json_tokener *tok[TOKENERS];
    unsigned depth[TOKENERS];
    unsigned next; /* the slot replaced when none fits */
};

static pthread_key_t tokeners_key;
static pthread_once_t tokeners_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void
tokeners_free(void *p)
{
    struct tokeners *t = p;
    for (size_t k = 0; k < TOKENERS; k++)
        if (t->tok[k] != NULL)
            json_tokener_free(t->tok[k]);
    free(t);
}

static void
tokeners_init(void)
{
    if (pthread_key_create(&tokeners_key, tokeners_free) != 0)
        sy_oom(sizeof(pthread_key_t));
    /* glibc returns its static C locale object: nothing to free. */
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* A reset tokener of this thread whose depth bound is 'depth'. */
static struct json_tokener *
tokener_get(unsigned depth)
{
    pthread_once(&tokeners_once, tokeners_init);
    struct tokeners *t = pthread_getspecific(tokeners_key);
    if (t == NULL) {
        t = sy_xcalloc(1, sizeof(*t));
        if (pthread_setspecific(tokeners_key, t) != 0)
            sy_oom(sizeof(*t));
    }
    for (size_t k = 0; k < TOKENERS; k++) {
        if (t->tok[k] != NULL && t->depth[k] == depth) {
            json_tokener_reset(t->tok[k]);
            return t->tok[k];
        }
    }
    unsigned k = t->next;
    t->next = (t->next + 1) % TOKENERS;
    if (t->tok[k] != NULL)
        json_tokener_free(t->tok[k]);
    t->tok[k] = json_tokener_new_ex((int)depth);
    if (t->tok[k] == NULL)
        sy_oom(sizeof(struct json_tokener *));
    t->depth[k] = depth;
    json_tokener_set_flags(t->tok[k],
                           JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    return t->tok[k];
}

/* Texts up to this long leave their tokener kept; a token is at most the
 * text, so the tokener's string buffer stays about this size. */
#define TOKENER_KEEP_LEN 65536

/* After a parse, nothing of it stays in the thread's tokener: a failed
 * parse leaves its half-built tree on the tokener's stack (a reset frees
 * it), and a long text grew the string buffer, which a reset keeps, so
 * that tokener is freed (the next parse makes a new one). */
static void
tokener_done(struct json_tokener *tok, size_t len)
{
    struct tokeners *t = pthread_getspecific(tokeners_key);
    if (len <= TOKENER_KEEP_LEN || t == NULL) {
        json_tokener_reset(tok);
        return;
    }
    for (size_t k = 0; k < TOKENERS; k++) {
        if (t->tok[k] == tok) {
            t->tok[k] = NULL;
            t->depth[k] = 0;
        }
    }
    json_tokener_free(tok);
}

static enum sy_json_status
fail(struct sy_json_result *res, enum sy_json_status st)
{
    res->status = st;
    return st;
}

unsigned
sy_json_depth_limit(const struct sy_json_limits *lim)
{
    unsigned depth =
        lim != NULL && lim->max_depth ? lim->max_depth : DEFAULT_DEPTH;
    return depth > SCAN_MAX_DEPTH ? SCAN_MAX_DEPTH : depth;
}

enum sy_json_status
sy_json_parse_strict(const char *s, size_t len,
                     const struct sy_json_limits *lim, struct json_object **out,
                     struct sy_json_result *res)
{
    return sy_json_parse_bounded(s, len, lim, 0, out, res);
}

/* The scan of sy_json_parse_bounded, up to the tree json-c would build:
 * syntax, depth, counted values and the tree's estimate. Sets
 * '*maybe_inf' when a number may overflow to infinity. */
static enum sy_json_status
check_text(const char *s, size_t len, const struct sy_json_limits *lim,
           size_t max_values, struct sy_json_result *res, bool *maybe_inf)
{
    memset(res, 0, sizeof(*res));
    unsigned depth = sy_json_depth_limit(lim);
    res->max_depth = depth;
    res->max_values = max_values;
    size_t b = 0;
    while (s != NULL && b < len && is_ws(s[b]))
        b++;
    if (s == NULL || b == len)
        return fail(res, SY_JSON_EMPTY);
    if (len > INT_MAX)
        return fail(res, SY_JSON_TOOBIG);
    struct scan sc = {
        (const unsigned char *)s, len, 0, NULL, 0, 0, 0, 0, max_values, 0, false
    };
    enum scan_res r = scan_json(&sc, depth);
    res->at = sc.i;
    res->why = sc.why;
    res->depth = sc.deepest;
    res->values = sc.objects + sc.arrays + sc.strings;
    switch (r) {
    case SCAN_OK:
        break;
    case SCAN_EOF:
        res->at = len;
        return fail(res, SY_JSON_EOF);
    case SCAN_BAD:
        return fail(res, SY_JSON_BAD);
    case SCAN_DEPTH:
        return fail(res, SY_JSON_DEPTH);
    case SCAN_TRAILING:
        return fail(res, SY_JSON_TRAILING);
    case SCAN_VALUES:
        return fail(res, SY_JSON_VALUES);
    }
    res->tree_bytes = tree_estimate(&sc);
    size_t cap = lim != NULL && lim->max_tree_bytes ? lim->max_tree_bytes
                                                    : default_tree_limit(len);
    if (res->tree_bytes > cap)
        return fail(res, SY_JSON_COMPLEX);
    *maybe_inf = sc.maybe_inf;
    return fail(res, SY_JSON_OK);
}

enum sy_json_status
sy_json_check_bounded(const char *s, size_t len,
                      const struct sy_json_limits *lim, size_t max_values,
                      struct sy_json_result *res)
{
    bool maybe_inf = false;
    return check_text(s, len, lim, max_values, res, &maybe_inf);
}

enum sy_json_status
sy_json_parse_bounded(const char *s, size_t len,
                      const struct sy_json_limits *lim, size_t max_values,
                      struct json_object **out, struct sy_json_result *res)
{
    *out = NULL;
    bool maybe_inf = false;
    if (check_text(s, len, lim, max_values, res, &maybe_inf) != SY_JSON_OK)
        return res->status;
    /* The syntax is right: json-c builds the tree and checks UTF-8. Its
     * own depth bound sits one above ours so that it never decides. */
    struct json_tokener *tok = tokener_get(res->max_depth + 1);
    locale_t prev = c_locale != (locale_t)0 ? uselocale(c_locale) : 0;
    struct json_object *root = json_tokener_parse_ex(tok, s, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    if (root == NULL && je == json_tokener_continue) {
        /* A bare top-level number or literal needs a terminator. */
        root = json_tokener_parse_ex(tok, "", 1);
        je = json_tokener_get_error(tok);
    }
    tokener_done(tok, len);
    if (prev != (locale_t)0)
        uselocale(prev);
    if (je != json_tokener_success) {
        json_object_put(root);
        res->why = json_tokener_error_desc(je);
        return fail(res, je == json_tokener_error_parse_utf8_string
                             ? SY_JSON_UTF8
                             : SY_JSON_BAD);
    }
    if (maybe_inf && !all_finite(root)) {
        json_object_put(root);
        return fail(res, SY_JSON_NONFINITE);
    }
    *out = root;
    return fail(res, SY_JSON_OK);
}

bool
sy_json_whole_string(struct json_object *v)
{
    return json_object_is_type(v, json_type_string) &&
           strlen(json_object_get_string(v)) ==
               (size_t)json_object_get_string_len(v);
}

void
sy_json_describe(const struct sy_json_result *res, const char *what,
                 bool plural, char *err, size_t errlen)
{
    const char *is = plural ? "are" : "is";
    if (err == NULL || errlen == 0)
        return;
    switch (res->status) {
    case SY_JSON_OK:
        err[0] = '\0';
        break;
    case SY_JSON_EMPTY:
        snprintf(err, errlen, "%s %s empty; expected JSON", what, is);
        break;
    case SY_JSON_EOF:
        snprintf(err, errlen,
                 "%s %s not valid JSON (at byte %zu: "
                 "unexpected end of input)",
                 what, is, res->at);
        break;
    case SY_JSON_BAD:
        snprintf(err, errlen, "%s %s not valid JSON (at byte %zu: %s)", what,
                 is, res->at, res->why != NULL ? res->why : "syntax error");
        break;
    case SY_JSON_DEPTH:
        snprintf(err, errlen, "%s %s nested deeper than %u levels", what, is,
                 res->max_depth);
        break;
    case SY_JSON_TRAILING:
        snprintf(err, errlen,
                 "%s %s unexpected data after the JSON value (at byte %zu)",
                 what, plural ? "have" : "has", res->at);
        break;
    case SY_JSON_COMPLEX:
        snprintf(err, errlen,
                 "%s %s too complex: its JSON tree would take about %zu MiB "
                 "(too many objects and arrays for its size)",
                 what, is, res->tree_bytes >> 20);
        break;
    case SY_JSON_NONFINITE:
        snprintf(err, errlen,
                 "%s %s not valid JSON (a number is out of "
                 "range)",
                 what, is);
        break;
    case SY_JSON_UTF8:
        snprintf(err, errlen,
                 "%s %s not valid JSON (invalid UTF-8 in a "
                 "string)",
                 what, is);
        break;
    case SY_JSON_TOOBIG:
        snprintf(err, errlen, "%s %s too large", what, is);
        break;
    case SY_JSON_VALUES:
        snprintf(err, errlen,
                 "%s %s too many JSON values: more than %zu objects, "
                 "arrays and strings (at byte %zu)",
                 what, plural ? "have" : "has", res->max_values, res->at);
        break;
    }
}
