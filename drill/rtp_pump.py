#!/usr/bin/python3
"""rtp_pump.py: one far end of the media of many calls through sbcd.

Reads sipp message logs (--log, repeatable) to learn, per call (Call-ID),
the sbcd media address and port this end must send to: the caller side
(--side a) takes the SDP of each 200 it received, the callee side (--side
b) the SDP of each INVITE; and drill/sipua.py's result files
(--sipua, repeatable), whose media=IP:PORT is that address already.
--only FILE: only the calls named there (the first word of each line is a
Call-ID), all of which must come; else every call of the logs, --calls of
them at least.  For each call it binds its own UDP socket on --ip and sends
G.711-sized RTP packets every 20 ms, and counts what comes back: packets
received, received after a given moment (--mark FILE: its mtime, touched
by the test at the fault), and the longest gap between two arrivals.
--seq0 N: the first sequence number of every stream (default 1); near
65535 the streams wrap (an SRTP rollover where sbcd protects them);
--seq0-of CALLID=N (repeatable): that call's stream starts at N instead.
Runs until --stop FILE exists or --max seconds passed (bounded), then
prints one line per call:
  CALLID sent N received N after_mark N max_gap_ms N last_rx EPOCH.mmm
(last_rx: when the last packet came, 0 if none: sbc-drill's proof that
media came back after a fault without trusting a mark's timing) and with --progress FILE the same lines there, rewritten every 0.5 s
while it runs (a test waits on them instead of sleeping).
"""
import argparse
import os
import re
import select
import socket
import struct
import sys
import time


def calls_of(log, side):
    """Call-ID -> (ip, port) of sbcd's media, from sipp's -trace_msg log:
    blocks between dashed lines, each "... message received [N] bytes :"
    and the message."""
    text = open(log, errors="replace").read()
    want = "SIP/2.0 200" if side == "a" else "INVITE sip:"
    out = {}
    for block in re.split(r"^-{20,}.*$", text, flags=re.M):
        if "message received" not in block:
            continue
        msg = block[block.find("bytes :") + 7:].lstrip("\r\n ")
        if not msg.startswith(want):
            continue
        cid = re.search(r"^Call-ID:\s*(\S+)", msg, re.M | re.I)
        cline = re.search(r"^c=IN IP4 (\S+)", msg, re.M)
        mline = re.search(r"^m=audio (\d+)", msg, re.M)
        if cid and cline and mline and cid.group(1) not in out:
            out[cid.group(1)] = (cline.group(1), int(mline.group(1)))
    return out


def sipua_calls(path):
    """Call-ID -> (ip, port) of sbcd's media from a sipua.py --out file:
    CALLID state=... media=IP:PORT ..."""
    out = {}
    for line in open(path, errors="replace"):
        f = line.split()
        m = [w[6:] for w in f[1:] if w.startswith("media=")]
        if f and m and m[0] != "-":
            ip, port = m[0].rsplit(":", 1)
            out[f[0]] = (ip, int(port))
    return out


def all_calls(a):
    calls = {}
    for log in a.log:
        if os.path.exists(log):
            calls.update(calls_of(log, a.side))
    for path in a.sipua:
        if os.path.exists(path):
            calls.update(sipua_calls(path))
    if a.only is not None:
        calls = {k: v for k, v in calls.items() if k in a.only}
    return calls


def report(st, f):
    for cid in sorted(st):
        c = st[cid]
        f.write("%s sent %d received %d after_mark %d max_gap_ms %d last_rx %.3f\n"
                % (cid, c["sent"], c["rx"], c["after"], c["gap"] * 1000,
                   c["last"] or 0))


def progress(st, path):
    with open(path + ".tmp", "w") as f:
        report(st, f)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices="ab", required=True)
    ap.add_argument("--log", action="append", default=[])
    ap.add_argument("--sipua", action="append", default=[])
    ap.add_argument("--only")
    ap.add_argument("--ip", required=True)
    ap.add_argument("--calls", type=int, default=0,
                    help="calls to wait for in the logs (default: those "
                    "of --only)")
    ap.add_argument("--progress")
    ap.add_argument("--stop", required=True)
    ap.add_argument("--mark", required=True)
    ap.add_argument("--max", type=float, default=120)
    ap.add_argument("--ptime", type=float, default=0.02)
    ap.add_argument("--seq0", type=int, default=1)
    ap.add_argument("--seq0-of", action="append", default=[])
    a = ap.parse_args()
    if not a.log and not a.sipua:
        ap.error("--log or --sipua")
    if a.only is not None:
        a.only = {l.split()[0] for l in open(a.only) if l.split()}
        a.calls = a.calls or len(a.only)
    if not a.calls:
        ap.error("--calls or --only")
    offset = {}
    for kv in a.seq0_of:
        cid, _, n = kv.rpartition("=")
        offset[cid] = (int(n) - a.seq0) & 0xFFFF

    t_end = time.time() + a.max
    calls = {}
    while len(calls) < a.calls and time.time() < t_end:
        calls = all_calls(a)
        time.sleep(0.2)
    if len(calls) < a.calls:
        sys.exit("rtp_pump: %d of %d calls in %s" % (
            len(calls), a.calls, " ".join(a.log + a.sipua)))
    socks = {}
    st = {}
    for i, (cid, dst) in enumerate(sorted(calls.items())):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.ip, 0))
        s.setblocking(False)
        socks[s.fileno()] = (s, cid, dst)
        st[cid] = {"sent": 0, "rx": 0, "after": 0, "last": None, "gap": 0.0,
                   "ssrc": 0x10000 * (i + 1) + (1 if a.side == "a" else 2)}
    seq = (a.seq0 - 1) & 0xFFFF
    nxt = time.time()
    nxt_progress = 0.0
    poll = select.poll()
    for fd in socks:
        poll.register(fd, select.POLLIN)
    while time.time() < t_end and not os.path.exists(a.stop):
        now = time.time()
        if a.progress and now >= nxt_progress:
            progress(st, a.progress)
            nxt_progress = now + 0.5
        if now >= nxt:
            seq = (seq + 1) & 0xFFFF
            for s, cid, dst in socks.values():
                q = (seq + offset.get(cid, 0)) & 0xFFFF
                hdr = struct.pack("!BBHII", 0x80, 0, q,
                                  (q * 160) & 0xFFFFFFFF, st[cid]["ssrc"])
                try:
                    s.sendto(hdr + b"\xd5" * 160, dst)
                    st[cid]["sent"] += 1
                except OSError:
                    pass
            nxt += a.ptime
            if nxt < now:
                nxt = now + a.ptime
        for fd, _ in poll.poll(max(0, int((nxt - time.time()) * 1000))):
            s, cid, _dst = socks[fd]
            mark = os.path.getmtime(a.mark) if os.path.exists(a.mark) else None
            while True:
                try:
                    s.recvfrom(4096)
                except BlockingIOError:
                    break
                t = time.time()
                c = st[cid]
                c["rx"] += 1
                if mark is not None and t > mark:
                    c["after"] += 1
                if c["last"] is not None:
                    c["gap"] = max(c["gap"], t - c["last"])
                c["last"] = t
    report(st, sys.stdout)
    if a.progress:
        progress(st, a.progress)


if __name__ == "__main__":
    main()
