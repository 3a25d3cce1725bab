/*
 * responses_surface_in.c - the Responses surface's request side, part
 * two: "instructions" and the "input" items (messages, function and
 * custom tool calls and their outputs, reasoning) checked as OpenAI
 * checks them and rebuilt as canonical (chat completions) messages.
 * Refusals (responses_surface_check.c) are OpenAI's ("Missing required
 * parameter: 'input[1].call_id'.") with the path as the error's param.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "responses_surface_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Building the messages                                               */

/* The user message that holds the images and files of tool outputs
 * comes after those tool messages, before anything else. */
static void
flush_held(struct rsurf_tr *t)
{
    if (t->held == NULL)
        return;
    json_object_array_add(t->msgs,
                          sy_adapter_obj("role", SY_JSTR("user"), "content",
                                         json_object_get(t->held), NULL));
    t->held = NULL; /* the arena's reference goes with the request */
}

/* Append 'm' (taken over) to the messages; a tool message keeps the
 * held parts waiting. */
static void
push(struct rsurf_tr *t, struct json_object *m, bool tool)
{
    if (!tool)
        flush_held(t);
    json_object_array_add(t->msgs, m);
    t->asst = NULL;
}

/* A new assistant message, with the reasoning that came before it. */
static struct json_object *
assistant(struct rsurf_tr *t, struct json_object *content)
{
    struct json_object *m =
        sy_adapter_obj("role", SY_JSTR("assistant"), "content", content, NULL);
    if (t->reasoning != NULL && t->reasoning->len > 0)
        json_object_object_add(
            m, "reasoning_content",
            json_object_new_string_len(sy_buf_cstr(t->reasoning),
                                       (int)t->reasoning->len));
    if (t->reasoning != NULL)
        sy_buf_clear(t->reasoning);
    push(t, m, false);
    t->asst = m;
    return m;
}

static void
text_part(struct json_object *parts, const char *text)
{
    json_object_array_add(parts, sy_adapter_obj("type", SY_JSTR("text"), "text",
                                                SY_JSTR(text), NULL));
}

/* The "type" of part or item 'o' at 'at': an object with a string type
 * ('required': else NULL). */
static enum sy_err
type_of(struct rsurf_tr *t, struct json_object *o, const char *at,
        bool required, const char **type)
{
    *type = NULL;
    if (!sy_adapter_is(o, json_type_object))
        return sy_rsurf_bad_type(t, at, "an object", o);
    return sy_rsurf_str_member(t, o, at, "type", required, type);
}

/* ------------------------------------------------------------------ */
/* Content parts                                                       */

static enum sy_err
no_file_ids(struct rsurf_tr *t, struct json_object *p, const char *at)
{
    const char *id;
    enum sy_err e = sy_rsurf_str_member(t, p, at, "file_id", false, &id);
    if (e == SY_OK && id != NULL)
        e = sy_rsurf_fail(t, sy_rsurf_path(t, at, "file_id"),
                          "file ids (the Files API) are not supported by "
                          "this gateway; send the data itself");
    return e;
}

static enum sy_err
image_part(struct rsurf_tr *t, struct json_object *p, const char *at,
           struct json_object *parts)
{
    const char *url, *detail;
    enum sy_err e = no_file_ids(t, p, at);
    if (e == SY_OK)
        e = sy_rsurf_str_member(t, p, at, "image_url", true, &url);
    if (e == SY_OK)
        e = sy_rsurf_str_member(t, p, at, "detail", false, &detail);
    if (e != SY_OK)
        return e;
    struct json_object *iu = sy_adapter_obj("url", SY_JSTR(url), NULL);
    if (detail != NULL)
        json_object_object_add(iu, "detail", SY_JSTR(detail));
    json_object_array_add(parts, sy_adapter_obj("type", SY_JSTR("image_url"),
                                                "image_url", iu, NULL));
    return SY_OK;
}

/* A file given as a data URL: an OpenAI file part. */
static enum sy_err
file_part(struct rsurf_tr *t, struct json_object *p, const char *at,
          struct json_object *parts)
{
    const char *data, *name, *url;
    enum sy_err e = no_file_ids(t, p, at);
    if (e == SY_OK)
        e = sy_rsurf_str_member(t, p, at, "file_url", false, &url);
    if (e == SY_OK && url != NULL)
        return sy_rsurf_fail(t, sy_rsurf_path(t, at, "file_url"),
                             "file urls are not supported by this gateway; "
                             "send the file as file_data");
    if (e == SY_OK)
        e = sy_rsurf_str_member(t, p, at, "file_data", true, &data);
    if (e == SY_OK)
        e = sy_rsurf_str_member(t, p, at, "filename", false, &name);
    if (e != SY_OK)
        return e;
    struct json_object *f = sy_adapter_obj("file_data", SY_JSTR(data), NULL);
    if (name != NULL)
        json_object_object_add(f, "filename", SY_JSTR(name));
    json_object_array_add(
        parts, sy_adapter_obj("type", SY_JSTR("file"), "file", f, NULL));
    return SY_OK;
}

