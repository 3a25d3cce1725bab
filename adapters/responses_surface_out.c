/*
 * responses_surface_out.c - what the Responses surface sends back to its
 * caller (api/surface.h): OpenAI error bodies, and a canonical
 * chat.completion as a Response object (reasoning, message, function
 * and custom tool call output items, usage), plus the pieces of a
 * Response that responses_surface_stream.c shares: ids, the object in
 * progress with the caller's parameters echoed, its end, tool call
 * items. No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/clock.h"
#include "responses_surface_int.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* The table's error_body slot: OpenAI's own error object. */
void
sy_rsurf_error_body(struct sy_buf *out, int status, const char *message,
                    const char *type, const char *param, const char *code)
{
    (void)status;
    sy_chat_error_json(out, message ? message : "error", type, param, code);
}

/* ------------------------------------------------------------------ */
/* Ids                                                                 */

static bool
safe_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* At most 64 safe characters of the canonical id make the base of every
 * id of a response; a canonical reply without an id gets one from the
 * time and the model (the conversation store keys on it). */
void
sy_rsurf_resp_id(char *dst, size_t cap, const char *id, const char *model)
{
    size_t n = (size_t)snprintf(dst, cap, "resp_");
    if (id != NULL && strncmp(id, "resp_", 5) == 0)
        id += 5;
    for (const char *p = id; p != NULL && *p != '\0' && n + 1 < cap && n < 69;
         p++)
        if (safe_char(*p))
            dst[n++] = *p;
    dst[n] = '\0';
    if (n == 5) {
        uint64_t now = sy_wall_ms();
        uint64_t h = sy_adapter_fnv(SY_FNV_INIT, &now, sizeof(now));
        if (model != NULL)
            h = sy_adapter_fnv(h, model, strlen(model));
        snprintf(dst + n, cap - n, "gw%016llx", (unsigned long long)h);
    }
}

struct json_object *
sy_rsurf_item_id(const char *prefix, const char *resp_id, unsigned n)
{
    char id[128];
    snprintf(id, sizeof(id), "%s_%s_%u", prefix, resp_id + 5, n);
    return SY_JSTR(id);
}

/* ------------------------------------------------------------------ */
/* The Response object                                                 */

/* Member 'key' of the caller's body 'native' as it came, else 'dflt'
 * (taken over either way). */
static struct json_object *
echo(struct json_object *native, const char *key, struct json_object *dflt)
{
    struct json_object *v = sy_adapter_get(native, key);
    if (v == NULL)
        return dflt;
    json_object_put(dflt);
    return json_object_get(v);
}

struct json_object *
sy_rsurf_response(const struct sy_chat_req *req, const char *id,
                  int64_t created, const char *model)
{
    struct json_object *n = req->native.root;
    return sy_adapter_obj(
        "id", SY_JSTR(id), "object", SY_JSTR("response"), "created_at",
        json_object_new_int64(created), "status", SY_JSTR("in_progress"),
        "background", json_object_new_boolean(0), "error", NULL,
        "incomplete_details", NULL, "instructions",
        echo(n, "instructions", NULL), "max_output_tokens",
        echo(n, "max_output_tokens", NULL), "model",
        SY_JSTR(model ? model : ""), "output", json_object_new_array(),
        "parallel_tool_calls",
        echo(n, "parallel_tool_calls", json_object_new_boolean(1)),
        "previous_response_id", echo(n, "previous_response_id", NULL),
        "reasoning",
        echo(n, "reasoning",
             sy_adapter_obj("effort", NULL, "summary", NULL, NULL)),
        "temperature", echo(n, "temperature", NULL), "text",
        echo(n, "text",
             sy_adapter_obj("format",
                            sy_adapter_obj("type", SY_JSTR("text"), NULL),
                            NULL)),
        "tool_choice", echo(n, "tool_choice", SY_JSTR("auto")), "tools",
        echo(n, "tools", json_object_new_array()), "top_p",
        echo(n, "top_p", NULL), "truncation",
        echo(n, "truncation", SY_JSTR("disabled")), "usage", NULL, "metadata",
        echo(n, "metadata", json_object_new_object()), NULL);
}

