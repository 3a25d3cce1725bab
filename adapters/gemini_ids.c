/*
 * gemini_ids.c - the tool call ids the Gemini adapter makes, both ends of
 * their format: Gemini gives function calls no ids, so a reply's calls
 * get deterministic ones (gemini.c turns functionCall parts into OpenAI
 * tool calls here), and a call's thoughtSignature rides inside its id
 * (and in extra_content, Google's own OpenAI-compatible field), to be
 * read back when the id returns in a later request (gemini_request.c).
 * No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "gemini_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* "call_" + 16 hex digits of FNV-1a(name, args, position), then, when
 * the call has a thought signature, "_s" + the number of '=' padding
 * characters + the signature in base64url without padding. Stable: the
 * same call at the same position always gets the same id. */
static const char *
call_id(struct sy_arena *a, const char *name, const char *args, int pos,
        const char *sig)
{
    char num[16];
    int nlen = snprintf(num, sizeof(num), "%d", pos);
    uint64_t h = sy_adapter_fnv(SY_FNV_INIT, name, strlen(name) + 1);
    h = sy_adapter_fnv(h, args, strlen(args) + 1);
    h = sy_adapter_fnv(h, num, (size_t)nlen);
    size_t n = sig != NULL ? strlen(sig) : 0, pad = 0;
    while (pad < n && sig[n - 1 - pad] == '=')
        pad++;
    bool b64 = n > pad;
    for (size_t i = 0; b64 && i < n - pad; i++) {
        char c = sig[i];
        b64 = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/';
    }
    if (!b64 || pad > 2)
        return sy_arena_printf(a, "call_%016" PRIx64, h);
    char *s = sy_arena_printf(a, "call_%016" PRIx64 "_s%zu%.*s", h, pad,
                              (int)(n - pad), sig);
    for (char *p = s + 24; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return s;
}

/* The thought signature carried by an id from call_id(), or NULL (see
 * gemini_int.h). Used by the request side. */
const char *
sy_gemini_sig_from_id(struct sy_arena *a, const char *id)
{
    size_t n = strlen(id);
    if (n < 25 || strncmp(id, "call_", 5) != 0 || id[21] != '_' ||
        id[22] != 's' || id[23] < '0' || id[23] > '2')
        return NULL;
    for (size_t i = 5; i < 21; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return NULL;
    size_t pad = (size_t)(id[23] - '0');
    char *s = sy_arena_alloc(a, n - 24 + pad + 1);
    size_t j = 0;
    for (size_t i = 24; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return NULL;
        s[j++] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    while (pad-- > 0)
        s[j++] = '=';
    s[j] = '\0';
    return s;
}

/* An OpenAI tool call for a functionCall part at position 'pos' (see
 * gemini_int.h). Used by the reply side. */
struct json_object *
sy_gemini_tool_call_of(struct sy_arena *a, struct json_object *part, int pos,
                       const char **why)
{
    struct json_object *fc = sy_adapter_get(part, "functionCall");
    const char *name = sy_adapter_get_str(fc, "name");
    *why = NULL;
    if (name == NULL) {
        *why = "the provider's functionCall has no name";
        return NULL;
    }
    struct json_object *args = sy_adapter_get(fc, "args");
    if (args != NULL && !sy_adapter_is(args, json_type_object)) {
        /* the caller would get arguments that are not an object */
        *why = "the provider's functionCall args are not a JSON object";
        return NULL;
    }
    const char *at = args ? sy_adapter_json_text(args, NULL) : "{}";
    const char *sig = sy_adapter_get_str(part, "thoughtSignature");
    struct json_object *tc =
        sy_adapter_tool_call(call_id(a, name, at, pos, sig), name, at);
    if (sig != NULL) /* Google's own OpenAI-compatible field, too */
        json_object_object_add(
            tc, "extra_content",
            sy_adapter_obj(
                "google",
                sy_adapter_obj("thought_signature", SY_JSTR(sig), NULL), NULL));
    return tc;
}
