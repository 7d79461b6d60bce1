#!/bin/bash
# Early media: the callee's 183 carries SDP; the caller sees only sbcd's
# address in it and the callee's ringback crosses sbcd to the caller
# before the call is answered; the 200 then repeats the SDP without a new
# version (the same sbcd port, the same o= version towards the caller).
. "$(dirname "$0")/lib.sh"

MA=127.0.$T_N.20
MB=127.0.$T_N.21
sbc_conf "media_port_min = 36000" "media_port_max = 36999"
sbc_start
scen_media uac.xml uac_media.xml "$MA" 7000
sipp_bg uas -sf "$(scen_gen uas_early uas_early.xml.in MB="$MB")" -i "$U" -p 5080
sipp_bg call -sf "$W/uac_media.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" \
	-m 1 -d 500 -timeout 30 -timeout_error
# during the ringing (until call_answer): the relay knows the callee
# from its 183 (sbcctl media), the call is early (sbcctl calls),
# ringback crosses sbcd
python3 - "$SBCCTL" "$W/sbcd.sock" "$A" "$C" "$MA" "$MB" > "$W/early.txt" <<'PY' \
	|| fail "early media: $(cat "$W/early.txt")"
import re, socket, subprocess, sys, time
ctl, sock, A, C, MA, MB = sys.argv[1:7]
def run(*a):
    return subprocess.run([ctl, "-s", sock] + list(a), capture_output=True,
                          text=True).stdout
end = time.monotonic() + 10
while time.monotonic() < end:
    m = run("media")
    acc = re.search(r"stream 0 access port (\d+)", m)
    core = re.search(r"stream 0 core port (\d+) remote %s:7002" % re.escape(MB), m)
    if acc and core:
        break
    time.sleep(0.05)
assert acc and core, "the 183's SDP did not reach the relay: " + m
pa, pb = int(acc.group(1)), int(core.group(1))
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind((MA, 7000)); a.settimeout(1)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind((MB, 7002)); b.settimeout(1)
for t in range(5):                           # ringback
    pkt = bytes([0x80, 0, 0, t]) + bytes(8) + b"r" * 160
    b.sendto(pkt, (C, pb))
    d, frm = a.recvfrom(2048)
    assert d == pkt and frm == (A, pa), frm
assert " state early " in run("calls"), "the call was answered before the ringback was checked"
print(pa)
PY
pa=$(tail -1 "$W/early.txt")
call_answer uas "$U" 5080
wait_pid "$PID_call" 15 || fail "the call did not end well"
python3 - "$W/call.msg" "$A" "$pa" <<'PY' || fail "SDP of the 183 and the 200"
import re, sys
t = open(sys.argv[1], errors="replace").read()
def sdp(first):
    i = t.find(first)
    b = t[i:t.find("-----", i)]
    return (re.search(r"^c=IN IP4 (\S+)", b, re.M).group(1),
            int(re.search(r"^m=audio (\d+)", b, re.M).group(1)),
            re.search(r"^o=\S+ \S+ (\d+) ", b, re.M).group(1))
e, f = sdp("SIP/2.0 183"), sdp("SIP/2.0 200")
assert e[:2] == (sys.argv[2], int(sys.argv[3])), e
assert f == e, "the 200 repeats the SDP: %s != %s" % (f, e)
PY
ok "early media (183 with SDP): rewritten, relayed before the answer; the 200's SDP unchanged towards the caller"
sbc_alive
sbc_stop
