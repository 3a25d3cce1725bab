/*
 * responses.c - the Responses API's conversation store in Redis (see
 * responses.h): a record per response id, written with SET ... EX, read
 * with GET, deleted by its owner through one script
 * (lua/responses_del.lua). Records are opaque JSON text here: this module
 * only writes the envelope and checks the owner by the envelope's head.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "responses.h"
#include "keys.h"
#include "lua.h"
#include "base/buf.h"
#include "base/limits.h"
#include "io/store.h"

#include <stdio.h>
#include <string.h>

static const struct sy_store_script del_script = { .name = "responses_del",
                                                   .embedded =
                                                       sy_lua_responses_del };

bool
sy_responses_id_valid(const char *id)
{
    if (id == NULL)
        return false;
    size_t n = strlen(id);
    if (n == 0 || n > SY_RESPONSES_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* The head every record of 'owner' starts with, '{"owner":"<name>",',
 * into 'b' (cleared first). */
static enum sy_err
owner_head(struct sy_buf *b, const char *owner)
{
    sy_buf_clear(b);
    sy_buf_puts(b, "{\"owner\":");
    sy_buf_json_str(b, owner ? owner : "", owner ? strlen(owner) : 0);
    sy_buf_puts(b, ",");
    return sy_buf_err(b);
}

static bool
record_key(struct sy_store *s, const char *id, char *out, size_t outlen)
{
    return sy_responses_id_valid(id) &&
           sy_key_fits(sy_key_response(out, outlen, sy_store_prefix(s), id),
                       outlen);
}

enum sy_err
sy_responses_put(struct sy_store *s, const char *id, const char *owner,
                 const struct sy_responses_rec *rec, uint32_t ttl_s,
                 size_t max_bytes, char *err, size_t errlen)
{
    char key[SY_KEY_MAX];
    if (!record_key(s, id, key, sizeof(key))) {
        snprintf(err, errlen, "invalid response id");
        return SY_EBADREQ;
    }
    if (ttl_s == 0)
        return SY_OK;
    if (max_bytes == 0)
        max_bytes = SY_STORE_REPLY_MAX;
    struct sy_buf b;
    sy_buf_init(&b, max_bytes);
    owner_head(&b, owner);
    sy_buf_puts(&b, "\"response\":");
    sy_buf_append(&b, rec->response, rec->response_len);
    sy_buf_puts(&b, ",\"input\":");
    sy_buf_append(&b, rec->input, rec->input_len);
    sy_buf_puts(&b, "}");
    enum sy_err e = sy_buf_err(&b);
    if (e != SY_OK) {
        snprintf(err, errlen,
                 "the response and its input take more than "
                 "state.responses_max_bytes (%zu bytes)",
                 max_bytes);
        sy_buf_free(&b);
        return e;
    }
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%u", (unsigned)ttl_s);
    /* NX: a record is never replaced, so an id that comes back (a
     * provider that repeats ids) cannot overwrite another caller's
     * conversation; the later response is then not kept. */
    const char *argv[] = { "SET", key, sy_buf_cstr(&b), "EX", ttl, "NX" };
    const size_t argvlen[] = { 3, strlen(key), b.len, 2, strlen(ttl), 2 };
    struct sy_arena a;
    sy_arena_init(&a, 256);
    struct sy_store_val *v = NULL;
    e = sy_store_command(s, &a, &v, 6, argv, argvlen);
    if (e == SY_OK && v != NULL && v->type == SY_STORE_NIL) {
        snprintf(err, errlen, "a response with this id is already stored");
        sy_arena_cleanup(&a);
        sy_buf_free(&b);
        return SY_ESTORE;
    }
    if (e == SY_OK && (v == NULL || v->type != SY_STORE_STATUS))
        e = SY_ESTORE;
    if (e != SY_OK)
        snprintf(err, errlen, "the conversation store failed: %s",
                 sy_store_last_error(s));
    sy_arena_cleanup(&a);
    sy_buf_free(&b);
    return e;
}

enum sy_err
sy_responses_get(struct sy_store *s, const char *id, const char *owner,
                 struct sy_arena *a, const char **json, size_t *len)
{
    *json = NULL;
    *len = 0;
    char key[SY_KEY_MAX];
    if (!record_key(s, id, key, sizeof(key)))
        return SY_ENOTFOUND;
    struct sy_store_val *v = NULL;
    enum sy_err e = sy_store_commandl(s, a, &v, "GET", key, NULL);
    if (e != SY_OK)
        return e;
    if (v == NULL || v->type == SY_STORE_NIL)
        return SY_ENOTFOUND;
    if (v->type != SY_STORE_STR)
        return SY_ESTORE;
    struct sy_buf head;
    sy_buf_init(&head, SY_KEY_MAX * 8);
    e = owner_head(&head, owner);
    bool mine = e == SY_OK && v->len >= head.len &&
                memcmp(v->str, sy_buf_cstr(&head), head.len) == 0;
    sy_buf_free(&head);
    if (e != SY_OK || !mine)
        return SY_ENOTFOUND;
    *json = v->str;
    *len = v->len;
    return SY_OK;
}

enum sy_err
sy_responses_del(struct sy_store *s, const char *id, const char *owner)
{
    char key[SY_KEY_MAX];
    if (!record_key(s, id, key, sizeof(key)))
        return SY_ENOTFOUND;
    struct sy_buf head;
    sy_buf_init(&head, SY_KEY_MAX * 8);
    enum sy_err e = owner_head(&head, owner);
    if (e != SY_OK) {
        sy_buf_free(&head);
        return SY_ENOTFOUND;
    }
    const char *keys[] = { key };
    const char *args[] = { sy_buf_cstr(&head) };
    struct sy_arena a;
    sy_arena_init(&a, 256);
    struct sy_store_val *v = NULL;
    int64_t n = 0;
    e = sy_store_eval(s, &del_script, 1, keys, 1, args, &a, &v);
    if (e == SY_OK && !sy_store_val_int(v, &n))
        e = SY_ESTORE;
    sy_arena_cleanup(&a);
    sy_buf_free(&head);
    if (e != SY_OK)
        return e;
    return n == 1 ? SY_OK : SY_ENOTFOUND;
}
