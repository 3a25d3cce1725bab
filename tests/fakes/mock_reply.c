/*
 * mock_reply.c - the answer of the mock LLM provider to one chat request:
 * applies the effective fault spec (delay, reset, stall, error, body
 * size) and otherwise computes the reply (text or tool calls, token
 * counts, stream pieces), which the dialect renders into the response
 * plan. mock_app.c routes the request and merges the fault specs first.
 * SPDX-License-Identifier: MIT
 */
#include "mock_llm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#define REPLY_MAX_WORD_PIECES 16

/* Is "c" white space for word counting? */
static bool
reply_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Number of white-space separated words in "s". */
static long
reply_words(const char *s, size_t len)
{
    long n = 0;
    bool in_word = false;
    size_t i;

    for (i = 0; i < len; i++) {
        bool space = reply_is_space(s[i]);

        if (!space && !in_word) {
            n++;
        }
        in_word = !space;
    }
    return n;
}

/* Move "at" back to the start of a UTF-8 character. */
static size_t
reply_char_start(const char *s, size_t at)
{
    while (at > 0 && ((unsigned char)s[at] & 0xc0) == 0x80) {
        at--;
    }
    return at;
}

/*
 * Split "s" into pieces, writing their ends to "end" (room for
 * SY_MOCK_MAX_PIECES). "want" > 0: that many pieces of about equal size,
 * cut at character starts (fewer when "s" is short); else one piece per
 * word with its trailing white space, merged evenly into at most 16.
 */
static size_t
reply_pieces(const char *s, size_t len, long want, size_t *end)
{
    size_t words[SY_MOCK_MAX_PIECES];
    size_t n_words = 0;
    size_t n = 0;
    size_t i;
    bool seen_word = false;

    if (len == 0) {
        return 0;
    }
    if (want > 0) {
        for (i = 1; i <= (size_t)want; i++) {
            size_t at = i == (size_t)want
                            ? len
                            : reply_char_start(s, len * i / (size_t)want);

            if (at > (n ? end[n - 1] : 0)) {
                end[n++] = at;
            }
        }
        return n;
    }
    for (i = 0; i + 1 < len; i++) {
        if (!reply_is_space(s[i])) {
            seen_word = true;
        } else if (seen_word && !reply_is_space(s[i + 1]) &&
                   n_words < SY_MOCK_MAX_PIECES - 1) {
            words[n_words++] = i + 1;
        }
    }
    words[n_words++] = len;
    if (n_words <= REPLY_MAX_WORD_PIECES) {
        memcpy(end, words, n_words * sizeof(*end));
        return n_words;
    }
    for (i = 1; i <= REPLY_MAX_WORD_PIECES; i++) {
        end[n++] = words[n_words * i / REPLY_MAX_WORD_PIECES - 1];
    }
    return n;
}

/*
 * Fill "out" with tool call "k" (0 .. n_calls - 1) of "r": its id, its
 * arguments (the reply's content for call 0, {"i":k} for the others) and
 * where a stream splits them. "out" may borrow from "r".
 */
void
sy_mock_reply_call(const struct sy_mock_reply *r, long k,
                   struct sy_mock_call *out)
{
    snprintf(out->id, sizeof(out->id), "%s%llu", r->call_prefix,
             r->call_base + (unsigned long long)k);
    if (k == 0) {
        out->args = r->content;
        out->args_len = r->content_len;
    } else {
        int n =
            snprintf(out->args_buf, sizeof(out->args_buf), "{\"i\":%ld}", k);

        out->args = out->args_buf;
        out->args_len = n > 0 ? (size_t)n : 0;
    }
    out->half = reply_char_start(out->args, out->args_len / 2);
}

/* Note that "chat" declares the tool "name" (NULL is ignored); names
 * past SY_MOCK_MAX_TOOLS are not kept. */
void
sy_mock_chat_declare(struct sy_mock_chat *chat, const char *name)
{
    if (name != NULL && chat->n_tools < SY_MOCK_MAX_TOOLS) {
        chat->tools[chat->n_tools++] = name;
    }
}

