#!/bin/sh
# tests/fuzz/seeds.sh CORPUS_DIR - write the seed corpus of every fuzz
# target into CORPUS_DIR/<target>/, from what the repository already has:
#   chat      every golden request.json (tests/adapters/*/*/)
#   contract  the same requests (JSON texts for the strict parser)
#   adapter   every golden reply, in fuzz_adapter.c's input layout (type
#             byte, request/mode byte, status byte or cuts, then the body)
#   schema    [schema, instance...] arrays from the golden requests'
#             response_format and tool parameters, and from the JSON
#             Schema Test Suite when it is installed
#   config    conf/switchyard.json and the golden provider blocks
#   headers   golden reply headers and bodies, in fuzz_headers.c's layout
#   request   golden requests (model set to a group of fuzz_request.c's
#             config) as FastCGI parameters and body, and the GET routes
#   redis     only hand-made RESP replies (tests/fuzz/seeds/redis/)
# plus the hand-made seeds and regression inputs in tests/fuzz/seeds/<t>/.
# Generated, never committed: the directory is rebuilt on every call.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
final=$1
# Written aside and then swapped in, so a reader never sees half a corpus.
out=$final.new
rm -rf "$out"
for t in chat adapter schema config usagelog contract headers request redis; do
    mkdir -p "$out/$t"
done

# byte N: one raw byte (octal escape for printf).
byte() {
    # shellcheck disable=SC2059 # the format is the escape itself
    printf "\\$(printf '%03o' "$1")"
}

type_index() {
    case $1 in
    openai) echo 0 ;; deepseek) echo 1 ;; mistral) echo 2 ;; qwen) echo 3 ;;
    openrouter) echo 4 ;; tokenmix) echo 5 ;; anthropic) echo 6 ;;
    gemini) echo 7 ;; openai-responses) echo 8 ;; *) echo 0 ;;
    esac
}

# The index of a status in fuzz_adapter.c's table (200 when unknown).
status_index() {
    i=0
    for s in 400 401 403 404 408 409 413 422 429 500 502 503 504 529 200 302; do
        [ "$s" = "$1" ] && { echo $i; return; }
        i=$((i + 1))
    done
    echo 14
}

n=0
for dir in "$root"/tests/adapters/*/*/; do
    [ -f "$dir/request.json" ] || continue
    n=$((n + 1))
    prov=$(basename "$(dirname "$dir")")
    case_name=$prov-$(basename "$dir")
    cp "$dir/request.json" "$out/chat/$case_name"
    cp "$dir/request.json" "$out/contract/$case_name"
    # request: no SCRIPT_NAME, PATH_INFO (bits 2, 3); pieces of 61 bytes.
    jq -c '.model = "multi"' "$dir/request.json" >"$out/.req"
    { byte 12; byte 61
      printf 'POST\n/v1/chat/completions\napplication/json\n%s\n' \
          "$(wc -c <"$out/.req" | tr -d ' ')"
      printf 'Bearer sk-fuzz-caller2-0123456789\nreq-%s\n' "$n"
      cat "$out/.req"; } >"$out/request/$case_name"
    jq -c '[.response_format.json_schema.schema // empty, {}] | select(length > 1)' \
        "$dir/request.json" >"$out/schema/$case_name-rf" 2>/dev/null || true
    jq -c '.tools[]?.function.parameters // empty | [., {}]' \
        "$dir/request.json" 2>/dev/null | head -n 1 >"$out/schema/$case_name-tool" || true
    pj=$dir/provider.json
    [ -f "$pj" ] || pj=$(dirname "$dir")/provider.json
    [ -f "$dir/reply.json" ] || continue
    type=$(jq -r '.provider.type' "$pj")
    ti=$(type_index "$type")
    status=$(jq -r '.status // 200' "$dir/reply.json")
    bf=$(jq -r '.body_file // empty' "$dir/reply.json")
    body=$out/.body
    if [ -n "$bf" ]; then
        cp "$dir/$bf" "$body"
    elif jq -e 'has("body_text")' "$dir/reply.json" >/dev/null; then
        jq -j '.body_text' "$dir/reply.json" >"$body"
    else
        jq -c '.body' "$dir/reply.json" >"$body"
    fi
    if [ "$status" = 200 ] && [ -n "$bf" ]; then
        # A stream: whole, and cut in three.
        { byte "$ti"; byte $((128 + 1)); byte 0; cat "$body"; } \
            >"$out/adapter/$case_name-stream"
        { byte "$ti"; byte $((128 + 3)); byte 2; byte 0; byte 7; byte 0; byte 90
          cat "$body"; } >"$out/adapter/$case_name-stream-cut"
    else
        si=$(status_index "$status")
        { byte "$ti"; byte 0; byte "$si"; cat "$body"; } \
            >"$out/adapter/$case_name-reply"
        { byte "$ti"; byte 2; byte "$si"; cat "$body"; } \
            >"$out/adapter/$case_name-reply-tools"
    fi
    # headers: type byte, status byte, then "Name: value" lines, a blank
    # line, the body.
    si=$(status_index "$status")
    { byte "$ti"; byte "$si"
      jq -r '(.headers // {}) | to_entries[] | "\(.key): \(.value)"' \
          "$dir/reply.json" | sed 's/$/\r/'
      printf '\r\n'
      head -c 4096 "$body"; } >"$out/headers/$case_name"
    jq -c '.provider | {providers: {p: .}}' "$pj" >"$out/config/provider-$prov" 2>/dev/null || true
done
rm -f "$out/.body" "$out/.req"
for route in /v1/models /v1/models/one /healthz /admin/keys /v1/models/nope; do
    name=$(echo "$route" | tr '/' '_')
    { byte 44; byte 0
      printf 'GET\n%s\n\nBearer sk-fuzz-admin-0123456789\n' "$route"; } \
        >"$out/request/get$name"
done
find "$out/schema" -type f -empty -delete

cp "$root/conf/switchyard.json" "$out/config/switchyard.json"

suite=/usr/share/json-schema-test-suite/tests
if [ -d "$suite" ]; then
    for f in "$suite"/draft*/*.json; do
        [ -f "$f" ] || continue
        d=$(basename "$(dirname "$f")")
        jq -c '.[] | [.schema] + [.tests[].data]' "$f" 2>/dev/null |
            split -l 1 -a 4 - "$out/schema/suite-$d-$(basename "$f" .json)-" ||
            true
    done
fi

# Hand-made seeds and regression inputs.
for t in "$root"/tests/fuzz/seeds/*/; do
    [ -d "$t" ] || continue
    name=$(basename "$t")
    mkdir -p "$out/$name"
    for f in "$t"*; do
        [ -f "$f" ] && cp "$f" "$out/$name/seed-$(basename "$f")"
    done
done
rm -rf "$final"
mv "$out" "$final"
echo "fuzz seeds: $n golden cases -> $final"
