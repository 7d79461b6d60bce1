#!/bin/bash
# SIP trace to a HEP capture server (hep_dest): a bad address is a config
# error naming file and line; with Kamailio's sipcapture as the capture
# server (tests/integration/kamailio/hep.cfg: it logs what each HEPv3
# datagram says, decoded by Kamailio), a UDP call and a TCP call are seen
# whole, every message on both legs (received and sent) with its true
# addresses, ports and transport, the capture id and the key; sbcd's
# count of traced messages is what the server got; with the server gone
# calls go on as before and the lost datagrams are counted.
. "$(dirname "$0")/lib.sh"

ctl() { "$SBCCTL" -s "$W/sbcd.sock" "$@"; }
stat() { ctl stats | awk -v k="$1" '$1 == k { print $2 }'; }

# ---- bad values, at `sbcd -t` ----
for bad in "$U" "capture.example.net:9060"; do
	sbc_conf "hep_dest = $bad"
	sbc_write_conf
	line=$(grep -n '^hep_dest' "$W/sbcd.conf" | cut -d: -f1)
	"$SBCD" -t -f "$W/sbcd.conf" > "$W/t.out" 2>&1 && fail "sbcd -t took hep_dest = $bad"
	grep -q "sbcd.conf:$line: hep_dest: not ADDR:PORT" "$W/t.out" \
		|| fail "hep_dest = $bad: no error naming file and line: $(cat "$W/t.out")"
done
ok "hep_dest without a port or with a name: an error naming file and line"

# ---- Kamailio's sipcapture as the capture server ----
command -v kamailio >/dev/null || fail "kamailio not installed"
mkdir -p "$W/db"
kamailio -f "$HERE/kamailio/hep.cfg" -DD -E -m 16 -M 4 -n 1 -w "$W" \
	-P "$W/kamailio.pid" -Y "$W" -A "LISTEN=udp:$U:9060" \
	-A "DBURL=\"text://$W/db\"" </dev/null >"$W/kamailio.log" 2>&1 &
KAM=$!
T_PIDS="$T_PIDS $KAM"
listening() { ss -Hlun "src $U:9060" | grep -q 9060; }
wait_for 100 listening || fail "kamailio not listening: $(tail -5 "$W/kamailio.log")"

sbc_conf "hep_dest = $U:9060" "hep_capture_id = 7" "hep_password = s3cret"
sbc_start
grep -q "SIP trace: HEPv3 to $U:9060, capture id 7" "$W/sbcd.log" || fail "no start line for the trace"
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080
sipp_call udp uac.xml 1 -s 5551234 || fail "the UDP call failed: $(tail -3 "$W/udp.out")"
sipp_call tcp uac.xml 1 -t t1 -s 5551234 -p 5071 || fail "the TCP call failed: $(tail -3 "$W/tcp.out")"

hep() { grep -c "NOTICE: <script>: HEP " "$W/kamailio.log"; }
all_in() { [ "$(hep)" = "$(stat hep_sent)" ]; }
wait_for 50 all_in || fail "sbcd sent $(stat hep_sent), the capture server logged $(hep)"
n=$(hep)
[ "$(stat hep_dropped)" = 0 ] || fail "$(stat hep_dropped) dropped on loopback"
bad=$(grep "NOTICE: <script>: HEP " "$W/kamailio.log" | grep -v " v=3 id=7 auth=s3cret " | head -3)
[ -z "$bad" ] || fail "HEP headers not as configured: $bad"
# each message of each leg, once received and once sent (proto 17 UDP,
# 6 TCP); the core leg of both calls is UDP (the upstream's transport)
seen() { # COUNT PROTO FROM TO FIRST_WORDS: so many such captures
	local c
	c=$(grep -c -F " proto=$2 $3 > $4 type=1 $5" "$W/kamailio.log")
	[ "$c" = "$1" ] || fail "$c captures of '$5' $3 > $4 over $2 (want $1): $(grep -F " $3 > $4 " "$W/kamailio.log" | sed 's/.*HEP //' | head -8)"
}
# the access leg of each call, over its own transport (the 200s: to the
# INVITE and to the BYE)
for leg in "17 $P:5070" "6 $P:5071"; do
	set -- $leg
	seen 1 "$1" "$2" "$A:5060" "INVITE sip:5551234@$A:5060"
	seen 1 "$1" "$A:5060" "$2" "SIP/2.0 100 "
	seen 1 "$1" "$A:5060" "$2" "SIP/2.0 180 "
	seen 2 "$1" "$A:5060" "$2" "SIP/2.0 200 "
	seen 1 "$1" "$2" "$A:5060" "ACK "
	seen 1 "$1" "$2" "$A:5060" "BYE "
done
# the core leg of both calls, over UDP (the upstream's transport)
seen 2 17 "$C:5060" "$U:5080" "INVITE sip:5551234@"
seen 2 17 "$U:5080" "$C:5060" "SIP/2.0 180 "
seen 4 17 "$U:5080" "$C:5060" "SIP/2.0 200 "
seen 2 17 "$C:5060" "$U:5080" "ACK "
seen 2 17 "$C:5060" "$U:5080" "BYE "
ok "a UDP and a TCP call captured whole by Kamailio's sipcapture: both legs, each message received and sent, true addresses, ports and transports, capture id 7, key; $n messages, as sbcd counted"

# ---- the capture server goes away: calls go on, losses counted ----
kill "$KAM"
wait_pid "$KAM" 10 >/dev/null
sipp_call gone uac.xml 3 -s 5551234 -p 5072 || fail "calls failed without the capture server: $(tail -3 "$W/gone.out")"
sent=$(stat hep_sent)
dropped=$(stat hep_dropped)
[ "$dropped" -gt 0 ] || fail "nothing counted as dropped without the capture server (sent $sent)"
sbc_alive
sbc_stop
ok "without the capture server 3 calls went through; $dropped datagrams counted as dropped (refused by the kernel), $((sent - n)) sent unheard"
