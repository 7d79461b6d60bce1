#!/bin/bash
# A real scanner: sipvicious (Debian package) svmap, svwar and svcrack run
# against sbcd get nothing useful: no device found, no extension
# enumerated, no password cracked; every probe is a security event.
. "$(dirname "$0")/lib.sh"

for t in svmap svwar svcrack; do
	command -v $t >/dev/null || { t_log "sipvicious not installed: skipped"; exit 0; }
done
LP=$((16000 + T_N * 10))    # our own source ports: no clash with others
# svwar and svcrack 0.3.3 ignore -b and send from 127.0.0.1 (the address
# the kernel picks for 127.0.N.1): that source is a peer too, so that what
# stops them is the scanner signatures, not the unknown source
PEERS="[peer test]
addr = 127.0.$T_N.0/24, 127.0.0.1"

# every probe judged alone, so each is an event: with the default the
# first would ban the scanner (t_blacklist) and the kernel would drop the
# rest unseen
sbc_conf "security_log = $W/security.log" "scanner_ban = 0"
sbc_start
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080

# never -R (it reports to the author over the Internet)
timeout 60 svmap -b "$P" -P $LP -x "$P" -p 5060 "$A" > "$W/svmap.out" 2>&1
grep -q 'found nothing' "$W/svmap.out" || fail "svmap found something: $(cat "$W/svmap.out")"
ok "svmap: found nothing"

timeout 90 svwar -b "$P" -P $((LP + 1)) -x "$P" -e 100-150 "$A" > "$W/svwar.out" 2>&1
grep -q 'found nothing' "$W/svwar.out" || fail "svwar enumerated: $(cat "$W/svwar.out")"
ok "svwar 100-150: no extension enumerated"

timeout 120 svcrack -b "$P" -P $((LP + 2)) -x "$P" -u 100 -r 1000-1200 "$A" > "$W/svcrack.out" 2>&1
grep -qi 'found nothing\|no server response' "$W/svcrack.out" || fail "svcrack: $(cat "$W/svcrack.out")"
grep -qiE 'password|cracked' "$W/svcrack.out" && fail "svcrack reports a password: $(cat "$W/svcrack.out")"
ok "svcrack 1000-1200: nothing cracked"

grep -q '^INVITE\|^REGISTER\|^OPTIONS' "$W/uas.msg" 2>/dev/null && fail "a scanner's request reached the upstream"
n=$(grep -c '"rule":"blacklist:ua-friendly-scanner","action":"drop"' "$W/security.log")
[ "$n" -ge 3 ] || fail "only $n scanner events"
for src in "$P:$LP" "127.0.0.1:$((LP + 1))" "127.0.0.1:$((LP + 2))"; do
	grep -q '"rule":"blacklist:ua-friendly-scanner","action":"drop","source":"'"$src"'"' "$W/security.log" \
		|| fail "no scanner event from $src"
done
ok "no probe reached the upstream; $n scanner events logged (svmap, svwar, svcrack)"
sbc_alive
sbc_stop
