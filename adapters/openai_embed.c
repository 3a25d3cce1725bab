/*
 * openai_embed.c - embeddings on the OpenAI family: POST {base}/embeddings
 * with the deployment's model, the caller's input, dimensions and user
 * (where the provider type takes it), and floats always asked for (the
 * core encodes base64 itself, so vectors and usage are read and
 * bounded); the reply's {"data": [{"index", "embedding"}], "model",
 * "usage"} into the canonical struct sy_embed_resp. Errors are the
 * family's (openai.c classify). No I/O; see openai_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "openai_int.h"
#include "api/embed.h"

#include <string.h>

#include <json-c/json.h>

enum sy_err
sy_openai_build_embed(struct sy_adapter_call *call,
                      const struct sy_embed_req *req, struct sy_http_out *out)
{
    struct openai_conf conf = sy_openai_conf_of(call->target);
    out->method = "POST";
    out->url =
        sy_arena_printf(call->arena, "%s/embeddings", call->target->base_url);
    sy_openai_headers(call, &conf, false, out);
    struct json_object *body =
        sy_adapter_obj("model", SY_JSTR(call->target->model), "input",
                       json_object_get(req->input), NULL);
    if (req->dimensions > 0)
        /* Mistral names it output_dimension. */
        json_object_object_add(body,
                               strcmp(conf.q.type, "mistral") == 0
                                   ? "output_dimension"
                                   : "dimensions",
                               json_object_new_int64(req->dimensions));
    json_object_object_add(body, "encoding_format", SY_JSTR("float"));
    /* "user" where the type's chat allow-list has it (not Mistral). */
    if (req->user != NULL && sy_adapter_str_in("user", conf.q.allow))
        json_object_object_add(body, "user", SY_JSTR(req->user));
    enum sy_err e = sy_adapter_json_write(out->body, body);
    json_object_put(body);
    return e;
}

/* Item 'item' of "data" (the 'i'-th) into its place in 'resp', by its
 * "index" (its position when it has none). False when it is not a
 * vector, or its place is out of range or taken. */
static bool
take_item(struct sy_adapter_call *call, struct json_object *item, size_t i,
          struct sy_embed_resp *resp)
{
    int64_t at = (int64_t)i;
    if (sy_adapter_get(item, "index") != NULL &&
        !sy_adapter_get_int(item, "index", &at))
        return false;
    if (at < 0 || (uint64_t)at >= resp->n || resp->vec[at].v != NULL)
        return false;
    return sy_embed_vec_from_json(sy_adapter_get(item, "embedding"),
                                  call->arena, &resp->vec[at]);
}

enum sy_err
sy_openai_parse_embed(struct sy_adapter_call *call, const char *body,
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
    if (sy_adapter_get(root, "error") != NULL) {
        /* Some compatible providers answer 200 with an error object. */
        sy_adapter_openai_error(call, 500, body, len, f);
        return f->err;
    }
    struct json_object *data = sy_adapter_get(root, "data");
    size_t n = sy_adapter_is(data, json_type_array)
                   ? json_object_array_length(data)
                   : 0;
    if (n == 0 || n > SY_EMBED_MAX_INPUTS)
        return sy_adapter_proto(f, "the provider's reply has no embeddings");
    resp->n = n;
    resp->vec = sy_arena_zalloc(call->arena, n * sizeof(*resp->vec));
    for (size_t i = 0; i < n; i++)
        if (!take_item(call, json_object_array_get_idx(data, i), i, resp))
            return sy_adapter_proto(f, "the provider's reply holds an "
                                       "embedding that is not a vector of "
                                       "numbers, or a wrong index");
    const char *model = sy_adapter_get_str(root, "model");
    resp->model = model ? sy_arena_strdup(call->arena, model) : NULL;
    sy_chat_usage_from_json(sy_adapter_get(root, "usage"), &resp->usage);
    return SY_OK;
}
