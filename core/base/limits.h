/*
 * limits.h - every compile-time size bound of Switchyard in one place:
 * bytes a buffer may hold, items a fixed array or a loop may take. Each
 * says why it is that number. Names are kept from where they were first
 * defined (a header of the layer that uses them), so the users did not
 * change.
 *
 * Not here: limits an operator sets (server.max_body_bytes, a
 * deployment's max_response_bytes, ...; their defaults and allowed
 * ranges are rows of the config tables in core/config/, except the two
 * the command line repeats), numeric ranges that are not sizes
 * (SY_CHAT_MAX_TOKENS, costs, latencies), the fixed lengths of formats
 * (key and id lengths next to their format), tuning constants of one
 * algorithm (the regex engine's RX_* budgets), and allocation
 * granularity that bounds nothing (arena block sizes, read chunks, the
 * first capacity of a growing buffer).
 * SPDX-License-Identifier: MIT
 */
#ifndef SY_CORE_LIMITS_H
#define SY_CORE_LIMITS_H

/* ------------------------------------------------------------------ */
/* Processes and threads (config "server", `switchyard serve -p -t`)    */

/* Worker processes: more than the cores of any one host. */
#define SY_SERVER_MAX_PROCESSES 256u
/* Request threads per process: each holds a provider call (seconds, a
 * stream for minutes), so thousands are sane; past 8192 the stacks
 * alone (server.thread_stack_kb) exhaust a host. */
#define SY_SERVER_MAX_THREADS 8192u

/* ------------------------------------------------------------------ */
/* Client requests and responses (core/serve, fcgi/)                   */

/* One CGI parameter copied from the web server (a request header value):
 * the default header-line limit of lighttpd and Apache httpd (8 KiB). */
#define SY_CGI_PARAM_MAX 8192

/* A request path the mount and route code looks at; longer paths are
 * none of ours. Linux's PATH_MAX, the usual limit of URL paths. */
#define SY_PATH_MAX 4096

/* The status and header block of a response: our own headers take well
 * under 1 KiB plus the route explanation (768), and 4 KiB stays below
 * what lighttpd and httpd take from a FastCGI backend by default. */
#define SY_HEAD_MAX 4096

/* A response body the gateway builds (struct sy_worker 'out': model
 * lists, a re-serialised chat reply, errors): a reply is at most a
 * provider body we parsed (SY_JSON_MAX), so the same bound. */
#define SY_RESPONSE_MAX (64u << 20)

/* The provider request body is the caller's body (at most
 * server.max_body_bytes) re-encoded, which at most doubles it (JSON
 * escapes), plus this much for the envelope the adapter adds. */
#define SY_PROVIDER_BODY_SLACK 65536

/* The body of an admin API call: a key spec is a few hundred bytes
 * (name SY_VKEY_NAME_MAX, models SY_VKEY_MODELS_MAX, a few numbers). */
#define SY_ADMIN_BODY_MAX 65536

/* One virtual key written as JSON: its longest strings escaped (6 bytes
 * per byte at worst) stay far below 64 KiB. */
#define SY_ADMIN_KEY_JSON_MAX (1u << 16)

/* Why each attempt failed ("dep: message; ..."), and the list of
 * deployments that cannot serve a request: room for one line of about
 * 120 bytes for each of SY_ROUTE_MAX deployments. */
#define SY_ROUTE_WHY_MAX 4096

/* Deployments one route plan ranks or excludes (fixed arrays in struct
 * sy_route_plan): far more than any group has. */
#define SY_ROUTE_MAX 32

/* One log line, written with one write(2): below PIPE_BUF (4096), so the
 * lines of concurrent threads never interleave on a pipe. */
#define SY_LOG_LINE_MAX 2048

/* ------------------------------------------------------------------ */
/* The canonical request and the streamed answer (core/api)            */

/* Choices of one request ("n"): small enough that token x price x
 * choices sums in 64 bits can never overflow (core/api/chat.c). */
