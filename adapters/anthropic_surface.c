/*
 * anthropic_surface.c - the Anthropic Messages API as a client API
 * (api/surface.h). A caller's POST /v1/messages body is checked the way
 * Anthropic checks it, with errors naming Anthropic's parameter paths
 * ("max_tokens: Field required"), then rebuilt as a canonical (OpenAI
 * chat completions) request tree that sy_chat_req_from_tree reads, so
 * any provider can serve it. The caller's own tree stays in
 * sy_chat_req.native: the Anthropic adapter sends that one as it came,
 * with nothing lost; a request using what only Anthropic has (its
 * client tools, search_result blocks) is marked native-only
 * (sy_native_req.required) and routed to Anthropic deployments alone.
 * This file has the top-level parameters and tools and the surface
 * table; the messages are anthropic_surface_msgs.c, what
 * goes back to the caller anthropic_surface_out.c.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "anthropic_surface_int.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* Add 'v' (when not NULL) to 'tree' as 'to', shared with the caller's
 * tree: json-c counts references, and neither tree changes after the
 * parse (adapters build new bodies). */
static void
copy(struct json_object *tree, const char *to, struct json_object *v)
{
    if (v != NULL)
        json_object_object_add(tree, to, json_object_get(v));
}

/* A number member within [lo, hi]. */
static enum sy_err
number(struct msurf_tr *t, struct json_object *root, const char *key, double lo,
       double hi, struct json_object *tree)
{
    struct json_object *v;
    enum sy_err e =
        sy_msurf_member(t, root, NULL, key, json_type_double, false, &v);
    if (e != SY_OK || v == NULL)
        return e;
    double x = json_object_get_double(v);
    if (x < lo)
        return sy_msurf_fail(t, NULL, key,
                             "Input should be greater than or equal to %g", lo);
    if (x > hi)
        return sy_msurf_fail(t, NULL, key,
                             "Input should be less than or equal to %g", hi);
    copy(tree, key, v);
    return SY_OK;
}

/* model and max_tokens, both required. max_tokens is bounded as the
 * canonical parse bounds it (SY_CHAT_MAX_TOKENS), so token sums stay
 * far from overflow. */
static enum sy_err
model_and_limit(struct msurf_tr *t, struct json_object *root,
                struct json_object *tree)
{
    struct json_object *model, *mt;
    enum sy_err e =
        sy_msurf_member(t, root, NULL, "model", json_type_string, true, &model);
    if (e == SY_OK && json_object_get_string_len(model) == 0)
        e = sy_msurf_fail(t, NULL, "model",
                          "String should have at least 1 character");
    if (e == SY_OK)
        e = sy_msurf_member(t, root, NULL, "max_tokens", json_type_int, true,
                            &mt);
    if (e != SY_OK)
        return e;
    /* json-c saturates integers beyond 64 bits: both ends are refused. */
    int64_t n = json_object_get_int64(mt);
    if (n < 1)
        return sy_msurf_fail(t, NULL, "max_tokens",
                             "Input should be greater than or equal to 1");
    if (n > SY_CHAT_MAX_TOKENS)
        return sy_msurf_fail(t, NULL, "max_tokens",
                             "Input should be less than or equal to %d (the "
                             "gateway's bound)",
                             SY_CHAT_MAX_TOKENS);
    copy(tree, "model", model);
    copy(tree, "max_tokens", mt);
    return SY_OK;
}

/* stop_sequences, temperature, top_p, top_k. */
static enum sy_err
sampling(struct msurf_tr *t, struct json_object *root, struct json_object *tree)
{
    struct json_object *v;
    enum sy_err e = sy_msurf_member(t, root, NULL, "stop_sequences",
                                    json_type_array, false, &v);
    size_t n = v ? json_object_array_length(v) : 0;
    for (size_t i = 0; e == SY_OK && i < n; i++)
        if (!sy_adapter_is(json_object_array_get_idx(v, i), json_type_string))
            e = sy_msurf_fail(t, "stop_sequences",
                              sy_arena_printf(t->a, "%zu", i),
                              "Input should be a valid string");
    if (e == SY_OK && n > 0)
        copy(tree, "stop", v);
    if (e == SY_OK)
        e = number(t, root, "temperature", 0, 1, tree);
    if (e == SY_OK)
        e = number(t, root, "top_p", 0, 1, tree);
    if (e == SY_OK)
        e = sy_msurf_member(t, root, NULL, "top_k", json_type_int, false, &v);
    if (e != SY_OK || v == NULL)
        return e;
    if (json_object_get_int64(v) < 0)
        return sy_msurf_fail(t, NULL, "top_k",
                             "Input should be greater than or equal to 0");
    copy(tree, "top_k", v);
    return SY_OK;
}

