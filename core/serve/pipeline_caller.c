/*
 * pipeline_caller.c - the caller's side of a request: who is calling (a
 * configured key or a virtual key from Redis, or while Redis cannot be
 * reached from the process's recent lookups, vkey_cache.h), its rate
 * limits and money budget, and the accounting once the request is
 * settled (usage log, daily spend). Part of the pipeline; see pipeline_int.h.
 * SPDX-License-Identifier: MIT
 */
#include "base/sy.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "auth.h"
#include "state/budget.h"
#include "api/caps.h"
#include "api/chat.h"
#include "base/clock.h"
#include "config/config.h"
#include "config/cost.h"
#include "base/err.h"
#include "base/log.h"
#include "state/quota.h"
#include "api/req.h"
#include "api/sink.h"
#include "state/state.h"
#include "io/usagelog.h"
#include "state/vkeys.h"
#include "state/vkey_cache.h"
#include "io/worker.h"
#include "api/adapter.h"

#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

/* 429 for a caller key over a limit: the refusing limit's headers in
 * full (limit, remaining 0, reset), the other limit's size; an
 * all-or-nothing refusal does not tell how much of the other is left. */
void
sy_pipeline_send_caller_limited(struct pctx *c, const struct sy_caller_key *k,
                                const struct sy_ratelimit_result *res)
{
    if (res->failed) {
        char m[200];
        snprintf(m, sizeof(m),
                 "the rate limits of key '%.60s' could not be "
                 "checked (limit script error); request refused",
                 k->name);
        sy_pipeline_send_error(c, 503, m, "server_error", NULL,
                               "rate_limit_check_failed", "Retry-After: 1\r\n");
        return;
    }
    bool tokens = res->refused == 1;
    const char *fam = tokens ? "tokens" : "requests";
    const char *other = tokens ? "requests" : "tokens";
    uint64_t limit = tokens ? k->limits.tpm : k->limits.rpm;
    uint64_t other_limit = tokens ? k->limits.rpm : k->limits.tpm;
    uint32_t ms = res->retry_after_ms ? res->retry_after_ms : 1000;
    char reset[32], extra[400], msg[200];
    sy_quota_format_reset(ms, reset, sizeof(reset));
    int n = snprintf(extra, sizeof(extra),
                     "x-ratelimit-limit-%s: %llu\r\n"
                     "x-ratelimit-remaining-%s: 0\r\n"
                     "x-ratelimit-reset-%s: %s\r\n"
                     "Retry-After: %u\r\n",
                     fam, (unsigned long long)limit, fam, fam, reset,
                     (ms + 999) / 1000);
    if (other_limit > 0 && n > 0 && (size_t)n < sizeof(extra))
        snprintf(extra + n, sizeof(extra) - (size_t)n,
                 "x-ratelimit-limit-%s: %llu\r\n", other,
                 (unsigned long long)other_limit);
    snprintf(msg, sizeof(msg),
             "rate limit reached for key '%.60s': %llu "
             "%s per minute; try again in %s",
             k->name, (unsigned long long)limit, fam, reset);
    sy_pipeline_send_error(c, 429, msg, sy_err_type(SY_EQUOTA), NULL,
                           sy_err_code(SY_EQUOTA), extra);
}

/* Tokens this request may use: the prompt (about 4 bytes a token) plus
 * the answer (max_tokens, or the estimate of sy_caps_output_estimate)
 * for each of its n choices; the reservation is corrected afterwards. max_tokens and n are bounded by the parser
 * (SY_CHAT_MAX_TOKENS x SY_CHAT_MAX_CHOICES < 2^31): no overflow. */
uint64_t
sy_pipeline_estimate_tokens(const struct pctx *c)
{
    uint64_t in = c->r->body_len / 4 + 1;
    uint64_t out = sy_caps_output_estimate(c->chat.max_tokens);
    return in + out * sy_chat_req_choices(&c->chat);
}

/* Virtual key 'bearer' into 'vk', through the process's cache of the
 * keys it found (core/state/vkey_cache.h): while Redis cannot be
 * reached, a key found within the last SY_VKEY_CACHE_MAX_AGE_MS is
 * still known, and the request goes on to the outage rules of its
 * budget (fail_open) and rate limits, as docs/keys.md says. SY_ESTORE
 * only for a key this process has not found lately (or the secret
 * failing, SY_EINTERNAL; a script error is SY_EINTERNAL too, never
 * served from the cache). */
