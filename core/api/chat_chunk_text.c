/*
 * chat_chunk_text.c - read the answer's text out of one
 * chat.completion.chunk, for a filter that rewrites a stream's text as it
 * passes (the streamed fence removal of contract/unfence_stream.h; the
 * rewritten event is built by sy_chat_chunk_with_content).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "chat.h"
#include "base/json_strict.h"
#include "base/mem.h"

#include <limits.h>

#include <json-c/json.h>

/* The chunk's choice of index 0 (its first choice, which must not say
 * another index: with n > 1 every choice streams separately), or NULL. */
static struct json_object *
choice0(struct json_object *o)
{
    struct json_object *choices, *c0, *idx;
    if (!json_object_object_get_ex(o, "choices", &choices) ||
        !json_object_is_type(choices, json_type_array) ||
        json_object_array_length(choices) == 0)
        return NULL;
    c0 = json_object_array_get_idx(choices, 0);
    if (!json_object_is_type(c0, json_type_object))
        return NULL;
    if (json_object_object_get_ex(c0, "index", &idx) &&
        (!json_object_is_type(idx, json_type_int) ||
         json_object_get_int64(idx) != 0))
        return NULL;
    return c0;
}

/* Choice 0 of the chunk 'json': its delta's text ('*text' a copy in the
 * arena, NUL-terminated; NULL and 0 when the delta has no string
 * "content") and whether it has a finish_reason. False, with nothing
 * set, when the chunk has no choice 0 (a usage chunk, not JSON). */
bool
sy_chat_chunk_text(const char *json, size_t len, struct sy_arena *a,
                   const char **text, size_t *tlen, bool *finished)
{
    if (len == 0 || len > INT_MAX)
        return false;
    const struct sy_json_limits lim = { .max_depth = 64 };
    struct sy_json_result res;
    struct json_object *o = NULL, *c0, *delta, *v;
    if (sy_json_parse_strict(json, len, &lim, &o, &res) != SY_JSON_OK)
        return false;
    c0 = choice0(o);
    if (c0 == NULL) {
        json_object_put(o);
        return false;
    }
    const char *t = NULL;
    size_t n = 0;
    if (json_object_object_get_ex(c0, "delta", &delta) &&
        json_object_object_get_ex(delta, "content", &v) &&
        json_object_is_type(v, json_type_string)) {
        n = (size_t)json_object_get_string_len(v);
        t = sy_arena_strndup(a, json_object_get_string(v), n);
    }
    *finished = json_object_object_get_ex(c0, "finish_reason", &v) &&
                !json_object_is_type(v, json_type_null);
    json_object_put(o);
    *text = t;
    *tlen = n;
    return true;
}
