#!/bin/bash
# lab_qdevice.sh: the two daemons of the lab's quorum device (LAB_QNETD=1,
# lab.sh "quorum device"):
#
#   lab_qdevice.sh qnetd DIR [QNETD_OPTION...]
#       the launcher of the lab member qn, run by lab_qnetd_start as
#         setsid ip netns exec sbl<IDX>-qn unshare --mount --uts \
#             --propagation private -- bash lab_qdevice.sh qnetd DIR ...
#       DIR/etc-corosync (its qnetd/nssdb made by lab_qnetd_certs) is bound
#       over /etc/corosync, where corosync-qnetd looks for its NSS database:
#       the host's /etc/corosync/qnetd is never read nor written.  A fresh
#       /run holds its lock file and control socket.  corosync-qnetd runs in
#       the foreground (its log on stderr: DIR/qnetd.log), then this shell
#       becomes the holder (sleep infinity) whose PID is DIR/holder.pid,
#       like a node's.
#
#   lab_qdevice.sh qdevice NODEDIR
#       started by lab_node.sh in a node (in the background, after
#       corosync) when NODEDIR/qdevice exists: waits until corosync answers
#       (corosync-qdevice exits at once if it cannot reach corosync's cmap),
#       then runs corosync-qdevice -f; its log: NODEDIR/qdevice.log.  It
#       reads the quorum.device section of the node's corosync.conf and its
#       NSS database /etc/corosync/qdevice/net/nssdb, which is inside the
#       node's private /etc/corosync.
#
# Both run with -d: the debug lines (votes asked and received, the
# membership qnetd sees) are what explains a slow or surprising decision.
set -u
MODE=${1:?usage: lab_qdevice.sh qnetd|qdevice DIR}
D=${2:?usage: lab_qdevice.sh qnetd|qdevice DIR}
shift 2

die() {
	echo "lab_qdevice $MODE: $*" >&2
	exit 1
}

case $MODE in
qnetd)
	hostname qn || die "hostname"
	mount --bind "$D/etc-corosync" /etc/corosync || die "bind /etc/corosync"
	mount -t tmpfs -o mode=0755 lab-run /run || die "tmpfs /run"
	mkdir -p /run/corosync-qnetd || die "mkdir /run/corosync-qnetd"
	echo $$ > "$D/holder.pid"
	corosync-qnetd -f -d "$@" </dev/null >>"$D/qnetd.log" 2>&1 &
	echo $! > "$D/qnetd.pid"
	exec sleep infinity
	;;
qdevice)
	mkdir -p /run/corosync-qdevice || die "mkdir /run/corosync-qdevice"
	# 20 s: a node's corosync answers within a second or two, more on a
	# loaded machine; every call bounded (a corosync CLI can hang)
	up=0
	for _ in $(seq 1 200); do
		timeout -k 1 5 corosync-cfgtool -s >/dev/null 2>&1 && { up=1; break; }
		sleep 0.1
	done
	# started anyway: its own log line then says what it could not reach
	[ "$up" = 1 ] || echo "lab_qdevice: corosync does not answer after 20 s" >>"$D/qdevice.log"
	exec corosync-qdevice -f -d </dev/null >>"$D/qdevice.log" 2>&1
	;;
*) die "no mode '$MODE' (qnetd, qdevice)" ;;
esac
