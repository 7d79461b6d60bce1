#!/bin/bash
# Subscription dialogs (SUBSCRIBE, RFC 6665) are tracked like calls, not
# counted: a PBX behind a topology-hidden peer subscribes through sbcd;
# the core's NOTIFY reaches the PBX; the PBX's refresh, sent to the
# Contact it saw (sbcd's), reaches the core's real target; an in-dialog
# NOTIFY of a subscription sbcd never saw gets 481.  The NOTIFYs of an
# out-of-dialog REFER (its implicit subscription) pass the same way.
. "$(dirname "$0")/lib.sh"

PEERS="[peer pbx]
addr = $P"
sbc_conf
sbc_start
python3 - "$SBCCTL" "$W/sbcd.sock" "$A" "$C" "$P" "$U" > "$W/sub.txt" 2>&1 <<'PY' \
	|| fail "subscription: $(tail -5 "$W/sub.txt")"
import random, re, socket, subprocess, sys
ctl, sock, A, C, P, U = sys.argv[1:7]
core, pbx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
core.bind((U, 5080)); pbx.bind((P, 5070)); core.settimeout(3); pbx.settimeout(3)
br = lambda: "z9hG4bK%d" % random.randrange(10**12)

def msg(first, h):
    return ("%s\r\n%sContent-Length: 0\r\n\r\n" % (first, "".join(x + "\r\n" for x in h))).encode()

def recv(s, want, what):
    while True:
        d, f = s.recvfrom(65535)
        t = d.decode()
        if t.startswith("SIP/2.0 100 "):
            continue
        assert re.match(want, t), "%s: got %r" % (what, t[:70])
        return t, f

def hdrs(t, n):
    return [l.split(":", 1)[1].strip() for l in t.split("\r\n\r\n")[0].split("\r\n")[1:]
            if l.split(":", 1)[0].strip().lower() == n]

def reply(s, dst, req, code, extra=()):
    h = ["Via: " + v for v in hdrs(req, "via")] + ["Record-Route: " + v for v in hdrs(req, "record-route")]
    h += ["From: " + hdrs(req, "from")[0], "To: " + hdrs(req, "to")[0] + ("" if ";tag=" in hdrs(req, "to")[0] else ";tag=n1"),
          "Call-ID: " + hdrs(req, "call-id")[0], "CSeq: " + hdrs(req, "cseq")[0]] + list(extra)
    s.sendto(msg("SIP/2.0 %d OK" % code, h), dst)

def calls():
    return subprocess.run([ctl, "-s", sock, "calls"], capture_output=True, text=True).stdout

cid = "sub%d@%s" % (random.randrange(10**9), P)
frm, to = "<sip:100@%s>;tag=s1" % P, "<sip:200@%s>" % A
pbx.sendto(msg("SUBSCRIBE sip:200@%s SIP/2.0" % A, ["Via: SIP/2.0/UDP %s:5070;branch=%s" % (P, br()),
    "Max-Forwards: 70", "From: " + frm, "To: " + to, "Call-ID: " + cid, "CSeq: 1 SUBSCRIBE",
    "Contact: <sip:100@%s:5070>" % P, "Event: dialog", "Expires: 600"]), (A, 5060))
sub, sbc_core = recv(core, r"SUBSCRIBE ", "SUBSCRIBE at the core")
core_rr = hdrs(sub, "record-route")
reply(core, sbc_core, sub, 200, ["Contact: <sip:200@%s:5080>" % U, "Expires: 600"])
ok, sbc_acc = recv(pbx, r"SIP/2.0 200 ", "200 at the PBX")
assert U not in ok, "the core's address reached the PBX"
assert " state confirmed " in calls(), calls()
assert "calls pbx" not in calls(), "a subscription counted as a call: " + calls()

# the core notifies along the route set it recorded
core.sendto(msg("NOTIFY sip:100@%s:5070 SIP/2.0" % P, ["Via: SIP/2.0/UDP %s:5080;branch=%s" % (U, br()),
    "Max-Forwards: 70"] + ["Route: " + r for r in core_rr] + ["From: <sip:200@%s>;tag=n1" % U,
    "To: " + frm, "Call-ID: " + cid, "CSeq: 1 NOTIFY", "Contact: <sip:200@%s:5080>" % U,
    "Event: dialog", "Subscription-State: active;expires=600"]), (C, 5060))
notify, _ = recv(pbx, r"NOTIFY ", "NOTIFY at the PBX")
assert U not in notify.split("\r\n\r\n")[0].replace("Call-ID", ""), notify
reply(pbx, sbc_acc, notify, 200)
recv(core, r"SIP/2.0 200 ", "200 to the NOTIFY at the core")

