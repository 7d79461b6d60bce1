#!/bin/bash
# IPv6: both sides on ::1 (different ports), calls through, Via and
# Record-Route with bracketed addresses.  Only this test uses ::1.
. "$(dirname "$0")/lib.sh"

if ! python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	t_log "no IPv6 loopback here: skipped"
	exit 0
fi
PORT_A=$((15000 + T_N * 10))
cat > "$W/sbc.conf" <<EOC
log_level = debug
access_addr = ::1
access_port = $PORT_A
access_tls_port = 0
core_addr = ::1
core_port = $((PORT_A + 2))
core_tls_port = 0
core_tls_cert =
core_tls_key =
upstream = sip:[::1]:$((PORT_A + 4));transport=udp
EOC
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i ::1 -p $((PORT_A + 4))
sipp_run uac -sf "$SCEN/uac.xml" -s 5551234 -i ::1 -p $((PORT_A + 6)) "[::1]:$PORT_A" \
	-m 5 -r 10 -d 20 -timeout 30 -timeout_error || fail "IPv6 calls failed"
grep -q "^Record-Route: <sip:\[::1\]:$((PORT_A + 2));lr>" "$W/uas.msg" || fail "no IPv6 Record-Route"
grep -q "^Via: SIP/2.0/UDP \[::1\]:$((PORT_A + 2));branch=" "$W/uas.msg" || fail "no IPv6 Via"
ok "5 calls over IPv6 with bracketed Via and Record-Route"
sbc_stop
