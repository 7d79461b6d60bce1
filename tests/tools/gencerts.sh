#!/bin/sh
# gencerts.sh: create the throw-away PKI that the TLS integration tests use.
#
# Usage: gencerts.sh DIR
#
# Creates in DIR (each file only when it is missing, so a cached DIR is
# reused; if the CA itself has to be made, every leaf is re-issued):
#   ca.crt ca.key           test CA
#   upstream.pem            server cert+key, CN/SAN upstream.test, IP:127.0.0.1
#   wronghost.pem           server cert+key from the CA, SAN other.test only
#   rogue.pem               self-signed cert+key claiming upstream.test
#   client.crt client.key client.pem
#                           client cert (CN sbc-client) from the CA
#   badclient.pem           client cert+key from another, untrusted CA
#   sbc.crt sbc.key         server cert for the SBC listeners, SAN sbc.test,
#                           IP:127.0.0.1
# Keys are EC P-256, certificates are valid for 3650 days.
# Quiet on success, non-zero exit status on error.

set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 64
fi

dir=$1
days=3650
mkdir -p "$dir"
cd "$dir"

# serialise concurrent runs on the same directory
if command -v flock >/dev/null 2>&1; then
	exec 9>.gencerts.lock
	flock 9
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gencerts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

ossl() {
	if ! openssl "$@" >"$tmp/log" 2>&1; then
		cat "$tmp/log" >&2
		echo "gencerts: openssl $1 failed" >&2
		exit 1
	fi
}

newkey() {
	ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

# conf FILE CN EXTENSIONS...: minimal req config with section [ext]
conf() {
	f=$1 cn=$2
	shift 2
	{
		printf '[req]\ndistinguished_name = dn\nprompt = no\n'
		printf '[dn]\nCN = %s\n[ext]\n' "$cn"
		for e in "$@"; do
			printf '%s\n' "$e"
		done
	} >"$f"
}

# issue NAME CN CAcrt CAkey EXT...: $tmp/NAME.crt and $tmp/NAME.key
# (CAcrt "-" means self-signed)
issue() {
	name=$1 cn=$2 cacrt=$3 cakey=$4
	shift 4
	conf "$tmp/$name.cnf" "$cn" "$@"
	newkey "$tmp/$name.key"
	if [ "$cacrt" = "-" ]; then
		ossl req -new -x509 -config "$tmp/$name.cnf" -extensions ext \
			-key "$tmp/$name.key" -days $days -out "$tmp/$name.crt"
	else
		ossl req -new -x509 -config "$tmp/$name.cnf" -extensions ext \
			-key "$tmp/$name.key" -CA "$cacrt" -CAkey "$cakey" \
			-days $days -out "$tmp/$name.crt"
	fi
}

ca_ext() {
	echo 'basicConstraints = critical,CA:TRUE'
	echo 'keyUsage = critical,keyCertSign,cRLSign'
	echo 'subjectKeyIdentifier = hash'
}

leaf_ext() {  # $1: extendedKeyUsage, $2: subjectAltName (optional)
	echo 'basicConstraints = critical,CA:FALSE'
	echo 'keyUsage = critical,digitalSignature,keyEncipherment'
	echo "extendedKeyUsage = $1"
	echo 'subjectKeyIdentifier = hash'
	echo 'authorityKeyIdentifier = keyid'
	if [ -n "${2:-}" ]; then
		echo "subjectAltName = $2"
	fi
}

# install SRC DST: atomic move into DIR
install_file() {
	mv -f "$1" "$2.tmp.$$"
	mv -f "$2.tmp.$$" "$2"
}

# pem NAME: install NAME.pem (cert followed by key)
pem() {
	cat "$tmp/$1.crt" "$tmp/$1.key" >"$tmp/$1.pem"
	chmod 600 "$tmp/$1.pem"
	install_file "$tmp/$1.pem" "$1.pem"
}

leaves="upstream.pem wronghost.pem rogue.pem client.crt client.key
	client.pem badclient.pem sbc.crt sbc.key"

umask 077

if [ ! -s ca.crt ] || [ ! -s ca.key ]; then
	issue ca "sbc test CA" - - "$(ca_ext)"
	install_file "$tmp/ca.key" ca.key
	install_file "$tmp/ca.crt" ca.crt
	for f in $leaves; do
		rm -f "$f"
	done
fi

srv_eku='serverAuth,clientAuth'

if [ ! -s upstream.pem ]; then
	issue upstream upstream.test ca.crt ca.key \
		"$(leaf_ext "$srv_eku" 'DNS:upstream.test,IP:127.0.0.1')"
	pem upstream
fi

if [ ! -s wronghost.pem ]; then
	issue wronghost other.test ca.crt ca.key \
		"$(leaf_ext "$srv_eku" 'DNS:other.test')"
	pem wronghost
fi

if [ ! -s rogue.pem ]; then
	issue rogue upstream.test - - \
		"$(leaf_ext "$srv_eku" 'DNS:upstream.test,IP:127.0.0.1')"
	pem rogue
fi

if [ ! -s client.crt ] || [ ! -s client.key ] || [ ! -s client.pem ]; then
	issue client sbc-client ca.crt ca.key "$(leaf_ext clientAuth)"
	cp "$tmp/client.crt" "$tmp/client.crt2"
	cp "$tmp/client.key" "$tmp/client.key2"
	pem client
	install_file "$tmp/client.crt2" client.crt
	install_file "$tmp/client.key2" client.key
fi

if [ ! -s badclient.pem ]; then
	issue badca "untrusted test CA" - - "$(ca_ext)"
	issue badclient sbc-client "$tmp/badca.crt" "$tmp/badca.key" \
		"$(leaf_ext clientAuth)"
	pem badclient
fi

if [ ! -s sbc.crt ] || [ ! -s sbc.key ]; then
	issue sbc sbc.test ca.crt ca.key \
		"$(leaf_ext "$srv_eku" 'DNS:sbc.test,IP:127.0.0.1')"
	install_file "$tmp/sbc.key" sbc.key
	install_file "$tmp/sbc.crt" sbc.crt
fi

chmod 644 ca.crt client.crt sbc.crt
exit 0
