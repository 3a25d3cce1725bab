#!/usr/bin/env bash
# bench/run.sh BUILD_DIR - the Switchyard benchmark ('make bench').
#
# Starts everything itself, on free 127.0.0.1 ports inside one temporary
# directory, every process under 'timeout' (BENCH_LIFETIME seconds) in
# its own process group, and stops all of it at the end (or on Ctrl-C):
#
#   mock      the mock provider (BUILD_DIR/mock-llm)
#   (a)       the mock, direct
#   (b)       nginx, plain reverse proxy -> mock          (bench/nginx.conf.in)
#   (c)       lighttpd -> FastCGI -> bench/fcgi_hello.c   (conf/lighttpd.conf)
#   (d)       lighttpd -> switchyard -> mock              (conf/lighttpd.conf)
#   (m)       as (d), Anthropic Messages (POST /v1/messages, translated:
#             the mock deployments are of type openai)
#   (r)       as (d), OpenAI Responses (POST /v1/responses, translated),
#             "store": false (the surface alone)
#   (p)       as (r) with the API's default store: each response is also
#             written to the conversation store in Redis
#   (h)       as (d), chat to group gpt-4o-mini-hedged: hedging armed
#             (after_ms 5000), never firing
#   (e)       Apache httpd -> switchyard -> mock          (conf/apache.conf)
#   (g)       as (e), a second Apache whose ProxyPass adds enablereuse=on
#   (f)       lighttpd -> BENCH_COMPARE's switchyard, when set
#   redis     shared state for (d)...(h) and (f)
#
# (d), (m), (r), (p), (h) are the same lighttpd and switchyard pool (only the
# request differs, bench/post.lua with BENCH_REQ); (e) and (g) share that
# pool too.
#
# Switchyard runs the full routing path: state.redis_url, the latency
# strategy over two mock deployments, breakers (defaults), and a caller
# key with an RPM limit (so the Redis reservation runs on every request).
#
# Phases:
#   1. throughput: wrk -t2 -c64 (every target) and wrk -t1 -c1 (a..f
#      only), rounds interleaved a,b,c,d,m,r,p,h,e,g, a,b,...; CPU per
#      request and RSS per process group
#   2. streaming TTFB: curl, interleaved batches against a, d, e (f);
#      then a and d with 20 ms between the mock's events
#   3. profile: perf record (cpu-clock) on the switchyard workers under
#      the (d) load (callgrind when perf cannot record), and Redis'
#      INFO commandstats over the same run
#   4. scale: N slow streams held at once through lighttpd + switchyard
#      (BENCH_SCALE levels; bench/scale.sh sizes both for each level)
# then bench/report.js writes summary.md. Raw data stays in BENCH_OUT
# (default BUILD_DIR/bench/results-<date>).
#
# Knobs (environment): BENCH_ROUNDS (5), BENCH_SECS (4, the -c64 windows),
# BENCH_SECS1 (3, the -c1 windows), BENCH_TTFB_BATCHES (10),
# BENCH_TTFB_PER (50), BENCH_SCALE ("1000 5000 10000"),
# BENCH_SCALE_PROCS (4), BENCH_SCALE_THREADS (auto: the level + 5%,
# BENCH_SCALE_HEADROOM), BENCH_SCALE_RATE (500 new streams per second),
# BENCH_STACK_KB (128), BENCH_CHUNKS (12), BENCH_CHUNK_MS (5000; the held
# streams' events), BENCH_PROFILE (1), BENCH_PROFILE_TARGET (d: the
# target whose load the profile is taken under; m, r, p or h also),
# BENCH_LOG_LEVEL (info), BENCH_LIFETIME (1200), BENCH_OUT, BENCH_KEEP (1
# keeps the temporary directory), BENCH_PHASES ("throughput ttfb profile
# scale": any subset, in that order), BENCH_TARGETS ("a b c d m r p h e g":
# the throughput targets; each must answer 2xx at start-up),
# BENCH_TARGETS1 (those of BENCH_TARGETS among a b c d e f: the -c1
# targets), BENCH_COMPARE (another switchyard binary, e.g. a
# patched build: target (f) = lighttpd -> that binary, same config with
# its own Redis prefix, interleaved with the others in the same rounds),
# BENCH_COMPARE_REQ (chat, messages, responses or responses_store: what
# (f) is sent, to set it beside (d), (m), (r) or (p)).
set -u

