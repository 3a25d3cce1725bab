#!/bin/sh
# deps.sh - install, non-interactively and only when missing, every Debian
# package needed to build, run, test and benchmark Switchyard.
# Called by 'make deps', 'make run' and 'make test'; safe to run again (it
# does nothing when all is there). 'deps.sh --check' installs nothing: it
# names what is missing and fails (what a plain 'make' runs).
set -eu
check_only=""
[ "${1:-}" = "--check" ] && check_only=1

PKGS="gcc make pkg-config libc6-dev
libfcgi-dev libfcgi-bin libcurl4-openssl-dev libjson-c-dev libhiredis-dev
libcmocka-dev libssl-dev libpcre2-dev libgoogle-perftools-dev redis-server lighttpd apache2
libapache2-mod-fcgid curl jq ca-certificates wrk nginx-light clang
libclang-rt-14-dev json-schema-test-suite clang-format cppcheck iproute2
debhelper lintian
logrotate
chromium
librsvg2-bin
prometheus"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
# Node.js and npm (for the official openai client test): any install will
# do; Debian's packages when there is none.
if ! command -v node >/dev/null 2>&1; then
    missing="$missing nodejs npm"
elif ! command -v npm >/dev/null 2>&1; then
    missing="$missing npm"
fi

if [ -n "$missing" ] && [ -n "$check_only" ]; then
    echo "missing packages:$missing" >&2
    echo "run 'make deps' (or 'make run' / 'make test', which install them)" >&2
    exit 1
fi
if [ -n "$missing" ]; then
    echo "deps: installing:$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # Installing a server package must not start it as a system service.
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing
    [ -z "$made_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi
