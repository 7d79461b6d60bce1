#!/bin/bash
# Blacklists: built-in scanner signatures (drop and a ban of the source;
# FPBX log-only) and
# configured rules on source, number, From, display name and User-Agent
# with exact/prefix/substring/regex matching, actions drop/403/log and
# expiry; emergency calls exempt; each hit a security event.
. "$(dirname "$0")/lib.sh"
SBCCTL=${SBCCTL:?SBCCTL must point to sbcctl}

PEERS="[peer test]
addr = 127.0.$T_N.0/24
[blacklist premium]
field = number
match = prefix
value = 1900
action = 403
[blacklist badnet]
field = source
value = 127.0.$T_N.64/26
[blacklist robo]
field = display_name
match = regex
value = ^robo[0-9]+\$
[blacklist tester]
field = from_user
match = exact
value = mallory
action = 403
[blacklist old]
field = number
match = exact
value = 5550000
expires = 2001-01-01T00:00:00Z"

sbc_conf "emergency_route = sip:$U:5090" "security_log = $W/security.log"
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_bg switch -sf "$SCEN/uas.xml" -i "$U" -p 5090

# each request from its own port: answers to an earlier one (200 OK
# retransmitted, never ACKed here) must not be taken for its answer
PORT=5100
try() { # NAME EXPECT NUMBER [SOURCE] : extra header lines on stdin,
	# From replaced by $FROM when set
	local name=$1 want=$2 num=$3 src=${4:-$P} r
	PORT=$((PORT + 1))
	mkinvite "$W/$name.txt" "$num"
	[ -z "${FROM:-}" ] || sed -i "s|^From: .*|From: $FROM\r|" "$W/$name.txt"
	r=$(raw_udp "$src:$PORT" "$A" 5060 "$W/$name.txt" 1.5)
	case $r in
	"$want"*) ok "$name: ${r:-}" ;;
	*) fail "$name: expected '$want', got '$r'" ;;
	esac
}

# each scanner from its own address: the first hit bans it (scanner_ban)
S1=127.0.$T_N.30
echo "User-Agent: friendly-scanner" | try scanner_ua TIMEOUT 5551234 "$S1"
echo "User-Agent: sipcli/v1.8" | try sipcli TIMEOUT 5551234 127.0.$T_N.31
FROM='<sip:100@1.1.1.1>;tag=1' try from_probe TIMEOUT 100 127.0.$T_N.32 < /dev/null
"$SBCCTL" -s "$W/sbcd.sock" bans | grep -q "^$S1 remaining=[0-9]*s dropped=[0-9]* reason=scanner$" ||
	fail "the scanner is not banned: $("$SBCCTL" -s "$W/sbcd.sock" bans)"
try scanner_banned TIMEOUT 5551234 "$S1" < /dev/null
grep -q "scanner: $S1 matched 'ua-friendly-scanner': banned for 600 s" "$W/sbcd.log" ||
	fail "no log line of the scanner's ban"
echo "User-Agent: FPBX-13.0.197(13.13.1)" | try fpbx "SIP/2.0 180" 5551234
grep -q '"rule":"blacklist:ua-fpbx","action":"log"' "$W/security.log" || fail "no log event for FPBX"
echo "User-Agent: friendly-scanner" | try emergency "SIP/2.0 180" 911
try premium "SIP/2.0 403" 19005551234 < /dev/null
try badnet TIMEOUT 5551234 127.0.$T_N.70 < /dev/null
try goodnet "SIP/2.0 180" 5551234 127.0.$T_N.20 < /dev/null
try expired "SIP/2.0 180" 5550000 < /dev/null
# display name regex (case-insensitive), From user exact
FROM='"Robo42" <sip:x@example.net>;tag=1' try robo_dname TIMEOUT 5551234 < /dev/null
FROM='<sip:mallory@example.net>;tag=1' try mallory_user "SIP/2.0 403" 5551234 < /dev/null

python3 - "$W/security.log" <<'PY' || fail "security events missing or not JSON"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
rules = {(e.get("rule"), e.get("action")) for e in ev}
want = {("blacklist:ua-friendly-scanner", "drop"), ("blacklist:ua-sipcli", "drop"),
        ("blacklist:from-probe-1111", "drop"), ("blacklist:premium", "403"),
        ("blacklist:badnet", "drop"), ("blacklist:robo", "drop"),
        ("blacklist:tester", "403")}
missing = want - rules
if missing:
    print("missing:", missing)
sys.exit(1 if missing else 0)
PY
ok "every hit is a JSON security event"
sbc_stop

# signatures off: the scanner's request reaches the upstream
sbc_set "scanner_signatures = no"
sbc_start
echo "User-Agent: friendly-scanner" | try signatures_off "SIP/2.0 180" 5551234
sbc_stop

# a bad rule is a configuration error naming file and line
PEERS="[peer test]
addr = 127.0.$T_N.0/24
[blacklist bad]
field = user_agent
match = regex
value = (unclosed"
{ cat "$W/sbc.conf"; printf '%s\n' "$PEERS"; } > "$W/bad.conf"
rc=0; "$SBCD" -t -f "$W/bad.conf" > "$W/bad.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q "bad.conf:[0-9]*: blacklist 'bad': bad value" "$W/bad.out" \
	|| fail "bad regex not reported: $(cat "$W/bad.out")"
ok "bad rule: $(head -1 "$W/bad.out")"