/* Responses usage: input_tokens includes what the cache read and wrote
 * (as the canonical prompt count does). */
static struct json_object *
usage_json(const struct sy_usage *u)
{
    int64_t in = 0, out = 0, cr = 0, cw = 0, think = 0, total = 0;
    if (u != NULL && u->present) {
        in = SY_MAX(u->prompt_tokens, 0);
        out = SY_MAX(u->completion_tokens, 0);
        cr = SY_MAX(u->cached_tokens, 0);
        cw = SY_MAX(u->cache_write_tokens, 0);
        think = SY_MAX(u->reasoning_tokens, 0);
        total = u->total_tokens;
        /* Saturating: the counts are a provider's numbers. */
        if (total <= 0 && __builtin_add_overflow(in, out, &total))
            total = INT64_MAX;
    }
    return sy_adapter_obj(
        "input_tokens", json_object_new_int64(in), "input_tokens_details",
        sy_adapter_obj("cached_tokens", json_object_new_int64(cr),
                       "cache_write_tokens", json_object_new_int64(cw), NULL),
        "output_tokens", json_object_new_int64(out), "output_tokens_details",
        sy_adapter_obj("reasoning_tokens", json_object_new_int64(think), NULL),
        "total_tokens", json_object_new_int64(total), NULL);
}

bool
sy_rsurf_incomplete(const char *finish)
{
    return finish != NULL && (strcmp(finish, "length") == 0 ||
                              strcmp(finish, "content_filter") == 0);
}

void
sy_rsurf_response_end(struct json_object *resp, const char *finish,
                      const struct sy_usage *u)
{
    bool inc = sy_rsurf_incomplete(finish);
    json_object_object_add(resp, "status",
                           SY_JSTR(inc ? "incomplete" : "completed"));
    if (inc)
        json_object_object_add(
            resp, "incomplete_details",
            sy_adapter_obj("reason",
                           SY_JSTR(strcmp(finish, "length") == 0
                                       ? "max_output_tokens"
                                       : "content_filter"),
                           NULL));
    json_object_object_add(resp, "usage", usage_json(u));
}

struct json_object *
sy_rsurf_call_item(const struct sy_chat_req *req, struct json_object *item_id,
                   const char *call_id, const char *cname, const char *args,
                   const char *status)
{
    struct rsurf_tools scratch;
    const struct rsurf_tool *tool =
        sy_rsurf_tool_find(req->native.root, &scratch, cname);
    struct json_object *item;
    if (tool != NULL && tool->custom)
        item = sy_adapter_obj("id", item_id, "type",
                              SY_JSTR("custom_tool_call"), "call_id",
                              SY_JSTR(call_id), "name", SY_JSTR(tool->name),
                              "input", sy_rsurf_custom_input(args), NULL);
    else
        item = sy_adapter_obj("id", item_id, "type", SY_JSTR("function_call"),
                              "status", SY_JSTR(status), "arguments",
                              SY_JSTR(args ? args : ""), "call_id",
                              SY_JSTR(call_id), "name",
                              SY_JSTR(tool    ? tool->name
                                      : cname ? cname
                                              : ""),
                              NULL);
    if (tool != NULL && tool->ns != NULL)
        json_object_object_add(item, "namespace", SY_JSTR(tool->ns));
    return item;
}

struct json_object *
sy_rsurf_first_choice(struct json_object *root)
{
    struct json_object *choices = sy_adapter_get(root, "choices");
    size_t n = sy_adapter_is(choices, json_type_array)
                   ? json_object_array_length(choices)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(choices, i);
        int64_t index = 0;
        sy_adapter_get_int(c, "index", &index);
        if (index == 0 && sy_adapter_is(c, json_type_object))
            return c;
    }
    return NULL;
}

