#!/bin/bash
# t_ansible.sh IDX: the Ansible role (ansible/roles/sbc, ansible/site.yml)
# applied for real (issue 15): the lab's nodes as bare Debian hosts
# (LAB_HOSTS=1: ssh, own root, no sbc installed), the project's .deb built
# from this build tree (CPack, as tests/deb does), an inventory for the lab
# (the service addresses are the lab's VIPs, the upstream the core's sipp
# UAS), and ansible-playbook run from cli:
#   - the first run deploys the pair from bare hosts: Pacemaker has one
#     sbcd Promoted with both VIPs, the access address answers an OPTIONS,
#     a call goes through (sipp in cli -> VIP -> sipp in core); its
#     duration is printed (and, with ansible.posix, the slowest tasks);
#     n1 is also in sbc_redis: the role's redis-server there, with a
#     password, and the active sbcd connected to it;
#   - the second run reports changed=0 on every host;
#   - with a call held, a peer is added in the inventory: the run reloads
#     sbcd (same PID on each node, the reload in its log), the new peer's
#     call goes through (sbcctl shows it under the new peer) while the
#     held call stays up to its normal end;
#   - a required variable removed from the inventory: the play stops
#     before touching a host, naming the variable; nothing changed;
#   - ansible-lint (production profile) passes on ansible/.
# No qnetd host here (the inventory has two_node): t_ansible_qnetd
# deploys the pair with one.
# Skips (77) without ansible, ansible-lint, ssh or the package tools.
LAB_HOSTS=1
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/pair.sh"
. "$(dirname "$0")/lab_ansible.sh"
lab_ansible_require ansible-playbook ansible-lint cpack dpkg-deb dpkg-shlibdeps file sipp
T_START=$(lab_ms)
NODES="n1 n2"
NEW_IP=192.0.2.101
# the lab's Redis password (a real site's comes from the vault)
REDIS_PASS=lab-$LAB_IDX-$$

# ansible-lint first: no lab needed
(cd "$SRC/ansible" && ansible-lint --nocolor --profile production) >"$LAB_W/lint.out" 2>&1 ||
	fail "ansible-lint --profile production: $(tail -20 "$LAB_W/lint.out")"
ok "ansible-lint $(ansible-lint --nocolor --version 2>/dev/null | awk 'NR == 1 { print $2 }') --profile production on ansible/: $(grep -o 'Passed.*' "$LAB_W/lint.out" | head -1)"

lab_deb_start

# OUT holds no task but the argument spec's and validate.yml's (by name)
validation_only() {
	local names
	names=$(sed -n 's/^- name: //p' "$SRC/ansible/roles/sbc/tasks/validate.yml")
	! grep '^TASK \[' "$1" | sed -E 's/^TASK \[(sbc : )?//; s/\] \**$//' |
		grep -v '^Validating arguments against arg spec' | grep -vxF -f <(echo "$names") | grep -q .
}
sbcd_pid() { on "$1" 'pidof sbcd'; }

lab_up $NODES
ok "lab of 2 bare hosts up in $(lab_secs 0 "$LAB_UP_MS") s"
lab_deb_wait

# The lab's inventory: n1, n2 in sbc_nodes; the peer "cli" is the
# caller's address only (the new peer's address is added to cli now and
# is nobody's peer until the inventory says so).
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
    sbc_redis:
      hosts:
        n1:
EOF
cat >"$LAB_W/inv/group_vars/sbc_redis.yml" <<EOF
sbc_redis_install: true
sbc_redis_bind: $(lab_ip n1)
sbc_redis_password: $REDIS_PASS
sbc_service_use: service
sbc_apt_update_cache: false
EOF
{ lab_sbc_node_vars; cat <<EOF; } >"$LAB_W/inv/group_vars/sbc_nodes.yml"
sbc_redis: $(lab_ip n1):6379
sbc_redis_password: $REDIS_PASS
sbc_options:
  dialog_max_duration: 600
