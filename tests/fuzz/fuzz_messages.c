/*
 * fuzz_messages.c - libFuzzer target for the Anthropic Messages surface
 * (adapters/anthropic_surface*.c). The input is a caller's Messages
 * body, optionally followed by a NUL byte and canonical output: the
 * body goes through the surface's parse (depth 64, as the default
 * config) and, when it is taken, every adapter's build_request on the
 * translated request; the canonical part (the whole input when there is
 * no NUL) goes through reply as a raw chat.completion and, split at
 * line breaks, through stream_chunk and stream_end, then stream_error
 * and error_body. Checks beyond the sanitizers: refusals are terminated
 * and name a path that starts their message; a reply is a JSON object;
 * the stream is whole "event: NAME" / "data: JSON" events whose type is
 * NAME, and nothing follows message_stop.
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
    fprintf(stderr, "fuzz_messages: %s: %.300s\n", why, text ? text : "");
    abort();
}

/* Every event of 'b': "event: NAME\ndata: JSON\n\n" with the data's
 * type equal to NAME, and none after message_stop or error. */
static void
check_events(const struct sy_buf *b)
{
    char *s = fz_cstr((const uint8_t *)b->data, b->len);
    char *p = s;
    bool stopped = false;
    while (*p != '\0') {
        if (stopped)
            die("an event after message_stop or error", p);
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
        stopped =
            strcmp(name, "message_stop") == 0 || strcmp(name, "error") == 0;
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
    if (err->param != NULL &&
        strncmp(err->message, err->param, strlen(err->param)) != 0 &&
        strncmp(err->message, "body", 4) != 0)
        die("a refusal that does not start with its path", err->message);
}

/* The canonical side: reply, then the stream, then the errors. */
static void
out_side(const struct sy_chat_req *req, const char *text, size_t n,
         struct sy_arena *a)
{
    const struct sy_surface *s = &sy_surface_messages;
    struct sy_buf out;
    sy_buf_init(&out, 64u << 20);
    struct sy_chat_resp resp = { .raw = text, .raw_len = n };
    resp.usage = (struct sy_usage){ .present = n % 2 == 1,
                                    .prompt_tokens = (int64_t)n,
                                    .completion_tokens = 7,
                                    .cached_tokens = (int64_t)(n / 3),
                                    .cache_write_tokens = (int64_t)(n / 2) };
    if (s->reply(req, &resp, a, &out) == SY_OK) {
        struct json_object *o = sy_adapter_json_parse(out.data, out.len);
        if (!sy_adapter_is(o, json_type_object))
            die("a reply that is not a JSON object", out.data);
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
    check_events(&out);
    sy_buf_clear(&out);
    s->stream_error(st, 500 + (int)(n % 40), text, "server_error", NULL, &out);
    check_events(&out);
    sy_buf_clear(&out);
    s->error_body(&out, 400 + (int)(n % 140), text, NULL, NULL, NULL);
    struct json_object *o = sy_adapter_json_parse(out.data, out.len);
    if (!sy_adapter_is(o, json_type_object))
        die("an error body that is not a JSON object", out.data);
    json_object_put(o);
    sy_buf_free(&out);
}

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
    struct sy_req r = { .arena = &a,
                        .body = body,
                        .body_len = blen,
                        .anthropic_version = "2023-06-01" };
    struct sy_chat_req req;
    struct sy_chat_error perr;
    memset(&perr, 0, sizeof(perr));
    enum sy_err e = sy_surface_messages.parse(&r, 64, &a, &req, &perr);
    if (e != SY_OK) {
        check_refusal(&perr);
        memset(&req, 0, sizeof(req));
        req.model = "m";
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
