/*
 * fuzz_redis.c - libFuzzer target for what Redis answers: raw RESP bytes
 * through hiredis' reader (as on a live connection), sy_store_convert (the
 * copy into struct sy_store_val, bounded in bytes and depth), and then
 * the readers of converted replies: virtual-key entries and fields
 * (vkeys.c), integers and error prefixes (store.c), spend hashes and sums
 * (spend.c). A Redis that is compromised or a reply that is cut must not
 * crash the gateway or make it read outside a reply.
 * SPDX-License-Identifier: MIT
 */
#include "state/vkeys.c" /* static parse_entry, parse_fields */

#include "fuzz.h"

#include "state/spend.h"
#include "io/store_int.h"

#include <hiredis/hiredis.h>

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void
use(const struct sy_store_val *v)
{
    int64_t x;
    sy_store_val_int(v, &x);
    sy_store_val_is_error(v, NULL);
    sy_store_val_is_error(v, "NOSCRIPT");
    struct sy_vkey k;
    if (parse_entry(v, &k)) {
        if (memchr(k.name, '\0', sizeof(k.name)) == NULL ||
            memchr(k.hmac, '\0', sizeof(k.hmac)) == NULL)
            abort();
    }
    if (v->type == SY_STORE_ARRAY) {
        memset(&k, 0, sizeof(k));
        parse_fields(v, 1, &k);
        int64_t sum;
        sy_spend_sum_field(v->elem, v->n, &sum);
        for (size_t i = 0; i < v->n; i++)
            if (v->elem[i].type == SY_STORE_ARRAY)
                parse_entry(&v->elem[i], &k);
    }
    struct sy_spend_totals t;
    sy_spend_totals_init(&t);
    sy_spend_totals_add_reply(&t, v);
    sy_spend_totals_cleanup(&t);
}

/* hiredis 0.14 (Debian 12) has no limit on a declared array length: it
 * callocs 8 bytes per element the header claims before any arrives. That
 * is hiredis' allocation, not ours (and not fixable from here), so
 * inputs that declare more than 65536 elements are skipped. */
static bool
huge_array(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '*' || (i > 0 && p[i - 1] != '\n'))
            continue;
        uint64_t x = 0;
        for (size_t k = i + 1; k < n && p[k] >= '0' && p[k] <= '9'; k++)
            if ((x = x * 10 + (p[k] - '0')) > 65536)
                return true;
    }
    return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (huge_array(data, size))
        return 0;
    redisReader *rd = redisReaderCreate();
    if (rd == NULL)
        return 0;
    /* hiredis' own defaults would take a 512 MB bulk string. */
    rd->maxbuf = 64 * 1024;
    if (redisReaderFeed(rd, (const char *)data, size) != REDIS_OK) {
        redisReaderFree(rd);
        return 0;
    }
    struct sy_arena a;
    sy_arena_init(&a, 4096);
    for (int n = 0; n < 16; n++) {
        void *reply = NULL;
        if (redisReaderGetReply(rd, &reply) != REDIS_OK || reply == NULL)
            break;
        struct sy_store_val v;
        size_t budget = 1u << 20;
        if (sy_store_convert(reply, &a, &v, &budget, 0))
            use(&v);
        freeReplyObject(reply);
    }
    sy_arena_cleanup(&a);
    redisReaderFree(rd);
    return 0;
}
