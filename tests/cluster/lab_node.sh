#!/bin/bash
# lab_node.sh NODE NODEDIR: the launcher of one cluster lab node, run by
# lab.sh (lab_node_start) as
#   setsid ip netns exec NETNS unshare --mount --uts --propagation private \
#       -- bash lab_node.sh NODE NODEDIR
# so it starts in the node's network namespace and in a fresh mount and UTS
# namespace.  It gives the node private state, starts its daemons and then
# becomes the node's "holder" (sleep infinity): the process whose
# namespaces lab_x enters with nsenter.  Its PID goes to NODEDIR/holder.pid
# once the mounts are in place.
#
# Private per node (see /work/shared/notes/cluster-lab.md, section 4):
#   /etc/corosync /var/lib/corosync   bind mounts (required)
#   /var/log        NODEDIR/log: corosync/, pacemaker/ and sbc/ (the
#                   agent's default sbcd log) of this node only
#   /etc/pacemaker /var/lib/pacemaker  bind mounts, when pacemaker is
#       installed (so no pacemaker tool run in a node can touch the host's
#       state)
#   /usr/lib/ocf/resource.d  the host's agent directories plus sbc/sbcd,
#       the agent of this source tree (ra/sbcd): Pacemaker in the node
#       runs ocf:sbc:sbcd without anything installed on the host
#   /run, /dev/shm  fresh tmpfs: pid files, agent state and libqb rings die
#       with the node instead of lingering on the host
#
# Pacemaker: once lab.sh's lab_pacemaker has written NODEDIR/pacemaker.env
# (the CIB is seeded by then), the launcher starts pacemakerd after
# corosync: at a revive, the node comes back with its resources.
# lab_pacemaker starts it in nodes already running with
#   nsenter (the holder's namespaces) bash lab_node.sh --pacemaker NODE NODEDIR
set -u
PCMK_ONLY=0
if [ "${1:-}" = --pacemaker ]; then
	PCMK_ONLY=1
	shift
fi
NODE=${1:?usage: lab_node.sh [--pacemaker] NODE NODEDIR}
D=${2:?usage: lab_node.sh [--pacemaker] NODE NODEDIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)

die() {
	echo "lab_node $NODE: $*" >&2
	exit 1
}

# A node directory over a system directory; the target must exist already
# (the lab never creates directories on the host).
bind() {
	mkdir -p "$D/$1" || die "mkdir $D/$1"
	[ -d "$2" ] || die "$2 missing on the host (package not installed?)"
	mount --bind "$D/$1" "$2" || die "bind $2"
}

# The agent directories Pacemaker searches: each of the host's, plus sbc
# with this tree's agent.  --rbind: the host directories are mounts
# below NODEDIR/ocf, a plain bind would leave them out.
ocf_dirs() {
	local r=/usr/lib/ocf/resource.d x
	[ -d "$r" ] || return 0
	mkdir -p "$D/ocf/sbc" || die "mkdir $D/ocf"
	for x in "$r"/*; do
		[ -d "$x" ] || continue
		[ "$(basename "$x")" = sbc ] && continue
		mkdir -p "$D/ocf/$(basename "$x")" &&
			mount --bind "$x" "$D/ocf/$(basename "$x")" || die "bind $x"
	done
	install -m 0755 "$SRC/ra/sbcd" "$D/ocf/sbc/sbcd" || die "agent"
	mount --rbind "$D/ocf" "$r" || die "bind $r"
}

# pacemakerd once corosync answers (bounded: 20 s), detached from the
# caller; its daemons log to /var/log/pacemaker/pacemaker.log.  PATH
# starts with SBC_BIN (pacemaker.env): the agent finds sbcd and sbcctl
# as it would on a host where they are installed.
start_pacemaker() {
	local SBC_BIN=""
	. "$D/pacemaker.env" || die "no $D/pacemaker.env"
	for _ in $(seq 1 100); do
		timeout -k 1 5 corosync-cfgtool -s >/dev/null 2>&1 && break
		sleep 0.2
	done
	timeout -k 1 5 corosync-cfgtool -s >/dev/null 2>&1 || die "corosync not up after 20 s"
	PATH=$SBC_BIN:$PATH PCMK_logfacility=none \
		PCMK_logfile=/var/log/pacemaker/pacemaker.log \
		setsid pacemakerd </dev/null >>/var/log/pacemaker/pacemakerd.out 2>&1 &
	echo $! > "$D/pacemakerd.pid"
}

if [ $PCMK_ONLY = 1 ]; then
	start_pacemaker
	exit 0
fi

hostname "$NODE" || die "hostname"
mkdir -p "$D/log/corosync" "$D/log/pacemaker" "$D/log/sbc" || die "mkdir $D/log"
bind etc-corosync /etc/corosync
bind lib-corosync /var/lib/corosync
bind log /var/log
if [ -d /var/lib/pacemaker ]; then
	bind etc-pacemaker /etc/pacemaker
	bind lib-pacemaker /var/lib/pacemaker
	for x in cib pengine blackbox cores; do
		mkdir -p "/var/lib/pacemaker/$x" || die "mkdir $x"
	done
	chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker &&
		chmod 0750 /var/lib/pacemaker/* && chmod 0770 /var/log/pacemaker ||
		die "pacemaker directories"
	ocf_dirs
fi
mount -t tmpfs -o mode=0755 lab-run /run || die "tmpfs /run"
mount -t tmpfs -o mode=1777 lab-shm /dev/shm || die "tmpfs /dev/shm"
mkdir -p /run/resource-agents /run/crm || die "mkdir /run"
# the one path of sbcd's configuration every node's agent is given (the
# recipe's CONF): /run/sbc/sbcd.conf is NODEDIR/sbcd.conf
ln -s "$D" /run/sbc || die "/run/sbc"
id hacluster >/dev/null 2>&1 && chown hacluster:haclient /run/crm

# lab.sh waits for this file: from now on nsenter sees the node's mounts.
echo $$ > "$D/holder.pid"

# corosync in the foreground (-f) as a child of the holder; its own
# output (start-up errors) goes to the launcher log, the rest to
# /var/log/corosync/corosync.log (= NODEDIR/log/corosync).
corosync -f </dev/null &
echo $! > "$D/corosync.pid"

# The quorum device's client (LAB_QNETD=1: lab.sh left the marker); it
# waits for corosync itself, so the launcher goes on at once.
[ -e "$D/qdevice" ] && bash "$(dirname "$0")/lab_qdevice.sh" qdevice "$D" </dev/null &

[ -e "$D/pacemaker.env" ] && start_pacemaker

exec sleep infinity
