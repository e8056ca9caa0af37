# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by tools/demo.sh: a throw-away network namespace, a private
# dbus-daemon and groupd inside the namespace, and their clean-up.
#
# Safety: every `ip` command here names the namespace (ip -n "$GD_NS"), groupd
# only ever runs under `ip netns exec "$GD_NS"` after checking that the
# namespace is not the host's, and the clean-up kills only the pids started here.

GD_NS=""
GD_TMP=""
GD_BUS_SOCK=""
GD_BUS_ADDR=""
GD_DBUS_PID=""
GD_GROUPD_PID=""
GD_EXTRA_PIDS=()

gd_cleanup() {
    local pid
    for pid in "${GD_EXTRA_PIDS[@]}" $GD_GROUPD_PID $GD_DBUS_PID; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    GD_EXTRA_PIDS=()
    GD_GROUPD_PID=""
    GD_DBUS_PID=""
    if [ -n "$GD_NS" ]; then
        ip netns del "$GD_NS" 2>/dev/null || true
        GD_NS=""
    fi
    if [ -n "$GD_TMP" ] && [ -d "$GD_TMP" ]; then
        rm -rf -- "$GD_TMP"
        GD_TMP=""
    fi
}

# gd_env_trap: clean up on every exit path.
gd_env_trap() {
    trap 'gd_cleanup' EXIT
    trap 'echo "interrupted: cleaning up" >&2; gd_cleanup; trap - EXIT; exit 130' INT
    trap 'echo "terminated: cleaning up" >&2; gd_cleanup; trap - EXIT; exit 143' TERM
}

# gd_ns_create PREFIX: a new namespace PREFIX-$$ with lo up, and a temp dir.
gd_ns_create() {
    GD_TMP=$(mktemp -d "/tmp/$1.XXXXXX")
    GD_NS="$1-$$"
    ip netns add "$GD_NS"
    ip -n "$GD_NS" link set lo up
    local host_ns ns_ns
    host_ns=$(readlink /proc/self/ns/net)
    ns_ns=$(ip netns exec "$GD_NS" readlink /proc/self/ns/net)
    if [ -z "$ns_ns" ] || [ "$ns_ns" = "$host_ns" ]; then
        echo "refusing to go on: namespace $GD_NS is the host's ($ns_ns)" >&2
        exit 1
    fi
}

# gd_bus_start: a private system-type dbus-daemon on a unix socket in $GD_TMP.
gd_bus_start() {
    GD_BUS_SOCK="$GD_TMP/bus.sock"
    GD_BUS_ADDR="unix:path=$GD_BUS_SOCK"
    cat >"$GD_TMP/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$GD_BUS_ADDR</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
CONF
    dbus-daemon --config-file="$GD_TMP/bus.conf" --nofork --nopidfile \
        </dev/null >"$GD_TMP/dbus.log" 2>&1 &
    GD_DBUS_PID=$!
    local _
    for _ in $(seq 100); do
        [ -S "$GD_BUS_SOCK" ] && return 0
        kill -0 "$GD_DBUS_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "dbus-daemon did not start:" >&2
    cat "$GD_TMP/dbus.log" >&2
    return 1
}

# gd_groupd_start BIN [ARGS...]: groupd inside the namespace, on the private bus;
# returns once it answers on the bus.
gd_groupd_start() {
    local bin=$1
    shift
    if [ -z "$GD_NS" ] || [ ! -e "/run/netns/$GD_NS" ]; then
        echo "no namespace: refusing to start groupd" >&2
        return 1
    fi
    mkdir -p "$GD_TMP/root"
    ip netns exec "$GD_NS" "$bin" --config-root="$GD_TMP/root" \
        --bus-address="$GD_BUS_ADDR" "$@" </dev/null >"$GD_TMP/groupd.log" 2>&1 &
    GD_GROUPD_PID=$!
    local _
    for _ in $(seq 300); do
        if busctl --address="$GD_BUS_ADDR" call net.groupd1 /net/groupd1 \
            net.groupd1.Manager ListGroups >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$GD_GROUPD_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "groupd did not come up on the bus:" >&2
    cat "$GD_TMP/groupd.log" >&2
    return 1
}
