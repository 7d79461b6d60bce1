# lab.sh: the cluster lab, sourced by the cluster tests, failover drills
# and the Ansible test:  . "$(dirname "$0")/lab.sh"   (script arg 1 = IDX)
# Needs root, iproute2, util-linux (unshare, nsenter, setsid, flock),
# corosync and arping.  Recipe and measurements:
# /work/shared/notes/cluster-lab.md.
#
# One lab instance = network namespaces sbl<IDX>-*, IDX given by the caller
# (tests/cluster/CMakeLists.txt: SBC_LAB_BASE + n), so labs of parallel
# tests and of other checkouts never share a name:
#   sbl<IDX>-lan    bridge br0 and the lan ends v-<member> of every veth
#   sbl<IDX>-n1..n3 cluster nodes, eth0 192.0.2.11..13/24; each also has a
#                   private mount+UTS namespace (lab_node.sh) kept by a
#                   holder process, running corosync -f
#   sbl<IDX>-qn     192.0.2.30, only with LAB_QNETD=1: corosync-qnetd, the
#                   quorum device's arbiter (a third place, as in the field:
#                   never on one of the nodes); a private mount+UTS
#                   namespace too (lab_qdevice.sh), kept by a holder
#   sbl<IDX>-cli    192.0.2.100, the callers (sipp UAC, test tools)
#   sbl<IDX>-core   192.0.2.200, the far ends (sipp UAS, registrar)
# No default routes; nothing is created in the root namespace.
# Service addresses that float between nodes: LAB_VIP_ACCESS 192.0.2.50,
# LAB_VIP_CORE 192.0.2.51.  Work dir LAB_W (per node: LAB_W/<node>/,
# corosync log in LAB_W/<node>/log/corosync/corosync.log, Pacemaker's in
# LAB_W/<node>/log/pacemaker/pacemaker.log).
#
# Functions (MEMBER = n1|n2|n3|qn|cli|core, NODE = n1|n2|n3):
#   lab_up [NODE...]        build the lab (default n1 n2), start corosync on
#                           every node, wait until each sees all members;
#                           sets LAB_UP_MS (LAB_HOSTS=1: bare hosts with
#                           sshd instead, below)
#   lab_ssh NODE CMD...     LAB_HOSTS=1: ssh from cli to NODE as root
#   lab_ansible ARG... / lab_ansible_playbook ARG...  LAB_HOSTS=1: from
#                           cli, inventory LAB_W/inventory (group lab)
#   lab_x MEMBER CMD...     run CMD in MEMBER (nodes: nsenter into the
#                           holder's net+mount+UTS namespaces)
#   lab_cli CMD... / lab_core CMD...   lab_x cli / lab_x core
#   lab_bg MEMBER LOG CMD...  start CMD in MEMBER in the background, output
#                           to LOG; its PID is in LAB_BG_PID (the PID of CMD
#                           itself: nothing sits between); returns once CMD
#                           is inside MEMBER's namespace.  Not in $(...):
#                           the process must be a child of the test shell
#   lab_stop PID [SECS]     SIGTERM a lab_bg process, SIGKILL after SECS
#                           (default 5); returns its exit status
#   lab_kill_proc NODE PID  SIGKILL one process of a live node
#   lab_members NODE        print how many members corosync in NODE sees
#   lab_wait_members NODE N TIMEOUT   wait until that number is N
#   lab_addr_add NODE IP / lab_addr_del NODE IP   an address on eth0 (/24);
#                           add also sends gratuitous ARP (arping -U)
#   lab_addr_move IP FROM TO  del on FROM (if it still has it), add on TO
#   lab_crash NODE          cable cut, SIGKILL of every process of the node,
#                           eth0 flushed (a dead node must not answer ARP)
#   lab_revive NODE         address and cable back, launcher again; does
#                           not wait for membership (lab_wait_members)
#   lab_partition NODE      cable cut only: the node and its processes live
#                           on, alone (a partition, not a crash)
#   lab_heal NODE           the cable back
#   lab_isolate NODE / lab_unisolate NODE   bridge port isolation on/off:
#                           isolated nodes reach qn, cli and core but not
#                           each other (only the link between them cut)
#   lab_sbcd NODE [OPT=VAL...] [-- LINE...]  write LAB_W/NODE/sbcd.conf
#                           (sbcd standalone on the VIPs, upstream the core's
#                           UAS, the lab network as peer "lab") and start
#                           $SBCD in NODE, wait until ready; PID in
#                           LAB_BG_PID.  Defaults are the daemon's own.
#                           LAB_PEER_EXTRA and the LINEs after "--" go in
#                           the [peer lab] section: more of its options
#                           ("media = srtp") or further sections.
#                           LAB_PEERS_FIRST: sections before [peer lab]
#                           (sbcd takes the first peer, in file order,
#                           whose networks hold the source: a peer of one
#                           lab address must come before the lab's /24)
#                           LAB_SBCD_NAME=NAME (default sbcd) names its files
#                           NAME.conf, NAME.log, NAME.sock, so that a node
#                           can run two; LAB_SBCD_CPU=N pins it to core N
#   lab_down                kill every process of every lab namespace by
#                           PID, wait until gone, delete the namespaces,
#                           remove LAB_W unless the test failed; sets
#                           LAB_DOWN_MS.  Runs from the EXIT trap; idempotent
#   lab_leftovers           print what a finished lab left behind (lab
#                           namespaces, killed PIDs still alive, libqb
#                           files in /dev/shm); empty = clean
#   lab_sbcd_conf NODE [OPT=VAL...] [-- LINE...]  only write the
#                           configuration lab_sbcd would (for Pacemaker to
#                           start sbcd with)
#   lab_pacemaker           Pacemaker on every node, configured by the
#                           README's pcs recipe (lab_pcs_cib), running
#                           ocf:sbc:sbcd with the configuration each node
#                           has in LAB_W/NODE/sbcd.conf (lab_sbcd_conf
#                           first; the agent finds it as /run/sbc/sbcd.conf)
#                           and the VIPs as IPaddr2; returns once a node is
#                           Promoted with the VIPs, every other node a
#                           synced standby; LAB_PCMK_MS.  A revived node
#                           starts Pacemaker again by itself.  Settings:
#                           LAB_PCMK_EXTRA (more pcs -f lines for the lab)
#   lab_pcs_cib             the CIB of the recipe, LAB_W/cib.xml (cached
#                           in LAB_CACHE by a hash of what it is made of)
#   lab_crm NODE CMD...     a Pacemaker CLI call in NODE, bounded (10 s)
#   lab_promoted [NODE]     the node Pacemaker has Promoted (as NODE sees it)
#   fail MSG / ok MSG / lab_log MSG
# Another process (sbc-drill's fault hook, a shell of a developer) acts
# on a running lab with lab_ctl.sh IDX WORKDIR ..., which sources this
# file with LAB_ATTACH=1: the functions only.
# Settings (environment): LAB_TOKEN (totem token ms, 1000: shorter flaps on
# these VMs), LAB_TOTEM_EXTRA (more totem lines), LAB_KEEP=1 (keep LAB_W),
# LAB_QNETD=1 (a quorum device, below; set before sourcing this file, so
# that a machine without the packages skips), LAB_HOSTS=1 (below; the same).
#
# Bare hosts (LAB_HOSTS=1, for Ansible): lab_up starts no corosync; each
# node is a bare Debian host reachable by ssh from cli (lab_host.sh): its
# own PID namespace (the launcher is its PID 1; init scripts' pidof and
# start-stop-daemon see the node's processes only), its own root (the
# machine's /usr, /etc, /var as the lower layer of overlays whose upper
# layers, LAB_W/<node>/root, survive lab_crash + lab_revive like a disk;
# a fresh /root, /run, /dev/shm and /tmp: LAB_W is not visible there),
# sshd started by its init script on the node's address, own host keys,
# root by key only.  The lab's packages are there, nothing of sbc is.
# lab_ssh NODE CMD, lab_ansible, lab_ansible_playbook run from cli with
# the files lab_up writes in LAB_W (ssh_config, known_hosts, inventory,
# ansible.cfg).  lab_x enters the node's PID namespace too; lab_bg refuses
# such a node (use ssh).  lab_up returns once each sshd lets root in.
# With LAB_QNETD=1 a third bare host qn (192.0.2.30) comes up beside the
# nodes, the same way (ssh, in the inventory and ssh_config): nothing of
# qnetd is started or made there (no certificates), the playbook does it
# (t_ansible_qnetd); LAB_HOSTS_ALL is the nodes and qn.
# lab_pacemaker, lab_sbcd are not for such nodes
# (the playbook installs and starts what runs there).  Findings (service
# managers, pcs, pcsd): the notes, "Ansible hosts in the lab".
#
# Quorum device (LAB_QNETD=1, an even number of nodes): lab_up makes the
# TLS certificates the way corosync-qdevice-net-certutil(8) describes
# (lab_qnetd_certs: qnetd's CA, the cluster's certificate signed by it,
# each node's NSS database under its private /etc/corosync; the host's
# /etc/corosync is never written), starts corosync-qnetd in qn, writes
# corosync.conf with quorum.device (model net, votes 1, algorithm ffsplit,
# tls on) instead of two_node, and each node's launcher starts
# corosync-qdevice -f after corosync (LAB_QDEVICE_HEURISTICS adds a
# heuristics command, below).  lab_up returns once every node is
# quorate with the device's vote (nodes + 1 votes) and qnetd has voted
# ACK for each.  Logs: LAB_W/qn/qnetd.log, LAB_W/<node>/qdevice.log (both
# with -d), LAB_W/qn/certs.log.
# Timing, measured here (t_qdevice): on a partition each node's votequorum
# holds the new membership's quorum decision back until its qdevice
# answers; meanwhile the node keeps reporting its old quorum.  The cut
# node's qdevice gives up when an echo to qnetd goes unanswered for a
# heartbeat (0.8 * quorum.device.timeout): one to two heartbeats after
# the cut; it then votes no and that node loses quorum.  qnetd gives the
# other half the vote once it drops the cut node's connection, which its
# dead peer detection does dpd_interval_coefficient heartbeats after the
# last message from that node.  With qnetd's default of 1.5 that comes
# before the cut node gives up (0.5 heartbeat before: 2.2 s seen with the
# defaults, two quorate halves), so the lab sets LAB_QNETD_DPD=3: the cut
# node gives up a whole heartbeat before the other half gets the vote.
# LAB_QDEVICE_TIMEOUT=2500 (a 2 s heartbeat) instead of corosync's 10000
# makes the whole decision take seconds, not tens of seconds; qdevice
# polls votequorum every half of it, which a loaded VM still keeps up with.
# When both halves still reach qnetd (only the link between the nodes
# cut: lab_isolate), ffsplit gives the vote to the half with more
# heuristics passed; with none, or as many, the tie-breaker decides (keep
# active partition cannot tell two halves of one quorate cluster apart),
# lowest node id by default: n1 keeps quorum even as the standby, and the
# active n2 demotes itself (measured).  LAB_QDEVICE_HEURISTICS gives qdevice
# a command to run at each membership change; t_qdevice's passes where
# sbcd is active, so the active's half keeps the vote.
#
# Processes are stopped by PID only: the PIDs come from `ip netns pids` of
# the lab's own namespaces, so nothing outside the lab is ever touched.
# Leftovers of an aborted run with the same IDX are cleaned at start; a
# run with the same IDX that is still alive is refused instead (claim file
# in LAB_LOCKDIR, /run/lock).  Every wait is bounded.

