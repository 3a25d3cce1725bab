/*
 * openai.c - adapter for the OpenAI chat completions API and the
 * OpenAI-compatible family (DeepSeek, Mistral, Qwen/DashScope, OpenRouter,
 * TokenMix, any custom base URL). The canonical format is OpenAI's, so
 * translation is mostly pass-through; what differs per provider is DATA
 * (struct openai_quirks), not code: the fields forwarded (an explicit
 * allow-list per type: a field the list does not name is dropped, so a
 * caller cannot reach a paid provider feature the gateway does not know
 * about), renamed fields, tool call id rules, stream_options support,
 * reasoning_content round-trips. Fields that change what the provider
 * bills or retains (core/api/caps.c) are forwarded only when the deployment's
 * "allow_fields" names them; the core has already refused requests that
 * use one a deployment does not allow. For streams, usage is always
 * requested when the provider takes stream_options (the gateway needs it
 * for accounting; the pipeline drops the usage chunk unless the caller
 * asked for it).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/adapter.h"
#include "api/caps.h"
#include "common.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* How tool call ids in the history must look for a provider. */
enum openai_ids {
    IDS_KEEP,   /* any id */
    IDS_MAX40,  /* OpenAI: at most 40 characters (longer: hashed) */
    IDS_MISTRAL /* exactly 9 characters of [a-zA-Z0-9] (else: hashed) */
};

/* One row per provider type. Columns: the type name; 'allow' (top-level
 * fields forwarded, after renames); 'billed' (billed fields, see
 * core/api/caps.c, that the provider takes: forwarded when the deployment
 * allows them or the request does not use them, e.g. "n": 1); 'extra'
 * (the operator's quirks.forward); 'drop' (top-level fields removed);
 * 'msg_drop' (message fields removed, except on tool messages); the flags
 * below. */
struct openai_quirks {
    const char *type;
    const char *const *allow;
    const char *const *billed;
    const char *const *extra;
    const char *const *drop;
    const char *const *msg_drop;
    enum openai_ids ids;
    bool max_tokens_name;        /* max_completion_tokens -> max_tokens */
    bool seed_as_random_seed;    /* seed -> random_seed (Mistral) */
    bool stream_options;         /* accepts stream_options.include_usage */
    bool keep_reasoning;         /* assistant reasoning_content is sent back
                                   (DeepSeek thinking-mode tool loops) */
    bool json_schema_as_object;  /* json_schema -> json_object + a system
                                   message with the schema */
    bool drop_empty_tools;       /* "tools": [] is removed (with tool_choice) */
    bool thinking_off_nonstream; /* enable_thinking:false on non-streaming
                                   calls unless the caller set it (Qwen) */
    bool attribution;            /* HTTP-Referer / X-Title from the
                                   provider's http_referer / app_title */
};

/* What init digests from the provider config (adapter_conf). */
struct openai_conf {
    struct openai_quirks q;
    const char *referer; /* owned by the config arena, or NULL */
    const char *title;
};

struct openai_ctx {
    struct sy_failure *f; /* where the current event reports failures */
    sy_emit_fn emit;
    void *emit_ud;
    struct sy_adapter_call *call;
    struct sy_usage usage;
    const char *id; /* of the last chunk (arena), for a synthetic
                               usage chunk */
    const char *model;
    int64_t created;
    bool usage_chunk_seen; /* the provider sent a "choices": [] chunk */
    bool done;             /* [DONE] seen: later events are ignored */
    unsigned events;
};

/* Forwarded fields, checked against the openai SDK's
 * ChatCompletionCreateParams (openai 7.x) and docs/provider-apis.md. The
 * harmless core every compatible provider documents: */
#define COMMON_FIELDS                                                          \
    "messages", "temperature", "top_p", "max_tokens", "max_completion_tokens", \
        "stream", "stop", "seed", "user", "logprobs", "top_logprobs", "tools", \
        "tool_choice", "parallel_tool_calls", "response_format",               \
        "presence_penalty", "frequency_penalty", "logit_bias",                 \
        "reasoning_effort"