/* metadata.user_id as the OpenAI user; stream (with usage at its end,
 * which the closing message_delta reports). */
static enum sy_err
user_and_stream(struct msurf_tr *t, struct json_object *root,
                struct json_object *tree)
{
    struct json_object *md, *user = NULL, *stream;
    enum sy_err e = sy_msurf_member(t, root, NULL, "metadata", json_type_object,
                                    false, &md);
    if (e == SY_OK && md != NULL)
        e = sy_msurf_member(t, md, "metadata", "user_id", json_type_string,
                            false, &user);
    if (e == SY_OK)
        e = sy_msurf_member(t, root, NULL, "stream", json_type_boolean, false,
                            &stream);
    if (e != SY_OK)
        return e;
    copy(tree, "user", user);
    if (stream != NULL && json_object_get_boolean(stream)) {
        json_object_object_add(tree, "stream", json_object_new_boolean(1));
        json_object_object_add(
            tree, "stream_options",
            sy_adapter_obj("include_usage", json_object_new_boolean(1), NULL));
    }
    return SY_OK;
}

/* ------------------------------------------------------------------ */
/* Tools                                                               */

/* Anthropic-defined client tools: the caller runs them, Anthropic's
 * models are trained on their fixed schemas, and only Anthropic's API
 * takes them. Their types are a prefix and a version date
 * ("text_editor_20250728"); toolsets ("computer_toolset_20260801") are
 * not among them. */
static const char *const client_tools[] = { "bash_", "text_editor_",
                                            "computer_", "memory_" };

/* Prompt tokens allowed for each client tool in estimates and budget
 * worst cases. Anthropic adds the tool's own schema and instructions
 * (and, for computer use, a system prompt) to the prompt unseen, plus
 * its tool-use system prompt: several hundred tokens a tool by its
 * documentation. The body, counted a token a byte, does not hold them;
 * this allowance is above any of them, so a budget's worst case stays a
 * worst case. */
#define SY_MSURF_CLIENT_TOOL_TOKENS 2000u

/* Is 'type' one of the client tools above, with an 8-digit date? */
static bool
client_tool(const char *type)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(client_tools); i++) {
        size_t n = strlen(client_tools[i]);
        if (strncmp(type, client_tools[i], n) != 0)
            continue;
        size_t d = 0;
        while (type[n + d] >= '0' && type[n + d] <= '9')
            d++;
        return d == 8 && type[n + d] == '\0';
    }
    return false;
}

/* An Anthropic-defined client tool at 'at': its name, as a function tool
 * without parameters in the canonical tree (so a forced tool_choice and
 * the contract checks know the name); the tool object itself reaches an
 * Anthropic deployment as sent (anthropic_native.c), and the request
 * goes to no other. */
static enum sy_err
client_tool_entry(struct msurf_tr *t, struct json_object *tool, const char *at,
                  const char *type, struct json_object *out)
{
    const char *name;
    enum sy_err e = sy_msurf_str_member(t, tool, at, "name", true, &name);
    if (e == SY_OK && name[0] == '\0')
        e = sy_msurf_fail(t, at, "name",
                          "String should have at least 1 character");
    if (e != SY_OK)
        return e;
    sy_msurf_native_only(
        t, at, sy_arena_printf(t->a, "the client tool '%.60s'", type));
    if (t->hidden_tokens < UINT32_MAX - SY_MSURF_CLIENT_TOOL_TOKENS)
        t->hidden_tokens += SY_MSURF_CLIENT_TOOL_TOKENS;
    json_object_array_add(
        out, sy_adapter_obj("type", SY_JSTR("function"), "function",
                            sy_adapter_obj("name", SY_JSTR(name), NULL), NULL));
    return SY_OK;
}

