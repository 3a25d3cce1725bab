#!/bin/sh
# tests/package/run.sh BUILD_DIR - the install target and the Debian package.
#
#   1. 'make install DESTDIR=...' puts the expected files in place (units
#      rewritten to PREFIX) and 'make uninstall' takes them away again;
#   2. dpkg-buildpackage -us -uc -b builds the package from a copy of the
#      tree in a temporary directory (nothing lands beside the checkout);
#   3. lintian finds no error or warning (debian/switchyard.lintian-
#      overrides, if any, holds the documented exceptions);
#   4. the package is installed: as root, when no switchyard package or
#      file is there yet, into this machine with 'dpkg -i' (what CI does,
#      in a throw-away container); otherwise unpacked with 'dpkg -x' into
#      a scratch root. On a machine that systemd runs (/run/systemd/system)
#      it is unpacked unless PKG_HOST=1; with PKG_HOST=1 a policy-rc.d
#      (when there is none) forbids starting units meanwhile. Either way
#      the installed units must be neither enabled nor started;
#   5. the installed files serve requests: the installed binary started as
#      switchyard.service says (its ExecStartPre and ExecStart, config
#      /etc/switchyard/switchyard.json), its socket handed over the way
#      switchyard.socket does it (systemd-socket-activate: fd 3,
#      LISTEN_FDS, LISTEN_PID) but under the temporary directory instead
#      of /run, lighttpd on a free 127.0.0.1 port from the installed
#      snippet, the mock provider (BUILD_DIR/mock-llm) behind; /healthz and
#      a chat completion are checked through lighttpd (the installed
#      config with server.access_log and server.usage_log added, under
#      the temporary directory); then the installed logrotate config
#      (paths rewritten, SIGHUP to this pool) rotates both logs and the
#      next request's lines land in the new files;
#   6. 'dpkg -r' keeps what the service wrote (state and logs, laid out
#      the way systemd's DynamicUser= does: /var/lib/private/switchyard
#      and a symlink /var/lib/switchyard, the same under /var/log), and
#      'dpkg --purge' removes it all (binary, config, units, unit links,
#      state, logs).
#
# Prints "package: ok - CHECK" or "package: FAILED - CHECK" per check and
# a last line "package: N passed, M failed"; "package: SKIPPED: ..." (exit
# 0) where dpkg-buildpackage or debhelper is missing. PKG_LEAVE=1 keeps
# the temporary directory; PKG_SCRATCH=1 unpacks into the scratch root
# even as root; PKG_HOST=1 installs into a machine that systemd runs.
# SPDX-License-Identifier: MIT
set -u

