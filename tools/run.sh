#!/bin/sh
# tools/run.sh BUILD_DIR - run the gateway locally, in the foreground
# ('make run' calls it as: PORT=$(PORT) sh tools/run.sh build).
#
# Starts, all on 127.0.0.1 and inside one temporary directory:
#   - redis-server on a free port, without persistence; exported as
#     SWITCHYARD_REDIS_URL (shared state, for the versions that use it);
#   - the mock provider (BUILD_DIR/mock-llm) on a free port, exported as
#     SWITCHYARD_MOCK_PORT, unless a real provider key is set
#     (OPENAI_API_KEY, OPENROUTER_API_KEY, DEEPSEEK_API_KEY,
#     MISTRAL_API_KEY, ANTHROPIC_API_KEY or GEMINI_API_KEY);
#   - switchyard serve on a unix socket with the embedded default config
#     (or $SWITCHYARD_CONFIG when you set it);
#   - lighttpd with conf/lighttpd.conf on 127.0.0.1:$PORT (default 8080).
#
# Ctrl-C or SIGTERM stops everything and removes the temporary directory.
# When Redis dies (kill it by hand to watch), the gateway carries on in
# degraded mode (local limits and breakers, see docs/shared-state.md) and
# this script keeps serving; start Redis again on the same port with the
# command it prints and the workers reconnect. When any other process
# dies, the rest are stopped and the exit status is 1.
# Every process also has a lifetime of SY_RUN_LIFETIME seconds (default
# 43200, 12 hours), so nothing outlives a killed shell for long.
# SY_RUN_LEAVE=1 keeps the temporary directory (logs).
set -u

