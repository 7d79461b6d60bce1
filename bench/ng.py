#!/usr/bin/env python3
"""bench/ng.py: sets up and removes the media benchmark's streams on rtpengine
over its ng control protocol (bencode over UDP), as a SIP proxy would: per
stream an `offer` with the caller's SDP and an `answer` with the callee's, each
returning rtpengine's SDP, whose port the other party must send to.

  ng.py setup  NG_ADDR:PORT N A_ADDR A_PORT0 B_ADDR B_PORT0 STREAM_FILE
  ng.py delete NG_ADDR:PORT N

Stream i: the caller sends from A_ADDR:A_PORT0+2i, the callee from
B_ADDR:B_PORT0+2i.  STREAM_FILE gets one line per stream in rtpgen's format:
  a_port relay_addr_A relay_port_A b_port relay_addr_B relay_port_B
"""
import os
import re
import socket
import sys


def benc(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(benc(v) for v in x) + b"e"
    if isinstance(x, dict):
        return b"d" + b"".join(benc(k) + benc(v) for k, v in sorted(x.items())) + b"e"
    raise TypeError(type(x))


def bdec(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l":
        i += 1
        out = []
        while b[i:i + 1] != b"e":
            v, i = bdec(b, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while b[i:i + 1] != b"e":
            k, i = bdec(b, i)
            v, i = bdec(b, i)
            out[k.decode()] = v
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


class Ng:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.dst = (host, int(port))
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.settimeout(2.0)
        self.n = 0

    def call(self, msg):
        self.n += 1
        cookie = b"%d_%d" % (os.getpid(), self.n)
        data = cookie + b" " + benc(msg)
        for _ in range(3):
            self.s.sendto(data, self.dst)
            try:
                while True:
                    r = self.s.recv(65536)
                    c, _, body = r.partition(b" ")
                    if c == cookie:
                        v, _ = bdec(body)
                        if v.get("result") not in (b"ok", b"pong"):
                            raise RuntimeError("ng %s: %r" % (msg["command"], v))
                        return v
            except socket.timeout:
                continue
        raise RuntimeError("ng %s: no answer from %s" % (msg["command"], self.dst))


def sdp(addr, port, ver):
    return ("v=0\r\no=- 1 %d IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
            % (ver, addr, addr, port))


def port_of(v):
    body = v["sdp"].decode()
    c = re.search(r"^c=IN IP4 (\S+)", body, re.M).group(1)
    m = int(re.search(r"^m=audio (\d+)", body, re.M).group(1))
    return c, m


def main():
    if len(sys.argv) == 9 and sys.argv[1] == "setup":
        ng = Ng(sys.argv[2])
        n = int(sys.argv[3])
        a_addr, a0, b_addr, b0 = sys.argv[4], int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
        lines = []
        for i in range(n):
            cid, ft, tt = "bench-%d" % i, "a%d" % i, "b%d" % i
            off = ng.call({"command": "offer", "call-id": cid, "from-tag": ft,
                           "sdp": sdp(a_addr, a0 + 2 * i, 1), "ICE": "remove",
                           "flags": ["no-rtcp-attribute"]})
            b_relay = port_of(off)            # where the callee sends
            ans = ng.call({"command": "answer", "call-id": cid, "from-tag": ft,
                           "to-tag": tt, "sdp": sdp(b_addr, b0 + 2 * i, 1),
                           "ICE": "remove"})
            a_relay = port_of(ans)            # where the caller sends
            lines.append("%d %s %d %d %s %d\n" % (a0 + 2 * i, a_relay[0], a_relay[1],
                                                   b0 + 2 * i, b_relay[0], b_relay[1]))
        with open(sys.argv[8], "w") as f:
            f.writelines(lines)
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "delete":
        ng = Ng(sys.argv[2])
        for i in range(int(sys.argv[3])):
            ng.call({"command": "delete", "call-id": "bench-%d" % i, "from-tag": "a%d" % i})
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "ping":
        Ng(sys.argv[2]).call({"command": "ping"})
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
