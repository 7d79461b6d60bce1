#!/bin/bash
# A caller behind NAT: its SDP names its private address (192.168.1.20),
# its packets come from the NAT's address and another port.  sbcd latches
# to where they really come from (the signalling source's address, any
# port) and sends the callee's media back there; a third party cannot
# take the stream over.
. "$(dirname "$0")/lib.sh"

MB=127.0.$T_N.21
MX=127.0.$T_N.22
sbc_conf "media_port_min = 35000" "media_port_max = 35999"
sbc_start
scen_media uac_until.xml uac_nat.xml "192.168.1.20" 7000
scen_media uas.xml uas_media.xml "$MB" 7002
sipp_bg uas -sf "$W/uas_media.xml" -i "$U" -p 5080
sipp_bg call -sf "$W/uac_nat.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" \
	-m 1 -timeout 60 -timeout_error
call_answered call
python3 - "$W/call.msg" "$W/uas.msg" "$A" "$C" "$P" "$MB" "$MX" <<'PY' || fail "latching behind NAT"
import re, socket, sys
callmsg, uasmsg, A, C, P, MB, MX = sys.argv[1:8]
def port(f, first):
    t = open(f, errors="replace").read()
    i = t.find(first)
    return int(re.search(r"^m=audio (\d+)", t[i:], re.M).group(1))
pa, pb = port(callmsg, "SIP/2.0 200 OK"), port(uasmsg, "INVITE sip:")
def sock(ip, p):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, p))
    s.settimeout(1.0)
    return s
nat, b, x = sock(P, 7100), sock(MB, 7002), sock(MX, 7100)
pkt = lambda t: bytes([0x80, 0, 0, t]) + bytes(8) + bytes([t]) * 160
nat.sendto(pkt(1), (A, pa))                  # the NAT's port, not 7000
assert b.recvfrom(2048)[0] == pkt(1)
b.sendto(pkt(2), (C, pb))
d, frm = nat.recvfrom(2048)                  # back through the NAT
assert d == pkt(2) and frm == (A, pa), frm
x.sendto(pkt(3), (A, pa))                    # hijack attempt
b.settimeout(0.5)
try:
    b.recvfrom(2048)
    sys.exit("a third party's packet was relayed")
except socket.timeout:
    pass
b.sendto(pkt(4), (C, pb))                    # still to the NAT
assert nat.recvfrom(2048)[0] == pkt(4)
print("latched to %s:7100 (SDP said 192.168.1.20:7000)" % P)
PY
call_release call "$P" 5070
wait_pid "$PID_call" 15 || fail "the call did not end well"
ok "NAT: SDP 192.168.1.20:7000, media from $P:7100: latched there both ways; a third party dropped"
sbc_alive
sbc_stop