const char *
sy_rsurf_reasoning_of(struct json_object *o)
{
    const char *r = sy_adapter_get_str(o, "reasoning_content");
    return r != NULL ? r : sy_adapter_get_str(o, "reasoning");
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* The output items of canonical message 'msg': its reasoning, its text
 * (or refusal), then its tool calls. */
static void
output_items(const struct sy_chat_req *req, struct sy_arena *a,
             struct json_object *msg, const char *id, bool inc,
             struct json_object *output)
{
    unsigned n = 0;
    const char *r = sy_rsurf_reasoning_of(msg);
    if (r != NULL && r[0] != '\0') {
        struct json_object *sum = sy_adapter_obj(
            "type", SY_JSTR("summary_text"), "text", SY_JSTR(r), NULL);
        json_object_array_add(
            output, sy_adapter_obj("id", sy_rsurf_item_id("rs", id, n++),
                                   "type", SY_JSTR("reasoning"), "summary",
                                   sy_adapter_arr1(sum), NULL));
    }
    const char *text =
        sy_adapter_content_text(a, sy_adapter_get(msg, "content"), NULL);
    const char *refusal = sy_adapter_get_str(msg, "refusal");
    struct json_object *part = NULL;
    if (text != NULL && text[0] != '\0')
        part = sy_adapter_obj("type", SY_JSTR("output_text"), "text",
                              SY_JSTR(text), "annotations",
                              json_object_new_array(), NULL);
    else if (refusal != NULL && refusal[0] != '\0')
        part = sy_adapter_obj("type", SY_JSTR("refusal"), "refusal",
                              SY_JSTR(refusal), NULL);
    if (part != NULL)
        json_object_array_add(
            output, sy_adapter_obj("id", sy_rsurf_item_id("msg", id, n++),
                                   "type", SY_JSTR("message"), "status",
                                   SY_JSTR(inc ? "incomplete" : "completed"),
                                   "role", SY_JSTR("assistant"), "content",
                                   sy_adapter_arr1(part), NULL));
    struct json_object *calls = sy_adapter_get(msg, "tool_calls");
    size_t nc = sy_adapter_is(calls, json_type_array)
                    ? json_object_array_length(calls)
                    : 0;
    for (size_t i = 0; i < nc; i++, n++) {
        struct json_object *tc = json_object_array_get_idx(calls, i);
        struct json_object *fn = sy_adapter_get(tc, "function");
        const char *call_id = sy_adapter_get_str(tc, "id");
        char gen[112];
        if (call_id == NULL || call_id[0] == '\0') {
            snprintf(gen, sizeof(gen), "call_%s_%u", id + 5, n);
            call_id = gen;
        }
        json_object_array_add(
            output, sy_rsurf_call_item(req, sy_rsurf_item_id("fc", id, n),
                                       call_id, sy_adapter_get_str(fn, "name"),
                                       sy_adapter_get_str(fn, "arguments"),
                                       "completed"));
    }
}

/* The table's reply slot: a chat.completion as a Response. */
enum sy_err
sy_rsurf_reply(const struct sy_chat_req *req, const struct sy_chat_resp *resp,
               struct sy_arena *a, struct sy_buf *out)
{
    struct json_object *root = resp->root;
    if (root == NULL) {
        root = sy_adapter_json_parse(resp->raw, resp->raw_len);
        if (root == NULL)
            return SY_EUP_PROTO;
        sy_arena_on_cleanup(a, sy_chat_json_free, root);
    }
    if (!sy_adapter_is(root, json_type_object))
        return SY_EUP_PROTO;
    struct json_object *choice = sy_rsurf_first_choice(root);
    const char *finish = sy_adapter_get_str(choice, "finish_reason");
    const char *model = sy_adapter_get_str(root, "model");
    if (model == NULL)
        model = resp->upstream_model ? resp->upstream_model : req->model;
    char id[96];
    sy_rsurf_resp_id(id, sizeof(id), sy_adapter_get_str(root, "id"), model);
    int64_t created;
    if (!sy_adapter_get_int(root, "created", &created))
        created = (int64_t)sy_wall_s();
    struct json_object *r = sy_rsurf_response(req, id, created, model);
    output_items(req, a, sy_adapter_get(choice, "message"), id,
                 sy_rsurf_incomplete(finish), sy_adapter_get(r, "output"));
    struct sy_usage u = resp->usage;
    if (!u.present)
        sy_chat_usage_from_json(sy_adapter_get(root, "usage"), &u);
    sy_rsurf_response_end(r, finish, &u);
    enum sy_err e = sy_adapter_json_write(out, r);
    json_object_put(r);
    return e;
}
