/*
 * test_sse_framing.c - a hostile provider stream cannot break the SSE
 * framing the caller sees (issue 10, item 7): a one-shot HTTP server on
 * 127.0.0.1 plays an OpenAI-compatible provider whose events span
 * several "data:" lines and hold raw CRs (one of them followed by text
 * that looks like an injected event); sy_pipeline_handle serves a
 * streaming request from it into a buffer, and every line of the reply
 * body must be a "data: " line of one JSON document (or [DONE]), an SSE
 * comment, or the blank line ending an event.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "config/config.h"
#include "base/log.h"
#include "serve/pipeline.h"
#include "api/req.h"
#include "api/sink.h"
#include "io/upstream.h"
#include "io/worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#define HEAD                                              \
    "\"id\":\"c1\",\"object\":\"chat.completion.chunk\"," \
    "\"created\":1,\"model\":\"m\""

/* The provider's reply body: an event over three data lines, CRs
 * escaped inside a string (decoded, they must not come out raw) and raw
 * between tokens, CRLF line ends. A raw CR inside a string is not JSON:
 * that event is a broken reply (golden case openai/0031). */
static const char hostile[] =
    "data: {" HEAD ",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
    "\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    "data: {" HEAD ",\n"
    "data: \"choices\":[{\"index\":0,\n"
    "data: \"delta\":{\"content\":\"one\"},\"finish_reason\":null}]}\n\n"
    "data: {" HEAD ",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
    "\"two\\r\\rdata: {\\\"injected\\\":true}\\r\"},\"finish_reason\":null}]}"
    "\n\n"
    "data: {" HEAD ",\r\"choices\":\r[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"stop\"}]}\r\n\r\n"
    "data: {" HEAD ",\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
    "\"completion_tokens\":2,\"total_tokens\":5}}\n\n"
    "data: [DONE]\n\n";

static int listen_fd = -1;
static int port;

/* Answer one HTTP request on 'listen_fd' with the hostile stream. */
static void *
serve_one(void *arg)
{
    (void)arg;
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char buf[16384];
    size_t got = 0;
    char *end = NULL;
    while (got < sizeof(buf) - 1 && end == NULL) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    /* The request body (Content-Length bytes) is read, then ignored. */
    const char *cl = strcasestr(buf, "content-length:");
    size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
    size_t have = end ? got - (size_t)(end + 4 - buf) : 0;
    while (end != NULL && have < want) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      sizeof(hostile) - 1);
    if (write(fd, head, (size_t)hn) < 0 ||
        write(fd, hostile, sizeof(hostile) - 1) < 0)
        perror("mock write");
    close(fd);
    return NULL;
}

static struct sy_buf out;

static enum sy_err
cap_write(void *io, const char *p, size_t n)
{
    (void)io;
    return sy_buf_append(&out, p, n) == SY_OK ? SY_OK : SY_EGONE;
}

static enum sy_err
cap_flush(void *io)
{
    (void)io;
    return SY_OK;
}

static const struct sy_sink_ops cap_ops = { cap_write, cap_flush };

static struct sy_config *
load_config(void)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"providers\":{\"p\":{\"type\":\"openai\",\"base_url\":"
             "\"http://127.0.0.1:%d/v1\",\"auth\":\"none\"}},"
             "\"deployments\":{\"d\":{\"provider\":\"p\",\"model\":\"m\","
             "\"timeouts\":{\"connect_ms\":2000,\"first_byte_ms\":5000,"
             "\"idle_ms\":5000,\"total_ms\":5000}}},"
             "\"groups\":{\"g\":{\"deployments\":[\"d\"]}}}",
             port);
    struct sy_buf errs;
    sy_buf_init(&errs, 1u << 16);
    struct sy_config *c = NULL;
    if (sy_config_load_string(text, strlen(text), "t", &c, &errs) != SY_OK)
        fail_msg("config refused:\n%s", sy_buf_cstr(&errs));
    sy_buf_free(&errs);
    return c;
}