usage() { echo "usage: bash bench/run.sh BUILD_DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
root=$(cd "$(dirname "$0")/.." && pwd)
bench="$root/bench"
build=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory '$1' (run make)" >&2; exit 1; }

ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECS:-4}
SECS1=${BENCH_SECS1:-3}
TTFB_BATCHES=${BENCH_TTFB_BATCHES:-10}
TTFB_PER=${BENCH_TTFB_PER:-50}
SCALE=${BENCH_SCALE:-"1000 5000 10000"}
SCALE_PROCS=${BENCH_SCALE_PROCS:-4}
SCALE_THREADS=${BENCH_SCALE_THREADS:-auto}
STACK_KB=${BENCH_STACK_KB:-128}
CHUNKS=${BENCH_CHUNKS:-12}
CHUNK_MS=${BENCH_CHUNK_MS:-5000}
PROFILE=${BENCH_PROFILE:-1}
LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
LIFETIME=${BENCH_LIFETIME:-1200}
PHASES=" ${BENCH_PHASES:-throughput ttfb profile scale} "
TARGETS=${BENCH_TARGETS:-a b c d m r p h e g}
COMPARE=${BENCH_COMPARE:-}
if [ -n "$COMPARE" ]; then
    [ -x "$COMPARE" ] || { echo "bench: BENCH_COMPARE=$COMPARE is not an executable" >&2; exit 1; }
    case " $TARGETS " in *" f "*) ;; *) TARGETS="$TARGETS f" ;; esac
fi
for t in $TARGETS; do
    case $t in [abcdmrphegf]) ;; *) echo "bench: unknown target '$t' in BENCH_TARGETS" >&2; exit 1 ;; esac
done
if [ -z "${BENCH_TARGETS1+x}" ]; then
    TARGETS1=""
    for t in $TARGETS; do case $t in [abcdef]) TARGETS1="$TARGETS1 $t" ;; esac; done
else
    TARGETS1=$BENCH_TARGETS1
fi
stamp=$(date -u +%Y%m%d-%H%M%S)
OUT=${BENCH_OUT:-$build/bench/results-$stamp}
PATH="$PATH:/usr/sbin:/sbin"
export PATH

say() { printf '%s\n' "bench: $*" >&2; }
die() { say "$*"; exit 1; }

for t in wrk nginx lighttpd redis-server node curl cc timeout; do
    command -v "$t" >/dev/null 2>&1 || die "$t is not installed (make deps installs it)"
done
APACHE=$(command -v apache2 || command -v httpd) || die "apache2 is not installed"
[ -x "$build/switchyard" ] && [ -x "$build/mock-llm" ] || die "$build/switchyard or mock-llm missing (run make)"
[ -e /usr/include/fcgiapp.h ] || die "libfcgi-dev is missing"

# Streams need thousands of descriptors per process (lighttpd: a client
# and a backend socket per stream; switchyard: 2 per thread for libcurl's
# wake-up pair, plus its sockets).
ulimit -n "$(ulimit -Hn)" 2>/dev/null
FD_LIMIT=$(ulimit -n)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sy-bench-XXXXXX") || exit 1
chmod 755 "$tmp"
mkdir -p "$OUT" "$tmp/bin"
OUT=$(cd "$OUT" && pwd)
RES="$OUT/results.jsonl"
: >"$RES"

# ------------------------------------------------------------ processes
procs=""        # name:pid of everything started, in start order
stopping=0

stop_pid() {    # stop_pid PID: TERM its process group, KILL after 5 s
    local pid=$1 i
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    procs=$(echo "$procs" | sed "s/ [^ ]*:$pid\b//")
}

stop_all() {
    stopping=1
    local rev="" p
    for p in $procs; do rev="$p $rev"; done
    for p in $rev; do stop_pid "${p#*:}"; done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
}
trap '[ $stopping -eq 1 ] || stop_all' EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

