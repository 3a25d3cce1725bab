/*
 * responses_surface_stream.c - canonical chunks as the Responses API's
 * stream events (response.created, response.in_progress, output items
 * added and done with their parts and deltas, response.completed or
 * response.incomplete; "error" when the stream fails), each with its
 * sequence_number, which the OpenAI SDKs and Codex CLI accumulate into
 * the same Response a reply would be.
 *
 * The done events repeat what the deltas said (the whole text, the whole
 * arguments) and the closing event carries the whole Response, which
 * stream_result also hands to the conversation store: the stream keeps
 * the output items it describes (a tree, completed as deltas come) and
 * the closing Response as text (sy_rsurf_response_write, like a reply).
 * A surface's state is fixed-size and zeroed per attempt, with no arena,
 * so these, the text of the open item and the tool calls
 * (responses_surface_calls.c) live in an accumulator that the canonical
 * request's tree owns (json-c userdata on req->root, freed with the tree
 * by the request's arena). Every stream of the request (a hedged pair
 * has two) has its own accumulator in one list there; a new attempt on
 * the same state (zeroed again) takes back the one it had, emptied.
 *
 * A provider may interleave the argument pieces of parallel tool calls
 * (index 0, 1, 0, 1, ...). Every event names its item (output_index,
 * item_id), so several function_call items may be in progress at once:
 * a new call closes the calls' items only when their arguments are
 * whole (a sequential stream whose calls' arguments are each a whole
 * object gets the events it always did; a call with empty or never
 * whole arguments stays open beside the next ones, a valid order the
 * SDKs accumulate, so no late piece of it is lost);
 * otherwise its item opens next to them, each call's deltas go to its
 * own item, and they all close together (their .done events in
 * output_index order) before an item of another kind, or at the end.
 * No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/clock.h"
#include "responses_surface_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

#include <json-c/json.h>

/* What a stream builds: the Response's creation time, model and output
 * items, the closing Response once written, the text of the open text,
 * refusal or reasoning item, and the tool calls; and the next stream's
 * accumulator of the same request. */
struct rsurf_acc {
    struct rsurf_acc *next;
    const void *owner; /* the stream state it belongs to */
    int64_t created;
    char *model;
    struct json_object *output; /* the output items, an array */
    struct sy_buf final;        /* the Response of the closing event */
    bool done;                  /* 'final' is written */
    struct sy_buf piece;
    struct rsurf_calls calls;
};

/* Empty 'acc' for a new attempt (its list links kept). */
static void
acc_reset(struct rsurf_acc *acc)
{
    json_object_put(acc->output);
    acc->output = NULL;
    free(acc->model);
    acc->model = NULL;
    acc->created = 0;
    acc->done = false;
    sy_buf_free(&acc->final);
    sy_buf_free(&acc->piece);
    sy_buf_init(&acc->piece, INT_MAX / 2);
    sy_buf_init(&acc->final, INT_MAX / 2);
    sy_rsurf_calls_free(&acc->calls);
}

/* The userdata destructor of the request's tree: every accumulator. */
static void
acc_free(struct json_object *o, void *ud)
{
    (void)o;
    struct rsurf_acc *next;
    for (struct rsurf_acc *acc = ud; acc != NULL; acc = next) {
        next = acc->next;
        acc_reset(acc);
        sy_buf_free(&acc->piece);
        sy_buf_free(&acc->final);
        free(acc);
    }
}

/* The accumulator of stream 's', empty, owned by 'req's tree (NULL
 * without one): an earlier attempt's on the same state, or a new one.
 * The request is const to the surface; its tree's members do not
 * change. The Responses surface owns the userdata of its requests'
 * trees. */