static enum sy_err
lookup_virtual(struct pctx *c, const char *bearer, struct sy_vkey *vk)
{
    const struct sy_config *cfg = c->w->cfg;
    bool cached = false;
    enum sy_err e = sy_vkey_cache_lookup(
        sy_vkey_cache_process(), c->w->store, cfg->state.key_secret,
        cfg->state.key_secret_len, bearer, (int64_t)sy_wall_s(), sy_now_ms(),
        vk, &cached);
    if (cached) {
        /* At most once a minute per process: every request of the
         * outage comes here. */
        static _Atomic uint64_t noted_ms;
        uint64_t now = sy_now_ms(), last = atomic_load(&noted_ms);
        if ((last == 0 || now - last >= 60000) &&
            atomic_compare_exchange_strong(&noted_ms, &last, now))
            sy_log_warn(c->request_id,
                        "key store unreachable: virtual keys are checked "
                        "against the records this process found in the "
                        "last %u s",
                        SY_VKEY_CACHE_MAX_AGE_MS / 1000u);
    }
    return e;
}

/* Who is calling: a key from the config, or a virtual key from Redis
 * (stored as HMAC only). Unknown, revoked and expired keys all get the
 * same 401. Returns false when the caller has been answered. */
bool
sy_pipeline_identify(struct pctx *c, const struct sy_caller_key **out,
                     struct sy_vkey **vk_out)
{
    struct sy_worker *w = c->w;
    const struct sy_config *cfg = w->cfg;
    const char *authz = c->r->authorization;
    /* Anthropic's SDKs and Claude Code send the key as x-api-key; it is
     * the same key, read the same way, when no Authorization came. */
    if (authz == NULL && c->r->x_api_key != NULL)
        authz = sy_arena_printf(&w->arena, "Bearer %s", c->r->x_api_key);
    *out = NULL;
    *vk_out = NULL;
    bool virtual_keys = cfg->state.key_secret != NULL;
    if (cfg->nkeys == 0 && !virtual_keys)
        return true;
    const char *bearer = authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0
                             ? authz + 7
                             : NULL;
    if (virtual_keys && bearer != NULL &&
        strncmp(bearer, SY_VKEY_PREFIX, strlen(SY_VKEY_PREFIX)) == 0) {
        struct sy_vkey *vk = sy_arena_zalloc(&w->arena, sizeof(*vk));
        enum sy_err e = lookup_virtual(c, bearer, vk);
        if (e == SY_ESTORE || e == SY_EINTERNAL) {
            sy_pipeline_send_error(c, 503,
                                   "the key store is unavailable; try again "
                                   "shortly",
                                   "server_error", NULL,
                                   "key_store_unavailable",
                                   "Retry-After: 1\r\n");
            return false;
        }
        if (e == SY_OK && sy_auth_key_named(cfg, vk->name) != NULL) {
            /* A configured key that came after it under the same name
             * (the admin API refuses the other order) would share its
             * rate limits and spend ("key:<name>"): the configured key
             * wins, and this one is refused until one is renamed. */
            static _Atomic uint64_t warned_ms;
            uint64_t now = sy_now_ms(), last = atomic_load(&warned_ms);
            /* At most once a minute: the key's holder sends at will. */
            if ((last == 0 || now - last >= 60000) &&
                atomic_compare_exchange_strong(&warned_ms, &last, now))
                sy_log_warn(c->request_id,
                            "virtual key '%s' refused: a configured caller "
                            "key has the same name (rename the configured "
                            "key, or revoke the virtual key and create it "
                            "under another name)",
                            vk->name);
            sy_pipeline_send_error(c, 403,
                                   "this virtual key's name is also a "
                                   "configured caller key's; the gateway's "
                                   "operator must rename the configured key "
                                   "or replace this one",
                                   "permission_error", NULL,
                                   "key_name_conflict", NULL);
            return false;
        }
        if (e == SY_OK) {
            /* The key's limits go through the same reservation as a
             * configured key's; its strings live in the arena. */
            struct sy_caller_key *k = sy_arena_zalloc(&w->arena, sizeof(*k));
            k->name = vk->name;
            k->team = vk->team[0] ? vk->team : NULL;
            k->limits.rpm = (unsigned)SY_MIN(vk->rpm, (uint64_t)UINT32_MAX);
            k->limits.tpm = (unsigned)SY_MIN(vk->tpm, (uint64_t)UINT32_MAX);
            *out = k;
            *vk_out = vk;
            return true;
        }
    } else if (cfg->nkeys > 0) {
        *out = sy_auth_check(cfg, authz);
        if (*out != NULL)
            return true;
    }
    sy_pipeline_send_err(c, SY_EAUTH,
                         "invalid API key: send 'Authorization: Bearer "
                         "<key>' (or 'x-api-key: <key>') with a key of this "
                         "gateway",
                         NULL);
    return false;
}