set -u
LAB_NAME=$(basename "$0" .sh)
LAB_IDX=${LAB_IDX:-${1:?usage: $0 LAB_INDEX}}
case $LAB_IDX in
'' | *[!0-9]*) echo "lab index must be a number: $LAB_IDX" >&2; exit 2 ;;
esac
LAB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_P=sbl$LAB_IDX
LAB_LAN=$LAB_P-lan
LAB_W=${LAB_WORKDIR:-${TMPDIR:-/tmp}/sbc-lab.$LAB_IDX.$$}
LAB_TOKEN=${LAB_TOKEN:-1000}
LAB_TOTEM_EXTRA=${LAB_TOTEM_EXTRA:-}
LAB_VIP_ACCESS=192.0.2.50
LAB_VIP_CORE=192.0.2.51
LAB_CLI_IP=192.0.2.100
LAB_CORE_IP=192.0.2.200
LAB_QNETD=${LAB_QNETD:-0}
LAB_HOSTS=${LAB_HOSTS:-0}
LAB_QNETD_IP=192.0.2.30
LAB_LOCKDIR=${LAB_LOCKDIR:-/run/lock}
[ -d "$LAB_LOCKDIR" ] && [ -w "$LAB_LOCKDIR" ] || LAB_LOCKDIR=/tmp
LAB_CLAIM=$LAB_LOCKDIR/sbc-lab.$LAB_IDX
LAB_NODES=""
LAB_LOGS=""
LAB_SEEN=""
LAB_BG_PID=""
LAB_UP_MS=""
LAB_DOWN_MS=""
LAB_FAILED=0
LAB_CLAIMED=0
LAB_IS_DOWN=0

lab_log() { echo "[$LAB_NAME] $*"; }

ok() { lab_log "ok: $*"; }

# Post-mortem on stdout (ctest shows it): the tail of every corosync log
# and of every lab_bg log; the work dir is kept by lab_down.
fail() {
	LAB_FAILED=1
	lab_log "FAIL: $*"
	local f
	for f in "$LAB_W"/n?/log/corosync/corosync.log "$LAB_W"/n?/node.log $LAB_LOGS; do
		[ -s "$f" ] || continue
		echo "---- $f (tail) ----"
		tail -8 "$f"
	done
	exit 1
}

# Exit code 77: ctest reports the test as skipped (SKIP_RETURN_CODE).
lab_skip() {
	lab_log "SKIP: $*"
	exit 77
}

lab_require() {
	local c
	[ "$(id -u)" = 0 ] || lab_skip "needs root (network and mount namespaces)"
	for c in ip unshare nsenter setsid flock timeout corosync corosync-keygen \
		corosync-quorumtool corosync-cfgtool arping; do
		command -v "$c" >/dev/null || lab_skip "$c not installed (make deps)"
	done
	[ "$LAB_QNETD" = 1 ] && lab_qnetd_require
	[ "$LAB_HOSTS" = 1 ] && lab_hosts_require
	return 0
}

# Milliseconds since the epoch (EPOCHREALTIME without its decimal point).
lab_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	echo $((t / 1000))
}

# Seconds with 2 decimals between two lab_ms values.
lab_secs() {
	local d=$(($2 - $1))
	printf '%d.%02d' $((d / 1000)) $((d % 1000 / 10))
}

# ---- processes -------------------------------------------------------------

# Start time of a live process (field 22 of /proc/PID/stat, after the
# command name, which may hold spaces); fails for a gone or zombie one.
# A PID plus its start time names a process even if the PID is reused.
# (read, not cat: the wait loops call this often, a fork each adds up)
lab_pid_start() {
	local s
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	set -- $s
	[ "$1" != Z ] || return 1
	echo "${20}"
}

