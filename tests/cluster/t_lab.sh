#!/bin/bash
# t_lab.sh IDX: the cluster lab (lab.sh) itself.  Two corosync nodes see
# each other; sbcd standalone on n1 carries a call from cli to core on the
# VIPs; n1 crashes, n2's corosync sees it within 3*token+5 s, the VIPs move
# to n2, a second sbcd there carries another call; n1 is revived and
# rejoins; lab_kill_proc kills one process of a live node; the teardown
# leaves no namespace and no process behind.  No cluster code of sbcd is
# used.
. "$(dirname "$0")/lab.sh"
: "${SBCD:?SBCD must point to the sbcd binary}"
command -v sipp >/dev/null || lab_skip "sipp not installed (make deps)"
SCEN=$LAB_HERE/../integration/scenarios
T_START=$(lab_ms)

# The MAC of a node's eth0, and the one MEMBER has cached for IP.
mac_of() { ip -n "$LAB_P-$1" -br link show dev eth0 | awk '{print $3}'; }
neigh_of() { ip -n "$LAB_P-$1" neigh show "$2" dev eth0 | awk '{print $3}'; }

# corosync in NODE: N members, quorate, and its knet link to each of
# the PEERS connected.  check_corosync NODE N [PEER...]
check_corosync() {
	local n=$1 want=$2 q c o
	shift 2
	[ "$(lab_members "$n")" = "$want" ] || fail "$n: corosync sees $(lab_members "$n") members, not $want"
	q=$(lab_x "$n" timeout -k 1 5 corosync-quorumtool -s 2>&1)
	grep -q '^Quorate: *Yes' <<<"$q" || fail "$n not quorate: $q"
	c=$(lab_x "$n" timeout -k 1 5 corosync-cfgtool -s 2>&1)
	for o in "$@"; do
		grep -Eq "nodeid: +${o#n}:[[:space:]]+connected" <<<"$c" ||
			fail "$n: knet link to $o not connected: $c"
	done
}

# One call from cli (sipp UAC, 192.0.2.100) to the access VIP, through
# sbcd to the UAS in core; sipp bounded by -timeout and timeout(1).
call() {
	local name=$1
	lab_cli timeout -k 1 30 sipp -sf "$SCEN/uac.xml" -i "$LAB_CLI_IP" -p 5070 \
		"$LAB_VIP_ACCESS:5060" -s 5551234 -m 1 -d 100 -timeout 10 -timeout_error \
		-nostdin -trace_msg -message_file "$LAB_W/$name.msg" \
		-trace_err -error_file "$LAB_W/$name.err" >"$LAB_W/$name.out" 2>&1
}

invites() { grep -c '^INVITE sip:5551234@' "$LAB_W/uas.msg" 2>/dev/null; }

# 1. two nodes, both corosync instances see both
lab_up n1 n2
check_corosync n1 2 n2
check_corosync n2 2 n1
ok "corosync in n1 and n2: 2 members, quorate, links connected (up in $(lab_secs 0 "$LAB_UP_MS") s)"

# 2. sbcd on n1 with the VIPs carries a call
lab_bg core "$LAB_W/uas.out" sipp -sf "$SCEN/uas.xml" -i "$LAB_CORE_IP" -p 5080 \
	-nostdin -trace_msg -message_file "$LAB_W/uas.msg" -trace_err -error_file "$LAB_W/uas.err"
UAS=$LAB_BG_PID
for _ in $(seq 1 50); do
	lab_core ss -lun | grep -q " $LAB_CORE_IP:5080 " && break
	sleep 0.1
done
lab_core ss -lun | grep -q " $LAB_CORE_IP:5080 " || fail "UAS not listening in core"

lab_addr_add n1 "$LAB_VIP_ACCESS"
lab_addr_add n1 "$LAB_VIP_CORE"
lab_sbcd n1
SBC1=$LAB_BG_PID
lab_x n1 ss -lun | grep -q " $LAB_VIP_ACCESS:5060 " || fail "sbcd on n1 not bound to the access VIP"
call call1 || fail "call through n1 failed: $(tail -5 "$LAB_W/call1.out")"
[ "$(invites)" = 1 ] || fail "UAS saw $(invites) INVITEs, not 1"
grep -q "^Via: SIP/2.0/UDP $LAB_VIP_CORE:5060;branch=" "$LAB_W/uas.msg" ||
	fail "the INVITE did not come from sbcd's core VIP"
