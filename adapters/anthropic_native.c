/*
 * anthropic_native.c - the request of a caller who spoke the Messages
 * API to the gateway (sy_chat_req.native, api/surface.h), sent to an
 * Anthropic deployment nearly as it came: nothing is translated, so
 * what the canonical model lacks (cache_control, thinking blocks and
 * their signatures, documents, citations, search_result blocks and
 * Anthropic's client tools such as text_editor_20250728, which the
 * surface routes to Anthropic deployments alone) reaches the provider
 * intact.
 *
 * Only an allow-list of the caller's top-level fields is kept: fields
 * that make the provider bill more than tokens (service_tier, speed,
 * inference_geo, container, mcp_servers, ...) or act on the gateway's
 * account are dropped, and so are fields added to the API later until
 * they are reviewed. The model is the deployment's, the stream flag the
 * core's. The caller's anthropic-version and anthropic-beta headers go
 * along when well formed. No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "anthropic_int.h"

#include <string.h>

#include <json-c/json.h>

/* The caller's top-level fields that go to the provider (billed by
 * tokens alone; the top-level cache_control asks for automatic caching,
 * billed as cache tokens). "max_tokens", "model" and "stream" are set
 * apart. */
static const char *const native_fields[] = {
    "messages",      "system",   "metadata",      "stop_sequences",
    "temperature",   "top_p",    "top_k",         "tools",
    "tool_choice",   "thinking", "output_format", "output_config",
    "cache_control",
};

/* Server tools the provider bills per use, beyond tokens (web searches,
 * code execution time): refused rather than run on the gateway's
 * account. Prefixes of the versioned tool types. */
static const char *const billed_tools[] = { "web_search_", "code_execution_",
                                            "mcp_toolset" };

/* The longest anthropic-beta value taken from a caller. */
#define NATIVE_BETA_MAX 1024

