/*
 * caps.h - what a deployment can do natively (from its config, with
 * defaults by provider type and model family) and what a request needs,
 * so a request is only routed where it can be served.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_CAPS_H
#define SY_CORE_CAPS_H

#include "base/sy.h"

/* Output budget of a deployment whose limit is unknown and a request
 * without max_tokens: the largest common default of today's models.
 * What the budget reserves then, what an adapter's own default stays
 * within, and the least a completion is bounded by. */
#define SY_OUTPUT_TOKENS_UNKNOWN 32768

struct sy_caps {
    bool tools;
    bool parallel_tools;
    bool json_object;
    bool json_schema;
    bool vision;
    bool streaming;
    /* serves POST /v1/embeddings: by default a model whose name holds
     * "embed" on a provider with an embeddings API (SY_CAP_EMBED) */
    bool embeddings;
    /* an embeddings model, never sent chat: by default when the name
     * holds "embed" */
    bool embeddings_only;
    uint64_t context_window;    /* tokens; 0 = unknown (not checked) */
    uint64_t max_output_tokens; /* 0 = unknown */
    uint64_t image_tokens;      /* what one input image may cost at most,
                                   in prompt tokens (by provider type and
                                   model family; see caps.c) */
    uint32_t allow_fields;      /* SY_FIELD_* bits: billed request fields
                                   the operator allows ("allow_fields") */
    const char *dialect;        /* the wire format its adapter speaks (the
                                   provider type, e.g. "anthropic"),
                                   borrowed from the config; NULL:
                                   unknown, serves no native-only need */
};

/* Request fields that change what the provider bills or retains. A
 * request that uses one (by the rule of sy_caps_field_rule) is served
 * only by deployments whose "allow_fields" names it. Bit i of a mask is
 * field i of the table in caps.c. */
#define SY_FIELD_N           (1u << 0)
#define SY_FIELD_VL_HIGH_RES (1u << 16)
#define SY_FIELD_COUNT       17u

enum sy_field_rule {
    SY_FIELD_PRESENT, /* used when present and not null */
    SY_FIELD_TRUE,    /* used when true */
    SY_FIELD_ABOVE_1, /* used when a number above 1 */
    SY_FIELD_NOT_TEXT /* used when an array holding more than "text" */
};

/* What one request needs, inferred from its body (core/api/chat.c). */
struct sy_needs {
    bool tools;          /* tools given and not tool_choice "none" */
    bool parallel_tools; /* parallel_tool_calls: true, explicitly */
    bool json_object;    /* response_format json_object */
    bool json_schema;    /* response_format json_schema */
    bool vision;         /* image parts */
    bool streaming;
    uint64_t input_tokens; /* estimate of the prompt (about 4 bytes of
                              text a token) */
    uint64_t max_tokens;   /* asked for; 0 = not given */
    uint64_t image_bytes;  /* bytes of image URLs (often base64 data) */
    uint32_t images;       /* image parts in the messages */
    uint32_t files;        /* file (document) parts in the messages */
    uint32_t choices;      /* n (1 when not given) */
    uint32_t fields;       /* SY_FIELD_* bits the request uses */
    /* Served only by a deployment that speaks the caller's own wire
     * format (sy_chat_req.native.required): that format's adapter name
     * ("anthropic"), and what needs it, for the refusal. Both borrowed
     * from the request; NULL: any deployment. */
    const char *native_dialect;
    const char *native_why;
    uint64_t hidden_tokens; /* prompt tokens billed beyond the body
                               (sy_native_req.hidden_tokens) */
};

const char *sy_caps_unpriced_field(const struct sy_needs *n);
void sy_caps_defaults(const char *provider_type, const char *model,
                      unsigned adapter_caps, struct sy_caps *out);
const char *sy_caps_check(const struct sy_caps *c, const struct sy_needs *n,
                          char *buf, size_t buflen);
const char *sy_caps_field_name(unsigned i);
enum sy_field_rule sy_caps_field_rule(unsigned i);
int sy_caps_field_find(const char *name);
const char *sy_caps_refused_field(const struct sy_caps *c,
                                  const struct sy_needs *n);
uint64_t sy_caps_input_worst(const struct sy_caps *c, const struct sy_needs *n,
                             uint64_t body_bytes);
uint64_t sy_caps_output_worst(const struct sy_caps *c,
                              const struct sy_needs *n);
uint64_t sy_caps_output_estimate(int64_t max_tokens);

/* Completion tokens expected of one choice when the request does not say
 * (no max_tokens): a long chat answer. Used where a request's size is
 * guessed before it runs (caller TPM reservations, latency and cost
 * ranking), never as a limit; reservations are corrected afterwards. */
#define SY_CAPS_OUTPUT_ESTIMATE 1024

#endif