# Is PID:START gone (exited, zombie, or its PID now someone else's)?
lab_gone() {
	local pid=${1%%:*} start=${1#*:} cur
	cur=$(lab_pid_start "$pid") || return 0
	[ "$cur" != "$start" ]
}

# The network namespace identity (inode) of a lab namespace and of a PID.
lab_ns_ino() { stat -L -c %i "/run/netns/$1" 2>/dev/null; }
lab_pid_ns_ino() {
	local l
	l=$(readlink "/proc/$1/ns/net" 2>/dev/null) || return 1
	l=${l#net:[}
	echo "${l%]}"
}

# The lab namespaces that exist now (also those of an aborted run).
lab_ns_list() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_P-" || true
}

# Which lab namespace PID is in (prints its name); fails if none.
lab_pid_ns() {
	local ino ns
	ino=$(lab_pid_ns_ino "$1") || return 1
	for ns in $(lab_ns_list); do
		[ "$(lab_ns_ino "$ns")" = "$ino" ] && { echo "$ns"; return 0; }
	done
	return 1
}

# SIGKILL every process of the given namespaces, by PID, and wait (5 s at
# most) until they are gone.  Each is remembered in LAB_SEEN (PID:START)
# for lab_leftovers.  Children of this shell are reaped.
lab_kill_ns() {
	local ns p s list="" left
	for ns in "$@"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			s=$(lab_pid_start "$p") || continue
			list="$list $p:$s"
			kill -9 "$p" 2>/dev/null
		done
	done
	LAB_SEEN="$LAB_SEEN$list"
	for _ in $(seq 1 100); do
		left=""
		for p in $list; do
			lab_gone "$p" || left="$left $p"
		done
		[ -z "$left" ] && break
		sleep 0.05
	done
	# reap the ones that are our children (a live child would block wait)
	for p in $list; do
		lab_gone "$p" && wait "${p%%:*}" 2>/dev/null
	done
	[ -z "$left" ] || { lab_log "still alive after SIGKILL:$left"; return 1; }
	return 0
}

# ---- claim of the lab index ------------------------------------------------

# Take the index: the claim file names the owning shell (PID START).  A
# live owner means another run uses this IDX right now: refuse (cleaning
# its namespaces would kill its lab).  flock makes check-and-claim atomic.
lab_claim() {
	local rc=0
	(
		flock -w 10 9 || exit 2
		read -r opid ostart <&9
		if [ -n "${opid:-}" ] && ! lab_gone "$opid:$ostart"; then
			echo "$opid" >&2
			exit 3
		fi
		echo "$$ $(lab_pid_start $$)" > "$LAB_CLAIM"
	) 9<>"$LAB_CLAIM" 2>"$LAB_W/claim.err" || rc=$?
	case $rc in
	0) LAB_CLAIMED=1 ;;
	3) fail "lab index $LAB_IDX is in use by PID $(cat "$LAB_W/claim.err"); pick another (SBC_LAB_BASE)" ;;
	*) fail "cannot claim lab index $LAB_IDX ($LAB_CLAIM)" ;;
	esac
	rm -f "$LAB_W/claim.err"
}

# Give the index back (the file stays: an empty claim is a free index).
lab_unclaim() {
	[ "$LAB_CLAIMED" = 1 ] || return 0
	(
		flock -w 10 9 || exit 2
		read -r opid _ <&9
		[ "${opid:-}" = $$ ] && : > "$LAB_CLAIM"
	) 9<>"$LAB_CLAIM"
	LAB_CLAIMED=0
}

# ---- network ---------------------------------------------------------------

lab_ip() {
	case $1 in
	n1) echo 192.0.2.11 ;;
	n2) echo 192.0.2.12 ;;
	n3) echo 192.0.2.13 ;;
	qn) echo $LAB_QNETD_IP ;;
	cli) echo $LAB_CLI_IP ;;
	core) echo $LAB_CORE_IP ;;
	*) return 1 ;;
	esac
}

# Leftovers of an aborted run of this IDX: processes by PID, then names.
lab_clean_stale() {
	local nss ns
	nss=$(lab_ns_list)
	[ -n "$nss" ] || return 0
	lab_log "cleaning leftovers of an earlier run:" $nss
	lab_kill_ns $nss
	for ns in $nss; do
		ip netns del "$ns" || fail "cannot delete stale namespace $ns"
	done
}

# One member's namespace and cable: the veth is created inside the lan
# namespace with its peer moved straight into the member's namespace.
lab_net_member() {
	local m=$1 ns=$LAB_P-$1
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up &&
		ip -n "$LAB_LAN" link add "v-$m" type veth peer name eth0 netns "$ns" &&
		ip -n "$LAB_LAN" link set "v-$m" master br0 up &&
		ip -n "$ns" addr add "$(lab_ip "$m")/24" dev eth0 &&
		ip -n "$ns" link set eth0 up
}

lab_net() {
	local m
	ip netns add "$LAB_LAN" || return 1
	ip -n "$LAB_LAN" link set lo up &&
		ip -n "$LAB_LAN" link add br0 type bridge stp_state 0 forward_delay 0 &&
		ip -n "$LAB_LAN" link set br0 up || return 1
	for m in $LAB_NODES $([ "$LAB_QNETD" = 1 ] && echo qn) cli core; do
		lab_net_member "$m" || return 1
	done
}

# ---- corosync --------------------------------------------------------------

# One corosync.conf and one authkey for all nodes; corosync picks its own
# nodelist entry by the local address.  two_node (implies wait_for_all)
# keeps a 2-node cluster quorate when one node is lost.
lab_corosync_conf() {
	local n id count=0
	corosync-keygen -l -k "$LAB_W/authkey" >/dev/null 2>&1 ||
		fail "corosync-keygen failed"
	{
		cat <<EOC
totem {
	version: 2
	cluster_name: sbclab$LAB_IDX
	transport: knet
	crypto_cipher: aes256
	crypto_hash: sha256
	token: $LAB_TOKEN
	$LAB_TOTEM_EXTRA
}
nodelist {
EOC
		for n in $LAB_NODES; do
			id=${n#n}
			count=$((count + 1))
			printf '\tnode {\n\t\tname: %s\n\t\tnodeid: %s\n\t\tring0_addr: %s\n\t}\n' \
				"$n" "$id" "$(lab_ip "$n")"
		done
		echo "}"
		echo "quorum {"
		echo "	provider: corosync_votequorum"
		if [ "$LAB_QNETD" = 1 ]; then
			lab_qnetd_quorum_conf
		elif [ "$count" = 2 ]; then
			echo "	two_node: 1"
		fi
		echo "}"
		cat <<EOC
logging {
	to_logfile: yes
	logfile: /var/log/corosync/corosync.log
	to_stderr: no
	to_syslog: no
	timestamp: hires
}
EOC
	} > "$LAB_W/corosync.conf"
}

# Start a node's launcher (lab_node.sh; lab_host.sh with LAB_HOSTS=1) in
# its namespaces; returns once the holder has published its PID (the
# node's mounts are in place).
lab_node_start() {
	local n=$1 d=$LAB_W/$1 h
	if [ "$LAB_HOSTS" = 1 ]; then
		lab_host_start "$n"
		return
	fi
	mkdir -p "$d/etc-corosync" || fail "mkdir $d"
	install -m 0644 "$LAB_W/corosync.conf" "$d/etc-corosync/corosync.conf" &&
		install -m 0400 "$LAB_W/authkey" "$d/etc-corosync/authkey" ||
		fail "cannot install corosync config for $n"
	rm -f "$d/holder.pid"
	# setsid: the node is not in the test's process group (a ^C reaches
	# the test, whose EXIT trap stops the node); disown: a bare `wait`
	# in a test must not wait for the holder, which never exits
	setsid ip netns exec "$LAB_P-$n" unshare --mount --uts --propagation private \
		-- bash "$LAB_HERE/lab_node.sh" "$n" "$d" </dev/null >>"$d/node.log" 2>&1 &
	disown $!
	for _ in $(seq 1 200); do
		h=$(cat "$d/holder.pid" 2>/dev/null)
		[ -n "$h" ] && return 0
		sleep 0.05
	done
	fail "node $n: launcher did not come up within 10 s"
}

# The holder PID of a node, checked to be in the node's own netns (a
# stale PID file must never lead nsenter into a stranger's namespaces).
lab_holder() {
	local h
	h=$(cat "$LAB_W/$1/holder.pid" 2>/dev/null) || return 1
	[ -n "$h" ] && [ "$(lab_pid_ns_ino "$h")" = "$(lab_ns_ino "$LAB_P-$1")" ] ||
		return 1
	echo "$h"
}

# LAB_PRE: the command prefix that runs something in a member.
# ip netns exec and nsenter (without -p) exec the command: no extra
# process between, so $! of a background job is the command's PID.
# A node of LAB_HOSTS=1 has a PID namespace (and its /proc) of its own:
# nsenter enters it too (-p), and forks for it, so there nsenter's PID
# is not the command's (lab_bg refuses such a node).
lab_pre() {
	local h
	case $1 in
	cli | core) LAB_PRE=(ip netns exec "$LAB_P-$1") ;;
	n[123] | qn)
		h=$(lab_holder "$1") || { echo "node $1 is not running" >&2; return 1; }
		LAB_PRE=(nsenter -t "$h" -n -m -u --)
		if [ "$LAB_HOSTS" = 1 ]; then
			LAB_PRE=(nsenter -t "$h" -n -m -u -p --)
		fi
		;;
	*) echo "no lab member '$1'" >&2; return 1 ;;
	esac
}