/* One tool: a custom tool (no type, or "custom") becomes a function
 * tool; an Anthropic-defined client tool (bash, text editor, computer
 * use, memory) makes the request native-only; any other type is one of
 * Anthropic's server tools (web search, code execution, ...), which run
 * at Anthropic and which the gateway does not offer. */
static enum sy_err
one_tool(struct msurf_tr *t, struct json_object *tool, const char *at,
         struct json_object *out)
{
    const char *type, *name;
    struct json_object *desc, *schema, *strict;
    if (!sy_adapter_is(tool, json_type_object))
        return sy_msurf_fail(t, at, NULL, "Input should be a valid dictionary");
    enum sy_err e = sy_msurf_str_member(t, tool, at, "type", false, &type);
    if (e == SY_OK && type != NULL && client_tool(type))
        return client_tool_entry(t, tool, at, type, out);
    if (e == SY_OK && type != NULL && strcmp(type, "custom") != 0)
        return sy_msurf_fail(
            t, at, "type",
            "tool type '%.60s' is a server tool this gateway does "
            "not offer",
            type);
    if (e == SY_OK)
        e = sy_msurf_str_member(t, tool, at, "name", true, &name);
    if (e == SY_OK && name[0] == '\0')
        e = sy_msurf_fail(t, at, "name",
                          "String should have at least 1 character");
    if (e == SY_OK)
        e = sy_msurf_member(t, tool, at, "description", json_type_string, false,
                            &desc);
    if (e == SY_OK)
        e = sy_msurf_member(t, tool, at, "input_schema", json_type_object, true,
                            &schema);
    if (e == SY_OK)
        e = sy_msurf_member(t, tool, at, "strict", json_type_boolean, false,
                            &strict);
    if (e != SY_OK)
        return e;
    struct json_object *fn = sy_adapter_obj("name", SY_JSTR(name), NULL);
    copy(fn, "description", desc);
    copy(fn, "parameters", schema);
    copy(fn, "strict", strict);
    json_object_array_add(
        out, sy_adapter_obj("type", SY_JSTR("function"), "function", fn, NULL));
    return SY_OK;
}

static enum sy_err
tools(struct msurf_tr *t, struct json_object *root, struct json_object *tree)
{
    struct json_object *list;
    enum sy_err e =
        sy_msurf_member(t, root, NULL, "tools", json_type_array, false, &list);
    if (e != SY_OK || list == NULL)
        return e;
    size_t n = json_object_array_length(list);
    if (n > SY_CHAT_MAX_TOOLS)
        return sy_msurf_fail(t, NULL, "tools",
                             "at most %d tools may be given; %zu were",
                             SY_CHAT_MAX_TOOLS, n);
    struct json_object *out = json_object_new_array();
    json_object_object_add(tree, "tools", out);
    for (size_t i = 0; e == SY_OK && i < n; i++)
        e = one_tool(t, json_object_array_get_idx(list, i),
                     sy_arena_printf(t->a, "tools.%zu", i), out);
    return e;
}

/* tool_choice {type: auto | any | tool | none}, and its
 * disable_parallel_tool_use. */
static enum sy_err
tool_choice(struct msurf_tr *t, struct json_object *root,
            struct json_object *tree)
{
    struct json_object *tc, *dp;
    const char *type, *name;
    enum sy_err e = sy_msurf_member(t, root, NULL, "tool_choice",
                                    json_type_object, false, &tc);
    if (e != SY_OK || tc == NULL)
        return e;
    e = sy_msurf_str_member(t, tc, "tool_choice", "type", true, &type);
    if (e == SY_OK)
        e = sy_msurf_member(t, tc, "tool_choice", "disable_parallel_tool_use",
                            json_type_boolean, false, &dp);
    if (e != SY_OK)
        return e;
    struct json_object *v;
    if (strcmp(type, "auto") == 0 || strcmp(type, "none") == 0) {
        v = SY_JSTR(type);
    } else if (strcmp(type, "any") == 0) {
        v = SY_JSTR("required");
    } else if (strcmp(type, "tool") == 0) {
        e = sy_msurf_str_member(t, tc, "tool_choice", "name", true, &name);
        if (e != SY_OK)
            return e;
        v = sy_adapter_obj("type", SY_JSTR("function"), "function",
                           sy_adapter_obj("name", SY_JSTR(name), NULL), NULL);
    } else {
        return sy_msurf_bad_tag(t, "tool_choice", type,
                                "'auto', 'any', 'tool', 'none'");
    }
    json_object_object_add(tree, "tool_choice", v);
    if (dp != NULL && json_object_get_boolean(dp) && strcmp(type, "none") != 0)
        json_object_object_add(tree, "parallel_tool_calls",
                               json_object_new_boolean(0));
    return SY_OK;
}

