/*
 * gemini.c - adapter for the Gemini API generateContent and
 * streamGenerateContent (?alt=sse): the adapter table, error
 * classification, and the reply side: replies and stream events become
 * OpenAI completions and chunks. The provider keys and the request side
 * (OpenAI chat requests into GenerateContentRequests) are
 * gemini_request.c; the synthesized tool call ids (Gemini gives calls
 * none) are gemini_ids.c; all share gemini_int.h. No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "gemini_int.h"
#include "base/clock.h"

#include <string.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Errors                                                              */

/* Classify a Google RPC error object ({code, message, status, details});
 * 'status' is the HTTP status, 0 inside a stream (then 'code' counts).
 * An invalid key comes back as 400 API_KEY_INVALID: an auth failure,
 * whose provider text is never quoted. */
static void
gemini_error(struct sy_adapter_call *call, int status, struct json_object *err,
             struct sy_failure *f)
{
    struct sy_arena *a = call->arena;
    int64_t code = 0;
    if (status == 0 && sy_adapter_get_int(err, "code", &code))
        status = (int)code;
    if (status == 0)
        status = 500;
    const char *gs = sy_adapter_get_str(err, "status");
    const char *m = sy_adapter_get_str(err, "message");
    const char *msg =
        m ? sy_arena_strndup(a, m, SY_MIN(strlen(m), 512u)) : NULL;
    bool bad_key = msg != NULL && strstr(msg, "API key not valid") != NULL;
    bool daily = false;
    uint32_t delay = 0;
    struct json_object *details = sy_adapter_get(err, "details");
    size_t n = sy_adapter_is(details, json_type_array)
                   ? json_object_array_length(details)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *d = json_object_array_get_idx(details, i);
        const char *reason = sy_adapter_get_str(d, "reason");
        const char *rd = sy_adapter_get_str(d, "retryDelay");
        if (reason != NULL && strcmp(reason, "API_KEY_INVALID") == 0)
            bad_key = true;
        if (rd != NULL)
            delay = sy_adapter_duration_ms(rd);
        struct json_object *viol = sy_adapter_get(d, "violations");
        size_t nv = sy_adapter_is(viol, json_type_array)
                        ? json_object_array_length(viol)
                        : 0;
        for (size_t j = 0; j < nv; j++) {
            const char *q = sy_adapter_get_str(
                json_object_array_get_idx(viol, j), "quotaId");
            if (q != NULL && strstr(q, "PerDay") != NULL)
                daily = true;
        }
    }
    f->status = status;
    if (status == 401 || status == 403 || (status == 400 && bad_key)) {
        f->err = SY_EUP_AUTH;
        f->message =
            sy_arena_printf(a,
                            "the provider rejected the gateway's "
                            "API key (HTTP %d%s)",
                            status, bad_key ? ", API_KEY_INVALID" : "");
    } else if (status == 400 && gs != NULL &&
               strcmp(gs, "FAILED_PRECONDITION") == 0) {
        f->err = SY_EUP_AUTH;
        f->message = "the provider refused the gateway's account "
                     "(FAILED_PRECONDITION: billing or region)";
    } else if (status == 429) {
        f->err = SY_EUP_RATELIMIT;
        f->message = daily ? "the provider's daily quota for the gateway's "
                             "key is exhausted (HTTP 429)"
                           : "rate limited by the provider (HTTP 429, "
                             "RESOURCE_EXHAUSTED)";
        if (f->retry_after_ms == 0)
            f->retry_after_ms = delay;
    } else if (status == 408 || status == 504) {
        f->err = SY_EUP_TIMEOUT;
        f->message =
            sy_arena_printf(a, "the provider timed out (HTTP %d)", status);
    } else if (status == 404) {
        f->err = SY_EUP_5XX;
        f->message = sy_arena_printf(a,
                                     "the provider answered 404 (%.200s): "
                                     "check the deployment's model and "
                                     "base_url",
                                     msg ? msg : "not found");
    } else if (status >= 400 && status < 500 && status != 409) {
        f->err = SY_EUP_BADREQ;
        f->message = msg ? msg
                         : sy_arena_printf(a,
                                           "the provider rejected the "
                                           "request (HTTP %d)",
                                           status);
        f->code = gs ? sy_arena_strdup(a, gs) : NULL;
        if (msg != NULL && strstr(msg, "maximum number of tokens") != NULL)
            f->code = "context_length_exceeded";
    } else {
        f->err = SY_EUP_5XX;
        f->message = sy_arena_printf(a,
                                     "provider error (HTTP %d%s%s%s"
                                     "%.200s)",
                                     status, gs ? ", " : "", gs ? gs : "",
                                     msg ? ": " : "", msg ? msg : "");
    }
}

