#!/bin/bash
# A planned restart of a standalone node keeps its calls (state_file):
# sbcd writes the answered call, its media session, its counters at a
# clean stop (and a blacklist rule added at run time, and the ban of a
# flooding source) and reads them back at start.  After the restart the
# flooder is still banned, and the call
# is listed with its peer's count, RTP flows through the same sbcd ports
# both ways (still latched: a third party is dropped), and the caller's
# BYE reaches the callee instead of getting 481; then nothing is left.
# A damaged record in the file is skipped, named by its line.  sbcd can
# still hang a restored call up itself (it kept its INVITE and 2xx).
. "$(dirname "$0")/lib.sh"

ctl() { "${SBCCTL:?}" -s "$W/sbcd.sock" "$@"; }
confirmed() { ctl calls | grep -q " state confirmed "; }
MA=127.0.$T_N.20        # the caller's media
MB=127.0.$T_N.21        # the callee's
MX=127.0.$T_N.22        # a third party
X=127.0.$T_N.23         # a flooder
options() { # FILE SRC_IP SRC_PORT: an OPTIONS to sbcd itself
	printf 'OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%s;branch=z9hG4bK%s\r\nFrom: <sip:f@%s>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: o%s@%s\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' \
		"$A" "$2" "$3" "$RANDOM$RANDOM" "$2" "$A" "$RANDOM$RANDOM" "$2" > "$1"
}
# media ports below the kernel's ephemeral range (32768-60999): the
# restart re-binds the very ports of the saved sessions, and a client
# socket of a test running alongside could have taken one meanwhile
sbc_conf "media_port_min = 29000" "media_port_max = 29999" "state_file = $W/state" \
	"flood_requests = 20" "flood_window = 10" "flood_ban = 300"
sbc_start
# the call stays up, across the restart, until the test is done with it
scen_media uac_until.xml uac_media.xml "$MA" 7000
scen_media uas.xml uas_media.xml "$MB" 7002
sipp_bg uas -sf "$W/uas_media.xml" -i "$U" -p 5080
sipp_bg call -sf "$W/uac_media.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" \
	-m 1 -timeout 60 -timeout_error
call_answered call
ctl calls | grep -q " state confirmed " || fail "no answered call: $(ctl calls)"

rtp_check() { # WHAT: RTP both ways through sbcd's ports, a third party dropped
	python3 - "$W/call.msg" "$W/uas.msg" "$A" "$C" "$MA" "$MB" "$MX" <<'PY' || fail "$1"
import re, socket, sys
callmsg, uasmsg, A, C, MA, MB, MX = sys.argv[1:8]
def port_of(f, first):
    t = open(f, errors="replace").read()
    i = t.find(first)
    return int(re.search(r"^m=audio (\d+)", t[i:t.find("-----", i)], re.M).group(1))
pa, pb = port_of(callmsg, "SIP/2.0 200 OK"), port_of(uasmsg, "INVITE sip:")
def sock(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port)); s.settimeout(1.0)
    return s
a, b, x = sock(MA, 7000), sock(MB, 7002), sock(MX, 7004)
for seq in range(20):
    pkt = bytes([0x80, 0, 0, seq]) + bytes(8) + b"A" * 160
    a.sendto(pkt, (A, pa))
    d, src = b.recvfrom(2048)
    assert d == pkt and src == (C, pb), src
    pkt = bytes([0x80, 0, 1, seq]) + bytes(8) + b"B" * 160
    b.sendto(pkt, (C, pb))
    d, src = a.recvfrom(2048)
    assert d == pkt and src == (A, pa), src
x.sendto(bytes(172), (A, pa))
b.settimeout(0.3)
try:
    b.recvfrom(2048)
    sys.exit("a third party's packet was relayed")
except socket.timeout:
    pass
PY
}
rtp_check "RTP before the restart"
ports_before=$(ctl media | grep -o "port [0-9]*" | sort | tr '\n' ' ')

ctl blacklist add evil user_agent prefix 403 0 EvilDialer > /dev/null || fail "blacklist add"
# 30 OPTIONS from the flooder: banned at the 21st
python3 - "$X" "$A" <<'PY'
import socket, sys
X, A = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((X, 5076))
for i in range(30):
    s.sendto(("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5076;branch=z9hG4bKf%d\r\n"
              "From: <sip:f@%s>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: f%d@%s\r\n"
              "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
              % (A, X, i, X, A, i, X)).encode(), (A, 5060))