static const char *const openai_allow[] = {
    COMMON_FIELDS,       "metadata",  "prompt_cache_key",
    "safety_identifier", "verbosity", NULL
};
static const char *const openai_billed[] = { "n",
                                             "service_tier",
                                             "store",
                                             "web_search_options",
                                             "audio",
                                             "modalities",
                                             "prediction",
                                             "moderation",
                                             "prompt_cache_retention",
                                             NULL };

static const char *const deepseek_allow[] = { COMMON_FIELDS, "thinking", NULL };

static const char *const mistral_allow[] = { "messages",
                                             "temperature",
                                             "top_p",
                                             "max_tokens",
                                             "stream",
                                             "stop",
                                             "random_seed",
                                             "response_format",
                                             "tools",
                                             "tool_choice",
                                             "presence_penalty",
                                             "frequency_penalty",
                                             "parallel_tool_calls",
                                             "safe_prompt",
                                             "prompt_mode",
                                             NULL };
static const char *const mistral_billed[] = { "n", "prediction", NULL };

static const char *const qwen_allow[] = {
    COMMON_FIELDS, "enable_thinking",    "thinking_budget",
    "top_k",       "repetition_penalty", NULL
};
static const char *const qwen_billed[] = { "n",
                                           "enable_search",
                                           "search_options",
                                           "vl_high_resolution_images",
                                           "modalities",
                                           "audio",
                                           NULL };

/* OpenRouter (and TokenMix, treated alike until documented). */
static const char *const router_allow[] = {
    COMMON_FIELDS, "reasoning",          "usage",     "top_k", "min_p",
    "top_a",       "repetition_penalty", "verbosity", NULL
};
static const char *const router_billed[] = { "n",
                                             "models",
                                             "plugins",
                                             "provider",
                                             "route",
                                             "transforms",
                                             "web_search_options",
                                             NULL };

static const char *const mistral_msg_drop[] = { "name", NULL };

static const struct openai_quirks quirks_table[] = {
    { .type = "openai",
      .allow = openai_allow,
      .billed = openai_billed,
      .ids = IDS_MAX40,
      .stream_options = true },
    { .type = "deepseek",
      .allow = deepseek_allow,
      .stream_options = true,
      .keep_reasoning = true,
      .json_schema_as_object = true },
    { .type = "mistral",
      .allow = mistral_allow,
      .billed = mistral_billed,
      .msg_drop = mistral_msg_drop,
      .ids = IDS_MISTRAL,
      .max_tokens_name = true,
      .seed_as_random_seed = true,
      .drop_empty_tools = true },
    { .type = "qwen",
      .allow = qwen_allow,
      .billed = qwen_billed,
      .stream_options = true,
      .thinking_off_nonstream = true },
    { .type = "openrouter",
      .allow = router_allow,
      .billed = router_billed,
      .stream_options = true,
      .attribution = true },
    { .type = "tokenmix",
      .allow = router_allow,
      .billed = router_billed,
      .stream_options = true },
};

static const struct openai_quirks *
quirks_find(const char *type)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(quirks_table); i++)
        if (type != NULL && strcmp(quirks_table[i].type, type) == 0)
            return &quirks_table[i];
    return &quirks_table[0];
}

/* The provider's digested config; without one (init not run), the
 * defaults of its type. */
static struct openai_conf
openai_conf_of(const struct sy_target *t)
{
    if (t->adapter_conf != NULL)
        return *(const struct openai_conf *)t->adapter_conf;
    struct openai_conf c = { 0 };
    c.q = *quirks_find(t->provider_type);
    return c;
}

/* ------------------------------------------------------------------ */
/* Config                                                              */

