/*
 * otlp_json.c - a batch of spans as one OTLP/HTTP JSON request body
 * (ExportTraceServiceRequest): ids as lowercase hex, times and 64-bit
 * integers as decimal strings (the protobuf JSON mapping), attribute
 * names from the OpenTelemetry GenAI semantic conventions. No I/O.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "otlp.h"
#include "base/buf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Copy 'src' (NULL = "") into 'dst' of 'cap' bytes, cut to fit. */
void
sy_span_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src != NULL ? src : "", n);
    dst[n] = '\0';
}

static void
jstr(struct sy_buf *b, const char *s)
{
    sy_buf_json_str(b, s, strlen(s));
}

/* One string attribute; skipped when 'v' is empty. 'first' tracks the
 * comma. */
static void
attr_str(struct sy_buf *b, bool *first, const char *k, const char *v)
{
    if (v[0] == '\0')
        return;
    sy_buf_puts(b, *first ? "{\"key\":" : ",{\"key\":");
    *first = false;
    jstr(b, k);
    sy_buf_puts(b, ",\"value\":{\"stringValue\":");
    jstr(b, v);
    sy_buf_puts(b, "}}");
}

/* One integer attribute; skipped when 'v' is negative. */
static void
attr_int(struct sy_buf *b, bool *first, const char *k, int64_t v)
{
    if (v < 0)
        return;
    sy_buf_puts(b, *first ? "{\"key\":" : ",{\"key\":");
    *first = false;
    jstr(b, k);
    sy_buf_printf(b, ",\"value\":{\"intValue\":\"%" PRId64 "\"}}", v);
}

static void
encode_span(struct sy_buf *b, const struct sy_span *s)
{
    /* The GenAI span name: "{operation} {model}"; the request span of a
     * path that is not a model call is named after its route. */
    sy_buf_puts(b, "{\"traceId\":");
    jstr(b, s->trace_id);
    sy_buf_puts(b, ",\"spanId\":");
    jstr(b, s->span_id);
    if (s->parent_id[0] != '\0') {
        sy_buf_puts(b, ",\"parentSpanId\":");
        jstr(b, s->parent_id);
    }
    char name[200];
    const char *op = s->operation[0] ? s->operation : s->route;
    snprintf(name, sizeof(name), "%s%s%s", op[0] ? op : "request",
             s->operation[0] && s->request_model[0] ? " " : "",
             s->operation[0] ? s->request_model : "");
    sy_buf_puts(b, ",\"name\":");
    jstr(b, name);
    sy_buf_printf(b,
                  ",\"kind\":%d,\"startTimeUnixNano\":\"%" PRIu64
                  "\",\"endTimeUnixNano\":\"%" PRIu64 "\",\"attributes\":[",
                  (int)s->kind, s->start_ns, s->end_ns);
    bool first = true;
    attr_str(b, &first, "gen_ai.operation.name", s->operation);
    attr_str(b, &first, "gen_ai.provider.name", s->provider);
    attr_str(b, &first, "gen_ai.request.model", s->request_model);
    attr_str(b, &first, "gen_ai.response.model", s->response_model);
    attr_int(b, &first, "gen_ai.usage.input_tokens", s->input_tokens);
    attr_int(b, &first, "gen_ai.usage.output_tokens", s->output_tokens);
    if (s->finish_reason[0] != '\0') {
        sy_buf_puts(b, first ? "" : ",");
        first = false;
        sy_buf_puts(b, "{\"key\":\"gen_ai.response.finish_reasons\","
                       "\"value\":{\"arrayValue\":{\"values\":[{"
                       "\"stringValue\":");
        jstr(b, s->finish_reason);
        sy_buf_puts(b, "}]}}}");
    }
    attr_str(b, &first, "switchyard.deployment", s->deployment);
    attr_str(b, &first, "url.path", s->route);
    attr_int(b, &first, "http.response.status_code",
             s->status > 0 ? s->status : -1);
    attr_str(b, &first, "error.type", s->error_type);
    sy_buf_puts(b, "],\"status\":{\"code\":");
    /* STATUS_CODE_ERROR on failure, UNSET otherwise (the convention for
     * instrumentation that cannot judge success). */
    sy_buf_puts(b, s->error_type[0] != '\0' ? "2}}" : "0}}");
}

/* Encode 'n' spans of service 'service_name' into 'out' (cleared
 * first). SY_OK, or the buffer's error when it outgrew its maximum. */
enum sy_err
sy_otlp_encode(const struct sy_span *spans, size_t n, const char *service_name,
               struct sy_buf *out)
{
    sy_buf_clear(out);
    sy_buf_puts(out, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{"
                     "\"key\":\"service.name\",\"value\":{\"stringValue\":");
    jstr(out, service_name);
    sy_buf_puts(out, "}}]},\"scopeSpans\":[{\"scope\":{\"name\":"
                     "\"switchyard\"},\"spans\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            sy_buf_puts(out, ",");
        encode_span(out, &spans[i]);
    }
    sy_buf_puts(out, "]}]}]}");
    return sy_buf_err(out);
}
