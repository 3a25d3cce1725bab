/*
 * pipeline_count.c - POST /v1/messages/count_tokens: how many input
 * tokens a Messages request would take. Native where it can be: the
 * first deployment of the group whose adapter speaks the caller's
 * format and can count (Anthropic's own endpoint, which is free) answers
 * it, unchanged; otherwise, or when that provider fails, the gateway's
 * estimate (about 4 bytes of the request's JSON text a token, the rule
 * it bills unreported usage by), marked "x-switchyard-estimate: true".
 *
 * The caller is authenticated and its model permission checked as for a
 * message, and its tools refused as a message's would be; nothing is
 * billed, and its rate limit counts the request.
 * Part of the pipeline; see pipeline_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/secret_redact.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "api/chat.h"
#include "api/req.h"
#include "api/sink.h"
#include "base/log.h"
#include "config/config.h"
#include "io/upstream.h"
#include "io/worker.h"
#include "state/quota.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* The estimate: the JSON text of what the provider reads (messages,
 * system, tools), a token per 4 bytes, at least 1. */
static int64_t
estimate(struct json_object *root)
{
    static const char *const parts[] = { "messages", "system", "tools" };
    size_t bytes = 0;
    for (size_t i = 0; i < SY_ARRAY_LEN(parts); i++) {
        struct json_object *v;
        if (json_object_object_get_ex(root, parts[i], &v) && v != NULL)
            bytes += strlen(
                json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
    }
    return (int64_t)(bytes / 4 + 1);
}

/* Ask deployment 'd' to count. True when the caller has been answered
 * (the provider's count, or its refusal of the caller's request). */
static bool
count_native(struct pctx *c, const struct sy_deployment *d)
{
    struct sy_worker *w = c->w;
    const struct sy_adapter *ad = d->provider->adapter;
    struct sy_http_out out;
    memset(&out, 0, sizeof(out));
    memset(&c->call, 0, sizeof(c->call));
    c->call.req = &c->chat;
    c->call.target = &d->target;
    c->call.api_key = sy_config_next_key(d->provider);
    c->call.arena = &w->arena;
    c->call.ctx =
        ad->ctx_size ? sy_arena_zalloc(&w->arena, ad->ctx_size) : NULL;
    struct sy_failure f;
    memset(&f, 0, sizeof(f));
    c->call.fail = &f;
    sy_buf_clear(&w->upbody);
    out.body = &w->upbody;
    if (ad->build_count(&c->call, &out) != SY_OK)
        return false;
    struct sy_upstream_call uc;
    memset(&uc, 0, sizeof(uc));
    uc.req = &out;
    uc.timeouts = d->timeouts;
    uc.max_body_bytes = 65536;
    c->dep = d;
    c->attempts++;
    c->uc = &uc;
    sy_pipeline_trace_call(c, &uc);
    enum sy_err e = w->perform(w->up, &uc);
    sy_pipeline_trace_call_done(c, NULL, &uc);
    bool answered = false;
    if (e == SY_OK && uc.status >= 200 && uc.status < 300) {
        struct json_object *o = json_tokener_parse(sy_buf_cstr(&uc.body));
        struct json_object *n;
        if (o != NULL && json_object_object_get_ex(o, "input_tokens", &n) &&
            json_object_is_type(n, json_type_int)) {
            /* The count (and the beta's context_management), not the
             * provider's body: nothing else a provider, or a proxy
             * echoing our headers, put there reaches the caller, and
             * what does is masked as its failures are. */
            struct json_object *reply = json_object_new_object(), *cm;
            json_object_object_add(
                reply, "input_tokens",
                json_object_new_int64(json_object_get_int64(n)));
            if (json_object_object_get_ex(o, "context_management", &cm) &&
                (cm == NULL || json_object_is_type(cm, json_type_object)))
                json_object_object_add(reply, "context_management",
                                       json_object_get(cm));
            const char *text = sy_secret_redact(
                json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN),
                c->call.api_key, &w->arena);
            sy_pipeline_send_bytes(c, 200, "application/json", NULL, text,
                                   strlen(text));
            json_object_put(reply);
            answered = true;
        }
        json_object_put(o);
    } else if (e == SY_OK && uc.status >= 400) {
        sy_pipeline_classify(c, &uc, &f);
        if (!sy_err_retry(f.err)) {
            /* The caller's request is at fault: no estimate would help. */
            int status = f.status >= 400 && f.status < 500
                             ? f.status
                             : sy_err_status(f.err);
            sy_pipeline_send_error(c, status, f.message, sy_err_type(f.err),
                                   f.param,
                                   f.code ? f.code : sy_err_code(f.err), NULL);
            answered = true;
        }
    }
    if (!answered)
        sy_log_warn(c->request_id,
                    "count_tokens on %s failed (%s, HTTP %d); answered "
                    "with the estimate",
                    d->name, sy_err_name(e), uc.status);
    c->uc = NULL;
    sy_upstream_call_cleanup(&uc);
    return answered;
}

/* Read the body: a JSON object with a string "model" and a "messages"
 * array. NULL when the caller has been answered. */
