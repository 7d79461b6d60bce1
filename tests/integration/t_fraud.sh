#!/bin/bash
# Toll-fraud profiles: concurrent calls, calls of one From user, calls a
# minute, destinations, daily quotas in working hours and off-hours (the
# schedule in the profile's own time zone), each limit answered with the
# profile's code and a security event; and the call counters going back
# down on every way a call ends (BYE either way, failure, CANCEL, no
# answer), read through sbcctl.
. "$(dirname "$0")/lib.sh"

SBCCTL=${SBCCTL:?SBCCTL must point to sbcctl}
ctl() { "$SBCCTL" -s "$W/sbcd.sock" "$@"; }
P11=127.0.$T_N.11
P12=127.0.$T_N.12
P13=127.0.$T_N.13
P14=127.0.$T_N.14

# An off-hours window of an hour around now in New York: now is off-hours
# there, and not in Tokyo, 13 or 14 hours ahead, with the same schedule.
NYWIN=$(python3 - <<'PY'
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
n = datetime.now(ZoneInfo("America/New_York"))
a, b = n - timedelta(minutes=30), n + timedelta(minutes=30)
print("%02d:%02d-%02d:%02d,%d" % (a.hour, a.minute, b.hour, b.minute, a.isoweekday()))
PY
)

PEERS="[peer pbx]
addr = $P
profile = small
[profile small]
max_calls = 2
[peer pbx2]
addr = $P12
profile = perfrom
[profile perfrom]
max_per_from = 1
[peer pbx3]
addr = $P11
profile = rate
[profile rate]
calls_per_minute = 3
deny = ^(00|\\+)
allow = ^[0-9+]{4,15}\$
reject_code = 603
[peer ny]
addr = $P13
profile = ny
[profile ny]
timezone = America/New_York
offhours = $NYWIN
daily_calls = 100
daily_calls_offhours = 1
[peer tokyo]
addr = $P14
profile = tokyo
[profile tokyo]
timezone = Asia/Tokyo
offhours = $NYWIN
daily_calls = 100
daily_calls_offhours = 1"

sbc_conf "security_log = $W/security.log" "upstream_timeout = 500"
sbc_start

calls_of() {
	ctl calls | awk -v p="$1" '$1 == "calls" && $2 == p && NF == 3 {n = $3} END {print n + 0}'
}
dialogs() { ctl calls | awk '$1 == "dialogs" {print $2}'; }
expect_zero() {
	local n
	for _ in $(seq 1 30); do
		n=$(dialogs)
		[ "$n" = 0 ] && break
		sleep 0.1
	done
	[ "$n" = 0 ] || { ctl calls; fail "$1: $n calls left in the table"; }
	[ "$(calls_of pbx)" = 0 ] || fail "$1: peer count not back to 0"
	ok "$1: call counters back to 0"
}
event() {
	grep -q "\"rule\":\"$1\",\"action\":\"$2\"" "$W/security.log" || fail "no event $1 $2"
}
# --- concurrent calls: two held, the third refused -----------------------
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080
# held until the test lets them go (call_release)
sipp_bg held -sf "$SCEN/uac_until.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" \
	-m 2 -l 2 -r 10 -timeout 60 -timeout_error
held_calls() { [ "$(calls_of "$1")" = "$2" ]; }
wait_for 100 held_calls pbx 2 || { ctl calls; fail "2 held calls not counted"; }
reply_is "third call over max_calls = 2" 403 "$P:5071" 5551234
event fraud:max_calls 403
ok "max_calls = 2: two calls held, the third 403 with an event"
both_answered() { [ "$(grep -c "^SIP/2.0 200" "$W/held.msg")" -ge 2 ]; }
wait_for 100 both_answered || fail "the held calls were not both answered"
call_release held "$P" 5070
wait_pid "$PID_held" 20 || fail "held calls failed"
expect_zero "BYE from the caller"

# --- one From user ------------------------------------------------------
sipp_bg held2 -sf "$SCEN/uac_until.xml" -s 5551234 -i "$P12" -p 5070 "$A:5060" \
	-m 1 -timeout 60 -timeout_error
