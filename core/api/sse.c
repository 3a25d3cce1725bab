/*
 * sse.c - provider event streams, the core's side: split a text/event-
 * stream body into events whatever the read boundaries (a line or an
 * event is held until complete, each bounded by SY_SSE_MAX_EVENT), and
 * the one loop that feeds a call's stream to its adapter event by event
 * (the adapter's stream_event slot translates; it never sees bytes).
 * No I/O: core/io/upstream.c delivers the bytes, the pipeline calls
 * sy_sse_stream_feed with them.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "sse.h"
#include "base/buf.h"

#include <string.h>

struct sy_sse {
    struct sy_buf line;  /* owned: a line split across reads */
    struct sy_buf data;  /* owned: data lines of the current event */
    struct sy_buf relay; /* owned: an event rebuilt for a native relay */
    char event[64];      /* "event:" field of the current event */
    bool has_data;
    bool done; /* the adapter ended the stream (SY_CHUNK_DONE) */
};

static void
sse_free(void *p)
{
    struct sy_sse *s = p;
    sy_buf_free(&s->line);
    sy_buf_free(&s->data);
    sy_buf_free(&s->relay);
}

/* A new splitter in arena 'a'; its buffers are freed by a cleanup on
 * 'a', so it lives as long as the arena's current request. */
struct sy_sse *
sy_sse_new(struct sy_arena *a)
{
    struct sy_sse *s = sy_arena_zalloc(a, sizeof(*s));
    sy_buf_init(&s->line, SY_SSE_MAX_EVENT);
    sy_buf_init(&s->data, SY_SSE_MAX_EVENT);
    sy_buf_init(&s->relay, 2 * SY_SSE_MAX_EVENT + 128);
    sy_arena_on_cleanup(a, sse_free, s);
    return s;
}

static enum sy_err
dispatch(struct sy_sse *s, sy_sse_event_fn fn, void *ud)
{
    enum sy_err e = SY_OK;
    if (s->has_data) {
        struct sy_sse_event ev = { s->event, sy_buf_cstr(&s->data),
                                   s->data.len };
        e = fn(ud, &ev);
    }
    sy_buf_clear(&s->data);
    s->event[0] = '\0';
    s->has_data = false;
    return e;
}

/* One complete line, without its terminator. */
static enum sy_err
sse_line(struct sy_sse *s, const char *p, size_t n, sy_sse_event_fn fn,
         void *ud)
{
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (n == 0)
        return dispatch(s, fn, ud);
    if (p[0] == ':')
        return SY_OK; /* comment: keep-alive */
    const char *colon = memchr(p, ':', n);
    size_t flen = colon ? (size_t)(colon - p) : n;
    const char *v = colon ? colon + 1 : p + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen > 0 && *v == ' ') {
        v++;
        vlen--;
    }
    if (flen == 4 && memcmp(p, "data", 4) == 0) {
        if (s->has_data && sy_buf_append(&s->data, "\n", 1) != SY_OK)
            return SY_EUP_PROTO;
        if (sy_buf_append(&s->data, v, vlen) != SY_OK)
            return SY_EUP_PROTO;
        s->has_data = true;
    } else if (flen == 5 && memcmp(p, "event", 5) == 0) {
        size_t cp = SY_MIN(vlen, sizeof(s->event) - 1);
        memcpy(s->event, v, cp);
        s->event[cp] = '\0';
    }
    return SY_OK;
}

/* Feed any piece of an SSE body; 'fn' is called for each complete event.
 * A line or an event's data longer than SY_SSE_MAX_EVENT is a protocol
 * error (SY_EUP_PROTO). */
enum sy_err
sy_sse_feed(struct sy_sse *s, const char *p, size_t n, sy_sse_event_fn fn,
            void *ud)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        if (nl == NULL) {
            if (sy_buf_append(&s->line, p, n) != SY_OK)
                return SY_EUP_PROTO;
            return SY_OK;
        }
        size_t len = (size_t)(nl - p);
        enum sy_err e;
        if (s->line.len > 0) {
            if (sy_buf_append(&s->line, p, len) != SY_OK)
                return SY_EUP_PROTO;
            e = sse_line(s, s->line.data, s->line.len, fn, ud);
            sy_buf_clear(&s->line);
        } else {
            e = sse_line(s, p, len, fn, ud);
        }
        if (e != SY_OK)
            return e;
        p += len + 1;
        n -= len + 1;
    }
    return SY_OK;
}

/* End of body: a last event without its blank line is still delivered
 * (providers differ on the final newline). */
