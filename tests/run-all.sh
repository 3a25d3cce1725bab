#!/bin/sh
# tests/run-all.sh BUILD_DIR - every test suite, in order ('make test'
# builds first, then calls this):
#   0. lint:        the machine-checked style of 'make lint' (house rules,
#                   layer rule on includes and objects, clang-format, file
#                   and function sizes, cppcheck); each check counts as one
#   1. unit:        sh tests/unit/run BUILD_DIR (cmocka), when it exists
#      adapters:    the golden adapter cases
#      fuzz:        every libFuzzer target over its seeds, briefly
#                   (tests/fuzz/run.sh; FUZZ_BUILD, FUZZ_SMOKE_RUNS)
#   2. integration: sh tests/integration/run.sh BUILD_DIR (real lighttpd,
#                   Apache httpd, switchyard pool and mock provider)
#      multihost:   tests/integration/multihost/run.sh BUILD_DIR (three
#                   hosts in network namespaces; needs root)
#      package:     tests/package/run.sh BUILD_DIR ('make install', the
#                   Debian package built, lintian, installed and serving
#                   through lighttpd, purged; SKIPPED without debhelper)
#   3. client:      the official OpenAI SDK, Claude Code and Codex CLI against the
#                   gateway (every tests/client/*.test.js; 'npm ci' first
#                   when a package is missing from node_modules)
# Prints one line per suite, then a last line "N passed, M failed"
# counting tests (a suite whose tests cannot be counted counts as one).
# Exit status 0 only when nothing failed. A suite that cannot run here
# (no Node.js, npm ci impossible) is reported as SKIPPED, not failed.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
if [ ! -d "$build" ]; then
    echo "run-all: no build directory '$build' (run make first)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sy-runall-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

total_pass=0
total_fail=0
summary=""

note() {
    summary="$summary
$1"
}

count() {
    total_pass=$((total_pass + $1))
    total_fail=$((total_fail + $2))
}

# logged NAME CMD...: run CMD, show its output and keep a copy in
# $tmp/NAME.out, its exit status in $tmp/NAME.rc.
logged() {
    name=$1
    shift
    { "$@" 2>&1; echo $? >"$tmp/$name.rc"; } | tee "$tmp/$name.out"
}

banner() {
    printf '\n==================== %s ====================\n' "$1"
}

start=$(date +%s)

# ------------------------------------------------------------------ lint
banner lint
lp=0
lf=0
for check in "lint.sh" "layers.sh $build" "format.sh" "sizes.sh" "cppcheck.sh"; do
    # shellcheck disable=SC2086
    if sh "$root/tools/"$check; then
        lp=$((lp + 1))
    else
        lf=$((lf + 1))
        echo "lint: tools/$check FAILED"
    fi
done
count "$lp" "$lf"
if [ "$lf" -eq 0 ]; then
    note "lint:        ok ($lp checks)"
else
    note "lint:        FAILED ($lf of $((lp + lf)) checks)"
fi

# ------------------------------------------------------------------ unit
banner unit
if [ -f "$root/tests/unit/run" ]; then
    logged unit sh "$root/tests/unit/run" "$build"
    rc=$(cat "$tmp/unit.rc" 2>/dev/null || echo 1)
    # cmocka: "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)..."
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$tmp/unit.out" |
        awk '{s += $1} END {print s + 0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$tmp/unit.out" |
        awk '{s += $1} END {print s + 0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$rc" -eq 0 ] && [ "$p" -eq 0 ]; then p=1; fi
    count "$p" "$f"
    if [ "$rc" -eq 0 ]; then
        note "unit:        ok ($p passed)"
    else
        note "unit:        FAILED ($p passed, $f failed)"
    fi
else
    echo "unit: SKIPPED: tests/unit/run does not exist yet"
    note "unit:        SKIPPED (no tests/unit/run)"
fi

# --------------------------------------------------------------- adapters
banner adapters
if [ -x "$build/tests/adapters/test_adapters" ]; then
    logged adapters "$build/tests/adapters/test_adapters" "$root/tests/adapters"
    rc=$(cat "$tmp/adapters.rc" 2>/dev/null || echo 1)
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$tmp/adapters.out" |
        awk '{s += $1} END {print s + 0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$tmp/adapters.out" |
        awk '{s += $1} END {print s + 0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    count "$p" "$f"
    if [ "$rc" -eq 0 ]; then
        note "adapters:    ok ($p passed)"
    else
        note "adapters:    FAILED ($p passed, $f failed)"
    fi
else
    echo "adapters: FAILED: $build/tests/adapters/test_adapters not built"
    count 0 1
    note "adapters:    FAILED (not built)"
fi