static struct rsurf_acc *
acc_new(const struct rsurf_stream *s, const struct sy_chat_req *req)
{
    if (req->root == NULL)
        return NULL;
    struct rsurf_acc *head = json_object_get_userdata(req->root);
    for (struct rsurf_acc *acc = head; acc != NULL; acc = acc->next)
        if (acc->owner == s) {
            acc_reset(acc);
            return acc;
        }
    struct rsurf_acc *acc = sy_xcalloc(1, sizeof(*acc));
    acc->owner = s;
    sy_buf_init(&acc->piece, INT_MAX / 2);
    sy_buf_init(&acc->final, INT_MAX / 2);
    if (head == NULL) {
        json_object_set_userdata(req->root, acc, acc_free);
    } else {
        acc->next = head->next;
        head->next = acc;
    }
    return acc;
}

/* One event: "event: TYPE" and its data {type, sequence_number, then
 * the key / value pairs given (values taken over)}, NULL-terminated. */
static void __attribute__((sentinel))
event(struct rsurf_stream *s, struct sy_buf *out, const char *type, ...)
{
    struct json_object *o =
        sy_adapter_obj("type", SY_JSTR(type), "sequence_number",
                       json_object_new_int64(s->seq++), NULL);
    va_list ap;
    va_start(ap, type);
    for (const char *k = va_arg(ap, const char *); k != NULL;
         k = va_arg(ap, const char *))
        json_object_object_add(o, k, va_arg(ap, struct json_object *));
    va_end(ap);
    sy_buf_puts(out, "event: ");
    sy_buf_puts(out, type);
    sy_buf_puts(out, "\ndata: ");
    sy_adapter_json_write(out, o);
    sy_buf_puts(out, "\n\n");
    json_object_put(o);
}

static void
output_write(struct sy_buf *out, void *output)
{
    sy_adapter_json_write(out, output);
}

/* An event whose data is {type, sequence_number, response}: the
 * Response in progress, or the closing one stream_end wrote. */
static void
response_event(struct rsurf_stream *s, const struct sy_chat_req *req,
               const char *type, struct sy_buf *out)
{
    struct rsurf_acc *acc = s->acc;
    sy_buf_printf(out,
                  "event: %s\ndata: {\"type\":\"%s\",\"sequence_number\":"
                  "%lld,\"response\":",
                  type, type, (long long)s->seq++);
    if (acc->done) {
        sy_buf_append(out, acc->final.data, acc->final.len);
    } else {
        struct rsurf_resp r = { .id = s->id,
                                .created = acc->created,
                                .model = acc->model,
                                .output = output_write,
                                .ctx = acc->output };
        sy_rsurf_response_write(out, req, &r);
    }
    sy_buf_puts(out, "}\n\n");
}

static struct json_object *
output_of(struct rsurf_stream *s)
{
    return s->acc->output;
}

/* The item at output_index 'at'. */
static struct json_object *
item_at(struct rsurf_stream *s, int64_t at)
{
    return json_object_array_get_idx(output_of(s), (size_t)at);
}

/* The id of the item at 'at', a new reference for an event. */
static struct json_object *
id_at(struct rsurf_stream *s, int64_t at)
{
    return json_object_get(sy_adapter_get(item_at(s, at), "id"));
}

static struct json_object *
num(int64_t n)
{
    return json_object_new_int64(n);
}

/* response.created and response.in_progress, once. */
static void
stream_start(struct rsurf_stream *s, const struct sy_chat_req *req,
             struct json_object *chunk, struct sy_buf *out)
{
    s->started = true;
    const char *model = sy_adapter_get_str(chunk, "model");
    if (model == NULL)
        model = req->model;
    sy_rsurf_resp_id(s->id, sizeof(s->id));
    if (!sy_adapter_get_int(chunk, "created", &s->acc->created))
        s->acc->created = (int64_t)sy_wall_s();
    s->acc->model = sy_xstrdup(model ? model : "");
    s->acc->output = json_object_new_array();
    response_event(s, req, "response.created", out);
    response_event(s, req, "response.in_progress", out);
}

/* ------------------------------------------------------------------ */
/* Items                                                               */

