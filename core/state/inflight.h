/*
 * inflight.h - this process's attempts in flight per deployment: how many
 * (the latency strategy's power of two choices spreads by it), how many
 * it has started, and how long its streams wait for their first token.
 *
 * The wait is the earliest sign that a deployment slowed down. Its
 * latency window learns from finished calls only: after a +2 s shift, the
 * first slow samples arrive 2 s or more later, and the window's median
 * moves only once they outnumber the fast ones of the last slices, so the
 * router kept sending a third of the traffic to it for seconds. A stream
 * that has waited longer than the deployment's p95 time to first token
 * says at once that a new request there would wait about as long.
 *
 * One long wait is not enough: 5 % of healthy streams pass a p95, and a
 * huge prompt waits long anywhere. The signal (sy_inflight_wait_ms) is
 * the second-longest of the waits in flight and the last two that ended,
 * so it takes two slow streams. A wait ends with the first token (it
 * counts), with an end that says nothing about the first token's time (a
 * fast error, a caller gone, a reply that came whole: it is cancelled),
 * or with a time-out while still waiting (it waited at least that
 * long). A first attempt cut because its hedge produced a token first
 * counts too, as a "lost race": its wait (about the hedge delay plus the
 * hedge's own time to first token) understates how slow it was, so
 * sy_inflight_lost says how many of the last two were lost races. The last two ended waits count until newer ones
 * replace them, at most SY_INFLIGHT_HOLD_MS: a deployment drained by them
 * gets only the router's exploration probes, whose fast first tokens put
 * it back.
 *
 * Waits are kept for attempts whose provider call streams (streaming
 * callers, and Responses callers served from a provider stream); a
 * reply that arrives whole has no first token to wait for.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_STATE_INFLIGHT_H
#define SY_STATE_INFLIGHT_H

#include "base/sy.h"

/* Waits tracked per deployment; a stream started while all are taken is
 * not tracked (the ones tracked are older, and the oldest are the sign). */
#define SY_INFLIGHT_WAIT_SLOTS 32
/* How long an ended wait counts at most: a group that never explores
 * would otherwise never send a drained deployment traffic again. */
#define SY_INFLIGHT_HOLD_MS 30000u

struct sy_inflight;

struct sy_inflight *sy_inflight_new(size_t ndeps);
void sy_inflight_free(struct sy_inflight *f);
/* An attempt on deployment 'dep' starts (+1; also counted as started)
 * or ends (-1). */
void sy_inflight_add(struct sy_inflight *f, size_t dep, int delta);
unsigned sy_inflight_count(const struct sy_inflight *f, size_t dep);
/* Attempts started on 'dep' in this process (saturating). */
uint64_t sy_inflight_started(const struct sy_inflight *f, size_t dep);
/* A streaming attempt on 'dep' starts waiting for its first token at
 * 'now_us': its slot, or -1 when none is free. */
int sy_inflight_wait_begin(struct sy_inflight *f, size_t dep, uint64_t now_us);
/* Its first token came at 'now_us', or it ended still waiting in a way
 * that bounds its first token's time from below: a time-out after the
 * request went out, or, 'lost', a first attempt cut because its hedge
 * produced a first token first. The slot is free again (-1: none) and
 * the wait replaces the older of the last two ended ones. */
void sy_inflight_wait_end(struct sy_inflight *f, size_t dep, int slot,
                          uint64_t now_us, bool lost);
/* The same, counted as at least 'min_ms' long: an exploration probe
 * given up early (serve/pipeline_probe.c) says only that the deployment
 * is no faster than the cut, and must not shorten what the waits before
 * it said. */
void sy_inflight_wait_end_min(struct sy_inflight *f, size_t dep, int slot,
                              uint64_t now_us, bool lost, uint32_t min_ms);
/* It ended in a way that says nothing of its first token's time: the
 * slot is free again, and the wait does not count. */
void sy_inflight_wait_cancel(struct sy_inflight *f, size_t dep, int slot);
/* Streams waiting on 'dep' now. */
unsigned sy_inflight_waiting(const struct sy_inflight *f, size_t dep);
/* Of those, the ones that have waited longer than 'ms', the slot
 * 'except' (a caller's own, or -1) left out. */
unsigned sy_inflight_waiting_longer(const struct sy_inflight *f, size_t dep,
                                    uint64_t now_us, uint32_t ms, int except);
/* How many of the last two ended waits on 'dep' (within
 * SY_INFLIGHT_HOLD_MS) were lost races: first attempts cut because their
 * hedge produced a token first. Two in a row say the deployment is
 * slower now than a fresh call elsewhere, though their waits are too
 * short to drain it by their length. */
unsigned sy_inflight_lost(const struct sy_inflight *f, size_t dep,
                          uint64_t now_us);
/* The signal: the second-longest, in ms, of the waits in flight on 'dep'
 * and its last two ended ones (those within SY_INFLIGHT_HOLD_MS); 0
 * with fewer than two. */
uint32_t sy_inflight_wait_ms(const struct sy_inflight *f, size_t dep,
                             uint64_t now_us);

#endif
