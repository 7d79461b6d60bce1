#!/bin/bash
# Hold and a re-INVITE that moves the media: the re-INVITE and its 2xx
# are rewritten like the first offer (sbcd's address and the same ports,
# a new o= version, the direction attributes untouched), and once it is
# answered the callee's media goes to the caller's new address, the
# caller's media from there is relayed.
. "$(dirname "$0")/lib.sh"

MA=127.0.$T_N.20        # the caller's media, then
MA2=127.0.$T_N.23       # where the re-INVITE moves it
MB=127.0.$T_N.21        # the callee's
sbc_conf "media_port_min = 34000" "media_port_max = 34999"
sbc_start
sipp_bg uas -sf "$(scen_gen uas_hold uas_hold.xml.in MB="$MB")" -i "$U" -p 5080
sipp_bg call -sf "$(scen_gen uac_hold uac_hold.xml.in MA="$MA" MA2="$MA2")" -s 5551234 \
	-i "$P" -p 5070 "$A:5060" -m 1 -timeout 60 -timeout_error

# the parts of the check share their helpers
cat > "$W/hold.py" <<'PY'
import re, socket, sys, time
callmsg, uasmsg, A, C, MA, MA2, MB = sys.argv[2:9]

def bodies(f, first_line, n, wait=10.0):
    end = time.monotonic() + wait
    while True:
        txt = open(f, errors="replace").read() if __import__("os").path.exists(f) else ""
        out, i = [], 0
        while True:
            i = txt.find(first_line, i)
            if i < 0:
                break
            out.append(txt[i:txt.find("-----", i)])
            i += 1
        if len(out) >= n or time.monotonic() > end:
            assert len(out) >= n, "only %d %r in %s" % (len(out), first_line, f)
            return out
        time.sleep(0.05)

def sdp(body):
    c = re.search(r"^c=IN IP4 (\S+)", body, re.M).group(1)
    m = int(re.search(r"^m=audio (\d+)", body, re.M).group(1))
    o = int(re.search(r"^o=\S+ \S+ (\d+) ", body, re.M).group(1))
    d = re.search(r"^a=(sendrecv|sendonly|recvonly|inactive)", body, re.M)
    return c, m, o, d.group(1) if d else None

def sock(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(0.2)
    return s

def through(src, dst_addr, rcv, want_src, tag):
    """A packet crosses sbcd; sent again until it does (at most 5 s): a
    move the SIP thread knows reaches the media worker a moment later."""
    pkt = bytes([0x80, 0, 0, tag]) + bytes(8) + bytes([tag]) * 160
    for _ in range(25):
        src.sendto(pkt, dst_addr)
        try:
            d, frm = rcv.recvfrom(2048)
        except socket.timeout:
            continue
        assert d == pkt and frm == want_src, "got %r from %s" % (d[:4], frm)
        return
    sys.exit("packet %d never crossed sbcd" % tag)

ans1 = sdp(bodies(callmsg, "SIP/2.0 200 OK", 1)[0])
off1 = sdp(bodies(uasmsg, "INVITE sip:", 1)[0])
pa, pb = ans1[1], off1[1]
if sys.argv[1] == "before":
    a, b = sock(MA, 7000), sock(MB, 7002)
    assert ans1[0] == A and off1[0] == C, (ans1, off1)
    through(a, (A, pa), b, (C, pb), 1)
    through(b, (C, pb), a, (A, pa), 2)
    sys.exit(0)

# the hold: re-INVITE (sendonly, moved) and its 2xx (recvonly)
a2, b = sock(MA2, 7010), sock(MB, 7002)
off2 = sdp(bodies(uasmsg, "INVITE sip:", 2)[1])
ans2 = sdp(bodies(callmsg, "SIP/2.0 200 OK", 2)[1])
assert off2[:2] == (C, pb) and off2[3] == "sendonly", "callee saw %s" % (off2,)
assert off2[2] > off1[2], "o= version not bumped: %s -> %s" % (off1[2], off2[2])
assert ans2[:2] == (A, pa) and ans2[3] == "recvonly", "caller saw %s" % (ans2,)
assert ans2[2] > ans1[2], "o= version not bumped towards the caller"
through(b, (C, pb), a2, (A, pa), 3)          # to where it moved
through(a2, (A, pa), b, (C, pb), 4)          # from there
print("hold: same sbcd ports, versions %d->%d, media moved to %s" % (off1[2], off2[2], MA2))
PY
hold() { python3 "$W/hold.py" "$1" "$W/call.msg" "$W/uas.msg" "$A" "$C" "$MA" "$MA2" "$MB"; }
# media both ways before the hold, then the re-INVITE (call_release),
# media to and from where it moved, then the BYE
hold before || fail "media before the hold"
call_release call "$P" 5070
hold after || fail "hold and move"
call_release call "$P" 5070
wait_pid "$PID_call" 15 || fail "the held call did not end well"
ok "re-INVITE for hold moving the media: SDP rewritten (same ports, new version, direction kept), media follows the move"
sbc_alive
sbc_stop
