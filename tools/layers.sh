#!/bin/sh
# layers.sh - the one-way dependency rule of the tree (docs/architecture.md):
#
#   base < contract < api < adapters < config < io < state < serve < fcgi < cli
#
# A file may include headers of its own folder and of folders below it;
# adapters include only base/ and api/. Checked twice: on the #include
# lines of the sources, and on the symbols the built objects of BUILD
# (argument 1) define and use, so a call against the direction through a
# hand-written prototype is caught too. Objects must also not form cycles
# of calls (a.o uses b.o uses a.o): tsort finds those. Every global
# symbol they define starts with sy_ (docs/style.md), main aside.
# 'make lint' runs it; exit status 1 on any finding.
set -u
# sort, join and tsort agree on one byte order whatever the locale.
LC_ALL=C
export LC_ALL
cd "$(dirname "$0")/.."
build=${1:-build}
status=0

rank() {
    case $1 in
    base) echo 0 ;; contract) echo 1 ;; api) echo 2 ;; adapters) echo 3 ;;
    config) echo 4 ;; io) echo 5 ;; state) echo 6 ;; serve) echo 7 ;;
    fcgi) echo 8 ;; cli) echo 9 ;; *) echo -1 ;;
    esac
}
# The folder a source or object belongs to: core/<layer>/x.c -> layer.
layer_of() {
    case $1 in
    core/*/*) l=${1#core/}; echo "${l%%/*}" ;;
    */*) echo "${1%%/*}" ;;
    esac
}

# 1. Includes, "x/y.h" and <x/y.h> alike: a quoted path must name a
# layer; an angle path is checked when its first folder is a layer
# (<json-c/json.h>, <sys/types.h> are the system's). Untracked new files
# are checked too.
for f in $(git ls-files --cached --others --exclude-standard \
               'core/*/*.[ch]' 'adapters/*.[ch]' 'fcgi/*.[ch]' 'cli/*.[ch]'); do
    [ -f "$f" ] || continue # deleted, not yet removed from the index
    me=$(layer_of "$f")
    myrank=$(rank "$me")
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' "$f" |
    while IFS= read -r line; do
        open=$(printf '%s\n' "$line" | sed 's/^[0-9]*:[[:space:]]*#[[:space:]]*include[[:space:]]*\(.\).*/\1/')
        if [ "$open" = '"' ]; then
            spec=$(printf '%s\n' "$line" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
            shown="\"$spec\""
        else
            spec=$(printf '%s\n' "$line" | sed 's/.*include[[:space:]]*<\([^>]*\)>.*/\1/')
            shown="<$spec>"
            case $spec in
            */*) [ "$(rank "${spec%%/*}")" -ge 0 ] || continue ;;
            *) continue ;;
            esac
        fi
        case $spec in
        ../*|*/../*)
            echo "$f:${line%%:*}: $shown: name the layer (\"state/quota.h\"), not a relative path"
            echo x ;;
        */*)
            to=${spec%%/*}
            r=$(rank "$to")
            if [ "$r" -lt 0 ]; then
                echo "$f:${line%%:*}: $shown: unknown folder"
                echo x
            elif [ "$r" -gt "$myrank" ]; then
                echo "$f:${line%%:*}: $me may not include $to ($shown): layers only include downwards"
                echo x
            elif [ "$me" = adapters ] && [ "$to" != base ] && [ "$to" != api ]; then
                echo "$f:${line%%:*}: adapters include only base/ and api/ ($shown)"
                echo x
            fi ;;
        esac
    done
done > "${TMPDIR:-/tmp}/layers.$$"
if grep -q '^x$' "${TMPDIR:-/tmp}/layers.$$"; then
    grep -v '^x$' "${TMPDIR:-/tmp}/layers.$$"
    status=1
fi
rm -f "${TMPDIR:-/tmp}/layers.$$"

# 2. Symbols: who defines what, who uses what.
objs=$(cd "$build" 2>/dev/null && for d in core adapters fcgi cli; do
           find "$d" -name '*.o' 2>/dev/null; done | sort)
if [ -z "$objs" ]; then
    echo "layers: no objects in $build (build first)"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Only objects that still have a source (a moved file leaves a stale .o).
for o in $objs; do
    [ -f "${o%.o}.c" ] && echo "$o"
done > "$tmp/objs"
(cd "$build" && xargs nm -A --defined-only < "$tmp/objs") 2>/dev/null |
    awk '$(NF-1) ~ /^[TDBRVWC]$/ { sub(/:.*/, "", $1); print $NF, $1 }' |
    sort -u > "$tmp/defs"
(cd "$build" && xargs nm -A -u < "$tmp/objs") 2>/dev/null |
    awk '{ sub(/:.*/, "", $1); print $NF, $1 }' | sort -u > "$tmp/uses"
# edges "user definer", one per pair of objects
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3 }' | sort -u > "$tmp/edges"
while read -r from to; do
    lf=$(layer_of "$from"); lt=$(layer_of "$to")
    rf=$(rank "$lf"); rt=$(rank "$lt")
    if [ "$rt" -gt "$rf" ]; then
        echo "${from%.o}.c calls into ${to%.o}.c: $lf may not depend on $lt"
        status=1
    fi
done < "$tmp/edges"
if ! tsort "$tmp/edges" > /dev/null 2> "$tmp/loops"; then
    echo "calls between files form a cycle (each file below uses the next):"
    grep -v 'input contains a loop' "$tmp/loops" | sed 's/^tsort: /  /; s/\.o$/.c/'
    status=1
fi
# 3. Names: what is not file-local carries the project prefix. Names
# that start with "__" are the compiler's (ASan's __odr_asan.* markers).
awk '$1 !~ /^sy_/ && $1 !~ /^__/ && !($1 == "main" && $2 == "cli/main.o") {
         sub(/\.o$/, ".c", $2)
         print $2 ": global symbol " $1 " lacks the sy_ prefix (static, or sy_...)"
     }' "$tmp/defs" > "$tmp/names"
if [ -s "$tmp/names" ]; then
    cat "$tmp/names"
    status=1
fi
[ $status -eq 0 ] && echo "layers: OK"
exit $status
