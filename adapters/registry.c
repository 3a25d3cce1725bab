/*
 * registry.c - the static list of adapters, looked up by provider type
 * when the config loads (never per request).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "api/adapter.h"

#include <string.h>

extern const struct sy_adapter sy_adapter_openai;
extern const struct sy_adapter sy_adapter_deepseek;
extern const struct sy_adapter sy_adapter_mistral;
extern const struct sy_adapter sy_adapter_qwen;
extern const struct sy_adapter sy_adapter_openrouter;
extern const struct sy_adapter sy_adapter_tokenmix;
extern const struct sy_adapter sy_adapter_anthropic;
extern const struct sy_adapter sy_adapter_gemini;
extern const struct sy_adapter sy_adapter_openai_responses;

/* One line per provider type (config "type"); the OpenAI-compatible
 * family shares openai.c, with its quirks as data there. */
static const struct sy_adapter *const adapters[] = {
    &sy_adapter_openai,    &sy_adapter_deepseek,   &sy_adapter_mistral,
    &sy_adapter_qwen,      &sy_adapter_openrouter, &sy_adapter_tokenmix,
    &sy_adapter_anthropic, &sy_adapter_gemini,     &sy_adapter_openai_responses,
};

/* The adapter registered as 'name', or NULL. Adapters whose ABI does not
 * match this build are refused. */
const struct sy_adapter *
sy_adapter_find(const char *name)
{
    for (size_t i = 0; i < SY_ARRAY_LEN(adapters); i++)
        if (adapters[i]->abi == SY_ADAPTER_ABI &&
            strcmp(adapters[i]->name, name) == 0)
            return adapters[i];
    return NULL;
}

const struct sy_adapter *const *
sy_adapter_all(size_t *n)
{
    *n = SY_ARRAY_LEN(adapters);
    return adapters;
}