lab_x() {
	local -a LAB_PRE
	lab_pre "$1" || return 1
	shift
	"${LAB_PRE[@]}" "$@"
}

lab_cli() { lab_x cli "$@"; }
lab_core() { lab_x core "$@"; }

lab_bg() {
	local m=$1 log=$2
	local -a LAB_PRE
	shift 2
	case $LAB_HOSTS:$m in
	1:n[123] | 1:qn) fail "lab_bg: $m is a host (LAB_HOSTS=1): start it over ssh (lab_ssh)" ;;
	esac
	lab_pre "$m" || fail "lab_bg: $m is not running"
	"${LAB_PRE[@]}" "$@" </dev/null >"$log" 2>&1 &
	LAB_BG_PID=$!
	LAB_LOGS="$LAB_LOGS $log"
	lab_in_ns "$LAB_BG_PID" "$LAB_P-$m" || fail "lab_bg: $1 did not enter $m within 5 s"
	lab_log "$m: started $1 (PID $LAB_BG_PID, log $log)"
}

# Wait (5 s at most) until PID has entered namespace NS, or has ended.
# Until nsenter / ip netns exec has switched, the new PID is still in the
# root namespace: lab_crash or lab_down would not see it there (it would
# escape the kill), lab_kill_proc would refuse it.
lab_in_ns() {
	local ino
	ino=$(lab_ns_ino "$2")
	for _ in $(seq 1 500); do
		[ "$(lab_pid_ns_ino "$1")" = "$ino" ] && return 0
		lab_pid_start "$1" >/dev/null || return 0
		sleep 0.01
	done
	return 1
}

lab_stop() {
	local pid=$1 t=${2:-5} s rc=0
	# already gone: just its exit status (if it is our child)
	s=$(lab_pid_start "$pid") || { wait "$pid" 2>/dev/null; return; }
	lab_pid_ns "$pid" >/dev/null || { lab_log "lab_stop: $pid is not a lab process"; return 1; }
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 $((t * 20))); do
		lab_gone "$pid:$s" && break
		sleep 0.05
	done
	lab_gone "$pid:$s" || kill -9 "$pid" 2>/dev/null
	for _ in $(seq 1 40); do
		lab_gone "$pid:$s" && break
		sleep 0.05
	done
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

lab_kill_proc() {
	local s
	[ "$(lab_pid_ns "$2")" = "$LAB_P-$1" ] || fail "lab_kill_proc: PID $2 is not in $1"
	s=$(lab_pid_start "$2") || return 0
	kill -9 "$2"
	for _ in $(seq 1 100); do
		lab_gone "$2:$s" && { wait "$2" 2>/dev/null; return 0; }
		sleep 0.05
	done
	fail "lab_kill_proc: PID $2 in $1 survived SIGKILL for 5 s"
}

# Members as corosync in NODE sees them: the rows of the membership table
# of corosync-quorumtool -s but the quorum device's (node id 0; every CLI
# call bounded: a corosync CLI can hang while the cluster re-forms).
lab_members() {
	local -a LAB_PRE
	lab_pre "$1" 2>/dev/null || { echo 0; return 1; }
	timeout -k 1 5 "${LAB_PRE[@]}" corosync-quorumtool -s 2>/dev/null |
		awk '/^Membership information/ { t = 1; next }
		     t && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $1 > 0 { n++ }
		     END { print n + 0 }'
}

lab_wait_members() {
	local n=$1 want=$2 t=$3 end got
	end=$(($(lab_ms) + t * 1000))
	while :; do
		got=$(lab_members "$n")
		[ "$got" = "$want" ] && return 0
		[ "$(lab_ms)" -lt "$end" ] || break
		sleep 0.1
	done
	lab_log "$n: corosync sees $got members, not $want, after $t s"
	return 1
}

# ---- addresses -------------------------------------------------------------

# Gratuitous ARP from NODE for IP, so cli, core and the other nodes
# replace a cached MAC (of the node that had it before) at once.  The
# first goes out at once, a second 1 s later (as IPaddr2's send_arp);
# in the background because arping takes whole seconds to finish (its
# interval is in whole seconds, -i 0 never ends).  It is a process of the
# node's namespace, so lab_crash and lab_down stop it if still running.
lab_garp() {
	local -a LAB_PRE
	lab_pre "$1" || fail "lab_garp: $1 is not running"
	"${LAB_PRE[@]}" arping -q -U -c 2 -I eth0 -s "$2" "$2" \
		</dev/null >>"$LAB_W/$1/arping.log" 2>&1 &
	disown $!
	lab_in_ns $! "$LAB_P-$1" || lab_log "$1: arping did not start"
}

lab_addr_add() {
	ip -n "$LAB_P-$1" addr add "$2/24" dev eth0 || fail "cannot add $2 on $1"
	lab_garp "$1" "$2"
}

lab_addr_del() {
	ip -n "$LAB_P-$1" addr del "$2/24" dev eth0 || fail "cannot delete $2 on $1"
}

lab_addr_move() {
	local ip=$1 from=$2 to=$3
	# a crashed node has no addresses left (lab_crash flushed them)
	if ip -n "$LAB_P-$from" -4 addr show dev eth0 | grep -q "inet $ip/"; then
		lab_addr_del "$from" "$ip"
	fi
	lab_addr_add "$to" "$ip"
}

# ---- faults ----------------------------------------------------------------

lab_crash() {
	local n=$1 ns=$LAB_P-$1
	ip -n "$LAB_LAN" link set "v-$n" down || fail "cannot cut the cable of $n"
	lab_kill_ns "$ns" || fail "processes of $n survived SIGKILL"
	ip -n "$ns" addr flush dev eth0
	rm -f "$LAB_W/$n/holder.pid"
	lab_log "$n crashed"
}

