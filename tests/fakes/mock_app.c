/*
 * mock_app.c - what the mock LLM provider answers: splits the deployment
 * prefix off the path, picks the dialect, merges the fault specs and has
 * mock_reply.c fill a response plan; also serves the control API under
 * /_mock/ and loads --config. It never touches sockets: mock_conn.c plays
 * the plan.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

/*
 * The dialects, tried in order on each path. The first one also renders
 * errors that belong to no dialect (404, malformed HTTP, control API).
 */
static const struct sy_mock_dialect *const app_dialects[] = {
    &sy_mock_dialect_openai,
    &sy_mock_dialect_anthropic,
    &sy_mock_dialect_gemini,
    &sy_mock_dialect_responses,
};

#define APP_NDIALECTS (sizeof(app_dialects) / sizeof(app_dialects[0]))

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
    p->head_stall_ms = 0;
    p->chunk_delay_ms = 0;
    p->ev_limit = 0;
    p->end = SY_MOCK_END_DONE;
    p->reset = false;
    p->stall = false;
    p->dep = NULL;
    memset(&p->bill, 0, sizeof(p->bill));
    p->tally = NULL;
    p->head_sent = false;
    p->ev_sent = 0;
}

/* Free what "p" owns; "p" must be finished (sy_mock_app_finish). */
void
sy_mock_plan_cleanup(struct sy_mock_plan *p)
{
    sy_mock_events_cleanup(&p->ev);
}

/* Set the content type of "p". */
void
sy_mock_plan_content_type(struct sy_mock_plan *p, const char *type)
{
    snprintf(p->content_type, sizeof(p->content_type), "%s", type);
}

/* Make "p" a JSON body "body" with "status". */
static void
app_json(struct sy_mock_plan *p, int status, const char *body)
{
    p->status = status;
    sy_mock_plan_content_type(p, "application/json");
    sy_mock_buf_puts(&p->ev.buf, body);
}

/* Make "p" an error of dialect "d" ("status", "message"). */
static void
app_error(const struct sy_mock_dialect *d, int status, const char *message,
          struct sy_mock_plan *p)
{
    p->status = status;
    sy_mock_plan_content_type(p, "application/json");
    sy_mock_events_reset(&p->ev);
    d->render_error(status, -1, message, &p->ev.buf);
}

/* Make "p" an error of the first dialect ("status", "message"). */
void
sy_mock_app_error(int status, const char *message, struct sy_mock_plan *p)
{
    app_error(app_dialects[0], status, message, p);
}

/* How the chat call of "p" ended, from what the HTTP layer queued: a
 * usage object counts as reported only when its event (or the body
 * that holds it) went out. */
static enum sy_mock_outcome
app_outcome(const struct sy_mock_plan *p)
{
    if (!p->head_sent) {
        return SY_MOCK_OUT_NONE;
    }
    if (p->status < 200 || p->status >= 300) {
        return SY_MOCK_OUT_ERROR;
    }
    if (p->is_stream) {
        return p->ev.usage_at > 0 && p->ev_sent >= p->ev.usage_at
                   ? SY_MOCK_OUT_USAGE
                   : SY_MOCK_OUT_NO_USAGE;
    }
    return p->bill.body_usage ? SY_MOCK_OUT_USAGE : SY_MOCK_OUT_NO_USAGE;
}

/* The request of "p" is over (answered or its connection closed): a chat
 * call goes into the tally, once. */
