/*
 * wait_share.h - streams waiting for a first token, seen by every
 * process of the cluster when enough of them are slow.
 *
 * A stream that has waited past a deployment's TTFT p95 is the earliest
 * sign that the deployment slowed down or hangs (inflight.h): the router
 * drains it on two such waits, and a hedge fires early on them. Each
 * process saw only its own, so a deployment that stops answering (it
 * takes connections and sends nothing) cost every worker process its own
 * requests before it drained there, each waiting for the first-byte
 * time-out, and a host of many processes lost that many.
 *
 * Each state thread publishes, with every refresh batch (about every
 * state.refresh_ms), per deployment on which one of its streams has
 * waited past the deployment's TTFT p95: how many of its streams wait on
 * it, how many of those are past the p95, and the starts of its two
 * oldest; it reads the other processes' back in the same batch. Their
 * oldest waits count in this process's signal only when, summed over
 * the cluster (theirs as read and this process's own now), at least
 * SY_WAIT_SHARE_QUORUM streams are past the p95 and they are at least
 * half of the streams waiting on it: one in
 * twenty of a healthy deployment's first tokens come after its p95 (more
 * of its streams in flight at a given moment, the slow ones staying
 * longer), so in a cluster of a hundred processes two waits past it
 * somewhere always are, and counting every process's oldest would drain
 * it for nothing. A hang makes all of them slow. Ended waits stay each process's own (a
 * probe's fast first token puts a drained deployment back there).
 *
 * One Redis hash, "<prefix>waits": a field per process ("<host>:<pid>:"
 * and 8 random hex digits), its value "<wall ms written>
 * <deployment>=<waiting>:<past p95>:<start ms>,<start ms> ...", times in
 * wall-clock ms (hosts' clocks must agree to well within a p95, as NTP
 * keeps them). A process with nothing to say deletes its field; a field
 * not rewritten for 2 x refresh_ms + 1 s (or from further ahead than
 * that) is ignored (its process is gone or cannot reach Redis), and one a
 * minute off is deleted by the next reader. The key expires a minute
 * after the last write. When the batch fails (Redis down), the other
 * processes' waits are forgotten at once.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_WAIT_SHARE_H
#define SY_STATE_WAIT_SHARE_H

#include "base/sy.h"
#include "config/config.h"
#include "io/store.h"
#include "inflight.h"

struct sy_dep_view;

/* Slow streams the cluster must have on a deployment, and half of its
 * streams waiting there, for the other processes' to count here. */
#define SY_WAIT_SHARE_QUORUM 2u
/* A field this far from now is deleted by whoever reads it. */
#define SY_WAIT_SHARE_STALE_MS 60000u

struct sy_wait_share;

/* The state thread's publisher and reader for this process. */
struct sy_wait_share *sy_wait_share_new(const struct sy_config *cfg);
void sy_wait_share_free(struct sy_wait_share *ws);

/* Where the state thread copies the process's view of every deployment
 * (sy_state_views) before sy_wait_share_flush: each one's TTFT p95. */
struct sy_dep_view *sy_wait_share_views(struct sy_wait_share *ws);

/* Append this process's waits on 'f' past each deployment's TTFT p95 (in
 * the views above; HSET or HDEL of its field), the deletion of stale
 * fields seen last time, the key's expiry and a read of every field to
 * 'b'. Returns the number of commands appended (their replies go to
 * sy_wait_share_done, in order). 'last': the process stops: its field is
 * deleted and nothing is read. */
size_t sy_wait_share_flush(struct sy_wait_share *ws, struct sy_store_batch *b,
                           const char *prefix, const struct sy_inflight *f,
                           bool last);

/* The 'n' replies of the commands sy_wait_share_flush appended: the
 * other processes' fresh waits become 'f''s remote waits where they make
 * a quorum (each deployment's replaced). With 'replies' NULL (the batch
 * failed), the remote waits are cleared. */
void sy_wait_share_done(struct sy_wait_share *ws,
                        const struct sy_store_val *replies, size_t n,
                        struct sy_inflight *f);

/* One deployment's entry in another process's value. */
struct sy_wait_entry {
    size_t dep;        /* index in the config */
    uint32_t waiting;  /* its streams waiting on it */
    uint32_t slow;     /* of those, past the TTFT p95 */
    uint64_t start[2]; /* the oldest two (wall ms) */
    size_t nstart;
};

/* Pure, for the tests: parse one field's value 'v' written by another
 * process; 'on' is called for each entry of a deployment of 'cfg'
 * (starts after 'wall_ms' left out: a clock ahead of ours). False when
 * the value is not fresh at 'wall_ms' ('*stale' then says whether it is
 * a minute off) or is malformed. */
bool sy_wait_share_parse(const struct sy_config *cfg, const char *v, size_t len,
                         uint64_t wall_ms, uint32_t fresh_ms, bool *stale,
                         void (*on)(void *ud, const struct sy_wait_entry *e),
                         void *ud);

#endif
