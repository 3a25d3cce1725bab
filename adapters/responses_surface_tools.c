/*
 * responses_surface_tools.c - the Responses surface's tools: the
 * caller's function tools, custom (free-form) tools and namespaces of
 * either, from the top-level "tools" and from "additional_tools" input
 * items (Codex CLI sends both), become canonical function tools. A
 * custom tool takes one string argument, "input", which a reply hands
 * back as the custom_tool_call's input; a namespaced tool keeps its own
 * name unless another tool has it too ("NS__NAME" then). The same walk
 * over the caller's body tells a reply which caller tool a canonical
 * name stands for. Hosted tools (run at OpenAI) cannot be served: web
 * search and client-side tool search, which Codex CLI offers by default,
 * are dropped; the others are refused.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "responses_surface_int.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

/* Tool types a model cannot call through a chat completions API. */
static const char *const hosted[] = { "file_search",
                                      "computer",
                                      "computer_use_preview",
                                      "computer_use",
                                      "code_interpreter",
                                      "image_generation",
                                      "mcp",
                                      "local_shell",
                                      "shell",
                                      "apply_patch",
                                      "programmatic_tool_calling",
                                      NULL };

/* Hosted tools that are left out without a word: Codex CLI offers them
 * on every request, and a model without them still does its work. */
static bool
dropped(const char *type)
{
    return strncmp(type, "web_search", 10) == 0 ||
           strcmp(type, "tool_search") == 0;
}

/* Add tool 'def' (of namespace 'ns') to 'out', checked when 't' is
 * given. */
static enum sy_err
add_tool(struct rsurf_tr *t, struct json_object *def, const char *at,
         const char *ns, bool custom, struct rsurf_tools *out)
{
    const char *name;
    struct json_object *v;
    enum sy_err e = SY_OK;
    if (t == NULL) {
        name = sy_adapter_get_str(def, "name");
        if (name == NULL)
            return SY_OK;
    } else {
        e = sy_rsurf_str_member(t, def, at, "name", true, &name);
        if (e == SY_OK && name[0] == '\0')
            e = sy_rsurf_fail(t, sy_rsurf_path(t, at, "name"),
                              "Invalid '%s': empty string.",
                              sy_rsurf_path(t, at, "name"));
        if (e == SY_OK)
            e = sy_rsurf_member(t, def, at, "description", json_type_string,
                                false, &v);
        if (e == SY_OK && !custom)
            e = sy_rsurf_member(t, def, at, "parameters", json_type_object,
                                false, &v);
        if (e == SY_OK && !custom)
            e = sy_rsurf_member(t, def, at, "strict", json_type_boolean, false,
                                &v);
        if (e == SY_OK && custom)
            e = sy_rsurf_member(t, def, at, "format", json_type_object, false,
                                &v);
        if (e == SY_OK && out->n == SY_CHAT_MAX_TOOLS)
            e = sy_rsurf_fail(t, "tools", "at most %d tools may be given",
                              SY_CHAT_MAX_TOOLS);
    }
    if (e != SY_OK || out->n == SY_CHAT_MAX_TOOLS)
        return e;
    out->v[out->n++] = (struct rsurf_tool){
        .ns = ns, .name = name, .at = at, .def = def, .custom = custom
    };
    return SY_OK;
}

static enum sy_err tool_list(struct rsurf_tr *t, struct json_object *list,
                             const char *at, const char *ns,
                             struct rsurf_tools *out);

