#!/bin/bash
# Basic calls through sbcd: UDP->UDP and TCP->UDP, full call with
# Record-Route followed by ACK and BYE; checks what the far end saw.
. "$(dirname "$0")/lib.sh"

sbc_conf
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080

sipp_call uac uac.xml 10 -s 5551234 -d 100 || fail "UDP calls failed"
ok "10 UDP calls"

grep -q '^Max-Forwards: 69' "$W/uas.msg" || fail "Max-Forwards not decremented"
grep -q "^Record-Route: <sip:$C:5060;lr>" "$W/uas.msg" || fail "no core-side Record-Route"
grep -q "^Record-Route: <sip:$A:5060;lr>" "$W/uas.msg" || fail "no access-side Record-Route"
grep -q "^Via: SIP/2.0/UDP $C:5060;branch=z9hG4bK" "$W/uas.msg" || fail "no sbc Via"
grep -q "^BYE sip:callee@$U:5080" "$W/uas.msg" || fail "BYE did not reach the UAS"
# the caller never sees the core side's Via
grep -q "Via: SIP/2.0/UDP $C" "$W/uac.msg" && fail "sbc Via leaked to the caller"
ok "headers on the wire"

sipp_call uact uac.xml 5 -t t1 -s 5551234 -d 100 || fail "TCP calls failed"
grep -q "^Record-Route: <sip:$A:5060;transport=tcp;lr>" "$W/uas.msg" || fail "no tcp Record-Route"
ok "5 TCP->UDP calls with transport-aware double Record-Route"

sbc_alive
sbc_stop
ok "done"
