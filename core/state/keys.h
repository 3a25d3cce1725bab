/*
 * keys.h - every Redis key name of the gateway, in one place. The
 * workers that write shared state (the modules of core/state/) and the
 * CLI commands that read it (cli/) build their names here and nowhere
 * else, so a change of layout changes both sides at once.
 * docs/shared-state.md describes what each key holds.
 *
 * Every function writes a NUL-terminated name into 'out' (at most
 * 'outlen' bytes) and returns what snprintf returns: the full length,
 * truncated when >= 'outlen' (check with sy_key_fits()). 'prefix' is the
 * state prefix (state.prefix, e.g. "sy:"). Names in braces ({...}) keep
 * one thing's keys in one Redis Cluster slot.
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_KEYS_H
#define SY_CORE_KEYS_H

#include "base/sy.h"
#include "base/limits.h" /* SY_KEY_MAX */

/* The two rate limits each caller key and provider key has. */
enum sy_key_rate { SY_KEY_RPM, SY_KEY_TPM };

/* True when a name of length 'n' (a return value above) fit in 'outlen'
 * bytes. */
static inline bool
sy_key_fits(int n, size_t outlen)
{
    return n >= 0 && (size_t)n < outlen;
}

/* ---------------------------------------------------------------- */
/* Rate limits (ratelimit.c, quota.c; read by 'switchyard status')    */

/* "<provider>#<n>", n = key + 1: how a provider's API key is named
 * everywhere (limits, logs, status), never the key itself. */
int sy_key_provider_label(char *out, size_t outlen, const char *provider,
                          unsigned key);
/* The limit name of a caller key: "ck:<name>:rpm|tpm". */
int sy_key_limit_caller(char *out, size_t outlen, const char *name,
                        enum sy_key_rate r);
/* The limit name of a provider key: "pk:<provider>#<n>:rpm|tpm". The
 * park (after a 429) is kept on the rpm limit. */
int sy_key_limit_provider(char *out, size_t outlen, const char *provider,
                          unsigned key, enum sy_key_rate r);
/* The base of a limit's keys: "<prefix>rl:{<limit>}" (KEYS[i] of the
 * rate-limit script, which appends the two suffixes below itself). */
int sy_key_ratelimit(char *out, size_t outlen, const char *prefix,
                     const char *limit);
/* One window's counter: "<base>:<window id>". */
int sy_key_ratelimit_window(char *out, size_t outlen, const char *prefix,
                            const char *limit, uint64_t window_id);
/* The park flag (PTTL = time left): "<base>:park". */
int sy_key_ratelimit_park(char *out, size_t outlen, const char *prefix,
                          const char *limit);

/* ---------------------------------------------------------------- */
/* Money (budget.c, spend.c, vkeys.c)                                 */

/* A budget's hash: "<prefix>budget:{<name>}:<period id>". */
int sy_key_budget(char *out, size_t outlen, const char *prefix,
                  const char *name, const char *period_id);
/* Its reservations (sorted set by expiry): "<budget hash>:res". */
int sy_key_budget_res(char *out, size_t outlen, const char *prefix,
                      const char *name, const char *period_id);
/* A day's spend hash: "<prefix>spend:<yyyy-mm-dd>". */
int sy_key_spend(char *out, size_t outlen, const char *prefix, const char *day);
/* The number of the last spend batch of one process applied (a string,
 * spend_queue.c): "<prefix>spendbatch:<process id>". */
int sy_key_spend_batch(char *out, size_t outlen, const char *prefix,
                       const char *id);
/* The virtual-key index (name -> hmac): "<prefix>vkname". */
int sy_key_vkey_index(char *out, size_t outlen, const char *prefix);
/* The start of every virtual key's hash, "<prefix>vk:"; the vkeys script
 * appends the hmac (it learns the hmac from the index). */
int sy_key_vkey_base(char *out, size_t outlen, const char *prefix);
/* One virtual key's hash: "<prefix>vk:<hmac hex>". */
int sy_key_vkey(char *out, size_t outlen, const char *prefix, const char *hmac);

/* ---------------------------------------------------------------- */
/* Routing state (latency.c, breaker.c, state.c)                     */

/* One latency slice: "<prefix>lat<scheme>:{<deployment>}:<metric>:<id>",
 * scheme SY_LATENCY_SCHEME, metric sy_latency_metric_name(). */
int sy_key_latency(char *out, size_t outlen, const char *prefix,
                   const char *deployment, const char *metric,
                   uint64_t slice_id);
/* A deployment's shared breaker: "<prefix>br:{<deployment>}". */
int sy_key_breaker(char *out, size_t outlen, const char *prefix,
                   const char *deployment);
/* Its half-open probe: "<prefix>br:{<deployment>}:probe". */
int sy_key_breaker_probe(char *out, size_t outlen, const char *prefix,
                         const char *deployment);
/* The channel breaker transitions are published on: "<prefix>breaker". */
int sy_key_breaker_channel(char *out, size_t outlen, const char *prefix);
/* Output contract violations, one field per deployment:
 * "<prefix>contract". */
int sy_key_contract(char *out, size_t outlen, const char *prefix);
/* A hedging group's share counts in one 10-second window of the wall
 * clock, fields "r" (requests) and "h" (hedges), summed over the
 * cluster: "<prefix>hedge:{<group>}:<window>" (hedge_share.c). */
int sy_key_hedge(char *out, size_t outlen, const char *prefix,
                 const char *group, uint64_t window);

/* ---------------------------------------------------------------- */
/* Prometheus metrics (metrics.c, metrics_read.c)                     */

/* One metric family's counters, a hash: "<prefix>metrics:<family>",
 * family sy_metrics_family_name(). */
int sy_key_metrics(char *out, size_t outlen, const char *prefix,
                   const char *family);
/* Requests in flight, a sorted set of "<host>:<pid>:<n>" by wall-clock
 * ms: "<prefix>metrics:inflight". */
int sy_key_metrics_inflight(char *out, size_t outlen, const char *prefix);

/* ---------------------------------------------------------------- */
/* The Responses API's conversation store (responses.c)              */

/* One stored response: "<prefix>resp:<id>" (a JSON string value). */
int sy_key_response(char *out, size_t outlen, const char *prefix,
                    const char *id);

#endif
