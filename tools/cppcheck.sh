#!/bin/sh
# cppcheck.sh - static analysis of every C source with cppcheck; 'make
# lint' runs it. A finding fails the check; a false positive is silenced
# where it stands with "cppcheck-suppress ID" and the reason beside it.
# Tree-wide suppressions, with their reasons:
#   varFuncNullUB        NULL ends variadic argument lists (json-c style
#                        calls); NULL is (void *)0 on every target.
#   missingIncludeSystem cppcheck is not given the system headers.
set -u
cd "$(dirname "$0")/.."
command -v cppcheck >/dev/null 2>&1 || {
    echo "cppcheck: not installed (make deps installs it)"
    exit 1
}
cppcheck --enable=warning,style,performance,portability --std=c11 \
    -D_GNU_SOURCE -Icore -I. --library=tools/cppcheck-json-c.cfg \
    --inline-suppr --quiet --error-exitcode=1 \
    --suppress=varFuncNullUB --suppress=missingIncludeSystem -j2 \
    core adapters fcgi cli tests/fakes tests/unit &&
    echo "cppcheck: OK"
