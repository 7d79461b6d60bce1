#!/bin/bash
# Media anchored on sbcd, end to end: a sipp call whose SDP each side
# sees names only sbcd's media address on that side; RTP sent to those
# ports crosses sbcd both ways with its payload intact, from sbcd's
# ports; a third party cannot inject; the ports go back to the pool after
# every way a call ends (BYE, failure, CANCEL) and after many calls.
. "$(dirname "$0")/lib.sh"

ctl() { "${SBCCTL:?}" -s "$W/sbcd.sock" "$@"; }
MA=127.0.$T_N.20        # the caller's media address (its SDP)
MB=127.0.$T_N.21        # the callee's
MX=127.0.$T_N.22        # a third party
sbc_conf "media_port_min = 31000" "media_port_max = 31999" "flood_requests = 0" \
	"media_sockbuf = 262144"
sbc_start

# the parties advertise media where this test's sockets listen
# (the call stays up until the checks below are done with it)
scen_media uac_until.xml uac_media.xml "$MA" 7000
scen_media uas.xml uas_media.xml "$MB" 7002
sipp_bg uas -sf "$W/uas_media.xml" -i "$U" -p 5080
sipp_bg call -sf "$W/uac_media.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" \
	-m 1 -timeout 60 -timeout_error
call_answered call
[ "$(ctl media | awk '$1 == "media_sessions" {print $2}')" = 1 ] || fail "no media session: $(ctl media)"
# media_sockbuf (256 KB) on the relay's sockets (the kernel shows it doubled)
ss -uan -m | grep -A1 " $A:31000 " | grep -q 'rb524288' \
	|| fail "media socket buffer not 256 KB: $(ss -uan -m | grep -A1 " $A:31000 ")"

python3 - "$W/call.msg" "$W/uas.msg" "$A" "$C" "$MA" "$MB" "$MX" <<'PY' || fail "media through sbcd"
import re, socket, sys, time
callmsg, uasmsg, A, C, MA, MB, MX = sys.argv[1:8]

def sdp_of(f, first_line):
    txt = open(f, errors="replace").read()
    i = txt.find(first_line)
    assert i >= 0, "no %r in %s" % (first_line, f)
    body = txt[i:txt.find("-----", i)]
    c = re.search(r"^c=IN IP4 (\S+)", body, re.M).group(1)
    m = int(re.search(r"^m=audio (\d+)", body, re.M).group(1))
    o = re.search(r"^o=.* IN IP4 (\S+)", body, re.M).group(1)
    return c, m, o

# what each side was told: only sbcd's address on its own side
ca, pa, oa = sdp_of(callmsg, "SIP/2.0 200 OK")
cb, pb, ob = sdp_of(uasmsg, "INVITE sip:")
assert (ca, oa) == (A, A), "caller saw c=%s o=%s" % (ca, oa)
assert (cb, ob) == (C, C), "callee saw c=%s o=%s" % (cb, ob)
assert 31000 <= pa <= 31999 and 31000 <= pb <= 31999 and pa % 2 == 0 and pb % 2 == 0
print("caller sees %s:%d, callee sees %s:%d" % (ca, pa, cb, pb))

def sock(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(1.0)
    return s

a, b, x = sock(MA, 7000), sock(MB, 7002), sock(MX, 7004)

def rtp(seq, payload):
    return bytes([0x80, 0x00, seq >> 8, seq & 0xff]) + b"\0\0\0\1" + b"\0\0\0\7" + payload

got = 0
for seq in range(50):                       # caller -> callee
    pkt = rtp(seq, b"A" * 160)
    a.sendto(pkt, (A, pa))
    d, src = b.recvfrom(2048)
    assert d == pkt, "payload changed"
    assert src == (C, pb), "callee got it from %s" % (src,)
    got += 1
for seq in range(50):                       # callee -> caller
    pkt = rtp(seq, b"B" * 160)
    b.sendto(pkt, (C, pb))
    d, src = a.recvfrom(2048)
    assert d == pkt and src == (A, pa), "caller got %r from %s" % (d[:4], src)
    got += 1
# a third party sending to the caller's leg reaches nobody
x.sendto(rtp(999, b"X" * 160), (A, pa))
b.settimeout(0.5)
try:
    d, src = b.recvfrom(2048)
    sys.exit("third party's packet relayed from %s" % (src,))
except socket.timeout:
    pass
print("%d packets relayed both ways, third party dropped" % got)
PY
call_release call "$P" 5070
wait_pid "$PID_call" 15 || fail "the call did not end well"
[ "$(ctl media | awk '$1 == "media_sessions" {print $2}')" = 0 ] || fail "ports not freed after BYE: $(ctl media)"
ok "SDP on each side shows only sbcd; RTP relayed both ways from sbcd's ports; a third party dropped; freed after BYE"

# every other way a call ends gives the ports back
kill "$PID_uas"; wait "$PID_uas" 2>/dev/null
sipp_bg busy -sf "$(scen_gen uas486 uas_err.xml.in CODE=486 REASON='Busy Here' HDR=)" -i "$U" -p 5080
sipp_call busy_uac "$(scen_gen uac486 uac_err.xml.in CODE=486 HDR=CSeq RE=INVITE)" 3 -s 5551234 \
	|| fail "busy calls failed"
kill "$PID_busy"; wait "$PID_busy" 2>/dev/null
sipp_bg cancel -sf "$SCEN/uas_cancel.xml" -i "$U" -p 5080
sipp_call cancel_uac uac_cancel.xml 3 -s 5551234 || fail "cancelled calls failed"
kill "$PID_cancel"; wait "$PID_cancel" 2>/dev/null
sipp_bg many -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_call many_uac uac.xml 2000 -s 5551234 -r 200 -l 200 || fail "2000 calls failed"
for _ in $(seq 1 30); do
	[ "$(ctl media | awk '$1 == "media_sessions" {print $2}')" = 0 ] && break
	sleep 0.1
done
ctl media > "$W/media.txt"
grep -q "^media_sessions 0$" "$W/media.txt" && grep -q "^media_port_pairs_used 0$" "$W/media.txt" \
	|| fail "ports left after failures, CANCELs and 2000 calls: $(head -3 "$W/media.txt")"
ok "486, CANCEL and 2000 more calls: every port pair back in the pool"

sbc_alive
sbc_stop
