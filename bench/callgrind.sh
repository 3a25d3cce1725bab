#!/usr/bin/env bash
# bench/callgrind.sh TMPDIR SWITCHYARD CONFIG POST_LUA [SECS] - the
# profile of bench/run.sh when perf cannot record (no perf_event access):
# one switchyard worker (1 process x 4 threads, the CONFIG otherwise)
# under valgrind --tool=callgrind, behind conf/lighttpd.conf, serving
# wrk -t1 -c4 for SECS seconds (default 20; valgrind runs the worker
# some 50 times slower). Prints callgrind_annotate's inclusive and
# exclusive tables. Everything it starts is stopped before it returns.
set -u
[ $# -ge 4 ] || { echo "usage: callgrind.sh TMPDIR SWITCHYARD CONFIG POST_LUA [SECS]" >&2; exit 2; }
tmp=$1 sw=$2 conf=$3 lua=$4 secs=${5:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$tmp/callgrind"
mkdir -p "$dir/run"
chmod 755 "$dir" "$dir/run"
pids=""
cleanup() {
    for p in $pids; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; done
    sleep 1
    for p in $pids; do kill -KILL -- "-$p" 2>/dev/null; done
}
trap cleanup EXIT

timeout -k 5 300 valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out.%p" \
    "$sw" serve --config "$conf" --listen "unix:$dir/sy.sock" --processes 1 --threads 4 \
    --pid-file "$dir/sy.pid" </dev/null >"$dir/valgrind.log" 2>&1 &
vg=$!
pids="$vg"
for _ in $(seq 300); do [ -S "$dir/sy.sock" ] && break; sleep 0.1; done
[ -S "$dir/sy.sock" ] || { echo "callgrind: switchyard did not start under valgrind" >&2; tail "$dir/valgrind.log" >&2; exit 1; }
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
SWITCHYARD_HTTP_ADDR=127.0.0.1 SWITCHYARD_HTTP_PORT=$port SWITCHYARD_SOCKET="$dir/sy.sock" \
SWITCHYARD_RUN_DIR="$dir/run" timeout -k 5 300 lighttpd -D -f "$root/conf/lighttpd.conf" \
    </dev/null >"$dir/lighttpd.out" 2>&1 &
pids="$! $pids"
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.2; done
url="http://127.0.0.1:$port/v1/chat/completions"
wrk -t1 -c4 -d"${secs}s" --timeout 10s -s "$lua" "$url" >"$dir/wrk.txt" 2>&1
echo "# valgrind --tool=callgrind switchyard serve --processes 1 --threads 4 (bench config), during wrk -t1 -c4 -d${secs}s:"
grep -E "requests in|Requests/sec" "$dir/wrk.txt" | sed 's/^/#   /'
# SIGTERM drains the worker; callgrind writes its file when it exits.
kill -TERM "$(cat "$dir/sy.pid")" 2>/dev/null
for _ in $(seq 100); do kill -0 "$vg" 2>/dev/null || break; sleep 0.1; done
out=$(ls -S "$dir"/callgrind.out.* 2>/dev/null | head -1)
[ -n "$out" ] || { echo "callgrind: no output file" >&2; exit 1; }
echo "# $(basename "$out") (the worker: the largest file)"
echo
echo "## inclusive"
callgrind_annotate --inclusive=yes "$out" 2>/dev/null | head -60
echo
echo "## exclusive"
callgrind_annotate "$out" 2>/dev/null | head -45
