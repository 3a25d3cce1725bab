/*
 * pipeline_responses.c - the conversation store of the OpenAI Responses
 * API, around POST /v1/responses (the Responses surface turns its body
 * into the canonical request; the store lives in state/responses.c):
 *
 *   prepare  before the body is parsed: a "previous_response_id" is
 *            resolved (the caller's own stored response, else 404) and
 *            the body rewritten so that "input" holds the whole
 *            conversation: the stored input items, the stored response's
 *            output items as input items, then the caller's input; the
 *            id is dropped from the body. The input that will have led
 *            to the answer is remembered (pctx.resp_input_json);
 *   keep     after a successful answer (the reply body, or a stream's
 *            final response object): stored with that input, unless the
 *            request said "store": false. A failure is logged only: the
 *            caller already has its answer;
 *   GET /v1/responses/{id}, GET /v1/responses/{id}/input_items (a page:
 *   order, limit, after, as OpenAI's) and DELETE /v1/responses/{id}: the
 *   caller's own stored responses.
 *
 * With no Redis, or state.responses_ttl_s 0, the store is off: nothing
 * is kept, and previous_response_id, GET and DELETE are refused (400),
 * records kept before included.
 *
 * A response belongs to the caller key that created it: its configured
 * name, "vk:<name>" for a virtual key, "" when the gateway has no keys
 * (state/responses.h). Another caller's response is answered as absent.
 * Part of the pipeline; see pipeline_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline_int.h"
#include "api/chat.h"
#include "api/req.h"
#include "base/json_strict.h"
#include "base/log.h"
#include "config/config.h"
#include "io/worker.h"
#include "state/responses.h"
#include "state/vkeys.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#define SER_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define PREFIX    "/v1/responses/"

/* ------------------------------------------------------------------ */
/* JSON in the request arena                                           */

static void
put_json(void *o)
{
    json_object_put(o);
}

/* 'o' (a new reference) released when the request arena is reset. */
static struct json_object *
arena_owned(struct pctx *c, struct json_object *o)
{
    if (o != NULL)
        sy_arena_on_cleanup(&c->w->arena, put_json, o);
    return o;
}

/* Our own JSON text (a stored record, a reply we wrote) as a tree. */
static struct json_object *
parse_owned(struct pctx *c, const char *s, size_t n)
{
    struct sy_json_limits lim = { c->w->cfg->server.max_json_depth + 4, 0 };
    struct json_object *o = NULL;
    struct sy_json_result res;
    if (sy_json_parse_strict(s, n, &lim, &o, &res) != SY_JSON_OK)
        return NULL;
    return arena_owned(c, o);
}

static const char *
to_arena(struct pctx *c, struct json_object *o, size_t *len)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(o, SER_FLAGS, &n);
    *len = n;
    return s != NULL ? sy_arena_strndup(&c->w->arena, s, n) : NULL;
}

static struct json_object *
member(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

/* ------------------------------------------------------------------ */
/* Owners and answers                                                  */

static const char *
owner_name(struct pctx *c, const struct sy_caller_key *ck,
           const struct sy_vkey *vk)
{
    if (vk != NULL)
        return sy_arena_printf(&c->w->arena, "vk:%s", vk->name);
    return ck != NULL && ck->name != NULL ? ck->name : "";
}

/* The store said no: absent (or another caller's), or unavailable. */
static void
send_store_err(struct pctx *c, enum sy_err e, const char *what, const char *id,
               const char *param)
{
    if (e == SY_ENOTFOUND) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s with id '%.128s' not found.", what, id);
        sy_pipeline_send_err(c, SY_ENOTFOUND, msg, param);
        return;
    }
    sy_log_warn(c->request_id, "conversation store: %s", sy_err_name(e));
    sy_pipeline_send_error(c, sy_err_status(SY_ESTORE),
                           "the conversation store is unavailable; try "
                           "again shortly",
                           sy_err_type(SY_ESTORE), param,
                           sy_err_code(SY_ESTORE), "Retry-After: 1\r\n");
}

