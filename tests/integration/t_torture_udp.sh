#!/bin/bash
# RFC 4475 section 3 over UDP: every torture message to the access side
# from a declared peer comes to what torture/expect.txt says (forwarded,
# answered, dropped; each malformed one a log line and an "invalid"
# security event), an RFC 2543 INVITE works as a transaction, and sbcd's
# log holds its own lines only (torture/torture.py).
. "$(dirname "$0")/lib.sh"
# torture_run TRANSPORT [NAMES]: one sbcd run
torture_run() {
	local tp=$1
	shift
	sbc_conf "security_log = $W/security.log" \
		"registrar = sip:$U:5080;transport=$tp" \
		"upstream = sip:$U:5080;transport=$tp" \
		"tcp_message_timeout = 1"
	# nat = no: its Contacts go on as they are (the RFC's escapes are
	# checked in them), not as sbcd's for a party behind NAT
	PEERS="[peer test]
addr = 127.0.$T_N.0/24
flood_exempt = yes
nat = no"
	sbc_start
	timeout 250 python3 "$HERE/torture/torture.py" "$tp" "$A" "$P" "$U" \
		"$W/sbcd.log" "$W/security.log" "$@" || fail "RFC 4475 over $tp"
	sbc_alive
	sbc_stop
}

# messages that share a transaction identifier go to fresh runs
if [ "$T_NAME" = t_torture_udp ]; then
	python3 "$HERE/torture/torture.py" rounds > "$W/rounds"
	while read -r -a names; do
		torture_run udp "${names[@]}"
	done < "$W/rounds"
	ok "RFC 4475 over UDP, $(wc -l < "$W/rounds") runs"
fi
