#!/bin/bash
# Registration time bounds (register_max_expires, register_min_expires),
# against a real registrar (Kamailio) that stores any time as asked:
#  1. Expires: 7200 with the default max 3600: the registrar is asked for
#     3600 and stores it, its 200 (relayed) tells the UA 3600, and sbcd's
#     binding expires in about 3600 s;
#  2. a Contact's expires parameter is capped too;
#  3. Expires: 10 with min 60: 60;
#  4. another max by reload: 1800;
#  5. Expires: 0 (de-registration) stays 0: the binding goes.
. "$(dirname "$0")/lib.sh"

command -v kamailio >/dev/null || { t_log "kamailio not installed: skipped"; exit 0; }
ctl() { "${SBCCTL:?}" -s "$W/sbcd.sock" "$@"; }

kam_start 1234
sbc_conf "registrar = sip:$U:5080;transport=udp" "control_socket = $W/sbcd.sock"
sbc_start

# reg NAME EXPIRES CONTACT_PARAMS: register alice, print the REGISTER the
# registrar got with credentials
reg() {
	local scen
	scen=$(scen_gen "$1" uac_register_ka.xml.in EXP="$2" CPARAM="$3" STAY=0)
	sipp_run "$1" -sf "$scen" -i "$P" -p 5070 "$A:5060" -s alice -ap 1234 \
		-m 1 -timeout 5 -timeout_error || fail "$1: alice did not register: $(tail -3 "$W/$1.out")"
	grep "REG cred user=alice " "$W/kamailio.log" | tail -1
}
# the Contact of the 200 the UA got
granted() {
	awk '/^SIP\/2.0 200/ {ok=1} ok && /^Contact:/ {print; exit}' "$W/$1.msg"
}
# seconds until alice's binding at sbcd expires
left() {
	local e
	e=$(ctl bindings | awk -v a="alice@$A" '$2 == a {print $7}')
	[ -n "$e" ] && echo $((e - $(date +%s)))
}

# 1. above the max
line=$(reg max 7200 "")
echo "$line" | grep -q " expires=3600 contact=<sip:alice@$P:5070>$" || fail "registrar was asked: $line"
granted max | grep -q ";expires=3600" || fail "200 to the UA: $(granted max)"
kamcmd -s "unix:$W/kamailio.ctl" ul.dump > "$W/uldump.txt" 2>&1 || fail "kamcmd ul.dump"
exp=$(grep -A30 "AoR: alice" "$W/uldump.txt" | awk '/Expires:/ {print $2; exit}')
[ -n "$exp" ] && [ "$exp" -le 3600 ] && [ "$exp" -gt 3590 ] || fail "registrar stores $exp s"
l=$(left)
[ -n "$l" ] && [ "$l" -le 3600 ] && [ "$l" -gt 3590 ] || fail "sbcd's binding: $l s left ($(ctl bindings))"
ok "Expires 7200: registrar asked for and stores 3600 ($exp s left), the UA is told 3600, sbcd's binding $l s"

# 2. a Contact's expires parameter
line=$(reg cparam 7200 ";expires=86400")
echo "$line" | grep -q " expires=3600 contact=<sip:alice@$P:5070>;expires=3600$" || fail "registrar was asked: $line"
granted cparam | grep -q ";expires=3600" || fail "200 to the UA: $(granted cparam)"
ok "Contact expires=86400: 3600"

# 3. below the min
line=$(reg min 10 "")
echo "$line" | grep -q " expires=60 contact=" || fail "registrar was asked: $line"
granted min | grep -q ";expires=60" || fail "200 to the UA: $(granted min)"
l=$(left)
[ -n "$l" ] && [ "$l" -le 60 ] && [ "$l" -gt 50 ] || fail "sbcd's binding: $l s left"
ok "Expires 10: 60 (binding $l s)"

# 4. another max, by reload
sbc_set "register_max_expires = 1800"
sbc_write_conf
ctl reload >/dev/null || fail "reload"
line=$(reg max2 7200 "")
echo "$line" | grep -q " expires=1800 contact=" || fail "registrar was asked: $line"
granted max2 | grep -q ";expires=1800" || fail "200 to the UA: $(granted max2)"
ok "register_max_expires = 1800 (reload): 1800"

# 5. de-registration
line=$(reg zero 0 "")
echo "$line" | grep -q " expires=0 contact=" || fail "registrar was asked: $line"
ctl bindings | grep -q "alice@" && fail "binding left after Expires 0: $(ctl bindings)"
ok "Expires 0: asked as it is, the binding goes"

sbc_alive
sbc_stop
kam_stop
