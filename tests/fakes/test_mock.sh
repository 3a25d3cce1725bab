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
curl -s -X PUT "$U/_mock/faults/dep-k" -d '{"status":429,"only_key":"key-one","count":2}' >/dev/null
C1=$(curl -s -o /dev/null -w '%{http_code}' "$U/dep-k/v1/chat/completions" -H 'Authorization: Bearer key-two' -d "$(msg hi)")
C2=$(curl -s -o /dev/null -w '%{http_code}' "$U/dep-k/v1/chat/completions" -d "$(msg hi)")
C3=$(curl -s -o /dev/null -w '%{http_code}' "$U/dep-k/v1/chat/completions" -H 'Authorization: Bearer key-one' -d "$(msg hi)")
C4=$(curl -s -o /dev/null -w '%{http_code}' "$U/dep-k/v1/messages" -H 'x-api-key: key-one' \
    -H 'anthropic-version: 2023-06-01' \
    -d '{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}')
C5=$(curl -s -o /dev/null -w '%{http_code}' "$U/dep-k/v1/chat/completions" -H 'Authorization: Bearer key-one' -d "$(msg hi)")
check "only_key: other keys untouched, count for the key only" "200 200 429 429 200" \
    "$C1 $C2 $C3 $C4 $C5"
C1=$(curl -s -o /dev/null -w '%{http_code}' "$U/dep-k/v1/chat/completions" -H 'Authorization: Bearer key-two' \
    -d "$(msg 'x [[mock {"status":500,"only_key":"key-one"}]]')")
check "only_key: per request" "200" "$C1"
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
TOOLS2='{"tools":[{"type":"function","function":{"name":"get_weather"}},{"type":"function","function":{"name":"get_time"}}]}'
R=$(chat "$(msg 'w [[mock {"tool_name":"get_time"}]]' "$TOOLS2")")
check "tools: tool_name picks a declared tool" "get_time" \
    "$(jq -r '.choices[0].message.tool_calls[0].function.name' <<<"$R")"
R=$(chat "$(msg 'w [[mock {"tool_name":"no_such"}]]' "$TOOLS2")")
check "tools: undeclared tool_name ignored" "get_weather" \
    "$(jq -r '.choices[0].message.tool_calls[0].function.name' <<<"$R")"
R=$(chat "$(msg 'w [[mock {"tool_name":"get_time"}]]' \
    "$(jq -c '. + {tool_choice:{type:"function",function:{name:"get_weather"}}}' <<<"$TOOLS2")")")
check "tools: a forced tool wins over tool_name" "get_weather" \
    "$(jq -r '.choices[0].message.tool_calls[0].function.name' <<<"$R")"

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

# ---- Anthropic Messages ------------------------------------------------------------
# amsg TEXT [EXTRA] - a Messages request body with one user turn
amsg() {
    jq -cn --arg t "$1" --argjson x "${2:-{\}}" \
        '{model:"claude-test",max_tokens:64,messages:[{role:"user",content:$t}]} + $x'
}
# achat BODY [PATH] - POST a Messages request with the Anthropic headers
achat() {
    curl -s -N --max-time 5 "$U${2:-/v1/messages}" -H 'x-api-key: sk-ant-1' \
        -H 'anthropic-version: 2023-06-01' -H 'Content-Type: application/json' \
        -d "$1"
}
# sse_events - the event names of an SSE stream, space separated
sse_events() { sed -n 's/^event: //p' | tr -d '\r' | tr '\n' ' ' | sed 's/ $//'; }

R=$(achat "$(amsg 'hello there')")
check "anthropic: message" "message assistant claude-test" \
    "$(jq -r '"\(.type) \(.role) \(.model)"' <<<"$R")"
check "anthropic: text block" "text Hello from default." \
    "$(jq -r '.content[0]|"\(.type) \(.text)"' <<<"$R")"
check "anthropic: stop" "end_turn null" \
    "$(jq -r '"\(.stop_reason) \(.stop_sequence)"' <<<"$R")"
check "anthropic: usage" "2 3 0 0" \
    "$(jq -r '.usage|"\(.input_tokens) \(.output_tokens) \(.cache_read_input_tokens) \(.cache_creation_input_tokens)"' <<<"$R")"
check "anthropic: id prefix" "msg_mock_" "$(jq -r '.id[0:9]' <<<"$R")"
R=$(achat "$(amsg hi)" /dep-an/v1/messages)
check "anthropic: deployment prefix" "Hello from dep-an." "$(jq -r '.content[0].text' <<<"$R")"
R=$(curl -s "$U/_mock/requests/dep-an")
check "anthropic: headers recorded" "sk-ant-1 2023-06-01 /dep-an/v1/messages" \
    "$(jq -r '.[-1]|"\(.headers["x-api-key"]) \(.headers["anthropic-version"]) \(.path)"' <<<"$R")"
C1=$(curl -s -o "$TMP/b" -w '%{http_code}' "$U/v1/messages" -d "$(amsg hi)")
check "anthropic: anthropic-version required" "400 error invalid_request_error" \
    "$C1 $(jq -r '"\(.type) \(.error.type)"' "$TMP/b")"
C1=$(achat '{"model":"c","max_tokens":5,"messages":[{"role":"system","content":"x"}]}' |
    jq -r .error.type)
check "anthropic: system role rejected" "invalid_request_error" "$C1"
R=$(achat "$(amsg 'x [[mock {"usage":{"prompt_tokens":9,"cached_tokens":4,"cache_creation_tokens":2}}]]')")
check "anthropic: usage override" "9 4 2" \
    "$(jq -r '.usage|"\(.input_tokens) \(.cache_read_input_tokens) \(.cache_creation_input_tokens)"' <<<"$R")"

achat "$(amsg hi '{"stream":true}')" /dep-as/v1/messages >"$TMP/as"
check "anthropic stream: event order" \
    "message_start content_block_start ping content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop" \
    "$(sse_events <"$TMP/as")"