[ "$(neigh_of cli "$LAB_VIP_ACCESS")" = "$(mac_of n1)" ] || fail "cli does not reach the access VIP at n1's MAC"
ok "call cli -> access VIP (sbcd on n1) -> core VIP -> UAS in core"

# 3. crash n1: n2 sees it, takes the VIPs, a new sbcd there carries a call
LIMIT=$((3 * LAB_TOKEN / 1000 + 5))
T_CRASH=$(lab_ms)
lab_crash n1
lab_wait_members n2 1 "$LIMIT" || fail "n2 did not see n1 leave within $LIMIT s"
T_DETECT=$(($(lab_ms) - T_CRASH))
check_corosync n2 1
kill -0 "$SBC1" 2>/dev/null && fail "sbcd on n1 survived the crash"
ip -n "$LAB_P-n1" addr show dev eth0 | grep -q inet && fail "crashed n1 still has addresses"
ok "n1 crashed; n2's corosync sees 1 member (quorate, two_node) after $(lab_secs 0 "$T_DETECT") s (limit $LIMIT s)"

T_MOVE=$(lab_ms)
lab_addr_move "$LAB_VIP_ACCESS" n1 n2
lab_addr_move "$LAB_VIP_CORE" n1 n2
lab_sbcd n2
SBC2=$LAB_BG_PID
call call2 || fail "call through n2 failed: $(tail -5 "$LAB_W/call2.out")"
T_CALL2=$(($(lab_ms) - T_MOVE))
[ "$(invites)" = 2 ] || fail "UAS saw $(invites) INVITEs, not 2"
# the gratuitous ARPs, not a timeout of the stale entries, moved the VIPs
[ "$(neigh_of cli "$LAB_VIP_ACCESS")" = "$(mac_of n2)" ] || fail "cli still sends the access VIP to $(neigh_of cli "$LAB_VIP_ACCESS")"
[ "$(neigh_of core "$LAB_VIP_CORE")" = "$(mac_of n2)" ] || fail "core still sends the core VIP to $(neigh_of core "$LAB_VIP_CORE")"
ok "VIPs moved to n2, sbcd started there, call completed $(lab_secs 0 "$T_CALL2") s after the move"

# n1 comes back and joins n2; a process of a live node is killed alone
T_REVIVE=$(lab_ms)
lab_revive n1
lab_wait_members n1 2 10 && lab_wait_members n2 2 10 || fail "revived n1 did not rejoin within 10 s"
T_REJOIN=$(($(lab_ms) - T_REVIVE))
check_corosync n1 2 n2
check_corosync n2 2 n1
lab_bg n1 "$LAB_W/n1/sleep.log" sleep 60
VICTIM=$LAB_BG_PID
lab_kill_proc n1 "$VICTIM"
kill -0 "$VICTIM" 2>/dev/null && fail "lab_kill_proc left $VICTIM alive"
[ "$(lab_members n2)" = 2 ] || fail "killing one process of n1 cost a member"
ok "n1 revived and rejoined in $(lab_secs 0 "$T_REJOIN") s; lab_kill_proc killed one process of n1 only"

lab_stop "$SBC2" || fail "sbcd on n2 did not exit cleanly"
# (the ASan build's reports land in the logs; n1's sbcd died by SIGKILL)
grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' "$LAB_W"/n?/sbcd.log &&
	fail "sanitizer report in an sbcd log"
lab_stop "$UAS"

# 4. teardown leaves nothing
lab_down
LEFT=$(lab_leftovers)
[ -z "$LEFT" ] || fail "left behind: $LEFT"
ok "teardown in $(lab_secs 0 "$LAB_DOWN_MS") s: no $LAB_P- namespace, none of its $(wc -w <<<"$LAB_SEEN") processes alive"
ok "timings: up $(lab_secs 0 "$LAB_UP_MS") s, crash detected $(lab_secs 0 "$T_DETECT") s, failover call $(lab_secs 0 "$T_CALL2") s, rejoin $(lab_secs 0 "$T_REJOIN") s, down $(lab_secs 0 "$LAB_DOWN_MS") s, total $(lab_secs "$T_START" "$(lab_ms)") s"
