/*
 * caps.c - deployment capabilities and the check of a request's needs
 * against them. Defaults come from the adapter's capability bits (what
 * the provider API can do) and a small table of model families (context
 * window, output limit, image cost); a deployment's "capabilities" config
 * wins. Also the table of billed request fields (allowed per deployment
 * by "allow_fields") and the worst-case token counts a budget reserves.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "caps.h"
#include "adapter.h"
#include "chat.h"

#include <stdio.h>
#include <string.h>

/* The largest context window a provider offers (Gemini 1.5 Pro: 2M
 * tokens): what a document may fill where a deployment's is unknown. */
#define SY_CONTEXT_WINDOW_LARGEST ((uint64_t)2097152)

/* Known model families: a prefix of the upstream model id. Figures from
 * the providers' model pages; a deployment's config overrides them. */
static const struct {
    const char *prefix;
    uint64_t context_window;
    uint64_t max_output_tokens;
    bool vision;
    uint64_t image_tokens; /* 0: the provider type's figure */
} families[] = {
    /* OpenAI image tokens, high detail, largest image (fit in 2048 px,
     * short side 768 px: 8 tiles): gpt-4o 85 + 8 x 170; gpt-4o-mini
     * 2833 + 8 x 5667; o1/o3 75 + 8 x 150; patch models 1536 patches x
     * the model's multiplier (4.1-mini 1.62, 4.1-nano 2.46, o4-mini
     * 1.72). First match wins: longer prefixes first. */
    { "gpt-4o-mini", 128000, 16384, true, 48169 },
    { "gpt-4o", 128000, 16384, true, 1445 },
    { "gpt-4.1-mini", 1047576, 32768, true, 2489 },
    { "gpt-4.1-nano", 1047576, 32768, true, 3779 },
    { "gpt-4.1", 1047576, 32768, true, 1445 },
    { "gpt-3.5-turbo", 16385, 4096, false, 0 },
    { "o3", 200000, 100000, true, 1275 },
    { "o4-mini", 200000, 100000, true, 2642 },
    { "claude-", 200000, 64000, true, 0 },
    { "gemini-2.5", 1048576, 65536, true, 0 },
    { "gemini-2.0", 1048576, 8192, true, 0 },
    { "deepseek-chat", 128000, 8192, false, 0 },
    { "deepseek-reasoner", 128000, 64000, false, 0 },
    { "mistral-small", 128000, 32768, true, 0 },
    { "mistral-large", 128000, 32768, false, 0 },
};

/* The most one input image costs, in prompt tokens, by provider type
 * (models not in the table above). Anthropic: about w x h / 750 for the
 * largest image it keeps (1.15 megapixels): 1,600. Gemini: 258 per 768 px
 * tile, 16 tiles. Mistral: 16 px patches of a 1024 px square plus row
 * breaks: 4,160. Qwen-VL: 1,280 by default (16,384 with
 * vl_high_resolution_images). OpenAI-compatible aggregators and unknown
 * types: the dearest OpenAI figure per token of a patch model. */
static const struct {
    const char *type;
    uint64_t image_tokens;
} type_images[] = {
    { "anthropic", 1600 },
    { "gemini", 4128 },
    { "mistral", 4160 },
    { "qwen", 1280 },
};
#define SY_IMAGE_TOKENS_DEFAULT   3779
#define SY_IMAGE_TOKENS_QWEN_HIGH 16384

/* Billed or retained request fields, in SY_FIELD_* bit order. 'priced':
 * the worst-case reservation covers what the field adds (n multiplies the
 * output, high-resolution images count at their largest, store and
 * transforms cost no extra tokens); the others add fees or token kinds
 * that token prices cannot bound (search calls, audio, priority tiers,
 * fallback models at other prices). */