static void
send_unreadable(struct pctx *c, const char *id)
{
    sy_log_error(c->request_id, "stored response %.128s is unreadable", id);
    sy_pipeline_send_err(c, SY_EINTERNAL, "the stored response is unreadable",
                         NULL);
}

/* ------------------------------------------------------------------ */
/* prepare: previous_response_id                                       */

/* A copy of the members 'names' of 'src' (JSON nulls left out). */
static struct json_object *
copy_members(struct json_object *src, const char *const *names)
{
    struct json_object *o = json_object_new_object();
    for (; *names != NULL; names++) {
        struct json_object *v = member(src, *names);
        if (v != NULL)
            json_object_object_add(o, *names, json_object_get(v));
    }
    return o;
}

/* An output item of a stored response as an input item of the next
 * turn: a message keeps its role and content (output_text parts), a
 * function call and a reasoning item stay what they are; anything else
 * is passed on unchanged for the surface to judge. */
static struct json_object *
as_input_item(struct json_object *it)
{
    static const char *const message[] = { "type", "id", "role", "content",
                                           NULL };
    static const char *const call[] = { "type", "id",        "call_id",
                                        "name", "arguments", NULL };
    static const char *const reasoning[] = {
        "type", "id", "summary", "content", "encrypted_content", NULL
    };
    struct json_object *t = member(it, "type");
    const char *type = json_object_is_type(t, json_type_string)
                           ? json_object_get_string(t)
                           : "";
    if (strcmp(type, "message") == 0)
        return copy_members(it, message);
    if (strcmp(type, "function_call") == 0)
        return copy_members(it, call);
    if (strcmp(type, "reasoning") == 0)
        return copy_members(it, reasoning);
    return json_object_get(it);
}

/* The caller's "input" as a list of items (a string is one user
 * message; none is an empty list). NULL for another type: the surface's
 * parse refuses it. */
static struct json_object *
caller_input(struct pctx *c, struct json_object *root)
{
    struct json_object *in = member(root, "input");
    if (in != NULL && !json_object_is_type(in, json_type_string) &&
        !json_object_is_type(in, json_type_array))
        return NULL;
    struct json_object *list = arena_owned(c, json_object_new_array());
    if (json_object_is_type(in, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(in); i++)
            json_object_array_add(
                list, json_object_get(json_object_array_get_idx(in, i)));
    } else if (in != NULL) {
        struct json_object *part = json_object_new_object();
        json_object_object_add(part, "type",
                               json_object_new_string("input_text"));
        json_object_object_add(part, "text", json_object_get(in));
        struct json_object *content = json_object_new_array();
        json_object_array_add(content, part);
        struct json_object *msg = json_object_new_object();
        json_object_object_add(msg, "type", json_object_new_string("message"));
        json_object_object_add(msg, "role", json_object_new_string("user"));
        json_object_object_add(msg, "content", content);
        json_object_array_add(list, msg);
    }
    return list;
}

