#!/bin/bash
# SRTP towards one peer, RTP towards the core (media = srtp): the peer's
# offer keeps RTP/SAVP and gets sbcd's own a=crypto key in the answer,
# the core sees RTP/AVP without keys; packets the SRTP phone protects
# with its key arrive as plain RTP at the callee, and the callee's RTP
# arrives at the phone protected with sbcd's key (decrypted here with
# libsrtp2 through srtp-tool).  A media = rtp peer offering keys: 488.
. "$(dirname "$0")/lib.sh"

TOOL=${SRTPTOOL:?SRTPTOOL must point to srtp-tool}
MA=127.0.$T_N.20        # the SRTP phone's media address
MB=127.0.$T_N.21        # the callee's
P11=127.0.$T_N.11
KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(30)).decode())')
PEERS="[peer phone]
addr = $P
media = srtp
[peer plain]
addr = $P11
media = rtp"
sbc_conf "media_port_min = 32000" "media_port_max = 32999"
sbc_start

sed -e "s/\[media_ip\]/$MA/g" -e "s/\[media_port\]/7000/g" -e "s/IP\[media_ip_type\]/IP4/g" \
	-e "s|RTP/AVP 0|RTP/SAVP 0|" \
	-e "s|^\( *\)a=rtpmap:0 PCMU/8000|&\n\1a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$KEY|" \
	"$SCEN/uac_until.xml" > "$W/uac_srtp.xml"
grep -q "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$KEY" "$W/uac_srtp.xml" || fail "scenario not made"
scen_media uas.xml uas_media.xml "$MB" 7002
sipp_bg uas -sf "$W/uas_media.xml" -i "$U" -p 5080
# the call stays up until the packets below are checked (each runs
# srtp-tool, slow to start in the sanitizer build on a loaded machine)
sipp_bg call -sf "$W/uac_srtp.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" \
	-m 1 -timeout 60 -timeout_error
call_answered call

python3 - "$W/call.msg" "$W/uas.msg" "$A" "$C" "$MA" "$MB" "$KEY" "$TOOL" <<'PY' || fail "SRTP <-> RTP"
import re, socket, subprocess, sys
callmsg, uasmsg, A, C, MA, MB, KEY, TOOL = sys.argv[1:9]

def sdp_of(f, first_line):
    txt = open(f, errors="replace").read()
    i = txt.find(first_line)
    assert i >= 0, "no %r in %s" % (first_line, f)
    return txt[i:txt.find("-----", i)]

ans = sdp_of(callmsg, "SIP/2.0 200 OK")       # what the SRTP phone got
off = sdp_of(uasmsg, "INVITE sip:")           # what the core got
assert re.search(r"^m=audio \d+ RTP/SAVP 0", ans, re.M), ans
m = re.search(r"^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:(\S+)", ans, re.M)
assert m and m.group(1) != KEY, "no key of sbcd's in the answer"
sbc_key = m.group(1)
assert re.search(r"^m=audio \d+ RTP/AVP 0", off, re.M), off
assert "a=crypto" not in off, "keys leaked to the core"
pa = int(re.search(r"^m=audio (\d+)", ans, re.M).group(1))
pb = int(re.search(r"^m=audio (\d+)", off, re.M).group(1))

def tool(op, key, pkt):
    r = subprocess.run([TOOL, op, "1 AES_CM_128_HMAC_SHA1_80 inline:" + key,
                        pkt.hex()], capture_output=True, text=True)
    assert r.returncode == 0, "%s failed: %s" % (op, r.stderr)
    return bytes.fromhex(r.stdout.strip())

def sock(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(1.0)
    return s

a, b = sock(MA, 7000), sock(MB, 7002)
for seq in range(1, 11):
    rtp = bytes([0x80, 0x00, 0, seq]) + bytes(4) + b"\0\0\0\x07" + bytes([seq]) * 160
    srtp = tool("protect", KEY, rtp)
    assert srtp != rtp and len(srtp) == len(rtp) + 10
    a.sendto(srtp, (A, pa))
    d, src = b.recvfrom(2048)
    assert d == rtp, "callee got %r..., not the plain packet" % d[:16]
    back = bytes([0x80, 0x00, 0, seq]) + bytes(4) + b"\0\0\0\x09" + b"B" * 160
    b.sendto(back, (C, pb))
    d, src = a.recvfrom(2048)
    assert d != back, "the phone got plain RTP"
    assert tool("unprotect", sbc_key, d) == back, "sbcd's SRTP does not decrypt"
# a packet with a broken tag is not relayed
bad = bytearray(tool("protect", KEY, bytes([0x80, 0, 0, 99]) + bytes(8) + b"x" * 160))
bad[-1] ^= 1
a.sendto(bytes(bad), (A, pa))
b.settimeout(0.5)
try:
    b.recvfrom(2048)
    sys.exit("a forged SRTP packet was relayed")
except socket.timeout:
    pass
print("10 packets each way: SRTP from the phone -> RTP to the core and back")
PY
call_release call "$P" 5070
wait_pid "$PID_call" 25 || fail "the SRTP call did not end well"
ok "media = srtp: RTP/SAVP with sbcd's key to the phone, RTP/AVP to the core; packets decrypted and encrypted both ways; a forged one dropped"

# a peer held to plain RTP may not offer keys
sipp_run plain -sf "$W/uac_srtp.xml" -s 5551234 -i "$P11" -p 5070 "$A:5060" \
	-m 1 -timeout 5 && fail "an SRTP offer from a media = rtp peer was accepted"
grep -q "^SIP/2.0 488" "$W/plain.msg" || fail "no 488 for keys from a media = rtp peer"
ok "media = rtp: an offer with keys gets 488"

sbc_alive
sbc_stop
