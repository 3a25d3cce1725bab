/*
 * json_scan.c - whether text fed piece by piece is a whole JSON object
 * or array yet (json_scan.h).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "json_scan.h"

/* Feed 'n' more bytes of a call's arguments. 'whole' turns true when a
 * top-level object or array closes, outside strings: text that is valid
 * JSON then ends there (blanks may follow), and text that is not stays
 * invalid whatever follows, so the call's block may close without
 * cutting a valid input. A scalar or a stray closing bracket at the top
 * level never makes the text whole (the call is held back, never cut).
 * Once whole, the rest is not looked at. */
void
sy_json_scan_feed(struct sy_json_scan *sc, const char *p, size_t n)
{
    for (size_t i = 0; i < n && !sc->whole && !sc->never; i++) {
        char c = p[i];
        if (sc->str) {
            if (sc->esc)
                sc->esc = false;
            else if (c == '\\')
                sc->esc = true;
            else if (c == '"')
                sc->str = false;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        bool first = !sc->begun;
        sc->begun = true;
        if (c == '"') {
            sc->str = true;
            if (first)
                sc->never = true; /* a top-level string */
        } else if (c == '{' || c == '[') {
            sc->depth++;
        } else if (c == '}' || c == ']') {
            if (sc->depth == 0)
                sc->never = true;
            else if (--sc->depth == 0)
                sc->whole = true;
        } else if (first) {
            sc->never = true; /* a top-level number or literal */
        }
    }
}
