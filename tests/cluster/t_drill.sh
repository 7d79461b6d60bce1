#!/bin/bash
# t_drill: sbc-drill (drill/sbc-drill), the failover drill operators run,
# end to end in the lab without Pacemaker:
#   0. sbc-drill runs from an install layout (bin/sbc-drill, its tools in
#      share/sbc/drill), not from the source tree;
#   1. bad input is refused before anything runs: an unknown drill,
#      node-crash without --fault-cmd, partition with two nodes,
#      resource-failure without --vip, a callee that is no IP:PORT, a
#      tools directory without the tools: exit 2 and a message naming the
#      problem;
#   2. two nodes, sbcd on both (n1 active, n2 a synced standby), TLS on
#      the access side;
#   3. sbc-drill node-crash, run in cli as an operator's host would: 10
#      UDP, 5 TCP and 5 TLS calls held with RTP, new calls all drill
#      long, the callee in core (--callee-exec lab_ctl.sh x core), sbcctl
#      on the nodes through lab_ctl.sh x; the fault command is
#      drill_hook.sh, which plays Pacemaker's part here (moves the
#      addresses, promotes n2, restarts sbcd on the revived n1);
#      its JSON report: every confirmed call survived (re-INVITE or BYE
#      answered after the fault) on each transport, RTP came back on every
#      call, no BYE twice, no new call failed before the fault or after
#      the service was back; detection, new active and service times
#      present, in the order a failover has them, and within the lab's
#      bound (3*token + 5 s, cluster-lab.md); n2 active, the cluster whole
#      again (n1 a synced standby);
#   4. sbc-drill standby-crash: n1 (now the standby) crashes; the active n2
#      notices, keeps every call and its media (no gap near a failover's),
#      n1 comes back as a synced standby;
#   5. nothing is left: no call on either node, the callee's work
#      directory removed.
# The figures (detection, service, RTP gaps, goals) go to the test log.
# Label cluster.  Arg 1: the lab index (tests/cluster/CMakeLists.txt).
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
pair_sipua
# sbc-drill as installed (bin/, its tools in share/sbc/drill, the layout
# of CMakeLists.txt's install rules), away from the source tree: it must
# find its tools there, for itself and for the callee
mkdir -p "$LAB_W/inst/bin" "$LAB_W/inst/share/sbc/drill"
install -m 0755 "$DRILL/sbc-drill" "$LAB_W/inst/bin/" &&
	install -m 0755 "$DRILL/sipua.py" "$DRILL/rtp_pump.py" "$LAB_W/inst/share/sbc/drill/" ||
	fail "cannot copy sbc-drill"
DRILLCMD=$LAB_W/inst/bin/sbc-drill
CTL="bash $HERE/lab_ctl.sh $LAB_IDX $LAB_W"
BOUND_MS=$((3 * LAB_TOKEN + 5000))     # the lab's failover bound

# sbc-drill with the lab's wiring; more options and the drill after it.
# Runs in cli (the callers' host); bounded by its --timeout and timeout(1).
drill() {
	lab_x cli timeout -k 5 300 "$PY" "$DRILLCMD" --nodes n1,n2 \
		--node-exec "$CTL x {node}" --sbcctl "$SBCCTL -s $LAB_W/{node}/sbcd.sock" \
		--access "$LAB_VIP_ACCESS" --local-ip "$LAB_CLI_IP" \
		--callee "$LAB_CORE_IP:5080" --callee-exec "$CTL x core" \
		--callee-tmp "$LAB_W/callee" --ca "$LAB_W/ca.crt" --tls-name sbc.test \
		--udp 10 --tcp 5 --tls 5 --new-rate 2 \
		--fault-cmd "bash $HERE/drill_hook.sh $LAB_IDX $LAB_W" --timeout 240 "$@"
}

# Checks on a JSON report: python3 CODE with the report as r; CODE
# prints what is wrong (nothing: all right).
report_check() { # FILE CODE
	"$PY" -c "import json, sys
r = json.load(open(sys.argv[1]))
bad = []
def want(cond, what):
    if not cond: bad.append(what)
$2
print('; '.join(bad))" "$1"
}

# ---- 1. bad input ----
refused() { # MESSAGE ARG...: exit 2 and MESSAGE on stderr
	local msg=$1 rc=0
	shift
	timeout 30 "$PY" "$DRILLCMD" "$@" >"$LAB_W/bad.out" 2>"$LAB_W/bad.err" || rc=$?
	[ "$rc" = 2 ] || fail "sbc-drill $* exited $rc, not 2: $(cat "$LAB_W/bad.err")"
	grep -q -- "$msg" "$LAB_W/bad.err" || fail "sbc-drill $*: no '$msg' in: $(cat "$LAB_W/bad.err")"
}
base=(--nodes n1,n2 --access 192.0.2.50 --local-ip 127.0.0.1 --callee 192.0.2.200:5080)
refused "invalid choice: 'shutdown'" shutdown "${base[@]}"
refused "node-crash needs --fault-cmd" node-crash "${base[@]}"
refused "partition needs 3 nodes" partition "${base[@]}" --fault-cmd true
refused "resource-failure needs --vip" resource-failure "${base[@]}"
refused "expected IP:PORT" switchover --nodes n1,n2 --access 192.0.2.50 --callee core
refused "sipua.py and rtp_pump.py not in /nonexistent" switchover "${base[@]}" --tools /nonexistent
ok "bad input refused with exit 2 and its reason"

# ---- 2. the pair ----
lab_up n1 n2
pair_init
pair_up "flood_requests = 0" "access_tls_port = 5061" \
	"access_tls_cert = $LAB_W/sbc.crt" "access_tls_key = $LAB_W/sbc.key"
