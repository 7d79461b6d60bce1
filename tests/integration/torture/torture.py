#!/usr/bin/env python3
"""torture.py: RFC 4475 section 3 against a running sbcd.

Sends each torture message (NAME.dat beside this file) to sbcd's access
side from the declared peer, over UDP or TCP, plays the upstream behind
sbcd, and checks that each comes to what expect.txt says: forwarded (as
sent on, its answer relayed back), answered with a code, the connection
closed, or dropped; and that each malformed one is one sbcd log line and
one security event with rule "invalid".  Over UDP it then plays an RFC 2543
caller: the INVITE again (a retransmission), its CANCEL and the ACK of the
487, all without a branch.  Exit status 0 when all is as expected.

Over UDP some messages share a transaction identifier (branch, sent-by,
CSeq method) with another: sbcd rightly takes the later one for a
retransmission while the earlier one's transaction lives (32 s), so they
go to fresh sbcd runs: "torture.py rounds" prints the names of each run
on a line, and a run is given its names.

usage: torture.py rounds
       torture.py udp|tcp SBCD_ADDR PEER_ADDR UPSTREAM_ADDR SBCD_LOG
                  SECURITY_LOG [NAME...]
"""
import json
import os
import re
import select
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WAIT = 5.0          # bound of every wait for something that must happen
COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
           "l": "content-length", "c": "content-type"}

# What a forwarded message must (and must not) carry, beyond its method
# and Call-ID: the parts sbcd must leave as they were (bytes as they are,
# or a header's value once unfolded).
MUST = {
    "wsinv@notag": [("newfangledheader", "newfangled value continued newfangled value"),
                    ("unknownheaderwithunusualvalue", ";;,,;;,;")],
    "intmeth": [b"!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~"
                b"(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
                b"(doesn't-it)@example.com SIP/2.0\r\n"],
    "esc01": [b"INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\r\n",
              b"<sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>"],
    "escnull": [b"<sip:%00@host5.example.com>", b"<sip:%00%00@host5.example.com>"],
    "esc02": [b"RE%47IST%45R sip:registrar.example.com SIP/2.0\r\n",
              b"C%6Fntact: <sip:alias2@host2.example.com>"],
    "semiuri": [b"OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\n"],
    "transports": [b"SIP/2.0/UNKNOWN t4.example.com"],
    "longreq": [b"Via: SIP/2.0/TCP sip33.example.com;branch=sbc-2543-",
                b"Via: SIP/2.0/TCP sip1.example.com\r\n"],
    "inv2543": [b"Via: SIP/2.0/UDP iftgw.example.com;branch=sbc-2543-"],
}
MUST_NOT = {"dblreq/udp": [b"dblreq.0ha0isnda977644900765"]}
# What an answer of sbcd's must carry (RFC 3261 8.2.2.3)
ANSWER_MUST = {"bext01": ("unsupported", "noProxiesSupportThis, norDoAnyProxiesSupportThis")}
VARIANTS = {"notag": (b";   tag    = 1918181833n", b"")}


def log(*a):
    print("[torture]", *a, flush=True)


class Msg:
    """One SIP message as the driver reads it: start line, headers (names
    lowered, compact forms expanded, folding undone), body."""

    def __init__(self, raw):
        self.raw = raw
        end = raw.find(b"\r\n\r\n")
        head, self.body = (raw, b"") if end < 0 else (raw[:end], raw[end + 4:])
        lines = re.split(rb"\r?\n", head)
        self.start = lines[0].decode("latin-1")
        self.hdrs = []
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t") and self.hdrs:
                n, v = self.hdrs[-1]
                self.hdrs[-1] = (n, v + " " + line.strip().decode("latin-1"))
                continue
            n, _, v = line.decode("latin-1").partition(":")
            n = n.strip().lower()
            self.hdrs.append((COMPACT.get(n, n), v.strip()))
        clen = self.get("content-length")
        if clen is not None and clen.isdigit():
            self.body = self.body[:int(clen)]

    def get(self, name):
        for n, v in self.hdrs:
            if n == name:
                return v
        return None

    def all(self, name):
        return [v for n, v in self.hdrs if n == name]

    @property
    def method(self):
        return self.start.split(" ", 1)[0]

    @property
    def status(self):
        m = re.match(r"SIP/2\.0 (\d{3})", self.start)
        return int(m.group(1)) if m else 0

    def cseq(self):
        return [v.split()[0] if v.split() else "" for v in self.all("cseq")]


