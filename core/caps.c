/*
 * caps.c - deployment capabilities and the check of a request's needs
 * against them. Defaults come from the adapter's capability bits (what
 * the provider API can do) and a small table of model families (context
 * window, output limit); a deployment's "capabilities" config wins.
 * SPDX-License-Identifier: MIT
 */
#include "sy.h"
#include "caps.h"
#include "../adapters/adapter.h"

#include <stdio.h>
#include <string.h>

/* Known model families: a prefix of the upstream model id. Figures from
 * the providers' model pages; a deployment's config overrides them. */
static const struct {
    const char *prefix;
    uint64_t context_window;
    uint64_t max_output_tokens;
    bool vision;
} families[] = {
    {"gpt-4o", 128000, 16384, true},
    {"gpt-4.1", 1047576, 32768, true},
    {"gpt-3.5-turbo", 16385, 4096, false},
    {"o3", 200000, 100000, true},
    {"o4-mini", 200000, 100000, true},
    {"claude-", 200000, 64000, true},
    {"gemini-2.5", 1048576, 65536, true},
    {"gemini-2.0", 1048576, 8192, true},
    {"deepseek-chat", 128000, 8192, false},
    {"deepseek-reasoner", 128000, 64000, false},
    {"mistral-small", 128000, 32768, true},
    {"mistral-large", 128000, 32768, false},
};

/* Fill 'out' with what a deployment of 'model' on a provider of type
 * 'provider_type' (adapter capability bits 'adapter_caps') can do. */
void
sy_caps_defaults(const char *provider_type, const char *model,
                 unsigned adapter_caps, struct sy_caps *out)
{
    (void)provider_type;
    memset(out, 0, sizeof(*out));
    out->tools = (adapter_caps & SY_CAP_TOOLS) != 0;
    out->parallel_tools = (adapter_caps & SY_CAP_PARALLEL_TOOLS) != 0;
    out->json_object = (adapter_caps & SY_CAP_JSON_OBJECT) != 0;
    out->json_schema = (adapter_caps & SY_CAP_JSON_SCHEMA) != 0;
    out->vision = (adapter_caps & SY_CAP_VISION) != 0;
    out->streaming = (adapter_caps & SY_CAP_STREAM) != 0;
    for (size_t i = 0; i < SY_ARRAY_LEN(families); i++) {
        size_t n = strlen(families[i].prefix);
        const char *m = strrchr(model, '/'); /* "openai/gpt-4o" */
        m = m ? m + 1 : model;
        if (strncmp(m, families[i].prefix, n) == 0) {
            out->context_window = families[i].context_window;
            out->max_output_tokens = families[i].max_output_tokens;
            out->vision = out->vision && families[i].vision;
            break;
        }
    }
}

/* NULL when 'c' can serve 'n' natively; otherwise why not, written into
 * 'buf' (short, for the caller and x-switchyard-route). */
const char *
sy_caps_check(const struct sy_caps *c, const struct sy_needs *n, char *buf,
              size_t buflen)
{
    const char *why = NULL;
    if (n->json_schema && !c->json_schema)
        why = "no json_schema structured output";
    else if (n->json_object && !c->json_object && !c->json_schema)
        why = "no JSON mode";
    else if (n->tools && !c->tools)
        why = "no tool calling";
    else if (n->parallel_tools && !c->parallel_tools)
        why = "no parallel tool calls";
    else if (n->vision && !c->vision)
        why = "no image input";
    else if (n->streaming && !c->streaming)
        why = "no streaming";
    if (why != NULL) {
        snprintf(buf, buflen, "%s", why);
        return buf;
    }
    if (c->context_window > 0 &&
        n->input_tokens + (n->max_tokens ? n->max_tokens : 0) >
            c->context_window) {
        snprintf(buf, buflen, "context window %llu tokens < about %llu "
                 "needed", (unsigned long long)c->context_window,
                 (unsigned long long)(n->input_tokens + n->max_tokens));
        return buf;
    }
    if (c->max_output_tokens > 0 && n->max_tokens > c->max_output_tokens) {
        snprintf(buf, buflen, "max output %llu tokens < %llu asked",
                 (unsigned long long)c->max_output_tokens,
                 (unsigned long long)n->max_tokens);
        return buf;
    }
    return NULL;
}
