#!/bin/bash
# REGISTER forwarding and password guessing, against a real registrar
# (Kamailio, every user with password 1234) behind sbcd:
#  1. a UAC registers through sbcd (401, then 200): the registrar got
#     Supported: path and sbcd's Path (flow token at the core address,
#     received= the UAC's address), stored it with the binding and echoed
#     it in the 200, and stored the received address (ul.lookup); with
#     path_received = no there is none;
#  2. wrong passwords: after auth_fail_limit failures the source is banned
#     (sbcctl bans; its REGISTERs and INVITEs get nothing), the user is
#     locked (dropped from any source), another source still registers
#     other users; security events logged;
#  3. a registrar without Path support: 200 relayed, sbcd logs it.
. "$(dirname "$0")/lib.sh"

command -v kamailio >/dev/null || { t_log "kamailio not installed: skipped"; exit 0; }
P2=127.0.$T_N.11
LIMIT=4
ctl() { "${SBCCTL:?}" -s "$W/sbcd.sock" "$@"; }
reg() { # reg NAME SCENARIO SRC USER PASSWORD
	sipp_run "$1" -sf "$SCEN/$2" -i "$3" -p 5070 "$A:5060" -s "$4" \
		-ap "$5" -m 1 -timeout 5 -timeout_error
}
kam_seen() { # REGISTERs with credentials for USER from sbcd the registrar saw
	grep -c "REG cred user=$1 " "$W/kamailio.log"
}

kam_start 1234
sbc_conf "registrar = sip:$U:5080;transport=udp" \
	"security_log = $W/security.log" "control_socket = $W/sbcd.sock" \
	"auth_fail_limit = $LIMIT" "auth_fail_window = 60" "auth_fail_ban = 600"
sbc_start

# 1. registration through sbcd
reg ok uac_register.xml "$P" alice 1234 || fail "alice did not register: $(tail -3 "$W/ok.out")"
line=$(grep "REG cred user=alice " "$W/kamailio.log" | tail -1)
echo "$line" | grep -q "supported=path " || fail "no Supported: path at the registrar: $line"
echo "$line" | grep -qE "path=<sip:[0-9a-f]{38}@$C:5060;transport=udp;lr;ob;received=sip:$P:5070%3Btransport%3Dudp>" \
	|| fail "no Path of sbcd at the registrar: $line"
kamcmd -s "unix:$W/kamailio.ctl" ul.dump > "$W/uldump.txt" 2>&1 \
	|| fail "kamcmd ul.dump: $(cat "$W/uldump.txt")"
grep -A30 "AoR: alice" "$W/uldump.txt" | grep -qE "Path: <sip:[0-9a-f]+@$C:5060;transport=udp;lr;ob;received=" \
	|| fail "registrar did not store the Path: $(cat "$W/uldump.txt")"
ok "alice registered through sbcd: Supported: path and Path at the registrar, Path stored and echoed"
r=$(kam_received alice)
[ "$r" = "sip:$P:5070;transport=udp" ] || fail "alice's received at the registrar: '$r' ($(cat "$W/ul.alice.txt"))"
ok "the registrar stored where alice really is: $r (Path's received=)"

# path_received = no (a reload): the Path entry names no source
sbc_set "path_received = no"
sbc_write_conf
ctl reload | grep -q '^OK' || fail "reload refused"
reg norcv uac_register.xml "$P" frank 1234 || fail "frank did not register: $(tail -3 "$W/norcv.out")"
line=$(grep "REG cred user=frank " "$W/kamailio.log" | tail -1)
echo "$line" | grep -qE "path=<sip:[0-9a-f]{38}@$C:5060;transport=udp;lr;ob>" \
	|| fail "path_received = no: Path at the registrar: $line"
r=$(kam_received frank)
[ "$r" = "[not set]" ] || fail "path_received = no: frank's received at the registrar: '$r'"
ok "path_received = no: no received= in the Path, none stored"

# 2. password guessing: LIMIT wrong passwords for bob from P
for i in $(seq 1 $LIMIT); do
	reg bad$i uac_register_fail.xml "$P" bob wrong$i \
		|| fail "wrong password $i: no 401: $(tail -3 "$W/bad$i.out")"
done
ctl bans | grep -q "^$P remaining=.* reason=auth_guess" || fail "bans: $(ctl bans)"
grep -q '"rule":"auth_guess","action":"ban","source":"'"$P"':5070"' "$W/security.log" \
	|| fail "no ban event"
grep -q '"rule":"auth_guess","action":"lock"' "$W/security.log" || fail "no lock event"
ok "$LIMIT wrong passwords: source banned (sbcctl bans), user locked, events logged"

# the banned source gets nothing, REGISTER (even the right password) or INVITE
reg banned uac_register.xml "$P" alice 1234 && fail "banned source registered"
mkinvite "$W/inv.txt" 5551234
r=$(raw_udp "$P:5071" "$A" 5060 "$W/inv.txt" 1)
[ "$r" = TIMEOUT ] || fail "banned source's INVITE answered: $r"
ok "banned source: REGISTER and INVITE get nothing"

# the locked user cannot register from another source, even rightly
reg locked uac_register.xml "$P2" bob 1234 && fail "locked user registered from $P2"
grep -q '"rule":"auth_guess","action":"drop","source":"'"$P2"':5070"' "$W/security.log" \
	|| fail "no drop event for the locked user"
# ... while that source registers another user
reg carol uac_register.xml "$P2" carol 1234 || fail "carol could not register from $P2"
n=$(kam_seen bob)
[ "$n" = "$LIMIT" ] || fail "the registrar saw $n REGISTERs with credentials for bob, not $LIMIT"
ok "locked user dropped from another source; that source registers carol; registrar saw $n guesses"

# an unban lets the source back (alice is not locked)
ctl unban "$P" >/dev/null || fail "unban"
reg again uac_register.xml "$P" alice 1234 || fail "alice not registered after unban"
ok "unban lifts the ban"
sbc_alive

# 3. a registrar without Path support
kam_stop
kam_start 1234 NO_PATH
reg nopath uac_register_fail.xml "$P" dave wrong >/dev/null 2>&1
sipp_run nopath2 -sf "$SCEN/uac_register.xml" -i "$P" -p 5070 "$A:5060" -s dave \
	-ap 1234 -m 1 -timeout 5 -timeout_error
grep -q 'SIP/2.0 200' "$W/nopath2.msg" || fail "no 200 from a registrar without Path: $(tail -3 "$W/nopath2.out")"
grep -q "does not support Path" "$W/sbcd.log" || fail "no log of the missing Path support"
ok "registrar without Path support: 200 relayed, logged"

sbc_alive
sbc_stop