static const struct {
    const char *name;
    enum sy_field_rule rule;
    bool priced;
} billed_fields[SY_FIELD_COUNT] = {
    { "n", SY_FIELD_ABOVE_1, true },             /* every choice billed */
    { "service_tier", SY_FIELD_PRESENT, false }, /* priority/flex pricing */
    { "store", SY_FIELD_TRUE, true },            /* prompts kept */
    { "web_search_options", SY_FIELD_PRESENT, false }, /* paid search calls */
    { "audio", SY_FIELD_PRESENT, false },              /* audio output tokens */
    { "modalities", SY_FIELD_NOT_TEXT, false },        /* ["text","audio"] */
    { "prediction", SY_FIELD_PRESENT, false }, /* rejected tokens billed */
    { "moderation", SY_FIELD_PRESENT, false }, /* moderation runs */
    { "prompt_cache_retention", SY_FIELD_PRESENT, false }, /* 24 h storage */
    { "models", SY_FIELD_PRESENT, false },         /* OpenRouter fallbacks */
    { "plugins", SY_FIELD_PRESENT, false },        /* OpenRouter web search */
    { "provider", SY_FIELD_PRESENT, false },       /* OpenRouter routing */
    { "route", SY_FIELD_PRESENT, false },          /* OpenRouter fallbacks */
    { "transforms", SY_FIELD_PRESENT, true },      /* prompt transforms */
    { "enable_search", SY_FIELD_TRUE, false },     /* Qwen web search */
    { "search_options", SY_FIELD_PRESENT, false }, /* Qwen web search */
    { "vl_high_resolution_images", SY_FIELD_TRUE, true }, /* 16k per image */
};

/* The first billed field request 'n' uses whose cost the worst-case
 * reservation cannot bound, or NULL: a caller with a money budget may
 * not use it (core/serve/pipeline_caller.c). */
const char *
sy_caps_unpriced_field(const struct sy_needs *n)
{
    for (unsigned i = 0; i < SY_FIELD_COUNT; i++)
        if ((n->fields & (1u << i)) && !billed_fields[i].priced)
            return billed_fields[i].name;
    return NULL;
}

const char *
sy_caps_field_name(unsigned i)
{
    return i < SY_FIELD_COUNT ? billed_fields[i].name : NULL;
}

enum sy_field_rule
sy_caps_field_rule(unsigned i)
{
    return i < SY_FIELD_COUNT ? billed_fields[i].rule : SY_FIELD_PRESENT;
}

