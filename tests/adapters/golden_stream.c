/*
 * golden_stream.c - the golden checks of streaming replies: the body is
 * fed through the core's SSE loop (sy_sse_stream_feed) whole, then split
 * in two at every byte, then byte by byte; every run must emit the same
 * chunks and end the same way, and the chunks must keep the rules the
 * pipeline relies on (one-line JSON, usage_only exactly on the
 * "choices": [] chunks, opening only on chunks with nothing of the
 * answer, nothing after done).
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "golden.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one run emitted. */
struct capture {
    struct sy_buf log;           /* everything, for run-to-run equality */
    struct json_object *chunks;  /* parsed data chunks */
    struct json_object *opening; /* the indexes of those flagged opening */
    bool done;
    bool after_done; /* something came after DONE */
    struct sy_usage usage;
    const char *bad; /* a rule the emitted chunks broke */
};

/* Nothing of the answer in 'choices': no finish, and deltas of a role
 * and empty members only (what an opening chunk may hold). */
static bool
no_answer(struct json_object *choices)
{
    size_t n = sy_adapter_is(choices, json_type_array)
                   ? json_object_array_length(choices)
                   : 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(choices, i);
        if (sy_adapter_get_str(c, "finish_reason") != NULL)
            return false;
        struct json_object *d = sy_adapter_get(c, "delta");
        if (d == NULL)
            continue;
        if (!sy_adapter_is(d, json_type_object))
            return false;
        json_object_object_foreach(d, key, v)
        {
            if (strcmp(key, "role") == 0 || v == NULL)
                continue;
            if (json_object_is_type(v, json_type_string)
                    ? json_object_get_string_len(v) != 0
                    : !json_object_is_type(v, json_type_array) ||
                          json_object_array_length(v) != 0)
                return false;
        }
    }
    return true;
}

static enum sy_err
on_emit(void *ud, const struct sy_chunk *c)
{
    struct capture *cap = ud;
    if (cap->done)
        cap->after_done = true;
    if (c->kind == SY_CHUNK_DONE) {
        cap->done = true;
        sy_buf_puts(&cap->log, "DONE\n");
        return SY_OK;
    }
    sy_buf_printf(&cap->log, "DATA%s%s%s ", c->usage_only ? " usage_only" : "",
                  c->opening ? " opening" : "", c->usage ? " usage" : "");
    if (c->usage != NULL) {
        cap->usage = *c->usage;
        sy_buf_printf(&cap->log, "[%lld %lld %lld %lld %lld] ",
                      (long long)c->usage->prompt_tokens,
                      (long long)c->usage->completion_tokens,
                      (long long)c->usage->total_tokens,
                      (long long)c->usage->cached_tokens,
                      (long long)c->usage->reasoning_tokens);
    }
    /* the log compares runs: mask "created", which may tick between */
    const char *cr = memmem(c->data, c->len, "\"created\":", 10);
    size_t head = cr ? (size_t)(cr - c->data) + 10 : c->len;
    sy_buf_append(&cap->log, c->data, head);
    if (cr != NULL) {
        while (head < c->len && c->data[head] >= '0' && c->data[head] <= '9')
            head++;
        sy_buf_puts(&cap->log, "T");
        sy_buf_append(&cap->log, c->data + head, c->len - head);
    }
    sy_buf_puts(&cap->log, "\n");
    /* The pipeline writes each chunk as one "data: " line: a raw line
     * break inside would split the event for the caller's SSE parser. */
    if (memchr(c->data, '\n', c->len) != NULL ||
        memchr(c->data, '\r', c->len) != NULL)
        cap->bad = "a chunk holds a raw CR or LF (breaks SSE framing)";
    struct json_object *o = sy_adapter_json_parse(c->data, c->len);
    if (o == NULL) {
        cap->bad = "a chunk is not JSON";
        return SY_OK;
    }
    struct json_object *choices = sy_adapter_get(o, "choices");
    bool empty = sy_adapter_is(choices, json_type_array) &&
                 json_object_array_length(choices) == 0;
    if (empty != c->usage_only)
        cap->bad = "usage_only must flag exactly the choices:[] chunks";
    if (c->usage_only && c->usage == NULL)
        cap->bad = "a usage_only chunk must carry .usage";
    if (c->opening && !no_answer(choices))
        cap->bad = "an opening chunk must carry nothing of the answer";
    if (c->opening)
        json_object_array_add(
            cap->opening,
            json_object_new_int((int)json_object_array_length(cap->chunks)));
    const char *obj = sy_adapter_get_str(o, "object");
    if (obj == NULL || strcmp(obj, "chat.completion.chunk") != 0)
        cap->bad = "chunk.object must be chat.completion.chunk";
    json_object_array_add(cap->chunks, o);
    return SY_OK;
}

/* Feed 'body' in the pieces given by 'cuts' (ascending offsets; 0 and
 * 'len' implied), then the end; record everything in 'cap'. */
