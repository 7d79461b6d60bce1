#!/bin/bash
# Reloading the configuration (sbcctl reload, SIGHUP) while calls are up:
# a call ringing and then answered across the reload completes and its
# counters go back to 0; new limits, peers and blacklist rules apply at
# once; rules added at run time survive; options bound to sockets keep
# their running value with a warning; a bad file changes nothing.
. "$(dirname "$0")/lib.sh"

SBCCTL=${SBCCTL:?SBCCTL must point to sbcctl}
ctl() { "$SBCCTL" -s "$W/sbcd.sock" "$@"; }
P11=127.0.$T_N.11

PEERS="[peer pbx]
addr = $P
profile = p
[profile p]
max_calls = 1"

dialogs() { ctl calls | awk '$1 == "dialogs" {print $2}'; }

sbc_conf "security_log = $W/security.log"
sbc_start
# the callee rings until the reload is done (call_answer), the caller
# then holds the call until the test lets it go (call_release)
sipp_bg uas -sf "$SCEN/uas_until.xml" -i "$U" -p 5080 -m 1
sipp_bg held -sf "$SCEN/uac_until.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" \
	-m 1 -timeout 60 -timeout_error
ringing() { ctl calls | grep -q " state early "; }
wait_for 50 ringing || fail "the call does not ring: $(ctl calls)"
reply_is "second call with max_calls = 1" 403 "$P:5071" 5551234
reply_is "call from an undeclared source" TIMEOUT "$P11:5071" 5551234
ctl blacklist add runtime number prefix 403 0 0777 | grep -q OK || fail "runtime rule not added"

# while the first call rings: more calls, a new peer, a blacklist rule,
# and a port change that needs a restart
sbc_set "access_port = 5062"
PEERS="[peer pbx]
addr = $P
profile = p
[profile p]
max_calls = 5
[peer new]
addr = $P11
[blacklist premium]
field = number
match = prefix
value = 0900
action = 403"
sbc_write_conf
ctl reload | grep -q '^OK' || fail "reload refused"
grep -q "option 'access_port' changed: a restart is needed" "$W/sbcd.log" \
	|| fail "no warning for access_port"
grep -q "reload: configuration of .* in force (2 peers, 1 profiles" "$W/sbcd.log" \
	|| fail "no log line for the reload"
ok "sbcctl reload: new file in force, access_port kept with a warning"

ringing || fail "the call no longer rings after the reload: $(ctl calls)"
call_answer uas "$U" 5080
call_answered held
call_release held "$P" 5070
wait_pid "$PID_held" 20 || fail "the call ringing across the reload failed"
no_dialogs() { [ "$(dialogs)" = 0 ]; }
wait_for 30 no_dialogs || { ctl calls; fail "counters not back to 0 after the call"; }
ok "a call ringing during the reload was answered and hung up, counters back to 0"
wait_pid "$PID_uas" 10 || fail "the callee of the call across the reload failed"
sipp_bg uas -sf "$SCEN/uas.xml" -i "$U" -p 5080

sipp_call two uac.xml 2 -l 2 -d 500 -s 5551234 || fail "2 concurrent calls with max_calls = 5 failed"
sipp_call newpeer uac.xml 1 -s 5551234 -i "$P11" || fail "the new peer's call failed"
reply_is "premium number (rule from the reloaded file)" 403 "$P:5072" 0900123456
reply_is "number of the runtime rule" 403 "$P:5073" 0777123
ok "new limits, new peer and new blacklist rule in force; runtime rule kept"

# a bad file: nothing changes
echo "max_calls_everywhere = 3" >> "$W/sbcd.conf"
ctl reload | grep -q '^ERR' || fail "bad file accepted"
grep -q "sbcd.conf:[0-9]*: unknown option 'max_calls_everywhere'" "$W/sbcd.log" \
	|| fail "no file:line for the bad option"
grep -q "is not valid (see above): the running configuration stays" "$W/sbcd.log" \
	|| fail "no log line for the refused reload"
sipp_call after_bad uac.xml 1 -s 5551234 -i "$P11" || fail "calls failed after a refused reload"
ok "bad file: reload refused with file:line, the running configuration stays"

# SIGHUP: back to one call at a time
PEERS="[peer pbx]
addr = $P
profile = p
[profile p]
max_calls = 1"
sbc_write_conf
n=$(grep -c "in force" "$W/sbcd.log")
kill -HUP "$SBC_PID"
for _ in $(seq 1 20); do
	[ "$(grep -c "in force" "$W/sbcd.log")" -gt "$n" ] && break
	sleep 0.1
done
[ "$(grep -c "in force" "$W/sbcd.log")" -gt "$n" ] || fail "SIGHUP did not reload"
sipp_bg held2 -sf "$SCEN/uac_until.xml" -s 5551234 -i "$P" -p 5070 "$A:5060" \
	-m 1 -timeout 60 -timeout_error
call_answered held2
reply_is "second call after SIGHUP (max_calls = 1)" 403 "$P:5074" 5551234
reply_is "the removed peer" TIMEOUT "$P11:5072" 5551234
call_release held2 "$P" 5070
wait_pid "$PID_held2" 20 || fail "held call after SIGHUP failed"
ok "SIGHUP: reloaded, max_calls = 1 again, the removed peer refused"

sbc_alive
sbc_stop