/* The index of billed field 'name', or -1. */
int
sy_caps_field_find(const char *name)
{
    for (unsigned i = 0; name != NULL && i < SY_FIELD_COUNT; i++)
        if (strcmp(billed_fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The first billed field request 'n' uses that 'c' does not allow, or
 * NULL. */
const char *
sy_caps_refused_field(const struct sy_caps *c, const struct sy_needs *n)
{
    uint32_t refused = n->fields & ~c->allow_fields;
    for (unsigned i = 0; i < SY_FIELD_COUNT; i++)
        if (refused & (1u << i))
            return billed_fields[i].name;
    return NULL;
}

/* The most prompt tokens request 'n' (a body of 'body_bytes') can be
 * billed for on 'c': at most one token per byte of the body that is not
 * image data (byte-level tokenizers never do worse), capped by the
 * context window a provider enforces, plus each image at its largest;
 * and the tokens the provider adds unseen (n->hidden_tokens). A
 * document (a PDF file part) is billed per page, its text and an image
 * of each page (1,500 to 3,000 tokens a page at Anthropic), and a page
 * can take under 100 bytes: its bytes bound nothing, so a request with
 * one is bounded by the context window alone (where the deployment's
 * is unknown, the largest any provider offers: set
 * capabilities.context_window). The same for a video, or any part whose
 * billing the gateway cannot bound by its bytes (chat_needs.c).
 * Never overflows (bodies and counts are bounded far below 2^64). */
uint64_t
sy_caps_input_worst(const struct sy_caps *c, const struct sy_needs *n,
                    uint64_t body_bytes)
{
    uint64_t text =
        (body_bytes > n->image_bytes ? body_bytes - n->image_bytes : 0) + 1 +
        n->hidden_tokens;
    if (n->files > 0)
        text = SY_MAX(text, SY_CONTEXT_WINDOW_LARGEST);
    if (c->context_window > 0 && text > c->context_window)
        text = c->context_window;
    uint64_t per = c->image_tokens ? c->image_tokens : SY_IMAGE_TOKENS_DEFAULT;
    if (n->fields & SY_FIELD_VL_HIGH_RES)
        per = SY_MAX(per, (uint64_t)SY_IMAGE_TOKENS_QWEN_HIGH);
    uint64_t img = (uint64_t)n->images * per; /* < 2^32 x 2^40 */
    return text + img;
}

/* The most completion tokens: max_tokens (or the deployment's output
 * limit when not given) for each of the n choices. */
uint64_t
sy_caps_output_worst(const struct sy_caps *c, const struct sy_needs *n)
{
    uint64_t one = n->max_tokens > 0          ? n->max_tokens
                   : c->max_output_tokens > 0 ? c->max_output_tokens
                                              : SY_OUTPUT_TOKENS_UNKNOWN;
    uint64_t k = n->choices > 0 ? n->choices : 1;
    return one > UINT64_MAX / k ? UINT64_MAX : one * k;
}

/* The completion tokens one choice of a request is expected to use:
 * 'max_tokens' when given (> 0), else SY_CAPS_OUTPUT_ESTIMATE. The one
 * estimate for a request's size before it runs; the worst case (what a
 * reservation of money must cover) is sy_caps_output_worst(). */
uint64_t
sy_caps_output_estimate(int64_t max_tokens)
{
    return max_tokens > 0 ? (uint64_t)max_tokens : SY_CAPS_OUTPUT_ESTIMATE;
}

/* Fill 'out' with what a deployment of 'model' on a provider of type
 * 'provider_type' (adapter capability bits 'adapter_caps') can do. */
void
sy_caps_defaults(const char *provider_type, const char *model,
                 unsigned adapter_caps, struct sy_caps *out)
{
    memset(out, 0, sizeof(*out));
    /* The provider type is its adapter's name (adapters/registry.c). */
    out->dialect = provider_type;
    out->tools = (adapter_caps & SY_CAP_TOOLS) != 0;
    out->parallel_tools = (adapter_caps & SY_CAP_PARALLEL_TOOLS) != 0;
    out->json_object = (adapter_caps & SY_CAP_JSON_OBJECT) != 0;
    out->json_schema = (adapter_caps & SY_CAP_JSON_SCHEMA) != 0;
    out->vision = (adapter_caps & SY_CAP_VISION) != 0;
    out->streaming = (adapter_caps & SY_CAP_STREAM) != 0;
    /* Embedding models say so in their names (text-embedding-3-small,
     * gemini-embedding-001, mistral-embed); chat models never do. */
    out->embeddings_only = strstr(model, "embed") != NULL;
    out->embeddings =
        out->embeddings_only && (adapter_caps & SY_CAP_EMBED) != 0;
    out->image_tokens = SY_IMAGE_TOKENS_DEFAULT;
    for (size_t i = 0; provider_type != NULL && i < SY_ARRAY_LEN(type_images);
         i++)
        if (strcmp(type_images[i].type, provider_type) == 0)
            out->image_tokens = type_images[i].image_tokens;
    for (size_t i = 0; i < SY_ARRAY_LEN(families); i++) {
        size_t n = strlen(families[i].prefix);
        const char *m = strrchr(model, '/'); /* "openai/gpt-4o" */
        m = m ? m + 1 : model;
        if (strncmp(m, families[i].prefix, n) == 0) {
            out->context_window = families[i].context_window;
            out->max_output_tokens = families[i].max_output_tokens;
            out->vision = out->vision && families[i].vision;
            if (families[i].image_tokens > 0)
                out->image_tokens = families[i].image_tokens;
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
    if (c->embeddings_only) {
        snprintf(buf, buflen, "an embeddings model (no chat)");
        return buf;
    }
    /* A request only its own wire format can carry (a provider's
     * client tool, ...): first, as no other capability makes up for it. */
    if (n->native_dialect != NULL &&
        (c->dialect == NULL || strcmp(c->dialect, n->native_dialect) != 0)) {
        snprintf(buf, buflen, "%.100s needs a deployment of type '%.20s'",
                 n->native_why != NULL ? n->native_why : "the request",
                 n->native_dialect);
        return buf;
    }
    const char *field = sy_caps_refused_field(c, n);
    if (field != NULL) {
        snprintf(buf, buflen,
                 "'%s' not in its allow_fields (billed by the "
                 "provider)",
                 field);
        return buf;
    }
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
    /* The unseen tokens' allowance (hidden_tokens) is a bound for money,
     * far above what they take: not held against the window. */
    uint64_t need = n->input_tokens -
                    SY_MIN(n->hidden_tokens, n->input_tokens) +
                    n->max_tokens; /* both < 2^40 */
    if (c->context_window > 0 && need > c->context_window) {
        snprintf(buf, buflen,
                 "context window %llu tokens < about %llu "
                 "needed",
                 (unsigned long long)c->context_window,
                 (unsigned long long)need);
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
