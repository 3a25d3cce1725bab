/*
 * gemini_embed.c - embeddings on the Gemini API: POST
 * {base}/models/{model}:batchEmbedContents with one request per input
 * ({"model": "models/{model}", "content": {"parts": [{"text"}]},
 * "outputDimensionality"}), and the reply's {"embeddings": [{"values"}]}
 * into the canonical struct sy_embed_resp. Gemini takes text only (token
 * arrays are refused) and reports no usage: the core bills its estimate.
 * Errors are the adapter's (gemini.c classify). No I/O; see
 * gemini_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "gemini_int.h"
#include "api/embed.h"

#include <string.h>

#include <json-c/json.h>

enum sy_err
sy_gemini_build_embed(struct sy_adapter_call *call,
                      const struct sy_embed_req *req, struct sy_http_out *out)
{
    const struct sy_target *t = call->target;
    struct sy_arena *a = call->arena;
    if (req->tokens)
        return sy_adapter_refuse(call, "input",
                                 "Gemini deployments take text inputs "
                                 "only, not token arrays");
    const char *model = t->model;
    if (strncmp(model, "models/", 7) == 0)
        model += 7;
    out->method = "POST";
    out->url = sy_arena_printf(a, "%s/models/%s:batchEmbedContents",
                               t->base_url, model);
    out->headers[out->nheaders++] = "Content-Type: application/json";
    if (call->api_key != NULL)
        out->headers[out->nheaders++] =
            sy_arena_printf(a, "x-goog-api-key: %s", call->api_key);
    sy_adapter_static_headers(call, out);
    const char *name = sy_arena_printf(a, "models/%s", model);
    struct json_object *reqs = json_object_new_array();
    for (size_t i = 0; i < req->ninputs; i++) {
        struct json_object *text = sy_embed_req_input(req, i);
        struct json_object *r = sy_adapter_obj(
            "model", SY_JSTR(name), "content",
            sy_adapter_obj("parts",
                           sy_adapter_arr1(sy_adapter_obj(
                               "text", json_object_get(text), NULL)),
                           NULL),
            NULL);
        if (req->dimensions > 0)
            json_object_object_add(r, "outputDimensionality",
                                   json_object_new_int64(req->dimensions));
        json_object_array_add(reqs, r);
    }
    struct json_object *body = sy_adapter_obj("requests", reqs, NULL);
    enum sy_err e = sy_adapter_json_write(out->body, body);
    json_object_put(body);
    return e;
}

enum sy_err
sy_gemini_parse_embed(struct sy_adapter_call *call, const char *body,
                      size_t len, struct sy_embed_resp *resp,
                      struct sy_failure *f)
{
    struct json_object *root = sy_adapter_json_parse(body, len);
    if (!sy_adapter_is(root, json_type_object)) {
        json_object_put(root);
        return sy_adapter_proto(f, "the provider's reply is not a JSON "
                                   "object");
    }
    sy_arena_on_cleanup(call->arena, sy_chat_json_free, root);
    struct json_object *list = sy_adapter_get(root, "embeddings");
    size_t n = sy_adapter_is(list, json_type_array)
                   ? json_object_array_length(list)
                   : 0;
    if (n == 0 || n > SY_EMBED_MAX_INPUTS)
        return sy_adapter_proto(f, "the provider's reply has no embeddings");
    resp->n = n;
    resp->vec = sy_arena_zalloc(call->arena, n * sizeof(*resp->vec));
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(list, i);
        if (!sy_embed_vec_from_json(sy_adapter_get(e, "values"), call->arena,
                                    &resp->vec[i]))
            return sy_adapter_proto(f, "the provider's reply holds an "
                                       "embedding that is not a vector of "
                                       "numbers");
    }
    memset(&resp->usage, 0, sizeof(resp->usage));
    return SY_OK;
}
