#!/bin/bash
# Customers connecting over TLS: TLS 1.2 minimum, and with
# access_tls_verify_client a bad or missing client certificate is refused.
. "$(dirname "$0")/lib.sh"
certs
# openssl s_client cannot choose its source: it connects from 127.0.0.1
PEERS="[peer test]
addr = 127.0.$T_N.0/24, 127.0.0.1"

sbc_conf "access_tls_port = 5061" \
	"access_tls_cert = $CERTDIR/sbc.crt" "access_tls_key = $CERTDIR/sbc.key" \
	"access_tls_verify_client = yes" "access_tls_ca = $CERTDIR/ca.crt"
sbc_start

# OPTIONS over TLS: the connection either carries it or is refused.
# s_client ends at the end of its input, so that stays open until the
# answer is in or s_client has ended (a refused handshake), bounded.
tls_opt() { # NAME [openssl args]
	local name=$1 pid
	shift
	rm -f "$W/$name.in"
	mkfifo "$W/$name.in"
	timeout 10 openssl s_client -connect "$A:5061" -servername sbc.test \
		-CAfile "$CERTDIR/ca.crt" -verify_return_error -quiet "$@" \
		<"$W/$name.in" >"$W/$name.out" 2>&1 &
	pid=$!
	exec 7>"$W/$name.in"
	printf 'OPTIONS sip:%s:5061 SIP/2.0\r\nVia: SIP/2.0/TLS %s:5999;branch=z9hG4bK%s\r\nFrom: <sip:c@%s>;tag=1\r\nTo: <sip:%s>\r\nCall-ID: %s@x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' \
		"$A" "$P" "$RANDOM" "$P" "$A" "$RANDOM" >&7 2>/dev/null
	answered_or_gone() { grep -q '^SIP/2.0 ' "$W/$name.out" || ! kill -0 "$pid" 2>/dev/null; }
	wait_for 100 answered_or_gone
	exec 7>&-
	wait "$pid"
	grep -q '^SIP/2.0 200' "$W/$name.out"
}

tls_opt good -cert "$CERTDIR/client.crt" -key "$CERTDIR/client.key" \
	|| fail "client with a good certificate refused: $(head -3 "$W/good.out")"
ok "client certificate from the CA: accepted, OPTIONS 200"
tls_opt none && fail "client without a certificate accepted"
ok "client without a certificate: refused"
tls_opt bad -cert "$CERTDIR/badclient.pem" && fail "client with an untrusted certificate accepted"
ok "client with an untrusted certificate: refused"
tls_opt old -cert "$CERTDIR/client.crt" -key "$CERTDIR/client.key" -tls1_1 \
	-cipher 'DEFAULT:@SECLEVEL=0' && fail "TLS 1.1 accepted"
ok "TLS 1.1: refused"
sbc_alive
sbc_stop

# verification off: a client without a certificate is served
sbc_set "access_tls_verify_client = no"
sbc_start
tls_opt nocert || fail "client without a certificate refused with verification off"
ok "verification off: client without certificate served"
sbc_stop
