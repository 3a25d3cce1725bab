/*
 * fuzz_chat.c - libFuzzer target for the caller's chat request: the body
 * goes through sy_chat_req_parse (the limit the default config uses, 64
 * levels), sy_chat_req_needs, and then every adapter's build_request,
 * because each adapter walks the caller's tree again to write its
 * provider's request. Checks beyond the sanitizers: the API key never
 * appears in a built body or a refusal message.
 * SPDX-License-Identifier: MIT
 */
#include "fuzz.h"

#include "api/caps.h"

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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(data, size);
    struct sy_arena a;
    sy_arena_init(&a, 8192);
    struct sy_chat_req req;
    struct sy_chat_error perr;
    memset(&perr, 0, sizeof(perr));
    enum sy_err e =
        sy_chat_req_parse((const char *)data, size, 64, &a, &req, &perr);
    if (e != SY_OK) {
        if (memchr(perr.message, '\0', sizeof(perr.message)) == NULL)
            abort(); /* the message must be terminated */
        sy_arena_cleanup(&a);
        return 0;
    }
    struct sy_needs needs;
    sy_chat_req_needs(&req, &needs);
    for (size_t i = 0; i < FZ_NTYPES; i++) {
        struct sy_adapter_call call;
        struct sy_failure fail;
        fz_call_init(&envs[i], 0, &call, &a, &fail);
        call.req = &req;
        enum sy_err b = fz_build(&envs[i], &call);
        if (b != SY_OK)
            fz_check_failure(&fail);
    }
    sy_arena_cleanup(&a);
    return 0;
}
