/*
 * anthropic_surface_msgs.c - the Messages surface's request side, part
 * two: the caller's system prompt and messages (content blocks of every
 * kind) checked as Anthropic checks them and rebuilt as canonical
 * (OpenAI chat completions) messages, and the checking helpers that
 * anthropic_surface.c shares. Errors name Anthropic's parameter paths
 * ("messages.2.content.0.type: ..."). Blocks only Anthropic has
 * (search_result) are checked here and mark the request native-only
 * (sy_msurf_native_only).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "anthropic_surface_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* Refuse the request: the message starts with the parameter's path
 * ('at' and 'key' joined with '.'; either may be NULL), as Anthropic's
 * do, and err->param is that path. */
enum sy_err
sy_msurf_fail(struct msurf_tr *t, const char *at, const char *key,
              const char *fmt, ...)
{
    const char *path = at == NULL    ? key
                       : key == NULL ? at
                                     : sy_arena_printf(t->a, "%s.%s", at, key);
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(t->err->message, sizeof(t->err->message), "%s: %s",
             path ? path : "body", why);
    t->err->param = path;
    return SY_EBADREQ;
}

static const char *
type_words(json_type type)
{
    switch (type) {
    case json_type_string:
        return "a valid string";
    case json_type_int:
        return "a valid integer";
    case json_type_double:
        return "a valid number";
    case json_type_boolean:
        return "a valid boolean";
    case json_type_array:
        return "a valid list";
    default:
        return "a valid dictionary";
    }
}

/* Member 'key' of object 'o' into '*v' when it has JSON type 'type'
 * (json_type_double takes integers too). Absent or null: '*v' is NULL,
 * which is a refusal when 'required'. */
enum sy_err
sy_msurf_member(struct msurf_tr *t, struct json_object *o, const char *at,
                const char *key, json_type type, bool required,
                struct json_object **v)
{
    *v = sy_adapter_get(o, key);
    if (*v == NULL)
        return required ? sy_msurf_fail(t, at, key, "Field required") : SY_OK;
    if (json_object_is_type(*v, type) ||
        (type == json_type_double && json_object_is_type(*v, json_type_int)))
        return SY_OK;
    *v = NULL;
    return sy_msurf_fail(t, at, key, "Input should be %s", type_words(type));
}

enum sy_err
sy_msurf_str_member(struct msurf_tr *t, struct json_object *o, const char *at,
                    const char *key, bool required, const char **s)
{
    struct json_object *v;
    enum sy_err e =
        sy_msurf_member(t, o, at, key, json_type_string, required, &v);
    *s = v ? json_object_get_string(v) : NULL;
    return e;
}

/* The first part of the request that needs an Anthropic deployment
 * names the need (sy_chat_req.native.required, set by the parse). */
void
sy_msurf_native_only(struct msurf_tr *t, const char *at, const char *what)
{
    if (t->native_only == NULL)
        t->native_only = sy_arena_printf(t->a, "%s: %s", at, what);
}

/* The "type" of block 'b' at 'at' (an object with a string type). */
static enum sy_err
block_type(struct msurf_tr *t, struct json_object *b, const char *at,
           const char **type)
{
    *type = NULL;
    if (!sy_adapter_is(b, json_type_object))
        return sy_msurf_fail(t, at, NULL, "Input should be a valid dictionary");
    return sy_msurf_str_member(t, b, at, "type", true, type);
}

/* A block type the gateway cannot take in this place: server tool
 * blocks get their own reason, others Anthropic's tag message. */
enum sy_err
sy_msurf_bad_tag(struct msurf_tr *t, const char *at, const char *type,
                 const char *expected)
{
    size_t n = strlen(type);
    if (strcmp(type, "server_tool_use") == 0 ||
        strcmp(type, "mcp_tool_use") == 0 ||
        (n > 12 && strcmp(type + n - 12, "_tool_result") == 0))
        return sy_msurf_fail(t, at, "type",
                             "block type '%.60s' belongs to a server tool this "
                             "gateway does not offer",
                             type);
    return sy_msurf_fail(
        t, at, "type",
        "Input tag '%.60s' found using 'type' does not match any "
        "of the expected tags: %s",
        type, expected);
}

/* Text goes from the caller's JSON strings to the canonical ones with
 * json-c's length, never as C strings: "\u0000" is valid JSON, and
 * strlen would cut the text at it, so the provider would see other text
 * than the caller sent. */