static enum sy_err
quirk_bool(struct json_object *v, const char *key, bool *out, char *err,
           size_t errlen)
{
    if (!json_object_is_type(v, json_type_boolean)) {
        snprintf(err, errlen, "quirks.%s must be true or false", key);
        return SY_EBADREQ;
    }
    *out = json_object_get_boolean(v);
    return SY_OK;
}

/* quirks.drop / quirks.forward: an array of top-level field names. A
 * billed field (core/api/caps.c) cannot be forwarded this way: it needs the
 * deployment's allow_fields, which the core checks. */
static enum sy_err
name_list(struct json_object *v, const char *key, struct sy_arena *a,
          const char *const **out, char *err, size_t errlen)
{
    if (!json_object_is_type(v, json_type_array)) {
        snprintf(err, errlen, "quirks.%s must be an array of field names", key);
        return SY_EBADREQ;
    }
    size_t n = json_object_array_length(v);
    const char **list = sy_arena_zalloc(a, (n + 1) * sizeof(*list));
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(v, i);
        if (!json_object_is_type(s, json_type_string)) {
            snprintf(err, errlen, "quirks.%s[%zu] must be a string", key, i);
            return SY_EBADREQ;
        }
        const char *name = json_object_get_string(s);
        if (key[0] == 'f' && sy_caps_field_find(name) >= 0) {
            snprintf(err, errlen,
                     "quirks.forward[%zu]: \"%s\" is billed by "
                     "the provider; list it in a deployment's "
                     "allow_fields instead",
                     i, name);
            return SY_EBADREQ;
        }
        list[i] = sy_arena_strdup(a, name);
    }
    *out = list;
    return SY_OK;
}

/* Read the optional "quirks" override object into 'c'. */
static enum sy_err
read_quirks(struct json_object *o, struct openai_conf *c, struct sy_arena *a,
            char *err, size_t errlen)
{
    if (!json_object_is_type(o, json_type_object)) {
        snprintf(err, errlen, "\"quirks\" must be an object");
        return SY_EBADREQ;
    }
    enum sy_err e = SY_OK;
    json_object_object_foreach(o, key, v)
    {
        if (e != SY_OK)
            break;
        if (strcmp(key, "drop") == 0 || strcmp(key, "forward") == 0) {
            const char *const *list = NULL;
            e = name_list(v, key, a, &list, err, errlen);
            if (key[0] == 'd')
                c->q.drop = list;
            else
                c->q.extra = list;
        } else if (strcmp(key, "max_tokens_name") == 0) {
            e = quirk_bool(v, key, &c->q.max_tokens_name, err, errlen);
        } else if (strcmp(key, "stream_options") == 0) {
            e = quirk_bool(v, key, &c->q.stream_options, err, errlen);
        } else if (strcmp(key, "keep_reasoning_content") == 0) {
            e = quirk_bool(v, key, &c->q.keep_reasoning, err, errlen);
        } else if (strcmp(key, "json_schema_as_object") == 0) {
            e = quirk_bool(v, key, &c->q.json_schema_as_object, err, errlen);
        } else if (strcmp(key, "tool_ids") == 0) {
            const char *s = json_object_get_string(v);
            if (!json_object_is_type(v, json_type_string) ||
                !sy_adapter_str_in(s, (const char *const[]){
                                          "keep", "max40", "mistral", NULL })) {
                snprintf(err, errlen,
                         "quirks.tool_ids must be \"keep\", "
                         "\"max40\" or \"mistral\"");
                return SY_EBADREQ;
            }
            c->q.ids = s[0] == 'k'   ? IDS_KEEP
                       : s[1] == 'a' ? IDS_MAX40
                                     : IDS_MISTRAL;
        } else {
            snprintf(err, errlen,
                     "unknown key quirks.%s (known: drop, "
                     "forward, max_tokens_name, "
                     "stream_options, "
                     "keep_reasoning_content, "
                     "json_schema_as_object, tool_ids)",
                     key);
            return SY_EBADREQ;
        }
    }
    return e;
}