sse_data <"$TMP/as" | jq -s . >"$TMP/as.json"
check "anthropic stream: data types match events" \
    "$(sse_events <"$TMP/as")" "$(jq -r '[.[].type]|join(" ")' "$TMP/as.json")"
check "anthropic stream: text deltas" "Hello from dep-as." \
    "$(jq -j '.[]|select(.type=="content_block_delta")|.delta.text' "$TMP/as.json")"
check "anthropic stream: usage and stop" "1 end_turn 3" \
    "$(jq -r '"\(.[0].message.usage.input_tokens) \(.[-2].delta.stop_reason) \(.[-2].usage.output_tokens)"' "$TMP/as.json")"
check "anthropic stream: no [DONE]" "0" "$(grep -c DONE "$TMP/as")"

ATOOLS='{"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}'
R=$(achat "$(amsg 'w [[mock {"tool_arguments":"{\"city\":\"Oslo\"}"}]]' "$ATOOLS")")
check "anthropic tools: tool_use" "tool_use get_weather Oslo toolu_mock_ tool_use" \
    "$(jq -r '"\(.content[0].type) \(.content[0].name) \(.content[0].input.city) \(.content[0].id[0:11]) \(.stop_reason)"' <<<"$R")"
R=$(achat "$(amsg w "$(jq -c '. + {tool_choice:{type:"none"}}' <<<"$ATOOLS")")")
check "anthropic tools: tool_choice none" "end_turn text" \
    "$(jq -r '"\(.stop_reason) \(.content[0].type)"' <<<"$R")"
R=$(achat "$(jq -cn --argjson t "$ATOOLS" '{model:"c",max_tokens:9,messages:[
    {role:"user",content:"w"},
    {role:"assistant",content:[{type:"tool_use",id:"toolu_01",name:"get_weather",input:{}}]},
    {role:"user",content:[{type:"tool_result",tool_use_id:"toolu_01",content:"4 C"}]}]} + $t')")
check "anthropic tools: tool_result" "Tool result: 4 C" "$(jq -r '.content[0].text' <<<"$R")"
R=$(achat "$(jq -cn --argjson t "$ATOOLS" '{model:"c",max_tokens:9,messages:[
    {role:"user",content:"w"},
    {role:"assistant",content:[{type:"tool_use",id:"call:1",name:"get_weather",input:{}}]},
    {role:"user",content:[{type:"tool_result",tool_use_id:"call:1",content:"4 C"}]}]} + $t')")
check "anthropic tools: bad tool id rejected" "invalid_request_error" "$(jq -r .error.type <<<"$R")"
achat "$(amsg 'w [[mock {"tool_arguments":"{\"city\":\"Oslo\"}"}]]' \
    "$(jq -c '. + {stream:true}' <<<"$ATOOLS")")" | sse_data | jq -s . >"$TMP/at.json"
check "anthropic tools stream: input_json_delta" "tool_use Oslo tool_use" \
    "$(jq -r '"\(.[1].content_block.type) \([.[]|select(.type=="content_block_delta")|.delta.partial_json]|join("")|fromjson|.city) \(.[-2].delta.stop_reason)"' "$TMP/at.json")"
ATOOLS2='{"tools":[{"name":"Agent","input_schema":{"type":"object"}},{"name":"Bash","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}]}'
R=$(achat "$(amsg 'w [[mock {"tool_name":"Bash","tool_arguments":"{\"command\":\"echo hi\"}"}]]' "$ATOOLS2")")
check "anthropic tools: tool_name" "Bash echo hi" \
    "$(jq -r '"\(.content[0].name) \(.content[0].input.command)"' <<<"$R")"
# What Claude Code sends: system text blocks and content blocks with
# cache_control, thinking, metadata, context_management, output_config,
# tool_choice, ?beta=true; and the token count of the same body.
CC_BODY=$(jq -cn --argjson t "$ATOOLS2" '{model:"claude-x",max_tokens:32000,stream:false,
    system:[{type:"text",text:"You are a CLI."},{type:"text",text:"Be brief.",cache_control:{type:"ephemeral"}}],
    messages:[{role:"user",content:[{type:"text",text:"<reminder>"},
        {type:"text",text:"run it",cache_control:{type:"ephemeral"}}]}],
    thinking:{type:"adaptive"},metadata:{user_id:"u-1"},tool_choice:{type:"auto"},
    context_management:{edits:[{type:"clear_thinking_20251015",keep:"all"}]},
    output_config:{effort:"medium"}} + $t')
R=$(achat "$CC_BODY" '/v1/messages?beta=true')
check "anthropic: Claude Code request accepted" "tool_use Agent" \
    "$(jq -r '"\(.stop_reason) \(.content[0].name)"' <<<"$R")"
IN=$(jq -r .usage.input_tokens <<<"$R")
R=$(achat "$(jq -c 'del(.max_tokens, .stream)' <<<"$CC_BODY")" '/v1/messages/count_tokens?beta=true')
check "anthropic count_tokens: the reply's input count" "$IN" "$(jq -r .input_tokens <<<"$R")"
R=$(achat '{"model":"c"}' /dep-ct/v1/messages/count_tokens)
check "anthropic count_tokens: invalid body" "invalid_request_error" "$(jq -r .error.type <<<"$R")"

curl -s -D "$TMP/h" -o "$TMP/b" "$U/dep-ae/v1/messages" -H 'anthropic-version: 2023-06-01' \
    -d "$(amsg 'x [[mock {"status":429,"retry_after":5}]]')"
check "anthropic 429: status, Retry-After, body" "429 5 error rate_limit_error" \
    "$(head -n1 "$TMP/h" | cut -d' ' -f2) $(grep -i '^retry-after:' "$TMP/h" | tr -d '\r' | cut -d' ' -f2) $(jq -r '"\(.type) \(.error.type)"' "$TMP/b")"
curl -s -X PUT "$U/_mock/faults/dep-ae" -d '{"status":529}' >/dev/null
C1=$(curl -s -o "$TMP/b" -w '%{http_code}' "$U/dep-ae/v1/messages" \
    -H 'anthropic-version: 2023-06-01' -d "$(amsg x)")