/* Required string member 'key' of 'o' (at path 'at') into '*v'. */
static enum sy_err
text_member(struct msurf_tr *t, struct json_object *o, const char *at,
            const char *key, struct json_object **v)
{
    return sy_msurf_member(t, o, at, key, json_type_string, true, v);
}

/* A new JSON string of the bytes of JSON string 'v'. */
static struct json_object *
str_copy(struct json_object *v)
{
    return json_object_new_string_len(json_object_get_string(v),
                                      json_object_get_string_len(v));
}

/* Append the bytes of JSON string 'v' to 's'. */
static void
buf_str(struct sy_buf *s, struct json_object *v)
{
    sy_buf_append(s, json_object_get_string(v),
                  (size_t)json_object_get_string_len(v));
}

/* A new JSON string "data:MIME;base64,DATA". */
static struct json_object *
data_url(struct msurf_tr *t, const char *at, const char *mime, const char *data,
         enum sy_err *e)
{
    struct sy_buf s;
    sy_buf_init(&s, INT_MAX / 2);
    sy_buf_puts(&s, "data:");
    sy_buf_puts(&s, mime);
    sy_buf_puts(&s, ";base64,");
    sy_buf_puts(&s, data);
    struct json_object *o = NULL;
    *e = SY_OK;
    if (sy_buf_failed(&s)) {
        sy_msurf_fail(t, at, "data", "the data is too large");
        *e = SY_ETOOBIG;
    } else {
        o = json_object_new_string_len(sy_buf_cstr(&s), (int)s.len);
    }
    sy_buf_free(&s);
    return o;
}

/* ------------------------------------------------------------------ */
/* User content                                                        */

static enum sy_err
image_part(struct msurf_tr *t, struct json_object *b, const char *at,
           struct json_object *parts)
{
    static const char *const mimes[] = { "image/jpeg", "image/png", "image/gif",
                                         "image/webp", NULL };
    struct json_object *src;
    const char *st, *mime, *data, *url;
    const char *sat = sy_arena_printf(t->a, "%s.source", at);
    enum sy_err e =
        sy_msurf_member(t, b, at, "source", json_type_object, true, &src);
    if (e == SY_OK)
        e = sy_msurf_str_member(t, src, sat, "type", true, &st);
    if (e != SY_OK)
        return e;
    struct json_object *u = NULL;
    if (strcmp(st, "base64") == 0) {
        e = sy_msurf_str_member(t, src, sat, "media_type", true, &mime);
        if (e == SY_OK && !sy_adapter_str_in(mime, mimes))
            return sy_msurf_fail(t, sat, "media_type",
                                 "Input should be 'image/jpeg', 'image/png', "
                                 "'image/gif' or 'image/webp'");
        if (e == SY_OK)
            e = sy_msurf_str_member(t, src, sat, "data", true, &data);
        if (e == SY_OK)
            u = data_url(t, sat, mime, data, &e);
    } else if (strcmp(st, "url") == 0) {
        e = sy_msurf_str_member(t, src, sat, "url", true, &url);
        if (e == SY_OK)
            u = json_object_new_string(url);
    } else if (strcmp(st, "file") == 0) {
        return sy_msurf_fail(
            t, sat, "type",
            "file sources (the Files API) are not supported by "
            "this gateway; send the image as base64 or a url");
    } else {
        return sy_msurf_bad_tag(t, sat, st, "'base64', 'url', 'file'");
    }
    if (e != SY_OK)
        return e;
    json_object_array_add(
        parts, sy_adapter_obj("type", SY_JSTR("image_url"), "image_url",
                              sy_adapter_obj("url", u, NULL), NULL));
    return SY_OK;
}

/* A text part holding JSON string 'text'. */
static void
text_part(struct json_object *parts, struct json_object *text)
{
    json_object_array_add(parts, sy_adapter_obj("type", SY_JSTR("text"), "text",
                                                str_copy(text), NULL));
}