static struct json_object *
count_body(struct pctx *c)
{
    struct sy_worker *w = c->w;
    struct sy_chat_error perr;
    memset(&perr, 0, sizeof(perr));
    struct json_object *root;
    enum sy_err e = sy_chat_body_parse(c->r->body, c->r->body_len,
                                       w->cfg->server.max_json_depth, &w->arena,
                                       &root, &perr);
    if (e != SY_OK) {
        sy_pipeline_send_err(c, e, perr.message, perr.param);
        return NULL;
    }
    struct json_object *v;
    if (!json_object_object_get_ex(root, "model", &v) ||
        !json_object_is_type(v, json_type_string)) {
        sy_pipeline_send_err(c, SY_EBADREQ, "model: a string is required",
                             "model");
        return NULL;
    }
    if (!json_object_object_get_ex(root, "messages", &v) ||
        !json_object_is_type(v, json_type_array)) {
        sy_pipeline_send_err(c, SY_EBADREQ, "messages: an array is required",
                             "messages");
        return NULL;
    }
    return root;
}

/* The caller's "tools" and "tool_choice", refused exactly as POST
 * /v1/messages refuses them (at most SY_CHAT_MAX_TOOLS, each one's
 * shape and schema): the surface's own parse reads them in a request
 * whose other members are placeholders. True when they pass (or there
 * are none); false when the caller has been answered. */
static bool
count_tools_ok(struct pctx *c, struct json_object *root)
{
    static const char *const keys[] = { "tools", "tool_choice" };
    struct sy_worker *w = c->w;
    struct json_object *probe = json_object_new_object();
    bool any = false;
    for (size_t i = 0; i < SY_ARRAY_LEN(keys); i++) {
        struct json_object *v;
        if (json_object_object_get_ex(root, keys[i], &v)) {
            json_object_object_add(probe, keys[i], json_object_get(v));
            any = true;
        }
    }
    if (!any) {
        json_object_put(probe);
        return true;
    }
    struct json_object *msg = json_object_new_object();
    json_object_object_add(msg, "role", json_object_new_string("user"));
    json_object_object_add(msg, "content", json_object_new_string("x"));
    struct json_object *msgs = json_object_new_array();
    json_object_array_add(msgs, msg);
    json_object_object_add(probe, "model", json_object_new_string("x"));
    json_object_object_add(probe, "max_tokens", json_object_new_int(1));
    json_object_object_add(probe, "messages", msgs);
    struct sy_req r = *c->r;
    r.body = sy_arena_strdup(&w->arena, json_object_to_json_string_ext(
                                            probe, JSON_C_TO_STRING_PLAIN));
    r.body_len = strlen(r.body);
    json_object_put(probe);
    struct sy_chat_req req;
    struct sy_chat_error perr;
    memset(&perr, 0, sizeof(perr));
    enum sy_err e = c->surface->parse(&r, w->cfg->server.max_json_depth,
                                      &w->arena, &req, &perr);
    if (e != SY_OK) {
        sy_pipeline_send_err(c, e, perr.message, perr.param);
        return false;
    }
    return true;
}

void
sy_pipeline_handle_count_tokens(struct pctx *c)
{
    struct sy_worker *w = c->w;
    struct sy_ledger *l = &c->led;
    memset(l, 0, sizeof(*l));
    struct json_object *root = NULL;
    if (!sy_pipeline_identify(c, &l->ck, &l->vk) ||
        !sy_pipeline_read_json_body(c) || (root = count_body(c)) == NULL ||
        !count_tools_ok(c, root))
        goto out;
    const char *model =
        json_object_get_string(json_object_object_get(root, "model"));
    if (!sy_pipeline_admit_group(c, l, model))
        goto out;
    if (l->ck != NULL && w->quota != NULL) {
        struct sy_ratelimit_result rr;
        sy_quota_caller(w->quota, w->store, l->ck, 0, &l->caller_res, &rr);
        l->caller_held = rr.allowed;
        if (!rr.allowed) {
            sy_pipeline_send_caller_limited(c, l->ck, &rr);
            goto out;
        }
    }
    memset(&c->chat, 0, sizeof(c->chat));
    c->chat.model = model;
    c->chat.max_tokens = -1;
    c->chat.native.dialect = c->surface->dialect;
    c->chat.native.root = root;
    c->chat.native.version = c->r->anthropic_version;
    c->chat.native.beta = c->r->anthropic_beta;
    for (size_t i = 0; i < c->group->nroute; i++) {
        const struct sy_deployment *d = c->group->route[i];
        const struct sy_adapter *ad = d->provider->adapter;
        if (ad->build_count == NULL || c->surface->dialect == NULL ||
            strcmp(ad->name, c->surface->dialect) != 0)
            continue;
        if (count_native(c, d))
            goto out;
        break;
    }
    char body[64];
    int n = snprintf(body, sizeof(body), "{\"input_tokens\":%lld}",
                     (long long)estimate(root));
    sy_pipeline_send_bytes(c, 200, "application/json",
                           "x-switchyard-estimate: true\r\n", body, (size_t)n);
out:
    /* Nothing was billed: the ledger holds at most the rate-limit
     * reservation, settled with no tokens. */
    sy_pipeline_settle(c);
}
