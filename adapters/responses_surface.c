/*
 * responses_surface.c - the OpenAI Responses API (POST /v1/responses)
 * as a client API (api/surface.h), so that Codex CLI and the SDKs'
 * client.responses.create are served by any provider. A caller's body
 * is checked the way OpenAI checks it, with errors naming the
 * Responses parameter paths ("input[2].content[0].type"), then rebuilt
 * as a canonical (chat completions) request tree that
 * sy_chat_req_from_tree reads. The caller's own tree stays in
 * sy_chat_req.native: the "openai-responses" adapter sends that one as
 * it came. This file has the top-level parameters, the parse and the
 * surface table; the input items are responses_surface_in.c, the tools
 * responses_surface_tools.c, what goes back to the caller
 * responses_surface_out.c and responses_surface_stream.c.
 *
 * Taken and not translated (the pipeline, or a native adapter, reads
 * them from the caller's body): store, previous_response_id, include,
 * metadata, prompt_cache_key, user, truncation, service_tier and the
 * like. Unknown members are left alone, as the Messages surface does.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "responses_surface_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* Add 'v' (when not NULL) to 'tree' as 'to', shared with the caller's
 * tree (json-c counts references; neither tree changes after the
 * parse). */
static void
copy(struct json_object *tree, const char *to, struct json_object *v)
{
    if (v != NULL)
        json_object_object_add(tree, to, json_object_get(v));
}

/* model; max_output_tokens, temperature and top_p (their ranges are the
 * canonical checks', renamed after). */
static enum sy_err
basics(struct rsurf_tr *t)
{
    struct json_object *v, *root = t->root, *tree = t->tree;
    enum sy_err e =
        sy_rsurf_member(t, root, NULL, "model", json_type_string, true, &v);
    if (e == SY_OK && json_object_get_string_len(v) == 0)
        e = sy_rsurf_fail(t, "model", "Invalid 'model': empty string.");
    if (e != SY_OK)
        return e;
    copy(tree, "model", v);
    static const struct {
        const char *from, *to;
        json_type type;
    } map[] = {
        { "max_output_tokens", "max_completion_tokens", json_type_int },
        { "temperature", "temperature", json_type_double },
        { "top_p", "top_p", json_type_double },
    };
    for (size_t i = 0; e == SY_OK && i < SY_ARRAY_LEN(map); i++) {
        e = sy_rsurf_member(t, root, NULL, map[i].from, map[i].type, false, &v);
        if (e == SY_OK)
            copy(tree, map[i].to, v);
    }
    return e;
}

/* reasoning.effort as reasoning_effort; stream (with usage at its end,
 * which response.completed reports). */
static enum sy_err
reasoning_and_stream(struct rsurf_tr *t)
{
    struct json_object *r, *effort = NULL, *stream;
    enum sy_err e = sy_rsurf_member(t, t->root, NULL, "reasoning",
                                    json_type_object, false, &r);
    if (e == SY_OK && r != NULL)
        e = sy_rsurf_member(t, r, "reasoning", "effort", json_type_string,
                            false, &effort);
    if (e == SY_OK)
        e = sy_rsurf_member(t, t->root, NULL, "stream", json_type_boolean,
                            false, &stream);
    if (e != SY_OK)
        return e;
    copy(t->tree, "reasoning_effort", effort);
    if (stream != NULL && json_object_get_boolean(stream)) {
        json_object_object_add(t->tree, "stream", json_object_new_boolean(1));
        json_object_object_add(
            t->tree, "stream_options",
            sy_adapter_obj("include_usage", json_object_new_boolean(1), NULL));
    }
    return SY_OK;
}

/* text.format: json_schema {name, schema, strict, description} and
 * json_object as the canonical response_format; text leaves it out. */
