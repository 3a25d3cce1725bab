#!/bin/sh
# deps.sh - install, non-interactively and only when missing, every Debian
# package needed to build, run, test and benchmark Switchyard.
# Called by 'make deps'; safe to run again (it does nothing when all is
# there).
set -eu

PKGS="gcc make pkg-config libc6-dev
libfcgi-dev libfcgi-bin libcurl4-openssl-dev libjson-c-dev libhiredis-dev
libcmocka-dev libssl-dev redis-server lighttpd apache2 curl jq ca-certificates
wrk nginx-light"

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