/* What request 'c' needs: as read at admission for a chat request
 * (sy_pipeline_handle_chat), else from its canonical request now. */
static void
needs_of(const struct pctx *c, struct sy_needs *n)
{
    if (c->needs_set)
        *n = c->needs;
    else
        sy_chat_req_needs(&c->chat, n);
}

/* The most a request could cost on the group's dearest deployment that
 * may serve it: what a budget must hold before any provider is called.
 * Per deployment: every prompt byte a token (capped by its context
 * window) plus each image at its largest, and max_tokens (or its output
 * limit) for each of the n choices (core/api/caps.c). Deployments that will
 * refuse the request (a billed field they do not allow) do not count. */
int64_t
sy_pipeline_worst_case_cost(const struct pctx *c, const struct sy_group *g)
{
    struct sy_needs n;
    needs_of(c, &n);
    int64_t worst = 0;
    for (size_t i = 0; i < g->nroute; i++) {
        const struct sy_deployment *d = g->route[i];
        if (sy_caps_refused_field(&d->caps, &n) != NULL)
            continue;
        uint64_t in = sy_caps_input_worst(&d->caps, &n, c->r->body_len);
        uint64_t out = sy_caps_output_worst(&d->caps, &n);
        int64_t cost = sy_cost_worst_case_micro_usd(
            &d->price, (int64_t)SY_MIN(in, (uint64_t)INT64_MAX),
            (int64_t)SY_MIN(out, (uint64_t)INT64_MAX), d->provider->markup_bp);
        worst = SY_MAX(worst, cost);
    }
    return worst;
}

/* Prompt tokens a provider may bill beyond the worst case of the body:
 * its own framing of messages and the system prompt it adds for tools
 * (Anthropic: 346 tokens for Claude 4 with tool_choice auto). */
#define SY_PROMPT_FRAMING_TOKENS 4096u

/* Bring a provider's token counts within what request 'c' can be billed
 * on its deployment: what the deployment can produce (sy_usage_bound),
 * and a prompt no larger than the worst case its reservation held (the
 * body's bytes, images and documents at their largest, capped by the
 * context window) plus the provider's framing. A provider that reports
 * more is wrong, and its report would charge a caller for tokens no
 * request of that size can be billed (a prompt of 1e308 tokens for a
 * "hi" was billed 10 million). Not when the request uses a field that
 * adds tokens the body does not bound (web search results, unpriced:
 * caps.c). The completion stays within the deployment's output limit
 * (SY_OUTPUT_TOKENS_UNKNOWN when unknown), or the max_tokens the
 * provider was sent if larger, when it was sent one (sy_usage_bound);
 * not within the caller's when smaller: whether a provider's thinking
 * counts within max_tokens varies. True when anything changed. */
bool
sy_pipeline_usage_bound(const struct pctx *c, struct sy_usage *u)
{
    /* The output limit the provider was sent: the adapter's own, or
     * the request's (clamped per attempt) as it went. */
    int64_t sent = c->call.sent_max_tokens > 0 ? c->call.sent_max_tokens
                                               : SY_MAX(c->chat.max_tokens, 0);
    bool changed =
        sy_usage_bound(u, &c->dep->caps, sy_chat_req_choices(&c->chat), sent);
    if (!c->needs_set || c->r == NULL ||
        sy_caps_unpriced_field(&c->needs) != NULL)
        return changed;
    uint64_t in =
        sy_caps_input_worst(&c->dep->caps, &c->needs, c->r->body_len) +
        SY_PROMPT_FRAMING_TOKENS;
    if ((uint64_t)u->prompt_tokens <= in)
        return changed;
    u->prompt_tokens = (int64_t)in; /* < 2^40: bodies and counts bounded */
    /* The parts within the whole again (sy_usage_bound's rules). */
    sy_usage_bound(u, &c->dep->caps, sy_chat_req_choices(&c->chat), sent);
    return true;
}