# the PBX refreshes towards the Contact it saw: sbcd's
target = re.search(r"<([^>]+)>", hdrs(ok, "contact")[0]).group(1)
assert A in target, target
rr = list(reversed(hdrs(ok, "record-route")))
pbx.sendto(msg("SUBSCRIBE %s SIP/2.0" % target, ["Via: SIP/2.0/UDP %s:5070;branch=%s" % (P, br()),
    "Max-Forwards: 70"] + ["Route: " + r for r in rr] + ["From: " + frm, "To: " + to + ";tag=n1",
    "Call-ID: " + cid, "CSeq: 2 SUBSCRIBE", "Contact: <sip:100@%s:5070>" % P, "Event: dialog",
    "Expires: 600"]), (A, 5060))
ref, sbc_core = recv(core, r"SUBSCRIBE ", "the refresh at the core")
assert ref.startswith("SUBSCRIBE sip:200@%s:5080 " % U), ref.split("\r\n")[0]
reply(core, sbc_core, ref, 200, ["Contact: <sip:200@%s:5080>" % U, "Expires: 600"])
recv(pbx, r"SIP/2.0 200 ", "200 to the refresh at the PBX")

# an in-dialog NOTIFY of a subscription sbcd never saw
pbx.sendto(msg("NOTIFY sip:200@%s:5080 SIP/2.0" % U, ["Via: SIP/2.0/UDP %s:5070;branch=%s" % (P, br()),
    "Max-Forwards: 70", "Route: <sip:%s:5060;lr>" % A, "From: <sip:100@%s>;tag=x1" % P,
    "To: <sip:200@%s>;tag=x2" % U, "Call-ID: forged%d" % random.randrange(10**9), "CSeq: 1 NOTIFY",
    "Event: dialog", "Subscription-State: active"]), (A, 5060))
recv(pbx, r"SIP/2.0 481 ", "a forged in-dialog NOTIFY")
try:
    d, _ = core.recvfrom(65535)
    sys.exit("the forged NOTIFY reached the core: " + d.decode().split("\r\n")[0])
except socket.timeout:
    pass

# the core REFERs the PBX out of a dialog (RFC 3515): the PBX's NOTIFYs
# about the transfer belong to the REFER's implicit subscription
rcid = "refer%d@%s" % (random.randrange(10**9), U)
core.sendto(msg("REFER sip:100@%s:5070 SIP/2.0" % P, ["Via: SIP/2.0/UDP %s:5080;branch=%s" % (U, br()),
    "Route: <sip:%s:5060;lr>, <sip:%s:5070;lr>" % (C, P), "Max-Forwards: 70",
    "From: <sip:200@%s>;tag=r1" % U, "To: <sip:100@%s>" % P, "Call-ID: " + rcid, "CSeq: 1 REFER",
    "Contact: <sip:200@%s:5080>" % U, "Refer-To: <sip:300@example.com>"]), (C, 5060))
refer, sbc_acc = recv(pbx, r"REFER ", "REFER at the PBX")
reply(pbx, sbc_acc, refer, 202, ["Contact: <sip:100@%s:5070>" % P])
recv(core, r"SIP/2.0 202 ", "202 at the core")
rtarget = re.search(r"<([^>]+)>", hdrs(refer, "contact")[0]).group(1)
pbx.sendto(msg("NOTIFY %s SIP/2.0" % rtarget, ["Via: SIP/2.0/UDP %s:5070;branch=%s" % (P, br()),
    "Max-Forwards: 70"] + ["Route: " + r for r in hdrs(refer, "record-route")] + [
    "From: <sip:100@%s>;tag=n1" % P, "To: " + hdrs(refer, "from")[0], "Call-ID: " + hdrs(refer, "call-id")[0],
    "CSeq: 1 NOTIFY", "Event: refer", "Subscription-State: terminated;reason=noresource",
    "Content-Type: message/sipfrag"]), (A, 5060))
rn, sbc_core = recv(core, r"NOTIFY ", "the PBX's NOTIFY at the core")
assert rn.startswith("NOTIFY sip:200@%s:5080 " % U), rn.split("\r\n")[0]
reply(core, sbc_core, rn, 200)
recv(pbx, r"SIP/2.0 200 ", "200 to the PBX's NOTIFY")
print("ok")
PY
ok "subscription through a hidden peer: NOTIFY delivered, refresh routed to the core's real target, not a call; a forged in-dialog NOTIFY gets 481"
sbc_alive
sbc_stop