static enum sy_err
text_format(struct rsurf_tr *t)
{
    struct json_object *text, *fmt = NULL, *schema, *v;
    const char *type = NULL, *name;
    enum sy_err e = sy_rsurf_member(t, t->root, NULL, "text", json_type_object,
                                    false, &text);
    if (e == SY_OK && text != NULL)
        e = sy_rsurf_member(t, text, "text", "format", json_type_object, false,
                            &fmt);
    if (e == SY_OK && fmt != NULL)
        e = sy_rsurf_str_member(t, fmt, "text.format", "type", true, &type);
    if (e != SY_OK || type == NULL || strcmp(type, "text") == 0)
        return e;
    if (strcmp(type, "json_object") == 0) {
        json_object_object_add(
            t->tree, "response_format",
            sy_adapter_obj("type", SY_JSTR("json_object"), NULL));
        return SY_OK;
    }
    if (strcmp(type, "json_schema") != 0)
        return sy_rsurf_bad_value(t, "text.format.type", type,
                                  "'text', 'json_schema' and 'json_object'");
    e = sy_rsurf_str_member(t, fmt, "text.format", "name", true, &name);
    if (e == SY_OK)
        e = sy_rsurf_member(t, fmt, "text.format", "schema", json_type_object,
                            true, &schema);
    if (e != SY_OK)
        return e;
    struct json_object *js = sy_adapter_obj("name", SY_JSTR(name), "schema",
                                            json_object_get(schema), NULL);
    static const struct {
        const char *key;
        json_type type;
    } opt[] = { { "strict", json_type_boolean },
                { "description", json_type_string } };
    for (size_t i = 0; e == SY_OK && i < SY_ARRAY_LEN(opt); i++) {
        e = sy_rsurf_member(t, fmt, "text.format", opt[i].key, opt[i].type,
                            false, &v);
        if (e == SY_OK)
            copy(js, opt[i].key, v);
    }
    if (e == SY_OK)
        json_object_object_add(t->tree, "response_format",
                               sy_adapter_obj("type", SY_JSTR("json_schema"),
                                              "json_schema",
                                              json_object_get(js), NULL));
    json_object_put(js);
    return e;
}

/* tool_choice: "auto" | "none" | "required", or {type: function |
 * custom, name} (both are function tools here); parallel_tool_calls.
 * Neither goes to a request left without tools (only dropped hosted
 * ones): chat completions APIs refuse them there. */
static enum sy_err
tool_choice(struct rsurf_tr *t)
{
    struct json_object *tc, *ptc;
    const char *type, *name, *ns;
    bool tools = t->tools->n > 0;
    enum sy_err e = sy_rsurf_member(t, t->root, NULL, "parallel_tool_calls",
                                    json_type_boolean, false, &ptc);
    if (e == SY_OK && tools)
        copy(t->tree, "parallel_tool_calls", ptc);
    tc = sy_adapter_get(t->root, "tool_choice");
    if (e != SY_OK || tc == NULL)
        return e;
    if (sy_adapter_is(tc, json_type_string)) {
        const char *s = json_object_get_string(tc);
        if (strcmp(s, "auto") != 0 && strcmp(s, "none") != 0 &&
            strcmp(s, "required") != 0)
            return sy_rsurf_bad_value(t, "tool_choice", s,
                                      "'none', 'auto' and 'required'");
        if (tools)
            copy(t->tree, "tool_choice", tc);
        return SY_OK;
    }
    e = sy_rsurf_member(t, t->root, NULL, "tool_choice", json_type_object,
                        false, &tc);
    if (e == SY_OK)
        e = sy_rsurf_str_member(t, tc, "tool_choice", "type", true, &type);
    if (e != SY_OK)
        return e;
    if (strcmp(type, "function") != 0 && strcmp(type, "custom") != 0)
        return sy_rsurf_fail(t, "tool_choice.type",
                             "tool_choice of type '%.60s' is not supported "
                             "by this gateway (it serves function and "
                             "custom tools only)",
                             type);
    e = sy_rsurf_str_member(t, tc, "tool_choice", "name", true, &name);
    if (e == SY_OK)
        e = sy_rsurf_str_member(t, tc, "tool_choice", "namespace", false, &ns);
    if (e != SY_OK || !tools)
        return e;
    json_object_object_add(
        t->tree, "tool_choice",
        sy_adapter_obj("type", SY_JSTR("function"), "function",
                       sy_adapter_obj("name",
                                      SY_JSTR(sy_rsurf_tool_cname(t, ns, name)),
                                      NULL),
                       NULL));
    return SY_OK;
}

/* A refusal of the canonical checks (a tool's or the answer's schema
 * the gateway cannot enforce, a bound) named in the caller's terms. */