def frames(buf):
    """Whole messages at the start of a stream buffer, and the rest."""
    out = []
    while True:
        while buf.startswith(b"\r\n"):
            buf = buf[2:]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out, buf
        m = re.search(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)",
                      buf[:end + 2], re.I)
        n = end + 4 + (int(m.group(1)) if m else 0)
        if len(buf) < n:
            return out, buf
        out.append(Msg(buf[:n]))
        buf = buf[n:]


def answer(req, code, reason, totag="up1"):
    """A response to REQ as a UAS writes it."""
    to = req.get("to") or ""
    if ";tag=" not in to.replace(" ", ""):
        to += ";tag=" + totag
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    lines += ["Via: " + v for v in req.all("via")]
    lines += ["From: " + (req.get("from") or ""), "To: " + to,
              "Call-ID: " + (req.get("call-id") or ""),
              "CSeq: " + (req.get("cseq") or ""), "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode("latin-1")


class Upstream(threading.Thread):
    """The upstream and registrar behind sbcd, UDP and TCP on one address:
    records what it gets; answers INVITE 486 (or, for a Call-ID it is told
    to hold, 180 until a CANCEL comes: then 200 and 487), anything else 200,
    ACK nothing."""

    def __init__(self, addr):
        super().__init__(daemon=True)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(addr)
        self.lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsn.bind(addr)
        self.lsn.listen(16)
        self.conns = {}
        self.got = []
        self.hold = set()
        self.held = {}
        self.lock = threading.Lock()

    def requests(self):
        with self.lock:
            return list(self.got)

    def reply(self, req, data, send):
        with self.lock:
            self.got.append(req)
        if req.method == "ACK":
            return
        cid = req.get("call-id")
        if req.method == "CANCEL" and cid in self.held:
            send(answer(req, 200, "OK"))
            inv, isend = self.held.pop(cid)
            isend(answer(inv, 487, "Request Terminated"))
        elif req.method == "INVITE" and cid in self.hold:
            self.held[cid] = (req, send)
            send(answer(req, 180, "Ringing"))
        elif req.method == "INVITE":
            send(answer(req, 486, "Busy Here"))
        else:
            send(answer(req, 200, "OK"))

    def run(self):
        while True:
            socks = [self.udp, self.lsn] + list(self.conns)
            r, _, _ = select.select(socks, [], [])
            for s in r:
                if s is self.udp:
                    data, src = s.recvfrom(65535)
                    m = Msg(data)
                    if not m.status:
                        self.reply(m, data, lambda d, src=src: self.udp.sendto(d, src))
                elif s is self.lsn:
                    c, _ = s.accept()
                    self.conns[c] = b""
                else:
                    data = s.recv(65535)
                    if not data:
                        del self.conns[s]
                        s.close()
                        continue
                    msgs, self.conns[s] = frames(self.conns[s] + data)
                    for m in msgs:
                        if not m.status:
                            self.reply(m, m.raw, s.sendall)


class Caller:
    """The declared peer: UDP from PEER:5060, also listening on the other
    ports the messages' Vias name (answers without rport go there), or a
    TCP connection of its own per message."""

    def __init__(self, tp, sbc, peer, ports):
        self.tp, self.sbc, self.peer = tp, sbc, peer
        self.socks = []
        for port in [5060] + sorted(ports - {5060}):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((peer, port))
            self.socks.append(s)
        self.udp = self.socks[0]
        self.tcp = None
        self.buf = b""
        self.eof = False
        self.n = 0

    def connect(self):
        if self.tcp:
            self.tcp.close()
        self.tcp = socket.create_connection((self.sbc, 5060), timeout=WAIT,
                                            source_address=(self.peer, 0))
        self.buf, self.eof = b"", False

    def send(self, data):
        if self.tp == "udp":
            self.udp.sendto(data, (self.sbc, 5060))
        else:
            self.tcp.sendall(data)

    def recv(self, until):
        """The next message, or None once UNTIL (a monotonic time) passed
        or the connection ended."""
        while True:
            if self.tp == "udp":
                t = until - time.monotonic()
                r = select.select(self.socks, [], [], t)[0] if t > 0 else []
                if not r:
                    return None
                return Msg(r[0].recvfrom(65535)[0])
            msgs, self.buf = frames(self.buf)
            if msgs:
                self.buf = b"".join(m.raw for m in msgs[1:]) + self.buf
                return msgs[0]
            t = until - time.monotonic()
            if self.eof or t <= 0 or not select.select([self.tcp], [], [], t)[0]:
                return None
            try:
                data = self.tcp.recv(65535)
            except OSError:
                data = b""
            if not data:
                self.eof = True
            self.buf += data

    def closed(self, until):
        """Whether the connection ends (no message before) by UNTIL."""
        while not self.eof and time.monotonic() < until:
            m = self.recv(until)
            if m is not None:
                return False
        return self.eof

    def via(self):
        port = self.tcp.getsockname()[1] if self.tp == "tcp" else 5060
        self.n += 1
        return "Via: SIP/2.0/%s %s:%d;branch=z9hG4bKprobe%d" % (
            self.tp.upper(), self.peer, port, self.n)

    def barrier(self):
        """An OPTIONS to sbcd itself, answered 200 once sbcd handled all
        that came before it from here; returns what arrived meanwhile."""
        cid = "probe%d.%f" % (self.n, time.time())
        self.send(("OPTIONS sip:%s SIP/2.0\r\n%s\r\nFrom: <sip:probe@%s>;tag=p\r\n"
                   "To: <sip:%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
                   "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n" % (
                       self.sbc, self.via(), self.peer, self.sbc, cid)).encode())
        before = []
        until = time.monotonic() + WAIT
        while True:
            m = self.recv(until)
            if m is None:
                raise Failure("no answer to the probe OPTIONS")
            if m.get("call-id") == cid:
                if m.status != 200:
                    raise Failure("probe answered " + m.start)
                return before
            before.append(m)


class Failure(Exception):
    pass


class Logs:
    """New lines of sbcd's log and of its security log."""

    def __init__(self, sbclog, seclog):
        self.files = [sbclog, seclog]
        self.pos = [0, 0]
        self.mark()

    def mark(self):
        self.pos = [os.path.getsize(f) if os.path.exists(f) else 0 for f in self.files]

    def new(self):
        out = []
        for i, f in enumerate(self.files):
            with open(f, "rb") as fh:
                fh.seek(self.pos[i])
                out.append(fh.read().decode("utf-8", "replace").splitlines())
        return out


def ours(m, msg):
    """Whether response M answers torture message MSG."""
    return (m.get("call-id") or "") in (msg.all("call-id") or [""]) and \
        any(c in msg.cseq() for c in m.cseq())


def load(name):
    base, _, var = name.partition("@")
    with open(os.path.join(HERE, base + ".dat"), "rb") as f:
        data = f.read()
    if var:
        old, new = VARIANTS[var]
        assert old in data
        data = data.replace(old, new)
    return data


def requests_in(data, tp):
    """The requests a receiver frames out of DATA: over UDP the first,
    over TCP as many as follow each other."""
    if tp == "udp":
        return [Msg(data)]
    return [m for m in frames(data)[0] if not m.start.startswith("SIP/")]


def check_forwarded(name, tp, want, upstream, seen):
    got = [r for r in upstream.requests()[seen:] if r.method not in ("ACK", "CANCEL")]
    if [(r.method, r.get("call-id")) for r in got] != \
            [(w.method, w.get("call-id")) for w in want]:
        raise Failure("upstream got %s, not %s" % (
            [(r.method, r.get("call-id")) for r in got],
            [(w.method, w.get("call-id")) for w in want]))
    for r, w in zip(got, want):
        ctype = (w.get("content-type") or "").lower()
        if "sdp" not in ctype and r.body != w.body:
            raise Failure("body changed on the way: %r" % r.body[:80])
    for s in MUST.get(name, []) if got else []:
        if (s not in got[0].raw) if isinstance(s, bytes) else \
                (got[0].get(s[0]) != s[1]):
            raise Failure("forwarded without %r" % (s,))
    for s in MUST_NOT.get(name + "/" + tp, []):
        if any(s in r.raw for r in upstream.requests()[seen:]):
            raise Failure("forwarded %r" % s)


def ack(caller, inv, rsp):
    """The ACK of a failure (RFC 3261 17.1.1.3), down the same way."""
    ruri = inv.start.split(" ")[1]
    caller.send(("ACK %s SIP/2.0\r\nVia: %s\r\nFrom: %s\r\nTo: %s\r\n"
                 "Call-ID: %s\r\nCSeq: %s ACK\r\nMax-Forwards: 70\r\n"
                 "Content-Length: 0\r\n\r\n" % (
                     ruri, rsp.all("via")[0], rsp.get("from"), rsp.get("to"),
                     rsp.get("call-id"), rsp.cseq()[0])).encode("latin-1"))


def final_answers(caller, msgs, n):
    """N final answers to the requests MSGS; provisional ones skipped."""
    out = []
    until = time.monotonic() + WAIT
    while len(out) < n:
        m = caller.recv(until)
        if m is None:
            raise Failure("%d final answer(s) missing" % (n - len(out)))
        for w in msgs:
            if m.status >= 200 and ours(m, w):
                out.append((w, m))
                break
    return out


def run_one(name, tp, outcome, event, caller, upstream, logs):
    data = load(name)
    msg = Msg(data)
    if tp == "tcp":
        caller.connect()
    logs.mark()
    seen = len(upstream.requests())
    caller.send(data)

    # OUTCOME: what becomes of each request framed out of it, in order,
    # then maybe the end of the connection
    steps = outcome.replace("+close", ",close").split(",")
    closes = steps[-1] == "close"
    steps = [x for x in steps if x not in ("close", "drop")]
    want = requests_in(data, tp)[:len(steps)]
    fwds = [w for w, x in zip(want, steps) if x in ("fwd", "sent")]
    until = time.monotonic() + WAIT
    while len([r for r in upstream.requests()[seen:] if r.method != "ACK"]) < len(fwds):
        if time.monotonic() > until:
            raise Failure("not forwarded")
        time.sleep(0.02)
    answered = [w for w, x in zip(want, steps) if x != "sent"]
    for w, m in final_answers(caller, answered, len(answered)):
        x = steps[want.index(w)]
        code = (486 if w.method == "INVITE" else 200) if x == "fwd" else int(x)
        if m.status != code:
            raise Failure("answered %s, not %d" % (m.start, code))
        h = ANSWER_MUST.get(name)
        if h and m.get(h[0]) != h[1]:
            raise Failure("answered without %s: %s" % h)
        if x == "fwd" and w.method == "INVITE":
            ack(caller, w, m)
    early = [] if closes else caller.barrier()
    if closes and not caller.closed(time.monotonic() + WAIT):
        raise Failure("connection not closed")
    if any(ours(m, msg) for m in early if m.status >= 200):
        raise Failure("answered: " + [m.start for m in early if ours(m, msg)][0])
    check_forwarded(name, tp, fwds, upstream, seen)
    code = steps[-1] if steps else ""

    lines, events = logs.new()
    invalid = [e for e in (json.loads(x) for x in events) if e.get("rule") == "invalid"]
    said = [l for l in lines if re.search(r" side: (invalid |dropped malformed)", l)]
    ev = event.split("/")[0 if tp == "udp" else -1]
    if ev == "invalid":
        action = "close" if outcome.endswith(",close") or outcome == "close" \
            else code if code.isdigit() else "drop"
        if len(invalid) != 1 or invalid[0].get("action") != action:
            raise Failure("security events %s, not one invalid/%s" % (
                [(e["rule"], e["action"]) for e in invalid], action))
        if len(said) != 1:
            raise Failure("%d log lines about it: %s" % (len(said), said))
        return "%s (%s)" % (outcome, said[0].split(": ", 2)[-1])
    if invalid or said:
        raise Failure("taken for invalid: %s" % (said or invalid))
    if ev != "-" and not any(json.loads(x).get("rule") == ev for x in events):
        raise Failure("no %s security event" % ev)
    return outcome


def rfc2543(caller, upstream):
    """inv2543 as a transaction: a retransmission is absorbed, its CANCEL
    (no branch either) cancels it, the ACK of the 487 ends it."""
    data = load("inv2543").replace(b"inv2543.1717@", b"inv2543.2@")
    inv = Msg(data)
    cid = inv.get("call-id")
    upstream.hold.add(cid)
    seen = len(upstream.requests())
    caller.send(data)
    until = time.monotonic() + WAIT
    while not upstream.held.get(cid):
        if time.monotonic() > until:
            raise Failure("2543 INVITE not forwarded")
        time.sleep(0.02)
    caller.send(data)                      # the retransmission
    caller.barrier()
    if [r.method for r in upstream.requests()[seen:]] != ["INVITE"]:
        raise Failure("2543 retransmission forwarded: %s" %
                      [r.start for r in upstream.requests()[seen:]])
    cancel = data.split(b"\r\n\r\n")[0].replace(b"INVITE sip:", b"CANCEL sip:", 1)
    cancel = cancel.replace(b"CSeq: 56 INVITE", b"CSeq: 56 CANCEL")
    cancel = re.sub(rb"\r\nContent-Type: [^\r]*", b"", cancel) + b"\r\n\r\n"
    caller.send(cancel)
    got = {}
    until = time.monotonic() + WAIT
    while len(got) < 2:
        m = caller.recv(until)
        if m is None:
            raise Failure("2543 CANCEL: only %s" % got)
        if m.get("call-id") == cid and m.status >= 200:
            got[m.get("cseq").split()[-1]] = m
    if got["CANCEL"].status != 200 or got["INVITE"].status != 487:
        raise Failure("2543 CANCEL: %s" % {k: v.start for k, v in got.items()})
    rsp = got["INVITE"]
    to = rsp.get("to")
    caller.send((data.split(b"\r\n\r\n")[0].split(b"\r\n")[0]
                 .replace(b"INVITE", b"ACK", 1) + b"\r\n" +
                 b"Via: SIP/2.0/UDP iftgw.example.com\r\n"
                 b"From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n" +
                 b"To: " + to.encode("latin-1") + b"\r\n" +
                 b"Call-ID: " + cid.encode() + b"\r\nCSeq: 56 ACK\r\n\r\n"))
    caller.barrier()
    acks = [r for r in upstream.requests()[seen:] if r.method == "ACK"]
    if any(len(a.all("via")) > 1 for a in acks):
        raise Failure("2543 ACK of the 487 forwarded, not absorbed")
    upstream.hold.discard(cid)
    return "INVITE forwarded once, CANCEL 200, 487, ACK absorbed"


def table():
    with open(os.path.join(HERE, "expect.txt")) as f:
        return [l.split(None, 4) for l in f if l.strip() and not l.startswith("#")]


def txn_key(msg):
    via = (msg.all("via") or [""])[0].split(",")[0]
    m = re.search(r";\s*branch\s*=\s*([^;\s]+)", via)
    sentby = re.sub(r"\s", "", via.split(";")[0])
    return (m.group(1) if m else None, sentby.lower(),
            ((msg.get("cseq") or "").split() + [""])[-1])


def rounds():
    """Rows in runs without two of one transaction identifier."""
    out = []
    for row in table():
        key = txn_key(Msg(load(row[0])))
        for r in out:
            if key[0] is None or key not in r[1]:
                r[0].append(row[0])
                r[1].add(key)
                break
        else:
            out.append(([row[0]], {key}))
    for names, _ in out:
        print(" ".join(names))
    return 0


def main():
    if sys.argv[1] == "rounds":
        return rounds()
    tp, sbc, peer, up, sbclog, seclog = sys.argv[1:7]
    only = set(sys.argv[7:])
    rows = [r for r in table() if not only or r[0] in only]
    ports = set()
    for r in rows:
        m = re.search(r":(\d+)$", txn_key(Msg(load(r[0])))[1])
        ports.add(int(m.group(1)) if m else 5060)
    upstream = Upstream((up, 5080))
    upstream.start()
    caller = Caller(tp, sbc, peer, ports)
    logs = Logs(sbclog, seclog)
    failed = 0
    for name, udp, tcp, event, why in rows:
        outcome = udp if tp == "udp" else tcp
        try:
            log("ok %-12s %s" % (name, run_one(name, tp, outcome, event, caller,
                                                upstream, logs)))
        except (Failure, OSError) as e:
            failed += 1
            log("FAIL %-12s want %s: %s  [RFC 4475 %s]" % (name, outcome, e, why.strip()))
    if tp == "udp" and (not only or "inv2543" in only):
        try:
            log("ok rfc2543 transaction: " + rfc2543(caller, upstream))
        except (Failure, OSError) as e:
            failed += 1
            log("FAIL rfc2543 transaction: %s" % e)

    # every line of sbcd's log is sbcd's, none libre's own print
    with open(sbclog, "rb") as f:
        raw = [l for l in f.read().decode("utf-8", "replace").splitlines()
               if not re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z sbcd\[\d+\]: \w+: ", l)]
    if raw:
        failed += 1
        log("FAIL unformatted lines in sbcd's log: %s" % raw[:3])
    n = len(rows) + (tp == "udp" and (not only or "inv2543" in only)) + 1
    log("%d passed, %d failed" % (n - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