static void
gemini_classify(struct sy_adapter_call *call, int status, const char *body,
                size_t len, struct sy_failure *f)
{
    struct json_object *root = sy_adapter_json_parse(body, len);
    gemini_error(call, status, sy_adapter_get(root, "error"), f);
    json_object_put(root);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* OpenAI finish_reason for a Gemini finishReason; NULL when the
 * generation failed (a broken function call: retry elsewhere). */
static const char *
finish_of(const char *fr, bool calls)
{
    static const char *const filtered[] = { "SAFETY",
                                            "RECITATION",
                                            "LANGUAGE",
                                            "BLOCKLIST",
                                            "PROHIBITED_CONTENT",
                                            "SPII",
                                            "IMAGE_SAFETY",
                                            "IMAGE_PROHIBITED_CONTENT",
                                            "IMAGE_RECITATION",
                                            "IMAGE_OTHER",
                                            "NO_IMAGE",
                                            "OTHER",
                                            NULL };
    static const char *const failed[] = { "MALFORMED_FUNCTION_CALL",
                                          "UNEXPECTED_TOOL_CALL",
                                          "TOO_MANY_TOOL_CALLS",
                                          "MISSING_THOUGHT_SIGNATURE", NULL };
    if (fr != NULL && strcmp(fr, "MAX_TOKENS") == 0)
        return "length";
    if (fr != NULL && sy_adapter_str_in(fr, filtered))
        return "content_filter";
    if (fr != NULL && sy_adapter_str_in(fr, failed))
        return NULL;
    return calls ? "tool_calls" : "stop"; /* STOP, unspecified, new values */
}

/* usageMetadata into OpenAI meaning: prompt includes cached and tool-use
 * prompt tokens; completion includes thoughts. A count that is there
 * (not null) but no number makes the report unusable (billing only its
 * numbers would bill less than was used): no usage, the attempt is
 * charged an estimate. */
static void
usage_of(struct json_object *um, struct sy_usage *u)
{
    int64_t n[6] = { 0 };
    static const char *const keys[] = {
        "promptTokenCount",   "toolUsePromptTokenCount", "candidatesTokenCount",
        "thoughtsTokenCount", "cachedContentTokenCount", "totalTokenCount",
    };
    if (um == NULL)
        return;
    for (size_t i = 0; i < SY_ARRAY_LEN(keys); i++)
        if (!sy_adapter_get_int(um, keys[i], &n[i]) &&
            sy_adapter_get(um, keys[i]) != NULL) {
            memset(u, 0, sizeof(*u));
            return;
        }
    int64_t prompt = n[0], tool = n[1], cand = n[2], thoughts = n[3],
            cached = n[4], total = n[5];
    u->present = true;
    /* Saturating: the counts are the provider's numbers. */
    if (__builtin_add_overflow(prompt, tool, &u->prompt_tokens))
        u->prompt_tokens = INT64_MAX;
    if (__builtin_add_overflow(cand, thoughts, &u->completion_tokens))
        u->completion_tokens = INT64_MAX;
    if (total > 0)
        u->total_tokens = total;
    else if (__builtin_add_overflow(u->prompt_tokens, u->completion_tokens,
                                    &u->total_tokens))
        u->total_tokens = INT64_MAX;
    u->cached_tokens = cached;
    u->reasoning_tokens = thoughts;
}

static const char *
response_id(struct sy_arena *a, struct json_object *root, const char *raw,
            size_t len)
{
    const char *rid = sy_adapter_get_str(root, "responseId");
    if (rid != NULL)
        return sy_arena_printf(a, "chatcmpl-%s", rid);
    return sy_arena_printf(
        a, "chatcmpl-%s",
        sy_adapter_base62(a, sy_adapter_fnv(SY_FNV_INIT, raw, len), 24));
}

static enum sy_err
gemini_parse_response(struct sy_adapter_call *call, const char *body,
                      size_t len, struct sy_chat_resp *resp,
                      struct sy_failure *f)
{
    struct gemini_ctx *x = call->ctx;
    struct sy_arena *a = call->arena;
    struct json_object *root = sy_adapter_json_parse(body, len);
    if (!sy_adapter_is(root, json_type_object)) {
        json_object_put(root);
        return sy_adapter_proto(f, "the provider's reply is not a JSON "
                                   "object");
    }
    sy_arena_on_cleanup(a, sy_chat_json_free, root);
    if (sy_adapter_get(root, "error") != NULL) {
        gemini_error(call, 0, sy_adapter_get(root, "error"), f);
        return f->err;
    }
    struct json_object *cands = sy_adapter_get(root, "candidates");
    struct json_object *c0 = sy_adapter_is(cands, json_type_array) &&
                                     json_object_array_length(cands) > 0
                                 ? json_object_array_get_idx(cands, 0)
                                 : NULL;
    const char *block = sy_adapter_get_str(
        sy_adapter_get(root, "promptFeedback"), "blockReason");
    if (c0 == NULL && block == NULL)
        return sy_adapter_proto(f, "the provider's reply has no candidates");

    struct sy_buf text;
    sy_buf_init(&text, SY_JSON_MAX);
    struct json_object *calls = json_object_new_array();
    struct json_object *parts =
        sy_adapter_get(sy_adapter_get(c0, "content"), "parts");
    size_t n = sy_adapter_is(parts, json_type_array)
                   ? json_object_array_length(parts)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *part = json_object_array_get_idx(parts, i);
        struct json_object *thought = sy_adapter_get(part, "thought");
        const char *t = sy_adapter_get_str(part, "text");
        if (sy_adapter_is(thought, json_type_boolean) &&
            json_object_get_boolean(thought))
            continue; /* thought summaries are not part of the answer */
        if (t != NULL) {
            sy_buf_puts(&text, t);
        } else if (sy_adapter_get(part, "functionCall") != NULL) {
            int pos = (int)json_object_array_length(calls);
            if (x->one_call && pos > 0)
                continue; /* parallel_tool_calls=false: first call only */
            const char *why;
            struct json_object *tc = sy_gemini_tool_call_of(a, part, pos, &why);
            if (tc == NULL) {
                sy_buf_free(&text);
                json_object_put(calls);
                return sy_adapter_proto(f, why);
            }
            json_object_array_add(calls, tc);
        }
    }
    if (sy_buf_failed(&text)) {
        sy_buf_free(&text);
        json_object_put(calls);
        return sy_adapter_proto(f, "the provider's reply text is too large");
    }
    bool has_calls = json_object_array_length(calls) > 0;
    const char *gfr = sy_adapter_get_str(c0, "finishReason");
    const char *fr =
        block != NULL ? "content_filter" : finish_of(gfr, has_calls);
    if (fr == NULL) {
        sy_buf_free(&text);
        json_object_put(calls);
        f->err = SY_EUP_PROTO;
        f->message = sy_arena_printf(a,
                                     "the provider's generation failed "
                                     "(finishReason %.60s)",
                                     gfr);
        return SY_EUP_PROTO;
    }
    struct json_object *msg = sy_adapter_obj(
        "role", SY_JSTR("assistant"), "content",
        text.len ? json_object_new_string_len(sy_buf_cstr(&text), (int)text.len)
                 : NULL,
        NULL);
    if (has_calls)
        json_object_object_add(msg, "tool_calls", calls);
    else
        json_object_put(calls);
    sy_buf_free(&text);
    usage_of(sy_adapter_get(root, "usageMetadata"), &resp->usage);
    const char *model = sy_adapter_get_str(root, "modelVersion");
    struct json_object *out = sy_adapter_completion(
        response_id(a, root, body, len), (int64_t)sy_wall_s(),
        model ? model : call->target->model, msg, fr, &resp->usage);
    resp->finish_reason = fr;
    resp->upstream_model = model;
    return sy_adapter_set_response(call, resp, out);
}

