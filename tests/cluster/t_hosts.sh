#!/bin/bash
# t_hosts.sh IDX: the lab's nodes as bare Debian hosts that Ansible can
# provision (lab.sh with LAB_HOSTS=1), shown over real sockets from the
# client namespace:
#   - ssh (root, by key, host keys checked) reaches n1 and n2: their own
#     hostname and lab address, their own host keys (not the machine's),
#     sshd on the lab address only and offering public keys only;
#   - each node has its own root: a file written to /etc in n1 is neither
#     on the machine nor in n2; the lab's packages are there, nothing of
#     sbc is;
#   - the project's .deb (CPack, from this build tree, as tests/deb does)
#     installed with dpkg -i in n1 over ssh: sbcd is there (sbcd -t runs
#     on the packaged sbc.conf, the user sbc exists), not on the machine
#     nor in n2;
#   - ansible -m ping from cli answers for both nodes;
#   - how a playbook starts the cluster's services on such a host (no
#     systemd: the init scripts; see the notes, "Ansible hosts in the
#     lab"): hacluster's password, the corosync package's example cluster
#     cleared, pcsd by ansible.builtin.service with use=service (the init
#     scripts through service(8), update-rc.d to enable), pcs host auth
#     and pcs cluster setup through pcsd, then corosync and pacemaker by
#     ansible.builtin.service: enabled, a 2-node membership and both nodes
#     online in Pacemaker; the same play again changes nothing;
#   - the teardown leaves nothing behind.
# Skips (77) without ansible, ssh or the package tools (make test-deps).
LAB_HOSTS=1
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/lab_ansible.sh"
lab_ansible_require ansible ansible-playbook cpack dpkg-deb dpkg-shlibdeps file
T_START=$(lab_ms)
NODES="n1 n2"
PASS=lab-$LAB_IDX-$$
lab_deb_start

# 1. the hosts, ssh from cli
lab_up $NODES
ok "lab of 2 bare hosts up in $(lab_secs 0 "$LAB_UP_MS") s (ssh answering on each)"
T0=$(lab_ms)
for n in $NODES; do
	out=$(lab_ssh "$n" 'hostname; ip -4 -o addr show dev eth0; cat /proc/1/comm' </dev/null) ||
		fail "ssh to $n: $out"
	[ "$(sed -n 1p <<<"$out")" = "$n" ] || fail "ssh $n: hostname is $(sed -n 1p <<<"$out")"
	grep -q "inet $(lab_ip "$n")/24 " <<<"$out" || fail "ssh $n: not the node's address: $out"
	# the session runs in the node's own PID namespace (its PID 1, the
	# lab's holder, is bash), not among the machine's processes
	[ "$(sed -n 3p <<<"$out")" = bash ] || fail "ssh $n: PID 1 is $(sed -n 3p <<<"$out")"
	ls=$(lab_x "$n" ss -Hltn) || fail "ss in $n"
	[ "$(awk '{print $4}' <<<"$ls" | sort -u)" = "$(lab_ip "$n"):22" ] ||
		fail "$n listens on more than its lab address's port 22: $ls"
done
T_SSH=$(($(lab_ms) - T0))
# only public keys: a try without one is refused with "(publickey)"
out=$(lab_cli ssh -F "$LAB_W/ssh_config" -o PubkeyAuthentication=no n1 true 2>&1 </dev/null) &&
	fail "n1 let root in without a key"
grep -q 'Permission denied (publickey)' <<<"$out" || fail "n1 without a key: $out"
# own host keys: n1's, n2's and the machine's are three different keys
k1=$(awk '{print $2}' "$LAB_W"/n1/hostkeys/ssh_host_ed25519_key.pub)
k2=$(awk '{print $2}' "$LAB_W"/n2/hostkeys/ssh_host_ed25519_key.pub)
kh=$(awk '{print $2}' /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null)
[ -n "$k1" ] && [ "$k1" != "$k2" ] && [ "$k1" != "$kh" ] && [ "$k2" != "$kh" ] ||
	fail "the nodes' host keys are not their own"