/* One part of user content (or of a tool output) into 'parts'. */
static enum sy_err
user_part(struct rsurf_tr *t, struct json_object *p, const char *at,
          struct json_object *parts)
{
    const char *type, *text;
    enum sy_err e = type_of(t, p, at, true, &type);
    if (e != SY_OK)
        return e;
    if (strcmp(type, "input_text") == 0) {
        e = sy_rsurf_str_member(t, p, at, "text", true, &text);
        if (e == SY_OK)
            text_part(parts, text);
        return e;
    }
    if (strcmp(type, "input_image") == 0)
        return image_part(t, p, at, parts);
    if (strcmp(type, "input_file") == 0)
        return file_part(t, p, at, parts);
    return sy_rsurf_bad_value(t, sy_rsurf_path(t, at, "type"), type,
                              "'input_text', 'input_image' and 'input_file'");
}

/* Text parts joined with 'sep' into 's': for system and assistant
 * messages, which carry text only. */
static enum sy_err
text_parts(struct rsurf_tr *t, struct json_object *c, const char *at,
           bool assistant_role, const char *sep, struct sy_buf *s)
{
    size_t n = json_object_array_length(c);
    for (size_t i = 0; i < n; i++) {
        const char *pat = sy_arena_printf(t->a, "%s[%zu]", at, i);
        struct json_object *p = json_object_array_get_idx(c, i);
        const char *type, *text;
        enum sy_err e = type_of(t, p, pat, true, &type);
        const char *key = "text";
        if (e == SY_OK && assistant_role && strcmp(type, "refusal") == 0)
            key = "refusal";
        else if (e == SY_OK && strcmp(type, "input_text") != 0 &&
                 (!assistant_role || strcmp(type, "output_text") != 0))
            e = sy_rsurf_bad_value(
                t, sy_rsurf_path(t, pat, "type"), type,
                assistant_role ? "'output_text', 'refusal' and 'input_text'"
                               : "'input_text'");
        if (e == SY_OK)
            e = sy_rsurf_str_member(t, p, pat, key, true, &text);
        if (e != SY_OK)
            return e;
        if (s->len > 0 && text[0] != '\0')
            sy_buf_puts(s, sep);
        sy_buf_puts(s, text);
    }
    if (sy_buf_failed(s))
        return sy_rsurf_fail(t, at, "'%s' is too large", at);
    return SY_OK;
}

/* ------------------------------------------------------------------ */
/* Items                                                               */

static enum sy_err
message_item(struct rsurf_tr *t, struct json_object *it, const char *at)
{
    const char *role;
    struct json_object *c = sy_adapter_get(it, "content");
    const char *cat = sy_rsurf_path(t, at, "content");
    enum sy_err e = sy_rsurf_str_member(t, it, at, "role", true, &role);
    if (e == SY_OK && strcmp(role, "user") != 0 &&
        strcmp(role, "assistant") != 0 && strcmp(role, "system") != 0 &&
        strcmp(role, "developer") != 0)
        e = sy_rsurf_bad_value(t, sy_rsurf_path(t, at, "role"), role,
                               "'user', 'assistant', 'system' and "
                               "'developer'");
    if (e == SY_OK && c == NULL)
        e = sy_rsurf_fail(t, cat, "Missing required parameter: '%s'.", cat);
    if (e == SY_OK && !sy_adapter_is(c, json_type_string) &&
        !sy_adapter_is(c, json_type_array))
        e = sy_rsurf_bad_type(t, cat, "a string or an array of content parts",
                              c);
    if (e != SY_OK)
        return e;
    bool user = strcmp(role, "user") == 0;
    bool asst = strcmp(role, "assistant") == 0;
    if (sy_adapter_is(c, json_type_string)) {
        if (asst)
            assistant(t, json_object_get(c));
        else
            push(t,
                 sy_adapter_obj("role", SY_JSTR(user ? "user" : "system"),
                                "content", json_object_get(c), NULL),
                 false);
        return SY_OK;
    }
    if (json_object_array_length(c) == 0)
        return SY_OK; /* nothing said */
    if (user) {
        struct json_object *parts = json_object_new_array();
        sy_arena_on_cleanup(t->a, sy_chat_json_free, parts);
        size_t n = json_object_array_length(c);
        for (size_t i = 0; e == SY_OK && i < n; i++)
            e = user_part(t, json_object_array_get_idx(c, i),
                          sy_arena_printf(t->a, "%s[%zu]", cat, i), parts);
        if (e == SY_OK)
            push(t,
                 sy_adapter_obj("role", SY_JSTR("user"), "content",
                                json_object_get(parts), NULL),
                 false);
        return e;
    }
    /* System, developer (a system message: every provider takes that
     * role) and assistant messages carry text. */
    struct sy_buf s;
    sy_buf_init(&s, INT_MAX / 2);
    e = text_parts(t, c, cat, asst, asst ? "" : "\n\n", &s);
    struct json_object *text =
        e == SY_OK ? json_object_new_string_len(sy_buf_cstr(&s), (int)s.len)
                   : NULL;
    sy_buf_free(&s);
    if (e != SY_OK)
        return e;
    if (asst)
        assistant(t, text);
    else
        push(t,
             sy_adapter_obj("role", SY_JSTR("system"), "content", text, NULL),
             false);
    return SY_OK;
}