/* A document's "content" source: a string, or text and image blocks. */
static enum sy_err
document_content(struct msurf_tr *t, struct json_object *src, const char *sat,
                 struct json_object *parts)
{
    struct json_object *c = sy_adapter_get(src, "content");
    if (sy_adapter_is(c, json_type_string)) {
        text_part(parts, c);
        return SY_OK;
    }
    enum sy_err e =
        sy_msurf_member(t, src, sat, "content", json_type_array, true, &c);
    size_t n = c ? json_object_array_length(c) : 0;
    for (size_t i = 0; e == SY_OK && i < n; i++) {
        struct json_object *b = json_object_array_get_idx(c, i);
        const char *at = sy_arena_printf(t->a, "%s.content.%zu", sat, i);
        const char *type;
        struct json_object *text;
        e = block_type(t, b, at, &type);
        if (e != SY_OK)
            break;
        if (strcmp(type, "image") == 0) {
            e = image_part(t, b, at, parts);
        } else if (strcmp(type, "text") == 0) {
            e = text_member(t, b, at, "text", &text);
            if (e == SY_OK)
                text_part(parts, text);
        } else {
            e = sy_msurf_bad_tag(t, at, type, "'text', 'image'");
        }
    }
    return e;
}

/* A document: a base64 PDF becomes an OpenAI file part, plain text and
 * content sources become text (and image) parts. */
static enum sy_err
document_part(struct msurf_tr *t, struct json_object *b, const char *at,
              struct json_object *parts)
{
    struct json_object *src;
    const char *st, *mime, *data;
    const char *sat = sy_arena_printf(t->a, "%s.source", at);
    enum sy_err e =
        sy_msurf_member(t, b, at, "source", json_type_object, true, &src);
    if (e == SY_OK)
        e = sy_msurf_str_member(t, src, sat, "type", true, &st);
    if (e != SY_OK)
        return e;
    if (strcmp(st, "base64") == 0) {
        e = sy_msurf_str_member(t, src, sat, "media_type", true, &mime);
        if (e == SY_OK && strcmp(mime, "application/pdf") != 0)
            return sy_msurf_fail(t, sat, "media_type",
                                 "Input should be 'application/pdf'");
        if (e == SY_OK)
            e = sy_msurf_str_member(t, src, sat, "data", true, &data);
        struct json_object *u =
            e == SY_OK ? data_url(t, sat, mime, data, &e) : NULL;
        if (e != SY_OK)
            return e;
        json_object_array_add(
            parts,
            sy_adapter_obj("type", SY_JSTR("file"), "file",
                           sy_adapter_obj("filename", SY_JSTR("document.pdf"),
                                          "file_data", u, NULL),
                           NULL));
        return SY_OK;
    }
    if (strcmp(st, "text") == 0) {
        struct json_object *text;
        e = text_member(t, src, sat, "data", &text);
        if (e == SY_OK)
            text_part(parts, text);
        return e;
    }
    if (strcmp(st, "content") == 0)
        return document_content(t, src, sat, parts);
    if (strcmp(st, "url") == 0 || strcmp(st, "file") == 0)
        return sy_msurf_fail(
            t, sat, "type",
            "document sources of type '%s' are not supported by "
            "this gateway; send the PDF as base64",
            st);
    return sy_msurf_bad_tag(t, sat, st,
                            "'base64', 'text', 'content', 'url', 'file'");
}

/* A search_result block (a caller's own search results, which
 * Anthropic cites): checked as Anthropic's SDK types it (source, title,
 * text blocks as content) and sent only natively, since no other
 * provider has citations of it; its texts become text parts of the
 * canonical tree, so the prompt's size is estimated. */
static enum sy_err
search_result_part(struct msurf_tr *t, struct json_object *b, const char *at,
                   struct json_object *parts)
{
    const char *source, *title;
    struct json_object *c = NULL;
    enum sy_err e = sy_msurf_str_member(t, b, at, "source", true, &source);
    if (e == SY_OK)
        e = sy_msurf_str_member(t, b, at, "title", true, &title);
    if (e == SY_OK)
        e = sy_msurf_member(t, b, at, "content", json_type_array, true, &c);
    size_t n = c != NULL ? json_object_array_length(c) : 0;
    for (size_t i = 0; e == SY_OK && i < n; i++) {
        const char *cat = sy_arena_printf(t->a, "%s.content.%zu", at, i);
        const char *type;
        struct json_object *text;
        e = block_type(t, json_object_array_get_idx(c, i), cat, &type);
        if (e == SY_OK && strcmp(type, "text") != 0)
            e = sy_msurf_bad_tag(t, cat, type, "'text'");
        if (e == SY_OK)
            e = text_member(t, json_object_array_get_idx(c, i), cat, "text",
                            &text);
        if (e == SY_OK)
            text_part(parts, text);
    }
    if (e == SY_OK)
        sy_msurf_native_only(t, at, "a 'search_result' block");
    return e;
}