ok "ssh -F LAB_W/ssh_config from cli to n1, n2: hostname, address, own PID namespace, own host keys (checked), sshd on the lab address only, root by key only ($(lab_secs 0 "$T_SSH") s for both)"

# 2. each node its own root; bare of sbc, the lab's packages there
MARK=/etc/sbc-lab-hosts-$LAB_IDX-$$
lab_ssh n1 "echo n1 > $MARK" </dev/null || fail "cannot write $MARK in n1"
[ "$(lab_ssh n1 "cat $MARK" </dev/null)" = n1 ] || fail "$MARK not in n1"
[ -e "$MARK" ] && fail "$MARK written in n1 is on the machine"
lab_ssh n2 "test ! -e $MARK" </dev/null || fail "$MARK written in n1 is in n2"
for n in $NODES; do
	lab_ssh "$n" 'for f in /usr/sbin/sbcd /usr/bin/sbcctl /etc/sbc /usr/lib/ocf/resource.d/sbc /var/lib/sbc; do
			[ -e $f ] && { echo "$f is there"; exit 1; }; done
		dpkg -s sbc >/dev/null 2>&1 && { echo "dpkg knows sbc"; exit 1; }
		getent passwd sbc && exit 1
		dpkg -s corosync pacemaker pcs resource-agents sip-tester python3 >/dev/null' \
		</dev/null >"$LAB_W/$n/bare.out" 2>&1 || fail "$n is not a bare host with the lab's packages: $(cat "$LAB_W/$n/bare.out")"
done
ok "a file written to /etc in n1 is neither on the machine nor in n2; no sbc in the nodes, the lab's packages are"

# 3. the .deb, installed in n1 only
lab_deb_wait
T0=$(lab_ms)
lab_cli scp -F "$LAB_W/ssh_config" -q "$DEB" n1:/tmp/ </dev/null || fail "scp of the package to n1"
lab_ssh n1 "dpkg -i /tmp/$(basename "$DEB")" </dev/null >"$LAB_W/n1/dpkg.out" 2>&1 ||
	fail "dpkg -i in n1: $(tail -5 "$LAB_W/n1/dpkg.out")"