/* Check that 'body' is well-formed SSE of JSON chunks; returns the
 * concatenated delta contents (arena). */
static const char *
check_sse(const char *body, struct sy_arena *a, unsigned *events)
{
    if (strchr(body, '\r') != NULL)
        fail_msg("a raw CR in the stream the caller gets:\n%s", body);
    struct sy_buf text;
    sy_buf_init(&text, 1u << 16);
    *events = 0;
    const char *p = body;
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (eol == NULL)
            fail_msg("the stream does not end with a line break:\n%s", p);
        size_t n = (size_t)(eol - p);
        if (n == 0 || p[0] == ':') {
            p = eol + 1;
            continue;
        }
        if (strncmp(p, "data: ", 6) != 0)
            fail_msg("a line that is not an SSE field: '%.*s'", (int)n, p);
        /* One chunk per line: each data line must be a whole document
         * (the gateway never splits one). */
        const char *d = p + 6;
        size_t dn = n - 6;
        (*events)++;
        if (dn == 6 && memcmp(d, "[DONE]", 6) == 0) {
            p = eol + 1;
            continue;
        }
        char *one = sy_arena_strndup(a, d, dn);
        struct json_object *o = json_tokener_parse(one);
        if (o == NULL)
            fail_msg("a data line is not one JSON document: '%s'", one);
        struct json_object *ch, *c0, *delta, *content;
        if (json_object_object_get_ex(o, "choices", &ch) &&
            json_object_array_length(ch) > 0 &&
            (c0 = json_object_array_get_idx(ch, 0)) != NULL &&
            json_object_object_get_ex(c0, "delta", &delta) &&
            json_object_object_get_ex(delta, "content", &content))
            sy_buf_puts(&text, json_object_get_string(content));
        json_object_put(o);
        p = eol + 1;
    }
    const char *s = sy_arena_strdup(a, sy_buf_cstr(&text));
    sy_buf_free(&text);
    return s;
}

static void
test_hostile_stream(void **state)
{
    (void)state;
    sy_log_set_level(SY_LOG_ERROR);
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(listen_fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t sl = sizeof(sa);
    assert_int_equal(getsockname(listen_fd, (struct sockaddr *)&sa, &sl), 0);
    port = ntohs(sa.sin_port);
    assert_int_equal(listen(listen_fd, 4), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve_one, NULL), 0);

    assert_int_equal(sy_upstream_global_init(), SY_OK);
    struct sy_config *cfg = load_config();
    static atomic_bool draining;
    struct sy_worker w;
    sy_worker_init(&w, cfg, 1, &draining);
    sy_buf_init(&out, 1u << 20);
    struct sy_req r;
    memset(&r, 0, sizeof(r));
    r.arena = &w.arena;
    r.method = "POST";
    r.path = "/v1/chat/completions";
    r.content_type = "application/json";
    r.body = "{\"model\":\"g\",\"stream\":true,\"messages\":[{\"role\":"
             "\"user\",\"content\":\"hi\"}]}";
    r.body_len = strlen(r.body);
    struct sy_sink sink;
    memset(&sink, 0, sizeof(sink));
    sink.ops = &cap_ops;
    sy_pipeline_handle(&w, &r, &sink);
    pthread_join(th, NULL);
    close(listen_fd);

    const char *all = sy_buf_cstr(&out);
    const char *sep = strstr(all, "\r\n\r\n");
    if (sep == NULL || strncmp(all, "Status: 200", 11) != 0)
        fail_msg("not a 200 stream:\n%s", all);
    unsigned events;
    const char *text = check_sse(sep + 4, &w.arena, &events);
    assert_string_equal(text, "onetwo\r\rdata: {\"injected\":true}\r");
    assert_int_equal(events, 5); /* 4 chunks (usage not asked) + DONE */
    sy_buf_free(&out);
    sy_worker_cleanup(&w);
    sy_config_free(cfg);
    sy_upstream_global_cleanup();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