/* Append every element of array 'from' (when it is one) to 'to'. */
static void
append_all(struct json_object *to, struct json_object *from, bool as_input)
{
    if (!json_object_is_type(from, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(from); i++) {
        struct json_object *it = json_object_array_get_idx(from, i);
        json_object_array_add(to, as_input ? as_input_item(it)
                                           : json_object_get(it));
    }
}

/* Is the conversation store on: Redis configured and responses kept
 * (state.responses_ttl_s above 0)? When it is off, records written
 * before are neither read, listed nor deleted. */
static bool
storing(const struct sy_worker *w)
{
    return w->store != NULL && w->cfg->state.responses_ttl_s > 0;
}

/* Resolve 'id' and rewrite the body with the whole conversation; '*input'
 * becomes the merged list. False when the caller has been answered. */
static bool
merge_history(struct pctx *c, struct json_object *root, const char *id,
              struct json_object **input)
{
    struct sy_worker *w = c->w;
    static const char param[] = "previous_response_id";
    if (!storing(w)) {
        sy_pipeline_send_err(c, SY_EBADREQ,
                             w->store == NULL
                                 ? "previous_response_id needs the "
                                   "conversation store (state.redis_url)"
                                 : "previous_response_id needs the "
                                   "conversation store (state.responses_ttl_s "
                                   "is 0: it is off)",
                             param);
        return false;
    }
    const char *json;
    size_t len;
    enum sy_err e =
        sy_responses_get(w->store, id, owner_name(c, c->led.ck, c->led.vk),
                         &w->arena, &json, &len);
    if (e != SY_OK) {
        send_store_err(c, e, "Previous response", id, param);
        return false;
    }
    struct json_object *rec = parse_owned(c, json, len);
    struct json_object *resp = member(rec, "response");
    struct json_object *hist = member(rec, "input");
    if (!json_object_is_type(resp, json_type_object) ||
        !json_object_is_type(hist, json_type_array)) {
        send_unreadable(c, id);
        return false;
    }
    struct json_object *merged = arena_owned(c, json_object_new_array());
    append_all(merged, hist, false);
    append_all(merged, member(resp, "output"), true);
    append_all(merged, *input, false);
    json_object_object_add(root, "input", json_object_get(merged));
    json_object_object_del(root, param);
    size_t n;
    const char *body = to_arena(c, root, &n);
    if (body == NULL) {
        sy_pipeline_send_err(c, SY_EINTERNAL,
                             "the conversation could not be rebuilt", NULL);
        return false;
    }
    /* The conversation so far counts against the body limits, as if
     * the caller had sent it whole (and the provider request is sized
     * from that limit): its bytes and its JSON values. */
    struct sy_json_limits lim = { c->w->cfg->server.max_json_depth, 0 };
    struct sy_json_result jr;
    enum sy_json_status st =
        sy_json_check_bounded(body, n, &lim, SY_REQUEST_MAX_JSON_VALUES, &jr);
    if (st != SY_JSON_OK || n > c->w->cfg->server.max_body_bytes) {
        /* Every bound of the caller's body: a check that stopped at
         * another one (nesting a schema ahead of the input) has not
         * counted the rest. */
        char msg[200];
        if (st == SY_JSON_VALUES)
            snprintf(msg, sizeof(msg),
                     "the conversation with previous_response_id has more "
                     "than %u JSON values (objects, arrays and strings); "
                     "start a new one",
                     SY_REQUEST_MAX_JSON_VALUES);
        else if (st == SY_JSON_DEPTH)
            snprintf(msg, sizeof(msg),
                     "the conversation with previous_response_id nests "
                     "deeper than %u levels; start a new one",
                     jr.max_depth);
        else if (st != SY_JSON_OK)
            snprintf(msg, sizeof(msg),
                     "the conversation with previous_response_id is too "
                     "complex to rebuild; start a new one");
        else
            snprintf(msg, sizeof(msg),
                     "the conversation with previous_response_id is larger "
                     "than the limit of %zu bytes; start a new one",
                     c->w->cfg->server.max_body_bytes);
        if (st == SY_JSON_DEPTH) /* as for a body nested too deep */
            sy_pipeline_send_err(c, SY_EBADREQ, msg, "previous_response_id");
        else
            sy_pipeline_send_error(c, 413, msg, "invalid_request_error",
                                   "previous_response_id", "request_too_large",
                                   NULL);
        return false;
    }
    c->r->body = body;
    c->r->body_len = n;
    *input = merged;
    return true;
}

/* Could 'body' hold the key "previous_response_id"? Written plainly, or
 * with a JSON escape: none of its letters has a short one (\n, \t, ...),
 * so an escaped key holds "\u" ("previous\u005fresponse_id"). */
static bool
may_name_previous(const char *body, size_t len)
{
    return memmem(body, len, "previous_response_id", 20) != NULL ||
           memmem(body, len, "\\u", 2) != NULL;
}

bool
sy_pipeline_responses_prepare(struct pctx *c)
{
    struct sy_worker *w = c->w;
    c->resp_store = false;
    c->resp_input_json = NULL;
    c->resp_input_len = 0;
    bool keeping = storing(w);
    const char *body = c->r->body;
    /* Nothing to keep and no history asked for: leave the body alone.
     * Whether history is asked for is the parsed key's to say; the
     * bytes only rule it out. */
    if (body == NULL || (!keeping && !may_name_previous(body, c->r->body_len)))
        return true;
    struct json_object *root = NULL;
    struct sy_chat_error perr;
    memset(&perr, 0, sizeof(perr));
    /* A body that does not parse is the surface's to refuse. */
    if (sy_chat_body_parse(body, c->r->body_len, w->cfg->server.max_json_depth,
                           &w->arena, &root, &perr) != SY_OK ||
        !json_object_is_type(root, json_type_object))
        return true;
    struct json_object *prev = member(root, "previous_response_id");
    if (prev != NULL && !json_object_is_type(prev, json_type_string)) {
        sy_pipeline_send_err(c, SY_EBADREQ,
                             "previous_response_id: a string is required",
                             "previous_response_id");
        return false;
    }
    struct json_object *input = caller_input(c, root);
    if (input == NULL)
        return true;
    if (prev != NULL) {
        const char *id =
            sy_arena_strdup(&w->arena, json_object_get_string(prev));
        if (!merge_history(c, root, id, &input))
            return false;
    }
    struct json_object *sv = member(root, "store");
    bool store = !(json_object_is_type(sv, json_type_boolean) &&
                   !json_object_get_boolean(sv));
    if (store && keeping) {
        c->resp_input_json = to_arena(c, input, &c->resp_input_len);
        c->resp_store = c->resp_input_json != NULL;
    }
    /* The body as it now is (the rebuilt conversation's, written from
     * this tree), for the surface to read without a second parse. */
    c->r->body_tree = root;
    return true;
}

/* ------------------------------------------------------------------ */
/* keep                                                                */

/* The "id" of a response this gateway wrote itself (its Responses writer
 * puts it first, once: '{"id":"resp_...",'), read off the head instead
 * of parsing the whole reply again; NULL when the head is not that plain
 * form (then the reply is parsed). */
static const char *
head_id(struct pctx *c, const char *json, size_t len)
{
    static const char head[] = "{\"id\":\"";
    size_t h = sizeof(head) - 1;
    if (len <= h || memcmp(json, head, h) != 0)
        return NULL;
    size_t n = 0;
    for (; h + n < len && json[h + n] != '"'; n++)
        if (json[h + n] == '\\' || (unsigned char)json[h + n] < 0x20 ||
            n >= SY_RESPONSES_ID_MAX)
            return NULL;
    if (n == 0 || h + n >= len)
        return NULL;
    return sy_arena_strndup(&c->w->arena, json + h, n);
}

void
sy_pipeline_responses_keep(struct pctx *c, const char *response_json,
                           size_t len)
{
    struct sy_worker *w = c->w;
    const struct sy_state_conf *st = &w->cfg->state;
    if (!c->resp_store || w->store == NULL || st->responses_ttl_s == 0 ||
        response_json == NULL)
        return;
    /* A provider's own reply (native) may order or repeat its members
     * as it likes: parsed. */
    const char *id = c->native ? NULL : head_id(c, response_json, len);
    if (id == NULL) {
        struct json_object *o =
            member(parse_owned(c, response_json, len), "id");
        if (!json_object_is_type(o, json_type_string)) {
            sy_log_warn(c->request_id, "the response is not stored: no \"id\"");
            return;
        }
        id = json_object_get_string(o);
    }
    struct sy_responses_rec rec = { response_json, len, c->resp_input_json,
                                    c->resp_input_len };
    char err[192];
    enum sy_err e = sy_responses_put(
        w->store, id, owner_name(c, c->led.ck, c->led.vk), &rec,
        st->responses_ttl_s, st->responses_max_bytes, err, sizeof(err));
    if (e != SY_OK)
        sy_log_warn(c->request_id, "response %.128s not stored: %s", id, err);
}

/* ------------------------------------------------------------------ */
/* GET and DELETE /v1/responses/{id}                                   */

/* Authenticate and check there is a store; '*owner' is the caller's
 * name, '*id' and '*sub' the parts of /v1/responses/<id>[/<sub>]. False
 * when the caller has been answered. */
static bool
begin(struct pctx *c, const char **owner, const char **id, const char **sub)
{
    const struct sy_caller_key *ck = NULL;
    struct sy_vkey *vk = NULL;
    if (!sy_pipeline_identify(c, &ck, &vk))
        return false;
    if (!storing(c->w)) {
        sy_pipeline_send_err(c, SY_EBADREQ,
                             c->w->store == NULL
                                 ? "the conversation store is not configured "
                                   "(state.redis_url)"
                                 : "the conversation store is off "
                                   "(state.responses_ttl_s is 0)",
                             NULL);
        return false;
    }
    *owner = owner_name(c, ck, vk);
    const char *p = c->r->path + strlen(PREFIX);
    const char *slash = strchr(p, '/');
    *id = slash ? sy_arena_strndup(&c->w->arena, p, (size_t)(slash - p)) : p;
    *sub = slash ? slash + 1 : "";
    return true;
}

/* The query string of the request ("" without one). */
static const char *
req_query(const struct sy_req *r)
{
    return r->query != NULL ? r->query : "";
}

/* What GET /v1/responses/{id}/input_items asks for (OpenAI's
 * InputItemListParams; "include" has nothing to add: items are kept
 * whole). */
struct items_query {
    bool asc;          /* order=asc; desc (newest first) is the default */
    size_t limit;      /* 1..100, default 20 */
    const char *after; /* an item id: the page starts after it; or NULL */
};

/* [s, s+n) percent-decoded ('+' a space) into the arena; NULL for a bad
 * escape or a NUL byte. */
static char *
query_decode(struct sy_arena *a, const char *s, size_t n)
{
    char *out = sy_arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            int hi = i + 2 < n ? sy_hexval((unsigned char)s[i + 1]) : -1;
            int lo = hi >= 0 ? sy_hexval((unsigned char)s[i + 2]) : -1;
            if (lo < 0)
                return NULL;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch == 0)
            return NULL;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return out;
}

