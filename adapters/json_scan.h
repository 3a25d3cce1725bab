/*
 * json_scan.h - whether text fed piece by piece is a whole JSON object
 * or array yet, without keeping the text: how a translated stream tells
 * that one tool call's arguments are complete while a provider
 * interleaves the pieces of parallel calls (anthropic_surface_out.c,
 * responses_surface_stream.c). Not a validator: json-c parses the
 * whole arguments where they are checked.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_ADAPTERS_JSON_SCAN_H
#define SY_ADAPTERS_JSON_SCAN_H

#include "base/sy.h"

/* Zeroed: nothing seen. */
struct sy_json_scan {
    uint64_t depth; /* brackets open outside strings */
    bool begun;     /* a non-blank character was seen */
    bool str, esc;  /* inside a string; after a backslash in it */
    bool whole;     /* the top-level object or array closed */
    bool never;     /* cannot become whole (a top-level scalar, a stray
                       closing bracket) */
};

void sy_json_scan_feed(struct sy_json_scan *sc, const char *p, size_t n);

#endif
