#!/bin/bash
# drill_hook.sh IDX WORKDIR ACTION NODE: sbc-drill's --fault-cmd for the
# lab without Pacemaker (t_drill.sh).  Besides the fault itself it plays
# Pacemaker's part, which this lab does not run yet: it moves the service
# addresses and promotes the standby after a crash, and starts sbcd again
# on a revived node.  Once the lab runs Pacemaker (LAB_PACEMAKER=1, the
# ra/sbcd promotable clone and IPaddr2), the drills there use lab_ctl.sh as
# the fault command and this hook goes.
# crash and partition print "fault_at EPOCH" (the moment of the cut).
#   crash NODE      lab_crash (cable cut, every process killed, addresses
#                   flushed); if NODE held the access address (it was the
#                   active), as pair_takeover: wait until a synced standby
#                   sees it leave, move both service addresses there (with
#                   gratuitous ARP) and make it active
#   revive NODE     lab_revive, wait for corosync membership, then NODE's
#                   sbcd again from its sbcd.conf (a standby: it syncs from
#                   the active), until it is ready
#   partition NODE  lab_partition (the cable cut, NODE lives on alone);
#                   if NODE was the active: the takeover as for a crash by
#                   a synced standby of the majority, and once NODE's sbcd
#                   has demoted itself (quorum lost), NODE's service
#                   addresses are removed (Pacemaker's no-quorum-policy=stop
#                   stops IPaddr2 there)
#   heal NODE       lab_heal: the cable back
# Environment: SBCD and SBCCTL (as the cluster tests have them).  Exit 0
# done, 1 failed (the reason on stderr), 2 bad usage.  Every wait bounded.
set -u
[ $# = 4 ] || { echo "usage: $0 IDX WORKDIR crash|revive|partition|heal NODE" >&2; exit 2; }
IDX=$1
LAB_WORKDIR=$2
act=$3
node=$4
HERE=$(cd "$(dirname "$0")" && pwd)
: "${SBCD:?SBCD must point to sbcd}" "${SBCCTL:?SBCCTL must point to sbcctl}"
LAB_ATTACH=1
. "$HERE/lab.sh" "$IDX"
case $node in n[123]) ;; *) echo "no node '$node'" >&2; exit 2 ;; esac

# sbcctl in a node through lab_ctl.sh's fast path (this hook polls it)
ctl() { bash "$HERE/lab_ctl.sh" "$IDX" "$LAB_W" x "$1" "$SBCCTL" -s "$LAB_W/$1/sbcd.sock" "${@:2}"; }
synced_standby() { ctl "$1" role 2>/dev/null | grep -q '^role standby$' && ctl "$1" role | grep -q '^synced yes$'; }
sees() { ctl "$1" role 2>/dev/null | grep -q "^peer $2 "; }
left() { ! sees "$S" "${node#n}"; }    # S no longer lists NODE
demoted() { ctl "$node" role 2>/dev/null | grep -q '^role standby$'; }

# Wait (SECS, 50 ms steps) until COMMAND... succeeds.
until_ok() {
	local end=$(($(lab_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(lab_ms)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# The service addresses on NODE, each with gratuitous ARP (cli and core
# still have the crashed node's MAC cached).  Not lab_addr_add: its
# lab_garp spends ~0.3 s of forks before the ARP goes out, time that would
# count as failover time here.  arping is a process of NODE's namespace
# (lab_down stops it if it still runs).
take_addresses() {
	local h="" ip
	read -r h <"$LAB_W/$1/holder.pid"
	for ip in "$LAB_VIP_ACCESS" "$LAB_VIP_CORE"; do
		ip -n "$LAB_P-$1" addr add "$ip/24" dev eth0 || { echo "cannot add $ip on $1" >&2; exit 1; }
		nsenter -t "$h" -n -- arping -q -U -c 2 -I eth0 -s "$ip" "$ip" \
			</dev/null >>"$LAB_W/$1/arping.log" 2>&1 &
	done
}

# ACTION (crash or partition) on NODE; if NODE was the active, a synced
# standby takes over once it sees NODE leave.  Sets S (the new active).
cut() {
	local n active=0
	S=""
	ip -n "$LAB_P-$node" -4 -o addr show dev eth0 | grep -q " $LAB_VIP_ACCESS/" && active=1
	# the survivor is chosen before the cut: its role is the one it had
	if [ $active = 1 ]; then
		for n in $LAB_NODES; do
			[ "$n" != "$node" ] && synced_standby "$n" && { S=$n; break; }
		done
		[ -n "$S" ] || { echo "no synced standby to take over from $node" >&2; exit 1; }
	fi
	echo "fault_at ${EPOCHREALTIME/,/.}"     # the moment sbc-drill reports
	"lab_$1" "$node" >/dev/null
	[ $active = 1 ] || return 0
	until_ok 20 left || { echo "$S still sees $node 20 s after the $1" >&2; exit 1; }
	take_addresses "$S"
	ctl "$S" role active | grep -q '^OK' || { echo "$S cannot take over: $(ctl "$S" role active)" >&2; exit 1; }
	echo "$S active"
}

# The cut-off node's sbcd demotes itself when quorum is lost; then its
# service addresses go, as Pacemaker stops IPaddr2 without quorum.
minority() {
	local ip
	until_ok 20 demoted ||
		{ echo "$node still active 20 s after the partition" >&2; exit 1; }
	for ip in "$LAB_VIP_ACCESS" "$LAB_VIP_CORE"; do
		ip -n "$LAB_P-$node" addr del "$ip/24" dev eth0 2>/dev/null
	done
	echo "$node demoted, addresses removed"
}

revive() {
	local count=0 n
	for n in $LAB_NODES; do count=$((count + 1)); done
	lab_revive "$node" >/dev/null
	lab_wait_members "$node" "$count" 30 >&2 || { echo "$node did not rejoin corosync" >&2; exit 1; }
	# setsid: sbcd outlives this hook and its process group (sbc-drill
	# kills the group of a hook that overruns its bound)
	lab_bg "$node" "$LAB_W/$node/sbcd.revived.log" setsid "$SBCD" -f "$LAB_W/$node/sbcd.conf" >/dev/null
	until_ok 10 grep -q ' ready$' "$LAB_W/$node/sbcd.revived.log" ||
		{ echo "sbcd on $node not ready within 10 s" >&2; exit 1; }
	echo "$node back, sbcd PID $LAB_BG_PID"
}

case $act in
crash) cut crash ;;
revive) revive ;;
partition)
	cut partition
	[ -z "$S" ] || minority
	;;
heal) lab_heal "$node" >/dev/null ;;
*) echo "unknown action '$act'" >&2; exit 2 ;;
esac
