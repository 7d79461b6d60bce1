#!/bin/bash
# Topology hiding of identities: a call the core places to a customer
# PBX names core addresses in From, To, P-Asserted-Identity and
# Diversion; the PBX sees sbcd's access address there instead (display
# names, users, tags, tel: URIs and domain names untouched), and the call
# still works both ways (the PBX's BYE, matched by tags, reaches the
# core). A P-Asserted-Identity in the core's answer to the PBX's call is
# rewritten too, while From and To, the PBX's own, are echoed as sent.
# With callid_hiding each side sees the other's Call-IDs masked (the core
# puts its address in them): every message maps back on the way.
. "$(dirname "$0")/lib.sh"

PEERS="[peer pbx]
addr = $P"
sbc_conf "callid_hiding = yes" "flow_key_file = $W/flow.key"
sbc_start
python3 - "$SBCCTL" "$W/sbcd.sock" "$A" "$C" "$P" "$U" > "$W/topo.txt" 2>&1 <<'PY' \
	|| fail "identity hiding: $(tail -5 "$W/topo.txt")"
import random, re, socket, subprocess, sys, time
ctl, sock, A, C, P, U = sys.argv[1:7]
core, pbx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
core.bind((U, 5080)); pbx.bind((P, 5070))
core.settimeout(3); pbx.settimeout(3)
branch = lambda: "z9hG4bK%d" % random.randrange(10**12)

def msg(first, hdrs):
    return ("%s\r\n%sContent-Length: 0\r\n\r\n" % (first, "".join(h + "\r\n" for h in hdrs))).encode()

def recv(s, want, what):
    while True:
        data, frm = s.recvfrom(65535)
        t = data.decode()
        if t.startswith("SIP/2.0 100 "):
            continue
        assert re.match(want, t), "%s: got %r" % (what, t[:60])
        return t, frm

def hdrs(t, name):
    return [l.split(":", 1)[1].strip() for l in t.split("\r\n\r\n")[0].split("\r\n")[1:]
            if l.split(":", 1)[0].strip().lower() == name.lower()]

def reply(s, dst, code, reason, req, tag, extra=()):
    h = ["Via: " + v for v in hdrs(req, "via")] + ["Record-Route: " + v for v in hdrs(req, "record-route")]
    to = hdrs(req, "to")[0]
    h += ["From: " + hdrs(req, "from")[0], "To: " + (to if ";tag=" in to else to + ";tag=" + tag),
          "Call-ID: " + hdrs(req, "call-id")[0], "CSeq: " + hdrs(req, "cseq")[0]] + list(extra)
    s.sendto(msg("SIP/2.0 %d %s" % (code, reason), h), dst)

# 1. the core calls the PBX
cid = "core%d@%s" % (random.randrange(10**9), U)
core.sendto(msg("INVITE sip:100@%s:5070 SIP/2.0" % P, [
    "Via: SIP/2.0/UDP %s:5080;branch=%s" % (U, branch()),
    "Route: <sip:%s:5060;lr>, <sip:%s:5070;lr>" % (C, P),
    "Max-Forwards: 70", 'From: "Core Caller" <sip:+15551000@%s:5080>;tag=c1' % U,
    "To: <sip:100@%s>" % U, "Call-ID: " + cid, "CSeq: 1 INVITE",
    "Contact: <sip:core@%s:5080>" % U,
    "P-Asserted-Identity: <sip:+15551000@%s;user=phone>, <tel:+15551000>" % U,
    "Diversion: <sip:+15552000@10.1.2.3>;reason=unconditional;counter=1",
    "Remote-Party-ID: <sip:+15551000@carrier.example.com>;party=calling"]), (C, 5060))
inv, sbc_acc = recv(pbx, r"INVITE ", "INVITE at the PBX")
head = inv.split("\r\n\r\n")[0]
for leak in (U, C, "10.1.2.3"):
    assert leak not in head, "%s reached the PBX:\n%s" % (leak, head)
