/*
 * openai_request.c - the request side of the OpenAI-family adapter: a
 * canonical (OpenAI) chat request into the provider's, by the quirks of
 * its type (openai_quirks.c). The canonical format is OpenAI's, so
 * translation is mostly pass-through: the fields forwarded (an explicit
 * allow-list per type: a field the list does not name is dropped, so a
 * caller cannot reach a paid provider feature the gateway does not know
 * about), renamed fields, tool call ids rewritten, fields a provider
 * rejects removed. Fields that change what the provider bills or
 * retains (core/api/caps.c) are forwarded only when the deployment's
 * "allow_fields" names them. For streams, usage is always requested
 * when the provider takes stream_options (the gateway needs it for
 * accounting). No I/O; see openai_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "openai_int.h"
#include "api/caps.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Request                                                             */

static bool
is_alnum9(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
              (s[n] >= '0' && s[n] <= '9')))
            return false;
    return n == 9;
}

/* The id to send for a history tool call id, or NULL to keep it. The
 * rewrite is a hash, so the assistant call and its tool message map to
 * the same id, in this request and in every later one. */
static const char *
rewrite_id(struct sy_arena *a, enum openai_ids ids, const char *id)
{
    uint64_t h = sy_adapter_fnv(SY_FNV_INIT, id, strlen(id));
    if (ids == IDS_MISTRAL && !is_alnum9(id))
        return sy_adapter_base62(a, h, 9);
    if (ids == IDS_MAX40 && strlen(id) > 40)
        return sy_arena_printf(a, "call_%s", sy_adapter_base62(a, h, 24));
    return NULL;
}

/* A shallow copy of object 'o' (members shared by reference) without the
 * keys in 'skip'. */
static struct json_object *
copy_without(struct json_object *o, const char *const *skip,
             const char *const *skip2)
{
    struct json_object *c = json_object_new_object();
    json_object_object_foreach(o, key, val)
    {
        if (sy_adapter_str_in(key, skip) || sy_adapter_str_in(key, skip2))
            continue;
        json_object_object_add(c, key, json_object_get(val));
    }
    return c;
}

static struct json_object *
rewrite_tool_calls(struct sy_arena *a, enum openai_ids ids,
                   struct json_object *calls)
{
    struct json_object *out = json_object_new_array();
    size_t n = json_object_array_length(calls);
    for (size_t i = 0; i < n; i++) {
        struct json_object *tc = json_object_array_get_idx(calls, i);
        const char *id = sy_adapter_get_str(tc, "id");
        const char *nid = id ? rewrite_id(a, ids, id) : NULL;
        if (nid == NULL || !json_object_is_type(tc, json_type_object)) {
            json_object_array_add(out, json_object_get(tc));
            continue;
        }
        struct json_object *c = copy_without(tc, NULL, NULL);
        json_object_object_add(c, "id", json_object_new_string(nid));
        json_object_array_add(out, c);
    }
    return out;
}

/* The messages to send: ids rewritten, fields the provider rejects
 * removed, and an optional system message put first. */
static struct json_object *
rewrite_messages(struct sy_adapter_call *call, const struct openai_quirks *q,
                 struct json_object *msgs, const char *first_system)
{
    static const char *const reasoning[] = { "reasoning_content", NULL };
    struct sy_arena *a = call->arena;
    struct json_object *out = json_object_new_array();
    if (first_system != NULL) {
        struct json_object *m = json_object_new_object();
        json_object_object_add(m, "role", json_object_new_string("system"));
        json_object_object_add(m, "content",
                               json_object_new_string(first_system));
        json_object_array_add(out, m);
    }
    size_t n = json_object_array_length(msgs);
    for (size_t i = 0; i < n; i++) {
        struct json_object *m = json_object_array_get_idx(msgs, i);
        const char *role = sy_adapter_get_str(m, "role");
        bool tool = role != NULL && strcmp(role, "tool") == 0;
        struct json_object *c = copy_without(
            m, tool ? NULL : q->msg_drop, q->keep_reasoning ? NULL : reasoning);
        struct json_object *calls = sy_adapter_get(m, "tool_calls");
        if (q->ids != IDS_KEEP && sy_adapter_is(calls, json_type_array))
            json_object_object_add(c, "tool_calls",
                                   rewrite_tool_calls(a, q->ids, calls));
        const char *tid = sy_adapter_get_str(m, "tool_call_id");
        const char *nid =
            tid && q->ids != IDS_KEEP ? rewrite_id(a, q->ids, tid) : NULL;
        if (nid != NULL)
            json_object_object_add(c, "tool_call_id",
                                   json_object_new_string(nid));
        json_object_array_add(out, c);
    }
    return out;
}

/* Is top-level field 'key' (sent as 'name' after renames) forwarded?
 * 'used' and 'allowed' are SY_FIELD_* masks of the request and the
 * deployment. Everything not listed is dropped. */