/* ------------------------------------------------------------------ */
/* Thinking and structured output                                      */

/* thinking {type: enabled, budget_tokens} as an OpenAI reasoning effort
 * (the budget's order of magnitude); disabled and adaptive thinking
 * leave the provider's default. */
static enum sy_err
thinking(struct msurf_tr *t, struct json_object *root, struct json_object *tree)
{
    struct json_object *th, *bt;
    const char *type;
    enum sy_err e = sy_msurf_member(t, root, NULL, "thinking", json_type_object,
                                    false, &th);
    if (e != SY_OK || th == NULL)
        return e;
    e = sy_msurf_str_member(t, th, "thinking", "type", true, &type);
    if (e != SY_OK)
        return e;
    if (strcmp(type, "disabled") == 0 || strcmp(type, "adaptive") == 0 ||
        strcmp(type, "between_tools") == 0)
        return SY_OK;
    if (strcmp(type, "enabled") != 0)
        return sy_msurf_bad_tag(t, "thinking", type,
                                "'enabled', 'disabled', 'adaptive'");
    e = sy_msurf_member(t, th, "thinking", "budget_tokens", json_type_int, true,
                        &bt);
    if (e != SY_OK)
        return e;
    int64_t budget = json_object_get_int64(bt);
    if (budget < 1024)
        return sy_msurf_fail(t, "thinking", "budget_tokens",
                             "Input should be greater than or equal to 1024");
    const char *effort = budget < 4096    ? "low"
                         : budget < 16384 ? "medium"
                                          : "high";
    json_object_object_add(tree, "reasoning_effort", SY_JSTR(effort));
    return SY_OK;
}

/* One JSON output format {type: json_schema, schema} at 'at'. */
static enum sy_err
output_format(struct msurf_tr *t, struct json_object *fmt, const char *at,
              struct json_object *tree)
{
    const char *type;
    struct json_object *schema;
    enum sy_err e = sy_msurf_str_member(t, fmt, at, "type", true, &type);
    if (e == SY_OK && strcmp(type, "json_schema") != 0)
        return sy_msurf_bad_tag(t, at, type, "'json_schema'");
    if (e == SY_OK)
        e = sy_msurf_member(t, fmt, at, "schema", json_type_object, true,
                            &schema);
    if (e != SY_OK)
        return e;
    struct json_object *js = sy_adapter_obj("name", SY_JSTR("output"), "schema",
                                            json_object_get(schema), "strict",
                                            json_object_new_boolean(1), NULL);
    json_object_object_add(tree, "response_format",
                           sy_adapter_obj("type", SY_JSTR("json_schema"),
                                          "json_schema", js, NULL));
    return SY_OK;
}

/* Structured outputs: output_config.format, or the beta's top-level
 * output_format (the first wins when both are given). */
static enum sy_err
structured(struct msurf_tr *t, struct json_object *root,
           struct json_object *tree)
{
    struct json_object *oc, *fmt = NULL;
    enum sy_err e = sy_msurf_member(t, root, NULL, "output_config",
                                    json_type_object, false, &oc);
    if (e == SY_OK && oc != NULL)
        e = sy_msurf_member(t, oc, "output_config", "format", json_type_object,
                            false, &fmt);
    if (e == SY_OK && fmt != NULL)
        return output_format(t, fmt, "output_config.format", tree);
    if (e == SY_OK)
        e = sy_msurf_member(t, root, NULL, "output_format", json_type_object,
                            false, &fmt);
    if (e != SY_OK || fmt == NULL)
        return e;
    t->beta_format = true;
    return output_format(t, fmt, "output_format", tree);
}

/* ------------------------------------------------------------------ */
/* The request                                                         */

