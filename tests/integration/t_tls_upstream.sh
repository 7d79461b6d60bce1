#!/bin/bash
# The screening upstream over TLS: verified against the configured CA,
# hostname checked, SNI sent, optional client certificate, TLS 1.2+.
# A rogue or misnamed upstream, or one that refuses us, costs the caller
# a 503 within a second and the operator a log line saying why.
. "$(dirname "$0")/lib.sh"
certs

tls_conf() {
	sbc_conf "upstream = sip:$U:5081;transport=tls" \
		"upstream_ca = $CERTDIR/ca.crt" \
		"upstream_tls_name = upstream.test" \
		"core_tls_port = 5061" \
		"core_tls_cert = $CERTDIR/sbc.crt" \
		"core_tls_key = $CERTDIR/sbc.key" "$@"
}


# A: the right certificate: calls complete, SNI and verification work
tls_conf
sbc_start
uas_bg good -l "$U:5081" -t tls -c "$CERTDIR/upstream.pem"
sipp_call uac uac.xml 5 -s 5551234 -d 50 || fail "calls over the TLS upstream failed"
grep -q '^sni=upstream.test' "$W/good.events" || fail "no SNI upstream.test"
grep -q "^hdr Record-Route: <sip:$C:5061;transport=tls;lr>" "$W/good.events" \
	|| fail "no TLS Record-Route towards the upstream"
[ "$(grep -c '^bye' "$W/good.events")" = 5 ] || fail "BYEs did not reach the upstream side"
ok "5 calls UDP in, TLS out, SNI upstream.test, TLS Record-Route"
kill "$PID_good"; wait "$PID_good" 2>/dev/null

# B: an upstream with a certificate from an unknown CA
uas_bg rogue -l "$U:5081" -t tls -c "$CERTDIR/rogue.pem"
fast_503 "unknown CA"
grep -q 'peer certificate rejected' "$W/sbcd.log" || fail "no log line for unknown CA"
grep -q '^invite' "$W/rogue.events" && fail "the rogue upstream got the INVITE"
kill "$PID_rogue"; wait "$PID_rogue" 2>/dev/null

# C: a good CA but the wrong name
uas_bg wrong -l "$U:5081" -t tls -c "$CERTDIR/wronghost.pem"
fast_503 "wrong hostname"
grep -q 'hostname mismatch' "$W/sbcd.log" || fail "no log line for the hostname"
grep -q '^invite' "$W/wrong.events" && fail "the misnamed upstream got the INVITE"
kill "$PID_wrong"; wait "$PID_wrong" 2>/dev/null
sbc_stop

# D: the upstream requires a client certificate: ours is accepted...
tls_conf
sbc_start
uas_bg mtls -l "$U:5081" -t tls -c "$CERTDIR/upstream.pem" -A "$CERTDIR/ca.crt" -V
sipp_call uacm uac.xml 2 -s 5551234 -d 50 || fail "mutual TLS calls failed"
grep -q '^client_cn=' "$W/mtls.events" || fail "no client certificate seen"
ok "mutual TLS: client certificate presented and accepted"
sbc_stop
# ...and without one we are refused, and the caller gets 503 fast
tls_conf "core_tls_port = 0" "core_tls_cert =" "core_tls_key ="
sbc_start
fast_503 "client certificate required, none configured"
kill "$PID_mtls"; wait "$PID_mtls" 2>/dev/null
sbc_stop

# E: TLS 1.1 upstream is refused (TLS 1.2 minimum)
if openssl s_server -help 2>&1 | grep -q -- '-tls1_1'; then
	tls_conf
	sbc_start
	openssl s_server -quiet -accept "$U:5081" -cert "$CERTDIR/upstream.pem" \
		-tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' >"$W/s_server.out" 2>&1 &
	T_PIDS="$T_PIDS $!"
	listening() { ss -ltn "src $U:5081" | grep -q LISTEN; }
	wait_for 50 listening || fail "openssl s_server does not listen"
	fast_503 "TLS 1.1 upstream"
	sbc_stop
fi

# F: transport=tcp upstream (operators switch to it to read traces)
sbc_conf "upstream = sip:$U:5082;transport=tcp"
sbc_start
sipp_bg uastcp -sf "$SCEN/uas.xml" -i "$U" -p 5082 -t t1
sipp_call uact uac.xml 3 -s 5551234 -d 50 || fail "calls over a TCP upstream failed"
ok "UDP in, TCP out"
sbc_stop
