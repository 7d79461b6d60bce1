#!/bin/bash
# Responses on the access side go back to where the request came from
# (symmetric_responses = yes, the default), even without rport in the
# Via, as NATed customers need: a caller sends from port X with a Via
# sent-by port Y and no rport, and every answer comes back to X: local
# ones (a stateless 200 to OPTIONS, 403 to a REGISTER, 100 Trying of the
# INVITE transaction), relayed ones (180, 200, the 200 to its BYE), the
# callee's 2xx retransmission sbcd passes on statelessly by the Via it
# forwarded (which carries rport for it), and the 200 to its CANCEL and
# the 487.  After `sbcctl reload` with symmetric_responses = no, the
# same exchanges follow RFC 3261 18.2.2: everything goes to Y.  The
# callee, played here on the core side, answers as a UAS would.  The
# 400 sbcd's own framing gives what libre cannot decode goes where the
# same rules say, on either side.
. "$(dirname "$0")/lib.sh"

ctl() { "${SBCCTL:?}" -s "$W/sbcd.sock" "$@"; }
sbc_conf "control_socket = $W/sbcd.sock"
sbc_start

cat > "$W/sym.py" <<'PY'
import select, socket, sys, threading, time

mode, A, U, P = sys.argv[1:5]
X, Y = 5071, 5072           # the caller sends from X, its Via says Y
want, other = ("X", "Y") if mode == "yes" else ("Y", "X")
stop = threading.Event()