void
sy_mock_app_finish(struct sy_mock_plan *p)
{
    if (p->bill.active && p->tally != NULL) {
        sy_mock_tally_record(p->tally, &p->bill, p->head_sent ? p->status : 0,
                             app_outcome(p), p->ev_sent);
    }
    p->bill.active = false;
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

/* Start the tally record of a chat call of "dep" ("req") in "p": the
 * deployment and API key; the rest follows as the answer is made. */
static void
app_bill_start(const struct sy_mock_dep *dep, const struct sy_mock_req *req,
               struct sy_mock_plan *p)
{
    size_t key_len;
    const char *key = app_request_key(req, &key_len);

    p->bill.active = true;
    snprintf(p->bill.dep, sizeof(p->bill.dep), "%s", dep->name);
    if (key == NULL || key_len == 0) {
        snprintf(p->bill.key, sizeof(p->bill.key), "-");
    } else {
        snprintf(
            p->bill.key, sizeof(p->bill.key), "%.*s",
            (int)(key_len < SY_MOCK_TALLY_NAME ? key_len : SY_MOCK_TALLY_NAME),
            key);
    }
}

/*
 * prompt_cache: the cached tokens of "chat" on "dep" go into "eff" (when
 * its usage does not set them): OpenAI, Responses and Gemini count them
 * within the prompt tokens, Anthropic's input_tokens leave them out.
 */
static void
app_prompt_cache(const struct sy_mock_dialect *d, struct json_object *body,
                 struct sy_mock_dep *dep, const struct sy_mock_chat *chat,
                 struct sy_mock_prefix *pre, struct sy_mock_fault *eff)
{
    long prompt = eff->prompt_tokens >= 0 ? eff->prompt_tokens
                                          : sy_mock_chat_prompt_tokens(chat);
    long cached;

    sy_mock_prefix_of(body, pre);
    if (eff->cached_tokens >= 0) {
        return;
    }
    cached = sy_mock_pcache_lookup(dep, eff, pre);
    eff->cached_tokens = cached < prompt ? cached : prompt;
    if (d == &sy_mock_dialect_anthropic && eff->prompt_tokens < 0) {
        eff->prompt_tokens = prompt - eff->cached_tokens;
    }
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
    struct sy_mock_fault *profile;
    struct sy_mock_fault under;
    struct sy_mock_fault eff;
    struct sy_mock_prefix *pre = NULL;
    struct sy_mock_rng common;
    char err[256];
    bool bad;
    const char *key;
    size_t key_len;

    app_bill_start(dep, req, p);
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
    profile = sy_mock_profile_take(dep);
    sy_mock_fault_merge(&under, profile, dep_fault);
    sy_mock_fault_merge(&eff, &under, req_fault);
    if (eff.has & SY_MOCK_F_PROMPT_CACHE) {
        pre = sy_mock_xmalloc(sizeof(*pre));
        app_prompt_cache(d, body, dep, &chat, pre, &eff);
    }
    snprintf(p->bill.model, sizeof(p->bill.model), "%s", chat.model);
    p->bill.stream = chat.stream;
    if (eff.has & SY_MOCK_F_TAG) {
        snprintf(p->bill.tag, sizeof(p->bill.tag), "%s", eff.tag);
    }
    sy_mock_chat_pick_tool(&chat, &eff);
    if (srv->draws != NULL) {
        /* --common-draws: this request's luck, not the worker's */
        bool failing =
            (eff.has &
             (SY_MOCK_F_ERROR_BODY | SY_MOCK_F_BODY_BYTES |
              SY_MOCK_F_MALFORMED | SY_MOCK_F_STREAM_ERROR |
              SY_MOCK_F_STREAM_DROP_AFTER | SY_MOCK_F_STREAM_STALL_AFTER)) ||
            ((eff.has & SY_MOCK_F_STATUS) && eff.status >= 400) ||
            ((eff.has & SY_MOCK_F_RESET) && eff.reset) ||
            ((eff.has & SY_MOCK_F_STALL) && eff.stall);
        sy_mock_draws_seed(srv->draws, srv->seed, req, body, !failing, &common);
        rng = &common;
    }
    sy_mock_reply_plan(srv, rng, d, dep, &chat, &eff, p);
    /* only an answered request leaves its prefix in the cache */
    if (pre != NULL && p->status == 200 && !p->reset && !p->stall) {
        sy_mock_pcache_store(dep, &eff, pre);
    }
    free(pre);
    sy_mock_fault_unref(profile);
    sy_mock_fault_unref(dep_fault);
    sy_mock_fault_unref(req_fault);
    json_object_put(body);
    return;

bad_request:
    app_error(d, 400, err, p);
    json_object_put(body);
}

/* Answer an embeddings request "req" of "dep" into "p" (mock_embed.c):
 * the faults apply as for chat, a [[mock ...]] spec in the last text
 * input included; the call goes into the tally. */
static void
app_embed(struct sy_mock_rng *rng, const struct sy_mock_dialect *d,
          const char *path, struct sy_mock_dep *dep,
          const struct sy_mock_req *req, struct sy_mock_plan *p)
{
    struct sy_mock_embed em;
    struct json_object *body;
    struct sy_mock_fault *req_fault = NULL;
    char err[256];
    bool bad = false;

    app_bill_start(dep, req, p);
    memset(&em, 0, sizeof(em));
    body = sy_mock_json_parse(req->body, req->body_len);
    if (body == NULL) {
        app_error(d, 400,
                  "We could not parse the JSON body of your "
                  "request.",
                  p);
        return;
    }
    if (sy_mock_embed_parse(d, path, body, &em, err, sizeof(err))) {
        req_fault = app_inline_fault(em.last_text, &bad, err, sizeof(err));
    } else {
        bad = true;
    }
    if (bad) {
        app_error(d, 400, err, p);
    } else {
        struct sy_mock_fault *dep_fault;
        struct sy_mock_fault eff;
        size_t key_len;
        const char *key = app_request_key(req, &key_len);

        if (!sy_mock_fault_key_matches(req_fault, key, key_len)) {
            sy_mock_fault_unref(req_fault);
            req_fault = NULL;
        }
        dep_fault = sy_mock_state_take_fault(dep, key, key_len);
        sy_mock_fault_merge(&eff, dep_fault, req_fault);
        snprintf(p->bill.model, sizeof(p->bill.model), "%s", em.model);
        if (eff.has & SY_MOCK_F_TAG) {
            snprintf(p->bill.tag, sizeof(p->bill.tag), "%s", eff.tag);
        }
        sy_mock_embed_plan(rng, d, &em, &eff, p);
        sy_mock_fault_unref(dep_fault);
        sy_mock_fault_unref(req_fault);
    }
    sy_mock_embed_cleanup(&em);
    json_object_put(body);
}

/* Answer a token count request "req" (POST /v1/messages/count_tokens)
 * into "p": {"input_tokens": N}, the prompt tokens a chat reply to the
 * same body would report. Faults do not apply; it is no call in the
 * tally. */
static void
app_count(const struct sy_mock_dialect *d, const char *path,
          const struct sy_mock_req *req, struct sy_mock_plan *p)
{
    struct sy_mock_chat chat;
    struct json_object *body;
    char err[256];

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
        app_error(d, 400, err, p);
    } else {
        sy_mock_plan_content_type(p, "application/json");
        sy_mock_buf_printf(&p->ev.buf, "{\"input_tokens\":%ld}",
                           sy_mock_chat_prompt_tokens(&chat));
    }
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
    sy_mock_plan_content_type(p, "application/json");
    sy_mock_state_fault_json(dep, &p->ev.buf);
}