# ------------------------------------------------------------------- fuzz
# Every libFuzzer target (tests/fuzz/) over its seeds and regression
# inputs for FUZZ_SMOKE_RUNS executions; each target counts as one test.
# The targets live in their own clang build ('make fuzz-build').
banner fuzz
fuzz_build=${FUZZ_BUILD:-$root/build-fuzz}
if ls "$fuzz_build"/fuzz_* >/dev/null 2>&1; then
    logged fuzz sh "$root/tests/fuzz/run.sh" "$fuzz_build" smoke \
        -runs="${FUZZ_SMOKE_RUNS:-2000}"
    rc=$(cat "$tmp/fuzz.rc" 2>/dev/null || echo 1)
    p=$(grep -c '^fuzz [a-z_]*: ok' "$tmp/fuzz.out")
    f=$(grep -c '^fuzz [a-z_]*: FAILED' "$tmp/fuzz.out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    count "$p" "$f"
    if [ "$rc" -eq 0 ]; then
        note "fuzz:        ok ($p targets)"
    else
        note "fuzz:        FAILED ($p passed, $f failed)"
    fi
else
    echo "fuzz: FAILED: no targets in $fuzz_build (make fuzz-build)"
    count 0 1
    note "fuzz:        FAILED (not built)"
fi

# ------------------------------------------------------ client packages
# The official SDKs (tests/client/node_modules) before the integration
# suite, which drives them too (sub-path mounts): installed first so that
# no SDK test is skipped on a fresh machine.
client="$root/tests/client"
client_ok=1
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "client: SKIPPED: node and npm are needed"
    note "client:      SKIPPED (no node/npm)"
    client_ok=0
elif [ ! -d "$client/node_modules/openai" ] ||
     [ ! -d "$client/node_modules/@anthropic-ai/sdk" ] ||
     [ ! -d "$client/node_modules/@anthropic-ai/claude-code" ] ||
     [ ! -d "$client/node_modules/@openai/codex" ]; then
    echo "client: npm ci --no-audit --no-fund (in tests/client)"
    if ! (cd "$client" && npm ci --no-audit --no-fund --engine-strict=false); then
        echo "client: SKIPPED: npm ci failed (no access to the npm registry?)"
        note "client:      SKIPPED (npm ci failed)"
        client_ok=0
    fi
fi

# ------------------------------------------------------------ integration
banner integration
logged it sh "$root/tests/integration/run.sh" "$build"
rc=$(cat "$tmp/it.rc" 2>/dev/null || echo 1)
line=$(grep '^integration: [0-9]* passed' "$tmp/it.out" | tail -n 1)
p=$(echo "$line" | sed -n 's/^integration: \([0-9]*\) passed.*/\1/p')
f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
p=${p:-0} f=${f:-0}
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
count "$p" "$f"
if grep -q 'SKIPPED: node' "$tmp/it.out"; then
    note "integration: SKIPPED (no usable Node.js)"
elif [ "$rc" -eq 0 ]; then
    note "integration: ok ($p passed)"
else
    note "integration: FAILED ($p passed, $f failed)"
fi

# -------------------------------------------------------------- multihost
# Three gateway hosts in network namespaces (tests/integration/multihost;
# root only: SKIPPED where 'ip netns' is not permitted).
banner multihost
logged mh sh "$root/tests/integration/multihost/run.sh" "$build"
rc=$(cat "$tmp/mh.rc" 2>/dev/null || echo 1)
line=$(grep '^multihost: [0-9]* passed' "$tmp/mh.out" | tail -n 1)
p=$(echo "$line" | sed -n 's/^multihost: \([0-9]*\) passed.*/\1/p')
f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
p=${p:-0} f=${f:-0}
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
count "$p" "$f"
if grep -q '^multihost: SKIPPED' "$tmp/mh.out"; then
    note "multihost:   SKIPPED ($(sed -n 's/^multihost: SKIPPED: //p' "$tmp/mh.out" | head -n 1))"
elif [ "$rc" -eq 0 ]; then
    note "multihost:   ok ($p passed)"
else
    note "multihost:   FAILED ($p passed, $f failed)"
fi

# ---------------------------------------------------------------- package
# 'make install' and the Debian package: built in a temporary copy of the
# tree, lintian, installed (dpkg -i as root, else a scratch root), a
# request through lighttpd from the installed files, purged
# (tests/package/run.sh; SKIPPED without dpkg-buildpackage or debhelper).
banner package
logged pkg sh "$root/tests/package/run.sh" "$build"
rc=$(cat "$tmp/pkg.rc" 2>/dev/null || echo 1)
line=$(grep '^package: [0-9]* passed' "$tmp/pkg.out" | tail -n 1)
p=$(echo "$line" | sed -n 's/^package: \([0-9]*\) passed.*/\1/p')
f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
p=${p:-0} f=${f:-0}
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
count "$p" "$f"
if grep -q '^package: SKIPPED' "$tmp/pkg.out"; then
    note "package:     SKIPPED ($(sed -n 's/^package: SKIPPED: //p' "$tmp/pkg.out" | head -n 1))"
elif [ "$rc" -eq 0 ]; then
    note "package:     ok ($p passed)"
else
    note "package:     FAILED ($p passed, $f failed)"
fi

# ----------------------------------------------------------------- client
banner client
if [ "$client_ok" = 1 ]; then
    if node -e 'const [a, b] = process.versions.node.split(".").map(Number);
                process.exit(a > 19 || (a === 19 && b >= 6) || (a === 18 && b >= 15) ? 0 : 1)'; then
        (cd "$client" && SY_BUILD_DIR="$build" node --test \
            --test-reporter=spec --test-reporter-destination=stdout \
            --test-reporter=tap --test-reporter-destination="$tmp/client.tap" \
            ./*.test.js)
        rc=$?
    else
        # Older Node: TAP is the default output.
        # shellcheck disable=SC2016 # expanded by the inner sh
        logged client sh -c 'cd "$1" && SY_BUILD_DIR="$2" node --test ./*.test.js' _ \
            "$client" "$build"
        cp "$tmp/client.out" "$tmp/client.tap"
        rc=$(cat "$tmp/client.rc" 2>/dev/null || echo 1)
    fi
    p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tmp/client.tap" | tail -n 1)
    f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tmp/client.tap" | tail -n 1)
    p=${p:-0} f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    count "$p" "$f"
    if [ "$rc" -eq 0 ]; then
        note "client:      ok ($p passed)"
    else
        note "client:      FAILED ($p passed, $f failed)"
    fi
fi

end=$(date +%s)
banner summary
echo "${summary#?}"
echo "took $((end - start)) s"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
