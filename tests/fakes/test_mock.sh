#!/usr/bin/env bash
# test_mock.sh - self-test of the mock LLM provider (tests/fakes).
# Starts build/mock-llm (or $MOCK_LLM, or the first argument) on a free
# loopback port with a short lifetime, exercises replies, streams, faults
# and the control API with curl and jq, and always kills what it started.
# Last line: "N passed, M failed"; exit status 1 when anything failed.
# SPDX-License-Identifier: MIT
set -u

MOCK=${1:-${MOCK_LLM:-build/mock-llm}}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mock-llm-test.XXXXXX")
PID=
PASS=0
FAIL=0

cleanup() {
    if [ -n "$PID" ]; then
        kill "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in curl jq; do
    if ! command -v "$tool" >/dev/null; then
        echo "test_mock.sh: $tool is required" >&2
        exit 2
    fi
done
if [ ! -x "$MOCK" ]; then
    echo "test_mock.sh: no executable mock at $MOCK" >&2
    exit 2
fi

ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
not_ok() { FAIL=$((FAIL + 1)); echo "FAIL - $1${2:+: $2}"; }
# check NAME EXPECTED ACTUAL
check() {
    if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "want '$2', got '$3'"; fi
}

"$MOCK" --port 0 --port-file "$TMP/port" --max-lifetime 120 --quiet \
    >"$TMP/stdout" 2>"$TMP/stderr" &
PID=$!
for _ in $(seq 1 100); do
    [ -s "$TMP/port" ] && break
    sleep 0.05
done
if [ ! -s "$TMP/port" ]; then
    echo "test_mock.sh: mock did not start" >&2
    cat "$TMP/stderr" >&2
    exit 1
fi
PORT=$(cat "$TMP/port")
U="http://127.0.0.1:$PORT"
check "prints its address" "mock-llm listening on 127.0.0.1:$PORT" \
    "$(head -n1 "$TMP/stdout")"

# chat BODY [PATH] - POST a chat request, print the body
chat() {
    curl -s -N --max-time 5 "$U${2:-/v1/chat/completions}" \
        -H 'Content-Type: application/json' -d "$1"
}
# msg TEXT [EXTRA] - a request body with one user message
msg() {
    jq -cn --arg t "$1" --argjson x "${2:-{\}}" \
        '{model:"gpt-test",messages:[{role:"user",content:$t}]} + $x'
}
# sse_data - the data payloads of an SSE stream, one per line
sse_data() { sed -n 's/^data: //p'; }

# ---- plain reply ----------------------------------------------------------
R=$(chat "$(msg 'hello there')")
check "plain: object" "chat.completion" "$(jq -r .object <<<"$R")"
check "plain: model echoed" "gpt-test" "$(jq -r .model <<<"$R")"
check "plain: content" "Hello from default." \
    "$(jq -r '.choices[0].message.content' <<<"$R")"
check "plain: finish_reason" "stop" "$(jq -r '.choices[0].finish_reason' <<<"$R")"
check "plain: usage" "2 3 5" \
    "$(jq -r '.usage|"\(.prompt_tokens) \(.completion_tokens) \(.total_tokens)"' <<<"$R")"
check "plain: id prefix" "chatcmpl-mock-" "$(jq -r '.id[0:14]' <<<"$R")"
R=$(chat "$(msg hi)" /dep-a/v1/chat/completions)
check "prefix: deployment" "Hello from dep-a." \
    "$(jq -r '.choices[0].message.content' <<<"$R")"
R=$(curl -s "$U/dep-a/v1/models")
check "models" "mock-model" "$(jq -r '.data[0].id' <<<"$R")"

# ---- streaming ------------------------------------------------------------
chat "$(msg hi '{"stream":true}')" /dep-s/v1/chat/completions | sse_data \
    >"$TMP/s1"
check "stream: ends with [DONE]" "[DONE]" "$(tail -n1 "$TMP/s1")"
grep -v '^\[DONE\]$' "$TMP/s1" | jq -s . >"$TMP/s1.json"
check "stream: first delta is the role" '{"role":"assistant","content":""}' \
    "$(jq -c '.[0].choices[0].delta' "$TMP/s1.json")"
check "stream: content pieces" "Hello from dep-s." \
    "$(jq -j '.[].choices[0].delta.content // empty' "$TMP/s1.json")"
check "stream: last chunk finishes" "stop" \
    "$(jq -r '.[-1].choices[0].finish_reason' "$TMP/s1.json")"
check "stream: one id, usage null" "1 true" \
    "$(jq -r '"\([.[].id]|unique|length) \(all(.[]; .usage == null))"' "$TMP/s1.json")"
check "stream: piece per word" "5" "$(jq length "$TMP/s1.json")"

chat "$(msg hi '{"stream":true,"stream_options":{"include_usage":true}}')" |
    sse_data >"$TMP/s2"
check "include_usage: [DONE] last" "[DONE]" "$(tail -n1 "$TMP/s2")"
U2=$(tail -n2 "$TMP/s2" | head -n1)
check "include_usage: usage chunk" "0 3" \
    "$(jq -r '"\(.choices|length) \(.usage.completion_tokens)"' <<<"$U2")"

# ---- status fault with Retry-After ------------------------------------------
R=$(curl -s -X PUT "$U/_mock/faults/dep-e" -d '{"status":429,"retry_after":7}')
check "control: set fault" "429" "$(jq -r .fault.status <<<"$R")"
curl -s -D "$TMP/h" -o "$TMP/b" "$U/dep-e/v1/chat/completions" -d "$(msg hi)"
check "429: status" "429" "$(head -n1 "$TMP/h" | cut -d' ' -f2)"
check "429: Retry-After" "7" \
    "$(grep -i '^retry-after:' "$TMP/h" | tr -d '\r' | cut -d' ' -f2)"
check "429: error body" "requests rate_limit_exceeded" \
    "$(jq -r '.error|"\(.type) \(.code)"' "$TMP/b")"

# ---- control API clears ----------------------------------------------------
curl -s -X PUT "$U/_mock/faults/dep-e" -d '{}' >/dev/null
R=$(chat "$(msg hi)" /dep-e/v1/chat/completions)
check "control: {} clears" "Hello from dep-e." \
    "$(jq -r '.choices[0].message.content' <<<"$R")"
curl -s -X PUT "$U/_mock/faults/dep-e" -d '{"status":500,"count":1}' >/dev/null
C1=$(curl -s -o /dev/null -w '%{http_code}' "$U/dep-e/v1/chat/completions" -d "$(msg hi)")
C2=$(curl -s -o /dev/null -w '%{http_code}' "$U/dep-e/v1/chat/completions" -d "$(msg hi)")
check "count: applies once" "500 200" "$C1 $C2"
curl -s -X PUT "$U/_mock/faults/dep-e" -d '{"status":503}' >/dev/null
curl -s -X DELETE "$U/_mock/faults" >/dev/null
C1=$(curl -s -o /dev/null -w '%{http_code}' "$U/dep-e/v1/chat/completions" -d "$(msg hi)")
check "control: DELETE clears all" "200" "$C1"
C1=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$U/_mock/faults/dep-e" -d '{"stauts":1}')
check "control: unknown key rejected" "400" "$C1"

# ---- reset ------------------------------------------------------------------
curl -s -X PUT "$U/_mock/faults/dep-r" -d '{"reset":true}' >/dev/null
OUT=$(curl -s "$U/dep-r/v1/chat/completions" -d "$(msg hi)")
RC=$?
check "reset: no bytes, curl error" "0 yes" \
    "${#OUT} $([ "$RC" -ne 0 ] && echo yes || echo no)"

# ---- stream_drop_after ------------------------------------------------------
curl -s -N "$U/v1/chat/completions" \
    -d "$(msg 'x [[mock {"stream_drop_after":2}]]' '{"stream":true}')" >"$TMP/d"
RC=$?
check "drop: two events, no [DONE], curl error" "2 0 yes" \
    "$(sse_data <"$TMP/d" | wc -l) $(grep -c DONE "$TMP/d") $([ "$RC" -ne 0 ] && echo yes || echo no)"

# ---- malformed ----------------------------------------------------------------
chat "$(msg 'x [[mock {"malformed":true}]]')" >"$TMP/m"
if jq . "$TMP/m" >/dev/null 2>&1; then
    not_ok "malformed: body is invalid JSON"
else
    ok "malformed: body is invalid JSON"
fi
chat "$(msg 'x [[mock {"malformed":true}]]' '{"stream":true}')" | sse_data >"$TMP/ms"
BAD=0
while IFS= read -r line; do
    [ "$line" == "[DONE]" ] && continue
    jq -e . >/dev/null 2>&1 <<<"$line" || BAD=$((BAD + 1))
done <"$TMP/ms"
check "malformed stream: one invalid event, second" "1 1" \
    "$BAD $(sed -n 2p "$TMP/ms" | jq . >/dev/null 2>&1 && echo 0 || echo 1)"

# ---- per-request override ------------------------------------------------------
curl -s -X PUT "$U/_mock/faults/dep-o" -d '{"content":"from dep spec","status":200}' >/dev/null
R=$(chat "$(msg 'q [[mock {"content":"from request","usage":{"prompt_tokens":11,"cached_tokens":3}}]]')" \
    /dep-o/v1/chat/completions)
check "override: content" "from request" \
    "$(jq -r '.choices[0].message.content' <<<"$R")"
check "override: usage" "11 3" \
    "$(jq -r '.usage|"\(.prompt_tokens) \(.prompt_tokens_details.cached_tokens)"' <<<"$R")"
R=$(chat "$(msg 'q [[mock {"fenced":true}]]')" /dep-o/v1/chat/completions)
check "override: keeps other dep keys" $'```json\nfrom dep spec\n```' \
    "$(jq -r '.choices[0].message.content' <<<"$R")"

# ---- tools ---------------------------------------------------------------------
TOOLS='{"tools":[{"type":"function","function":{"name":"get_weather"}}]}'
R=$(chat "$(msg 'w [[mock {"tool_arguments":"{\"city\":\"Oslo\"}"}]]' "$TOOLS")")
check "tools: call" "tool_calls get_weather Oslo" \
    "$(jq -r '.choices[0]|"\(.finish_reason) \(.message.tool_calls[0].function.name) \(.message.tool_calls[0].function.arguments|fromjson|.city)"' <<<"$R")"