sbc_peers:
  - name: cli
    addr: [$LAB_CLI_IP/32]
EOF
ip -n "$LAB_P-cli" addr add "$NEW_IP/24" dev eth0 || fail "address $NEW_IP on cli"

# 1. bare hosts -> a cluster
for n in $NODES; do
	on "$n" 'test ! -e /usr/sbin/sbcd && ! dpkg -s sbc >/dev/null 2>&1' || fail "$n is not bare"
done
# the first run's task times, where ansible.posix (Debian's ansible) is there
PROFILE=""
ansible-doc -t callback ansible.posix.profile_tasks >/dev/null 2>&1 && PROFILE=ansible.posix.profile_tasks
T0=$(lab_ms)
ANSIBLE_CALLBACKS_ENABLED=$PROFILE play "$LAB_W/play1.out" && recap_ok "$LAB_W/play1.out" ||
	fail "the first run: $(tail -30 "$LAB_W/play1.out")"
T_DEPLOY=$(($(lab_ms) - T0))
[ -z "$PROFILE" ] || lab_log "the first run's slowest tasks: $(grep -E -- ' -{3,} +[0-9.]+s$' "$LAB_W/play1.out" |
	head -6 | sed -E 's/ -{3,} +/ /' | paste -sd ';' -)"
P=$(lab_promoted n1) || fail "no node Promoted after the play: $(lab_crm n1 crm_mon -1 2>&1 | tail -15)"
lab_has_vips "$P" || fail "$P Promoted without the VIPs: $(lab_crm n1 crm_mon -1 2>&1 | tail -15)"
lab_pcmk_settled "$P" || fail "not every sbcd instance runs: $(lab_crm n1 crm_mon -1 2>&1 | tail -15)"
for n in $NODES; do
	on "$n" 'test -s /etc/corosync/authkey && test -s /var/lib/sbc/flow.key' ||
		fail "$n: no authkey or flow key"
done
[ "$(on n1 'md5sum </etc/corosync/authkey; md5sum </var/lib/sbc/flow.key')" = \
  "$(on n2 'md5sum </etc/corosync/authkey; md5sum </var/lib/sbc/flow.key')" ] ||
	fail "n1 and n2 have different keys"
KEYS=$(on n1 'md5sum </etc/corosync/authkey; md5sum </var/lib/sbc/flow.key')
ok "bare hosts to a cluster in $(lab_secs 0 "$T_DEPLOY") s (ansible-playbook, $(grep -c '^TASK' "$LAB_W/play1.out") tasks): $P Promoted with both VIPs, sbcd on both, one authkey and one flow key on both"

# Redis on n1 (group sbc_redis: a lab shortcut, a site has its own
# host), installed last by site.yml: sbcd started without it and connects
# once it is there
redis_up() { on "$P" "sbcctl -s /run/sbc/sbcd.sock stats" | grep -q '^redis_state up$'; }
wait_for 15 redis_up || fail "sbcd on $P is not connected to Redis: $(on "$P" 'sbcctl -s /run/sbc/sbcd.sock stats' | grep redis; on n1 "redis-cli -h $(lab_ip n1) -a '$REDIS_PASS' --no-auth-warning ping; redis-cli -h $(lab_ip n1) ping; ps -eo pid,args | grep -i [r]edis" 2>&1)"
on n1 "grep -q '^requirepass ' /etc/redis/sbc.conf && grep -qx 'include /etc/redis/sbc.conf' /etc/redis/redis.conf" ||
	fail "redis-server on n1 not configured by the role"
ok "redis-server on n1 (sbc_redis_install), password set; sbcd on $P: redis_state up"