/* Does "chat" declare the tool "name"? */
bool
sy_mock_chat_declares(const struct sy_mock_chat *chat, const char *name)
{
    size_t i;

    for (i = 0; i < chat->n_tools; i++) {
        if (strcmp(chat->tools[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* The prompt tokens the mock counts for "chat": characters / 4, at
 * least 1. */
long
sy_mock_chat_prompt_tokens(const struct sy_mock_chat *chat)
{
    return chat->prompt_chars / 4 > 0 ? chat->prompt_chars / 4 : 1;
}

/* The fault key "tool_name": call that tool instead of the first one
 * when the request declares it and its tool choice forces no other. */
void
sy_mock_chat_pick_tool(struct sy_mock_chat *chat, const struct sy_mock_fault *f)
{
    if ((f->has & SY_MOCK_F_TOOL_NAME) && !chat->tool_forced &&
        sy_mock_chat_declares(chat, f->tool_name)) {
        chat->tool_name = f->tool_name;
    }
}

/* Append "args" to "out" as compact JSON (on one line, safe inside an
 * SSE data line) when it is a JSON object, else "{}". */
static void
reply_args_object(const char *args, struct sy_mock_buf *out)
{
    struct json_object *obj = sy_mock_json_parse(args, strlen(args));

    if (json_object_is_type(obj, json_type_object)) {
        sy_mock_buf_puts(out, json_object_to_json_string_ext(
                                  obj, JSON_C_TO_STRING_PLAIN |
                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    } else {
        sy_mock_buf_puts(out, "{}");
    }
    json_object_put(obj);
}

/* Fill "p" with the body_bytes answer: a JSON string of exactly "n"
 * bytes ("xxx..." in quotes; a digit when n is 1). */
static void
reply_body_bytes(struct sy_mock_plan *p, long n)
{
    struct sy_mock_buf *b = &p->ev.buf;

    sy_mock_plan_content_type(p, "application/json");
    if (n == 1) {
        sy_mock_buf_append(b, "0", 1);
        return;
    }
    if (n < 2) {
        return;
    }
    sy_mock_buf_reserve(b, (size_t)n);
    b->data[b->len] = '"';
    memset(b->data + b->len + 1, 'x', (size_t)n - 2);
    b->data[b->len + (size_t)n - 1] = '"';
    b->len += (size_t)n;
    b->data[b->len] = '\0';
}

/*
 * Apply the parts of "f" that come before any reply: the delay, then a
 * reset, a stall, an error or a body of a given size. True when that
 * was the whole answer. Embeddings (mock_embed.c) share it.
 */
bool
sy_mock_reply_fault(const struct sy_mock_dialect *d, struct sy_mock_rng *rng,
                    const struct sy_mock_fault *f, struct sy_mock_plan *p)
{
    p->delay_ms = sy_mock_fault_delay_ms(f, rng);
    if (f->has & SY_MOCK_F_HEAD_STALL_MS) {
        p->head_stall_ms = f->head_stall_ms;
    }
    if ((f->has & SY_MOCK_F_RESET) && f->reset) {
        p->reset = true;
        return true;
    }
    if ((f->has & SY_MOCK_F_STALL) && f->stall) {
        p->stall = true;
        return true;
    }
    if (f->has & SY_MOCK_F_RETRY_AFTER) {
        p->retry_after = f->retry_after;
    }
    if (f->has & SY_MOCK_F_STATUS) {
        p->status = (int)f->status;
    }
    if ((f->has & SY_MOCK_F_ERROR_BODY) ||
        ((f->has & SY_MOCK_F_STATUS) && f->status >= 400)) {
        if (!(f->has & SY_MOCK_F_STATUS)) {
            p->status = 500;
        }
        sy_mock_plan_content_type(p, "application/json");
        if (f->has & SY_MOCK_F_ERROR_BODY) {
            sy_mock_buf_puts(&p->ev.buf, f->error_body);
        } else {
            char msg[64];

            snprintf(msg, sizeof(msg), "mock fault %d", p->status);
            d->render_error(p->status, p->retry_after, msg, &p->ev.buf);
        }
        return true;
    }
    if (f->has & SY_MOCK_F_BODY_BYTES) {
        reply_body_bytes(p, f->body_bytes);
        return true;
    }
    return false;
}

/*
 * Make "r" a call of the chat's tool (or "parallel_calls" calls), with
 * the arguments in "text" cut into "pieces". "call_id" (room for
 * "call_id_len" bytes) is the caller's storage for the first call's id.
 */
static void
reply_tool_call(struct sy_mock_server *srv, const struct sy_mock_dialect *d,
                const struct sy_mock_fault *f, struct sy_mock_reply *r,
                struct sy_mock_buf *text, size_t *pieces, char *call_id,
                size_t call_id_len)
{
    if (f->has & SY_MOCK_F_PARALLEL_CALLS) {
        r->n_calls = f->parallel_calls;
    }
    r->call_base = (unsigned long long)atomic_fetch_add(
        &srv->next_call_id, (unsigned long long)r->n_calls);
    snprintf(call_id, call_id_len, "%s%llu", d->call_prefix, r->call_base);
    r->call_id = call_id;
    r->call_prefix = d->call_prefix;
    r->is_tool_call = true;
    r->finish_reason = "tool_calls";
    if (f->has & SY_MOCK_F_PARALLEL_CALLS) {
        sy_mock_buf_puts(text, "{\"i\":0}");
    } else if (!(f->has & SY_MOCK_F_TOOL_ARGUMENTS)) {
        sy_mock_buf_puts(text, "{}");
    } else if (d->tool_args_object) {
        reply_args_object(f->tool_arguments, text);
    } else {
        sy_mock_buf_puts(text, f->tool_arguments);
    }
    r->n_pieces = reply_pieces(text->data, text->len, 2, pieces);
}

/* Make "r" a text reply of "dep" to "chat", the text in "text" cut into
 * "pieces". */
static void
reply_text(const struct sy_mock_dep *dep, const struct sy_mock_chat *chat,
           const struct sy_mock_fault *f, struct sy_mock_reply *r,
           struct sy_mock_buf *text, size_t *pieces)
{
    r->finish_reason = "stop";
    if (f->has & SY_MOCK_F_FENCED && f->fenced) {
        sy_mock_buf_puts(text, "```json\n");
    }
    if (f->has & SY_MOCK_F_CONTENT) {
        sy_mock_buf_puts(text, f->content);
    } else if (chat->last_is_tool) {
        sy_mock_buf_printf(text, "Tool result: %s", chat->tool_result);
    } else {
        sy_mock_buf_printf(text, "Hello from %s.", dep->name);
    }
    if (f->has & SY_MOCK_F_FENCED && f->fenced) {
        sy_mock_buf_puts(text, "\n```");
    }
    r->n_pieces =
        reply_pieces(text->data, text->len,
                     (f->has & SY_MOCK_F_CHUNKS) ? f->chunks : 0, pieces);
}

/* Render "r" into "p" with dialect "d": a body, or the events of a
 * stream cut short by the stream faults of "f". A body is paced like the
 * stream it could have been: "chunk_delay_ms" per content piece is
 * added to the delay before it, as a provider generates the whole
 * answer before a non-streamed reply starts. */
static void
reply_render(const struct sy_mock_dialect *d, const struct sy_mock_fault *f,
             const struct sy_mock_reply *r, struct sy_mock_plan *p)
{
    if (!r->chat->stream) {
        if (f->has & SY_MOCK_F_CHUNK_DELAY_MS) {
            long pieces = r->n_pieces > 0 ? (long)r->n_pieces : 1;

            p->delay_ms += pieces * f->chunk_delay_ms;
            if (p->delay_ms > SY_MOCK_MAX_DELAY_MS) {
                p->delay_ms = SY_MOCK_MAX_DELAY_MS;
            }
        }
        sy_mock_plan_content_type(p, "application/json");
        if (r->malformed) {
            d->render_malformed(r, &p->ev.buf);
        } else {
            d->render_reply(r, &p->ev.buf);
        }
        return;
    }
    p->is_stream = true;
    sy_mock_plan_content_type(p, d->stream_content_type);
    d->render_stream(r, &p->ev);
    p->ev_limit = p->ev.n;
    if (f->has & SY_MOCK_F_CHUNK_DELAY_MS) {
        p->chunk_delay_ms = f->chunk_delay_ms;
    }
    if ((f->has & SY_MOCK_F_STREAM_STALL_AFTER) &&
        (size_t)f->stream_stall_after <= p->ev_limit) {
        p->ev_limit = (size_t)f->stream_stall_after;
        p->end = SY_MOCK_END_STALL;
    }
    if ((f->has & SY_MOCK_F_STREAM_DROP_AFTER) &&
        (size_t)f->stream_drop_after <= p->ev_limit) {
        p->ev_limit = (size_t)f->stream_drop_after;
        p->end = SY_MOCK_END_DROP;
    }
}

/* Note in the tally record of "p" what reply "r" says about its usage;
 * whether the caller got it is known when the plan ends (mock_app.c). */
static void
reply_bill(const struct sy_mock_reply *r, struct sy_mock_plan *p)
{
    struct sy_mock_bill *b = &p->bill;

    b->reply = true;
    b->choices = r->choices;
    b->prompt_tokens = r->prompt_tokens;
    b->completion_tokens = r->completion_tokens;
    b->cached_tokens = r->cached_tokens;
    b->reasoning_tokens = r->reasoning_tokens;
    b->body_usage = !r->chat->stream && !r->malformed && !r->no_usage;
}

/* The reply to "chat" of "dep" under "f" (no fault decided the answer):
 * ids, content, token counts, rendered into "p". */
static void
reply_answer(struct sy_mock_server *srv, const struct sy_mock_dialect *d,
             const struct sy_mock_dep *dep, const struct sy_mock_chat *chat,
             const struct sy_mock_fault *f, struct sy_mock_plan *p)
{
    struct sy_mock_reply r;
    struct sy_mock_buf text = { 0 };
    size_t pieces[SY_MOCK_MAX_PIECES];
    char id[48];
    /* cppcheck-suppress variableScope ; r.call_id points here after the
     * branch that fills it, until the reply is rendered */
    char call_id[48];

    memset(&r, 0, sizeof(r));
    r.chat = chat;
    snprintf(id, sizeof(id), "%s%llu", d->id_prefix,
             (unsigned long long)atomic_fetch_add(&srv->next_id, 1));
    r.id = id;
    r.created = (long long)time(NULL);
    r.cached_tokens = f->cached_tokens;
    r.reasoning_tokens = f->reasoning_tokens;
    r.cache_creation_tokens = f->cache_creation_tokens;
    r.malformed = (f->has & SY_MOCK_F_MALFORMED) && f->malformed;
    r.stream_error = (f->has & SY_MOCK_F_STREAM_ERROR) && f->stream_error;
    r.no_usage = (f->has & SY_MOCK_F_NO_USAGE) && f->no_usage;
    r.n_calls = 1;
    r.choices = 1;
    if (chat->has_tools && !chat->tool_choice_none && !chat->last_is_tool &&
        chat->tool_name != NULL) {
        reply_tool_call(srv, d, f, &r, &text, pieces, call_id, sizeof(call_id));
    } else {
        reply_text(dep, chat, f, &r, &text, pieces);
        r.choices = chat->choices > 1 ? chat->choices : 1;
    }
    r.content = text.len ? text.data : "";
    r.content_len = text.len;
    r.piece_end = pieces;
    r.prompt_tokens = f->prompt_tokens >= 0 ? f->prompt_tokens
                                            : sy_mock_chat_prompt_tokens(chat);
    r.completion_tokens =
        f->completion_tokens >= 0
            ? f->completion_tokens
            : reply_words(r.content, r.content_len) * r.choices;
    reply_render(d, f, &r, p);
    reply_bill(&r, p);
    sy_mock_buf_cleanup(&text);
}

/*
 * Fill "p" with the answer to a chat request "chat" of "dep" under the
 * effective fault spec "f" (see README.md for the order of the keys).
 */
void
sy_mock_reply_plan(struct sy_mock_server *srv, struct sy_mock_rng *rng,
                   const struct sy_mock_dialect *d, struct sy_mock_dep *dep,
                   const struct sy_mock_chat *chat,
                   const struct sy_mock_fault *f, struct sy_mock_plan *p)
{
    struct sy_mock_fault paced;

    if (!sy_mock_reply_fault(d, rng, f, p)) {
        /* chunk_delay_dist: this request's pace, drawn once */
        if (f->has & SY_MOCK_F_CHUNK_DELAY_DIST) {
            memcpy(&paced, f, sizeof(paced));
            paced.chunk_delay_ms = sy_mock_fault_token_ms(f, rng);
            paced.has |= SY_MOCK_F_CHUNK_DELAY_MS;
            f = &paced;
        }
        reply_answer(srv, d, dep, chat, f, p);
    }
    /* a reset or a stall sends nothing, so has no content type */
    if ((f->has & SY_MOCK_F_CONTENT_TYPE) && !p->reset && !p->stall) {
        sy_mock_plan_content_type(p, f->content_type);
    }
}