/* ------------------------------------------------------------------ */
/* Streaming: every event is a GenerateContentResponse; the end of the */
/* body ends the stream (no [DONE] upstream).                          */

static enum sy_err
emit_delta(struct gemini_ctx *x, struct json_object *delta, const char *finish)
{
    return sy_adapter_emit_json(
        x->emit, x->emit_ud,
        sy_adapter_chunk(x->id, x->created, x->model, delta, finish), NULL,
        false);
}

static enum sy_err
gemini_event(struct gemini_ctx *x, const char *data, size_t len)
{
    struct sy_arena *a = x->call->arena;
    struct json_object *o = sy_adapter_json_parse(data, len);
    if (!sy_adapter_is(o, json_type_object)) {
        json_object_put(o);
        return sy_adapter_proto(x->f, "the provider sent a malformed stream "
                                      "event");
    }
    enum sy_err e = SY_OK;
    if (sy_adapter_get(o, "error") != NULL) {
        gemini_error(x->call, 0, sy_adapter_get(o, "error"), x->f);
        x->f->message =
            sy_arena_printf(a, "error event in the stream: %s", x->f->message);
        e = x->f->err;
        goto out;
    }
    if (!x->started) {
        const char *model = sy_adapter_get_str(o, "modelVersion");
        x->id = response_id(a, o, data, len);
        x->model = sy_arena_strdup(a, model ? model : x->call->target->model);
        x->created = (int64_t)sy_wall_s();
        x->started = true;
        e = sy_adapter_emit_opening(x->emit, x->emit_ud, x->id, x->created,
                                    x->model);
        if (e != SY_OK)
            goto out;
    }
    if (sy_adapter_get_str(sy_adapter_get(o, "promptFeedback"),
                           "blockReason") != NULL)
        x->blocked = true;
    struct json_object *cands = sy_adapter_get(o, "candidates");
    struct json_object *c0 = sy_adapter_is(cands, json_type_array) &&
                                     json_object_array_length(cands) > 0
                                 ? json_object_array_get_idx(cands, 0)
                                 : NULL;
    struct json_object *parts =
        sy_adapter_get(sy_adapter_get(c0, "content"), "parts");
    size_t n = sy_adapter_is(parts, json_type_array)
                   ? json_object_array_length(parts)
                   : 0;
    struct sy_buf text;
    sy_buf_init(&text, SY_JSON_MAX);
    struct json_object *calls = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        struct json_object *part = json_object_array_get_idx(parts, i);
        struct json_object *thought = sy_adapter_get(part, "thought");
        const char *t = sy_adapter_get_str(part, "text");
        if (sy_adapter_is(thought, json_type_boolean) &&
            json_object_get_boolean(thought))
            continue;
        if (t != NULL) {
            sy_buf_puts(&text, t);
        } else if (sy_adapter_get(part, "functionCall") != NULL) {
            if (x->one_call && x->ncalls > 0)
                continue;
            const char *why;
            struct json_object *tc =
                sy_gemini_tool_call_of(a, part, x->ncalls, &why);
            if (tc == NULL) {
                e = sy_adapter_proto(x->f, why);
                break;
            }
            json_object_object_add(tc, "index",
                                   json_object_new_int(x->ncalls++));
            json_object_array_add(calls, tc);
        }
    }
    if (e == SY_OK && sy_buf_failed(&text))
        e = sy_adapter_proto(x->f, "the provider's event text is too large");
    if (e == SY_OK && (text.len > 0 || json_object_array_length(calls) > 0)) {
        struct json_object *d = json_object_new_object();
        if (text.len > 0)
            json_object_object_add(
                d, "content",
                json_object_new_string_len(sy_buf_cstr(&text), (int)text.len));
        if (json_object_array_length(calls) > 0)
            json_object_object_add(d, "tool_calls", json_object_get(calls));
        e = emit_delta(x, d, NULL);
    }
    json_object_put(calls);
    sy_buf_free(&text);
    const char *fr = sy_adapter_get_str(c0, "finishReason");
    /* Copied only when it changes: a provider repeating it on every
     * event must not grow the request arena with each one. */
    if (fr != NULL && (x->finish == NULL || strcmp(x->finish, fr) != 0))
        x->finish = sy_arena_strdup(a, fr);
    if (sy_adapter_get(o, "usageMetadata") != NULL)
        usage_of(sy_adapter_get(o, "usageMetadata"), &x->usage);
