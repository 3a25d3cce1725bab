/*
 * openai.c - adapter for the OpenAI chat completions API and the
 * OpenAI-compatible family (DeepSeek, Mistral, Qwen/DashScope, OpenRouter,
 * TokenMix, any custom base URL): the adapter tables (one per provider
 * type, same functions), error classification and the reply side
 * (replies and stream events, normalised to the canonical format). What
 * differs per provider is DATA (struct openai_quirks, openai_quirks.c),
 * not code; the request side is openai_request.c, the embeddings slots
 * openai_embed.c; all share openai_int.h. No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "openai_int.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

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
    /* the choices seen, by index (below the request's n, at most
     * SY_CHAT_MAX_CHOICES), and the finish_reason of each: 0 none yet,
     * else 1 + its place in finish_names */
    uint64_t seen[2];
    uint8_t fin[SY_CHAT_MAX_CHOICES];
    unsigned events;
};

/* The finish_reasons callers' SDKs know; normalise_finish maps the
 * others or fails them. */
static const char *const finish_names[] = { "stop",          "length",
                                            "tool_calls",    "content_filter",
                                            "function_call", NULL };

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* Normalise the finish_reason of each choice of 'o' in place. Returns 1
 * when something changed, 0 when not, -1 when a choice ended in an error
 * (Mistral/OpenRouter "error", DeepSeek "insufficient_system_resource"):
 * the attempt failed. */
static int
normalise_finish(struct json_object *o)
{
    struct json_object *choices = sy_adapter_get(o, "choices");
    if (!sy_adapter_is(choices, json_type_array))
        return 0;
    int changed = 0;
    size_t n = json_object_array_length(choices);
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(choices, i);
        const char *fr = sy_adapter_get_str(c, "finish_reason");
        if (fr == NULL || sy_adapter_str_in(fr, finish_names))
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

/* The number of choices the request asked for: a choice index at or
 * above it is none the caller wanted, and the Messages and Responses
 * surfaces, which read choice 0 only, would answer empty but billed. */
static uint32_t
choices_asked(const struct sy_adapter_call *call)
{
    return call->req != NULL ? sy_chat_req_choices(call->req)
                             : SY_CHAT_MAX_CHOICES;
}

/* Fail (SY_EUP_PROTO) choice index 'k' when it is not one of the
 * request's 'n' choices. */
static enum sy_err
check_index(struct sy_adapter_call *call, int64_t k, uint32_t n,
            struct sy_failure *f)
{
    if (k >= 0 && k < (int64_t)n)
        return SY_OK;
    sy_adapter_proto(f, "the provider sent a choice index out of range");
    f->message = sy_arena_printf(call->arena,
                                 "the provider sent choice index %lld, "
                                 "the request asked for %u choice(s)",
                                 (long long)k, n);
    return f->err;
}

/* Every choice of reply 'choices' has an index the request asked for
 * (its place in the array when it has none). */
static enum sy_err
check_reply_indexes(struct sy_adapter_call *call, struct json_object *choices,
                    struct sy_failure *f)
{
    uint32_t n = choices_asked(call);
    size_t len = json_object_array_length(choices);
    for (size_t i = 0; i < len; i++) {
        int64_t k = (int64_t)i;
        sy_adapter_get_int(json_object_array_get_idx(choices, i), "index", &k);
        if (check_index(call, k, n, f) != SY_OK)
            return f->err;
    }
    return SY_OK;
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
    if (check_reply_indexes(call, v, f) != SY_OK)
        return f->err;
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

/* Is 'o' a chat.completion.chunk? It has a "choices" array (empty in a
 * usage chunk), or, with no choices at all, a "usage" object: a final
 * usage chunk some compatible providers send without "choices", which
 * gets the "choices": [] callers' SDKs read (1: 'o' changed). An object
 * of another API (Anthropic's {"type":"message_start"}, a bare {}) is not
 * (-1): passed on, it would reach the caller as a chat chunk. */
static int
chunk_shape(struct json_object *o)
{
    struct json_object *choices = sy_adapter_get(o, "choices");
    if (choices != NULL)
        return sy_adapter_is(choices, json_type_array) ? 0 : -1;
    if (!sy_adapter_is(sy_adapter_get(o, "usage"), json_type_object))
        return -1;
    json_object_object_add(o, "choices", json_object_new_array());
    return 1;
}

/* An empty member of a delta: null, "", [] or {}. */
static bool
delta_member_empty(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return true;
    case json_type_string:
        return json_object_get_string_len(v) == 0;
    case json_type_array:
        return json_object_array_length(v) == 0;
    case json_type_object:
        return json_object_object_length(v) == 0;
    default:
        return false;
    }
}

/* Is chunk 'o' a role-only opening (core/api/chat.h sy_chunk.opening)?
 * No choice finished, and every choice's delta holds nothing but its
 * role and empty members (content "" or null, no tool call, refusal,
 * reasoning or audio). Passed through as it came, a compatible
 * provider's first chunk may carry the first text with the role
 * (Ollama, llama.cpp): that one is the first token. */
static bool
chunk_opening(struct json_object *o)
{
    struct json_object *choices = sy_adapter_get(o, "choices");
    size_t n = sy_adapter_is(choices, json_type_array)
                   ? json_object_array_length(choices)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(choices, i);
        if (sy_adapter_get_str(c, "finish_reason") != NULL)
            return false;
        struct json_object *d = sy_adapter_get(c, "delta");
        if (d == NULL)
            continue;
        if (!sy_adapter_is(d, json_type_object))
            return false;
        json_object_object_foreach(d, key, v)
        {
            if (strcmp(key, "role") != 0 && !delta_member_empty(v))
                return false;
        }
    }
    return true;
}