check "anthropic 529: overloaded_error" "529 overloaded_error" "$C1 $(jq -r .error.type "$TMP/b")"
R=$(curl -s "$U/_mock/stats")
check "anthropic: stats by_status" "2 1 1" \
    "$(jq -r '.deployments["dep-ae"]|"\(.requests) \(.by_status["429"]) \(.by_status["529"])"' <<<"$R")"
curl -s -X DELETE "$U/_mock/faults/dep-ae" >/dev/null

achat "$(amsg 'x [[mock {"stream_error":true}]]' '{"stream":true}')" >"$TMP/ae"
check "anthropic stream_error: error after first delta" \
    "message_start content_block_start ping content_block_delta error" "$(sse_events <"$TMP/ae")"
check "anthropic stream_error: body" "error overloaded_error" \
    "$(sse_data <"$TMP/ae" | tail -n1 | jq -r '"\(.type) \(.error.type)"')"
achat "$(amsg 'x [[mock {"malformed":true}]]' '{"stream":true}')" | sse_data >"$TMP/am"
BAD=0
while IFS= read -r line; do
    jq -e . >/dev/null 2>&1 <<<"$line" || BAD=$((BAD + 1))
done <"$TMP/am"
check "anthropic malformed stream: one invalid event, second" "1 1" \
    "$BAD $(sed -n 2p "$TMP/am" | jq . >/dev/null 2>&1 && echo 0 || echo 1)"
if achat "$(amsg 'x [[mock {"malformed":true}]]')" | jq . >/dev/null 2>&1; then
    not_ok "anthropic malformed: body is invalid JSON"
else
    ok "anthropic malformed: body is invalid JSON"
fi
curl -s -N "$U/v1/messages" -H 'anthropic-version: 2023-06-01' \
    -d "$(amsg 'x [[mock {"stream_drop_after":2}]]' '{"stream":true}')" >"$TMP/ad"
RC=$?
check "anthropic drop: two events, curl error" "2 yes" \
    "$(grep -c '^event:' "$TMP/ad") $([ "$RC" -ne 0 ] && echo yes || echo no)"
curl -s -X PUT "$U/_mock/faults/dep-ao" -d '{"content":"{\"a\":1}"}' >/dev/null
R=$(achat "$(amsg 'q [[mock {"fenced":true}]]')" /dep-ao/v1/messages)
check "anthropic override: fenced dep content" $'```json\n{"a":1}\n```' \
    "$(jq -r '.content[0].text' <<<"$R")"
R=$(achat "$(amsg 'q [[mock {"content":"from request"}]]')" /dep-ao/v1/messages)
check "anthropic override: content" "from request" "$(jq -r '.content[0].text' <<<"$R")"

# ---- Gemini generateContent -----------------------------------------------------------
GM=/v1beta/models/gemini-test
# gmsg TEXT [EXTRA] - a generateContent body with one user turn
gmsg() {
    jq -cn --arg t "$1" --argjson x "${2:-{\}}" \
        '{contents:[{role:"user",parts:[{text:$t}]}]} + $x'
}
# gchat BODY [PATH] - POST a generateContent request with the API key header
gchat() {
    curl -s -N --max-time 5 "$U${2:-$GM:generateContent}" -H 'x-goog-api-key: g-key-1' \
        -H 'Content-Type: application/json' -d "$1"
}

R=$(gchat "$(gmsg 'hello there')")
check "gemini: text" "model Hello from default. STOP 0" \
    "$(jq -r '.candidates[0]|"\(.content.role) \(.content.parts[0].text) \(.finishReason) \(.index)"' <<<"$R")"
check "gemini: usageMetadata" "2 3 5" \
    "$(jq -r '.usageMetadata|"\(.promptTokenCount) \(.candidatesTokenCount) \(.totalTokenCount)"' <<<"$R")"
check "gemini: modelVersion" "gemini-test" "$(jq -r .modelVersion <<<"$R")"
R=$(gchat "$(gmsg hi)" "/dep-gm$GM:generateContent")
check "gemini: deployment prefix" "Hello from dep-gm." \
    "$(jq -r '.candidates[0].content.parts[0].text' <<<"$R")"
R=$(curl -s "$U/_mock/requests/dep-gm")
check "gemini: key recorded" "g-key-1 /dep-gm$GM:generateContent" \
    "$(jq -r '.[-1]|"\(.headers["x-goog-api-key"]) \(.path)"' <<<"$R")"
R=$(gchat "$(gmsg 'x [[mock {"usage":{"prompt_tokens":10,"completion_tokens":4,"cached_tokens":6,"reasoning_tokens":7}}]]')")
check "gemini: usage override" "10 4 21 6 7" \
    "$(jq -r '.usageMetadata|"\(.promptTokenCount) \(.candidatesTokenCount) \(.totalTokenCount) \(.cachedContentTokenCount) \(.thoughtsTokenCount)"' <<<"$R")"
C1=$(gchat '{"contents":[{"role":"system","parts":[{"text":"x"}]}]}' | jq -r .error.status)
check "gemini: invalid role rejected" "INVALID_ARGUMENT" "$C1"

gchat "$(gmsg hi)" "/dep-gs$GM:streamGenerateContent?alt=sse" >"$TMP/gs"
check "gemini stream: CRLF framed data events only" "3 3 0" \
    "$(grep -c $'^data: .*\r$' "$TMP/gs") $(grep -c $'^\r$' "$TMP/gs") $(grep -c -v -e '^data: ' -e $'^\r$' "$TMP/gs")"
sse_data <"$TMP/gs" | jq -s . >"$TMP/gs.json"
check "gemini stream: pieces" "Hello from dep-gs." \
    "$(jq -j '.[].candidates[0].content.parts[0].text' "$TMP/gs.json")"
