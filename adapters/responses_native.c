/*
 * responses_native.c - the request of a caller who spoke the OpenAI
 * Responses API to the gateway (sy_chat_req.native, api/surface.h), sent
 * to a Responses deployment nearly as it came: nothing is translated, so
 * what the canonical model lacks (reasoning items with their
 * encrypted_content, custom tools, input files, include) reaches the
 * provider intact.
 *
 * Only an allow-list of the caller's top-level fields is kept: fields
 * that make the provider bill more than tokens or keep state on the
 * gateway's account (service_tier, background, store, conversation,
 * prompt, built-in tools) are dropped or refused, and so are fields
 * added to the API later until they are reviewed. previous_response_id
 * is dropped because the gateway has already put the earlier turns into
 * "input". The model is the deployment's, "store" is always false, the
 * stream flag the core's. No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "responses_int.h"

#include <string.h>

#include <json-c/json.h>

/* The caller's top-level fields that go to the provider (billed by
 * tokens alone). "input", "tools", "max_output_tokens", "model", "store"
 * and "stream" are set apart. */
static const char *const native_fields[] = {
    "instructions",
    "tool_choice",
    "parallel_tool_calls",
    "text",
    "temperature",
    "top_p",
    "reasoning",
    "include",
    "metadata",
    "prompt_cache_key",
    "truncation",
    "top_logprobs",
    "safety_identifier",
    "user",
};

/* The tool types that run on the caller's side (function and custom
 * tools); the others run on the provider, billed per use on the
 * gateway's account (web and file search, code interpreter, image
 * generation, MCP, computer use, shells). */
static const char *const caller_tools[] = { "function", "custom", "namespace",
                                            NULL };

/* Hosted tools the client offers the model as a convenience (Codex
 * always sends them): dropped, as on the translated path, rather than
 * run and billed per use on the gateway's account. */
static const char *const dropped_tools[] = { "web_search", "tool_search",
                                             NULL };

static bool
dropped_tool(const char *type)
{
    for (size_t i = 0; type != NULL && dropped_tools[i] != NULL; i++)
        if (strncmp(type, dropped_tools[i], strlen(dropped_tools[i])) == 0)
            return true;
    return false;
}

/* The caller's tools less the dropped hosted ones, in '*out' (a new
 * array; a namespace's own tools filtered the same way, one level
 * deep, as namespaces do not nest); refused when one is neither a
 * caller tool nor dropped. 'at' names the array in the message. */
static enum sy_err
filter_tools(struct sy_adapter_call *call, struct json_object *tools,
             const char *at, bool inner, struct json_object **out)
{
    *out = NULL;
    if (!sy_adapter_is(tools, json_type_array))
        return SY_OK;
    size_t n = json_object_array_length(tools);
    struct json_object *kept = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        struct json_object *t = json_object_array_get_idx(tools, i);
        const char *type = sy_adapter_get_str(t, "type");
        if (dropped_tool(type))
            continue;
        bool ns = type != NULL && strcmp(type, "namespace") == 0;
        if (type == NULL || !sy_adapter_str_in(type, caller_tools) ||
            (ns && inner)) {
            json_object_put(kept);
            return sy_adapter_refuse(call, "tools",
                                     "%s[%zu]: the tool type '%.60s' runs "
                                     "on the provider's side and is not "
                                     "available through this gateway; use "
                                     "function or custom tools",
                                     at, i, type ? type : "(none)");
        }
        if (!ns) {
            json_object_array_add(kept, json_object_get(t));
            continue;
        }
        struct json_object *sub;
        enum sy_err e = filter_tools(call, sy_adapter_get(t, "tools"),
                                     "tools[].tools", true, &sub);
        if (e != SY_OK) {
            json_object_put(kept);
            return e;
        }
        struct json_object *copy = json_object_new_object();
        json_object_object_foreach(t, k, v)
        {
            if (strcmp(k, "tools") != 0)
                json_object_object_add(copy, k, json_object_get(v));
        }
        if (sub != NULL)
            json_object_object_add(copy, "tools", sub);
        json_object_array_add(kept, copy);
    }
    *out = kept;
    return SY_OK;
}

static enum sy_err
native_tools(struct sy_adapter_call *call, struct json_object *tools,
             struct json_object **out)
{
    return filter_tools(call, tools, "tools", false, out);
}