#define SY_CHAT_MAX_CHOICES 128
/* Tools of one request: OpenAI's own limit. */
#define SY_CHAT_MAX_TOOLS 128

/* Tool calls of one streamed answer gathered for the contract check
 * (fixed arrays in struct sy_stream_answer); models make a handful. */
#define SY_STREAM_MAX_CALLS 16
/* Text of a streamed answer gathered for the check; lowered per attempt
 * to the deployment's max_response_bytes. */
#define SY_STREAM_TEXT_MAX (16u << 20)
/* Arguments of one streamed tool call gathered for the check: arguments
 * are a JSON object the model writes, kilobytes in practice. */
#define SY_STREAM_ARGS_MAX (1u << 20)

/* The first stream event, held back until a second one arrives (so a
 * deployment that fails right after it can still be replaced): it is
 * the bare "role" delta, well under 1 KiB. */
#define SY_MAX_HELD_EVENT (1u << 20)

/* The one event that carries a fenced JSON answer without its fence:
 * the gathered text (SY_STREAM_TEXT_MAX) escaped once more, which at
 * most doubles it. */
#define SY_FENCED_EVENT_MAX (32u << 20)

/* ------------------------------------------------------------------ */
/* Provider replies (adapters/, core/api/sse.c)                        */

/* A provider body (or stream event) parsed as JSON: the tree json-c
 * builds is several times the text, so this bounds a thread's memory. */
#define SY_JSON_MAX (64u << 20)

/* One SSE line, and the data of one event, from a provider: real events
 * are a few KiB (tool arguments arrive in many small deltas). */
#define SY_SSE_MAX_EVENT (4u << 20)
/* Longest model name a request may name (group names and aliases are
 * shorter): bounds alias pattern matching per request. */
#define SY_MODEL_NAME_MAX 256
/* Longest text a client API writes for one canonical chunk or reply
 * (a surface re-encodes what an adapter produced, up to the fenced
 * replacement event). */
#define SY_SURFACE_EVENT_MAX (SY_FENCED_EVENT_MAX + (1u << 20))

/* Content blocks of one Anthropic message (indexes past this are a
 * protocol error): the state of each lives in the request arena. */
#define SY_ANTHROPIC_MAX_BLOCKS 4096

/* Tool calls one translated Responses stream keeps (each is an item of
 * the response it ends with): past this the provider is broken. */
#define SY_RESPONSES_STREAM_MAX_CALLS 4096

/* ------------------------------------------------------------------ */
/* Output contracts (core/contract)                                    */

/* A caller's JSON Schema: nesting depth (a $ref loop stops here),
 * evaluation steps per validation (subschema applications plus value
 * comparisons), bytes of one pattern, patterns of one schema, and their
 * compiled size in bytes. Enough for real schemas, small enough that a
 * hostile one costs milliseconds. */
#define SY_JSONSCHEMA_MAX_DEPTH     128
#define SY_JSONSCHEMA_MAX_STEPS     200000
#define SY_JSONSCHEMA_PATTERN_MAX   1024
#define SY_JSONSCHEMA_MAX_PATTERNS  512
#define SY_JSONSCHEMA_PATTERN_BYTES (2u << 20)

/* ------------------------------------------------------------------ */
/* Configuration (core/config)                                         */

/* The config file: a large deployment list is tens of KiB. */
#define SY_CONFIG_MAX_BYTES (4u << 20)
/* The error report of one config load (one line per mistake). */
#define SY_CONFIG_ERRORS_MAX (1u << 20)
/* One string value after ${VAR} interpolation (URLs, keys, paths). */
#define SY_CONFIG_VALUE_MAX (64u * 1024)

/* ------------------------------------------------------------------ */
/* Redis state (core/io/store*, core/state)                            */

/* Sentinels of one state section, and Lua scripts one store loads. */
#define SY_STORE_MAX_SENTINELS 8
#define SY_STORE_MAX_SCRIPTS   16
/* Default budget for the replies of one pipeline of commands: the
 * largest the gateway reads (state refresh) is tens of KiB. */