static enum sy_err
openai_init(const char *type, const void *conf, struct sy_arena *a,
            const void **adapter_conf, char *err, size_t errlen)
{
    struct json_object *o = (struct json_object *)(uintptr_t)conf;
    struct openai_conf *c = sy_arena_zalloc(a, sizeof(*c));
    c->q = *quirks_find(type);
    struct json_object *v = sy_adapter_get(o, "quirks");
    if (v != NULL && read_quirks(v, c, a, err, errlen) != SY_OK)
        return SY_EBADREQ;
    static const char *const attr[] = { "http_referer", "app_title" };
    for (size_t i = 0; i < SY_ARRAY_LEN(attr); i++) {
        v = sy_adapter_get(o, attr[i]);
        if (v == NULL)
            continue;
        const char *s = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) ||
            strpbrk(s, "\r\n") != NULL) {
            snprintf(err, errlen, "\"%s\" must be a one-line string", attr[i]);
            return SY_EBADREQ;
        }
        if (i == 0)
            c->referer = sy_arena_strdup(a, s);
        else
            c->title = sy_arena_strdup(a, s);
    }
    *adapter_conf = c;
    return SY_OK;
}

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

static enum sy_err
openai_build_request(struct sy_adapter_call *call, struct sy_http_out *out)
{
    struct openai_conf conf = openai_conf_of(call->target);
    struct sy_arena *a = call->arena;
    out->method = "POST";
    out->url =
        sy_arena_printf(a, "%s/chat/completions", call->target->base_url);
    out->headers[out->nheaders++] = "Content-Type: application/json";
    if (sy_adapter_streams(call))
        out->headers[out->nheaders++] = "Accept: text/event-stream";
    if (call->api_key != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "Authorization: Bearer %s", call->api_key);
    if (conf.q.attribution && conf.referer != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "HTTP-Referer: %s", conf.referer);
    if (conf.q.attribution && conf.title != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "X-Title: %s", conf.title);
    sy_adapter_static_headers(call, out);
    return openai_build_body(call, &conf.q, out->body);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* Normalise the finish_reason of each choice of 'o' in place. Returns 1
 * when something changed, 0 when not, -1 when a choice ended in an error
 * (Mistral/OpenRouter "error", DeepSeek "insufficient_system_resource"):
 * the attempt failed. */
static int
normalise_finish(struct json_object *o)
{
    static const char *const standard[] = { "stop",          "length",
                                            "tool_calls",    "content_filter",
                                            "function_call", NULL };
    struct json_object *choices = sy_adapter_get(o, "choices");
    if (!sy_adapter_is(choices, json_type_array))
        return 0;
    int changed = 0;
    size_t n = json_object_array_length(choices);
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(choices, i);
        const char *fr = sy_adapter_get_str(c, "finish_reason");
        if (fr == NULL || sy_adapter_str_in(fr, standard))
            continue;
        if (strcmp(fr, "model_length") != 0)
            return -1;
        json_object_object_add(c, "finish_reason",
                               json_object_new_string("length"));
        changed = 1;
    }
    return changed;
}

/* Usage 'u' into 'out'. DeepSeek's prompt_cache_hit_tokens becomes the
 * prompt_tokens_details.cached_tokens that callers' SDKs and the pricing
 * read, when absent (added to 'u': true when 'u' changed). */
static bool
read_usage(struct json_object *u, struct sy_usage *out)
{
    sy_chat_usage_from_json(u, out);
    int64_t hit;
    struct json_object *d = sy_adapter_get(u, "prompt_tokens_details");
    if (!out->present || sy_adapter_get(d, "cached_tokens") != NULL ||
        !sy_adapter_get_int(u, "prompt_cache_hit_tokens", &hit) || hit < 0)
        return false;
    out->cached_tokens = hit;
    if (!sy_adapter_is(d, json_type_object)) {
        d = json_object_new_object();
        json_object_object_add(u, "prompt_tokens_details", d);
    }
    json_object_object_add(d, "cached_tokens", json_object_new_int64(hit));
    return true;
}

