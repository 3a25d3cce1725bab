#!/bin/sh
# tests/integration/run.sh BUILD_DIR [TEST_FILE...] - the integration
# suite: the real switchyard pool behind real lighttpd and Apache httpd,
# with the mock provider, everything on free 127.0.0.1 ports in temporary
# directories (see harness.js). Runs each *.test.js file in its own
# 'node --test' process, one after the other, and ends with the line
#   integration: N passed, M failed, K skipped
# Exit status: 0 when nothing failed.
#
# Environment: SY_TEST_LEAVE=1 keeps the temporary directories (configs,
# logs); SY_TEST_VERBOSE=1 prints the server logs of each stack when it
# stops; SY_TEST_LIFETIME (seconds, default 300) bounds every process.
set -u

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -d "$build" ]; then
    echo "integration: no build directory '$build' (run make first)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)
for bin in switchyard mock-llm; do
    if [ ! -x "$build/$bin" ]; then
        echo "integration: $build/$bin is missing (run make first)" >&2
        exit 1
    fi
done

if ! command -v node >/dev/null 2>&1; then
    echo "integration: SKIPPED: node (Node.js 18 or later) is not installed" >&2
    echo "integration: 0 passed, 0 failed, 0 skipped"
    exit 0
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
    echo "integration: SKIPPED: node $(node --version) is older than 18" >&2
    echo "integration: 0 passed, 0 failed, 0 skipped"
    exit 0
fi
for tool in lighttpd apache2 timeout; do
    if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1; then
        [ "$tool" = apache2 ] && PATH="$PATH:/usr/sbin:/sbin" command -v httpd >/dev/null 2>&1 && continue
        echo "integration: WARNING: $tool not found; its tests are SKIPPED" >&2
    fi
done

export SY_BUILD_DIR="$build"
# Reporters: spec on the terminal, TAP in a file to count (Node >= 18.15).
if node -e 'const [a, b] = process.versions.node.split(".").map(Number);
            process.exit(a > 19 || (a === 19 && b >= 6) || (a === 18 && b >= 15) ? 0 : 1)'; then
    reporters=1
else
    reporters=0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sy-itrun-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

if [ $# -gt 0 ]; then
    files="$*"
else
    files=$(ls "$here"/*.test.js)
fi

pass=0 fail=0 skip=0 bad_files=""
start=$(date +%s)
for f in $files; do
    name=$(basename "$f")
    tap="$tmp/$name.tap"
    echo "=== $name"
    if [ "$reporters" = 1 ]; then
        node --test --test-reporter=spec --test-reporter-destination=stdout \
            --test-reporter=tap --test-reporter-destination="$tap" "$f"
        rc=$?
    else
        node --test "$f" | tee "$tap"
        rc=$?
    fi
    # The last "# pass N" / "# fail N" / "# skipped N" lines of the TAP
    # stream are the totals of the file.
    p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
    n=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
    s=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
    p=${p:-0} n=${n:-0} s=${s:-0}
    if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ]; then
        n=1     # the file itself failed (crash, hook, timeout)
    fi
    [ "$n" -gt 0 ] && bad_files="$bad_files $name"
    pass=$((pass + p)) fail=$((fail + n)) skip=$((skip + s))
done
end=$(date +%s)

echo
[ -n "$bad_files" ] && echo "integration: failed in:$bad_files"
echo "integration: took $((end - start)) s"
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