check "gemini stream: finishReason and usage on the last" "null null STOP 3 4" \
    "$(jq -r '"\(.[0].candidates[0].finishReason) \(.[1].candidates[0].finishReason) \(.[-1].candidates[0].finishReason) \(.[-1].usageMetadata.candidatesTokenCount) \(.[-1].usageMetadata.totalTokenCount)"' "$TMP/gs.json")"
check "gemini stream: no [DONE]" "0" "$(grep -c DONE "$TMP/gs")"
C1=$(gchat "$(gmsg hi)" "$GM:streamGenerateContent" | jq -r .error.code)
check "gemini stream: alt=sse required" "400" "$C1"

GTOOLS='{"tools":[{"functionDeclarations":[{"name":"get_weather"}]}]}'
R=$(gchat "$(gmsg 'w [[mock {"tool_arguments":"{\"city\":\"Oslo\"}"}]]' "$GTOOLS")")
check "gemini tools: functionCall" "get_weather Oslo STOP" \
    "$(jq -r '.candidates[0]|"\(.content.parts[0].functionCall.name) \(.content.parts[0].functionCall.args.city) \(.finishReason)"' <<<"$R")"
R=$(gchat "$(gmsg 'w [[mock {"parallel_calls":3}]]' "$GTOOLS")")
check "gemini tools: parallel_calls" "3 0,1,2" \
    "$(jq -r '.candidates[0].content.parts|"\(length) \([.[].functionCall.args.i]|map(tostring)|join(","))"' <<<"$R")"
R=$(gchat "$(gmsg w "$(jq -c '. + {toolConfig:{functionCallingConfig:{mode:"NONE"}}}' <<<"$GTOOLS")")")
check "gemini tools: mode NONE" "Hello from default." \
    "$(jq -r '.candidates[0].content.parts[0].text' <<<"$R")"
R=$(gchat "$(jq -cn --argjson t "$GTOOLS" '{contents:[
    {role:"user",parts:[{text:"w"}]},
    {role:"model",parts:[{functionCall:{name:"get_weather",args:{}}}]},
    {role:"user",parts:[{functionResponse:{name:"get_weather",response:{temp_c:4}}}]}]} + $t')")
check "gemini tools: functionResponse" 'Tool result: {"temp_c":4}' \
    "$(jq -r '.candidates[0].content.parts[0].text' <<<"$R")"
gchat "$(gmsg w "$GTOOLS")" "$GM:streamGenerateContent?alt=sse" | sse_data | jq -s . >"$TMP/gt.json"
check "gemini tools stream: one chunk" "1 get_weather STOP" \
    "$(jq -r '"\(length) \(.[0].candidates[0].content.parts[0].functionCall.name) \(.[0].candidates[0].finishReason)"' "$TMP/gt.json")"
GTOOLS2='{"tools":[{"functionDeclarations":[{"name":"get_weather"}]},{"functionDeclarations":[{"name":"a"},{"name":"get_time"}]}]}'
R=$(gchat "$(gmsg 'w [[mock {"tool_name":"get_time"}]]' "$GTOOLS2")")
check "gemini tools: tool_name in a later declaration" "get_time" \
    "$(jq -r '.candidates[0].content.parts[0].functionCall.name' <<<"$R")"

curl -s -D "$TMP/h" -o "$TMP/b" "$U/dep-ge$GM:generateContent" \
    -d "$(gmsg 'x [[mock {"status":429,"retry_after":7}]]')"
check "gemini 429: status, Retry-After" "429 7" \
    "$(head -n1 "$TMP/h" | cut -d' ' -f2) $(grep -i '^retry-after:' "$TMP/h" | tr -d '\r' | cut -d' ' -f2)"
check "gemini 429: body" "429 RESOURCE_EXHAUSTED type.googleapis.com/google.rpc.RetryInfo 7s" \
    "$(jq -r '.error|"\(.code) \(.status) \(.details[0]["@type"]) \(.details[0].retryDelay)"' "$TMP/b")"
OUT=""
for s in 400 403 500 503; do
    OUT="$OUT $(gchat "$(gmsg "x [[mock {\"status\":$s}]]")" | jq -r '"\(.error.code):\(.error.status)"')"
done
check "gemini errors: status names" " 400:INVALID_ARGUMENT 403:PERMISSION_DENIED 500:INTERNAL 503:UNAVAILABLE" "$OUT"
gchat "$(gmsg 'a b c [[mock {"stream_error":true}]]')" "$GM:streamGenerateContent?alt=sse" |
    sse_data >"$TMP/ge"
check "gemini stream_error: one chunk, then the error" "2 null UNAVAILABLE" \
    "$(wc -l <"$TMP/ge") $(head -n1 "$TMP/ge" | jq -r '.candidates[0].finishReason') $(tail -n1 "$TMP/ge" | jq -r .error.status)"
gchat "$(gmsg 'x [[mock {"malformed":true}]]')" "$GM:streamGenerateContent?alt=sse" |
    sse_data >"$TMP/gmf"
BAD=0
while IFS= read -r line; do
    jq -e . >/dev/null 2>&1 <<<"$line" || BAD=$((BAD + 1))
done <"$TMP/gmf"
check "gemini malformed stream: one invalid event, second" "1 1" \
    "$BAD $(sed -n 2p "$TMP/gmf" | jq . >/dev/null 2>&1 && echo 0 || echo 1)"
if gchat "$(gmsg 'x [[mock {"malformed":true}]]')" | jq . >/dev/null 2>&1; then
    not_ok "gemini malformed: body is invalid JSON"
else
    ok "gemini malformed: body is invalid JSON"
fi
curl -s -X PUT "$U/_mock/faults/dep-go" -d '{"content":"{\"a\":1}","count":5}' >/dev/null
R=$(gchat "$(gmsg 'q [[mock {"fenced":true}]]')" "/dep-go$GM:generateContent")
check "gemini override: fenced dep content" $'```json\n{"a":1}\n```' \
    "$(jq -r '.candidates[0].content.parts[0].text' <<<"$R")"
