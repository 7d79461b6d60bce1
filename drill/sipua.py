#!/usr/bin/python3
"""sipua.py: the SIP test user agent of sbc's cluster tests and failover drills.

Why not sipp: Debian 12's sipp has no TLS, and a failover of sbcd takes the
TCP/TLS connections with it: the active node dies, the service address
moves to the standby, and the client's next write on its old connection
gets a reset.  A caller must then connect again to the same address and
send its pending and next in-dialog requests on the new connection, and a
callee must take requests on connections it did not open.  This UA does
that, over UDP, TCP and TLS, for many calls at once, in one thread (one
selector), every loop bounded by time (--max bounds the whole run).

Two roles, one process each:
  sipua.py uas --listen IP:PORT --transports udp,tcp,tls --media-ip IP
               --out FILE --max S [--cert F --key F --tls-port P]
               [--bye-fraction F --bye-after S]
      answers every INVITE 100/180/200 with SDP, takes the ACK, answers
      in-dialog requests and BYE, and hangs up a share of the calls itself.
  sipua.py uac --target IP:PORT --transport udp|tcp|tls --local-ip IP
               --calls N --rate R --media-ip IP --out FILE --hold S --max S
               [--ca F --tls-name NAME --bye-fraction F --reinvite-at S]
      places N calls, ACKs, optionally re-INVITEs, hangs up its share.
Both roles also take [--hangup-file F] (hang up this end's share of the
calls once F exists, instead of after --hold/--bye-after) and
[--stop-file F] (end the run once F exists): triggers that work where a
signal cannot reach, e.g. a callee sbc-drill runs on another host.

Connections: a request goes over UDP, or on its call's TCP/TLS connection
while that lives, else on a new one to its next hop (the first Route, else
the remote target: loose routing).  Our outbound connections start from
our own listening port (SO_REUSEPORT), so that a peer that looks up a
connection by our Contact address finds the one we opened.  A connection
that fails (reset, EOF, write error, refused) makes every request still
waiting for its answer go again on a new connection, every 0.2 s for up
to 60 s; a UAC also reconnects at once while it has calls up, and its
keep-alive pings (--keepalive) make it notice a connection that a
failover took away before a request needs it.  Responses go back on the
connection the request came on (over UDP to the top Via's received and
rport, else sent-by).

Which end hangs up a call: the UAC decides with its --bye-fraction (call i
of N is the callee's when floor(i*F) > floor((i-1)*F): every 2nd for 0.5)
and says so in the INVITE (X-Sipua-Hangup: caller|callee), so that calls of
several UACs interleaved at one UAS still agree.  A UAS honours that header;
for INVITEs without it (another UA), it applies its own --bye-fraction to
its calls by arrival order.

Output (--out FILE, rewritten as calls change state and at the end), one
line per call:
  CALLID state=calling|answered|ended|failed ended_by=caller|callee|-
         bye_code=CODE|- media=IP:PORT|- reinvite=CODE|- code=CODE|-
         t_invite=EPOCH.mmm
media is the far side's SDP address as this end saw it (UAC: the 200's SDP,
UAS: the INVITE's), bye_code the final answer to the BYE that ended the
call (sent or received), code the INVITE's final answer, t_invite the
wall-clock time the INVITE was sent (UAC) or came (UAS): sbc-drill sorts
its new calls into before, during and after a fault by it.  On stdout at the
end: "calls N answered N ended N failed N" (answered counts every call
that got a 2xx, ended ones included).  Exit code 0 when every call was
answered, ended with a 200 to its BYE, and (when asked) got 200 to its
re-INVITE; else 1; 2 for a usage or start-up error.

Signals: SIGTERM/SIGINT end the run (the file and summary are written);
SIGUSR1 makes a UAC re-INVITE every call that is up now (the failover
test's proof that the calls survived); SIGUSR2 makes a UAC place no more
calls: the run ends once those placed have ended (sbc-drill's stream of
new calls runs until the drill is over, not for a fixed number).
"""
import argparse
import errno
import heapq
import os
import random
import re
import selectors
import signal
import socket
import ssl
import sys
import time
import traceback

T1 = 0.5            # RFC 3261 timer T1: first UDP retransmission
T2 = 4.0            # RFC 3261 timer T2: cap for non-INVITE retransmissions
TXN_TIMEOUT = 64 * T1   # timers B and F: a transaction gives up after 32 s
RECONNECT_EVERY = 0.2   # a failed TCP/TLS connection is retried this often
RECONNECT_MAX = 60.0    # ... for at most this long
FILE_CHECK_EVERY = 0.1  # how often --hangup-file and --stop-file are looked for
CONNECT_TIMEOUT = 2.0   # a SYN or a TLS handshake left unanswered
MAX_HEADER = 65536      # a stream sending more without a blank line is junk
EV_R, EV_W = selectors.EVENT_READ, selectors.EVENT_WRITE

# ---------------------------------------------------------------- messages

COMPACT = {"i": "call-id", "m": "contact", "f": "from", "t": "to",
           "v": "via", "l": "content-length", "c": "content-type",
           "k": "supported", "s": "subject", "e": "content-encoding",
           "o": "event", "r": "refer-to"}
NAMES = {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate":
         "WWW-Authenticate", "record-route": "Record-Route"}


def hkey(name):
    """Header name -> lower-case long form (compact forms expanded)."""
    n = name.strip().lower()
    return COMPACT.get(n, n)


def hname(key):
    return NAMES.get(key, "-".join(p.capitalize() for p in key.split("-")))


def split_commas(value):
    """Split a header value at the commas that separate its values (not
    those inside quotes or <...>, which a URI or display name may hold)."""
    out, cur, quote, angle = [], [], False, False
    for ch in value:
        if ch == '"':
            quote = not quote
        elif not quote and ch in "<>":
            angle = ch == "<"
        elif ch == "," and not quote and not angle:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return [v for v in out if v]


