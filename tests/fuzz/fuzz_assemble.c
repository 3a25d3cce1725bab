/*
 * fuzz_assemble.c - libFuzzer target for the stream assembler
 * (core/api/assemble.c): canonical chunks in any order and shape, or a
 * provider stream translated by an adapter first, gathered into the
 * chat.completion a non-streaming caller gets.
 *
 * Input layout:
 *   byte 0   bit 7 clear: chunk mode; the low 7 bits set the byte bound
 *            (0: 1 MiB, else that many times 64 bytes)
 *            bit 7 set: adapter mode; the low 7 bits pick the adapter
 *            (fz_types, modulo their count), the bound is 1 MiB
 *   byte 1   which canonical request (fz_requests) the contract check
 *            (and in adapter mode the adapter's call) uses
 *   chunk mode: the rest, one chunk a line: "D" is the end of the
 *            stream, "U <json>" a usage-only chunk with usage read
 *            ahead (as adapters pass it), anything else a data chunk;
 *            the end of the stream follows the last line
 *   adapter mode: the rest is the provider's stream body, fed whole
 * Beyond the sanitizers: a failure has a message; an assembled reply
 * stays within the bound, serialises to a strict-JSON object with at
 * least one choice, and goes through the output contract check as the
 * pipeline runs it.
 * SPDX-License-Identifier: MIT
 */
#include "fuzz.h"
#include "api/assemble.h"
#include "api/sse.h"
#include "base/json_strict.h"

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
feed_lines(struct sy_assemble *as, const char *p, size_t n)
{
    static const struct sy_usage usage = { .present = true,
                                           .prompt_tokens = 3,
                                           .completion_tokens = 4,
                                           .total_tokens = 7 };
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;
        struct sy_chunk ch = { .kind = SY_CHUNK_DATA, .data = p, .len = len };
        if (len == 1 && p[0] == 'D') {
            ch.kind = SY_CHUNK_DONE;
        } else if (len >= 2 && p[0] == 'U' && p[1] == ' ') {
            ch.data = p + 2;
            ch.len = len - 2;
            ch.usage_only = true;
            ch.usage = &usage;
        }
        sy_assemble_chunk(as, &ch);
        p += nl ? len + 1 : len;
        n -= nl ? len + 1 : len;
    }
    struct sy_chunk end = { .kind = SY_CHUNK_DONE };
    sy_assemble_chunk(as, &end);
}

static void
feed_adapter(struct fz_env *e, size_t ri, struct sy_arena *a,
             struct sy_assemble *as, const char *p, size_t n)
{
    struct sy_adapter_call call;
    struct sy_failure f;
    fz_call_init(e, ri, &call, a, &f);
    if (fz_build(e, &call) != SY_OK)
        return;
    enum sy_err r =
        sy_sse_stream_feed(e->ad, &call, p, n, sy_assemble_emit, as, &f);
    if (r == SY_OK)
        sy_sse_stream_feed(e->ad, &call, NULL, 0, sy_assemble_emit, as, &f);
    fz_check_failure(&f);
}

/* What an assembled reply must be, then the contract check on it. */
static void
check_reply(struct sy_assemble *as, size_t max, struct sy_chat_resp *resp,
            const struct sy_chat_req *req, struct sy_arena *a)
{
    if (resp->root == NULL || resp->raw != NULL ||
        sy_assemble_bytes(as) > max) {
        fprintf(stderr, "fuzz: a bad assembled reply\n");
        abort();
    }
    struct sy_buf b;
    sy_buf_init(&b, 64u << 20);
    struct json_object *o = NULL;
    struct sy_json_result res;
    struct json_object *choices = NULL;
    if (sy_chat_resp_write(resp, &b) != SY_OK ||
        sy_json_parse_strict(b.data, b.len, NULL, &o, &res) != SY_JSON_OK ||
        !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "choices", &choices) ||
        json_object_array_length(choices) == 0) {
        fprintf(stderr,
                "fuzz: the assembled reply does not serialise: %.400s\n",
                sy_buf_cstr(&b));
        abort();
    }
    json_object_put(o);
    sy_buf_free(&b);
    char why[300];
    sy_chat_resp_contract(req, resp, 64, a, why, sizeof(why));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(data, size);
    struct fz_in in = { data, size };
    unsigned mode = fz_byte(&in);
    size_t ri = fz_byte(&in) % FZ_NREQUESTS;
    bool adapter = (mode & 0x80) != 0;
    size_t max = adapter || (mode & 0x7f) == 0 ? (size_t)1 << 20
                                               : (size_t)(mode & 0x7f) * 64;
    struct fz_env *e = &envs[adapter ? (mode & 0x7f) % FZ_NTYPES : 0];
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    struct sy_assemble *as = sy_assemble_new(&a, max, 64);
    if (adapter)
        feed_adapter(e, ri, &a, as, (const char *)in.p, in.n);
    else
        feed_lines(as, (const char *)in.p, in.n);
    struct sy_chat_resp resp;
    if (sy_assemble_finish(as, &resp) == SY_OK) {
        check_reply(as, max, &resp, &e->req[ri], &a);
    } else {
        const char *m = sy_assemble_message(as);
        if (m == NULL || m[strcspn(m, "\n")] != '\0') {
            fprintf(stderr, "fuzz: a failure without a one-line message\n");
            abort();
        }
    }
    sy_arena_cleanup(&a);
    return 0;
}
