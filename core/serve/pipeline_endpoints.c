/*
 * pipeline_endpoints.c - the small endpoints: /v1/models, /v1/models/{id}
 * and /healthz (with the shared-state flag). Part of the pipeline; see
 * pipeline_int.h.
 *
 * The model endpoints answer in the shape of the caller's SDK: a request
 * with an anthropic-version header (every Anthropic SDK sends one) gets
 * Anthropic's ModelInfo objects and list page, errors included; any other
 * OpenAI's. Anthropic's ?limit, ?before_id and ?after_id are not read:
 * the list (the groups a key may use, a handful) is always the whole
 * one, "has_more": false, which a paging SDK takes as the last page.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "auth.h"
#include "base/hmac.h"
#include "state/budget.h"
#include "api/chat.h"
#include "base/clock.h"
#include "config/config.h"
#include "config/cost.h"
#include "base/err.h"
#include "base/log.h"
#include "state/quota.h"
#include "api/req.h"
#include "api/sink.h"
#include "state/state.h"
#include "io/usagelog.h"
#include "state/vkeys.h"
#include "io/worker.h"
#include "admin.h"
#include "api/adapter.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* May the caller (NULL: no caller keys configured) see group 'g'? A key's
 * allowed-models list limits the listing as it limits chat. */
static bool
caller_may_use(const struct sy_caller_key *ck, const struct sy_vkey *vk,
               const struct sy_group *g)
{
    if (vk != NULL)
        return sy_vkey_model_allowed(vk, g->name);
    return ck == NULL || sy_auth_model_allowed(ck, g->name);
}

/* Does the caller speak Anthropic's API? Then its errors too come in
 * Anthropic's shape. */
static bool
anthropic_caller(struct pctx *c)
{
    if (c->r->anthropic_version == NULL)
        return false;
    c->surface = &sy_surface_messages;
    return true;
}

/* One model object named 'id': OpenAI's shape, or Anthropic's ModelInfo
 * (the fields a gateway cannot know about its groups are null; a group
 * has no release date, so created_at is the epoch, as Anthropic's own
 * API writes when it does not know). */
static void
put_model(struct sy_buf *b, const char *id, bool anthropic)
{
    if (!anthropic) {
        sy_buf_puts(b, "{\"id\":");
        sy_buf_json_str(b, id, strlen(id));
        sy_buf_puts(b, ",\"object\":\"model\",\"created\":0,"
                       "\"owned_by\":\"switchyard\"}");
        return;
    }
    sy_buf_puts(b, "{\"type\":\"model\",\"id\":");
    sy_buf_json_str(b, id, strlen(id));
    sy_buf_puts(b, ",\"display_name\":");
    sy_buf_json_str(b, id, strlen(id));
    sy_buf_puts(b, ",\"created_at\":\"1970-01-01T00:00:00Z\","
                   "\"capabilities\":null,\"deprecated_at\":null,"
                   "\"lifecycle\":\"active\",\"line\":null,"
                   "\"max_input_tokens\":null,\"max_tokens\":null,"
                   "\"retires_at\":null}");
}

/* With caller keys configured the model endpoints authenticate like chat
 * (same 401) and show only the groups the key may use; without, they are
 * open. The list holds the groups, not their aliases: an alias pattern
 * is no model id. */
void
sy_pipeline_handle_models(struct pctx *c)
{
    const struct sy_config *cfg = c->w->cfg;
    const struct sy_caller_key *ck = NULL;
    struct sy_vkey *vk = NULL;
    bool anthropic = anthropic_caller(c);
    if (!sy_pipeline_identify(c, &ck, &vk))
        return;
    struct sy_buf *b = &c->w->out;
    sy_buf_clear(b);
    sy_buf_puts(b,
                anthropic ? "{\"data\":[" : "{\"object\":\"list\",\"data\":[");
    const char *first = NULL, *last = NULL;
    for (size_t i = 0; i < cfg->ngroups; i++) {
        const char *name = cfg->groups[i].name;
        if (!caller_may_use(ck, vk, &cfg->groups[i]))
            continue;
        if (first != NULL)
            sy_buf_puts(b, ",");
        else
            first = name;
        last = name;
        put_model(b, name, anthropic);
    }
    sy_buf_puts(b, "]");
    if (anthropic) {
        sy_buf_puts(b, ",\"has_more\":false,\"first_id\":");
        if (first != NULL) {
            sy_buf_json_str(b, first, strlen(first));
            sy_buf_puts(b, ",\"last_id\":");
            sy_buf_json_str(b, last, strlen(last));
        } else {
            sy_buf_puts(b, "null,\"last_id\":null");
        }
    }
    sy_buf_puts(b, "}");
    sy_pipeline_send_body(c, 200, "application/json", NULL, b);
}

