/*
 * otlp.h - spans and their export to an OpenTelemetry collector over
 * OTLP/HTTP with JSON bodies. A span is copied whole into a bounded
 * in-process queue (sy_otlp_submit never waits on the network; a full
 * queue drops the span and counts it); one background thread per
 * process batches the queue and POSTs it on its own libcurl handle
 * (otlp.c). otlp_json.c encodes a batch (pure, tested alone).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_OTLP_H
#define SY_CORE_OTLP_H

#include "base/sy.h"
#include "base/buf.h"

/* OTLP SpanKind values. */
enum sy_span_kind { SY_SPAN_SERVER = 2, SY_SPAN_CLIENT = 3 };

/* One finished span. Every string is copied in (the request's memory is
 * gone by the time the span is sent); "" means absent, and so does a
 * negative token count or a 0 status. */
struct sy_span {
    char trace_id[33]; /* lowercase hex */
    char span_id[17];
    char parent_id[17]; /* "" for a root span */
    enum sy_span_kind kind;
    uint64_t start_ns; /* wall clock, ns since the epoch */
    uint64_t end_ns;
    char operation[16];       /* gen_ai.operation.name: "chat", ... */
    char provider[48];        /* gen_ai.provider.name */
    char request_model[128];  /* gen_ai.request.model */
    char response_model[128]; /* gen_ai.response.model */
    char deployment[128];     /* switchyard.deployment */
    char finish_reason[32];   /* gen_ai.response.finish_reasons[0] */
    char error_type[48];      /* error.type; "" when it succeeded */
    char route[64];           /* the SERVER span's path (redacted), else "" */
    int64_t input_tokens;     /* gen_ai.usage.input_tokens */
    int64_t output_tokens;    /* gen_ai.usage.output_tokens */
    int status;               /* http.response.status_code */
};

struct sy_otlp_stats {
    uint64_t queued;  /* spans accepted */
    uint64_t dropped; /* spans lost: queue full */
    uint64_t sent;    /* spans the collector took (2xx) */
    uint64_t failed;  /* spans in batches the collector refused or that
                         could not be delivered */
};

struct sy_tracing_conf;
struct sy_otlp; /* opaque; one per process */

void sy_span_copy(char *dst, size_t cap, const char *src);
enum sy_err sy_otlp_encode(const struct sy_span *spans, size_t n,
                           const char *service_name, struct sy_buf *out);

struct sy_otlp *sy_otlp_start(const struct sy_tracing_conf *t);
void sy_otlp_submit(struct sy_otlp *o, const struct sy_span *s);
void sy_otlp_get_stats(struct sy_otlp *o, struct sy_otlp_stats *out);
void sy_otlp_stop(struct sy_otlp *o, uint32_t flush_ms);

#endif