/* One entry of a tools list at 'at'. */
static enum sy_err
one_tool(struct rsurf_tr *t, struct json_object *def, const char *at,
         const char *ns, struct rsurf_tools *out)
{
    const char *type = sy_adapter_get_str(def, "type");
    if (t != NULL) {
        if (!sy_adapter_is(def, json_type_object))
            return sy_rsurf_bad_type(t, at, "an object", def);
        enum sy_err e = sy_rsurf_str_member(t, def, at, "type", true, &type);
        if (e != SY_OK)
            return e;
    }
    if (type == NULL || dropped(type))
        return SY_OK;
    if (strcmp(type, "function") == 0 || strcmp(type, "custom") == 0)
        return add_tool(t, def, at, ns, type[0] == 'c', out);
    if (strcmp(type, "namespace") == 0 && ns == NULL) {
        const char *name = sy_adapter_get_str(def, "name");
        struct json_object *list;
        enum sy_err e = SY_OK;
        if (t != NULL)
            e = sy_rsurf_str_member(t, def, at, "name", true, &name);
        if (e == SY_OK && t != NULL)
            e = sy_rsurf_member(t, def, at, "tools", json_type_array, true,
                                &list);
        else
            list = sy_adapter_get(def, "tools");
        if (e != SY_OK || name == NULL)
            return e;
        return tool_list(t, list, t ? sy_rsurf_path(t, at, "tools") : NULL,
                         name, out);
    }
    if (t == NULL)
        return SY_OK;
    const char *param = sy_rsurf_path(t, at, "type");
    if (sy_adapter_str_in(type, hosted))
        return sy_rsurf_fail(t, param,
                             "tool type '%.60s' is a hosted tool this "
                             "gateway cannot serve",
                             type);
    return sy_rsurf_bad_value(t, param, type,
                              ns ? "'function' and 'custom'"
                                 : "'function', 'custom' and 'namespace'");
}

static enum sy_err
tool_list(struct rsurf_tr *t, struct json_object *list, const char *at,
          const char *ns, struct rsurf_tools *out)
{
    size_t n = sy_adapter_is(list, json_type_array)
                   ? json_object_array_length(list)
                   : 0;
    enum sy_err e = SY_OK;
    for (size_t i = 0; e == SY_OK && i < n; i++)
        e = one_tool(t, json_object_array_get_idx(list, i),
                     t ? sy_arena_printf(t->a, "%s[%zu]", at, i) : NULL, ns,
                     out);
    return e;
}

enum sy_err
sy_rsurf_tools_collect(struct rsurf_tr *t, struct json_object *root,
                       struct rsurf_tools *out)
{
    out->n = 0;
    struct json_object *list = sy_adapter_get(root, "tools");
    enum sy_err e = SY_OK;
    if (t != NULL)
        e = sy_rsurf_member(t, root, NULL, "tools", json_type_array, false,
                            &list);
    if (e == SY_OK)
        e = tool_list(t, list, "tools", NULL, out);
    struct json_object *in = sy_adapter_get(root, "input");
    size_t n =
        sy_adapter_is(in, json_type_array) ? json_object_array_length(in) : 0;
    for (size_t i = 0; e == SY_OK && i < n; i++) {
        struct json_object *it = json_object_array_get_idx(in, i);
        const char *type = sy_adapter_get_str(it, "type");
        if (type == NULL || strcmp(type, "additional_tools") != 0)
            continue;
        const char *at = t ? sy_arena_printf(t->a, "input[%zu]", i) : NULL;
        if (t != NULL)
            e = sy_rsurf_member(t, it, at, "tools", json_type_array, true,
                                &list);
        else
            list = sy_adapter_get(it, "tools");
        if (e == SY_OK)
            e = tool_list(t, list, t ? sy_rsurf_path(t, at, "tools") : NULL,
                          NULL, out);
    }
    /* A namespaced tool whose name another tool has too is known by its
     * namespace as well. */
    for (size_t i = 0; i < out->n; i++)
        for (size_t j = 0; j < out->n; j++)
            if (i != j && strcmp(out->v[i].name, out->v[j].name) == 0)
                out->v[i].shared = out->v[i].ns != NULL;
    return e;
}

/* Does 'tool' go by canonical name 'cname'? */
static bool
named(const struct rsurf_tool *tool, const char *cname)
{
    if (!tool->shared)
        return strcmp(tool->name, cname) == 0;
    size_t n = strlen(tool->ns);
    return strncmp(cname, tool->ns, n) == 0 &&
           strncmp(cname + n, "__", 2) == 0 &&
           strcmp(cname + n + 2, tool->name) == 0;
}

