# shellcheck shell=bash disable=SC2154 # variables of run.sh, which sources this
# bench/scale.sh - phase 4 of bench/run.sh: N slow streams held at once
# through lighttpd -> switchyard -> the mock, for each N in $SCALE.
#
# Sourced by run.sh after phase 3: uses its functions (say, start,
# stop_pid, sy_config, start_gateway, start_web, wait_until) and
# variables (tmp, OUT, RES, bench, root, FD_LIMIT, MOCK, REDIS_PORT,
# pid_mock, pid_redis, SY_BENCH_KEY, SCALE, SCALE_PROCS, SCALE_THREADS,
# STACK_KB, CHUNKS, CHUNK_MS).
#
# Every level gets a fresh gateway and lighttpd sized for it, so its idle
# RSS and its CPU are its own:
#   switchyard  SCALE_PROCS processes x T threads, T = N x (100 +
#               BENCH_SCALE_HEADROOM) / 100 / SCALE_PROCS (rounded up):
#               each in-flight stream holds one request thread. A number
#               in BENCH_SCALE_THREADS fixes T for every level instead.
#   lighttpd    conf/lighttpd.conf plus server.max-fds = the descriptor
#               limit, server.max-connections = half of it, and as many
#               server.max-worker processes as 2 descriptors per stream
#               (client and backend socket) need: one process cannot hold
#               10,000 streams under a 20,000 descriptor limit.
# Streams start at BENCH_SCALE_RATE per second (500). Redis keeps one
# connection per request thread that has served a request: its
# maxclients (10,000 by default) is raised first.
# SPDX-License-Identifier: MIT

say "phase 4: held streams, levels: $SCALE"
# Free what the first phases used; the mock and Redis stay.
for p in $pid_apache $pid_ltgw $pid_ltgw2 $pid_lthello $pid_nginx $pid_hello $pid_sy $pid_sy2; do
    stop_pid "$p"
done
HEADROOM=${BENCH_SCALE_HEADROOM:-5}
RATE=${BENCH_SCALE_RATE:-500}
redis-cli -p "$REDIS_PORT" CONFIG SET maxclients $((FD_LIMIT - 100)) >/dev/null 2>&1 ||
    say "could not raise Redis' maxclients (redis-cli)"

words="one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"
printf '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Count. [[mock {\\"chunks\\":%d,\\"chunk_delay_ms\\":%d,\\"content\\":\\"%s %s\\"}]]"}]}' \
    "$CHUNKS" "$CHUNK_MS" "$words" "$words" >"$tmp/slow.json"
cp "$tmp/slow.json" "$OUT/"
stream_s=$(( (CHUNKS + 2) * CHUNK_MS / 1000 + 1 ))

# pgroup_threads PGID: threads of every process in the group ('timeout'
# made each server the leader of its own group).
pgroup_threads() {
    ps -e -o pgid=,nlwp= | awk -v g="$1" '$1 == g { s += $2 } END { print s + 0 }'
}

