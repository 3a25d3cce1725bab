/*
 * fuzz_traceparent.c - libFuzzer target for the W3C Trace Context
 * headers a caller sends (core/base/traceparent.c).
 *
 * Input: the whole input as a traceparent value, and again as a
 * tracestate value (both unterminated, exactly 'size' bytes, so ASan
 * sees a read past them). Beyond the sanitizers: an accepted
 * traceparent has lowercase hex ids that are not all zero, formats
 * into a version-00 header that parses back to the same ids; an
 * accepted tracestate is within its bounds and holds no byte that could
 * end or forge a header line (printable ASCII and tabs only).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "base/mem.h"
#include "base/traceparent.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_id(const char *id, size_t n)
{
    bool any = false;
    if (strlen(id) != n)
        abort();
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            abort();
        any |= c != '0';
    }
    if (!any)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = sy_xmalloc(size ? size : 1);
    memcpy(s, data, size);
    struct sy_traceparent tp;
    if (sy_traceparent_parse(s, size, &tp)) {
        check_id(tp.trace_id, SY_TRACE_ID_HEX);
        check_id(tp.parent_id, SY_SPAN_ID_HEX);
        char out[SY_TRACEPARENT_LEN + 1];
        sy_traceparent_format(tp.trace_id, tp.parent_id, tp.flags, out);
        struct sy_traceparent back;
        if (!sy_traceparent_parse(out, strlen(out), &back) ||
            strcmp(back.trace_id, tp.trace_id) != 0 ||
            strcmp(back.parent_id, tp.parent_id) != 0 || back.flags != tp.flags)
            abort();
    }
    if (sy_tracestate_valid(s, size)) {
        if (size > SY_TRACESTATE_MAX)
            abort();
        /* Printable ASCII, and tabs (optional white space around list
         * members): nothing that could end or forge a header line. */
        for (size_t i = 0; i < size; i++)
            if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
                (unsigned char)s[i] > 0x7e)
                abort();
    }
    free(s);
    return 0;
}
