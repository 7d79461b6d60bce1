#!/usr/bin/env python3
"""bench/sipp_ports.py: the media benchmark's stream file for sbcd, from the
sipp message traces (-trace_msg) of the calls set up through it.

  sipp_ports.py UAC_MSG UAS_MSG ACCESS_ADDR CORE_ADDR OUT [N]

Per call: the caller's own port (its INVITE's SDP) and sbcd's access-side port
(the 200 it received); the callee's own port (its 200) and sbcd's core-side
port (the INVITE it received).  The two sides are joined by the caller's From
user, which is unique per call.  Writes rtpgen's stream lines
  a_port ACCESS_ADDR access_port b_port CORE_ADDR core_port
for the complete calls and prints their number; exit 1 if fewer than N.
(`sbcctl media` would list the ports too, but its answer is cut off past the
control socket's buffer, a few hundred sessions.)
"""
import re
import sys

SEP = re.compile(r"^-{20,}.*$", re.M)
FROM = re.compile(r"^From:[^<\n]*<sip:([^@>;]+)@", re.M | re.I)
CSEQ = re.compile(r"^CSeq:\s*\d+\s+(\w+)", re.M | re.I)
MPORT = re.compile(r"^m=audio (\d+)", re.M)


def blocks(path):
    try:
        txt = open(path, errors="replace").read()
    except OSError:
        return
    for b in SEP.split(txt):
        i = b.find("\n\n")
        if i < 0:
            continue
        head, msg = b[:i], b[i:].lstrip("\n")
        yield ("sent" in head), msg


def scan(path, want_sent_first, want_recv_first):
    """From user -> (port in the sent message, port in the received one)"""
    out = {}
    for sent, msg in blocks(path):
        first = msg.split("\n", 1)[0]
        f, c, m = FROM.search(msg), CSEQ.search(msg), MPORT.search(msg)
        if not (f and c and m) or c.group(1).upper() != "INVITE":
            continue
        want = want_sent_first if sent else want_recv_first
        if not first.startswith(want):
            continue
        e = out.setdefault(f.group(1), [None, None])
        e[0 if sent else 1] = int(m.group(1))
    return out


def main():
    if len(sys.argv) not in (6, 7):
        sys.stderr.write(__doc__)
        return 2
    uac, uas, acc, core, outf = sys.argv[1:6]
    n = int(sys.argv[6]) if len(sys.argv) == 7 else 0
    a = scan(uac, "INVITE ", "SIP/2.0 200")   # caller port, sbcd access port
    b = scan(uas, "SIP/2.0 200", "INVITE ")   # callee port, sbcd core port
    lines = []
    for user, (ap, acc_p) in sorted(a.items()):
        bp, core_p = b.get(user, (None, None))
        if None not in (ap, acc_p, bp, core_p):
            lines.append("%d %s %d %d %s %d\n" % (ap, acc, acc_p, bp, core, core_p))
    with open(outf, "w") as f:
        f.writelines(lines)
    print(len(lines))
    return 0 if len(lines) >= n else 1


if __name__ == "__main__":
    sys.exit(main())
