/*
 * responses_surface_out.c - what the Responses surface sends back to its
 * caller (api/surface.h): OpenAI error bodies, and a canonical
 * chat.completion as a Response object (reasoning, message, function
 * and custom tool call output items, usage), written straight into the
 * reply buffer; plus the pieces of a Response that
 * responses_surface_stream.c shares: ids, the Response object in
 * progress or ended with the caller's parameters echoed, tool call
 * items. No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/clock.h"
#include "base/traceparent.h"
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

/* A response's id is the gateway's own, 128 random bits: the
 * conversation store keys on it, and a provider's ids need not be unique
 * (an OpenAI-compatible server may draw them from a few hundred values,
 * or leave them out), so an id derived from one could name another
 * conversation's record. Every id of the response's items is made from
 * it. */
void
sy_rsurf_resp_id(char *dst, size_t cap)
{
    char hex[2 * SY_RSURF_ID_BYTES + 1];
    sy_trace_random_hex(hex, SY_RSURF_ID_BYTES);
    snprintf(dst, cap, "resp_gw%s", hex);
}

void
sy_rsurf_item_id(char *dst, size_t cap, const char *prefix, const char *resp_id,
                 unsigned n)
{
    snprintf(dst, cap, "%s_%s_%u", prefix, resp_id + 5, n);
}

/* ------------------------------------------------------------------ */
/* The Response object                                                 */

/* Written straight into the buffer rather than built as a json-c tree
 * and serialised: the tree cost a Responses reply several times what a
 * chat reply costs (issue 16). Keys come in the order the tree had
 * (tests/unit/test_responses_reply_cases.c holds what it wrote); strings
 * go through sy_buf_json_str, and what is echoed from the caller's body
 * is serialised by json-c as it came. Appends are checked once, by the
 * caller, with sy_buf_err. */

/* A C string as a JSON string: up to its NUL, as json-c's
 * json_object_new_string took it. */
static void
str(struct sy_buf *out, const char *s)
{
    sy_buf_json_str(out, s, strlen(s));
}

/* Text a provider wrote (or a caller's content), by its length: it may
 * hold NUL ("\u0000" is valid JSON), which goes out escaped. */
static void
strn(struct sy_buf *out, const char *s, size_t len)
{
    sy_buf_json_str(out, s, len);
}

static void
num(struct sy_buf *out, int64_t n)
{
    sy_buf_printf(out, "%lld", (long long)n);
}

/* ,"KEY": and member 'key' of the caller's body 'native' as it came,
 * else the JSON text 'dflt' (JSON null in the body counts as absent). */
static void
echo(struct sy_buf *out, struct json_object *native, const char *key,
     const char *dflt)
{
    sy_buf_printf(out, ",\"%s\":", key);
    struct json_object *v = sy_adapter_get(native, key);
    if (v == NULL)
        sy_buf_puts(out, dflt);
    else
        sy_adapter_json_write(out, v);
}

/* Responses usage: input_tokens includes what the cache read and wrote
 * (as the canonical prompt count does). NULL counts zeros. */
static void
usage_write(struct sy_buf *out, const struct sy_usage *u)
{
    int64_t in = 0, outn = 0, cr = 0, cw = 0, think = 0, total = 0;
    if (u != NULL && u->present) {
        in = SY_MAX(u->prompt_tokens, 0);
        outn = SY_MAX(u->completion_tokens, 0);
        cr = SY_MAX(u->cached_tokens, 0);
        cw = SY_MAX(u->cache_write_tokens, 0);
        think = SY_MAX(u->reasoning_tokens, 0);
        total = u->total_tokens;
        /* Saturating: the counts are a provider's numbers. */
        if (total <= 0 && __builtin_add_overflow(in, outn, &total))
            total = INT64_MAX;
    }
    sy_buf_printf(out,
                  "{\"input_tokens\":%lld,\"input_tokens_details\":{"
                  "\"cached_tokens\":%lld,\"cache_write_tokens\":%lld},"
                  "\"output_tokens\":%lld,\"output_tokens_details\":{"
                  "\"reasoning_tokens\":%lld},\"total_tokens\":%lld}",
                  (long long)in, (long long)cr, (long long)cw, (long long)outn,
                  (long long)think, (long long)total);
}

bool
sy_rsurf_incomplete(const char *finish)
{
    return finish != NULL && (strcmp(finish, "length") == 0 ||
                              strcmp(finish, "content_filter") == 0);
}

