#!/bin/bash
# sbcd hangs up by itself: a call longer than dialog_max_duration, and a
# call without media for media_timeout, each get a BYE to both parties
# (in each one's CSeq space, with a Reason), the call is ended and its
# media ports go back; a call with media flowing is left alone.
. "$(dirname "$0")/lib.sh"

ctl() { "${SBCCTL:?}" -s "$W/sbcd.sock" "$@"; }
sessions() { ctl media | awk '$1 == "media_sessions" {print $2}'; }
dialogs() { ctl calls | awk '$1 == "dialogs" {print $2}'; }

# the callers (uac_until.xml) hold their calls until sbcd's BYE comes,
# and answer it: the caller's sipp ends with that
hung_up() {     # hung_up WHAT CALLER CALLEE_TRACE
	local pid
	eval "pid=\$PID_$2"
	wait_pid "$pid" 15 || fail "$1: the caller did not answer a BYE"
	grep -q "^BYE sip:caller1@$P:5070" "$W/$2.msg" || fail "$1: the caller got no BYE"
	wait_for 50 grep -q "^BYE sip:callee@$U:5080" "$3" || fail "$1: the callee got no BYE"
	grep -q "^Reason: SIP;cause=200;text=\"$1\"" "$W/$2.msg" || fail "$1: no Reason in the BYE"
	[ "$(dialogs)" = 0 ] || fail "$1: calls left: $(ctl calls)"
	wait_for 30 no_media || fail "$1: media left: $(ctl media)"
}
is_up() { [ "$(dialogs)" = 1 ]; }
no_media() { [ "$(sessions)" = 0 ]; }

# 1. maximum duration: 3 s for a call the caller would hold on
sbc_conf "dialog_max_duration = 3" "media_timeout = 0"
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_bg long -sf "$SCEN/uac_until.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" -m 1 \
	-timeout 30 -timeout_error
wait_for 50 is_up || fail "the call is not up"
wait_for 100 grep -q "hung up by sbcd (maximum call duration)" "$W/sbcd.log" \
	|| fail "no hang-up within 10 s"
# not before 3 s: from the INVITE to the hang-up, by the log's clock
# (wall time, the timers' is monotonic: 50 ms of slack)
at() { date -d "$(grep -m1 "$1" "$W/sbcd.log" | cut -d' ' -f1)" +%s%3N; }
ms=$(($(at "hung up by sbcd (maximum call duration)") - $(at "access side: INVITE sip:5551234")))
[ "$ms" -ge 2950 ] || fail "hung up $ms ms after the INVITE"
hung_up "maximum call duration" long "$W/uas.msg"
grep -A8 "^BYE sip:callee" "$W/uas.msg" | grep -q "^CSeq: 2 BYE" || fail "the callee's BYE is not in the caller's CSeq space"
ok "dialog_max_duration: BYE to both parties after 3 s ($ms ms after the INVITE), call and media ports freed"
kill "$PID_uas"; wait "$PID_uas" 2>/dev/null
sbc_stop

# 2. no media for 2 s: hung up; a call whose media flows is not
sbc_conf "media_timeout = 2" "media_port_min = 33000" "media_port_max = 33999"
sbc_start
sipp_bg uas2 -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_bg quiet -sf "$SCEN/uac_until.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" -m 1 \
	-timeout 30 -timeout_error
wait_for 60 grep -q "hung up by sbcd (media inactivity)" "$W/sbcd.log" || fail "a call without media was not hung up"
hung_up "media inactivity" quiet "$W/uas2.msg"
ok "media_timeout: a call without a packet for 2 s hung up (BYE to both), freed"

# a call whose caller sends RTP every 200 ms for 5 s stays up; its
# caller hangs up when the media is done
MA=127.0.$T_N.20
scen_media uac_until.xml uac_media.xml "$MA" 7000
sipp_bg talk -sf "$W/uac_media.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" -m 1 \
	-timeout 30 -timeout_error
call_answered talk
python3 - "$W/talk.msg" "$A" "$MA" <<'PY' || fail "cannot send media"
import re, socket, sys, time
txt = open(sys.argv[1], errors="replace").read()
i = txt.find("SIP/2.0 200 OK")
port = int(re.search(r"^m=audio (\d+)", txt[i:], re.M).group(1))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[3], 7000))
for seq in range(25):
    s.sendto(bytes([0x80, 0, 0, seq]) + bytes(8) + b"x" * 160, (sys.argv[2], port))
    time.sleep(0.2)
PY
call_release talk "$P" 5070
wait_pid "$PID_talk" 15 || fail "the call with media was cut"
[ "$(grep -c "hung up by sbcd (media inactivity)" "$W/sbcd.log")" = 1 ] \
	|| fail "a call with media flowing was hung up"
ok "a call with media flowing for 5 s (media_timeout 2 s) is left alone"
sbc_alive
sbc_stop