static void
rename_param(struct rsurf_tr *t)
{
    struct sy_chat_error *err = t->err;
    const char *p = err->param, *to = NULL;
    unsigned i;
    if (p == NULL)
        return;
    if (sscanf(p, "tools[%u]", &i) == 1 && i < t->tools->n)
        to = sy_rsurf_path(t, t->tools->v[i].at,
                           strstr(p, ".parameters") ? "parameters" : NULL);
    else if (strncmp(p, "response_format", 15) == 0)
        to = "text.format.schema";
    else if (strcmp(p, "max_completion_tokens") == 0)
        to = "max_output_tokens";
    else if (strncmp(p, "messages", 8) == 0)
        to = "input";
    if (to == NULL)
        return;
    /* "'tools[0].function.parameters' cannot be enforced: ..." becomes
     * "'tools[2].parameters' cannot be enforced: ...". */
    char msg[sizeof(err->message) + 80];
    const char *m = err->message;
    size_t n = strlen(p);
    if (m[0] == '\'' && strncmp(m + 1, p, n) == 0 && m[n + 1] == '\'')
        snprintf(msg, sizeof(msg), "'%s'%s", to, m + n + 2);
    else
        snprintf(msg, sizeof(msg), "%s (%s)", m, to);
    memcpy(err->message, msg, sizeof(err->message) - 1);
    err->message[sizeof(err->message) - 1] = '\0';
    err->param = to;
}

static enum sy_err
translate(struct rsurf_tr *t)
{
    enum sy_err e = basics(t);
    if (e == SY_OK)
        e = sy_rsurf_tools_collect(t, t->root, t->tools);
    if (e != SY_OK)
        return e;
    t->msgs = json_object_new_array();
    json_object_object_add(t->tree, "messages", t->msgs);
    e = sy_rsurf_input(t);
    if (e != SY_OK)
        return e;
    sy_rsurf_tools_emit(t);
    e = tool_choice(t);
    if (e == SY_OK)
        e = reasoning_and_stream(t);
    if (e == SY_OK)
        e = text_format(t);
    return e;
}

/* The table's parse slot (see api/surface.h). */
static enum sy_err
responses_parse(const struct sy_req *r, unsigned max_depth, struct sy_arena *a,
                struct sy_chat_req *out, struct sy_chat_error *err)
{
    memset(out, 0, sizeof(*out));
    out->max_tokens = -1;
    err->param = NULL;
    err->message[0] = '\0';
    struct json_object *root = r->body_tree;
    enum sy_err e = root != NULL
                        ? SY_OK /* read by the conversation store already */
                        : sy_chat_body_parse(r->body, r->body_len, max_depth, a,
                                             &root, err);
    if (e != SY_OK)
        return e;
    /* The arena owns the canonical tree from the start: a refusal
     * half-way through frees what was built. */
    struct json_object *tree = json_object_new_object();
    sy_arena_on_cleanup(a, sy_chat_json_free, tree);
    struct sy_buf reasoning;
    sy_buf_init(&reasoning, INT_MAX / 2);
    struct rsurf_tr t = { .a = a,
                          .err = err,
                          .root = root,
                          .tree = tree,
                          .reasoning = &reasoning,
                          .tools = sy_arena_zalloc(a, sizeof(*t.tools)) };
    e = translate(&t);
    sy_buf_free(&reasoning);
    if (e != SY_OK)
        return e;
    /* sy_chat_req_from_tree keeps out->native. */
    out->native.dialect = "openai-responses";
    out->native.root = root;
    e = sy_chat_req_from_tree(tree, a, out, err);
    if (e != SY_OK)
        rename_param(&t);
    return e;
}

const struct sy_surface sy_surface_responses = {
    .name = "responses",
    .dialect = "openai-responses",
    .stream_state_size = sizeof(struct rsurf_stream),
    .parse = responses_parse,
    .error_body = sy_rsurf_error_body,
    .reply = sy_rsurf_reply,
    .stream_chunk = sy_rsurf_stream_chunk,
    .stream_end = sy_rsurf_stream_end,
    .stream_result = sy_rsurf_stream_result,
    .native_event = sy_rsurf_native_event,
    .stream_error = sy_rsurf_stream_error,
};