[ $# -eq 1 ] || { echo "usage: sh tests/package/run.sh BUILD_DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd) || exit 1
PATH="$PATH:/usr/sbin:/sbin"
export PATH

for t in dpkg-buildpackage dh; do
    if ! command -v $t >/dev/null 2>&1; then
        echo "package: SKIPPED: $t is not installed (tools/deps.sh installs debhelper)"
        exit 0
    fi
done
for t in lintian lighttpd curl jq timeout; do
    command -v $t >/dev/null 2>&1 || { echo "package: FAILED - $t is not installed"; exit 1; }
done
[ -x "$build/mock-llm" ] || { echo "package: FAILED - $build/mock-llm is missing (make)"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sy-package-XXXXXX") || exit 1
chmod 755 "$tmp"
pids=""
installed=0
made_policy=0
made_private=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    for p in $pids; do kill -TERM "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    # Never leave the package on the machine, even after a failure.
    [ "$installed" -eq 1 ] && dpkg --purge switchyard >/dev/null 2>&1
    [ "$made_policy" -eq 1 ] && rm -f /usr/sbin/policy-rc.d
    for d in $made_private; do rmdir "$d" 2>/dev/null; done
    if [ "${PKG_LEAVE:-0}" = 1 ]; then echo "package: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "package: ok - $*"; }
nok() { failed=$((failed + 1)); echo "package: FAILED - $*"; }
# check NAME CMD...: one check, passed when CMD succeeds.
check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else nok "$name"; fi
}
finish() {
    echo "package: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# ------------------------------------------------------ 1. make install
# The binary BUILD_DIR has, as it is (-o: not rebuilt with other flags,
# e.g. a sanitizer build's).
dest="$tmp/destdir"
if make --no-print-directory -C "$root" BUILD="$build" DEPS_CHECK=0 \
        -o "$build/switchyard" DESTDIR="$dest" PREFIX=/usr/local install \
        >"$tmp/install.log" 2>&1; then
    missing=""
    for f in bin/switchyard share/man/man1/switchyard.1 \
             etc/switchyard/switchyard.json \
             lib/systemd/system/switchyard.service \
             lib/systemd/system/switchyard.socket \
             share/switchyard/lighttpd.conf share/switchyard/apache.conf \
             share/switchyard/switchyard.logrotate \
             share/doc/switchyard/README.md \
             share/doc/switchyard/examples/switchyard.json; do
        [ -e "$dest/usr/local/$f" ] || missing="$missing $f"
    done
    check "make install: the expected files under PREFIX${missing:+ (missing:$missing)}" \
        [ -z "$missing" ]
    check "make install: the units name PREFIX's binary and config" \
        grep -q '^ExecStart=/usr/local/bin/switchyard serve --config /usr/local/etc/switchyard/switchyard.json$' \
        "$dest/usr/local/lib/systemd/system/switchyard.service"
    make --no-print-directory -C "$root" BUILD="$build" DEPS_CHECK=0 \
        DESTDIR="$dest" PREFIX=/usr/local uninstall >>"$tmp/install.log" 2>&1
    left=$(find "$dest" -type f | sed "s|^$dest||")
    check "make uninstall: no file left${left:+ (left: $left)}" [ -z "$left" ]
else
    tail -n 20 "$tmp/install.log"
    nok "make install"
fi

# ------------------------------------------------------------- 2. build
# A copy of the tree (tracked and new files, no build output), so that
# dpkg-buildpackage's ../*.deb land in the temporary directory.
src="$tmp/pkg/src"
mkdir -p "$src"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    # --ignore-failed-read: a tracked file deleted in the working tree.
    (cd "$root" && git ls-files -z -co --exclude-standard | grep -zv '^build' |
        tar --null -T - --ignore-failed-read -cf - 2>/dev/null) |
        (cd "$src" && tar xf -)
else
    (cd "$root" && tar cf - --exclude='./build*' --exclude=node_modules .) |
        (cd "$src" && tar xf -)
fi
jobs=$(nproc 2>/dev/null || echo 2)
start=$(date +%s)
# The package is built as a Debian builder would, whatever this run's
# make was asked (under 'make test SAN=...', MAKEFLAGS carries SAN and
# BUILD into every make below, and the package's make would build
# build-san/ instead of the build/switchyard its rules name).
if (cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SAN -u BUILD \
        DEB_BUILD_OPTIONS="parallel=$jobs" \
        dpkg-buildpackage -us -uc -b >"$tmp/pkg/build.log" 2>&1); then
    ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - start)) s)"
else
    tail -n 30 "$tmp/pkg/build.log"
    nok "dpkg-buildpackage -us -uc -b (log above)"
    finish
fi
deb=$(ls "$tmp"/pkg/switchyard_*_*.deb 2>/dev/null | head -n 1)
changes=$(ls "$tmp"/pkg/switchyard_*.changes 2>/dev/null | head -n 1)
if [ -z "$deb" ] || [ -z "$changes" ]; then
    nok "no .deb or .changes in $tmp/pkg"
    finish
fi

# ----------------------------------------------------------- 3. lintian
# Errors and warnings fail; info and pedantic tags are shown, not counted.
lintian --fail-on error,warning --info "$changes" >"$tmp/lintian.out" 2>&1
rc=$?
grep -v 'running with root privileges' "$tmp/lintian.out"
check "lintian: no error or warning" [ $rc -eq 0 ]