# the access address answers an OPTIONS from the peer cli
OPT=$(lab_cli timeout 10 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("'"$LAB_CLI_IP"'", 0)); s.settimeout(3)
vip = "'"$LAB_VIP_ACCESS"'"
port = s.getsockname()[1]
m = ("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bKo1\r\n"
     "From: <sip:t@%s>;tag=o1\r\nTo: <sip:%s>\r\nCall-ID: o1@t\r\n"
     "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
     % (vip, "'"$LAB_CLI_IP"'", port, "'"$LAB_CLI_IP"'", vip))
for _ in range(3):
    s.sendto(m.encode(), (vip, 5060))
    try:
        d, a = s.recvfrom(4096)
        print(d.decode().split("\r\n")[0], a[0]); sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)') || fail "no answer to OPTIONS from $LAB_VIP_ACCESS"
grep -q "^SIP/2.0 200 .* $LAB_VIP_ACCESS\$" <<<"$OPT" || fail "OPTIONS: $OPT"
ok "the access address answers OPTIONS: $OPT"

# a call: sipp in cli -> access VIP -> sipp in core
pair_sipp_args
# the held call (3.) must outlast the run that adds a peer and the new
# peer's call: 39 s and more on a loaded CI machine (45 s was too short)
HOLD=90000
pair_uas 3 "$HOLD"
pair_uac call1 "$ISCEN/uac.xml" "$LAB_CLI_IP" 5070 5551000 1 1 -d 1000
reap "$LAB_BG_PID" 20 || fail "the first call failed: $(cat "$LAB_W"/call1.err 2>/dev/null | head -5; tail -5 "$LAB_W/call1.out")"
ok "a call from cli through $LAB_VIP_ACCESS ($P) to the core's UAS and back"

# 2. the same run again: nothing changes
T0=$(lab_ms)
play "$LAB_W/play2.out" && recap_ok "$LAB_W/play2.out" 0 ||
	fail "the second run is not changed=0: $(grep -B3 '^changed:' "$LAB_W/play2.out" | head -30; tail -6 "$LAB_W/play2.out")"
T_RERUN=$(($(lab_ms) - T0))
ok "the playbook again: changed=0 on n1 and n2 ($(lab_secs 0 "$T_RERUN") s): $(recap "$LAB_W/play2.out" n1 | awk '{ print $1, $2 }')"

# 3. a held call, then a peer added in the inventory
PIDS0="$(sbcd_pid n1) $(sbcd_pid n2)"
RELOADS0=$(on "$P" 'grep -c "reload: configuration" /var/log/sbc/sbcd.log' || true)
pair_uac held "$SCEN/uac_wait_bye.xml" "$LAB_CLI_IP" 5072 5552000 1 1
HELD=$LAB_BG_PID
held_up() { on "$P" "sbcctl -s /run/sbc/sbcd.sock calls" | grep -q ' peer cli .* state confirmed '; }
wait_for 10 held_up || fail "the held call is not up: $(on "$P" 'sbcctl -s /run/sbc/sbcd.sock calls')"
cat >>"$LAB_W/inv/group_vars/sbc_nodes.yml" <<EOF
  - name: newpeer
    addr: [$NEW_IP/32]
EOF
T0=$(lab_ms)
play "$LAB_W/play3.out" && recap_ok "$LAB_W/play3.out" || fail "the run with the new peer: $(tail -30 "$LAB_W/play3.out")"
T_PEER=$(($(lab_ms) - T0))
grep -q 'RUNNING HANDLER \[sbc : Reload sbcd (sbcctl reload)\]' "$LAB_W/play3.out" ||
	fail "no reload handler ran: $(tail -30 "$LAB_W/play3.out")"
PIDS1="$(sbcd_pid n1) $(sbcd_pid n2)"
[ "$PIDS0" = "$PIDS1" ] || fail "sbcd was restarted: PIDs $PIDS0 before, $PIDS1 after"
RELOADS1=$(on "$P" 'grep -c "reload: configuration" /var/log/sbc/sbcd.log' || true)
[ "${RELOADS1:-0}" -gt "${RELOADS0:-0}" ] || fail "no reload in $P's sbcd.log ($RELOADS0 -> $RELOADS1)"
for n in $NODES; do
	on "$n" "grep -q '^\[peer newpeer\]' /etc/sbc/sbc.conf" || fail "$n: no [peer newpeer] in sbc.conf"