static enum sy_err
openai_parse_response(struct sy_adapter_call *call, const char *body,
                      size_t len, struct sy_chat_resp *resp,
                      struct sy_failure *f)
{
    struct json_object *root = sy_adapter_json_parse(body, len);
    if (!sy_adapter_is(root, json_type_object)) {
        json_object_put(root);
        return sy_adapter_proto(f, "the provider's reply is not a JSON "
                                   "object");
    }
    sy_arena_on_cleanup(call->arena, sy_chat_json_free, root);
    if (sy_adapter_get(root, "error") != NULL) {
        /* Some compatible providers answer 200 with an error object. */
        sy_adapter_openai_error(call, 500, body, len, f);
        return f->err;
    }
    struct json_object *v = sy_adapter_get(root, "choices");
    if (!sy_adapter_is(v, json_type_array) || json_object_array_length(v) == 0)
        return sy_adapter_proto(f, "the provider's reply has no choices");
    int fin = normalise_finish(root);
    if (fin < 0)
        return sy_adapter_proto(f, "the provider ended the generation with "
                                   "an error finish_reason");
    struct json_object *c0 = json_object_array_get_idx(v, 0);
    resp->finish_reason = sy_adapter_get_str(c0, "finish_reason");
    resp->upstream_model = sy_adapter_get_str(root, "model");
    if (read_usage(sy_adapter_get(root, "usage"), &resp->usage))
        fin = 1;
    resp->root = root; /* the cleanup above owns it */
    if (fin == 0) {    /* unchanged: passed on as the provider sent it */
        resp->raw = body;
        resp->raw_len = len;
    }
    return SY_OK;
}

/* Remember what a synthetic usage chunk needs. */
static void
note_chunk(struct openai_ctx *x, struct json_object *o)
{
    struct sy_arena *a = x->call->arena;
    const char *id = sy_adapter_get_str(o, "id");
    const char *model = sy_adapter_get_str(o, "model");
    int64_t created;
    if (x->id == NULL && id != NULL)
        x->id = sy_arena_strdup(a, id);
    if (x->model == NULL && model != NULL)
        x->model = sy_arena_strdup(a, model);
    if (x->created == 0 && sy_adapter_get_int(o, "created", &created))
        x->created = created;
}

/* The table's stream_event slot (see adapter.h): one chunk event, or
 * [DONE]; the end of the body (ev == NULL) needs nothing more. */
