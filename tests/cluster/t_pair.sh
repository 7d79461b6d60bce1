#!/bin/bash
# t_pair: an active/standby pair over Corosync keeps every established
# call through a crash of the active.
#   1. two nodes; sbcd on n1 with the service addresses, an empty cluster:
#      both nodes synced, n1 made active;
#   2. CALLS calls placed through n1 (UDP, RTP on all of them), then sbcd
#      started on n2: a standby joining while calls are up gets the
#      snapshot and reports itself synced, with every call and media
#      session; an unsynced promotion is refused meanwhile;
#   3. n1 crashes (cable cut, SIGKILL of all its processes); n2 sees the
#      membership change, the test moves the addresses and promotes n2;
#   4. every call's RTP resumes both ways through n2 (packets counted at
#      each far end after the crash), the peer's call count is right, and
#      every call's BYE, half from the caller and half from the callee,
#      is answered 200 through n2 (sipp fails on a missing or duplicate
#      one); nothing is left afterwards.
# Label cluster.  Arg 1: the lab index (tests/cluster/CMakeLists.txt).
. "$(dirname "$0")/lab.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
CALLS=${PAIR_CALLS:-20}         # half hung up by each end
HALF=$((CALLS / 2))
HOLD_UAC=30000                  # ms the callers hold before their BYE
HOLD_UAS=36000                  # ms after which the callee hangs up

lab_up n1 n2
pair_init

# ---- 1. an empty cluster; n1 becomes the active ----
lab_addr_add n1 "$LAB_VIP_ACCESS"
lab_addr_add n1 "$LAB_VIP_CORE"
pair_sbcd n1
SBC1=$LAB_BG_PID
[ "$(field n1 role)" = standby ] || fail "n1 did not start as a standby: $(ctl n1 role)"
wait_for 10 is_synced n1 || fail "n1 alone, empty, not synced: $(ctl n1 role)"
ctl n1 role active >/dev/null || fail "n1 cannot be made active: $(ctl n1 role active)"
[ "$(field n1 role)" = active ] || fail "n1 not active: $(ctl n1 role)"
ok "n1 active (an empty cluster is synced)"

# ---- 2. calls through n1, then a standby joins ----
pair_calls "$CALLS" "$HALF" "$HOLD_UAC" "$HOLD_UAS" 20
wait_for 20 confirmed n1 || fail "calls not all answered on n1: $(ctl n1 calls | head -3)"
ok "$CALLS calls answered through n1"

# RTP on every call, both ways, until the test says stop
cat "$LAB_W/uac1.msg" "$LAB_W/uac2.msg" > "$LAB_W/uac.msg"
rm -f "$LAB_W/stop" "$LAB_W/mark"
lab_bg cli "$LAB_W/pump_a.out" python3 "$PUMP_PY" --side a \
	--log "$LAB_W/uac.msg" --ip "$LAB_CLI_IP" --calls "$CALLS" \
	--stop "$LAB_W/stop" --mark "$LAB_W/mark" --max 60
PUMPA=$LAB_BG_PID
lab_bg core "$LAB_W/pump_b.out" python3 "$PUMP_PY" --side b \
	--log "$LAB_W/uas.msg" --ip "$LAB_CORE_IP" --calls "$CALLS" \
	--stop "$LAB_W/stop" --mark "$LAB_W/mark" --max 60
PUMPB=$LAB_BG_PID

# a standby joins while the calls are up: refused promotion until synced
pair_sbcd n2
SBC2=$LAB_BG_PID
if ! is_synced n2; then
	out=$(ctl n2 role active)
	case $out in *"ERR"*) ;; *) fail "an unsynced standby was promoted: $out" ;; esac
fi
t0=$(lab_ms)
wait_for 10 is_synced n2 || fail "n2 not synced within 10 s: $(ctl n2 role)"
ok "n2 synced in $(( $(lab_ms) - t0 )) ms ($(field n2 last_sync_records) records)"
wait_for 5 confirmed n2 || fail "n2 lacks calls: $(ctl n2 calls | head -3)"
wait_for 5 has_sessions n2 || fail "n2 lacks media sessions: $(sessions n2)"
[ "$(field n2 role)" = standby ] || fail "n2 is not a standby: $(ctl n2 role)"
out=$(ctl n2 role active)
case $out in *"node 1 is active"*) ;; *) fail "n2 promoted beside an active n1: $out" ;; esac
ok "n2 holds $CALLS calls and their media sessions, as a standby"

# bad input: a stranger on the group sends another version's records, an
# unknown type, garbage, and changes while not the active: each refused
# and counted on the standby, none applied, and the standby stays synced
e1=$(field n1 epoch)
s1=$(field n1 seq)
v=$(field n1 record_version)
vo=$((v + 7))
r0=$(field n2 records_refused)
lab_x n1 "${CPGINJECT:?}" sbc \
	"sbc $vo R $e1 $((s1 + 1)) 0 0 0\nctr 9999999999 1 injected-other-version" \
	"sbc $v X $e1 0 0 0 0\n" "not a message at all" \
	"sbc $v R $e1 $((s1 + 1)) 0 0 0\nctr 9999999999 1 injected-stranger" ||
	fail "cpg-inject failed"