# ---- stats and request log -------------------------------------------------------
curl -s -X POST "$U/_mock/reset-stats" >/dev/null
chat "$(msg hi)" /dep-st/v1/chat/completions >/dev/null
chat "$(msg hi '{"stream":true}')" /dep-st/v1/chat/completions >/dev/null
curl -s -X PUT "$U/_mock/faults/dep-st" -d '{"status":503}' >/dev/null
chat "$(msg hi)" /dep-st/v1/chat/completions >/dev/null
R=$(curl -s "$U/_mock/stats")
check "stats: counters" "3 1 0 2 1" \
    "$(jq -r '.deployments["dep-st"]|"\(.requests) \(.streams) \(.in_flight) \(.by_status["200"]) \(.by_status["503"])"' <<<"$R")"
check "stats: total" "3" "$(jq -r .total <<<"$R")"

curl -s "$U/dep-log/v1/chat/completions" -H 'Authorization: Bearer sk-log-1' \
    -H 'Content-Type: application/json' -d "$(msg 'log me')" >/dev/null
R=$(curl -s "$U/_mock/requests/dep-log")
check "requests: entry" "1 POST /dep-log/v1/chat/completions" \
    "$(jq -r '"\(length) \(.[0].method) \(.[0].path)"' <<<"$R")"
check "requests: authorization kept" "Bearer sk-log-1" \
    "$(jq -r '.[0].headers.authorization' <<<"$R")"
check "requests: body parsed" "log me" \
    "$(jq -r '.[0].body.messages[0].content' <<<"$R")"

# ---- errors ----------------------------------------------------------------------
C1=$(curl -s -o "$TMP/b" -w '%{http_code}' "$U/v1/chat/completions" -d '{nope')
check "invalid JSON: 400" "400 invalid_request_error" "$C1 $(jq -r .error.type "$TMP/b")"
C1=$(curl -s -o "$TMP/b" -w '%{http_code}' "$U/no/such/path")
check "unknown path: 404" "404 invalid_request_error" "$C1 $(jq -r .error.type "$TMP/b")"

# ---- still alive ------------------------------------------------------------------
if kill -0 "$PID" 2>/dev/null; then ok "mock still running"; else not_ok "mock still running"; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
