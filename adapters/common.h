/*
 * common.h - helpers shared by adapters: JSON reading and building on
 * json-c, the message walk, canonical chunk / completion construction,
 * deterministic hashing for synthesized tool call ids, refusals with a
 * caller-safe message, the deployment's static headers, retry hints, and
 * OpenAI-style error body reading. SSE framing is the core's
 * (core/api/sse.h): adapters get whole events.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_COMMON_H
#define SY_ADAPTERS_COMMON_H

#include "api/adapter.h"
#include "api/sse.h"
#include "base/limits.h"

#include <json-c/json.h>

/* SY_JSON_MAX (base/limits.h): the largest provider body (or stream
 * event) we parse as JSON. */

/* ---- JSON reading (results are borrowed from 'o') */
struct json_object *sy_adapter_json_parse(const char *p, size_t len);
/* The same, with the text's nesting depth in '*depth'. */
struct json_object *sy_adapter_json_parse_depth(const char *p, size_t len,
                                                unsigned *depth);
struct json_object *sy_adapter_get(struct json_object *o, const char *key);
const char *sy_adapter_get_str(struct json_object *o, const char *key);
const char *sy_adapter_get_strn(struct json_object *o, const char *key,
                                size_t *len);
/* NUL-safe JSON string helpers: text is taken with json-c's length, so a
 * "\u0000" in it is kept. */
struct json_object *sy_adapter_str_member(struct json_object *o,
                                          const char *key);
struct json_object *sy_adapter_str_copy(struct json_object *v);
bool sy_adapter_has_text(struct json_object *v);
void sy_adapter_buf_str(struct sy_buf *s, struct json_object *v);
bool sy_adapter_get_int(struct json_object *o, const char *key, int64_t *out);
bool sy_adapter_is(struct json_object *o, json_type t);
const char *sy_adapter_json_text(struct json_object *o, size_t *len);
enum sy_err sy_adapter_json_write(struct sy_buf *b, struct json_object *o);
/* How an adapter turns OpenAI messages into its provider's turns: the
 * walk is shared (system and developer messages gathered into one system
 * text, user / assistant / tool messages handed to these callbacks in
 * order); what a turn looks like is the adapter's. 'ud' is the adapter's
 * turn state. */
struct sy_turn_ops {
    const char *assistant_role; /* the provider's name for it */
    void (*open)(void *ud, const char *role);
    enum sy_err (*content)(void *ud, struct json_object *content, size_t i,
                           bool user);
    enum sy_err (*calls)(void *ud, struct json_object *calls, size_t i);
    enum sy_err (*tool)(void *ud, struct json_object *msgs, size_t i);
};

enum sy_err sy_adapter_walk_messages(struct sy_adapter_call *call,
                                     const struct sy_turn_ops *ops, void *ud,
                                     struct sy_buf *sys);
const char *sy_adapter_content_text(struct sy_arena *a,
                                    struct json_object *content,
                                    bool *has_other);
/* The same with the text's length: it may hold NUL ("\u0000"), so text
 * sent on to a provider must be taken by length. */
const char *sy_adapter_content_textn(struct sy_arena *a,
                                     struct json_object *content, size_t *len,
                                     bool *has_other);
bool sy_adapter_data_url(struct sy_arena *a, const char *url, const char **mime,
                         const char **data);
bool sy_adapter_str_in(const char *s, const char *const *list);

/* ---- JSON building: sy_adapter_obj("k", value, "k2", value2, NULL)
 * takes over each value (NULL is JSON null); sy_adapter_arr1 wraps one. */
struct json_object *sy_adapter_obj(const char *key, ...)
    __attribute__((sentinel));
struct json_object *sy_adapter_arr1(struct json_object *v);
#define SY_JSTR(s) json_object_new_string(s)

/* ---- building a request */
enum sy_err sy_adapter_refuse(struct sy_adapter_call *call, const char *param,
                              const char *fmt, ...) SY_PRINTF(3, 4);
void sy_adapter_static_headers(struct sy_adapter_call *call,
                               struct sy_http_out *out);

/* ---- canonical output (OpenAI chat.completion / chat.completion.chunk) */
struct json_object *sy_adapter_chunk(const char *id, int64_t created,
                                     const char *model,
                                     struct json_object *delta,
                                     const char *finish_reason);
struct json_object *sy_adapter_usage_chunk(const char *id, int64_t created,
                                           const char *model,
                                           const struct sy_usage *u);
struct json_object *sy_adapter_tool_call(const char *id, const char *name,
                                         const char *arguments);
enum sy_err sy_adapter_emit_json(sy_emit_fn emit, void *ud,
                                 struct json_object *chunk,
                                 const struct sy_usage *usage, bool usage_only);
enum sy_err sy_adapter_emit_opening(sy_emit_fn emit, void *ud, const char *id,
                                    int64_t created, const char *model);
enum sy_err sy_adapter_emit_done(sy_emit_fn emit, void *ud);
enum sy_err sy_adapter_set_response(struct sy_adapter_call *call,
                                    struct sy_chat_resp *resp,
                                    struct json_object *root);
struct json_object *sy_adapter_completion(const char *id, int64_t created,
                                          const char *model,
                                          struct json_object *message,
                                          const char *finish_reason,
                                          const struct sy_usage *u);
enum sy_err sy_adapter_proto(struct sy_failure *f, const char *message);

/* ---- deterministic ids */
#define SY_FNV_INIT 0xcbf29ce484222325ull
uint64_t sy_adapter_fnv(uint64_t h, const void *p, size_t n);
const char *sy_adapter_base62(struct sy_arena *a, uint64_t h, size_t n);

/* ---- errors and retry hints */
const char *sy_adapter_header(const struct sy_adapter_call *call,
                              const char *name);
uint32_t sy_adapter_duration_ms(const char *s);
uint32_t sy_adapter_reset_hint_ms(const struct sy_adapter_call *call);
void sy_adapter_openai_error(struct sy_adapter_call *call, int status,
                             const char *body, size_t len,
                             struct sy_failure *f);

#endif