static bool
forwarded(const struct openai_quirks *q, const char *key, const char *name,
          uint32_t used, uint32_t allowed)
{
    if (sy_adapter_str_in(name, q->drop))
        return false;
    int k = sy_caps_field_find(key);
    if (k >= 0) {
        uint32_t bit = 1u << k;
        return sy_adapter_str_in(key, q->billed) &&
               ((used & bit) == 0 || (allowed & bit) != 0);
    }
    return sy_adapter_str_in(name, q->allow) ||
           sy_adapter_str_in(name, q->extra);
}

static enum sy_err
openai_build_body(struct sy_adapter_call *call, const struct openai_quirks *q,
                  struct sy_buf *b)
{
    const struct sy_chat_req *req = call->req;
    struct json_object *root = req->root;
    struct json_object *body = json_object_new_object();
    json_object_object_add(body, "model",
                           json_object_new_string(call->target->model));

    /* json_schema degraded to json_object: the schema goes into a system
     * message, which also carries the word "JSON" such providers need. */
    const char *hint = NULL;
    struct json_object *rf = sy_adapter_get(root, "response_format");
    const char *rft = sy_adapter_get_str(rf, "type");
    bool degrade = q->json_schema_as_object && rft != NULL &&
                   strcmp(rft, "json_schema") == 0;
    if (degrade) {
        struct json_object *schema =
            sy_adapter_get(sy_adapter_get(rf, "json_schema"), "schema");
        hint = sy_arena_printf(call->arena,
                               "Respond with a single JSON object only, no "
                               "prose and no markdown fences. It must "
                               "conform to this JSON schema: %s",
                               sy_adapter_json_text(schema, NULL));
    }
    struct json_object *tools = sy_adapter_get(root, "tools");
    bool no_tools = q->drop_empty_tools && tools != NULL &&
                    sy_adapter_is(tools, json_type_array) &&
                    json_object_array_length(tools) == 0;
    bool has_mct = sy_adapter_get(root, "max_completion_tokens") != NULL;
    uint32_t used = sy_chat_req_fields(req);

    json_object_object_foreach(root, key, val)
    {
        const char *name = key;
        if (strcmp(key, "model") == 0 || strcmp(key, "stream_options") == 0)
            continue;
        if (q->max_tokens_name && strcmp(key, "max_completion_tokens") == 0)
            name = "max_tokens";
        else if (q->max_tokens_name && has_mct &&
                 strcmp(key, "max_tokens") == 0)
            continue; /* max_completion_tokens wins */
        if (q->seed_as_random_seed && strcmp(key, "seed") == 0)
            name = "random_seed";
        if (no_tools &&
            (strcmp(key, "tools") == 0 || strcmp(key, "tool_choice") == 0 ||
             strcmp(key, "parallel_tool_calls") == 0))
            continue;
        if (!forwarded(q, key, name, used, call->target->allow_fields))
            continue;
        struct json_object *v = json_object_get(val);
        if (strcmp(key, "messages") == 0) {
            json_object_put(v);
            v = rewrite_messages(call, q, val, hint);
        } else if (degrade && strcmp(key, "response_format") == 0) {
            json_object_put(v);
            v = json_object_new_object();
            json_object_object_add(v, "type",
                                   json_object_new_string("json_object"));
        }
        json_object_object_add(body, name, v);
    }
    if (call->stream_upstream)
        json_object_object_add(body, "stream", json_object_new_boolean(1));
    if (sy_adapter_streams(call) && q->stream_options) {
        struct json_object *so = json_object_new_object();
        json_object_object_add(so, "include_usage", json_object_new_boolean(1));
        json_object_object_add(body, "stream_options", so);
    }
    if (q->thinking_off_nonstream && !req->stream &&
        sy_adapter_get(root, "enable_thinking") == NULL)
        json_object_object_add(body, "enable_thinking",
                               json_object_new_boolean(0));
    enum sy_err e = sy_adapter_json_write(b, body);
    json_object_put(body);
    return e;
}

/* The headers every request of the family carries: the JSON body, the
 * event stream when 'stream', the key as a bearer token, OpenRouter's
 * attribution, the provider's static headers. */
void
sy_openai_headers(struct sy_adapter_call *call, const struct openai_conf *conf,
                  bool stream, struct sy_http_out *out)
{
    struct sy_arena *a = call->arena;
    out->headers[out->nheaders++] = "Content-Type: application/json";
    if (stream)
        out->headers[out->nheaders++] = "Accept: text/event-stream";
    if (call->api_key != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "Authorization: Bearer %s", call->api_key);
    if (conf->q.attribution && conf->referer != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "HTTP-Referer: %s", conf->referer);
    if (conf->q.attribution && conf->title != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "X-Title: %s", conf->title);
    sy_adapter_static_headers(call, out);
}

enum sy_err
sy_openai_build_request(struct sy_adapter_call *call, struct sy_http_out *out)
{
    struct openai_conf conf = sy_openai_conf_of(call->target);
    out->method = "POST";
    out->url = sy_arena_printf(call->arena, "%s/chat/completions",
                               call->target->base_url);
    sy_openai_headers(call, &conf, sy_adapter_streams(call), out);
    return openai_build_body(call, &conf.q, out->body);
}
