/*
 * chat_affinity.c - which conversation a chat request belongs to, for
 * prompt-cache affinity. In order, the first that the request has:
 *
 *   prompt_cache_key     the caller's own cache key (OpenAI chat and
 *                        Responses)
 *   session              a session header (Claude Code's
 *                        X-Claude-Code-Session-Id), passed in
 *   metadata.user_id     (Anthropic Messages; Claude Code puts its
 *                        session there too), then user (OpenAI)
 *   prefix               the start of the prompt: the messages up to and
 *                        including the first user message (the system
 *                        prompt and the conversation's opening, which
 *                        every later turn sends again unchanged), when
 *                        at least 'prefix_min' bytes; at most
 *                        SY_AFFINITY_PREFIX_MAX of them are hashed
 *
 * The client's own body (req->native) is read before the canonical one
 * for the keys; the prefix is taken from the canonical messages, the same
 * whatever markers a client moves between turns. The key is the start of
 * an HMAC-SHA-256 (base/hmac.c) of the source's name, the caller key's
 * name and the value, so callers' strings are never kept or logged, and
 * two callers' conversations never share a key: a "user" is often a
 * constant ("anonymous") that every caller of an SDK sends, and one
 * caller's prompt start tells nothing about another's cache.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "chat_affinity.h"
#include "base/buf.h"
#include "base/hmac.h"

#include <string.h>

#include <json-c/json.h>

#define AFFINITY_HASH_KEY "switchyard prompt-cache affinity"

/* The non-empty string at 'name' in 'obj' (or in its 'parent' object
 * when 'parent' is set), or NULL. */
static const char *
str_at(struct json_object *obj, const char *parent, const char *name)
{
    struct json_object *v;
    if (obj == NULL || !json_object_is_type(obj, json_type_object))
        return NULL;
    if (parent != NULL && (!json_object_object_get_ex(obj, parent, &obj) ||
                           !json_object_is_type(obj, json_type_object)))
        return NULL;
    if (!json_object_object_get_ex(obj, name, &v) ||
        !json_object_is_type(v, json_type_string) ||
        json_object_get_string_len(v) == 0)
        return NULL;
    return json_object_get_string(v);
}

static const char *
either(const struct sy_chat_req *r, const char *parent, const char *name)
{
    const char *s = str_at(r->native.root, parent, name);
    return s != NULL ? s : str_at(r->root, parent, name);
}

/* The canonical messages up to the first user message, serialized into
 * 'b' (at most its maximum). */
static void
prompt_start(const struct sy_chat_req *r, struct sy_buf *b)
{
    struct json_object *msgs;
    if (r->root == NULL ||
        !json_object_object_get_ex(r->root, "messages", &msgs) ||
        !json_object_is_type(msgs, json_type_array))
        return;
    size_t n = json_object_array_length(msgs);
    for (size_t i = 0; i < n && b->len < b->max; i++) {
        struct json_object *m = json_object_array_get_idx(msgs, i);
        size_t len = 0;
        const char *s = json_object_to_json_string_length(
            m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (s == NULL)
            return;
        sy_buf_append(b, s, SY_MIN(len, b->max - b->len));
        const char *role = str_at(m, NULL, "role");
        if (role != NULL && strcmp(role, "user") == 0)
            return;
    }
}

static bool
hash_key(const char *from, const char *scope, const char *value, size_t len,
         uint64_t *key)
{
    struct sy_buf b;
    sy_buf_init(&b, SY_AFFINITY_PREFIX_MAX + 512);
    sy_buf_puts(&b, from);
    sy_buf_append(&b, "\n", 1);
    sy_buf_puts(&b, scope != NULL ? scope : "");
    sy_buf_append(&b, "\n", 1);
    sy_buf_append(&b, value, len);
    unsigned char mac[SY_HMAC_SHA256_LEN];
    bool ok = !sy_buf_failed(&b) &&
              sy_hmac_sha256(AFFINITY_HASH_KEY, strlen(AFFINITY_HASH_KEY),
                             b.data, b.len, mac) == SY_OK;
    sy_buf_free(&b);
    if (!ok)
        return false;
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | mac[i];
    *key = k;
    return true;
}

/* The conversation key of 'r' into 'key' and its source's name into
 * 'from' (may be NULL): see the top. 'session': the session header, or
 * NULL; 'scope': the caller key's name (NULL: an anonymous caller).
 * False when the request names no conversation and its prompt's start
 * is shorter than 'prefix_min' (or 'prefix_min' is 0). */
bool
sy_chat_affinity_key(const struct sy_chat_req *r, const char *session,
                     const char *scope, size_t prefix_min, uint64_t *key,
                     const char **from)
{
    static const char *const names[] = { "prompt_cache_key", "session", "user",
                                         "user", "prefix" };
    const char *v[4] = { either(r, NULL, "prompt_cache_key"),
                         session != NULL && session[0] != '\0' ? session : NULL,
                         either(r, "metadata", "user_id"),
                         either(r, NULL, "user") };
    for (size_t i = 0; i < SY_ARRAY_LEN(v); i++) {
        if (v[i] == NULL)
            continue;
        if (from != NULL)
            *from = names[i];
        return hash_key(names[i], scope, v[i], strlen(v[i]), key);
    }
    if (prefix_min == 0)
        return false;
    struct sy_buf start;
    sy_buf_init(&start, SY_AFFINITY_PREFIX_MAX);
    prompt_start(r, &start);
    bool ok = start.len >= prefix_min && !sy_buf_failed(&start) &&
              hash_key(names[4], scope, start.data, start.len, key);
    sy_buf_free(&start);
    if (ok && from != NULL)
        *from = names[4];
    return ok;
}
