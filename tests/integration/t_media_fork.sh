#!/bin/bash
# A forked call: a forking proxy downstream gives the caller two early
# dialogs (reliable 183s from fork A and fork B, each with its own SDP),
# then fork A answers with a 200 without SDP (its answer was the 183).
# The relay follows the latest fork while the call rings and the
# answering one from its 2xx on, although fork B spoke last.  Fork B then
# answers too: its 200 reaches the caller rewritten, the caller's ACK and
# BYE to fork B pass, and neither ends the call nor moves its media.
# Each fork is its own SDP session towards the caller (o= per dialog).
# Last, a callee's SDP sbcd cannot read is removed, not passed on.
. "$(dirname "$0")/lib.sh"

MA=127.0.$T_N.20        # the caller's media
MF=127.0.$T_N.21        # fork A's media
MG=127.0.$T_N.22        # fork B's media
sbc_conf "media_port_min = 37000" "media_port_max = 37999"
sbc_start
python3 - "$SBCCTL" "$W/sbcd.sock" "$A" "$C" "$P" "$U" "$MA" "$MF" "$MG" \
	> "$W/fork.txt" 2>&1 <<'PY' || fail "forked call: $(tail -5 "$W/fork.txt")"
import random, re, socket, subprocess, sys, time
ctl, sock, A, C, P, U, MA, MF, MG = sys.argv[1:10]

def run(*a):
    return subprocess.run([ctl, "-s", sock] + list(a), capture_output=True,
                          text=True).stdout

def eventually(check, what, secs=5.0):
    """Polled: what follows a message sbcd handled may lag it a moment."""
    end = time.monotonic() + secs
    while not check():
        assert time.monotonic() < end, what()
        time.sleep(0.05)