wait_for 100 held_calls pbx2 1 || { ctl calls; fail "the held call of pbx2 not counted"; }
reply_is "second call of caller1" 403 "$P12:5071" 5551234 caller1
event fraud:max_per_from 403
call_answered held2
call_release held2 "$P12" 5070
wait_pid "$PID_held2" 20 || fail "held call of pbx2 failed"
ok "max_per_from = 1: a second call of the same From user refused"

# --- every other way a call ends ----------------------------------------
kill "$PID_uas"; wait "$PID_uas" 2>/dev/null
sipp_bg uas_bye -sf "$SCEN/uas_indialog.xml" -i "$U" -p 5080
sipp_call callee_bye uac_indialog.xml 1 -s 5551234 || fail "call hung up by the callee failed"
expect_zero "BYE from the callee"
kill "$PID_uas_bye"; wait "$PID_uas_bye" 2>/dev/null

sipp_bg uas_busy -sf "$(scen_gen uas486 uas_err.xml.in CODE=486 REASON='Busy Here' HDR=)" \
	-i "$U" -p 5080
sipp_call busy "$(scen_gen uac486 uac_err.xml.in CODE=486 HDR=CSeq RE=INVITE)" 2 -s 5551234 \
	|| fail "busy calls failed"
expect_zero "failure answer (486)"
kill "$PID_uas_busy"; wait "$PID_uas_busy" 2>/dev/null

sipp_bg uas_cancel -sf "$SCEN/uas_cancel.xml" -i "$U" -p 5080
sipp_call cancel uac_cancel.xml 2 -s 5551234 || fail "cancelled calls failed"
expect_zero "CANCEL"
kill "$PID_uas_cancel"; wait "$PID_uas_cancel" 2>/dev/null
sleep 0.3

reply_is "call to a silent upstream" 503 "$P:5072" 5551234
expect_zero "no answer (503 after upstream_timeout)"

# --- calls a minute, destinations, the profile's code --------------------
sipp_bg uas2 -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_call rate uac.xml 3 -s 5551234 -i "$P11" || fail "3 calls within calls_per_minute = 3 failed"
reply_is "fourth call in a minute" 603 "$P11:5071" 5551234
event fraud:calls_per_minute 603
ok "calls_per_minute = 3: the fourth call 603 (reject_code)"
reply_is "international number" 603 "$P11:5072" 0044123456789
event fraud:denied_destination 603
reply_is "number outside allow" 603 "$P11:5073" 12
event fraud:not_allowed_destination 603
ok "deny and allow patterns on the dialled number"

# --- daily quotas in off-hours, in the profile's time zone ---------------
sipp_call ny1 uac.xml 1 -s 5551234 -i "$P13" || fail "first off-hours call failed"
reply_is "second off-hours call in New York" 403 "$P13:5071" 5551234
event fraud:daily_calls_offhours 403
sipp_call tokyo uac.xml 2 -s 5551234 -i "$P14" || fail "working-hours calls in Tokyo failed"
ctl counters > "$W/counters.txt"
grep -qE '^day:ny:[0-9]{8}:off 1 ' "$W/counters.txt" || { cat "$W/counters.txt"; fail "no off-hours count for ny"; }
grep -qE '^day:tokyo:[0-9]{8}:work 2 ' "$W/counters.txt" || { cat "$W/counters.txt"; fail "no working-hours count for tokyo"; }
ok "schedule $NYWIN: off-hours in New York (1 call a day), working hours in Tokyo"

# a request inside a call sbcd never let through: 481
{
	echo "BYE sip:callee@$U:5080 SIP/2.0"
	echo "Via: SIP/2.0/UDP $P:5075;branch=z9hG4bK$RANDOM$RANDOM;rport"
	echo "Route: <sip:$A;lr>, <sip:$C;lr>"
	echo "From: <sip:caller@$P>;tag=forged"
	echo "To: <sip:5551234@$A>;tag=made-up"
	echo "Call-ID: forged-$RANDOM@$P"
	echo "CSeq: 2 BYE"
	echo "Max-Forwards: 70"
	echo "Content-Length: 0"
	echo ""
} | crlf "$W/bye.txt"
r=$(raw_udp "$P:5075" "$A" 5060 "$W/bye.txt" 2)
[ "${r%% [A-Z]*}" = "SIP/2.0 481" ] || fail "BYE of an unknown call got '$r'"
event unknown_dialog 481
ok "in-dialog request of no known call: 481 and an event"

expect_zero "end of the test"
sbc_alive
sbc_stop
