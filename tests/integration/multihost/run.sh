#!/bin/sh
# tests/integration/multihost/run.sh BUILD_DIR - the multi-host tests:
# three gateway hosts, Redis and the mock provider in network namespaces
# of their own (topology.sh), the hosts' Redis traffic through a relay
# adding 2 ms each way (BUILD_DIR/relay). Creates the namespaces with
# names unique to this run (sy-<pid>-*) on a random 10.X.Y.0/24 that only
# they can reach, runs multihost.test.js inside the clients' namespace,
# and deletes them again on any exit (trap), killing what still runs in
# them. Ends with the line
#   multihost: N passed, M failed, K skipped
# Needs root and a kernel that allows network namespaces, veth pairs and
# bridges; otherwise prints "multihost: SKIPPED: <why>" and exits 0.
# Environment: as tests/integration/run.sh (SY_TEST_LEAVE, SY_TEST_VERBOSE,
# SY_TEST_LIFETIME).
set -u
PATH="$PATH:/usr/sbin:/sbin"

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
if [ ! -d "$build" ]; then
    echo "multihost: no build directory '$build' (run make first)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)

skip() {
    echo "multihost: SKIPPED: $1"
    echo "multihost: 0 passed, 0 failed, 0 skipped"
    exit 0
}

for bin in switchyard mock-llm relay; do
    if [ ! -x "$build/$bin" ]; then
        echo "multihost: $build/$bin is missing (run make first)" >&2
        exit 1
    fi
done
[ "$(id -u)" = 0 ] || skip "needs root (ip netns)"
command -v ip >/dev/null 2>&1 || skip "iproute2 (ip) is not installed"
command -v node >/dev/null 2>&1 || skip "node is not installed"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
    skip "node $(node --version) is older than 18"
for tool in redis-server redis-cli lighttpd timeout; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done

prefix="sy-$$"
sh "$here/topology.sh" probe "$prefix" ||
    skip "'ip netns add' (with veth and bridge) is not permitted here"

# A random private /24: 10.X.Y (the hub reaches nothing else anyway).
rnd=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
net="10.$((rnd / 256 % 254 + 1)).$((rnd % 256))"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sy-mhrun-XXXXXX") || exit 1
child=""
cleanup() {
    sh "$here/topology.sh" down "$prefix"
    if [ "${SY_TEST_LEAVE:-0}" = 1 ]; then
        echo "multihost: SY_TEST_LEAVE=1: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
# On a signal: let the test stop its processes and remove its files
# (up to 3 s; SIGTERM to every process in the clients' namespace: the
# test runner and the test file's own process), then the EXIT trap
# deletes the namespaces and kills whatever is still in them.
stop_child() {
    [ -n "$child" ] || return 0
    for pid in $(ip netns pids "$prefix-cl" 2>/dev/null); do
        kill -TERM "$pid" 2>/dev/null
    done
    i=0
    while kill -0 "$child" 2>/dev/null && [ $i -lt 30 ]; do
        sleep 0.1
        i=$((i + 1))
    done
}
trap 'stop_child; exit 130' INT TERM

start=$(date +%s)
if ! sh "$here/topology.sh" up "$prefix" "$net"; then
    echo "multihost: could not create the namespaces" >&2
    echo "multihost: 0 passed, 1 failed, 0 skipped"
    exit 1
fi
echo "multihost: namespaces $prefix-{hub,redis,mock,h1,h2,h3,cl} on $net.0/24"

tap="$tmp/multihost.tap"
# The test's temporary directories go in $tmp too, so they are removed
# with it whatever way the test ends.
export SY_BUILD_DIR="$build" SY_MH_PREFIX="$prefix" SY_MH_NET="$net" TMPDIR="$tmp"
if node -e 'const [a, b] = process.versions.node.split(".").map(Number);
            process.exit(a > 19 || (a === 19 && b >= 6) || (a === 18 && b >= 15) ? 0 : 1)'; then
    set -- --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$tap"
else
    set --      # older Node: TAP is the only output, shown at the end
fi
# In the background, so that a signal to this script is acted on at once
# (the trap ends the test and deletes the namespaces).
if [ $# -eq 0 ]; then
    ip netns exec "$prefix-cl" node --test "$here/multihost.test.js" >"$tap" &
else
    ip netns exec "$prefix-cl" node --test "$@" "$here/multihost.test.js" &
fi
child=$!
wait "$child"
rc=$?
child=""
[ $# -eq 0 ] && cat "$tap"
p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
n=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
s=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
p=${p:-0} n=${n:-0} s=${s:-0}
[ "$rc" -ne 0 ] && [ "$n" -eq 0 ] && n=1
end=$(date +%s)
echo "multihost: took $((end - start)) s"
echo "multihost: $p passed, $n failed, $s skipped"
[ "$n" -eq 0 ]