/* One block of a user turn other than tool_result, into 'parts'. */
static enum sy_err
user_part(struct msurf_tr *t, struct json_object *b, const char *at,
          const char *type, struct json_object *parts)
{
    if (strcmp(type, "text") == 0) {
        struct json_object *text;
        enum sy_err e = text_member(t, b, at, "text", &text);
        if (e == SY_OK)
            text_part(parts, text);
        return e;
    }
    if (strcmp(type, "image") == 0)
        return image_part(t, b, at, parts);
    if (strcmp(type, "document") == 0)
        return document_part(t, b, at, parts);
    if (strcmp(type, "search_result") == 0)
        return search_result_part(t, b, at, parts);
    return sy_msurf_bad_tag(t, at, type,
                            "'text', 'image', 'document', 'search_result', "
                            "'tool_result'");
}

/* A tool_result block: a canonical "tool" message (appended now, so it
 * comes before the rest of its user turn) whose content is the result's
 * text; images and documents in the result join the user turn's
 * 'parts', as a tool message can only carry text. */
static enum sy_err
tool_result(struct msurf_tr *t, struct json_object *b, const char *at,
            struct json_object *parts)
{
    const char *id;
    struct json_object *c, *is_error;
    enum sy_err e = sy_msurf_str_member(t, b, at, "tool_use_id", true, &id);
    if (e == SY_OK)
        e = sy_msurf_member(t, b, at, "is_error", json_type_boolean, false,
                            &is_error);
    if (e != SY_OK)
        return e;
    struct sy_buf s;
    sy_buf_init(&s, INT_MAX / 2);
    if (is_error != NULL && json_object_get_boolean(is_error))
        sy_buf_puts(&s, "Error: ");
    c = sy_adapter_get(b, "content");
    if (sy_adapter_is(c, json_type_string))
        buf_str(&s, c);
    else
        e = sy_msurf_member(t, b, at, "content", json_type_array, false, &c);
    size_t n =
        sy_adapter_is(c, json_type_array) ? json_object_array_length(c) : 0;
    bool any = false;
    for (size_t i = 0; e == SY_OK && i < n; i++) {
        struct json_object *cb = json_object_array_get_idx(c, i);
        const char *cat = sy_arena_printf(t->a, "%s.content.%zu", at, i);
        const char *type;
        struct json_object *text;
        e = block_type(t, cb, cat, &type);
        if (e != SY_OK)
            break;
        if (strcmp(type, "text") != 0) {
            e = user_part(t, cb, cat, type, parts);
            continue;
        }
        e = text_member(t, cb, cat, "text", &text);
        if (e == SY_OK && any)
            sy_buf_puts(&s, "\n");
        if (e == SY_OK)
            buf_str(&s, text);
        any = true;
    }
    if (e == SY_OK && sy_buf_failed(&s))
        e = sy_msurf_fail(t, at, "content", "the tool result is too large");
    if (e == SY_OK)
        json_object_array_add(
            t->msgs,
            sy_adapter_obj(
                "role", SY_JSTR("tool"), "tool_call_id", SY_JSTR(id), "content",
                json_object_new_string_len(sy_buf_cstr(&s), (int)s.len), NULL));
    sy_buf_free(&s);
    return e;
}

/* A user turn given as blocks: its tool results first (as tool
 * messages), then one user message with the other blocks, if any. */
static enum sy_err
user_turn(struct msurf_tr *t, struct json_object *content, const char *at)
{
    /* Held by the arena until it joins the messages at the end, so a
     * refusal half-way through frees it. */
    struct json_object *um = sy_adapter_obj("role", SY_JSTR("user"), NULL);
    sy_arena_on_cleanup(t->a, sy_chat_json_free, um);
    struct json_object *parts = json_object_new_array();
    json_object_object_add(um, "content", parts);
    size_t n = json_object_array_length(content);
    enum sy_err e = SY_OK;
    for (size_t i = 0; e == SY_OK && i < n; i++) {
        struct json_object *b = json_object_array_get_idx(content, i);
        const char *bat = sy_arena_printf(t->a, "%s.content.%zu", at, i);
        const char *type;
        e = block_type(t, b, bat, &type);
        if (e == SY_OK && strcmp(type, "tool_result") == 0)
            e = tool_result(t, b, bat, parts);
        else if (e == SY_OK)
            e = user_part(t, b, bat, type, parts);
    }
    if (e == SY_OK && json_object_array_length(parts) > 0)
        json_object_array_add(t->msgs, json_object_get(um));
    return e;
}