R=$(curl -s "$U/_mock/faults/dep-go")
check "gemini: count consumed" "4" "$(jq -r .remaining <<<"$R")"
check "gemini: models" "models/mock-model" "$(curl -s "$U/v1beta/models" | jq -r '.models[0].name')"

# ---- the tally of reported usage ----------------------------------------------------
# tally JQ - apply JQ to GET /_mock/tally
tally() { curl -s "$U/_mock/tally" | jq -r "$1"; }
# last_call JQ - apply JQ to the tally's last call record
last_call() { curl -s "$U/_mock/tally" | jq -r ".log[-1] | $1"; }
check "tally: cleared" "true" "$(curl -s -X DELETE "$U/_mock/tally" | jq -r .ok)"
check "tally: empty" "0 0" "$(tally '"\(.calls) \(.log|length)"')"

R=$(curl -s "$U/dep-t/v1/chat/completions" -H 'Authorization: Bearer sk-t1' \
    -d "$(msg 'count me [[mock {"tag":"T-1","usage":{"prompt_tokens":11,"completion_tokens":7}}]]')")
check "tally: reply usage" "11 7" "$(jq -r '.usage|"\(.prompt_tokens) \(.completion_tokens)"' <<<"$R")"
check "tally: call record" "dep-t gpt-test sk-t1 T-1 false 200 usage 11 7" \
    "$(last_call '"\(.deployment) \(.model) \(.key) \(.tag) \(.stream) \(.status) \(.outcome) \(.usage.prompt_tokens) \(.usage.completion_tokens)"')"
check "tally: totals" "1 1 0 11 7" \
    "$(tally '"\(.calls) \(.with_usage) \(.without_usage) \(.prompt_tokens) \(.completion_tokens)"')"
check "tally: by model, key, deployment" "1 1 1" \
    "$(tally '"\(.by_model["gpt-test"].calls) \(.by_key["sk-t1"].with_usage) \(.by_deployment["dep-t"].prompt_tokens / 11)"')"

R=$(chat "$(msg 'x [[mock {"no_usage":true,"tag":"T-2"}]]')")
check "no_usage: reply without usage" "false Hello from default." \
    "$(jq -r '"\(has("usage")) \(.choices[0].message.content)"' <<<"$R")"
check "no_usage: counted without usage" "no_usage null 10 3 -" \
    "$(last_call '"\(.outcome) \(.usage) \(.tokens.prompt_tokens) \(.tokens.completion_tokens) \(.key)"')"

chat "$(msg 'x [[mock {"no_usage":true}]]' '{"stream":true,"stream_options":{"include_usage":true}}')" |
    sse_data >"$TMP/nu"
check "no_usage stream: no usage chunk, [DONE]" "0 [DONE]" \
    "$(grep -v '^\[DONE\]$' "$TMP/nu" | jq -s '[.[]|select(.usage != null)]|length') $(tail -n1 "$TMP/nu")"
check "no_usage stream: counted without usage" "no_usage true" "$(last_call '"\(.outcome) \(.stream)"')"
chat "$(msg hi '{"stream":true,"stream_options":{"include_usage":true}}')" >/dev/null
check "stream with usage chunk: counted" "usage 7" "$(last_call '"\(.outcome) \(.events_sent)"')"
chat "$(msg hi '{"stream":true}')" >/dev/null
check "stream without include_usage: no usage reported" "no_usage" "$(last_call .outcome)"
chat "$(msg 'x [[mock {"stream_drop_after":3}]]' '{"stream":true,"stream_options":{"include_usage":true}}')" >/dev/null
check "stream cut by stream_drop_after: no usage reported" "no_usage 3" \
    "$(last_call '"\(.outcome) \(.events_sent)"')"
curl -s -N --max-time 0.5 "$U/v1/chat/completions" -d "$(msg 'a b c d e f [[mock {"chunk_delay_ms":200,"tag":"gone"}]]' \
    '{"stream":true,"stream_options":{"include_usage":true}}')" >/dev/null
for _ in $(seq 1 40); do
    [ "$(last_call .tag)" = gone ] && break
    sleep 0.05
done
check "caller gone mid-stream: no usage reported" "gone no_usage 200" \
    "$(last_call '"\(.tag) \(.outcome) \(.status)"')"
chat "$(msg 'x [[mock {"status":500}]]')" >/dev/null
check "error status: counted as an error" "error 500 null" "$(last_call '"\(.outcome) \(.status) \(.tokens)"')"
curl -s "$U/v1/chat/completions" -d "$(msg 'x [[mock {"reset":true}]]')" >/dev/null
check "reset: counted as no answer" "none 0" "$(last_call '"\(.outcome) \(.status)"')"
check "tally: outcome totals" "9 2 5 1 1" \
    "$(tally '"\(.calls) \(.with_usage) \(.without_usage) \(.errors) \(.no_answer)"')"
curl -s -X PUT "$U/_mock/faults/dep-tag" -d '{"tag":"from-dep"}' >/dev/null
chat "$(msg hi)" /dep-tag/v1/chat/completions >/dev/null
check "tag from a deployment spec" "from-dep" "$(last_call .tag)"
check "tally: reset" "true 0 0" \
    "$(curl -s -X DELETE "$U/_mock/tally" | jq -r .ok) $(tally '"\(.calls) \(.log|length)"')"

# ---- n choices, paced replies, contract violations ----------------------------------
R=$(chat "$(msg hi '{"n":3}')")
check "n=3: three choices, tokens x3" "3 0,1,2 9" \
    "$(jq -r '"\(.choices|length) \([.choices[].index]|map(tostring)|join(",")) \(.usage.completion_tokens)"' <<<"$R")"
chat "$(msg hi '{"n":2,"stream":true,"stream_options":{"include_usage":true}}')" | sse_data |
    grep -v '^\[DONE\]$' | jq -s . >"$TMP/n2.json"
check "n=2 stream: each choice whole, usage x2" "Hello from default.|Hello from default.|6" \
    "$(jq -r '[(0,1) as $i | [.[].choices[]|select(.index == $i)|.delta.content // empty]|join("")]+[(.[-1].usage.completion_tokens|tostring)]|join("|")' "$TMP/n2.json")"