PY
wait_for 30 grep -q "flood: $X sent over 20 requests" "$W/sbcd.log" || fail "the flooder was not banned"
ctl bans | grep -q "^$X remaining=" || fail "bans before the restart: $(ctl bans)"
sbc_stop
[ -s "$W/state" ] || fail "no state file written"
grep -q "^dlg 1 " "$W/state" && grep -q "^med " "$W/state" || fail "state file: $(cat "$W/state")"
grep -q "^ban [0-9]* $X flood$" "$W/state" || fail "the ban was not written: $(grep -c . "$W/state") records"
# a damaged record is skipped with its line, the rest still applies
echo "dlg 1 damaged" >> "$W/state"
bad=$(wc -l < "$W/state")
sbc_start
grep -q "state: $W/state:$bad: record not restored" "$W/sbcd.log" || fail "no warning for the damaged line $bad"
grep -q "(1 records skipped)" "$W/sbcd.log" || fail "the damaged record was not counted" 
[ ! -e "$W/state" ] || fail "the state file was not removed once read"
grep -q "state: 1 calls restored" "$W/sbcd.log" || fail "no restore log line"
ctl calls | grep -q " state confirmed " || fail "the call was not restored: $(ctl calls)"
ctl calls | grep -q "^calls test 1$" || fail "the peer's call count was not restored: $(ctl calls)"
ctl blacklist list | grep -q '^evil user_agent prefix 403 expires=0 hits=0 EvilDialer' \
	|| fail "the run-time blacklist rule was not restored: $(ctl blacklist list | grep -c .) rules"
ports_after=$(ctl media | grep -o "port [0-9]*" | sort | tr '\n' ' ')
[ "$ports_before" = "$ports_after" ] || fail "media ports moved: '$ports_before' -> '$ports_after'"
rtp_check "RTP after the restart"
ok "after a restart the call is back: same media ports, RTP both ways, latched (third party dropped)"

call_release call "$P" 5070
wait_pid "$PID_call" 20 || fail "the caller's BYE after the restart failed: $(tail -3 "$W/call.err" 2>/dev/null)"
grep -q "^SIP/2.0 200 OK" "$W/call.msg" && grep -q "^BYE " "$W/uas.msg" || fail "the BYE did not reach the callee"
no_call() { [ -z "$(ctl calls | grep ' state ')" ]; }
no_media() { [ "$(ctl media | awk '$1 == "media_sessions" {print $2}')" = 0 ]; }
wait_for 30 no_call || fail "call left: $(ctl calls)"
wait_for 30 no_media || fail "media left: $(ctl media)"
ok "the caller's BYE after the restart reached the callee; the call and its ports are gone"

# the ban holds for what was left of it, in the kernel filter too
left=$(ctl bans | sed -n "s/^$X remaining=\([0-9]*\)s dropped=0 reason=flood$/\1/p")
[ -n "$left" ] && [ "$left" -gt 250 ] && [ "$left" -le 300 ] || fail "the ban was not restored: $(ctl bans)"
options "$W/o.txt" "$X" 5077
r=$(raw_udp "$X:5077" "$A" 5060 "$W/o.txt" 1)
[ "$r" = TIMEOUT ] || fail "the banned flooder got '$r' after the restart"
options "$W/o.txt" "$P" 5077
r=$(raw_udp "$P:5077" "$A" 5060 "$W/o.txt" 2)
case $r in "SIP/2.0 200"*) ;; *) fail "the caller's OPTIONS got '$r'" ;; esac
ok "after a restart the flooder is still banned (${left} s left, dropped), others are answered"
sbc_alive
sbc_stop
kill "$PID_uas"; wait "$PID_uas" 2>/dev/null

# 2. sbcd still hangs up a restored call itself: past dialog_max_duration
# it sends both parties their BYE, built from the INVITE and 2xx it kept
sbc_conf "media_port_min = 29000" "media_port_max = 29999" "state_file = $W/state" \
	"dialog_max_duration = 5" "media_timeout = 0"
sbc_start
sipp_bg uas2 -sf "$SCEN/uas.xml" -i "$U" -p 5080
# the caller holds the call until sbcd's BYE comes
sipp_bg long -sf "$SCEN/uac_until.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" -m 1 \
	-timeout 60 -timeout_error
wait_for 50 confirmed || fail "the call is not up: $(ctl calls)"
sbc_stop
grep -q "^dmsg " "$W/state" || fail "the call's INVITE and 2xx were not written"
sbc_start
wait_for 80 grep -q "hung up by sbcd (maximum call duration)" "$W/sbcd.log" || fail "the restored call was not hung up"
wait_pid "$PID_long" 15 || fail "the caller did not get (and answer) sbcd's BYE"
grep -q "^BYE sip:caller1@$P:5070" "$W/long.msg" || fail "the caller got no BYE"
wait_for 50 grep -q "^BYE sip:callee@$U:5080" "$W/uas2.msg" || fail "the callee got no BYE"
wait_for 30 no_call || fail "call left: $(ctl calls)"
ok "a restored call past dialog_max_duration: BYE to both parties"
sbc_alive
sbc_stop
