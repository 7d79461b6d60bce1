#!/bin/bash
# Access-side peers: only declared sources (IP or CIDR) over their allowed
# transports may send; the rest is dropped silently, or answered 403 when
# configured.  Emergency calls are let through from anyone.
. "$(dirname "$0")/lib.sh"

X=127.0.$T_N.20        # a stranger
PEERS="[peer pbx]
addr = $P
transports = udp
[peer range]
addr = 127.0.$T_N.32/28
transports = tcp"

sbc_conf "emergency_route = sip:$U:5090" "security_log = $W/security.log"
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_bg switch -sf "$SCEN/uas.xml" -i "$U" -p 5090

sipp_call pbx uac.xml 3 -s 5551234 -d 10 || fail "the declared peer's calls failed"
ok "declared peer (single address, UDP): calls go through"

mkinvite "$W/inv.txt" 5551234
r=$(raw_udp "$X:5071" "$A" 5060 "$W/inv.txt" 1.5)
[ "$r" = TIMEOUT ] || fail "a stranger got '$r'"
grep -q 'refused: unknown source' "$W/sbcd.log" || fail "no log line for the stranger"
python3 - "$W/security.log" "$X" <<'PY' || fail "no security event for the stranger"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
hit = [e for e in ev if e["rule"] == "unknown_source" and e["action"] == "drop"
       and e["source"].startswith(sys.argv[2] + ":") and e["method"] == "INVITE"
       and e["call_id"] and e["from"] and e["to"]]
sys.exit(0 if hit else 1)
PY
ok "unknown source: dropped silently, security event logged (JSON)"

mkinvite "$W/inv911.txt" 911
r=$(raw_udp "$X:5072" "$A" 5060 "$W/inv911.txt")
case $r in "SIP/2.0 180"*|"SIP/2.0 200"*) ;; *) fail "emergency from a stranger got '$r'" ;; esac
ok "emergency call from an unknown source: let through"

# the /28 peer may use TCP only
r=$(raw_udp "127.0.$T_N.40:5071" "$A" 5060 "$W/inv.txt" 1.5)
[ "$r" = TIMEOUT ] || fail "UDP from a TCP-only peer got '$r'"
grep -q 'refused: transport not allowed' "$W/sbcd.log" || fail "no log line for the transport"
sipp_run range -sf "$SCEN/uac.xml" -s 5551234 -i 127.0.$T_N.40 -p 5070 "$A:5060" \
	-t t1 -m 2 -r 10 -d 10 -timeout 30 -timeout_error || fail "TCP calls of the /28 peer failed"
ok "CIDR peer: TCP calls go through, UDP refused"
sbc_stop

sbc_set "unknown_source_reply = yes"
sbc_start
r=$(raw_udp "$X:5071" "$A" 5060 "$W/inv.txt")
[ "${r%% [A-Z]*}" = "SIP/2.0 403" ] || fail "unknown source with 403 configured got '$r'"
grep -q '"rule":"unknown_source","action":"403"' "$W/security.log" || fail "no 403 event"
ok "unknown_source_reply = yes: 403"
sbc_stop

# a flood of refusals does not flood the log
sbc_set "unknown_source_reply = no"
sbc_set "security_log_rate = 20"
: > "$W/security.log"
sbc_start
for i in 1 2; do
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5073))
m = open(sys.argv[3], "rb").read()
for _ in range(300):
    s.sendto(m, (sys.argv[2], 5060))
' "$X" "$A" "$W/inv.txt"
	sleep 1.1
done
# a second's summary is written with the next second's first event
wait_for 50 grep -q '"event":"suppressed","count":[1-9]' "$W/security.log" \
	|| fail "no summary of suppressed events"
n=$(grep -c '"rule":"unknown_source"' "$W/security.log")
[ "$n" -le 45 ] || fail "$n event lines for 600 refusals at 20 a second"
ok "600 refusals: $n event lines and a summary of the rest"
sbc_stop
