#!/bin/bash
# lab_ctl.sh IDX WORKDIR ACTION ARGS...: act on a lab that a test built
# (lab.sh, index IDX, work dir LAB_W=WORKDIR) from another process:
# sbc-drill's --node-exec and --fault-cmd in the drills, or a developer's
# shell on a lab kept with LAB_KEEP.  The lab stays the test's: nothing
# here claims it, traps or tears it down.
#   x MEMBER CMD...          run CMD in a member (n1..n3, qn, cli, core)
#   crash NODE               cable cut, every process killed, eth0 flushed
#                            (crash and partition print "fault_at EPOCH"
#                            first: the moment sbc-drill reports)
#   revive NODE              address and cable back, node launcher again
#   partition NODE / heal NODE   the cable only
#   addr-add NODE IP / addr-del NODE IP
# Exit status: the command's (x), else 0, 1 on failure, 2 on bad usage.
set -u
usage() {
	echo "usage: $0 IDX WORKDIR {x MEMBER CMD...|crash|revive|partition|heal NODE|addr-add|addr-del NODE IP}" >&2
	exit 2
}
[ $# -ge 4 ] || usage
LAB_IDX=$1
LAB_WORKDIR=$2
act=$3
shift 3
# x: the fast path, before lab.sh is sourced.  sbc-drill polls every
# node's sbcctl every 100 ms through here, and lab.sh's set-up plus
# lab_x (command substitutions: forks) cost about 130 ms of CPU a call
# on these VMs, more than the polls leave.  Builtins only: the holder PID
# is read from its file and must be in the node's own network namespace
# (test -ef compares the namespace inodes), as lab_holder checks; then
# exec, so the command's exit status and signals are its own.
if [ "$act" = x ]; then
	case $LAB_IDX in '' | *[!0-9]*) usage ;; esac
	m=$1
	shift
	case $m in
	cli | core) exec ip netns exec "sbl$LAB_IDX-$m" "$@" ;;
	n[123] | qn)
		h=""
		{ read -r h <"$LAB_WORKDIR/$m/holder.pid"; } 2>/dev/null
		if [ -z "$h" ] || ! [ "/proc/$h/ns/net" -ef "/run/netns/sbl$LAB_IDX-$m" ]; then
			echo "node $m is not running" >&2
			exit 1
		fi
		# a host of LAB_HOSTS=1 (lab.hosts): its PID namespace too
		[ -e "$LAB_WORKDIR/lab.hosts" ] && [ "$m" != qn ] &&
			exec nsenter -t "$h" -n -m -u -p -- "$@"
		exec nsenter -t "$h" -n -m -u -- "$@"
		;;
	*) echo "no lab member '$m'" >&2; exit 2 ;;
	esac
fi
LAB_ATTACH=1
. "$(dirname "$0")/lab.sh" "$LAB_IDX"
case $act in
crash | revive | partition | heal)
	[ $# = 1 ] || usage
	# the fault's moment, for sbc-drill: its --fault-cmd may print it
	case $act in crash | partition) echo "fault_at ${EPOCHREALTIME/,/.}" ;; esac
	"lab_$act" "$1" >/dev/null
	;;
addr-add | addr-del)
	[ $# = 2 ] || usage
	"lab_${act/-/_}" "$1" "$2"
	;;
*) usage ;;
esac
