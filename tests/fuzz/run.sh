#!/bin/sh
# tests/fuzz/run.sh FUZZ_BUILD MODE [LIBFUZZER_OPTIONS...] [-- TARGET...]
# Runs the libFuzzer targets built in FUZZ_BUILD (make fuzz-build):
#   smoke  each target over its seeds only (nothing is written back), with
#          the options given (make passes -runs=N); one line per target,
#          then "fuzz: N passed, M failed" (tests/run-all.sh counts each
#          target as one test)
#   long   each target in turn, niced, growing FUZZ_BUILD/work/<target>
#          from the seeds, crash inputs in FUZZ_BUILD/artifacts/<target>/,
#          the log in FUZZ_BUILD/logs/<target>.log (binary copied to
#          FUZZ_BUILD/long/ first)
# Without TARGET names, every FUZZ_BUILD/fuzz_* binary runs.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
mode=$2
shift 2
opts=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    opts="$opts $1"
    shift
done
[ "${1:-}" = "--" ] && shift
names="$*"
if [ -z "$names" ]; then
    for b in "$build"/fuzz_*; do
        [ -x "$b" ] && names="$names ${b##*/fuzz_}"
    done
fi

pass=0
fail=0
for t in $names; do
    bin=$build/fuzz_$t
    seeds=$build/corpus/$t
    mkdir -p "$seeds"
    dict=$root/tests/fuzz/$t.dict
    [ -f "$dict" ] || dict=$root/tests/fuzz/json.dict
    if [ "$mode" = smoke ]; then
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/sy-fuzz-XXXXXX")
        # The empty first directory takes new inputs, so the seeds stay
        # as they are; -timeout turns a slow input into a failure.
        mkdir -p "$tmp/new"
        # shellcheck disable=SC2086
        "$bin" -timeout=20 -rss_limit_mb=2048 $opts -dict="$dict" \
            -artifact_prefix="$tmp/" "$tmp/new" "$seeds" >"$tmp/log" 2>&1
        rc=$?
        runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/log" | tail -n 1)
        if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
            echo "fuzz $t: ok (${runs} runs over $(ls "$seeds" | wc -l) seeds)"
            pass=$((pass + 1))
        else
            echo "fuzz $t: FAILED (exit $rc)"
            tail -n 60 "$tmp/log"
            fail=$((fail + 1))
        fi
        rm -rf "$tmp"
    else
        work=$build/work/$t
        mkdir -p "$work" "$build/artifacts/$t" "$build/logs" "$build/long"
        # A copy, so a rebuild during a long run (or fork mode re-running
        # the binary) does not swap the code under it.
        cp "$bin" "$build/long/fuzz_$t"
        echo "fuzz $t: log in $build/logs/$t.log"
        # shellcheck disable=SC2086
        nice -n 10 "$build/long/fuzz_$t" -timeout=20 -rss_limit_mb=2048 $opts \
            -dict="$dict" -print_final_stats=1 \
            -artifact_prefix="$build/artifacts/$t/" "$work" "$seeds" \
            >"$build/logs/$t.log" 2>&1
        rc=$?
        tail -n 3 "$build/logs/$t.log"
        if [ "$rc" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
