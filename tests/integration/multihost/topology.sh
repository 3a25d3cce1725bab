#!/bin/sh
# tests/integration/multihost/topology.sh - the network of the multi-host
# tests, made of Linux network namespaces (needs root, iproute2, veth and
# bridge support in the kernel):
#
#   topology.sh up PREFIX NET     create it
#   topology.sh down PREFIX       kill what runs inside, delete it
#   topology.sh probe PREFIX      can namespaces, veth and a bridge be made
#                                 here? (exit status; cleans up after itself)
#
# PREFIX names the namespaces (unique per run, e.g. sy-<pid>); NET is the
# first three octets of a private /24 (e.g. 10.37.142). Namespaces:
#
#   PREFIX-hub    a bridge br0 that joins all the others, no address
#   PREFIX-redis  NET.2      redis-server
#   PREFIX-mock   NET.3      the mock provider (on its 127.0.0.1) and a relay
#                            that exposes it on NET.3
#   PREFIX-h1..3  NET.11-13  one gateway host each: lighttpd, switchyard
#                            pool, a relay to Redis on its 127.0.0.1
#   PREFIX-cl     NET.100    the test itself (the clients)
#
# Each one is joined to the hub by a veth pair (eth0 inside, pN in the
# hub) and has lo up. The hub is not connected to the host's own network
# namespace, so nothing here can reach, or be reached from, any other
# address. 'down' is safe to call on a half-made topology and twice.
set -u
PATH="$PATH:/usr/sbin:/sbin"

NODES="redis:2 mock:3 h1:11 h2:12 h3:13 cl:100"

usage() {
    echo "usage: topology.sh up PREFIX NET | down PREFIX | probe PREFIX" >&2
    exit 2
}

# The processes still inside namespace $1 are ours (we made it): kill
# them by pid, then delete it.
ns_delete() {
    ip netns list 2>/dev/null | grep -q "^$1\( \|$\)" || return 0
    for pid in $(ip netns pids "$1" 2>/dev/null); do
        kill -KILL "$pid" 2>/dev/null
    done
    ip netns del "$1" 2>/dev/null || {
        sleep 0.2
        ip netns del "$1"
    }
}

down() {
    for n in $NODES; do
        ns_delete "$1-${n%%:*}"
    done
    ns_delete "$1-hub"
}

up() {
    prefix=$1 net=$2
    if ! { ip netns add "$prefix-hub" &&
        ip -n "$prefix-hub" link set lo up &&
        ip -n "$prefix-hub" link add br0 type bridge &&
        ip -n "$prefix-hub" link set br0 up; }; then
        echo "topology: could not set up the hub" >&2
        return 1
    fi
    i=0
    for n in $NODES; do
        name=${n%%:*} host=${n#*:} ns="$prefix-${n%%:*}"
        i=$((i + 1))
        if ! { ip netns add "$ns" &&
            ip -n "$prefix-hub" link add "p$i" type veth peer name eth0 netns "$ns" &&
            ip -n "$prefix-hub" link set "p$i" master br0 up &&
            ip -n "$ns" link set lo up &&
            ip -n "$ns" addr add "$net.$host/24" dev eth0 &&
            ip -n "$ns" link set eth0 up; }; then
            echo "topology: could not set up $name ($ns)" >&2
            return 1
        fi
    done
    # Every node reaches every other one (the bridge forwards at once:
    # no STP); wait until the links are up.
    for n in $NODES; do
        ns="$prefix-${n%%:*}"
        k=0
        while ! ip -n "$ns" -o link show eth0 | grep -q 'state UP'; do
            k=$((k + 1))
            [ $k -gt 50 ] && { echo "topology: eth0 of $ns not up" >&2; return 1; }
            sleep 0.05
        done
    done
    return 0
}

[ $# -ge 2 ] || usage
case $1 in
up)
    [ $# -eq 3 ] || usage
    case $3 in
    10.[0-9]*.[0-9]*) ;;
    *) echo "topology: NET must be 10.X.Y" >&2; exit 2 ;;
    esac
    if ! up "$2" "$3"; then
        down "$2"
        exit 1
    fi
    ;;
down)
    down "$2"
    ;;
probe)
    p="$2-probe"
    ok=1
    ip netns add "$p" 2>/dev/null || ok=0
    if [ $ok = 1 ]; then
        if ! { ip -n "$p" link add br0 type bridge 2>/dev/null &&
            ip -n "$p" link add v0 type veth peer name v1 2>/dev/null; }; then
            ok=0
        fi
        ns_delete "$p"
    fi
    [ $ok = 1 ]
    ;;
*)
    usage
    ;;
esac
