/*
 * wait_share.h - streams waiting for a first token, seen by every
 * process of the cluster.
 *
 * A stream that has waited past a deployment's p95 is the earliest sign
 * that the deployment slowed down or hangs (inflight.h): the router
 * drains it on two such waits, and a hedge fires early on them. Each
 * process saw only its own. A deployment that stops answering (it takes
 * connections and sends nothing) then cost every worker process its own
 * two requests before it left, each waiting for the first-byte time-out,
 * and a host of many processes lost that many. Now each process's state
 * thread publishes its two oldest waits in flight and its last two
 * ended ones per deployment with every batch (about every
 * state.refresh_ms) and reads the others' back in the same batch, so one
 * process's waits count in all of them within a refresh or two. Ended
 * waits too: when the first of a hang's requests time out, each process
 * would otherwise hold one of them, not the two the signal takes.
 *
 * One Redis hash, "<prefix>waits": a field per process ("<host>:<pid>:"
 * and 8 random hex digits), its value "<wall ms written>
 * <deployment>=<item>,<item> ...", an item "<start ms>" (in flight) or
 * "<end ms>+<length ms>" (ended), times in wall-clock ms (hosts' clocks
 * must agree to well within a p95, as NTP keeps them). A process with no wait deletes its field; a
 * field not rewritten for 2 x refresh_ms + 1 s is ignored (its process
 * is gone or cannot reach Redis), and one a minute old is deleted by the
 * next reader. The key expires a minute after the last write.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_WAIT_SHARE_H
#define SY_STATE_WAIT_SHARE_H

#include "base/sy.h"
#include "config/config.h"
#include "io/store.h"
#include "inflight.h"

/* A wait is published once it is this old: younger ones are every
 * stream's, and would only make the value longer. */
#define SY_WAIT_SHARE_MIN_MS 100u
/* A field older than this is deleted by whoever reads it. */
#define SY_WAIT_SHARE_STALE_MS 60000u

struct sy_wait_share;

/* The state thread's publisher and reader for this process. */
struct sy_wait_share *sy_wait_share_new(const struct sy_config *cfg);
void sy_wait_share_free(struct sy_wait_share *ws);

/* Append this process's waits on 'f' (HSET or HDEL of its field), the
 * deletion of stale fields seen last time, the key's expiry and a read
 * of every field to 'b'. Returns the number of commands appended (their
 * replies go to sy_wait_share_done, in order). 'last': the process
 * stops: its field is deleted and nothing is read. */
size_t sy_wait_share_flush(struct sy_wait_share *ws, struct sy_store_batch *b,
                           const char *prefix, const struct sy_inflight *f,
                           uint64_t now_us, uint64_t wall_ms, bool last);

/* The 'n' replies of the commands sy_wait_share_flush appended: the
 * other processes' fresh waits become 'f''s remote waits (each
 * deployment's replaced). With 'replies' NULL (the batch failed), the
 * remote waits are cleared. */
void sy_wait_share_done(struct sy_wait_share *ws,
                        const struct sy_store_val *replies, size_t n,
                        struct sy_inflight *f, uint64_t now_us,
                        uint64_t wall_ms);

/* Pure, for the tests: parse one field's value 'v' written by another
 * process; 'on' is called for each wait of a deployment of 'cfg' with
 * its index and, for one in flight, its start (wall ms) and 'len_ms' 0,
 * for an ended one, its end and length. False when the value is not fresh at
 * 'wall_ms' ('*stale' then says whether it is a minute old) or is
 * malformed. */
bool sy_wait_share_parse(const struct sy_config *cfg, const char *v, size_t len,
                         uint64_t wall_ms, uint32_t fresh_ms, bool *stale,
                         void (*on)(void *ud, size_t dep, uint64_t ms,
                                    uint32_t len_ms),
                         void *ud);

#endif