T_DPKG=$(($(lab_ms) - T0))
out=$(lab_ssh n1 'sbcd -t -f /etc/sbc/sbc.conf && test -x /usr/lib/ocf/resource.d/sbc/sbcd &&
	getent passwd sbc >/dev/null && dpkg -s sbc | grep "^Status:"' </dev/null 2>&1) ||
	fail "sbc in n1 after dpkg -i: $out"
grep -q 'install ok installed' <<<"$out" || fail "dpkg status of sbc in n1: $out"
for f in /usr/sbin/sbcd /etc/sbc /usr/lib/ocf/resource.d/sbc; do
	[ -e "$f" ] && fail "$f on the machine after dpkg -i in n1"
done
getent passwd sbc >/dev/null && fail "the user sbc on the machine after dpkg -i in n1"
lab_ssh n2 'test ! -e /usr/sbin/sbcd && ! getent passwd sbc' </dev/null ||
	fail "sbcd or the user sbc in n2 after dpkg -i in n1"
ok "$(basename "$DEB") installed by dpkg -i in n1 over ssh in $(lab_secs 0 "$T_DPKG") s: sbcd -t runs there; the machine and n2 have no sbcd"

# 4. ansible from cli
T0=$(lab_ms)
lab_ansible lab -m ansible.builtin.ping </dev/null >"$LAB_W/ping.out" 2>&1 ||
	fail "ansible ping: $(cat "$LAB_W/ping.out")"
T_PING=$(($(lab_ms) - T0))
for n in $NODES; do
	grep -q "^$n | SUCCESS" "$LAB_W/ping.out" || fail "ansible ping $n: $(cat "$LAB_W/ping.out")"
done
[ "$(grep -c '"ping": "pong"' "$LAB_W/ping.out")" = 2 ] || fail "ansible ping: $(cat "$LAB_W/ping.out")"
lab_ansible n1 -m ansible.builtin.setup -a filter=ansible_service_mgr </dev/null \
	>"$LAB_W/setup.out" 2>&1 || fail "ansible setup: $(cat "$LAB_W/setup.out")"
MGR=$(sed -n 's/.*"ansible_service_mgr": "\([^"]*\)".*/\1/p' "$LAB_W/setup.out")
ok "ansible -m ping from cli: both pong in $(lab_secs 0 "$T_PING") s; Ansible's service_mgr fact in a node: '$MGR' (wrong: no systemd runs there; the plays say use=service)"

# 5. the cluster's services, as a playbook starts them on these hosts
cat >"$LAB_W/pcsd.yml" <<'EOF'
- name: pcsd on every node
  hosts: lab
  gather_facts: false
  tasks:
    - name: The password of hacluster (pcs host auth)
      ansible.builtin.user:
        name: hacluster
        password: "{{ hacluster_hash }}"
    - name: Is corosync.conf the corosync package's example (cluster "debian")?
      ansible.builtin.command:
        cmd: "grep -Eq '^[[:space:]]*cluster_name: debian$' /etc/corosync/corosync.conf"
      register: example
      changed_when: false
      failed_when: example.rc > 1
    - name: Clear the example cluster (else pcs host auth saves no token)
      ansible.builtin.command: pcs cluster destroy
      when: example.rc == 0
    - name: The pcsd daemons, through their init scripts
      ansible.builtin.service:
        name: "{{ item }}"
        state: started
        use: service
      loop: [pcsd-ruby, pcsd]
EOF
cat >"$LAB_W/cluster.yml" <<'EOF'
- name: The cluster's services on every node
  hosts: lab
  gather_facts: false
  tasks:
    - name: Corosync, through its init script
      ansible.builtin.service:
        name: corosync
        state: started
        enabled: true
        use: service
    - name: Pacemaker, through its init script
      ansible.builtin.service:
        name: pacemaker
        state: started
        enabled: true
        use: service
EOF
HASH=$(openssl passwd -6 "$PASS") || fail "openssl passwd"
T0=$(lab_ms)
lab_ansible_playbook -e "{\"hacluster_hash\": \"$HASH\"}" "$LAB_W/pcsd.yml" </dev/null \
	>"$LAB_W/pcsd.out" 2>&1 && recap_ok "$LAB_W/pcsd.out" ||
	fail "the pcsd play: $(tail -20 "$LAB_W/pcsd.out")"
T_PCSD=$(($(lab_ms) - T0))
grep -q '^hacluster:[!*]' /etc/shadow || fail "the machine's hacluster got a password"
# pcsd needs a moment to listen after its init script returns
for _ in $(seq 1 50); do
	lab_x n1 ss -Hltn 'sport = :2224' | grep -q . && lab_x n2 ss -Hltn 'sport = :2224' | grep -q . && break
	sleep 0.2
done
T0=$(lab_ms)
lab_ssh n1 "pcs host auth n1 addr=$(lab_ip n1) n2 addr=$(lab_ip n2) -u hacluster -p '$PASS'" \
	</dev/null >"$LAB_W/auth.out" 2>&1 || fail "pcs host auth: $(cat "$LAB_W/auth.out")"
lab_ssh n1 'test -s /var/lib/pcsd/known-hosts' </dev/null || fail "pcs host auth saved no token: $(cat "$LAB_W/auth.out")"
T_AUTH=$(($(lab_ms) - T0))
T0=$(lab_ms)
lab_ssh n1 "pcs cluster setup sbclab$LAB_IDX n1 addr=$(lab_ip n1) n2 addr=$(lab_ip n2) totem token=$LAB_TOKEN" \
	</dev/null >"$LAB_W/setup-pcs.out" 2>&1 || fail "pcs cluster setup: $(cat "$LAB_W/setup-pcs.out")"
T_SETUP=$(($(lab_ms) - T0))
grep -q 'Cluster has been successfully set up' "$LAB_W/setup-pcs.out" ||
	fail "pcs cluster setup: $(cat "$LAB_W/setup-pcs.out")"
for n in $NODES; do
	lab_ssh "$n" "grep -q 'cluster_name: sbclab$LAB_IDX' /etc/corosync/corosync.conf && test -s /etc/corosync/authkey" \
		</dev/null || fail "pcs cluster setup did not deliver corosync.conf and the authkey to $n"
done
ok "pcsd started by ansible.builtin.service (use=service) in $(lab_secs 0 "$T_PCSD") s; pcs host auth $(lab_secs 0 "$T_AUTH") s, pcs cluster setup through pcsd $(lab_secs 0 "$T_SETUP") s (corosync.conf, authkey on both)"

T0=$(lab_ms)
lab_ansible_playbook "$LAB_W/cluster.yml" </dev/null >"$LAB_W/cluster.out" 2>&1 &&
	recap_ok "$LAB_W/cluster.out" 2 || fail "the cluster play: $(tail -20 "$LAB_W/cluster.out")"
T_PLAY=$(($(lab_ms) - T0))
for n in $NODES; do
	lab_wait_members "$n" 2 20 || fail "corosync in $n does not see 2 members"
done
T_MEMB=$(($(lab_ms) - T0))
online=""
for _ in $(seq 1 300); do
	online=$(lab_crm n1 crm_mon -1 2>/dev/null | grep 'Online:')
	grep -q 'Online: \[ n1 n2 \]' <<<"$online" && break
	sleep 0.2
done
grep -q 'Online: \[ n1 n2 \]' <<<"$online" ||
	fail "Pacemaker: n1 and n2 not both online 60 s after the play: $(lab_crm n1 crm_mon -1 2>&1 | tail -12)"
T_ONLINE=$(($(lab_ms) - T0))
for n in $NODES; do
	lab_ssh "$n" 'ls /etc/rc2.d/S[0-9][0-9]corosync /etc/rc2.d/S[0-9][0-9]pacemaker' </dev/null >/dev/null 2>&1 ||
		fail "corosync or pacemaker not enabled in $n (rc2.d)"
done
lab_ansible_playbook "$LAB_W/cluster.yml" </dev/null >"$LAB_W/cluster2.out" 2>&1 &&
	recap_ok "$LAB_W/cluster2.out" 0 || fail "the cluster play again: $(tail -20 "$LAB_W/cluster2.out")"
ok "corosync and pacemaker enabled and started by ansible.builtin.service (use=service): play $(lab_secs 0 "$T_PLAY") s, 2 members after $(lab_secs 0 "$T_MEMB") s, both online in Pacemaker after $(lab_secs 0 "$T_ONLINE") s; the play again: changed=0"

# 6. teardown leaves nothing
lab_down
LEFT=$(lab_leftovers)
[ -z "$LEFT" ] || fail "left behind: $LEFT"
[ -e "$MARK" ] && fail "$MARK on the machine after the teardown"
ok "teardown in $(lab_secs 0 "$LAB_DOWN_MS") s: no $LAB_P- namespace, none of its $(wc -w <<<"$LAB_SEEN") processes alive"
ok "timings: up $(lab_secs 0 "$LAB_UP_MS") s, ssh both $(lab_secs 0 "$T_SSH") s, dpkg -i $(lab_secs 0 "$T_DPKG") s, ansible ping $(lab_secs 0 "$T_PING") s, cluster play $(lab_secs 0 "$T_PLAY") s, online $(lab_secs 0 "$T_ONLINE") s, total $(lab_secs "$T_START" "$(lab_ms)") s"