check "n=0: 400" "400" "$(curl -s -o /dev/null -w '%{http_code}' "$U/v1/chat/completions" -d "$(msg hi '{"n":0}')")"
T=$(curl -s -o /dev/null -w '%{time_total}' "$U/v1/chat/completions" \
    -d "$(msg 'x [[mock {"chunks":4,"chunk_delay_ms":150}]]')")
check "paced reply: 4 pieces x 150 ms before the head" "true" "$(jq -n "$T >= 0.55 and $T < 3")"
# head_stall_ms: the head at once, the body (a stream's first event) after it
for S in false true; do
    T=$(curl -s -o "$TMP/hs" -w '%{time_starttransfer} %{time_total}' "$U/v1/chat/completions" \
        -d "$(msg 'x [[mock {"head_stall_ms":400}]]' "{\"stream\":$S}")")
    check "head_stall_ms (stream $S): head < 0.3 s, body after 0.4 s" "true" \
        "$(jq -n "${T% *} < 0.3 and ${T#* } >= 0.38 and ${T#* } < 3")"
    check "head_stall_ms (stream $S): the whole answer" "1" \
        "$(grep -c 'Hello from default\|^data: \[DONE\]' "$TMP/hs")"
done
R=$(chat "$(msg 'x [[mock {"content":"{\"name\": 7}"}]]')")
check "schema-violating content as given" '{"name": 7}' "$(jq -r '.choices[0].message.content' <<<"$R")"

# ---- no_usage and the tally in the other dialects ------------------------------------
R=$(achat "$(amsg 'x [[mock {"no_usage":true}]]')")
check "anthropic no_usage: reply without usage" "false end_turn" \
    "$(jq -r '"\(has("usage")) \(.stop_reason)"' <<<"$R")"
achat "$(amsg 'x [[mock {"no_usage":true}]]' '{"stream":true}')" | sse_data | jq -s . >"$TMP/anu.json"
check "anthropic no_usage stream: no usage anywhere" "0 message_stop" \
    "$(jq -r '"\([.[]|select(.usage != null or .message.usage != null)]|length) \(.[-1].type)"' "$TMP/anu.json")"
check "anthropic no_usage stream: no usage reported" "no_usage sk-ant-1" "$(last_call '"\(.outcome) \(.key)"')"
achat "$(amsg hi '{"stream":true}')" >/dev/null
check "anthropic stream: usage reported" "usage" "$(last_call .outcome)"
R=$(gchat "$(gmsg 'x [[mock {"no_usage":true}]]')")
check "gemini no_usage: no usageMetadata" "false STOP" \
    "$(jq -r '"\(has("usageMetadata")) \(.candidates[0].finishReason)"' <<<"$R")"
gchat "$(gmsg hi)" "$GM:streamGenerateContent?alt=sse" >/dev/null
check "gemini stream: usage reported" "usage gemini-test g-key-1" \
    "$(last_call '"\(.outcome) \(.model) \(.key)"')"

# ---- OpenAI Responses ---------------------------------------------------------------
# rmsg TEXT [EXTRA] - a Responses request body with a string input
rmsg() {
    jq -cn --arg t "$1" --argjson x "${2:-{\}}" '{model:"gpt-r",input:$t} + $x'
}
# rchat BODY [PATH] - POST a Responses request
rchat() { chat "$1" "${2:-/v1/responses}"; }

R=$(rchat "$(rmsg 'hello there' '{"instructions":"Be nice."}')")
check "responses: object" "response completed gpt-r resp_mock_" \
    "$(jq -r '"\(.object) \(.status) \(.model) \(.id[0:10])"' <<<"$R")"
check "responses: message item" "message assistant output_text Hello from default." \
    "$(jq -r '.output[0]|"\(.type) \(.role) \(.content[0].type) \(.content[0].text)"' <<<"$R")"
check "responses: usage (instructions counted)" "4 3 7 0 0" \
    "$(jq -r '.usage|"\(.input_tokens) \(.output_tokens) \(.total_tokens) \(.input_tokens_details.cached_tokens) \(.output_tokens_details.reasoning_tokens)"' <<<"$R")"
R=$(rchat "$(jq -cn '{model:"m",input:[{role:"developer",content:"x"},{type:"message",role:"user",content:[{type:"input_text",text:"hi"}]}]}')" /dep-rs/v1/responses)
check "responses: deployment prefix, input items" "Hello from dep-rs." "$(jq -r '.output[0].content[0].text' <<<"$R")"
R=$(rchat "$(rmsg 'x [[mock {"usage":{"prompt_tokens":9,"cached_tokens":4,"reasoning_tokens":2}}]]')")
check "responses: usage override" "9 4 2" \
    "$(jq -r '.usage|"\(.input_tokens) \(.input_tokens_details.cached_tokens) \(.output_tokens_details.reasoning_tokens)"' <<<"$R")"
OUT=""
for b in '{"model":"m","input":"x","max_output_tokens":8}' '{"model":"m","input":"x","previous_response_id":"resp_1"}' \
    '{"model":"m","input":[{"role":"tool","content":"x"}]}' '{"input":"x"}'; do
    OUT="$OUT $(curl -s -o /dev/null -w '%{http_code}' "$U/v1/responses" -d "$b")"
done
check "responses: refused (max_output_tokens < 16, previous_response_id, role, model)" " 400 400 400 400" "$OUT"

rchat "$(rmsg hi '{"stream":true}')" /dep-rs/v1/responses >"$TMP/rs"
check "responses stream: event order" \
    "response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta response.output_text.delta response.output_text.delta response.output_text.done response.content_part.done response.output_item.done response.completed" \
    "$(sse_events <"$TMP/rs")"
sse_data <"$TMP/rs" | jq -s . >"$TMP/rs.json"
check "responses stream: data types match events, sequence numbers" \
    "$(sse_events <"$TMP/rs") 0,1,2,3,4,5,6,7,8,9,10" \
    "$(jq -r '"\([.[].type]|join(" ")) \([.[].sequence_number]|map(tostring)|join(","))"' "$TMP/rs.json")"
check "responses stream: text" "Hello from dep-rs.|Hello from dep-rs." \
    "$(jq -j '[.[]|select(.type=="response.output_text.delta")|.delta]|join("")' "$TMP/rs.json")|$(jq -r '.[-1].response.output[0].content[0].text' "$TMP/rs.json")"
check "responses stream: usage on response.completed only" "completed 1 3 1" \
    "$(jq -r '"\(.[-1].response.status) \(.[-1].response.usage.input_tokens) \(.[-1].response.usage.output_tokens) \([.[]|select(.response.usage != null)]|length)"' "$TMP/rs.json")"
check "responses stream: no [DONE], usage reported" "0 usage 11" \
    "$(grep -c DONE "$TMP/rs") $(last_call '"\(.outcome) \(.events_sent)"')"

RTOOLS='{"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"},"strict":false},{"type":"function","name":"get_time"}]}'
R=$(rchat "$(rmsg 'w [[mock {"tool_arguments":"{\"city\":\"Oslo\"}"}]]' "$RTOOLS")")
check "responses tools: function_call" "function_call get_weather Oslo call_mock_ completed" \
    "$(jq -r '.output[0]|"\(.type) \(.name) \(.arguments|fromjson|.city) \(.call_id[0:10]) \(.status)"' <<<"$R")"
