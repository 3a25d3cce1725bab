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
#include "base/sy.h"
#include "contract.h"
#include "jsonschema.h"
#include "base/json_strict.h"
#include "base/mem.h"

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
    /* cppcheck-suppress knownConditionTrueFalse ; e - b is any length */
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

/* Parse exactly one JSON value from s[0..len) into '*doc' (owned by the
 * caller; NULL is the JSON null) with the strict parse of json_strict.h.
 * 'what' names the text in messages ("the content"), 'plural' picks its
 * verbs. On failure '*doc' is NULL and 'err' says why. */
static bool
parse_doc(const char *s, size_t len, unsigned max_depth, const char *what,
          bool plural, struct json_object **doc, char *err, size_t errlen)
{
    struct sy_json_limits lim = { max_depth ? max_depth
                                            : CONTRACT_DEFAULT_DEPTH,
                                  0 };
    struct sy_json_result res;
    if (sy_json_parse_strict(s, len, &lim, doc, &res) == SY_JSON_OK)
        return true;
    sy_json_describe(&res, what, plural, err, errlen);
    return false;
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
                       struct sy_arena *a, struct json_object **doc, char *err,
                       size_t errlen, bool *unfenced)
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
 * (json_schema mode) it must match the compiled 'schema', charging the
 * request's regex 'budget' (may be NULL). Parsing as in
 * sy_contract_parse_json (the tree stays with 'a'). True when the
 * contract holds; else 'err' (may be NULL) gets a short, caller-safe
 * reason, e.g. "the content does not match the schema: $.items[2].price:
 * must be >= 0". */
bool
sy_contract_check_json_cs(const char *content, size_t len,
                          const struct sy_schema *schema,
                          struct sy_rx_budget *budget, unsigned max_depth,
                          struct sy_arena *a, char *err, size_t errlen,
                          bool *unfenced)
{
    struct json_object *doc;
    if (!sy_contract_parse_json(content, len, max_depth, a, &doc, err, errlen,
                                unfenced))
        return false;
    char why[256];
    if (schema == NULL) {
        if (json_object_is_type(doc, json_type_object))
            return true;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "the content must be a JSON object");
        return false;
    }
    if (sy_schema_validate(schema, doc, budget, why, sizeof(why)))
        return true;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "the content does not match the schema: %s", why);
    return false;
}

/* As sy_contract_check_json_cs with a schema tree, compiled for this call
 * (tests and tools; the gateway compiles once per request). A schema that
 * does not compile fails the check with the compile error. */
bool
sy_contract_check_json(const char *content, size_t len,
                       const struct json_object *schema, unsigned max_depth,
                       struct sy_arena *a, char *err, size_t errlen,
                       bool *unfenced)
{
    struct sy_schema *cs = NULL;
    char why[256];
    if (schema != NULL &&
        (cs = sy_schema_compile(schema, why, sizeof(why))) == NULL) {
        if (unfenced != NULL)
            *unfenced = false;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "the schema cannot be used: %s", why);
        return false;
    }
    bool ok = sy_contract_check_json_cs(content, len, cs, NULL, max_depth, a,
                                        err, errlen, unfenced);
    sy_schema_free(cs);
    return ok;
}

/* Check one tool call's 'arguments' (len bytes of JSON text, as in the
 * OpenAI tool_calls[].function.arguments string): a JSON object matching
 * the compiled 'parameters' (NULL: any object), charging 'budget' (may be
 * NULL). Empty or all-whitespace arguments count as {} (some providers
 * send "" for a call without arguments). No fence is taken off:
 * arguments are not prose. The tree is freed before returning. True when
 * valid; else 'err' (may be NULL) gets a short, caller-safe reason. */
bool
sy_contract_check_tool_args_cs(const char *arguments, size_t len,
                               const struct sy_schema *parameters,
                               struct sy_rx_budget *budget, unsigned max_depth,
                               char *err, size_t errlen)
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
    else if (!parse_doc(arguments, len, max_depth, "the tool arguments", true,
                        &doc, err, errlen))
        return false;
    bool ok = false;
    char why[256];
    if (!json_object_is_type(doc, json_type_object))
        snprintf(err, errlen, "the tool arguments must be a JSON object");
    else if (parameters != NULL &&
             !sy_schema_validate(parameters, doc, budget, why, sizeof(why)))
        snprintf(err, errlen,
                 "the tool arguments do not match the "
                 "parameters schema: %s",
                 why);
    else
        ok = true;
    json_object_put(doc);
    return ok;
}

/* As sy_contract_check_tool_args_cs with a schema tree compiled for this
 * call. */
bool
sy_contract_check_tool_args(const char *arguments, size_t len,
                            const struct json_object *parameters,
                            unsigned max_depth, char *err, size_t errlen)
{
    struct sy_schema *cs = NULL;
    char why[256];
    if (parameters != NULL &&
        (cs = sy_schema_compile(parameters, why, sizeof(why))) == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "the parameters schema cannot be used: %s",
                     why);
        return false;
    }
    bool ok = sy_contract_check_tool_args_cs(arguments, len, cs, NULL,
                                             max_depth, err, errlen);
    sy_schema_free(cs);
    return ok;
}
