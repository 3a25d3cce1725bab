/*
 * test_otlp.c - unit tests for core/io/otlp_json.c (a batch of spans as
 * an OTLP/HTTP JSON body: structure, GenAI attributes, absent values
 * left out, escaping) and core/io/otlp.c (a full queue drops and counts;
 * stopping with a collector that never answers is prompt).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "io/otlp.h"
#include "base/buf.h"
#include "base/clock.h"
#include "config/config.h"
#include "io/upstream.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

static void
client_span(struct sy_span *s)
{
    memset(s, 0, sizeof(*s));
    sy_span_copy(s->trace_id, sizeof(s->trace_id),
                 "4bf92f3577b34da6a3ce929d0e0e4736");
    sy_span_copy(s->span_id, sizeof(s->span_id), "00f067aa0ba902b7");
    sy_span_copy(s->parent_id, sizeof(s->parent_id), "1111111111111111");
    s->kind = SY_SPAN_CLIENT;
    s->start_ns = 1700000000000000000ull;
    s->end_ns = 1700000000250000000ull;
    sy_span_copy(s->operation, sizeof(s->operation), "chat");
    sy_span_copy(s->provider, sizeof(s->provider), "openai");
    sy_span_copy(s->request_model, sizeof(s->request_model), "gpt-4o");
    sy_span_copy(s->response_model, sizeof(s->response_model),
                 "gpt-4o-2024-08-06");
    sy_span_copy(s->deployment, sizeof(s->deployment), "east\"1");
    sy_span_copy(s->finish_reason, sizeof(s->finish_reason), "stop");
    s->input_tokens = 12;
    s->output_tokens = 34;
    s->status = 200;
}

/* The value object of attribute 'key' in span 'sp', or NULL. */
static struct json_object *
attr(struct json_object *sp, const char *key)
{
    struct json_object *attrs = json_object_object_get(sp, "attributes");
    for (size_t i = 0; i < json_object_array_length(attrs); i++) {
        struct json_object *a = json_object_array_get_idx(attrs, i);
        if (strcmp(json_object_get_string(json_object_object_get(a, "key")),
                   key) == 0)
            return json_object_object_get(a, "value");
    }
    return NULL;
}

static const char *
sval(struct json_object *sp, const char *key)
{
    struct json_object *v = attr(sp, key);
    return v ? json_object_get_string(json_object_object_get(v, "stringValue"))
             : NULL;
}