/* A reasoning item the provider cannot read back: without its
 * encrypted_content (one another provider's reply became, or one kept
 * only by id), which the provider would look up in a store it does not
 * keep ("store" is false) and refuse. */
static bool
opaque_reasoning(struct json_object *item)
{
    const char *type = sy_adapter_get_str(item, "type");
    const char *enc = sy_adapter_get_str(item, "encrypted_content");
    return type != NULL && strcmp(type, "reasoning") == 0 &&
           (enc == NULL || enc[0] == '\0');
}

/* The caller's input: a string as it is; an array without the reasoning
 * items the provider cannot read back (a new array sharing the rest),
 * the tools of an additional_tools item filtered like "tools". NULL
 * (the refusal explained) when an item offers a tool refused there. */
static struct json_object *
native_input(struct sy_adapter_call *call, struct json_object *input)
{
    if (!sy_adapter_is(input, json_type_array))
        return json_object_get(input);
    struct json_object *out = json_object_new_array();
    size_t n = json_object_array_length(input);
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(input, i);
        if (opaque_reasoning(item))
            continue;
        const char *type = sy_adapter_get_str(item, "type");
        if (type == NULL || strcmp(type, "additional_tools") != 0) {
            json_object_array_add(out, json_object_get(item));
            continue;
        }
        struct json_object *tools;
        if (filter_tools(call, sy_adapter_get(item, "tools"), "input[].tools",
                         false, &tools) != SY_OK) {
            json_object_put(out);
            return NULL;
        }
        struct json_object *copy = json_object_new_object();
        json_object_object_foreach(item, k, v)
        {
            if (strcmp(k, "tools") != 0)
                json_object_object_add(copy, k, json_object_get(v));
        }
        if (tools != NULL)
            json_object_object_add(copy, "tools", tools);
        json_object_array_add(out, copy);
    }
    return out;
}

/* The provider body from the caller's: the allowed fields, then the
 * deployment's model, the output limit, store off and the stream
 * flag. */
static enum sy_err
native_body(struct sy_adapter_call *call, struct json_object *in,
            struct json_object *body)
{
    struct json_object *tools;
    enum sy_err e = native_tools(call, sy_adapter_get(in, "tools"), &tools);
    if (e != SY_OK)
        return e;
    json_object_object_add(body, "model",
                           json_object_new_string(call->target->model));
    json_object_object_add(body, "store", json_object_new_boolean(0));
    struct json_object *v = sy_adapter_get(in, "input");
    if (v != NULL) {
        struct json_object *input = native_input(call, v);
        if (input == NULL) {
            json_object_put(tools);
            return SY_EBADREQ;
        }
        json_object_object_add(body, "input", input);
    }
    if (tools != NULL)
        json_object_object_add(body, "tools", tools); /* owned */
    /* The limit the core checked and reserved for (the surface reads it
     * from the caller's max_output_tokens); the caller's own when the
     * core has none. */
    v = sy_adapter_get(in, "max_output_tokens");
    if (call->req->max_tokens > 0) {
        call->sent_max_tokens =
            sy_responses_output_limit(call->req->max_tokens);
        json_object_object_add(body, "max_output_tokens",
                               json_object_new_int64(call->sent_max_tokens));
    } else if (v != NULL)
        json_object_object_add(body, "max_output_tokens", json_object_get(v));
    for (size_t i = 0; i < SY_ARRAY_LEN(native_fields); i++)
        if ((v = sy_adapter_get(in, native_fields[i])) != NULL)
            json_object_object_add(body, native_fields[i], json_object_get(v));
    if (sy_adapter_streams(call)) {
        json_object_object_add(body, "stream", json_object_new_boolean(1));
        if ((v = sy_adapter_get(in, "stream_options")) != NULL)
            json_object_object_add(body, "stream_options", json_object_get(v));
    }
    return SY_OK;
}

/* The build_request slot for a native caller (see responses_int.h). */
enum sy_err
sy_responses_native_request(struct sy_adapter_call *call,
                            struct sy_http_out *out)
{
    const struct sy_native_req *n = &call->req->native;
    if (!sy_adapter_is(n->root, json_type_object))
        return sy_adapter_refuse(call, NULL,
                                 "the request body is not a JSON object");
    sy_responses_http(call, out);
    struct json_object *body = json_object_new_object();
    enum sy_err e = native_body(call, n->root, body);
    if (e == SY_OK)
        e = sy_adapter_json_write(out->body, body);
    json_object_put(body);
    return e;
}
