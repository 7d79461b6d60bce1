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
#   /etc/corosync /var/lib/corosync /var/log/corosync  bind mounts (required)
#   /etc/pacemaker /var/lib/pacemaker /var/log/pacemaker  bind mounts, when
#       pacemaker is installed (so no pacemaker tool run in a node can touch
#       the host's state, even before lab_pacemaker exists)
#   /run, /dev/shm  fresh tmpfs: pid files, agent state and libqb rings die
#       with the node instead of lingering on the host
#
# Environment: LAB_PACEMAKER=1 would start pacemakerd after corosync; not
# implemented yet (a later issue adds lab_pacemaker): the node refuses to
# start rather than silently running without it.
set -u
NODE=${1:?usage: lab_node.sh NODE NODEDIR}
D=${2:?usage: lab_node.sh NODE NODEDIR}

die() {
	echo "lab_node $NODE: $*" >&2
	exit 1
}

# Checked before anything is mounted or started.
[ "${LAB_PACEMAKER:-0}" = 1 ] && die "LAB_PACEMAKER=1 is not implemented yet"

# A node directory over a system directory; the target must exist already
# (the lab never creates directories on the host).
bind() {
	mkdir -p "$D/$1" || die "mkdir $D/$1"
	[ -d "$2" ] || die "$2 missing on the host (package not installed?)"
	mount --bind "$D/$1" "$2" || die "bind $2"
}

hostname "$NODE" || die "hostname"
bind etc-corosync /etc/corosync
bind lib-corosync /var/lib/corosync
bind log-corosync /var/log/corosync
if [ -d /var/lib/pacemaker ]; then
	bind etc-pacemaker /etc/pacemaker
	bind lib-pacemaker /var/lib/pacemaker
	bind log-pacemaker /var/log/pacemaker
fi
mount -t tmpfs -o mode=0755 lab-run /run || die "tmpfs /run"
mount -t tmpfs -o mode=1777 lab-shm /dev/shm || die "tmpfs /dev/shm"
mkdir -p /run/resource-agents

# lab.sh waits for this file: from now on nsenter sees the node's mounts.
echo $$ > "$D/holder.pid"

# corosync in the foreground (-f) as a child of the holder; its own
# output (start-up errors) goes to the launcher log, the rest to
# /var/log/corosync/corosync.log (= NODEDIR/log-corosync).
corosync -f </dev/null &
echo $! > "$D/corosync.pid"

# The quorum device's client (LAB_QNETD=1: lab.sh left the marker); it
# waits for corosync itself, so the launcher goes on at once.
[ -e "$D/qdevice" ] && bash "$(dirname "$0")/lab_qdevice.sh" qdevice "$D" </dev/null &

# TODO(lab_pacemaker): with LAB_PACEMAKER=1, wait (bounded, every CLI
# call under timeout) for corosync-cfgtool -s, then start
# PCMK_logfacility=none pacemakerd </dev/null & here (CIB pre-seeded in
# NODEDIR/lib-pacemaker/cib by lab.sh, dirs owned by hacluster).

exec sleep infinity