const char *
sy_rsurf_tool_cname(struct rsurf_tr *t, const char *ns, const char *name)
{
    for (size_t i = 0; ns != NULL && i < t->tools->n; i++) {
        const struct rsurf_tool *tool = &t->tools->v[i];
        if (tool->shared && tool->ns != NULL && strcmp(tool->ns, ns) == 0 &&
            strcmp(tool->name, name) == 0)
            return sy_arena_printf(t->a, "%s__%s", ns, name);
    }
    return name;
}

const struct rsurf_tool *
sy_rsurf_tool_find(struct json_object *root, struct rsurf_tools *scratch,
                   const char *cname)
{
    if (root == NULL || cname == NULL)
        return NULL;
    sy_rsurf_tools_collect(NULL, root, scratch);
    for (size_t i = 0; i < scratch->n; i++)
        if (named(&scratch->v[i], cname))
            return &scratch->v[i];
    return NULL;
}

/* A custom tool as a function tool with one string argument; its
 * grammar, when it has one, goes into the description, so the model
 * knows what the input must look like. */
static struct json_object *
custom_function(struct rsurf_tr *t, const struct rsurf_tool *tool,
                struct json_object *fn)
{
    const char *desc = sy_adapter_get_str(tool->def, "description");
    struct json_object *fmt = sy_adapter_get(tool->def, "format");
    const char *syntax = sy_adapter_get_str(fmt, "syntax");
    const char *grammar = sy_adapter_get_str(fmt, "definition");
    const char *how = "Give the tool's input as free-form text in the "
                      "\"input\" argument.";
    if (grammar != NULL)
        how = sy_arena_printf(t->a,
                              "Give the tool's input in the \"input\" "
                              "argument, as text in this %s grammar:\n%s",
                              syntax ? syntax : "", grammar);
    json_object_object_add(
        fn, "description",
        SY_JSTR(desc ? sy_arena_printf(t->a, "%s\n\n%s", desc, how) : how));
    struct json_object *props = sy_adapter_obj(
        "input", sy_adapter_obj("type", SY_JSTR("string"), NULL), NULL);
    json_object_object_add(fn, "parameters",
                           sy_adapter_obj("type", SY_JSTR("object"),
                                          "properties", props, "required",
                                          sy_adapter_arr1(SY_JSTR("input")),
                                          "additionalProperties",
                                          json_object_new_boolean(0), NULL));
    return fn;
}

void
sy_rsurf_tools_emit(struct rsurf_tr *t)
{
    if (t->tools->n == 0)
        return;
    struct json_object *out = json_object_new_array();
    json_object_object_add(t->tree, "tools", out);
    for (size_t i = 0; i < t->tools->n; i++) {
        const struct rsurf_tool *tool = &t->tools->v[i];
        struct json_object *fn = sy_adapter_obj(
            "name", SY_JSTR(sy_rsurf_tool_cname(t, tool->ns, tool->name)),
            NULL);
        if (tool->custom) {
            custom_function(t, tool, fn);
        } else {
            static const char *const keys[] = { "description", "parameters",
                                                "strict" };
            for (size_t k = 0; k < SY_ARRAY_LEN(keys); k++) {
                struct json_object *v = sy_adapter_get(tool->def, keys[k]);
                if (v != NULL)
                    json_object_object_add(fn, keys[k], json_object_get(v));
            }
        }
        json_object_array_add(out, sy_adapter_obj("type", SY_JSTR("function"),
                                                  "function", fn, NULL));
    }
}

struct json_object *
sy_rsurf_custom_input(const char *args)
{
    struct json_object *o =
        args != NULL ? sy_adapter_json_parse(args, strlen(args)) : NULL;
    struct json_object *in = sy_adapter_get(o, "input");
    struct json_object *r = sy_adapter_is(in, json_type_string)
                                ? json_object_get(in)
                                : SY_JSTR(args ? args : "");
    json_object_put(o);
    return r;
}
