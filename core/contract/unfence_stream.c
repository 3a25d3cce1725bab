/*
 * unfence_stream.c - take one markdown code fence off a streamed answer
 * as its text deltas arrive (see unfence_stream.h).
 *
 * The answer is read byte by byte through five states:
 *   LEAD  leading whitespace, held until the first other byte decides;
 *   OPEN  "```" and an info string, held: it is a fence only as
 *         sy_contract_unfence reads one (an empty or "json" info string,
 *         any case); anything else and the held bytes pass on unchanged;
 *   SKIP  whitespace after the opening (dropped, as the whole-answer
 *         unfence trims the inside; held only so that an answer that
 *         ends here is shown as it came);
 *   BODY  the inside: only a tail that could still become the closing
 *         fence is held (whitespace, up to three backticks, whitespace),
 *         and shown as soon as a byte rules it out;
 *   PASS  not fenced: bytes pass through unchanged.
 * At the end a held "``` " tail is the closing fence and is dropped with
 * the whitespace before it; anything else held is shown. The output
 * depends only on the bytes, never on how they were split into deltas.
 *
 * Where this differs from sy_contract_unfence on a whole answer, it is
 * because the text was shown before the evidence came: a missing closing
 * fence, prose after the closing fence, or a second fence inside leave
 * the whole-answer unfence with the text untouched, while the stream has
 * already dropped the opening line (such an answer is not JSON either
 * way and fails the contract check). And, to bound the memory, more than
 * SY_UNFENCE_HOLD bytes of whitespace before the opening fence mean "not
 * fenced", and such a run before (or after) the closing fence is partly
 * shown.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "unfence_stream.h"

#include <string.h>

enum { ST_LEAD, ST_OPEN, ST_SKIP, ST_BODY, ST_PASS };

static bool
is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static bool
is_word(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

void
sy_unfence_init(struct sy_unfence *u)
{
    memset(u, 0, sizeof(*u));
    u->state = ST_LEAD;
}

/* Show the first n held bytes and keep the rest. */
static void
emit(struct sy_unfence *u, struct sy_buf *out, size_t n)
{
    sy_buf_append(out, u->hold, n);
    memmove(u->hold, u->hold + n, u->len - n);
    u->len -= n;
}

/* Before LEAD or OPEN: the bytes held so far are not a fence. */
static void
pass(struct sy_unfence *u, struct sy_buf *out)
{
    emit(u, out, u->len);
    u->state = ST_PASS;
}

/* Enter the inside of a fence: the opening is dropped. */
static void
body(struct sy_unfence *u)
{
    u->len = 0;
    u->ticks = 0;
    u->pre = 0;
    u->state = ST_BODY;
}

/* One byte before the inside. False when it was not consumed: the state
 * changed to PASS or BODY, which read it in bulk. */
static bool
head_byte(struct sy_unfence *u, char ch, struct sy_buf *out)
{
    bool full = u->len == SY_UNFENCE_HOLD;
    switch (u->state) {
    case ST_LEAD:
        if (full || (!is_ws(ch) && ch != '`')) {
            pass(u, out);
            return false;
        }
        if (ch == '`') {
            u->state = ST_OPEN;
            u->ticks = 1;
        }
        break;
    case ST_OPEN:
        if (u->ticks < 3) {
            if (ch != '`' || full) {
                pass(u, out);
                return false;
            }
            u->ticks++;
            break;
        }
        if (is_word(ch)) {
            if (full || u->word == 4 || (ch | 0x20) != "json"[u->word]) {
                pass(u, out);
                return false;
            }
            u->word++;
            break;
        }
        if (u->word != 0 && u->word != 4) {
            pass(u, out);
            return false;
        }
        if (!is_ws(ch)) {
            body(u);
            return false;
        }
        u->state = ST_SKIP;
        break;
    case ST_SKIP:
        if (!is_ws(ch)) {
            body(u);
            return false;
        }
        break;
    default:
        return false;
    }
    if (full) { /* only in SKIP: LEAD and OPEN have passed on */
        u->lost = true;
        return true;
    }
    u->hold[u->len++] = ch;
    return true;
}

/* The hold is full: show its oldest byte, or, when it starts with the
 * three backticks, those (they can no longer be held). */
static void
make_room(struct sy_unfence *u, struct sy_buf *out)
{
    if (u->len < SY_UNFENCE_HOLD)
        return;
    if (u->pre > 0) {
        emit(u, out, 1);
        u->pre--;
        return;
    }
    emit(u, out, u->ticks);
    u->ticks = 0;
    u->pre = (unsigned char)u->len;
}

/* Inside the fence, whitespace. The hold is always 'pre' bytes of
 * whitespace, 'ticks' backticks, then whitespace only after three. */
static void
body_ws(struct sy_unfence *u, char ch, struct sy_buf *out)
{
    if (u->ticks == 1 || u->ticks == 2) {
        /* "`` " cannot close; the whitespace might still precede it */
        emit(u, out, u->len);
        u->ticks = 0;
        u->pre = 0;
    }
    make_room(u, out);
    u->hold[u->len++] = ch;
    if (u->ticks == 0)
        u->pre++;
}

static void
body_tick(struct sy_unfence *u, struct sy_buf *out)
{
    if (u->ticks == 3) {
        size_t post = u->len - u->pre - 3;
        if (post == 0) {
            /* a fourth backtick: the last three may still close */
            emit(u, out, (size_t)u->pre + 1);
            u->pre = 0;
            u->ticks = 2;
        } else {
            emit(u, out, (size_t)u->pre + 3);
            u->pre = (unsigned char)post;
            u->ticks = 0;
        }
    }
    make_room(u, out);
    u->hold[u->len++] = '`';
    u->ticks++;
}

/* Inside the fence: runs of ordinary bytes go out in one append. */
static void
body_feed(struct sy_unfence *u, const char *in, size_t n, struct sy_buf *out)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (!is_ws(ch) && ch != '`') {
            if (u->len > 0) {
                emit(u, out, u->len);
                u->ticks = 0;
                u->pre = 0;
                run = i;
            }
            continue;
        }
        sy_buf_append(out, in + run, i - run);
        run = i + 1;
        if (ch == '`')
            body_tick(u, out);
        else
            body_ws(u, ch, out);
    }
    sy_buf_append(out, in + run, n - run);
}

enum sy_err
sy_unfence_feed(struct sy_unfence *u, const char *in, size_t n,
                struct sy_buf *out)
{
    size_t i = 0;
    if (n == 0) /* 'in' may be NULL */
        return sy_buf_err(out);
    while (i < n && u->state != ST_BODY && u->state != ST_PASS)
        if (head_byte(u, in[i], out))
            i++;
    if (u->state == ST_BODY)
        body_feed(u, in + i, n - i, out);
    else if (i < n)
        sy_buf_append(out, in + i, n - i);
    return sy_buf_err(out);
}

enum sy_err
sy_unfence_finish(struct sy_unfence *u, struct sy_buf *out)
{
    bool show = true;
    if (u->state == ST_SKIP)
        show = !u->lost; /* only the opening came: shown as it came */
    else if (u->state == ST_BODY)
        show = u->ticks != 3; /* the closing fence */
    if (show)
        emit(u, out, u->len);
    u->len = 0;
    u->state = ST_PASS; /* anything after the end passes on */
    return sy_buf_err(out);
}
