#!/bin/bash
# lab_ctl.sh IDX WORKDIR ACTION ARGS...: act on a lab that a test built
# (lab.sh, index IDX, work dir LAB_W=WORKDIR) from another process:
# sbc-drill's --node-exec and --fault-cmd in the drills, or a developer's
# shell on a lab kept with LAB_KEEP.  The lab stays the test's: nothing
# here claims it, traps or tears it down.
#   x MEMBER CMD...          run CMD in a member (n1..n3, cli, core)
#   crash NODE               cable cut, every process killed, eth0 flushed
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
LAB_ATTACH=1
. "$(dirname "$0")/lab.sh" "$LAB_IDX"
case $act in
x) lab_x "$@" ;;
crash | revive | partition | heal)
	[ $# = 1 ] || usage
	"lab_$act" "$1" >/dev/null
	;;
addr-add | addr-del)
	[ $# = 2 ] || usage
	"lab_${act/-/_}" "$1" "$2"
	;;
*) usage ;;
esac
