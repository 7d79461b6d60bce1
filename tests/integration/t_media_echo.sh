#!/bin/bash
# RTP played and echoed by sipp itself through sbcd: the caller plays a
# pcap (sipp's play_pcap_audio, RTP from its media port to the address
# the 200's SDP gives, which must be sbcd's), the callee runs sipp's
# rtp_echo on the address its SDP gives; every packet crosses sbcd to
# the callee and its echo crosses back, as the relay's counters show on
# both legs, latched to sipp's media ports.
. "$(dirname "$0")/lib.sh"

ctl() { "${SBCCTL:?}" -s "$W/sbcd.sock" "$@"; }
MA=127.0.$T_N.20        # the caller's media
MB=127.0.$T_N.21        # the callee's (sipp's echo)
PCAP=/usr/share/sip-tester/dtmf_2833_1.pcap
[ -r "$PCAP" ] || fail "$PCAP missing (package sip-tester)"
# RTP packets in the capture
N=$(python3 - "$PCAP" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, n = 24, 0
while off + 16 <= len(d):
    incl = struct.unpack("<IIII", d[off:off + 16])[2]
    off += 16 + incl
    n += 1
print(n)
PY
)
[ "$N" -gt 0 ] || fail "no packet in $PCAP"
sbc_conf "media_port_min = 38000" "media_port_max = 38999"
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080 -mi "$MB" -mp 7002 -rtp_echo
sipp_bg call -sf "$(scen_gen uac_pcap uac_pcap.xml.in PCAP="$PCAP")" -s 5551234 \
	-i "$P" -p 5070 -mi "$MA" -mp 7000 "$A:5060" -m 1 -timeout 60 -timeout_error
# while the call holds (until call_release): N packets in on the access
# leg (from the caller's media port), N echoes in on the core leg (from
# the echo port)
python3 - "$SBCCTL" "$W/sbcd.sock" "$N" "$MA" "$MB" > "$W/echo.txt" <<'PY' \
	|| fail "RTP through sbcd: $(cat "$W/echo.txt")"
import re, subprocess, sys, time
ctl, sock, n, MA, MB = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
end, m = time.monotonic() + 20, ""
while time.monotonic() < end:
    m = subprocess.run([ctl, "-s", sock, "media"], capture_output=True, text=True).stdout
    acc = re.search(r"stream 0 access .* latched (\S+) pkts (\d+) .*dropped (\d+)", m)
    core = re.search(r"stream 0 core .* latched (\S+) pkts (\d+) .*dropped (\d+)", m)
    if acc and core and int(acc.group(2)) == n and int(core.group(2)) == n:
        break
    time.sleep(0.1)
print(m)
assert acc and core, "no media session"
assert int(acc.group(2)) == n and int(core.group(2)) == n, \
    "%d packets played: %s in from the caller, %s echoes back" % (n, acc.group(2), core.group(2))
assert acc.group(1).startswith(MA + ":") and core.group(1) == MB + ":7002", (acc.group(1), core.group(1))
assert acc.group(3) == "0" and core.group(3) == "0"
PY
call_answered call
call_release call "$P" 5070
wait_pid "$PID_call" 15 || fail "the call did not end well: $(tail -3 "$W/call.out")"
no_media() { [ "$(ctl media | awk '$1 == "media_sessions" {print $2}')" = 0 ]; }
wait_for 30 no_media || fail "media session left: $(ctl media)"
ok "sipp's pcap play and rtp_echo: $N packets each way crossed sbcd, latched to sipp's media ports"
sbc_alive
sbc_stop