/* GET, PUT or DELETE /_mock/profile/<dep>: the spec under every request
 * of "dep" (mock_profile.c). */
static void
app_profile(struct sy_mock_dep *dep, const struct sy_mock_req *req, bool put,
            bool del, struct sy_mock_plan *p)
{
    struct sy_mock_fault *f = NULL;
    char err[256];

    if (put) {
        struct json_object *obj = sy_mock_json_parse(req->body, req->body_len);
        if (obj == NULL) {
            sy_mock_app_error(400, "the profile is not valid JSON", p);
            return;
        }
        f = sy_mock_fault_parse(obj, err, sizeof(err));
        json_object_put(obj);
        if (f == NULL || !sy_mock_profile_set(dep, f, err, sizeof(err))) {
            sy_mock_app_error(400, err, p);
            return;
        }
    } else if (del) {
        sy_mock_profile_set(dep, NULL, err, sizeof(err));
    }
    sy_mock_plan_content_type(p, "application/json");
    sy_mock_profile_json(dep, &p->ev.buf);
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
        sy_mock_plan_content_type(p, "application/json");
        sy_mock_state_stats_json(srv->state, &p->ev.buf);
    } else if (strcmp(path, "/tally") == 0 && (get || del)) {
        if (del) {
            sy_mock_tally_reset(srv->tally);
            app_json(p, 200, "{\"ok\":true}");
            return;
        }
        sy_mock_plan_content_type(p, "application/json");
        sy_mock_tally_json(srv->tally, &p->ev.buf);
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
        sy_mock_plan_content_type(p, "application/json");
        sy_mock_state_fault_json(dep, &p->ev.buf);
    } else if (strncmp(path, "/profile/", 9) == 0 && (get || put || del)) {
        dep = app_control_dep(srv, path + 9, p);
        if (dep != NULL) {
            app_profile(dep, req, put, del, p);
        }
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
        sy_mock_plan_content_type(p, "application/json");
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
    plan->tally = srv->tally;
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
        sy_mock_plan_content_type(plan, "application/json");
        d->render_models(&plan->ev.buf);
    } else if (op == SY_MOCK_OP_COUNT) {
        app_count(d, path, req, plan);
    } else if (op == SY_MOCK_OP_EMBED) {
        app_embed(rng, d, path, dep, req, plan);
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