class SipMsg:
    """A SIP request or response: start line, headers in order, body."""

    def __init__(self, start, headers=None, body=b""):
        self.start = start
        self.headers = headers if headers is not None else []
        self.body = body

    @property
    def is_request(self):
        return not self.start.startswith("SIP/2.0 ")

    @property
    def method(self):
        return self.start.split(" ", 1)[0] if self.is_request else self.cseq()[1]

    @property
    def ruri(self):
        return self.start.split(" ")[1]

    @property
    def code(self):
        return int(self.start.split(" ")[1])

    def get(self, key):
        for k, v in self.headers:
            if k == key:
                return v
        return None

    def values(self, key):
        """Every value of a header, lines and comma lists flattened."""
        out = []
        for k, v in self.headers:
            if k == key:
                out.extend(split_commas(v))
        return out

    def add(self, key, value):
        self.headers.append((hkey(key), value))

    def cseq(self):
        num, _, meth = (self.get("cseq") or "0 ?").partition(" ")
        return int(num), meth.strip()

    def branch(self):
        vias = self.values("via")
        return parse_via(vias[0])["params"].get("branch", "") if vias else ""

    def encode(self):
        lines = [self.start]
        lines += ["%s: %s" % (hname(k), v) for k, v in self.headers
                  if k != "content-length"]
        lines.append("Content-Length: %d" % len(self.body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def parse_msg(data):
    """Bytes -> SipMsg; ValueError when it is not SIP."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    start = lines[0].strip()
    if not (start.startswith("SIP/2.0 ") or start.endswith(" SIP/2.0")):
        raise ValueError("not a SIP start line: %r" % start[:60])
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:   # folded line
            headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if colon:
            headers.append((hkey(name), value.strip()))
    msg = SipMsg(start, headers, body)
    clen = msg.get("content-length")
    if clen is not None and clen.isdigit():
        msg.body = body[:int(clen)]
    for key in ("via", "call-id", "cseq", "from", "to"):
        if msg.get(key) is None:
            raise ValueError("no %s header" % key)
    return msg


def parse_params(parts):
    out = {}
    for p in parts:
        k, _, v = p.strip().partition("=")
        if k:
            out[k.lower()] = v.strip()
    return out


def split_hostport(hp, default=None):
    hp = hp.strip()
    if hp.startswith("["):                      # [IPv6]:port
        host, _, rest = hp[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hp.partition(":")
    return host, int(port) if port.isdigit() else default


def parse_via(v):
    proto, _, rest = v.strip().partition(" ")
    parts = rest.strip().split(";")
    host, port = split_hostport(parts[0])
    return {"tp": proto.split("/")[-1].strip().lower(), "host": host,
            "port": port, "params": parse_params(parts[1:])}


def parse_uri(uri):
    """sip:user@host:port;params -> dict (headers after '?' dropped)."""
    scheme, _, rest = uri.strip().partition(":")
    parts = rest.split("?", 1)[0].split(";")
    user, at, hp = parts[0].rpartition("@")
    host, port = split_hostport(hp)
    return {"scheme": scheme.lower(), "user": user if at else None,
            "host": host, "port": port, "params": parse_params(parts[1:])}


def addr_uri(value):
    """The URI of a name-addr (<...>) or an addr-spec."""
    if "<" in value:
        return value[value.index("<") + 1:value.index(">")]
    return value.split(";")[0].strip()


def addr_params(value):
    rest = value[value.index(">") + 1:] if "<" in value else value
    return parse_params(rest.split(";")[1:])


def tag_of(value):
    return addr_params(value or "").get("tag")


def uri_dest(uri):
    """Where a request to URI goes: (transport, (host, port))."""
    u = parse_uri(uri)
    tp = u["params"].get("transport", "").lower()
    if not tp:
        tp = "tls" if u["scheme"] == "sips" else "udp"
    port = u["port"] or (5061 if tp == "tls" else 5060)
    return tp, (u["host"], port)


def sdp_media(body):
    """IP:PORT of the audio stream of an SDP body, or '-'."""
    text = body.decode("utf-8", "replace")
    c = re.findall(r"^c=IN IP[46] (\S+)", text, re.M)
    m = re.search(r"^m=audio (\d+)", text, re.M)
    if not c or not m:
        return "-"
    # a media-level c= (after the m= line) wins over the session's
    after = re.findall(r"^c=IN IP[46] (\S+)", text[m.start():], re.M)
    return "%s:%s" % ((after or c)[0], m.group(1))


def make_sdp(ip, port, sess):
    fam = "IP6" if ":" in ip else "IP4"
    lines = ["v=0", "o=sipua %d 1 IN %s %s" % (sess, fam, ip), "s=sipua",
             "c=IN %s %s" % (fam, ip), "t=0 0",
             "m=audio %d RTP/AVP 0" % port, "a=rtpmap:0 PCMU/8000",
             "a=ptime:20", "a=sendrecv", ""]
    return "\r\n".join(lines).encode()


def token(n=8):
    return "%0*x" % (n, random.getrandbits(4 * n))


def synthetic(code, reason):
    """A response made up locally: 408 for a timeout, 503 for a
    transport that stayed down (RFC 3261 §8.1.3.1)."""
    return SipMsg("SIP/2.0 %d %s" % (code, reason))


def ip_port(s):
    host, port = split_hostport(s)
    if port is None:
        raise argparse.ArgumentTypeError("expected IP:PORT, got %r" % s)
    return host, port


def family(ip):
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


# ---------------------------------------------------------------- timers

class Timers:
    """One heap of callbacks; a handle cancels by clearing its callback."""

    def __init__(self, guard):
        self.heap = []
        self.seq = 0
        self.guard = guard      # runs a callback, reporting its exceptions

    def at(self, delay, fn):
        self.seq += 1
        h = [time.monotonic() + delay, self.seq, fn]
        heapq.heappush(self.heap, h)
        return h

    @staticmethod
    def cancel(h):
        if h:
            h[2] = None

    def next_delay(self):
        while self.heap and self.heap[0][2] is None:
            heapq.heappop(self.heap)
        return self.heap[0][0] - time.monotonic() if self.heap else 3600.0

    def run_due(self):
        """Run what is due now; what those callbacks schedule waits for the
        next turn, so one turn is bounded."""
        now = time.monotonic()
        due = []
        while self.heap and self.heap[0][0] <= now:
            due.append(heapq.heappop(self.heap))
        for h in due:
            if h[2]:
                fn, h[2] = h[2], None
                self.guard(fn)


# ---------------------------------------------------------------- transport

class Src:
    """Where a message came from: its transport, address and connection
    (None for UDP); a response goes back the same way."""

    def __init__(self, tp, addr, conn=None):
        self.tp, self.addr, self.conn = tp, addr, conn


class Conn:
    """A TCP or TLS connection, opened by us (outbound) or accepted.
    Non-blocking throughout: connect, TLS handshake, reads and writes are
    driven by the selector; what is sent before it is open waits in wbuf."""

    def __init__(self, net, tp, sock, peer, outbound):
        self.net, self.tp, self.sock, self.peer = net, tp, sock, peer
        self.outbound = outbound
        self.state = "connecting" if outbound else "open"
        self.rbuf, self.wbuf = bytearray(), bytearray()
        self.mask = 0
        self.hs_want = EV_R
        self.timer = None
        self.name = "%s %s:%d" % (tp, peer[0], peer[1])

    @property
    def alive(self):
        return self.state != "closed"

    def register(self):
        self.mask = self.want()
        self.net.sel.register(self.sock, self.mask, self.on_event)

    def want(self):
        if self.state == "connecting":
            return EV_W
        if self.state == "handshake":
            return self.hs_want
        return EV_R | (EV_W if self.wbuf else 0)

    def update(self):
        m = self.want()
        if self.state != "closed" and m != self.mask:
            self.net.sel.modify(self.sock, m, self.on_event)
            self.mask = m

    def on_event(self, mask):
        if self.state == "connecting":
            self.connected()
        elif self.state == "handshake":
            self.handshake()
        else:
            if mask & EV_R:
                self.read()
            if self.state == "open" and mask & EV_W:
                self.flush()
        self.update()

    def connected(self):
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.close("connect: %s" % os.strerror(err))
        elif self.tp == "tls":
            self.start_tls(self.net.client_ctx, False)
        else:
            self.opened()

    def start_tls(self, ctx, server):
        """Wrap the socket; the wrapped one has the same fd, so it is
        registered again in its place."""
        if self.mask:
            self.net.sel.unregister(self.sock)
        name = None if server else self.net.tls_name or self.peer[0]
        self.sock = ctx.wrap_socket(self.sock, server_side=server,
                                    do_handshake_on_connect=False,
                                    server_hostname=name)
        self.state = "handshake"
        self.hs_want = EV_R if server else EV_W
        self.register()
        if not server:
            self.handshake()

    def handshake(self):
        try:
            self.sock.do_handshake()
        except ssl.SSLWantReadError:
            self.hs_want = EV_R
        except ssl.SSLWantWriteError:
            self.hs_want = EV_W
        except (ssl.SSLError, OSError) as e:
            self.close("TLS handshake: %s" % e)
        else:
            self.opened()

    def opened(self):
        Timers.cancel(self.timer)
        self.state = "open"
        self.net.ua.log("%s: open" % self.name)
        self.flush()
        self.net.ua.on_conn_open(self)

    def send(self, data):
        self.wbuf += data
        if self.state == "open":
            self.flush()
            self.update()

    def flush(self):
        while self.wbuf and self.state == "open":
            try:
                n = self.sock.send(self.wbuf[:65536])
            except (BlockingIOError, ssl.SSLWantWriteError,
                    ssl.SSLWantReadError):
                return
            except OSError as e:
                self.close("write: %s" % e)
                return
            del self.wbuf[:n]

    def read(self):
        # bounded: a peer that keeps sending cannot keep us here
        for _ in range(64):
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError,
                    ssl.SSLWantWriteError):
                return
            except OSError as e:
                self.close("read: %s" % e)
                return
            if not data:
                self.close("EOF")
                return
            self.rbuf += data
            self.deliver()
            if self.state == "closed":
                return

    def deliver(self):
        """Cut the stream into messages by Content-Length; answer RFC 5626
        keep-alive pings (CRLFCRLF) with a pong (CRLF), skip pongs."""
        while self.rbuf and self.state != "closed":
            if self.rbuf.startswith(b"\r\n\r\n"):
                del self.rbuf[:4]
                self.send(b"\r\n")
                continue
            if self.rbuf.startswith(b"\r\n"):
                del self.rbuf[:2]
                continue
            end = self.rbuf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.rbuf) > MAX_HEADER:
                    self.close("no end of headers")
                return
            m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)",
                          self.rbuf[:end])
            total = end + 4 + (int(m.group(1)) if m else 0)
            if len(self.rbuf) < total:
                return
            data = bytes(self.rbuf[:total])
            del self.rbuf[:total]
            self.net.ua.on_data(data, Src(self.tp, self.peer, self))

    def close(self, why):
        if self.state == "closed":
            return
        self.state = "closed"
        Timers.cancel(self.timer)
        try:
            self.net.sel.unregister(self.sock)
        except (KeyError, ValueError):
            pass
        self.sock.close()
        self.net.forget(self)
        self.net.ua.log("%s: closed (%s)" % (self.name, why))
        self.net.ua.on_conn_closed(self)


class Net:
    """All sockets of a UA on one selector: a UDP socket, TCP and TLS
    listeners, and the connections, found by (transport, peer address)."""

    def __init__(self, ua, timers):
        self.ua, self.timers = ua, timers
        self.sel = selectors.DefaultSelector()
        self.conns = {}
        self.udp = None
        self.bind = {}          # transport -> our listening (ip, port)
        self.client_ctx = None
        self.server_ctx = None
        self.tls_name = None

    def poll(self, timeout):
        for key, mask in self.sel.select(max(0.0, timeout)):
            self.ua.guarded(key.data, mask)

    def listen_udp(self, addr):
        s = socket.socket(family(addr[0]), socket.SOCK_DGRAM)
        s.bind(addr)
        s.setblocking(False)
        self.udp = s
        self.sel.register(s, EV_R, self.read_udp)
        return s.getsockname()[1]

    def listen_stream(self, tp, addr):
        s = socket.socket(family(addr[0]), socket.SOCK_STREAM)
        # SO_REUSEPORT: our outbound connections bind to this same port
        # (see connect), so that a peer that looks a connection up by our
        # Contact address finds the one we opened
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(addr)
        s.listen(128)
        s.setblocking(False)
        self.bind[tp] = addr
        self.sel.register(s, EV_R, lambda m: self.accept(tp, s))

    def read_udp(self, mask):
        for _ in range(64):
            try:
                data, addr = self.udp.recvfrom(65535)
            except BlockingIOError:
                return
            except OSError:     # an ICMP error of an earlier send
                continue
            if data.strip(b"\r\n\0 "):
                self.ua.on_data(data, Src("udp", addr[:2]))

    def send_udp(self, data, addr):
        try:
            self.udp.sendto(data, addr)
        except OSError as e:    # retransmissions make up for a lost one
            self.ua.log("udp to %s:%d: %s" % (addr[0], addr[1], e))

    def accept(self, tp, lsock):
        for _ in range(64):
            try:
                s, peer = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self.ua.log("accept: %s" % e)
                return
            s.setblocking(False)
            c = Conn(self, tp, s, peer[:2], False)
            self.conns[(tp, c.peer)] = c
            self.ua.log("%s: accepted" % c.name)
            if tp == "tls":
                c.start_tls(self.server_ctx, True)
                c.timer = self.timers.at(CONNECT_TIMEOUT * 2,
                                         lambda c=c: c.close("handshake timeout"))
            else:
                c.register()

    def get_conn(self, tp, addr):
        """The live connection to addr, or a new one (connecting)."""
        c = self.conns.get((tp, addr))
        if c and c.alive:
            return c
        return self.connect(tp, addr)

    def connect(self, tp, addr):
        s, err = self.try_connect(tp, addr, self.bind.get(tp))
        if err in (errno.EADDRNOTAVAIL, errno.EADDRINUSE):
            # our port is still tied to an old connection to the same peer
            s.close()
            s, err = self.try_connect(tp, addr, None)
        c = Conn(self, tp, s, addr, True)
        self.conns[(tp, addr)] = c
        self.ua.log("%s: connecting" % c.name)
        if err not in (0, errno.EINPROGRESS):
            # refused at once (loopback): fail on the next turn, as if
            # asynchronously, so callers see one way of failing
            c.timer = self.timers.at(0, lambda: c.close(os.strerror(err)))
        else:
            c.register()
            c.timer = self.timers.at(CONNECT_TIMEOUT,
                                     lambda: c.close("connect timeout"))
        return c

    @staticmethod
    def try_connect(tp, addr, bind):
        s = socket.socket(family(addr[0]), socket.SOCK_STREAM)
        s.setblocking(False)
        if bind:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            try:
                s.bind(bind)
            except OSError:
                s.close()
                s = socket.socket(family(addr[0]), socket.SOCK_STREAM)
                s.setblocking(False)
        return s, s.connect_ex(addr)

    def forget(self, c):
        if self.conns.get((c.tp, c.peer)) is c:
            del self.conns[(c.tp, c.peer)]


def tls_contexts(a):
    """Client context (verifies with --ca, else not at all) and, with
    --cert/--key, a server context."""
    cli = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cli.minimum_version = ssl.TLSVersion.TLSv1_2
    if a.ca:
        cli.load_verify_locations(a.ca)
    else:
        cli.check_hostname = False
        cli.verify_mode = ssl.CERT_NONE
    if a.cert:
        cli.load_cert_chain(a.cert, a.key)
    srv = None
    if a.cert:
        srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.minimum_version = ssl.TLSVersion.TLSv1_2
        srv.load_cert_chain(a.cert, a.key)
    return cli, srv


# ---------------------------------------------------------------- transactions

class ClientTxn:
    """RFC 3261 §17.1: retransmits over UDP (timer A/E), gives up after
    32 s (timer B/F: a synthetic 408), ACKs a non-2xx final answer to an
    INVITE itself.  Over TCP/TLS a lost connection makes it send the
    request again on a new one, every 0.2 s for at most 60 s (then 503)."""

    def __init__(self, ua, msg, tp, addr, call, on_final, on_prov=None):
        self.ua, self.msg, self.tp, self.addr = ua, msg, tp, addr
        self.call, self.on_final, self.on_prov = call, on_final, on_prov
        self.data = msg.encode()
        self.key = (msg.branch(), msg.method)
        self.invite = msg.method == "INVITE"
        self.conn = None
        self.done = False
        self.proceeding = False
        self.interval = T1
        self.retx = self.timeout = None
        self.lost_since = None
        self.ack = None         # the ACK of a non-2xx final answer

    def start(self):
        self.ua.ctxns[self.key] = self
        self.send()
        if self.tp == "udp":
            self.retx = self.ua.timers.at(self.interval, self.retransmit)

    def send(self):
        self.conn = self.ua.send_on(self.data, self.tp, self.addr, self.call)
        Timers.cancel(self.timeout)
        self.timeout = self.ua.timers.at(TXN_TIMEOUT, self.timed_out)
        # the write itself may have found the connection dead (a reset
        # that came in for an earlier request): on_conn_closed ran before
        # this transaction knew its connection, so it goes again here
        if self.conn is not None and not self.conn.alive:
            self.conn_lost()

    def retransmit(self):
        if self.done or (self.invite and self.proceeding):
            return
        self.ua.send_on(self.data, self.tp, self.addr, self.call)
        # timer A doubles without bound, timer E up to T2
        self.interval = self.interval * 2 if self.invite else min(self.interval * 2, T2)
        self.retx = self.ua.timers.at(self.interval, self.retransmit)

    def on_response(self, resp):
        if resp.code < 200:
            if not self.done:
                self.proceeding = True
                if not self.invite:
                    self.interval = T2
                if self.on_prov:
                    self.on_prov(resp)
            return
        if self.done:
            # a retransmitted final answer: ACK again, or pass a 2xx on
            # (its ACK belongs to the dialog, RFC 3261 §13.2.2.4)
            if self.ack:
                self.ua.send_on(self.ack, self.tp, self.addr, self.call)
            elif self.invite and resp.code < 300:
                self.on_final(resp)
            return
        self.finish()
        if self.invite and resp.code >= 300:
            self.ack = self.ack_for(resp).encode()
            self.ua.send_on(self.ack, self.tp, self.addr, self.call)
        self.on_final(resp)

    def finish(self):
        """Final answer (or failure): stop the timers, and keep the
        transaction 32 s to absorb retransmitted final answers."""
        self.done = True
        Timers.cancel(self.retx)
        Timers.cancel(self.timeout)
        self.ua.timers.at(TXN_TIMEOUT, lambda: self.ua.ctxns.pop(self.key, None))

    def ack_for(self, resp):
        inv = self.msg
        ack = SipMsg("ACK %s SIP/2.0" % inv.ruri)
        ack.add("Via", inv.values("via")[0])
        for r in inv.values("route"):
            ack.add("Route", r)
        ack.add("Max-Forwards", "70")
        ack.add("From", inv.get("from"))
        ack.add("To", resp.get("to"))
        ack.add("Call-ID", inv.get("call-id"))
        ack.add("CSeq", "%d ACK" % inv.cseq()[0])
        return ack

    def timed_out(self):
        if not self.done:
            self.finish()
            self.ua.log("%s %s: no final answer in %d s" % (
                self.msg.method, self.msg.get("call-id"), TXN_TIMEOUT))
            self.on_final(synthetic(408, "Request Timeout"))

    def conn_lost(self):
        """Our connection died before the final answer: send the request
        again on a new connection (a retransmission: same branch)."""
        if self.done:
            return
        now = time.monotonic()
        self.lost_since = self.lost_since or now
        if now - self.lost_since > RECONNECT_MAX:
            self.finish()
            self.on_final(synthetic(503, "Service Unavailable"))
            return
        self.ua.timers.at(RECONNECT_EVERY, self.resend)

    def resend(self):
        if not self.done:
            self.send()


class ServerTxn:
    """RFC 3261 §17.2: remembers its last answer and sends it again when
    the request comes again; forgotten 32 s after its final answer."""

    def __init__(self, ua, req, src):
        self.ua, self.req, self.src = ua, req, src
        self.key = (req.branch(), req.method)
        self.last = None
        self.final = 0
        ua.stxns[self.key] = self

    def respond(self, code, reason, to_tag=None, extra=(), body=b"", rr=False):
        resp = make_response(self.req, code, reason, to_tag, extra, body, rr)
        self.last = resp.encode()
        self.ua.reply(self.last, self.req, self.src)
        if code >= 200 and not self.final:
            self.final = code
            self.ua.timers.at(TXN_TIMEOUT,
                              lambda: self.ua.stxns.pop(self.key, None))
        return self.last

    def again(self):
        if self.last:
            self.ua.reply(self.last, self.req, self.src)


def make_response(req, code, reason, to_tag, extra, body, rr):
    r = SipMsg("SIP/2.0 %d %s" % (code, reason))
    for k, v in req.headers:
        if k == "via" or (rr and k == "record-route"):
            r.headers.append((k, v))
    to = req.get("to")
    if to_tag and not tag_of(to):
        to += ";tag=" + to_tag
    r.add("From", req.get("from"))
    r.add("To", to)
    r.add("Call-ID", req.get("call-id"))
    r.add("CSeq", req.get("cseq"))
    r.add("User-Agent", "sipua")
    for k, v in extra:
        r.add(k, v)
    if body:
        r.add("Content-Type", "application/sdp")
    r.body = body
    return r


def mark_via(req, src):
    """Note on the top Via where the request really came from (received,
    rport: RFC 3261 §18.2.1, RFC 3581); its answer goes there."""
    i = [h[0] for h in req.headers].index("via")
    k, v = req.headers[i]
    vals = split_commas(v)
    via = parse_via(vals[0])
    top = vals[0]
    if via["host"] != src.addr[0]:
        top += ";received=" + src.addr[0]
    if "rport" in via["params"] and not via["params"]["rport"]:
        top = re.sub(r";rport(?=;|$)", ";rport=%d" % src.addr[1], top)
    req.headers[i] = (k, ", ".join([top] + vals[1:]))


def via_dest(req, tp):
    """RFC 3261 §18.2.2: over UDP to received and rport; over TCP/TLS (a
    new connection: the old one is gone) to received and the sent-by port,
    where the sender listens."""
    via = parse_via(req.values("via")[0])
    p = via["params"]
    host = p.get("received") or via["host"]
    port = p.get("rport") if tp == "udp" else None
    port = int(port) if port and port.isdigit() else via["port"]
    return host, port or (5061 if via["tp"] == "tls" else 5060)


# ---------------------------------------------------------------- calls

class Call:
    """One call (one dialog: no forking), as one end sees it."""

    def __init__(self, ua, idx, call_id, tp):
        self.ua, self.idx, self.call_id, self.tp = ua, idx, call_id, tp
        self.ltag, self.rtag = token(), None
        self.local_hdr = self.remote_hdr = None
        self.lcseq, self.rcseq = 0, 0
        self.route, self.target = [], None
        self.conn = None
        self.state = "calling"
        self.ended_by = "-"
        self.bye_code = "-"
        self.media = "-"
        self.reinvite = "-"
        self.code = "-"
        self.t_invite = None        # wall clock of the (first) INVITE
        self.hangup = "caller"      # which end sends the BYE
        self.sdp = b""
        self.ack = None             # our ACK of the 2xx (UAC)
        self.retx = None            # resending our 2xx over UDP
        self.awaiting_ack = False
        self.confirmed = False      # first ACK sent (UAC) or received (UAS)
        self.reinvite_asked = False

    def line(self):
        t = "-" if self.t_invite is None else "%.3f" % self.t_invite
        return ("%s state=%s ended_by=%s bye_code=%s media=%s reinvite=%s "
                "code=%s t_invite=%s" % (
                    self.call_id, self.state, self.ended_by, self.bye_code,
                    self.media, self.reinvite, self.code, t))

    def dest(self):
        """Loose routing: the first Route, else the remote target."""
        return uri_dest(addr_uri(self.route[0]) if self.route else self.target)

    def request(self, method, cseq=None, body=b""):
        """An in-dialog request along the route set."""
        if cseq is None:
            self.lcseq += 1
            cseq = self.lcseq
        tp, _ = self.dest()
        m = SipMsg("%s %s SIP/2.0" % (method, self.target))
        m.add("Via", self.ua.via(tp))
        for r in self.route:
            m.add("Route", r)
        m.add("Max-Forwards", "70")
        m.add("From", self.local_hdr)
        m.add("To", self.remote_hdr)
        m.add("Call-ID", self.call_id)
        m.add("CSeq", "%d %s" % (cseq, method))
        if method in ("INVITE", "UPDATE"):
            m.add("Contact", self.ua.contact(tp))
        if body:
            m.add("Content-Type", "application/sdp")
        m.body = body
        return m

    def ok(self, want_reinvite):
        """Answered, ended by a BYE that got 200, and every re-INVITE it
        was asked for (--reinvite-at, SIGUSR1) got 200."""
        if want_reinvite and not self.reinvite_asked:
            return False
        return (self.state == "ended" and self.bye_code == 200
                and (not self.reinvite_asked or self.reinvite == 200))


def callee_hangs_up(i, frac):
    """Deterministic share: call i (1-based) is one of the callee's when
    floor(i*F) moves on, i.e. every 2nd call for F=0.5, every call for 1."""
    return int(i * frac + 1e-9) > int((i - 1) * frac + 1e-9)


# ---------------------------------------------------------------- the UA

class UA:
    """What both roles share: transactions, dialogs, in-dialog requests,
    the output file and the main loop."""

    ROLE = "?"

    def __init__(self, a):
        self.a = a
        self.timers = Timers(self.guarded)
        self.errors = 0
        self.net = Net(self, self.timers)
        self.calls = {}             # Call-ID -> Call, in creation order
        self.ctxns, self.stxns = {}, {}
        self.stop = False
        self.hangup_now = False     # --hangup-file seen
        self.next_file_check = 0.0
        self.dirty = False
        self.last_write = 0.0
        self.trace = open(a.trace, "w") if a.trace else None
        self.t0 = time.monotonic()
        self.net.client_ctx, self.net.server_ctx = tls_contexts(a)
        self.net.tls_name = a.tls_name

    # -- logging and output

    def log(self, text):
        if self.a.verbose:
            sys.stderr.write("%8.3f %s %s\n" % (time.monotonic() - self.t0,
                                                self.ROLE, text))

    def traced(self, what, data, tp, addr):
        if self.trace:
            self.trace.write("---- %.3f %s %s %s:%d\n%s\n" % (
                time.monotonic() - self.t0, what, tp, addr[0], addr[1],
                data.decode("utf-8", "replace")))
            self.trace.flush()

    def guarded(self, fn, *args):
        """A bug hit by one message or timer is reported (and fails the
        run) but does not stop the other calls."""
        try:
            fn(*args)
        except Exception:       # pylint: disable=broad-except
            self.errors += 1
            traceback.print_exc()

    def changed(self):
        self.dirty = True

    def write_out(self):
        tmp = self.a.out + ".tmp"
        with open(tmp, "w") as f:
            for c in self.calls.values():
                f.write(c.line() + "\n")
        os.replace(tmp, self.a.out)
        self.dirty = False
        self.last_write = time.monotonic()

    # -- sending

    def via(self, tp):
        return "SIP/2.0/%s %s;branch=z9hG4bK%s;rport" % (
            tp.upper(), self.sent_by(tp), token(12))

    def contact(self, tp):
        suffix = "" if tp == "udp" else ";transport=" + tp
        return "<sip:%s@%s%s>" % (self.USER, self.sent_by(tp), suffix)

    def sent_by(self, tp):
        ip, port = self.net.bind.get(tp) or self.udp_addr
        return "%s:%d" % (("[%s]" % ip) if ":" in ip else ip, port)

    def send_on(self, data, tp, addr, call=None):
        """Send over UDP, or on the call's connection while it lives, else
        on the live connection to addr, else on a new one."""
        self.traced("sent", data, tp, addr)
        if tp == "udp":
            self.net.send_udp(data, addr)
            return None
        conn = call.conn if call and call.conn and call.conn.alive \
            and call.conn.tp == tp else self.net.get_conn(tp, addr)
        conn.send(data)
        if call:
            call.conn = conn
        return conn

    def reply(self, data, req, src):
        """A response goes back on the connection the request came on;
        over UDP (or that connection gone) to the top Via."""
        dest = via_dest(req, src.tp)
        if src.tp == "udp":
            self.traced("sent", data, "udp", dest)
            self.net.send_udp(data, dest)
        elif src.conn and src.conn.alive:
            self.traced("sent", data, src.tp, src.addr)
            src.conn.send(data)
        else:
            self.send_on(data, src.tp, dest)

    def client_txn(self, call, msg, on_final, on_prov=None):
        tp, addr = call.dest()
        t = ClientTxn(self, msg, tp, addr, call, on_final, on_prov)
        t.start()
        return t

    # -- receiving

    def on_data(self, data, src):
        self.traced("recv", data, src.tp, src.addr)
        try:
            msg = parse_msg(data)
        except ValueError as e:
            self.log("dropped from %s:%d: %s" % (src.addr[0], src.addr[1], e))
            return
        if msg.is_request:
            self.on_request(msg, src)
        else:
            self.on_response(msg)

    def on_response(self, resp):
        t = self.ctxns.get((resp.branch(), resp.cseq()[1]))
        if t:
            t.on_response(resp)
        elif resp.cseq()[1] == "INVITE" and 200 <= resp.code < 300:
            # a 2xx retransmitted after its transaction was forgotten
            call = self.calls.get(resp.get("call-id"))
            if call and call.ack:
                self.send_on(call.ack, *call.dest(), call)

    def on_request(self, req, src):
        mark_via(req, src)
        if req.method == "ACK":
            self.on_ack(req)
            return
        st = self.stxns.get((req.branch(), req.method))
        if st:
            st.again()
            return
        st = ServerTxn(self, req, src)
        if req.method == "CANCEL":
            self.on_cancel(req, st)
        elif tag_of(req.get("to")):
            self.in_dialog(req, st, src)
        else:
            self.out_of_dialog(req, st, src)

    def on_ack(self, req):
        st = self.stxns.get((req.branch(), "INVITE"))
        if st and st.final >= 300:
            return          # the ACK of a failure answer: ends that txn
        call = self.dialog_of(req)
        if call:
            call.awaiting_ack = False
            Timers.cancel(call.retx)
            self.confirm_once(call)

    def confirm_once(self, call):
        if not call.confirmed:
            call.confirmed = True
            self.confirmed(call)

    def on_cancel(self, req, st):
        inv = self.stxns.get((req.branch(), "INVITE"))
        st.respond(200 if inv else 481, "OK" if inv else "Call/Transaction Does Not Exist")
        call = self.calls.get(req.get("call-id"))
        if inv and not inv.final and call:
            inv.respond(487, "Request Terminated", call.ltag)
            self.fail(call, 487)

    def dialog_of(self, req):
        call = self.calls.get(req.get("call-id"))
        if call and call.ltag == tag_of(req.get("to")):
            return call
        return None

    def out_of_dialog(self, req, st, src):
        if req.method == "OPTIONS":
            st.respond(200, "OK")
        else:
            st.respond(405, "Method Not Allowed", token(),
                       [("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO")])

    def in_dialog(self, req, st, src):
        call = self.dialog_of(req)
        if not call or call.state in ("ended", "failed"):
            st.respond(481, "Call/Transaction Does Not Exist")
            return
        call.rcseq = max(call.rcseq, req.cseq()[0])
        if src.tp != "udp":
            call.conn = src.conn    # the newest way to this call's peer
        m = req.method
        if m == "BYE":
            st.respond(200, "OK")
            self.end(call, self.OTHER, 200)
        elif m == "INVITE":
            self.answer_reinvite(call, req, st)
        elif m in ("UPDATE", "INFO", "OPTIONS", "NOTIFY", "MESSAGE"):
            body = call.sdp if m == "UPDATE" and req.body else b""
            st.respond(200, "OK", extra=[("Contact", self.contact(src.tp))],
                       body=body)
        else:
            st.respond(405, "Method Not Allowed")

    def answer_reinvite(self, call, req, st):
        """Same SDP as before (nothing changes), and the 2xx is resent
        over UDP until its ACK, like the first one."""
        data = st.respond(200, "OK", extra=[("Contact", self.contact(st.src.tp))],
                          body=call.sdp)
        call.reinvite = 200
        self.resend_2xx(call, data, req, st.src)
        self.changed()

    def resend_2xx(self, call, data, req, src):
        """RFC 3261 §13.3.1.4: over UDP the UAS core sends its 2xx again
        at T1, 2*T1, ... up to T2 apart until the ACK comes, for 32 s.
        Without an ACK by then (over any transport: one lost in a failover)
        the call goes on as if it had come, so its BYE is still sent."""
        call.awaiting_ack = True
        Timers.cancel(call.retx)
        udp = src.tp == "udp"
        t_end = time.monotonic() + TXN_TIMEOUT

        def again(interval):
            if not call.awaiting_ack or call.state != "answered":
                return
            if time.monotonic() >= t_end:
                self.log("%s: no ACK for the 2xx in 32 s" % call.call_id)
                call.awaiting_ack = False
                self.confirm_once(call)
                return
            self.reply(data, req, src)
            nxt = min(interval * 2, T2)
            call.retx = self.timers.at(nxt, lambda: again(nxt))
        first = T1 if udp else TXN_TIMEOUT
        call.retx = self.timers.at(first, lambda: again(first))

    # -- call life

    def end(self, call, by, code):
        if call.state != "answered":
            return
        call.state, call.ended_by, call.bye_code = "ended", by, code
        Timers.cancel(call.retx)
        self.log("%s: ended by %s, BYE %s" % (call.call_id, by, code))
        self.changed()

    def fail(self, call, code):
        if call.state == "calling":
            call.state, call.code = "failed", code
            self.log("%s: failed, %s" % (call.call_id, code))
            self.changed()

    def send_bye(self, call, by):
        """Hang up: the BYE's final answer (408 when none) is the call's
        bye_code; a 481 means the far end had already forgotten it."""
        if call.state != "answered":
            return
        call.bye_sent = True
        self.client_txn(call, call.request("BYE"),
                        lambda r: self.end(call, by, r.code))

    def confirmed(self, call):
        """The first ACK came (UAS) or was sent (UAC)."""

    def my_share_ends(self, call, delay):
        """A call this end hangs up: BYE DELAY s after it was confirmed,
        or, with --hangup-file, once that file exists (at once when it
        exists already)."""
        if call.hangup != self.USER:
            return
        if not self.a.hangup_file:
            self.timers.at(delay, lambda: self.send_bye(call, self.USER))
        elif self.hangup_now:
            self.send_bye(call, self.USER)

    def check_files(self):
        """--stop-file and --hangup-file, looked for every 0.1 s (not on
        every turn: under load a turn comes with every message)."""
        now = time.monotonic()
        if now < self.next_file_check:
            return
        self.next_file_check = now + FILE_CHECK_EVERY
        if self.a.stop_file and os.path.exists(self.a.stop_file):
            self.log("--stop-file found")
            self.stop = True
        if self.a.hangup_file and not self.hangup_now \
                and os.path.exists(self.a.hangup_file):
            self.log("--hangup-file found")
            self.hangup_now = True
            for c in list(self.calls.values()):
                if c.confirmed and c.state == "answered":
                    self.my_share_ends(c, 0)

    def on_conn_open(self, conn):
        """A connection is up (after connect and TLS handshake)."""

    def on_conn_closed(self, conn):
        """Requests waiting for an answer on a dead connection go again."""
        for t in list(self.ctxns.values()):
            if t.conn is conn:
                t.conn_lost()

    # -- the run

    def run(self):
        self.setup()
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        self.start()
        deadline = self.t0 + self.a.max
        while not self.stop and not self.finished():
            now = time.monotonic()
            if now >= deadline:
                self.log("--max reached")
                break
            self.net.poll(min(self.timers.next_delay(), 0.2, deadline - now))
            self.timers.run_due()
            self.check_files()
            self.every_turn()
            if self.dirty and time.monotonic() - self.last_write >= 0.2:
                self.write_out()
        self.linger(deadline)
        return self.report()

    def linger(self, deadline):
        """After the last call, stay 0.5 s more: a retransmitted request
        (its 200 lost) is still answered."""
        t_end = min(time.monotonic() + 0.5, deadline)
        while not self.stop and time.monotonic() < t_end:
            self.net.poll(min(0.1, max(0.0, t_end - time.monotonic())))
            self.timers.run_due()

    def on_signal(self, signum, frame):
        self.stop = True

    def every_turn(self):
        pass

    def report(self):
        for c in self.calls.values():
            if c.state == "calling":
                c.state = "failed"
        self.write_out()
        calls = list(self.calls.values())
        answered = sum(c.state in ("answered", "ended") for c in calls)
        ended = sum(c.state == "ended" for c in calls)
        failed = sum(c.state == "failed" for c in calls)
        print("calls %d answered %d ended %d failed %d" % (
            len(calls), answered, ended, failed))
        sys.stdout.flush()
        if self.errors:
            print("internal errors %d" % self.errors)
        return 0 if self.all_ok(calls) and not self.errors else 1


class Caller(UA):
    """The UAC: places --calls calls at --rate to --target."""

    ROLE, USER, OTHER = "uac", "caller", "callee"

    def setup(self):
        a = self.a
        self.tp, self.target = a.transport, a.target
        self.keep_since = None
        self.next_ping = 0.0
        self.reinvite_now = False
        for _ in range(20):         # a UDP port whose TCP twin is free too
            try:
                port = self.net.listen_udp((a.local_ip, a.local_port))
                self.udp_addr = (a.local_ip, port)
                if self.tp == "tcp" or (self.tp == "tls" and self.net.server_ctx):
                    self.net.listen_stream(self.tp, self.udp_addr)
                elif self.tp == "tls":
                    self.net.bind["tls"] = self.udp_addr
                break
            except OSError:
                if a.local_port:
                    raise
                self.net.sel.unregister(self.net.udp)
                self.net.udp.close()
        else:
            raise OSError("no UDP port on %s whose TCP twin is free" % a.local_ip)
        self.no_more = False        # SIGUSR2: place no further calls
        self.no_more_told = False
        signal.signal(signal.SIGUSR1, self.on_usr1)
        signal.signal(signal.SIGUSR2, self.on_usr2)

    def on_usr1(self, signum, frame):
        self.reinvite_now = True

    def on_usr2(self, signum, frame):
        self.no_more = True

    def start(self):
        for i in range(1, self.a.calls + 1):
            self.timers.at((i - 1) / self.a.rate, lambda i=i: self.place(i))

    def finished(self):
        return ((len(self.calls) == self.a.calls or self.no_more) and
                all(c.state in ("ended", "failed") for c in self.calls.values()))

    def all_ok(self, calls):
        return (len(calls) == self.a.calls or self.no_more) and all(
            c.ok(self.a.reinvite_at is not None) for c in calls)

    def place(self, i):
        a = self.a
        if self.no_more:
            return
        number = a.number or str(5550000 + i)
        call = Call(self, i, "sipua-%d-%d-%s@%s" % (os.getpid(), i, token(6),
                                                    a.local_ip), self.tp)
        self.calls[call.call_id] = call
        call.hangup = "callee" if callee_hangs_up(i, a.bye_fraction) else "caller"
        call.sdp = make_sdp(a.media_ip, a.media_port + 2 * (i - 1), i)
        host = "%s:%d" % self.target
        call.target = "sip:%s@%s%s" % (number, host, "" if self.tp == "udp"
                                       else ";transport=" + self.tp)
        call.local_hdr = "<sip:caller@%s>;tag=%s" % (a.local_ip, call.ltag)
        call.remote_hdr = "<sip:%s@%s>" % (number, host)
        inv = call.request("INVITE", body=call.sdp)
        inv.add("X-Sipua-Hangup", call.hangup)
        call.t_invite = time.time()
        self.client_txn(call, inv, lambda r: self.invite_final(call, r))
        self.changed()

    def invite_final(self, call, resp):
        if resp.code >= 300:
            self.fail(call, resp.code)
            return
        if call.state == "calling":
            self.establish(call, resp)
        if call.ack:        # first 2xx or a retransmission: (re)send the ACK
            self.send_on(call.ack, *call.dest(), call)

    def establish(self, call, resp):
        """RFC 3261 §12.1.2: the route set is the 2xx's Record-Route in
        reverse, the remote target its Contact."""
        call.rtag = tag_of(resp.get("to"))
        call.remote_hdr = resp.get("to")
        call.route = list(reversed(resp.values("record-route")))
        contact = resp.values("contact")
        call.target = addr_uri(contact[0]) if contact else call.target
        call.media = sdp_media(resp.body)
        call.code = resp.code
        call.state = "answered"
        call.ack = call.request("ACK", cseq=resp.cseq()[0]).encode()
        self.changed()
        self.confirm_once(call)

    def confirmed(self, call):
        a = self.a
        if a.reinvite_at is not None:
            self.timers.at(a.reinvite_at, lambda: self.send_reinvite(call))
        self.my_share_ends(call, a.hold)

    def send_reinvite(self, call):
        """Same SDP, same o= version: nothing changes but the proof that
        the call is alive end to end; its final code is recorded."""
        if call.state != "answered":
            return
        call.reinvite = "pending"
        call.reinvite_asked = True
        self.changed()
        inv = call.request("INVITE", body=call.sdp)
        acks = {}

        def final(resp):
            call.reinvite = resp.code
            self.changed()
            if 200 <= resp.code < 300:
                if "ack" not in acks:
                    acks["ack"] = call.request("ACK", cseq=inv.cseq()[0]).encode()
                self.send_on(acks["ack"], *call.dest(), call)
        self.client_txn(call, inv, final)

    def every_turn(self):
        if self.no_more and not self.no_more_told:
            # here, not in the handler: no call is half placed, so a
            # test that waits for this line reads the final count
            self.no_more_told = True
            self.log("SIGUSR2: no more calls, %d placed" % len(self.calls))
        if self.reinvite_now:
            self.reinvite_now = False
            for c in list(self.calls.values()):
                self.send_reinvite(c)
        self.keepalive()

    def keepalive(self):
        """RFC 5626 ping (CRLFCRLF) on our connection: after a failover
        the write gets a reset, so we notice at once that the connection
        is gone and reconnect before anyone needs it."""
        if self.tp == "udp" or not self.a.keepalive:
            return
        now = time.monotonic()
        if now < self.next_ping:
            return
        self.next_ping = now + self.a.keepalive
        c = self.net.conns.get((self.tp, self.target))
        if c and c.state == "open":
            c.send(b"\r\n\r\n")

    def on_conn_open(self, conn):
        if conn.outbound and conn.peer == self.target:
            self.keep_since = None

    def on_conn_closed(self, conn):
        UA.on_conn_closed(self, conn)
        if conn.outbound and conn.peer == self.target:
            self.keep_since = self.keep_since or time.monotonic()
            self.timers.at(RECONNECT_EVERY, self.reconnect)

    def reconnect(self):
        """Keep a connection to the target while calls are up, so that
        requests from the far end reach us on it; bounded to 60 s."""
        live = any(c.state in ("calling", "answered") for c in self.calls.values())
        if not live or self.keep_since is None:
            return
        if time.monotonic() - self.keep_since > RECONNECT_MAX:
            self.log("target unreachable for %d s: no more reconnects" % RECONNECT_MAX)
            return
        c = self.net.conns.get((self.tp, self.target))
        if not (c and c.alive):
            self.net.connect(self.tp, self.target)


class Callee(UA):
    """The UAS: answers every INVITE; hangs up its share of the calls."""

    ROLE, USER, OTHER = "uas", "callee", "caller"

    def setup(self):
        a = self.a
        ip, port = a.listen
        tps = a.transports.split(",")
        # without udp in --transports a UDP socket on any port still
        # sends (a BYE to a UDP route)
        self.udp_addr = (ip, self.net.listen_udp((ip, port if "udp" in tps else 0)))
        if "tcp" in tps:
            self.net.listen_stream("tcp", a.listen)
        if "tls" in tps:
            if not self.net.server_ctx:
                raise SystemExit("sipua: tls needs --cert and --key")
            self.net.listen_stream("tls", (ip, a.tls_port or port + 1))
        self.arrivals = 0

    def start(self):
        print("ready", flush=True)

    def finished(self):
        n = self.a.calls
        return bool(n) and len(self.calls) >= n and all(
            c.state in ("ended", "failed") for c in self.calls.values())

    def all_ok(self, calls):
        if self.a.calls and len(calls) != self.a.calls:
            return False
        return all(c.ok(False) for c in calls)

    def out_of_dialog(self, req, st, src):
        if req.method != "INVITE":
            UA.out_of_dialog(self, req, st, src)
        elif req.get("call-id") in self.calls:
            st.respond(482, "Loop Detected")    # a second INVITE, new branch
        else:
            self.new_call(req, st, src)

    def new_call(self, req, st, src):
        """RFC 3261 §12.1.1: the route set is the Record-Route in order,
        the remote target the Contact."""
        a = self.a
        self.arrivals += 1
        k = self.arrivals
        call = Call(self, k, req.get("call-id"), src.tp)
        call.t_invite = time.time()
        self.calls[call.call_id] = call
        call.conn = src.conn
        call.rtag = tag_of(req.get("from"))
        call.remote_hdr = req.get("from")
        call.local_hdr = req.get("to") + ";tag=" + call.ltag
        call.route = req.values("record-route")
        contact = req.values("contact")
        call.target = addr_uri(contact[0]) if contact else req.ruri
        call.rcseq = req.cseq()[0]
        call.media = sdp_media(req.body)
        call.sdp = make_sdp(a.media_ip, a.media_port + 2 * (k - 1), k)
        hint = (req.get("x-sipua-hangup") or "").strip().lower()
        if hint in ("caller", "callee"):
            call.hangup = hint
        else:
            call.hangup = "callee" if callee_hangs_up(k, a.bye_fraction) else "caller"
        st.respond(100, "Trying")
        st.respond(180, "Ringing", call.ltag, rr=True)
        self.changed()
        self.timers.at(a.answer_after, lambda: self.answer(call, req, st))

    def answer(self, call, req, st):
        if call.state != "calling":
            return      # cancelled meanwhile
        data = st.respond(200, "OK", call.ltag,
                          [("Contact", self.contact(st.src.tp))],
                          call.sdp, rr=True)
        call.state, call.code = "answered", 200
        self.changed()
        self.resend_2xx(call, data, req, st.src)

    def confirmed(self, call):
        self.my_share_ends(call, self.a.bye_after)


# ---------------------------------------------------------------- options

def common_options(p):
    p.add_argument("--media-ip", required=True,
                   help="address put in our SDP (c=)")
    p.add_argument("--media-port", type=int, default=None,
                   help="first SDP port; call k gets PORT+2*(k-1) "
                        "(default 20000 for uac, 40000 for uas)")
    p.add_argument("--out", required=True,
                   help="per-call result file, rewritten as calls change")
    p.add_argument("--max", type=float, required=True,
                   help="seconds the whole run may last")
    p.add_argument("--bye-fraction", type=float, default=0.0,
                   help="share of the calls the callee hangs up (0..1; "
                        "call i is one when floor(i*F) > floor((i-1)*F))")
    p.add_argument("--cert", help="PEM certificate: TLS listener (and "
                   "client certificate)")
    p.add_argument("--key", help="PEM key of --cert")
    p.add_argument("--ca", help="PEM CA bundle that verifies the server's "
                   "certificate; without it nothing is verified")
    p.add_argument("--tls-name", help="name the server certificate must "
                   "carry (default: the address connected to)")
    p.add_argument("--hangup-file", help="hang up this end's share of the "
                   "calls once this file exists (instead of after --hold or "
                   "--bye-after); calls confirmed later at once")
    p.add_argument("--stop-file", help="end the run once this file exists "
                   "(as SIGTERM does)")
    p.add_argument("--trace", help="write every message sent and received "
                   "to this file")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log connections and call events to stderr")


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="'sipua.py uac --help' and 'sipua.py uas --help' list the "
        "options of each role.")
    sub = ap.add_subparsers(dest="role", required=True)
    s = sub.add_parser("uas", help="answer calls")
    common_options(s)
    s.add_argument("--listen", type=ip_port, required=True,
                   help="IP:PORT for UDP and TCP")
    s.add_argument("--transports", default="udp",
                   help="comma list of udp,tcp,tls (default udp)")
    s.add_argument("--tls-port", type=int, default=0,
                   help="TLS port (default: PORT+1)")
    s.add_argument("--bye-after", type=float, default=1.0,
                   help="seconds after the ACK when the callee hangs up "
                        "its share of the calls (default 1)")
    s.add_argument("--answer-after", type=float, default=0.0,
                   help="seconds between 180 and 200 (default 0)")
    s.add_argument("--calls", type=int, default=0,
                   help="stop once this many calls have ended "
                        "(default 0: run until --max or SIGTERM)")
    c = sub.add_parser("uac", help="place calls")
    common_options(c)
    c.add_argument("--target", type=ip_port, required=True,
                   help="IP:PORT the calls go to (sbcd's access side)")
    c.add_argument("--transport", choices=("udp", "tcp", "tls"),
                   default="udp", help="to the target (default udp); a "
                   "lost TCP/TLS connection is opened again, every 0.2 s "
                   "for up to 60 s")
    c.add_argument("--local-ip", required=True,
                   help="our address (Via, Contact, From)")
    c.add_argument("--local-port", type=int, default=0,
                   help="our port for UDP and the TCP/TLS listener "
                        "(default: any free one)")
    c.add_argument("--calls", type=int, required=True,
                   help="number of calls to place")
    c.add_argument("--rate", type=float, default=10.0,
                   help="calls placed per second (default 10)")
    c.add_argument("--number", help="dialled number (default 5550000+i)")
    c.add_argument("--hold", type=float, required=True,
                   help="seconds after the ACK when the caller hangs up "
                        "its calls")
    c.add_argument("--reinvite-at", type=float, default=None,
                   help="seconds after the ACK when every call sends a "
                        "re-INVITE with the same SDP (code recorded; a call "
                        "that ended before it counts as not done)")
    c.add_argument("--keepalive", type=float, default=2.0,
                   help="seconds between CRLFCRLF pings on a TCP/TLS "
                        "connection, so a dead one is noticed (0: off)")
    a = ap.parse_args(argv)
    if a.media_port is None:
        a.media_port = 20000 if a.role == "uac" else 40000
    if bool(a.cert) != bool(a.key):
        ap.error("--cert and --key go together")
    if a.role == "uac" and a.rate <= 0:
        ap.error("--rate must be above 0")
    if not 0.0 <= a.bye_fraction <= 1.0:
        ap.error("--bye-fraction must be within 0..1")
    return a


def main(argv):
    a = parse_args(argv)
    ua = Caller(a) if a.role == "uac" else Callee(a)
    try:
        return ua.run()
    except OSError as e:
        sys.stderr.write("sipua: %s\n" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
