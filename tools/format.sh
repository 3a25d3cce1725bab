#!/bin/sh
# format.sh - every C source formatted by clang-format (.clang-format).
#   sh tools/format.sh          check, list the files that differ
#   sh tools/format.sh --fix    format them in place
# 'make lint' runs the check.
set -u
cd "$(dirname "$0")/.."
# Tracked files and untracked new ones (not ignored), that exist.
files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h' | grep -v node_modules |
        while IFS= read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ "${1:-}" = --fix ]; then
    clang-format -i $files
    exit 0
fi
status=0
for f in $files; do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "$f: not formatted (sh tools/format.sh --fix)"
        status=1
    fi
done
[ $status -eq 0 ] && echo "format: OK"
exit $status