lab_revive() {
	local n=$1 ns=$LAB_P-$1
	ip -n "$ns" addr add "$(lab_ip "$n")/24" dev eth0 || fail "cannot re-address $n"
	ip -n "$LAB_LAN" link set "v-$n" up || fail "cannot reconnect $n"
	lab_node_start "$n"
	lab_log "$n revived"
}

lab_partition() {
	ip -n "$LAB_LAN" link set "v-$1" down || fail "cannot cut the cable of $1"
	lab_log "$1 cut off"
}

lab_heal() {
	ip -n "$LAB_LAN" link set "v-$1" up || fail "cannot reconnect $1"
	lab_log "$1 connected again"
}

# Bridge port isolation: isolated ports reach the others (qn, cli, core)
# but not each other, so isolating two nodes cuts only the link between
# them (the cluster link fails, both still see the quorum device).
lab_isolate() {
	ip -n "$LAB_LAN" link set "v-$1" type bridge_slave isolated on ||
		fail "cannot isolate $1"
	lab_log "$1 isolated (reaches only members that are not)"
}

lab_unisolate() {
	ip -n "$LAB_LAN" link set "v-$1" type bridge_slave isolated off ||
		fail "cannot end the isolation of $1"
	lab_log "$1 no longer isolated"
}

# ---- sbcd ------------------------------------------------------------------

# sbcd standalone in NODE on the two VIPs (which must be on NODE already:
# sbcd binds them), upstream the core's UAS on 5080, the lab network as a
# peer (LAB_PEER_EXTRA and the LINEs after "--": more lines of that peer's
# section); OPT=VAL arguments replace or add global options.  LAB_SBCD_NAME:
# the instance's file names (default sbcd); LAB_SBCD_CPU: the core it is
# pinned to.
lab_sbcd() {
	local n=$1 d=$LAB_W/$1 pid name=${LAB_SBCD_NAME:-sbcd}
	local -a pre=()
	lab_sbcd_conf "$@"
	[ -n "${LAB_SBCD_CPU:-}" ] && pre=(taskset -c "$LAB_SBCD_CPU")
	lab_bg "$n" "$d/$name.log" "${pre[@]}" "$SBCD" -f "$d/$name.conf"
	pid=$LAB_BG_PID
	# 10 s: the ASan build on a loaded machine (2 vCPUs shared with other
	# sessions' labs) took 2 s where it normally takes 0.7
	for _ in $(seq 1 200); do
		grep -q ' ready$' "$d/$name.log" && return 0
		kill -0 "$pid" 2>/dev/null || fail "sbcd in $n exited at start-up"
		sleep 0.05
	done
	fail "sbcd in $n not ready within 10 s"
}

