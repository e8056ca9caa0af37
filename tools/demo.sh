#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# groupd demo: installs what is missing, builds, then runs groupd in a
# throw-away network namespace with a private D-Bus and 2048 ifb links, and
# does every group operation with busctl, checking each with `ip -j`. Then
# group policies: a *.group file in the demo's config root, dry run, reload,
# drift repair, hot-plug, a SetGroup override until SIGHUP, a bad file.
#
#   bash tools/demo.sh            (as root, on Debian 12)
#
# Environment: GD_LINKS (default 2048), GD_BUILD_DIR (default build),
# GD_SKIP_DEPS=1 (do not run tools/install-deps.sh).
#
# It never touches the host's interfaces: every `ip` command names the demo's
# namespace, groupd runs inside it, and everything is removed on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
LINKS=${GD_LINKS:-2048}
BUILD=${GD_BUILD_DIR:-build}
PY=/usr/bin/python3
IPSUM="$ROOT/tools/lib/ipsum.py"

if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: run as root (it creates a network namespace)" >&2
    exit 1
fi

# --- dependencies and build ------------------------------------------------
if [ "${GD_SKIP_DEPS:-0}" != 1 ]; then
    bash tools/install-deps.sh
fi
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD"
fi
meson compile -C "$BUILD"
case "$BUILD" in
/*) GROUPD="$BUILD/src/groupd" ;;
*) GROUPD="$ROOT/$BUILD/src/groupd" ;;
esac

# shellcheck source=tools/lib/netns-bus.sh
. "$ROOT/tools/lib/netns-bus.sh"
gd_env_trap

STEP=0
FAILED=0
declare -a TIMES=()

now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000)) | awk '{printf "%.1f", $1 / 1000}'; }

step() {
    STEP=$((STEP + 1))
    printf '\n== %d. %s\n' "$STEP" "$*"
}

# show ARGS...: print a command line, eliding the middle of long argument lists.
show() {
    local out="" i=0 n=$# a
    for a in "$@"; do
        i=$((i + 1))
        if [ "$n" -gt 40 ] && [ "$i" -gt 14 ] && [ "$i" -lt $((n - 1)) ]; then
            [ "$i" -eq 15 ] && out+=" … ($((n - 16)) more) …"
            continue
        fi
        if [[ "$a" =~ ^[][A-Za-z0-9_./:,=@+%-]+$ ]]; then
            out+=" $a"
        elif [[ "$a" != *"'"* ]]; then
            out+=" '$a'"
        elif [[ "$a" != *[\"\$\`\\]* ]]; then
            out+=" \"$a\""
        else
            out+=" $(printf '%q' "$a")"
        fi
    done
    printf '$%s\n' "$out"
}

BUSCTL=()
# bus EXPECT ARGS...: run `busctl --address=… ARGS`, print it, its output and
# its time. EXPECT is "ok" or the D-Bus error name the call must fail with.
# Output lines are cut at BUS_WIDTH characters (default 160).
bus() {
    local expect=$1
    shift
    show busctl --address="$GD_BUS_ADDR" "$@"
    local t0 out rc=0 ms
    t0=$(now_ns)
    out=$("${BUSCTL[@]}" "$@" 2>&1) || rc=$?
    ms=$(ms_since "$t0")
    local what="$*"
    what=${what#call net.groupd1 /net/groupd1 net.groupd1.Manager }
    TIMES+=("$(printf '%9s ms   %s' "$ms" "$STEP. ${what:0:80}")")
    if [ -n "$out" ]; then
        printf '%s\n' "$out" | head -n 12 | cut -c1-"${BUS_WIDTH:-160}"
    elif [ "$rc" -eq 0 ]; then
        echo "(returned, no value)"
    fi
    if [ "$expect" = ok ]; then
        if [ "$rc" -ne 0 ]; then
            echo "   !! FAILED (exit $rc)"
            FAILED=$((FAILED + 1))
        fi
    else
        if [ "$rc" -eq 0 ]; then
            echo "   !! expected $expect, but the call succeeded"
            FAILED=$((FAILED + 1))
        else
            echo "   (refused, as it should be)"
        fi
    fi
    printf '   [%s ms]\n' "$ms"
}

# gdbus_error EXPECTED METHOD ARGS...: busctl prints only an error's message;
# repeat a refused call with gdbus, which prints the D-Bus error name too.
gdbus_error() {
    local expect=$1 method=$2
    shift 2
    echo "   the same call with gdbus, which shows the D-Bus error name:"
    show gdbus call --address "$GD_BUS_ADDR" --dest net.groupd1 --object-path /net/groupd1 \
        --method "net.groupd1.Manager.$method" "$@"
    local out rc=0
    out=$(gdbus call --address "$GD_BUS_ADDR" --dest net.groupd1 --object-path /net/groupd1 \
        --method "net.groupd1.Manager.$method" "$@" 2>&1) || rc=$?
    printf '%s\n' "$out" | head -n 3 | cut -c1-160
    if [ "$rc" -eq 0 ] || ! grep -q -- "$expect" <<<"$out"; then
        echo "   !! expected $expect"
        FAILED=$((FAILED + 1))
    fi
}

# check DESCRIPTION IPARGS... -- IPSUMARGS...: `ip -n NS -j IPARGS`, summarised.
check() {
    local desc=$1
    shift
    local ipargs=()
    while [ "$1" != -- ]; do
        ipargs+=("$1")
        shift
    done
    shift
    local res rc=0
    res=$(ip -n "$GD_NS" -j "${ipargs[@]}" | "$PY" "$IPSUM" "$@") || rc=$?
    printf '   check%s: ip -j %s → %s\n' "${desc:+ ($desc)}" "${ipargs[*]}" "$res"
    if [ "$rc" -ne 0 ]; then
        FAILED=$((FAILED + 1))
    fi
}

# wait_ip DESCRIPTION T0 TIMEOUT_S IPARGS... -- IPSUMARGS...: poll
# `ip -n NS -j IPARGS | ipsum.py IPSUMARGS` until its check holds; print how
# long after T0 (now_ns) that was. Fails the demo after TIMEOUT_S seconds.
wait_ip() {
    local desc=$1 t0=$2 timeout_ms=$(($3 * 1000))
    shift 3
    local ipargs=()
    while [ "$1" != -- ]; do
        ipargs+=("$1")
        shift
    done
    shift
    local res rc ms
    while :; do
        rc=0
        res=$(ip -n "$GD_NS" -j "${ipargs[@]}" | "$PY" "$IPSUM" "$@") || rc=$?
        ms=$((($(now_ns) - t0) / 1000000))
        [ "$rc" -eq 0 ] && break
        if [ "$ms" -gt "$timeout_ms" ]; then
            printf '   !! %s: not after %d ms: ip -j %s → %s\n' "$desc" "$ms" "${ipargs[*]}" "$res"
            FAILED=$((FAILED + 1))
            return 0
        fi
        sleep 0.02
    done
    printf '   %s after %d ms: ip -j %s → %s\n' "$desc" "$ms" "${ipargs[*]}" "$res"
}

# nl_counters: groupd's "NetlinkRequests NetlinkSends" (Manager properties).
nl_counters() {
    "${BUSCTL[@]}" get-property net.groupd1 /net/groupd1 net.groupd1.Manager \
        NetlinkRequests NetlinkSends | awk '{printf "%s ", $2} END {print ""}'
}

# nl_delta "R0 S0 " "R1 S1 ": "N netlink requests in M sendmsg() calls".
nl_delta() {
    local r0 s0 r1 s1
    read -r r0 s0 <<<"$1"
    read -r r1 s1 <<<"$2"
    printf '%d netlink requests in %d sendmsg() calls' $((r1 - r0)) $((s1 - s0))
}

# plan_call [--empty|--not-empty] ARGS...: `busctl ARGS` returning a plan
# (Plan, Reload): print the command, its time and the plan, summarised.
plan_call() {
    local want=()
    case "$1" in --empty | --not-empty) want=("$1") && shift ;; esac
    show busctl --address="$GD_BUS_ADDR" "$@"
    local t0 out rc=0 ms
    t0=$(now_ns)
    out=$("${BUSCTL[@]}" --json=short "$@" 2>&1) || rc=$?
    ms=$(ms_since "$t0")
    local what="$*"
    what=${what#call net.groupd1 /net/groupd1 net.groupd1.Manager }
    TIMES+=("$(printf '%9s ms   %s' "$ms" "$STEP. ${what:0:80}")")
    if [ "$rc" -ne 0 ]; then
        printf '%s\n' "$out" | head -n 12 | cut -c1-160
        echo "   !! FAILED (exit $rc)"
        FAILED=$((FAILED + 1))
    elif ! printf '%s' "$out" | "$PY" "$ROOT/tools/lib/plansum.py" "${want[@]}"; then
        FAILED=$((FAILED + 1))
    fi
    printf '   [%s ms]\n' "$ms"
}

T_ALL=$(now_ns)

# --- namespace, links, bus, daemon -----------------------------------------
step "A throw-away network namespace with $LINKS ifb links and 4 veth pairs"
gd_ns_create gd-demo
echo "   namespace: $GD_NS   temp dir: $GD_TMP"
IFBS=()
for i in $(seq 0 $((LINKS - 1))); do IFBS+=("ifb$i"); done
printf 'link add %s type ifb\n' "${IFBS[@]}" >"$GD_TMP/links.batch"
for i in 0 1 2 3; do
    printf 'link add gdv%da type veth peer name gdv%db\n' "$i" "$i" >>"$GD_TMP/links.batch"
done
t0=$(now_ns)
show ip -n "$GD_NS" -batch "$GD_TMP/links.batch"
ip -n "$GD_NS" -batch "$GD_TMP/links.batch"
printf '   [%s ms]\n' "$(ms_since "$t0")"
check "every link starts in group 0, down" link show -- links --count $((LINKS + 9))

step "A private system-type dbus-daemon and groupd inside the namespace"
gd_bus_start
BUSCTL=(busctl --address="$GD_BUS_ADDR")
echo "   bus: $GD_BUS_ADDR"
t0=$(now_ns)
show ip netns exec "$GD_NS" "$GROUPD" --config-root="$GD_TMP/root" --bus-address="$GD_BUS_ADDR"
gd_groupd_start "$GROUPD"
printf '   groupd pid %s answers on the bus after %s ms\n' "$GD_GROUPD_PID" "$(ms_since "$t0")"
sed 's/^/   groupd: /' "$GD_TMP/groupd.log"

step "ListGroups"
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager ListGroups

step "SetLinkGroup: every ifb link into group 100 (one sendmsg)"
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager SetLinkGroup ass "$LINKS" "${IFBS[@]}" 100
check "" link show group 100 -- links --count "$LINKS"
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager ListGroups

step "SetGroup 100: MTU 1400 and State up (one group-scoped RTM_NEWLINK)"
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager SetGroup 'sa{sv}a{sv}' \
    100 2 MTU u 1400 State s up 0
check "" link show group 100 -- links --count "$LINKS" --mtu 1400 --up "$LINKS"

step "SetGroup 100: TxQueueLength 2000"
echo "   (the members are UP now: with IPv6 on, the kernel walks the FIB for each member,"
echo "    so group changes on UP links cost ~0.3-1 s at 2048 links; DOWN ones ~0.01 s)"
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager SetGroup 'sa{sv}a{sv}' \
    100 1 TxQueueLength u 2000 0
check "" link show group 100 -- links --count "$LINKS" --txqlen 2000

step "AddGroupAddress 100: 10.0.0.1/24 and fd00::1/64 on every member (one sendmsg each)"
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager AddGroupAddress 'ssa{sv}' 100 10.0.0.1/24 0
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager AddGroupAddress 'ssa{sv}' 100 fd00::1/64 0
check "" address show group 100 -- addr 10.0.0.1/24 --count "$LINKS"
check "" address show group 100 -- addr fd00::1/64 --count "$LINKS"
echo "   a member's addresses:"
show ip -n "$GD_NS" -br address show dev ifb0
ip -n "$GD_NS" -br address show dev ifb0 | sed 's/^/   /'
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager GetLink s ifb0

step "RemoveGroupAddress 100: 10.0.0.1/24 and fd00::1/64"
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager RemoveGroupAddress 'ssa{sv}' 100 10.0.0.1/24 0
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager RemoveGroupAddress 'ssa{sv}' 100 fd00::1/64 0
check "" address show group 100 -- addr 10.0.0.1/24 --count 0
check "" address show group 100 -- addr fd00::1/64 --count 0

step "MAC address of a group: 4 veth ends in group 200 (ifb cannot change its MAC)"
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager SetLinkGroup ass 4 gdv0a gdv1a gdv2a gdv3a 200
check "before" link show group 200 -- links --count 4
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager SetGroup 'sa{sv}a{sv}' \
    200 1 MACAddress s 02:00:00:00:c8:01 0
check "after" link show group 200 -- links --count 4 --mac 02:00:00:00:c8:01

step "Reading the Group objects"
bus ok tree net.groupd1
bus ok get-property net.groupd1 /net/groupd1/group/100 net.groupd1.Group \
    Id Name MemberCount MTU State TxQueueLength
bus ok get-property net.groupd1 /net/groupd1/group/200 net.groupd1.Group Members
bus ok get-property net.groupd1 /net/groupd1 net.groupd1.Manager Version LinkCount ResyncCount
show busctl --address="$GD_BUS_ADDR" --json=short call net.groupd1 /net/groupd1 net.groupd1.Manager ListLinks
t0=$(now_ns)
"${BUSCTL[@]}" --json=short call net.groupd1 /net/groupd1 net.groupd1.Manager ListLinks |
    "$PY" -c '
import json, sys, collections
links = json.load(sys.stdin)["data"][0]
groups = collections.Counter(l[2] for l in links)
print("   %d links; by group: %s; first: %s" % (len(links),
      ", ".join("%s: %d" % kv for kv in sorted(groups.items())), links[:2]))'
printf '   [%s ms]\n' "$(ms_since "$t0")"

step "Group 0 (lo, the uplink, every unconfigured link) is protected without force"
bus net.groupd1.Error.DefaultGroupProtected call net.groupd1 /net/groupd1 net.groupd1.Manager \
    SetGroup 'sa{sv}a{sv}' 0 1 MTU u 1400 0
gdbus_error net.groupd1.Error.DefaultGroupProtected SetGroup 0 "{'MTU': <uint32 1400>}" '{}'
check "nothing changed in group 0" link show group 0 -- links
check "" link show dev lo -- links --mtu 65536

step "Pre-validation: MTU 70000 is above veth's maximum (65535); nothing is sent"
bus net.groupd1.Error.InvalidArgs call net.groupd1 /net/groupd1 net.groupd1.Manager \
    SetGroup 'sa{sv}a{sv}' 200 1 MTU u 70000 0
gdbus_error net.groupd1.Error.InvalidArgs SetGroup 200 "{'MTU': <uint32 70000>}" '{}'
check "nothing changed" link show group 200 -- links --count 4 --mtu 1500
bus net.groupd1.Error.InvalidArgs call net.groupd1 /net/groupd1 net.groupd1.Manager \
    SetGroup 'sa{sv}a{sv}' 100 1 MTU u 0 0
gdbus_error net.groupd1.Error.InvalidArgs SetGroup 100 "{'MTU': <uint32 0>}" '{}'
check "nothing changed" link show group 100 -- links --count "$LINKS" --mtu 1400

step "SetGroup 100: State down"
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager SetGroup 'sa{sv}a{sv}' \
    100 1 State s down 0
check "" link show group 100 -- links --count "$LINKS" --up 0

# --- group policies: /etc/groupd in the demo's config root -----------------
POL=64
POLICY_ETC="$GD_TMP/root/etc/groupd"
POLS=()
for i in $(seq 1 "$POL"); do POLS+=("pol$i"); done

step "Group policies: $POL more ifb links pol1..pol$POL; no policy names them, so groupd leaves them alone"
printf 'link add %s type ifb\n' "${POLS[@]}" >"$GD_TMP/pol.batch"
show ip -n "$GD_NS" -batch "$GD_TMP/pol.batch"
ip -n "$GD_NS" -batch "$GD_TMP/pol.batch"
check "untouched" link show -- links --name 'pol*' --count "$POL" --group default --mtu 1500 --up 0

step "A policy file and groupd.conf in the demo's config root ($POLICY_ETC)"
mkdir -p "$POLICY_ETC/groups.d"
cat >"$POLICY_ETC/groupd.conf" <<'CONF'
[Daemon]
# Repair drift 0.2 s after the kernel reports it (default: 1 s).
DriftDebounceSec=0.2
CONF
cat >"$POLICY_ETC/groups.d/50-demo.group" <<'CONF'
[Group]
Name=demo
Id=300

[Match]
Name=pol*

[Link]
MTU=1450
State=up
TxQueueLength=500

[Address]
Address=10.30.0.1/24
Address=fd00:30::1/64
CONF
for f in groupd.conf groups.d/50-demo.group; do
    echo "   \$ cat \$GD_TMP/root/etc/groupd/$f"
    grep -v '^$' "$POLICY_ETC/$f" | sed 's/^/   | /'
done

step "Plan (the running configuration: no policy yet) and Reload dry run (flags 1): zero netlink writes"
plan_call --empty call net.groupd1 /net/groupd1 net.groupd1.Manager Plan
c0=$(nl_counters)
plan_call --not-empty call net.groupd1 /net/groupd1 net.groupd1.Manager Reload u 1
c1=$(nl_counters)
echo "   the dry run sent $(nl_delta "$c0" "$c1") (NetlinkRequests, NetlinkSends)"
[ "$c0" = "$c1" ] || { echo "   !! the dry run wrote to the kernel"; FAILED=$((FAILED + 1)); }
check "nothing changed" link show -- links --name 'pol*' --count "$POL" --group default --mtu 1500 --up 0

step "Reload (flags 0; SIGHUP does the same): the policy is applied"
c0=$(nl_counters)
plan_call --not-empty call net.groupd1 /net/groupd1 net.groupd1.Manager Reload u 0
c1=$(nl_counters)
echo "   groupd sent $(nl_delta "$c0" "$c1"): the $POL moves in one, MTU + State + TxQueueLength"
echo "   in ONE group-scoped message, and both addresses to the $POL members in one"
check "" link show group 300 -- links --count "$POL" --group 300 --mtu 1450 --up "$POL" --txqlen 500
check "" address show group 300 -- addr 10.30.0.1/24 --count "$POL"
check "" address show group 300 -- addr fd00:30::1/64 --count "$POL"
BUS_WIDTH=300 bus ok get-property net.groupd1 /net/groupd1/group/300 net.groupd1.Group \
    Id MemberCount Policy Drifted LastError
plan_call --empty call net.groupd1 /net/groupd1 net.groupd1.Manager Plan

step "Drift repair: pol5's MTU changed behind groupd's back is put back (DriftDebounceSec=0.2)"
c0=$(nl_counters)
show ip -n "$GD_NS" link set dev pol5 mtu 9000
t0=$(now_ns)
ip -n "$GD_NS" link set dev pol5 mtu 9000
wait_ip "repaired" "$t0" 2 link show dev pol5 -- links --group 300 --mtu 1450
echo "   (groupd plans again DriftDebounceSec=0.2 after its cache published the first change, or"
echo "    sooner when a plan was already due; the cache gathers the kernel's events for 20 ms,"
echo "    300 ms within 3 s of a change of groupd's own)"
sleep 0.3
c1=$(nl_counters)
echo "   groupd sent $(nl_delta "$c0" "$c1") for the repair (one group-scoped message)"
grep 'links changed' "$GD_TMP/groupd.log" | tail -n 1 | sed 's/^/   groupd: /'
bus ok get-property net.groupd1 /net/groupd1/group/300 net.groupd1.Group Drifted LastError

step "Hot-plug: a new link pol$((POL + 1)) joins group 300 and gets the policy"
show ip -n "$GD_NS" link add "pol$((POL + 1))" type ifb
t0=$(now_ns)
ip -n "$GD_NS" link add "pol$((POL + 1))" type ifb
wait_ip "joined" "$t0" 2 address show dev "pol$((POL + 1))" -- addr fd00:30::1/64 --count 1
check "" link show dev "pol$((POL + 1))" -- links --group 300 --mtu 1450 --up 1 --txqlen 500
check "" address show dev "pol$((POL + 1))" -- addr 10.30.0.1/24 --count 1
grep 'links changed' "$GD_TMP/groupd.log" | tail -n 1 | sed 's/^/   groupd: /'
bus ok get-property net.groupd1 /net/groupd1/group/300 net.groupd1.Group MemberCount Drifted

step "SetGroup on a policy group holds until the next reload: drift repair keeps it, SIGHUP restores the file's"
bus ok call net.groupd1 /net/groupd1 net.groupd1.Manager SetGroup 'sa{sv}a{sv}' 300 1 MTU u 1400 0
check "" link show group 300 -- links --count $((POL + 1)) --mtu 1400
BUS_WIDTH=300 bus ok get-property net.groupd1 /net/groupd1/group/300 net.groupd1.Group Policy
show ip -n "$GD_NS" link set dev pol7 mtu 1450
t0=$(now_ns)
ip -n "$GD_NS" link set dev pol7 mtu 1450
wait_ip "pol7 back to the SetGroup value" "$t0" 2 link show dev pol7 -- links --mtu 1400
show kill -HUP "$GD_GROUPD_PID"
t0=$(now_ns)
kill -HUP "$GD_GROUPD_PID"
wait_ip "after SIGHUP, the file's MTU again" "$t0" 3 link show group 300 -- links --count $((POL + 1)) --mtu 1450
BUS_WIDTH=300 bus ok get-property net.groupd1 /net/groupd1/group/300 net.groupd1.Group Policy

BAD_STEP=$((STEP + 1))
step "A bad file: Reload refuses it with every error (file, section, key, reason); the running configuration stays"
cat >"$POLICY_ETC/groups.d/60-bad.group" <<'CONF'
[Group]
Name=demo
Id=301
[Link]
MTU=9000 # jumbo
State=sideways
[Routes]
CONF
echo "   \$ cat \$GD_TMP/root/etc/groupd/groups.d/60-bad.group"
sed 's/^/   | /' "$POLICY_ETC/groups.d/60-bad.group"
BUS_WIDTH=300 bus net.groupd1.Error.InvalidArgs call net.groupd1 /net/groupd1 net.groupd1.Manager \
    Reload u 0
rm -f "$POLICY_ETC/groups.d/60-bad.group"
check "unchanged" link show group 300 -- links --count $((POL + 1)) --mtu 1450 --up $((POL + 1))
plan_call --empty call net.groupd1 /net/groupd1 net.groupd1.Manager Plan

# --- MPTCP: endpoints per group and failover ----------------------------------

# endpoints: the kernel's MPTCP endpoints as "address@dev[+backup] …", sorted.
endpoints() {
    ip -n "$GD_NS" -j mptcp endpoint show |
        jq -r '[.[] | "\(.address)@\(.dev // "-")\(if .backup then "+backup" else "" end)"] | sort | join(" ")'
}

# wait_endpoints DESC T0 TIMEOUT_S WANT: poll until endpoints() is WANT.
wait_endpoints() {
    local desc=$1 t0=$2 timeout_ms=$(($3 * 1000)) want=$4 have ms
    while :; do
        have=$(endpoints)
        ms=$(ms_since "$t0")
        if [ "$have" = "$want" ]; then
            printf '   endpoints (%s) after %s ms: %s\n' "$desc" "$ms" "${have:-none}"
            return 0
        fi
        if awk -v m="$ms" -v t="$timeout_ms" 'BEGIN { exit !(m > t) }'; then
            printf '   !! endpoints (%s): %s, want %s\n' "$desc" "${have:-none}" "${want:-none}"
            FAILED=$((FAILED + 1))
            return 1
        fi
        sleep 0.01
    done
}

mptcp_state() {
    BUS_WIDTH=300 bus ok get-property net.groupd1 /net/groupd1/mptcp net.groupd1.Mptcp \
        Mode ActiveGroup Health "$@"
}

step "MPTCP: veth pairs wlan0 and wwan0 (their peers stand in for the access points), groups wifi and cellular with [MPTCP], Mode=failover"
ip -n "$GD_NS" link add wlan0 type veth peer name wlan0p
ip -n "$GD_NS" link add wwan0 type veth peer name wwan0p
for l in wlan0 wlan0p wwan0 wwan0p; do ip -n "$GD_NS" link set "$l" up; done
ip -n "$GD_NS" addr add 10.61.1.2/24 dev wlan0
ip -n "$GD_NS" addr add 10.61.2.2/24 dev wwan0
ip -n "$GD_NS" route add default via 10.61.1.1 dev wlan0 metric 100
ip -n "$GD_NS" route add default via 10.61.2.1 dev wwan0 metric 200
cat >"$POLICY_ETC/groups.d/10-wifi.group" <<'CONF'
[Group]
Name=wifi
Id=10
[Match]
Name=wlan0
[MPTCP]
Endpoint=subflow
CONF
cat >"$POLICY_ETC/groups.d/20-cellular.group" <<'CONF'
[Group]
Name=cellular
Id=20
[Match]
Name=wwan0
[MPTCP]
Endpoint=subflow
CONF
cat >>"$POLICY_ETC/groupd.conf" <<'CONF'

[MPTCP]
Mode=failover
Preference=wifi cellular
HoldDownSec=1
CONF
for f in groups.d/10-wifi.group groups.d/20-cellular.group groupd.conf; do
    echo "   \$ cat \$GD_TMP/root/etc/groupd/$f"
    grep -v '^$' "$POLICY_ETC/$f" | sed 's/^/   | /'
done
plan_call --not-empty call net.groupd1 /net/groupd1 net.groupd1.Manager Reload u 0
t0=$(now_ns)
wait_endpoints "wifi active, cellular standby as backup" "$t0" 3 \
    "10.61.1.2@wlan0 10.61.2.2@wwan0+backup"
mptcp_state Owner SysctlChanges

step "MPTCP failover: wlan0 loses its carrier; groupd deletes its endpoint (the kernel re-injects at once) and lifts backup on wwan0"
show ip -n "$GD_NS" link set wlan0p down
t0=$(now_ns)
ip -n "$GD_NS" link set wlan0p down
wait_endpoints "failed over" "$t0" 2 "10.61.2.2@wwan0"
grep -E 'active group ([0-9]+ \()?wifi\)? → ([0-9]+ \()?cellular' "$GD_TMP/groupd.log" | tail -n 1 | sed 's/^/   groupd: /'
mptcp_state

step "MPTCP return: wlan0's carrier is back; traffic returns after HoldDownSec=1, not before"
show ip -n "$GD_NS" link set wlan0p up
t0=$(now_ns)
ip -n "$GD_NS" link set wlan0p up
sleep 0.3
have=$(endpoints)
if [ "$have" != "10.61.2.2@wwan0" ]; then
    echo "   !! back before the hold-down: $have"
    FAILED=$((FAILED + 1))
else
    echo "   0.3 s after: still $have (held down)"
fi
wait_endpoints "back on wifi" "$t0" 4 "10.61.1.2@wlan0 10.61.2.2@wwan0+backup"
grep -E 'active group ([0-9]+ \()?cellular\)? → ([0-9]+ \()?wifi' "$GD_TMP/groupd.log" | tail -n 1 | sed 's/^/   groupd: /'

step "MPTCP power-save (SetMode): no endpoint on cellular while wifi is healthy; Failover() moves to it on demand"
bus ok call net.groupd1 /net/groupd1/mptcp net.groupd1.Mptcp SetMode s power-save
wait_endpoints "power-save" "$(now_ns)" 2 "10.61.1.2@wlan0"
bus ok call net.groupd1 /net/groupd1/mptcp net.groupd1.Mptcp Failover s ""
wait_endpoints "forced to cellular" "$(now_ns)" 2 "10.61.2.2@wwan0"
mptcp_state FailoverCount
bus net.groupd1.Error.InvalidArgs call net.groupd1 /net/groupd1/mptcp net.groupd1.Mptcp SetMode s turbo

step "Stop groupd (SIGTERM) and clean up"
t0=$(now_ns)
show kill -TERM "$GD_GROUPD_PID"
kill -TERM "$GD_GROUPD_PID"
rc=0
wait "$GD_GROUPD_PID" || rc=$?
GD_GROUPD_PID=""
printf '   groupd exited with status %d after %s ms\n' "$rc" "$(ms_since "$t0")"
[ "$rc" -eq 0 ] || FAILED=$((FAILED + 1))
if grep -qiE 'critical|warning' "$GD_TMP/groupd.log"; then
    echo "   groupd's warnings (the refused reload of step $BAD_STEP is expected):"
    grep -iE 'critical|warning' "$GD_TMP/groupd.log" | head -n 10 | sed 's/^/   groupd: /'
fi
ns=$GD_NS
gd_cleanup
if ip netns list | grep -qw -- "$ns"; then
    echo "   !! namespace $ns still there"
    FAILED=$((FAILED + 1))
else
    echo "   namespace $ns removed"
fi

printf '\n== Times of the D-Bus calls (busctl process included)\n'
printf '   %s\n' "${TIMES[@]}"
printf '\nDemo finished in %s ms: ' "$(ms_since "$T_ALL")"
if [ "$FAILED" -ne 0 ]; then
    echo "$FAILED check(s) FAILED"
    exit 1
fi
echo "every check passed"