static void
stream_run(struct env *e, const char *body, size_t len, const size_t *cuts,
           size_t ncuts, bool bytewise, struct capture *cap)
{
    struct sy_arena a;
    sy_arena_init(&a, 8192);
    struct sy_failure f, bf;
    memset(&bf, 0, sizeof(bf));
    struct sy_adapter_call call;
    golden_call_init(e, &call, &a, &bf);
    struct sy_http_out out;
    struct sy_buf ub;
    enum sy_err be = golden_build(e, &call, &out, &ub);
    sy_buf_free(&ub);
    assert_int_equal(be, SY_OK);
    memset(&f, 0, sizeof(f));
    memset(cap, 0, sizeof(*cap));
    sy_buf_init(&cap->log, 64u << 20);
    cap->chunks = json_object_new_array();
    cap->opening = json_object_new_array();

    enum sy_err r = SY_OK;
    size_t at = 0;
    for (size_t i = 0; r == SY_OK && at < len; i++) {
        size_t end = bytewise ? at + 1 : i < ncuts ? cuts[i] : len;
        if (end <= at)
            continue;
        r = sy_sse_stream_feed(e->ad, &call, body + at, end - at, on_emit, cap,
                               &f);
        at = end;
    }
    if (r == SY_OK)
        r = sy_sse_stream_feed(e->ad, &call, NULL, 0, on_emit, cap, &f);
    sy_buf_printf(&cap->log, "END %s", sy_err_name(r));
    if (r != SY_OK) {
        sy_buf_printf(&cap->log, " failure=%s status=%d retry=%u msg=%s",
                      sy_err_name(f.err), f.status, f.retry_after_ms,
                      f.message ? f.message : "(none)");
        if (f.err != r)
            cap->bad = "the stream feed's result differs from failure.err";
    }
    sy_buf_puts(&cap->log, "\n");
    sy_arena_cleanup(&a);
    /* keep 'f' for the caller through the log only */
}

static void
capture_free(struct capture *cap)
{
    sy_buf_free(&cap->log);
    json_object_put(cap->chunks);
    json_object_put(cap->opening);
}

/* Check a 2xx streaming reply against expected.json (stream, done,
 * failure, usage), and that every split gives the same output. */
void
golden_check_stream(const struct tcase *tc, struct env *e,
                    struct json_object *exp, const char *body, size_t len)
{
    struct capture whole;
    stream_run(e, body, len, NULL, 0, false, &whole);
    if (whole.bad != NULL)
        fail_msg("%s: %s\n%s", tc->name, whole.bad, sy_buf_cstr(&whole.log));
    if (whole.after_done)
        fail_msg("%s: chunks after DONE", tc->name);
    struct json_object *ws = sy_adapter_get(exp, "stream");
    if (ws != NULL)
        golden_expect_json("stream chunks", ws, whole.chunks);
    /* "opening": the indexes of the chunks flagged opening, when given */
    struct json_object *wo = sy_adapter_get(exp, "opening");
    if (wo != NULL)
        golden_expect_json("opening chunks", wo, whole.opening);
    struct json_object *wd = sy_adapter_get(exp, "done");
    bool want_done = wd == NULL || json_object_get_boolean(wd);
    if (whole.done != want_done)
        fail_msg("%s: done=%d, expected %d\n%s", tc->name, whole.done,
                 want_done, sy_buf_cstr(&whole.log));
    struct json_object *wf = sy_adapter_get(exp, "failure");
    const char *end = strstr(sy_buf_cstr(&whole.log), "END ");
    if (wf != NULL) {
        const char *err = sy_adapter_get_str(wf, "err");
        const char *c = sy_adapter_get_str(wf, "contains");
        if (err != NULL && strstr(end, err) == NULL)
            fail_msg("%s: stream outcome '%s', expected %s", tc->name, end,
                     err);
        if (c != NULL && strstr(end, c) == NULL)
            fail_msg("%s: stream outcome '%s' lacks '%s'", tc->name, end, c);
        if (strstr(end, API_KEY) != NULL)
            fail_msg("%s: the failure quotes the API key", tc->name);
    } else if (strncmp(end, "END SY_OK", 9) != 0) {
        fail_msg("%s: the stream failed: %s", tc->name, end);
    }
    golden_check_usage(sy_adapter_get(exp, "usage"), &whole.usage);

    /* Same output for every split in two, and byte by byte. */
    for (size_t cut = 0; cut <= len; cut++) {
        struct capture c;
        stream_run(e, body, len, &cut, 1, false, &c);
        if (strcmp(sy_buf_cstr(&c.log), sy_buf_cstr(&whole.log)) != 0) {
            print_error("--- whole:\n%s--- split at %zu:\n%s",
                        sy_buf_cstr(&whole.log), cut, sy_buf_cstr(&c.log));
            capture_free(&c);
            fail_msg("%s: output differs when split at byte %zu", tc->name,
                     cut);
        }
        capture_free(&c);
    }
    struct capture bb;
    stream_run(e, body, len, NULL, 0, true, &bb);
    if (strcmp(sy_buf_cstr(&bb.log), sy_buf_cstr(&whole.log)) != 0) {
        print_error("--- whole:\n%s--- byte by byte:\n%s",
                    sy_buf_cstr(&whole.log), sy_buf_cstr(&bb.log));
        capture_free(&bb);
        fail_msg("%s: output differs when fed byte by byte", tc->name);
    }
    capture_free(&bb);
    if (getenv("SY_GOLDEN_PRINT") != NULL)
        print_message("%s", sy_buf_cstr(&whole.log));
    capture_free(&whole);
}