out:
    json_object_put(o);
    return e;
}

/* End of body: the finish chunk, the usage chunk, then done. */
static enum sy_err
stream_end(struct gemini_ctx *x)
{
    if (!x->started)
        return sy_adapter_proto(x->f, "the provider's stream was empty");
    if (x->finish == NULL && !x->blocked)
        return sy_adapter_proto(x->f, "the stream ended without a "
                                      "finishReason");
    const char *fr =
        x->blocked ? "content_filter" : finish_of(x->finish, x->ncalls > 0);
    if (fr == NULL) {
        x->f->err = SY_EUP_PROTO;
        x->f->message = sy_arena_printf(x->call->arena,
                                        "the provider's "
                                        "generation failed (finishReason "
                                        "%.60s)",
                                        x->finish);
        return SY_EUP_PROTO;
    }
    enum sy_err e = emit_delta(x, NULL, fr);
    if (e == SY_OK && x->usage.present)
        e = sy_adapter_emit_json(
            x->emit, x->emit_ud,
            sy_adapter_usage_chunk(x->id, x->created, x->model, &x->usage),
            &x->usage, true);
    x->done = true;
    return e != SY_OK ? e : sy_adapter_emit_done(x->emit, x->emit_ud);
}

/* The table's stream_event slot (see adapter.h): one event, or the end
 * of the body (ev == NULL), which ends the stream. */