/* ------------------------------------------------------------------ */
/* Assistant content                                                   */

/* Append JSON string 'piece' to 's', after a newline when 's' holds a
 * piece. */
static void
add_piece(struct sy_buf *s, bool *any, struct json_object *piece)
{
    if (*any)
        sy_buf_puts(s, "\n");
    buf_str(s, piece);
    *any = true;
}

static enum sy_err
tool_use(struct msurf_tr *t, struct json_object *b, const char *at,
         struct json_object *calls)
{
    const char *id, *name;
    struct json_object *input;
    enum sy_err e = sy_msurf_str_member(t, b, at, "id", true, &id);
    if (e == SY_OK)
        e = sy_msurf_str_member(t, b, at, "name", true, &name);
    if (e == SY_OK)
        e = sy_msurf_member(t, b, at, "input", json_type_object, true, &input);
    if (e != SY_OK)
        return e;
    size_t n;
    const char *args = sy_adapter_json_text(input, &n);
    struct json_object *tc = sy_adapter_tool_call(id, name, "");
    json_object_object_add(json_object_object_get(tc, "function"), "arguments",
                           json_object_new_string_len(args, (int)n));
    json_object_array_add(calls, tc);
    return SY_OK;
}

/* The text, tool calls and thinking of an assistant turn given as
 * blocks, into 'am' (already among the messages). */
static enum sy_err
assistant_blocks(struct msurf_tr *t, struct json_object *content,
                 const char *at, struct json_object *am, struct sy_buf *text,
                 struct sy_buf *think)
{
    /* content first, for readers of the tree: set again at the end. */
    json_object_object_add(am, "content", NULL);
    struct json_object *calls = json_object_new_array();
    json_object_object_add(am, "tool_calls", calls);
    bool any_text = false, any_think = false;
    size_t n = json_object_array_length(content);
    enum sy_err e = SY_OK;
    for (size_t i = 0; e == SY_OK && i < n; i++) {
        struct json_object *b = json_object_array_get_idx(content, i);
        const char *bat = sy_arena_printf(t->a, "%s.content.%zu", at, i);
        const char *type;
        struct json_object *s;
        e = block_type(t, b, bat, &type);
        if (e != SY_OK)
            break;
        if (strcmp(type, "text") == 0) {
            e = text_member(t, b, bat, "text", &s);
            if (e == SY_OK && json_object_get_string_len(s) > 0)
                add_piece(text, &any_text, s);
        } else if (strcmp(type, "tool_use") == 0) {
            e = tool_use(t, b, bat, calls);
        } else if (strcmp(type, "thinking") == 0) {
            /* The signature only means something to Anthropic. */
            e = text_member(t, b, bat, "thinking", &s);
            if (e == SY_OK)
                add_piece(think, &any_think, s);
        } else if (strcmp(type, "redacted_thinking") != 0) {
            e = sy_msurf_bad_tag(t, bat, type,
                                 "'text', 'tool_use', 'thinking', "
                                 "'redacted_thinking'");
        }
    }
    if (e == SY_OK && (sy_buf_failed(text) || sy_buf_failed(think)))
        e = sy_msurf_fail(t, at, "content", "the message is too large");
    if (e != SY_OK)
        return e;
    bool has_calls = json_object_array_length(calls) > 0;
    if (!has_calls)
        json_object_object_del(am, "tool_calls");
    json_object_object_add(
        am, "content",
        any_text ? json_object_new_string_len(sy_buf_cstr(text), (int)text->len)
        : has_calls ? NULL
                    : SY_JSTR(""));
    if (any_think)
        json_object_object_add(
            am, "reasoning_content",
            json_object_new_string_len(sy_buf_cstr(think), (int)think->len));
    return SY_OK;
}

static enum sy_err
assistant_turn(struct msurf_tr *t, struct json_object *content, const char *at)
{
    struct json_object *am = sy_adapter_obj("role", SY_JSTR("assistant"), NULL);
    json_object_array_add(t->msgs, am);
    struct sy_buf text, think;
    sy_buf_init(&text, INT_MAX / 2);
    sy_buf_init(&think, INT_MAX / 2);
    enum sy_err e = assistant_blocks(t, content, at, am, &text, &think);
    sy_buf_free(&text);
    sy_buf_free(&think);
    return e;
}

/* ------------------------------------------------------------------ */
/* System and messages                                                 */

