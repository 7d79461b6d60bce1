#!/bin/bash
# In-dialog requests follow the recorded route set in both directions:
# INFO and re-INVITE from the caller, BYE from the callee (core -> access);
# 2xx retransmissions pass statelessly; a BYE to a vanished far end ends
# in 408 (UDP, timer F) rather than hanging.
. "$(dirname "$0")/lib.sh"

sbc_conf
sbc_start

sipp_bg uas -sf "$SCEN/uas_indialog.xml" -i "$U" -p 5080
sipp_call uac uac_indialog.xml 3 -s 5551234 || fail "in-dialog calls failed"
[ "$(grep -c '^INFO sip:callee' "$W/uas.msg")" -ge 3 ] || fail "INFO did not reach the callee"
[ "$(grep -c "^BYE sip:caller@$P:5070" "$W/uac.msg")" -ge 3 ] || fail "callee's BYE did not reach the caller"
grep -q "^Via: SIP/2.0/UDP $A:5060;branch=" "$W/uac.msg" || fail "callee's BYE not through sbcd"
ok "INFO, re-INVITE (caller) and BYE (callee) along the route set"
kill "$PID_uas"; wait "$PID_uas" 2>/dev/null

# the callers ACK only once each has had its 200 again (the callee's
# retransmission, passed on statelessly)
sipp_bg uas2 -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_bg late -sf "$SCEN/uac_late_ack.xml" -i "$P" -p 5070 "$A:5060" -s 5551234 \
	-m 2 -r 10 -timeout 60 -timeout_error
twice_200() { # every call of sipp NAME had its 200 to the INVITE twice
	python3 - "$W/$1.msg" <<'PY'
import re, sys
n = {}
for b in re.split(r"^-{10,}.*$", open(sys.argv[1], errors="replace").read(), flags=re.M):
    if "message received" in b and "\nSIP/2.0 200" in b and re.search(r"^CSeq: *1 INVITE", b, re.M):
        cid = re.search(r"^Call-ID: *(\S+)", b, re.M).group(1)
        n[cid] = n.get(cid, 0) + 1
sys.exit(0 if len(n) == 2 and min(n.values()) >= 2 else 1)
PY
}
wait_for 100 twice_200 late || fail "200 retransmissions not relayed: $(grep -c '^SIP/2.0 200 OK' "$W/late.msg") 200 OK seen"
call_release late "$P" 5070
wait_pid "$PID_late" 20 || fail "calls with a late ACK failed"
ok "2xx retransmissions relayed statelessly"
kill "$PID_uas2"; wait "$PID_uas2" 2>/dev/null

# the far end answers, then vanishes: BYE -> 408 after timer F (32 s)
sipp_bg uas3 -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_bg bye408 -sf "$SCEN/uac_bye_timeout.xml" -i "$P" -p 5070 "$A:5060" -s 5551234 \
	-m 1 -timeout 60 -timeout_error
wait_for 100 grep -q "^ACK " "$W/uas3.msg" || fail "the far end got no ACK"
kill "$PID_uas3"; wait "$PID_uas3" 2>/dev/null
call_release bye408 "$P" 5070
wait_pid "$PID_bye408" 60 || fail "BYE to a vanished UAS did not end in 408"
ok "BYE to a vanished far end: 408"
sbc_alive
sbc_stop