/* The content part of a message item of 'kind' (text or refusal) that
 * holds 'text' (taken over). */
static struct json_object *
part_of(enum rsurf_open kind, struct json_object *text)
{
    if (kind == RSURF_REFUSAL)
        return sy_adapter_obj("type", SY_JSTR("refusal"), "refusal", text,
                              NULL);
    return sy_adapter_obj("type", SY_JSTR("output_text"), "annotations",
                          json_object_new_array(), "logprobs",
                          json_object_new_array(), "text", text, NULL);
}

/* The done events of the part or arguments of the item at 'at', of
 * 'kind', whose whole text is 'text'. */
static void
item_text_done(struct rsurf_stream *s, enum rsurf_open kind, int64_t at,
               struct json_object *text, struct sy_buf *out)
{
    struct json_object *item = item_at(s, at);
    if (kind == RSURF_TEXT || kind == RSURF_REFUSAL) {
        struct json_object *part = part_of(kind, json_object_get(text));
        json_object_object_add(item, "content", sy_adapter_arr1(part));
        if (kind == RSURF_REFUSAL)
            event(s, out, "response.refusal.done", "item_id", id_at(s, at),
                  "output_index", num(at), "content_index", num(0), "refusal",
                  json_object_get(text), NULL);
        else
            event(s, out, "response.output_text.done", "item_id", id_at(s, at),
                  "output_index", num(at), "content_index", num(0), "text",
                  json_object_get(text), "logprobs", json_object_new_array(),
                  NULL);
        event(s, out, "response.content_part.done", "item_id", id_at(s, at),
              "output_index", num(at), "content_index", num(0), "part",
              json_object_get(part), NULL);
    } else if (kind == RSURF_REASONING) {
        struct json_object *part =
            sy_adapter_obj("type", SY_JSTR("summary_text"), "text",
                           json_object_get(text), NULL);
        json_object_object_add(item, "summary", sy_adapter_arr1(part));
        event(s, out, "response.reasoning_summary_text.done", "item_id",
              id_at(s, at), "output_index", num(at), "summary_index", num(0),
              "text", json_object_get(text), NULL);
        event(s, out, "response.reasoning_summary_part.done", "item_id",
              id_at(s, at), "output_index", num(at), "summary_index", num(0),
              "part", json_object_get(part), NULL);
    } else if (strcmp(sy_adapter_get_str(item, "type"), "custom_tool_call") ==
               0) {
        struct json_object *in =
            sy_rsurf_custom_input(json_object_get_string(text));
        json_object_object_add(item, "input", json_object_get(in));
        if (json_object_get_string_len(in) > 0)
            event(s, out, "response.custom_tool_call_input.delta", "item_id",
                  id_at(s, at), "output_index", num(at), "delta",
                  json_object_get(in), NULL);
        event(s, out, "response.custom_tool_call_input.done", "item_id",
              id_at(s, at), "output_index", num(at), "input", in, NULL);
    } else {
        json_object_object_add(item, "arguments", json_object_get(text));
        event(s, out, "response.function_call_arguments.done", "item_id",
              id_at(s, at), "output_index", num(at), "arguments",
              json_object_get(text), NULL);
    }
}

/* The done events of the item at 'at', of 'kind', whose whole text is
 * 'p' (failed: empty); 'status' is the item's. */
static void
item_done(struct rsurf_stream *s, enum rsurf_open kind, int64_t at,
          const struct sy_buf *p, const char *status, struct sy_buf *out)
{
    struct json_object *item = item_at(s, at);
    struct json_object *text =
        json_object_new_string_len(sy_buf_failed(p) ? "" : sy_buf_cstr(p),
                                   sy_buf_failed(p) ? 0 : (int)p->len);
    item_text_done(s, kind, at, text, out);
    json_object_put(text);
    if (kind != RSURF_REASONING && sy_adapter_get(item, "status") != NULL)
        json_object_object_add(item, "status", SY_JSTR(status));
    event(s, out, "response.output_item.done", "output_index", num(at), "item",
          json_object_get(item), NULL);
}

