#!/bin/bash
# Emergency numbers never go to the screening upstream: they go to
# emergency_route, or get 503 (route-advance) when none is configured.
. "$(dirname "$0")/lib.sh"

# the upstream refuses everything: an emergency call must never see it
uas403=$(scen_gen uas403 uas_err.xml.in CODE=403 REASON=Forbidden HDR="X-Test: upstream")
sbc_conf "emergency_route = sip:$U:5090" "emergency_numbers = 911, 112,999"
sbc_start
sipp_bg upstream -sf "$uas403" -i "$U" -p 5080
sipp_bg switch -sf "$SCEN/uas.xml" -i "$U" -p 5090

for num in 911 112 999; do
	sipp_call uac$num uac.xml 2 -s $num -d 50 || fail "emergency call to $num failed"
done
grep -q '^INVITE sip:911@' "$W/switch.msg" || fail "911 did not reach the emergency route"
grep -q '^INVITE' "$W/upstream.msg" 2>/dev/null && fail "an emergency call reached the upstream"
ok "911/112/999 went to emergency_route, never to the upstream"

# a number that merely starts like one is not an emergency call
uac403=$(scen_gen uac403 uac_err.xml.in CODE=403 HDR="X-Test:" RE=upstream)
sipp_call uac9110 "$uac403" 1 -s 9110 || fail "9110 should go to the upstream"
ok "9110 is screened as usual"

# with a phone-context parameter on the user part
mkinvite "$W/inv.txt" "911;phone-context=+1"
r=$(raw_udp "$P:5071" "$A" 5060 "$W/inv.txt" 3)
case $r in "SIP/2.0 180"*|"SIP/2.0 200"*) ;; *) fail "911;phone-context got '$r'" ;; esac
ok "911;phone-context=+1 recognised"
sbc_stop

# the rest of an emergency call gets through even once its source is
# banned (sbcd drops the ban's traffic itself here, not the kernel)
sbc_set "flood_requests = 20"
sbc_set "flood_kernel_filter = no"
sbc_start
sipp_bg sos -sf "$SCEN/uac_until.xml" -s 911 -i "$P" -p 5070 "$A:5060" \
	-m 1 -timeout 60 -timeout_error
call_answered sos
python3 - "$P" "$A" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5076))
for i in range(60):
    m = ("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5076;branch=z9hG4bKf%d\r\n"
         "From: <sip:f@%s>;tag=f\r\nTo: <sip:%s>\r\nCall-ID: f%d\r\nCSeq: 1 OPTIONS\r\n"
         "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n") % (sys.argv[2], sys.argv[1], i,
                                                        sys.argv[1], sys.argv[2], i)
    s.sendto(m.encode(), (sys.argv[2], 5060))
PY
wait_for 50 grep -q "flood: $P sent over 20 requests" "$W/sbcd.log" || fail "the caller was not banned"
mkinvite "$W/inv.txt" 5551234
r=$(raw_udp "$P:5077" "$A" 5060 "$W/inv.txt" 1)
[ "$r" = TIMEOUT ] || fail "a banned source's new call got '$r'"
call_release sos "$P" 5070
wait_pid "$PID_sos" 20 || fail "the emergency call did not end well after the ban"
grep -q '^BYE ' "$W/switch.msg" || fail "the emergency call's BYE did not reach the emergency route"
ok "banned mid-call: the emergency call's ACK and BYE still go through, other calls dropped"
sbc_stop

# no emergency route: 503 and a warning at start-up
sbc_conf
sbc_start
grep -q 'no emergency_route' "$W/sbcd.log" || fail "no start-up warning"
mkinvite "$W/inv.txt" 112
r=$(raw_udp "$P:5071" "$A" 5060 "$W/inv.txt")
[ "${r%% [A-Z]*}" = "SIP/2.0 503" ] || fail "112 without emergency_route got '$r'"
ok "112 without emergency_route: 503 and a start-up warning"
sbc_stop
