/*
 * failure.c - a provider's failure made safe to show (adapter.h): the
 * core hides the call's key in what an adapter reports, whatever the
 * adapter read from the provider, so that no adapter has to remember
 * to, and bounds each text's length. Each adapter still words its own
 * auth failures without the provider's text; this is the net under all
 * of them.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "adapter.h"
#include "base/mem.h"
#include "base/secret_redact.h"

#include <string.h>

/* The longest text of a failure a caller or a log line gets: adapters
 * cap a provider's message, but not every field they copy (Anthropic's
 * error "type" came whole: 7 MiB echoed, and masked in 1.4 s). */
#define FAILURE_TEXT_MAX 1024

/* 'text' cut to FAILURE_TEXT_MAX bytes (a copy in 'a' when longer; at a
 * UTF-8 character boundary, so what is shown stays valid) and masked. */
static const char *
safe_text(const char *text, const char *key, struct sy_arena *a)
{
    if (text == NULL)
        return NULL;
    size_t n = strnlen(text, FAILURE_TEXT_MAX + 1);
    if (n > FAILURE_TEXT_MAX) {
        n = FAILURE_TEXT_MAX;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
        const char *cut = sy_arena_strndup(a, text, n);
        text = cut != NULL ? cut : "(a provider text too long to show)";
    }
    return key != NULL ? sy_secret_redact(text, key, a) : text;
}

void
sy_failure_redact(struct sy_failure *f, const struct sy_adapter_call *call)
{
    f->message = safe_text(f->message, call->api_key, call->arena);
    f->code = safe_text(f->code, call->api_key, call->arena);
    f->param = safe_text(f->param, call->api_key, call->arena);
}