/* Close the open items: the open text, refusal or reasoning item (its
 * text in acc->piece), or every open tool call's item in output_index
 * order (each with its own arguments); 'status' is theirs. */
static void
item_close(struct rsurf_stream *s, const char *status, struct sy_buf *out)
{
    if (s->open == RSURF_CALL) {
        struct rsurf_calls *c = &s->acc->calls;
        for (size_t i = c->first_open; i < c->n; i++)
            item_done(s, RSURF_CALL, c->v[i].at, &c->v[i].args, status, out);
        sy_rsurf_calls_closed(c);
    } else if (s->open != RSURF_NONE) {
        item_done(s, s->open, s->nitems - 1, &s->acc->piece, status, out);
    }
    s->open = RSURF_NONE;
}

/* Add 'item' (taken over) of 'kind' to the output, with its added
 * events; the items open already stay open. */
static void
item_add(struct rsurf_stream *s, enum rsurf_open kind, struct json_object *item,
         struct sy_buf *out)
{
    json_object_array_add(output_of(s), item);
    int64_t at = s->nitems++;
    s->open = kind;
    event(s, out, "response.output_item.added", "output_index", num(at), "item",
          json_object_get(item), NULL);
    if (kind == RSURF_TEXT || kind == RSURF_REFUSAL)
        event(s, out, "response.content_part.added", "item_id", id_at(s, at),
              "output_index", num(at), "content_index", num(0), "part",
              part_of(kind, SY_JSTR("")), NULL);
    else if (kind == RSURF_REASONING)
        event(s, out, "response.reasoning_summary_part.added", "item_id",
              id_at(s, at), "output_index", num(at), "summary_index", num(0),
              "part",
              sy_adapter_obj("type", SY_JSTR("summary_text"), "text",
                             SY_JSTR(""), NULL),
              NULL);
}

/* A piece of text, refusal or reasoning: into the open item of its
 * kind, or a new one (closing the open items). */
static void
text_piece(struct rsurf_stream *s, enum rsurf_open kind, const char *piece,
           size_t len, struct sy_buf *out)
{
    if (piece == NULL || len == 0)
        return;
    bool think = kind == RSURF_REASONING;
    if (s->open != kind) {
        char iid[128];
        sy_rsurf_item_id(iid, sizeof(iid), think ? "rs" : "msg", s->id,
                         s->nitems);
        struct json_object *item =
            think
                ? sy_adapter_obj("id", SY_JSTR(iid), "type",
                                 SY_JSTR("reasoning"), "summary",
                                 json_object_new_array(), NULL)
                : sy_adapter_obj("id", SY_JSTR(iid), "type", SY_JSTR("message"),
                                 "status", SY_JSTR("in_progress"), "role",
                                 SY_JSTR("assistant"), "content",
                                 json_object_new_array(), NULL);
        item_close(s, "completed", out);
        sy_buf_clear(&s->acc->piece);
        item_add(s, kind, item, out);
    }
    /* By length: the piece may hold NUL ("\u0000" is valid JSON). */
    sy_buf_append(&s->acc->piece, piece, len);
    struct json_object *delta = json_object_new_string_len(piece, (int)len);
    int64_t at = s->nitems - 1;
    if (think)
        event(s, out, "response.reasoning_summary_text.delta", "item_id",
              id_at(s, at), "output_index", num(at), "summary_index", num(0),
              "delta", delta, NULL);
    else if (kind == RSURF_REFUSAL)
        event(s, out, "response.refusal.delta", "item_id", id_at(s, at),
              "output_index", num(at), "content_index", num(0), "delta", delta,
              NULL);
    else
        event(s, out, "response.output_text.delta", "item_id", id_at(s, at),
              "output_index", num(at), "content_index", num(0), "delta", delta,
              "logprobs", json_object_new_array(), NULL);
}