R=$(rchat "$(rmsg 'w [[mock {"tool_name":"get_time","parallel_calls":2}]]' "$RTOOLS")")
check "responses tools: tool_name, parallel_calls" "get_time get_time 0 1" \
    "$(jq -r '"\(.output[0].name) \(.output[1].name) \(.output[0].arguments|fromjson|.i) \(.output[1].arguments|fromjson|.i)"' <<<"$R")"
R=$(rchat "$(rmsg w "$(jq -c '. + {tool_choice:"none"}' <<<"$RTOOLS")")")
check "responses tools: tool_choice none" "message" "$(jq -r '.output[0].type' <<<"$R")"
R=$(rchat "$(jq -cn --argjson t "$RTOOLS" '{model:"m",input:[{role:"user",content:"w"},
    {type:"function_call",call_id:"call_1",name:"get_weather",arguments:"{}"},
    {type:"function_call_output",call_id:"call_1",output:"4 C"}]} + $t')")
check "responses tools: function_call_output" "Tool result: 4 C" "$(jq -r '.output[0].content[0].text' <<<"$R")"
rchat "$(rmsg 'w [[mock {"tool_arguments":"{\"city\":\"Oslo\"}"}]]' "$(jq -c '. + {stream:true}' <<<"$RTOOLS")")" |
    sse_data | jq -s . >"$TMP/rt.json"
check "responses tools stream: argument deltas" "Oslo Oslo get_weather 2" \
    "$(jq -r '"\([.[]|select(.type=="response.function_call_arguments.delta")|.delta]|join("")|fromjson|.city) \(.[]|select(.type=="response.function_call_arguments.done")|.arguments|fromjson|.city) \(.[2].item.name) \([.[]|select(.type=="response.function_call_arguments.delta")]|length)"' "$TMP/rt.json")"

curl -s -D "$TMP/h" -o "$TMP/b" "$U/v1/responses" -d "$(rmsg 'x [[mock {"status":429,"retry_after":3}]]')"
check "responses 429: OpenAI error shape, Retry-After" "429 3 requests rate_limit_exceeded" \
    "$(head -n1 "$TMP/h" | cut -d' ' -f2) $(grep -i '^retry-after:' "$TMP/h" | tr -d '\r' | cut -d' ' -f2) $(jq -r '.error|"\(.type) \(.code)"' "$TMP/b")"
check "responses 500: server_error" "server_error" \
    "$(rchat "$(rmsg 'x [[mock {"status":500}]]')" | jq -r .error.type)"
rchat "$(rmsg 'a b c [[mock {"stream_error":true}]]' '{"stream":true}')" >"$TMP/re"
check "responses stream_error: one delta, then the error event" \
    "response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta error server_error" \
    "$(sse_events <"$TMP/re") $(sse_data <"$TMP/re" | tail -n1 | jq -r .code)"
rchat "$(rmsg 'x [[mock {"malformed":true}]]' '{"stream":true}')" | sse_data >"$TMP/rm"
check "responses malformed stream: the second event is invalid" "1" \
    "$(sed -n 2p "$TMP/rm" | jq . >/dev/null 2>&1 && echo 0 || echo 1)"
R=$(rchat "$(rmsg 'x [[mock {"no_usage":true}]]')")
check "responses no_usage: no usage" "false completed" "$(jq -r '"\(has("usage")) \(.status)"' <<<"$R")"
rchat "$(rmsg 'x [[mock {"no_usage":true}]]' '{"stream":true}')" >/dev/null
check "responses no_usage stream: no usage reported" "no_usage" "$(last_call .outcome)"

# ---- profiles: latency distributions and prompt caching ---------------------------
PD=$(jq -cn '{delay_dist:{p50_ms:30,p99_ms:60},chunk_delay_dist:{p50_ms:10,p99_ms:20},prompt_cache:{min_tokens:100}}')
check "profile: PUT echoes it" "30 100" \
    "$(curl -s -X PUT "$U/_mock/profile/pf" -d "$PD" | jq -r '"\(.profile.delay_dist.p50_ms) \(.profile.prompt_cache.min_tokens)"')"
check "profile: rate is refused" "400" \
    "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$U/_mock/profile/pf" -d '{"rate":0.5}')"
check "profile: a fault spec leaves it" "30" \
    "$(curl -s -X PUT "$U/_mock/faults/pf" -d '{"status":429,"only_key":"k1"}' >/dev/null;
       curl -s "$U/_mock/profile/pf" | jq -r .profile.delay_dist.p50_ms)"
