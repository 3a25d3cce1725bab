/*
 * keys.c - the Redis key names (see keys.h). The only file that spells a
 * key's layout; two Lua scripts extend names they are given, and say so
 * here so that a change is made in both places:
 *   lua/ratelimit.lua  appends ":<window id>" and ":park" to the base
 *                      from sy_key_ratelimit() (sy_key_ratelimit_window,
 *                      sy_key_ratelimit_park);
 *   lua/vkeys.lua      appends the hmac to sy_key_vkey_base() (sy_key_vkey).
 * tests/unit/test_keys.c runs both scripts and reads their keys back by
 * these names.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "keys.h"
#include "latency.h" /* SY_LATENCY_SCHEME */

#include <inttypes.h>
#include <stdio.h>

static const char *
rate_name(enum sy_key_rate r)
{
    return r == SY_KEY_TPM ? "tpm" : "rpm";
}

int
sy_key_provider_label(char *out, size_t outlen, const char *provider,
                      unsigned key)
{
    return snprintf(out, outlen, "%s#%u", provider, key + 1);
}

int
sy_key_limit_caller(char *out, size_t outlen, const char *name,
                    enum sy_key_rate r)
{
    return snprintf(out, outlen, "ck:%s:%s", name, rate_name(r));
}

int
sy_key_limit_provider(char *out, size_t outlen, const char *provider,
                      unsigned key, enum sy_key_rate r)
{
    return snprintf(out, outlen, "pk:%s#%u:%s", provider, key + 1,
                    rate_name(r));
}

int
sy_key_ratelimit(char *out, size_t outlen, const char *prefix,
                 const char *limit)
{
    return snprintf(out, outlen, "%srl:{%s}", prefix, limit);
}

int
sy_key_ratelimit_window(char *out, size_t outlen, const char *prefix,
                        const char *limit, uint64_t window_id)
{
    return snprintf(out, outlen, "%srl:{%s}:%" PRIu64, prefix, limit,
                    window_id);
}

int
sy_key_ratelimit_park(char *out, size_t outlen, const char *prefix,
                      const char *limit)
{
    return snprintf(out, outlen, "%srl:{%s}:park", prefix, limit);
}

int
sy_key_budget(char *out, size_t outlen, const char *prefix, const char *name,
              const char *period_id)
{
    return snprintf(out, outlen, "%sbudget:{%s}:%s", prefix, name, period_id);
}

int
sy_key_budget_res(char *out, size_t outlen, const char *prefix,
                  const char *name, const char *period_id)
{
    return snprintf(out, outlen, "%sbudget:{%s}:%s:res", prefix, name,
                    period_id);
}

int
sy_key_spend(char *out, size_t outlen, const char *prefix, const char *day)
{
    return snprintf(out, outlen, "%sspend:%s", prefix, day);
}

int
sy_key_spend_batch(char *out, size_t outlen, const char *prefix, const char *id)
{
    return snprintf(out, outlen, "%sspendbatch:%s", prefix, id);
}

int
sy_key_vkey_index(char *out, size_t outlen, const char *prefix)
{
    return snprintf(out, outlen, "%svkname", prefix);
}

int
sy_key_vkey_base(char *out, size_t outlen, const char *prefix)
{
    return snprintf(out, outlen, "%svk:", prefix);
}

int
sy_key_vkey(char *out, size_t outlen, const char *prefix, const char *hmac)
{
    return snprintf(out, outlen, "%svk:%s", prefix, hmac);
}

int
sy_key_latency(char *out, size_t outlen, const char *prefix,
               const char *deployment, const char *metric, uint64_t slice_id)
{
    return snprintf(out, outlen, "%slat%d:{%s}:%s:%" PRIu64, prefix,
                    SY_LATENCY_SCHEME, deployment, metric, slice_id);
}

int
sy_key_breaker(char *out, size_t outlen, const char *prefix,
               const char *deployment)
{
    return snprintf(out, outlen, "%sbr:{%s}", prefix, deployment);
}

int
sy_key_breaker_probe(char *out, size_t outlen, const char *prefix,
                     const char *deployment)
{
    return snprintf(out, outlen, "%sbr:{%s}:probe", prefix, deployment);
}

int
sy_key_breaker_channel(char *out, size_t outlen, const char *prefix)
{
    return snprintf(out, outlen, "%sbreaker", prefix);
}

int
sy_key_contract(char *out, size_t outlen, const char *prefix)
{
    return snprintf(out, outlen, "%scontract", prefix);
}

int
sy_key_hedge(char *out, size_t outlen, const char *prefix, const char *group,
             uint64_t window)
{
    return snprintf(out, outlen, "%shedge:{%s}:%llu", prefix, group,
                    (unsigned long long)window);
}

int
sy_key_response(char *out, size_t outlen, const char *prefix, const char *id)
{
    return snprintf(out, outlen, "%sresp:%s", prefix, id);
}

int
sy_key_metrics(char *out, size_t outlen, const char *prefix, const char *family)
{
    return snprintf(out, outlen, "%smetrics:%s", prefix, family);
}

int
sy_key_metrics_inflight(char *out, size_t outlen, const char *prefix)
{
    return snprintf(out, outlen, "%smetrics:inflight", prefix);
}