/* A refusal of the canonical checks (a tool's or the answer's schema
 * the gateway cannot enforce, ...) named in the caller's terms. */
static void
rename_param(struct msurf_tr *t)
{
    struct sy_chat_error *err = t->err;
    const char *p = err->param, *to = NULL;
    unsigned i;
    if (p == NULL)
        return;
    if (sscanf(p, "tools[%u]", &i) == 1 && strstr(p, ".parameters") != NULL)
        to = sy_arena_printf(t->a, "tools.%u.input_schema", i);
    else if (strncmp(p, "response_format", 15) == 0)
        to = t->beta_format ? "output_format.schema"
                            : "output_config.format.schema";
    else if (strcmp(p, "stop") == 0)
        to = "stop_sequences";
    else if (strcmp(p, "user") == 0)
        to = "metadata.user_id";
    else if (strncmp(p, "messages", 8) == 0)
        to = "messages";
    if (to == NULL)
        return;
    /* Messages start with the caller's path, as the others here do:
     * "'tools[0].function.parameters' cannot be enforced: ..." becomes
     * "tools.0.input_schema: cannot be enforced: ...". */
    char msg[sizeof(err->message) + 80];
    const char *m = err->message;
    size_t n = strlen(p);
    if (m[0] == '\'' && strncmp(m + 1, p, n) == 0 && m[n + 1] == '\'')
        snprintf(msg, sizeof(msg), "%s:%s", to, m + n + 2);
    else
        snprintf(msg, sizeof(msg), "%s: %s", to, m);
    memcpy(err->message, msg, sizeof(err->message) - 1);
    err->message[sizeof(err->message) - 1] = '\0';
    err->param = to;
}

static enum sy_err
translate(struct msurf_tr *t, struct json_object *root,
          struct json_object *tree)
{
    enum sy_err e = model_and_limit(t, root, tree);
    if (e != SY_OK)
        return e;
    t->msgs = json_object_new_array();
    json_object_object_add(tree, "messages", t->msgs);
    e = sy_msurf_messages(t, root);
    if (e == SY_OK)
        e = sampling(t, root, tree);
    if (e == SY_OK)
        e = user_and_stream(t, root, tree);
    if (e == SY_OK)
        e = tools(t, root, tree);
    if (e == SY_OK)
        e = tool_choice(t, root, tree);
    if (e == SY_OK)
        e = thinking(t, root, tree);
    if (e == SY_OK)
        e = structured(t, root, tree);
    return e;
}

/* The table's parse slot (see api/surface.h). */
static enum sy_err
messages_parse(const struct sy_req *r, unsigned max_depth, struct sy_arena *a,
               struct sy_chat_req *out, struct sy_chat_error *err)
{
    memset(out, 0, sizeof(*out));
    out->max_tokens = -1;
    err->param = NULL;
    err->message[0] = '\0';
    struct json_object *root;
    enum sy_err e =
        sy_chat_body_parse(r->body, r->body_len, max_depth, a, &root, err);
    if (e != SY_OK)
        return e;
    /* The arena owns the canonical tree from the start: a refusal
     * half-way through frees what was built. */
    struct json_object *tree = json_object_new_object();
    sy_arena_on_cleanup(a, sy_chat_json_free, tree);
    struct msurf_tr t = { .a = a, .err = err };
    e = translate(&t, root, tree);
    if (e != SY_OK)
        return e;
    /* sy_chat_req_from_tree keeps out->native. */
    out->native.dialect = "anthropic";
    out->native.root = root;
    out->native.version = r->anthropic_version;
    out->native.beta = r->anthropic_beta;
    out->native.required = t.native_only;
    out->native.hidden_tokens = t.hidden_tokens;
    e = sy_chat_req_from_tree(tree, a, out, err);
    if (e != SY_OK)
        rename_param(&t);
    return e;
}

const struct sy_surface sy_surface_messages = {
    .name = "messages",
    .dialect = "anthropic",
    .stream_state_size = sizeof(struct msurf_stream),
    .parse = messages_parse,
    .error_body = sy_msurf_error_body,
    .reply = sy_msurf_reply,
    .stream_chunk = sy_msurf_stream_chunk,
    .stream_end = sy_msurf_stream_end,
    .stream_error = sy_msurf_stream_error,
};