/* [DONE] (or a clean end after the finish): usage the provider put on
 * a normal chunk (Mistral) gets the usual "choices": [] usage chunk,
 * then the end. */
static enum sy_err
stream_done(struct openai_ctx *x)
{
    x->done = true;
    if (x->usage.present && !x->usage_chunk_seen) {
        x->usage_chunk_seen = true;
        enum sy_err e = sy_adapter_emit_json(
            x->emit, x->emit_ud,
            sy_adapter_usage_chunk(x->id ? x->id : "chatcmpl-usage", x->created,
                                   x->model ? x->model : x->call->target->model,
                                   &x->usage),
            &x->usage, true);
        if (e != SY_OK)
            return e;
    }
    return sy_adapter_emit_done(x->emit, x->emit_ud);
}

/* Does delta 'd' carry part of the answer (text, refusal, a tool call)?
 * A role, empty members or Azure's content_filter_results do not. */
static bool
delta_has_answer(struct json_object *d)
{
    static const char *const answer[] = { "content", "refusal", "tool_calls",
                                          "function_call", NULL };
    for (size_t i = 0; answer[i] != NULL; i++) {
        struct json_object *v = sy_adapter_get(d, answer[i]);
        if (v != NULL && !delta_member_empty(v))
            return true;
    }
    return false;
}

/* 1 + the place of finish_reason 'fr' (normalised) in finish_names. */
static uint8_t
finish_code(const char *fr)
{
    uint8_t i = 0;
    while (finish_names[i] != NULL && strcmp(finish_names[i], fr) != 0)
        i++;
    return (uint8_t)(i + 1);
}

/* Note choice 'c' (index 'k', in range) of a chunk: its last
 * finish_reason counts. More of the answer after a finish, in a chunk
 * with no finish_reason of its own, takes the finish back: the answer
 * must end again before [DONE] (answer_ended), so a stream cut after
 * such text is not taken as whole. Not a failure by itself: relays in
 * front of Gemini put finish_reason "stop" on every chunk, and Open
 * WebUI on a reasoning chunk before the text. */
static void
take_choice(struct openai_ctx *x, struct json_object *c, int64_t k)
{
    x->seen[k / 64] |= 1ull << (k % 64);
    const char *fr = sy_adapter_get_str(c, "finish_reason");
    if (fr != NULL)
        x->fin[k] = finish_code(fr);
    else if (delta_has_answer(sy_adapter_get(c, "delta")))
        x->fin[k] = 0;
}