# start NAME LOG CMD...: run CMD under a lifetime in its own process group
# ('timeout' makes itself a group leader); sets last_pid.
start() {
    local name=$1 log=$2
    shift 2
    timeout -k 5 "$LIFETIME" "$@" </dev/null >>"$log" 2>&1 &
    last_pid=$!
    procs="$procs $name:$last_pid"
}

# wait_until WHAT PID CMD...: poll CMD for 15 s while PID lives.
wait_until() {
    local what=$1 pid=$2 i=0
    shift 2
    until "$@" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { say "$what exited"; return 1; }
        i=$((i + 1))
        [ $i -gt 300 ] && { say "$what: not ready after 15 s"; return 1; }
        sleep 0.05
    done
}

free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

http_ok() {     # http_ok URL [curl args]: 2xx
    local url=$1
    shift
    curl -sf -o /dev/null --max-time 2 "$@" "$url"
}

# Snapshot the binaries: others may rebuild build/ while we run, and perf
# needs the very file the processes run.
cp "$build/switchyard" "$build/mock-llm" "$tmp/bin/"
cc -std=c11 -O2 -g -Wall -Wextra -o "$tmp/bin/fcgi-hello" "$bench/fcgi_hello.c" \
    -lfcgi -lpthread || die "cannot build bench/fcgi_hello.c"
SW="$tmp/bin/switchyard"

SY_BENCH_KEY="sk-bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export SY_BENCH_KEY
# The deployments' provider key: each has one, as a real deployment does
# (a key's pick and its park are on every request's path).
SY_BENCH_PROVIDER_KEY="sk-provider-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export SY_BENCH_PROVIDER_KEY

# ------------------------------------------------------------ the stack
say "temporary directory $tmp, results in $OUT"

start mock "$tmp/mock.log" "$tmp/bin/mock-llm" --port 0 --port-file "$tmp/mock.port" \
    --threads 2 --quiet --max-lifetime "$LIFETIME"
pid_mock=$last_pid
wait_until mock-llm "$pid_mock" test -s "$tmp/mock.port" || die "mock did not start"
MOCK_PORT=$(cat "$tmp/mock.port")
MOCK="http://127.0.0.1:$MOCK_PORT"

for _ in 1 2 3; do
    REDIS_PORT=$(free_port)
    start redis "$tmp/redis.log" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
        --save "" --appendonly no --protected-mode yes --dir "$tmp" --logfile ""
    pid_redis=$last_pid
    wait_until redis "$pid_redis" grep -q "Ready to accept connections" "$tmp/redis.log" && break
    stop_pid "$pid_redis"
    pid_redis=""
done
[ -n "$pid_redis" ] || die "redis-server did not start; see $tmp/redis.log"

# sy_config FILE PROCESSES THREADS: the gateway config of (d)...(h); the
# second group is (h)'s: hedging on, at a delay far above the mock's
# answer time, so the hedge machinery runs on every request and the
# hedge itself never starts.
sy_config() {     # sy_config FILE PROCESSES THREADS [PREFIX]
    cat >"$1" <<EOF
{
  "server": {"processes": $2, "threads": $3, "thread_stack_kb": $STACK_KB,
             "log_level": "$LOG_LEVEL", "drain_timeout_ms": 3000},
  "state": {"redis_url": "redis://127.0.0.1:$REDIS_PORT", "prefix": "${4:-sy:}"},
  "keys": {"bench": {"key_env": "SY_BENCH_KEY", "rpm": 100000000}},
  "providers": {
    "mock-a": {"type": "openai", "base_url": "$MOCK/dep-a/v1", "api_key_env": ["SY_BENCH_PROVIDER_KEY"]},
    "mock-b": {"type": "openai", "base_url": "$MOCK/dep-b/v1", "api_key_env": ["SY_BENCH_PROVIDER_KEY"]}
  },
  "deployments": {
    "dep-a": {"provider": "mock-a", "model": "mock-model",
              "timeouts": {"connect_ms": 2000, "first_byte_ms": 30000, "idle_ms": 30000, "total_ms": 120000}},
    "dep-b": {"provider": "mock-b", "model": "mock-model",
              "timeouts": {"connect_ms": 2000, "first_byte_ms": 30000, "idle_ms": 30000, "total_ms": 120000}}
  },
  "groups": {
    "gpt-4o-mini": {"deployments": ["dep-a", "dep-b"], "strategy": "latency"},
    "gpt-4o-mini-hedged": {"deployments": ["dep-a", "dep-b"], "strategy": "latency",
                           "hedge": {"after_ms": 5000}}
  }
}
EOF
}

