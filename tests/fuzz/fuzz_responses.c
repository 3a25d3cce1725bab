/*
 * fuzz_responses.c - libFuzzer target for the OpenAI Responses surface
 * (adapters/responses_surface*.c). The input is a caller's Responses
 * body, optionally followed by a NUL byte and canonical output: the body
 * goes through the surface's parse (depth 64, as the default config)
 * and, when it is taken, every adapter's build_request on the translated
 * request; the canonical part (the whole input when there is no NUL)
 * goes through reply as a raw chat.completion and, split at line
 * breaks, through stream_chunk and stream_end, stream_result, then
 * stream_error and error_body. A refused body leaves a fixed request
 * with function, custom and namespaced tools for the canonical part.
 * Checks beyond the sanitizers: refusals are terminated and name a
 * param; a reply is a Response object; the stream is whole "event:
 * NAME" / "data: JSON" events whose type is NAME, numbered one by one,
 * nothing after response.completed, response.incomplete or error; the
 * kept Response is the one response.completed carried.
 * SPDX-License-Identifier: MIT
 */
#include "fuzz.h"

#include "api/surface.h"

static struct fz_env envs[FZ_NTYPES];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < FZ_NTYPES; i++)
        fz_env_init(&envs[i], fz_types[i]);
    return 0;
}

static void
die(const char *why, const char *text)
{
    fprintf(stderr, "fuzz_responses: %s: %.300s\n", why, text ? text : "");
    abort();
}

/* Every event of 'b' (see the file comment). The data of the last
 * response.completed or response.incomplete event, if any, is copied to
 * 'last' (may be NULL). */
static void
check_events(const struct sy_buf *b, struct sy_buf *last)
{
    char *s = fz_cstr((const uint8_t *)b->data, b->len);
    char *p = s;
    bool stopped = false, errored = false;
    int64_t seq = -1;
    while (*p != '\0') {
        /* After an error only the failed response may follow (once). */
        if (stopped &&
            !(errored && strncmp(p, "event: response.failed\n", 23) == 0))
            die("an event after the end or an error", p);
        errored = false;
        char *nl = strchr(p, '\n');
        if (strncmp(p, "event: ", 7) != 0 || nl == NULL)
            die("not an event line", p);
        *nl = '\0';
        const char *name = p + 7;
        char *data = nl + 1;
        char *end = strstr(data, "\n\n");
        if (strncmp(data, "data: ", 6) != 0 || end == NULL)
            die("not a data line", data);
        *end = '\0';
        struct json_object *o =
            sy_adapter_json_parse(data + 6, strlen(data + 6));
        const char *type = sy_adapter_get_str(o, "type");
        if (type == NULL || strcmp(type, name) != 0)
            die("data of another type than the event", data);
        int64_t n;
        if (!sy_adapter_get_int(o, "sequence_number", &n) ||
            (seq >= 0 && n != seq + 1))
            die("an event out of sequence", data);
        seq = n;
        errored = strcmp(name, "error") == 0;
        stopped = strcmp(name, "response.completed") == 0 ||
                  strcmp(name, "response.incomplete") == 0 ||
                  strcmp(name, "response.failed") == 0 || errored;
        if (stopped && last != NULL && !errored &&
            strcmp(name, "response.failed") != 0) {
            sy_buf_clear(last);
            sy_adapter_json_write(last, sy_adapter_get(o, "response"));
        }
        json_object_put(o);
        p = end + 2;
    }
    free(s);
}

static void
check_refusal(const struct sy_chat_error *err)
{
    if (memchr(err->message, '\0', sizeof(err->message)) == NULL)
        die("an unterminated refusal", NULL);
    if (err->message[0] == '\0')
        die("a refusal without a message", NULL);
    if (err->param != NULL && err->param[0] == '\0')
        die("a refusal with an empty param", err->message);
}

/* The kept Response must be the one response.completed carried. */
static void
check_result(void *st, const struct sy_buf *completed)
{
    struct sy_buf kept;
    sy_buf_init(&kept, 64u << 20);
    if (sy_surface_responses.stream_result(st, &kept) == SY_OK) {
        struct json_object *a = sy_adapter_json_parse(kept.data, kept.len);
        struct json_object *b =
            sy_adapter_json_parse(completed->data, completed->len);
        if (!sy_adapter_is(a, json_type_object) || !json_object_equal(a, b))
            die("a kept Response unlike the completed one", kept.data);
        json_object_put(a);
        json_object_put(b);
    }
    sy_buf_free(&kept);
}