# ----------------------------------------------------------- 4. install
# What the service writes (StateDirectory=, LogsDirectory= with
# DynamicUser=yes): the package's postrm removes these on purge.
state_paths="/var/lib/private/switchyard /var/log/private/switchyard
/var/lib/switchyard /var/log/switchyard"
pkg_clean() {
    ! dpkg-query -W -f='${Status}' switchyard 2>/dev/null | grep -q installed &&
        [ ! -e /usr/bin/switchyard ] && [ ! -e /etc/switchyard ] || return 1
    for d in $state_paths; do
        [ ! -e "$d" ] && [ ! -L "$d" ] || return 1
    done
}
# Unit links in /etc/systemd/system (an enabled unit has some).
unit_links() { ls -d /etc/systemd/system/*/switchyard.* 2>/dev/null; }
on_systemd=0
[ -d /run/systemd/system ] && on_systemd=1
R=""
host=0
if [ "$(id -u)" -eq 0 ] && [ "${PKG_SCRATCH:-0}" != 1 ] && pkg_clean; then
    if [ "$on_systemd" -eq 0 ] || [ "${PKG_HOST:-0}" = 1 ]; then
        host=1
    else
        echo "package: note: systemd runs this machine: the package is" \
             "unpacked, not installed (PKG_HOST=1 installs it)"
    fi
fi
if [ "$host" -eq 1 ]; then
    # The package neither enables nor starts its units (debian/rules);
    # on a machine that systemd runs, a policy-rc.d makes sure nothing
    # starts even so (deb-systemd-invoke asks it), unless there is one.
    if [ "$on_systemd" -eq 1 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d &&
            chmod 755 /usr/sbin/policy-rc.d && made_policy=1
    fi
    # dpkg takes no lock timeout: wait while apt or dpkg runs elsewhere.
    i=0
    while :; do
        dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 && break
        i=$((i + 1))
        if [ $i -ge 30 ] || ! grep -q 'lock' "$tmp/dpkg.log"; then
            cat "$tmp/dpkg.log"
            nok "dpkg -i $(basename "$deb")"
            dpkg --purge switchyard >/dev/null 2>&1
            finish
        fi
        sleep 2
    done
    installed=1
    ok "dpkg -i $(basename "$deb") (into this machine)"
    check "dpkg: /etc/switchyard/switchyard.json and /etc/logrotate.d/switchyard are conffiles" sh -c \
        "dpkg-query -W -f='\${Conffiles}' switchyard > '$tmp/conffiles' &&
         grep -q '^ /etc/switchyard/switchyard.json ' '$tmp/conffiles' &&
         grep -q '^ /etc/logrotate.d/switchyard ' '$tmp/conffiles'"
    links=$(unit_links)
    check "dpkg -i: the units are not enabled${links:+ (links: $links)}" [ -z "$links" ]
    if [ "$on_systemd" -eq 1 ]; then
        check "dpkg -i: the units are not started" sh -c \
            "! systemctl is-active --quiet switchyard.socket &&
             ! systemctl is-active --quiet switchyard.service"
    fi
else
    R="$tmp/root"
    if dpkg -x "$deb" "$R"; then
        ok "dpkg -x $(basename "$deb") (into a scratch root)"
    else
        nok "dpkg -x $(basename "$deb")"
        finish
    fi
fi
unitdir=""
for d in /lib/systemd/system /usr/lib/systemd/system; do
    [ -f "$R$d/switchyard.service" ] && unitdir=$d
done
check "installed: the binary, config, units, man page, lighttpd snippet, logrotate config" \
    test -x "$R/usr/bin/switchyard" -a -f "$R/etc/switchyard/switchyard.json" \
    -a -f "$R/etc/logrotate.d/switchyard" \
    -a -n "$unitdir" -a -f "$R$unitdir/switchyard.socket" \
    -a -f "$R/usr/share/man/man1/switchyard.1.gz" \
    -a -f "$R/usr/share/switchyard/lighttpd.conf"
[ -n "$unitdir" ] || finish
service="$R$unitdir/switchyard.service"
socket="$R$unitdir/switchyard.socket"
check "switchyard.socket: /run/switchyard/switchyard.sock, 0660, group www-data" \
    sh -c "grep -qx 'ListenStream=/run/switchyard/switchyard.sock' '$socket' &&
           grep -qx 'SocketMode=0660' '$socket' && grep -qx 'SocketGroup=www-data' '$socket'"
if command -v systemd-analyze >/dev/null 2>&1; then
    if [ -z "$R" ]; then
        systemd-analyze verify "$socket" "$service" >"$tmp/verify.out" 2>&1
    else
        # The units with the scratch root in front of their paths (no
        # man page in the system's man path either).
        mkdir -p "$tmp/units"
        for u in switchyard.socket switchyard.service; do
            sed -e "s|/usr/bin/switchyard|$R/usr/bin/switchyard|g" \
                -e "s|/etc/switchyard/|$R/etc/switchyard/|g" \
                "$R$unitdir/$u" >"$tmp/units/$u"
        done
        systemd-analyze verify --man=no "$tmp/units/switchyard.socket" \
            "$tmp/units/switchyard.service" >"$tmp/verify.out" 2>&1
    fi
    rc=$?
    cat "$tmp/verify.out"
    check "systemd-analyze verify: the installed units" \
        test $rc -eq 0 -a ! -s "$tmp/verify.out"
else
    echo "package: note: systemd-analyze not installed; units not verified"
fi

# ------------------------------------------------------------- 5. serve
# The unit's commands, with the scratch root in front of its paths.
unit_cmd() {
    sed -n "s/^$1=//p" "$service" | head -n 1 |
        sed -e "s|/usr/bin/switchyard|$R/usr/bin/switchyard|g" \
            -e "s|/etc/switchyard/|$R/etc/switchyard/|g"
}
pre=$(unit_cmd ExecStartPre)
cmd=$(unit_cmd ExecStart)
check "switchyard.service: ExecStart is 'switchyard serve --config .../switchyard.json'" \
    sh -c "echo '$cmd' | grep -q '/usr/bin/switchyard serve --config $R/etc/switchyard/switchyard.json\$'"

random_port() {
    n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    echo $((20000 + n % 40000))
}
wait_for() { # wait_for SECONDS CMD...
    n=$(($1 * 20))
    shift
    while ! "$@" >/dev/null 2>&1; do
        n=$((n - 1))
        [ $n -gt 0 ] || return 1
        sleep 0.05
    done
}

timeout -k 5 170 "$build/mock-llm" --port 0 --port-file "$tmp/mock.port" \
    --max-lifetime 170 >"$tmp/mock.log" 2>&1 &
mock_pid=$!
pids="$mock_pid"
wait_for 10 test -s "$tmp/mock.port" || { nok "the mock provider did not start"; finish; }
mock_port=$(cat "$tmp/mock.port")

# shellcheck disable=SC2086 # the unit's command line, split like systemd
check "ExecStartPre: check-config of the installed config" \
    sh -c "env -i SWITCHYARD_MOCK_PORT='$mock_port' $pre >'$tmp/pre.out' 2>&1"

# The pool serves the installed config with the usage and access logs
# added (the shipped config writes neither), under $tmp/logs, and a pid
# file: the logrotate check below signals that pid.
mkdir -p "$tmp/logs"
jq --arg a "$tmp/logs/access.log" --arg u "$tmp/logs/usage.log" \
    '.server.access_log = $a | .server.usage_log = $u' \
    "$R/etc/switchyard/switchyard.json" >"$tmp/switchyard.json"
cmd="$(echo "$cmd" | sed "s|$R/etc/switchyard/switchyard.json|$tmp/switchyard.json|")"
cmd="$cmd --pid-file $tmp/switchyard.pid"

mkdir -p "$tmp/run"
sock="$tmp/run/switchyard.sock"
if command -v systemd-socket-activate >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    timeout -k 5 170 systemd-socket-activate -l "$sock" \
        -E SWITCHYARD_MOCK_PORT="$mock_port" $cmd >"$tmp/switchyard.log" 2>&1 &
    activated=1
else
    echo "package: note: no systemd-socket-activate; the pool opens the socket itself"
    # shellcheck disable=SC2086
    env -i SWITCHYARD_MOCK_PORT="$mock_port" timeout -k 5 170 $cmd \
        --listen "unix:$sock" >"$tmp/switchyard.log" 2>&1 &
    activated=0
fi
sy_pid=$!
pids="$sy_pid $pids"
wait_for 10 test -S "$sock" || { cat "$tmp/switchyard.log"; nok "no socket $sock"; finish; }
chmod 0660 "$sock" # SocketMode= of the unit

http_port=""
for _ in 1 2 3 4 5; do
    p=$(random_port)
    printf '# Test config: the installed snippet, as is.\ninclude "%s"\n' \
        "$R/usr/share/switchyard/lighttpd.conf" >"$tmp/lighttpd.conf"
    SWITCHYARD_HTTP_ADDR=127.0.0.1 SWITCHYARD_HTTP_PORT=$p \
    SWITCHYARD_SOCKET=$sock SWITCHYARD_RUN_DIR="$tmp/run" \
        timeout -k 5 170 lighttpd -D -f "$tmp/lighttpd.conf" >"$tmp/lighttpd.out" 2>&1 &
    lt_pid=$!
    pids="$lt_pid $pids"
    n=100
    while [ $n -gt 0 ] && kill -0 "$lt_pid" 2>/dev/null &&
          ! grep -q 'server started' "$tmp/run/lighttpd-error.log" 2>/dev/null; do
        n=$((n - 1))
        sleep 0.05
    done
    if grep -q 'server started' "$tmp/run/lighttpd-error.log" 2>/dev/null &&
       kill -0 "$lt_pid" 2>/dev/null; then
        http_port=$p
        break
    fi
    kill "$lt_pid" 2>/dev/null # the port was taken: another one
    wait "$lt_pid" 2>/dev/null
    pids=${pids#"$lt_pid "}
done
if [ -z "$http_port" ]; then
    cat "$tmp/lighttpd.out" "$tmp/run/lighttpd-error.log" 2>/dev/null
    nok "lighttpd did not start from the installed snippet"
    finish
fi
url="http://127.0.0.1:$http_port"

code=$(curl -s -m 20 -o "$tmp/healthz.json" -w '%{http_code}' "$url/healthz")
check "GET /healthz through lighttpd: 200 ($code: $(head -c 200 "$tmp/healthz.json"))" \
    [ "$code" = 200 ]
if [ "$activated" = 1 ]; then
    check "the pool took the socket systemd's way (fd 3, LISTEN_FDS)" \
        grep -q 'serving on the systemd socket (fd 3)' "$tmp/switchyard.log"
fi
code=$(curl -s -m 30 -o "$tmp/chat.json" -w '%{http_code}' \
    -H 'Content-Type: application/json' "$url/v1/chat/completions" \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello from the package test"}]}')
check "POST /v1/chat/completions through lighttpd: 200 from the mock provider" \
    sh -c "[ '$code' = 200 ] && jq -e '.object == \"chat.completion\" and
        (.choices[0].message.content | type == \"string\" and length > 0)' \
        '$tmp/chat.json' >/dev/null"
[ "$code" = 200 ] || head -c 500 "$tmp/chat.json"

# Log rotation with the installed logrotate config: its paths pointed at
# $tmp/logs, its SIGHUP at this pool instead of the systemd unit's.
if command -v logrotate >/dev/null 2>&1; then
    sed -e "s|/var/log/switchyard/|$tmp/logs/|" \
        -e 's|if \[ -d /run/systemd/system \]|if true|' \
        -e "s|systemctl kill --signal=HUP switchyard.service|kill -HUP $(cat "$tmp/switchyard.pid")|" \
        "$R/etc/logrotate.d/switchyard" >"$tmp/logrotate.conf"
    chmod 0644 "$tmp/logrotate.conf"
    logrotate -f -s "$tmp/logrotate.state" "$tmp/logrotate.conf" >"$tmp/logrotate.out" 2>&1
    rc=$?
    cat "$tmp/logrotate.out"
    check "logrotate (the installed config): access.log and usage.log renamed to .1" \
        test $rc -eq 0 -a -s "$tmp/logs/access.log.1" -a -s "$tmp/logs/usage.log.1"
    # Each worker says when it reopened; then a request that names itself.
    procs=$(jq -r '.server.processes // 1' "$tmp/switchyard.json")
    wait_for 10 sh -c "[ \$(grep -c 'SIGHUP: log files reopened' '$tmp/switchyard.log') -ge $procs ]"
    code=$(curl -s -m 30 -o "$tmp/chat2.json" -w '%{http_code}' \
        -H 'Content-Type: application/json' -H 'X-Request-Id: pkg-after-rotation' \
        "$url/v1/chat/completions" \
        -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello again"}]}')
    wait_for 5 grep -q pkg-after-rotation "$tmp/logs/usage.log"
    check "after logrotate: the next request ($code) in the new access.log and usage.log only" \
        sh -c "cd '$tmp/logs' && grep -q pkg-after-rotation access.log &&
               grep -q pkg-after-rotation usage.log &&
               ! grep -q pkg-after-rotation access.log.1 usage.log.1"
else
    echo "package: note: logrotate is not installed (tools/deps.sh installs it): rotation not checked"
fi

# Stop: lighttpd, then the pool (SIGTERM drains), then the mock (the
# order of $pids).
for p in $pids; do
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null
done
pids=""
check "the pool stopped on SIGTERM" grep -q 'stopped' "$tmp/switchyard.log"

# ------------------------------------------------------------- 6. purge
if [ $installed -eq 1 ]; then
    # What the service would have written, laid out the way systemd's
    # DynamicUser= does it (pkg_clean made sure none of it was there).
    for v in /var/lib /var/log; do
        [ -d "$v/private" ] || { mkdir -m 0700 "$v/private" && made_private="$made_private $v/private"; }
        mkdir -p "$v/private/switchyard"
        ln -s private/switchyard "$v/switchyard"
    done
    echo state >/var/lib/private/switchyard/state
    echo '{"key":"ci-bot"}' >/var/log/private/switchyard/access.log
    dpkg -r switchyard >"$tmp/remove.log" 2>&1 || cat "$tmp/remove.log"
    check "dpkg -r: the binary gone, the state and logs kept" \
        test ! -e /usr/bin/switchyard -a -f /var/lib/switchyard/state \
        -a -f /var/log/switchyard/access.log
    dpkg --purge switchyard >"$tmp/purge.log" 2>&1 || cat "$tmp/purge.log"
    installed=0
    links=$(unit_links)
    check "dpkg --purge: binary, config, units and unit links gone${links:+ (links: $links)}" \
        test ! -e /usr/bin/switchyard -a ! -e /etc/switchyard \
        -a ! -e /etc/logrotate.d/switchyard \
        -a ! -e "$unitdir/switchyard.service" -a -z "$links"
    left=""
    for d in $state_paths; do
        { [ -e "$d" ] || [ -L "$d" ]; } && left="$left $d"
    done
    check "dpkg --purge: state and logs gone${left:+ (left:$left)}" [ -z "$left" ]
    check "dpkg --purge: the package is not installed" sh -c \
        "! dpkg-query -W -f='\${Status}' switchyard 2>/dev/null | grep -q installed"
fi
finish
