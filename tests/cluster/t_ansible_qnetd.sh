#!/bin/bash
# t_ansible_qnetd.sh IDX: the Ansible roles with a qnetd host (issue 15):
# the lab's two nodes and a third bare host qn (LAB_HOSTS=1 with
# LAB_QNETD=1: ssh, own root, nothing of qnetd started or made there), an
# inventory with qn in group sbc_qnetd, ansible-playbook from cli:
#   - the first run: the qnetd role installs and starts corosync-qnetd on
#     qn (its NSS database made once), the sbc role makes the qdevice
#     certificates (the README's certutil steps through the controller)
#     and starts corosync-qdevice on both nodes; after it each node's
#     corosync-quorumtool -s shows 3 expected votes and a Qdevice row,
#     corosync-qdevice-tool -sv "State: Connected", and qnetd lists both
#     nodes;
#   - the second run reports changed=0 on n1, n2 and qn;
#   - a required variable removed: the play stops before any task on a
#     host, qn included.
# The rest of the role (calls, a peer change, bad input) is t_ansible's.
# Skips (77) without ansible, ssh, qnetd or the package tools.
LAB_HOSTS=1
LAB_QNETD=1
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/pair.sh"
HOSTS="n1 n2 qn"
ANSIBLE_HOSTS=$HOSTS
. "$(dirname "$0")/lab_ansible.sh"
lab_ansible_require ansible-playbook cpack dpkg-deb dpkg-shlibdeps file
[ -x /etc/init.d/corosync-qnetd ] || lab_skip "no /etc/init.d/corosync-qnetd (corosync-qnetd; make test-deps)"
T_START=$(lab_ms)
lab_deb_start

lab_up n1 n2
ok "lab of 3 bare hosts (n1 n2 qn) up in $(lab_secs 0 "$LAB_UP_MS") s"
lab_deb_wait
for n in $HOSTS; do
	on "$n" 'test ! -e /usr/sbin/sbcd && ! pidof corosync-qnetd corosync-qdevice corosync >/dev/null && test ! -e /etc/corosync/qdevice/net/nssdb' ||
		fail "$n is not bare"
done

mkdir -p "$LAB_W/inv/group_vars" || fail "mkdir inv"
cat >"$LAB_W/inv/hosts.yml" <<EOF
all:
  vars:
    ansible_user: root
  children:
    sbc_nodes:
      hosts:
        n1:
          ansible_host: $(lab_ip n1)
        n2:
          ansible_host: $(lab_ip n2)
    sbc_qnetd:
      hosts:
        qn:
          ansible_host: $(lab_ip qn)
EOF
cat >"$LAB_W/inv/group_vars/sbc_qnetd.yml" <<EOF
qnetd_apt_update_cache: false
qnetd_service_use: service
EOF
{ lab_sbc_node_vars; cat <<EOF; } >"$LAB_W/inv/group_vars/sbc_nodes.yml"
sbc_peers:
  - name: cli
    addr: [$LAB_CLI_IP/32]
EOF

# 1. bare hosts -> a pair with its quorum device
T0=$(lab_ms)
play "$LAB_W/play1.out" && recap_ok "$LAB_W/play1.out" ||
	fail "the first run: $(tail -30 "$LAB_W/play1.out")"
T_DEPLOY=$(($(lab_ms) - T0))
on qn 'pidof corosync-qnetd >/dev/null' || fail "no corosync-qnetd on qn"
connected() { on "$1" 'corosync-qdevice-tool -sv' 2>/dev/null | grep -q '^State:[[:space:]]*Connected'; }
for n in n1 n2; do
	wait_for 20 connected "$n" ||
		fail "$n: qdevice not connected: $(on "$n" 'corosync-qdevice-tool -sv; corosync-quorumtool -s' 2>&1 | tail -20)"
done
for n in n1 n2; do
	Q=$(on "$n" 'corosync-quorumtool -s' 2>&1)
	grep -Eq '^Expected votes:[[:space:]]+3$' <<<"$Q" && grep -Eq '^Total votes:[[:space:]]+3$' <<<"$Q" &&
		grep -q 'Qdevice' <<<"$Q" && grep -Eq '^Quorate:[[:space:]]+Yes' <<<"$Q" ||
		fail "$n: corosync-quorumtool -s: $Q"
	on "$n" 'corosync-qdevice-tool -sv' | grep -Eq '^TLS active:[[:space:]]*Yes' ||
		fail "$n: qdevice without TLS: $(on "$n" 'corosync-qdevice-tool -sv')"
done
QN=$(on qn 'corosync-qnetd-tool -lv' 2>&1)
[ "$(grep -c 'TLS active:[[:space:]]*Yes (client certificate verified)' <<<"$QN")" = 2 ] ||
	fail "qnetd does not list both nodes with a verified certificate: $QN"
P=$(lab_promoted n1) || fail "no node Promoted after the play: $(lab_crm n1 crm_mon -1 2>&1 | tail -15)"
ok "bare hosts to a pair with qnetd in $(lab_secs 0 "$T_DEPLOY") s ($(grep -c '^TASK' "$LAB_W/play1.out") tasks): on both nodes 3 expected votes, a Qdevice row, qdevice Connected with TLS; qnetd lists both (certificate verified); $P Promoted"

# 2. the same run again: nothing changes
T0=$(lab_ms)
play "$LAB_W/play2.out" && recap_ok "$LAB_W/play2.out" 0 ||
	fail "the second run is not changed=0: $(grep -B3 '^changed:' "$LAB_W/play2.out" | head -30; tail -6 "$LAB_W/play2.out")"
T_RERUN=$(($(lab_ms) - T0))
for n in n1 n2; do connected "$n" || fail "$n: qdevice not connected after the second run"; done
ok "the playbook again: changed=0 on n1, n2 and qn ($(lab_secs 0 "$T_RERUN") s)"

# 3. a required variable missing: the play stops before any task on a
# host, the qnetd host's included (site.yml validates first)
cp -r "$LAB_W/inv" "$LAB_W/inv-bad"
sed -i '/^sbc_upstream:/d' "$LAB_W/inv-bad/group_vars/sbc_nodes.yml"
rc=0
lab_ansible_playbook -i "$LAB_W/inv-bad" "$SRC/ansible/site.yml" </dev/null >"$LAB_W/bad.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "the play without sbc_upstream succeeded"
grep -q 'missing required arguments: sbc_upstream' "$LAB_W/bad.out" ||
	fail "the failure does not name sbc_upstream: $(tail -20 "$LAB_W/bad.out")"
grep -Eq '^(ok|changed): \[(n[12]|qn)\]' "$LAB_W/bad.out" &&
	fail "a task ran on a host: $(grep -E '^(ok|changed): ' "$LAB_W/bad.out" | head)"
grep -q "^PLAY \[The quorum device" "$LAB_W/bad.out" && fail "the qnetd play ran: $(grep '^PLAY\|^TASK' "$LAB_W/bad.out")"
ok "without sbc_upstream: rc $rc, stopped by site.yml's validation before any task on n1, n2 or qn"

lab_down
LEFT=$(lab_leftovers)
[ -z "$LEFT" ] || fail "left behind: $LEFT"
ok "timings: deployment with qnetd $(lab_secs 0 "$T_DEPLOY") s, second run $(lab_secs 0 "$T_RERUN") s, total $(lab_secs "$T_START" "$(lab_ms)") s"