enum sy_err
sy_sse_finish(struct sy_sse *s, sy_sse_event_fn fn, void *ud)
{
    enum sy_err e = SY_OK;
    if (s->line.len > 0) {
        e = sse_line(s, s->line.data, s->line.len, fn, ud);
        sy_buf_clear(&s->line);
    }
    if (e == SY_OK)
        e = dispatch(s, fn, ud);
    return e;
}

/* ------------------------------------------------------------------ */
/* The stream-feed loop                                                */

/* What the splitter's callback needs to reach the adapter. */
struct feed {
    const struct sy_adapter *ad;
    struct sy_adapter_call *call;
    sy_emit_fn emit;
    void *ud;
    struct sy_failure *f;
};

/* The event as the provider sent it (its name and data lines; comments
 * and ids are not kept), for a caller that speaks the provider's format.
 * An "error" event is not relayed: the adapter turns it into a failure,
 * and the caller gets the gateway's own error event (or a failover). */
static enum sy_err
relay_event(struct feed *fd, const struct sy_sse_event *ev)
{
    if (strcmp(ev->name, "error") == 0 || strchr(ev->name, '\r') != NULL)
        return SY_OK;
    struct sy_buf *b = &fd->call->sse->relay;
    sy_buf_clear(b);
    if (ev->name[0] != '\0')
        sy_buf_printf(b, "event: %s\n", ev->name);
    /* One "data:" line per line of the data; a CR (which the splitter
     * leaves inside a line, and a client would read as a line end)
     * starts a new one too, so the caller parses the same event. */
    const char *p = ev->data, *end = ev->data + ev->len;
    sy_buf_puts(b, "data: ");
    for (const char *q = p; q < end; q++) {
        if (*q != '\n' && *q != '\r')
            continue;
        sy_buf_append(b, p, (size_t)(q - p));
        sy_buf_puts(b, "\ndata: ");
        if (*q == '\r' && q + 1 < end && q[1] == '\n')
            q++;
        p = q + 1;
    }
    sy_buf_append(b, p, (size_t)(end - p));
    sy_buf_puts(b, "\n\n");
    if (sy_buf_failed(b))
        return SY_EUP_PROTO;
    struct sy_chunk c = { .kind = SY_CHUNK_NATIVE,
                          .data = b->data,
                          .len = b->len };
    return fd->emit(fd->ud, &c);
}

/* The adapter's chunks on their way to the pipeline: its end of the
 * stream (SY_CHUNK_DONE) is noted, for feed_event. */
static enum sy_err
feed_emit(void *ud, const struct sy_chunk *ch)
{
    struct feed *fd = ud;
    if (ch->kind == SY_CHUNK_DONE)
        fd->call->sse->done = true;
    return fd->emit(fd->ud, ch);
}

/* The adapter judges each event first: only one it took (in order,
 * well formed) that came before the end of the stream it saw
 * (Anthropic's message_stop, OpenAI's [DONE], ...) reaches a caller
 * that speaks its format. What follows that end, the adapters ignore,
 * and it is not relayed either. */
static enum sy_err
feed_event(void *ud, const struct sy_sse_event *ev)
{
    struct feed *fd = ud;
    bool ended = fd->call->sse->done;
    enum sy_err e = fd->ad->stream_event(fd->call, ev, feed_emit, fd, fd->f);
    if (e == SY_OK && fd->call->relay_native && !ended)
        e = relay_event(fd, ev);
    return e;
}

/* Feed 'len' bytes of the 2xx stream of 'call' (any split) to adapter
 * 'ad': each complete event goes to ad->stream_event, which emits
 * canonical chunks through 'emit'. 'len' == 0 means the upstream closed
 * the stream: a last event without its blank line is delivered, then
 * stream_event is called with no event so the adapter can end the stream
 * or fail it. The splitter state lives in call->sse (allocated from
 * call->arena on first use; the core sets it NULL for each attempt).
 * A failure is returned and explained in 'f'. */
enum sy_err
sy_sse_stream_feed(const struct sy_adapter *ad, struct sy_adapter_call *call,
                   const char *p, size_t len, sy_emit_fn emit, void *ud,
                   struct sy_failure *f)
{
    if (call->sse == NULL)
        call->sse = sy_sse_new(call->arena);
    struct feed fd = { ad, call, emit, ud, f };
    enum sy_err e = len == 0 ? sy_sse_finish(call->sse, feed_event, &fd)
                             : sy_sse_feed(call->sse, p, len, feed_event, &fd);
    if (e != SY_OK && f->err == SY_OK) {
        f->err = e;
        f->message = "the provider's stream is malformed (event too large)";
    }
    if (e == SY_OK && len == 0)
        e = ad->stream_event(call, NULL, emit, ud, f);
    if (f->err != SY_OK)
        sy_failure_redact(f, call); /* an error event may quote the key */
    return e;
}
