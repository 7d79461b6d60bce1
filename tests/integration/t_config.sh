#!/bin/bash
# Configuration errors name file and line and exit non-zero; sbcd -t checks
# a file; --help, --version; the shipped conf/sbc.conf is what the option
# table generates and is itself valid (with its certificates present).
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$HERE/../.." && pwd)

bad() { # NAME EXPECTED-MESSAGE-REGEX, config on stdin
	local name=$1 re=$2 rc=0
	cat > "$W/$name.conf"
	"$SBCD" -t -f "$W/$name.conf" >"$W/$name.out" 2>&1 || rc=$?
	[ "$rc" != 0 ] || fail "$name: accepted"
	grep -qE "$re" "$W/$name.out" || fail "$name: message '$(cat "$W/$name.out")' does not match '$re'"
	ok "$name: $(head -1 "$W/$name.out")"
}

printf 'log_level = info\nfoo = 1\n' | bad unknown "$W/unknown.conf:2: unknown option 'foo'"
printf '\n# c\naccess_port = 70000\n' | bad range "$W/range.conf:3: option 'access_port': '70000' is out of range"
printf 'access_port = 5060\naccess_port = 5070\n' | bad dup "$W/dup.conf:2: option 'access_port' already set on line 1"
printf 'access_addr = 0.0.0.0\n' | bad wildcard "$W/wildcard.conf:1: .*concrete address"
printf 'access_addr = not-an-ip\n' | bad addr "$W/addr.conf:1: option 'access_addr'"
printf 'upstream = http://x\n' | bad uri "$W/uri.conf:1: option 'upstream'"
printf 'loop_detect = perhaps\n' | bad bool "$W/bool.conf:1: .*yes or no"
printf 'just words\n' | bad syntax "$W/syntax.conf:1: expected 'name = value'"
printf 'access_tls_port = 5061\naccess_tls_cert = /nonexistent/x.crt\n' | bad cert "$W/cert.conf:2: option 'access_tls_cert': cannot read '/nonexistent/x.crt'"
printf 'emergency_numbers = 911,abc\n' | bad numlist "$W/numlist.conf:1: option 'emergency_numbers'"
rc=0; "$SBCD" -t -f "$W/missing.conf" >"$W/missing.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q "missing.conf: cannot read" "$W/missing.out" || fail "missing file"
ok "missing file reported"

# a good file passes -t
sbc_conf
"$SBCD" -t -f "$W/sbc.conf" | grep -q 'is valid' || fail "-t on a good file"
"$SBCD" -t -v -f "$W/sbc.conf" | grep -q "^access_addr = $A" || fail "-t -v"
ok "-t accepts a good file, -t -v prints the effective configuration"

"$SBCD" --help | grep -q 'usage: sbcd' || fail "--help"
"$SBCD" --version | grep -qE '^sbcd [0-9]+\.[0-9]+' || fail "--version"
rc=0; "$SBCD" --bogus >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "unknown flag exit $rc"
ok "--help, --version, bad flag"

# the shipped config is generated from the option table and valid
"$SBCD" --print-config > "$W/printed.conf"
cmp -s "$W/printed.conf" "$ROOT/conf/sbc.conf" || fail "conf/sbc.conf differs from sbcd --print-config (regenerate it)"
mkdir -p "$W/shipped/tls"
cp "$ROOT/conf/sbc.conf" "$W/shipped/"
sh "$ROOT/conf/mkcert.sh" "$W/shipped/tls" >/dev/null
sed -i "s|^upstream_ca = .*|upstream_ca = tls/sbc.crt|" "$W/shipped/sbc.conf"
"$SBCD" -t -f "$W/shipped/sbc.conf" >/dev/null || fail "the shipped config does not pass -t"
ok "conf/sbc.conf matches the option table and passes -t"