def udp(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    return s


def parse(data):
    head = data.decode(errors="replace").split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    hdrs = []
    for line in lines[1:]:
        name, _, val = line.partition(":")
        hdrs.append((name.strip().lower(), val.strip()))
    return lines[0], hdrs


def hdr(hdrs, name):
    return [v for n, v in hdrs if n == name]


# --- the callee (core side): 180 then 200 (retransmitted until the ACK),
# or for sip:ring@ only 180 and then 200/487 to a CANCEL
su = udp(U, 5080)
seen = []                   # the requests the callee got


def uas():
    invites, unacked = {}, {}
    su.settimeout(0.05)
    while not stop.is_set():
        now = time.monotonic()
        for cid, (pkt, dst, due, n) in list(unacked.items()):
            if now >= due and n < 8:
                su.sendto(pkt, dst)
                unacked[cid] = (pkt, dst, now + 0.5, n + 1)
        try:
            data, src = su.recvfrom(65535)
        except socket.timeout:
            continue
        first, hs = parse(data)
        if first.startswith("SIP/2.0"):
            continue
        seen.append((first, hs))
        met, cid = first.split()[0], hdr(hs, "call-id")[0]

        def reply(code, reason, req=hs, cseq=None, ringing=False):
            to = hdr(req, "to")[0]
            lines = ["SIP/2.0 %d %s" % (code, reason)]
            lines += ["Via: " + v for v in hdr(req, "via")]
            lines += ["From: " + hdr(req, "from")[0],
                      "To: " + to + ("" if "tag=" in to else ";tag=callee1"),
                      "Call-ID: " + cid,
                      "CSeq: " + (cseq or hdr(req, "cseq")[0])]
            lines += ["Record-Route: " + v for v in hdr(req, "record-route")]
            lines += ["Contact: <sip:callee@%s:5080>" % U,
                      "Content-Length: 0", "", ""]
            pkt = "\r\n".join(lines).encode()
            su.sendto(pkt, src)
            return pkt

        if met == "INVITE":
            invites[cid] = hs
            reply(180, "Ringing")
            if not first.startswith("INVITE sip:ring@"):
                pkt = reply(200, "OK")
                unacked[cid] = (pkt, src, time.monotonic() + 0.5, 0)
        elif met == "ACK":
            unacked.pop(cid, None)
        elif met == "BYE":
            reply(200, "OK")
        elif met == "CANCEL":
            reply(200, "OK")
            inv = invites[cid]
            num = hdr(inv, "cseq")[0].split()[0]
            reply(487, "Request Terminated", req=inv, cseq=num + " INVITE")


threading.Thread(target=uas, daemon=True).start()

# --- the caller (access side)
sx, sy = udp(P, X), udp(P, Y)
socks = {"X": sx, "Y": sy}
got = {"X": [], "Y": []}    # responses not yet taken, per socket
n = 0


def new_id():
    global n
    n += 1
    return "%s-%d-%d" % (mode, n, time.monotonic_ns())


def send(met, ruri, cid, cseq, branch, to=None, route=(), ftag="c1"):
    lines = ["%s %s SIP/2.0" % (met, ruri),
             "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s" % (P, Y, branch),
             "Max-Forwards: 70",
             "From: <sip:caller@%s>;tag=%s" % (P, ftag),
             "To: " + (to or "<%s>" % ruri),
             "Call-ID: " + cid,
             "CSeq: %d %s" % (cseq, met),
             "Contact: <sip:caller@%s:%d>" % (P, Y)]
    lines += ["Route: " + r for r in route]
    lines += ["Content-Length: 0", "", ""]
    sx.sendto("\r\n".join(lines).encode(), (A, 5060))


def pump(timeout):
    r, _, _ = select.select([sx, sy], [], [], timeout)
    for s in r:
        data, _ = s.recvfrom(65535)
        first, hs = parse(data)
        got["X" if s is sx else "Y"].append((first, hs))


def expect(code, met, cid, timeout=5.0):
    """The response CODE to MET of call CID, on the socket it must reach."""
    end = time.monotonic() + timeout
    while True:
        for i, (first, hs) in enumerate(got[want]):
            if (first.split()[1] == str(code) and hdr(hs, "call-id")[0] == cid
                    and hdr(hs, "cseq")[0].split()[1] == met):
                del got[want][i]
                return hs
        left = end - time.monotonic()
        if left <= 0:
            sys.exit("%s: no %d to %s on %s (%s got %s)" % (
                mode, code, met, want, other,
                [f for f, _ in got[other]]))
        pump(left)


# local, stateless: OPTIONS to sbcd itself, REGISTER without registrar
cid = new_id()
send("OPTIONS", "sip:%s:5060" % A, cid, 1, cid)
expect(200, "OPTIONS", cid)
cid = new_id()
send("REGISTER", "sip:%s" % A, cid, 1, cid)
expect(403, "REGISTER", cid)
print("%s: local answers (200 to OPTIONS, 403 to REGISTER) on %s" % (mode, want))

# a call: 100 (local), 180 and 200 (relayed), the callee's 2xx
# retransmission (stateless, by the Via sbcd forwarded), then ACK and BYE
cid = new_id()
ruri = "sip:5551234@%s:5060" % A
send("INVITE", ruri, cid, 1, cid + "i")
expect(100, "INVITE", cid)
expect(180, "INVITE", cid)
ok = expect(200, "INVITE", cid)
expect(200, "INVITE", cid)
to = hdr(ok, "to")[0]
route = hdr(ok, "record-route")
target = hdr(ok, "contact")[0].strip("<>")
send("ACK", target, cid, 1, cid + "a", to=to, route=route)
send("BYE", target, cid, 2, cid + "b", to=to, route=route)
expect(200, "BYE", cid)
inv = [hs for f, hs in seen if f.startswith("INVITE") and hdr(hs, "call-id")[0] == cid]
client_via = hdr(inv[0], "via")[1]
if mode == "yes":
    assert ";received=%s;rport=%d" % (P, X) in client_via, client_via
else:
    assert "rport" not in client_via and "received" not in client_via, client_via
print("%s: call: 100, 180, 200, its retransmission and the 200 to BYE on %s;"
      " the callee saw the caller's Via %s" % (mode, want, client_via))

# a cancelled call: 200 to the CANCEL, 487 to the INVITE
cid = new_id()
ruri = "sip:ring@%s:5060" % A
send("INVITE", ruri, cid, 1, cid + "i")
expect(180, "INVITE", cid)
send("CANCEL", ruri, cid, 1, cid + "i")
expect(200, "CANCEL", cid)
r487 = expect(487, "INVITE", cid)
send("ACK", ruri, cid, 1, cid + "i", to=hdr(r487, "to")[0])
print("%s: cancelled call: 200 to CANCEL and 487 on %s" % (mode, want))

# nothing went to the other port: all of it was sent before the last
# answer above reached its port, so it is queued by now.  libre answers
# a CANCEL itself, where the RFCs say, before sbcd repeats it at X.
pump(0)
while select.select([sx, sy], [], [], 0)[0]:
    pump(0)
stray = [f for f, hs in got[other]
         if not (mode == "yes" and hdr(hs, "cseq")[0].endswith(" CANCEL"))]
if stray:
    sys.exit("%s: answers on %s too: %s" % (mode, other, stray))
stop.set()
print("%s: nothing on %s" % (mode, other))
PY

python3 "$W/sym.py" yes "$A" "$U" "$P" || fail "symmetric_responses = yes"
ok "symmetric_responses = yes: every answer at the source port, none at the Via's"

sbc_set "symmetric_responses = no"
sbc_write_conf
ctl reload | grep -q '^OK' || fail "reload refused"
python3 "$W/sym.py" no "$A" "$U" "$P" || fail "symmetric_responses = no"
ok "symmetric_responses = no: every answer at the Via's port (RFC 3261 18.2.2)"

# What libre cannot decode (a From with an http: URI, RFC 4475 3.3.4's
# kind) is answered 400 by sbcd's own framing (wire.c): on the core side
# by the RFCs like every other answer (the Via's port; the source port
# with rport), on the access side as symmetric_responses says.
cat > "$W/raw400.py" <<'PY'
import socket, sys
src_ip, dst_ip, rport, want = sys.argv[1], sys.argv[2], sys.argv[3] == "rport", sys.argv[4]
X, Y = 5073, 5074       # sent from X, the Via says Y
sx, sy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sx.bind((src_ip, X))
sy.bind((src_ip, Y))
cid = "raw400-%s-%s" % (sys.argv[3], want)
msg = ("OPTIONS sip:%s:5060 SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s%s\r\n"
       "From: <http://example.com/x>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: %s\r\n"
       "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
       % (dst_ip, src_ip, Y, cid, ";rport" if rport else "", dst_ip, cid)).encode()
sx.sendto(msg, (dst_ip, 5060))
socks = {"X": sx, "Y": sy}
socks[want].settimeout(3)
data = socks[want].recv(65535).decode(errors="replace")
assert data.startswith("SIP/2.0 400"), data
other = socks["Y" if want == "X" else "X"]
other.settimeout(0.3)
try:
    stray = other.recv(65535)
    sys.exit("also an answer at the other port: %r" % stray[:60])
except socket.timeout:
    pass
PY
python3 "$W/raw400.py" "$U" "$C" norport Y || fail "core side, no rport: the 400 not at the Via's port"
python3 "$W/raw400.py" "$U" "$C" rport X || fail "core side, rport: the 400 not at the source port"
python3 "$W/raw400.py" "$P" "$A" norport Y || fail "access side, symmetric_responses = no: the 400 not at the Via's port"
sbc_set "symmetric_responses = yes"
sbc_write_conf
ctl reload | grep -q '^OK' || fail "reload refused"
python3 "$W/raw400.py" "$P" "$A" norport X || fail "access side, symmetric_responses = yes: the 400 not at the source port"
ok "an undecodable request's 400: core side at the Via's port (the source port with rport), access side as symmetric_responses says"

sbc_alive
sbc_stop