/* The model id 'seg' of a /v1/models/{id} path, in 'a'. The official
 * SDKs send 'vendor/model' as "vendor%2Fmodel". A web server that keeps
 * encoded slashes encoded (Apache "AllowEncodedSlashes NoDecode") passes
 * "%2F" on in PATH_INFO, which the gateway takes as it is; the model id
 * is the one segment where an encoded slash or backslash may stand
 * (core/api/mount.c), so those two escapes are decoded here. Every other
 * escape was decoded once already. The id only names a group and group
 * names hold no '%', so a "%252F" decoded twice matches nothing the
 * caller could have meant otherwise. */
static const char *
model_id(const char *seg, struct sy_arena *a)
{
    if (strchr(seg, '%') == NULL)
        return seg;
    size_t n = strlen(seg), o = 0;
    char *out = sy_arena_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++) {
        char ch = seg[i];
        int hi = ch == '%' && i + 2 < n ? sy_hexval(seg[i + 1]) : -1;
        int lo = hi >= 0 ? sy_hexval(seg[i + 2]) : -1;
        if (lo >= 0 && (hi * 16 + lo == '/' || hi * 16 + lo == '\\')) {
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    return out;
}

/* A group the key may not use is answered as one that does not exist:
 * the listing does not show it either. An alias (a dated Claude id that
 * a group's pattern takes) is answered under the id asked for, as
 * Anthropic's API answers an alias: the client asked whether it may use
 * that name, and it may. */
void
sy_pipeline_handle_model(struct pctx *c)
{
    const struct sy_caller_key *ck = NULL;
    struct sy_vkey *vk = NULL;
    bool anthropic = anthropic_caller(c);
    if (!sy_pipeline_identify(c, &ck, &vk))
        return;
    const char *name =
        model_id(c->r->path + strlen("/v1/models/"), &c->w->arena);
    const struct sy_group *g = sy_config_find_group(c->w->cfg, name);
    if (g == NULL || !caller_may_use(ck, vk, g)) {
        char msg[256];
        snprintf(msg, sizeof(msg), "The model '%.120s' does not exist", name);
        sy_pipeline_send_err(c, SY_ENOMODEL, msg, "model");
        return;
    }
    struct sy_buf *b = &c->w->out;
    sy_buf_clear(b);
    put_model(b, name, anthropic);
    sy_pipeline_send_body(c, 200, "application/json", NULL, b);
}

void
sy_pipeline_handle_health(struct pctx *c)
{
    struct sy_buf *b = &c->w->out;
    bool draining = c->w->draining != NULL && atomic_load(c->w->draining);
    struct sy_state *st = c->w->state;
    const char *redis = !sy_state_redis_on(st)  ? "off"
                        : sy_state_redis_up(st) ? "up"
                                                : "down";
    const char *status = draining                     ? "draining"
                         : strcmp(redis, "down") == 0 ? "degraded"
                                                      : "ok";
    sy_buf_clear(b);
    sy_buf_printf(b,
                  "{\"status\":\"%s\",\"redis\":\"%s\","
                  "\"version\":\"%s\"}",
                  status, redis, SY_VERSION);
    sy_pipeline_send_body(c, draining ? 503 : 200, "application/json", NULL, b);
}

/* /admin/keys and /admin/keys/<name>: the virtual-key admin API, behind
 * "Authorization: Bearer <admin key>" (constant-time). Without an admin
 * key configured the paths do not exist. */
void
sy_pipeline_handle_admin(struct pctx *c)
{
    const struct sy_config *cfg = c->w->cfg;
    const char *au = c->r->authorization;
    if (cfg->server.admin_key == NULL) {
        sy_pipeline_send_err(c, SY_ENOTFOUND, "unknown path", NULL);
        return;
    }
    if (au == NULL || strncasecmp(au, "Bearer ", 7) != 0 ||
        !sy_const_equal(au + 7, strlen(au + 7), cfg->server.admin_key,
                        cfg->server.admin_key_len)) {
        sy_pipeline_send_err(c, SY_EAUTH, "invalid admin key", NULL);
        return;
    }
    /* Only the methods that take a body read it, after the key check. */
    const char *m = c->r->method ? c->r->method : "GET";
    if ((strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0) &&
        !sy_pipeline_read_json_body(c))
        return;
    const char *rest = c->r->path + strlen("/admin/keys");
    if (*rest == '/')
        rest++;
    struct sy_buf *b = &c->w->out;
    sy_buf_clear(b);
    int status =
        sy_admin_keys(cfg, c->w->store, c->r->method ? c->r->method : "GET",
                      rest, c->r->body, c->r->body_len, &c->w->arena, b);
    /* RFC 9110 15.5.6: a 405 names the methods the route allows. */
    char allow[64] = "";
    if (status == 405)
        snprintf(allow, sizeof(allow), "Allow: %s\r\n",
                 sy_admin_keys_allow(rest));
    sy_pipeline_send_body(c, status, "application/json",
                          allow[0] != '\0' ? allow : NULL, b);
}