/* A function_call or custom_tool_call item: a tool call of the
 * assistant message it follows (one message for a run of calls). */
static enum sy_err
call_item(struct rsurf_tr *t, struct json_object *it, const char *at,
          bool custom)
{
    const char *id, *name, *ns, *args;
    enum sy_err e = sy_rsurf_str_member(t, it, at, "call_id", true, &id);
    if (e == SY_OK)
        e = sy_rsurf_str_member(t, it, at, "name", true, &name);
    if (e == SY_OK)
        e = sy_rsurf_str_member(t, it, at, "namespace", false, &ns);
    if (e == SY_OK)
        e = sy_rsurf_str_member(t, it, at, custom ? "input" : "arguments", true,
                                &args);
    if (e != SY_OK)
        return e;
    if (custom) {
        struct json_object *o = sy_adapter_obj("input", SY_JSTR(args), NULL);
        args = sy_arena_strdup(t->a, sy_adapter_json_text(o, NULL));
        json_object_put(o);
    }
    struct json_object *m = t->asst;
    if (m == NULL)
        m = assistant(t, NULL);
    struct json_object *calls = sy_adapter_get(m, "tool_calls");
    if (calls == NULL) {
        calls = json_object_new_array();
        json_object_object_add(m, "tool_calls", calls);
    }
    json_object_array_add(
        calls,
        sy_adapter_tool_call(id, sy_rsurf_tool_cname(t, ns, name), args));
    return SY_OK;
}

/* A function_call_output or custom_tool_call_output item: a tool
 * message with the output's text; its images and files wait for the
 * user message after the tool messages (a tool message carries text). */
static enum sy_err
output_item(struct rsurf_tr *t, struct json_object *it, const char *at)
{
    const char *id;
    struct json_object *o = sy_adapter_get(it, "output");
    const char *oat = sy_rsurf_path(t, at, "output");
    enum sy_err e = sy_rsurf_str_member(t, it, at, "call_id", true, &id);
    if (e == SY_OK && o == NULL)
        e = sy_rsurf_fail(t, oat, "Missing required parameter: '%s'.", oat);
    if (e == SY_OK && !sy_adapter_is(o, json_type_string) &&
        !sy_adapter_is(o, json_type_array))
        e = sy_rsurf_bad_type(t, oat, "a string or an array of content parts",
                              o);
    if (e != SY_OK)
        return e;
    struct sy_buf s;
    sy_buf_init(&s, INT_MAX / 2);
    if (sy_adapter_is(o, json_type_string))
        sy_buf_puts(&s, json_object_get_string(o));
    size_t n =
        sy_adapter_is(o, json_type_array) ? json_object_array_length(o) : 0;
    struct json_object *parts = json_object_new_array();
    for (size_t i = 0; e == SY_OK && i < n; i++)
        e = user_part(t, json_object_array_get_idx(o, i),
                      sy_arena_printf(t->a, "%s[%zu]", oat, i), parts);
    /* The text parts join the tool message; the rest is held. */
    for (size_t i = 0; e == SY_OK && i < json_object_array_length(parts);) {
        struct json_object *p = json_object_array_get_idx(parts, i);
        const char *text = sy_adapter_get_str(p, "text");
        if (text == NULL) {
            if (t->held == NULL) {
                t->held = json_object_new_array();
                sy_arena_on_cleanup(t->a, sy_chat_json_free, t->held);
            }
            json_object_array_add(t->held, json_object_get(p));
            i++;
            continue;
        }
        if (s.len > 0)
            sy_buf_puts(&s, "\n");
        sy_buf_puts(&s, text);
        json_object_array_del_idx(parts, i, 1);
    }
    json_object_put(parts);
    if (e == SY_OK && sy_buf_failed(&s))
        e = sy_rsurf_fail(t, oat, "'%s' is too large", oat);
    if (e == SY_OK)
        push(t,
             sy_adapter_obj(
                 "role", SY_JSTR("tool"), "tool_call_id", SY_JSTR(id),
                 "content",
                 json_object_new_string_len(sy_buf_cstr(&s), (int)s.len), NULL),
             true);
    sy_buf_free(&s);
    return e;
}

