/*
 * fuzz_adapter.c - libFuzzer target for what a provider sends back, as
 * each adapter reads it: parse_response + classify on a whole body, or
 * a stream cut at fuzzer-chosen points, fed through the core's SSE loop
 * (sy_sse_stream_feed) to the adapter's stream_event slot.
 *
 * Input layout (tests/fuzz/seeds.sh writes seeds in it):
 *   byte 0   adapter: index into fz_types (openai family, anthropic,
 *            gemini), modulo their count
 *   byte 1   low 7 bits: which canonical request (fz_requests) the call
 *            was built for; bit 7: stream mode
 *   response mode: byte 2 picks the error status given to classify, the
 *            rest is the body
 *   stream mode: byte 2 = number of cuts (modulo 16), then one big-endian
 *            16-bit offset per cut, the rest is the stream
 * Beyond the sanitizers: every emitted chunk is a JSON object, the stream
 * ends at most once, a parsed response serialises, and nothing quotes the
 * API key. The chunks and the response also go through the gateway's
 * contract gathering and checks, as the pipeline does.
 * SPDX-License-Identifier: MIT
 */
#include "fuzz.h"

static struct fz_env envs[FZ_NTYPES];

static const int statuses[] = { 400, 401, 403, 404, 408, 409, 413, 422,
                                429, 500, 502, 503, 504, 529, 200, 302 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < FZ_NTYPES; i++)
        fz_env_init(&envs[i], fz_types[i]);
    return 0;
}

struct sink {
    struct sy_stream_answer answer;
    unsigned dones;
    unsigned chunks;
};

static enum sy_err
on_chunk(void *ud, const struct sy_chunk *c)
{
    struct sink *s = ud;
    if (s->dones > 0)
        abort(); /* nothing after the end of the stream */
    if (c->kind == SY_CHUNK_DONE) {
        s->dones++;
        return SY_OK;
    }
    s->chunks++;
    struct json_object *o = sy_adapter_json_parse(c->data, c->len);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        fprintf(stderr,
                "fuzz: an emitted chunk is not a JSON object: "
                "%.*s\n",
                (int)SY_MIN(c->len, 400u), c->data);
        abort();
    }
    json_object_put(o);
    if (fz_leaks_key(c->data, c->len))
        abort();
    sy_chat_chunk_gather(c->data, c->len, &s->answer);
    return SY_OK;
}

static void
run_stream(struct fz_env *e, struct sy_adapter_call *call, struct fz_in *in)
{
    size_t cuts[16];
    size_t ncuts = fz_byte(in) % 16;
    for (size_t i = 0; i < ncuts; i++)
        cuts[i] = fz_u16(in);
    const char *p = (const char *)in->p;
    size_t n = in->n, at = 0;
    struct sink s;
    memset(&s, 0, sizeof(s));
    sy_stream_answer_init(&s.answer);
    struct sy_failure f;
    memset(&f, 0, sizeof(f));
    enum sy_err r = SY_OK;
    for (size_t i = 0; i <= ncuts && r == SY_OK; i++) {
        size_t end = i < ncuts ? SY_MIN(cuts[i], n) : n;
        if (end <= at)
            continue; /* an empty piece would mean "closed" */
        r = sy_sse_stream_feed(e->ad, call, p + at, end - at, on_chunk, &s, &f);
        at = end;
    }
    if (r == SY_OK)
        r = sy_sse_stream_feed(e->ad, call, p + n, 0, on_chunk, &s, &f);
    if (r != SY_OK)
        fz_check_failure(&f);
    else {
        char err[256];
        bool fenced = false;
        sy_chat_stream_contract(call->req, &s.answer, 64, call->arena, err,
                                sizeof(err), &fenced);
    }
    sy_stream_answer_free(&s.answer);
}

static void
run_response(struct fz_env *e, struct sy_adapter_call *call, struct fz_in *in)
{
    int status = statuses[fz_byte(in) % SY_ARRAY_LEN(statuses)];
    const char *body = (const char *)in->p;
    struct sy_chat_resp resp;
    memset(&resp, 0, sizeof(resp));
    struct sy_failure f;
    memset(&f, 0, sizeof(f));
    enum sy_err r = e->ad->parse_response(call, body, in->n, &resp, &f);
    if (r != SY_OK) {
        fz_check_failure(&f);
    } else {
        struct sy_buf out;
        sy_buf_init(&out, 64u << 20);
        if (sy_chat_resp_write(&resp, &out) != SY_OK)
            abort();
        sy_buf_free(&out);
        char err[256];
        sy_chat_resp_contract(call->req, &resp, 64, call->arena, err,
                              sizeof(err));
    }
    /* The same bytes as an error body, in a fresh call. */
    struct sy_adapter_call c2;
    struct sy_failure f2;
    fz_call_init(e, 0, &c2, call->arena, &f2);
    e->ad->classify(&c2, status, body, in->n, &f2);
    if (f2.message == NULL)
        abort(); /* classify always explains */
    fz_check_failure(&f2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(data, size);
    struct fz_in in = { data, size };
    struct fz_env *e = &envs[fz_byte(&in) % FZ_NTYPES];
    unsigned mode = fz_byte(&in);
    struct sy_arena a;
    sy_arena_init(&a, 8192);
    struct sy_adapter_call call;
    struct sy_failure fail;
    fz_call_init(e, (mode & 0x7f) % FZ_NREQUESTS, &call, &a, &fail);
    if (fz_build(e, &call) == SY_OK) {
        if (mode & 0x80) {
            if (e->ad->stream_event != NULL)
                run_stream(e, &call, &in);
        } else {
            run_response(e, &call, &in);
        }
    }
    sy_arena_cleanup(&a);
    return 0;
}