void
sy_rsurf_response_write(struct sy_buf *out, const struct sy_chat_req *req,
                        const struct rsurf_resp *r)
{
    struct json_object *n = req->native.root;
    bool inc = r->ended && sy_rsurf_incomplete(r->finish);
    sy_buf_puts(out, "{\"id\":");
    str(out, r->id);
    sy_buf_puts(out, ",\"object\":\"response\",\"created_at\":");
    num(out, r->created);
    sy_buf_puts(out, !r->ended ? ",\"status\":\"in_progress\""
                     : inc     ? ",\"status\":\"incomplete\""
                               : ",\"status\":\"completed\"");
    sy_buf_puts(out, ",\"background\":false,\"error\":null,"
                     "\"incomplete_details\":");
    if (inc)
        sy_buf_puts(out, strcmp(r->finish, "length") == 0
                             ? "{\"reason\":\"max_output_tokens\"}"
                             : "{\"reason\":\"content_filter\"}");
    else
        sy_buf_puts(out, "null");
    echo(out, n, "instructions", "null");
    echo(out, n, "max_output_tokens", "null");
    sy_buf_puts(out, ",\"model\":");
    str(out, r->model ? r->model : "");
    sy_buf_puts(out, ",\"output\":");
    r->output(out, r->ctx);
    echo(out, n, "parallel_tool_calls", "true");
    echo(out, n, "previous_response_id", "null");
    echo(out, n, "reasoning", "{\"effort\":null,\"summary\":null}");
    echo(out, n, "temperature", "null");
    echo(out, n, "text", "{\"format\":{\"type\":\"text\"}}");
    echo(out, n, "tool_choice", "\"auto\"");
    echo(out, n, "tools", "[]");
    echo(out, n, "top_p", "null");
    echo(out, n, "truncation", "\"disabled\"");
    sy_buf_puts(out, ",\"usage\":");
    if (r->ended)
        usage_write(out, r->usage);
    else
        sy_buf_puts(out, "null");
    echo(out, n, "metadata", "{}");
    sy_buf_puts(out, "}");
}

void
sy_rsurf_call_item_write(struct sy_buf *out, const struct sy_chat_req *req,
                         const char *item_id, const char *call_id,
                         const char *cname, const char *args,
                         const char *status)
{
    struct rsurf_tools scratch;
    const struct rsurf_tool *tool =
        sy_rsurf_tool_find(req->native.root, &scratch, cname);
    sy_buf_puts(out, "{\"id\":");
    str(out, item_id);
    if (tool != NULL && tool->custom) {
        sy_buf_puts(out, ",\"type\":\"custom_tool_call\",\"call_id\":");
        str(out, call_id);
        sy_buf_puts(out, ",\"name\":");
        str(out, tool->name);
        /* The input keeps any NUL its JSON escaped, as json-c did. */
        struct json_object *in = sy_rsurf_custom_input(args);
        sy_buf_puts(out, ",\"input\":");
        sy_buf_json_str(out, json_object_get_string(in),
                        (size_t)json_object_get_string_len(in));
        json_object_put(in);
    } else {
        sy_buf_puts(out, ",\"type\":\"function_call\",\"status\":");
        str(out, status);
        sy_buf_puts(out, ",\"arguments\":");
        str(out, args ? args : "");
        sy_buf_puts(out, ",\"call_id\":");
        str(out, call_id);
        sy_buf_puts(out, ",\"name\":");
        str(out, tool ? tool->name : cname ? cname : "");
    }
    if (tool != NULL && tool->ns != NULL) {
        sy_buf_puts(out, ",\"namespace\":");
        str(out, tool->ns);
    }
    sy_buf_puts(out, "}");
}

/* The stream's items are trees it completes as deltas come; a call
 * item is parsed from what the writer says, so that its shape is
 * written down once. */
