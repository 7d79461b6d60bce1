#!/bin/bash
# t_tcp: calls over TCP and TLS survive a crash of the active.  After the
# failover each caller's old connection is gone with n1; the caller
# (tests/cluster/sipua.py) connects again to the access address, now on
# n2, and every call's re-INVITE on the new connection is matched to its
# replicated call and answered 200 through n2; then every BYE, half from
# each end, is answered 200 (the callee's towards a caller on its new
# connection).  The callee is reached over TCP too: after the failover n2
# opens new connections to it, and every connection sbcd opens comes from
# the core service address, never from the node's own.
# Label cluster.  Arg 1: the lab index.
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pair.sh"
CALLS=${PAIR_CALLS:-20}             # per transport
pair_sipua

TOPTS=("flood_requests = 0" "access_tls_port = 5061"
       "upstream = sip:$LAB_CORE_IP:5080;transport=tcp"
       "access_tls_cert = $LAB_W/sbc.crt" "access_tls_key = $LAB_W/sbc.key")
up() { [ "$(ctl "$1" calls | grep -c ' state confirmed ')" = "$((2 * CALLS))" ]; }

lab_up n1 n2
pair_init
pair_up "${TOPTS[@]}"

lab_bg core "$LAB_W/uas.stdout" "$PY" "$SIPUA" uas --listen "$LAB_CORE_IP:5080" \
	--transports udp,tcp --media-ip "$LAB_CORE_IP" --out "$LAB_W/uas.out" \
	--bye-after 30 --max 120 --calls "$((2 * CALLS))"
UASP=$LAB_BG_PID
wait_for 20 grep -q ready "$LAB_W/uas.stdout" || fail "the UAS did not start"
pair_sipua_uac tcp tcp 5060 5070 "$CALLS" 27 100
UTCP=$LAB_BG_PID
pair_sipua_uac tls tls 5061 5080 "$CALLS" 27 100
UTLS=$LAB_BG_PID
wait_for 30 up n1 || fail "calls not all up on n1: $(n_calls n1)"
wait_for 10 up n2 || fail "n2 lacks calls: $(n_calls n2)"
# a call n1 confirmed may have its 200 still on the wire to the caller
# (the crash cuts the cable first): only the caller's ACK says it has it
acked() { [ "$(grep -c 'access side: ACK ' "$LAB_W/n1/sbcd.log")" -ge "$((2 * CALLS))" ]; }
wait_for 10 acked || fail "not every caller ACKed its 200 through n1"
ok "$CALLS TCP and $CALLS TLS calls up through n1, replicated to n2"

# sbcd's connections to the callee, as the callee sees them: from the core
# service address only (n1's own is 192.0.2.11)
from_vip() {
	local peers
	peers=$(lab_core ss -tnH state established '( sport = :5080 )' |
		awk '{ sub(/:[0-9]+$/, "", $NF); print $NF }' | sort -u)
	[ -n "$peers" ] || { echo "no connection to the callee"; return 1; }
	[ "$peers" = "$LAB_VIP_CORE" ] || { echo "connections from: $peers"; return 1; }
}
from_vip || fail "sbcd's connections to the callee: $(from_vip)"
ok "sbcd connects to the callee from the core service address"

pair_crash n1 n2
ok "n1 crashed; n2 active after $PAIR_ACTIVE_MS ms"

# a re-INVITE on every call, over each caller's new connection
kill -USR1 "$UTCP" "$UTLS"
reinvited() { [ "$(grep -c 'reinvite=200' "$LAB_W/$1.out")" = "$CALLS" ]; }
wait_for 20 reinvited tcp || fail "TCP re-INVITEs: $(grep -v 'reinvite=200' "$LAB_W/tcp.out" | head -3)"
wait_for 20 reinvited tls || fail "TLS re-INVITEs: $(grep -v 'reinvite=200' "$LAB_W/tls.out" | head -3)"
ok "every TCP and TLS call's re-INVITE answered 200 through n2 on the callers' new connections"
from_vip || fail "n2's connections to the callee: $(from_vip)"
ok "n2 reached the callee over new connections from the core service address"

for p in "$UTCP" "$UTLS" "$UASP"; do
	reap "$p" 90 || fail "sipua (PID $p) failed: $(cat "$LAB_W"/*.stdout | tail -5)"
done
for f in tcp tls; do
	[ "$(grep -c 'state=ended .* bye_code=200' "$LAB_W/$f.out")" = "$CALLS" ] ||
		fail "$f calls: $(grep -v 'bye_code=200' "$LAB_W/$f.out" | head -3)"
	grep -q "ended_by=callee" "$LAB_W/$f.out" || fail "no $f call hung up by the callee"
done
ok "every BYE (caller's and callee's) answered 200 through n2"
pair_clean n2 "$SBC2"
