#!/bin/bash
# Basic calls through sbcd: UDP->UDP and TCP->UDP, full call with
# Record-Route followed by ACK and BYE; checks what the far end saw.
. "$(dirname "$0")/lib.sh"

sbc_conf "tcp_backlog = 2048" "udp_sockbuf = 1048576"
sbc_start

# the socket limits are applied (libre hard-codes a backlog of 5)
ss -ltn | grep -q "^LISTEN 0 *2048 *$A:5060 " || fail "TCP backlog not 2048: $(ss -ltn | grep "$A:5060")"
ss -lun -m | grep -A1 " $A:5060 " | grep -q 'rb2097152' || fail "UDP receive buffer not 1 MB: $(ss -lun -m | grep -A1 " $A:5060 ")"
ok "listen backlog 2048 and UDP buffers 1 MB applied"
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