/* Judge and note the choices of chunk 'o' (finish_reasons normalised):
 * each must be one the request asked for. */
static enum sy_err
take_choices(struct openai_ctx *x, struct json_object *o)
{
    struct json_object *choices = sy_adapter_get(o, "choices");
    size_t n = sy_adapter_is(choices, json_type_array)
                   ? json_object_array_length(choices)
                   : 0;
    uint32_t asked = choices_asked(x->call);
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(choices, i);
        int64_t k = (int64_t)i;
        sy_adapter_get_int(c, "index", &k);
        if (check_index(x->call, k, asked, x->f) != SY_OK)
            return x->f->err;
        take_choice(x, c, k);
    }
    return SY_OK;
}

/* Did the answer end? Choice 0 came, and every choice seen finished.
 * OpenAI, Azure, DeepSeek, Mistral, vLLM, llama.cpp and Ollama all put
 * a finish_reason on the last chunk of each choice: without it the
 * answer may be cut, even when [DONE] follows. */
static bool
answer_ended(const struct openai_ctx *x)
{
    if ((x->seen[0] & 1u) == 0)
        return false;
    for (int k = 0; k < SY_CHAT_MAX_CHOICES; k++)
        if ((x->seen[k / 64] >> (k % 64) & 1u) != 0 && x->fin[k] == 0)
            return false;
    return true;
}

/* Is the answer whole without [DONE]? It ended, and the usage came (a
 * stream cut after one of n choices, or before its usage chunk, is
 * not). */
static bool
answer_whole(const struct openai_ctx *x)
{
    return answer_ended(x) && x->usage.present;
}

/* Usage 'u' of chunk 'o' into x->usage, with the earlier reports: of
 * each count the largest, but of the cached tokens (billed at less) the
 * smallest, so the bill is never below what any report claimed. A
 * provider's later report should be cumulative: taking it alone, a
 * provider could lower its bill with a second report (3000 completion
 * tokens, then 3010 cached prompt tokens and none). When the result is
 * not this report, 'u' is replaced in 'o' by it, so a caller reads what
 * it pays. Returns true when 'o' changed. */
static bool
take_usage(struct openai_ctx *x, struct json_object *o, struct json_object *u)
{
    struct sy_usage now, *m = &x->usage;
    memset(&now, 0, sizeof(now));
    bool changed = read_usage(u, &now);
    if (!now.present)
        return changed;
    if (!m->present) {
        *m = now;
        return changed;
    }
    bool differs = false;
#define TAKE(field, keep_now)                       \
    do {                                            \
        if (keep_now)                               \
            m->field = now.field;                   \
        differs = differs || m->field != now.field; \
    } while (0)
    TAKE(prompt_tokens, now.prompt_tokens > m->prompt_tokens);
    TAKE(completion_tokens, now.completion_tokens > m->completion_tokens);
    TAKE(total_tokens, now.total_tokens > m->total_tokens);
    TAKE(reasoning_tokens, now.reasoning_tokens > m->reasoning_tokens);
    TAKE(cache_write_tokens, now.cache_write_tokens > m->cache_write_tokens);
    TAKE(cache_write_1h_tokens,
         now.cache_write_1h_tokens > m->cache_write_1h_tokens);
    TAKE(cached_tokens, now.cached_tokens < m->cached_tokens);
#undef TAKE
    if (m->total_tokens < m->prompt_tokens + m->completion_tokens) {
        m->total_tokens = m->prompt_tokens + m->completion_tokens; /* < 2^62 */
        differs = true;
    }
    if (!differs)
        return changed;
    json_object_object_add(o, "usage", sy_chat_usage_json(m));
    return true;
}