/* An anthropic-version value: "2023-06-01" and the like. */
static bool
version_ok(const char *v)
{
    size_t n = v != NULL ? strlen(v) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
              (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* An anthropic-beta value: printable ASCII (no CR, LF or other control
 * byte that could end the header line), bounded. */
static bool
beta_ok(const char *v)
{
    size_t n = v != NULL ? strlen(v) : 0;
    if (n == 0 || n > NATIVE_BETA_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return false;
    return true;
}

/* Betas that change the price of the tokens they touch (the 1M-token
 * context bills long prompts above the configured rates): never taken
 * from a caller; a provider's configured "beta" may still name them. */
static const char *const priced_betas[] = { "context-1m" };

/* The caller's anthropic-beta list without the priced betas, or NULL
 * when nothing is left. */
static const char *
caller_betas(struct sy_arena *a, const char *v)
{
    char *out = sy_arena_alloc(a, strlen(v) + 1);
    size_t n = 0;
    for (const char *p = v; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        const char *t = p;
        size_t tl = len;
        while (tl > 0 && *t == ' ')
            t++, tl--;
        while (tl > 0 && t[tl - 1] == ' ')
            tl--;
        bool keep = tl > 0;
        for (size_t i = 0; keep && i < SY_ARRAY_LEN(priced_betas); i++)
            if (strncmp(t, priced_betas[i], strlen(priced_betas[i])) == 0)
                keep = false;
        if (keep) {
            if (n > 0)
                out[n++] = ',';
            memcpy(out + n, t, tl);
            n += tl;
        }
        p += len + (comma != NULL);
    }
    out[n] = '\0';
    return n > 0 ? out : NULL;
}

/* The anthropic-beta header: the provider's configured value and the
 * caller's (when well formed, less the priced betas), joined by a comma;
 * NULL for none. */
static const char *
native_beta(struct sy_adapter_call *call, const char *conf_beta)
{
    const char *mine = call->req->native.beta;
    if (!beta_ok(mine))
        return conf_beta;
    mine = caller_betas(call->arena, mine);
    if (mine == NULL)
        return conf_beta;
    if (conf_beta == NULL || conf_beta[0] == '\0')
        return mine;
    return sy_arena_printf(call->arena, "%s,%s", conf_beta, mine);
}

/* Refuse the server tools in billed_tools (see there). */
static enum sy_err
check_tools(struct sy_adapter_call *call, struct json_object *tools)
{
    size_t n = sy_adapter_is(tools, json_type_array)
                   ? json_object_array_length(tools)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        const char *type =
            sy_adapter_get_str(json_object_array_get_idx(tools, i), "type");
        for (size_t j = 0; type != NULL && j < SY_ARRAY_LEN(billed_tools); j++)
            if (strncmp(type, billed_tools[j], strlen(billed_tools[j])) == 0)
                return sy_adapter_refuse(call, "tools",
                                         "tools[%zu]: the server tool "
                                         "'%.60s' is billed per use and is "
                                         "not available through this gateway",
                                         i, type);
    }
    return SY_OK;
}

/* A thinking block Anthropic did not sign: one the gateway translated
 * from another provider's reasoning (its signature is ""), which
 * Anthropic would refuse when it comes back in an assistant turn. */
static bool
unsigned_thinking(struct json_object *b)
{
    const char *type = sy_adapter_get_str(b, "type");
    if (type == NULL || strcmp(type, "thinking") != 0)
        return false;
    const char *sig = sy_adapter_get_str(b, "signature");
    return sig == NULL || sig[0] == '\0';
}

/* An assistant turn without its unsigned thinking blocks (a new turn
 * sharing the rest), or a new reference to 'm' when it has none. */
static struct json_object *
turn_without_unsigned(struct json_object *m)
{
    struct json_object *content = sy_adapter_get(m, "content");
    size_t n = sy_adapter_is(content, json_type_array)
                   ? json_object_array_length(content)
                   : 0;
    size_t drop = 0;
    for (size_t i = 0; i < n; i++)
        drop += unsigned_thinking(json_object_array_get_idx(content, i));
    if (drop == 0)
        return json_object_get(m);
    struct json_object *out = json_object_new_object();
    json_object_object_foreach(m, k, v)
    {
        if (strcmp(k, "content") != 0)
            json_object_object_add(out, k, json_object_get(v));
    }
    struct json_object *blocks = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        struct json_object *b = json_object_array_get_idx(content, i);
        if (!unsigned_thinking(b))
            json_object_array_add(blocks, json_object_get(b));
    }
    json_object_object_add(out, "content", blocks);
    return out;
}

/* The caller's messages, each assistant turn without unsigned thinking
 * blocks (a reply another provider gave, sent back in a mixed group). */
static struct json_object *
native_messages(struct json_object *msgs)
{
    if (!sy_adapter_is(msgs, json_type_array))
        return json_object_get(msgs);
    struct json_object *out = json_object_new_array();
    size_t n = json_object_array_length(msgs);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(
            out, turn_without_unsigned(json_object_array_get_idx(msgs, i)));
    return out;
}

/* The provider body from the caller's: the allowed fields, then the
 * deployment's model, the output limit and the stream flag. */
static enum sy_err
native_body(struct sy_adapter_call *call, struct json_object *in,
            struct json_object *body)
{
    enum sy_err e = check_tools(call, sy_adapter_get(in, "tools"));
    if (e != SY_OK)
        return e;
    json_object_object_add(body, "model",
                           json_object_new_string(call->target->model));
    /* The limit the core checked and reserved for (the surface reads it
     * from the caller's max_tokens); the caller's own when the core has
     * none, and the provider's default when the caller gave none. */
    struct json_object *v = sy_adapter_get(in, "max_tokens");
    if (call->req->max_tokens > 0)
        call->sent_max_tokens = call->req->max_tokens;
    else if (v != NULL && json_object_is_type(v, json_type_int))
        call->sent_max_tokens = json_object_get_int64(v);
    else if (v == NULL)
        call->sent_max_tokens = sy_anthropic_default_max(call);
    if (call->sent_max_tokens > 0)
        json_object_object_add(body, "max_tokens",
                               json_object_new_int64(call->sent_max_tokens));
    else
        json_object_object_add(body, "max_tokens", json_object_get(v));
    for (size_t i = 0; i < SY_ARRAY_LEN(native_fields); i++) {
        if ((v = sy_adapter_get(in, native_fields[i])) == NULL)
            continue;
        json_object_object_add(body, native_fields[i],
                               strcmp(native_fields[i], "messages") == 0
                                   ? native_messages(v)
                                   : json_object_get(v));
    }
    if (sy_adapter_streams(call))
        json_object_object_add(body, "stream", json_object_new_boolean(1));
    return SY_OK;
}

/* The build_request slot for a native caller (see anthropic_int.h). */
enum sy_err
sy_anthropic_native_request(struct sy_adapter_call *call,
                            struct sy_http_out *out)
{
    const struct anthropic_conf *c = sy_anthropic_conf(call);
    const struct sy_native_req *n = &call->req->native;
    if (!sy_adapter_is(n->root, json_type_object))
        return sy_adapter_refuse(call, NULL,
                                 "the request body is not a JSON object");
    const char *version = version_ok(n->version) ? n->version : c->api_version;
    sy_anthropic_http(call, out, version, native_beta(call, c->beta));

    struct json_object *body = json_object_new_object();
    enum sy_err e = native_body(call, n->root, body);
    if (e == SY_OK)
        e = sy_adapter_json_write(out->body, body);
    json_object_put(body);
    return e;
}

/* The fields of a token count (Anthropic's count_tokens takes no
 * output limit and no stream flag). */
static const char *const count_fields[] = {
    "messages", "system",        "tools",         "tool_choice",
    "thinking", "output_format", "output_config", "context_management",
};

/* The build_count slot: the caller's request to the provider's
 * /v1/messages/count_tokens, with the deployment's model. */
enum sy_err
sy_anthropic_native_count(struct sy_adapter_call *call, struct sy_http_out *out)
{
    const struct anthropic_conf *c = sy_anthropic_conf(call);
    const struct sy_native_req *n = &call->req->native;
    if (!sy_adapter_is(n->root, json_type_object))
        return sy_adapter_refuse(call, NULL,
                                 "the request body is not a JSON object");
    const char *version = version_ok(n->version) ? n->version : c->api_version;
    sy_anthropic_http(call, out, version, native_beta(call, c->beta));
    out->url = sy_arena_printf(call->arena, "%s/messages/count_tokens",
                               call->target->base_url);
    struct json_object *body = json_object_new_object();
    json_object_object_add(body, "model",
                           json_object_new_string(call->target->model));
    for (size_t i = 0; i < SY_ARRAY_LEN(count_fields); i++) {
        struct json_object *v = sy_adapter_get(n->root, count_fields[i]);
        if (v != NULL)
            json_object_object_add(body, count_fields[i], json_object_get(v));
    }
    enum sy_err e = sy_adapter_json_write(out->body, body);
    json_object_put(body);
    return e;
}
