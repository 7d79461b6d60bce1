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

sipp_bg uas2 -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_call late uac_late_ack.xml 2 -s 5551234 || fail "calls with a late ACK failed"
n=$(grep -c '^SIP/2.0 200 OK' "$W/late.msg")
[ "$n" -ge 6 ] || fail "only $n 200 OK seen: retransmissions not relayed"
ok "2xx retransmissions relayed statelessly"
kill "$PID_uas2"; wait "$PID_uas2" 2>/dev/null

# the far end answers, then vanishes: BYE -> 408 after timer F (32 s)
sipp_bg uas3 -sf "$SCEN/uas.xml" -i "$U" -p 5080
( sleep 1; kill "$PID_uas3" ) &
sipp_call bye408 uac_bye_timeout.xml 1 -s 5551234 -timeout 60 || fail "BYE to a vanished UAS did not end in 408"
ok "BYE to a vanished far end: 408"
sbc_alive
sbc_stop