done
ok "peer newpeer added in the inventory: the run ($(lab_secs 0 "$T_PEER") s) reloaded sbcd (same PIDs: $PIDS1; $P's log: $RELOADS0 -> $RELOADS1 'reload: configuration in force' lines)"

# the new peer's call, the held one still up
pair_uac call2 "$ISCEN/uac.xml" "$NEW_IP" 5074 5553000 1 1 -d 3000
C2=$LAB_BG_PID
new_up() { on "$P" "sbcctl -s /run/sbc/sbcd.sock calls" | grep -q ' peer newpeer '; }
wait_for 10 new_up || fail "no call of newpeer in sbcctl calls: $(on "$P" 'sbcctl -s /run/sbc/sbcd.sock calls')"
CALLS_NOW=$(on "$P" 'sbcctl -s /run/sbc/sbcd.sock calls')
held_up || fail "the held call is gone: $CALLS_NOW"
reap "$C2" 20 || fail "the new peer's call failed: $(cat "$LAB_W"/call2.err 2>/dev/null | head -5; tail -5 "$LAB_W/call2.out")"
grep -q 'state confirmed' <<<"$CALLS_NOW" || fail "$CALLS_NOW"
held_up || fail "the held call ended with the new peer's"
ok "the new peer's call from $NEW_IP went through (sbcctl calls on $P: $(grep -c ' peer newpeer ' <<<"$CALLS_NOW") call of newpeer, $(grep -c ' peer cli ' <<<"$CALLS_NOW") of cli, both confirmed)"

# 4. bad input: a required variable missing, the hosts untouched
CONF0=$(on n1 'md5sum </etc/sbc/sbc.conf')
cp -r "$LAB_W/inv" "$LAB_W/inv-bad"
sed -i '/^sbc_upstream:/d' "$LAB_W/inv-bad/group_vars/sbc_nodes.yml"
rc=0
lab_ansible_playbook -i "$LAB_W/inv-bad" "$SRC/ansible/site.yml" </dev/null >"$LAB_W/bad.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "the play without sbc_upstream succeeded"
grep -q 'sbc_upstream' "$LAB_W/bad.out" || fail "the failure does not name sbc_upstream: $(tail -20 "$LAB_W/bad.out")"
validation_only "$LAB_W/bad.out" || fail "a task past the validation ran: $(grep '^TASK' "$LAB_W/bad.out")"
grep -Eq '^(ok|changed): \[n[12]' "$LAB_W/bad.out" && fail "a task ran on a host: $(grep -E '^(ok|changed): ' "$LAB_W/bad.out" | head)"
[ "$(on n1 'md5sum </etc/sbc/sbc.conf')" = "$CONF0" ] || fail "sbc.conf changed by the failed play"
[ "$(sbcd_pid n1) $(sbcd_pid n2)" = "$PIDS1" ] || fail "sbcd restarted by the failed play"
ok "without sbc_upstream: rc $rc before any task on a host: $(grep -o 'missing required arguments: [a-z_, ]*\|the variable sbc_upstream is required[^"]*' "$LAB_W/bad.out" | head -1)"

