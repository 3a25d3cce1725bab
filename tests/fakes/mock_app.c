/*
 * mock_app.c - what the mock LLM provider answers: splits the deployment
 * prefix off the path, picks the dialect, applies the fault spec and
 * fills a response plan; also serves the control API under /_mock/ and
 * loads --config. It never touches sockets: mock_http.c plays the plan.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

/*
 * The dialects, tried in order on each path. The first one also renders
 * errors that belong to no dialect (404, malformed HTTP, control API).
 */
static const struct sy_mock_dialect *const app_dialects[] = {
    &sy_mock_dialect_openai,
    &sy_mock_dialect_anthropic,
    &sy_mock_dialect_gemini,
};

#define APP_NDIALECTS       (sizeof(app_dialects) / sizeof(app_dialects[0]))
#define APP_MAX_WORD_PIECES 16

/* ---- plans ------------------------------------------------------------- */

/* Empty "p" for the next request, keeping its buffers. */
void
sy_mock_plan_reset(struct sy_mock_plan *p)
{
    p->status = 200;
    p->content_type[0] = '\0';
    p->retry_after = -1;
    p->is_stream = false;
    p->must_close = false;
    sy_mock_events_reset(&p->ev);
    p->delay_ms = 0;
    p->chunk_delay_ms = 0;
    p->ev_limit = 0;
    p->end = SY_MOCK_END_DONE;
    p->reset = false;
    p->stall = false;
    p->dep = NULL;
}

/* Free what "p" owns; "p" must be finished (sy_mock_app_finish). */
void
sy_mock_plan_cleanup(struct sy_mock_plan *p)
{
    sy_mock_events_cleanup(&p->ev);
}

/* Set the content type of "p". */
static void
app_content_type(struct sy_mock_plan *p, const char *type)
{
    snprintf(p->content_type, sizeof(p->content_type), "%s", type);
}

/* Make "p" a JSON body "body" with "status". */
static void
app_json(struct sy_mock_plan *p, int status, const char *body)
{
    p->status = status;
    app_content_type(p, "application/json");
    sy_mock_buf_puts(&p->ev.buf, body);
}

/* Make "p" an error of dialect "d" ("status", "message"). */
static void
app_error(const struct sy_mock_dialect *d, int status, const char *message,
          struct sy_mock_plan *p)
{
    p->status = status;
    app_content_type(p, "application/json");
    sy_mock_events_reset(&p->ev);
    d->render_error(status, -1, message, &p->ev.buf);
}

/* Make "p" an error of the first dialect ("status", "message"). */
void
sy_mock_app_error(int status, const char *message, struct sy_mock_plan *p)
{
    app_error(app_dialects[0], status, message, p);
}

/* The request of "p" is over (answered or its connection closed). */
void
sy_mock_app_finish(struct sy_mock_plan *p)
{
    if (p->dep != NULL) {
        sy_mock_state_end(p->dep);
        p->dep = NULL;
    }
}

/* Start counting "p" for "dep", with the status it is going to get. */
static void
app_account(struct sy_mock_plan *p, struct sy_mock_dep *dep)
{
    p->dep = dep;
    sy_mock_state_begin(dep);
    if (p->reset) {
        sy_mock_state_count_status(dep, 0);
    } else if (!p->stall) {
        sy_mock_state_count_status(dep, p->status);
    }
}

/* ---- replies ----------------------------------------------------------- */

/* Is "c" white space for word counting? */
static bool
app_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Number of white-space separated words in "s". */
static long
app_words(const char *s, size_t len)
{
    long n = 0;
    bool in_word = false;
    size_t i;

    for (i = 0; i < len; i++) {
        bool space = app_is_space(s[i]);

        if (!space && !in_word) {
            n++;
        }
        in_word = !space;
    }
    return n;
}

/* Move "at" back to the start of a UTF-8 character. */
static size_t
app_char_start(const char *s, size_t at)
{
    while (at > 0 && ((unsigned char)s[at] & 0xc0) == 0x80) {
        at--;
    }
    return at;
}

/*
 * Split "s" into pieces, writing their ends to "end" (room for
 * SY_MOCK_MAX_PIECES). "want" > 0: that many pieces of about equal size,
 * cut at character starts (fewer when "s" is short); else one piece per
 * word with its trailing white space, merged evenly into at most 16.
 */
