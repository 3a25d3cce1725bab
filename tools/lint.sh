#!/bin/sh
# lint.sh - house-style checks that a compiler does not make: banned
# functions, '//' comments, header self-containment, a header comment in
# every source file. 'make lint' runs it; exit status 1 on any finding.
set -u
cd "$(dirname "$0")/.."
status=0
# Tracked files and untracked new ones (not ignored); a file deleted but
# still in the index is skipped.
files=$(git ls-files --cached --others --exclude-standard 'core/*/*.[ch]' 'fcgi/*.[ch]' 'cli/*.[ch]' \
        'adapters/*.[ch]' 'tests/fakes/*.[ch]' 2>/dev/null)
banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi|atol|atof|alloca|rand|srand)[[:space:]]*\('
for f in $files; do
    [ -f "$f" ] || continue
    if grep -nE "$banned" "$f" | grep -v 'snprintf\|vsnprintf' ; then
        echo "$f: banned function (see style.md 3.7)"
        status=1
    fi
    if grep -nE '^[^"]*[^:"]//' "$f" | grep -v 'http://\|https://' >/dev/null; then
        grep -nE '^[^"]*[^:"]//' "$f" | grep -v 'http://\|https://' | head -3
        echo "$f: use /* */ comments"
        status=1
    fi
    if ! head -3 "$f" | grep -q '/\*'; then
        echo "$f: missing the header comment"
        status=1
    fi
done
# Each header compiles on its own.
tmp=$(mktemp -d)
for h in $(git ls-files --cached --others --exclude-standard 'core/*/*.h' 'fcgi/*.h' 'cli/*.h' \
             'adapters/*.h'); do
    [ -f "$h" ] || continue
    printf '#include "%s"\n' "$PWD/$h" > "$tmp/t.c"
    if ! cc -std=c11 -D_GNU_SOURCE -Wall -Werror -fsyntax-only -Icore -I. \
         $(pkg-config --cflags json-c libcurl) "$tmp/t.c" 2>"$tmp/err"; then
        echo "$h: does not compile on its own:"
        head -5 "$tmp/err"
        status=1
    fi
done
rm -rf "$tmp"
[ $status -eq 0 ] && echo "lint: OK"
exit $status
