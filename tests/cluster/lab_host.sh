#!/bin/bash
# lab_host.sh NODE NODEDIR LABDIR: the launcher of one lab node as a bare
# Debian host (LAB_HOSTS=1), run by lab.sh (lab_node_start) as
#   setsid ip netns exec NETNS unshare --mount --uts --pid --fork \
#       --propagation private -- bash lab_host.sh NODE NODEDIR LABDIR
# so it is PID 1 of the node's own PID namespace, in the node's network
# namespace and in fresh mount and UTS namespaces.  It gives the node a
# root of its own, "boots" it (sshd through its init script) and then
# stays as the node's PID 1 (the holder: lab_x enters its namespaces;
# it reaps the daemons the init scripts leave to it).
#
# The node's file system (all in its mount namespace; the host's is
# never written):
#   /usr /etc /var  overlays: the host's directory is the lower layer,
#                   NODEDIR/root/{usr,etc,var} the upper one (its "disk":
#                   it survives lab_crash + lab_revive, as a disk would),
#                   so the host's packages (the lab's dependencies) are
#                   there and a dpkg -i, an /etc file or an apt run
#                   changes this node only
#   /root           NODEDIR/root/root: root's home as a fresh Debian host
#                   has it (.bashrc, .profile, .ssh/authorized_keys)
#   /run /dev/shm /tmp  fresh tmpfs (what a boot gives)
#   /proc           this node's PID namespace: ps, pidof and the init
#                   scripts' start-stop-daemon see the node's processes only
# First boot only (NODEDIR/root made now): the host's ssh host keys are
# replaced by the node's own (ssh-keygen -A), sshd is told to listen on
# the node's lab address only and to let root in by key only
# (/etc/ssh/sshd_config.d/lab.conf), LABDIR/ssh/id_ed25519.pub is root's
# authorized key, the host's policy-rc.d (a container's "start nothing")
# is removed: a bare Debian host has none.  Every boot: the node's public
# host keys are copied to NODEDIR/hostkeys (lab.sh's known_hosts), then
# /etc/init.d/ssh start (sshd logs to /var/log/sshd.log, SSHD_OPTS in
# /etc/default/ssh).  Its outer PID (the host's view) goes to
# NODEDIR/holder.pid once all this is in place.
set -u
NODE=${1:?usage: lab_host.sh NODE NODEDIR LABDIR}
D=${2:?usage: lab_host.sh NODE NODEDIR LABDIR}
L=${3:?usage: lab_host.sh NODE NODEDIR LABDIR}

die() {
	echo "lab_host $NODE: $*" >&2
	exit 1
}

[ $$ = 1 ] || die "not PID 1 of a PID namespace (unshare --pid --fork)"
# /proc is still the host's here: /proc/self is this shell as the host
# sees it (read is a builtin: no child in between)
read -r HPID _ </proc/self/stat || die "own PID"
hostname "$NODE" || die "hostname"
mount -t proc proc /proc || die "proc"

FIRST=0
[ -d "$D/root" ] || FIRST=1
for d in usr etc var; do
	mkdir -p "$D/root/$d" "$D/root/.work/$d" || die "mkdir $D/root"
	mount -t overlay "lab-$d" \
		-o "lowerdir=/$d,upperdir=$D/root/$d,workdir=$D/root/.work/$d" "/$d" ||
		die "overlay on /$d"
done
mkdir -p "$D/root/root" || die "mkdir root"
mount --bind "$D/root/root" /root || die "bind /root"
mount -t tmpfs -o mode=0755 lab-run /run || die "tmpfs /run"
mount -t tmpfs -o mode=1777 lab-shm /dev/shm || die "tmpfs /dev/shm"
install -d -m 1777 /run/lock || die "/run/lock"

if [ $FIRST = 1 ]; then
	chmod 0700 /root &&
		install -m 0644 /usr/share/base-files/dot.bashrc /root/.bashrc &&
		install -m 0644 /usr/share/base-files/dot.profile /root/.profile &&
		install -d -m 0700 /root/.ssh &&
		install -m 0600 "$L/ssh/id_ed25519.pub" /root/.ssh/authorized_keys ||
		die "root's home"
	rm -f /etc/ssh/ssh_host_* /usr/sbin/policy-rc.d || die "host keys"
	ssh-keygen -A >/dev/null || die "ssh-keygen -A"
	ip=$(ip -4 -o addr show dev eth0 | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	[ -n "$ip" ] || die "no address on eth0"
	cat >/etc/ssh/sshd_config.d/lab.conf <<EOF || die "sshd_config.d/lab.conf"
# the cluster lab (tests/cluster/lab_host.sh): the lab address only; root
# by key only
ListenAddress $ip
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
	sed -i 's|^SSHD_OPTS=.*|SSHD_OPTS="-E /var/log/sshd.log"|' /etc/default/ssh ||
		die "/etc/default/ssh"
fi
rm -rf "$D/hostkeys" && mkdir "$D/hostkeys" &&
	cp /etc/ssh/ssh_host_*_key.pub "$D/hostkeys/" || die "host keys to $D/hostkeys"

# NODEDIR stays reachable for the one write below (holder.pid) through a
# descriptor: the fresh /tmp hides it (and the whole lab work dir) when
# it lies under /tmp
exec 8<"$D" || die "open $D"
mount -t tmpfs -o mode=1777 lab-tmp /tmp || die "tmpfs /tmp"

/etc/init.d/ssh start || die "sshd did not start"

echo "$HPID" >/proc/self/fd/8/holder.pid || die "holder.pid"
exec 8<&-

# PID 1: bash reaps every child that ends, the orphans of daemons too
trap '' TERM INT HUP
while :; do
	sleep 3600 &
	wait $!
done