lab_sbcd_conf() {
	local n=$1 d=$LAB_W/$1 kv k name=${LAB_SBCD_NAME:-sbcd}
	local -a lines=()
	shift
	: "${SBCD:?SBCD must point to the sbcd binary}"
	cat > "$d/$name.opts" <<EOC
log_level = debug
access_addr = $LAB_VIP_ACCESS
access_tls_port = 0
core_addr = $LAB_VIP_CORE
core_tls_port = 0
core_tls_cert =
core_tls_key =
upstream = sip:$LAB_CORE_IP:5080;transport=udp
control_socket = $d/$name.sock
EOC
	while [ $# -gt 0 ]; do
		kv=$1
		shift
		if [ "$kv" = -- ]; then
			lines=("$@")
			break
		fi
		k=${kv%%=*}
		k=${k% }
		sed -i "/^$k *=/d" "$d/$name.opts"
		echo "$kv" >> "$d/$name.opts"
	done
	{
		cat "$d/$name.opts"
		[ -z "${LAB_PEERS_FIRST:-}" ] || printf '%s\n' "$LAB_PEERS_FIRST"
		printf '[peer lab]\naddr = 192.0.2.0/24\n'
		[ -z "${LAB_PEER_EXTRA:-}" ] || printf '%s\n' "$LAB_PEER_EXTRA"
		[ ${#lines[@]} = 0 ] || printf '%s\n' "${lines[@]}"
	} > "$d/$name.conf"
}

# ---- Pacemaker -------------------------------------------------------------

# The lab's own addition to the recipe: the 20 s default dc-deadtime is
# most of a bring-up (the notes), a production cluster keeps it.
LAB_PCMK_EXTRA=${LAB_PCMK_EXTRA-pcs -f sbc.xml property set dc-deadtime=2s}
LAB_CACHE=${LAB_CACHE:-/var/tmp/sbc-lab-cache}
LAB_PCMK_MS=""

# A Pacemaker (or pcs) command in NODE, bounded: a CLI can hang while the
# cluster re-forms (the notes saw crmadmin hang for minutes).
lab_crm() {
	local n=$1
	shift
	lab_x "$n" timeout -k 1 10 "$@"
}

# The pcs lines of the README's recipe (between the pcs-recipe markers),
# each continued line joined: only the `pcs -f` ones (the first and last
# lines read and push a live CIB, the lab seeds its nodes instead).
lab_pcs_recipe() {
	awk '/^<!-- pcs-recipe -->/ { f = 1; next } /^<!-- \/pcs-recipe -->/ { f = 0 }
	     f && /^```/ { next }
	     f { if (sub(/\\$/, "")) { acc = acc $0; next } print acc $0; acc = "" }' \
		"$LAB_HERE/../../README.md" | grep '^pcs -f ' | sed 's/  */ /g'
}

# The site values of the recipe, the lab's.
lab_pcs_values() {
	local count
	count=$(echo $LAB_NODES | wc -w)
	printf '%s\n' "NODES=$count" "ACCESS_VIP=$LAB_VIP_ACCESS" ACCESS_CIDR=24 \
		ACCESS_NIC=eth0 "CORE_VIP=$LAB_VIP_CORE" CORE_CIDR=24 CORE_NIC=eth0 \
		CONF=/run/sbc/sbcd.conf FENCING=false
}

# pcs takes a second a call (Python start-up): the CIB is cached under a
# hash of the recipe, the values, the lab's extra lines, the agent (pcs
# checks its parameters against its meta-data) and the pcs version.
lab_pcs_cib() {
	local cmds key cache
	cmds=$(lab_pcs_recipe)
	[ "$(echo "$cmds" | grep -c .)" -ge 5 ] || fail "no pcs recipe in README.md (pcs-recipe markers)"
	key=$( { echo "$cmds"; lab_pcs_values; echo "$LAB_PCMK_EXTRA"
		cat "$LAB_HERE/../../ra/sbcd"; pcs --version 2>&1; } | sha256sum | cut -c1-16)
	cache=$LAB_CACHE/cib-$key.xml
	if [ -s "$cache" ]; then
		cp "$cache" "$LAB_W/cib.xml" || fail "cannot copy $cache"
		lab_log "CIB of the recipe from the cache ($cache)"
		return 0
	fi
	mkdir -p "$LAB_W/pcs" || fail "mkdir $LAB_W/pcs"
	printf '%s\n' "$cmds" "$LAB_PCMK_EXTRA" > "$LAB_W/pcs/recipe.sh"
	# in a node: pcs runs the agents' meta-data, ocf:sbc:sbcd is there
	lab_x "${LAB_NODES%% *}" timeout -k 1 120 env $(lab_pcs_values) bash -c \
		'set -e; cd "$1"; cibadmin --empty > sbc.xml; . ./recipe.sh' _ "$LAB_W/pcs" \
		> "$LAB_W/pcs/out.txt" 2>&1 ||
		fail "the pcs recipe failed: $(tail -5 "$LAB_W/pcs/out.txt")"
	cp "$LAB_W/pcs/sbc.xml" "$LAB_W/cib.xml" || fail "no CIB made"
	mkdir -p "$LAB_CACHE" && cp "$LAB_W/cib.xml" "$cache.$$" && mv "$cache.$$" "$cache"
	lab_log "CIB of the recipe built with pcs ($(echo "$cmds" | wc -l) commands)"
}

# The node whose sbcd-clone instance is Promoted, as NODE (default: the
# first node up) sees it; fails if none.
lab_promoted() {
	local n=${1:-} x
	if [ -z "$n" ]; then
		for x in $LAB_NODES; do
			lab_holder "$x" >/dev/null && { n=$x; break; }
		done
	fi
	[ -n "$n" ] || return 1
	lab_crm "$n" crm_mon -1 --output-as=xml 2>/dev/null | awk '
		/<resource id="sbcd"/ && /role="Promoted"/ && /active="true"/ { p = 1 }
		p && /<node name=/ { match($0, /name="[^"]*"/); print substr($0, RSTART + 6, RLENGTH - 7); exit }
		/<\/resource>/ { p = 0 }' | grep .
}

# Every VIP on NODE's eth0.
lab_has_vips() {
	local a
	a=$(ip -n "$LAB_P-$1" -4 -o addr show dev eth0 2>/dev/null)
	grep -q "inet $LAB_VIP_ACCESS/" <<<"$a" && grep -q "inet $LAB_VIP_CORE/" <<<"$a"
}

# Every node's sbcd-clone instance running (crm_mon: one resource entry
# per node, Promoted or Unpromoted, none failed).
lab_pcmk_settled() {
	local n=$1 want
	want=$(echo $LAB_NODES | wc -w)
	[ "$(lab_crm "$n" crm_mon -1 --output-as=xml 2>/dev/null | grep '<resource id="sbcd"' |
		grep 'active="true"' | grep -v 'failed="true"' | grep -c 'role="\(Promoted\|Unpromoted\)"')" = "$want" ]
}

lab_pacemaker() {
	local t0 n d bin p
	t0=$(lab_ms)
	: "${SBCD:?SBCD must point to the sbcd binary}"
	command -v pacemakerd >/dev/null && command -v pcs >/dev/null ||
		lab_skip "pacemaker or pcs not installed (make test-deps)"
	for n in $LAB_NODES; do
		[ -s "$LAB_W/$n/sbcd.conf" ] || fail "lab_pacemaker: no $n/sbcd.conf (lab_sbcd_conf first)"
	done
	lab_pcs_cib
	bin=$(cd "$(dirname "$SBCD")" && pwd)
	[ -n "${SBCCTL:-}" ] && bin=$bin:$(cd "$(dirname "$SBCCTL")" && pwd)
	for n in $LAB_NODES; do
		d=$LAB_W/$n
		install -o hacluster -g haclient -m 0600 "$LAB_W/cib.xml" \
			"$d/lib-pacemaker/cib/cib.xml" || fail "cannot seed the CIB of $n"
		echo "SBC_BIN=$bin" > "$d/pacemaker.env"
		lab_x "$n" bash "$LAB_HERE/lab_node.sh" --pacemaker "$n" "$d" ||
			fail "Pacemaker did not start in $n"
	done
	for _ in $(seq 1 600); do
		p=$(lab_promoted) && lab_has_vips "$p" && lab_pcmk_settled "$p" && break
		p=""
		sleep 0.1
	done
	[ -n "$p" ] || fail "Pacemaker: no node Promoted with the VIPs and every instance running within 60 s: $(lab_crm "${LAB_NODES%% *}" crm_mon -1 2>&1 | tail -15)"
	LAB_PCMK_MS=$(($(lab_ms) - t0))
	lab_log "Pacemaker up: $p Promoted with the VIPs, after $(lab_secs 0 "$LAB_PCMK_MS") s"
}

# ---- bare hosts for Ansible (LAB_HOSTS=1) ----------------------------------

# The nodes as bare Debian hosts reachable by ssh (lab_host.sh): each its
# own root (the host's /usr, /etc, /var under an overlay), PID namespace
# and sshd; no corosync is started, nothing of sbc is there.  From cli:
#   lab_ssh NODE CMD...    ssh -F LAB_W/ssh_config NODE CMD (root, by key)
#   lab_ansible ARG...     ansible with LAB_W/ansible.cfg (inventory
#                          LAB_W/inventory: group lab, the nodes with
#                          ansible_host their lab address)
#   lab_ansible_playbook ARG...  ansible-playbook, the same way
# Files in LAB_W: ssh/id_ed25519 (the client key, root's authorized key on
# every node), known_hosts (each node's own host keys, by name and
# address), ssh_config, inventory, ansible.cfg, ansible/ (Ansible's home,
# local temp files and ssh control sockets: nothing in /root/.ansible,
# and no control socket another lab's ansible could pick up: the node
# addresses are the same in every lab).
lab_hosts_require() {
	local c
	for c in sshd ssh ssh-keygen; do
		command -v "$c" >/dev/null || lab_skip "$c not installed (LAB_HOSTS=1; make test-deps)"
	done
	[ -x /etc/init.d/ssh ] || lab_skip "no /etc/init.d/ssh (openssh-server; make test-deps)"
	# a node's overlay of /usr, /etc or /var cannot hold its own upper layer
	case $(realpath -m "$LAB_W")/ in
	/usr/* | /etc/* | /var/*) lab_skip "LAB_HOSTS=1: the work dir $LAB_W must not be under /usr, /etc or /var (TMPDIR)" ;;
	esac
	# bare: nothing of sbc in a node before the playbook runs
	for c in /usr/sbin/sbcd /usr/bin/sbcctl /etc/sbc /usr/lib/ocf/resource.d/sbc; do
		[ -e "$c" ] && lab_skip "LAB_HOSTS=1: $c on this machine would be in every node"
	done
	return 0
}

lab_host_start() {
	local n=$1 d=$LAB_W/$1 h
	mkdir -p "$d" || fail "mkdir $d"
	rm -f "$d/holder.pid"
	LAB_LOGS="$LAB_LOGS $d/root/var/log/sshd.log"
	# setsid, disown: as lab_node_start; --kill-child: the node's PID 1
	# (and so the whole PID namespace) dies with the unshare process
	setsid ip netns exec "$LAB_P-$n" unshare --mount --uts --pid --fork --kill-child \
		--propagation private -- bash "$LAB_HERE/lab_host.sh" "$n" "$d" "$LAB_W" \
		</dev/null >>"$d/node.log" 2>&1 &
	disown $!
	# 30 s: ssh-keygen -A makes an RSA key at the first boot
	for _ in $(seq 1 600); do
		h=$(cat "$d/holder.pid" 2>/dev/null)
		[ -n "$h" ] && return 0
		sleep 0.05
	done
	fail "node $n: host launcher did not come up within 30 s: $(tail -3 "$d/node.log")"
}

lab_ssh() {
	local n=$1
	shift
	lab_cli ssh -F "$LAB_W/ssh_config" "$n" "$@"
}

# ansible or ansible-playbook in cli, with the lab's configuration.
lab_ansible_env() {
	local cmd=$1
	shift
	lab_cli env ANSIBLE_CONFIG="$LAB_W/ansible.cfg" ANSIBLE_HOME="$LAB_W/ansible" \
		ANSIBLE_NOCOLOR=1 "$cmd" "$@"
}
lab_ansible() { lab_ansible_env ansible "$@"; }
lab_ansible_playbook() { lab_ansible_env ansible-playbook "$@"; }

# The client's files (see above) once the nodes' host keys are known.
lab_hosts_client() {
	local n f ip
	: > "$LAB_W/known_hosts"
	{
		echo "# the lab's hosts (lab.sh, LAB_HOSTS=1): ssh -F $LAB_W/ssh_config NODE, from cli"
		for n in $LAB_HOSTS_ALL; do
			ip=$(lab_ip "$n")
			printf 'Host %s\n\tHostName %s\n' "$n" "$ip"
			for f in "$LAB_W/$n"/hostkeys/*.pub; do
				[ -s "$f" ] || fail "$n: no host key in $LAB_W/$n/hostkeys"
				awk -v h="$n,$ip" '{ print h, $1, $2 }' "$f" >> "$LAB_W/known_hosts"
			done
		done
		cat <<EOC
Host *
	User root
	IdentityFile $LAB_W/ssh/id_ed25519
	IdentitiesOnly yes
	UserKnownHostsFile $LAB_W/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
	ConnectTimeout 5
	LogLevel ERROR
EOC
	} > "$LAB_W/ssh_config"
	{
		echo "[lab]"
		for n in $LAB_HOSTS_ALL; do
			echo "$n ansible_host=$(lab_ip "$n")"
		done
		printf '\n[lab:vars]\nansible_user=root\n'
	} > "$LAB_W/inventory"
	mkdir -p "$LAB_W/ansible/tmp" "$LAB_W/ansible/cp" || fail "mkdir $LAB_W/ansible"
	cat > "$LAB_W/ansible.cfg" <<EOC
[defaults]
inventory = $LAB_W/inventory
home = $LAB_W/ansible
local_tmp = $LAB_W/ansible/tmp
interpreter_python = /usr/bin/python3
retry_files_enabled = False

[ssh_connection]
ssh_args = -F $LAB_W/ssh_config -o ControlMaster=auto -o ControlPersist=60s
control_path_dir = $LAB_W/ansible/cp
pipelining = True
EOC
}

# The client key, every node booted, the client's files, and each sshd
# answering (bounded: 20 s).
lab_hosts_up() {
	local n ok=0
	mkdir -p "$LAB_W/ssh" || fail "mkdir $LAB_W/ssh"
	ssh-keygen -q -t ed25519 -N '' -C "sbc-lab$LAB_IDX" -f "$LAB_W/ssh/id_ed25519" ||
		fail "ssh-keygen (client key)"
	LAB_HOSTS_ALL="$LAB_NODES$([ "$LAB_QNETD" = 1 ] && echo " qn")"
	for n in $LAB_HOSTS_ALL; do
		lab_node_start "$n"
	done
	lab_hosts_client
	for n in $LAB_HOSTS_ALL; do
		ok=0
		for _ in $(seq 1 100); do
			lab_ssh "$n" true </dev/null >/dev/null 2>"$LAB_W/$n/ssh.err" && { ok=1; break; }
			sleep 0.2
		done
		[ "$ok" = 1 ] || fail "ssh to $n: $(cat "$LAB_W/$n/ssh.err")"
	done
}

# ---- quorum device (LAB_QNETD=1) -------------------------------------------

# The quorum device's timing: LAB_QDEVICE_TIMEOUT is quorum.device.timeout
# (ms; set empty: corosync's default, 10000), LAB_QNETD_DPD qnetd's
# dpd_interval_coefficient (set empty: qnetd's default, 1.5).  Why the lab
# sets them: the header, "quorum device".
LAB_QDEVICE_TIMEOUT=${LAB_QDEVICE_TIMEOUT-2500}
LAB_QNETD_DPD=${LAB_QNETD_DPD-3}
# LAB_QDEVICE_HEURISTICS: a command (as corosync.conf holds it: double
# quotes inside escaped with a backslash) qdevice runs at each membership
# change (heuristics mode sync); empty: no heuristics.  Set it before
# lab_up (LAB_W is known once this file is sourced).
LAB_QDEVICE_HEURISTICS=${LAB_QDEVICE_HEURISTICS-}

lab_qnetd_require() {
	local c
	for c in corosync-qnetd corosync-qnetd-tool corosync-qnetd-certutil \
		corosync-qdevice corosync-qdevice-tool corosync-qdevice-net-certutil \
		certutil pk12util; do
		command -v "$c" >/dev/null ||
			lab_skip "$c not installed (LAB_QNETD=1; make test-deps)"
	done
}

# The device section of corosync.conf's quorum section (every node: the
# same).  ffsplit gives the device's one vote to exactly one half of an
# even cluster (and to none while qnetd cannot tell the halves apart);
# votes: 1 is what ffsplit requires.  two_node must not be set with a
# device (corosync refuses the two together).
lab_qnetd_quorum_conf() {
	printf '\tdevice {\n\t\tmodel: net\n\t\tvotes: 1\n'
	[ -z "$LAB_QDEVICE_TIMEOUT" ] || printf '\t\ttimeout: %s\n' "$LAB_QDEVICE_TIMEOUT"
	printf '\t\tnet {\n\t\t\thost: %s\n\t\t\talgorithm: ffsplit\n' "$LAB_QNETD_IP"
	printf '\t\t\ttls: on\n\t\t}\n'
	# ffsplit ranks halves that both reach qnetd by their heuristics
	# (passed minus failed) before falling back to the tie-breaker
	[ -z "$LAB_QDEVICE_HEURISTICS" ] ||
		printf '\t\theuristics {\n\t\t\tmode: sync\n\t\t\texec_check: %s\n\t\t}\n' \
			"$LAB_QDEVICE_HEURISTICS"
	printf '\t}\n'
}

# CMD with DIR bound over /etc/corosync, in a mount namespace that ends
# with CMD: the certutil scripts know only /etc/corosync/qnetd/nssdb and
# /etc/corosync/qdevice/net/nssdb, and the host's /etc must stay as it is.
lab_in_etc() {
	local dir=$1
	shift
	# shellcheck disable=SC2016 # $1 and $@ are the inner sh's
	unshare --mount --propagation private -- \
		sh -c 'mount --bind "$1" /etc/corosync && shift && exec "$@"' \
		lab_in_etc "$dir" "$@"
}

# TLS for the device, the way the corosync-qdevice-net-certutil man page
# does it by hand: qnetd makes its CA and server certificate (-i); the
# first node imports the CA (-i) and asks for the cluster's certificate
# (-r, CN = cluster_name); qnetd signs it (-s); the first node imports it
# and exports it with its key (-M, a PKCS#12 file); every other node
# imports the CA and that file (-i, -m).  Files move by plain copies in
# LAB_W instead of scp.
lab_qnetd_certs_run() {
	local q=$LAB_W/qn/etc-corosync name=sbclab$LAB_IDX n e first=""
	local qdb=$LAB_W/qn/etc-corosync/qnetd/nssdb db
	mkdir -p "$q/qnetd" && lab_in_etc "$q" corosync-qnetd-certutil -i || return 1
	for n in $LAB_NODES; do
		e=$LAB_W/$n/etc-corosync
		db=$e/qdevice/net/nssdb
		mkdir -p "$e" &&
			lab_in_etc "$e" corosync-qdevice-net-certutil -i -c "$qdb/qnetd-cacert.crt" ||
			return 1
		if [ -z "$first" ]; then
			first=$db
			lab_in_etc "$e" corosync-qdevice-net-certutil -r -n "$name" &&
				lab_in_etc "$q" corosync-qnetd-certutil -s -n "$name" \
					-c "$db/qdevice-net-node.crq" &&
				lab_in_etc "$e" corosync-qdevice-net-certutil -M \
					-c "$qdb/cluster-$name.crt" || return 1
		else
			lab_in_etc "$e" corosync-qdevice-net-certutil -m \
				-c "$first/qdevice-net-node.p12" || return 1
		fi
	done
}

lab_qnetd_certs() {
	local log=$LAB_W/qn/certs.log t0
	t0=$(lab_ms)
	mkdir -p "$LAB_W/qn" || fail "mkdir $LAB_W/qn"
	LAB_LOGS="$LAB_LOGS $log"
	lab_qnetd_certs_run </dev/null >"$log" 2>&1 || fail "quorum device certificates"
	lab_log "quorum device certificates made in $(lab_secs "$t0" "$(lab_ms)") s"
}

# Start qn's launcher (lab_qdevice.sh qnetd) and wait until qnetd answers
# on its control socket (it listens by then).
lab_qnetd_start() {
	local d=$LAB_W/qn h=""
	local -a opts=(-l "$LAB_QNETD_IP")
	[ -z "$LAB_QNETD_DPD" ] || opts+=(-S "dpd_interval_coefficient=$LAB_QNETD_DPD")
	rm -f "$d/holder.pid"
	LAB_LOGS="$LAB_LOGS $d/qnetd.log"
	# setsid, disown: as lab_node_start
	setsid ip netns exec "$LAB_P-qn" unshare --mount --uts --propagation private \
		-- bash "$LAB_HERE/lab_qdevice.sh" qnetd "$d" "${opts[@]}" \
		</dev/null >>"$d/launcher.log" 2>&1 &
	disown $!
	for _ in $(seq 1 200); do
		h=$(cat "$d/holder.pid" 2>/dev/null)
		[ -n "$h" ] && break
		sleep 0.05
	done
	[ -n "$h" ] || fail "qn: launcher did not come up within 10 s: $(cat "$d/launcher.log")"
	for _ in $(seq 1 100); do
		lab_x qn timeout -k 1 5 corosync-qnetd-tool -s >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "corosync-qnetd in qn does not answer after 10 s"
}

# Before the nodes start: certificates, qnetd running, and each node's
# marker (lab_node.sh starts corosync-qdevice where it finds one).
lab_qnetd_up() {
	local n count=0
	for n in $LAB_NODES; do
		count=$((count + 1))
	done
	[ $((count % 2)) = 0 ] || fail "LAB_QNETD=1: ffsplit is for an even number of nodes"
	lab_qnetd_certs
	lab_qnetd_start
	for n in $LAB_NODES; do
		: > "$LAB_W/$n/qdevice"
		LAB_LOGS="$LAB_LOGS $LAB_W/$n/qdevice.log"
	done
}

# The device's vote in use: each node quorate with every vote (nodes + 1)
# and qnetd's last vote for each node an ACK (corosync-qnetd-tool -l:
# "Vote: <reply to the last message> (<last vote>)").
lab_qnetd_wait() {
	local t=$1 end n count=0 ok
	for n in $LAB_NODES; do
		count=$((count + 1))
	done
	end=$(($(lab_ms) + t * 1000))
	while :; do
		ok=1
		for n in $LAB_NODES; do
			lab_x "$n" timeout -k 1 5 corosync-quorumtool -s 2>/dev/null |
				awk -v w=$((count + 1)) '/^Total votes:/ && $3 == w { v = 1 }
					/^Quorate:/ && $2 == "Yes" { q = 1 }
					END { exit !(v && q) }' || ok=0
		done
		[ "$(lab_x qn timeout -k 1 5 corosync-qnetd-tool -l 2>/dev/null |
			grep -c '^ *Vote:.*(ACK)$')" = "$count" ] || ok=0
		[ "$ok" = 1 ] && return 0
		[ "$(lab_ms)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# ---- bring-up and teardown -------------------------------------------------

lab_up() {
	local t0 n count=0
	t0=$(lab_ms)
	LAB_NODES=${*:-n1 n2}
	for n in $LAB_NODES; do
		case $n in n[123]) ;; *) fail "lab_up: no node '$n' (n1 n2 n3)" ;; esac
		count=$((count + 1))
	done
	[ "$count" -ge 2 ] || fail "lab_up: at least 2 nodes"
	lab_net || fail "cannot build the lab network"
	lab_corosync_conf
	if [ "$LAB_HOSTS" = 1 ]; then
		lab_hosts_up
		: > "$LAB_W/lab.hosts"
		echo "$LAB_NODES" > "$LAB_W/lab.nodes"
		LAB_UP_MS=$(($(lab_ms) - t0))
		lab_log "lab $LAB_P up ($LAB_HOSTS_ALL as bare hosts, sshd on each) in $(lab_secs 0 "$LAB_UP_MS") s"
		return 0
	fi
	[ "$LAB_QNETD" = 1 ] && lab_qnetd_up
	for n in $LAB_NODES; do
		lab_node_start "$n"
	done
	for n in $LAB_NODES; do
		lab_wait_members "$n" "$count" 20 || fail "corosync in $n did not see all $count nodes"
	done
	[ "$LAB_QNETD" = 1 ] && { lab_qnetd_wait 30 || fail "the quorum device's vote is not in use after 30 s"; }
	echo "$LAB_NODES" > "$LAB_W/lab.nodes"
	LAB_UP_MS=$(($(lab_ms) - t0))
	lab_log "lab $LAB_P up ($LAB_NODES) in $(lab_secs 0 "$LAB_UP_MS") s"
}

lab_down() {
	local t0 nss ns
	[ "$LAB_IS_DOWN" = 1 ] && return 0
	LAB_IS_DOWN=1
	# without the claim nothing here is ours: namespaces of this IDX
	# belong to another run, and the work dir holds nothing to look at
	if [ "$LAB_CLAIMED" != 1 ]; then
		rm -rf "$LAB_W"
		return 0
	fi
	t0=$(lab_ms)
	nss=$(lab_ns_list)
	lab_kill_ns $nss || LAB_FAILED=1
	for ns in $nss; do
		ip netns del "$ns" || { lab_log "cannot delete $ns"; LAB_FAILED=1; }
	done
	lab_unclaim
	LAB_DOWN_MS=$(($(lab_ms) - t0))
	lab_log "lab $LAB_P down in $(lab_secs 0 "$LAB_DOWN_MS") s"
	if [ "$LAB_FAILED" = 0 ] && [ -z "${LAB_KEEP:-}" ]; then
		rm -rf "$LAB_W"
	else
		lab_log "work dir kept: $LAB_W"
	fi
}

lab_leftovers() {
	local p f
	lab_ns_list
	for p in $LAB_SEEN; do
		lab_gone "$p" || echo "process ${p%%:*} alive"
	done
	for p in $LAB_SEEN; do
		# qb-SERVERPID-..., qb-NAME-PID-... (blackbox)
		for f in /dev/shm/qb-"${p%%:*}"-* /dev/shm/qb-*-"${p%%:*}"-*; do
			[ -e "$f" ] && echo "$f"
		done
	done
	return 0
}

# A non-zero exit (fail, set -u, a plain exit 1) keeps the work dir.
lab_exit() {
	local rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 77 ] || LAB_FAILED=1
	lab_down
}

# Attached (lab_ctl.sh): the functions only, on a lab a test runs; no
# claim, no trap, no cleaning: the lab stays the test's.
if [ -n "${LAB_ATTACH:-}" ]; then
	LAB_NODES=$(cat "$LAB_W/lab.nodes" 2>/dev/null) ||
		{ echo "no lab at $LAB_W" >&2; exit 2; }
	[ -e "$LAB_W/lab.hosts" ] && LAB_HOSTS=1
	return 0 2>/dev/null || exit 0
fi
lab_require
trap lab_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$LAB_W"
mkdir -p "$LAB_W" || fail "cannot create $LAB_W"
lab_claim
lab_clean_stale