/* 'v' as an error message may show it: at most 'cap' bytes, each one
 * outside printable ASCII (a control byte, a piece of UTF-8 the cut may
 * split, a byte that is no UTF-8 at all) shown as '?', so the message
 * stays valid UTF-8 whatever the caller sent. */
static const char *
shown(struct sy_arena *a, const char *v, size_t cap)
{
    size_t n = strnlen(v, cap);
    char *out = sy_arena_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++)
        out[i] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
    out[n] = '\0';
    return out;
}

/* A 400 naming query parameter 'param', in OpenAI's shape. */
static bool
bad_query(struct pctx *c, const char *param, const char *msg)
{
    sy_pipeline_send_error(c, 400, msg, "invalid_request_error", param,
                           "invalid_value", NULL);
    return false;
}

/* Read 'query' ("" when the request has none) into '*q'. False when the caller
 * has been answered (a 400). Unknown parameters are ignored; a repeated
 * one counts as its last. The transport keeps SY_CGI_PARAM_MAX bytes of
 * a parameter (fcgi/request.c): a query string that long may have been
 * cut, and the parameters after the cut lost, so it is refused. */
static bool
items_query(struct pctx *c, const char *query, struct items_query *q)
{
    q->asc = false;
    q->limit = 20;
    q->after = NULL;
    if (strnlen(query, SY_CGI_PARAM_MAX) >= SY_CGI_PARAM_MAX)
        return bad_query(c, NULL,
                         sy_arena_printf(&c->w->arena,
                                         "Invalid query string: longer than "
                                         "%d bytes.",
                                         SY_CGI_PARAM_MAX - 1));
    for (const char *p = query; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t kn = eq != NULL ? (size_t)(eq - p) : n;
        const char *key = query_decode(&c->w->arena, p, kn);
        const char *val =
            eq != NULL ? query_decode(&c->w->arena, eq + 1, n - kn - 1) : "";
        if (key == NULL || val == NULL)
            return bad_query(c, NULL,
                             "Invalid query string: a bad "
                             "%-escape or a NUL byte.");
        if (strcmp(key, "order") == 0) {
            if (strcmp(val, "asc") != 0 && strcmp(val, "desc") != 0)
                return bad_query(
                    c, "order",
                    sy_arena_printf(&c->w->arena,
                                    "Invalid value for 'order': '%s'. "
                                    "Supported values are: 'asc' and 'desc'.",
                                    shown(&c->w->arena, val, 64)));
            q->asc = strcmp(val, "asc") == 0;
        } else if (strcmp(key, "limit") == 0) {
            size_t v = 0, k = 0;
            for (; val[k] >= '0' && val[k] <= '9' && v <= 100; k++)
                v = v * 10 + (size_t)(val[k] - '0');
            if (k == 0 || val[k] != '\0' || v < 1 || v > 100)
                return bad_query(
                    c, "limit",
                    sy_arena_printf(&c->w->arena,
                                    "Invalid value for 'limit': '%s'. "
                                    "Expected an integer from 1 to 100.",
                                    shown(&c->w->arena, val, 64)));
            q->limit = v;
        } else if (strcmp(key, "after") == 0) {
            q->after = val[0] != '\0' ? val : NULL;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return true;
}

static const char *
item_id(struct json_object *it)
{
    struct json_object *v = member(it, "id");
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                    : NULL;
}

/* The index in the stored input of the i-th of 'n' items in the order
 * asked for. */
static size_t
nth(const struct items_query *q, size_t n, size_t i)
{
    return q->asc ? i : n - 1 - i;
}

/* Give every item of the stored 'input' ('n' of them, of response 'id')
 * an id no other item has, and a type. An item keeps the id it was sent
 * with unless an earlier item has it (a caller may send one item twice,
 * or an item again with previous_response_id); one without, or a
 * repeat, is listed as "<response id>_in<k>" (k its position, with
 * '_' added while a caller's id has taken that). Unique ids keep the
 * 'after' cursor unambiguous: with a repeated id, the SDKs'
 * auto-pagination would go back to its first copy for ever. */
static void
list_ids(struct pctx *c, const char *id, struct json_object *input, size_t n)
{
    struct json_object *used = json_object_new_object();
    for (size_t k = 0; k < n; k++) {
        struct json_object *it = json_object_array_get_idx(input, k);
        if (!json_object_is_type(it, json_type_object))
            continue;
        const char *s = item_id(it);
        if (s != NULL && json_object_object_get_ex(used, s, NULL))
            s = NULL;
        if (s == NULL) {
            char *gen = sy_arena_printf(&c->w->arena, "%s_in%zu", id, k);
            for (unsigned more = 0;
                 more < 64 && json_object_object_get_ex(used, gen, NULL);
                 more++)
                gen = sy_arena_printf(&c->w->arena, "%s_", gen);
            json_object_object_add(it, "id", json_object_new_string(gen));
            s = item_id(it);
        }
        json_object_object_add(used, s, NULL);
        if (member(it, "type") == NULL && member(it, "role") != NULL)
            json_object_object_add(it, "type",
                                   json_object_new_string("message"));
    }
    json_object_put(used);
}

/* The stored input as OpenAI lists it: a page in the order asked for
 * (newest first by default), every item with an id (ours when it had
 * none) and a type. NULL when the caller has been answered. */
static struct json_object *
input_page(struct pctx *c, const char *id, struct json_object *input,
           const char *query)
{
    struct items_query q;
    if (!items_query(c, query, &q))
        return NULL;
    size_t n = json_object_is_type(input, json_type_array)
                   ? json_object_array_length(input)
                   : 0;
    list_ids(c, id, input, n);
    size_t start = 0;
    if (q.after != NULL) {
        size_t i = 0;
        for (; i < n; i++) {
            const char *s =
                item_id(json_object_array_get_idx(input, nth(&q, n, i)));
            if (s != NULL && strcmp(s, q.after) == 0)
                break;
        }
        if (i == n) {
            bad_query(c, "after",
                      sy_arena_printf(&c->w->arena,
                                      "Invalid value for 'after': no input "
                                      "item with id '%s' in response '%s'.",
                                      shown(&c->w->arena, q.after, 128),
                                      shown(&c->w->arena, id, 128)));
            return NULL;
        }
        start = i + 1;
    }
    size_t end = q.limit != 0 && n - start > q.limit ? start + q.limit : n;
    struct json_object *data = json_object_new_array();
    for (size_t i = start; i < end; i++)
        json_object_array_add(data, json_object_get(json_object_array_get_idx(
                                        input, nth(&q, n, i))));
    const char *first =
        end > start ? item_id(json_object_array_get_idx(data, 0)) : NULL;
    const char *last =
        end > start ? item_id(json_object_array_get_idx(data, end - start - 1))
                    : NULL;
    struct json_object *list = arena_owned(c, json_object_new_object());
    json_object_object_add(list, "object", json_object_new_string("list"));
    json_object_object_add(list, "data", data);
    json_object_object_add(list, "first_id",
                           json_object_new_string(first ? first : ""));
    json_object_object_add(list, "last_id",
                           json_object_new_string(last ? last : ""));
    json_object_object_add(list, "has_more", json_object_new_boolean(end < n));
    return list;
}

void
sy_pipeline_handle_response_get(struct pctx *c)
{
    const char *owner, *id, *sub;
    if (!begin(c, &owner, &id, &sub))
        return;
    bool items = strcmp(sub, "input_items") == 0;
    if (!items && sub[0] != '\0') {
        sy_pipeline_send_err(c, SY_ENOTFOUND, "unknown path", NULL);
        return;
    }
    const char *json;
    size_t len;
    enum sy_err e =
        sy_responses_get(c->w->store, id, owner, &c->w->arena, &json, &len);
    if (e != SY_OK) {
        send_store_err(c, e, "Response", id, NULL);
        return;
    }
    struct json_object *rec = parse_owned(c, json, len);
    struct json_object *part = member(rec, items ? "input" : "response");
    if (part == NULL) {
        send_unreadable(c, id);
        return;
    }
    if (items) {
        part = input_page(c, id, part, req_query(c->r));
        if (part == NULL)
            return;
    }
    size_t n;
    const char *out = to_arena(c, part, &n);
    if (out == NULL) {
        send_unreadable(c, id);
        return;
    }
    sy_pipeline_send_bytes(c, 200, "application/json", NULL, out, n);
}

void
sy_pipeline_handle_response_delete(struct pctx *c)
{
    const char *owner, *id, *sub;
    if (!begin(c, &owner, &id, &sub))
        return;
    if (sub[0] != '\0') {
        sy_pipeline_send_err(c, SY_ENOTFOUND, "unknown path", NULL);
        return;
    }
    enum sy_err e = sy_responses_del(c->w->store, id, owner);
    if (e != SY_OK) {
        send_store_err(c, e, "Response", id, NULL);
        return;
    }
    /* a deleted id passed sy_responses_id_valid: nothing to escape */
    const char *out = sy_arena_printf(
        &c->w->arena,
        "{\"id\":\"%s\",\"object\":\"response.deleted\",\"deleted\":true}", id);
    sy_pipeline_send_bytes(c, 200, "application/json", NULL, out, strlen(out));
}