static enum sy_err
gemini_stream_event(struct sy_adapter_call *call, const struct sy_sse_event *ev,
                    sy_emit_fn emit, void *ud, struct sy_failure *f)
{
    struct gemini_ctx *x = call->ctx;
    x->call = call;
    x->f = f;
    x->emit = emit;
    x->emit_ud = ud;
    if (x->done)
        return SY_OK;
    return ev != NULL ? gemini_event(x, ev->data, ev->len) : stream_end(x);
}

const struct sy_adapter sy_adapter_gemini = {
    .abi = SY_ADAPTER_ABI,
    .name = "gemini",
    .caps = SY_CAP_STREAM | SY_CAP_TOOLS | SY_CAP_PARALLEL_TOOLS |
            SY_CAP_JSON_OBJECT | SY_CAP_JSON_SCHEMA | SY_CAP_VISION |
            SY_CAP_STREAM_USAGE | SY_CAP_EMBED,
    .ctx_size = sizeof(struct gemini_ctx),
    .conf_keys = sy_gemini_keys,
    .init = sy_gemini_init,
    .build_request = sy_gemini_build_request,
    .parse_response = gemini_parse_response,
    .stream_event = gemini_stream_event,
    .classify = gemini_classify,
    .build_embed = sy_gemini_build_embed,
    .parse_embed = sy_gemini_parse_embed,
};