static size_t
app_pieces(const char *s, size_t len, long want, size_t *end)
{
    size_t words[SY_MOCK_MAX_PIECES];
    size_t n_words = 0;
    size_t n = 0;
    size_t i;
    bool seen_word = false;

    if (len == 0) {
        return 0;
    }
    if (want > 0) {
        for (i = 1; i <= (size_t)want; i++) {
            size_t at = i == (size_t)want
                            ? len
                            : app_char_start(s, len * i / (size_t)want);

            if (at > (n ? end[n - 1] : 0)) {
                end[n++] = at;
            }
        }
        return n;
    }
    for (i = 0; i + 1 < len; i++) {
        if (!app_is_space(s[i])) {
            seen_word = true;
        } else if (seen_word && !app_is_space(s[i + 1]) &&
                   n_words < SY_MOCK_MAX_PIECES - 1) {
            words[n_words++] = i + 1;
        }
    }
    words[n_words++] = len;
    if (n_words <= APP_MAX_WORD_PIECES) {
        memcpy(end, words, n_words * sizeof(*end));
        return n_words;
    }
    for (i = 1; i <= APP_MAX_WORD_PIECES; i++) {
        end[n++] = words[n_words * i / APP_MAX_WORD_PIECES - 1];
    }
    return n;
}

/*
 * Fill "out" with tool call "k" (0 .. n_calls - 1) of "r": its id, its
 * arguments (the reply's content for call 0, {"i":k} for the others) and
 * where a stream splits them. "out" may borrow from "r".
 */
void
sy_mock_reply_call(const struct sy_mock_reply *r, long k,
                   struct sy_mock_call *out)
{
    int n;

    snprintf(out->id, sizeof(out->id), "%s%llu", r->call_prefix,
             r->call_base + (unsigned long long)k);
    if (k == 0) {
        out->args = r->content;
        out->args_len = r->content_len;
    } else {
        n = snprintf(out->args_buf, sizeof(out->args_buf), "{\"i\":%ld}", k);
        out->args = out->args_buf;
        out->args_len = n > 0 ? (size_t)n : 0;
    }
    out->half = app_char_start(out->args, out->args_len / 2);
}

/* Append "args" to "out" as compact JSON (on one line, safe inside an
 * SSE data line) when it is a JSON object, else "{}". */
