/*
 * chat_needs.c - what a parsed chat request needs from a deployment
 * (core/api/caps.h): streaming, tools, answer formats, the billed fields
 * it uses, its number of choices, an estimate of its prompt's size, and
 * whether only a deployment of the caller's own wire format can take it.
 * Kept apart from chat.c, which parses and validates: this only reads a
 * request that already passed those checks.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "chat.h"
#include "caps.h"

#include <string.h>
#include <strings.h>

#include <json-c/json.h>

/* Is 'part' an image_url part whose URL is an image (a data: URL of
 * an image type, or a link)? Its URL bytes go to '*image_bytes'. A
 * data: URL of another type (a PDF, a video) is not: Gemini takes any
 * inline data, billed per page or second. */
static bool
image_part(struct json_object *part, uint64_t *image_bytes)
{
    struct json_object *iu, *url;
    if (!json_object_object_get_ex(part, "image_url", &iu) ||
        !json_object_object_get_ex(iu, "url", &url) ||
        !json_object_is_type(url, json_type_string))
        return true; /* refused later; an image as far as cost goes */
    const char *u = json_object_get_string(url);
    if (strncasecmp(u, "data:", 5) == 0 && strncasecmp(u, "data:image/", 11))
        return false;
    *image_bytes += (uint64_t)json_object_get_string_len(url);
    return true;
}

/* Bytes of text in a message 'content'; image parts are counted in
 * 'nd->images' and their URL bytes (often base64 data) in
 * '*image_bytes', since a provider bills them per image, not per byte.
 * Text and audio are bounded by their bytes. Every other part (a file,
 * a video, a document URL, a data: URL that is no image, a type the
 * gateway does not know) counts in 'nd->files': billed per page, frame
 * or second, which no byte count bounds (sy_caps_input_worst). */
static uint64_t
content_bytes(struct json_object *content, struct sy_needs *nd,
              uint64_t *image_bytes)
{
    if (json_object_is_type(content, json_type_string))
        return (uint64_t)json_object_get_string_len(content);
    if (!json_object_is_type(content, json_type_array))
        return 0;
    uint64_t n = 0;
    size_t len = json_object_array_length(content);
    for (size_t i = 0; i < len; i++) {
        struct json_object *part = json_object_array_get_idx(content, i), *v;
        if (json_object_object_get_ex(part, "text", &v) &&
            json_object_is_type(v, json_type_string))
            n += (uint64_t)json_object_get_string_len(v);
        const char *type = json_object_object_get_ex(part, "type", &v) &&
                                   json_object_is_type(v, json_type_string)
                               ? json_object_get_string(v)
                               : "text";
        if (strcmp(type, "image_url") == 0 && image_part(part, image_bytes))
            nd->images++;
        else if (strcmp(type, "text") != 0 &&
                 strcmp(type, "input_audio") != 0 &&
                 strcmp(type, "refusal") != 0)
            nd->files++;
    }
    return n;
}

/* Is billed field 'i' (see core/api/caps.c) used by value 'v'? */
static bool
field_used(unsigned i, struct json_object *v)
{
    if (v == NULL)
        return false;
    switch (sy_caps_field_rule(i)) {
    case SY_FIELD_TRUE:
        return !json_object_is_type(v, json_type_boolean) ||
               json_object_get_boolean(v);
    case SY_FIELD_ABOVE_1:
        return !json_object_is_type(v, json_type_int) ||
               json_object_get_int64(v) > 1;
    case SY_FIELD_NOT_TEXT: {
        if (!json_object_is_type(v, json_type_array))
            return true;
        size_t n = json_object_array_length(v);
        for (size_t k = 0; k < n; k++) {
            struct json_object *m = json_object_array_get_idx(v, k);
            if (!json_object_is_type(m, json_type_string) ||
                strcmp(json_object_get_string(m), "text") != 0)
                return true;
        }
        return false;
    }
    case SY_FIELD_PRESENT:
    default:
        return true;
    }
}

/* The SY_FIELD_* bits of the billed fields request 'r' uses. Anything
 * other than the harmless value counts (a "store": "yes" is used). */
uint32_t
sy_chat_req_fields(const struct sy_chat_req *r)
{
    uint32_t bits = 0;
    struct json_object *v;
    for (unsigned i = 0; r->root != NULL && i < SY_FIELD_COUNT; i++)
        if (json_object_object_get_ex(r->root, sy_caps_field_name(i), &v) &&
            field_used(i, v))
            bits |= 1u << i;
    return bits;
}

/* The number of choices asked for ('n'; 1 when absent or invalid). */
uint32_t
sy_chat_req_choices(const struct sy_chat_req *r)
{
    struct json_object *v;
    int64_t n = 1;
    if (r->root != NULL && json_object_object_get_ex(r->root, "n", &v) &&
        json_object_is_type(v, json_type_int))
        n = json_object_get_int64(v);
    return n >= 1 && n <= SY_CHAT_MAX_CHOICES ? (uint32_t)n : 1;
}

/* What request 'r' needs from a deployment (see core/api/caps.h). The prompt
 * size is an estimate: about four bytes of text a token, about a
 * thousand tokens an image (the worst case a budget reserves is in
 * sy_caps_input_worst). */
void
sy_chat_req_needs(const struct sy_chat_req *r, struct sy_needs *n)
{
    memset(n, 0, sizeof(*n));
    struct json_object *root = r->root, *v;
    n->streaming = r->stream;
    n->json_object = r->response_format == SY_FORMAT_JSON_OBJECT;
    n->json_schema = r->response_format == SY_FORMAT_JSON_SCHEMA;
    n->max_tokens = r->max_tokens > 0 ? (uint64_t)r->max_tokens : 0;
    n->choices = sy_chat_req_choices(r);
    n->fields = sy_chat_req_fields(r);
    if (r->native.required != NULL && r->native.dialect != NULL) {
        n->native_dialect = r->native.dialect;
        n->native_why = r->native.required;
    }
    bool none = json_object_object_get_ex(root, "tool_choice", &v) &&
                json_object_is_type(v, json_type_string) &&
                strcmp(json_object_get_string(v), "none") == 0;
    n->tools = json_object_object_get_ex(root, "tools", &v) &&
               json_object_is_type(v, json_type_array) &&
               json_object_array_length(v) > 0 && !none;
    n->parallel_tools =
        n->tools &&
        json_object_object_get_ex(root, "parallel_tool_calls", &v) &&
        json_object_get_boolean(v);
    uint64_t bytes = 0, image_bytes = 0;
    if (json_object_object_get_ex(root, "messages", &v)) {
        size_t len = json_object_array_length(v);
        for (size_t i = 0; i < len; i++) {
            struct json_object *m = json_object_array_get_idx(v, i), *c;
            bytes += 16;
            if (json_object_object_get_ex(m, "content", &c))
                bytes += content_bytes(c, n, &image_bytes);
        }
    }
    n->vision = n->images > 0;
    if (json_object_object_get_ex(root, "tools", &v) && v != NULL)
        bytes +=
            strlen(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    n->hidden_tokens = r->native.hidden_tokens;
    n->input_tokens =
        bytes / 4 + 1 + (uint64_t)n->images * 1024 + n->hidden_tokens;
    n->image_bytes = image_bytes;
}
