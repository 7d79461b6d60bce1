#!/bin/bash
# svcrack (sipvicious) against a real registrar (Kamailio, password 1234)
# behind sbcd, with the scanner signatures off so that only the password-
# guessing protection stands in the way:
#  - control: with auth_fail_limit = 0 (off) svcrack finds 1234 in
#    1225-1240, so the tool works through sbcd;
#  - with auth_fail_limit = 5 it does not find it in 1000-2000 (1234 is
#    the 235th guess): the source is banned after 5 failures, and only
#    about 5 guesses reach the registrar;
#  - across a planned restart (state_file) the source stays banned and
#    the user locked: its REGISTERs from another address are dropped.
. "$(dirname "$0")/lib.sh"

command -v svcrack >/dev/null || { t_log "sipvicious not installed: skipped"; exit 0; }
command -v kamailio >/dev/null || { t_log "kamailio not installed: skipped"; exit 0; }
LP=$((16000 + T_N * 10))    # our own source ports: no clash with others
LIMIT=5
# svcrack 0.3.3 ignores -b and sends from 127.0.0.1 (the address the kernel
# picks for 127.0.N.1): that source is the peer here
S=127.0.0.1
PEERS="[peer test]
addr = 127.0.$T_N.0/24, $S"
ctl() { "${SBCCTL:?}" -s "$W/sbcd.sock" "$@"; }
guesses() { grep -c "REG cred user=100 " "$W/kamailio.log"; }
register() { # FILE USER: a REGISTER from the caller, without credentials
	crlf "$1" <<EOM
REGISTER sip:$A SIP/2.0
Via: SIP/2.0/UDP $P:5078;branch=z9hG4bK$RANDOM$RANDOM;rport
From: <sip:$2@$A>;tag=$RANDOM
To: <sip:$2@$A>
Call-ID: r$RANDOM$RANDOM@$P
CSeq: 1 REGISTER
Contact: <sip:$2@$P:5078>
Max-Forwards: 70
Expires: 60
Content-Length: 0

EOM
}

kam_start 1234
sbc_conf "registrar = sip:$U:5080;transport=udp" "scanner_signatures = no" \
	"security_log = $W/security.log" "control_socket = $W/sbcd.sock" \
	"auth_fail_limit = 0"
sbc_start

# never -R (it reports to the author over the Internet)
timeout 50 svcrack -b "$P" -P $LP -x "$P" -u 100 -r 1225-1240 --maximumtime 5 "$A" > "$W/control.out" 2>&1
grep -q '| 1234 ' "$W/control.out" || fail "control: svcrack did not find 1234 without protection: $(cat "$W/control.out")"
ok "control: without the limit svcrack finds 1234 through sbcd ($(guesses) guesses reached the registrar)"
sbc_stop

n0=$(guesses)
sbc_set "auth_fail_limit = $LIMIT"
sbc_set "auth_fail_window = 600"
sbc_set "state_file = $W/state"
sbc_start
t0=$(date +%s)
timeout 50 svcrack -b "$P" -P $((LP + 1)) -x "$P" -u 100 -r 1000-2000 --maximumtime 5 "$A" > "$W/crack.out" 2>&1
grep -q '1234' "$W/crack.out" && fail "svcrack found the password: $(cat "$W/crack.out")"
n=$(( $(guesses) - n0 ))
[ "$n" -ge "$LIMIT" ] && [ "$n" -le $((LIMIT + 3)) ] || fail "$n guesses reached the registrar (limit $LIMIT)"
ctl bans | grep -q "^$S remaining=.* reason=auth_guess" || fail "bans: $(ctl bans)"
grep -q '"rule":"auth_guess","action":"ban"' "$W/security.log" || fail "no ban event"
ok "limit $LIMIT: svcrack 1000-2000 found nothing in $(( $(date +%s) - t0 )) s; $n guesses reached the registrar; source banned"
sbc_alive

# a planned restart: the ban and the lock are written and read back
sbc_stop
grep -q "^ban [0-9]* $S auth_guess$" "$W/state" || fail "the ban was not written: $(cat "$W/state")"
grep -q "^ulock [0-9]* 100$" "$W/state" || fail "the lock was not written: $(cat "$W/state")"
sbc_start
ctl bans | grep -q "^$S remaining=.* reason=auth_guess$" || fail "bans after the restart: $(ctl bans)"
register "$W/reg.txt" 100
r=$(raw_udp "$P:5078" "$A" 5060 "$W/reg.txt" 1)
[ "$r" = TIMEOUT ] || fail "a REGISTER of the locked user got '$r' after the restart"
grep -q "REGISTER for locked user 100 from $P:5078 dropped" "$W/sbcd.log" || fail "no drop of the locked user logged"
register "$W/reg.txt" 200
r=$(raw_udp "$P:5078" "$A" 5060 "$W/reg.txt" 3)
case $r in "SIP/2.0 401"*) ;; *) fail "another user's REGISTER got '$r'" ;; esac
ok "after a restart the source is still banned and the user still locked (another user is challenged)"
sbc_alive
sbc_stop