static void
app_args_object(const char *args, struct sy_mock_buf *out)
{
    struct json_object *obj = sy_mock_json_parse(args, strlen(args));

    if (json_object_is_type(obj, json_type_object)) {
        sy_mock_buf_puts(out, json_object_to_json_string_ext(
                                  obj, JSON_C_TO_STRING_PLAIN |
                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    } else {
        sy_mock_buf_puts(out, "{}");
    }
    json_object_put(obj);
}

/* Fill "p" with the body_bytes answer: a JSON string of exactly "n"
 * bytes ("xxx..." in quotes; a digit when n is 1). */
static void
app_body_bytes(struct sy_mock_plan *p, long n)
{
    struct sy_mock_buf *b = &p->ev.buf;

    app_content_type(p, "application/json");
    if (n == 1) {
        sy_mock_buf_append(b, "0", 1);
        return;
    }
    if (n < 2) {
        return;
    }
    sy_mock_buf_reserve(b, (size_t)n);
    b->data[b->len] = '"';
    memset(b->data + b->len + 1, 'x', (size_t)n - 2);
    b->data[b->len + (size_t)n - 1] = '"';
    b->len += (size_t)n;
    b->data[b->len] = '\0';
}

/*
 * Fill "p" with the answer to a chat request "chat" of "dep" under the
 * effective fault spec "f" (see README.md for the order of the keys).
 */
static void
app_chat_plan(struct sy_mock_server *srv, struct sy_mock_rng *rng,
              const struct sy_mock_dialect *d, struct sy_mock_dep *dep,
              const struct sy_mock_chat *chat, const struct sy_mock_fault *f,
              struct sy_mock_plan *p)
{
    struct sy_mock_reply r;
    struct sy_mock_buf text = { 0 };
    size_t pieces[SY_MOCK_MAX_PIECES];
    char id[48];
    char call_id[48];

    p->delay_ms = sy_mock_fault_delay_ms(f, rng);
    if ((f->has & SY_MOCK_F_RESET) && f->reset) {
        p->reset = true;
        return;
    }
    if ((f->has & SY_MOCK_F_STALL) && f->stall) {
        p->stall = true;
        return;
    }
    if (f->has & SY_MOCK_F_RETRY_AFTER) {
        p->retry_after = f->retry_after;
    }
    if (f->has & SY_MOCK_F_STATUS) {
        p->status = (int)f->status;
    }
    if ((f->has & SY_MOCK_F_ERROR_BODY) ||
        ((f->has & SY_MOCK_F_STATUS) && f->status >= 400)) {
        char msg[64];

        if (!(f->has & SY_MOCK_F_STATUS)) {
            p->status = 500;
        }
        app_content_type(p, "application/json");
        if (f->has & SY_MOCK_F_ERROR_BODY) {
            sy_mock_buf_puts(&p->ev.buf, f->error_body);
        } else {
            snprintf(msg, sizeof(msg), "mock fault %d", p->status);
            d->render_error(p->status, p->retry_after, msg, &p->ev.buf);
        }
        goto out;
    }
    if (f->has & SY_MOCK_F_BODY_BYTES) {
        app_body_bytes(p, f->body_bytes);
        goto out;
    }

    memset(&r, 0, sizeof(r));
    r.chat = chat;
    snprintf(id, sizeof(id), "%s%llu", d->id_prefix,
             (unsigned long long)atomic_fetch_add(&srv->next_id, 1));
    r.id = id;
    r.created = (long long)time(NULL);
    r.cached_tokens = f->cached_tokens;
    r.reasoning_tokens = f->reasoning_tokens;
    r.cache_creation_tokens = f->cache_creation_tokens;
    r.malformed = (f->has & SY_MOCK_F_MALFORMED) && f->malformed;
    r.stream_error = (f->has & SY_MOCK_F_STREAM_ERROR) && f->stream_error;
    r.n_calls = 1;
    if (chat->has_tools && !chat->tool_choice_none && !chat->last_is_tool &&
        chat->tool_name != NULL) {
        if (f->has & SY_MOCK_F_PARALLEL_CALLS) {
            r.n_calls = f->parallel_calls;
        }
        r.call_base = (unsigned long long)atomic_fetch_add(
            &srv->next_call_id, (unsigned long long)r.n_calls);
        snprintf(call_id, sizeof(call_id), "%s%llu", d->call_prefix,
                 r.call_base);
        r.call_id = call_id;
        r.call_prefix = d->call_prefix;
        r.is_tool_call = true;
        r.finish_reason = "tool_calls";
        if (f->has & SY_MOCK_F_PARALLEL_CALLS) {
            sy_mock_buf_puts(&text, "{\"i\":0}");
        } else if (!(f->has & SY_MOCK_F_TOOL_ARGUMENTS)) {
            sy_mock_buf_puts(&text, "{}");
        } else if (d->tool_args_object) {
            app_args_object(f->tool_arguments, &text);
        } else {
            sy_mock_buf_puts(&text, f->tool_arguments);
        }
        r.n_pieces = app_pieces(text.data, text.len, 2, pieces);
    } else {
        r.finish_reason = "stop";
        if (f->has & SY_MOCK_F_FENCED && f->fenced) {
            sy_mock_buf_puts(&text, "```json\n");
        }
        if (f->has & SY_MOCK_F_CONTENT) {
            sy_mock_buf_puts(&text, f->content);
        } else if (chat->last_is_tool) {
            sy_mock_buf_printf(&text, "Tool result: %s", chat->tool_result);
        } else {
            sy_mock_buf_printf(&text, "Hello from %s.", dep->name);
        }
        if (f->has & SY_MOCK_F_FENCED && f->fenced) {
            sy_mock_buf_puts(&text, "\n```");
        }
        r.n_pieces =
            app_pieces(text.data, text.len,
                       (f->has & SY_MOCK_F_CHUNKS) ? f->chunks : 0, pieces);
    }
    r.content = text.len ? text.data : "";
    r.content_len = text.len;
    r.piece_end = pieces;
    r.prompt_tokens =
        f->prompt_tokens >= 0
            ? f->prompt_tokens
            : (chat->prompt_chars / 4 > 0 ? chat->prompt_chars / 4 : 1);
    r.completion_tokens = f->completion_tokens >= 0
                              ? f->completion_tokens
                              : app_words(r.content, r.content_len);
    if (!chat->stream) {
        app_content_type(p, "application/json");
        if (r.malformed) {
            d->render_malformed(&r, &p->ev.buf);
        } else {
            d->render_reply(&r, &p->ev.buf);
        }
        goto out;
    }
    p->is_stream = true;
    app_content_type(p, d->stream_content_type);
    d->render_stream(&r, &p->ev);
    p->ev_limit = p->ev.n;
    if (f->has & SY_MOCK_F_CHUNK_DELAY_MS) {
        p->chunk_delay_ms = f->chunk_delay_ms;
    }
    if ((f->has & SY_MOCK_F_STREAM_STALL_AFTER) &&
        (size_t)f->stream_stall_after <= p->ev_limit) {
        p->ev_limit = (size_t)f->stream_stall_after;
        p->end = SY_MOCK_END_STALL;
    }
    if ((f->has & SY_MOCK_F_STREAM_DROP_AFTER) &&
        (size_t)f->stream_drop_after <= p->ev_limit) {
        p->ev_limit = (size_t)f->stream_drop_after;
        p->end = SY_MOCK_END_DROP;
    }
out:
    if (f->has & SY_MOCK_F_CONTENT_TYPE) {
        app_content_type(p, f->content_type);
    }
    sy_mock_buf_cleanup(&text);
}

/*
 * The per-request spec in "text" (the last user message): the JSON object
 * after "[[mock ", which must be followed by "]]". Returns NULL and
 * "*bad" false when there is none; NULL, "*bad" and "err" when invalid.
 * The caller unrefs the result.
 */
static struct sy_mock_fault *
app_inline_fault(const char *text, bool *bad, char *err, size_t err_len)
{
    const char *at;
    struct sy_mock_fault *f;
    size_t used = 0;
    size_t len;

    *bad = false;
    if (text == NULL) {
        return NULL;
    }
    at = strstr(text, "[[mock ");
    if (at == NULL) {
        return NULL;
    }
    at += 7;
    len = strlen(at);
    f = sy_mock_fault_parse_text(at, len, &used, err, err_len);
    if (f == NULL) {
        *bad = true;
        return NULL;
    }
    at += used;
    while (*at == ' ') {
        at++;
    }
    if (strncmp(at, "]]", 2) != 0) {
        snprintf(err, err_len, "[[mock {...}]] is missing its ]]");
        sy_mock_fault_unref(f);
        *bad = true;
        return NULL;
    }
    return f;
}

/* The API key a request was sent with: "Authorization: Bearer <key>",
 * else "x-api-key", else "x-goog-api-key", else the "key" query
 * parameter; NULL when none. Borrowed from the request. */
static const char *
app_request_key(const struct sy_mock_req *req, size_t *len)
{
    const char *v = sy_mock_req_header(req, "authorization", len);
    const char *q;

    if (v != NULL) {
        if (*len > 7 && strncasecmp(v, "bearer ", 7) == 0) {
            *len -= 7;
            return v + 7;
        }
        return v;
    }
    v = sy_mock_req_header(req, "x-api-key", len);
    if (v != NULL) {
        return v;
    }
    v = sy_mock_req_header(req, "x-goog-api-key", len);
    if (v != NULL) {
        return v;
    }
    for (q = req->query; *q != '\0';) {
        size_t n = strcspn(q, "&");

        if (n > 4 && strncmp(q, "key=", 4) == 0) {
            *len = n - 4;
            return q + 4;
        }
        q += n;
        if (*q == '&') {
            q++;
        }
    }
    *len = 0;
    return NULL;
}

/* Answer a chat request "req" of "dep" into "p". */
static void
app_chat(struct sy_mock_server *srv, struct sy_mock_rng *rng,
         const struct sy_mock_dialect *d, const char *path,
         struct sy_mock_dep *dep, const struct sy_mock_req *req,
         struct sy_mock_plan *p)
{
    struct sy_mock_chat chat;
    struct json_object *body;
    struct sy_mock_fault *dep_fault;
    struct sy_mock_fault *req_fault;
    struct sy_mock_fault eff;
    char err[256];
    bool bad;
    const char *key;
    size_t key_len;

    body = sy_mock_json_parse(req->body, req->body_len);
    if (body == NULL) {
        app_error(d, 400,
                  "We could not parse the JSON body of your "
                  "request.",
                  p);
        return;
    }
    memset(&chat, 0, sizeof(chat));
    if (!d->parse_chat(req, path, body, &chat, err, sizeof(err))) {
        goto bad_request;
    }
    req_fault = app_inline_fault(chat.last_user_text, &bad, err, sizeof(err));
    if (bad) {
        goto bad_request;
    }
    if (chat.stream) {
        atomic_fetch_add(&dep->streams, 1);
    }
    key = app_request_key(req, &key_len);
    if (!sy_mock_fault_key_matches(req_fault, key, key_len)) {
        sy_mock_fault_unref(req_fault);
        req_fault = NULL;
    }
    dep_fault = sy_mock_state_take_fault(dep, key, key_len);
    sy_mock_fault_merge(&eff, dep_fault, req_fault);
    app_chat_plan(srv, rng, d, dep, &chat, &eff, p);
    sy_mock_fault_unref(dep_fault);
    sy_mock_fault_unref(req_fault);
    json_object_put(body);
    return;

bad_request:
    app_error(d, 400, err, p);
    json_object_put(body);
}

/* ---- control API ------------------------------------------------------- */

/* The deployment named by the rest of a control path, or NULL after
 * filling "p" with an error. */
static struct sy_mock_dep *
app_control_dep(struct sy_mock_server *srv, const char *name,
                struct sy_mock_plan *p)
{
    struct sy_mock_dep *dep;

    if (!sy_mock_state_valid_name(name, strlen(name))) {
        sy_mock_app_error(400, "invalid deployment name", p);
        return NULL;
    }
    dep = sy_mock_state_dep(srv->state, name, strlen(name));
    if (dep == NULL) {
        sy_mock_app_error(503, "too many deployments", p);
    }
    return dep;
}

/* PUT /_mock/faults/<dep>: replace the spec of "dep" with the body. */
static void
app_put_fault(struct sy_mock_server *srv, struct sy_mock_dep *dep,
              const struct sy_mock_req *req, struct sy_mock_plan *p)
{
    struct json_object *obj;
    struct sy_mock_fault *f;
    char err[256];

    obj = sy_mock_json_parse(req->body, req->body_len);
    if (obj == NULL) {
        sy_mock_app_error(400, "the fault spec is not valid JSON", p);
        return;
    }
    f = sy_mock_fault_parse(obj, err, sizeof(err));
    json_object_put(obj);
    if (f == NULL) {
        sy_mock_app_error(400, err, p);
        return;
    }
    sy_mock_state_set_fault(srv->state, dep, f);
    app_content_type(p, "application/json");
    sy_mock_state_fault_json(dep, &p->ev.buf);
}

/* Serve a request under /_mock/ (see README.md). */
static void
app_control(struct sy_mock_server *srv, const struct sy_mock_req *req,
            struct sy_mock_plan *p)
{
    const char *path = req->path + 6; /* after "/_mock" */
    const char *m = req->method;
    bool get = strcmp(m, "GET") == 0;
    bool del = strcmp(m, "DELETE") == 0;
    bool put = strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0;
    struct sy_mock_dep *dep;

    if (strcmp(path, "/stats") == 0 && get) {
        app_content_type(p, "application/json");
        sy_mock_state_stats_json(srv->state, &p->ev.buf);
    } else if (strcmp(path, "/reset-stats") == 0 && put) {
        sy_mock_state_reset_stats(srv->state);
        app_json(p, 200, "{\"ok\":true}");
    } else if (strcmp(path, "/faults") == 0 && del) {
        sy_mock_state_clear_faults(srv->state);
        app_json(p, 200, "{\"ok\":true}");
    } else if (strncmp(path, "/faults/", 8) == 0 && (get || put || del)) {
        dep = app_control_dep(srv, path + 8, p);
        if (dep == NULL) {
            return;
        }
        if (put) {
            app_put_fault(srv, dep, req, p);
            return;
        }
        if (del) {
            sy_mock_state_set_fault(srv->state, dep, NULL);
        }
        app_content_type(p, "application/json");
        sy_mock_state_fault_json(dep, &p->ev.buf);
    } else if (strcmp(path, "/requests") == 0 && del) {
        sy_mock_state_clear_requests(srv->state, NULL);
        app_json(p, 200, "{\"ok\":true}");
    } else if (strncmp(path, "/requests/", 10) == 0 && (get || del)) {
        dep = app_control_dep(srv, path + 10, p);
        if (dep == NULL) {
            return;
        }
        if (del) {
            sy_mock_state_clear_requests(srv->state, dep);
            app_json(p, 200, "{\"ok\":true}");
            return;
        }
        app_content_type(p, "application/json");
        sy_mock_state_requests_json(dep, &p->ev.buf);
    } else {
        char msg[128];

        snprintf(msg, sizeof(msg), "unknown control request %.16s %.80s", m,
                 req->path);
        sy_mock_app_error(404, msg, p);
    }
}

/* ---- routing ----------------------------------------------------------- */

/* The dialect that serves "path", with its operation and method. */
static const struct sy_mock_dialect *
app_route(const char *path, enum sy_mock_op *op, const char **method)
{
    size_t i;

    for (i = 0; i < APP_NDIALECTS; i++) {
        *op = app_dialects[i]->route(path, method);
        if (*op != SY_MOCK_OP_NONE) {
            return app_dialects[i];
        }
    }
    return NULL;
}

/*
 * Answer "req" into "plan" (reset first). Paths are tried as they are
 * (deployment "default"), then with the first segment as the deployment
 * name when it is not "v1". Never fails: errors become error plans.
 */
void
sy_mock_app_handle(struct sy_mock_server *srv, struct sy_mock_rng *rng,
                   const struct sy_mock_req *req, struct sy_mock_plan *plan)
{
    const char *path = req->path;
    const char *name = "default";
    size_t name_len = 7;
    const struct sy_mock_dialect *d;
    const char *method = "";
    enum sy_mock_op op = SY_MOCK_OP_NONE;
    struct sy_mock_dep *dep;

    sy_mock_plan_reset(plan);
    if (strncmp(path, "/_mock/", 7) == 0) {
        app_control(srv, req, plan);
        return;
    }
    d = app_route(path, &op, &method);
    if (d == NULL) {
        const char *slash = strchr(path + 1, '/');

        if (slash != NULL &&
            !(slash - path == 3 && strncmp(path, "/v1", 3) == 0) &&
            sy_mock_state_valid_name(path + 1, (size_t)(slash - path - 1))) {
            name = path + 1;
            name_len = (size_t)(slash - path - 1);
            path = slash;
            d = app_route(path, &op, &method);
        }
    }
    if (d == NULL) {
        char msg[128];

        snprintf(msg, sizeof(msg), "Invalid URL (%.16s %.80s)", req->method,
                 req->path);
        sy_mock_app_error(404, msg, plan);
        return;
    }
    dep = sy_mock_state_dep(srv->state, name, name_len);
    if (dep == NULL) {
        sy_mock_app_error(503, "too many deployments", plan);
        return;
    }
    sy_mock_state_record(dep, req->head, req->head_len, req->body,
                         req->body_len);
    atomic_fetch_add(&dep->requests, 1);
    if (strcmp(req->method, method) != 0) {
        app_error(d, 405, "Method not allowed", plan);
    } else if (op == SY_MOCK_OP_MODELS) {
        app_content_type(plan, "application/json");
        d->render_models(&plan->ev.buf);
    } else {
        app_chat(srv, rng, d, path, dep, req, plan);
    }
    app_account(plan, dep);
}

/* ---- --config ---------------------------------------------------------- */

/*
 * Load the initial fault specs from "file": a JSON object whose members
 * are deployment names with their specs. False (after logging why) when
 * the file cannot be read or is invalid.
 */
bool
sy_mock_app_load_config(struct sy_mock_server *srv, const char *file)
{
    FILE *fp = fopen(file, "rb");
    struct sy_mock_buf text = { 0 };
    struct json_object *obj;
    struct json_object_iterator it;
    struct json_object_iterator end;
    char chunk[4096];
    size_t n;
    bool ok = true;

    if (fp == NULL) {
        sy_mock_log("cannot open --config %s", file);
        return false;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 &&
           text.len < SY_MOCK_MAX_BODY) {
        sy_mock_buf_append(&text, chunk, n);
    }
    fclose(fp);
    obj = sy_mock_json_parse(text.data ? text.data : "", text.len);
    sy_mock_buf_cleanup(&text);
    if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
        sy_mock_log("--config %s: not a JSON object", file);
        json_object_put(obj);
        return false;
    }
    it = json_object_iter_begin(obj);
    end = json_object_iter_end(obj);
    for (; ok && !json_object_iter_equal(&it, &end);
         json_object_iter_next(&it)) {
        const char *name = json_object_iter_peek_name(&it);
        struct sy_mock_fault *f;
        struct sy_mock_dep *dep;
        char err[256];

        if (!sy_mock_state_valid_name(name, strlen(name))) {
            sy_mock_log("--config %s: bad deployment name \"%.64s\"", file,
                        name);
            ok = false;
            break;
        }
        f = sy_mock_fault_parse(json_object_iter_peek_value(&it), err,
                                sizeof(err));
        dep = sy_mock_state_dep(srv->state, name, strlen(name));
        if (f == NULL || dep == NULL) {
            sy_mock_log("--config %s: %s: %s", file, name,
                        f == NULL ? err : "too many deployments");
            sy_mock_fault_unref(f);
            ok = false;
            break;
        }
        sy_mock_state_set_fault(srv->state, dep, f);
    }
    json_object_put(obj);
    return ok;
}