def udp(ip, port, to=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(to)
    return s

uac, uas = udp(P, 5070), udp(U, 5080)
ma, mf, mg = udp(MA, 7000, 0.5), udp(MF, 7002, 0.5), udp(MG, 7004, 0.5)
callid = "fork%d@%s" % (random.randrange(10**9), P)
ftag = "caller%d" % random.randrange(10**6)

def msg(first, hdrs, body=""):
    h = "".join("%s\r\n" % x for x in hdrs)
    ct = "Content-Type: application/sdp\r\n" if body else ""
    return ("%s\r\n%s%sContent-Length: %d\r\n\r\n%s" % (first, h, ct, len(body), body)).encode()

def parse(data):
    t = data.decode()
    head, body = t.split("\r\n\r\n", 1)
    lines = head.split("\r\n")
    hs = []
    for l in lines[1:]:
        k, v = l.split(":", 1)
        hs.append((k.strip().lower(), v.strip()))
    return lines[0], hs, body

def hget(hs, k):
    return [v for (n, v) in hs if n == k]

def recv(s, want, what):
    end = time.monotonic() + 3
    while time.monotonic() < end:
        data, frm = s.recvfrom(65535)
        first, hs, body = parse(data)
        if first.startswith("SIP/2.0 100 "):
            continue
        assert re.search(want, first), "%s: got %r" % (what, first)
        return first, hs, body, frm
    raise AssertionError("%s: nothing" % what)

def sdp(user, sess, ver, ip, port):
    return ("v=0\r\no=%s %d %d IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
            % (user, sess, ver, ip, ip, port))

def sdp_of(body):
    return (re.search(r"^c=IN IP4 (\S+)", body, re.M).group(1),
            int(re.search(r"^m=audio (\d+)", body, re.M).group(1)),
            re.search(r"^o=(\S+ \S+ \d+)", body, re.M).group(1))

# the caller's INVITE, with 100rel
branch = lambda: "z9hG4bK%d" % random.randrange(10**12)
uac.sendto(msg("INVITE sip:5551234@%s:5060 SIP/2.0" % A, [
    "Via: SIP/2.0/UDP %s:5070;branch=%s;rport" % (P, branch()),
    "Max-Forwards: 70", "From: <sip:caller@%s>;tag=%s" % (P, ftag),
    "To: <sip:5551234@%s>" % A, "Call-ID: " + callid, "CSeq: 1 INVITE",
    "Contact: <sip:caller@%s:5070>" % P, "Supported: 100rel"],
    sdp("caller", 1, 1, MA, 7000)), (A, 5060))
_, ihs, ibody, sbc_core = recv(uas, r"^INVITE ", "INVITE at the forking proxy")
core_port = sdp_of(ibody)[1]

def uas_reply(code, reason, tag, req_hs, extra=(), body=""):
    hs = ["Via: " + v for v in hget(req_hs, "via")]
    hs += ["Record-Route: " + v for v in hget(req_hs, "record-route")]
    to = hget(req_hs, "to")[0]
    hs += ["From: " + hget(req_hs, "from")[0],
           "To: " + (to if ";tag=" in to else to + ";tag=" + tag),
           "Call-ID: " + callid, "CSeq: " + hget(req_hs, "cseq")[0],
           "Contact: <sip:%s@%s:5080>" % (tag, U)] + list(extra)
    uas.sendto(msg("SIP/2.0 %d %s" % (code, reason), hs, body), sbc_core)

def uac_req(met, cseq, ttag, rhs, extra=()):
    route = list(reversed(hget(rhs, "record-route")))
    target = re.search(r"<([^>]+)>", hget(rhs, "contact")[0]).group(1)
    hs = ["Via: SIP/2.0/UDP %s:5070;branch=%s;rport" % (P, branch()),
          "Max-Forwards: 70", "From: <sip:caller@%s>;tag=%s" % (P, ftag),
          "To: <sip:5551234@%s>;tag=%s" % (A, ttag), "Call-ID: " + callid,
          "CSeq: %d %s" % (cseq, met)] + ["Route: " + r for r in route] + list(extra)
    uac.sendto(msg("%s %s SIP/2.0" % (met, target), hs), (A, 5060))

seen = {}
cseq = 1
for tag, ip, port, sess in (("forkA", MF, 7002, 111), ("forkB", MG, 7004, 222)):
    uas_reply(183, "Session Progress", tag, ihs,
              ["Require: 100rel", "RSeq: 1"], sdp(tag, sess, 5, ip, port))
    _, hs, body, _ = recv(uac, r"^SIP/2.0 183 ", "183 of " + tag)
    assert ";tag=" + tag in hget(hs, "to")[0]
    seen[tag] = (sdp_of(body), hs)
    assert seen[tag][0][0] == A, "%s's SDP names %s" % (tag, seen[tag][0][0])
    cseq += 1
    uac_req("PRACK", cseq, tag, hs, ["RAck: 1 1 INVITE"])
    _, phs, _, _ = recv(uas, r"^PRACK ", "PRACK to " + tag)
    uas_reply(200, "OK", tag, phs)
    recv(uac, r"^SIP/2.0 200 ", "200 to the PRACK of " + tag)

(a_sdp, a_hs), (b_sdp, b_hs) = seen["forkA"], seen["forkB"]
acc_port = a_sdp[1]
assert b_sdp[1] == acc_port, "one sbcd port for the caller: %s" % seen
# each fork its own o= session towards the caller
assert a_sdp[2].split()[0:2] == ["forkA", "111"], a_sdp
assert b_sdp[2].split()[0:2] == ["forkB", "222"], b_sdp

def rtp(n):
    return bytes([0x80, 0, 0, n]) + bytes(8) + b"m" * 160

def caller_to(dst, n, what):
    ma.sendto(rtp(n), (A, acc_port))
    try:
        d, frm = dst.recvfrom(2048)
    except socket.timeout:
        raise AssertionError("%s: the caller's packet did not arrive" % what)
    assert d == rtp(n) and frm[0] == C, (what, frm)

def nothing_at(s, what):
    try:
        d, frm = s.recvfrom(2048)
        raise AssertionError("%s: a packet from %s" % (what, frm))
    except socket.timeout:
        pass

# ringing: the relay follows the latest fork, B
caller_to(mg, 1, "ringing, to fork B")
nothing_at(mf, "ringing: fork A got the caller's media")

# fork A answers, without SDP
uas_reply(200, "OK", "forkA", ihs)
_, ohs, obody, _ = recv(uac, r"^SIP/2.0 200 ", "200 of fork A")
assert obody == "", "the 200 without SDP stays without SDP"
uac_req("ACK", 1, "forkA", ohs)
recv(uas, r"^ACK ", "ACK to fork A")
for n in range(2, 6):
    caller_to(mf, n, "answered, to fork A")
nothing_at(mg, "answered: fork B still got the caller's media")
mf.sendto(rtp(9), (C, core_port))
d, frm = ma.recvfrom(2048)
assert d == rtp(9) and frm == (A, acc_port), frm
mg.sendto(rtp(10), (C, core_port))
nothing_at(ma, "fork B's media reached the caller after A answered")

# fork B answers too: the caller gets its 200 (SDP rewritten), ACKs and
# hangs that dialog up; the call with fork A goes on
uas_reply(200, "OK", "forkB", ihs, (), sdp("forkB", 222, 5, MG, 7004))
_, bhs, bbody, _ = recv(uac, r"^SIP/2.0 200 ", "200 of fork B")
assert ";tag=forkB" in hget(bhs, "to")[0]
b2 = sdp_of(bbody)
assert b2[0] == A and b2[1] == acc_port, b2
assert b2[2] == b_sdp[2], "fork B's SDP session towards the caller: %s then %s" % (b_sdp[2], b2[2])
uac_req("ACK", 1, "forkB", bhs)
recv(uas, r"^ACK ", "ACK to fork B")
uac_req("BYE", cseq + 1, "forkB", bhs)
_, byhs, _, _ = recv(uas, r"^BYE ", "BYE to fork B")
assert ";tag=forkB" in hget(byhs, "to")[0]
uas_reply(200, "OK", "forkB", byhs)
recv(uac, r"^SIP/2.0 200 ", "200 to the BYE of fork B")
calls = run("calls")
assert " state confirmed " in calls, "fork B's BYE ended the call: " + calls
for n in range(11, 14):
    caller_to(mf, n, "after fork B left, to fork A")
nothing_at(mg, "after fork B left: fork B got media")

# the caller hangs up: the call and its ports are gone
uac_req("BYE", cseq + 2, "forkA", ohs)
_, byhs, _, _ = recv(uas, r"^BYE ", "BYE to fork A")
uas_reply(200, "OK", "forkA", byhs)
recv(uac, r"^SIP/2.0 200 ", "200 to the BYE of fork A")
eventually(lambda: callid not in run("calls"), lambda: run("calls"))
eventually(lambda: "stream" not in run("media"), lambda: run("media"))

# a callee whose SDP sbcd cannot read: the caller gets the 183 without
# it, never the callee's media address
callid = "broken%d@%s" % (random.randrange(10**9), P)
ibranch = branch()
uac.sendto(msg("INVITE sip:5551234@%s:5060 SIP/2.0" % A, [
    "Via: SIP/2.0/UDP %s:5070;branch=%s;rport" % (P, ibranch),
    "Max-Forwards: 70", "From: <sip:caller@%s>;tag=%s" % (P, ftag),
    "To: <sip:5551234@%s>" % A, "Call-ID: " + callid, "CSeq: 1 INVITE",
    "Contact: <sip:caller@%s:5070>" % P],
    sdp("caller", 1, 1, MA, 7000)), (A, 5060))
_, ihs, _, sbc_core = recv(uas, r"^INVITE ", "second INVITE")
uas_reply(183, "Session Progress", "broken", ihs, (),
          sdp("broken", 1, 1, MF, 7002).replace("m=audio 7002", "m=audio x7002"))
first, hs, body, _ = recv(uac, r"^SIP/2.0 183 ", "183 with broken SDP")
assert body == "" and not hget(hs, "content-type"), (hs, body)
assert MF not in body
uas_reply(486, "Busy Here", "broken", ihs)
recv(uac, r"^SIP/2.0 486 ", "486 after the broken SDP")
uac.sendto(msg("ACK sip:5551234@%s:5060 SIP/2.0" % A, [
    "Via: SIP/2.0/UDP %s:5070;branch=%s;rport" % (P, ibranch),
    "Max-Forwards: 70", "From: <sip:caller@%s>;tag=%s" % (P, ftag),
    "To: <sip:5551234@%s>;tag=broken" % A, "Call-ID: " + callid,
    "CSeq: 1 ACK"]), (A, 5060))
eventually(lambda: callid not in run("calls"), lambda: run("calls"))
eventually(lambda: "stream" not in run("media"), lambda: run("media"))
print("ok")
PY
ok "forked call: media follows the latest early fork, then the answering one (200 without SDP); a second fork's 200, ACK and BYE pass without ending the call"
sbc_alive
sbc_stop