#define SY_STORE_REPLY_MAX (4u << 20)
/* A Redis key name built by core/state/keys.c: prefix, names (at most
 * SY_VKEY_NAME_MAX or a config name) and separators. */
#define SY_KEY_MAX 512
/* Outcomes and spend records queued for the state thread between two
 * flushes (then dropped and counted), and the batch of one flush. */
#define SY_STATE_QUEUE_MAX 8192
/* A caller key's name or team as a queued spend record keeps it: config
 * names are at most 128 bytes, a virtual key's SY_VKEY_NAME_MAX. */
#define SY_SPEND_NAME_CAP  129
#define SY_STATE_BATCH_MAX (16u << 20)
/* Limits one rate-limit call checks at once (caller, key, group...). */
#define SY_RATELIMIT_MAX_ITEMS 8
/* Days one spend read covers (one pipelined read of as many hashes): a
 * day's hash lives 400 days (SY_SPEND_TTL_S), so any range of data that
 * still exists fits. */
#define SY_SPEND_MAX_DAYS 1000u
/* Virtual keys: the name (and team), and the comma list of models. */
#define SY_VKEY_NAME_MAX   64
#define SY_VKEY_MODELS_MAX 1024
/* Budgets: the name, and the expired reservations released by one call
 * at most (the rest go at the next one, so a call stays short). */
#define SY_BUDGET_NAME_MAX 128
/* Failed budget settles a process keeps to send again (about 170 bytes
 * each, allocated on the first use): the requests in flight when Redis
 * went away (new ones are refused while it is, unless fail_open, which
 * reserves nothing). */
#define SY_BUDGET_RETRY_MAX 4096
#define SY_BUDGET_CLEAN_MAX 1000

/* ------------------------------------------------------------------ */
/* Usage log (core/io/usagelog*)                                       */

/* Longest line written, newline included; every line fits (strings are
 * cut to SY_USAGELOG_FIELD_MAX escaped bytes, at a character boundary),
 * and one write(2) of it is not torn by a concurrent writer. */
#define SY_USAGELOG_LINE_MAX  4096
#define SY_USAGELOG_FIELD_MAX 256
/* A line the reader accepts; longer ones (not ours) are skipped as bad. */
#define SY_USAGELOG_READ_LINE_MAX (64 * 1024)

/* ------------------------------------------------------------------ */
/* The command line (cli/)                                             */

/* A report printed as JSON, an admin answer, and one batch of Redis
 * reads of `switchyard status`: one operator command, run by hand. */
#define SY_CLI_OUTPUT_MAX (64u << 20)
/* `switchyard spend` over SY_SPEND_MAX_DAYS days of every key and
 * deployment: the largest report, and Redis reply, we produce. */
#define SY_CLI_SPEND_MAX (256u << 20)

/* ------------------------------------------------------------------ */
/* Caller request bodies, counted (core/base/json_strict.c)            */

/* JSON values (objects, arrays and strings; keys, numbers and literals
 * not counted: embeddings send token arrays of numbers, and the tree
 * estimate bounds those by bytes) in one caller body, on every surface. json-c spends ~800
 * bytes on an object however short its text, and a surface or adapter
 * that rebuilds the request makes a second tree, so memory follows the
 * values, not the bytes: 4 MiB of 155,000 one-letter text parts took a
 * worker 328 MB. Agent clients send hundreds of messages and a few
 * thousand content blocks or Responses items (~10 values each): 2,000
 * tool round trips (6,000 blocks, more than a 200K-token context holds)
 * plus 128 tools of 8-property schemas are 57,000 values. At 100,000
 * the worst shape costs a request ~100 MB, not 400. */
#define SY_REQUEST_MAX_JSON_VALUES 100000u

/* The prefix of a virtual key (core/state/vkeys.c): a bearer token that
 * starts with it is looked up as one only, so the config loader refuses
 * a configured caller key that starts with it too. */
#define SY_VKEY_PREFIX "sk-sy-"

#endif