T=$(curl -s -o /dev/null -w '%{time_total}' "$U/pf/v1/chat/completions" \
    -d "$(msg 'a b c d e' '{"stream":true}')")
check "profile: delay and per-token time apply (>= 60 ms)" "1" \
    "$(awk -v t="$T" 'BEGIN{print (t >= 0.06) ? 1 : 0}')"
check "profile: under the only_key fault of another key" "429 200" \
    "$(curl -s -o /dev/null -w '%{http_code}' "$U/pf/v1/chat/completions" -H 'Authorization: Bearer k1' -d "$(msg hi)") $(curl -s -o /dev/null -w '%{http_code}' "$U/pf/v1/chat/completions" -H 'Authorization: Bearer k2' -d "$(msg hi)")"
SYS=$(printf 's%.0s' $(seq 1 800))
PC1=$(jq -cn --arg s "$SYS" '{model:"m",messages:[{role:"system",content:$s},{role:"user",content:"turn one"}]}')
PC2=$(jq -c '.messages += [{role:"assistant",content:"Hello."},{role:"user",content:"turn two"}]' <<<"$PC1")
check "prompt cache: first request, nothing cached" "0" \
    "$(chat "$PC1" /pf/v1/chat/completions | jq -r .usage.prompt_tokens_details.cached_tokens)"
check "prompt cache: the next turn reuses the prefix (OpenAI)" "202 205" \
    "$(chat "$PC2" /pf/v1/chat/completions | jq -r '"\(.usage.prompt_tokens_details.cached_tokens) \(.usage.prompt_tokens)"')"
check "prompt cache: another deployment has no cache" "0" \
    "$(curl -s -X PUT "$U/_mock/profile/pg" -d "$PD" >/dev/null; chat "$PC2" /pg/v1/chat/completions | jq -r .usage.prompt_tokens_details.cached_tokens)"
check "prompt cache: a failed request leaves nothing (the system part was cached before)" "200" \
    "$(chat "$(jq -c '.messages[1].content="other [[mock {\"status\":500}]]"' <<<"$PC1")" /pf/v1/chat/completions >/dev/null;
       chat "$(jq -c '.messages[1].content="other [[mock {\"status\":500}]]" | .messages += [{role:"user",content:"x"}]' <<<"$PC1")" /pf/v1/chat/completions | jq -r .usage.prompt_tokens_details.cached_tokens)"
AC1=$(jq -cn --arg s "$SYS" '{model:"m",max_tokens:16,system:$s,messages:[{role:"user",content:"turn one"}]}')
AC2=$(jq -c '.messages += [{role:"assistant",content:"Hello."},{role:"user",content:"turn two"}]' <<<"$AC1")
achat "$AC1" /pf/v1/messages >/dev/null
check "prompt cache: Anthropic cache_read_input_tokens, input_tokens without them" "202 3" \
    "$(achat "$AC2" /pf/v1/messages | jq -r '"\(.usage.cache_read_input_tokens) \(.usage.input_tokens)"')"
check "prompt cache: off without the profile (usage as before)" "null" \
    "$(curl -s -X DELETE "$U/_mock/profile/pf" >/dev/null; chat "$PC2" /pf/v1/chat/completions | jq -r .usage.prompt_tokens_details.cached_tokens)"
curl -s -X DELETE "$U/_mock/faults" >/dev/null

# ---- --common-draws: a request's latency draws follow the request -----------------
"$MOCK" --port 0 --port-file "$TMP/port2" --max-lifetime 60 --quiet --common-draws \
    >/dev/null 2>"$TMP/stderr2" &
PID2=$!
for _ in $(seq 1 100); do [ -s "$TMP/port2" ] && break; sleep 0.05; done
U2="http://127.0.0.1:$(cat "$TMP/port2")"
PW=$(jq -cn '{delay_dist:{p50_ms:250,p99_ms:2500}}')
curl -s -X PUT "$U2/_mock/profile/cd1" -d "$PW" >/dev/null
curl -s -X PUT "$U2/_mock/profile/cd2" -d "$PW" >/dev/null
# ttfb DEP TRACE-DIGIT - seconds to the head of one request of trace 0..0<d>
ttfb() {
    curl -s -o /dev/null -w '%{time_starttransfer}' --max-time 10 "$U2/$1/v1/chat/completions" \
        -H "traceparent: 00-$(printf '%032d' "$2")-00f067aa0ba902b7-01" -d "$(msg 'same question')"
}
# near A B - 1 when two times are within 100 ms (scheduling jitter of a
# loaded machine; the draws themselves are equal or far apart)
near() { awk -v a="$1" -v b="$2" 'BEGIN{d=a-b; if (d<0) d=-d; print (d < 0.1) ? 1 : 0}'; }
T1=$(ttfb cd1 1); T2=$(ttfb cd1 2); T3=$(ttfb cd2 3)
check "common draws: the first call of equal requests waits as long (two traces, two deployments)" "1 1" \
    "$(near "$T1" "$T2") $(near "$T1" "$T3")"
curl -s -X PUT "$U2/_mock/faults/cd3" -d '{"status":503}' >/dev/null
C503=$(curl -s -o /dev/null -w '%{http_code}' "$U2/cd3/v1/chat/completions" \
    -H "traceparent: 00-$(printf '%032d' 4)-00f067aa0ba902b7-01" -d "$(msg 'same question')")
check "common draws: a retry after an error draws as a first call" "503 1" \
    "$C503 $(near "$T1" "$(ttfb cd1 4)")"
SAME=0
for _ in 1 2 3 4; do SAME=$((SAME + $(near "$T1" "$(ttfb cd1 1)"))); done
check "common draws: later calls of one trace draw anew (4 calls, not all as the first)" "1" \
    "$(awk -v n="$SAME" 'BEGIN{print (n < 4) ? 1 : 0}')"
kill "$PID2" 2>/dev/null; wait "$PID2" 2>/dev/null

# ---- still alive ------------------------------------------------------------------
if kill -0 "$PID" 2>/dev/null; then ok "mock still running"; else not_ok "mock still running"; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