static enum sy_err
openai_stream_event(struct sy_adapter_call *call, const struct sy_sse_event *ev,
                    sy_emit_fn emit, void *ud, struct sy_failure *f)
{
    struct openai_ctx *x = call->ctx;
    x->f = f;
    x->emit = emit;
    x->emit_ud = ud;
    x->call = call;
    if (ev == NULL)
        return SY_OK;
    const char *data = ev->data;
    size_t len = ev->len;
    if (x->done)
        return SY_OK; /* [DONE] ends the stream (found by fuzz_adapter) */
    x->events++;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        x->done = true;
        if (x->usage.present && !x->usage_chunk_seen) {
            /* The provider put usage on a normal chunk (Mistral): give
             * the caller the usual "choices": [] usage chunk. */
            x->usage_chunk_seen = true;
            enum sy_err e = sy_adapter_emit_json(
                x->emit, x->emit_ud,
                sy_adapter_usage_chunk(
                    x->id ? x->id : "chatcmpl-usage", x->created,
                    x->model ? x->model : x->call->target->model, &x->usage),
                &x->usage, true);
            if (e != SY_OK)
                return e;
        }
        return sy_adapter_emit_done(x->emit, x->emit_ud);
    }
    struct json_object *o = sy_adapter_json_parse(data, len);
    if (!sy_adapter_is(o, json_type_object)) {
        json_object_put(o);
        return sy_adapter_proto(x->f, "the provider sent a malformed stream "
                                      "event");
    }
    if (sy_adapter_get(o, "error") != NULL) {
        sy_adapter_openai_error(x->call, 500, data, len, x->f);
        x->f->message = sy_arena_printf(
            x->call->arena, "error event in the stream: %s", x->f->message);
        json_object_put(o);
        return x->f->err;
    }
    note_chunk(x, o);
    int fin = normalise_finish(o);
    if (fin < 0) {
        json_object_put(o);
        return sy_adapter_proto(x->f, "the provider ended the stream with an "
                                      "error finish_reason");
    }
    struct sy_chunk ch = { .kind = SY_CHUNK_DATA, .data = data, .len = len };
    struct json_object *u = sy_adapter_get(o, "usage");
    if (sy_adapter_is(u, json_type_object)) {
        if (read_usage(u, &x->usage))
            fin = 1;
        ch.usage = &x->usage;
        struct json_object *choices = sy_adapter_get(o, "choices");
        ch.usage_only = sy_adapter_is(choices, json_type_array) &&
                        json_object_array_length(choices) == 0;
        x->usage_chunk_seen = x->usage_chunk_seen || ch.usage_only;
    }
    /* A multi-line event (data lines join with LF) or a raw CR inside the
     * JSON would break the caller's SSE framing if passed on as it is:
     * such events are re-serialised (compact JSON has no raw breaks). */
    if (fin > 0 || memchr(data, '\n', len) != NULL ||
        memchr(data, '\r', len) != NULL)
        ch.data = sy_adapter_json_text(o, &ch.len);
    enum sy_err e = x->emit(x->emit_ud, &ch);
    json_object_put(o);
    return e;
}

static void
openai_classify(struct sy_adapter_call *call, int status, const char *body,
                size_t len, struct sy_failure *f)
{
    sy_adapter_openai_error(call, status, body, len, f);
}

/* ------------------------------------------------------------------ */
/* The tables: one per provider type, same functions, quirks by type.  */

static const char *const openai_keys[] = { "quirks", NULL };
static const char *const openrouter_keys[] = { "quirks", "http_referer",
                                               "app_title", NULL };

#define ALL_CAPS                                               \
    (SY_CAP_STREAM | SY_CAP_TOOLS | SY_CAP_PARALLEL_TOOLS |    \
     SY_CAP_JSON_OBJECT | SY_CAP_JSON_SCHEMA | SY_CAP_VISION | \
     SY_CAP_STREAM_USAGE)

#define OPENAI_TABLE(sym, type_name, capabilities, keys) \
    const struct sy_adapter sym = {                      \
        .abi = SY_ADAPTER_ABI,                           \
        .name = type_name,                               \
        .caps = capabilities,                            \
        .ctx_size = sizeof(struct openai_ctx),           \
        .conf_keys = keys,                               \
        .init = openai_init,                             \
        .build_request = openai_build_request,           \
        .parse_response = openai_parse_response,         \
        .stream_event = openai_stream_event,             \
        .classify = openai_classify,                     \
    }

OPENAI_TABLE(sy_adapter_openai, "openai", ALL_CAPS, openai_keys);
/* DeepSeek: no vision; json_schema is translated (json_object + hint). */
OPENAI_TABLE(sy_adapter_deepseek, "deepseek",
             ALL_CAPS & ~(unsigned)SY_CAP_VISION, openai_keys);
OPENAI_TABLE(sy_adapter_mistral, "mistral", ALL_CAPS, openai_keys);
OPENAI_TABLE(sy_adapter_qwen, "qwen", ALL_CAPS, openai_keys);
OPENAI_TABLE(sy_adapter_openrouter, "openrouter", ALL_CAPS, openrouter_keys);
OPENAI_TABLE(sy_adapter_tokenmix, "tokenmix", ALL_CAPS, openai_keys);
