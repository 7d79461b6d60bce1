# lab_ansible.sh: what the tests of bare lab hosts share (t_hosts,
# t_ansible, t_ansible_qnetd), sourced after lab.sh with LAB_HOSTS=1: the
# project's .deb made by cpack while the lab comes up, ansible-playbook's
# RECAP read per host, the site playbook with the lab's inventory, and
# commands on a host over ssh.
: "${SBCD:?SBCD must point to the sbcd binary}"
BUILD_DIR=${BUILD_DIR:-$(dirname "$SBCD")}
SRC=$(cd "$LAB_HERE/../.." && pwd)
ANSIBLE_HOSTS=${ANSIBLE_HOSTS:-n1 n2}
CPACK=""

# The tools a test needs (and cpack's configuration in the build tree):
# skipped (77) without them.
lab_ansible_require() { # COMMAND...
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || lab_skip "$c not installed (make test-deps)"
	done
	[ -f "$BUILD_DIR/CPackConfig.cmake" ] || lab_skip "no CPackConfig.cmake in $BUILD_DIR"
}

# cpack runs in the background: stopped if the test ends first
lab_ansible_exit() {
	local rc=$?
	[ -n "$CPACK" ] && kill "$CPACK" 2>/dev/null && wait "$CPACK" 2>/dev/null
	(exit $rc)
	lab_exit
}
trap lab_ansible_exit EXIT

# The package, built while the lab comes up (cpack: 10-20 s here).
lab_deb_start() {
	mkdir -p "$LAB_W/deb"
	cpack -G DEB --config "$BUILD_DIR/CPackConfig.cmake" -B "$LAB_W/deb" \
		>"$LAB_W/deb/cpack.log" 2>&1 &
	CPACK=$!
}

# Once it is made: DEB, its path.
lab_deb_wait() {
	local debs
	wait "$CPACK" || fail "cpack: $(tail -5 "$LAB_W/deb/cpack.log")"
	CPACK=""
	debs=("$LAB_W"/deb/sbc_*.deb)
	[ "${#debs[@]}" = 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single sbc_*.deb"
	DEB=${debs[0]}
}

# The RECAP counters of an ansible-playbook output for HOST: "ok=N changed=N ..."
recap() { grep -E "^$2 +: " "$1" | sed 's/^[^:]*: *//'; }
# The play worked for every host of ANSIBLE_HOSTS: no failure, none
# unreachable; and with a second argument, exactly that many changes on
# each.
recap_ok() { # OUT [CHANGED]
	local out=$1 want=${2:-} n r
	for n in $ANSIBLE_HOSTS; do
		r=$(recap "$out" "$n")
		[ -n "$r" ] || return 1
		grep -q 'unreachable=0 *failed=0' <<<"$r" || return 1
		[ -z "$want" ] || grep -q "changed=$want " <<<"$r" || return 1
	done
}
play() { # OUT [ARG...]: ansible-playbook site.yml with the lab's inventory
	local out=$1
	shift
	lab_ansible_playbook -i "$LAB_W/inv" "$SRC/ansible/site.yml" "$@" </dev/null >"$out" 2>&1
}
on() { local n=$1; shift; lab_ssh "$n" "$@" </dev/null; }

# The group_vars of sbc_nodes every lab inventory starts with: the lab's
# package, no apt mirror or systemd, no fencing, the lab's ring and
# addresses, the core's UAS as the upstream, a short first election.
lab_sbc_node_vars() {
	cat <<EOV
sbc_deb: $DEB
sbc_apt_update_cache: false
sbc_service_use: service
sbc_fencing: false
sbc_cluster_name: sbclab$LAB_IDX
sbc_totem_token: $LAB_TOKEN
sbc_access_addr: $LAB_VIP_ACCESS
sbc_access_nic: eth0
sbc_core_addr: $LAB_VIP_CORE
sbc_core_nic: eth0
sbc_upstream: sip:$LAB_CORE_IP:5080;transport=udp
sbc_pcmk_properties:
  dc-deadtime: 2s
EOV
}