for n in $SCALE; do
    ramp=$(( n * 1000 / RATE ))       # RATE new streams per second
    [ "$ramp" -lt 1000 ] && ramp=1000
    if [ $(( stream_s * 1000 )) -lt $(( ramp + 5000 )) ]; then
        say "level $n: streams of ${stream_s} s end before the ${ramp} ms ramp is over (raise BENCH_CHUNKS)"
    fi
    case $SCALE_THREADS in
        auto) threads=$(( (n * (100 + HEADROOM) + 100 * SCALE_PROCS - 1) / (100 * SCALE_PROCS) )) ;;
        *) threads=$SCALE_THREADS ;;
    esac
    [ "$threads" -lt 4 ] && threads=4
    if [ $(( SCALE_PROCS * threads )) -lt "$n" ]; then
        say "level $n is above the pool's $(( SCALE_PROCS * threads )) threads"
    fi
    # server.threads is at most 8192; a thread with a stream in flight
    # holds about 5 descriptors (docs/deployment.md, Sizing).
    if [ "$threads" -gt 8192 ]; then
        say "level $n skipped: $threads threads per process, the most is 8192 (raise BENCH_SCALE_PROCS)"
        continue
    fi
    [ $(( 5 * threads + 100 )) -gt "$FD_LIMIT" ] &&
        say "level $n: $threads threads per process may need more than the $FD_LIMIT descriptors a process may open"
    per_web=$(( FD_LIMIT / 2 - 250 ))
    workers=$(( (n + per_web - 1) / per_web ))
    [ "$workers" -lt 1 ] && workers=1

    sy_config "$tmp/sy-b-$n.json" "$SCALE_PROCS" "$threads"
    cp "$tmp/sy-b-$n.json" "$OUT/"
    start_gateway "syb$n" "$tmp/sy-b-$n.json" "$tmp/syb$n.sock"
    pid_syb=$last_pid
    # The socket exists before the workers have started their threads.
    want=$(( SCALE_PROCS * threads ))
    for _ in $(seq 600); do
        [ "$(pgroup_threads "$pid_syb")" -ge "$want" ] && break
        sleep 0.1
    done
    [ "$(pgroup_threads "$pid_syb")" -ge "$want" ] ||
        say "level $n: the gateway runs $(pgroup_threads "$pid_syb") threads, wanted $want (see $tmp/syb$n.log)"

    {
        echo "include \"$root/conf/lighttpd.conf\""
        echo "server.max-fds = $FD_LIMIT"
        echo "server.max-connections = $(( FD_LIMIT / 2 - 100 ))"
        echo "server.listen-backlog = 4096"
        # Several processes sharing the listening socket, each with its
        # own descriptor limit (with 1, lighttpd does not fork).
        [ "$workers" -gt 1 ] && echo "server.max-worker = $workers"
    } >"$tmp/lighttpd-scale-$n.conf"
    cp "$tmp/lighttpd-scale-$n.conf" "$OUT/"
    start_web lighttpd "lts$n" "$tmp/syb$n.sock" "$tmp/lighttpd-scale-$n.conf"
    pid_ltscale=$last_pid
    URL_S="http://127.0.0.1:$web_port/v1/chat/completions"
    sleep 1

    say "level $n: switchyard $SCALE_PROCS x $threads threads, lighttpd $workers process(es)"
    node "$bench/streams.js" --out "$RES" --label "scale" --url "$URL_S" --n "$n" \
        --ramp-ms "$ramp" --body-file "$tmp/slow.json" --key "$SY_BENCH_KEY" \
        --timeout-ms $(( (stream_s + 30) * 1000 )) --mock "$MOCK" \
        --pool "${SCALE_PROCS}x$threads" --web-workers "$workers" \
        --chunks "$CHUNKS" --chunk-ms "$CHUNK_MS" --plateau-wait-ms $(( 2 * CHUNK_MS + 3000 )) \
        web="$pid_ltscale" sy="$pid_syb" redis="$pid_redis" mock="$pid_mock" ||
        say "streams level $n failed"

    grep -E '\[(error|warn)\]' "$tmp/syb$n.log" 2>/dev/null | head -20 >"$OUT/gateway-b-$n-warnings.txt"
    tail -20 "$tmp/run-lts$n/lighttpd-error.log" >"$OUT/lighttpd-scale-$n-error.log" 2>/dev/null
    stop_pid "$pid_ltscale"
    # Thousands of threads take longer to stop than stop_pid's 5 s.
    kill -TERM -- "-$pid_syb" 2>/dev/null
    for _ in $(seq 200); do
        kill -0 "$pid_syb" 2>/dev/null || break
        sleep 0.1
    done
    stop_pid "$pid_syb"
    sleep 1
done
echo "node bench/streams.js --url <lighttpd+switchyard> --n N --ramp-ms max(1000,N*1000/$RATE) --body-file slow.json (one connection per stream, $CHUNKS chunks every ${CHUNK_MS} ms; per level a fresh gateway of $SCALE_PROCS processes x threads for N + ${HEADROOM}% and lighttpd with max-worker for 2 descriptors per stream, see sy-b-N.json, lighttpd-scale-N.conf)" >>"$OUT/commands.txt"