static bool budget_can_price(struct pctx *c);

/* A money budget is reserved at the worst case before any provider is
 * called, and settled with the real cost afterwards ('*held' says
 * whether a reservation was made). Returns false when the caller has
 * been answered (refused). */
bool
sy_pipeline_reserve_budget(struct pctx *c, const struct sy_vkey *vk,
                           const struct sy_group *g, struct sy_budget_result *b,
                           char *pid, bool *held)
{
    struct sy_worker *w = c->w;
    *held = false;
    memset(b, 0, sizeof(*b));
    if (vk == NULL || vk->budget_micro_usd <= 0)
        return true;
    if (!budget_can_price(c))
        return false;
    sy_budget_period_id(vk->budget_period, (int64_t)sy_wall_s(), pid);
    enum sy_err be =
        w->store != NULL
            ? sy_budget_reserve(w->store, vk->name, pid, vk->budget_micro_usd,
                                sy_pipeline_worst_case_cost(c, g),
                                sy_pipeline_budget_ttl_ms(g), 0, b)
            : SY_ESTORE;
    if (be == SY_EINTERNAL) {
        /* The script failed on our input: a refusal, never "Redis
         * down" (which fail_open would let through). */
        sy_pipeline_send_error(c, 503,
                               "the budget of this key could not be "
                               "checked (limit script error); request refused",
                               "server_error", NULL, "budget_check_failed",
                               NULL);
        return false;
    }
    if (be != SY_OK && !vk->fail_open) {
        sy_pipeline_send_error(
            c, 503,
            "the budget of this key cannot be checked "
            "now (state store unavailable); try again shortly",
            "server_error", NULL, "budget_unavailable", "Retry-After: 1\r\n");
        return false;
    }
    if (be == SY_OK && !b->allowed) {
        char msg[256], usd[32];
        sy_cost_format_usd(b->remaining, usd, sizeof(usd));
        snprintf(msg, sizeof(msg),
                 "budget of key '%.64s' exhausted for "
                 "this %s: $%s left, not enough for this request",
                 vk->name, sy_budget_period_name(vk->budget_period), usd);
        sy_pipeline_send_error(c, 429, msg, sy_err_type(SY_EQUOTA), NULL,
                               "budget_exceeded", NULL);
        return false;
    }
    *held = be == SY_OK;
    return true;
}

/* One more worst case on the caller's budget, in the ledger's extra
 * reservations (for a failover or a hedge). SY_OK when it is held, or
 * when there is no budget to hold it; SY_EQUOTA when the ledger is full
 * or the budget refuses; SY_ESTORE when Redis cannot be reached: the
 * caller decides, as admission does, whether the key's fail_open lets
 * the attempt go unreserved; SY_EINTERNAL when the script failed (never
 * let through, as at admission). */
enum sy_err
sy_pipeline_reserve_extra(struct pctx *c)
{
    struct sy_ledger *l = &c->led;
    if (!l->budget_held)
        return SY_OK;
    if (l->nextra >= SY_LEDGER_MAX_EXTRA)
        return SY_EQUOTA;
    struct sy_budget_result b;
    enum sy_err e = sy_budget_reserve(c->w->store, l->vk->name, l->budget_pid,
                                      l->vk->budget_micro_usd,
                                      sy_pipeline_worst_case_cost(c, l->g),
                                      sy_pipeline_budget_ttl_ms(l->g), 0, &b);
    if (e != SY_OK)
        return e == SY_ESTORE ? SY_ESTORE : SY_EINTERNAL;
    if (!b.allowed)
        return SY_EQUOTA;
    l->extra_id[l->nextra++] = b.id;
    return SY_OK;
}

/* A caller with a money budget may use a billed field only when the
 * worst-case reservation can price it (core/api/caps.c): otherwise a 400
 * naming the field. Returns false when the caller has been answered. */