usage() {
    echo "usage: PORT=8080 sh tools/run.sh BUILD_DIR" >&2
    exit 2
}
[ $# -eq 1 ] || usage
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1
[ -d "$build" ] || { echo "run: no build directory '$build' (run make)" >&2; exit 1; }
build=$(cd "$build" && pwd)
port=${PORT:-8080}
lifetime=${SY_RUN_LIFETIME:-43200}
PATH="$PATH:/usr/sbin:/sbin"
export PATH

need() {
    command -v "$1" >/dev/null 2>&1 || {
        echo "run: $1 is not installed (make deps installs it)" >&2
        exit 1
    }
}
need lighttpd
need redis-server
need curl
need timeout
[ -x "$build/switchyard" ] || { echo "run: $build/switchyard is missing (run make)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-run-XXXXXX") || exit 1
chmod 755 "$tmp"
mkdir "$tmp/run"

# name:pid of everything started, in start order.
procs=""
stopping=0

say() { printf '%s\n' "run: $*" >&2; }

stop_all() {
    stopping=1
    # Stop in reverse order: the web server first, redis last.
    rev=""
    for p in $procs; do rev="$p $rev"; done
    for p in $rev; do
        kill -TERM "${p#*:}" 2>/dev/null
    done
    # switchyard drains in-flight requests (server.drain_timeout_ms).
    i=0
    while [ $i -lt 350 ]; do
        alive=0
        for p in $rev; do
            kill -0 "${p#*:}" 2>/dev/null && alive=1
        done
        [ $alive -eq 0 ] && break
        sleep 0.1
        i=$((i + 1))
    done
    # 'timeout' leads its own process group: take its child along.
    for p in $rev; do
        kill -KILL -- "-${p#*:}" 2>/dev/null
        kill -KILL "${p#*:}" 2>/dev/null
    done
    wait 2>/dev/null
    if [ "${SY_RUN_LEAVE:-0}" = 1 ]; then
        say "kept $tmp"
    else
        rm -rf "$tmp"
    fi
}

on_signal() {
    trap '' INT TERM
    echo >&2
    say "stopping"
    stop_all
    exit 0
}
trap on_signal INT TERM HUP
trap '[ $stopping -eq 1 ] || stop_all' EXIT

fail() {
    say "$*"
    trap '' INT TERM
    stop_all
    exit 1
}

# start NAME LOG CMD...: run CMD under a lifetime, output to LOG ("-" for
# the terminal), remember its pid.
start() {
    name=$1 log=$2
    shift 2
    if [ "$log" = - ]; then
        timeout -k 5 "$lifetime" "$@" </dev/null &
    else
        timeout -k 5 "$lifetime" "$@" </dev/null >>"$log" 2>&1 &
    fi
    procs="$procs $name:$!"
    last_pid=$!
}

# wait_until WHAT PID TEST...: poll TEST for 10 s while PID lives.
wait_until() {
    what=$1 pid=$2
    shift 2
    i=0
    while ! "$@" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || return 1
        i=$((i + 1))
        [ $i -gt 200 ] && { say "$what: not ready after 10 s"; return 1; }
        sleep 0.05
    done
}

random_port() {
    n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    echo $((20000 + n % 40000))
}

# ------------------------------------------------------------------ redis
redis_port=""
for _ in 1 2 3 4 5; do
    p=$(random_port)
    log="$tmp/redis.log"
    : >"$log"
    start redis "$log" redis-server --bind 127.0.0.1 --port "$p" \
        --dir "$tmp" --save "" --appendonly no --daemonize no \
        --protected-mode yes --logfile ""
    pid=$last_pid
    if wait_until "redis-server" "$pid" grep -q "Ready to accept connections" "$log"; then
        redis_port=$p
        redis_pid=$pid
        break
    fi
    procs=$(echo "$procs" | sed "s/ redis:$pid//")
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
[ -n "$redis_port" ] || fail "redis-server did not start; see $tmp/redis.log"
SWITCHYARD_REDIS_URL="redis://127.0.0.1:$redis_port"
export SWITCHYARD_REDIS_URL

# ------------------------------------------------------- mock provider
keys=""
for v in OPENAI_API_KEY OPENROUTER_API_KEY DEEPSEEK_API_KEY MISTRAL_API_KEY \
         ANTHROPIC_API_KEY GEMINI_API_KEY; do
    eval "val=\${$v:-}"
    [ -n "$val" ] && keys="$keys $v"
done
mock_pid=""
if [ -z "$keys" ]; then
    [ -x "$build/mock-llm" ] || fail "$build/mock-llm is missing (run make)"
    start mock "$tmp/mock.log" "$build/mock-llm" --port 0 \
        --port-file "$tmp/mock.port" --max-lifetime "$lifetime"
    mock_pid=$last_pid
    wait_until "mock-llm" "$mock_pid" test -s "$tmp/mock.port" ||
        fail "the mock provider did not start; see $tmp/mock.log"
    SWITCHYARD_MOCK_PORT=$(cat "$tmp/mock.port")
    export SWITCHYARD_MOCK_PORT
fi

# ---------------------------------------------------------- switchyard
sock="$tmp/switchyard.sock"
start switchyard - "$build/switchyard" serve --listen "unix:$sock" \
    --pid-file "$tmp/switchyard.pid"
sy_pid=$last_pid
wait_until "switchyard" "$sy_pid" test -S "$sock" ||
    fail "switchyard did not start (its log is above)"

# ------------------------------------------------------------ lighttpd
SWITCHYARD_HTTP_ADDR=127.0.0.1
SWITCHYARD_HTTP_PORT=$port
SWITCHYARD_SOCKET=$sock
SWITCHYARD_RUN_DIR="$tmp/run"
export SWITCHYARD_HTTP_ADDR SWITCHYARD_HTTP_PORT SWITCHYARD_SOCKET \
    SWITCHYARD_RUN_DIR
start lighttpd "$tmp/lighttpd.out" lighttpd -D -f "$root/conf/lighttpd.conf"
lt_pid=$last_pid
if ! wait_until "lighttpd" "$lt_pid" \
        curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; then
    cat "$tmp/lighttpd.out" "$tmp/run/lighttpd-error.log" >&2 2>/dev/null
    fail "lighttpd did not start on 127.0.0.1:$port (port in use? try PORT=...)"
fi

# ---------------------------------------------------------------- ready
url="http://127.0.0.1:$port"
{
    echo
    echo "Switchyard is running (temporary directory $tmp):"
    echo "  redis-server   127.0.0.1:$redis_port   SWITCHYARD_REDIS_URL=$SWITCHYARD_REDIS_URL (pid $redis_pid)"
    if [ -n "$mock_pid" ]; then
        echo "  mock provider  127.0.0.1:$SWITCHYARD_MOCK_PORT   SWITCHYARD_MOCK_PORT=$SWITCHYARD_MOCK_PORT (no provider key set)"
    else
        echo "  providers      real, keys from:$keys (no mock provider)"
    fi
    echo "  switchyard     unix:$sock ($(if [ -n "${SWITCHYARD_CONFIG:-}" ]; then echo "config $SWITCHYARD_CONFIG"; else echo "embedded default config"; fi))"
    echo "  lighttpd       $url/ (conf/lighttpd.conf; logs in $tmp/run)"
    echo
    echo "Try:"
    echo "  curl -s $url/v1/models"
    echo "  curl -s $url/v1/chat/completions -H 'Content-Type: application/json' \\"
    echo "       -d '{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}'"
    echo "  curl -sN $url/v1/chat/completions -H 'Content-Type: application/json' \\"
    echo "       -d '{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}'"
    echo
    echo "Ctrl-C stops everything."
} >&2

# --------------------------------------------------------------- watch
# Wake up every second (or at once on a signal) and check every child.
while :; do
    sleep 1 &
    wait $! 2>/dev/null
    for p in $procs; do
        if ! kill -0 "${p#*:}" 2>/dev/null; then
            name=${p%%:*}
            wait "${p#*:}" 2>/dev/null
            rc=$?
            case $name in
                redis)
                    # Degraded mode, not an outage: keep serving.
                    procs=$(echo "$procs" | sed "s/ $p//")
                    say "redis-server exited (status $rc): the gateway goes on without" \
                        "shared state (local rate limits and breakers; /healthz says so)."
                    say "start it again with: redis-server --bind 127.0.0.1 --port $redis_port --save '' --appendonly no"
                    continue ;;
                mock) tail -n 5 "$tmp/mock.log" >&2 ;;
                lighttpd) tail -n 5 "$tmp/run/lighttpd-error.log" >&2 2>/dev/null ;;
            esac
            fail "$name exited (status $rc); stopping everything"
        fi
    done
done