/* The item of new tool call 'index' ('tc' its first piece, 'fn' its
 * function), added to the output (closing the open items first when
 * they are not tool calls, or tool calls whose arguments are all
 * whole), and the call that keeps its arguments; NULL when it cannot be
 * built. */
static struct rsurf_call *
call_open(struct rsurf_stream *s, const struct sy_chat_req *req, int64_t index,
          struct json_object *tc, struct json_object *fn, struct sy_buf *out)
{
    const char *id = sy_adapter_get_str(tc, "id");
    char gen[128];
    if (id == NULL || id[0] == '\0') {
        snprintf(gen, sizeof(gen), "call_%s_%lld", s->id + 5, (long long)index);
        id = gen;
    }
    char iid[128];
    sy_rsurf_item_id(iid, sizeof(iid), "fc", s->id, s->nitems);
    struct json_object *item = sy_rsurf_call_item(
        req, iid, id, sy_adapter_get_str(fn, "name"), "", "in_progress");
    if (item == NULL)
        return NULL; /* cannot happen: the writer's JSON parses */
    bool custom =
        strcmp(sy_adapter_get_str(item, "type"), "custom_tool_call") == 0;
    if (s->open != RSURF_CALL || sy_rsurf_calls_whole(&s->acc->calls))
        item_close(s, "completed", out);
    item_add(s, RSURF_CALL, item, out);
    return sy_rsurf_calls_add(&s->acc->calls, index, s->nitems - 1, custom);
}

/* End the stream with an error event (nothing follows it) instead of
 * a call cut short or a response that grows without end: 'why' says
 * what the provider sent. */
static void
calls_fail(struct rsurf_stream *s, const char *why, struct sy_buf *out)
{
    sy_rsurf_stream_error(s, 502, why, "upstream_error",
                          "upstream_bad_response", out);
    /* An event lost with an overflowing 'out' leaves the pipeline's
     * stream_error to send one. */
    s->failed = !sy_buf_failed(out);
}

/* One canonical tool_calls entry: a new call item when its index has
 * none (call_open), then its arguments, as a delta of its own item. A
 * call whose item was closed already cannot be reopened: its late
 * pieces are dropped (it was whole, or an item of another kind came
 * after it). A custom tool's input is told whole when its item closes:
 * the canonical arguments are JSON around it. Arguments past what the
 * open calls may hold, or calls past SY_RESPONSES_STREAM_MAX_CALLS, end
 * the stream with an error event, never with a call cut short. */
static void
tool_piece(struct rsurf_stream *s, const struct sy_chat_req *req,
           struct json_object *tc, struct sy_buf *out)
{
    int64_t index = 0;
    sy_adapter_get_int(tc, "index", &index);
    struct json_object *fn = sy_adapter_get(tc, "function");
    size_t an; /* by length: arguments may hold NUL */
    const char *args = sy_adapter_get_strn(fn, "arguments", &an);
    struct rsurf_call *call = sy_rsurf_calls_find(&s->acc->calls, index);
    if (call == NULL && s->acc->calls.n >= SY_RESPONSES_STREAM_MAX_CALLS) {
        calls_fail(s,
                   "the provider sent more tool calls than the gateway "
                   "can hold",
                   out);
        return;
    }
    if (call == NULL)
        call = call_open(s, req, index, tc, fn, out);
    if (call == NULL || !call->open || args == NULL || an == 0)
        return;
    if (sy_rsurf_calls_append(&s->acc->calls, call, args, an) != SY_OK) {
        calls_fail(s,
                   "the provider sent more tool call arguments than the "
                   "gateway can hold",
                   out);
        return;
    }
    if (!call->custom)
        event(s, out, "response.function_call_arguments.delta", "item_id",
              id_at(s, call->at), "output_index", num(call->at), "delta",
              json_object_new_string_len(args, (int)an), NULL);
}

/* ------------------------------------------------------------------ */
/* The table's slots                                                   */

