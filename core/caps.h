/*
 * caps.h - what a deployment can do natively (from its config, with
 * defaults by provider type and model family) and what a request needs,
 * so a request is only routed where it can be served.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_CAPS_H
#define SY_CORE_CAPS_H

#include "sy.h"

struct sy_caps {
    bool tools;
    bool parallel_tools;
    bool json_object;
    bool json_schema;
    bool vision;
    bool streaming;
    uint64_t context_window;    /* tokens; 0 = unknown (not checked) */
    uint64_t max_output_tokens; /* 0 = unknown */
};

/* What one request needs, inferred from its body (core/chat.c). */
struct sy_needs {
    bool tools;            /* tools given and not tool_choice "none" */
    bool parallel_tools;   /* parallel_tool_calls: true, explicitly */
    bool json_object;      /* response_format json_object */
    bool json_schema;      /* response_format json_schema */
    bool vision;           /* image parts */
    bool streaming;
    uint64_t input_tokens; /* estimate of the prompt */
    uint64_t max_tokens;   /* asked for; 0 = not given */
};

void sy_caps_defaults(const char *provider_type, const char *model,
                      unsigned adapter_caps, struct sy_caps *out);
const char *sy_caps_check(const struct sy_caps *c, const struct sy_needs *n,
                          char *buf, size_t buflen);

#endif
