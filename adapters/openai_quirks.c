/*
 * openai_quirks.c - what differs between the providers of the OpenAI
 * family, as data: one row of quirks per provider type (the fields
 * forwarded, renamed fields, tool call id rules, stream_options support,
 * reasoning_content round-trips), and the init slot that reads a
 * provider's "quirks" override and OpenRouter's attribution keys into
 * its adapter_conf. No I/O; see openai_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "openai_int.h"
#include "api/caps.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

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
struct openai_conf
sy_openai_conf_of(const struct sy_target *t)
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

enum sy_err
sy_openai_init(const char *type, const void *conf, struct sy_arena *a,
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

const char *const sy_openai_keys[] = { "quirks", NULL };
const char *const sy_openrouter_keys[] = { "quirks", "http_referer",
                                           "app_title", NULL };