enum sy_err
sy_rsurf_stream_chunk(void *st, const struct sy_chat_req *req, const char *json,
                      size_t len, struct sy_buf *out)
{
    struct rsurf_stream *s = st;
    if (s->ended)
        return SY_OK;
    struct json_object *o = sy_adapter_json_parse(json, len);
    if (!sy_adapter_is(o, json_type_object)) {
        json_object_put(o);
        return SY_OK; /* not a chunk: nothing to say */
    }
    if (s->acc == NULL && (s->acc = acc_new(s, req)) == NULL) {
        json_object_put(o);
        return SY_EINTERNAL;
    }
    if (!s->started)
        stream_start(s, req, o, out);
    /* Usage-only chunks have no choice 0: the usage comes at the end. */
    struct json_object *choice = sy_rsurf_first_choice(o);
    struct json_object *delta = sy_adapter_get(choice, "delta");
    size_t pn;
    const char *piece = sy_adapter_get_strn(delta, "reasoning_content", &pn);
    if (piece == NULL)
        piece = sy_adapter_get_strn(delta, "reasoning", &pn);
    text_piece(s, RSURF_REASONING, piece, pn, out);
    piece = sy_adapter_get_strn(delta, "content", &pn);
    text_piece(s, RSURF_TEXT, piece, pn, out);
    piece = sy_adapter_get_strn(delta, "refusal", &pn);
    text_piece(s, RSURF_REFUSAL, piece, pn, out);
    struct json_object *calls = sy_adapter_get(delta, "tool_calls");
    size_t n = sy_adapter_is(calls, json_type_array)
                   ? json_object_array_length(calls)
                   : 0;
    for (size_t i = 0; i < n && !s->ended; i++)
        tool_piece(s, req, json_object_array_get_idx(calls, i), out);
    const char *fr = sy_adapter_get_str(choice, "finish_reason");
    if (fr != NULL)
        snprintf(s->finish, sizeof(s->finish), "%s", fr);
    json_object_put(o);
    /* Ended here: the tool calls' arguments could not be held. */
    if (s->ended || sy_buf_failed(&s->acc->piece))
        return SY_ETOOBIG;
    return sy_buf_err(out);
}

/* The open item's done events, then response.completed (or
 * response.incomplete) with the whole Response. */
enum sy_err
sy_rsurf_stream_end(void *st, const struct sy_chat_req *req,
                    const struct sy_usage *usage, const char *cost_usd,
                    struct sy_buf *out)
{
    (void)cost_usd;
    struct rsurf_stream *s = st;
    if (s->ended)
        return SY_OK;
    if (s->acc == NULL && (s->acc = acc_new(s, req)) == NULL)
        return SY_EINTERNAL;
    if (!s->started)
        stream_start(s, req, NULL, out);
    bool inc = sy_rsurf_incomplete(s->finish);
    item_close(s, inc ? "incomplete" : "completed", out);
    struct rsurf_acc *acc = s->acc;
    struct rsurf_resp r = { .id = s->id,
                            .created = acc->created,
                            .model = acc->model,
                            .ended = true,
                            .finish = s->finish[0] ? s->finish : NULL,
                            .usage = usage,
                            .output = output_write,
                            .ctx = acc->output };
    sy_buf_clear(&acc->final);
    sy_rsurf_response_write(&acc->final, req, &r);
    s->ended = true;
    if (sy_buf_failed(&acc->final))
        return SY_ETOOBIG;
    acc->done = true;
    response_event(s, req, inc ? "response.incomplete" : "response.completed",
                   out);
    return sy_buf_err(out);
}

/* The Response of response.completed, for the conversation store. */
enum sy_err
sy_rsurf_stream_result(void *st, struct sy_buf *out)
{
    struct rsurf_stream *s = st;
    if (!s->ended || s->acc == NULL || !s->acc->done)
        return SY_EINTERNAL;
    return sy_buf_append(out, s->acc->final.data, s->acc->final.len) == SY_OK
               ? SY_OK
               : SY_ETOOBIG;
}