static void
test_encode(void **state)
{
    (void)state;
    struct sy_span s[2];
    client_span(&s[0]);
    memset(&s[1], 0, sizeof(s[1]));
    sy_span_copy(s[1].trace_id, 33, s[0].trace_id);
    sy_span_copy(s[1].span_id, 17, "2222222222222222");
    s[1].kind = SY_SPAN_SERVER;
    sy_span_copy(s[1].route, sizeof(s[1].route), "/v1/nope");
    sy_span_copy(s[1].error_type, sizeof(s[1].error_type), "not_found");
    s[1].input_tokens = -1;
    s[1].output_tokens = -1;
    s[1].status = 404;
    struct sy_buf b;
    sy_buf_init(&b, 1 << 20);
    assert_int_equal(sy_otlp_encode(s, 2, "gw \"x\"", &b), SY_OK);
    struct json_object *root = json_tokener_parse(sy_buf_cstr(&b));
    assert_non_null(root);
    struct json_object *rs = json_object_array_get_idx(
        json_object_object_get(root, "resourceSpans"), 0);
    struct json_object *res = json_object_object_get(rs, "resource");
    struct json_object *svc =
        json_object_array_get_idx(json_object_object_get(res, "attributes"), 0);
    assert_string_equal(
        json_object_get_string(json_object_object_get(
            json_object_object_get(svc, "value"), "stringValue")),
        "gw \"x\"");
    struct json_object *spans = json_object_object_get(
        json_object_array_get_idx(json_object_object_get(rs, "scopeSpans"), 0),
        "spans");
    assert_int_equal(json_object_array_length(spans), 2);
    struct json_object *c = json_object_array_get_idx(spans, 0);
    assert_string_equal(
        json_object_get_string(json_object_object_get(c, "traceId")),
        "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(
        json_object_get_string(json_object_object_get(c, "parentSpanId")),
        "1111111111111111");
    assert_string_equal(
        json_object_get_string(json_object_object_get(c, "name")),
        "chat gpt-4o");
    assert_int_equal(json_object_get_int(json_object_object_get(c, "kind")), 3);
    assert_string_equal(
        json_object_get_string(json_object_object_get(c, "startTimeUnixNano")),
        "1700000000000000000");
    assert_string_equal(sval(c, "gen_ai.provider.name"), "openai");
    assert_string_equal(sval(c, "gen_ai.operation.name"), "chat");
    assert_string_equal(sval(c, "gen_ai.request.model"), "gpt-4o");
    assert_string_equal(sval(c, "gen_ai.response.model"), "gpt-4o-2024-08-06");
    assert_string_equal(sval(c, "switchyard.deployment"), "east\"1");
    assert_string_equal(json_object_get_string(json_object_object_get(
                            attr(c, "gen_ai.usage.input_tokens"), "intValue")),
                        "12");
    assert_string_equal(json_object_get_string(json_object_object_get(
                            attr(c, "gen_ai.usage.output_tokens"), "intValue")),
                        "34");
    struct json_object *fr = attr(c, "gen_ai.response.finish_reasons");
    assert_non_null(fr);
    assert_null(attr(c, "error.type"));
    assert_int_equal(json_object_get_int(json_object_object_get(
                         json_object_object_get(c, "status"), "code")),
                     0);
    struct json_object *srv = json_object_array_get_idx(spans, 1);
    assert_null(json_object_object_get(srv, "parentSpanId"));
    assert_int_equal(json_object_get_int(json_object_object_get(srv, "kind")),
                     2);
    assert_string_equal(
        json_object_get_string(json_object_object_get(srv, "name")),
        "/v1/nope");
    assert_string_equal(sval(srv, "error.type"), "not_found");
    assert_null(attr(srv, "gen_ai.usage.input_tokens"));
    assert_null(attr(srv, "gen_ai.provider.name"));
    assert_int_equal(json_object_get_int(json_object_object_get(
                         json_object_object_get(srv, "status"), "code")),
                     2);
    json_object_put(root);
    /* A buffer too small: the error, never a cut document sent. */
    struct sy_buf small;
    sy_buf_init(&small, 64);
    assert_int_not_equal(sy_otlp_encode(s, 2, "gw", &small), SY_OK);
    sy_buf_free(&small);
    sy_buf_free(&b);
}

static void
test_queue_drops_and_stops(void **state)
{
    (void)state;
    assert_int_equal(sy_upstream_global_init(), SY_OK);
    struct sy_tracing_conf t;
    memset(&t, 0, sizeof(t));
    /* A collector that takes the connection and never answers: the
     * exporter's first batch waits in its POST, so the ring fills
     * however the threads are scheduled (a refused connection let a
     * busy machine's exporter keep pace and drop less). */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(ls, 16), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/traces",
             (unsigned)ntohs(sa.sin_port));
    t.otlp_endpoint = url;
    t.service_name = "switchyard";
    t.batch_size = 4;
    t.interval_ms = 60000;
    t.queue_size = 8;
    t.timeout_ms = 30000;
    assert_null(sy_otlp_start(NULL));
    struct sy_otlp *o = sy_otlp_start(&t);
    assert_non_null(o);
    struct sy_span s;
    client_span(&s);
    for (int i = 0; i < 100; i++)
        sy_otlp_submit(o, &s);
    struct sy_otlp_stats st;
    sy_otlp_get_stats(o, &st);
    assert_int_equal(st.queued + st.dropped, 100);
    /* bounded: the ring, and the one batch in the hung POST */
    assert_true(st.dropped >= 100 - 8 - 4);
    uint64_t t0 = sy_now_ms();
    sy_otlp_stop(o, 300); /* the hung POST is abandoned */
    assert_true(sy_now_ms() - t0 < 5000);
    close(ls);
    sy_otlp_submit(NULL, &s); /* no exporter: nothing */
    sy_upstream_global_cleanup();
}

int
main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_queue_drops_and_stops),
    };
    return cmocka_run_group_tests_name("otlp", tests, NULL, NULL);
}
