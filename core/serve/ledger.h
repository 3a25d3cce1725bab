/*
 * ledger.h - the books of one chat request, kept as a transaction:
 * everything admitting it reserved (the caller key's rate limits, the
 * virtual key's money budget) and one record per provider attempt (its
 * deployment, provider-key reservation, outcome, usage and cost).
 *
 * The request path writes to the ledger and never settles anything
 * itself; sy_pipeline_settle() (pipeline_settle.c), the one exit of the
 * chat transaction, settles or releases every reservation in it, writes
 * one usage-log line per attempt and records the spend. So no early
 * return can leave a reservation held or an attempt unpaid.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_SERVE_LEDGER_H
#define SY_SERVE_LEDGER_H

#include "base/sy.h"
#include "api/chat.h"
#include "base/mem.h"
#include "state/budget.h"
#include "state/quota.h"

#include <string.h>

/* Attempts one request may make: every deployment of a group
 * (SY_ROUTE_MAX) once, plus retries on another key of the same
 * provider. Past it the request stops trying (and says so). */
#define SY_LEDGER_MAX_ATTEMPTS 64
#define SY_LEDGER_CHUNK        4 /* attempts allocated at once */
/* Extra budget reservations, one per failover after a paid attempt:
 * every deployment of a group (SY_ROUTE_MAX) at most. */
#define SY_LEDGER_MAX_EXTRA 32

/* One provider attempt. */
struct sy_attempt {
    const struct sy_deployment *d;
    bool sent;           /* the request went out (else the adapter
                            refused to build it: no line in the log) */
    enum sy_err outcome; /* SY_OK, the failure class, SY_EGONE */
    bool reached;        /* the provider took the request: it may bill */
    bool estimated;      /* 'usage' is the gateway's estimate (the
                            provider reported none) */
    struct sy_usage usage;
    int64_t cost_micro_usd; /* of 'usage' at d's prices and markup */
    uint64_t total_us;
    uint64_t end_us; /* sy_now_us() at its end (a hedged pair overlaps) */
    bool key_held;   /* 'key_res' is a live reservation */
    struct sy_reservation key_res; /* the provider key's RPM/TPM */
    uint8_t hedge; /* 0, or of a hedged pair: SY_ATTEMPT_PRIMARY, _HEDGE */
    bool won;      /* of a hedged pair: the one that answered */
    uint32_t retry_after_ms; /* of its own 429, to park its key by */
};

/* sy_attempt.hedge (pipeline_hedge.c) */
#define SY_ATTEMPT_PRIMARY 1
#define SY_ATTEMPT_HEDGE   2

struct sy_ledger {
    /* admit */
    const struct sy_caller_key *ck; /* configured caller key, or NULL */
    struct sy_vkey *vk;             /* virtual key, or NULL */
    const struct sy_group *g;       /* the group, once resolved */
    bool caller_held;               /* 'caller_res' is live */
    struct sy_reservation caller_res;
    bool budget_held; /* 'budget' holds a reservation id */
    struct sy_budget_result budget;
    char budget_pid[SY_BUDGET_PERIOD_ID_LEN];
    uint64_t extra_id[SY_LEDGER_MAX_EXTRA]; /* one more worst case each,
                                               for failovers after an
                                               attempt that cost money */
    unsigned nextra;
    /* attempts, in order: attempt i is chunk[i / SY_LEDGER_CHUNK][i %
     * SY_LEDGER_CHUNK] (sy_ledger_att). Chunks come from the request's
     * arena as attempts are made, so a request pays for the attempts it
     * makes (64 zeroed at once were 42 KB: a malloc of their own past
     * the arena's block, and more than L1 to clear), and an attempt never
     * moves (a hedged pair holds both). */
    struct sy_attempt *chunk[SY_LEDGER_MAX_ATTEMPTS / SY_LEDGER_CHUNK];
    unsigned natt;
    bool settled;
};

/* Attempt 'i' (< natt) of ledger 'l'. */
static inline struct sy_attempt *
sy_ledger_att(const struct sy_ledger *l, unsigned i)
{
    return &l->chunk[i / SY_LEDGER_CHUNK][i % SY_LEDGER_CHUNK];
}

/* A new, zeroed attempt at the end of 'l' (its chunk from 'arena'), or
 * NULL when the ledger is full. */
static inline struct sy_attempt *
sy_ledger_add(struct sy_ledger *l, struct sy_arena *arena)
{
    if (l->natt >= SY_LEDGER_MAX_ATTEMPTS)
        return NULL;
    unsigned k = l->natt / SY_LEDGER_CHUNK;
    if (l->chunk[k] == NULL)
        l->chunk[k] =
            sy_arena_alloc(arena, SY_LEDGER_CHUNK * sizeof(**l->chunk));
    struct sy_attempt *a = sy_ledger_att(l, l->natt++);
    memset(a, 0, sizeof(*a));
    return a;
}

#endif