# an empty required variable (the role's assert, on the controller), an
# invalid choice (the argument spec): the same, each naming its variable
bad_run() { # NAME SED-EXPR WANT: the play fails naming WANT, no task on a host
	rm -rf "$LAB_W/inv-$1" && cp -r "$LAB_W/inv" "$LAB_W/inv-$1"
	sed -i "$2" "$LAB_W/inv-$1/group_vars/sbc_nodes.yml"
	rc=0
	lab_ansible_playbook -i "$LAB_W/inv-$1" "$SRC/ansible/site.yml" </dev/null >"$LAB_W/$1.out" 2>&1 || rc=$?
	[ "$rc" != 0 ] || fail "$1: the play succeeded"
	grep -q "$3" "$LAB_W/$1.out" || fail "$1: the failure does not name $3: $(tail -20 "$LAB_W/$1.out")"
	# only the argument spec (on the controller, shown per host) and the
	# asserts of validate.yml (delegated to localhost) ran
	validation_only "$LAB_W/$1.out" || fail "$1: a task past the validation ran: $(grep '^TASK' "$LAB_W/$1.out")"
	return 0
}
bad_run empty "s/^sbc_access_addr: .*/sbc_access_addr: ''/" 'the variable sbc_access_addr is required'
MSG_EMPTY=$(grep -o 'the variable sbc_access_addr is required[^"]*' "$LAB_W/empty.out" | head -1)
bad_run choice '$a sbc_log_level: loud' 'sbc_log_level'
MSG_CHOICE=$(grep -o 'value of sbc_log_level must be one of[^"]*' "$LAB_W/choice.out" | head -1)
# a value only sbcd can judge: refused by validate (sbcd -t) on the
# generated file, before it replaces sbc.conf; sbcd runs on, unreloaded
rm -rf "$LAB_W/inv-sbcdt" && cp -r "$LAB_W/inv" "$LAB_W/inv-sbcdt"
sed -i 's/^  dialog_max_duration: 600/  dialog_max_duration: 600\n  media_port_min: banana/' "$LAB_W/inv-sbcdt/group_vars/sbc_nodes.yml"
rc=0
lab_ansible_playbook -i "$LAB_W/inv-sbcdt" "$SRC/ansible/site.yml" </dev/null >"$LAB_W/sbcdt.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "the play with media_port_min = banana succeeded"
grep -q 'failed to validate' "$LAB_W/sbcdt.out" && grep -q 'media_port_min' "$LAB_W/sbcdt.out" ||
	fail "no validate failure naming media_port_min: $(grep -A5 'fatal:' "$LAB_W/sbcdt.out" | head -20)"
grep -q 'RUNNING HANDLER' "$LAB_W/sbcdt.out" && fail "a handler ran after the failed validate"
[ "$(on n1 'md5sum </etc/sbc/sbc.conf')" = "$CONF0" ] || fail "sbc.conf changed by the refused file"
[ "$(sbcd_pid n1) $(sbcd_pid n2)" = "$PIDS1" ] || fail "sbcd restarted by the failed play"
ok "sbc_access_addr empty: $MSG_EMPTY; sbc_log_level loud: $MSG_CHOICE; media_port_min banana: refused by sbcd -t ($(grep -o '[^ "]*media_port_min[^"\\]*' "$LAB_W/sbcdt.out" | head -1)), sbc.conf and sbcd untouched"

# the held call ends normally (the callee's BYE, HOLD ms after its ACK)
pair_calls_done 120 "$HELD" "$UAS"
[ "$(on "$P" 'sbcctl -s /run/sbc/sbcd.sock calls' | awk '$1 == "dialogs" { print $2 }')" = 0 ] ||
	fail "calls left on $P: $(on "$P" 'sbcctl -s /run/sbc/sbcd.sock calls')"
[ "$(on n1 'md5sum </etc/corosync/authkey; md5sum </var/lib/sbc/flow.key')" = "$KEYS" ] ||
	fail "the keys changed across the runs"
ok "the call held across the reload ended with the callee's BYE, answered; the keys never changed"

lab_down
LEFT=$(lab_leftovers)
[ -z "$LEFT" ] || fail "left behind: $LEFT"
ok "timings: deployment from bare hosts $(lab_secs 0 "$T_DEPLOY") s, second run $(lab_secs 0 "$T_RERUN") s, peer change $(lab_secs 0 "$T_PEER") s, total $(lab_secs "$T_START" "$(lab_ms)") s"
