/*
 * contract.c - check a model's output against the caller's contract:
 * message content that must be JSON (response_format json_object or
 * json_schema) and tool-call arguments that must match the tool's
 * parameters schema. Parses here, evaluates schemas in jsonschema.c; the
 * pipeline decides what a broken contract costs (retry, error). The only
 * rewrite is taking off one markdown code fence around the whole content;
 * prose around JSON is never stripped.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "contract.h"
#include "jsonschema.h"
#include "mem.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#define CONTRACT_DEFAULT_DEPTH 64 /* when the caller passes 0 */

static bool
is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static bool
is_word(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* If 'text' (len bytes, not NUL-terminated) is, apart from surrounding
 * whitespace, one markdown code fence whose info string is empty or
 * "json" (any case), set 'out'/'outlen' to the inside (trimmed; borrowed
 * from 'text') and return true. Otherwise 'out'/'outlen' are the text
 * unchanged and the result is false: prose before or after the fence,
 * another language, a missing closing fence or a fence line inside all
 * mean "not fenced". The one-line form ```json {...}``` is accepted. */
bool
sy_contract_unfence(const char *text, size_t len, const char **out,
                    size_t *outlen)
{
    *out = text;
    *outlen = len;
    size_t b = 0, e = len;
    while (b < e && is_ws(text[b]))
        b++;
    while (e > b && is_ws(text[e - 1]))
        e--;
    if (e - b < 6 || memcmp(text + b, "```", 3) != 0 ||
        memcmp(text + e - 3, "```", 3) != 0)
        return false;
    size_t p = b + 3, end = e - 3;
    size_t lang = p;
    while (p < end && is_word(text[p]))
        p++;
    size_t n = p - lang;
    if (n != 0) {
        static const char json[] = "json";
        if (n != 4)
            return false;
        for (size_t i = 0; i < 4; i++)
            if ((text[lang + i] | 0x20) != json[i])
                return false;
    }
    while (p < end && is_ws(text[p]))
        p++;
    /* A fence line inside means several blocks (with prose between, or
     * not); "```" inside a JSON string cannot start a line. */
    for (size_t i = p; i < end; i++) {
        if (i != p && text[i - 1] != '\n')
            continue;
        size_t j = i;
        while (j < end && j < i + 3 && text[j] == ' ')
            j++;
        if (j + 3 <= end && memcmp(text + j, "```", 3) == 0)
            return false;
    }
    while (end > p && is_ws(text[end - 1]))
        end--;
    *out = text + p;
    *outlen = end - p;
    return true;
}

/* ------------------------------------------------------------------ */
/* Strict syntax                                                       */

/* json-c's strict mode still takes 'single quotes', "1.", raw control
 * characters in strings, NaN and Infinity, so an RFC 8259 scan runs
 * first; json-c then builds the tree (and checks UTF-8). */
enum scan_res { SCAN_OK, SCAN_EOF, SCAN_BAD, SCAN_DEPTH, SCAN_TRAILING };

#define SCAN_MAX_DEPTH 1024 /* bits in the container stack */

struct scan {
    const unsigned char *s;
    size_t len;
    size_t i;          /* where the scan stopped */
    const char *why;   /* static, for SCAN_BAD */
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
    if (sc->i < sc->len && sc->s[sc->i] == '0')
        sc->i++;
    else if (!scan_digits(sc))
        return scan_bad(sc, "invalid number");
    if (sc->i < sc->len && sc->s[sc->i] == '.') {
        sc->i++;
        if (!scan_digits(sc))
            return scan_bad(sc, "invalid number");
    }
    if (sc->i < sc->len && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
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
    if (ch == '{' || ch == '[') {
        if (*depth >= max_depth)
            return SCAN_DEPTH;
        if (ch == '{')
            stack[*depth / 64] |= (uint64_t)1 << (*depth % 64);
        else
            stack[*depth / 64] &= ~((uint64_t)1 << (*depth % 64));
        (*depth)++;
        sc->i++;
        return SCAN_OK;
    }
    if (ch == '"')
        return scan_string(sc);
    if (ch == '-' || (ch >= '0' && ch <= '9'))
        return scan_number(sc);
    static const char *const words[] = {"true", "false", "null"};
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
        json_object_object_foreach(o, k, v) {
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

/* Parse exactly one JSON value from s[0..len) into '*doc' (owned by the
 * caller; NULL is the JSON null). 'what' names the text in messages ("the
 * content"), 'plural' picks its verbs. On failure '*doc' is NULL and 'err'
 * says why. */
static bool
parse_doc(const char *s, size_t len, unsigned max_depth, const char *what,
          bool plural, struct json_object **doc, char *err, size_t errlen)
{
    const char *is = plural ? "are" : "is";
    *doc = NULL;
    size_t b = 0;
    while (b < len && is_ws(s[b]))
        b++;
    if (b == len) {
        snprintf(err, errlen, "%s %s empty; expected JSON", what, is);
        return false;
    }
    if (len > INT_MAX) {
        snprintf(err, errlen, "%s %s too large", what, is);
        return false;
    }
    if (max_depth == 0)
        max_depth = CONTRACT_DEFAULT_DEPTH;
    if (max_depth > SCAN_MAX_DEPTH)
        max_depth = SCAN_MAX_DEPTH;
    struct scan sc = {(const unsigned char *)s, len, 0, NULL};
    switch (scan_json(&sc, max_depth)) {
    case SCAN_OK:
        break;
    case SCAN_EOF:
        snprintf(err, errlen, "%s %s not valid JSON (at byte %zu: "
                              "unexpected end of input)", what, is, len);
        return false;
    case SCAN_BAD:
        snprintf(err, errlen, "%s %s not valid JSON (at byte %zu: %s)", what,
                 is, sc.i, sc.why);
        return false;
    case SCAN_DEPTH:
        snprintf(err, errlen, "%s %s nested deeper than %u levels", what, is,
                 max_depth);
        return false;
    case SCAN_TRAILING:
        snprintf(err, errlen,
                 "%s %s unexpected data after the JSON value (at byte %zu)",
                 what, plural ? "have" : "has", sc.i);
        return false;
    }
    /* The syntax is right: json-c builds the tree and checks UTF-8. Its
     * own depth bound sits one above ours so that it never decides. */
    struct json_tokener *tok = json_tokener_new_ex((int)max_depth + 1);
    if (tok == NULL)
        sy_oom(sizeof(struct json_tokener *));
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
                                    JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *root = json_tokener_parse_ex(tok, s, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    if (root == NULL && je == json_tokener_continue) {
        /* A bare top-level number or literal needs a terminator. */
        root = json_tokener_parse_ex(tok, "", 1);
        je = json_tokener_get_error(tok);
    }
    json_tokener_free(tok);
    if (je != json_tokener_success) {
        json_object_put(root);
        snprintf(err, errlen, "%s %s not valid JSON (%s)", what, is,
                 je == json_tokener_error_parse_utf8_string
                     ? "invalid UTF-8 in a string"
                     : json_tokener_error_desc(je));
        return false;
    }
    if (!all_finite(root)) {
        json_object_put(root);
        snprintf(err, errlen, "%s %s not valid JSON (a number is out of "
                              "range)", what, is);
        return false;
    }
    *doc = root;
    return true;
}

static void
json_free(void *p)
{
    json_object_put(p);
}

/* Parse a model's message content as JSON, after taking off a code fence
 * around all of it (sy_contract_unfence). 'max_depth' bounds nesting (0:
 * 64). On success '*doc' is the tree (NULL for a JSON null), freed by a
 * cleanup on 'a': it lives until the arena is cleaned, and the caller may
 * read but not free it. '*unfenced' (may be NULL) says whether a fence
 * was removed; it is set on failure too. On failure '*doc' is NULL and
 * 'err' holds a short message that is safe to show to the caller (byte
 * offsets count from the inside of the fence). */
bool
sy_contract_parse_json(const char *content, size_t len, unsigned max_depth,
                       struct sy_arena *a, struct json_object **doc,
                       char *err, size_t errlen, bool *unfenced)
{
    const char *s;
    size_t n;
    bool fenced = sy_contract_unfence(content, len, &s, &n);
    if (unfenced != NULL)
        *unfenced = fenced;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    char scratch[1];
    if (err == NULL || errlen == 0) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    if (!parse_doc(s, n, max_depth, "the content", false, doc, err, errlen))
        return false;
    if (*doc != NULL)
        sy_arena_on_cleanup(a, json_free, *doc);
    return true;
}

/* Check a model's message content against the response_format contract:
 * with 'schema' NULL (json_object mode) it must be a JSON object; else
 * (json_schema mode) it must match 'schema', which the caller already
 * accepted with sy_jsonschema_check. Parsing as in sy_contract_parse_json
 * (the tree stays with 'a'). True when the contract holds; else 'err'
 * (may be NULL) gets a short, caller-safe reason, e.g. "the content does
 * not match the schema: $.items[2].price: must be >= 0". */
bool
sy_contract_check_json(const char *content, size_t len,
                       const struct json_object *schema, unsigned max_depth,
                       struct sy_arena *a, char *err, size_t errlen,
                       bool *unfenced)
{
    struct json_object *doc;
    if (!sy_contract_parse_json(content, len, max_depth, a, &doc, err,
                                errlen, unfenced))
        return false;
    char why[256];
    if (schema == NULL) {
        if (json_object_is_type(doc, json_type_object))
            return true;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "the content must be a JSON object");
        return false;
    }
    if (sy_jsonschema_validate(schema, doc, why, sizeof(why)))
        return true;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "the content does not match the schema: %s",
                 why);
    return false;
}

/* Check one tool call's 'arguments' (len bytes of JSON text, as in the
 * OpenAI tool_calls[].function.arguments string): a JSON object matching
 * 'parameters' (the tool's schema, checked beforehand with
 * sy_jsonschema_check; NULL: any object). Empty or all-whitespace
 * arguments count as {} (some providers send "" for a call without
 * arguments). No fence is taken off: arguments are not prose. The tree
 * is freed before returning. True when valid; else 'err' (may be NULL)
 * gets a short, caller-safe reason. */
bool
sy_contract_check_tool_args(const char *arguments, size_t len,
                            const struct json_object *parameters,
                            unsigned max_depth, char *err, size_t errlen)
{
    char scratch[1];
    if (err == NULL || errlen == 0) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    err[0] = '\0';
    struct json_object *doc = NULL;
    size_t b = 0;
    while (b < len && is_ws(arguments[b]))
        b++;
    if (b == len)
        doc = json_object_new_object();
    else if (!parse_doc(arguments, len, max_depth, "the tool arguments",
                        true, &doc, err, errlen))
        return false;
    bool ok = false;
    char why[256];
    if (!json_object_is_type(doc, json_type_object))
        snprintf(err, errlen, "the tool arguments must be a JSON object");
    else if (parameters != NULL &&
             !sy_jsonschema_validate(parameters, doc, why, sizeof(why)))
        snprintf(err, errlen, "the tool arguments do not match the "
                              "parameters schema: %s", why);
    else
        ok = true;
    json_object_put(doc);
    return ok;
}
