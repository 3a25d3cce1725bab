#!/bin/sh
# sizes.sh - the size rules of docs/style.md: no source file over 800
# lines, no function over 100 lines (from its opening to its closing brace,
# which clang-format puts in column 0). 'make lint' runs it.
set -u
cd "$(dirname "$0")/.."
status=0
# Tracked files and untracked new ones (not ignored).
for f in $(git ls-files --cached --others --exclude-standard '*.c' '*.h' | grep -v node_modules); do
    [ -f "$f" ] || continue
    n=$(wc -l < "$f")
    if [ "$n" -gt 800 ]; then
        echo "$f: $n lines (at most 800: split it by responsibility)"
        status=1
    fi
    awk -v f="$f" '
        /^[A-Za-z_][A-Za-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name) }
        /^\{$/ { start = NR }
        /^\}/ && start { len = NR - start - 1;
            if (len > 100) { printf "%s:%d: %s() is %d lines (at most 100)\n", f, start, name, len; bad = 1 }
            start = 0 }
        END { exit bad }' "$f" || status=1
done
[ $status -eq 0 ] && echo "sizes: OK"
exit $status