/* A reasoning item: its summaries (or its reasoning text) go with the
 * next assistant message as reasoning_content, which providers that
 * need it back in tool loops get (DeepSeek); the encrypted content means
 * something to OpenAI only. */
static enum sy_err
reasoning_item(struct rsurf_tr *t, struct json_object *it, const char *at)
{
    struct json_object *sum, *content;
    enum sy_err e =
        sy_rsurf_member(t, it, at, "summary", json_type_array, false, &sum);
    if (e == SY_OK)
        e = sy_rsurf_member(t, it, at, "content", json_type_array, false,
                            &content);
    struct json_object *from = sum;
    if (from == NULL || json_object_array_length(from) == 0)
        from = content;
    size_t n = from ? json_object_array_length(from) : 0;
    for (size_t i = 0; e == SY_OK && i < n; i++) {
        struct json_object *p = json_object_array_get_idx(from, i);
        const char *pat = sy_arena_printf(
            t->a, "%s.%s[%zu]", at, from == sum ? "summary" : "content", i);
        const char *type, *text;
        e = type_of(t, p, pat, false, &type);
        if (e == SY_OK)
            e = sy_rsurf_str_member(t, p, pat, "text", true, &text);
        if (e == SY_OK && t->reasoning->len > 0)
            sy_buf_puts(t->reasoning, "\n\n");
        if (e == SY_OK)
            sy_buf_puts(t->reasoning, text);
    }
    if (e == SY_OK && sy_buf_failed(t->reasoning))
        e = sy_rsurf_fail(t, at, "'%s' is too large", at);
    return e;
}

static enum sy_err
one_item(struct rsurf_tr *t, struct json_object *it, const char *at)
{
    const char *type;
    enum sy_err e = type_of(t, it, at, false, &type);
    if (e != SY_OK)
        return e;
    if (type == NULL && sy_adapter_get(it, "role") == NULL &&
        sy_adapter_get(it, "id") != NULL)
        type = "item_reference";
    if (type == NULL || strcmp(type, "message") == 0)
        return message_item(t, it, at);
    if (strcmp(type, "function_call") == 0)
        return call_item(t, it, at, false);
    if (strcmp(type, "custom_tool_call") == 0)
        return call_item(t, it, at, true);
    if (strcmp(type, "function_call_output") == 0 ||
        strcmp(type, "custom_tool_call_output") == 0)
        return output_item(t, it, at);
    if (strcmp(type, "reasoning") == 0)
        return reasoning_item(t, it, at);
    if (strcmp(type, "additional_tools") == 0)
        return SY_OK; /* its tools are among t->tools */
    if (strcmp(type, "item_reference") == 0)
        return sy_rsurf_fail(t, at,
                             "item references are not supported by this "
                             "gateway; send the items themselves");
    return sy_rsurf_bad_value(
        t, sy_rsurf_path(t, at, "type"), type,
        "'message', 'function_call', 'function_call_output', "
        "'custom_tool_call', 'custom_tool_call_output', 'reasoning' and "
        "'additional_tools' (this gateway serves no hosted tools)");
}

enum sy_err
sy_rsurf_input(struct rsurf_tr *t)
{
    const char *instr;
    enum sy_err e =
        sy_rsurf_str_member(t, t->root, NULL, "instructions", false, &instr);
    if (e != SY_OK)
        return e;
    if (instr != NULL && instr[0] != '\0')
        push(t,
             sy_adapter_obj("role", SY_JSTR("system"), "content",
                            SY_JSTR(instr), NULL),
             false);
    struct json_object *in = sy_adapter_get(t->root, "input");
    if (in == NULL)
        return sy_rsurf_fail(t, "input",
                             "Missing required parameter: "
                             "'input'.");
    if (sy_adapter_is(in, json_type_string)) {
        push(t,
             sy_adapter_obj("role", SY_JSTR("user"), "content",
                            json_object_get(in), NULL),
             false);
        return SY_OK;
    }
    if (!sy_adapter_is(in, json_type_array))
        return sy_rsurf_bad_type(t, "input",
                                 "a string or an array of input items", in);
    size_t n = json_object_array_length(in);
    for (size_t i = 0; e == SY_OK && i < n; i++)
        e = one_item(t, json_object_array_get_idx(in, i),
                     sy_arena_printf(t->a, "input[%zu]", i));
    if (e == SY_OK)
        flush_held(t);
    return e;
}
