/*
 * golden_env.c - the fake deployment a golden case runs against: the
 * adapter named by provider.json, its keys through the init slot, the
 * struct sy_target the config would fill, the request parsed by the
 * core; and the per-run calls made from it.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "golden.h"
#include "api/caps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* native.json, when the case has one: the caller spoke the adapter's
 * own API ({"body", "version"?, "beta"?, "dialect"? (the adapter's
 * name)}), as a surface with a dialect would set req->native. */
static void
native_init(struct env *e, const struct tcase *tc)
{
    struct json_object *n = golden_read_json(tc->dir, "native.json");
    if (n == NULL)
        return;
    sy_arena_on_cleanup(&e->arena, sy_chat_json_free, n);
    const char *d = sy_adapter_get_str(n, "dialect");
    e->req.native.dialect = d ? d : e->ad->name;
    e->req.native.root = sy_adapter_get(n, "body");
    e->req.native.version = sy_adapter_get_str(n, "version");
    e->req.native.beta = sy_adapter_get_str(n, "beta");
    if (e->req.native.root == NULL)
        fail_msg("%s: native.json has no body", tc->name);
}

/* Read provider.json (from the case folder, else the provider folder)
 * into the target, run the adapter's init slot on its keys, and parse
 * request.json as the core does. Fails the test on any problem. */
void
golden_env_init(struct env *e, const struct tcase *tc)
{
    memset(e, 0, sizeof(*e));
    sy_arena_init(&e->arena, 16384);
    e->conf = golden_read_json(tc->dir, "provider.json");
    if (e->conf == NULL) {
        char up[1100];
        snprintf(up, sizeof(up), "%s/..", tc->dir);
        e->conf = golden_read_json(up, "provider.json");
    }
    if (e->conf == NULL)
        fail_msg("%s: no provider.json", tc->name);
    struct json_object *p = sy_adapter_get(e->conf, "provider");
    const char *type = sy_adapter_get_str(p, "type");
    e->ad = type ? sy_adapter_find(type) : NULL;
    if (e->ad == NULL)
        fail_msg("%s: unknown provider type", tc->name);
    e->target.provider_type = type;
    e->target.base_url = sy_adapter_get_str(p, "base_url");
    e->target.model = sy_adapter_get_str(e->conf, "model");
    struct json_object *h = sy_adapter_get(p, "headers");
    if (h != NULL) {
        size_t n = (size_t)json_object_object_length(h), i = 0;
        struct sy_header_kv *kv =
            sy_arena_zalloc(&e->arena, (n + 1) * sizeof(*kv));
        json_object_object_foreach(h, k, v)
        {
            kv[i].name = k;
            kv[i].value = json_object_get_string(v);
            i++;
        }
        e->target.headers = kv;
        e->target.nheaders = n;
    }
    if (e->ad->init != NULL) {
        char err[256] = "";
        if (e->ad->init(type, p, &e->arena, &e->target.adapter_conf, err,
                        sizeof(err)) != SY_OK)
            fail_msg("%s: adapter init failed: %s", tc->name, err);
    }
    struct json_object *af = sy_adapter_get(e->conf, "allow_fields");
    for (size_t i = 0; af != NULL && i < json_object_array_length(af); i++) {
        int k = sy_caps_field_find(
            json_object_get_string(json_object_array_get_idx(af, i)));
        if (k < 0)
            fail_msg("%s: allow_fields[%zu] is not a billed field", tc->name,
                     i);
        e->target.allow_fields |= 1u << k;
    }

    size_t len;
    char *body = golden_read_file(tc->dir, "request.json", &len);
    if (body == NULL)
        fail_msg("%s: no request.json", tc->name);
    struct sy_chat_error perr;
    enum sy_err pe =
        sy_chat_req_parse(body, len, 64, &e->arena, &e->req, &perr);
    free(body);
    if (pe != SY_OK)
        fail_msg("%s: request.json rejected by the core: %s", tc->name,
                 perr.message);
    native_init(e, tc);
}

/* Free what golden_env_init made. */
void
golden_env_cleanup(struct env *e)
{
    sy_arena_cleanup(&e->arena);
    json_object_put(e->conf);
}

/* A fresh call on the case's request, with its own ctx from 'a'. */
void
golden_call_init(struct env *e, struct sy_adapter_call *call,
                 struct sy_arena *a, struct sy_failure *fail)
{
    memset(call, 0, sizeof(*call));
    call->req = &e->req;
    call->target = &e->target;
    call->api_key = API_KEY;
    call->arena = a;
    call->ctx = e->ad->ctx_size ? sy_arena_zalloc(a, e->ad->ctx_size) : NULL;
    call->fail = fail;
    call->resp_headers = e->resp_headers;
    call->nresp_headers = e->nresp_headers;
}

/* build_request into 'out'; returns its result. */
enum sy_err
golden_build(struct env *e, struct sy_adapter_call *call,
             struct sy_http_out *out, struct sy_buf *body)
{
    memset(out, 0, sizeof(*out));
    sy_buf_init(body, 16u << 20);
    out->body = body;
    return e->ad->build_request(call, out);
}
