/*
 * failure.c - a provider's failure made safe to show (adapter.h): the
 * core hides the call's key in what an adapter reports, whatever the
 * adapter read from the provider, so that no adapter has to remember
 * to. Each adapter still words its own auth failures without the
 * provider's text; this is the net under all of them.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "adapter.h"
#include "base/secret_redact.h"

void
sy_failure_redact(struct sy_failure *f, const struct sy_adapter_call *call)
{
    if (call->api_key == NULL)
        return;
    f->message = sy_secret_redact(f->message, call->api_key, call->arena);
    f->code = sy_secret_redact(f->code, call->api_key, call->arena);
    f->param = sy_secret_redact(f->param, call->api_key, call->arena);
}