r1=$(field n2 records_refused)
[ "$((r1 - r0))" = 4 ] || fail "n2 refused $((r1 - r0)) of 4 bad messages: $(ctl n2 role)"
ctl n2 counters | grep -q injected && fail "n2 applied an injected record: $(ctl n2 counters)"
grep -q "record version $vo, this sbcd" "$LAB_W/n2/sbcd.log" || fail "no log line names version $vo"
is_synced n2 || fail "n2 lost its sync to a stranger's messages: $(ctl n2 role)"
wait_for 5 in_step || fail "n2 at seq $(field n2 seq), n1 at $(field n1 seq)"
ok "a stranger's messages (other version, unknown type, garbage, not the active) refused and counted"

# a flooder banned and a blacklist rule added on n1 hold on n2
ip -n "$LAB_P-cli" addr add 192.0.2.101/24 dev eth0
lab_cli python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.101", 0))
for i in range(400):
    s.sendto(("OPTIONS sip:x@%s SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.101;branch=z9hG4bKf%d\r\n"
              "From: <sip:f@192.0.2.101>;tag=%d\r\nTo: <sip:x@%s>\r\nCall-ID: f%d\r\n"
              "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
              % ("'"$LAB_VIP_ACCESS"'", i, i, "'"$LAB_VIP_ACCESS"'", i)).encode(),
             ("'"$LAB_VIP_ACCESS"'", 5060))
'
# sbcd reads the flood after python has sent it: poll (ASan is slower)
for _ in $(seq 1 50); do
	ctl n1 bans | grep -q "192.0.2.101" && break
	sleep 0.1
done
ctl n1 bans | grep -q "192.0.2.101" || fail "the flooder is not banned on n1: $(ctl n1 bans)"
ctl n1 blacklist add labrule source exact drop 0 192.0.2.102 >/dev/null ||
	fail "cannot add a blacklist rule on n1"
banned_on_n2() { ctl n2 bans | grep -q "192.0.2.101"; }
wait_for 5 banned_on_n2 || fail "n2 does not know the ban: $(ctl n2 bans)"
ctl n2 blacklist list | grep -q "^labrule " || fail "n2 lacks the rule: $(ctl n2 blacklist list)"
ok "the flood ban and the run-time blacklist rule made on n1 are on n2"

sleep 2     # some RTP through n1 first, and live changes reach n2
ctl n1 role > "$LAB_W/role_n1.txt"
ctl n2 role > "$LAB_W/role_n2.txt"

# ---- 3. n1 crashes ----
touch "$LAB_W/mark"
pair_crash n1 n2
[ "$(field n2 role)" = active ] || fail "n2 not active: $(ctl n2 role)"
ok "n1 crashed: n2 saw it after $PAIR_SEEN_MS ms, active after $PAIR_ACTIVE_MS ms"
[ "$(peer_calls n2)" = "$CALLS" ] || fail "n2 counts $(peer_calls n2) calls of the peer, not $CALLS"
ctl n2 bans | grep -q "192.0.2.101" || fail "the ban is gone on the survivor: $(ctl n2 bans)"
ctl n2 blacklist list | grep -q "^labrule " || fail "the rule is gone on the survivor"
lab_cli sipp -sn uac -i 192.0.2.101 -p 5090 "$LAB_VIP_ACCESS:5060" -m 1 -timeout 3 \
	-timeout_error -nostdin >/dev/null 2>&1 && fail "the banned source placed a call through n2"
ok "the ban and the rule hold on the survivor"

# ---- 4. media resumes, then every BYE goes through n2 ----
sleep 4
touch "$LAB_W/stop"
reap "$PUMPA" 10 || fail "the caller-side RTP pump failed: $(tail -3 "$LAB_W/pump_a.out")"
reap "$PUMPB" 10 || fail "the callee-side RTP pump failed: $(tail -3 "$LAB_W/pump_b.out")"
for side in a b; do
	bad=$(awk '$7 == 0' "$LAB_W/pump_$side.out")
	[ -z "$bad" ] || fail "RTP did not resume towards side $side: $bad"
	[ "$(wc -l < "$LAB_W/pump_$side.out")" = "$CALLS" ] ||
		fail "side $side reports $(wc -l < "$LAB_W/pump_$side.out") calls"
done
gap=$(cat "$LAB_W"/pump_?.out | awk '$9 > m { m = $9 } END { print m + 0 }')
ok "RTP resumed both ways on all $CALLS calls (longest gap $gap ms, failover $PAIR_ACTIVE_MS ms)"

pair_calls_done 60
ok "every BYE (caller's and callee's) answered through n2"
pair_clean n2 "$SBC2"