/* The canonical side: reply, then the stream, then the errors. */
static void
out_side(const struct sy_chat_req *req, const char *text, size_t n,
         struct sy_arena *a)
{
    const struct sy_surface *s = &sy_surface_responses;
    struct sy_buf out, last;
    sy_buf_init(&out, 64u << 20);
    sy_buf_init(&last, 64u << 20);
    struct sy_chat_resp resp = { .raw = text, .raw_len = n };
    resp.usage = (struct sy_usage){ .present = n % 2 == 1,
                                    .prompt_tokens = (int64_t)n,
                                    .completion_tokens = 7,
                                    .cached_tokens = (int64_t)(n / 3),
                                    .reasoning_tokens = (int64_t)(n / 2) };
    if (s->reply(req, &resp, a, &out) == SY_OK) {
        struct json_object *o = sy_adapter_json_parse(out.data, out.len);
        const char *obj = sy_adapter_get_str(o, "object");
        if (obj == NULL || strcmp(obj, "response") != 0)
            die("a reply that is not a Response", out.data);
        json_object_put(o);
    }
    sy_buf_clear(&out);
    void *st = sy_arena_zalloc(a, s->stream_state_size);
    for (const char *p = text; p < text + n;) {
        const char *nl = memchr(p, '\n', (size_t)(text + n - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(text + n - p);
        s->stream_chunk(st, req, p, len, &out);
        p += len + 1;
    }
    s->stream_end(st, req, &resp.usage, "0", &out);
    check_events(&out, &last);
    check_result(st, &last);
    sy_buf_clear(&out);
    s->stream_error(st, 500 + (int)(n % 40), text, "server_error", NULL, &out);
    check_events(&out, NULL);
    sy_buf_clear(&out);
    s->error_body(&out, 400 + (int)(n % 140), text, "invalid_request_error",
                  NULL, NULL);
    struct json_object *o = sy_adapter_json_parse(out.data, out.len);
    if (!sy_adapter_is(sy_adapter_get(o, "error"), json_type_object))
        die("an error body that is not an error object", out.data);
    json_object_put(o);
    sy_buf_free(&out);
    sy_buf_free(&last);
}

/* For a refused body: a request whose tools the canonical side can
 * call. */
static const char fallback[] =
    "{\"model\":\"m\",\"input\":\"x\",\"stream\":true,\"tools\":["
    "{\"type\":\"function\",\"name\":\"get\"},{\"type\":\"custom\","
    "\"name\":\"apply_patch\"},{\"type\":\"namespace\",\"name\":\"ns\","
    "\"tools\":[{\"type\":\"custom\",\"name\":\"exec\"},{\"type\":"
    "\"function\",\"name\":\"get\"}]}]}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(data, size);
    const uint8_t *nul = memchr(data, '\0', size);
    size_t blen = nul ? (size_t)(nul - data) : size;
    char *body = fz_cstr(data, blen);
    char *rest = nul ? fz_cstr(nul + 1, size - blen - 1) : fz_cstr(data, size);
    size_t rlen = nul ? size - blen - 1 : size;
    struct sy_arena a;
    sy_arena_init(&a, 8192);
    struct sy_req r = { .arena = &a, .body = body, .body_len = blen };
    struct sy_chat_req req;
    struct sy_chat_error perr;
    memset(&perr, 0, sizeof(perr));
    enum sy_err e = sy_surface_responses.parse(&r, 64, &a, &req, &perr);
    if (e != SY_OK) {
        check_refusal(&perr);
        r.body = fallback;
        r.body_len = sizeof(fallback) - 1;
        if (sy_surface_responses.parse(&r, 64, &a, &req, &perr) != SY_OK)
            die("the fallback request was refused", perr.message);
    } else {
        if (req.root == NULL || req.native.root == NULL)
            die("a parse without trees", body);
        for (size_t i = 0; i < FZ_NTYPES; i++) {
            struct sy_adapter_call call;
            struct sy_failure fail;
            fz_call_init(&envs[i], 0, &call, &a, &fail);
            call.req = &req;
            if (fz_build(&envs[i], &call) != SY_OK)
                fz_check_failure(&fail);
        }
    }
    out_side(&req, rest, rlen, &a);
    sy_arena_cleanup(&a);
    free(body);
    free(rest);
    return 0;
}