struct json_object *
sy_rsurf_call_item(const struct sy_chat_req *req, const char *item_id,
                   const char *call_id, const char *cname, const char *args,
                   const char *status)
{
    struct sy_buf b;
    sy_buf_init(&b, SY_JSON_MAX);
    sy_rsurf_call_item_write(&b, req, item_id, call_id, cname, args, status);
    struct json_object *item =
        sy_buf_failed(&b) ? NULL : sy_adapter_json_parse(b.data, b.len);
    sy_buf_free(&b);
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

/* The reasoning text of 'o' with its length in '*len' (it may hold
 * NUL). */
static const char *
reasoning_ofn(struct json_object *o, size_t *len)
{
    const char *r = sy_adapter_get_strn(o, "reasoning_content", len);
    return r != NULL ? r : sy_adapter_get_strn(o, "reasoning", len);
}

const char *
sy_rsurf_reasoning_of(struct json_object *o)
{
    size_t len;
    return reasoning_ofn(o, &len);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* A reply's output: the items of canonical message 'msg'. */
struct reply_output {
    const struct sy_chat_req *req;
    struct sy_arena *a;
    struct json_object *msg;
    const char *id;
    bool inc;
};

/* The items of canonical message 'msg' as an output array: its
 * reasoning, its text (or refusal), then its tool calls. */
static void
output_items(struct sy_buf *out, void *ctx)
{
    const struct reply_output *o = ctx;
    unsigned n = 0;
    char iid[128];
    sy_buf_puts(out, "[");
    size_t rn, tn, rfn;
    const char *r = reasoning_ofn(o->msg, &rn);
    if (r != NULL && rn > 0) {
        sy_rsurf_item_id(iid, sizeof(iid), "rs", o->id, n++);
        sy_buf_puts(out, "{\"id\":");
        str(out, iid);
        sy_buf_puts(out, ",\"type\":\"reasoning\",\"summary\":[{\"type\":"
                         "\"summary_text\",\"text\":");
        strn(out, r, rn);
        sy_buf_puts(out, "}]}");
    }
    const char *text = sy_adapter_content_textn(
        o->a, sy_adapter_get(o->msg, "content"), &tn, NULL);
    const char *refusal = sy_adapter_get_strn(o->msg, "refusal", &rfn);
    bool has_text = text != NULL && tn > 0;
    if (has_text || (refusal != NULL && rfn > 0)) {
        sy_rsurf_item_id(iid, sizeof(iid), "msg", o->id, n++);
        sy_buf_puts(out, n > 1 ? ",{\"id\":" : "{\"id\":");
        str(out, iid);
        sy_buf_puts(out, o->inc ? ",\"type\":\"message\",\"status\":"
                                  "\"incomplete\",\"role\":\"assistant\","
                                  "\"content\":["
                                : ",\"type\":\"message\",\"status\":"
                                  "\"completed\",\"role\":\"assistant\","
                                  "\"content\":[");
        if (has_text) {
            sy_buf_puts(out, "{\"type\":\"output_text\",\"text\":");
            strn(out, text, tn);
            sy_buf_puts(out, ",\"annotations\":[]}]}");
        } else {
            sy_buf_puts(out, "{\"type\":\"refusal\",\"refusal\":");
            strn(out, refusal, rfn);
            sy_buf_puts(out, "}]}");
        }
    }
    struct json_object *calls = sy_adapter_get(o->msg, "tool_calls");
    size_t nc = sy_adapter_is(calls, json_type_array)
                    ? json_object_array_length(calls)
                    : 0;
    for (size_t i = 0; i < nc; i++, n++) {
        struct json_object *tc = json_object_array_get_idx(calls, i);
        struct json_object *fn = sy_adapter_get(tc, "function");
        const char *call_id = sy_adapter_get_str(tc, "id");
        char gen[112];
        if (call_id == NULL || call_id[0] == '\0') {
            snprintf(gen, sizeof(gen), "call_%s_%u", o->id + 5, n);
            call_id = gen;
        }
        if (n > 0)
            sy_buf_puts(out, ",");
        sy_rsurf_item_id(iid, sizeof(iid), "fc", o->id, n);
        sy_rsurf_call_item_write(
            out, o->req, iid, call_id, sy_adapter_get_str(fn, "name"),
            sy_adapter_get_str(fn, "arguments"), "completed");
    }
    sy_buf_puts(out, "]");
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
    sy_rsurf_resp_id(id, sizeof(id));
    int64_t created;
    if (!sy_adapter_get_int(root, "created", &created))
        created = (int64_t)sy_wall_s();
    struct sy_usage u = resp->usage;
    if (!u.present)
        sy_chat_usage_from_json(sy_adapter_get(root, "usage"), &u);
    struct reply_output items = { req, a, sy_adapter_get(choice, "message"), id,
                                  sy_rsurf_incomplete(finish) };
    struct rsurf_resp r = { .id = id,
                            .created = created,
                            .model = model,
                            .ended = true,
                            .finish = finish,
                            .usage = &u,
                            .output = output_items,
                            .ctx = &items };
    sy_rsurf_response_write(out, req, &r);
    return sy_buf_err(out) == SY_OK ? SY_OK : SY_ETOOBIG;
}