pcid = hdrs(inv, "call-id")[0]
assert pcid != cid and pcid.startswith("sbc"), "the PBX saw Call-ID %s" % pcid
assert hdrs(inv, "from")[0] == '"Core Caller" <sip:+15551000@%s:5060>;tag=c1' % A, hdrs(inv, "from")
assert hdrs(inv, "to")[0] == "<sip:100@%s>" % A, hdrs(inv, "to")
assert hdrs(inv, "p-asserted-identity")[0] == "<sip:+15551000@%s;user=phone>, <tel:+15551000>" % A, hdrs(inv, "p-asserted-identity")
assert hdrs(inv, "diversion")[0] == "<sip:+15552000@%s>;reason=unconditional;counter=1" % A
assert hdrs(inv, "remote-party-id")[0] == "<sip:+15551000@carrier.example.com>;party=calling"
reply(pbx, sbc_acc, 200, "OK", inv, "p1", ["Contact: <sip:100@%s:5070>" % P])
ok200, _ = recv(core, r"SIP/2.0 200 ", "200 at the core")
assert hdrs(ok200, "call-id")[0] == cid, "the core's 200 has Call-ID %s" % hdrs(ok200, "call-id")
rr = hdrs(ok200, "record-route")
core.sendto(msg("ACK sip:100@%s:5070 SIP/2.0" % P, [
    "Via: SIP/2.0/UDP %s:5080;branch=%s" % (U, branch())]
    + ["Route: " + r for r in rr] + [
    "Max-Forwards: 70", 'From: "Core Caller" <sip:+15551000@%s:5080>;tag=c1' % U,
    "To: <sip:100@%s>;tag=p1" % U, "Call-ID: " + cid, "CSeq: 1 ACK"]), (C, 5060))
ack, _ = recv(pbx, r"ACK ", "ACK at the PBX")
assert hdrs(ack, "call-id")[0] == pcid, hdrs(ack, "call-id")
# the PBX hangs up with what it saw: the tags carry the dialog
prr = list(reversed(hdrs(inv, "record-route")))
pbx.sendto(msg("BYE sip:core@%s:5060 SIP/2.0" % A, [
    "Via: SIP/2.0/UDP %s:5070;branch=%s" % (P, branch())]
    + ["Route: " + r for r in prr] + [
    "Max-Forwards: 70", "From: <sip:100@%s>;tag=p1" % A,
    "To: " + hdrs(inv, "from")[0], "Call-ID: " + pcid, "CSeq: 2 BYE"]), (A, 5060))
bye, sbc_core = recv(core, r"BYE ", "the PBX's BYE at the core")
assert hdrs(bye, "call-id")[0] == cid, "the core's BYE has Call-ID %s" % hdrs(bye, "call-id")
reply(core, sbc_core, 200, "OK", bye, "c1")
recv(pbx, r"SIP/2.0 200 ", "200 to the PBX's BYE")

# 2. the PBX calls: the core's P-Asserted-Identity in the answer is
# hidden, From and To come back as the PBX sent them
cid = "pbx%d@%s" % (random.randrange(10**9), P)
frm, to = "<sip:200@%s>;tag=p2" % P, "<sip:5551234@%s>" % A
pbx.sendto(msg("INVITE sip:5551234@%s:5060 SIP/2.0" % A, [
    "Via: SIP/2.0/UDP %s:5070;branch=%s;rport" % (P, branch()), "Max-Forwards: 70",
    "From: " + frm, "To: " + to, "Call-ID: " + cid, "CSeq: 1 INVITE",
    "Contact: <sip:200@%s:5070>" % P]), (A, 5060))
inv, sbc_core = recv(core, r"INVITE ", "the PBX's INVITE at the core")
assert hdrs(inv, "call-id")[0] != cid and P not in hdrs(inv, "call-id")[0], hdrs(inv, "call-id")
reply(core, sbc_core, 486, "Busy Here", inv, "c2",
      ["P-Asserted-Identity: <sip:+15553000@%s>" % U])
busy, _ = recv(pbx, r"SIP/2.0 486 ", "486 at the PBX")
assert U not in busy and C not in busy, busy
assert hdrs(busy, "p-asserted-identity")[0] == "<sip:+15553000@%s>" % A
assert hdrs(busy, "call-id")[0] == cid, "the PBX's 486 has Call-ID %s" % hdrs(busy, "call-id")
assert hdrs(busy, "from")[0] == frm and hdrs(busy, "to")[0] == to + ";tag=c2", (hdrs(busy, "from"), hdrs(busy, "to"))
# the call ended with the 486 sbcd relayed: polled, a moment at most
end = time.monotonic() + 5
while True:
    calls = subprocess.run([ctl, "-s", sock, "calls"], capture_output=True, text=True).stdout
    if "call " not in calls:
        break
    assert time.monotonic() < end, calls
    time.sleep(0.05)
print("ok")
PY
ok "identities hidden: core addresses in From, To, P-Asserted-Identity and Diversion replaced by sbcd's, Call-IDs masked both ways; the calls work both ways"
sbc_alive
sbc_stop