static bool
budget_can_price(struct pctx *c)
{
    struct sy_needs n;
    needs_of(c, &n);
    const char *f = sy_caps_unpriced_field(&n);
    if (f == NULL)
        return true;
    char msg[300];
    snprintf(msg, sizeof(msg),
             "'%s' adds costs that cannot be reserved "
             "ahead from a key with a money budget (fees or token kinds "
             "beyond the deployment's token prices); send the request "
             "without it, or use a key without a money budget",
             f);
    sy_pipeline_send_error(c, 400, msg, "invalid_request_error", f,
                           "unpriced_field", NULL);
    return false;
}

/* Is 'ct' application/json, with or without parameters (charset)? What a
 * cross-site HTML form can send (text/plain, form-urlencoded, multipart)
 * is not, and a browser sends anything else only after a CORS preflight
 * this gateway never grants. */
bool
sy_pipeline_json_ctype(const char *ct)
{
    static const char want[] = "application/json";
    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, want, sizeof(want) - 1) != 0)
        return false;
    ct += sizeof(want) - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* The body of a JSON endpoint, read only now that the caller is admitted
 * and the path routed: 413 when it is too big, 415 unless it is declared
 * application/json (both from the headers alone, nothing read), 408 when
 * it is not in within server.body_timeout_ms. Returns false when the
 * caller has been answered. */
bool
sy_pipeline_read_json_body(struct pctx *c)
{
    struct sy_req *r = c->r;
    const struct sy_config *cfg = c->w->cfg;
    char msg[200];
    if (!r->body_too_big && !sy_pipeline_json_ctype(r->content_type)) {
        snprintf(msg, sizeof(msg),
                 "Content-Type must be application/json "
                 "(got '%.60s')",
                 r->content_type ? r->content_type : "");
        sy_pipeline_send_error(c, 415, msg, "invalid_request_error", NULL,
                               "unsupported_media_type", NULL);
        return false;
    }
    switch (sy_req_body(r)) {
    case SY_BODY_OK:
        return true;
    case SY_BODY_TOO_BIG:
        snprintf(msg, sizeof(msg),
                 "the request body is larger than the "
                 "limit of %zu bytes",
                 cfg->server.max_body_bytes);
        sy_pipeline_send_err(c, SY_ETOOBIG, msg, NULL);
        return false;
    case SY_BODY_TIMEOUT:
        snprintf(msg, sizeof(msg),
                 "the request body did not arrive within "
                 "%u ms",
                 (unsigned)cfg->server.body_timeout_ms);
        sy_pipeline_send_error(c, 408, msg, "invalid_request_error", NULL,
                               "request_timeout", NULL);
        sy_log_info(c->request_id, "request body timed out");
        return false;
    case SY_BODY_ERROR:
    default:
        sy_pipeline_send_error(c, 400, "the request body could not be read",
                               "invalid_request_error", NULL, "body_unreadable",
                               NULL);
        return false;
    }
}

/* The path as the request log shows it. Fixed paths are shown as they
 * are; the free segment after /v1/models/ or /admin/keys/ only when the
 * request succeeded (it then named a model or key, not a secret), else
 * its length; any other path only by its length. A key pasted into a URL
 * never reaches the log, whatever the status. */
void
sy_pipeline_log_path(const char *path, int status, char *out, size_t n)
{
    static const char *const fixed[] = {
        "/v1/chat/completions", "/v1/messages", "/v1/messages/count_tokens",
        "/v1/models",           "/healthz",     "/admin/keys",
        "/v1/embeddings",       "/v1/responses"
    };
    static const char *const prefixes[] = { "/v1/models/", "/admin/keys/",
                                            "/v1/responses/" };
    for (size_t i = 0; i < SY_ARRAY_LEN(fixed); i++)
        if (strcmp(path, fixed[i]) == 0) {
            snprintf(out, n, "%s", path);
            return;
        }
    for (size_t i = 0; i < SY_ARRAY_LEN(prefixes); i++) {
        size_t pl = strlen(prefixes[i]);
        if (strncmp(path, prefixes[i], pl) != 0)
            continue;
        if (status >= 200 && status < 400)
            snprintf(out, n, "%s%.100s", prefixes[i], path + pl);
        else
            snprintf(out, n, "%s(%zu bytes)", prefixes[i], strlen(path + pl));
        return;
    }
    snprintf(out, n, "(unknown path, %zu bytes)", strlen(path));
}
