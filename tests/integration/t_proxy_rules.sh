#!/bin/bash
# RFC 3261 section 16 rules: Max-Forwards (483 at zero, decremented),
# OPTIONS to sbcd itself (trunk monitoring), loop detection (482),
# in-dialog requests only along our route set (481), unmatched CANCEL,
# and a request too large for UDP sent over TCP (RFC 3261 18.1.1).
. "$(dirname "$0")/lib.sh"

sbc_conf
sbc_start

expect() {
	local name=$1 want=$2 dst=${3:-$A} r
	crlf "$W/$name.txt"
	r=$(raw_udp "$P:5071" "$dst" 5060 "$W/$name.txt")
	case $r in
	"$want"*) ok "$name: $r" ;;
	*) fail "$name: expected '$want', got '$r'" ;;
	esac
}
base() { # METHOD RURI [to-tag]
	echo "$1 $2 SIP/2.0"
	echo "Via: SIP/2.0/UDP $P:5071;branch=z9hG4bK$RANDOM$RANDOM;rport"
	echo "From: <sip:caller@$P>;tag=$RANDOM"
	echo "To: <sip:5551234@$A>${3:+;tag=$3}"
	echo "Call-ID: r$RANDOM$RANDOM@$P"
	echo "CSeq: 1 $1"
}

expect options_self "SIP/2.0 200 OK" < <(base OPTIONS "sip:$A:5060"; echo "Max-Forwards: 70"; echo "Content-Length: 0"; echo)
expect options_self_mf0 "SIP/2.0 200 OK" < <(base OPTIONS "sip:$A"; echo "Max-Forwards: 0"; echo "Content-Length: 0"; echo)
expect options_core "SIP/2.0 200 OK" < <(base OPTIONS "sip:$A"; echo "Content-Length: 0"; echo)
expect maxfwd_zero "SIP/2.0 483 Too Many Hops" < <(base INVITE "sip:5551234@$A"; echo "Max-Forwards: 0"; echo "Content-Length: 0"; echo)
expect loop "SIP/2.0 482 Loop Detected" < <(base INVITE "sip:5551234@$A"; echo "Via: SIP/2.0/UDP $C:5060;branch=z9hG4bKloop"; echo "Content-Length: 0"; echo)
expect indialog_no_route "SIP/2.0 481" < <(base BYE "sip:callee@$U:5080" abc; echo "Content-Length: 0"; echo)
expect cancel_unmatched "SIP/2.0 481" < <(base CANCEL "sip:5551234@$A"; echo "Content-Length: 0"; echo)
expect register_no_registrar "SIP/2.0 403" < <(base REGISTER "sip:$A"; echo "Contact: <sip:u@$P:5071>"; echo "Content-Length: 0"; echo)
expect core_initial "SIP/2.0 404" "$C" < <(base INVITE "sip:5551234@$C"; echo "Content-Length: 0"; echo)

# Max-Forwards 1 still goes through, as 0
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080
sed 's/Max-Forwards: 70/Max-Forwards: 1/' "$SCEN/uac.xml" > "$W/uac_mf1.xml"
sipp_call uac_mf1 "$W/uac_mf1.xml" 1 -s 5551234 -d 10 || fail "Max-Forwards 1 call failed"
grep -q '^Max-Forwards: 0' "$W/uas.msg" || fail "Max-Forwards 1 not decremented to 0"
ok "Max-Forwards 1 forwarded as 0"
kill "$PID_uas"; wait "$PID_uas" 2>/dev/null

# a 2000-byte INVITE to a UDP next hop goes over TCP
sipp_bg uastcp -sf "$SCEN/uas.xml" -i "$U" -p 5080 -t t1
pad=$(head -c 800 /dev/zero | tr '\0' 'x')
sed "s/^      User-Agent: sbc-test-uac/      User-Agent: sbc-test-uac\n      X-Pad1: $pad\n      X-Pad2: $pad/" "$SCEN/uac.xml" > "$W/uac_big.xml"
sipp_call uac_big "$W/uac_big.xml" 1 -s 5551234 -d 10 || fail "large INVITE call failed"
grep -q "^Via: SIP/2.0/TCP $C:5060" "$W/uastcp.msg" || fail "large INVITE did not go over TCP"
ok "2 kB INVITE switched from UDP to TCP"

sbc_alive
sbc_stop