# start_gateway NAME CONFIG SOCKET [BINARY]: sets last_pid once the
# socket is there.
start_gateway() {
    local name=$1 conf=$2 sock=$3 bin=${4:-$SW}
    "$bin" check-config "$conf" >"$tmp/$name.check" 2>&1 ||
        { cat "$tmp/$name.check" >&2; die "bad gateway config $conf"; }
    start "$name" "$tmp/$name.log" "$bin" serve --config "$conf" --listen "unix:$sock" \
        --pid-file "$tmp/$name.pid"
    wait_until "$name" "$last_pid" test -S "$sock" || die "$name did not start; see $tmp/$name.log"
}

# start_web KIND NAME SOCKET [CONF]: lighttpd or apache on a free port in
# front of SOCKET; sets last_pid and web_port.
start_web() {
    local kind=$1 name=$2 sock=$3 conf=${4:-} rundir="$tmp/run-$2"
    mkdir -p "$rundir"
    chmod 755 "$rundir"
    local user group
    user="#$(id -u)"
    group="#$(id -g)"
    if [ "$(id -u)" = 0 ]; then
        # Apache refuses to serve as root: its children run as www-data in
        # group root, which may use the gateway socket (mode 0660).
        user=$(getent passwd www-data >/dev/null && echo www-data || echo nobody)
        group="#0"
    fi
    for _ in 1 2 3; do
        web_port=$(free_port)
        if [ "$kind" = lighttpd ]; then
            SWITCHYARD_HTTP_ADDR=127.0.0.1 SWITCHYARD_HTTP_PORT=$web_port \
            SWITCHYARD_SOCKET=$sock SWITCHYARD_RUN_DIR=$rundir \
                start "$name" "$tmp/$name.out" lighttpd -D -f "${conf:-$root/conf/lighttpd.conf}"
        else
            SWITCHYARD_HTTP_ADDR=127.0.0.1 SWITCHYARD_HTTP_PORT=$web_port \
            SWITCHYARD_SOCKET=$sock SWITCHYARD_RUN_DIR=$rundir \
            SWITCHYARD_HTTP_USER=$user SWITCHYARD_HTTP_GROUP=$group \
                start "$name" "$tmp/$name.out" "$APACHE" -f "${conf:-$root/conf/apache.conf}" -DFOREGROUND
        fi
        if wait_until "$name" "$last_pid" http_ok "http://127.0.0.1:$web_port/healthz"; then
            return 0
        fi
        stop_pid "$last_pid"
    done
    cat "$tmp/$name.out" "$rundir"/*error.log >&2 2>/dev/null
    die "$name did not start"
}

# (d) and (e): one switchyard pool, lighttpd and Apache in front of it.
sy_config "$tmp/sy-a.json" 2 64
start_gateway sy "$tmp/sy-a.json" "$tmp/sy.sock"
pid_sy=$last_pid
start_web lighttpd ltgw "$tmp/sy.sock"
pid_ltgw=$last_pid
URL_D="http://127.0.0.1:$web_port/v1/chat/completions"
start_web apache apache "$tmp/sy.sock"
pid_apache=$last_pid
URL_E="http://127.0.0.1:$web_port/v1/chat/completions"
# shellcheck disable=SC2034 # read through url_of
URL_M="${URL_D%/v1/chat/completions}/v1/messages"
# shellcheck disable=SC2034 # read through url_of
URL_R="${URL_D%/v1/chat/completions}/v1/responses"
# shellcheck disable=SC2034 # read through url_of
URL_P=$URL_R
# shellcheck disable=SC2034 # read through url_of
URL_H=$URL_D

# (g): a second Apache, conf/apache.conf with enablereuse=on added to its
# ProxyPass, in front of the same pool.
pid_apache2=""
case " $TARGETS " in *" g "*)
    sed 's|^\(ProxyPass "/" .*flushpackets=on\)|\1 enablereuse=on|' "$root/conf/apache.conf" \
        >"$tmp/apache-reuse.conf"
    grep -q '^ProxyPass "/" .*enablereuse=on' "$tmp/apache-reuse.conf" ||
        die "cannot add enablereuse=on to the ProxyPass line of conf/apache.conf"
    start_web apache apache2 "$tmp/sy.sock" "$tmp/apache-reuse.conf"
    pid_apache2=$last_pid
    # shellcheck disable=SC2034 # read through url_of
    URL_G="http://127.0.0.1:$web_port/v1/chat/completions"
    ;;
esac

# (f): the same, with the BENCH_COMPARE binary.
pid_sy2="" pid_ltgw2=""
if [ -n "$COMPARE" ]; then
    cp "$COMPARE" "$tmp/bin/switchyard-f"
    sy_config "$tmp/sy-f.json" 2 64 "syf:"
    start_gateway sy2 "$tmp/sy-f.json" "$tmp/sy2.sock" "$tmp/bin/switchyard-f"
    pid_sy2=$last_pid
    start_web lighttpd ltgw2 "$tmp/sy2.sock"
    pid_ltgw2=$last_pid
    case ${BENCH_COMPARE_REQ:-chat} in
    messages) URL_F="http://127.0.0.1:$web_port/v1/messages" ;;
    responses | responses_store) URL_F="http://127.0.0.1:$web_port/v1/responses" ;;
    chat) URL_F="http://127.0.0.1:$web_port/v1/chat/completions" ;;
    *) die "BENCH_COMPARE_REQ: chat, messages, responses or responses_store" ;;
    esac
fi

# (c): lighttpd (the same conf/lighttpd.conf) -> fcgi-hello, 2 x 64.
start hello "$tmp/hello.log" "$tmp/bin/fcgi-hello" --listen "unix:$tmp/hello.sock" \
    --processes 2 --threads 64 --lifetime "$LIFETIME"
pid_hello=$last_pid
wait_until fcgi-hello "$pid_hello" test -S "$tmp/hello.sock" || die "fcgi-hello did not start"
start_web lighttpd lthello "$tmp/hello.sock"
pid_lthello=$last_pid
# shellcheck disable=SC2034 # read through url_of
URL_C="http://127.0.0.1:$web_port/v1/chat/completions"

# (b): nginx -> mock.
mkdir -p "$tmp/nginx"
for _ in 1 2 3; do
    NGINX_PORT=$(free_port)
    sed -e "s|@DIR@|$tmp/nginx|g" -e "s|@PORT@|$NGINX_PORT|g" -e "s|@MOCK_PORT@|$MOCK_PORT|g" \
        "$bench/nginx.conf.in" >"$tmp/nginx/nginx.conf"
    start nginx "$tmp/nginx.out" nginx -p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" -g "daemon off;"
    pid_nginx=$last_pid
    wait_until nginx "$pid_nginx" http_ok "http://127.0.0.1:$NGINX_PORT/v1/models" && break
    stop_pid "$pid_nginx"
    pid_nginx=""
done
[ -n "$pid_nginx" ] || { cat "$tmp/nginx.out" "$tmp/nginx/nginx-error.log" >&2; die "nginx did not start"; }
# shellcheck disable=SC2034 # read through url_of
URL_B="http://127.0.0.1:$NGINX_PORT/v1/chat/completions"
URL_A="$MOCK/v1/chat/completions"

# url_of TARGET: the URL of a target letter (URL_A, URL_B, ...).
url_of() { eval "echo \$URL_$(echo "$1" | tr '[:lower:]' '[:upper:]')"; }
# req_of TARGET: the request bench/post.lua sends to it (BENCH_REQ).
req_of() {
    case $1 in
    m) echo messages ;; r) echo responses ;; p) echo responses_store ;;
    h) echo hedged ;; f) echo "${BENCH_COMPARE_REQ:-chat}" ;; *) echo chat ;;
    esac
}

# Every target answers its very request with 2xx (wrk -c1 for 1 s, the
# first failure printed); (g) only needs some 2xx: errors of Apache's
# connection reuse are what it is there to show.
for t in $TARGETS; do
    u=$(url_of "$t")
    out=$(BENCH_REQ=$(req_of "$t") BENCH_CHECK=1 wrk -t1 -c1 -d1s --timeout 5s \
        -s "$bench/post.lua" "$u" 2>&1)
    n=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
    bad=$(echo "$out" | grep -E 'Non-2xx|Socket errors|HTTP [0-9]')
    if [ "${n:-0}" -eq 0 ] || { [ -n "$bad" ] && [ "$t" != g ]; }; then
        echo "$out" >&2
        die "target ($t) $u does not answer its $(req_of "$t") request with 2xx"
    fi
    [ -n "$bad" ] && say "target ($t) answered with errors at start-up: $(echo "$bad" | tr '\n' ' ')"
done
say "stack up: mock :$MOCK_PORT, redis :$REDIS_PORT, (b) nginx, (c) lighttpd+fcgi-hello, (d) (m) (r) (h) lighttpd+switchyard, (e) apache+switchyard${pid_apache2:+, (g) apache enablereuse+switchyard}"

GROUPS_ARGS="mock=$pid_mock nginx=$pid_nginx lthello=$pid_lthello hello=$pid_hello ltgw=$pid_ltgw sy=$pid_sy apache=$pid_apache redis=$pid_redis"
[ -n "$pid_apache2" ] && GROUPS_ARGS="$GROUPS_ARGS apache2=$pid_apache2"
[ -n "$COMPARE" ] && GROUPS_ARGS="$GROUPS_ARGS ltgw2=$pid_ltgw2 sy2=$pid_sy2"

# ------------------------------------------------------------- metadata
{
    echo "date_utc=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc=$(nproc)"
    echo "cpu_model=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
    echo "kernel=$(uname -sr)"
    echo "memory=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    echo "lighttpd=$(lighttpd -v 2>&1 | head -1)"
    echo "apache=$("$APACHE" -v 2>&1 | head -1 | sed 's/.*: //')"
    echo "nginx=$(nginx -v 2>&1 | sed 's/.*: //')"
    echo "redis=$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
    echo "wrk=$(wrk -v 2>&1 | head -1 | awk '{print $2}')"
    echo "node=$(node -v)"
    echo "curl=$(curl --version | head -1 | awk '{print $2}')"
    echo "cc=$(cc --version | head -1)"
    echo "libs=$(for p in libcurl4 libfcgi0ldbl libjson-c5 libhiredis0.14 libhiredis1.1.0; do v=$(dpkg-query -W -f='${Version}' $p 2>/dev/null) && printf '%s %s; ' $p "$v"; done)"
    echo "git=$(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD -- core fcgi adapters 2>/dev/null || echo ' (core/fcgi/adapters modified)') (the tree bench/ was run from)"
    echo "binary=$build/switchyard ($(sha256sum "$SW" | cut -c1-12))"
    echo "perf=$(perf --version 2>/dev/null || echo none)"
    echo "fd_limit=$FD_LIMIT"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "settings=rounds $ROUNDS, -c64 windows ${SECS}s, -c1 windows ${SECS1}s, ttfb $TTFB_BATCHES x $TTFB_PER per target, scale levels $SCALE, streams of $CHUNKS chunks every ${CHUNK_MS} ms, gateway log_level $LOG_LEVEL"
    echo "gateway_a=2 processes x 64 threads (sy-a.json)"
    echo "gateway_b=$SCALE_PROCS processes x $SCALE_THREADS threads per level, thread_stack_kb $STACK_KB (sy-b-N.json)"
    [ -n "$COMPARE" ] && echo "compare=$COMPARE ($(sha256sum "$COMPARE" | cut -c1-12))"
} >"$OUT/meta.txt"
cp "$tmp/sy-a.json" "$OUT/"
[ -n "$pid_apache2" ] && cp "$tmp/apache-reuse.conf" "$OUT/"
[ -n "$COMPARE" ] && cp "$tmp/sy-f.json" "$OUT/"

# ----------------------------------------------------- 1. throughput
WRK64="wrk -t2 -c64 -d${SECS}s --latency --timeout 10s -s $bench/post.lua"
WRK1="wrk -t1 -c1 -d${SECS1}s --latency --timeout 10s -s $bench/post.lua"
echo "BENCH_REQ=<chat|messages (m)|responses (r)|responses_store (p)|hedged (h)> $WRK64 URL" >"$OUT/commands.txt"
echo "BENCH_REQ=chat $WRK1 URL" >>"$OUT/commands.txt"
[ -n "$pid_apache2" ] && echo "(g): conf/apache.conf with enablereuse=on added to ProxyPass (apache-reuse.conf)" >>"$OUT/commands.txt"

has_phase() { case $PHASES in *" $1 "*) return 0 ;; esac; return 1; }

if has_phase throughput; then
say "warm-up (1 s per target)"
for t in $TARGETS; do
    BENCH_REQ=$(req_of "$t") wrk -t2 -c64 -d1s -s "$bench/post.lua" "$(url_of "$t")" >/dev/null 2>&1
done

say "phase 1: throughput, $ROUNDS interleaved rounds (-c64: $TARGETS; -c1:$TARGETS1)"
t_phase1=$SECONDS
for r in $(seq "$ROUNDS"); do
    for t in $TARGETS; do
        # shellcheck disable=SC2086
        BENCH_REQ=$(req_of "$t") node "$bench/window.js" --out "$RES" --round "$r" --target "$t" \
            --conns 64 $GROUPS_ARGS -- $WRK64 "$(url_of "$t")" || die "window failed"
    done
    for t in $TARGETS1; do
        # shellcheck disable=SC2086
        BENCH_REQ=$(req_of "$t") node "$bench/window.js" --out "$RES" --round "$r" --target "$t" \
            --conns 1 $GROUPS_ARGS -- $WRK1 "$(url_of "$t")" || die "window failed"
    done
done
say "phase 1 took $((SECONDS - t_phase1)) s"

fi

# ---------------------------------------------------------- 2. TTFB
if has_phase ttfb; then
say "phase 2: streaming time to first byte"
printf '%s' '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello in five words."}]}' \
    >"$tmp/stream.json"
node "$bench/ttfb.js" --out "$RES" --batches "$TTFB_BATCHES" --per-batch "$TTFB_PER" \
    --body-file "$tmp/stream.json" --key "$SY_BENCH_KEY" \
    a="$URL_A" d="$URL_D" e="$URL_E" ${COMPARE:+f="$URL_F"} || die "ttfb failed"
# The gateway holds a stream's first event until the second one arrives
# (core/serve/pipeline.c, so a provider failing right after it can still be
# replaced unseen): with events 20 ms apart that shows in the TTFB.
printf '%s' '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello. [[mock {\"chunk_delay_ms\":20}]]"}]}' \
    >"$tmp/stream-gap.json"
node "$bench/ttfb.js" --out "$RES" --batches 2 --per-batch 20 \
    --body-file "$tmp/stream-gap.json" --key "$SY_BENCH_KEY" \
    a_gap="$URL_A" d_gap="$URL_D" || die "ttfb failed"
echo "curl -s --http1.1 -H 'Content-Type: application/json' -H 'Authorization: Bearer KEY' --data-binary @stream.json -w '%{http_code} %{time_connect} %{time_starttransfer} %{size_download}\\n' -o /dev/null URL (x $TTFB_PER per curl, $TTFB_BATCHES batches per target, interleaved)" >>"$OUT/commands.txt"
fi

# ------------------------------------------------------- 3. profile
if [ "$PROFILE" = 1 ] && has_phase profile; then
    PT=${BENCH_PROFILE_TARGET:-d}
    case "$PT" in d | m | r | p | h) ;; *) die "BENCH_PROFILE_TARGET: d, m, r, p or h" ;; esac
    say "phase 3: profile of the switchyard workers under the ($PT) load"
    workers=$(pgrep -P "$(cat "$tmp/sy.pid")" | paste -sd, -)
    if perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
        WRKP="wrk -t2 -c64 -d8s --latency --timeout 10s -s $bench/post.lua"
        # Redis' own account of the same run: calls and time per command.
        command -v redis-cli >/dev/null 2>&1 &&
            redis-cli -p "$REDIS_PORT" CONFIG RESETSTAT >/dev/null 2>&1
        BENCH_REQ=$(req_of "$PT") $WRKP "$(url_of "$PT")" >"$OUT/profile-wrk.txt" 2>&1 &
        wrk_pid=$!
        sleep 1.5
        perf record -e cpu-clock -F 1999 --call-graph dwarf,16384 -p "$workers" \
            -o "$tmp/perf.data" -- sleep 5 >"$tmp/perf.log" 2>&1
        wait "$wrk_pid"
        command -v redis-cli >/dev/null 2>&1 &&
            redis-cli -p "$REDIS_PORT" INFO commandstats >"$OUT/redis-commandstats.txt" 2>&1
        pcmd="perf record -e cpu-clock -F 1999 --call-graph dwarf,16384 -p <switchyard worker pids> -- sleep 5   (during: BENCH_REQ=$(req_of "$PT") $WRKP <($PT)>)"
        perf script -i "$tmp/perf.data" -F comm,tid,ip,sym,dso 2>/dev/null |
            node "$bench/perf-buckets.js" --json "$OUT/profile-buckets.json" >"$tmp/buckets.txt"
        {
            echo "# $pcmd"
            echo "# $(grep -E 'Captured|samples' "$tmp/perf.log" | tail -1)"
            echo
            echo "## by component of the request path (perf script | node bench/perf-buckets.js)"
            cat "$tmp/buckets.txt"
            echo
            echo "## self time by shared object (perf report --no-children --sort dso)"
            perf report -i "$tmp/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
                grep -E '^ +[0-9]' | head -15
            echo
            echo "## self time by symbol (perf report --no-children --sort dso,symbol)"
            perf report -i "$tmp/perf.data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null |
                grep -E '^ +[0-9]' | head -45
            echo
            echo "## inclusive time, switchyard and library entry points (perf report --children --sort symbol)"
            perf report -i "$tmp/perf.data" --stdio --children --sort symbol -g none 2>/dev/null |
                grep -E '^ +[0-9]' | grep -v '\[k\]' | grep -v ' 0x0' | head -60
        } >"$OUT/profile.txt"
        echo "$pcmd" >>"$OUT/commands.txt"
        say "profile: $OUT/profile.txt"
    elif command -v valgrind >/dev/null 2>&1; then
        say "perf cannot record here: callgrind on a 1 x 4 worker serving 2000 requests"
        bash "$bench/callgrind.sh" "$tmp" "$SW" "$tmp/sy-a.json" "$bench/post.lua" \
            >"$OUT/profile.txt" 2>&1 || say "callgrind profile failed (see $OUT/profile.txt)"
    else
        say "neither perf nor valgrind: no profile"
    fi
fi

# (g)'s Apache is not used after phase 3.
[ -n "$pid_apache2" ] && stop_pid "$pid_apache2"

# --------------------------------------------------------- 4. scale
# bench/scale.sh: a gateway and lighttpd sized for each level.
# shellcheck source=bench/scale.sh
has_phase scale && . "$bench/scale.sh"
grep -E '\[(error|warn)\]' "$tmp/sy.log" 2>/dev/null | head -20 >"$OUT/gateway-a-warnings.txt"

echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"

# -------------------------------------------------------------- report
node "$bench/report.js" "$OUT" >"$OUT/summary.md" || die "report failed"
cat "$OUT/summary.md"
say "raw data and summary: $OUT (total run time $SECONDS s)"
