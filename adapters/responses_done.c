/*
 * responses_done.c - the closing events of a Responses stream checked
 * against what its deltas built. A provider closes each piece of
 * output with an event that repeats it whole (output_text.done,
 * content_part.done, function_call_arguments.done, output_item.done)
 * and ends with response.completed, which lists every item again. A
 * caller who spoke the Responses API gets those events as they came,
 * and Codex and the SDKs read the closing ones, not the deltas; the
 * gateway (its output contract, the chat translation) reads the deltas.
 * So the two must say the same, byte for byte, else the caller could be
 * handed text or a tool call nothing checked: a disagreement is a
 * protocol failure (the next deployment answers while nothing reached
 * the caller). The texts and arguments are kept as they stream, as the
 * caller holds them too; the stream's own byte bound bounds them.
 * No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "responses_int.h"
#include "base/buf.h"

#include <string.h>

#include <json-c/json.h>

/* A string member 'key' of 'o' with its length (NUL bytes included,
 * which the comparison must see), or NULL. */
static const char *
str_of(struct json_object *o, const char *key, size_t *len)
{
    struct json_object *v = sy_adapter_get(o, key);
    if (!sy_adapter_is(v, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

/* Whether kept text 'b' (NULL: none) is exactly 'got' of 'len' bytes. */
static bool
same_text(const struct sy_buf *b, const char *got, size_t len)
{
    size_t have = b != NULL ? b->len : 0;
    return have == len && (len == 0 || memcmp(sy_buf_cstr(b), got, len) == 0);
}

/* The protocol failure of a closing event that contradicts the stream. */
static enum sy_err
disagree(struct responses_ctx *x, const char *what, size_t index)
{
    return sy_adapter_proto(
        x->f, sy_arena_printf(x->call->arena,
                              "the provider's %s disagrees with what its "
                              "stream sent before (output item %zu)",
                              what, index));
}

/* The output_index of item 'it' (for messages). */
static size_t
index_of(const struct responses_ctx *x, const struct responses_item *it)
{
    return (size_t)(it - x->items);
}

static void
buf_free(void *p)
{
    sy_buf_free(p);
}

/* Append 'len' bytes to kept text '*b' (made on first use, freed with
 * the arena). */
static enum sy_err
keep(struct responses_ctx *x, struct sy_buf **b, const char *s, size_t len)
{
    if (*b == NULL) {
        *b = sy_arena_zalloc(x->call->arena, sizeof(**b));
        sy_buf_init(*b, SY_JSON_MAX);
        sy_arena_on_cleanup(x->call->arena, buf_free, *b);
    }
    if (sy_buf_append(*b, s, len) != SY_OK)
        return sy_adapter_proto(x->f, "the provider's streamed output is "
                                      "too large");
    return SY_OK;
}

struct responses_item *
sy_responses_item_at(struct responses_ctx *x, struct json_object *o)
{
    int64_t index = -1;
    sy_adapter_get_int(o, "output_index", &index);
    if (index < 0 || index >= RESPONSES_MAX_ITEMS)
        return NULL;
    size_t i = (size_t)index;
    if (i >= x->nitems) {
        size_t n = SY_MAX(i + 1, x->nitems * 2);
        struct responses_item *b =
            sy_arena_zalloc(x->call->arena, n * sizeof(*b));
        if (x->nitems > 0)
            memcpy(b, x->items, x->nitems * sizeof(*b));
        x->items = b;
        x->nitems = n;
    }
    x->nseen = SY_MAX(x->nseen, i + 1);
    return &x->items[i];
}

/* The kind an item's "type" names. */
static enum responses_kind
kind_of(const char *type)
{
    if (strcmp(type, "message") == 0)
        return RESPONSES_MESSAGE;
    return strcmp(type, "function_call") == 0 ? RESPONSES_CALL
                                              : RESPONSES_OTHER;
}

enum sy_err
sy_responses_kind(struct responses_ctx *x, struct responses_item *it,
                  const char *type)
{
    if (type == NULL)
        return sy_adapter_proto(x->f, "the provider sent an output item "
                                      "without a type");
    enum responses_kind k = kind_of(type);
    if (it->kind == RESPONSES_UNSEEN) {
        it->kind = k;
        if (k == RESPONSES_OTHER)
            it->type = sy_arena_strdup(x->call->arena, type);
        return SY_OK;
    }
    if (it->kind != k || (k == RESPONSES_OTHER && strcmp(it->type, type) != 0))
        return disagree(x, "output item type", index_of(x, it));
    return SY_OK;
}

/* Part 'index' of message item 'it' (grown on demand), or NULL when out
 * of range. */
static struct responses_part *
part_at(struct responses_ctx *x, struct responses_item *it, int64_t index)
{
    if (index < 0 || index >= RESPONSES_MAX_PARTS)
        return NULL;
    size_t i = (size_t)index;
    if (i >= it->nparts) {
        size_t n = SY_MAX(i + 1, it->nparts * 2);
        struct responses_part *b =
            sy_arena_zalloc(x->call->arena, n * sizeof(*b));
        if (it->nparts > 0)
            memcpy(b, it->parts, it->nparts * sizeof(*b));
        it->parts = b;
        it->nparts = n;
    }
    return &it->parts[i];
}

/* The part of event 'o' (its content_index, 0 when absent) of 'it'. */
static struct responses_part *
event_part(struct responses_ctx *x, struct responses_item *it,
           struct json_object *o)
{
    int64_t index = 0;
    sy_adapter_get_int(o, "content_index", &index);
    return part_at(x, it, index);
}

enum sy_err
sy_responses_text(struct responses_ctx *x, struct responses_item *it,
                  struct json_object *o, bool refusal)
{
    enum sy_err e = sy_responses_kind(x, it, "message");
    struct responses_part *p = event_part(x, it, o);
    size_t len = 0;
    const char *piece = str_of(o, "delta", &len);
    if (e != SY_OK)
        return e;
    if (p == NULL)
        return sy_adapter_proto(x->f, "the provider's text delta has no "
                                      "usable content_index");
    if (p->seen && p->refusal != refusal)
        return disagree(x, "text delta's part type", index_of(x, it));
    if (piece == NULL || len == 0) /* says nothing */
        return SY_OK;
    p->seen = true;
    p->refusal = refusal;
    return keep(x, &p->text, piece, len);
}

enum sy_err
sy_responses_args(struct responses_ctx *x, struct responses_item *it,
                  const char *piece, size_t len)
{
    if (len == 0) /* says nothing */
        return SY_OK;
    it->args_came = true;
    return keep(x, &it->args_text, piece, len);
}

/* A closing event's whole text 'got' of part 'p' of item 'it': equal to
 * what came before, or, when nothing did, the content itself, passed on
 * through 'fill' (NULL: nothing new may come, as in the final output). */
static enum sy_err
close_part(struct responses_ctx *x, struct responses_item *it,
           struct responses_part *p, bool refusal, const char *got, size_t len,
           responses_fill_fn fill)
{
    const char *what = fill != NULL ? "closing text"
                                    : "response.completed "
                                      "text";
    if (p->seen)
        return p->refusal == refusal && same_text(p->text, got, len)
                   ? SY_OK
                   : disagree(x, what, index_of(x, it));
    if (len == 0)
        return SY_OK;
    if (fill == NULL)
        return disagree(x, what, index_of(x, it));
    p->seen = true;
    p->refusal = refusal;
    enum sy_err e = keep(x, &p->text, got, len);
    return e != SY_OK ? e : fill(x, refusal, sy_buf_cstr(p->text));
}

/* The text of content part object 'part' ('*refusal': a refusal), or
 * NULL for other part types. */
static const char *
part_text(struct json_object *part, bool *refusal, size_t *len)
{
    const char *type = sy_adapter_get_str(part, "type");
    *refusal = type != NULL && strcmp(type, "refusal") == 0;
    if (type == NULL || (!*refusal && strcmp(type, "output_text") != 0))
        return NULL;
    return str_of(part, *refusal ? "refusal" : "text", len);
}

enum sy_err
sy_responses_part_done(struct responses_ctx *x, struct responses_item *it,
                       struct json_object *o, const char *key,
                       responses_fill_fn fill)
{
    enum sy_err e = sy_responses_kind(x, it, "message");
    struct responses_part *p = event_part(x, it, o);
    bool refusal = key != NULL && strcmp(key, "refusal") == 0;
    size_t len = 0;
    const char *got =
        key != NULL ? str_of(o, key, &len)
                    : part_text(sy_adapter_get(o, "part"), &refusal, &len);
    if (e != SY_OK)
        return e;
    if (p == NULL)
        return sy_adapter_proto(x->f, "the provider's closing text event "
                                      "has no usable content_index");
    if (got == NULL) /* a part of another type: not followed */
        return p->seen ? disagree(x, "closing part", index_of(x, it)) : SY_OK;
    return close_part(x, it, p, refusal, got, len, fill);
}

enum sy_err
sy_responses_args_done(struct responses_ctx *x, struct responses_item *it,
                       const char *got, size_t len, bool *fresh)
{
    *fresh = false;
    if (it->args_came)
        return same_text(it->args_text, got, len)
                   ? SY_OK
                   : disagree(x, "function call arguments", index_of(x, it));
    *fresh = len > 0;
    return sy_responses_args(x, it, got, len);
}

/* A message item's content (of output_item.done, or of the output of
 * response.completed when 'fill' is NULL: nothing new may come then)
 * against its parts so far. */
static enum sy_err
message_agrees(struct responses_ctx *x, struct responses_item *it,
               struct json_object *item, responses_fill_fn fill)
{
    struct json_object *content = sy_adapter_get(item, "content");
    size_t n = sy_adapter_is(content, json_type_array)
                   ? json_object_array_length(content)
                   : 0;
    enum sy_err e = SY_OK;
    for (size_t i = 0; i < SY_MAX(n, it->nparts) && e == SY_OK; i++) {
        struct responses_part *p = part_at(x, it, (int64_t)i);
        bool refusal = false;
        size_t len = 0;
        const char *t = i < n ? part_text(json_object_array_get_idx(content, i),
                                          &refusal, &len)
                              : NULL;
        if (p == NULL || t == NULL) {
            if (p == NULL || p->seen)
                e = disagree(x, "message item", index_of(x, it));
            continue;
        }
        e = close_part(x, it, p, refusal, t, len, fill);
    }
    return e;
}

/* A function_call item's call_id and name against those announced
 * ('what' names the event, for the failure). */
static enum sy_err
call_agrees(struct responses_ctx *x, struct responses_item *it,
            struct json_object *item, const char *what)
{
    const char *id = sy_adapter_get_str(item, "call_id");
    const char *name = sy_adapter_get_str(item, "name");
    if (id == NULL || name == NULL || it->call_id == NULL ||
        strcmp(id, it->call_id) != 0 || strcmp(name, it->name) != 0)
        return disagree(x, what, index_of(x, it));
    return SY_OK;
}

enum sy_err
sy_responses_item_done(struct responses_ctx *x, struct responses_item *it,
                       struct json_object *item, responses_fill_fn fill)
{
    enum sy_err e = sy_responses_kind(x, it, sy_adapter_get_str(item, "type"));
    if (e != SY_OK)
        return e;
    if (it->kind == RESPONSES_MESSAGE)
        return message_agrees(x, it, item, fill);
    return it->kind == RESPONSES_CALL
               ? call_agrees(x, it, item, "function_call item")
               : SY_OK;
}

/* Item 'it' of the stream against 'item', its entry in the final
 * output: the same type, texts, call and arguments; nothing new. */
static enum sy_err
final_item_agrees(struct responses_ctx *x, struct responses_item *it,
                  struct json_object *item)
{
    enum sy_err e = sy_responses_kind(x, it, sy_adapter_get_str(item, "type"));
    if (e != SY_OK)
        return e;
    if (it->kind == RESPONSES_MESSAGE)
        return message_agrees(x, it, item, NULL);
    size_t len = 0;
    const char *args = str_of(item, "arguments", &len);
    e = call_agrees(x, it, item, "response.completed function_call");
    if (e == SY_OK &&
        !same_text(it->args_text, args ? args : "", args ? len : 0))
        e = disagree(x, "response.completed arguments", index_of(x, it));
    return e;
}

/* Whether an output item is one the caller reads as its answer (a
 * message or a function call). Reasoning and built-in tool items are
 * left out of the comparison: some providers do not list them again. */
static bool
answer_type(const char *type)
{
    return type != NULL && kind_of(type) != RESPONSES_OTHER;
}

/* The next answer item of the stream from '*i' on, or NULL. */
static struct responses_item *
next_answer(struct responses_ctx *x, size_t *i)
{
    for (; *i < x->nseen; (*i)++) {
        struct responses_item *it = &x->items[*i];
        if (it->kind == RESPONSES_MESSAGE || it->kind == RESPONSES_CALL)
            return &x->items[(*i)++];
    }
    return NULL;
}

enum sy_err
sy_responses_output_agrees(struct responses_ctx *x,
                           struct json_object *response)
{
    struct json_object *output = sy_adapter_get(response, "output");
    size_t n = sy_adapter_is(output, json_type_array)
                   ? json_object_array_length(output)
                   : 0;
    size_t at = 0;
    enum sy_err e = SY_OK;
    if (n == 0)
        return SY_OK;
    for (size_t i = 0; i < n && e == SY_OK; i++) {
        struct json_object *item = json_object_array_get_idx(output, i);
        if (!answer_type(sy_adapter_get_str(item, "type")))
            continue;
        struct responses_item *it = next_answer(x, &at);
        e = it != NULL ? final_item_agrees(x, it, item)
                       : disagree(x, "response.completed output", i);
    }
    if (e == SY_OK && next_answer(x, &at) != NULL)
        e = sy_adapter_proto(x->f, "the provider's response.completed lists "
                                   "fewer output items than its stream "
                                   "sent");
    return e;
}