/* The table's stream_event slot (see adapter.h): one chunk event, or
 * [DONE]. At the clean end of the body (ev == NULL) a stream whose
 * every choice finished, with its usage, is whole even without [DONE],
 * which some compatible providers leave out; one cut before is not. */
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
        return answer_whole(x) && !x->done ? stream_done(x) : SY_OK;
    const char *data = ev->data;
    size_t len = ev->len;
    if (x->done)
        return SY_OK; /* [DONE] ends the stream (found by fuzz_adapter) */
    x->events++;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return answer_ended(x)
                   ? stream_done(x)
                   : sy_adapter_proto(x->f, "the stream ended ([DONE]) before "
                                            "a finish_reason of every "
                                            "choice: the answer may be cut");
    unsigned depth;
    struct json_object *o = sy_adapter_json_parse_depth(data, len, &depth);
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
    int shape = chunk_shape(o);
    if (shape < 0) {
        json_object_put(o);
        return sy_adapter_proto(x->f, "the provider sent a malformed stream "
                                      "event (not a chat.completion.chunk)");
    }
    note_chunk(x, o);
    int fin = normalise_finish(o);
    if (fin < 0) {
        json_object_put(o);
        return sy_adapter_proto(x->f, "the provider ended the stream with an "
                                      "error finish_reason");
    }
    if (take_choices(x, o) != SY_OK) {
        json_object_put(o);
        return x->f->err;
    }
    struct sy_chunk ch = { .kind = SY_CHUNK_DATA,
                           .data = data,
                           .len = len,
                           .tree = o,
                           .tree_depth = depth };
    struct json_object *u = sy_adapter_get(o, "usage");
    if (sy_adapter_is(u, json_type_object)) {
        if (take_usage(x, o, u))
            fin = 1;
        ch.usage = &x->usage;
        struct json_object *choices = sy_adapter_get(o, "choices");
        ch.usage_only = sy_adapter_is(choices, json_type_array) &&
                        json_object_array_length(choices) == 0;
        x->usage_chunk_seen = x->usage_chunk_seen || ch.usage_only;
    }
    ch.opening = !ch.usage_only && chunk_opening(o);
    /* A multi-line event (data lines join with LF) or a raw CR inside the
     * JSON would break the caller's SSE framing if passed on as it is:
     * such events are re-serialised (compact JSON has no raw breaks). */
    if (fin > 0 || shape > 0 || memchr(data, '\n', len) != NULL ||
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

#define ALL_CAPS                                               \
    (SY_CAP_STREAM | SY_CAP_TOOLS | SY_CAP_PARALLEL_TOOLS |    \
     SY_CAP_JSON_OBJECT | SY_CAP_JSON_SCHEMA | SY_CAP_VISION | \
     SY_CAP_STREAM_USAGE | SY_CAP_EMBED)

#define OPENAI_TABLE(sym, type_name, capabilities, keys) \
    const struct sy_adapter sym = {                      \
        .abi = SY_ADAPTER_ABI,                           \
        .name = type_name,                               \
        .caps = capabilities,                            \
        .ctx_size = sizeof(struct openai_ctx),           \
        .conf_keys = keys,                               \
        .init = sy_openai_init,                          \
        .build_request = sy_openai_build_request,        \
        .parse_response = openai_parse_response,         \
        .stream_event = openai_stream_event,             \
        .classify = openai_classify,                     \
        .build_embed = sy_openai_build_embed,            \
        .parse_embed = sy_openai_parse_embed,            \
    }

OPENAI_TABLE(sy_adapter_openai, "openai", ALL_CAPS, sy_openai_keys);
/* DeepSeek: no vision, no embeddings API; json_schema is translated
 * (json_object + hint). */
OPENAI_TABLE(sy_adapter_deepseek, "deepseek",
             ALL_CAPS & ~(unsigned)(SY_CAP_VISION | SY_CAP_EMBED),
             sy_openai_keys);
OPENAI_TABLE(sy_adapter_mistral, "mistral", ALL_CAPS, sy_openai_keys);
OPENAI_TABLE(sy_adapter_qwen, "qwen", ALL_CAPS, sy_openai_keys);
OPENAI_TABLE(sy_adapter_openrouter, "openrouter", ALL_CAPS, sy_openrouter_keys);
OPENAI_TABLE(sy_adapter_tokenmix, "tokenmix", ALL_CAPS, sy_openai_keys);
