#!/bin/bash
# Upstream unreachable: the caller gets 503 within a second, and the log
# says why, for UDP (silence), TCP (refused) and TLS (refused).
. "$(dirname "$0")/lib.sh"

elapsed_503() {
	local r ms
	mkinvite "$W/inv.txt" 5551234
	r=$(raw_udp "$P:5071" "$A" 5060 "$W/inv.txt" 5)
	[ "${r%% [A-Z]*}" = "SIP/2.0 503" ] || fail "$1: got '$r' instead of 503"
	ms=$(cat "$W/inv.txt.ms")
	[ "$ms" -lt 1000 ] || fail "$1: 503 after $ms ms"
	ok "$1: 503 after $ms ms"
}

sbc_conf
sbc_start
elapsed_503 "UDP upstream silent"
grep -q 'no answer to INVITE within' "$W/sbcd.log" || fail "no log line"
sbc_stop

sbc_conf "upstream = sip:$U:5080;transport=tcp"
sbc_start
elapsed_503 "TCP upstream refusing"
grep -q 'failed: Connection refused' "$W/sbcd.log" || fail "no log line for TCP"
sbc_stop
