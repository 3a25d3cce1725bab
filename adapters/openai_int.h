/*
 * openai_int.h - private to the OpenAI-family adapter (openai.c: the
 * tables, replies and stream events; openai_request.c: build_request;
 * openai_quirks.c: the per-type quirk table and the provider keys;
 * openai_embed.c: the embeddings slots). Calls go one way: openai.c and
 * openai_embed.c use openai_request.c and openai_quirks.c, and
 * openai_request.c uses openai_quirks.c. Not for the core or other
 * adapters: they see only the sy_adapter_* tables, through
 * adapters/registry.c.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_OPENAI_INT_H
#define SY_ADAPTERS_OPENAI_INT_H

#include "api/adapter.h"
#include "common.h"

#include <stdbool.h>

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

/* openai_quirks.c: the provider's digested config; without one (init
 * not run), the defaults of its type. */
struct openai_conf sy_openai_conf_of(const struct sy_target *t);

/* openai_quirks.c: the tables' conf_keys and init slot (see adapter.h):
 * "quirks" (and OpenRouter's attribution keys) into a struct
 * openai_conf in the config's arena. */
extern const char *const sy_openai_keys[];
extern const char *const sy_openrouter_keys[];
enum sy_err sy_openai_init(const char *type, const void *conf,
                           struct sy_arena *a, const void **adapter_conf,
                           char *err, size_t errlen);

/* openai_request.c: the tables' build_request slot (see adapter.h). */
enum sy_err sy_openai_build_request(struct sy_adapter_call *call,
                                    struct sy_http_out *out);

/* openai_request.c: the headers every request of the family carries
 * (Content-Type, Accept when 'stream', the key as a bearer token,
 * OpenRouter's attribution, the provider's static headers), with 'conf'
 * the provider's. */
void sy_openai_headers(struct sy_adapter_call *call,
                       const struct openai_conf *conf, bool stream,
                       struct sy_http_out *out);

/* openai_embed.c: the tables' build_embed and parse_embed slots (see
 * adapter.h): POST {base}/embeddings and its reply. */
enum sy_err sy_openai_build_embed(struct sy_adapter_call *call,
                                  const struct sy_embed_req *req,
                                  struct sy_http_out *out);
enum sy_err sy_openai_parse_embed(struct sy_adapter_call *call,
                                  const char *body, size_t len,
                                  struct sy_embed_resp *resp,
                                  struct sy_failure *f);

#endif