mkdir -p "$LAB_W/callee"
ok "n1 active, n2 a synced standby"

# ---- 3. node-crash ----
drill node-crash --json "$LAB_W/crash.json" --workdir "$LAB_W/crash" \
	>"$LAB_W/crash.txt" 2>"$LAB_W/crash.log" ||
	fail "sbc-drill node-crash exited $?: $(tail -5 "$LAB_W/crash.log")"
cat "$LAB_W/crash.txt"
grep -q '^calls survived  *20 (lost 0)$' "$LAB_W/crash.txt" || fail "no such table row: calls survived 20"
bad=$(report_check "$LAB_W/crash.json" "
c, t = r['calls'], r['calls']['per_transport']
want(r['drill'] == 'node-crash' and r['fault_node'] == 'n1', 'fault %s on %s' % (r['drill'], r['fault_node']))
want(r['active_before'] == 'n1' and r['active_after'] == 'n2', 'active %s -> %s' % (r['active_before'], r['active_after']))
want(c['confirmed_before'] == 20 and c['survived'] == 20 and c['lost'] == 0, 'calls %s' % c)
want({k: (v['confirmed_before'], v['survived']) for k, v in t.items()} == {'udp': (10, 10), 'tcp': (5, 5), 'tls': (5, 5)}, 'per transport %s' % t)
want(r['duplicate_byes'] == 0, 'duplicate BYEs %s' % r['duplicate_bye_calls'])
p = r['rtp']
want(p['calls'] == 20 and p['not_resumed'] == 0, 'RTP %s' % p)
n = r['new_calls']
want(n['attempted'] >= 10 and n['failed_before'] == 0 and n['failed_after'] == 0, 'new calls %s' % n)
d, a, s, g = r['detect_ms'], r['new_active_ms'], r['service_ms'], r['service_gap_ms']
want(None not in (d, a, s, g, p['gap_max_ms'], p['gap_p99_ms'], r['restore_ms']), 'missing figures %s' % r)
if not bad:
    # a crash is noticed after the token timeout at the earliest; the
    # hook promotes n2 only once it noticed (one poll of slack each way)
    want($LAB_TOKEN <= d <= $BOUND_MS, 'detect_ms %d' % d)
    want(d <= a <= $BOUND_MS and d - 300 <= s <= $BOUND_MS, 'new active %d, service %d, detected %d' % (a, s, d))
    want(g + 100 >= s, 'longest probe gap %d shorter than the outage %d' % (g, s))
    want(d - 300 <= p['gap_max_ms'] <= $BOUND_MS + 1000 and p['gap_p99_ms'] <= p['gap_max_ms'], 'RTP gaps %s' % p)
names = [x['name'] for x in r['goals']]
want(names == ['calls_lost', 'rtp_gap_ms', 'node_crash_recovery_ms', 'duplicate_byes'], 'goals %s' % names)
want(all(x['ok'] for x in r['goals'] if x['name'] in ('calls_lost', 'duplicate_byes')), 'goals %s' % r['goals'])
")
[ -z "$bad" ] || fail "node-crash report: $bad"
[ "$(field n2 role)" = active ] && is_synced n1 || fail "not whole after the drill: n1 $(field n1 role), n2 $(field n2 role)"
ok "node-crash: 20 calls survived, RTP back on all, no BYE twice; figures: $(report_check "$LAB_W/crash.json" "print('detect %s ms, new active %s ms, service %s ms, RTP gap max %s p99 %s ms' % (r['detect_ms'], r['new_active_ms'], r['service_ms'], r['rtp']['gap_max_ms'], r['rtp']['gap_p99_ms']))")"

# ---- 4. standby-crash ----
drill standby-crash --json "$LAB_W/standby.json" --workdir "$LAB_W/standby" \
	>"$LAB_W/standby.txt" 2>"$LAB_W/standby.log" ||
	fail "sbc-drill standby-crash exited $?: $(tail -5 "$LAB_W/standby.log")"
cat "$LAB_W/standby.txt"
bad=$(report_check "$LAB_W/standby.json" "
c, p = r['calls'], r['rtp']
want(r['fault_node'] == 'n1' and r['active_before'] == 'n2' and r['active_after'] == 'n2', 'fault on %s, active %s -> %s' % (r['fault_node'], r['active_before'], r['active_after']))
want(r['new_active_ms'] is None and r['detect_ms'] is not None and r['detect_ms'] >= $LAB_TOKEN, 'detect %s new active %s' % (r['detect_ms'], r['new_active_ms']))
want(c['confirmed_before'] == 20 and c['survived'] == 20, 'calls %s' % c)
want(p['calls'] == 20 and p['not_resumed'] == 0 and p['gap_max_ms'] is not None and p['gap_max_ms'] < 1500, 'RTP %s' % p)
want(r['duplicate_byes'] == 0 and r['new_calls']['failed_before'] == 0 and r['restore_ms'] is not None, 'BYEs %s, new calls %s, restore %s' % (r['duplicate_byes'], r['new_calls'], r['restore_ms']))
")
[ -z "$bad" ] || fail "standby-crash report: $bad"
ok "standby-crash: the active kept all 20 calls and their media (longest RTP gap $(report_check "$LAB_W/standby.json" "print(r['rtp']['gap_max_ms'])") ms); n1 back as a synced standby"

# ---- 5. nothing left ----
for n in n1 n2; do
	[ "$(n_calls "$n")" = 0 ] || fail "calls left on $n: $(ctl "$n" calls | head -3)"
done
[ -z "$(ls -A "$LAB_W/callee")" ] || fail "the callee's work directory is left: $(ls "$LAB_W/callee")"
ok "no call left on either node, the callee's directory removed"