/* A system prompt: a string, or text blocks joined with blank lines,
 * into one canonical system message (none when empty). */
static enum sy_err
system_message(struct msurf_tr *t, struct json_object *sys, const char *at)
{
    if (sy_adapter_is(sys, json_type_string)) {
        if (json_object_get_string_len(sys) > 0)
            json_object_array_add(
                t->msgs, sy_adapter_obj("role", SY_JSTR("system"), "content",
                                        json_object_get(sys), NULL));
        return SY_OK;
    }
    if (!sy_adapter_is(sys, json_type_array))
        return sy_msurf_fail(t, at, NULL,
                             "Input should be a valid string or list");
    struct sy_buf s;
    sy_buf_init(&s, INT_MAX / 2);
    size_t n = json_object_array_length(sys);
    enum sy_err e = SY_OK;
    for (size_t i = 0; e == SY_OK && i < n; i++) {
        struct json_object *b = json_object_array_get_idx(sys, i);
        const char *bat = sy_arena_printf(t->a, "%s.%zu", at, i);
        const char *type;
        struct json_object *text;
        e = block_type(t, b, bat, &type);
        if (e == SY_OK && strcmp(type, "text") != 0)
            e = sy_msurf_bad_tag(t, bat, type, "'text'");
        if (e == SY_OK)
            e = text_member(t, b, bat, "text", &text);
        if (e == SY_OK && s.len > 0)
            sy_buf_puts(&s, "\n\n");
        if (e == SY_OK)
            buf_str(&s, text);
    }
    if (e == SY_OK && sy_buf_failed(&s))
        e = sy_msurf_fail(t, at, NULL, "the system prompt is too large");
    if (e == SY_OK && s.len > 0)
        json_object_array_add(
            t->msgs,
            sy_adapter_obj(
                "role", SY_JSTR("system"), "content",
                json_object_new_string_len(sy_buf_cstr(&s), (int)s.len), NULL));
    sy_buf_free(&s);
    return e;
}

static enum sy_err
one_message(struct msurf_tr *t, struct json_object *m, const char *at)
{
    const char *role;
    if (!sy_adapter_is(m, json_type_object))
        return sy_msurf_fail(t, at, NULL, "Input should be a valid dictionary");
    enum sy_err e = sy_msurf_str_member(t, m, at, "role", true, &role);
    struct json_object *c = sy_adapter_get(m, "content");
    if (e == SY_OK && c == NULL)
        e = sy_msurf_fail(t, at, "content", "Field required");
    if (e == SY_OK && !sy_adapter_is(c, json_type_string) &&
        !sy_adapter_is(c, json_type_array))
        e = sy_msurf_fail(t, at, "content",
                          "Input should be a valid string or list");
    if (e == SY_OK && sy_adapter_is(c, json_type_array) &&
        json_object_array_length(c) == 0)
        e = sy_msurf_fail(t, at, "content", "List should have at least 1 item");
    if (e != SY_OK)
        return e;
    const char *cat = sy_arena_printf(t->a, "%s.content", at);
    /* The SDK's MessageParam also has a "system" role: a system message
     * in its place. */
    if (strcmp(role, "system") == 0)
        return system_message(t, c, cat);
    if (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0)
        return sy_msurf_fail(t, at, "role",
                             "Input should be 'user', 'assistant' or 'system'");
    if (sy_adapter_is(c, json_type_string)) {
        json_object_array_add(t->msgs,
                              sy_adapter_obj("role", SY_JSTR(role), "content",
                                             json_object_get(c), NULL));
        return SY_OK;
    }
    return strcmp(role, "user") == 0 ? user_turn(t, c, at)
                                     : assistant_turn(t, c, at);
}

enum sy_err
sy_msurf_messages(struct msurf_tr *t, struct json_object *root)
{
    struct json_object *list, *sys = sy_adapter_get(root, "system");
    enum sy_err e = sy_msurf_member(t, root, NULL, "messages", json_type_array,
                                    true, &list);
    if (e != SY_OK)
        return e;
    size_t n = json_object_array_length(list);
    if (n == 0)
        return sy_msurf_fail(t, NULL, "messages",
                             "List should have at least 1 item");
    if (sys != NULL)
        e = system_message(t, sys, "system");
    for (size_t i = 0; e == SY_OK && i < n; i++)
        e = one_message(t, json_object_array_get_idx(list, i),
                        sy_arena_printf(t->a, "messages.%zu", i));
    return e;
}
