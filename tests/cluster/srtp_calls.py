#!/usr/bin/env python3
"""srtp_calls.py: the calls file of srtp-pump, from sipp callers' logs.

Reads sipp message logs (-trace_msg) of SRTP callers and prints, per
call (Call-ID), sorted by Call-ID, the line srtp-pump takes:
  CALLID DST_IP DST_PORT TX_CRYPTO RX_CRYPTO
DST is sbcd's media address from the c= and m= lines of the 200 the
caller received, TX_CRYPTO the a=crypto value of the INVITE it sent (the
phone's own key), RX_CRYPTO that of the 200 (sbcd's key).  Waits (at
most --max seconds) until --calls calls are complete in the logs, as
rtp_pump.py does; exit 1 if they are not.
"""
import argparse
import os
import re
import sys
import time

CRYPTO = re.compile(r"^a=crypto:(\d+ \S+ \S+)\s*$", re.M)


def blocks(path):
    """(direction, message) of each block of a -trace_msg log: blocks
    between dashed lines, each "... message sent (N bytes):" or
    "... message received [N] bytes :" and the message."""
    text = open(path, errors="replace").read()
    for block in re.split(r"^-{20,}.*$", text, flags=re.M):
        head = re.search(r"message (sent|received)[^\n]*bytes\s*\)?\s*:",
                         block)
        if head:
            yield head.group(1), block[head.end():].lstrip("\r\n ")


def calls_of(logs):
    """Call-ID -> [ip, port, tx_crypto, rx_crypto] (None while unknown)."""
    out = {}
    for log in logs:
        if not os.path.exists(log):
            continue
        for way, msg in blocks(log):
            cid = re.search(r"^Call-ID:\s*(\S+)", msg, re.M | re.I)
            crypto = CRYPTO.search(msg)
            if not cid or not crypto:
                continue
            c = out.setdefault(cid.group(1), [None] * 4)
            if way == "sent" and msg.startswith("INVITE ") and not c[2]:
                c[2] = crypto.group(1)
            elif (way == "received" and msg.startswith("SIP/2.0 200")
                  and not c[3]):
                cline = re.search(r"^c=IN IP4 (\S+)", msg, re.M)
                mline = re.search(r"^m=audio (\d+) RTP/SAVP ", msg, re.M)
                if cline and mline:
                    c[0], c[1] = cline.group(1), int(mline.group(1))
                    c[3] = crypto.group(1)
    return {k: v for k, v in out.items() if None not in v}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", action="append", required=True)
    ap.add_argument("--calls", type=int, required=True,
                    help="calls to wait for in the logs")
    ap.add_argument("--max", type=float, default=10)
    a = ap.parse_args()

    t_end = time.time() + a.max
    calls = calls_of(a.log)
    while len(calls) < a.calls and time.time() < t_end:
        time.sleep(0.2)
        calls = calls_of(a.log)
    if len(calls) < a.calls:
        sys.exit("srtp_calls: %d of %d SRTP calls in %s"
                 % (len(calls), a.calls, " ".join(a.log)))
    for cid in sorted(calls):
        print("%s %s %d %s %s" % (cid, *calls[cid]))


if __name__ == "__main__":
    main()
