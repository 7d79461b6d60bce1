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

# no emergency route: 503 and a warning at start-up
sbc_conf
sbc_start
grep -q 'no emergency_route' "$W/sbcd.log" || fail "no start-up warning"
mkinvite "$W/inv.txt" 112
r=$(raw_udp "$P:5071" "$A" 5060 "$W/inv.txt")
[ "${r%% [A-Z]*}" = "SIP/2.0 503" ] || fail "112 without emergency_route got '$r'"
ok "112 without emergency_route: 503 and a start-up warning"
sbc_stop