/* An error event (ResponseErrorEvent), which the OpenAI SDKs raise as an
 * APIError; nothing follows it. Written by hand: the message may carry
 * a provider's bytes, which sy_buf_json_str keeps valid UTF-8. */
void
sy_rsurf_stream_error(void *st, int status, const char *message,
                      const char *type, const char *code, struct sy_buf *out)
{
    (void)status;
    struct rsurf_stream *s = st;
    struct rsurf_stream none = { 0 };
    if (s == NULL)
        s = &none;
    if (s->failed)
        return; /* its own error event ended the stream already */
    s->ended = true;
    const char *c = code ? code : type;
    const char *m = message ? message : "error";
    sy_buf_printf(out,
                  "event: error\ndata: {\"type\":\"error\","
                  "\"sequence_number\":%lld,\"code\":",
                  (long long)s->seq++);
    if (c != NULL)
        sy_buf_json_str(out, c, strlen(c));
    else
        sy_buf_puts(out, "null");
    sy_buf_puts(out, ",\"message\":");
    sy_buf_json_str(out, m, strlen(m));
    sy_buf_puts(out, ",\"param\":null}\n\n");
    if (!s->started)
        return;
    /* The response the stream described ends as failed, with the same
     * error: clients that wait for a terminal response event (Codex)
     * show the message instead of retrying a stream they think was
     * cut. */
    sy_buf_printf(out,
                  "event: response.failed\ndata: {\"type\":\"response."
                  "failed\",\"sequence_number\":%lld,\"response\":{\"id\":",
                  (long long)s->seq++);
    sy_buf_json_str(out, s->id, strlen(s->id));
    sy_buf_puts(out, ",\"object\":\"response\",\"status\":\"failed\","
                     "\"output\":[],\"error\":{\"code\":");
    if (c != NULL)
        sy_buf_json_str(out, c, strlen(c));
    else
        sy_buf_puts(out, "null");
    sy_buf_puts(out, ",\"message\":");
    sy_buf_json_str(out, m, strlen(m));
    sy_buf_puts(out, "},\"incomplete_details\":null}}\n\n");
}

/* The integer after 'key' in ev[0..len), or -1. */
static int64_t
native_int(const char *ev, size_t len, const char *key)
{
    size_t kl = strlen(key);
    const char *p = memmem(ev, len, key, kl);
    if (p == NULL)
        return -1;
    p += kl;
    int64_t n = 0;
    bool any = false;
    while (p < ev + len && *p >= '0' && *p <= '9' && n < INT64_MAX / 10) {
        n = n * 10 + (*p++ - '0');
        any = true;
    }
    return any ? n : -1;
}

/* A provider event relayed natively: the next sequence_number follows
 * it, and response.created gives the id a failed response reports. */
void
sy_rsurf_native_event(void *st, const char *event, size_t len)
{
    struct rsurf_stream *s = st;
    int64_t n = native_int(event, len, "\"sequence_number\":");
    if (n >= s->seq && n < INT32_MAX) /* a provider's number, bounded */
        s->seq = n + 1;
    static const char created[] = "event: response.created\n";
    if (s->started || len < sizeof(created) - 1 ||
        memcmp(event, created, sizeof(created) - 1) != 0)
        return;
    s->started = true;
    const char *r = memmem(event, len, "\"response\":", 11);
    const char *id =
        r ? memmem(r, len - (size_t)(r - event), "\"id\":\"", 6) : NULL;
    if (id == NULL)
        return;
    id += 6;
    size_t k = 0;
    while (id + k < event + len && k + 1 < sizeof(s->id) &&
           (isalnum((unsigned char)id[k]) || id[k] == '_' || id[k] == '-'))
        k++;
    memcpy(s->id, id, k);
    s->id[k] = '\0';
}
