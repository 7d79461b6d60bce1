#!/bin/sh
# mkcert.sh DIR: a self-signed certificate for sbcd's local TLS listeners
# (make run), created only when none exists yet.
set -e
dir=${1:-conf/tls}
[ -s "$dir/sbc.crt" ] && [ -s "$dir/sbc.key" ] && exit 0
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-days 825 -subj "/CN=sbc.local" \
	-addext "subjectAltName=DNS:sbc.local,IP:127.0.0.1,IP:127.0.0.2" \
	-keyout "$dir/sbc.key" -out "$dir/sbc.crt" 2>/dev/null
echo "mkcert: created self-signed $dir/sbc.crt"
